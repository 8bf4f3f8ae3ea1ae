/* SPDX-License-Identifier: Apache-2.0
 * The GEMM's activation tile, shared by the quantized kernels of every ISA: rows of the tile for output pixels
 * p..p+rows-1 (then zero rows up to rows_pad): the kh*kw*in_c inputs of each pixel minus the zero point as int16, 0
 * where the window leaves the image (as the reference skips those taps) and 0 from k up to kp. Included once per
 * variant, with:
 *   PR_NAME                               the function to define (vigil_q8_pack_rows__<isa>)
 *   PR_TARGET                             its target attribute
 *   PR_WIDEN(src, dst, n, xo, is_signed)  dst[i] = src[i] + xo as int16 for n uint8/int8 values
 */
PR_TARGET void PR_NAME(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, int p, int rows, int rows_pad,
		       int16_t *dst)
{
	const uint8_t *in = a->input;
	const size_t ic = (size_t)a->in_c;
	const int sg = g->rq.is_signed;
	const int direct = a->kh == 1 && a->kw == 1 && a->stride_h == 1 && a->stride_w == 1 && a->pad_top == 0 &&
			   a->pad_left == 0 && a->in_w == a->out_w && a->in_h == a->out_h;

	for (int r = 0; r < rows; r++, dst += g->kp) {
		const int q = p + r, oy = q / a->out_w, ox = q % a->out_w;
		const int y0 = oy * a->stride_h - a->pad_top, x0 = ox * a->stride_w - a->pad_left;
		int16_t *d = dst;

		if (direct) {
			PR_WIDEN(in + (size_t)q * ic, d, (int)ic, a->input_offset, sg);
			d += ic;
		} else {
			for (int ky = 0; ky < a->kh; ky++) {
				const int y = y0 + ky * a->dil_h;
				const int x_last = x0 + (a->kw - 1) * a->dil_w;

				if (y < 0 || y >= a->in_h) {
					memset(d, 0, (size_t)a->kw * ic * sizeof(int16_t));
					d += (size_t)a->kw * ic;
				} else if (a->dil_w == 1 && x0 >= 0 && x_last < a->in_w) {
					PR_WIDEN(in + ((size_t)y * a->in_w + x0) * ic, d, (int)(a->kw * ic),
						 a->input_offset, sg);
					d += (size_t)a->kw * ic;
				} else {
					for (int kx = 0; kx < a->kw; kx++, d += ic) {
						const int x = x0 + kx * a->dil_w;

						if (x < 0 || x >= a->in_w)
							memset(d, 0, ic * sizeof(int16_t));
						else
							PR_WIDEN(in + ((size_t)y * a->in_w + x) * ic, d, (int)ic,
								 a->input_offset, sg);
					}
				}
			}
		}
		if (g->kp > g->k)
			memset(d, 0, (size_t)(g->kp - g->k) * sizeof(int16_t));
	}
	if (rows_pad > rows)
		memset(dst, 0, (size_t)(rows_pad - rows) * g->kp * sizeof(int16_t));
}
