/* SPDX-License-Identifier: Apache-2.0
 * Float kernels written once over a small vector vocabulary and compiled once per ISA: an ISA file
 * (kernels_avx2.c, kernels_avx512.c) defines the vocabulary below with its intrinsics, then includes this
 * file, which defines the kernels `static` under SIMD_NAME(op) and the ISA's table. Nothing here is
 * ISA-specific, so the same logic is tested on every ISA that runs it.
 *
 * The ISA file defines:
 *   V, VL                    vector type and its float lanes
 *   VIGIL_SIMD_ISA           "avx2", ...; SIMD_NAME(op) -> vigil_f32_<op>__<isa>; SIMD_TABLE the table name
 *   DW_NP1, DW_NP2           (optional) depthwise pixels per tile at stride 1 / 2 (default 6 / 4: 16 registers)
 *   DW_BLOCK_OUTER           (optional) depthwise rows block by block (taps kept in registers), not tile by tile
 *   CONV_NP3, CONV_NP2, CONV_NP1  output pixels per convolution tile of 3 / 2 / 1 blocks of VL output
 *                            channels (accumulators: 3 * CONV_NP3, 2 * CONV_NP2, CONV_NP1; CONV_NP1 is a
 *                            multiple of CONV_NP2 and CONV_NP3). A tile of nb blocks does nb multiply-adds per
 *                            broadcast input, and broadcasts cost a load each: wider is better.
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
	V acc0[CONV_NP1], acc1[CONV_NP1], acc2[CONV_NP1];

#pragma GCC unroll 3
	for (int v = 0; v < nb; v++) {
		const int ch = (ob + v) * VL;
		const V b = a->bias ? load_lanes(a->bias + ch, lanes(a->out_c, ch)) : vzero();

#pragma GCC unroll 32
		for (int p = 0; p < np; p++) {
			if (v == 0)
				acc0[p] = b;
			else if (v == 1)
				acc1[p] = b;
			else
				acc2[p] = b;
		}
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
				const V w2 = nb > 2 ? vload(wk + 2 * wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 32
				for (int p = 0; p < np; p++) {
					const V x = vset1(ip[p * pstep + c]);

					acc0[p] = vfma(x, w0, acc0[p]);
					if (nb > 1)
						acc1[p] = vfma(x, w1, acc1[p]);
					if (nb > 2)
						acc2[p] = vfma(x, w2, acc2[p]);
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
				const V w2 = nb > 2 ? vload(wk + 2 * wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 32
				for (int p = 0; p < np; p++) {
					const V x = vset1(ip[p * pstep + c]);

					acc0[p] = vfma(x, w0, acc0[p]);
					if (nb > 1)
						acc1[p] = vfma(x, w1, acc1[p]);
					if (nb > 2)
						acc2[p] = vfma(x, w2, acc2[p]);
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

#pragma GCC unroll 3
			for (int v = 0; v < nb; v++) {
				const int ch = (ob + v) * VL;
				V r = v == 0 ? acc0[p] : v == 1 ? acc1[p] : acc2[p];

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
	const int np = nb == 3 ? CONV_NP3 : nb == 2 ? CONV_NP2 : CONV_NP1;
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

/* Convolution tiles away from the left and right padding, every value in a local (stores through out could
 * alias the arguments otherwise): np output pixels from pixel index pix, nb blocks of VL output channels from
 * channel ch. ip: the tile's first input (first valid kernel row, first column); pixels pstep floats apart;
 * nrows valid kernel rows row_step floats apart, each a run of len contiguous inputs (kw * in_c: no
 * dilation along x) whose weights are len * VL contiguous floats, kernel rows wrow floats apart, blocks wblock
 * floats apart. A pointwise convolution is one row of len = in_c. */
