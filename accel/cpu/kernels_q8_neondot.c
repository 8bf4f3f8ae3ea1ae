/* SPDX-License-Identifier: Apache-2.0
 * NEON quantized GEMM with the ARMv8.2 dot product (SDOT/UDOT), built with +dotprod and called only where the kernel
 * reports HWCAP_ASIMDDP (Cortex-A55/A76 and later; not the A53 or A72). Each instruction adds, into 4 int32 lanes,
 * 4 products of byte pairs: 16 multiply-adds where ARMv8.0's smlal does 4. The operands are the raw bytes, unsigned
 * by unsigned for uint8 models and signed by signed for int8 ones, so no product or sum of 4 overflows a lane; the
 * zero points are corrected after the sums (kernels_q8.h, struct vigil_q8_gemm): per channel in the bias at load,
 * per pixel with the row sum the tile packer stores after each row. The int32 lanes wrap, and since every term is
 * added modulo 2^32 the result is the reference's int32 accumulator exactly; the requantization is
 * kernels_q8_neon.h's, the ARMv8.0 kernels' own. tests/test_q8_simd.c checks it byte for byte against the C
 * reference under qemu-aarch64 -cpu max.
 *
 * Micro-tile: 8 pixels x 8 channels, 16 accumulators; per 16 k, 8 activation vectors (one per pixel, 4 groups of
 * 4 k) and 8 weight vectors ([kp/4][8][4] panels: one group of 4 k for 4 channels each), each weight vector dotted
 * with one 4-byte group of every pixel (by lane). */
#include "kernels_q8.h"
#include "kernels_q8_neon.h"

#include <arm_neon.h>
#include <string.h>

#define MR VIGIL_Q8_GEMM_NEON_MR
#define NR VIGIL_Q8_GEMM_NEON_NR
#define NOTARGET /* the file is built for ARMv8.2-A + dotprod as a whole */

/* The tile: raw input bytes, the input zero point for taps outside the image, 0 past k, then the row's sum as an
 * int32 after kp (row_stride = kp + 16). */
static inline int32_t row_sum(const uint8_t *r, int kp, int sg)
{
	uint32x4_t su = vdupq_n_u32(0);
	int32x4_t ss = vdupq_n_s32(0);

	/* bytes k..kp are 0, so the whole padded row sums the same as its k inputs */
	if (sg)
		for (int k = 0; k < kp; k += 16)
			ss = vdotq_s32(ss, vreinterpretq_s8_u8(vld1q_u8(r + k)), vdupq_n_s8(1));
	else
		for (int k = 0; k < kp; k += 16)
			su = vdotq_u32(su, vld1q_u8(r + k), vdupq_n_u8(1));
	return sg ? vaddvq_s32(ss) : (int32_t)vaddvq_u32(su);
}

static inline void store_row_sum(uint8_t *row, const struct vigil_q8_gemm *g, int sg)
{
	const int32_t s = row_sum(row, g->kp, sg);

	memcpy(row + g->kp, &s, sizeof(s));
}

#define PR_NAME pack_rows_dot
#define PR_TARGET static NOTARGET
#define PR_ELEM uint8_t
#define PR_WIDEN(src, dst, n, xo, sg) memcpy(dst, src, (size_t)(n))
#define PR_FILL(d, n, xo) memset(d, (uint8_t)(-(xo)), n) /* the zero point's byte */
#define PR_ROW_END(row, g, sg) store_row_sum(row, g, sg)
#include "kernels_q8_rows.h"

/* One micro-tile, for unsigned (UDOT) or signed (SDOT) bytes: rows of @p a (g->row_stride apart, each with its sum
 * after kp), panel @p w; stores the @p rows x @p cols valid outputs. */
