/* SPDX-License-Identifier: Apache-2.0
 * Reference kernels against definitions written independently here (direct sums over an explicitly
 * padded input, TFLite's formulas), over random data and odd shapes. The seed is printed on failure. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "testutil.h"

static float *rand_floats(uint64_t *st, size_t n)
{
	float *v = malloc(n * sizeof(float));

	ck_assert(v != NULL);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)((double)(tu_rand(st) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
	return v;
}

/* input value at (y, x, c) with zero outside */
static float at(const float *in, int h, int w, int c, int y, int x, int k)
{
	if (y < 0 || y >= h || x < 0 || x >= w)
		return 0.0f;
	return in[((size_t)y * w + x) * c + k];
}

static int same_out(int in, int stride)
{
	return (in + stride - 1) / stride;
}

static int same_pad(int in, int out, int k, int stride, int dil)
{
	int total = (out - 1) * stride + (k - 1) * dil + 1 - in;

	return total > 0 ? total / 2 : 0;
}

START_TEST(test_conv2d_random)
{
	uint64_t seed = 0x1234 + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 20; iter++) {
		const int ih = 1 + tu_rand(&st) % 13, iw = 1 + tu_rand(&st) % 13, ic = 1 + tu_rand(&st) % 7;
		const int oc = 1 + tu_rand(&st) % 9, k = 1 + 2 * (tu_rand(&st) % 3), stride = 1 + tu_rand(&st) % 2;
		const int dil = 1 + (tu_rand(&st) % 4 == 0), relu = tu_rand(&st) % 2;
		const int oh = same_out(ih, stride), ow = same_out(iw, stride);
		/* a fused residual on the first res_c channels (0: none) */
		const int res_c = tu_rand(&st) % 2 ? 1 + (int)(tu_rand(&st) % (unsigned)oc) : 0;
		float *res = rand_floats(&st, (size_t)oh * ow * (res_c ? res_c : 1));
		float *in = rand_floats(&st, (size_t)ih * iw * ic);
		float *w_ohwi = rand_floats(&st, (size_t)oc * k * k * ic), *bias = rand_floats(&st, oc);
		float *w_hwio = malloc(sizeof(float) * oc * k * k * ic), *out = malloc(sizeof(float) * oh * ow * oc);
		struct vigil_conv2d_args a = { in,
					       ih,
					       iw,
					       ic,
					       w_hwio,
					       bias,
					       out,
					       oh,
					       ow,
					       oc,
					       k,
					       k,
					       stride,
					       stride,
					       dil,
					       dil,
					       0,
					       0,
					       relu ? 0.0f : -INFINITY,
					       INFINITY,
					       res_c ? res : NULL,
					       res_c,
					       0,
					       0 };

		for (int o = 0; o < oc; o++)
			for (int y = 0; y < k; y++)
				for (int x = 0; x < k; x++)
					for (int c = 0; c < ic; c++)
						w_hwio[((y * k + x) * ic + c) * oc + o] =
						    w_ohwi[((o * k + y) * k + x) * ic + c];
		a.pad_top = same_pad(ih, oh, k, stride, dil);
		a.pad_left = same_pad(iw, ow, k, stride, dil);
		vigil_f32_conv2d__c(&a);
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int o = 0; o < oc; o++) {
					double ref = bias[o];

					for (int y = 0; y < k; y++)
						for (int x = 0; x < k; x++)
							for (int c = 0; c < ic; c++)
								ref +=
								    (double)at(in, ih, iw, ic,
									       oy * stride - a.pad_top + y * dil,
									       ox * stride - a.pad_left + x * dil, c) *
								    w_ohwi[((o * k + y) * k + x) * ic + c];
					if (o < res_c)
						ref += res[(oy * ow + ox) * res_c + o];
					if (relu && ref < 0)
						ref = 0;
					ck_assert_msg(
					    fabs(out[(oy * ow + ox) * oc + o] - ref) < 1e-4,
					    "seed %llu iter %d: conv %dx%dx%d k%d s%d d%d at (%d,%d,%d): %g vs %g",
					    (unsigned long long)seed, iter, ih, iw, ic, k, stride, dil, oy, ox, o,
					    out[(oy * ow + ox) * oc + o], ref);
				}
		free(res);
		free(in);
		free(w_ohwi);
		free(bias);
		free(w_hwio);
		free(out);
	}
}
END_TEST

