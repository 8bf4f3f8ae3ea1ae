/* SPDX-License-Identifier: Apache-2.0
 * Annotation of RGB images for `vigil detect --draw`: box outlines, keypoint markers and "label score" tags in
 * a built-in 5x7 bitmap font. Every primitive clips to the image, so detections partly or wholly outside the
 * frame (which the detector allows) are drawn as far as they are visible and never write out of bounds. */
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GLYPH_W 5
#define GLYPH_H 7

/* One glyph per character, drawn row by row: '#' is ink. Letters sit on row 6; descenders of g, j, p, q, y are
 * folded into the 7 rows so that every glyph has the same box. */
struct glyph {
	char c;
	char rows[GLYPH_H][GLYPH_W + 1];
};

static const struct glyph font[] = {
	{ ' ', { ".....", ".....", ".....", ".....", ".....", ".....", "....." } },
	{ '.', { ".....", ".....", ".....", ".....", ".....", ".##..", ".##.." } },
	{ '-', { ".....", ".....", ".....", "#####", ".....", ".....", "....." } },
	{ '_', { ".....", ".....", ".....", ".....", ".....", ".....", "#####" } },
	{ ':', { ".....", ".##..", ".##..", ".....", ".##..", ".##..", "....." } },
	{ '/', { ".....", "....#", "...#.", "..#..", ".#...", "#....", "....." } },
	{ '?', { ".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.." } },
	{ '0', { ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###." } },
	{ '1', { "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###." } },
	{ '2', { ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####" } },
	{ '3', { "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###." } },
	{ '4', { "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#." } },
	{ '5', { "#####", "#....", "####.", "....#", "....#", "#...#", ".###." } },
	{ '6', { "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###." } },
	{ '7', { "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..." } },
	{ '8', { ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###." } },
	{ '9', { ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.." } },
	{ 'A', { ".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#" } },
	{ 'B', { "####.", "#...#", "#...#", "####.", "#...#", "#...#", "####." } },
	{ 'C', { ".###.", "#...#", "#....", "#....", "#....", "#...#", ".###." } },
	{ 'D', { "###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.." } },
	{ 'E', { "#####", "#....", "#....", "####.", "#....", "#....", "#####" } },
	{ 'F', { "#####", "#....", "#....", "####.", "#....", "#....", "#...." } },
	{ 'G', { ".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####" } },
	{ 'H', { "#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#" } },
	{ 'I', { ".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###." } },
	{ 'J', { "..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.." } },
	{ 'K', { "#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#" } },
	{ 'L', { "#....", "#....", "#....", "#....", "#....", "#....", "#####" } },
	{ 'M', { "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#" } },
	{ 'N', { "#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#" } },
	{ 'O', { ".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###." } },
	{ 'P', { "####.", "#...#", "#...#", "####.", "#....", "#....", "#...." } },
	{ 'Q', { ".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#" } },
	{ 'R', { "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#" } },
	{ 'S', { ".####", "#....", "#....", ".###.", "....#", "....#", "####." } },
	{ 'T', { "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.." } },
	{ 'U', { "#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###." } },
	{ 'V', { "#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.." } },
	{ 'W', { "#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#." } },
	{ 'X', { "#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#" } },
	{ 'Y', { "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.." } },
	{ 'Z', { "#####", "....#", "...#.", "..#..", ".#...", "#....", "#####" } },
	{ 'a', { ".....", ".....", ".###.", "....#", ".####", "#...#", ".####" } },
	{ 'b', { "#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####." } },
	{ 'c', { ".....", ".....", ".###.", "#....", "#....", "#...#", ".###." } },
	{ 'd', { "....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####" } },
	{ 'e', { ".....", ".....", ".###.", "#...#", "#####", "#....", ".###." } },
	{ 'f', { "..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..." } },
	{ 'g', { ".....", ".####", "#...#", "#...#", ".####", "....#", ".###." } },
	{ 'h', { "#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#" } },
	{ 'i', { "..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###." } },
	{ 'j', { "...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.." } },
	{ 'k', { "#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#." } },
	{ 'l', { ".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###." } },
	{ 'm', { ".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#" } },
	{ 'n', { ".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#" } },
	{ 'o', { ".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###." } },
	{ 'p', { ".....", ".....", "####.", "#...#", "####.", "#....", "#...." } },
	{ 'q', { ".....", ".....", ".##.#", "#..##", ".####", "....#", "....#" } },
	{ 'r', { ".....", ".....", "#.##.", "##..#", "#....", "#....", "#...." } },
	{ 's', { ".....", ".....", ".###.", "#....", ".###.", "....#", "####." } },
	{ 't', { ".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##." } },
	{ 'u', { ".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#" } },
	{ 'v', { ".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.." } },
	{ 'w', { ".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#." } },
	{ 'x', { ".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#" } },
	{ 'y', { ".....", ".....", "#...#", "#...#", ".####", "....#", ".###." } },
	{ 'z', { ".....", ".....", "#####", "...#.", "..#..", ".#...", "#####" } },
};

struct rgb {
	uint8_t r, g, b;
};

/* Box colours by label id: saturated and far apart, so that neighbouring classes are told apart at a glance. */
static const struct rgb label_colors[] = {
	{ 0, 230, 64 },  { 255, 64, 64 }, { 64, 160, 255 }, { 255, 200, 0 },
	{ 230, 0, 230 }, { 0, 220, 220 }, { 255, 128, 0 },  { 160, 96, 255 },
};

/* Keypoint colours by index: for faces right eye, left eye, nose, mouth, right ear, left ear. */
static const struct rgb keypoint_colors[VIGIL_MAX_KEYPOINTS] = {
	{ 255, 0, 0 },   { 0, 0, 255 },   { 255, 255, 0 },   { 255, 0, 255 },
	{ 0, 255, 255 }, { 255, 140, 0 }, { 255, 255, 255 }, { 128, 0, 255 },
};

static const struct glyph *find_glyph(char c)
{
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].c == c)
			return &font[i];
	return NULL;
}

/* Fills [x0, x1) x [y0, y1), clipped to the image. Coordinates are long so that far-off boxes cannot overflow. */
static void fill_rect(struct vigil_image *img, long x0, long y0, long x1, long y1, struct rgb c)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > img->width)
		x1 = img->width;
	if (y1 > img->height)
		y1 = img->height;
	for (long y = y0; y < y1; y++) {
		uint8_t *p = img->rgb + (size_t)y * (size_t)img->stride + (size_t)x0 * 3;

		for (long x = x0; x < x1; x++, p += 3) {
			p[0] = c.r;
			p[1] = c.g;
			p[2] = c.b;
		}
	}
}

static void fill_disc(struct vigil_image *img, long cx, long cy, long r, struct rgb c)
{
	for (long dy = -r; dy <= r; dy++) {
		long half = (long)sqrt((double)(r * r - dy * dy));

		fill_rect(img, cx - half, cy + dy, cx + half + 1, cy + dy + 1, c);
	}
}

/* Image coordinates from detector floats: NaN is rejected by the caller; huge values are pinned far enough
 * outside that clipping discards them without overflowing long arithmetic. */
static long to_px(float v)
{
	const float lim = 1e7f;

	if (v < -lim)
		return (long)-lim;
	if (v > lim)
		return (long)lim;
	return lround(v);
}

static struct rgb text_color_on(struct rgb bg)
{
	int luma = (299 * bg.r + 587 * bg.g + 114 * bg.b) / 1000;

	return luma > 140 ? (struct rgb){ 0, 0, 0 } : (struct rgb){ 255, 255, 255 };
}

/* Draws @p text at (x, y) top-left with pixel scale @p s; characters without a glyph are drawn as '?'. */
static void draw_text(struct vigil_image *img, long x, long y, int s, const char *text, struct rgb c)
{
	const struct glyph *unknown = find_glyph('?');

	for (const char *t = text; *t; t++, x += (GLYPH_W + 1) * s) {
		const struct glyph *g = find_glyph(*t);

		if (!g)
			g = unknown;
		for (int gy = 0; gy < GLYPH_H; gy++)
			for (int gx = 0; gx < GLYPH_W; gx++)
				if (g->rows[gy][gx] == '#')
					fill_rect(img, x + (long)gx * s, y + (long)gy * s, x + (long)(gx + 1) * s,
						  y + (long)(gy + 1) * s, c);
	}
}

static void draw_one(struct vigil_image *img, const struct vigil_detection *d, int thick, int scale)
{
	struct rgb color = label_colors[(unsigned)d->label_id % (sizeof(label_colors) / sizeof(label_colors[0]))];
	long x0, y0, x1, y1, tw, th, tx, ty;
	char text[64];
	int n;

	if (!isfinite(d->x) || !isfinite(d->y) || !isfinite(d->w) || !isfinite(d->h))
		return;
	x0 = to_px(d->x);
	y0 = to_px(d->y);
	x1 = to_px(d->x + d->w);
	y1 = to_px(d->y + d->h);
	if (x1 < x0 || y1 < y0)
		return;

	/* Outline drawn inward from the box edge so that its outer edge is the box. */
	fill_rect(img, x0, y0, x1, y0 + thick, color);
	fill_rect(img, x0, y1 - thick, x1, y1, color);
	fill_rect(img, x0, y0, x0 + thick, y1, color);
	fill_rect(img, x1 - thick, y0, x1, y1, color);

	for (int k = 0; k < d->num_keypoints && k < VIGIL_MAX_KEYPOINTS; k++) {
		const struct vigil_point *p = &d->keypoints[k];

		if (isfinite(p->x) && isfinite(p->y))
			fill_disc(img, to_px(p->x), to_px(p->y), thick + 1, keypoint_colors[k]);
	}

	if (d->label)
		n = snprintf(text, sizeof(text), "%s %.2f", d->label, (double)d->score);
	else
		n = snprintf(text, sizeof(text), "id%d %.2f", d->label_id, (double)d->score);
	if (n < 0)
		return;
	n = (int)strlen(text);

	/* Tag above the box on a background of the box colour; inside the top of the box when there is no room
	 * above, and slid left when it would run off the right edge. */
	tw = (long)n * (GLYPH_W + 1) * scale + scale;
	th = (long)(GLYPH_H + 2) * scale;
	tx = x0;
	ty = y0 - th;
	if (ty < 0)
		ty = y0 < 0 ? 0 : y0;
	if (tx + tw > img->width)
		tx = img->width - tw;
	if (tx < 0)
		tx = 0;
	fill_rect(img, tx, ty, tx + tw, ty + th, color);
	draw_text(img, tx + scale, ty + scale, scale, text, text_color_on(color));
}

void vigil_draw_detections(struct vigil_image *img, const struct vigil_detections *dets)
{
	int min_side, thick, scale;

	if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || img->stride < img->width * 3 || !dets ||
	    (dets->count && !dets->items))
		return;
	min_side = img->width < img->height ? img->width : img->height;
	thick = min_side / 300 > 2 ? min_side / 300 : 2;
	/* Text grows with the image like the lines do (1x below 600 px, 2x from 600, 3x on 1080p) so that tags
	 * stay readable on a downscaled view of a large photo. */
	scale = min_side / 300 > 1 ? min_side / 300 : 1;

	/* Lowest score first, so that the strongest detection's tag ends on top where tags overlap. */
	for (size_t i = dets->count; i-- > 0;)
		draw_one(img, &dets->items[i], thick, scale);
}
