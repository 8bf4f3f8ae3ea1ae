/* SPDX-License-Identifier: Apache-2.0
 * NEON preprocessing row kernels (ARMv8.0 AdvSIMD, built with -march=armv8-a -ffp-contract=off in their own
 * library). 4 tensor columns per step; AdvSIMD has no gather, so the four 4-byte windows are scalar loads. */
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PREP_N 4
#define PVF float32x4_t
#define PVI uint32x4_t
#define PREP_NAME(op) vigil_u8_prep_##op##__neon
#define PREP_TABLE vigil_prep_kernels__neon
#define PREP_ISA "neon"

static inline uint32x4_t pgather(const uint8_t *base, const int32_t *off)
{
	uint32_t w[4];

	memcpy(&w[0], base + off[0], 4);
	memcpy(&w[1], base + off[1], 4);
	memcpy(&w[2], base + off[2], 4);
	memcpy(&w[3], base + off[3], 4);
	return vld1q_u32(w);
}

#define pload(p) vld1q_f32(p)
#define pset1(x) vdupq_n_f32(x)
#define padd(a, b) vaddq_f32((a), (b))
#define psub(a, b) vsubq_f32((a), (b))
#define pmul(a, b) vmulq_f32((a), (b))
#define pmin(a, b) vminq_f32((a), (b))
#define pmax(a, b) vmaxq_f32((a), (b))

static inline float32x4_t pbyte(uint32x4_t w, int k)
{
	return vcvtq_f32_u32(vandq_u32(vshlq_u32(w, vdupq_n_s32(-8 * k)), vdupq_n_u32(255)));
}

static inline void pstore3(float *out, float32x4_t r, float32x4_t g, float32x4_t b)
{
	float32x4x3_t v = { { r, g, b } };

	vst3q_f32(out, v);
}

/* FCVTNS rounds to nearest even, as lrintf does under the default rounding mode */
static void pf32_to_u8(const float *src, uint8_t *dst, size_t n)
{
	const float32x4_t zero = vdupq_n_f32(0.0f), top = vdupq_n_f32(255.0f);
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		int32x4_t a = vcvtnq_s32_f32(vminq_f32(top, vmaxq_f32(zero, vld1q_f32(src + k))));
		int32x4_t b = vcvtnq_s32_f32(vminq_f32(top, vmaxq_f32(zero, vld1q_f32(src + k + 4))));

		vst1_u8(dst + k, vqmovn_u16(vcombine_u16(vqmovun_s32(a), vqmovun_s32(b))));
	}
	for (; k < n; k++) {
		float v = src[k] < 0.0f ? 0.0f : src[k] > 255.0f ? 255.0f : src[k];

		dst[k] = (uint8_t)lrintf(v);
	}
}

#include "preprocess_simd.h"
