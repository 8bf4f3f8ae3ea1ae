/* SPDX-License-Identifier: Apache-2.0
 * Generated tests of the optimised quantized kernels (x86-64: kernels_q8_avx2.c, kernels_q8_avx512.c; aarch64:
 * kernels_q8_neon.c, kernels_q8_neondot.c) against the C reference (kernels_q8_c.c): random shapes (odd widths, channel counts that are
 * not multiples of 8 or 16), strides, dilations, padding, random scales and zero points, both requantizations,
 * activation ranges that saturate at 0/255 and -128/127, whole and split pixel/row ranges (as threads split them).
 * Outputs must be identical byte for byte. The seed is printed; VIGIL_TEST_SEED=N replays a run. On an x86-64 CPU
 * without AVX2 the suite fails (x86-64 CI machines have it); the AVX-512 variants run where the CPU has them and
 * are reported as not run elsewhere. On aarch64 (CI: under qemu-aarch64 -cpu max) the NEON kernels, always present,
 * and the dot-product GEMM where the CPU has it (required when VIGIL_TEST_REQUIRE_DOTPROD=1). */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels_q8.h"
#include "testutil.h"

#if !VIGIL_Q8_HAVE_AVX2 && !VIGIL_Q8_HAVE_NEON
#error "test_q8_simd tests the x86-64 (AVX2, AVX-512) and aarch64 (NEON) quantized kernels"
#endif

#define CASES 300 /* per kernel variant (about 3 s under qemu-aarch64) */

static uint64_t seed = 0x5eed0001;

static int rnd(uint64_t *st, int lo, int hi)
{
	return lo + (int)(tu_rand(st) % (uint64_t)(hi - lo + 1));
}

static float rnd_f(uint64_t *st, float lo, float hi)
{
	return lo + (hi - lo) * (float)(tu_rand(st) % 1000001) / 1000000.0f;
}

struct case_buf {
	void *in, *w, *o1, *o2;
	int32_t *bias, *mult;
	int *shift;
	float *fs;
};

static void free_case(struct case_buf *b)
{
	free(b->in);
	free(b->w);
	free(b->o1);
	free(b->o2);
	free(b->bias);
	free(b->mult);
	free(b->shift);
	free(b->fs);
}

