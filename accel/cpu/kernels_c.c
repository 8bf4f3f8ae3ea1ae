/* SPDX-License-Identifier: Apache-2.0
 * Reference C kernels: the specification every optimised variant is tested against. Loops are written
 * so the compiler can vectorise the innermost one over contiguous channels without reassociating sums. */
#include "kernels.h"

#include <string.h>

#define ROW_END(a) ((a)->row_end > 0 ? (a)->row_end : (a)->out_h)

static inline float clampf(float v, float lo, float hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

void vigil_f32_conv2d__c(const struct vigil_conv2d_args *a)
{
	const int oc = a->out_c, ic = a->in_c;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *restrict out = a->output + ((size_t)oy * a->out_w + ox) * oc;

			if (a->bias)
				memcpy(out, a->bias, (size_t)oc * sizeof(float));
			else
				memset(out, 0, (size_t)oc * sizeof(float));
			for (int ky = 0; ky < a->kh; ky++) {
				const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

				if (iy < 0 || iy >= a->in_h)
					continue;
				for (int kx = 0; kx < a->kw; kx++) {
					const int ix = ox * a->stride_w - a->pad_left + kx * a->dil_w;

					if (ix < 0 || ix >= a->in_w)
						continue;
					const float *in = a->input + ((size_t)iy * a->in_w + ix) * ic;
					const float *w = a->weights + ((size_t)ky * a->kw + kx) * ic * oc;

					for (int c = 0; c < ic; c++) {
						const float v = in[c];
						const float *restrict wr = w + (size_t)c * oc;

						for (int o = 0; o < oc; o++)
							out[o] += v * wr[o];
					}
				}
			}
			if (a->residual) {
				const float *r = a->residual + ((size_t)oy * a->out_w + ox) * a->residual_c;

				for (int o = 0; o < a->residual_c; o++)
					out[o] += r[o];
			}
			for (int o = 0; o < oc; o++)
				out[o] = clampf(out[o], a->act_min, a->act_max);
		}
	}
}

size_t vigil_f32_conv2d_packed_size(int out_c, int kh, int kw, int in_c, int oc_block)
{
	const size_t ocp = oc_block > 0 ? (size_t)(out_c + oc_block - 1) / oc_block * oc_block : (size_t)out_c;

	return ocp * kh * kw * in_c;
}

void vigil_f32_conv2d_pack(const float *ohwi, int out_c, int kh, int kw, int in_c, int oc_block, float *packed)
{
	const int b = oc_block > 0 ? oc_block : out_c;

	memset(packed, 0, vigil_f32_conv2d_packed_size(out_c, kh, kw, in_c, oc_block) * sizeof(float));
	/* [oc / b][kh][kw][in_c][b]; with b = out_c that is plain HWIO */
	for (int o = 0; o < out_c; o++)
		for (int y = 0; y < kh; y++)
			for (int x = 0; x < kw; x++)
				for (int c = 0; c < in_c; c++)
					packed[((((size_t)(o / b) * kh + y) * kw + x) * in_c + c) * b + o % b] =
					    ohwi[(((size_t)o * kh + y) * kw + x) * in_c + c];
}

size_t vigil_f32_dwconv2d_packed_size(int c, int kh, int kw, int c_block)
{
	return c_block > 0 ? (size_t)((c + c_block - 1) / c_block) * kh * kw * c_block : 0;
}

void vigil_f32_dwconv2d_pack(const float *hwc, int c, int kh, int kw, int c_block, float *packed)
{
	const int nb = (c + c_block - 1) / c_block, taps = kh * kw;

	for (int b = 0; b < nb; b++) {
		const int start = b == nb - 1 && c > c_block ? c - c_block : b * c_block;

		for (int t = 0; t < taps; t++)
			for (int l = 0; l < c_block; l++)
				packed[((size_t)b * taps + t) * c_block + l] =
				    start + l < c ? hwc[(size_t)t * c + start + l] : 0.0f;
	}
}

void vigil_f32_dwconv2d__c(const struct vigil_dwconv2d_args *a)
{
	const int oc = a->out_c, ic = a->in_c, m = a->depth_multiplier;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *restrict out = a->output + ((size_t)oy * a->out_w + ox) * oc;

			if (a->bias)
				memcpy(out, a->bias, (size_t)oc * sizeof(float));
			else
				memset(out, 0, (size_t)oc * sizeof(float));
			for (int ky = 0; ky < a->kh; ky++) {
				const int iy = oy * a->stride_h - a->pad_top + ky * a->dil_h;

				if (iy < 0 || iy >= a->in_h)
					continue;
				for (int kx = 0; kx < a->kw; kx++) {
					const int ix = ox * a->stride_w - a->pad_left + kx * a->dil_w;

					if (ix < 0 || ix >= a->in_w)
						continue;
					const float *in = a->input + ((size_t)iy * a->in_w + ix) * ic;
					const float *restrict w = a->weights + ((size_t)ky * a->kw + kx) * oc;

					if (m == 1) {
						for (int c = 0; c < oc; c++)
							out[c] += in[c] * w[c];
					} else {
						for (int c = 0; c < oc; c++)
							out[c] += in[c / m] * w[c];
					}
				}
			}
			for (int o = 0; o < oc; o++)
				out[o] = clampf(out[o], a->act_min, a->act_max);
		}
	}
}

