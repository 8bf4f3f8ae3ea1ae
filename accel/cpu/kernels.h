/* SPDX-License-Identifier: Apache-2.0
 * CPU kernels. vigil_<dtype>_<op>__<isa>: the __c variants are the reference (the specification);
 * optimised variants per ISA live in their own files and must match them (see docs/ARCHITECTURE.md).
 * All tensors are NHWC with batch 1, float32, densely packed. No kernel allocates. */
#ifndef VIGIL_KERNELS_H
#define VIGIL_KERNELS_H

#include <stddef.h>

/* Convolution. Weights are packed at model load as [kh][kw][in_c][out_c] (HWIO) so that the innermost
 * loop runs over contiguous output channels. */
struct vigil_conv2d_args {
	const float *input;
	int in_h, in_w, in_c;
	const float *weights;
	const float *bias; /* out_c values, or NULL */
	float *output;
	int out_h, out_w, out_c;
	int kh, kw;
	int stride_h, stride_w;
	int dil_h, dil_w;
	int pad_top, pad_left;  /* implicit zero padding before the first row / column */
	float act_min, act_max; /* fused activation clamp */
};
void vigil_f32_conv2d__c(const struct vigil_conv2d_args *a);

/* Depthwise convolution: weights [kh][kw][out_c] (TFLite's layout, out_c = in_c * depth_multiplier). */
struct vigil_dwconv2d_args {
	const float *input;
	int in_h, in_w, in_c;
	const float *weights;
	const float *bias;
	float *output;
	int out_h, out_w, out_c;
	int depth_multiplier;
	int kh, kw;
	int stride_h, stride_w;
	int dil_h, dil_w;
	int pad_top, pad_left;
	float act_min, act_max;
};
void vigil_f32_dwconv2d__c(const struct vigil_dwconv2d_args *a);

/* Max pooling; padded positions are ignored (as TFLite does). */
struct vigil_pool_args {
	const float *input;
	int in_h, in_w, c;
	float *output;
	int out_h, out_w;
	int fh, fw, stride_h, stride_w, pad_top, pad_left;
	float act_min, act_max;
};
void vigil_f32_maxpool2d__c(const struct vigil_pool_args *a);

/* out[i] = clamp(a[i] + b[i]) over n elements (same shape). */
void vigil_f32_add__c(const float *a, const float *b, float *out, size_t n, float act_min, float act_max);

/* out[i] = clamp(in[i]) */
void vigil_f32_clamp__c(const float *in, float *out, size_t n, float act_min, float act_max);

/* Zero padding of a rank-4 tensor: before[d]/after[d] elements added on each dimension. */
void vigil_f32_pad4d__c(const float *in, const int in_dims[4], const int before[4], float *out, const int out_dims[4]);

/* Concatenation of n inputs along one axis, given as outer x (axis_len_i * inner) blocks. */
void vigil_f32_concat__c(const float *const *inputs, const size_t *block, int n, size_t outer, float *out);

/* Bilinear resize with TFLite's RESIZE_BILINEAR semantics (align_corners, half_pixel_centers). */
struct vigil_resize_args {
	const float *input;
	int in_h, in_w, c;
	float *output;
	int out_h, out_w;
	int align_corners, half_pixel_centers;
};
void vigil_f32_resize_bilinear__c(const struct vigil_resize_args *a);

#endif