/* Random convolution arguments (depthwise when @p dw: out_c = in_c, multiplier 1). */
static void make_case(uint64_t *st, int dw, int is_signed, struct vigil_q8_conv_args *a, struct case_buf *b)
{
	const int h = rnd(st, 1, 13), w = rnd(st, 1, 15), ic = dw ? rnd(st, 1, 80) : rnd(st, 1, 70);
	const int oc = dw ? ic : rnd(st, 1, 50), k = rnd(st, 0, 3) ? 3 : rnd(st, 1, 5), stride = rnd(st, 1, 3);
	const int dil = rnd(st, 0, 4) ? 1 : 2, same = rnd(st, 0, 1);
	const int ek = (k - 1) * dil + 1;
	const int oh = same ? (h + stride - 1) / stride : (h - ek) / stride + 1;
	const int ow = same ? (w + stride - 1) / stride : (w - ek) / stride + 1;
	const int per_channel = is_signed && rnd(st, 0, 1);
	const size_t nw = (size_t)oc * k * k * (dw ? 1 : ic);
	const float in_s = rnd_f(st, 0.005f, 0.05f), w_s = rnd_f(st, 0.001f, 0.02f);
	/* small output scales saturate most outputs; large ones keep them in range */
	const float out_s = rnd(st, 0, 2) ? rnd_f(st, 0.02f, 0.5f) : rnd_f(st, 0.0005f, 0.005f);
	const int32_t qlo = is_signed ? -128 : 0, qhi = is_signed ? 127 : 255;
	static const uint8_t extremes[4] = { 0, 255, 0x7f, 0x80 }; /* uint8 0/255, int8 -1/0/127/-128 */

	if (oh < 1 || ow < 1) { /* VALID window larger than the image: take SAME */
		make_case(st, dw, is_signed, a, b);
		return;
	}
	memset(a, 0, sizeof(*a));
	b->in = malloc((size_t)h * w * ic);
	b->w = malloc(nw);
	b->o1 = malloc((size_t)oh * ow * oc);
	b->o2 = malloc((size_t)oh * ow * oc);
	b->bias = malloc((size_t)oc * sizeof(int32_t));
	b->mult = malloc((size_t)oc * sizeof(int32_t));
	b->shift = malloc((size_t)oc * sizeof(int));
	b->fs = malloc((size_t)oc * sizeof(float));
	ck_assert(b->in && b->w && b->o1 && b->o2 && b->bias && b->mult && b->shift && b->fs);
	for (int i = 0; i < h * w * ic; i++) /* extremes often: saturation of the inputs */
		((uint8_t *)b->in)[i] = (uint8_t)(rnd(st, 0, 3) == 0 ? extremes[rnd(st, 0, 3)] : rnd(st, 0, 255));
	for (size_t i = 0; i < nw; i++)
		((uint8_t *)b->w)[i] = (uint8_t)(rnd(st, 0, 9) == 0 ? (rnd(st, 0, 1) ? 0 : 255) : rnd(st, 0, 255));
	if (is_signed && per_channel) /* symmetric int8 weights exclude -128 */
		for (size_t i = 0; i < nw; i++)
			if (((int8_t *)b->w)[i] == -128)
				((int8_t *)b->w)[i] = -127;
	for (int c = 0; c < oc; c++) {
		const float ws = per_channel ? rnd_f(st, 0.0005f, 0.03f) : w_s;

		b->bias[c] = rnd(st, 0, 3) ? rnd(st, -40000, 40000) : rnd(st, -2000000, 2000000);
		b->fs[c] = in_s * ws / out_s;
		vigil_q_quantize_multiplier((double)in_s * (double)ws / (double)out_s, &b->mult[c], &b->shift[c]);
	}
	a->input = b->in;
	a->in_h = h;
	a->in_w = w;
	a->in_c = ic;
	a->weights = b->w;
	a->bias = rnd(st, 0, 3) ? b->bias : NULL;
	a->out_h = oh;
	a->out_w = ow;
	a->out_c = oc;
	a->kh = a->kw = k;
	a->stride_h = a->stride_w = stride;
	a->dil_h = a->dil_w = dil;
	a->pad_top = same ? ((oh - 1) * stride + ek - h > 0 ? ((oh - 1) * stride + ek - h) / 2 : 0) : 0;
	a->pad_left = same ? ((ow - 1) * stride + ek - w > 0 ? ((ow - 1) * stride + ek - w) / 2 : 0) : 0;
	a->depth_multiplier = 1;
	a->input_offset = -rnd(st, qlo, qhi);
	a->weights_offset = per_channel ? 0 : -rnd(st, qlo, qhi);
	a->output_offset = rnd(st, qlo, qhi);
	a->multiplier = b->mult;
	a->shift = b->shift;
	a->fp32_scale = rnd(st, 0, 1) ? b->fs : NULL;
	a->act_min = qlo;
	a->act_max = qhi;
	if (rnd(st, 0, 2) == 0) { /* a fused clamp inside the range (RELU6-like) */
		a->act_min = rnd(st, qlo, (qlo + qhi) / 2);
		a->act_max = rnd(st, a->act_min, qhi);
	}
}

static void describe(char *s, size_t n, const struct vigil_q8_conv_args *a, int is_signed)
{
	snprintf(s, n, "%s %dx%dx%d -> %dx%dx%d k%dx%d s%d d%d pad %d,%d zp in %d w %d out %d act %d..%d %s bias %s",
		 is_signed ? "int8" : "uint8", a->in_h, a->in_w, a->in_c, a->out_h, a->out_w, a->out_c, a->kh, a->kw,
		 a->stride_h, a->dil_h, a->pad_top, a->pad_left, -a->input_offset, -a->weights_offset, a->output_offset,
		 a->act_min, a->act_max, a->fp32_scale ? "fp32" : "fixedpoint", a->bias ? "yes" : "no");
}