void vigil_f32_maxpool2d__c(const struct vigil_pool_args *a)
{
	const int c = a->c;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		for (int ox = 0; ox < a->out_w; ox++) {
			float *restrict out = a->output + ((size_t)oy * a->out_w + ox) * c;
			int first = 1;

			for (int ky = 0; ky < a->fh; ky++) {
				const int iy = oy * a->stride_h - a->pad_top + ky;

				if (iy < 0 || iy >= a->in_h)
					continue;
				for (int kx = 0; kx < a->fw; kx++) {
					const int ix = ox * a->stride_w - a->pad_left + kx;

					if (ix < 0 || ix >= a->in_w)
						continue;
					const float *in = a->input + ((size_t)iy * a->in_w + ix) * c;

					if (first) {
						memcpy(out, in, (size_t)c * sizeof(float));
						first = 0;
					} else {
						for (int k = 0; k < c; k++)
							out[k] = in[k] > out[k] ? in[k] : out[k];
					}
				}
			}
			/* A window entirely in the padding has no input: TFLite yields the lowest float,
			 * then the clamp; a zero is what a well-formed model never observes. */
			if (first)
				memset(out, 0, (size_t)c * sizeof(float));
			for (int k = 0; k < c; k++)
				out[k] = clampf(out[k], a->act_min, a->act_max);
		}
	}
}

void vigil_f32_add__c(const float *a, const float *b, float *out, size_t n, float act_min, float act_max)
{
	for (size_t i = 0; i < n; i++)
		out[i] = clampf(a[i] + b[i], act_min, act_max);
}

void vigil_f32_clamp__c(const float *in, float *out, size_t n, float act_min, float act_max)
{
	for (size_t i = 0; i < n; i++)
		out[i] = clampf(in[i], act_min, act_max);
}

void vigil_f32_pad4d__c(const float *in, const int in_dims[4], const int before[4], float *out, const int out_dims[4])
{
	const size_t out_count = (size_t)out_dims[0] * out_dims[1] * out_dims[2] * out_dims[3];
	const size_t row = (size_t)in_dims[3];

	memset(out, 0, out_count * sizeof(float));
	for (int n = 0; n < in_dims[0]; n++)
		for (int h = 0; h < in_dims[1]; h++)
			for (int w = 0; w < in_dims[2]; w++) {
				const float *src = in + (((size_t)n * in_dims[1] + h) * in_dims[2] + w) * row;
				float *dst = out +
					     ((((size_t)n + before[0]) * out_dims[1] + h + before[1]) * out_dims[2] +
					      w + before[2]) *
						 out_dims[3] +
					     before[3];

				memcpy(dst, src, row * sizeof(float));
			}
}

void vigil_f32_concat__c(const float *const *inputs, const size_t *block, int n, size_t outer, float *out)
{
	for (size_t o = 0; o < outer; o++) {
		for (int i = 0; i < n; i++) {
			memcpy(out, inputs[i] + o * block[i], block[i] * sizeof(float));
			out += block[i];
		}
	}
}

/* Source coordinate and taps for one output index, TFLite's RESIZE_BILINEAR reference. */
void vigil_f32_resize_taps(int out_i, int in_size, int out_size, int align_corners, int half_pixel, int *lo, int *hi,
			   float *frac)
{
	const float scale = (align_corners && out_size > 1) ? (float)(in_size - 1) / (float)(out_size - 1)
							    : (float)in_size / (float)out_size;
	const float offset = half_pixel ? 0.5f : 0.0f;
	float src = ((float)out_i + offset) * scale - offset;
	int l;

	if (half_pixel && src < 0.0f)
		src = 0.0f;
	l = (int)src;
	if (src < (float)l) /* floor for negatives */
		l--;
	*lo = l < 0 ? 0 : l;
	*hi = l + 1 < in_size ? l + 1 : in_size - 1;
	*frac = src - (float)l;
}

void vigil_f32_resize_bilinear__c(const struct vigil_resize_args *a)
{
	const int c = a->c;

	for (int oy = a->row_begin; oy < ROW_END(a); oy++) {
		int y0, y1;
		float fy;

		vigil_f32_resize_taps(oy, a->in_h, a->out_h, a->align_corners, a->half_pixel_centers, &y0, &y1, &fy);
		for (int ox = 0; ox < a->out_w; ox++) {
			int x0, x1;
			float fx;

			vigil_f32_resize_taps(ox, a->in_w, a->out_w, a->align_corners, a->half_pixel_centers, &x0, &x1,
					      &fx);
			const float *p00 = a->input + ((size_t)y0 * a->in_w + x0) * c;
			const float *p01 = a->input + ((size_t)y0 * a->in_w + x1) * c;
			const float *p10 = a->input + ((size_t)y1 * a->in_w + x0) * c;
			const float *p11 = a->input + ((size_t)y1 * a->in_w + x1) * c;
			float *out = a->output + ((size_t)oy * a->out_w + ox) * c;

			for (int k = 0; k < c; k++)
				out[k] = p00[k] * (1 - fy) * (1 - fx) + p01[k] * (1 - fy) * fx +
					 p10[k] * fy * (1 - fx) + p11[k] * fy * fx;
		}
	}
}

const struct vigil_f32_kernels vigil_f32_kernels__c = {
	.isa = "c",
	.conv2d_oc_block = 0,
	.conv2d = vigil_f32_conv2d__c,
	.dwconv2d = vigil_f32_dwconv2d__c,
	.maxpool2d = vigil_f32_maxpool2d__c,
	.add = vigil_f32_add__c,
	.clamp = vigil_f32_clamp__c,
	.resize_bilinear = vigil_f32_resize_bilinear__c,
};
