/* SPDX-License-Identifier: Apache-2.0
 * Reference quantized kernels: the specification the SIMD variants must match (see kernels_q8.h). The loops follow
 * TFLite's reference_ops so that every integer and every float operation happens in the same order. */
#include <math.h>
#include <string.h>

#include "kernels_q8.h"
static inline int32_t requant(int32_t acc, const struct vigil_q8_conv_args *a, int oc)
{
	if (a->fp32_scale)
		return vigil_q_requant_fp32(acc, a->fp32_scale[oc], a->output_offset, a->act_min, a->act_max);
	acc = vigil_q_mul(acc, a->multiplier[oc], a->shift[oc]) + a->output_offset;
	return acc < a->act_min ? a->act_min : acc > a->act_max ? a->act_max : acc;
}

void vigil_q_quantize_multiplier(double real, int32_t *multiplier, int *shift)
{
	double q;
	int64_t q_fixed;

	if (real == 0.0 || !isfinite(real)) {
		*multiplier = 0;
		*shift = 0;
		return;
	}
	q = frexp(real, shift);
	q_fixed = (int64_t)round(q * (double)(1LL << 31));
	if (q_fixed == (1LL << 31)) {
		q_fixed /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		q_fixed = 0;
	}
	if (*shift > 30) {
		*shift = 30;
		q_fixed = (1LL << 31) - 1;
	}
	*multiplier = (int32_t)q_fixed;
}

void vigil_q_act_range(int act, float scale, int32_t zero_point, int is_signed, int32_t *lo, int32_t *hi)
{
	const int32_t qmin = is_signed ? -128 : 0, qmax = is_signed ? 127 : 255;
#define QUANTIZE(f) (zero_point + (int32_t)roundf((f) / scale))
	*lo = qmin;
	*hi = qmax;
	if (act == 1) { /* RELU */
		*lo = QUANTIZE(0.0f) > qmin ? QUANTIZE(0.0f) : qmin;
	} else if (act == 3) { /* RELU6 */
		*lo = QUANTIZE(0.0f) > qmin ? QUANTIZE(0.0f) : qmin;
		*hi = QUANTIZE(6.0f) < qmax ? QUANTIZE(6.0f) : qmax;
	} else if (act == 2) { /* RELU_N1_TO_1 */
		*lo = QUANTIZE(-1.0f) > qmin ? QUANTIZE(-1.0f) : qmin;
		*hi = QUANTIZE(1.0f) < qmax ? QUANTIZE(1.0f) : qmax;
	}
#undef QUANTIZE
}

static inline int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* sum (w[c] + wo) * (x[c] + xo) over n, expanded as sum w*x + xo * sum w + wo * sum x + n * wo * xo (the same
 * int32 value) so that the compiler vectorises the three plain sums. */
#define DEFINE_DOT(NAME, T)                                                                                            \
	static inline int32_t NAME(const T *restrict w, const T *restrict x, int n, int32_t wo, int32_t xo)            \
	{                                                                                                              \
		int32_t wx = 0, sw = 0, sx = 0;                                                                        \
		for (int c = 0; c < n; c++) {                                                                          \
			wx += (int32_t)w[c] * (int32_t)x[c];                                                           \
			sw += w[c];                                                                                    \
			sx += x[c];                                                                                    \
		}                                                                                                      \
		return wx + xo * sw + wo * sx + n * wo * xo;                                                           \
	}

DEFINE_DOT(dot_u8, uint8_t)
DEFINE_DOT(dot_i8, int8_t)

