/* SPDX-License-Identifier: Apache-2.0
 * AVX2 quantized kernels. They compute the same int32 accumulators as the reference (kernels_q8_c.c), exactly:
 * every product (x - zx) * (w - zw) is formed on vpmaddwd from int16 operands (|x - zx|, |w - zw| <= 255, so a pair
 * sums to at most 130050: no saturation, unlike vpmaddubsw), and integer sums do not depend on their order. The
 * requantization is the reference formula in vector form (float: cvtdq2ps, mulps, clamp, cvtps2dq rounding to
 * nearest-even as lrintf does; fixed point: TFLite's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT on
 * 64-bit products), so the output is bit-identical (tests/test_quant.c checks it on random shapes and the model). */
#include "kernels_q8.h"

#include "kernels.h"

#if VIGIL_Q8_HAVE_AVX2
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MR VIGIL_Q8_GEMM_MR /* output pixels per micro-tile */
#define NR VIGIL_Q8_GEMM_NR /* output channels per micro-tile (three int32 vectors) */
/* no fma: the float requantization must stay a separate multiply and add/clamp, as in the reference */
#define AVX2 __attribute__((target("avx2")))

/* ---- requantization ------------------------------------------------------------------------------------------ */

/* vigil_q_srdhm on 8 lanes: |a| * |b| as an unsigned 64-bit product, the nudge 2^30 (2^30 - 1 for a negative
 * product, which makes the truncating division round half away from zero), >> 31, the sign put back. */
static inline AVX2 __m256i srdhm8(__m256i a, __m256i b)
{
	const __m256i neg = _mm256_srai_epi32(_mm256_xor_si256(a, b), 31);
	const __m256i ua = _mm256_abs_epi32(a), ub = _mm256_abs_epi32(b);
	const __m256i one = _mm256_set1_epi64x(1), nudge = _mm256_set1_epi64x(1 << 30);
	__m256i pe = _mm256_mul_epu32(ua, ub);
	__m256i po = _mm256_mul_epu32(_mm256_srli_epi64(ua, 32), _mm256_srli_epi64(ub, 32));
	__m256i r;

	pe = _mm256_sub_epi64(_mm256_add_epi64(pe, nudge), _mm256_and_si256(neg, one));
	po = _mm256_sub_epi64(_mm256_add_epi64(po, nudge), _mm256_and_si256(_mm256_srli_epi64(neg, 32), one));
	pe = _mm256_srli_epi64(pe, 31);
	po = _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32);
	r = _mm256_blend_epi32(pe, po, 0xAA);
	r = _mm256_sub_epi32(_mm256_xor_si256(r, neg), neg);
	/* INT32_MIN * INT32_MIN saturates to INT32_MAX */
	return _mm256_blendv_epi8(r, _mm256_set1_epi32(INT32_MAX),
				  _mm256_and_si256(_mm256_cmpeq_epi32(a, _mm256_set1_epi32(INT32_MIN)),
						   _mm256_cmpeq_epi32(b, _mm256_set1_epi32(INT32_MIN))));
}

/* vigil_q_rdbypot with a per-lane exponent */
static inline AVX2 __m256i rdbypot8(__m256i x, __m256i e)
{
	const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), e), _mm256_set1_epi32(1));
	const __m256i rem = _mm256_and_si256(x, mask);
	const __m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(_mm256_setzero_si256(), x));

	return _mm256_sub_epi32(_mm256_srav_epi32(x, e), _mm256_cmpgt_epi32(rem, thr));
}

/* acc (without bias) of channels c..c+7 -> clamped output values as int32 */
static inline AVX2 __m256i rq8(__m256i acc, const struct vigil_q8_requant_vec *rq, int c)
{
	const __m256i zp = _mm256_set1_epi32(rq->output_offset);
	__m256i r;

	acc = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i *)(rq->bias + c)));
	if (rq->fscale) {
		__m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(rq->fscale + c));

		f = _mm256_max_ps(f, _mm256_set1_ps((float)(rq->act_min - rq->output_offset)));
		f = _mm256_min_ps(f, _mm256_set1_ps((float)(rq->act_max - rq->output_offset)));
		return _mm256_add_epi32(_mm256_cvtps_epi32(f), zp); /* within act_min..act_max already */
	} else {
		r = _mm256_sllv_epi32(acc, _mm256_loadu_si256((const __m256i *)(rq->lshift + c)));
		r = srdhm8(r, _mm256_loadu_si256((const __m256i *)(rq->mult + c)));
		r = _mm256_add_epi32(rdbypot8(r, _mm256_loadu_si256((const __m256i *)(rq->rshift + c))), zp);
	}
	r = _mm256_max_epi32(r, _mm256_set1_epi32(rq->act_min));
	return _mm256_min_epi32(r, _mm256_set1_epi32(rq->act_max));
}