INLINE void win_tile(const float *ip, ptrdiff_t pstep, ptrdiff_t row_step, int nrows, int len, const float *w,
		     size_t wrow, size_t wblock, const float *bias, const float *res, int res_c, float *out, int oc,
		     int ch, size_t pix, V lo, V hi, const int nb, const int np)
{
	V acc0[CONV_NP1], acc1[CONV_NP1], acc2[CONV_NP1];

#pragma GCC unroll 3
	for (int v = 0; v < nb; v++) {
		const V b = bias ? load_lanes(bias + ch + v * VL, lanes(oc, ch + v * VL)) : vzero();

#pragma GCC unroll 32
		for (int p = 0; p < np; p++) {
			if (v == 0)
				acc0[p] = b;
			else if (v == 1)
				acc1[p] = b;
			else
				acc2[p] = b;
		}
	}
	for (int r = 0; r < nrows; r++, ip += row_step, w += wrow) {
		for (int c = 0; c < len; c++) {
			const V w0 = vload(w + (size_t)c * VL);
			const V w1 = nb > 1 ? vload(w + wblock + (size_t)c * VL) : w0;
			const V w2 = nb > 2 ? vload(w + 2 * wblock + (size_t)c * VL) : w0;

#pragma GCC unroll 32
			for (int p = 0; p < np; p++) {
				const V x = vset1(ip[p * pstep + c]);

				acc0[p] = vfma(x, w0, acc0[p]);
				if (nb > 1)
					acc1[p] = vfma(x, w1, acc1[p]);
				if (nb > 2)
					acc2[p] = vfma(x, w2, acc2[p]);
			}
		}
	}
#pragma GCC unroll 3
	for (int v = 0; v < nb; v++) {
		const int c0 = ch + v * VL, n = lanes(oc, c0), nr = res ? lanes(res_c, c0) : 0;

#pragma GCC unroll 32
		for (int p = 0; p < np; p++) {
			V r = v == 0 ? acc0[p] : v == 1 ? acc1[p] : acc2[p];

			if (nr > 0)
				r = vadd(r, load_lanes(res + (pix + p) * res_c + c0, nr));
			store_lanes(out + (pix + p) * oc + c0, clampv(r, lo, hi), n);
		}
	}
}

/* count output pixels from pix (their inputs from ip, pstep apart), blocks [ob, ob + nb), in tiles as wide as
 * the registers allow; w: the weights of block 0 at the first valid kernel row */
INLINE void win_span(const float *ip, ptrdiff_t pstep, ptrdiff_t row_step, int nrows, int len, const float *w,
		     size_t wrow, size_t wblock, const float *bias, const float *res, int res_c, float *out, int oc,
		     int ob, size_t pix, size_t count, V lo, V hi, const int nb)
{
	const int np = nb == 3 ? CONV_NP3 : nb == 2 ? CONV_NP2 : CONV_NP1;
	const float *wb = w + ob * wblock;
	const int ch = ob * VL;
	size_t q = 0;

#define WIN_TILE(n)                                                                                                    \
	win_tile(ip + (ptrdiff_t)q * pstep, pstep, row_step, nrows, len, wb, wrow, wblock, bias, res, res_c, out, oc,  \
		 ch, pix + q, lo, hi, nb, (n))
	for (; q + np <= count; q += np)
		WIN_TILE(np);
	if (np / 2 > 2 && count - q >= (size_t)np / 2) {
		WIN_TILE(np / 2);
		q += np / 2;
	}
	if (np / 4 > 2 && count - q >= (size_t)np / 4) {
		WIN_TILE(np / 4);
		q += np / 4;
	}
	for (; q + 2 <= count; q += 2)
		WIN_TILE(2);
	if (q < count)
		WIN_TILE(1);
#undef WIN_TILE
}

/* Every block of output channels over count pixels: one block alone, or three together when the count of
 * blocks is odd (as many multiply-adds per broadcast input as blocks), then pairs. */
