/* SPDX-License-Identifier: Apache-2.0
 * Every optimised kernel set this CPU can run (vigil_cpu_kernel_sets) against the C reference, on the same
 * random data: odd shapes and channel counts (1..N, rarely a multiple of the vector width), misaligned
 * pointers, split row ranges, guard zones around every output, extreme values (large, denormal, +-inf).
 * The seed is printed; VIGIL_TEST_SEED=<n> reproduces a run. With VIGIL_FORCE_C=1 only the reference is
 * left, and the suite checks that the dispatcher honours it.
 *
 * Tolerances: conv2d and dwconv2d sum in another order and with fused multiply-adds, so each output may
 * differ by 4e-5 x the sum of the magnitudes of its terms (bias and residual included; computed by the
 * reference on absolute values); max pooling, add and clamp are exact. NaN must match NaN, inf the same inf. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "testutil.h"

#define GUARD 16 /* floats of sentinel before and after every output */
#define SENTINEL -1234.5f
#define CONV_TOL 4e-5

static uint64_t seed;

#if VIGIL_TEST_VL16EMU
extern const struct vigil_f32_kernels vigil_f32_kernels__vl16emu;
#endif

/* The dispatcher's sets, plus (on AVX2 machines, unless VIGIL_FORCE_C) the 16-lane emulation of the AVX-512
 * code paths. */
static int kernel_sets(const struct vigil_f32_kernels *const **out)
{
	static const struct vigil_f32_kernels *all[16];
	static struct vigil_f32_kernels emu;
	const struct vigil_f32_kernels *const *sets;
	int n = vigil_cpu_kernel_sets(&sets), k = 0;

	/* the reference itself is what the others are compared with */
	for (int i = 0; i < n && k < 15; i++)
		if (sets[i] != &vigil_f32_kernels__c)
			all[k++] = sets[i];
#if VIGIL_TEST_VL16EMU
	if (vigil_cpu_features() & VIGIL_CPU_AVX2) {
		emu = vigil_f32_kernels__vl16emu;
		if (!emu.resize_bilinear)
			emu.resize_bilinear = vigil_f32_resize_bilinear__c;
		all[k++] = &emu;
	}
#else
	(void)emu;
#endif
	*out = all;
	return k;
}

enum values { V_NORMAL, V_LARGE, V_DENORMAL, V_INF, V_COUNT };