/* 8 in-range int32 -> 8 bytes */
static inline AVX2 __m128i pack8(__m256i v, int is_signed)
{
	const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	return is_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
}

/* 16 in-range int32 -> 16 bytes */
static inline AVX2 __m128i pack16(__m256i v0, __m256i v1, int is_signed)
{
	const __m128i w0 = _mm_packs_epi32(_mm256_castsi256_si128(v0), _mm256_extracti128_si256(v0, 1));
	const __m128i w1 = _mm_packs_epi32(_mm256_castsi256_si128(v1), _mm256_extracti128_si256(v1, 1));

	return is_signed ? _mm_packs_epi16(w0, w1) : _mm_packus_epi16(w0, w1);
}

AVX2 void vigil_q8_requant__avx2(const int32_t *acc, int c0, int n, const struct vigil_q8_requant_vec *rq, void *out)
{
	uint8_t *o = out;

	for (int i = 0; i < n; i += 8) {
		int32_t tmp[8] = { 0 };
		uint8_t bytes[8];

		memcpy(tmp, acc + i, (size_t)(n - i < 8 ? n - i : 8) * sizeof(int32_t));
		_mm_storel_epi64((__m128i *)bytes,
				 pack8(rq8(_mm256_loadu_si256((const __m256i *)tmp), rq, c0 + i), rq->is_signed));
		memcpy(o + i, bytes, (size_t)(n - i < 8 ? n - i : 8));
	}
}

/* ---- GEMM for convolutions ----------------------------------------------------------------------------------- */

/* dst[i] = src[i] + xo as int16 */
static inline AVX2 void widen(const void *src, int16_t *dst, int n, int32_t xo, int is_signed)
{
	const __m256i off = _mm256_set1_epi16((int16_t)xo);
	const uint8_t *s = src;
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		const __m128i v = _mm_loadu_si128((const __m128i *)(s + i));

		_mm256_storeu_si256(
		    (__m256i *)(dst + i),
		    _mm256_add_epi16(is_signed ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), off));
	}
	if (i + 8 <= n) {
		const __m128i v = _mm_loadl_epi64((const __m128i *)(s + i));

		_mm_storeu_si128((__m128i *)(dst + i),
				 _mm_add_epi16(is_signed ? _mm_cvtepi8_epi16(v) : _mm_cvtepu8_epi16(v),
					       _mm256_castsi256_si128(off)));
		i += 8;
	}
	for (; i < n; i++)
		dst[i] = (int16_t)((is_signed ? (int32_t)(int8_t)s[i] : (int32_t)s[i]) + xo);
}

#define PR_NAME vigil_q8_pack_rows__avx2
#define PR_TARGET AVX2
#define PR_WIDEN widen
#define PR_ELEM int16_t
#define PR_FILL(d, n, xo) memset(d, 0, (n) * sizeof(int16_t))
#define PR_ROW_END(row, g, sg) (void)0
#include "kernels_q8_rows.h"

#define BCAST(i) _mm256_set1_epi32(load32(a + (size_t)(i)*kp + 2 * q))
#define STEP(i, c0, c1, c2)                                                                                            \
	do {                                                                                                           \
		const __m256i b = BCAST(i);                                                                            \
		c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(b, w0));                                                   \
		c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(b, w1));                                                   \
		c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(b, w2));                                                   \
	} while (0)