INLINE void win_blocks(const float *ip, ptrdiff_t pstep, ptrdiff_t row_step, int nrows, int len, const float *w,
		       size_t wrow, size_t wblock, const float *bias, const float *res, int res_c, float *out, int oc,
		       size_t pix, size_t count, V lo, V hi)
{
	const int nblocks = (oc + VL - 1) / VL;
	int ob = 0;

#define WIN_SPAN(nb)                                                                                                   \
	win_span(ip, pstep, row_step, nrows, len, w, wrow, wblock, bias, res, res_c, out, oc, ob, pix, count, lo, hi,  \
		 (nb))
	if (nblocks == 1) {
		WIN_SPAN(1);
		return;
	}
	if (nblocks % 2) {
		WIN_SPAN(3);
		ob = 3;
	}
	for (; ob + 2 <= nblocks; ob += 2)
		WIN_SPAN(2);
#undef WIN_SPAN
}

/* Pointwise (1x1, stride 1, unpadded) convolution, a matrix product over the flat pixels: chunks of CONV_NP1
 * pixels (a multiple of CONV_NP2 and CONV_NP3) go through every block of output channels, so the chunk's
 * inputs stay in L1 while the weights stream. */
static void pointwise(const struct vigil_conv2d_args *a)
{
	const int ic = a->in_c;
	const size_t end = (size_t)ROW_END(a) * a->out_w;
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);

	for (size_t pix = (size_t)a->row_begin * a->out_w; pix < end; pix += CONV_NP1) {
		const size_t count = end - pix < CONV_NP1 ? end - pix : CONV_NP1;

		win_blocks(a->input + pix * ic, ic, 0, 1, ic, a->weights, 0, (size_t)ic * VL, a->bias, a->residual,
			   a->residual_c, a->output, a->out_c, pix, count, lo, hi);
	}
}

/* Row by row in conv_row's tiles: any dilation. (Each way of running rows is a function of its own: inlined
 * together, their tiles compete for registers.) */
static __attribute__((noinline)) void conv_rows(const struct vigil_conv2d_args *a, int x_lo, int x_hi)
{
	const int nblocks = (a->out_c + VL - 1) / VL;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int ob = 0;

		if (nblocks % 2) {
			if (nblocks > 1)
				conv_row(a, oy, 0, 3, x_lo, x_hi);
			else
				conv_row(a, oy, 0, 1, x_lo, x_hi);
			ob = nblocks > 1 ? 3 : 1;
		}
		for (; ob + 2 <= nblocks; ob += 2)
			conv_row(a, oy, ob, 2, x_lo, x_hi);
	}
}

/* Row by row, no dilation along x: the columns before x_lo and from x_hi on one at a time, the interior
 * [x_lo, x_hi) in win_tile's tiles, each kernel row one run of kw * in_c inputs. */
static __attribute__((noinline)) void conv_rows_win(const struct vigil_conv2d_args *a, int x_lo, int x_hi)
{
	const int nblocks = (a->out_c + VL - 1) / VL, ic = a->in_c;
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);
	const size_t wrow = (size_t)a->kw * ic * VL;
	const ptrdiff_t row_step = (ptrdiff_t)a->dil_h * a->in_w * ic;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		const int iy0 = oy * a->stride_h - a->pad_top;
		int ky0 = 0, ky1 = a->kh;

		while (ky0 < ky1 && iy0 + ky0 * a->dil_h < 0)
			ky0++;
		while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dil_h >= a->in_h)
			ky1--;
		for (int ox = 0; ox < x_lo; ox++)
			for (int ob = 0; ob < nblocks; ob++)
				conv_tile(a, oy, ox, ob, 1, 1, 1);
		if (ky1 > ky0) {
			const float *ip =
			    a->input +
			    ((ptrdiff_t)(iy0 + ky0 * a->dil_h) * a->in_w + x_lo * a->stride_w - a->pad_left) * ic;

			win_blocks(ip, (ptrdiff_t)a->stride_w * ic, row_step, ky1 - ky0, a->kw * ic,
				   a->weights + ky0 * wrow, wrow, a->kh * wrow, a->bias, a->residual, a->residual_c,
				   a->output, a->out_c, (size_t)oy * a->out_w + x_lo, x_hi - x_lo, lo, hi);
		} else {
			for (int ox = x_lo; ox < x_hi; ox++)
				for (int ob = 0; ob < nblocks; ob++)
					conv_tile(a, oy, ox, ob, 1, 1, 1);
		}
		for (int ox = x_hi; ox < a->out_w; ox++)
			for (int ob = 0; ob < nblocks; ob++)
				conv_tile(a, oy, ox, ob, 1, 1, 1);
	}
}

