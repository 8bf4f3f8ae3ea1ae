/* SPDX-License-Identifier: Apache-2.0
 * CPU kernels. vigil_<dtype>_<op>__<isa>: the __c variants are the reference (the specification);
 * optimised variants per ISA live in their own files and must match them (see docs/ARCHITECTURE.md).
 * All tensors are NHWC with batch 1, float32, densely packed. No kernel allocates.
 *
 * Dispatch (accel/cpu/dispatch.c):
 *   - Each ISA file (kernels_avx2.c, kernels_avx512.c, kernels_neon.c, ...) is compiled in its own static
 *     library with its own flags and exports one table `const struct vigil_f32_kernels vigil_f32_kernels__<isa>`.
 *     A table entry left NULL means "no optimised variant": the dispatcher fills it from the reference table,
 *     so a new ISA file can start with one kernel and grow.
 *   - dispatch.c lists the tables best first, each with the CPU features it needs (VIGIL_CPU_*), under
 *     `#if VIGIL_HAVE_<ISA>` (defined by accel/cpu/meson.build when that library is built for the host).
 *     To add an ISA: add the file and its static library in meson.build (append to cpu_isa_libs and
 *     cpu_isa_args), declare the table below, add one line to the list in dispatch.c, and detect its
 *     feature bits in vigil_cpu_features().
 *   - vigil_cpu_kernels() picks the first table whose features the CPU has, once per process, and logs the
 *     choice ("cpu" category, VIGIL_DEBUG=cpu:3). VIGIL_FORCE_C=1 forces the reference everywhere;
 *     VIGIL_CPU_DISABLE=avx512,avx2 removes features (e.g. to time AVX2 on an AVX-512 machine).
 *   - vigil_cpu_kernel_sets() lists every table this CPU can run, for the reference-vs-optimised tests.
 *
 * Work splitting: kernels with a spatial output compute rows [row_begin, row_end) of it only (row_end 0
 * means all rows), so that a thread pool can split a layer into row bands that write disjoint outputs. */
#ifndef VIGIL_KERNELS_H
#define VIGIL_KERNELS_H

#include <stddef.h>

/* Convolution. Weights are packed at model load by vigil_f32_conv2d_pack() in the layout the chosen
 * kernel table asks for (conv2d_oc_block): 0 is HWIO ([kh][kw][in_c][out_c], the reference's layout);
 * B > 0 is HWIO blocked by B output channels, [ceil(out_c / B)][kh][kw][in_c][B], zero-padded.
 * Fused epilogue, in this order: + bias, + residual (optional), clamp to [act_min, act_max]. */
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
	/* residual [out_h][out_w][residual_c] added to the first residual_c output channels before the clamp
	 * (a shortcut whose channel zero-padding is fused away); NULL for none. residual_c <= out_c. */
	const float *residual;
	int residual_c;
	int row_begin, row_end; /* output rows to compute; row_end 0 means all */
};
void vigil_f32_conv2d__c(const struct vigil_conv2d_args *a);

/* Floats the packed weights take, and the packing itself (from TFLite's OHWI). oc_block as above. */
size_t vigil_f32_conv2d_packed_size(int out_c, int kh, int kw, int in_c, int oc_block);
void vigil_f32_conv2d_pack(const float *ohwi, int out_c, int kh, int kw, int in_c, int oc_block, float *packed);

/* Depthwise convolution: weights [kh][kw][out_c] (TFLite's layout, out_c = in_c * depth_multiplier), which
 * every kernel can read; optimised kernels also want them repacked at load by vigil_f32_dwconv2d_pack() for
 * the set's dwconv2d_c_block B (packed: NULL when not repacked, and then they may take a slower path). The
 * packed layout is [ceil(out_c / B)][kh][kw][B], block b holding channels [s_b, s_b + B) with s_b = b * B,
 * except the last block when out_c > B and out_c % B != 0: s_b = out_c - B, overlapping the block before it
 * (kernels compute those channels twice, to the same values, instead of masking); lanes >= out_c are 0. */
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
	int row_begin, row_end;
	const float *packed; /* the weights repacked for the kernel set, or NULL (depth_multiplier 1 only) */
};
void vigil_f32_dwconv2d__c(const struct vigil_dwconv2d_args *a);
size_t vigil_f32_dwconv2d_packed_size(int c, int kh, int kw, int c_block);
void vigil_f32_dwconv2d_pack(const float *hwc, int c, int kh, int kw, int c_block, float *packed);

