/* SPDX-License-Identifier: Apache-2.0
 * The depthwise convolution's row driver, shared by the AVX2 and AVX-512 quantized kernels: for output rows
 * [y0, y1), the input pointer of every tap of every output pixel (the zero-point row @p zeros where a tap leaves the
 * image, and as the partner of an odd last tap, whose packed weight is 0), then one call of the including file's
 * pixel kernel. Included once per variant, with:
 *   DW_NAME                               the function to define
 *   DW_TARGET                             its target attribute
 *   DW_PIXEL(src, d, pairs, sg, o)        all channels of one output pixel (inlined; pairs is a constant 5 for 3x3)
 */
DW_TARGET void DW_NAME(const struct vigil_q8_conv_args *a, const struct vigil_q8_dw *d, const void *zeros, int y0,
		       int y1)
{
	const uint8_t *in = a->input;
	uint8_t *out = a->output;
	const int sg = d->rq.is_signed;
	const size_t c = (size_t)d->c;
	const uint8_t *src[2 * ((VIGIL_Q8_DW_MAX_TAPS + 1) / 2)];
	const uint8_t *row[VIGIL_Q8_DW_MAX_TAPS];

	for (int oy = y0; oy < y1; oy++) {
		const int iy = oy * a->stride_h - a->pad_top;
		int rows_ok = 1;

		for (int ky = 0; ky < a->kh; ky++) {
			const int y = iy + ky * a->dil_h;

			row[ky] = y < 0 || y >= a->in_h ? NULL : in + (size_t)y * a->in_w * c;
		}
		for (int ky = 0; ky < a->kh; ky++)
			rows_ok &= row[ky] != NULL;
		for (int ox = 0; ox < a->out_w; ox++) {
			const int ix = ox * a->stride_w - a->pad_left;
			uint8_t *o = out + ((size_t)oy * a->out_w + ox) * c;

			if (rows_ok && ix >= 0 && ix + (a->kw - 1) * a->dil_w < a->in_w && d->pairs == 5 &&
			    a->kw == 3) {
				/* 3x3 inside the image: no bounds checks */
				const size_t x0 = (size_t)ix * c, x1 = x0 + (size_t)a->dil_w * c,
					     x2 = x1 + (size_t)a->dil_w * c;
				const uint8_t *s9[10] = { row[0] + x0, row[0] + x1, row[0] + x2, row[1] + x0,
							  row[1] + x1, row[1] + x2, row[2] + x0, row[2] + x1,
							  row[2] + x2, zeros };

				DW_PIXEL(s9, d, 5, sg, o);
				continue;
			}
			for (int ky = 0, t = 0; ky < a->kh; ky++)
				for (int kx = 0; kx < a->kw; kx++, t++) {
					const int x = ix + kx * a->dil_w;

					src[t] = !row[ky] || x < 0 || x >= a->in_w ? (const uint8_t *)zeros
										   : row[ky] + (size_t)x * c;
				}
			src[d->taps] = zeros; /* partner of an odd last tap (weight 0) */
			if (d->pairs == 5)
				DW_PIXEL(src, d, 5, sg, o); /* 3x3, unrolled */
			else
				DW_PIXEL(src, d, d->pairs, sg, o);
		}
	}
}
