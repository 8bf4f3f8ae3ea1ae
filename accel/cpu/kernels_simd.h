/* SPDX-License-Identifier: Apache-2.0
 * Float kernels written once over a small vector vocabulary and compiled once per ISA: an ISA file
 * (kernels_avx2.c, kernels_avx512.c) defines the vocabulary below with its intrinsics, then includes this
 * file, which defines the kernels `static` under SIMD_NAME(op) and the ISA's table. Nothing here is
 * ISA-specific, so the same logic is tested on every ISA that runs it.
 *
 * The ISA file defines:
 *   V, VL                    vector type and its float lanes
 *   VIGIL_SIMD_ISA           "avx2", ...; SIMD_NAME(op) -> vigil_f32_<op>__<isa>; SIMD_TABLE the table name
 *   CONV_NP2, CONV_NP1       output pixels per convolution tile of 2 / 1 blocks of VL output channels
 *                            (accumulators: 2 * CONV_NP2, CONV_NP1; CONV_NP1 >= CONV_NP2)
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

/* np output pixels (ox0, ox0 + 1, ...) of one row, nb (1 or 2) blocks of VL output channels from block ob.
 * checkx: some taps of these pixels fall in the left/right padding (then np is 1). */
INLINE void conv_tile(const struct vigil_conv2d_args *a, int oy, int ox0, int ob, const int nb, const int np,
		      const int checkx)
{
	const int ic = a->in_c;
	const size_t wblock = (size_t)a->kh * a->kw * ic * VL;
	V acc[CONV_NP1][2];

	for (int v = 0; v < nb; v++) {
		const int ch = (ob + v) * VL;
		const V b = a->bias ? load_lanes(a->bias + ch, lanes(a->out_c, ch)) : vzero();

#pragma GCC unroll 32
		for (int p = 0; p < np; p++)
			acc[p][v] = b;
	}
	for (int ky = 0; ky < a->kh; ky++) {
		const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

		if (iy < 0 || iy >= a->in_h)
			continue;
		const float *row = a->input + (size_t)iy * a->in_w * ic;

		if (!checkx && a->dil_w == 1) {
			/* the kw taps of a row are kw * ic contiguous inputs, and so are their weights: one loop */
			const float *wk = a->weights + ob * wblock + (size_t)ky * a->kw * ic * VL;
			const float *ip = row + (ptrdiff_t)(ox0 * a->stride_w - a->pad_left) * ic;
			const ptrdiff_t pstep = (ptrdiff_t)a->stride_w * ic;
			const int len = a->kw * ic;

			for (int c = 0; c < len; c++) {
				const V w0 = vload(wk + (size_t)c * VL);
				const V w1 = nb > 1 ? vload(wk + wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 32
				for (int p = 0; p < np; p++) {
					const V x = vset1(ip[p * pstep + c]);

					acc[p][0] = vfma(x, w0, acc[p][0]);
					if (nb > 1)
						acc[p][1] = vfma(x, w1, acc[p][1]);
				}
			}
			continue;
		}
		for (int kx = 0; kx < a->kw; kx++) {
			const float *wk = a->weights + ob * wblock + ((size_t)ky * a->kw + kx) * ic * VL;
			const float *ip = row + (ptrdiff_t)(ox0 * a->stride_w - a->pad_left + kx * a->dil_w) * ic;
			const ptrdiff_t pstep = (ptrdiff_t)a->stride_w * ic;

			if (checkx) {
				const int ix = ox0 * a->stride_w - a->pad_left + kx * a->dil_w;

				if (ix < 0 || ix >= a->in_w)
					continue;
			}
			for (int c = 0; c < ic; c++) {
				const V w0 = vload(wk + (size_t)c * VL);
				const V w1 = nb > 1 ? vload(wk + wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 32
				for (int p = 0; p < np; p++) {
					const V x = vset1(ip[p * pstep + c]);

					acc[p][0] = vfma(x, w0, acc[p][0]);
					if (nb > 1)
						acc[p][1] = vfma(x, w1, acc[p][1]);
				}
			}
		}
	}
	{
		const V lo = vset1(a->act_min), hi = vset1(a->act_max);

#pragma GCC unroll 32
		for (int p = 0; p < np; p++) {
			const size_t pix = (size_t)oy * a->out_w + ox0 + p;
			float *out = a->output + pix * a->out_c;

			for (int v = 0; v < nb; v++) {
				const int ch = (ob + v) * VL;
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

/* One output row for blocks [ob, ob + nb): interior columns [x_lo, x_hi) in wide tiles, the rest alone. */
INLINE void conv_row(const struct vigil_conv2d_args *a, int oy, int ob, const int nb, int x_lo, int x_hi)
{
	const int np = nb == 2 ? CONV_NP2 : CONV_NP1;
	int ox = 0;

	for (; ox < x_lo; ox++)
		conv_tile(a, oy, ox, ob, nb, 1, 1);
	for (; ox + np <= x_hi; ox += np)
		conv_tile(a, oy, ox, ob, nb, np, 0);
	if (x_hi - ox >= np / 2 && np / 2 > 1) {
		conv_tile(a, oy, ox, ob, nb, np / 2, 0);
		ox += np / 2;
	}
	if (x_hi - ox >= np / 4 && np / 4 > 1) {
		conv_tile(a, oy, ox, ob, nb, np / 4, 0);
		ox += np / 4;
	}
	for (; ox + 2 <= x_hi; ox += 2)
		conv_tile(a, oy, ox, ob, nb, 2, 0);
	for (; ox < x_hi; ox++)
		conv_tile(a, oy, ox, ob, nb, 1, 0);
	for (; ox < a->out_w; ox++)
		conv_tile(a, oy, ox, ob, nb, 1, 1);
}

static void SIMD_NAME(conv2d)(const struct vigil_conv2d_args *a)
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
			conv_row(a, oy, ob, 2, x_lo, x_hi);
		if (ob < nblocks)
			conv_row(a, oy, ob, 1, x_lo, x_hi);
	}
}

/* The interior of one output row for full vectors of channels: every tap inside the input, K x K taps
 * known at compile time, DW_NP pixels at a time so that as many independent FMA chains hide the latency.
 * Everything is in locals: stores through out could alias the argument struct otherwise. */
#define DW_NP 4
INLINE void dw_interior(const float *const *rows, const float *weights, ptrdiff_t w_step, V bias, V lo, V hi,
			float *out, ptrdiff_t out_step, int ox, int x_hi, ptrdiff_t in_x0, ptrdiff_t sx, ptrdiff_t dx,
			const int K)
{
	V w[25];

#pragma GCC unroll 25
	for (int i = 0; i < K * K; i++)
		w[i] = vload(weights + i * w_step);
	if (sx == dx) {
		/* stride 1, no dilation: neighbouring pixels share input columns, each loaded once per row */
		for (; ox + DW_NP <= x_hi; ox += DW_NP) {
			const ptrdiff_t at = in_x0 + ox * sx;
			V acc[DW_NP];

#pragma GCC unroll 8
			for (int p = 0; p < DW_NP; p++)
				acc[p] = bias;
#pragma GCC unroll 5
			for (int ky = 0; ky < K; ky++) {
				const float *r = rows[ky] + at;
				V col[DW_NP + 4];

#pragma GCC unroll 12
				for (int j = 0; j < DW_NP + K - 1; j++)
					col[j] = vload(r + j * sx);
#pragma GCC unroll 5
				for (int kx = 0; kx < K; kx++) {
#pragma GCC unroll 8
					for (int p = 0; p < DW_NP; p++)
						acc[p] = vfma(col[p + kx], w[ky * K + kx], acc[p]);
				}
			}
#pragma GCC unroll 8
			for (int p = 0; p < DW_NP; p++)
				vstore(out + (ox + p) * out_step, clampv(acc[p], lo, hi));
		}
	}
	for (; ox + DW_NP <= x_hi; ox += DW_NP) {
		const ptrdiff_t at = in_x0 + ox * sx;
		V acc[DW_NP];

#pragma GCC unroll 8
		for (int p = 0; p < DW_NP; p++)
			acc[p] = bias;
#pragma GCC unroll 5
		for (int ky = 0; ky < K; ky++) {
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
#pragma GCC unroll 8
				for (int p = 0; p < DW_NP; p++)
					acc[p] = vfma(vload(rows[ky] + at + p * sx + kx * dx), w[ky * K + kx], acc[p]);
			}
		}
#pragma GCC unroll 8
		for (int p = 0; p < DW_NP; p++)
			vstore(out + (ox + p) * out_step, clampv(acc[p], lo, hi));
	}
	for (; ox < x_hi; ox++) {
		const ptrdiff_t at = in_x0 + ox * sx;
		V acc = bias;

#pragma GCC unroll 5
		for (int ky = 0; ky < K; ky++) {
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++)
				acc = vfma(vload(rows[ky] + at + kx * dx), w[ky * K + kx], acc);
		}
		vstore(out + ox * out_step, clampv(acc, lo, hi));
	}
}

/* One output row, channels [cb, cb + n), a K x K kernel (K 3 or 5 known at compile time, 0: a->kh x a->kw).
 * Columns [x_lo, x_hi) have every tap inside the input. */
INLINE void dw_row(const struct vigil_dwconv2d_args *a, int oy, int cb, const int n, const int K, int x_lo, int x_hi,
		   V lo, V hi)
{
	const int ic = a->in_c, kh = K ? K : a->kh, kw = K ? K : a->kw;
	const V bias = a->bias ? load_lanes(a->bias + cb, n) : vzero();
	const float *rows[8];
	V wv[64]; /* the kernel's taps for these channels: the output stores could alias the weights otherwise */
	int ky0 = 0, ky1 = 0;
	float *out = a->output + (size_t)oy * a->out_w * a->out_c + cb;

	for (int i = 0; i < kh * kw; i++)
		wv[i] = load_lanes(a->weights + (size_t)i * a->out_c + cb, n);
	/* valid kernel rows [ky0, ky1) */
	for (int ky = 0; ky < kh; ky++) {
		const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

		if (iy < 0) {
			ky0 = ky + 1;
			continue;
		}
		if (iy >= a->in_h)
			break;
		rows[ky] = a->input + (size_t)iy * a->in_w * ic + cb;
		ky1 = ky + 1;
	}
	if (K && n == VL && ky0 == 0 && ky1 == K && x_hi > x_lo) {
		/* columns before x_lo and from x_hi on take the general path below */
		dw_interior(rows, a->weights + cb, a->out_c, bias, lo, hi, out, a->out_c, x_lo, x_hi,
			    -(ptrdiff_t)a->pad_left * ic, (ptrdiff_t)a->stride_w * ic, (ptrdiff_t)a->dil_w * ic, K);
	}
	for (int ox = 0; ox < a->out_w; ox++) {
		const int ix0 = ox * a->stride_w - a->pad_left;
		V acc = bias;

		if (K && n == VL && ky0 == 0 && ky1 == K && ox == x_lo && x_hi > x_lo) {
			ox = x_hi - 1; /* done by dw_interior */
			continue;
		}
		if (ox >= x_lo && ox < x_hi) {
			for (int ky = ky0; ky < ky1; ky++) {
				const float *r = rows[ky] + (ptrdiff_t)ix0 * ic;

#pragma GCC unroll 8
				for (int kx = 0; kx < kw; kx++)
					acc = vfma(load_lanes(r + (ptrdiff_t)kx * a->dil_w * ic, n), wv[ky * kw + kx],
						   acc);
			}
		} else {
			for (int ky = ky0; ky < ky1; ky++) {
				for (int kx = 0; kx < kw; kx++) {
					const int ix = ix0 + kx * a->dil_w;

					if (ix < 0 || ix >= a->in_w)
						continue;
					acc = vfma(load_lanes(rows[ky] + (ptrdiff_t)ix * ic, n), wv[ky * kw + kx], acc);
				}
			}
		}
		store_lanes(out + (size_t)ox * a->out_c, clampv(acc, lo, hi), n);
	}
}

static void SIMD_NAME(dwconv2d)(const struct vigil_dwconv2d_args *a)
{
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);
	int x_lo = 0, x_hi = a->out_w;

	if (a->depth_multiplier != 1 || a->kh > 8) {
		vigil_f32_dwconv2d__c(a);
		return;
	}
	while (x_lo < a->out_w && x_lo * a->stride_w - a->pad_left < 0)
		x_lo++;
	while (x_hi > x_lo && (x_hi - 1) * a->stride_w - a->pad_left + (a->kw - 1) * a->dil_w >= a->in_w)
		x_hi--;
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int cb = 0;

		if (a->kh == 3 && a->kw == 3) {
			for (; cb + VL <= a->out_c; cb += VL)
				dw_row(a, oy, cb, VL, 3, x_lo, x_hi, lo, hi);
			if (cb < a->out_c)
				dw_row(a, oy, cb, a->out_c - cb, 3, x_lo, x_hi, lo, hi);
		} else if (a->kh == 5 && a->kw == 5) {
			for (; cb + VL <= a->out_c; cb += VL)
				dw_row(a, oy, cb, VL, 5, x_lo, x_hi, lo, hi);
			if (cb < a->out_c)
				dw_row(a, oy, cb, a->out_c - cb, 5, x_lo, x_hi, lo, hi);
		} else {
			for (; cb + VL <= a->out_c; cb += VL)
				dw_row(a, oy, cb, VL, 0, x_lo, x_hi, lo, hi);
			if (cb < a->out_c)
				dw_row(a, oy, cb, a->out_c - cb, 0, x_lo, x_hi, lo, hi);
		}
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
	.conv2d_oc_block = VL,
	.conv2d = SIMD_NAME(conv2d),
	.dwconv2d = SIMD_NAME(dwconv2d),
	.maxpool2d = SIMD_NAME(maxpool2d),
	.add = SIMD_NAME(add),
	.clamp = SIMD_NAME(clamp),
	.resize_bilinear = NULL, /* three small layers in face-full: the reference is enough */
};