/* Max pooling; padded positions are ignored (as TFLite does). */
struct vigil_pool_args {
	const float *input;
	int in_h, in_w, c;
	float *output;
	int out_h, out_w;
	int fh, fw, stride_h, stride_w, pad_top, pad_left;
	float act_min, act_max;
	int row_begin, row_end;
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
	int row_begin, row_end;
};
void vigil_f32_resize_bilinear__c(const struct vigil_resize_args *a);
/* The two input rows (or columns) output row out_i reads and the weight of the second, as the reference does:
 * out = in[lo] * (1 - frac) + in[hi] * frac along each axis. */
void vigil_f32_resize_taps(int out_i, int in_size, int out_size, int align_corners, int half_pixel, int *lo, int *hi,
			   float *frac);

/* ---- dispatch ---- */

typedef void (*vigil_f32_conv2d_fn)(const struct vigil_conv2d_args *a);
typedef void (*vigil_f32_dwconv2d_fn)(const struct vigil_dwconv2d_args *a);
typedef void (*vigil_f32_maxpool2d_fn)(const struct vigil_pool_args *a);
typedef void (*vigil_f32_add_fn)(const float *a, const float *b, float *out, size_t n, float act_min, float act_max);
typedef void (*vigil_f32_clamp_fn)(const float *in, float *out, size_t n, float act_min, float act_max);
typedef void (*vigil_f32_resize_bilinear_fn)(const struct vigil_resize_args *a);

/* One kernel set. Kernels not listed here (pad, concat) are memory moves with one C version. */
struct vigil_f32_kernels {
	const char *isa;     /* "c", "avx2", "avx512", "neon", ... */
	int conv2d_oc_block; /* weight layout conv2d reads (see vigil_f32_conv2d_pack); 0 = HWIO */
	vigil_f32_conv2d_fn conv2d;
	int dwconv2d_c_block; /* 0: dwconv2d reads only the TFLite layout; B: give it weights packed for B too */
	vigil_f32_dwconv2d_fn dwconv2d;
	vigil_f32_maxpool2d_fn maxpool2d;
	vigil_f32_add_fn add;
	vigil_f32_clamp_fn clamp;
	vigil_f32_resize_bilinear_fn resize_bilinear;
};

extern const struct vigil_f32_kernels vigil_f32_kernels__c;
extern const struct vigil_f32_kernels vigil_f32_kernels__avx2;
extern const struct vigil_f32_kernels vigil_f32_kernels__avx512;
extern const struct vigil_f32_kernels vigil_f32_kernels__neon;

enum {
	VIGIL_CPU_AVX2 = 1u << 0,   /* AVX2 + FMA, with OS support for YMM state */
	VIGIL_CPU_AVX512 = 1u << 1, /* AVX-512 F, BW, VL, DQ, with OS support for ZMM state */
	VIGIL_CPU_AVX512VNNI = 1u << 2,
	VIGIL_CPU_NEON = 1u << 8,
	VIGIL_CPU_DOTPROD = 1u << 9,
};

/* Features of this CPU, detected once, minus VIGIL_CPU_DISABLE's; 0 when VIGIL_FORCE_C=1. */
unsigned vigil_cpu_features(void);

/* The kernel set the engine uses: chosen once per process (thread-safe), logged once. Every entry is set. */
const struct vigil_f32_kernels *vigil_cpu_kernels(void);

/* Every kernel set this CPU can run, best first, the reference last; entries are complete (NULLs filled
 * from the reference). Returns the count. */
int vigil_cpu_kernel_sets(const struct vigil_f32_kernels *const **sets);

#endif
