/* SPDX-License-Identifier: Apache-2.0
 * AVX2 quantized kernels. They compute the same int32 accumulators as the reference (kernels_q8_c.c) and
 * requantize with the same function, so their output is bit-identical (tests/test_quant.c checks it). */
#include "kernels_q8.h"

#if VIGIL_Q8_HAVE_AVX2
#include <immintrin.h>
#include <string.h>

/* Pointwise (1x1, stride 1, no padding) uint8 convolution as a GEMM: out[p][n] = requant(sum_k (x + xo)(w + wo) +
 * bias) with sum (x + xo)(w + wo) = sum x*w + xo*sum w + wo*sum x + K*wo*xo. sum x*w runs on vpmaddwd over int16
 * pairs: weights packed [N/8][ceil(K/2)][8][2] (zero padded), the pair (x[k], x[k+1]) broadcast. */

size_t vigil_u8_conv1x1_pack_size(int k, int n)
{
	return (size_t)((n + 7) / 8) * (size_t)((k + 1) / 2) * 16 * sizeof(int16_t);
}

void vigil_u8_conv1x1_pack(const uint8_t *w, int k, int n, int16_t *packed, int32_t *wsum)
{
	const int kp = (k + 1) / 2;

	memset(packed, 0, vigil_u8_conv1x1_pack_size(k, n));
	for (int o = 0; o < n; o++) {
		int32_t s = 0;

		for (int c = 0; c < k; c++) {
			packed[(((size_t)(o / 8) * kp + c / 2) * 8 + o % 8) * 2 + c % 2] = w[(size_t)o * k + c];
			s += w[(size_t)o * k + c];
		}
		wsum[o] = s;
	}
}

static inline int32_t pair(const uint8_t *x, int c, int k)
{
	/* (x[c], x[c + 1]) as two int16 in one int32; past the end the weight is 0, repeat x[c] */
	const int32_t lo = x[c], hi = c + 1 < k ? x[c + 1] : x[c];

	return lo | hi << 16;
}

__attribute__((target("avx2"))) void vigil_u8_conv1x1__avx2(const struct vigil_q8_conv_args *a, const int16_t *packed,
							    const int32_t *wsum)
{
	const uint8_t *in = a->input;
	uint8_t *out = a->output;
	const int k = a->in_c, n = a->out_c, kp = (k + 1) / 2, pixels = a->out_h * a->out_w;
	const int32_t wo = a->weights_offset, xo = a->input_offset;

	for (int p0 = 0; p0 < pixels; p0 += 4) {
		const int np = pixels - p0 < 4 ? pixels - p0 : 4;
		const uint8_t *x[4];
		int32_t xsum[4] = { 0, 0, 0, 0 };

		for (int i = 0; i < 4; i++) {
			x[i] = in + (size_t)(p0 + (i < np ? i : 0)) * k;
			for (int c = 0; c < k; c++)
				xsum[i] += x[i][c];
		}
		for (int nb = 0; nb < (n + 7) / 8; nb++) {
			const int16_t *wp = packed + (size_t)nb * kp * 16;
			__m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
			int32_t res[4][8];

			for (int c = 0; c < kp; c++) {
				const __m256i wv = _mm256_load_si256((const __m256i *)(wp + (size_t)c * 16));

				acc0 = _mm256_add_epi32(acc0,
							_mm256_madd_epi16(_mm256_set1_epi32(pair(x[0], 2 * c, k)), wv));
				acc1 = _mm256_add_epi32(acc1,
							_mm256_madd_epi16(_mm256_set1_epi32(pair(x[1], 2 * c, k)), wv));
				acc2 = _mm256_add_epi32(acc2,
							_mm256_madd_epi16(_mm256_set1_epi32(pair(x[2], 2 * c, k)), wv));
				acc3 = _mm256_add_epi32(acc3,
							_mm256_madd_epi16(_mm256_set1_epi32(pair(x[3], 2 * c, k)), wv));
			}
			_mm256_storeu_si256((__m256i *)res[0], acc0);
			_mm256_storeu_si256((__m256i *)res[1], acc1);
			_mm256_storeu_si256((__m256i *)res[2], acc2);
			_mm256_storeu_si256((__m256i *)res[3], acc3);
			for (int i = 0; i < np; i++)
				for (int j = 0; j < 8 && nb * 8 + j < n; j++) {
					const int o = nb * 8 + j;
					int32_t acc = res[i][j] + xo * wsum[o] + wo * xsum[i] + k * wo * xo;

					if (a->bias)
						acc += a->bias[o];
					if (a->fp32_scale)
						acc = vigil_q_requant_fp32(acc, a->fp32_scale[o], a->output_offset,
									   a->act_min, a->act_max);
					else
						acc =
						    vigil_q_mul(acc, a->multiplier[o], a->shift[o]) + a->output_offset;
					acc = acc < a->act_min ? a->act_min : acc > a->act_max ? a->act_max : acc;
					out[(size_t)(p0 + i) * n + o] = (uint8_t)acc;
				}
		}
	}
}

/* Any other uint8 convolution: the kh*kw*in_c inputs of each output pixel gathered into a row of @p col (padding
 * holds the input zero point, which contributes 0 as in the reference), then the pointwise kernel over K columns. */
__attribute__((target("avx2"))) void vigil_u8_conv_im2col__avx2(const struct vigil_q8_conv_args *a, uint8_t *col,
								const int16_t *packed, const int32_t *wsum)
{
	const uint8_t *in = a->input;
	const size_t ic = (size_t)a->in_c;
	const uint8_t zp = (uint8_t)-a->input_offset;
	struct vigil_q8_conv_args b = *a;
	uint8_t *dst = col;

	for (int oy = 0; oy < a->out_h; oy++)
		for (int ox = 0; ox < a->out_w; ox++)
			for (int ky = 0; ky < a->kh; ky++)
				for (int kx = 0; kx < a->kw; kx++, dst += ic) {
					const int y = oy * a->stride_h - a->pad_top + ky * a->dil_h;
					const int x = ox * a->stride_w - a->pad_left + kx * a->dil_w;

					if (y < 0 || y >= a->in_h || x < 0 || x >= a->in_w)
						memset(dst, zp, ic);
					else
						memcpy(dst, in + ((size_t)y * a->in_w + x) * ic, ic);
				}
	b.input = col;
	b.in_h = a->out_h;
	b.in_w = a->out_w;
	b.in_c = a->kh * a->kw * a->in_c;
	vigil_u8_conv1x1__avx2(&b, packed, wsum);
}

#endif