#define DEFINE_CONV(NAME, T, DOT)                                                                                      \
	void NAME(const struct vigil_q8_conv_args *a)                                                                  \
	{                                                                                                              \
		const T *in = a->input, *w = a->weights;                                                               \
		T *out = a->output;                                                                                    \
		const int32_t wo = a->weights_offset, xo = a->input_offset;                                            \
		for (int oy = 0; oy < a->out_h; oy++)                                                                  \
			for (int ox = 0; ox < a->out_w; ox++)                                                          \
				for (int oc = 0; oc < a->out_c; oc++) {                                                \
					const int y0 = oy * a->stride_h - a->pad_top;                                  \
					const int x0 = ox * a->stride_w - a->pad_left;                                 \
					int32_t acc = 0;                                                               \
					for (int ky = 0; ky < a->kh; ky++) {                                           \
						const int y = y0 + ky * a->dil_h;                                      \
						if (y < 0 || y >= a->in_h)                                             \
							continue;                                                      \
						for (int kx = 0; kx < a->kw; kx++) {                                   \
							const int x = x0 + kx * a->dil_w;                              \
							if (x < 0 || x >= a->in_w)                                     \
								continue;                                              \
							acc += DOT(w + (((size_t)oc * a->kh + ky) * a->kw + kx) *      \
									   a->in_c,                                    \
								   in + ((size_t)y * a->in_w + x) * a->in_c, a->in_c,  \
								   wo, xo);                                            \
						}                                                                      \
					}                                                                              \
					if (a->bias)                                                                   \
						acc += a->bias[oc];                                                    \
					acc = requant(acc, a, oc);                                                     \
					out[((size_t)oy * a->out_w + ox) * a->out_c + oc] =                            \
					    (T)clamp32(acc, a->act_min, a->act_max);                                   \
				}                                                                                      \
	}

DEFINE_CONV(vigil_u8_conv2d__c, uint8_t, dot_u8)
DEFINE_CONV(vigil_i8_conv2d__c, int8_t, dot_i8)

#define DEFINE_DWCONV(NAME, T)                                                                                         \
	void NAME(const struct vigil_q8_conv_args *a)                                                                  \
	{                                                                                                              \
		const T *in = a->input, *w = a->weights;                                                               \
		T *out = a->output;                                                                                    \
		for (int oy = 0; oy < a->out_h; oy++)                                                                  \
			for (int ox = 0; ox < a->out_w; ox++)                                                          \
				for (int oc = 0; oc < a->out_c; oc++) {                                                \
					const int ic = oc / a->depth_multiplier;                                       \
					const int y0 = oy * a->stride_h - a->pad_top;                                  \
					const int x0 = ox * a->stride_w - a->pad_left;                                 \
					int32_t acc = 0;                                                               \
					for (int ky = 0; ky < a->kh; ky++) {                                           \
						const int y = y0 + ky * a->dil_h;                                      \
						if (y < 0 || y >= a->in_h)                                             \
							continue;                                                      \
						for (int kx = 0; kx < a->kw; kx++) {                                   \
							const int x = x0 + kx * a->dil_w;                              \
							if (x < 0 || x >= a->in_w)                                     \
								continue;                                              \
							acc +=                                                         \
							    ((int32_t)w[((size_t)ky * a->kw + kx) * a->out_c + oc] +   \
							     a->weights_offset) *                                      \
							    ((int32_t)in[((size_t)y * a->in_w + x) * a->in_c + ic] +   \
							     a->input_offset);                                         \
						}                                                                      \
					}                                                                              \
					if (a->bias)                                                                   \
						acc += a->bias[oc];                                                    \
					acc = requant(acc, a, oc);                                                     \
					out[((size_t)oy * a->out_w + ox) * a->out_c + oc] =                            \
					    (T)clamp32(acc, a->act_min, a->act_max);                                   \
				}                                                                                      \
	}

DEFINE_DWCONV(vigil_u8_dwconv2d__c, uint8_t)
DEFINE_DWCONV(vigil_i8_dwconv2d__c, int8_t)

#define DEFINE_POOL(NAME, T, AVG)                                                                                      \
	void NAME(const struct vigil_q8_pool_args *a)                                                                  \
	{                                                                                                              \
		const T *in = a->input;                                                                                \
		T *out = a->output;                                                                                    \
		for (int oy = 0; oy < a->out_h; oy++)                                                                  \
			for (int ox = 0; ox < a->out_w; ox++) {                                                        \
				const int y0 = oy * a->stride_h - a->pad_top, x0 = ox * a->stride_w - a->pad_left;     \
				const int fy0 = y0 < 0 ? -y0 : 0, fx0 = x0 < 0 ? -x0 : 0;                              \
				const int fy1 = a->fh < a->in_h - y0 ? a->fh : a->in_h - y0;                           \
				const int fx1 = a->fw < a->in_w - x0 ? a->fw : a->in_w - x0;                           \
				for (int c = 0; c < a->c; c++) {                                                       \
					int32_t acc = AVG ? 0 : -129, count = 0;                                       \
					for (int fy = fy0; fy < fy1; fy++)                                             \
						for (int fx = fx0; fx < fx1; fx++) {                                   \
							const int32_t v =                                              \
							    in[((size_t)(y0 + fy) * a->in_w + (x0 + fx)) * a->c + c];  \
							if (AVG)                                                       \
								acc += v;                                              \
							else if (v > acc)                                              \
								acc = v;                                               \
							count++;                                                       \
						}                                                                      \
					if (AVG && count > 0)                                                          \
						acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count; \
					out[((size_t)oy * a->out_w + ox) * a->c + c] =                                 \
					    (T)clamp32(acc, a->act_min, a->act_max);                                   \
				}                                                                                      \
			}                                                                                              \
	}

