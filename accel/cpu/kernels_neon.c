/* SPDX-License-Identifier: Apache-2.0
 * NEON (AdvSIMD) kernels for aarch64, ARMv8.0 baseline (built with -march=armv8-a in their own library):
 * the vocabulary of kernels_simd.h over float32x4_t. AdvSIMD is mandatory on aarch64, so this set runs on
 * every aarch64 CPU; dot-product (ARMv8.2 SDOT) variants belong to the quantized kernels and are gated by
 * VIGIL_CPU_DOTPROD (see dispatch.c). */
#include <arm_neon.h>

#define V float32x4_t
#define VL 4
#define VIGIL_SIMD_ISA "neon"
#define SIMD_NAME(op) vigil_f32_##op##__neon_simd
/* kernels_simd.h's table is the starting point; the set the dispatcher sees (vigil_f32_kernels__neon, at the
 * end) replaces its convolution and max pooling with the NEON-shaped ones below. */
#define SIMD_TABLE vigil_f32_kernels__neon_generic
/* 32 vector registers: 24 accumulators + 2 weights + 1 broadcast input */
/* depthwise: 32 registers hold a block's 3x3 taps, 4 accumulators and the input columns of a tile */
#define DW_NP1 4
#define DW_NP2 4
#define DW_BLOCK_OUTER 1
#define CONV_NP3 8
#define CONV_NP2 12
#define CONV_NP1 24

/* The first n (1..3) lanes; the others read as 0 and are never written. No lane outside them is touched,
 * so a tail at the end of a buffer never reads or writes past it. */
static inline float32x4_t neon_load_n(const float *p, int n)
{
	const float32x2_t z = vdup_n_f32(0.0f);

	switch (n) {
	case 1:
		return vcombine_f32(vld1_lane_f32(p, z, 0), z);
	case 2:
		return vcombine_f32(vld1_f32(p), z);
	case 3:
		return vcombine_f32(vld1_f32(p), vld1_lane_f32(p + 2, z, 0));
	default:
		return vld1q_f32(p);
	}
}

static inline void neon_store_n(float *p, float32x4_t v, int n)
{
	switch (n) {
	case 1:
		vst1q_lane_f32(p, v, 0);
		break;
	case 2:
		vst1_f32(p, vget_low_f32(v));
		break;
	case 3:
		vst1_f32(p, vget_low_f32(v));
		vst1q_lane_f32(p + 2, v, 2);
		break;
	default:
		vst1q_f32(p, v);
		break;
	}
}

/* kernels_simd.h wants x86's max/min: b unless a is strictly greater (smaller), so a NaN in either gives b.
 * FMAX/FMIN would return the NaN whichever side it is on, and max pooling would then disagree with the
 * reference (which keeps the running value when the new one is NaN). */
static inline float32x4_t neon_max(float32x4_t a, float32x4_t b)
{
	return vbslq_f32(vcgtq_f32(a, b), a, b);
}

static inline float32x4_t neon_min(float32x4_t a, float32x4_t b)
{
	return vbslq_f32(vcltq_f32(a, b), a, b);
}

#define vload(p) vld1q_f32(p)
#define vstore(p, v) vst1q_f32((p), (v))
#define vload_n(p, n) neon_load_n((p), (n))
#define vstore_n(p, v, n) neon_store_n((p), (v), (n))
#define vset1(x) vdupq_n_f32(x)
#define vzero() vdupq_n_f32(0.0f)
#define vfma(a, b, c) vfmaq_f32((c), (a), (b))
#define vadd(a, b) vaddq_f32((a), (b))
#define vmul(a, b) vmulq_f32((a), (b))
#define vmax(a, b) neon_max((a), (b))
#define vmin(a, b) neon_min((a), (b))

extern const struct vigil_f32_kernels vigil_f32_kernels__neon_generic;

#include "kernels_simd.h"

/* Convolution tiles as in kernels_simd.h (np pixels x nb blocks of 4 output channels, weights blocked by 4),
 * but the input is read 4 values at a time and each lane feeds the fused multiply-add by element
 * (FMLA v.4s, v.4s, v.s[j]): one load per pixel per 4 input channels instead of four broadcasts.
 * Registers: 2 x 10 accumulators + 8 weights + 1 input (nb 2), 16 + 4 + 1 (nb 1). */
#define NEON_NP2 10
#define NEON_NP1 16

/* acc[p][v] += sum over c < len of ip[p * pstep + c] * w[v * wblock + c * VL + lane]: a run of len inputs
 * contiguous in the input and in the packed weights (one tap's in_c channels, or a whole kernel row's
 * kw * in_c when the row has no padding and no dilation). */
