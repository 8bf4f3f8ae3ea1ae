/* SPDX-License-Identifier: Apache-2.0
 * AVX2 preprocessing row kernels (built with -mavx2 -mfma -ffp-contract=off in their own library; run only
 * when the CPU has AVX2). 8 tensor columns per step; the source windows come in by vpgatherdd. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define PREP_N 8
#define PVF __m256
#define PVI __m256i
#define PREP_NAME(op) vigil_u8_prep_##op##__avx2
#define PREP_TABLE vigil_prep_kernels__avx2
#define PREP_ISA "avx2"

#define pgather(base, off)                                                                                             \
	_mm256_i32gather_epi32((const int *)(const void *)(base), _mm256_loadu_si256((const __m256i *)(off)), 1)
#define pload(p) _mm256_loadu_ps(p)
#define pset1(x) _mm256_set1_ps(x)
#define padd(a, b) _mm256_add_ps((a), (b))
#define psub(a, b) _mm256_sub_ps((a), (b))
#define pmul(a, b) _mm256_mul_ps((a), (b))
/* operand order as the reference's comparisons: max(0, v) keeps v unless 0 > v, min(255, v) unless 255 < v */
#define pmin(a, b) _mm256_min_ps((a), (b))
#define pmax(a, b) _mm256_max_ps((a), (b))

static inline __m256 pbyte(__m256i w, int k)
{
	return _mm256_cvtepi32_ps(
	    _mm256_and_si256(_mm256_srl_epi32(w, _mm_cvtsi32_si128(8 * k)), _mm256_set1_epi32(255)));
}

/* r0 g0 b0 r1 ... b7 from three vectors: each output vector takes every lane from one of r, g, b after one
 * lane permutation shared by the three */
static inline void pstore3(float *out, __m256 r, __m256 g, __m256 b)
{
	const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2);
	const __m256i i1 = _mm256_setr_epi32(2, 3, 3, 3, 4, 4, 4, 5);
	const __m256i i2 = _mm256_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7);
	__m256 o0, o1, o2;

	o0 = _mm256_blend_ps(_mm256_permutevar8x32_ps(r, i0), _mm256_permutevar8x32_ps(g, i0), 0x92);
	o0 = _mm256_blend_ps(o0, _mm256_permutevar8x32_ps(b, i0), 0x24);
	o1 = _mm256_blend_ps(_mm256_permutevar8x32_ps(r, i1), _mm256_permutevar8x32_ps(g, i1), 0x24);
	o1 = _mm256_blend_ps(o1, _mm256_permutevar8x32_ps(b, i1), 0x49);
	o2 = _mm256_blend_ps(_mm256_permutevar8x32_ps(r, i2), _mm256_permutevar8x32_ps(g, i2), 0x49);
	o2 = _mm256_blend_ps(o2, _mm256_permutevar8x32_ps(b, i2), 0x92);
	_mm256_storeu_ps(out, o0);
	_mm256_storeu_ps(out + 8, o1);
	_mm256_storeu_ps(out + 16, o2);
}

/* vcvtps2dq rounds to nearest even under the default MXCSR, as lrintf does under the default rounding mode */
static void pf32_to_u8(const float *src, uint8_t *dst, size_t n)
{
	const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
	size_t k = 0;

	for (; k + 16 <= n; k += 16) {
		__m256i a = _mm256_cvtps_epi32(_mm256_min_ps(top, _mm256_max_ps(zero, _mm256_loadu_ps(src + k))));
		__m256i b = _mm256_cvtps_epi32(_mm256_min_ps(top, _mm256_max_ps(zero, _mm256_loadu_ps(src + k + 8))));
		__m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);

		_mm_storeu_si128((__m128i *)(void *)(dst + k),
				 _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
	}
	for (; k < n; k++) {
		float v = src[k] < 0.0f ? 0.0f : src[k] > 255.0f ? 255.0f : src[k];

		dst[k] = (uint8_t)lrintf(v);
	}
}

#include "preprocess_simd.h"
