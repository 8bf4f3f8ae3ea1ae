/* SPDX-License-Identifier: Apache-2.0
 * AVX-512 (F, BW, VL, DQ) kernels (built with those flags in their own library; run only when the CPU and
 * the OS support them). */
#include <immintrin.h>

#define V __m512
#define VL 16
#define VIGIL_SIMD_ISA "avx512"
#define SIMD_NAME(op) vigil_f32_##op##__avx512
#define SIMD_TABLE vigil_f32_kernels__avx512
#define CONV_NP3 8  /* 24 accumulators + 3 weights + 1 broadcast */
#define CONV_NP2 12 /* 24 accumulators + 2 weights + 1 broadcast */
#define CONV_NP1 24

#define vload(p) _mm512_loadu_ps(p)
#define vstore(p, v) _mm512_storeu_ps((p), (v))
#define vload_n(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), (p))
#define vstore_n(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v))
#define vset1(x) _mm512_set1_ps(x)
#define vzero() _mm512_setzero_ps()
#define vfma(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define vadd(a, b) _mm512_add_ps((a), (b))
#define vmul(a, b) _mm512_mul_ps((a), (b))
#define vmax(a, b) _mm512_max_ps((a), (b))
#define vmin(a, b) _mm512_min_ps((a), (b))

#include "kernels_simd.h"