/* The kernel variants: AVX2 always on x86-64 (its CI machines have it), the AVX-512 ones on a CPU that has them;
 * NEON on aarch64. */
typedef void (*gemm_fn)(const struct vigil_q8_conv_args *, const struct vigil_q8_gemm *, void *, int, int);
typedef void (*dw_fn)(const struct vigil_q8_conv_args *, const struct vigil_q8_dw *, const void *, int, int);
typedef void (*requant_fn)(const int32_t *, int, int, const struct vigil_q8_requant_vec *, void *);
struct variant {
	const char *name;
	gemm_fn gemm;
	dw_fn dw;
	requant_fn requant;
	struct vigil_q8_gemm_shape shape;
	int usable;
};

static int variants(struct variant *v)
{
#if VIGIL_Q8_HAVE_AVX2
	const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
			   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");

	ck_assert_msg(__builtin_cpu_supports("avx2"), "this x86-64 CPU has no AVX2: the AVX2 kernels cannot be tested");
	v[0] = (struct variant){
		"avx2", vigil_q8_conv_gemm__avx2, vigil_q8_dwconv__avx2, vigil_q8_requant__avx2, VIGIL_Q8_GEMM_AVX2, 1
	};
	v[1] = (struct variant){ "avx512",
				 vigil_q8_conv_gemm__avx512,
				 vigil_q8_dwconv__avx512,
				 vigil_q8_requant__avx512,
				 VIGIL_Q8_GEMM_AVX512,
				 avx512 };
	v[2] = (struct variant){ "avx512vnni",
				 vigil_q8_conv_gemm__avx512vnni,
				 vigil_q8_dwconv__avx512vnni,
				 vigil_q8_requant__avx512,
				 VIGIL_Q8_GEMM_AVX512,
				 avx512 && __builtin_cpu_supports("avx512vnni") };
	return 3;
#else
	/* the dot-product GEMM needs ARMv8.2's SDOT/UDOT: CI's qemu-aarch64 runs -cpu max, which has them, and sets
	 * VIGIL_TEST_REQUIRE_DOTPROD=1 so that a CPU model without them fails rather than skips */
	const int dot = (vigil_cpu_features() & VIGIL_CPU_DOTPROD) != 0;

	ck_assert_msg(dot || !getenv("VIGIL_TEST_REQUIRE_DOTPROD"),
		      "VIGIL_TEST_REQUIRE_DOTPROD is set but this CPU has no dot product (HWCAP_ASIMDDP)");
	v[0] = (struct variant){
		"neon", vigil_q8_conv_gemm__neon, vigil_q8_dwconv__neon, vigil_q8_requant__neon, VIGIL_Q8_GEMM_NEON, 1
	};
	/* its depthwise and requantization are the ARMv8.0 ones */
	v[1] = (struct variant){ "neon dotprod",         vigil_q8_conv_gemm__neondot, vigil_q8_dwconv__neon,
				 vigil_q8_requant__neon, VIGIL_Q8_GEMM_NEONDOT,       dot };
	return 2;
#endif
}

