/* SPDX-License-Identifier: Apache-2.0
 * AVX2 + FMA kernels (built with -mavx2 -mfma in their own library; run only when the CPU has them). */
#include <immintrin.h>
#include <stdint.h>

#define V __m256
#define VL 8
#define VIGIL_SIMD_ISA "avx2"
#define SIMD_NAME(op) vigil_f32_##op##__avx2
#define SIMD_TABLE vigil_f32_kernels__avx2
#define CONV_NP3 4 /* 12 accumulators + 3 weights + 1 broadcast */
#define CONV_NP2 6 /* 12 accumulators + 2 weights + 1 broadcast */
#define CONV_NP1 12

/* lane masks: mask_src + 8 - n has n all-ones lanes first */
static const int32_t mask_src[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

static inline __m256i mask_n(int n)
{
	return _mm256_loadu_si256((const __m256i *)(mask_src + 8 - n));
}

/* A masked store (vmaskmovps) is slow on some CPUs (microcoded on AMD Zen): halves, pairs and singles. */
static inline void store_n(float *p, __m256 v, int n)
{
	__m128 x = _mm256_castps256_ps128(v);

	if (n >= 4) {
		_mm_storeu_ps(p, x);
		x = _mm256_extractf128_ps(v, 1);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		_mm_storel_pi((__m64 *)p, x);
		x = _mm_movehl_ps(x, x);
		p += 2;
		n -= 2;
	}
	if (n >= 1)
		_mm_store_ss(p, x);
}

#define vload(p) _mm256_loadu_ps(p)
#define vstore(p, v) _mm256_storeu_ps((p), (v))
#define vload_n(p, n) _mm256_maskload_ps((p), mask_n(n))
#define vstore_n(p, v, n) store_n((p), (v), (n))
#define vset1(x) _mm256_set1_ps(x)
#define vzero() _mm256_setzero_ps()
#define vfma(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define vadd(a, b) _mm256_add_ps((a), (b))
#define vmul(a, b) _mm256_mul_ps((a), (b))
#define vmax(a, b) _mm256_max_ps((a), (b))
#define vmin(a, b) _mm256_min_ps((a), (b))

#include "kernels_simd.h"