DEFINE_POOL(vigil_u8_maxpool2d__c, uint8_t, 0)
DEFINE_POOL(vigil_i8_maxpool2d__c, int8_t, 0)
DEFINE_POOL(vigil_u8_avgpool2d__c, uint8_t, 1)
DEFINE_POOL(vigil_i8_avgpool2d__c, int8_t, 1)

void vigil_q8_add_prepare(float s1, int32_t z1, float s2, int32_t z2, float so, int32_t zo, int32_t act_min,
			  int32_t act_max, struct vigil_q8_add_params *p)
{
	const double twice_max = 2 * (double)(s1 > s2 ? s1 : s2);

	p->in1_offset = -z1;
	p->in2_offset = -z2;
	p->out_offset = zo;
	p->left_shift = 20;
	vigil_q_quantize_multiplier((double)s1 / twice_max, &p->in1_mult, &p->in1_shift);
	vigil_q_quantize_multiplier((double)s2 / twice_max, &p->in2_mult, &p->in2_shift);
	vigil_q_quantize_multiplier(twice_max / ((double)(1 << p->left_shift) * (double)so), &p->out_mult,
				    &p->out_shift);
	p->act_min = act_min;
	p->act_max = act_max;
}

#define DEFINE_ADD(NAME, T)                                                                                            \
	void NAME(const T *a, const T *b, T *out, size_t n, const struct vigil_q8_add_params *p)                       \
	{                                                                                                              \
		for (size_t i = 0; i < n; i++) {                                                                       \
			const int32_t v1 = (p->in1_offset + a[i]) * (1 << p->left_shift);                              \
			const int32_t v2 = (p->in2_offset + b[i]) * (1 << p->left_shift);                              \
			const int32_t sum =                                                                            \
			    vigil_q_mul(v1, p->in1_mult, p->in1_shift) + vigil_q_mul(v2, p->in2_mult, p->in2_shift);   \
			out[i] = (T)clamp32(vigil_q_mul(sum, p->out_mult, p->out_shift) + p->out_offset, p->act_min,   \
					    p->act_max);                                                               \
		}                                                                                                      \
	}

DEFINE_ADD(vigil_u8_add__c, uint8_t)
DEFINE_ADD(vigil_i8_add__c, int8_t)

#define DEFINE_CONCAT(NAME, T, LO, HI)                                                                                 \
	void NAME(const struct vigil_q8_concat_input *in, int n, size_t outer, float out_scale,                        \
		  int32_t out_zero_point, T *out)                                                                      \
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
					for (size_t j = 0; j < in[i].block; j++) {                                     \
						const float prod = (float)src[j] * scale;                              \
						const int32_t v = (int32_t)roundf(prod + bias) + out_zero_point;       \
						out[j] = (T)clamp32(v, LO, HI);                                        \
					}                                                                              \
				}                                                                                      \
				out += in[i].block;                                                                    \
			}                                                                                              \
	}

DEFINE_CONCAT(vigil_u8_concat__c, uint8_t, 0, 255)
DEFINE_CONCAT(vigil_i8_concat__c, int8_t, -128, 127)

void vigil_q8_logistic_table(float in_scale, int32_t in_zero_point, float out_scale, int32_t out_zero_point,
			     int is_signed, uint8_t table[256])
{
	const float inverse = 1.0f / out_scale;
	const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;

	for (int32_t v = lo; v <= hi; v++) {
		const float x = in_scale * (float)(v - in_zero_point);
		const float y = 1.0f / (1.0f + expf(-x));
		const float r = roundf(y * inverse);
		const int32_t q = clamp32((int32_t)(r + (float)out_zero_point), lo, hi);

		table[(uint8_t)v] = (uint8_t)q;
	}
}

