/* SPDX-License-Identifier: Apache-2.0
 * Test-only conversion of packed RGB into every vigil pixel format, so that suites can feed one image
 * to the detector in all formats and compare the results.
 *
 *     struct tc_frame f;
 *     ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, VIGIL_FORMAT_NV12, 0, &f), 0);
 *     vigil_detector_detect(det, &f.frame, &out);
 *     tc_frame_free(&f);
 *
 * Conversions (the inverses of what preprocessing assumes by default):
 *  - YUV formats: BT.601 limited range (Y 16..235, U/V 16..240), rounded to the nearest code. The frame's
 *    colorimetry is set to VIGIL_COLOR_BT601_LIMITED.
 *  - 4:2:0 chroma (NV12, I420) is the mean of the U and V values of each 2x2 block, 4:2:2 chroma (YUY2,
 *    UYVY) the mean of each horizontal pair; a block cut by an odd width or height averages the pixels it
 *    has. (A box average is centred between the luma samples, while preprocessing assumes MPEG-2
 *    left-sited chroma: a half-pixel chroma shift that only matters where colour changes sharply.)
 *  - GRAY8: full-range BT.601 luma, round(0.299 R + 0.587 G + 0.114 B).
 *  - RGBA/BGRA get alpha 255, RGBx/BGRx get 0 in the padding byte (preprocessing must ignore both).
 * Each plane is its own malloc of exactly stride * rows bytes, so that AddressSanitizer catches reads past
 * the last row; the @p pad bytes at the end of each row are filled with 0xA5 so that reading them shows up
 * in pixel comparisons.
 * To convert a crop, pass a pointer into the source image with a smaller width/height and its stride. */
#ifndef VIGIL_TESTS_CONVERT_H
#define VIGIL_TESTS_CONVERT_H

#include <stdint.h>

#include "vigil/vigil.h"

struct tc_frame {
	struct vigil_frame frame; /* describes planes[] below; pts_ns = -1 */
	uint8_t *planes[3];       /* malloc'd and owned; NULL for planes the format does not have */
};

/* Converts the width x height packed RGB image at @p rgb (@p stride bytes per row) to @p format, with
 * @p pad extra bytes at the end of every row of every plane (0: tight strides). Returns 0, -EINVAL for
 * bad arguments (format out of range, size < 1, stride < 3 * width, pad < 0) or -ENOMEM; on failure
 * @p out is left empty (safe to pass to tc_frame_free). */
int tc_convert(const uint8_t *rgb, int width, int height, int stride, enum vigil_pixel_format format, int pad,
	       struct tc_frame *out);

/* Frees the planes and empties @p f; accepts NULL and an emptied frame. */
void tc_frame_free(struct tc_frame *f);

/* BT.601 limited-range conversion of one pixel, as tc_convert does it (rounded, clamped to 0..255). */
void tc_rgb_to_yuv601(int r, int g, int b, uint8_t *y, uint8_t *u, uint8_t *v);

#endif