#define DOT_MICRO(NAME, VT, ACCT, LOAD, DOT_LANE, TO_S32)                                                              \
	static inline void NAME(const uint8_t *a, const struct vigil_q8_gemm *g, const uint8_t *w,                     \
				const struct vigil_q8_requant_vec *rq, int c, int rows, int cols, uint8_t *out,        \
				size_t out_stride)                                                                     \
	{                                                                                                              \
		const size_t st = (size_t)g->row_stride;                                                               \
		ACCT c00 = TO_ACC(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;     \
		ACCT c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;           \
		int32x4_t acc[MR][2];                                                                                  \
                                                                                                                       \
		for (int k = 0; k < g->kp; k += 16, w += 16 * NR) {                                                    \
			const VT a0 = LOAD(a + k), a1 = LOAD(a + st + k), a2 = LOAD(a + 2 * st + k);                   \
			const VT a3 = LOAD(a + 3 * st + k), a4 = LOAD(a + 4 * st + k), a5 = LOAD(a + 5 * st + k);      \
			const VT a6 = LOAD(a + 6 * st + k), a7 = LOAD(a + 7 * st + k);                                 \
                                                                                                                       \
			GROUP(0, VT, LOAD, DOT_LANE);                                                                  \
			GROUP(1, VT, LOAD, DOT_LANE);                                                                  \
			GROUP(2, VT, LOAD, DOT_LANE);                                                                  \
			GROUP(3, VT, LOAD, DOT_LANE);                                                                  \
		}                                                                                                      \
		acc[0][0] = TO_S32(c00), acc[0][1] = TO_S32(c01), acc[1][0] = TO_S32(c10), acc[1][1] = TO_S32(c11);    \
		acc[2][0] = TO_S32(c20), acc[2][1] = TO_S32(c21), acc[3][0] = TO_S32(c30), acc[3][1] = TO_S32(c31);    \
		acc[4][0] = TO_S32(c40), acc[4][1] = TO_S32(c41), acc[5][0] = TO_S32(c50), acc[5][1] = TO_S32(c51);    \
		acc[6][0] = TO_S32(c60), acc[6][1] = TO_S32(c61), acc[7][0] = TO_S32(c70), acc[7][1] = TO_S32(c71);    \
		for (int i = 0; i < rows; i++) {                                                                       \
			int32_t sum;                                                                                   \
			int32x4_t corr;                                                                                \
                                                                                                                       \
			memcpy(&sum, a + i * st + g->kp, sizeof(sum));                                                 \
			corr = vdupq_n_s32((int32_t)((uint32_t)g->wo * (uint32_t)sum));                                \
			store8(out + i * out_stride,                                                                   \
			       pack8(rq4(vaddq_s32(acc[i][0], corr), rq, c),                                           \
				     rq4(vaddq_s32(acc[i][1], corr), rq, c + 4), rq->is_signed),                       \
			       cols);                                                                                  \
		}                                                                                                      \
	}

/* the weights of 4 channels x 4 k (group L of the 16-k block) dotted with group L of each pixel */
#define GROUP(L, VT, LOAD, DOT_LANE)                                                                                   \
	do {                                                                                                           \
		const VT wl = LOAD(w + (L)*32), wh = LOAD(w + (L)*32 + 16);                                            \
		c00 = DOT_LANE(c00, wl, a0, L), c01 = DOT_LANE(c01, wh, a0, L);                                        \
		c10 = DOT_LANE(c10, wl, a1, L), c11 = DOT_LANE(c11, wh, a1, L);                                        \
		c20 = DOT_LANE(c20, wl, a2, L), c21 = DOT_LANE(c21, wh, a2, L);                                        \
		c30 = DOT_LANE(c30, wl, a3, L), c31 = DOT_LANE(c31, wh, a3, L);                                        \
		c40 = DOT_LANE(c40, wl, a4, L), c41 = DOT_LANE(c41, wh, a4, L);                                        \
		c50 = DOT_LANE(c50, wl, a5, L), c51 = DOT_LANE(c51, wh, a5, L);                                        \
		c60 = DOT_LANE(c60, wl, a6, L), c61 = DOT_LANE(c61, wh, a6, L);                                        \
		c70 = DOT_LANE(c70, wl, a7, L), c71 = DOT_LANE(c71, wh, a7, L);                                        \
	} while (0)

#define LOAD_U8(p) vld1q_u8(p)
#define LOAD_S8(p) vreinterpretq_s8_u8(vld1q_u8(p))
#define TO_ACC(v) vdupq_n_u32(v)
DOT_MICRO(micro_u8, uint8x16_t, uint32x4_t, LOAD_U8, vdotq_laneq_u32, vreinterpretq_s32_u32)
#undef TO_ACC
#define TO_ACC(v) vdupq_n_s32(v)
#define SAME(v) (v)
DOT_MICRO(micro_s8, int8x16_t, int32x4_t, LOAD_S8, vdotq_laneq_s32, SAME)
#undef TO_ACC
#undef SAME
#undef GROUP

static inline void micro(const uint8_t *a, const struct vigil_q8_gemm *g, const uint8_t *w,
			 const struct vigil_q8_requant_vec *rq, int c, int rows, int cols, uint8_t *out,
			 size_t out_stride)
{
	if (rq->is_signed)
		micro_s8(a, g, w, rq, c, rows, cols, out, out_stride);
	else
		micro_u8(a, g, w, rq, c, rows, cols, out, out_stride);
}

#define GD_NAME vigil_q8_conv_gemm__neondot
#define GD_TARGET NOTARGET
#define GD_ELEM uint8_t
#define GD_PANELS(g) ((g)->wb)
#define GD_PACK_ROWS pack_rows_dot
#define GD_MICRO micro
#define GD_MR MR
#define GD_NR NR
#include "kernels_q8_gemmdrv.h"