START_TEST(test_dwconv2d_random)
{
	uint64_t seed = 0x5678 + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 20; iter++) {
		const int ih = 1 + tu_rand(&st) % 17, iw = 1 + tu_rand(&st) % 17, ic = 1 + tu_rand(&st) % 11;
		const int m = 1 + (tu_rand(&st) % 3 == 0), k = 3 + 2 * (tu_rand(&st) % 2),
			  stride = 1 + tu_rand(&st) % 2;
		const int oc = ic * m, oh = same_out(ih, stride), ow = same_out(iw, stride);
		float *in = rand_floats(&st, (size_t)ih * iw * ic), *w = rand_floats(&st, (size_t)k * k * oc);
		float *out = malloc(sizeof(float) * oh * ow * oc);
		struct vigil_dwconv2d_args a = {
			in, ih,     iw,     ic, w, NULL, out, oh,        ow,       oc, m, k,
			k,  stride, stride, 1,  1, 0,    0,   -INFINITY, INFINITY, 0,  0, NULL
		};

		a.pad_top = same_pad(ih, oh, k, stride, 1);
		a.pad_left = same_pad(iw, ow, k, stride, 1);
		vigil_f32_dwconv2d__c(&a);
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int o = 0; o < oc; o++) {
					double ref = 0;

					for (int y = 0; y < k; y++)
						for (int x = 0; x < k; x++)
							ref += (double)at(in, ih, iw, ic, oy * stride - a.pad_top + y,
									  ox * stride - a.pad_left + x, o / m) *
							       w[(y * k + x) * oc + o];
					ck_assert_msg(fabs(out[(oy * ow + ox) * oc + o] - ref) < 1e-4,
						      "seed %llu iter %d: dwconv at (%d,%d,%d): %g vs %g",
						      (unsigned long long)seed, iter, oy, ox, o,
						      out[(oy * ow + ox) * oc + o], ref);
				}
		free(in);
		free(w);
		free(out);
	}
}
END_TEST

START_TEST(test_maxpool)
{
	/* 3x3 input, one channel, 2x2 window, stride 2, SAME: the padded corner windows ignore padding */
	const float in[9] = { -5, -4, -3, -2, -1, -6, -7, -8, -9 };
	float out[4];
	struct vigil_pool_args a = { in, 3, 3, 1, out, 2, 2, 2, 2, 2, 2, 0, 0, -INFINITY, INFINITY, 0, 0 };

	vigil_f32_maxpool2d__c(&a);
	ck_assert_float_eq(out[0], -1);
	ck_assert_float_eq(out[1], -3);
	ck_assert_float_eq(out[2], -7);
	ck_assert_float_eq(out[3], -9);
	a.act_min = -2;
	vigil_f32_maxpool2d__c(&a);
	ck_assert_float_eq(out[3], -2);
}
END_TEST

/* TFLite's resize reference: scaled position, floor/ceil taps clamped to the input, weights from the
 * unclamped lower tap. */
static void tflite_taps(int o, int in, int out, int align, int half, int *lo, int *hi, float *frac)
{
	float scale = (align && out > 1) ? (float)(in - 1) / (out - 1) : (float)in / out;
	float v = half ? ((float)o + 0.5f) * scale - 0.5f : (float)o * scale;
	float f = floorf(v);

	*lo = (int)f < 0 ? 0 : (int)f;
	*hi = (int)ceilf(v) < in - 1 ? (int)ceilf(v) : in - 1;
	*frac = v - (float)*lo;
}

