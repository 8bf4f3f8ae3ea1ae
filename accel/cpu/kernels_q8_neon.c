/* SPDX-License-Identifier: Apache-2.0
 * NEON quantized kernels (ARMv8.0 AdvSIMD, the baseline of every aarch64 core). They compute the reference's int32
 * accumulators exactly (kernels_q8_c.c): every product (x - zx) * (w - zw) is a smlal/smlal2 of int16 operands
 * (|x - zx|, |w - zw| <= 255) into int32 lanes, and integer sums do not depend on their order. The requantization is
 * the reference formula in vector form: float as scvtf, fmul, clamp, fcvtns (round to nearest-even, as lrintf);
 * fixed point as sqrdmulh, which is TFLite's SaturatingRoundingDoublingHighMul exactly (round half up and the
 * INT32_MIN * INT32_MIN saturation), and RoundingDivideByPOT as srshl after subtracting 1 from negative values (ties
 * away from zero). tests/test_q8_simd.c checks every kernel byte for byte against the reference under qemu-aarch64.
 *
 * GEMM micro-tile: 8 pixels x 8 channels, 16 int32x4 accumulators; per 8 k, 8 activation vectors (one per pixel)
 * and 8 weight vectors, each weight vector multiplied by one activation lane (by element) into two accumulators. */
#include "kernels_q8.h"
#include "kernels_q8_neon.h"

#include <arm_neon.h>
#include <string.h>

#define MR VIGIL_Q8_GEMM_NEON_MR
#define NR VIGIL_Q8_GEMM_NEON_NR
#define NOTARGET /* the file is built for ARMv8.0 as a whole */

void vigil_q8_requant__neon(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out)
{
	uint8_t *o = out;

	for (int i = 0; i < n; i += 8) {
		const int m = n - i < 8 ? n - i : 8;
		int32_t tmp[8] = { 0 };

		memcpy(tmp, acc + i, (size_t)m * sizeof(int32_t));
		store8(o + i,
		       pack8(rq4(vld1q_s32(tmp), rq, c0 + i), rq4(vld1q_s32(tmp + 4), rq, c0 + i + 4), rq->is_signed),
		       m);
	}
}

/* ---- GEMM for convolutions ----------------------------------------------------------------------------------- */

static inline int16x8_t widen8(uint8x8_t v, int16x8_t off, int sg)
{
	return vaddq_s16(sg ? vmovl_s8(vreinterpret_s8_u8(v)) : vreinterpretq_s16_u16(vmovl_u8(v)), off);
}

/* dst[i] = src[i] + xo as int16 */
static inline void widen(const void *src, int16_t *dst, int n, int32_t xo, int sg)
{
	const int16x8_t off = vdupq_n_s16((int16_t)xo);
	const uint8_t *s = src;
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		const uint8x16_t v = vld1q_u8(s + i);

		vst1q_s16(dst + i, widen8(vget_low_u8(v), off, sg));
		vst1q_s16(dst + i + 8, widen8(vget_high_u8(v), off, sg));
	}
	if (i + 8 <= n) {
		vst1q_s16(dst + i, widen8(vld1_u8(s + i), off, sg));
		i += 8;
	}
	for (; i < n; i++)
		dst[i] = (int16_t)((sg ? (int32_t)(int8_t)s[i] : (int32_t)s[i]) + xo);
}

#define PR_NAME vigil_q8_pack_rows__neon
#define PR_TARGET NOTARGET
#define PR_WIDEN widen
#define PR_ELEM int16_t
#define PR_FILL(d, n, xo) memset(d, 0, (n) * sizeof(int16_t))
#define PR_ROW_END(row, g, sg) (void)0
#include "kernels_q8_rows.h"

