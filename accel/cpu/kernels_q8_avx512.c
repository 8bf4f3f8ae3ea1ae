/* SPDX-License-Identifier: Apache-2.0
 * AVX-512 quantized kernels for convolutions (GEMM) and depthwise convolutions. The operands are the AVX2 kernels' (kernels_q8_avx2.c): the
 * activation tile of x - zx and the weight panels of w - zw as int16, so every product is exact and the int32
 * accumulators are the reference's. Two instruction choices from one template: AVX-512 F+BW multiplies pairs on
 * vpmaddwd and adds them on vpaddd; AVX-512 VNNI does both in one vpdpwssd (the non-saturating form). A micro-tile
 * is 6 pixels x 48 channels: 18 zmm accumulators, 3 weight vectors, 1 broadcast. The requantization is the
 * reference formula on 16 lanes (float: cvtdq2ps, mulps, clamp, cvtps2dq rounding to nearest-even as lrintf does;
 * fixed point: TFLite's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT on 64-bit products), so the
 * output is bit-identical to kernels_q8_c.c (tests/test_q8_simd.c). The depthwise kernels take the AVX2 kernel's
 * packing with 16 channels per vector. */
#include "kernels_q8.h"

#if VIGIL_Q8_HAVE_AVX2
#include <immintrin.h>
#include <string.h>

#define MR VIGIL_Q8_GEMM512_MR
#define NR VIGIL_Q8_GEMM512_NR
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define T512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* vigil_q_srdhm on 16 lanes: |a| * |b| as an unsigned 64-bit product, the nudge 2^30 (2^30 - 1 for a negative
 * product, which makes the truncating division round half away from zero), >> 31, the sign put back. */
static inline T512 __m512i srdhm16(__m512i a, __m512i b)
{
	const __m512i neg = _mm512_srai_epi32(_mm512_xor_si512(a, b), 31);
	const __m512i ua = _mm512_abs_epi32(a), ub = _mm512_abs_epi32(b);
	const __m512i one = _mm512_set1_epi64(1), nudge = _mm512_set1_epi64(1 << 30);
	__m512i pe = _mm512_mul_epu32(ua, ub);
	__m512i po = _mm512_mul_epu32(_mm512_srli_epi64(ua, 32), _mm512_srli_epi64(ub, 32));
	__m512i r;
	__mmask16 both_min;

	pe = _mm512_sub_epi64(_mm512_add_epi64(pe, nudge), _mm512_and_si512(neg, one));
	po = _mm512_sub_epi64(_mm512_add_epi64(po, nudge), _mm512_and_si512(_mm512_srli_epi64(neg, 32), one));
	pe = _mm512_srli_epi64(pe, 31);
	po = _mm512_slli_epi64(_mm512_srli_epi64(po, 31), 32);
	r = _mm512_mask_blend_epi32(0xAAAA, pe, po);
	r = _mm512_sub_epi32(_mm512_xor_si512(r, neg), neg);
	/* INT32_MIN * INT32_MIN saturates to INT32_MAX */
	both_min = _mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(INT32_MIN)) &
		   _mm512_cmpeq_epi32_mask(b, _mm512_set1_epi32(INT32_MIN));
	return _mm512_mask_mov_epi32(r, both_min, _mm512_set1_epi32(INT32_MAX));
}

/* vigil_q_rdbypot with a per-lane exponent */
static inline T512 __m512i rdbypot16(__m512i x, __m512i e)
{
	const __m512i one = _mm512_set1_epi32(1);
	const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
	const __m512i rem = _mm512_and_si512(x, mask);
	const __m512i half = _mm512_srai_epi32(mask, 1);
	const __m512i thr = _mm512_mask_add_epi32(half, _mm512_cmplt_epi32_mask(x, _mm512_setzero_si512()), half, one);
	const __m512i q = _mm512_srav_epi32(x, e);

	return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

/* acc (without bias) of channels c..c+15 -> clamped output values as int32 */
static inline T512 __m512i rq16(__m512i acc, const struct vigil_q8_requant_vec *rq, int c)
{
	const __m512i zp = _mm512_set1_epi32(rq->output_offset);
	__m512i r;

	acc = _mm512_add_epi32(acc, _mm512_loadu_si512(rq->bias + c));
	if (rq->fscale) {
		__m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(rq->fscale + c));

		f = _mm512_max_ps(f, _mm512_set1_ps((float)(rq->act_min - rq->output_offset)));
		f = _mm512_min_ps(f, _mm512_set1_ps((float)(rq->act_max - rq->output_offset)));
		return _mm512_add_epi32(_mm512_cvtps_epi32(f), zp); /* within act_min..act_max already */
	}
	r = _mm512_sllv_epi32(acc, _mm512_loadu_si512(rq->lshift + c));
	r = srdhm16(r, _mm512_loadu_si512(rq->mult + c));
	r = _mm512_add_epi32(rdbypot16(r, _mm512_loadu_si512(rq->rshift + c)), zp);
	r = _mm512_max_epi32(r, _mm512_set1_epi32(rq->act_min));
	return _mm512_min_epi32(r, _mm512_set1_epi32(rq->act_max));
}

