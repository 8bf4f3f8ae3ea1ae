/* SPDX-License-Identifier: Apache-2.0
 * Quantized CPU kernels (uint8 asymmetric, int8 symmetric-weight), following TFLite's reference kernels bit for bit:
 * the same fixed-point requantization (QuantizeMultiplier, SaturatingRoundingDoublingHighMul,
 * RoundingDivideByPOT), the same float formulas where TFLite uses floats (CONCATENATION rescaling, LOGISTIC table,
 * QUANTIZE, DEQUANTIZE). vigil_u8_* / vigil_i8_* __c variants are the specification; SIMD variants must match them
 * exactly. Tensors are NHWC, batch 1, densely packed. No kernel allocates. */
#ifndef VIGIL_KERNELS_Q8_H
#define VIGIL_KERNELS_Q8_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

/* ---- TFLite's fixed-point arithmetic --------------------------------------------------------------------- */

/* real = q * 2^shift with q in [0.5, 1) as a Q31 value; shift > 0 scales up. 0 gives (0, 0). */
void vigil_q_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* (a * b * 2) >> 32 rounded half away from zero, saturating the one overflow case (INT32_MIN * INT32_MIN). */
static inline int32_t vigil_q_srdhm(int32_t a, int32_t b)
{
	const int overflow = a == b && a == INT32_MIN;
	const int64_t ab = (int64_t)a * (int64_t)b;
	const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
	const int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));

	return overflow ? INT32_MAX : high;
}

