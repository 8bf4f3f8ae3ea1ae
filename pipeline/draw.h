/* SPDX-License-Identifier: Apache-2.0
 * Annotation of RGB images: boxes, keypoints and score labels. */
#ifndef VIGIL_DRAW_H
#define VIGIL_DRAW_H

#include "image_io.h"
#include "vigil/vigil.h"

/* Draws each detection's box (line width scaled to the image), its keypoints and "label score" text in the
 * built-in font, clipped to the image: vigil_frame_annotate() in box mode with the defaults. */
void vigil_draw_detections(struct vigil_image *img, const struct vigil_detections *dets);

#endif