/* the first n (0..16) of 16 in-range int32 as bytes (int8 and uint8 alike: the values already fit) */
static inline T512 void store16(uint8_t *out, __m512i v, int n)
{
	if (n >= 16)
		_mm_storeu_si128((__m128i *)(void *)out, _mm512_cvtepi32_epi8(v));
	else if (n > 0)
		_mm_mask_storeu_epi8(out, (__mmask16)((1u << n) - 1), _mm512_cvtepi32_epi8(v));
}

T512 void vigil_q8_requant__avx512(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out)
{
	uint8_t *o = out;

	for (int i = 0; i < n; i += 16) {
		const int m = n - i < 16 ? n - i : 16;

		store16(o + i, rq16(_mm512_maskz_loadu_epi32((__mmask16)((1u << m) - 1), acc + i), rq, c0 + i), m);
	}
}

static inline int32_t load32(const int16_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#define MADD_ADD(acc, x, w) _mm512_add_epi32((acc), _mm512_madd_epi16((x), (w)))
#define DPWSSD(acc, x, w) _mm512_dpwssd_epi32((acc), (x), (w))

/* One micro-tile per instruction choice (rows x cols valid of MR x NR; rows of @p a with stride kp int16, panel @p w
 * [kp/2][48][2]); the driver over a pixel range is kernels_q8_gemmdrv.h's. */
#define DEFINE_GEMM512(SUFFIX, TARGET, DOT)                                                                            \
	static inline TARGET void micro_##SUFFIX(const int16_t *a, int kp, const int16_t *w,                           \
						 const struct vigil_q8_requant_vec *rq, int c, int rows, int cols,     \
						 uint8_t *out, size_t out_stride)                                      \
	{                                                                                                              \
		__m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;           \
		__m512i c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;                              \
		__m512i c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;                              \
		__m512i acc[MR][3];                                                                                    \
                                                                                                                       \
		for (int q = 0; q < kp / 2; q++) {                                                                     \
			const __m512i w0 = _mm512_load_si512(w + (size_t)q * 2 * NR);                                  \
			const __m512i w1 = _mm512_load_si512(w + (size_t)q * 2 * NR + 32);                             \
			const __m512i w2 = _mm512_load_si512(w + (size_t)q * 2 * NR + 64);                             \
			__m512i b;                                                                                     \
                                                                                                                       \
			b = _mm512_set1_epi32(load32(a + 2 * q));                                                      \
			c00 = DOT(c00, b, w0), c01 = DOT(c01, b, w1), c02 = DOT(c02, b, w2);                           \
			b = _mm512_set1_epi32(load32(a + (size_t)kp + 2 * q));                                         \
			c10 = DOT(c10, b, w0), c11 = DOT(c11, b, w1), c12 = DOT(c12, b, w2);                           \
			b = _mm512_set1_epi32(load32(a + 2 * (size_t)kp + 2 * q));                                     \
			c20 = DOT(c20, b, w0), c21 = DOT(c21, b, w1), c22 = DOT(c22, b, w2);                           \
			b = _mm512_set1_epi32(load32(a + 3 * (size_t)kp + 2 * q));                                     \
			c30 = DOT(c30, b, w0), c31 = DOT(c31, b, w1), c32 = DOT(c32, b, w2);                           \
			b = _mm512_set1_epi32(load32(a + 4 * (size_t)kp + 2 * q));                                     \
			c40 = DOT(c40, b, w0), c41 = DOT(c41, b, w1), c42 = DOT(c42, b, w2);                           \
			b = _mm512_set1_epi32(load32(a + 5 * (size_t)kp + 2 * q));                                     \
			c50 = DOT(c50, b, w0), c51 = DOT(c51, b, w1), c52 = DOT(c52, b, w2);                           \
		}                                                                                                      \
		acc[0][0] = c00, acc[0][1] = c01, acc[0][2] = c02, acc[1][0] = c10, acc[1][1] = c11;                   \
		acc[1][2] = c12, acc[2][0] = c20, acc[2][1] = c21, acc[2][2] = c22, acc[3][0] = c30;                   \
		acc[3][1] = c31, acc[3][2] = c32, acc[4][0] = c40, acc[4][1] = c41, acc[4][2] = c42;                   \
		acc[5][0] = c50, acc[5][1] = c51, acc[5][2] = c52;                                                     \
		for (int i = 0; i < rows; i++)                                                                         \
			for (int j = 0; j < 3 && 16 * j < cols; j++)                                                   \
				store16(out + i * out_stride + 16 * j, rq16(acc[i][j], rq, c + 16 * j),                \
					cols - 16 * j);                                                                \
	}