static void SIMD_NAME(conv2d)(const struct vigil_conv2d_args *a)
{
	/* output columns whose every tap is inside the input: [x_lo, x_hi) */
	int x_lo = 0, x_hi = a->out_w;

	if (a->kh == 1 && a->kw == 1 && a->stride_h == 1 && a->stride_w == 1 && a->pad_top == 0 && a->pad_left == 0 &&
	    a->in_h == a->out_h && a->in_w == a->out_w) {
		pointwise(a);
		return;
	}
	while (x_lo < a->out_w && x_lo * a->stride_w - a->pad_left < 0)
		x_lo++;
	while (x_hi > x_lo && (x_hi - 1) * a->stride_w - a->pad_left + (a->kw - 1) * a->dil_w >= a->in_w)
		x_hi--;
	if (a->dil_w == 1 && x_hi > x_lo)
		conv_rows_win(a, x_lo, x_hi);
	else
		conv_rows(a, x_lo, x_hi);
}

/* Depthwise convolution. Output pixels go in tiles of DW_NP(S) along a row, and every block of VL channels of a
 * tile is done before the next tile, so the input a tile reads stays in L1. A channel count that is not a
 * multiple of VL ends with a block overlapping the previous one (channels [c - VL, c)): it recomputes some
 * channels to the same values rather than masking. Everything is in locals: stores through out could alias
 * the argument struct otherwise. */
/* np accumulators + (np - 1) * S + K input columns + 1 weight: 16 registers for 3x3 */
#ifndef DW_NP1
#define DW_NP1 6 /* stride 1 */
#define DW_NP2 4 /* stride 2 */
#endif
#define DW_NP(S) ((S) == 1 ? DW_NP1 : DW_NP2)
#define DW_NP_MAX (DW_NP1 > DW_NP2 ? DW_NP1 : DW_NP2)

/* np pixels of one row, one block of channels; K x K taps and stride S known at compile time, of which rows
 * [ky0, ky1) and columns [kx0, kx1) are inside the input (all columns when np > 1). in + off: where the
 * first tap of the first pixel would be (off may point before in: only valid taps are addressed);
 * w: the block's packed weights, [K * K][VL]; out: the first pixel's channels (pixels oc floats apart). */
INLINE void dw_tile(const float *in, ptrdiff_t off, ptrdiff_t row_step, ptrdiff_t px_step, const float *w, ptrdiff_t oc,
		    V bias, V lo, V hi, float *out, int ky0, int ky1, int kx0, int kx1, const int K, const int S,
		    const int np, const int part, int n)
{
	V acc[DW_NP_MAX];

#define DW_LOAD(p) (part ? vload_n((p), n) : vload(p))

#pragma GCC unroll 8
	for (int p = 0; p < np; p++)
		acc[p] = bias;
#pragma GCC unroll 5
	for (int ky = 0; ky < K; ky++) {
		const ptrdiff_t r = off + ky * row_step;

		if (ky < ky0 || ky >= ky1)
			continue;
		if (np > 1) {
			/* neighbouring pixels share input columns: each loaded once */
			V col[2 * DW_NP_MAX + 4];

#pragma GCC unroll 24
			for (int j = 0; j < (np - 1) * S + K; j++)
				col[j] = DW_LOAD(in + r + j * px_step);
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
				const V wv = vload(w + (ky * K + kx) * VL);

#pragma GCC unroll 8
				for (int p = 0; p < np; p++)
					acc[p] = vfma(col[p * S + kx], wv, acc[p]);
			}
		} else {
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
				const V wv = vload(w + (ky * K + kx) * VL);

				if (np == 1 && (kx < kx0 || kx >= kx1))
					continue;
#pragma GCC unroll 8
				for (int p = 0; p < np; p++)
					acc[p] = vfma(DW_LOAD(in + r + (p * S + kx) * px_step), wv, acc[p]);
			}
		}
	}