static inline int32_t load32(const int16_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* MR x NR block (4 pixels x 24 channels: 12 accumulators, 3 weight vectors, 1 broadcast = the 16 ymm registers;
 * per k pair 12 vpmaddwd, 12 vpaddd, 4 broadcasts): rows of @p a (stride kp int16), panel @p w ([kp/2][24][2]);
 * stores the @p rows x @p cols valid outputs */
static inline AVX2 void micro(const int16_t *a, int kp, const int16_t *w, const struct vigil_q8_requant_vec *rq, int c,
			      int rows, int cols, uint8_t *out, size_t out_stride)
{
	__m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
	__m256i a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
	__m256i acc[MR][3];

	for (int q = 0; q < kp / 2; q++) {
		const __m256i w0 = _mm256_load_si256((const __m256i *)(w + (size_t)q * 48));
		const __m256i w1 = _mm256_load_si256((const __m256i *)(w + (size_t)q * 48 + 16));
		const __m256i w2 = _mm256_load_si256((const __m256i *)(w + (size_t)q * 48 + 32));

		STEP(0, a00, a01, a02);
		STEP(1, a10, a11, a12);
		STEP(2, a20, a21, a22);
		STEP(3, a30, a31, a32);
	}
	acc[0][0] = a00, acc[0][1] = a01, acc[0][2] = a02, acc[1][0] = a10, acc[1][1] = a11, acc[1][2] = a12;
	acc[2][0] = a20, acc[2][1] = a21, acc[2][2] = a22, acc[3][0] = a30, acc[3][1] = a31, acc[3][2] = a32;
	for (int i = 0; i < rows; i++) {
		const __m128i v0 = pack16(rq8(acc[i][0], rq, c), rq8(acc[i][1], rq, c + 8), rq->is_signed);
		const __m128i v1 = pack8(rq8(acc[i][2], rq, c + 16), rq->is_signed);

		if (cols == NR) {
			_mm_storeu_si128((__m128i *)(out + i * out_stride), v0);
			_mm_storel_epi64((__m128i *)(out + i * out_stride + 16), v1);
		} else {
			uint8_t tmp[32];

			_mm_storeu_si128((__m128i *)tmp, v0);
			_mm_storel_epi64((__m128i *)(tmp + 16), v1);
			memcpy(out + i * out_stride, tmp, (size_t)cols);
		}
	}
}

#define GD_NAME vigil_q8_conv_gemm__avx2
#define GD_TARGET AVX2
#define GD_ELEM int16_t
#define GD_PANELS(g) ((g)->w)
#define GD_PACK_ROWS vigil_q8_pack_rows__avx2
#define GD_MICRO(a, g, ...) micro(a, (g)->kp, __VA_ARGS__) /* int16 tiles: rows kp apart */
#define GD_MR MR
#define GD_NR NR
#include "kernels_q8_gemmdrv.h"

/* ---- depthwise ----------------------------------------------------------------------------------------------- */

static inline AVX2 __m256i widen16(__m128i v, int sg)
{
	return sg ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v);
}

/* 16 channels from c of one output pixel: taps paired as int16 (x_t0, x_t1) . (w_t0, w_t1) on vpmaddwd */
static inline __attribute__((always_inline)) AVX2 void dw16(const uint8_t *const *src, const struct vigil_q8_dw *d,
							    int pairs, int c, int sg, uint8_t *o)
{
	__m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
	const int16_t *w = d->w + (size_t)c * 2;

	for (int p = 0; p < pairs; p++, w += (size_t)d->cp * 2) {
		const __m128i x0 = _mm_loadu_si128((const __m128i *)(src[2 * p] + c));
		const __m128i x1 = _mm_loadu_si128((const __m128i *)(src[2 * p + 1] + c));

		acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(widen16(_mm_unpacklo_epi8(x0, x1), sg),
								_mm256_load_si256((const __m256i *)w)));
		acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(widen16(_mm_unpackhi_epi8(x0, x1), sg),
								_mm256_load_si256((const __m256i *)(w + 16))));
	}
	_mm_storeu_si128((__m128i *)(o + c), pack16(rq8(acc0, &d->rq, c), rq8(acc1, &d->rq, c + 8), sg));
}