START_TEST(test_gemm_random)
{
	struct variant v[3];
	const int nv = variants(v);

	for (int vi = 0; vi < nv; vi++) {
		uint64_t st = seed + 1;

		if (!v[vi].usable) {
			printf("q8 gemm %s: this CPU lacks it, not run\n", v[vi].name);
			continue;
		}
		for (int iter = 0; iter < CASES; iter++) {
			const int is_signed = iter % 2;
			struct vigil_q8_conv_args a;
			struct case_buf b;
			struct vigil_q8_gemm g;
			void *scratch;
			char what[256];
			int split;

			make_case(&st, 0, is_signed, &a, &b);
			describe(what, sizeof(what), &a, is_signed);
			a.output = b.o1;
			(is_signed ? vigil_i8_conv2d__c : vigil_u8_conv2d__c)(&a);
			ck_assert_int_eq(vigil_q8_gemm_pack(&a, is_signed, v[vi].shape, &g), 0);
			scratch = aligned_alloc(64, vigil_q8_gemm_scratch_bytes(&g));
			ck_assert(scratch != NULL);
			a.output = b.o2;
			memset(b.o2, 0xa5, (size_t)a.out_h * a.out_w * a.out_c);
			/* whole range, or split at a multiple of a micro-tile as threads split it */
			split = rnd(&st, 0, 1) ? 0 : rnd(&st, 0, a.out_h * a.out_w / v[vi].shape.mr) * v[vi].shape.mr;
			if (split)
				v[vi].gemm(&a, &g, scratch, 0, split);
			v[vi].gemm(&a, &g, scratch, split, a.out_h * a.out_w);
			for (size_t i = 0; i < (size_t)a.out_h * a.out_w * a.out_c; i++)
				ck_assert_msg(((uint8_t *)b.o1)[i] == ((uint8_t *)b.o2)[i],
					      "seed %" PRIu64
					      " %s iter %d (%s): element %zu (pixel %zu channel %zu): C %d, SIMD %d",
					      seed, v[vi].name, iter, what, i, i / a.out_c, i % a.out_c,
					      is_signed ? ((int8_t *)b.o1)[i] : ((uint8_t *)b.o1)[i],
					      is_signed ? ((int8_t *)b.o2)[i] : ((uint8_t *)b.o2)[i]);
			free(scratch);
			vigil_q8_gemm_free(&g);
			free_case(&b);
		}
		printf("q8 gemm %s: %d random convolutions identical to the C reference\n", v[vi].name, CASES);
	}
}
END_TEST

START_TEST(test_dw_random)
{
	struct variant v[3];
	const int nv = variants(v);

	for (int vi = 0; vi < nv; vi++) {
		uint64_t st = seed + 2;

		if (vi > 0 && v[vi].dw == v[vi - 1].dw) /* neon dotprod: the ARMv8.0 depthwise, tested above */
			continue;
		if (!v[vi].usable) {
			printf("q8 depthwise %s: this CPU lacks it, not run\n", v[vi].name);
			continue;
		}
		for (int iter = 0; iter < CASES; iter++) {
			const int is_signed = iter % 2;
			struct vigil_q8_conv_args a;
			struct case_buf b;
			struct vigil_q8_dw d;
			uint8_t zeros[80];
			char what[256];
			int split;

			make_case(&st, 1, is_signed, &a, &b);
			describe(what, sizeof(what), &a, is_signed);
			a.output = b.o1;
			(is_signed ? vigil_i8_dwconv2d__c : vigil_u8_dwconv2d__c)(&a);
			ck_assert_int_eq(vigil_q8_dw_pack(&a, is_signed, &d), 0);
			memset(zeros, (uint8_t)-a.input_offset, sizeof(zeros));
			a.output = b.o2;
			memset(b.o2, 0xa5, (size_t)a.out_h * a.out_w * a.out_c);
			split = rnd(&st, 0, a.out_h);
			v[vi].dw(&a, &d, zeros, 0, split);
			v[vi].dw(&a, &d, zeros, split, a.out_h);
			for (size_t i = 0; i < (size_t)a.out_h * a.out_w * a.out_c; i++)
				ck_assert_msg(((uint8_t *)b.o1)[i] == ((uint8_t *)b.o2)[i],
					      "seed %" PRIu64
					      " %s iter %d (%s): element %zu (pixel %zu channel %zu): C %d, SIMD %d",
					      seed, v[vi].name, iter, what, i, i / a.out_c, i % a.out_c,
					      is_signed ? ((int8_t *)b.o1)[i] : ((uint8_t *)b.o1)[i],
					      is_signed ? ((int8_t *)b.o2)[i] : ((uint8_t *)b.o2)[i]);
			vigil_q8_dw_free(&d);
			free_case(&b);
		}
		printf("q8 depthwise %s: %d random depthwise convolutions identical to the C reference\n", v[vi].name,
		       CASES);
	}
}
END_TEST

