/* SPDX-License-Identifier: Apache-2.0
 * The GEMM's activation tile, shared by the quantized kernels of every ISA: rows of g->row_stride values for output
 * pixels p..p+rows-1 (then zero rows up to rows_pad), each the kh*kw*in_c inputs of the pixel, what stands for an
 * input where the window leaves the image, and 0 from k up to kp. The int16 tiles hold x - zx and 0 for outside
 * taps (as the reference skips them); the dot-product tiles hold the raw bytes, zx outside, and the row's sum after
 * kp. Included once per variant (it #undefs them after), with:
 *   PR_NAME                               the function to define (vigil_q8_pack_rows__<isa>)
 *   PR_TARGET                             its target attribute
 *   PR_ELEM                               the tile's element type (int16_t, or uint8_t for raw bytes)
 *   PR_WIDEN(src, dst, n, xo, is_signed)  dst[i] = the tile's value of input byte src[i], for n uint8/int8 values
 *   PR_FILL(dst, n, xo)                   n values standing for inputs outside the image
 *   PR_ROW_END(row, g, is_signed)         after a row's kp values are in place
 */
PR_TARGET void PR_NAME(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, int p, int rows, int rows_pad,
		       PR_ELEM *dst)
{
	const uint8_t *in = a->input;
	const size_t ic = (size_t)a->in_c;
	const int sg = g->rq.is_signed;
	const int direct = a->kh == 1 && a->kw == 1 && a->stride_h == 1 && a->stride_w == 1 && a->pad_top == 0 &&
			   a->pad_left == 0 && a->in_w == a->out_w && a->in_h == a->out_h;

	for (int r = 0; r < rows; r++, dst += g->row_stride) {
		const int q = p + r, oy = q / a->out_w, ox = q % a->out_w;
		const int y0 = oy * a->stride_h - a->pad_top, x0 = ox * a->stride_w - a->pad_left;
		PR_ELEM *d = dst;

		if (direct) {
			PR_WIDEN(in + (size_t)q * ic, d, (int)ic, a->input_offset, sg);
			d += ic;
		} else {
			for (int ky = 0; ky < a->kh; ky++) {
				const int y = y0 + ky * a->dil_h;
				const int x_last = x0 + (a->kw - 1) * a->dil_w;

				if (y < 0 || y >= a->in_h) {
					PR_FILL(d, (size_t)a->kw * ic, a->input_offset);
					d += (size_t)a->kw * ic;
				} else if (a->dil_w == 1 && x0 >= 0 && x_last < a->in_w) {
					PR_WIDEN(in + ((size_t)y * a->in_w + x0) * ic, d, (int)(a->kw * ic),
						 a->input_offset, sg);
					d += (size_t)a->kw * ic;
				} else {
					for (int kx = 0; kx < a->kw; kx++, d += ic) {
						const int x = x0 + kx * a->dil_w;

						if (x < 0 || x >= a->in_w)
							PR_FILL(d, ic, a->input_offset);
						else
							PR_WIDEN(in + ((size_t)y * a->in_w + x) * ic, d, (int)ic,
								 a->input_offset, sg);
					}
				}
			}
		}
		if (g->kp > g->k)
			memset(d, 0, (size_t)(g->kp - g->k) * sizeof(PR_ELEM));
		PR_ROW_END(dst, g, sg);
	}
	if (rows_pad > rows)
		memset(dst, 0, (size_t)(rows_pad - rows) * g->row_stride * sizeof(PR_ELEM));
}

#undef PR_NAME
#undef PR_TARGET
#undef PR_ELEM
#undef PR_WIDEN
#undef PR_FILL
#undef PR_ROW_END
