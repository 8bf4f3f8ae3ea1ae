/* SPDX-License-Identifier: Apache-2.0
 * The NEON quantized kernels' epilogue, shared by the ARMv8.0 file (kernels_q8_neon.c) and the dot-product one
 * (kernels_q8_neondot.c): the requantization of int32 accumulators in vector form and the narrowing stores. */
#ifndef VIGIL_KERNELS_Q8_NEON_H
#define VIGIL_KERNELS_Q8_NEON_H

#include "kernels_q8.h"

#include <arm_neon.h>
#include <string.h>

/* acc (without bias) of channels c..c+3 -> clamped output values as int32 */
static inline int32x4_t rq4(int32x4_t acc, const struct vigil_q8_requant_vec *rq, int c)
{
	const int32x4_t zp = vdupq_n_s32(rq->output_offset);
	int32x4_t r, neg_e;

	acc = vaddq_s32(acc, vld1q_s32(rq->bias + c));
	if (rq->fscale) {
		float32x4_t f = vmulq_f32(vcvtq_f32_s32(acc), vld1q_f32(rq->fscale + c));

		f = vmaxq_f32(f, vdupq_n_f32((float)(rq->act_min - rq->output_offset)));
		f = vminq_f32(f, vdupq_n_f32((float)(rq->act_max - rq->output_offset)));
		return vaddq_s32(vcvtnq_s32_f32(f), zp); /* within act_min..act_max already */
	}
	r = vshlq_s32(acc, vld1q_s32(rq->lshift + c)); /* wraps as the reference's (uint32) << does */
	r = vqrdmulhq_s32(r, vld1q_s32(rq->mult + c));
	neg_e = vnegq_s32(vld1q_s32(rq->rshift + c));
	/* x & -e has the sign bit exactly when x < 0 and e > 0: then x - 1, so that srshl's ties go away from zero */
	r = vrshlq_s32(vqaddq_s32(r, vshrq_n_s32(vandq_s32(r, neg_e), 31)), neg_e);
	r = vaddq_s32(r, zp);
	r = vmaxq_s32(r, vdupq_n_s32(rq->act_min));
	return vminq_s32(r, vdupq_n_s32(rq->act_max));
}

/* 8 in-range int32 -> 8 bytes */
static inline uint8x8_t pack8(int32x4_t lo, int32x4_t hi, int is_signed)
{
	const int16x8_t w = vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi));

	return is_signed ? vreinterpret_u8_s8(vqmovn_s16(w)) : vqmovun_s16(w);
}

/* the first n (0..8) of 8 bytes */
static inline void store8(uint8_t *out, uint8x8_t v, int n)
{
	if (n >= 8) {
		vst1_u8(out, v);
	} else if (n > 0) {
		uint8_t tmp[8];

		vst1_u8(tmp, v);
		memcpy(out, tmp, (size_t)n);
	}
}

#endif
