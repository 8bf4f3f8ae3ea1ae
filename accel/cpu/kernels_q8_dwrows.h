/* SPDX-License-Identifier: Apache-2.0
 * The depthwise convolution's row driver, shared by the AVX2, AVX-512 and NEON quantized kernels: for output rows
 * [y0, y1), the input pointer of every tap of every output pixel (the zero-point row @p zeros where a tap leaves the
 * image, and as the partner of an odd last tap, whose packed weight is 0), then one call of the including file's
 * pixel kernel. Included once per variant (it #undefs them after), with:
 *   DW_NAME                               the function to define
 *   DW_TARGET                             its target attribute
 *   DW_PIXEL(src, d, pairs, sg, o)        all channels of one output pixel (inlined; pairs is a constant 5 for 3x3)
 * and, where the ISA works in blocks of 16 and 8 channels (AVX2, NEON), for the template to define DW_PIXEL:
 *   DW_BLOCK16, DW_BLOCK8                 (src, d, pairs, c, sg, o): 16 / 8 channels from c
 *   DW_REQUANT                            the ISA's vigil_q8_requant__<isa>, for the last channels (fewer than 8),
 *                                         summed in scalar code on the packed weights
 */
#ifdef DW_BLOCK16
static inline __attribute__((always_inline)) DW_TARGET void DW_PIXEL(const uint8_t *const *src,
								     const struct vigil_q8_dw *d, int pairs, int sg,
								     uint8_t *o)
{
	int c = 0;

	for (; c + 16 <= d->c; c += 16)
		DW_BLOCK16(src, d, pairs, c, sg, o);
	if (c + 8 <= d->c) {
		DW_BLOCK8(src, d, pairs, c, sg, o);
		c += 8;
	}
	if (c < d->c) {
		int32_t acc[8] = { 0 };
		const int c0 = c;

		for (; c < d->c; c++)
			for (int t = 0; t < d->taps; t++) {
				const int32_t x = sg ? ((const int8_t *)src[t])[c] : src[t][c];

				acc[c - c0] += x * d->w[((size_t)(t / 2) * d->cp + c) * 2 + t % 2];
			}
		DW_REQUANT(acc, c0, d->c - c0, &d->rq, o + c0);
	}
}
#endif

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

#undef DW_NAME
#undef DW_TARGET
#undef DW_PIXEL
#undef DW_BLOCK16
#undef DW_BLOCK8
#undef DW_REQUANT