INLINE void neon_conv_span(float32x4_t acc[][2], const float *w, size_t wblock, const float *ip, ptrdiff_t pstep,
			   int len, const int nb, const int np)
{
	int c = 0;

	for (; c + 4 <= len; c += 4) {
		const float *wc = w + (size_t)c * VL;
		const float32x4_t w00 = vld1q_f32(wc), w01 = vld1q_f32(wc + 4), w02 = vld1q_f32(wc + 8),
				  w03 = vld1q_f32(wc + 12);
		float32x4_t w10 = w00, w11 = w01, w12 = w02, w13 = w03;

		if (nb > 1) {
			w10 = vld1q_f32(wc + wblock);
			w11 = vld1q_f32(wc + wblock + 4);
			w12 = vld1q_f32(wc + wblock + 8);
			w13 = vld1q_f32(wc + wblock + 12);
		}
#pragma GCC unroll 16
		for (int p = 0; p < np; p++) {
			const float32x4_t x = vld1q_f32(ip + p * pstep + c);

			acc[p][0] = vfmaq_laneq_f32(acc[p][0], w00, x, 0);
			acc[p][0] = vfmaq_laneq_f32(acc[p][0], w01, x, 1);
			acc[p][0] = vfmaq_laneq_f32(acc[p][0], w02, x, 2);
			acc[p][0] = vfmaq_laneq_f32(acc[p][0], w03, x, 3);
			if (nb > 1) {
				acc[p][1] = vfmaq_laneq_f32(acc[p][1], w10, x, 0);
				acc[p][1] = vfmaq_laneq_f32(acc[p][1], w11, x, 1);
				acc[p][1] = vfmaq_laneq_f32(acc[p][1], w12, x, 2);
				acc[p][1] = vfmaq_laneq_f32(acc[p][1], w13, x, 3);
			}
		}
	}
	for (; c < len; c++) {
		const float32x4_t w0 = vld1q_f32(w + (size_t)c * VL);
		const float32x4_t w1 = nb > 1 ? vld1q_f32(w + wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 16
		for (int p = 0; p < np; p++) {
			const float32x4_t x = vld1q_dup_f32(ip + p * pstep + c);

			acc[p][0] = vfmaq_f32(acc[p][0], x, w0);
			if (nb > 1)
				acc[p][1] = vfmaq_f32(acc[p][1], x, w1);
		}
	}
}

INLINE void neon_conv_tile(const struct vigil_conv2d_args *a, int oy, int ox0, int ob, const int nb, const int np,
			   const int checkx)
{
	const int ic = a->in_c;
	const size_t wblock = (size_t)a->kh * a->kw * ic * VL;
	const ptrdiff_t pstep = (ptrdiff_t)a->stride_w * ic;
	float32x4_t acc[NEON_NP1][2];

	for (int v = 0; v < nb; v++) {
		const int ch = (ob + v) * VL;
		const float32x4_t b = a->bias ? load_lanes(a->bias + ch, lanes(a->out_c, ch)) : vzero();

#pragma GCC unroll 16
		for (int p = 0; p < np; p++)
			acc[p][v] = b;
	}
	for (int ky = 0; ky < a->kh; ky++) {
		const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

		if (iy < 0 || iy >= a->in_h)
			continue;
		const float *row = a->input + (size_t)iy * a->in_w * ic;
		const float *wrow = a->weights + ob * wblock + (size_t)ky * a->kw * ic * VL;

		if (!checkx && a->dil_w == 1) {
			neon_conv_span(acc, wrow, wblock, row + (ptrdiff_t)(ox0 * a->stride_w - a->pad_left) * ic,
				       pstep, a->kw * ic, nb, np);
			continue;
		}
		for (int kx = 0; kx < a->kw; kx++) {
			const int ix = ox0 * a->stride_w - a->pad_left + kx * a->dil_w;

			if (checkx && (ix < 0 || ix >= a->in_w))
				continue;
			neon_conv_span(acc, wrow + (size_t)kx * ic * VL, wblock, row + (ptrdiff_t)ix * ic, pstep, ic,
				       nb, np);
		}
	}
	{
		const float32x4_t lo = vset1(a->act_min), hi = vset1(a->act_max);

#pragma GCC unroll 16
		for (int p = 0; p < np; p++) {
			const size_t pix = (size_t)oy * a->out_w + ox0 + p;
			float *out = a->output + pix * a->out_c;

			for (int v = 0; v < nb; v++) {
				const int ch = (ob + v) * VL;
				float32x4_t r = acc[p][v];

				if (a->residual) {
					const int nr = lanes(a->residual_c, ch);

					if (nr > 0)
						r = vadd(r, load_lanes(a->residual + pix * a->residual_c + ch, nr));
				}
				store_lanes(out + ch, clampv(r, lo, hi), lanes(a->out_c, ch));
			}
		}
	}
}

/* One output row for blocks [ob, ob + nb): interior columns [x_lo, x_hi) in wide tiles, the rest alone. */
INLINE void neon_conv_row(const struct vigil_conv2d_args *a, int oy, int ob, const int nb, int x_lo, int x_hi)
{
	const int np = nb == 2 ? NEON_NP2 : NEON_NP1;
	int ox = 0;

	for (; ox < x_lo; ox++)
		neon_conv_tile(a, oy, ox, ob, nb, 1, 1);
	for (; ox + np <= x_hi; ox += np)
		neon_conv_tile(a, oy, ox, ob, nb, np, 0);
	if (x_hi - ox >= np / 2) {
		neon_conv_tile(a, oy, ox, ob, nb, np / 2, 0);
		ox += np / 2;
	}
	if (x_hi - ox >= np / 4) {
		neon_conv_tile(a, oy, ox, ob, nb, np / 4, 0);
		ox += np / 4;
	}
	for (; ox + 2 <= x_hi; ox += 2)
		neon_conv_tile(a, oy, ox, ob, nb, 2, 0);
	for (; ox < x_hi; ox++)
		neon_conv_tile(a, oy, ox, ob, nb, 1, 0);
	for (; ox < a->out_w; ox++)
		neon_conv_tile(a, oy, ox, ob, nb, 1, 1);
}

static void vigil_f32_conv2d__neon(const struct vigil_conv2d_args *a)
{
	const int nblocks = (a->out_c + VL - 1) / VL;
	/* output columns whose every tap is inside the input: [x_lo, x_hi) */
	int x_lo = 0, x_hi = a->out_w;

	while (x_lo < a->out_w && x_lo * a->stride_w - a->pad_left < 0)
		x_lo++;
	while (x_hi > x_lo && (x_hi - 1) * a->stride_w - a->pad_left + (a->kw - 1) * a->dil_w >= a->in_w)
		x_hi--;
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int ob = 0;

		for (; ob + 2 <= nblocks; ob += 2)
			neon_conv_row(a, oy, ob, 2, x_lo, x_hi);
		if (ob < nblocks)
			neon_conv_row(a, oy, ob, 1, x_lo, x_hi);
	}
}