/* x / 2^exponent rounded half away from zero (0 <= exponent <= 31). */
static inline int32_t vigil_q_rdbypot(int32_t x, int exponent)
{
	const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier (double rounding). */
static inline int32_t vigil_q_mul(int32_t x, int32_t multiplier, int shift)
{
	const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;

	return vigil_q_rdbypot(vigil_q_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* Clamp range of a fused activation on a quantized output (CalculateActivationRangeQuantized). act: 0 none,
 * 1 RELU, 2 RELU_N1_TO_1, 3 RELU6; is_signed picks int8 (-128..127) over uint8 (0..255). */
void vigil_q_act_range(int act, float scale, int32_t zero_point, int is_signed, int32_t *lo, int32_t *hi);

/* ---- kernels ------------------------------------------------------------------------------------------------ */

/* Convolution with weights in TFLite's OHWI layout; per-output-channel multiplier/shift (the same value repeated
 * for per-tensor quantization). acc = sum (w + weights_offset) * (x + input_offset) + bias; out = clamp(
 * mul(acc) + output_offset), or the fp32 requantization when fp32_scale is set. */
struct vigil_q8_conv_args {
	const void *input;
	int in_h, in_w, in_c;
	const void *weights;
	const int32_t *bias; /* out_c values or NULL */
	void *output;
	int out_h, out_w, out_c;
	int kh, kw, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
	int depth_multiplier; /* depthwise only: weights [1][kh][kw][out_c] */
	int32_t input_offset, weights_offset, output_offset;
	const int32_t *multiplier;
	const int *shift;
	int32_t act_min, act_max;
	/* Requantization: NULL for TFLite's reference fixed-point (multiplier/shift above); else a float scale per
	 * output channel, (in_scale * w_scale) / out_scale in float, and out = lrintf(clamp(acc * scale)) + output_offset:
	 * what TFLite's default CPU path (its XNNPACK delegate) computes for uint8/int8 convolutions. */
	const float *fp32_scale;
};

/* XNNPACK-style fp32 requantization of one accumulator (see vigil_q8_conv_args.fp32_scale). */
static inline int32_t vigil_q_requant_fp32(int32_t acc, float scale, int32_t zero_point, int32_t lo, int32_t hi)
{
	float f = (float)acc * scale;
	const float flo = (float)(lo - zero_point), fhi = (float)(hi - zero_point);

	f = f < flo ? flo : f > fhi ? fhi : f;
	return (int32_t)lrintf(f) + zero_point;
}
void vigil_u8_conv2d__c(const struct vigil_q8_conv_args *a);
void vigil_i8_conv2d__c(const struct vigil_q8_conv_args *a);
void vigil_u8_dwconv2d__c(const struct vigil_q8_conv_args *a);
void vigil_i8_dwconv2d__c(const struct vigil_q8_conv_args *a);
/* uint8 depthwise with depth_multiplier 1, vectorisable over channels; identical output. acc: out_c int32 scratch */
void vigil_u8_dwconv2d_m1__c(const struct vigil_q8_conv_args *a, int32_t *acc);

#if defined(__x86_64__) && defined(__GNUC__)
#define VIGIL_Q8_HAVE_AVX2 1
#else
#define VIGIL_Q8_HAVE_AVX2 0
#endif

#if defined(__aarch64__) && defined(__GNUC__)
#define VIGIL_Q8_HAVE_NEON 1
#else
#define VIGIL_Q8_HAVE_NEON 0
#endif

/* ---- optimised kernels (AVX2, AVX-512, NEON): bit-identical to the __c kernels above -----------------------------
 * All products are exact int32 sums of (x - zx) * (w - zw) on int16 operands (x86: vpmaddwd pairs, never
 * vpmaddubsw, which saturates; NEON: smlal by element): the activation zero point is subtracted while the
 * activations are widened to int16, the weight zero point when the weights are packed at load (kernels_q8_pack.c,
 * the same on every architecture), so no correction term is needed and padding (x = zx) contributes 0. The one
 * exception is the dot-product GEMM (ARMv8.2 SDOT/UDOT), which multiplies raw bytes and corrects exactly after the
 * sums (struct vigil_q8_gemm). */

/* Per-output-channel epilogue shared by the GEMM and depthwise kernels, padded to a multiple of 16 channels. */
struct vigil_q8_requant_vec {
	int32_t *bias;   /* the conv bias (0 where none) */
	float *fscale;   /* fp32 requantization scales, or NULL for the fixed-point multiplier below */
	int32_t *mult;   /* Q31 multiplier */
	int32_t *lshift; /* max(shift, 0) */
	int32_t *rshift; /* max(-shift, 0) */
	int32_t output_offset, act_min, act_max;
	int is_signed;
};
/* Fills @p rq for the n channels of @p a, zero padded to np (a multiple of 16); allocates. 0 or -ENOMEM. */
int vigil_q8_requant_vec_init(const struct vigil_q8_conv_args *a, int is_signed, int n, int np,
			      struct vigil_q8_requant_vec *rq);
void vigil_q8_requant_vec_free(struct vigil_q8_requant_vec *rq);

/* Weights of a convolution packed for a GEMM micro-kernel of mr pixels x nr channels: K = kh*kw*in_c rounded up to a
 * multiple of kb (kp), out_c rounded up to nr (np); panel layout [np/nr][kp/kg][nr][kg] holding, zero padded, either
 * w - zw as int16 (w; kg = 2 gives the int16 pairs of x86's vpmaddwd, kg = 1 one k per row for NEON's
 * multiply-accumulate by element) or, for the dot-product kernels (dot = 1), the raw weight bytes (wb; kg = 4, the
 * groups of SDOT/UDOT). Pixel ranges given to a kernel should start at multiples of mr (one micro-tile). Each kernel
 * names its shape below. */
struct vigil_q8_gemm_shape {
	int mr, nr, kg, kb, dot;
};
#define VIGIL_Q8_GEMM_MR 4
#define VIGIL_Q8_GEMM_NR 24
#define VIGIL_Q8_GEMM512_MR 6
#define VIGIL_Q8_GEMM512_NR 48
#define VIGIL_Q8_GEMM_NEON_MR 8
#define VIGIL_Q8_GEMM_NEON_NR 8
#define VIGIL_Q8_GEMM_AVX2 ((struct vigil_q8_gemm_shape){ VIGIL_Q8_GEMM_MR, VIGIL_Q8_GEMM_NR, 2, 2, 0 })
#define VIGIL_Q8_GEMM_AVX512 ((struct vigil_q8_gemm_shape){ VIGIL_Q8_GEMM512_MR, VIGIL_Q8_GEMM512_NR, 2, 2, 0 })
#define VIGIL_Q8_GEMM_NEON ((struct vigil_q8_gemm_shape){ VIGIL_Q8_GEMM_NEON_MR, VIGIL_Q8_GEMM_NEON_NR, 1, 8, 0 })
#define VIGIL_Q8_GEMM_NEONDOT ((struct vigil_q8_gemm_shape){ VIGIL_Q8_GEMM_NEON_MR, VIGIL_Q8_GEMM_NEON_NR, 4, 16, 1 })
/* The dot-product kernels multiply the raw bytes, unsigned by unsigned (UDOT) or signed by signed (SDOT), and
 * correct afterwards: with xo = input_offset, wo = weights_offset and K taps (outside ones reading zx = -xo, so that
 * their exact term (x + xo) * (w + wo) is 0, as the reference skips them),
 *   sum (x + xo) * (w + wo) = sum x * w + wo * sum x + xo * sum w + K * xo * wo,
 * where xo * sum w + K * xo * wo is per channel and folded into the bias at load, and wo * sum x is per pixel: each
 * tile row carries its sum. All of it in wrapping 32-bit arithmetic, whose result modulo 2^32 is the reference's
 * int32 accumulator. */
struct vigil_q8_gemm {
	int k, kp, n, np, mr, nr, kg, dot;
	int row_stride; /* tile elements from one pixel's row to the next: kp, or kp + 16 bytes holding the sum (dot) */
	int16_t *w;     /* int16 panels, or NULL */
	uint8_t *wb;    /* byte panels (dot), or NULL */
	int32_t wo;     /* weights_offset (dot: the per-pixel correction) */
	struct vigil_q8_requant_vec rq;
};
/* Packs the weights and epilogue of @p a (OHWI weights, uint8 or int8 by @p is_signed); allocates. 0 or -ENOMEM. */
int vigil_q8_gemm_pack(const struct vigil_q8_conv_args *a, int is_signed, struct vigil_q8_gemm_shape shape,
		       struct vigil_q8_gemm *g);
void vigil_q8_gemm_free(struct vigil_q8_gemm *g);
/* Scratch bytes one caller of a GEMM kernel needs (the activation tile), and the tile's pixels. */
size_t vigil_q8_gemm_scratch_bytes(const struct vigil_q8_gemm *g);
int vigil_q8_gemm_tile_pixels(const struct vigil_q8_gemm *g);
/* Output pixels [p0, p1) of any convolution (1x1 read directly, others gathered im2col-style one tile at a time). */
void vigil_q8_conv_gemm__avx2(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch, int p0,
			      int p1);
/* The activation tile of output pixels p..p+rows-1: kp int16 per pixel (x - zx, 0 outside the image and past k),
 * zero rows up to rows_pad (kernels_q8_rows.h). */
void vigil_q8_pack_rows__avx2(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, int p, int rows,
			      int rows_pad, int16_t *dst);
/* AVX-512 F+BW (16 int32 lanes; vpmaddwd + vpaddd) and AVX-512 VNNI (vpdpwssd: the same exact int16 pair products,
 * accumulated in one instruction) on VIGIL_Q8_GEMM_AVX512 panels. */
void vigil_q8_conv_gemm__avx512(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch,
				int p0, int p1);
void vigil_q8_conv_gemm__avx512vnni(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch,
				    int p0, int p1);

/* NEON (ARMv8.0 AdvSIMD) on VIGIL_Q8_GEMM_NEON panels: 8 pixels x 8 channels, smlal/smlal2 by element. */
void vigil_q8_conv_gemm__neon(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch, int p0,
			      int p1);
void vigil_q8_pack_rows__neon(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, int p, int rows,
			      int rows_pad, int16_t *dst);

/* NEON with the ARMv8.2 dot product (SDOT/UDOT; HWCAP_ASIMDDP, VIGIL_CPU_DOTPROD) on VIGIL_Q8_GEMM_NEONDOT panels:
 * 8 pixels x 8 channels, 16 products of 4 byte pairs per instruction; bit-identical to the reference as above. */
void vigil_q8_conv_gemm__neondot(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch,
				 int p0, int p1);

/* Depthwise convolution with depth multiplier 1 and at most VIGIL_Q8_DW_MAX_TAPS taps: taps paired, [ceil(kh*kw/2)][cp][2] int16 holding w - zw. */
struct vigil_q8_dw {
	int c, cp, taps, pairs;
	int16_t *w;
	struct vigil_q8_requant_vec rq;
};
#define VIGIL_Q8_DW_MAX_TAPS 49
int vigil_q8_dw_pack(const struct vigil_q8_conv_args *a, int is_signed, struct vigil_q8_dw *d);
void vigil_q8_dw_free(struct vigil_q8_dw *d);
/* Output rows [y0, y1). @p zeros: at least c bytes holding the input zero point (stands in for padding). */
void vigil_q8_dwconv__avx2(const struct vigil_q8_conv_args *a, const struct vigil_q8_dw *d, const void *zeros, int y0,
			   int y1);
/* The same on AVX-512 F+BW and AVX-512 VNNI (16 channels per vector, masked tails). */
void vigil_q8_dwconv__avx512(const struct vigil_q8_conv_args *a, const struct vigil_q8_dw *d, const void *zeros, int y0,
			     int y1);
void vigil_q8_dwconv__avx512vnni(const struct vigil_q8_conv_args *a, const struct vigil_q8_dw *d, const void *zeros,
				 int y0, int y1);
/* The same on NEON (16 channels per step, the paired taps split by vld2). */
void vigil_q8_dwconv__neon(const struct vigil_q8_conv_args *a, const struct vigil_q8_dw *d, const void *zeros, int y0,
			   int y1);

/* Depthwise convolution on the float kernels (kernels.h), exactly. With x - zx and w - zw in -255..255, every
 * product is an integer below 2^16 and every partial sum of a channel is an integer of magnitude at most
 * |bias| + 255 * sum_t |w_t - zw|; when that is at most 2^24 for every channel, float32 represents each partial sum
 * exactly, so any order of float additions or fused multiply-adds gives the reference's int32 accumulator, and the
 * requantization that follows is the reference's. The input is widened to x - zx in float (0 for padding, as the
 * reference skips those taps) band by band of output rows in a per-caller scratch, so the float tensors stay in
 * L2. vigil_q8_dwf_pack() refuses (-ERANGE) a convolution whose bound exceeds 2^24; the caller then takes the
 * integer kernel. */
struct vigil_f32_kernels;
struct vigil_q8_dwf {
	int c, band;
	const struct vigil_f32_kernels *k;
	float *w;                       /* [kh][kw][c] w - zw */
	float *packed;                  /* w packed for k (NULL when k reads the TFLite layout) */
	float *bias;                    /* c values, 0 where none */
	struct vigil_q8_requant_vec rq; /* its bias is 0: the bias is in the float accumulators */
};
int vigil_q8_dwf_pack(const struct vigil_q8_conv_args *a, int is_signed, const struct vigil_f32_kernels *k,
		      struct vigil_q8_dwf *d);
void vigil_q8_dwf_free(struct vigil_q8_dwf *d);
/* the scratch: the band's float input (this many floats, a multiple of 64 bytes), then its float output */
size_t vigil_q8_dwf_in_floats(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d);
size_t vigil_q8_dwf_scratch_bytes(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d);
/* Output rows [y0, y1). */
void vigil_q8_dwconv_f32__avx2(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d, void *scratch, int y0,
			       int y1);

/* n accumulators of channels c0.. requantized with the epilogue (exposed for tests; n any). */
void vigil_q8_requant__avx2(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out);
void vigil_q8_requant__avx512(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out);
void vigil_q8_requant__neon(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out);

/* Pooling: padded positions are skipped; average = (sum +- count/2) / count (TFLite's rounding). */
struct vigil_q8_pool_args {
	const void *input;
	int in_h, in_w, c;
	void *output;
	int out_h, out_w;
	int fh, fw, stride_h, stride_w, pad_top, pad_left;
	int32_t act_min, act_max;
};
void vigil_u8_maxpool2d__c(const struct vigil_q8_pool_args *a);
void vigil_i8_maxpool2d__c(const struct vigil_q8_pool_args *a);
void vigil_u8_avgpool2d__c(const struct vigil_q8_pool_args *a);
void vigil_i8_avgpool2d__c(const struct vigil_q8_pool_args *a);

/* ADD of same-shape tensors (TFLite's reference quantized add: left shift 20, three multipliers). */
struct vigil_q8_add_params {
	int32_t in1_offset, in2_offset, out_offset;
	int left_shift;
	int32_t in1_mult, in2_mult, out_mult;
	int in1_shift, in2_shift, out_shift;
	int32_t act_min, act_max;
};
/* Derives the parameters as TFLite's Prepare does. */
void vigil_q8_add_prepare(float s1, int32_t z1, float s2, int32_t z2, float so, int32_t zo, int32_t act_min,
			  int32_t act_max, struct vigil_q8_add_params *p);
void vigil_u8_add__c(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n, const struct vigil_q8_add_params *p);
void vigil_i8_add__c(const int8_t *a, const int8_t *b, int8_t *out, size_t n, const struct vigil_q8_add_params *p);

/* CONCATENATION with rescaling: inputs whose scale and zero point equal the output's are copied, others mapped with
 * round(q * (s_in / s_out) - z_in * (s_in / s_out)) + z_out in float, as TFLite does. */
struct vigil_q8_concat_input {
	const void *data;
	size_t block; /* axis length x inner size */
	float scale;
	int32_t zero_point;
};
void vigil_u8_concat__c(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,
			int32_t out_zero_point, uint8_t *out);
void vigil_i8_concat__c(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,
			int32_t out_zero_point, int8_t *out);
#if VIGIL_Q8_HAVE_AVX2
void vigil_u8_concat__avx2(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,
			   int32_t out_zero_point, uint8_t *out);
void vigil_i8_concat__avx2(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,
			   int32_t out_zero_point, int8_t *out);
#endif

/* 256-entry lookup table of a uint8/int8 element-wise function (TFLite's LOGISTIC on 8-bit tensors), indexed by the
 * raw byte. */
void vigil_q8_logistic_table(float in_scale, int32_t in_zero_point, float out_scale, int32_t out_zero_point,
			     int is_signed, uint8_t table[256]);
void vigil_q8_lookup__c(const uint8_t *in, uint8_t *out, size_t n, const uint8_t table[256]);

/* QUANTIZE: clamp(round(x / scale) + zero_point); requantization 8-bit -> 8-bit with a fixed-point multiplier. */
void vigil_u8_quantize__c(const float *in, uint8_t *out, size_t n, float scale, int32_t zero_point);
void vigil_i8_quantize__c(const float *in, int8_t *out, size_t n, float scale, int32_t zero_point);
struct vigil_q8_requant_params {
	int32_t in_zero_point, out_zero_point, multiplier;
	int shift;
	int in_signed, out_signed;
};
void vigil_q8_requantize__c(const void *in, void *out, size_t n, const struct vigil_q8_requant_params *p);

/* DEQUANTIZE: (float)(scale * (q - zero_point)) computed in double as TFLite does. */
void vigil_u8_dequantize__c(const uint8_t *in, float *out, size_t n, float scale, int32_t zero_point);
void vigil_i8_dequantize__c(const int8_t *in, float *out, size_t n, float scale, int32_t zero_point);

#endif
