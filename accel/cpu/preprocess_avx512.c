/* SPDX-License-Identifier: Apache-2.0
 * AVX-512 preprocessing row kernels (built with -mavx512f -mavx512bw -mavx512vl -mavx512dq -ffp-contract=off in
 * their own library; run only when the CPU has AVX-512). 16 tensor columns per step; the source windows come in by
 * vpgatherdd. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define PREP_N 16
#define PVF __m512
#define PVI __m512i
#define PREP_NAME(op) vigil_u8_prep_##op##__avx512
#define PREP_TABLE vigil_prep_kernels__avx512
#define PREP_ISA "avx512"

#define pgather(base, off) _mm512_i32gather_epi32(_mm512_loadu_si512((const void *)(off)), (const void *)(base), 1)
#define pload(p) _mm512_loadu_ps(p)
#define pset1(x) _mm512_set1_ps(x)
#define padd(a, b) _mm512_add_ps((a), (b))
#define psub(a, b) _mm512_sub_ps((a), (b))
#define pmul(a, b) _mm512_mul_ps((a), (b))
/* operand order as the reference's comparisons: max(0, v) keeps v unless 0 > v, min(255, v) unless 255 < v */
#define pmin(a, b) _mm512_min_ps((a), (b))
#define pmax(a, b) _mm512_max_ps((a), (b))

static inline __m512 pbyte(__m512i w, int k)
{
	return _mm512_cvtepi32_ps(
	    _mm512_and_si512(_mm512_srl_epi32(w, _mm_cvtsi32_si128(8 * k)), _mm512_set1_epi32(255)));
}

/* r0 g0 b0 r1 ... b15 from three vectors: output lane j of vector k holds channel (16k + j) % 3 of pixel
 * (16k + j) / 3; red and green come from one two-source permutation, blue is blended in */
static inline void pstore3(float *out, __m512 r, __m512 g, __m512 b)
{
	const __m512i rg0 = _mm512_setr_epi32(0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5);
	const __m512i rg1 = _mm512_setr_epi32(21, 0, 6, 22, 0, 7, 23, 0, 8, 24, 0, 9, 25, 0, 10, 26);
	const __m512i rg2 = _mm512_setr_epi32(0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0);
	const __m512i b0 = _mm512_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5);
	const __m512i b1 = _mm512_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10);
	const __m512i b2 = _mm512_setr_epi32(10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15);

	_mm512_storeu_ps(out,
			 _mm512_mask_blend_ps(0x4924, _mm512_permutex2var_ps(r, rg0, g), _mm512_permutexvar_ps(b0, b)));
	_mm512_storeu_ps(out + 16,
			 _mm512_mask_blend_ps(0x2492, _mm512_permutex2var_ps(r, rg1, g), _mm512_permutexvar_ps(b1, b)));
	_mm512_storeu_ps(out + 32,
			 _mm512_mask_blend_ps(0x9249, _mm512_permutex2var_ps(r, rg2, g), _mm512_permutexvar_ps(b2, b)));
}

/* vcvtps2dq rounds to nearest even under the default MXCSR, as lrintf does under the default rounding mode */
static void pf32_to_u8(const float *src, uint8_t *dst, size_t n)
{
	const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
	size_t k = 0;

	for (; k + 16 <= n; k += 16)
		_mm_storeu_si128((__m128i *)(void *)(dst + k),
				 _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(
				     _mm512_min_ps(top, _mm512_max_ps(zero, _mm512_loadu_ps(src + k))))));
	for (; k < n; k++) {
		float v = src[k] < 0.0f ? 0.0f : src[k] > 255.0f ? 255.0f : src[k];

		dst[k] = (uint8_t)lrintf(v);
	}
}

#include "preprocess_simd.h"