void vigil_q8_lookup__c(const uint8_t *in, uint8_t *out, size_t n, const uint8_t table[256])
{
	for (size_t i = 0; i < n; i++)
		out[i] = table[in[i]];
}

#define DEFINE_QUANTIZE(NAME, T, LO, HI)                                                                               \
	void NAME(const float *in, T *out, size_t n, float scale, int32_t zero_point)                                  \
	{                                                                                                              \
		for (size_t i = 0; i < n; i++) {                                                                       \
			const float r = roundf(in[i] / scale);                                                         \
			int32_t v;                                                                                     \
			if (!(r > -2147483648.0f && r < 2147483520.0f)) /* NaN and beyond int32: saturate */           \
				v = r > 0 ? HI : LO;                                                                   \
			else                                                                                           \
				v = clamp32((int32_t)r + zero_point, LO, HI);                                          \
			out[i] = (T)v;                                                                                 \
		}                                                                                                      \
	}

DEFINE_QUANTIZE(vigil_u8_quantize__c, uint8_t, 0, 255)
DEFINE_QUANTIZE(vigil_i8_quantize__c, int8_t, -128, 127)

void vigil_q8_requantize__c(const void *in, void *out, size_t n, const struct vigil_q8_requant_params *p)
{
	const int32_t lo = p->out_signed ? -128 : 0, hi = p->out_signed ? 127 : 255;

	for (size_t i = 0; i < n; i++) {
		const int32_t x = p->in_signed ? ((const int8_t *)in)[i] : ((const uint8_t *)in)[i];
		const int32_t v =
		    clamp32(vigil_q_mul(x - p->in_zero_point, p->multiplier, p->shift) + p->out_zero_point, lo, hi);

		if (p->out_signed)
			((int8_t *)out)[i] = (int8_t)v;
		else
			((uint8_t *)out)[i] = (uint8_t)v;
	}
}

void vigil_u8_dequantize__c(const uint8_t *in, float *out, size_t n, float scale, int32_t zero_point)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (float)((double)scale * (double)((int32_t)in[i] - zero_point));
}

void vigil_i8_dequantize__c(const int8_t *in, float *out, size_t n, float scale, int32_t zero_point)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (float)((double)scale * (double)((int32_t)in[i] - zero_point));
}

/* Depthwise uint8 convolution with depth multiplier 1, channels innermost so that the compiler vectorises over
 * them: the same int32 accumulators as vigil_u8_dwconv2d__c (sums in the same order per channel), so the same
 * output. @p acc holds out_c int32 of scratch. */
void vigil_u8_dwconv2d_m1__c(const struct vigil_q8_conv_args *a, int32_t *restrict acc)
{
	const uint8_t *in = a->input, *w = a->weights;
	uint8_t *out = a->output;
	const int c = a->out_c;
	const int32_t wo = a->weights_offset, xo = a->input_offset;

	for (int oy = 0; oy < a->out_h; oy++)
		for (int ox = 0; ox < a->out_w; ox++) {
			const int y0 = oy * a->stride_h - a->pad_top, x0 = ox * a->stride_w - a->pad_left;
			uint8_t *o = out + ((size_t)oy * a->out_w + ox) * c;

			for (int k = 0; k < c; k++)
				acc[k] = 0;
			for (int ky = 0; ky < a->kh; ky++) {
				const int y = y0 + ky * a->dil_h;

				if (y < 0 || y >= a->in_h)
					continue;
				for (int kx = 0; kx < a->kw; kx++) {
					const int x = x0 + kx * a->dil_w;
					const uint8_t *restrict ip, *restrict wp;

					if (x < 0 || x >= a->in_w)
						continue;
					ip = in + ((size_t)y * a->in_w + x) * c;
					wp = w + ((size_t)ky * a->kw + kx) * c;
					for (int k = 0; k < c; k++)
						acc[k] += ((int32_t)wp[k] + wo) * ((int32_t)ip[k] + xo);
				}
			}
			for (int k = 0; k < c; k++) {
				int32_t v = acc[k] + (a->bias ? a->bias[k] : 0);

				v = requant(v, a, k);
				o[k] = (uint8_t)clamp32(v, a->act_min, a->act_max);
			}
		}
}