static float rand_value(uint64_t *st, enum values kind)
{
	const float u = (float)((double)(tu_rand(st) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
	const unsigned r = (unsigned)(tu_rand(st) % 64);

	switch (kind) {
	case V_LARGE:
		return r == 0 ? u * 1e15f : u;
	case V_DENORMAL:
		return r < 8 ? u * 1e-39f : u;
	case V_INF:
		return r == 0 ? (u < 0 ? -INFINITY : INFINITY) : u;
	default:
		return u;
	}
}

/* n floats at a deliberately misaligned address (1..3 floats past a 64-byte boundary when `mis`),
 * inside an allocation that tests free with buf_free(). */
static float *buf_alloc(size_t n, int mis)
{
	float *base = aligned_alloc(64, ((n + 2 * GUARD + 20) * sizeof(float) + 63) / 64 * 64);

	ck_assert(base != NULL);
	for (size_t i = 0; i < n + 2 * GUARD + 20; i++)
		base[i] = SENTINEL;
	base[0] = (float)mis; /* remembered for buf_free: the data starts at base + 16 + GUARD + mis */
	return base + 16 + GUARD + mis;
}

static void buf_free(float *p)
{
	for (int mis = 0; mis < 4; mis++) {
		float *base = p - 16 - GUARD - mis;

		if (base[0] == (float)mis && ((uintptr_t)base & 63) == 0) {
			free(base);
			return;
		}
	}
	ck_abort_msg("buf_free: not a test buffer");
}

static float *rand_buf(uint64_t *st, size_t n, enum values kind, int mis)
{
	float *p = buf_alloc(n, mis);

	for (size_t i = 0; i < n; i++)
		p[i] = rand_value(st, kind);
	return p;
}

static void check_guards(const float *p, size_t n, const char *what)
{
	for (int i = 1; i <= GUARD; i++) {
		ck_assert_msg(p[-i] == SENTINEL, "seed %llu: %s wrote %d floats before its output",
			      (unsigned long long)seed, what, i);
		ck_assert_msg(p[n + i - 1] == SENTINEL, "seed %llu: %s wrote past its output (+%d)",
			      (unsigned long long)seed, what, i);
	}
}

/* got within tol * mag of want (mag NULL: exact) */
static void compare(const char *isa, const char *what, const char *shape, const float *got, const float *want,
		    const float *mag, double tol, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const float g = got[i], w = want[i];
		int ok;

		if (isnan(w))
			ok = isnan(g);
		else if (isinf(w) || !mag)
			ok = g == w || (isnan(g) && isnan(w));
		else
			ok = fabs((double)g - (double)w) <= tol * (double)mag[i] + 1e-30;
		ck_assert_msg(ok, "seed %llu: %s %s %s: element %zu is %.9g, the reference gives %.9g (magnitude %g)",
			      (unsigned long long)seed, isa, what, shape, i, g, w, mag ? mag[i] : 0.0f);
	}
}

static float *abs_copy(const float *p, size_t n)
{
	float *q = buf_alloc(n, 0);

	for (size_t i = 0; i < n; i++)
		q[i] = fabsf(p[i]);
	return q;
}

static int same_pad(int in, int out, int k, int stride, int dil)
{
	int total = (out - 1) * stride + (k - 1) * dil + 1 - in;

	return total > 0 ? total / 2 : 0;
}

static void random_act(uint64_t *st, float *lo, float *hi)
{
	switch (tu_rand(st) % 3) {
	case 0:
		*lo = -INFINITY;
		*hi = INFINITY;
		break;
	case 1:
		*lo = 0.0f;
		*hi = INFINITY;
		break;
	default:
		*lo = -0.5f;
		*hi = 0.75f;
		break;
	}
}

/* rows of the output in one call, or in two calls split at a random row (as the thread pool does) */
static void random_split(uint64_t *st, int out_h, int *split)
{
	*split = tu_rand(st) % 2 ? (int)(tu_rand(st) % (unsigned)(out_h + 1)) : -1;
}

START_TEST(test_conv2d)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = kernel_sets(&sets);
	uint64_t st = seed + 1000 * (uint64_t)_i;

	for (int iter = 0; iter < 40 && n_sets > 0; iter++) {
		const enum values kind = (enum values)(iter % V_COUNT);
		const int k = (int[]){ 1, 1, 3, 5, 2 }[tu_rand(&st) % 5], stride = 1 + tu_rand(&st) % 2;
		const int dil = tu_rand(&st) % 6 == 0 ? 2 : 1, same = tu_rand(&st) % 4 != 0;
		const int ih = 1 + tu_rand(&st) % 19, iw = 1 + tu_rand(&st) % 23;
		const int ic = 1 + tu_rand(&st) % 40, oc = 1 + tu_rand(&st) % (iter % 4 == 0 ? 100 : 41);
		const int eff = (k - 1) * dil + 1;
		const int oh = same ? (ih + stride - 1) / stride : (ih - eff) / stride + 1;
		const int ow = same ? (iw + stride - 1) / stride : (iw - eff) / stride + 1;
		const int has_res = tu_rand(&st) % 2, res_c = 1 + tu_rand(&st) % oc, has_bias = tu_rand(&st) % 4 != 0;
		char shape[160];

		if (oh < 1 || ow < 1)
			continue;
		const size_t n_in = (size_t)ih * iw * ic, n_w = (size_t)oc * k * k * ic, n_out = (size_t)oh * ow * oc;
		float *in = rand_buf(&st, n_in, kind, tu_rand(&st) % 4);
		float *w = rand_buf(&st, n_w, kind == V_INF ? V_NORMAL : kind, 0);
		float *bias = rand_buf(&st, oc, V_NORMAL, tu_rand(&st) % 4);
		float *res = rand_buf(&st, (size_t)oh * ow * res_c, kind == V_INF ? V_NORMAL : kind, tu_rand(&st) % 4);
		float *want = buf_alloc(n_out, 0), *mag = buf_alloc(n_out, 0);
		float *ain = abs_copy(in, n_in), *aw = abs_copy(w, n_w), *abias = abs_copy(bias, oc);
		float *ares = abs_copy(res, (size_t)oh * ow * res_c);
		struct vigil_conv2d_args a = { 0 };
		float *packed_ref = malloc(vigil_f32_conv2d_packed_size(oc, k, k, ic, 0) * sizeof(float));
		float *packed_abs = malloc(vigil_f32_conv2d_packed_size(oc, k, k, ic, 0) * sizeof(float));
		int split;

		snprintf(shape, sizeof(shape), "%dx%dx%d -> %dx%dx%d k%d s%d d%d %s res %d bias %d values %d", ih, iw,
			 ic, oh, ow, oc, k, stride, dil, same ? "SAME" : "VALID", has_res ? res_c : 0, has_bias,
			 (int)kind);
		a.in_h = ih;
		a.in_w = iw;
		a.in_c = ic;
		a.out_h = oh;
		a.out_w = ow;
		a.out_c = oc;
		a.kh = a.kw = k;
		a.stride_h = a.stride_w = stride;
		a.dil_h = a.dil_w = dil;
		a.pad_top = same ? same_pad(ih, oh, k, stride, dil) : 0;
		a.pad_left = same ? same_pad(iw, ow, k, stride, dil) : 0;
		a.residual_c = res_c;
		random_act(&st, &a.act_min, &a.act_max);

		/* magnitudes: the reference on absolute values, no clamp */
		vigil_f32_conv2d_pack(aw, oc, k, k, ic, 0, packed_abs);
		{
			struct vigil_conv2d_args m = a;

			m.input = ain;
			m.weights = packed_abs;
			m.bias = has_bias ? abias : NULL;
			m.residual = has_res ? ares : NULL;
			m.output = mag;
			m.act_min = -INFINITY;
			m.act_max = INFINITY;
			vigil_f32_conv2d__c(&m);
		}
		vigil_f32_conv2d_pack(w, oc, k, k, ic, 0, packed_ref);
		a.input = in;
		a.bias = has_bias ? bias : NULL;
		a.residual = has_res ? res : NULL;
		a.weights = packed_ref;
		a.output = want;
		vigil_f32_conv2d__c(&a);
		check_guards(want, n_out, "conv2d__c");

		for (int s = 0; s < n_sets; s++) {
			const struct vigil_f32_kernels *ks = sets[s];
			float *packed =
			    malloc(vigil_f32_conv2d_packed_size(oc, k, k, ic, ks->conv2d_oc_block) * sizeof(float));
			float *got = buf_alloc(n_out, tu_rand(&st) % 4);
			struct vigil_conv2d_args b = a;

			vigil_f32_conv2d_pack(w, oc, k, k, ic, ks->conv2d_oc_block, packed);
			b.weights = packed;
			b.output = got;
			random_split(&st, oh, &split);
			if (split < 0) {
				ks->conv2d(&b);
			} else {
				b.row_begin = 0;
				b.row_end = split;
				if (split > 0)
					ks->conv2d(&b);
				b.row_begin = split;
				b.row_end = oh;
				if (split < oh)
					ks->conv2d(&b);
			}
			check_guards(got, n_out, ks->isa);
			compare(ks->isa, "conv2d", shape, got, want, mag, CONV_TOL, n_out);
			buf_free(got);
			free(packed);
		}
		free(packed_abs);
		free(packed_ref);
		buf_free(ares);
		buf_free(abias);
		buf_free(aw);
		buf_free(ain);
		buf_free(mag);
		buf_free(want);
		buf_free(res);
		buf_free(bias);
		buf_free(w);
		buf_free(in);
	}
}
END_TEST

