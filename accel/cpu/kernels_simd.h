/* SPDX-License-Identifier: Apache-2.0
 * Float kernels written once over a small vector vocabulary and compiled once per ISA: an ISA file
 * (kernels_avx2.c, kernels_avx512.c) defines the vocabulary below with its intrinsics, then includes this
 * file, which defines the kernels `static` under SIMD_NAME(op) and the ISA's table. Nothing here is
 * ISA-specific, so the same logic is tested on every ISA that runs it.
 *
 * The ISA file defines:
 *   V, VL                    vector type and its float lanes
 *   VIGIL_SIMD_ISA           "avx2", ...; SIMD_NAME(op) -> vigil_f32_<op>__<isa>; SIMD_TABLE the table name
 *   CONV_NP                  output pixels per convolution tile (accumulators = CONV_NP * 16 / VL)
 *   vload(p) vstore(p, v)    unaligned load / store of VL floats
 *   vload_n(p, n) vstore_n(p, v, n)  the first n (1..VL) lanes only; other lanes read as 0, never touched
 *   vset1(x) vzero() vfma(a, b, c) = a * b + c, vadd, vmul, vmax(a, b), vmin(a, b)
 *     vmax/vmin return b when either is NaN (x86 semantics), so clamp(v) = vmin(hi, vmax(lo, v)) lets NaN
 *     through like the reference. */
#ifndef SIMD_NAME
#error "include kernels_simd.h from an ISA file only"
#endif

#include <string.h>

#include "kernels.h"

#define OCB 16 /* output channels per convolution weight block, whatever VL is */
#define NV (OCB / VL)
#define INLINE static inline __attribute__((always_inline))
#define ROW_END(a) ((a)->row_end > 0 ? (a)->row_end : (a)->out_h)

INLINE int lanes(int total, int at)
{
	const int n = total - at;

	return n < 0 ? 0 : (n > VL ? VL : n);
}

INLINE V clampv(V v, V lo, V hi)
{
	return vmin(hi, vmax(lo, v));
}

INLINE V load_lanes(const float *p, int n)
{
	return n == VL ? vload(p) : (n > 0 ? vload_n(p, n) : vzero());
}

INLINE void store_lanes(float *p, V v, int n)
{
	if (n == VL)
		vstore(p, v);
	else if (n > 0)
		vstore_n(p, v, n);
}

/* np output pixels (ox0, ox0 + 1, ...) of one row, one block of OCB output channels. checkx: some taps of
 * these pixels fall in the left/right padding (then np is 1). */
INLINE void conv_tile(const struct vigil_conv2d_args *a, const float *wblk, int oy, int ox0, int ob, const int np,
		      const int checkx)
{
	const int ic = a->in_c, c0 = ob * OCB;
	V acc[CONV_NP][NV];

	for (int v = 0; v < NV; v++) {
		const V b = a->bias ? load_lanes(a->bias + c0 + v * VL, lanes(a->out_c, c0 + v * VL)) : vzero();

#pragma GCC unroll 16
		for (int p = 0; p < np; p++)
			acc[p][v] = b;
	}
	for (int ky = 0; ky < a->kh; ky++) {
		const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

		if (iy < 0 || iy >= a->in_h)
			continue;
		const float *row = a->input + (size_t)iy * a->in_w * ic;

		for (int kx = 0; kx < a->kw; kx++) {
			const float *wk = wblk + ((size_t)ky * a->kw + kx) * ic * OCB;
			const float *ip[CONV_NP];

#pragma GCC unroll 16
			for (int p = 0; p < np; p++)
				ip[p] = row + (ptrdiff_t)((ox0 + p) * a->stride_w - a->pad_left + kx * a->dil_w) * ic;
			if (checkx) {
				const int ix = ox0 * a->stride_w - a->pad_left + kx * a->dil_w;

				if (ix < 0 || ix >= a->in_w)
					continue;
			}
			for (int c = 0; c < ic; c++) {
				V w[NV];

#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					w[v] = vload(wk + (size_t)c * OCB + v * VL);
#pragma GCC unroll 16
				for (int p = 0; p < np; p++) {
					const V x = vset1(ip[p][c]);

#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						acc[p][v] = vfma(x, w[v], acc[p][v]);
				}
			}
		}
	}
	{
		const V lo = vset1(a->act_min), hi = vset1(a->act_max);

#pragma GCC unroll 16
		for (int p = 0; p < np; p++) {
			const size_t pix = (size_t)oy * a->out_w + ox0 + p;
			float *out = a->output + pix * a->out_c;

#pragma GCC unroll 4
			for (int v = 0; v < NV; v++) {
				const int ch = c0 + v * VL;
				V r = acc[p][v];

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

static void SIMD_NAME(conv2d)(const struct vigil_conv2d_args *a)
{
	const int nb = (a->out_c + OCB - 1) / OCB;
	const size_t wblock = (size_t)a->kh * a->kw * a->in_c * OCB;
	/* output columns whose every tap is inside the input: [x_lo, x_hi) */
	int x_lo = 0, x_hi = a->out_w;

	while (x_lo < a->out_w && x_lo * a->stride_w - a->pad_left < 0)
		x_lo++;
	while (x_hi > x_lo && (x_hi - 1) * a->stride_w - a->pad_left + (a->kw - 1) * a->dil_w >= a->in_w)
		x_hi--;
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ob = 0; ob < nb; ob++) {
			const float *wblk = a->weights + ob * wblock;
			int ox = 0;

			for (; ox < x_lo; ox++)
				conv_tile(a, wblk, oy, ox, ob, 1, 1);
			for (; ox + CONV_NP <= x_hi; ox += CONV_NP)
				conv_tile(a, wblk, oy, ox, ob, CONV_NP, 0);
			if (x_hi - ox >= CONV_NP / 2 && CONV_NP / 2 > 1) {
				conv_tile(a, wblk, oy, ox, ob, CONV_NP / 2, 0);
				ox += CONV_NP / 2;
			}
			for (; ox + 2 <= x_hi; ox += 2)
				conv_tile(a, wblk, oy, ox, ob, 2, 0);
			for (; ox < x_hi; ox++)
				conv_tile(a, wblk, oy, ox, ob, 1, 0);
			for (; ox < a->out_w; ox++)
				conv_tile(a, wblk, oy, ox, ob, 1, 1);
		}
	}
}

/* One output pixel, channels [cb, cb + n). */
INLINE void dw_pixel(const struct vigil_dwconv2d_args *a, int oy, int ox, int cb, int n, const int checkx, V lo, V hi)
{
	const int ic = a->in_c;
	V acc = a->bias ? load_lanes(a->bias + cb, n) : vzero();

	for (int ky = 0; ky < a->kh; ky++) {
		const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

		if (iy < 0 || iy >= a->in_h)
			continue;
		for (int kx = 0; kx < a->kw; kx++) {
			const int ix = ox * a->stride_w - a->pad_left + kx * a->dil_w;

			if (checkx && (ix < 0 || ix >= a->in_w))
				continue;
			acc = vfma(load_lanes(a->input + ((size_t)iy * a->in_w + ix) * ic + cb, n),
				   load_lanes(a->weights + ((size_t)ky * a->kw + kx) * a->out_c + cb, n), acc);
		}
	}
	store_lanes(a->output + ((size_t)oy * a->out_w + ox) * a->out_c + cb, clampv(acc, lo, hi), n);
}

INLINE void dw_row(const struct vigil_dwconv2d_args *a, int oy, int cb, int n, int x_lo, int x_hi, V lo, V hi)
{
	int ox = 0;

	for (; ox < x_lo; ox++)
		dw_pixel(a, oy, ox, cb, n, 1, lo, hi);
	for (; ox < x_hi; ox++)
		dw_pixel(a, oy, ox, cb, n, 0, lo, hi);
	for (; ox < a->out_w; ox++)
		dw_pixel(a, oy, ox, cb, n, 1, lo, hi);
}

static void SIMD_NAME(dwconv2d)(const struct vigil_dwconv2d_args *a)
{
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);
	int x_lo = 0, x_hi = a->out_w;

	if (a->depth_multiplier != 1) {
		vigil_f32_dwconv2d__c(a);
		return;
	}
	while (x_lo < a->out_w && x_lo * a->stride_w - a->pad_left < 0)
		x_lo++;
	while (x_hi > x_lo && (x_hi - 1) * a->stride_w - a->pad_left + (a->kw - 1) * a->dil_w >= a->in_w)
		x_hi--;
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int cb = 0;

		for (; cb + VL <= a->out_c; cb += VL)
			dw_row(a, oy, cb, VL, x_lo, x_hi, lo, hi);
		if (cb < a->out_c)
			dw_row(a, oy, cb, a->out_c - cb, x_lo, x_hi, lo, hi);
	}
}