/* weight vector L of the 8-k block (channels c..c+7) times lane L of each pixel's activations */
#define LANE(L)                                                                                                        \
	do {                                                                                                           \
		const int16x8_t wv = vld1q_s16(w + (size_t)(k + (L)) * NR);                                            \
		const int16x4_t wl = vget_low_s16(wv);                                                                 \
		c00 = vmlal_laneq_s16(c00, wl, a0, L), c01 = vmlal_high_laneq_s16(c01, wv, a0, L);                     \
		c10 = vmlal_laneq_s16(c10, wl, a1, L), c11 = vmlal_high_laneq_s16(c11, wv, a1, L);                     \
		c20 = vmlal_laneq_s16(c20, wl, a2, L), c21 = vmlal_high_laneq_s16(c21, wv, a2, L);                     \
		c30 = vmlal_laneq_s16(c30, wl, a3, L), c31 = vmlal_high_laneq_s16(c31, wv, a3, L);                     \
		c40 = vmlal_laneq_s16(c40, wl, a4, L), c41 = vmlal_high_laneq_s16(c41, wv, a4, L);                     \
		c50 = vmlal_laneq_s16(c50, wl, a5, L), c51 = vmlal_high_laneq_s16(c51, wv, a5, L);                     \
		c60 = vmlal_laneq_s16(c60, wl, a6, L), c61 = vmlal_high_laneq_s16(c61, wv, a6, L);                     \
		c70 = vmlal_laneq_s16(c70, wl, a7, L), c71 = vmlal_high_laneq_s16(c71, wv, a7, L);                     \
	} while (0)

/* MR x NR block: rows of @p a (stride kp int16, kp a multiple of 8), panel @p w ([kp][8]); stores the @p rows x
 * @p cols valid outputs */
static inline void vigil_q8_gemm_micro__neon(const int16_t *a, int kp, const int16_t *w,
					     const struct vigil_q8_requant_vec *rq, int c, int rows, int cols,
					     uint8_t *out, size_t out_stride)
{
	int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
	int32x4_t c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
	int32x4_t acc[MR][2];

	for (int k = 0; k < kp; k += 8) {
		const int16x8_t a0 = vld1q_s16(a + k), a1 = vld1q_s16(a + (size_t)kp + k);
		const int16x8_t a2 = vld1q_s16(a + 2 * (size_t)kp + k), a3 = vld1q_s16(a + 3 * (size_t)kp + k);
		const int16x8_t a4 = vld1q_s16(a + 4 * (size_t)kp + k), a5 = vld1q_s16(a + 5 * (size_t)kp + k);
		const int16x8_t a6 = vld1q_s16(a + 6 * (size_t)kp + k), a7 = vld1q_s16(a + 7 * (size_t)kp + k);

		LANE(0);
		LANE(1);
		LANE(2);
		LANE(3);
		LANE(4);
		LANE(5);
		LANE(6);
		LANE(7);
	}
	acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20, acc[2][1] = c21;
	acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
	acc[6][0] = c60, acc[6][1] = c61, acc[7][0] = c70, acc[7][1] = c71;
	for (int i = 0; i < rows; i++)
		store8(out + i * out_stride, pack8(rq4(acc[i][0], rq, c), rq4(acc[i][1], rq, c + 4), rq->is_signed),
		       cols);
}

#define GD_NAME vigil_q8_conv_gemm__neon
#define GD_TARGET NOTARGET
#define GD_ELEM int16_t
#define GD_PANELS(g) ((g)->w)
#define GD_PACK_ROWS vigil_q8_pack_rows__neon
#define GD_MICRO(a, g, ...) vigil_q8_gemm_micro__neon(a, (g)->kp, __VA_ARGS__) /* int16 tiles: rows kp apart */
#define GD_MR MR
#define GD_NR NR
#include "kernels_q8_gemmdrv.h"

/* ---- depthwise ----------------------------------------------------------------------------------------------- */

/* vigil_q8_dw_pack's layout (taps paired, [pairs][cp][2] int16, the input offset folded into the bias, so the raw
 * inputs are multiplied): vld2 splits a pair's weights into one vector per tap. 16 channels per step. */