#pragma GCC unroll 8
	for (int p = 0; p < np; p++) {
		if (part)
			vstore_n(out + p * oc, clampv(acc[p], lo, hi), n);
		else
			vstore(out + p * oc, clampv(acc[p], lo, hi));
	}
#undef DW_LOAD
}

/* Output row oy, every channel, K x K taps and stride S known at compile time: columns [x_lo, x_hi), whose
 * taps are all inside the input, in tiles; the others one by one. Full vectors (c >= VL), or with part set one
 * block of c < VL channels whose loads and stores are masked to c lanes (the packed weights and bias lanes past
 * c are 0). */
INLINE void dw_row(const struct vigil_dwconv2d_args *a, int oy, int x_lo, int x_hi, V lo, V hi, const int K,
		   const int S, const int part)
{
	const int c = a->out_c, n = part ? c : VL;
	const int last = part ? 0 : c - VL; /* the last block starts there (overlapping when c % VL != 0) */
	const ptrdiff_t row_step = (ptrdiff_t)a->in_w * c;
	const int iy0 = oy * S - a->pad_top, ky0 = iy0 < 0 ? -iy0 : 0, ky1 = a->in_h - iy0 < K ? a->in_h - iy0 : K;
	const float *in = a->input, *w = a->packed, *bias = a->bias;
	float *out = a->output + (size_t)oy * a->out_w * c;
	const int pad_left = a->pad_left, in_w = a->in_w, out_w = a->out_w;
	int ox = 0;

#define DW_BLOCKS(np, kx0, kx1)                                                                                        \
	do {                                                                                                           \
		const ptrdiff_t off = (ptrdiff_t)iy0 * row_step + (ptrdiff_t)(ox * S - pad_left) * c;                  \
		for (int b = 0, cb = 0;; b++, cb += VL) {                                                              \
			if (cb > last)                                                                                 \
				cb = last;                                                                             \
			dw_tile(in + cb, off, row_step, c, w + (size_t)b * K * K * VL, c,                              \
				bias ? load_lanes(bias + cb, n) : vzero(), lo, hi, out + (ptrdiff_t)ox * c + cb, ky0,  \
				ky1, kx0, kx1, K, S, np, part, n);                                                     \
			if (cb == last)                                                                                \
				break;                                                                                 \
		}                                                                                                      \
	} while (0)

	for (; ox < out_w; ox++) {
		const int ix0 = ox * S - pad_left;

		if (ox == x_lo && x_hi > x_lo)
			break;
		DW_BLOCKS(1, ix0 < 0 ? -ix0 : 0, in_w - ix0 < K ? in_w - ix0 : K);
	}
	if (ox == x_lo) {
#ifdef DW_BLOCK_OUTER
		/* each block along the whole interior: its taps stay in registers (ISAs with 32 of them) */
		for (int b = 0, cb = 0;; b++, cb += VL) {
			const float *wb = w + (size_t)b * K * K * VL;
			V bv;
			int x = x_lo;

			if (cb > last)
				cb = last;
			bv = bias ? load_lanes(bias + cb, n) : vzero();
			for (; x + DW_NP(S) <= x_hi; x += DW_NP(S))
				dw_tile(in + cb, (ptrdiff_t)iy0 * row_step + (ptrdiff_t)(x * S - pad_left) * c,
					row_step, c, wb, c, bv, lo, hi, out + (ptrdiff_t)x * c + cb, ky0, ky1, 0, K, K,
					S, DW_NP(S), part, n);
			for (; x < x_hi; x++)
				dw_tile(in + cb, (ptrdiff_t)iy0 * row_step + (ptrdiff_t)(x * S - pad_left) * c,
					row_step, c, wb, c, bv, lo, hi, out + (ptrdiff_t)x * c + cb, ky0, ky1, 0, K, K,
					S, 1, part, n);
			if (cb == last)
				break;
		}
		ox = x_hi;
#else
		for (; ox + DW_NP(S) <= x_hi; ox += DW_NP(S))
			DW_BLOCKS(DW_NP(S), 0, K);
		for (; ox < x_hi; ox++)
			DW_BLOCKS(1, 0, K);
#endif
	}
	for (; ox < out_w; ox++) {
		const int ix0 = ox * S - pad_left;

		DW_BLOCKS(1, ix0 < 0 ? -ix0 : 0, in_w - ix0 < K ? in_w - ix0 : K);
	}
#undef DW_BLOCKS
}