START_TEST(test_dwconv2d)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = kernel_sets(&sets);
	uint64_t st = seed + 2000 * (uint64_t)_i;

	for (int iter = 0; iter < 60 && n_sets > 0; iter++) {
		const enum values kind = (enum values)(iter % V_COUNT);
		const int k = (int[]){ 3, 3, 5, 5, 1, 2, 7 }[tu_rand(&st) % 7], stride = 1 + tu_rand(&st) % 2;
		const int dil = tu_rand(&st) % 6 == 0 ? 2 : 1, m = tu_rand(&st) % 8 == 0 ? 2 : 1;
		const int ih = 1 + tu_rand(&st) % 25, iw = 1 + tu_rand(&st) % 25;
		/* every third shape has fewer channels than a vector of the widest ISA (masked blocks) */
		const int ic = 1 + tu_rand(&st) % (iter % 3 == 0 ? 20 : 70);
		const int oc = ic * m, oh = (ih + stride - 1) / stride, ow = (iw + stride - 1) / stride;
		const int has_bias = tu_rand(&st) % 4 != 0;
		const size_t n_in = (size_t)ih * iw * ic, n_w = (size_t)k * k * oc, n_out = (size_t)oh * ow * oc;
		float *in = rand_buf(&st, n_in, kind, tu_rand(&st) % 4);
		float *w = rand_buf(&st, n_w, kind == V_INF ? V_NORMAL : kind, tu_rand(&st) % 4);
		float *bias = rand_buf(&st, oc, V_NORMAL, tu_rand(&st) % 4);
		float *want = buf_alloc(n_out, 0), *mag = buf_alloc(n_out, 0);
		float *ain = abs_copy(in, n_in), *aw = abs_copy(w, n_w), *abias = abs_copy(bias, oc);
		struct vigil_dwconv2d_args a = { 0 }, mg;
		char shape[128];
		int split;

		snprintf(shape, sizeof(shape), "%dx%dx%d -> %dx%dx%d k%d s%d d%d m%d bias %d values %d", ih, iw, ic, oh,
			 ow, oc, k, stride, dil, m, has_bias, (int)kind);
		a.in_h = ih;
		a.in_w = iw;
		a.in_c = ic;
		a.out_h = oh;
		a.out_w = ow;
		a.out_c = oc;
		a.depth_multiplier = m;
		a.kh = a.kw = k;
		a.stride_h = a.stride_w = stride;
		a.dil_h = a.dil_w = dil;
		a.pad_top = same_pad(ih, oh, k, stride, dil);
		a.pad_left = same_pad(iw, ow, k, stride, dil);
		random_act(&st, &a.act_min, &a.act_max);
		mg = a;
		mg.input = ain;
		mg.weights = aw;
		mg.bias = has_bias ? abias : NULL;
		mg.output = mag;
		mg.act_min = -INFINITY;
		mg.act_max = INFINITY;
		vigil_f32_dwconv2d__c(&mg);
		a.input = in;
		a.weights = w;
		a.bias = has_bias ? bias : NULL;
		a.output = want;
		vigil_f32_dwconv2d__c(&a);

		for (int s = 0; s < n_sets; s++) {
			const struct vigil_f32_kernels *ks = sets[s];
			float *got = buf_alloc(n_out, tu_rand(&st) % 4);
			struct vigil_dwconv2d_args b = a;
			float *packed = NULL;

			/* the set's packed weights (its fast paths), or now and then none (its other paths) */
			if (ks->dwconv2d_c_block > 0 && m == 1 && tu_rand(&st) % 4 != 0) {
				const int cb = ks->dwconv2d_c_block;

				packed = buf_alloc(vigil_f32_dwconv2d_packed_size(oc, k, k, cb), tu_rand(&st) % 4);
				vigil_f32_dwconv2d_pack(w, oc, k, k, cb, packed);
				check_guards(packed, vigil_f32_dwconv2d_packed_size(oc, k, k, cb), "dwconv2d_pack");
				b.packed = packed;
			}
			b.output = got;
			random_split(&st, oh, &split);
			if (split < 0) {
				ks->dwconv2d(&b);
			} else {
				b.row_end = split;
				if (split > 0)
					ks->dwconv2d(&b);
				b.row_begin = split;
				b.row_end = oh;
				if (split < oh)
					ks->dwconv2d(&b);
			}
			check_guards(got, n_out, ks->isa);
			compare(ks->isa, b.packed ? "dwconv2d (packed)" : "dwconv2d", shape, got, want, mag, CONV_TOL,
				n_out);
			buf_free(got);
			if (packed)
				buf_free(packed);
		}
		buf_free(abias);
		buf_free(aw);
		buf_free(ain);
		buf_free(mag);
		buf_free(want);
		buf_free(bias);
		buf_free(w);
		buf_free(in);
	}
}
END_TEST

