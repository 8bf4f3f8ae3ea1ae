/* SPDX-License-Identifier: Apache-2.0
 * The built-in 5x7 bitmap font and the annotation palette, shared by everything that draws detections
 * (pipeline/annotate.c, and through it the CLI's --draw and the vigiloverlay element). */
#ifndef VIGIL_FONT_H
#define VIGIL_FONT_H

#include <stdint.h>

#define VIGIL_GLYPH_W 5
#define VIGIL_GLYPH_H 7

/* One glyph, drawn row by row: '#' is ink. Letters sit on row 6; descenders of g, j, p, q, y are folded into
 * the 7 rows so that every glyph has the same box. */
struct vigil_glyph {
	char c;
	char rows[VIGIL_GLYPH_H][VIGIL_GLYPH_W + 1];
};

/* The glyph for @p c; characters the font lacks get '?'. Never NULL. */
const struct vigil_glyph *vigil_font_glyph(char c);

struct vigil_rgb {
	uint8_t r, g, b;
};

/* Box colour for a label id (any int, negative ones included): saturated and far apart, so that neighbouring
 * classes are told apart at a glance. */
struct vigil_rgb vigil_label_color(int label_id);

/* Colour of keypoint @p k (0..VIGIL_MAX_KEYPOINTS-1; others wrap): for faces right eye, left eye, nose, mouth,
 * right ear, left ear. */
struct vigil_rgb vigil_keypoint_color(int k);

#endif