START_TEST(test_resize_bilinear)
{
	uint64_t st = 99;
	const int cases[][4] = { { 3, 5, 6, 10 }, { 4, 4, 8, 8 }, { 5, 3, 2, 7 }, { 1, 1, 3, 3 }, { 6, 6, 12, 12 } };

	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++)
		for (int flags = 0; flags < 3; flags++) {
			const int ih = cases[t][0], iw = cases[t][1], oh = cases[t][2], ow = cases[t][3], c = 3;
			const int align = flags == 1, half = flags == 2;
			float *in = rand_floats(&st, (size_t)ih * iw * c), *out = malloc(sizeof(float) * oh * ow * c);
			struct vigil_resize_args a = { in, ih, iw, c, out, oh, ow, align, half, 0, 0 };

			vigil_f32_resize_bilinear__c(&a);
			for (int y = 0; y < oh; y++)
				for (int x = 0; x < ow; x++) {
					int y0, y1, x0, x1;
					float fy, fx;

					tflite_taps(y, ih, oh, align, half, &y0, &y1, &fy);
					tflite_taps(x, iw, ow, align, half, &x0, &x1, &fx);
					for (int k = 0; k < c; k++) {
						float ref = at(in, ih, iw, c, y0, x0, k) * (1 - fy) * (1 - fx) +
							    at(in, ih, iw, c, y1, x0, k) * fy * (1 - fx) +
							    at(in, ih, iw, c, y0, x1, k) * (1 - fy) * fx +
							    at(in, ih, iw, c, y1, x1, k) * fy * fx;

						ck_assert_msg(
						    fabsf(out[(y * ow + x) * c + k] - ref) < 1e-5,
						    "resize %dx%d->%dx%d align %d half %d at (%d,%d): %g vs %g", ih, iw,
						    oh, ow, align, half, y, x, out[(y * ow + x) * c + k], ref);
					}
				}
			free(in);
			free(out);
		}
	/* a hand-checked value: 2 -> 4 with half-pixel centres samples -0.25 (clamped), 0.25, 0.75, 1.25 */
	const float in2[2] = { 0, 1 };
	float out4[4];
	struct vigil_resize_args b = { in2, 1, 2, 1, out4, 1, 4, 0, 1, 0, 0 };

	vigil_f32_resize_bilinear__c(&b);
	ck_assert_float_eq_tol(out4[0], 0.0f, 1e-7);
	ck_assert_float_eq_tol(out4[1], 0.25f, 1e-7);
	ck_assert_float_eq_tol(out4[2], 0.75f, 1e-7);
	ck_assert_float_eq_tol(out4[3], 1.0f, 1e-7);
}
END_TEST

START_TEST(test_pad_concat_add)
{
	const float in[6] = { 1, 2, 3, 4, 5, 6 }; /* [1,1,2,3] */
	const int in_dims[4] = { 1, 1, 2, 3 }, before[4] = { 0, 1, 0, 2 }, out_dims[4] = { 1, 2, 2, 6 };
	float out[24], cat[12], sum[6];
	const float *ins[2] = { in, in };
	const size_t block[2] = { 3, 3 };

	vigil_f32_pad4d__c(in, in_dims, before, out, out_dims);
	for (int i = 0; i < 12; i++)
		ck_assert_float_eq(out[i], 0); /* the padded first row */
	ck_assert_float_eq(out[12], 0);
	ck_assert_float_eq(out[14], 1);
	ck_assert_float_eq(out[16], 3);
	ck_assert_float_eq(out[17], 0);
	ck_assert_float_eq(out[20], 4);
	ck_assert_float_eq(out[23], 0);

	vigil_f32_concat__c(ins, block, 2, 2, cat); /* along the last axis of [2,3] */
	const float want[12] = { 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6 };
	for (int i = 0; i < 12; i++)
		ck_assert_float_eq(cat[i], want[i]);

	vigil_f32_add__c(in, in, sum, 6, 0.0f, 7.0f);
	ck_assert_float_eq(sum[0], 2);
	ck_assert_float_eq(sum[3], 7);
	vigil_f32_clamp__c(in, sum, 6, 2.0f, 5.0f);
	ck_assert_float_eq(sum[0], 2);
	ck_assert_float_eq(sum[5], 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kernels");
	TCase *tc = tcase_create("reference");

	tcase_add_loop_test(tc, test_conv2d_random, 0, 4);
	tcase_add_loop_test(tc, test_dwconv2d_random, 0, 4);
	tcase_add_test(tc, test_maxpool);
	tcase_add_test(tc, test_resize_bilinear);
	tcase_add_test(tc, test_pad_concat_add);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
