/* SPDX-License-Identifier: Apache-2.0
 * One-pass preprocessing: frame (any supported format, any size and stride) -> letterboxed, colour
 * converted, bilinearly resampled, normalised model input tensor. No full-frame intermediate. */
#ifndef VIGIL_PREPROCESS_H
#define VIGIL_PREPROCESS_H

#include <stdint.h>

#include "preprocess_kernels.h"
#include "vigil/vigil.h"

/* Where the model tensor sits in the frame. A tensor pixel (j, i) samples frame position
 * sx = (j + 0.5) * scale - 0.5 + origin_x (MediaPipe's pixel-centre mapping; with VIGIL_SAMPLING_CORNER
 * sx = j * scale + origin_x), likewise for y.
 * Tensor-normalised u in [0,1] maps to frame pixel x = origin_x + u * side. */
struct vigil_letterbox {
	float origin_x, origin_y;           /* frame position of the tensor's top-left corner (pixel edges) */
	float side;                         /* frame pixels covered by the square tensor */
	float scale;                        /* side / tensor size */
	int roi_x0, roi_y0, roi_x1, roi_y1; /* clipped ROI, [x0, x1) x [y0, y1); outside is black */
};

/* One bilinear tap along an axis. */
struct vigil_tap {
	int32_t lo, hi; /* sample indices (already clamped to the ROI / plane) */
	float frac;     /* weight of hi; lo gets 1 - frac */
	int32_t inside; /* 0: the position is outside the ROI, the tensor pixel is black */
};

struct vigil_preprocess {
	int dst_w, dst_h;            /* model input size */
	float norm_scale, norm_bias; /* tensor = value_0_255 * norm_scale + norm_bias */
	/* filled by configure, storage allocated by init */
	struct vigil_tap *luma_x, *luma_y;     /* dst_w / dst_h taps in full-resolution planes */
	struct vigil_tap *chroma_x, *chroma_y; /* taps in subsampled chroma planes (YUV formats) */
	struct vigil_letterbox lb;
	enum vigil_pixel_format format;
	int width, height;
	enum vigil_sampling sampling;
	int configured;
	/* Set after init for models trained on stretched images (COCO SSD): the ROI is resized to the tensor without
	 * keeping its aspect ratio (separate x and y scales, no black bars); lb then holds origin = ROI corner,
	 * side = ROI width, scale = x scale, and tensor-normalised (u, v) maps to frame (roi_x0 + u * (roi_x1 - roi_x0),
	 * roi_y0 + v * (roi_y1 - roi_y0)). */
	int stretch;
	/* Row kernels (accel/cpu/preprocess_kernels.h): init sets vigil_prep_kernels(); a test may point it at
	 * another set of vigil_prep_kernel_sets() before configure. configure fills cols for the tensor
	 * columns [col_j0, col_j1) inside the ROI and sets fast when this format and geometry can use them. */
	const struct vigil_prep_kernels *kernels;
	struct vigil_prep_cols cols;
	int col_j0, col_j1;
	int fast;
};

/* Allocates the tap tables for a dst_w x dst_h tensor (1..4096). The tensor must be square (dst_w == dst_h,
 * -EINVAL otherwise): the letterbox has one side and one scale, as MediaPipe's square detector inputs do.
 * On failure *pp is left zeroed, which vigil_preprocess_free() accepts. */
int vigil_preprocess_init(struct vigil_preprocess *pp, int dst_w, int dst_h, float norm_scale, float norm_bias);
/* Frees the tables and zeroes *pp; accepts NULL and a zeroed state. */
void vigil_preprocess_free(struct vigil_preprocess *pp);

/* Checks the frame (format, size within 1..VIGIL_MAX_FRAME_SIDE, planes present, strides large enough,
 * colorimetry 0..3 for YUV formats; unused planes are ignored) and returns 0 or VIGIL_EFORMAT with a detail
 * message (-EINVAL for a NULL frame). Per-frame safe. */
int vigil_frame_validate(const struct vigil_frame *frame);

/* Computes the letterbox for this frame geometry and ROI (roi NULL or w/h <= 0: whole frame) and fills
 * the tap tables for the sampling convention. No allocation. Returns VIGIL_EFORMAT for a ROI that does
 * not intersect the frame, -EINVAL for an unknown sampling. */
int vigil_preprocess_configure(struct vigil_preprocess *pp, const struct vigil_frame *frame,
			       const struct vigil_rect *roi, enum vigil_sampling sampling);

/* Writes the dst_h x dst_w x 3 (RGB, HWC) float tensor. The frame must have the format and size
 * passed to the last configure (and have passed vigil_frame_validate()); a frame that does not match, or a
 * state never configured, gets an all-black tensor instead of reads through the wrong tables.
 * No allocation. */
void vigil_preprocess_run(const struct vigil_preprocess *pp, const struct vigil_frame *frame, float *dst);

/* The same tensor as uint8 RGB (values rounded to nearest, ties to even), for quantized models whose input is the
 * raw 0..255 pixel (norm_scale 1, norm_bias 0). @p scratch holds dst_w * dst_h * 3 floats. No allocation. */
void vigil_preprocess_run_u8(const struct vigil_preprocess *pp, const struct vigil_frame *frame, float *scratch,
			     uint8_t *dst);

/* The YUV -> RGB coefficients run() uses for @p c: ys, yo, rv, gu, gv, bu (out[6], out[7] zeroed),
 * for backends that convert on their own (accel/opencl). */
void vigil_preprocess_yuv_coeffs(enum vigil_colorimetry c, float out[8]);

#endif