/* One output pixel, any kernel, taps outside the input skipped: fewer channels than VL, or a kernel without
 * a fast path. */
static void dw_pixel(const struct vigil_dwconv2d_args *a, int oy, int ox, V lo, V hi)
{
	const int c = a->out_c;
	float *out = a->output + ((size_t)oy * a->out_w + ox) * c;

	for (int cb = 0; cb < c; cb += VL) {
		const int at = c >= VL && cb > c - VL ? c - VL : cb, n = lanes(c, at);
		V acc = a->bias ? load_lanes(a->bias + at, n) : vzero();

		for (int ky = 0; ky < a->kh; ky++) {
			const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

			if (iy < 0 || iy >= a->in_h)
				continue;
			for (int kx = 0; kx < a->kw; kx++) {
				const int ix = ox * a->stride_w - a->pad_left + kx * a->dil_w;

				if (ix < 0 || ix >= a->in_w)
					continue;
				acc = vfma(load_lanes(a->input + ((size_t)iy * a->in_w + ix) * c + at, n),
					   load_lanes(a->weights + (size_t)(ky * a->kw + kx) * c + at, n), acc);
			}
		}
		store_lanes(out + at, clampv(acc, lo, hi), n);
	}
}

INLINE void dw_rows(const struct vigil_dwconv2d_args *a, int x_lo, int x_hi, V lo, V hi, const int K, const int S)
{
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		if (K && a->packed && a->out_c >= VL) {
			dw_row(a, oy, x_lo, x_hi, lo, hi, K, S, 0);
			continue;
		}
		if (K && a->packed) {
			dw_row(a, oy, x_lo, x_hi, lo, hi, K, S, 1);
			continue;
		}
		for (int ox = 0; ox < a->out_w; ox++)
			dw_pixel(a, oy, ox, lo, hi);
	}
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
	if (a->dil_h != 1 || a->dil_w != 1 || a->kh != a->kw || (a->kh != 3 && a->kh != 5) ||
	    a->stride_h != a->stride_w || (a->stride_h != 1 && a->stride_h != 2))
		dw_rows(a, x_lo, x_hi, lo, hi, 0, 1); /* every pixel the general way */
	else if (a->kh == 3 && a->stride_h == 1)
		dw_rows(a, x_lo, x_hi, lo, hi, 3, 1);
	else if (a->kh == 3)
		dw_rows(a, x_lo, x_hi, lo, hi, 3, 2);
	else if (a->stride_h == 1)
		dw_rows(a, x_lo, x_hi, lo, hi, 5, 1);
	else
		dw_rows(a, x_lo, x_hi, lo, hi, 5, 2);
}

/* Max pooling: the window's valid taps are found once per output pixel, then every block of channels runs
 * through them (the reference keeps the running value unless the new one is greater: vmax(x, m)). As in the
 * depthwise convolution, a channel count that is not a multiple of VL ends with an overlapping block. */