/* Max pooling: the window's valid taps are found once per output pixel, then 16 channels at a time run
 * through them (the reference keeps the running value unless the new one is greater: vmax). */
static void vigil_f32_maxpool2d__neon(const struct vigil_pool_args *a)
{
	const float32x4_t lo = vset1(a->act_min), hi = vset1(a->act_max);
	const int c = a->c;
	const float *taps[64];

	if (a->fh * a->fw > 64) {
		vigil_f32_maxpool2d__c(a);
		return;
	}
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *out = a->output + ((size_t)oy * a->out_w + ox) * c;
			int nt = 0, cb = 0;

			for (int ky = 0; ky < a->fh; ky++) {
				const int iy = oy * a->stride_h - a->pad_top + ky;

				if (iy < 0 || iy >= a->in_h)
					continue;
				for (int kx = 0; kx < a->fw; kx++) {
					const int ix = ox * a->stride_w - a->pad_left + kx;

					if (ix >= 0 && ix < a->in_w)
						taps[nt++] = a->input + ((size_t)iy * a->in_w + ix) * c;
				}
			}
			if (nt == 0) { /* a window entirely in the padding: 0, as the reference */
				for (; cb < c; cb += VL)
					store_lanes(out + cb, clampv(vzero(), lo, hi), lanes(c, cb));
				continue;
			}
			for (; cb + 4 * VL <= c; cb += 4 * VL) {
				float32x4_t m0 = vld1q_f32(taps[0] + cb), m1 = vld1q_f32(taps[0] + cb + 4),
					    m2 = vld1q_f32(taps[0] + cb + 8), m3 = vld1q_f32(taps[0] + cb + 12);

				for (int t = 1; t < nt; t++) {
					m0 = vmax(vld1q_f32(taps[t] + cb), m0);
					m1 = vmax(vld1q_f32(taps[t] + cb + 4), m1);
					m2 = vmax(vld1q_f32(taps[t] + cb + 8), m2);
					m3 = vmax(vld1q_f32(taps[t] + cb + 12), m3);
				}
				vst1q_f32(out + cb, clampv(m0, lo, hi));
				vst1q_f32(out + cb + 4, clampv(m1, lo, hi));
				vst1q_f32(out + cb + 8, clampv(m2, lo, hi));
				vst1q_f32(out + cb + 12, clampv(m3, lo, hi));
			}
			for (; cb < c; cb += VL) {
				const int n = lanes(c, cb);
				float32x4_t m = load_lanes(taps[0] + cb, n);

				for (int t = 1; t < nt; t++)
					m = vmax(load_lanes(taps[t] + cb, n), m);
				store_lanes(out + cb, clampv(m, lo, hi), n);
			}
		}
	}
}

const struct vigil_f32_kernels vigil_f32_kernels__neon = {
	.isa = "neon",
	.conv2d_oc_block = VL,
	.conv2d = vigil_f32_conv2d__neon,
	.dwconv2d_c_block = VL,
	.dwconv2d = SIMD_NAME(dwconv2d),
	.maxpool2d = vigil_f32_maxpool2d__neon,
	.add = SIMD_NAME(add),
	.clamp = SIMD_NAME(clamp),
	.resize_bilinear = SIMD_NAME(resize_bilinear),
};