static inline __attribute__((always_inline)) void dw16(const uint8_t *const *src, const struct vigil_q8_dw *d,
						       int pairs, int c, int sg, uint8_t *o)
{
	int32x4_t acc0 = vdupq_n_s32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
	const int16_t *w = d->w + (size_t)c * 2;
	const int16x8_t zero = vdupq_n_s16(0);

	for (int p = 0; p < pairs; p++, w += (size_t)d->cp * 2) {
		const uint8x16_t x0 = vld1q_u8(src[2 * p] + c), x1 = vld1q_u8(src[2 * p + 1] + c);
		const int16x8x2_t wlo = vld2q_s16(w), whi = vld2q_s16(w + 16);
		const int16x8_t x0l = widen8(vget_low_u8(x0), zero, sg), x0h = widen8(vget_high_u8(x0), zero, sg);
		const int16x8_t x1l = widen8(vget_low_u8(x1), zero, sg), x1h = widen8(vget_high_u8(x1), zero, sg);

		acc0 = vmlal_s16(acc0, vget_low_s16(x0l), vget_low_s16(wlo.val[0]));
		acc1 = vmlal_high_s16(acc1, x0l, wlo.val[0]);
		acc2 = vmlal_s16(acc2, vget_low_s16(x0h), vget_low_s16(whi.val[0]));
		acc3 = vmlal_high_s16(acc3, x0h, whi.val[0]);
		acc0 = vmlal_s16(acc0, vget_low_s16(x1l), vget_low_s16(wlo.val[1]));
		acc1 = vmlal_high_s16(acc1, x1l, wlo.val[1]);
		acc2 = vmlal_s16(acc2, vget_low_s16(x1h), vget_low_s16(whi.val[1]));
		acc3 = vmlal_high_s16(acc3, x1h, whi.val[1]);
	}
	vst1_u8(o + c, pack8(rq4(acc0, &d->rq, c), rq4(acc1, &d->rq, c + 4), sg));
	vst1_u8(o + c + 8, pack8(rq4(acc2, &d->rq, c + 8), rq4(acc3, &d->rq, c + 12), sg));
}

/* 8 channels from c */
static inline __attribute__((always_inline)) void dw8(const uint8_t *const *src, const struct vigil_q8_dw *d, int pairs,
						      int c, int sg, uint8_t *o)
{
	int32x4_t acc0 = vdupq_n_s32(0), acc1 = acc0;
	const int16_t *w = d->w + (size_t)c * 2;
	const int16x8_t zero = vdupq_n_s16(0);

	for (int p = 0; p < pairs; p++, w += (size_t)d->cp * 2) {
		const int16x8_t x0 = widen8(vld1_u8(src[2 * p] + c), zero, sg);
		const int16x8_t x1 = widen8(vld1_u8(src[2 * p + 1] + c), zero, sg);
		const int16x8x2_t wv = vld2q_s16(w);

		acc0 = vmlal_s16(acc0, vget_low_s16(x0), vget_low_s16(wv.val[0]));
		acc1 = vmlal_high_s16(acc1, x0, wv.val[0]);
		acc0 = vmlal_s16(acc0, vget_low_s16(x1), vget_low_s16(wv.val[1]));
		acc1 = vmlal_high_s16(acc1, x1, wv.val[1]);
	}
	vst1_u8(o + c, pack8(rq4(acc0, &d->rq, c), rq4(acc1, &d->rq, c + 4), sg));
}

#define DW_NAME vigil_q8_dwconv__neon
#define DW_TARGET NOTARGET
#define DW_PIXEL vigil_q8_dw_pixel__neon /* static; named for per-function profiles */
#define DW_BLOCK16 dw16
#define DW_BLOCK8 dw8
#define DW_REQUANT vigil_q8_requant__neon
#include "kernels_q8_dwrows.h"