static void SIMD_NAME(maxpool2d)(const struct vigil_pool_args *a)
{
	const V lo = vset1(a->act_min), hi = vset1(a->act_max);
	const int c = a->c, last = c - VL;
	const float *taps[64];

	if (a->fh * a->fw > 64) {
		vigil_f32_maxpool2d__c(a);
		return;
	}
	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *out = a->output + ((size_t)oy * a->out_w + ox) * c;
			int nt = 0;

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
				for (int cb = 0; cb < c; cb += VL)
					store_lanes(out + cb, clampv(vzero(), lo, hi), lanes(c, cb));
				continue;
			}
			if (c < VL) {
				V m = load_lanes(taps[0], c);

				for (int t = 1; t < nt; t++)
					m = vmax(load_lanes(taps[t], c), m);
				store_lanes(out, clampv(m, lo, hi), c);
				continue;
			}
			for (int cb = 0;; cb += VL) {
				V m;

				if (cb > last)
					cb = last;
				m = vload(taps[0] + cb);
				for (int t = 1; t < nt; t++)
					m = vmax(vload(taps[t] + cb), m);
				vstore(out + cb, clampv(m, lo, hi));
				if (cb == last)
					break;
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

/* Bilinear resize: the four taps of each output pixel and their weights once, then every block of channels
 * (an overlapping last block when the channels are not a multiple of VL). */
static void SIMD_NAME(resize_bilinear)(const struct vigil_resize_args *a)
{
	const int c = a->c, last = c - VL;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int y0, y1;
		float fy;

		vigil_f32_resize_taps(oy, a->in_h, a->out_h, a->align_corners, a->half_pixel_centers, &y0, &y1, &fy);
		for (int ox = 0; ox < a->out_w; ox++) {
			int x0, x1;
			float fx;

			vigil_f32_resize_taps(ox, a->in_w, a->out_w, a->align_corners, a->half_pixel_centers, &x0, &x1,
					      &fx);
			const float *p00 = a->input + ((size_t)y0 * a->in_w + x0) * c;
			const float *p01 = a->input + ((size_t)y0 * a->in_w + x1) * c;
			const float *p10 = a->input + ((size_t)y1 * a->in_w + x0) * c;
			const float *p11 = a->input + ((size_t)y1 * a->in_w + x1) * c;
			float *out = a->output + ((size_t)oy * a->out_w + ox) * c;
			const V w00 = vset1((1 - fy) * (1 - fx)), w01 = vset1((1 - fy) * fx);
			const V w10 = vset1(fy * (1 - fx)), w11 = vset1(fy * fx);

			if (c < VL) {
				const V r = vfma(load_lanes(p11, c), w11,
						 vfma(load_lanes(p10, c), w10,
						      vfma(load_lanes(p01, c), w01, vmul(load_lanes(p00, c), w00))));

				store_lanes(out, r, c);
				continue;
			}
			for (int cb = 0;; cb += VL) {
				if (cb > last)
					cb = last;
				vstore(out + cb, vfma(vload(p11 + cb), w11,
						      vfma(vload(p10 + cb), w10,
							   vfma(vload(p01 + cb), w01, vmul(vload(p00 + cb), w00)))));
				if (cb == last)
					break;
			}
		}
	}
}

const struct vigil_f32_kernels SIMD_TABLE = {
	.isa = VIGIL_SIMD_ISA,
	.conv2d_oc_block = VL,
	.conv2d = SIMD_NAME(conv2d),
	.dwconv2d_c_block = VL,
	.dwconv2d = SIMD_NAME(dwconv2d),
	.maxpool2d = SIMD_NAME(maxpool2d),
	.add = SIMD_NAME(add),
	.clamp = SIMD_NAME(clamp),
	.resize_bilinear = SIMD_NAME(resize_bilinear),
};