#if VIGIL_Q8_HAVE_AVX2
/* Depthwise on the float kernels: every float kernel set this CPU runs (AVX-512, AVX2, the emulated 16-lane set,
 * the C reference), with one to many output rows per band; and the refusal of a convolution whose partial sums
 * could leave float's exact integers. */
START_TEST(test_dwf_random)
{
	const struct vigil_f32_kernels *const *sets;
	const int n_sets = vigil_cpu_kernel_sets(&sets);

	for (int si = 0; si < n_sets; si++) {
		uint64_t st = seed + 5;

		for (int iter = 0; iter < 200; iter++) {
			const int is_signed = iter % 2;
			struct vigil_q8_conv_args a;
			struct case_buf b;
			struct vigil_q8_dwf d;
			void *scratch;
			char what[256];
			int split;

			make_case(&st, 1, is_signed, &a, &b);
			describe(what, sizeof(what), &a, is_signed);
			a.output = b.o1;
			(is_signed ? vigil_i8_dwconv2d__c : vigil_u8_dwconv2d__c)(&a);
			ck_assert_int_eq(vigil_q8_dwf_pack(&a, is_signed, sets[si], &d), 0);
			if (iter % 3 == 0) /* small bands: many band edges inside the image */
				d.band = rnd(&st, 1, 3) < a.out_h ? rnd(&st, 1, 3) : a.out_h;
			scratch = aligned_alloc(64, vigil_q8_dwf_scratch_bytes(&a, &d));
			ck_assert(scratch != NULL);
			a.output = b.o2;
			memset(b.o2, 0xa5, (size_t)a.out_h * a.out_w * a.out_c);
			split = rnd(&st, 0, a.out_h);
			vigil_q8_dwconv_f32__avx2(&a, &d, scratch, 0, split);
			vigil_q8_dwconv_f32__avx2(&a, &d, scratch, split, a.out_h);
			for (size_t i = 0; i < (size_t)a.out_h * a.out_w * a.out_c; i++)
				ck_assert_msg(((uint8_t *)b.o1)[i] == ((uint8_t *)b.o2)[i],
					      "seed %" PRIu64
					      " float set %s iter %d band %d (%s): element %zu (pixel %zu "
					      "channel %zu): C %d, float path %d",
					      seed, sets[si]->isa, iter, d.band, what, i, i / a.out_c, i % a.out_c,
					      is_signed ? ((int8_t *)b.o1)[i] : ((uint8_t *)b.o1)[i],
					      is_signed ? ((int8_t *)b.o2)[i] : ((uint8_t *)b.o2)[i]);
			free(scratch);
			vigil_q8_dwf_free(&d);
			/* a bias that can take a partial sum past 2^24 is refused (the caller keeps the integer kernel) */
			if (iter % 10 == 0) {
				int32_t big[80];

				for (int ch = 0; ch < a.out_c; ch++)
					big[ch] = ch == a.out_c - 1 ? (1 << 24) : 0;
				a.bias = big;
				ck_assert_int_eq(vigil_q8_dwf_pack(&a, is_signed, sets[si], &d), -ERANGE);
			}
			free_case(&b);
		}
		printf("q8 depthwise on the %s float kernels: 200 random depthwise convolutions identical to the C "
		       "reference\n",
		       sets[si]->isa);
	}
}
END_TEST

#endif

/* The vector requantization against the scalar formulas over the whole int32 range of accumulators, multipliers
 * and shifts, including TFLite's rounding edge cases (ties, negative ties, INT32_MIN * INT32_MIN saturation,
 * shifts 0 and 31, left shifts that wrap). */