static void SIMD_NAME(maxpool2d)(const struct vigil_pool_args *a)
{
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);
	const int c = a->c;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *out = a->output + ((size_t)oy * a->out_w + ox) * c;

			for (int cb = 0; cb < c; cb += VL) {
				const int n = lanes(c, cb);
				V m = vzero();
				int first = 1;

				for (int ky = 0; ky < a->fh; ky++) {
					const int iy = oy * a->stride_h - a->pad_top + ky;

					if (iy < 0 || iy >= a->in_h)
						continue;
					for (int kx = 0; kx < a->fw; kx++) {
						const int ix = ox * a->stride_w - a->pad_left + kx;

						if (ix < 0 || ix >= a->in_w)
							continue;
						const V x =
						    load_lanes(a->input + ((size_t)iy * a->in_w + ix) * c + cb, n);

						/* the reference keeps the running value unless the new one is greater */
						m = first ? x : vmax(x, m);
						first = 0;
					}
				}
				store_lanes(out + cb, clampv(m, lo, hi), n);
			}
		}
	}
}

static void SIMD_NAME(add)(const float *x, const float *y, float *out, size_t n, float act_min, float act_max)
{
	const V lo = vset1(act_min), hi = vset1(act_max);
	size_t i = 0;

	for (; i + VL <= n; i += VL)
		vstore(out + i, clampv(vadd(vload(x + i), vload(y + i)), lo, hi));
	if (i < n)
		vstore_n(out + i, clampv(vadd(vload_n(x + i, (int)(n - i)), vload_n(y + i, (int)(n - i))), lo, hi),
			 (int)(n - i));
}

static void SIMD_NAME(clamp)(const float *in, float *out, size_t n, float act_min, float act_max)
{
	const V lo = vset1(act_min), hi = vset1(act_max);
	size_t i = 0;

	for (; i + VL <= n; i += VL)
		vstore(out + i, clampv(vload(in + i), lo, hi));
	if (i < n)
		vstore_n(out + i, clampv(vload_n(in + i, (int)(n - i)), lo, hi), (int)(n - i));
}

const struct vigil_f32_kernels SIMD_TABLE = {
	.isa = VIGIL_SIMD_ISA,
	.conv2d_oc_block = OCB,
	.conv2d = SIMD_NAME(conv2d),
	.dwconv2d = SIMD_NAME(dwconv2d),
	.maxpool2d = SIMD_NAME(maxpool2d),
	.add = SIMD_NAME(add),
	.clamp = SIMD_NAME(clamp),
	.resize_bilinear = NULL, /* three small layers in face-full: the reference is enough */
};