START_TEST(test_maxpool2d)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = kernel_sets(&sets);
	uint64_t st = seed + 3000 * (uint64_t)_i;

	for (int iter = 0; iter < 60 && n_sets > 0; iter++) {
		const enum values kind = (enum values)(iter % V_COUNT);
		const int f = 1 + tu_rand(&st) % 3, stride = 1 + tu_rand(&st) % 2;
		const int ih = 1 + tu_rand(&st) % 17, iw = 1 + tu_rand(&st) % 17, c = 1 + tu_rand(&st) % 70;
		const int oh = (ih + stride - 1) / stride, ow = (iw + stride - 1) / stride;
		const size_t n_in = (size_t)ih * iw * c, n_out = (size_t)oh * ow * c;
		float *in = rand_buf(&st, n_in, kind, tu_rand(&st) % 4), *want = buf_alloc(n_out, 0);
		struct vigil_pool_args a = { 0 };
		char shape[96];
		int split;

		snprintf(shape, sizeof(shape), "%dx%dx%d f%d s%d values %d", ih, iw, c, f, stride, (int)kind);
		a.input = in;
		a.in_h = ih;
		a.in_w = iw;
		a.c = c;
		a.out_h = oh;
		a.out_w = ow;
		a.fh = a.fw = f;
		a.stride_h = a.stride_w = stride;
		a.pad_top = same_pad(ih, oh, f, stride, 1);
		a.pad_left = same_pad(iw, ow, f, stride, 1);
		random_act(&st, &a.act_min, &a.act_max);
		a.output = want;
		vigil_f32_maxpool2d__c(&a);
		for (int s = 0; s < n_sets; s++) {
			const struct vigil_f32_kernels *ks = sets[s];
			float *got = buf_alloc(n_out, tu_rand(&st) % 4);
			struct vigil_pool_args b = a;

			b.output = got;
			random_split(&st, oh, &split);
			if (split < 0) {
				ks->maxpool2d(&b);
			} else {
				b.row_end = split;
				if (split > 0)
					ks->maxpool2d(&b);
				b.row_begin = split;
				b.row_end = oh;
				if (split < oh)
					ks->maxpool2d(&b);
			}
			check_guards(got, n_out, ks->isa);
			compare(ks->isa, "maxpool2d", shape, got, want, NULL, 0, n_out);
			buf_free(got);
		}
		buf_free(want);
		buf_free(in);
	}
}
END_TEST