/* 8 channels from c */
static inline __attribute__((always_inline)) AVX2 void dw8(const uint8_t *const *src, const struct vigil_q8_dw *d,
							   int pairs, int c, int sg, uint8_t *o)
{
	__m256i acc = _mm256_setzero_si256();
	const int16_t *w = d->w + (size_t)c * 2;

	for (int p = 0; p < pairs; p++, w += (size_t)d->cp * 2) {
		const __m128i xi = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(src[2 * p] + c)),
						     _mm_loadl_epi64((const __m128i *)(src[2 * p + 1] + c)));

		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(widen16(xi, sg), _mm256_load_si256((const __m256i *)w)));
	}
	_mm_storel_epi64((__m128i *)(o + c), pack8(rq8(acc, &d->rq, c), sg));
}

#define DW_NAME vigil_q8_dwconv__avx2
#define DW_TARGET AVX2
#define DW_PIXEL dw_pixel
#define DW_BLOCK16 dw16
#define DW_BLOCK8 dw8
#define DW_REQUANT vigil_q8_requant__avx2
#include "kernels_q8_dwrows.h"

/* ---- depthwise on the float kernels --------------------------------------------------------------------------- */

/* rq8 of exact integer float accumulators (bias included): the fp32 requantization multiplies them as they are */
static inline AVX2 __m256i rq8f(__m256 acc, const struct vigil_q8_requant_vec *rq, int c)
{
	if (rq->fscale) {
		__m256 f = _mm256_mul_ps(acc, _mm256_loadu_ps(rq->fscale + c));

		f = _mm256_max_ps(f, _mm256_set1_ps((float)(rq->act_min - rq->output_offset)));
		f = _mm256_min_ps(f, _mm256_set1_ps((float)(rq->act_max - rq->output_offset)));
		return _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(rq->output_offset));
	}
	return rq8(_mm256_cvtps_epi32(acc), rq, c);
}

/* rows of uint8/int8 -> x + xo as float */
static AVX2 void dwf_widen(const void *src, float *dst, size_t n, int32_t xo, int sg)
{
	const uint8_t *s = src;
	const __m256i off = _mm256_set1_epi32(xo);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		const __m128i v = _mm_loadl_epi64((const __m128i *)(s + i));

		_mm256_storeu_ps(dst + i, _mm256_cvtepi32_ps(_mm256_add_epi32(
					      sg ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v), off)));
	}
	for (; i < n; i++)
		dst[i] = (float)((sg ? (int32_t)(int8_t)s[i] : (int32_t)s[i]) + xo);
}

AVX2 void vigil_q8_dwconv_f32__avx2(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d, void *scratch,
				    int y0, int y1)
{
	const size_t c = (size_t)d->c;
	const int sg = d->rq.is_signed;
	float *fin = scratch;
	float *fout = fin + vigil_q8_dwf_in_floats(a, d);

	for (int b0 = y0; b0 < y1; b0 += d->band) {
		const int b1 = b0 + d->band < y1 ? b0 + d->band : y1;
		const int iy0 = b0 * a->stride_h - a->pad_top;
		const int iy1 = (b1 - 1) * a->stride_h - a->pad_top + (a->kh - 1) * a->dil_h;
		const int r0 = iy0 > 0 ? iy0 : 0, r1 = iy1 < a->in_h - 1 ? iy1 : a->in_h - 1;
		const size_t pixels = (size_t)(b1 - b0) * a->out_w;
		uint8_t *out = (uint8_t *)a->output + (size_t)b0 * a->out_w * c;
		struct vigil_dwconv2d_args f = {
			.input = fin,
			.in_h = r1 >= r0 ? r1 - r0 + 1 : 0,
			.in_w = a->in_w,
			.in_c = (int)c,
			.weights = d->w,
			.bias = d->bias,
			.output = fout,
			.out_h = b1 - b0,
			.out_w = a->out_w,
			.out_c = (int)c,
			.depth_multiplier = 1,
			.kh = a->kh,
			.kw = a->kw,
			.stride_h = a->stride_h,
			.stride_w = a->stride_w,
			.dil_h = a->dil_h,
			.dil_w = a->dil_w,
			.pad_top = r0 - iy0,
			.pad_left = a->pad_left,
			.act_min = -INFINITY,
			.act_max = INFINITY,
			.packed = d->packed,
		};

		if (r1 >= r0)
			dwf_widen((const uint8_t *)a->input + (size_t)r0 * a->in_w * c, fin,
				  (size_t)(r1 - r0 + 1) * a->in_w * c, a->input_offset, sg);
		d->k->dwconv2d(&f);
		/* the accumulators are exact integers: the conversion is exact, then the reference's requantization */
		for (size_t p = 0; p < pixels; p++) {
			const float *acc = fout + p * c;
			uint8_t *o = out + p * c;
			size_t ch = 0;

			for (; ch + 16 <= c; ch += 16)
				_mm_storeu_si128((__m128i *)(o + ch),
						 pack16(rq8f(_mm256_loadu_ps(acc + ch), &d->rq, (int)ch),
							rq8f(_mm256_loadu_ps(acc + ch + 8), &d->rq, (int)ch + 8), sg));
			if (ch + 8 <= c) {
				_mm_storel_epi64((__m128i *)(o + ch),
						 pack8(rq8f(_mm256_loadu_ps(acc + ch), &d->rq, (int)ch), sg));
				ch += 8;
			}
			if (ch < c) {
				int32_t tail[8];

				for (size_t i = ch; i < c; i++)
					tail[i - ch] = (int32_t)acc[i];
				vigil_q8_requant__avx2(tail, (int)ch, (int)(c - ch), &d->rq, o + ch);
			}
		}
	}
}

