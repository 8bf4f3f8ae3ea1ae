/* SPDX-License-Identifier: Apache-2.0
 * Test-only kernel set: kernels_simd.h compiled with 16-lane vectors emulated by pairs of AVX2 vectors, so the
 * 16-lane code paths of the AVX-512 set (tile sizes, lane counts, masks of up to 16 lanes) are checked against
 * the reference on CPUs without AVX-512. Built with -mavx2 -mfma; used only when the CPU has AVX2. */
#include <immintrin.h>
#include <stdint.h>

typedef struct {
	__m256 lo, hi;
} v16;

#define V v16
#define VL 16
#define VIGIL_SIMD_ISA "vl16-emulated"
#define SIMD_NAME(op) vigil_f32_##op##__vl16emu
#define SIMD_TABLE vigil_f32_kernels__vl16emu
#define CONV_NP3 8
#define CONV_NP2 12
#define CONV_NP1 24

static const int32_t mask_src[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

static inline __m256i mask8(int n)
{
	n = n < 0 ? 0 : (n > 8 ? 8 : n);
	return _mm256_loadu_si256((const __m256i *)(mask_src + 8 - n));
}

static inline v16 e_load(const float *p)
{
	return (v16){ _mm256_loadu_ps(p), _mm256_loadu_ps(p + 8) };
}

static inline void e_store(float *p, v16 v)
{
	_mm256_storeu_ps(p, v.lo);
	_mm256_storeu_ps(p + 8, v.hi);
}

static inline v16 e_load_n(const float *p, int n)
{
	return (v16){ _mm256_maskload_ps(p, mask8(n)), _mm256_maskload_ps(p + 8, mask8(n - 8)) };
}

static inline void e_store_n(float *p, v16 v, int n)
{
	_mm256_maskstore_ps(p, mask8(n), v.lo);
	_mm256_maskstore_ps(p + 8, mask8(n - 8), v.hi);
}

static inline v16 e_set1(float x)
{
	return (v16){ _mm256_set1_ps(x), _mm256_set1_ps(x) };
}

static inline v16 e_fma(v16 a, v16 b, v16 c)
{
	return (v16){ _mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi) };
}

static inline v16 e_add(v16 a, v16 b)
{
	return (v16){ _mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi) };
}

static inline v16 e_mul(v16 a, v16 b)
{
	return (v16){ _mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi) };
}

static inline v16 e_max(v16 a, v16 b)
{
	return (v16){ _mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi) };
}

static inline v16 e_min(v16 a, v16 b)
{
	return (v16){ _mm256_min_ps(a.lo, b.lo), _mm256_min_ps(a.hi, b.hi) };
}

#define vload(p) e_load(p)
#define vstore(p, v) e_store((p), (v))
#define vload_n(p, n) e_load_n((p), (n))
#define vstore_n(p, v, n) e_store_n((p), (v), (n))
#define vset1(x) e_set1(x)
#define vzero() e_set1(0.0f)
#define vfma(a, b, c) e_fma((a), (b), (c))
#define vadd(a, b) e_add((a), (b))
#define vmul(a, b) e_mul((a), (b))
#define vmax(a, b) e_max((a), (b))
#define vmin(a, b) e_min((a), (b))

#include "kernels_simd.h"