DEFINE_GEMM512(avx512, T512, MADD_ADD)
DEFINE_GEMM512(avx512vnni, T512VNNI, DPWSSD)

#define GD_ELEM int16_t
#define GD_PANELS(g) ((g)->w)
#define GD_PACK_ROWS vigil_q8_pack_rows__avx2
#define GD_MR MR
#define GD_NR NR
#define GD_NAME vigil_q8_conv_gemm__avx512
#define GD_TARGET T512
#define GD_MICRO(a, g, ...) micro_avx512(a, (g)->kp, __VA_ARGS__) /* int16 tiles: rows kp apart */
#include "kernels_q8_gemmdrv.h"
#define GD_ELEM int16_t
#define GD_PANELS(g) ((g)->w)
#define GD_PACK_ROWS vigil_q8_pack_rows__avx2
#define GD_MR MR
#define GD_NR NR
#define GD_NAME vigil_q8_conv_gemm__avx512vnni
#define GD_TARGET T512VNNI
#define GD_MICRO(a, g, ...) micro_avx512vnni(a, (g)->kp, __VA_ARGS__) /* int16 tiles: rows kp apart */
#include "kernels_q8_gemmdrv.h"

/* ---- depthwise ----------------------------------------------------------------------------------------------- */

/* The AVX2 kernel's packing (vigil_q8_dw_pack: taps paired, [pairs][cp][2] int16, the input offset folded into the
 * bias). 16 channels per zmm: the bytes of two taps interleaved per channel and widened to int16 pairs, one
 * vpmaddwd/vpdpwssd per pair of taps; the last channels through masked loads and stores. */
static inline T512 __m512i dw_pairs16(const uint8_t *x0, const uint8_t *x1, __mmask16 m, int sg)
{
	const __m128i a = _mm_maskz_loadu_epi8(m, x0), b = _mm_maskz_loadu_epi8(m, x1);
	const __m256i ab =
	    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(a, b)), _mm_unpackhi_epi8(a, b), 1);

	return sg ? _mm512_cvtepi8_epi16(ab) : _mm512_cvtepu8_epi16(ab);
}

#define DEFINE_DW512(SUFFIX, TARGET, DOT)                                                                              \
	static inline __attribute__((always_inline)) TARGET void dw_pixel_##SUFFIX(                                    \
	    const uint8_t *const *src, const struct vigil_q8_dw *d, int pairs, int sg, uint8_t *o)                     \
	{                                                                                                              \
		for (int c = 0; c < d->c; c += 16) {                                                                   \
			const int n = d->c - c < 16 ? d->c - c : 16;                                                   \
			const __mmask16 m = (__mmask16)((1u << n) - 1);                                                \
			const int16_t *w = d->w + (size_t)c * 2;                                                       \
			__m512i acc = _mm512_setzero_si512();                                                          \
                                                                                                                       \
			for (int p = 0; p < pairs; p++, w += (size_t)d->cp * 2)                                        \
				acc = DOT(acc, dw_pairs16(src[2 * p] + c, src[2 * p + 1] + c, m, sg),                  \
					  _mm512_load_si512(w));                                                       \
			store16(o + c, rq16(acc, &d->rq, c), n);                                                       \
		}                                                                                                      \
	}

DEFINE_DW512(avx512, T512, MADD_ADD)
DEFINE_DW512(avx512vnni, T512VNNI, DPWSSD)

#define DW_NAME vigil_q8_dwconv__avx512
#define DW_TARGET T512
#define DW_PIXEL dw_pixel_avx512
#include "kernels_q8_dwrows.h"

#define DW_NAME vigil_q8_dwconv__avx512vnni
#define DW_TARGET T512VNNI
#define DW_PIXEL dw_pixel_avx512vnni
#include "kernels_q8_dwrows.h"

#endif