/* ---- concatenation with rescaling ------------------------------------------------------------------------------ */

/* roundf (half away from zero) of 8 floats, exactly: trunc, plus one where the dropped fraction is >= 0.5 */
static inline AVX2 __m256i round_away8(__m256 v)
{
	const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
	const __m256 av = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
	const __m256 t = _mm256_round_ps(av, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	const __m256 up = _mm256_cmp_ps(_mm256_sub_ps(av, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	const __m256 r = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_set1_ps(1.0f)));

	return _mm256_cvttps_epi32(_mm256_or_ps(r, sign));
}

#define DEFINE_CONCAT_AVX2(NAME, T, LO, HI, CVT, PACK)                                                                 \
	AVX2 void NAME(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,                   \
		       int32_t out_zero_point, T *out)                                                                 \
	{                                                                                                              \
		const float inverse = 1.0f / out_scale;                                                                \
		for (size_t k = 0; k < outer; k++)                                                                     \
			for (int i = 0; i < n; i++) {                                                                  \
				const T *src = (const T *)in[i].data + k * in[i].block;                                \
				if (in[i].zero_point == out_zero_point && in[i].scale == out_scale) {                  \
					memcpy(out, src, in[i].block * sizeof(T));                                     \
				} else {                                                                               \
					const float scale = in[i].scale * inverse;                                     \
					const float bias = (float)-in[i].zero_point * scale;                           \
					const __m256 vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(bias);            \
					const __m256i zp = _mm256_set1_epi32(out_zero_point);                          \
					size_t j = 0;                                                                  \
					for (; j + 8 <= in[i].block; j += 8) {                                         \
						const __m256 prod =                                                    \
						    _mm256_mul_ps(_mm256_cvtepi32_ps(CVT(                              \
								      _mm_loadl_epi64((const __m128i *)(src + j)))),   \
								  vs);                                                 \
						__m256i v =                                                            \
						    _mm256_add_epi32(round_away8(_mm256_add_ps(prod, vb)), zp);        \
						v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(LO)),       \
								     _mm256_set1_epi32(HI));                           \
						_mm_storel_epi64((__m128i *)(out + j), pack8(v, PACK));                \
					}                                                                              \
					for (; j < in[i].block; j++) {                                                 \
						const float prod = (float)src[j] * scale;                              \
						const int32_t v = (int32_t)roundf(prod + bias) + out_zero_point;       \
						out[j] = (T)(v < LO ? LO : v > HI ? HI : v);                           \
					}                                                                              \
				}                                                                                      \
				out += in[i].block;                                                                    \
			}                                                                                              \
	}

DEFINE_CONCAT_AVX2(vigil_u8_concat__avx2, uint8_t, 0, 255, _mm256_cvtepu8_epi32, 0)
DEFINE_CONCAT_AVX2(vigil_i8_concat__avx2, int8_t, -128, 127, _mm256_cvtepi8_epi32, 1)

#endif