START_TEST(test_requant_edges)
{
	enum { N = 64 };
	static const int32_t special[] = { 0,
					   1,
					   -1,
					   2,
					   -2,
					   INT32_MAX,
					   INT32_MIN,
					   INT32_MIN + 1,
					   1 << 30,
					   -(1 << 30),
					   (1 << 30) + 1,
					   3 << 29,
					   -(3 << 29),
					   0x40000000 - 1,
					   12345,
					   -12345 };
	uint64_t st = seed + 3;
	int32_t bias[N], mult[N], lsh[N], rsh[N], acc[N];
	float fs[N];
	struct vigil_q8_requant_vec rq = { bias, NULL, mult, lsh, rsh, 0, 0, 255, 0 };
	struct variant v[3];
	const int nv = variants(v);

	for (int iter = 0; iter < 4000; iter++) {
		const int n = rnd(&st, 1, N), fp32 = iter % 2;
		/* pairs of iterations (both requantizations) go through each variant the CPU has in turn */
		const struct variant *var = v[(iter / 2) % nv].usable ? &v[(iter / 2) % nv] : &v[0];
		uint8_t got[N];

		rq.is_signed = rnd(&st, 0, 1);
		rq.output_offset = rq.is_signed ? rnd(&st, -128, 127) : rnd(&st, 0, 255);
		rq.act_min = rq.is_signed ? rnd(&st, -128, 0) : rnd(&st, 0, 100);
		rq.act_max = rnd(&st, rq.act_min, rq.is_signed ? 127 : 255);
		rq.fscale = fp32 ? fs : NULL;
		for (int i = 0; i < n; i++) {
			const int shift = rnd(&st, -31, 30);
			const int kind = rnd(&st, 0, 3);

			acc[i] = kind == 0   ? special[rnd(&st, 0, (int)(sizeof(special) / sizeof(special[0])) - 1)]
				 : kind == 1 ? rnd(&st, -300, 300)
					     : (int32_t)(uint32_t)tu_rand(&st);
			bias[i] = rnd(&st, 0, 1) ? 0 : rnd(&st, -1000, 1000);
			if ((int64_t)acc[i] + bias[i] > INT32_MAX || (int64_t)acc[i] + bias[i] < INT32_MIN)
				bias[i] = 0; /* int32 overflow is undefined in the reference */
			mult[i] = rnd(&st, 0, 7) == 0 ? special[rnd(&st, 0, 15)] : (int32_t)(uint32_t)tu_rand(&st);
			lsh[i] = shift > 0 ? shift : 0;
			rsh[i] = shift > 0 ? 0 : -shift;
			fs[i] = rnd(&st, 0, 1) ? rnd_f(&st, 1e-6f, 1e-2f) : rnd_f(&st, 0.01f, 3.0f);
		}
		var->requant(acc, 0, n, &rq, got);
		for (int i = 0; i < n; i++) {
			const int32_t x = acc[i] + bias[i];
			int32_t want;

			if (fp32) {
				want = vigil_q_requant_fp32(x, fs[i], rq.output_offset, rq.act_min, rq.act_max);
			} else {
				const int shift = lsh[i] > 0 ? lsh[i] : -rsh[i];

				const int64_t q = (int64_t)vigil_q_mul(x, mult[i], shift) + rq.output_offset;

				if (q > INT32_MAX || q < INT32_MIN)
					continue; /* + output_offset overflows int32: undefined in the reference */
				want = (int32_t)q;
			}
			want = want < rq.act_min ? rq.act_min : want > rq.act_max ? rq.act_max : want;
			ck_assert_msg(
			    (rq.is_signed ? (int32_t)(int8_t)got[i] : (int32_t)got[i]) == want,
			    "seed %" PRIu64 " iter %d (%s) lane %d: acc %d mult %d shift %d/%d scale %.9g zp %d act "
			    "%d..%d: want %d got %d",
			    seed, iter, var->name, i, x, mult[i], lsh[i], rsh[i], (double)fs[i], rq.output_offset,
			    rq.act_min, rq.act_max, want, rq.is_signed ? (int32_t)(int8_t)got[i] : (int32_t)got[i]);
		}
	}
}
END_TEST

