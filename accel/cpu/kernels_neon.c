/* SPDX-License-Identifier: Apache-2.0
 * NEON (AdvSIMD) kernels for aarch64, ARMv8.0 baseline (built with -march=armv8-a in their own library):
 * the vocabulary of kernels_simd.h over float32x4_t. AdvSIMD is mandatory on aarch64, so this set runs on
 * every aarch64 CPU; dot-product (ARMv8.2 SDOT) variants belong to the quantized kernels and are gated by
 * VIGIL_CPU_DOTPROD (see dispatch.c). */
#include <arm_neon.h>

#define V float32x4_t
#define VL 4
#define VIGIL_SIMD_ISA "neon"
#define SIMD_NAME(op) vigil_f32_##op##__neon
#define SIMD_TABLE vigil_f32_kernels__neon
/* 32 vector registers: 24 accumulators + 2 weights + 1 broadcast input */
#define CONV_NP2 12
#define CONV_NP1 24

/* The first n (1..3) lanes; the others read as 0 and are never written. No lane outside them is touched,
 * so a tail at the end of a buffer never reads or writes past it. */
static inline float32x4_t neon_load_n(const float *p, int n)
{
	const float32x2_t z = vdup_n_f32(0.0f);

	switch (n) {
	case 1:
		return vcombine_f32(vld1_lane_f32(p, z, 0), z);
	case 2:
		return vcombine_f32(vld1_f32(p), z);
	case 3:
		return vcombine_f32(vld1_f32(p), vld1_lane_f32(p + 2, z, 0));
	default:
		return vld1q_f32(p);
	}
}

static inline void neon_store_n(float *p, float32x4_t v, int n)
{
	switch (n) {
	case 1:
		vst1q_lane_f32(p, v, 0);
		break;
	case 2:
		vst1_f32(p, vget_low_f32(v));
		break;
	case 3:
		vst1_f32(p, vget_low_f32(v));
		vst1q_lane_f32(p + 2, v, 2);
		break;
	default:
		vst1q_f32(p, v);
		break;
	}
}

/* kernels_simd.h wants x86's max/min: b unless a is strictly greater (smaller), so a NaN in either gives b.
 * FMAX/FMIN would return the NaN whichever side it is on, and max pooling would then disagree with the
 * reference (which keeps the running value when the new one is NaN). */
static inline float32x4_t neon_max(float32x4_t a, float32x4_t b)
{
	return vbslq_f32(vcgtq_f32(a, b), a, b);
}

static inline float32x4_t neon_min(float32x4_t a, float32x4_t b)
{
	return vbslq_f32(vcltq_f32(a, b), a, b);
}

#define vload(p) vld1q_f32(p)
#define vstore(p, v) vst1q_f32((p), (v))
#define vload_n(p, n) neon_load_n((p), (n))
#define vstore_n(p, v, n) neon_store_n((p), (v), (n))
#define vset1(x) vdupq_n_f32(x)
#define vzero() vdupq_n_f32(0.0f)
#define vfma(a, b, c) vfmaq_f32((c), (a), (b))
#define vadd(a, b) vaddq_f32((a), (b))
#define vmul(a, b) vmulq_f32((a), (b))
#define vmax(a, b) neon_max((a), (b))
#define vmin(a, b) neon_min((a), (b))

#include "kernels_simd.h"