START_TEST(test_eltwise)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = kernel_sets(&sets);
	uint64_t st = seed + 4000 * (uint64_t)_i;

	for (int iter = 0; iter < 200 && n_sets > 0; iter++) {
		const enum values kind = (enum values)(iter % V_COUNT);
		const size_t n = 1 + tu_rand(&st) % (iter < 100 ? 40 : 3000);
		float *x = rand_buf(&st, n, kind, tu_rand(&st) % 4), *y = rand_buf(&st, n, kind, tu_rand(&st) % 4);
		float *want_add = buf_alloc(n, 0), *want_clamp = buf_alloc(n, 0);
		float lo, hi;
		char shape[48];

		snprintf(shape, sizeof(shape), "n %zu values %d", n, (int)kind);
		random_act(&st, &lo, &hi);
		vigil_f32_add__c(x, y, want_add, n, lo, hi);
		vigil_f32_clamp__c(x, want_clamp, n, lo, hi);
		for (int s = 0; s < n_sets; s++) {
			const struct vigil_f32_kernels *ks = sets[s];
			float *got = buf_alloc(n, tu_rand(&st) % 4);

			ks->add(x, y, got, n, lo, hi);
			check_guards(got, n, ks->isa);
			compare(ks->isa, "add", shape, got, want_add, NULL, 0, n);
			ks->clamp(x, got, n, lo, hi);
			check_guards(got, n, ks->isa);
			compare(ks->isa, "clamp", shape, got, want_clamp, NULL, 0, n);
			buf_free(got);
		}
		buf_free(want_clamp);
		buf_free(want_add);
		buf_free(y);
		buf_free(x);
	}
}
END_TEST