#if VIGIL_Q8_HAVE_AVX2
/* CONCATENATION with rescaling: random scales/zero points (some inputs equal to the output's: copied), block lengths
 * not multiples of 8, values mapped past both ends of the type (saturation), ties of roundf. */
START_TEST(test_concat_random)
{
	uint64_t st = seed + 4;

	ck_assert_msg(__builtin_cpu_supports("avx2"), "this x86-64 CPU has no AVX2: the AVX2 kernels cannot be tested");
	for (int iter = 0; iter < 500; iter++) {
		const int is_signed = iter % 2, n = rnd(&st, 1, 6), outer = rnd(&st, 1, 5);
		const float out_s = rnd_f(&st, 0.01f, 0.2f);
		const int32_t out_zp = is_signed ? rnd(&st, -128, 127) : rnd(&st, 0, 255);
		struct vigil_q8_concat_input in[6];
		uint8_t *data[6], *o1, *o2;
		size_t total = 0;

		for (int i = 0; i < n; i++) {
			const int same = rnd(&st, 0, 3) == 0;

			in[i].block = (size_t)rnd(&st, 1, 70);
			/* ratios like 0.5, 1.5, 2 make exact .5 ties; others arbitrary, some large (saturating) */
			in[i].scale = same                  ? out_s
				      : rnd(&st, 0, 2) == 0 ? out_s * (float)rnd(&st, 1, 8) * 0.5f
							    : rnd_f(&st, 0.001f, 1.0f);
			in[i].zero_point = same ? out_zp : is_signed ? rnd(&st, -128, 127) : rnd(&st, 0, 255);
			data[i] = malloc(in[i].block * (size_t)outer);
			ck_assert(data[i] != NULL);
			for (size_t j = 0; j < in[i].block * (size_t)outer; j++)
				data[i][j] = (uint8_t)rnd(&st, 0, 255);
			in[i].data = data[i];
			total += in[i].block * (size_t)outer;
		}
		o1 = malloc(total);
		o2 = malloc(total);
		ck_assert(o1 && o2);
		if (is_signed) {
			vigil_i8_concat__c(in, n, (size_t)outer, out_s, out_zp, (int8_t *)o1);
			vigil_i8_concat__avx2(in, n, (size_t)outer, out_s, out_zp, (int8_t *)o2);
		} else {
			vigil_u8_concat__c(in, n, (size_t)outer, out_s, out_zp, o1);
			vigil_u8_concat__avx2(in, n, (size_t)outer, out_s, out_zp, o2);
		}
		for (size_t j = 0; j < total; j++)
			ck_assert_msg(o1[j] == o2[j],
				      "seed %" PRIu64 " iter %d (%s, %d inputs) element %zu: C %d, AVX2 %d", seed, iter,
				      is_signed ? "int8" : "uint8", n, j, o1[j], o2[j]);
		for (int i = 0; i < n; i++)
			free(data[i]);
		free(o1);
		free(o2);
	}
}
END_TEST

#endif

int main(void)
{
	Suite *s = suite_create("q8_simd");
	TCase *tc = tcase_create("kernels");
	const char *env = getenv("VIGIL_TEST_SEED");

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	printf("q8_simd: seed %" PRIu64 " (VIGIL_TEST_SEED=%" PRIu64 " replays it)\n", seed, seed);
	fflush(stdout);
	tcase_add_test(tc, test_gemm_random);
	tcase_add_test(tc, test_dw_random);
	tcase_add_test(tc, test_requant_edges);
#if VIGIL_Q8_HAVE_AVX2
	tcase_add_test(tc, test_dwf_random);
	tcase_add_test(tc, test_concat_random);
#endif
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
