/* SPDX-License-Identifier: Apache-2.0
 * The quantized GEMM's driver over a pixel range, shared by every ISA's kernel: tiles of
 * vigil_q8_gemm_tile_pixels() output pixels are packed into @p scratch (kernels_q8_rows.h), then each panel of nr
 * output channels runs over the tile mr pixels at a time. Included once per variant (it #undefs them after), with:
 *   GD_NAME                                        the function to define (vigil_q8_conv_gemm__<isa>)
 *   GD_TARGET                                      its target attribute
 *   GD_PACK_ROWS                                   the ISA's vigil_q8_pack_rows__<isa>
 *   GD_ELEM, GD_PANELS(g)                          the tile's and the panels' element type, and the panels
 *   GD_MICRO(a, g, w, rq, c, rows, cols, out, stride)
 *                                                  one micro-tile: GD_MR pixel rows of the tile from @p a (rows
 *                                                  g->row_stride apart, kp values used), the panel @p w, channels c..,
 *                                                  rows x cols valid outputs stored from @p out
 *   GD_MR, GD_NR                                   the micro-tile (the shape the weights were packed with)
 */
GD_TARGET void GD_NAME(const struct vigil_q8_conv_args *a, const struct vigil_q8_gemm *g, void *scratch, int p0, int p1)
{
	const int tp = vigil_q8_gemm_tile_pixels(g);
	GD_ELEM *tile = scratch;
	uint8_t *out = a->output;

	for (int t0 = p0; t0 < p1; t0 += tp) {
		const int rows = p1 - t0 < tp ? p1 - t0 : tp;

		GD_PACK_ROWS(a, g, t0, rows, (rows + GD_MR - 1) / GD_MR * GD_MR, tile);
		for (int pn = 0; pn < g->np / GD_NR; pn++) {
			const int c = pn * GD_NR, cols = g->n - c < GD_NR ? g->n - c : GD_NR;
			const GD_ELEM *w = GD_PANELS(g) + (size_t)pn * g->kp * GD_NR;

			for (int i = 0; i < rows; i += GD_MR)
				GD_MICRO(tile + (size_t)i * g->row_stride, g, w, &g->rq, c,
					 rows - i < GD_MR ? rows - i : GD_MR, cols, out + (size_t)(t0 + i) * g->n + c,
					 (size_t)g->n);
		}
	}
}

#undef GD_NAME
#undef GD_TARGET
#undef GD_PACK_ROWS
#undef GD_ELEM
#undef GD_PANELS
#undef GD_MICRO
#undef GD_MR
#undef GD_NR