START_TEST(test_resize_bilinear)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = kernel_sets(&sets);
	uint64_t st = seed + 5000 * (uint64_t)_i;

	for (int iter = 0; iter < 40 && n_sets > 0; iter++) {
		const int ih = 1 + tu_rand(&st) % 9, iw = 1 + tu_rand(&st) % 9, c = 1 + tu_rand(&st) % 40;
		const int oh = 1 + tu_rand(&st) % 19, ow = 1 + tu_rand(&st) % 19, flags = tu_rand(&st) % 3;
		const size_t n_out = (size_t)oh * ow * c;
		float *in = rand_buf(&st, (size_t)ih * iw * c, V_NORMAL, tu_rand(&st) % 4), *want = buf_alloc(n_out, 0);
		struct vigil_resize_args a = { in, ih, iw, c, want, oh, ow, flags == 1, flags == 2, 0, 0 };
		char shape[96];

		snprintf(shape, sizeof(shape), "%dx%dx%d -> %dx%d flags %d", ih, iw, c, oh, ow, flags);
		vigil_f32_resize_bilinear__c(&a);
		for (int s = 0; s < n_sets; s++) {
			float *got = buf_alloc(n_out, tu_rand(&st) % 4);
			struct vigil_resize_args b = a;

			b.output = got;
			b.row_end = oh / 2;
			if (b.row_end > 0)
				sets[s]->resize_bilinear(&b);
			b.row_begin = oh / 2;
			b.row_end = oh;
			sets[s]->resize_bilinear(&b);
			check_guards(got, n_out, sets[s]->isa);
			/* weights sum to 1 and inputs are in [-1, 1]: an absolute bound */
			for (size_t i = 0; i < n_out; i++)
				ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f, "seed %llu: %s resize %s element %zu",
					      (unsigned long long)seed, sets[s]->isa, shape, i);
			buf_free(got);
		}
		buf_free(want);
		buf_free(in);
	}
}
END_TEST

/* The dispatcher: the reference is always last, VIGIL_FORCE_C leaves only it, and every entry is set. */
/* The packed depthwise layout, value by value, against its definition in kernels.h (blocks of B channels, the
 * last one overlapping when c > B and c % B != 0, zero lanes past c). */
START_TEST(test_dwconv2d_pack)
{
	uint64_t st = seed + 6000;

	for (int iter = 0; iter < 200; iter++) {
		const int c = 1 + tu_rand(&st) % 70, k = 1 + tu_rand(&st) % 5,
			  b = (int[]){ 4, 8, 16 }[tu_rand(&st) % 3];
		const int nb = (c + b - 1) / b, taps = k * k;
		const size_t n = vigil_f32_dwconv2d_packed_size(c, k, k, b);
		float *w = rand_buf(&st, (size_t)taps * c, V_NORMAL, 0), *packed = buf_alloc(n, tu_rand(&st) % 4);

		ck_assert_uint_eq(n, (size_t)nb * taps * b);
		vigil_f32_dwconv2d_pack(w, c, k, k, b, packed);
		check_guards(packed, n, "dwconv2d_pack");
		for (int blk = 0; blk < nb; blk++) {
			const int start = blk == nb - 1 && c > b ? c - b : blk * b;

			for (int t = 0; t < taps; t++)
				for (int l = 0; l < b; l++)
					ck_assert_msg(packed[((size_t)blk * taps + t) * b + l] ==
							  (start + l < c ? w[(size_t)t * c + start + l] : 0.0f),
						      "seed %llu: c %d k %d B %d block %d tap %d lane %d",
						      (unsigned long long)seed, c, k, b, blk, t, l);
		}
		buf_free(packed);
		buf_free(w);
	}
}
END_TEST

START_TEST(test_dispatch)
{
	const struct vigil_f32_kernels *const *sets;
	const int n = vigil_cpu_kernel_sets(&sets);
	const char *force = getenv("VIGIL_FORCE_C");

	ck_assert_int_ge(n, 1);
	ck_assert_ptr_eq(sets[n - 1], &vigil_f32_kernels__c);
	ck_assert_ptr_eq(vigil_cpu_kernels(), sets[0]);
	for (int i = 0; i < n; i++) {
		ck_assert(sets[i]->conv2d && sets[i]->dwconv2d && sets[i]->maxpool2d && sets[i]->add &&
			  sets[i]->clamp && sets[i]->resize_bilinear && sets[i]->isa);
		printf("kernel set %d: %s\n", i, sets[i]->isa);
	}
	if (force && strcmp(force, "1") == 0) {
		ck_assert_int_eq(n, 1);
		ck_assert_uint_eq(vigil_cpu_features(), 0);
	}
#if defined(__x86_64__)
	/* on x86-64 the AVX2 set is built; when the CPU has AVX2 (and nothing forces C) it must be offered */
	if (!force && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("VIGIL_CPU_DISABLE")) {
		int found = 0;

		for (int i = 0; i < n; i++)
			found |= strcmp(sets[i]->isa, "avx2") == 0;
		ck_assert_msg(found, "the CPU has AVX2 + FMA but the avx2 kernel set is not offered");
	}
#endif
}
END_TEST

int main(void)
{
	const char *env = getenv("VIGIL_TEST_SEED");
	Suite *s = suite_create("kernel_sets");
	TCase *tc = tcase_create("vs_reference");
	const struct vigil_f32_kernels *const *sets;
	const int n = kernel_sets(&sets);

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("kernel_sets: seed %llu (VIGIL_TEST_SEED=%llu reproduces), %d set(s) against the reference:",
	       (unsigned long long)seed, (unsigned long long)seed, n);
	for (int i = 0; i < n; i++)
		printf(" %s", sets[i]->isa);
	printf("\n");
	fflush(stdout);
	tcase_add_test(tc, test_dispatch);
	tcase_add_loop_test(tc, test_conv2d, 0, 3);
	tcase_add_loop_test(tc, test_dwconv2d, 0, 3);
	tcase_add_test(tc, test_dwconv2d_pack);
	tcase_add_loop_test(tc, test_maxpool2d, 0, 2);
	tcase_add_loop_test(tc, test_eltwise, 0, 2);
	tcase_add_loop_test(tc, test_resize_bilinear, 0, 2);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
