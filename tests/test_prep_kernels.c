/* SPDX-License-Identifier: Apache-2.0
 * Preprocessing row kernels: every set this CPU runs (vigil_prep_kernel_sets(): AVX-512 and AVX2 on x86, NEON on
 * aarch64, and the C reference) against the reference set, through the whole preprocessing path (letterbox and
 * stretch, both sampling conventions, ROIs) on random frames of every format with odd sizes (1..N), padded
 * strides, misaligned plane pointers and extreme values (all 0, all 255, 0/255 stripes, random).
 * Tolerance: none. The kernels do the reference's float operations in its order, unfused (see
 * accel/cpu/preprocess_kernels.h), so the float tensors must be equal value for value (+0 == -0) and the
 * uint8 tensors byte for byte. Each plane is its own allocation ending at its last byte, so AddressSanitizer
 * sees any read past a plane. The seed is printed; VIGIL_TEST_SEED=N repeats a run. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "kernels.h"
#include "preprocess.h"
#include "preprocess_kernels.h"
#include "testutil.h"
#include "vigil/vigil.h"

static const enum vigil_pixel_format all_formats[] = {
	VIGIL_FORMAT_NV12, VIGIL_FORMAT_I420, VIGIL_FORMAT_YUY2,  VIGIL_FORMAT_UYVY,
	VIGIL_FORMAT_RGB,  VIGIL_FORMAT_BGR,  VIGIL_FORMAT_RGBA,  VIGIL_FORMAT_BGRA,
	VIGIL_FORMAT_RGBX, VIGIL_FORMAT_BGRX, VIGIL_FORMAT_GRAY8,
};
#define N_FORMATS ((int)(sizeof(all_formats) / sizeof(all_formats[0])))

static uint64_t seed0;

static void setup_seed(void)
{
	const char *env = getenv("VIGIL_TEST_SEED");

	seed0 = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("prep_kernels: seed 0x%016" PRIx64 " (VIGIL_TEST_SEED to repeat)\n", seed0);
	fflush(stdout);
}

/* A frame whose planes are separate allocations, each starting @p misalign bytes into its block and ending
 * at the block's end. */
struct kframe {
	struct vigil_frame f;
	uint8_t *block[3];
};

enum fill { FILL_RANDOM, FILL_ZERO, FILL_255, FILL_STRIPES, FILL_COUNT };

static void kframe_make(struct kframe *k, enum vigil_pixel_format fmt, int w, int h, int pad, int misalign,
			enum fill fill, uint64_t *seed)
{
	memset(k, 0, sizeof(*k));
	ck_assert(vigil_frame_init_packed(&k->f, fmt, w, h, NULL) > 0);
	for (int p = 0; p < 3; p++) {
		const int sub = (fmt == VIGIL_FORMAT_NV12 || fmt == VIGIL_FORMAT_I420) && p > 0;
		const int rows = sub ? (h + 1) / 2 : h;
		size_t size;
		uint8_t *plane;

		if (!k->f.strides[p])
			continue;
		k->f.strides[p] += pad;
		/* the last row is only as long as it needs to be */
		size = (size_t)k->f.strides[p] * (rows - 1) + (size_t)(k->f.strides[p] - pad);
		k->block[p] = malloc(size + misalign);
		ck_assert(k->block[p] != NULL);
		plane = k->block[p] + misalign;
		for (size_t b = 0; b < size; b++) {
			switch (fill) {
			case FILL_ZERO:
				plane[b] = 0;
				break;
			case FILL_255:
				plane[b] = 255;
				break;
			case FILL_STRIPES:
				plane[b] = (b / 3 + b / (size_t)k->f.strides[p]) % 2 ? 255 : 0;
				break;
			default:
				plane[b] = (uint8_t)(tu_rand(seed) >> 56);
				break;
			}
		}
		k->f.planes[p] = plane;
	}
	k->f.colorimetry = (enum vigil_colorimetry)(tu_rand(seed) % 4);
	ck_assert_int_eq(vigil_frame_validate(&k->f), 0);
}

static void kframe_free(struct kframe *k)
{
	for (int p = 0; p < 3; p++)
		free(k->block[p]);
	memset(k, 0, sizeof(*k));
}

struct pcase {
	int dst, stretch;
	enum vigil_sampling sampling;
	struct vigil_rect roi;
};

/* Runs @p set on the frame into @p t (float) and @p u (uint8); returns whether rows went to the kernels. */
static int run_set(const struct vigil_prep_kernels *set, const struct kframe *k, const struct pcase *c, float *t,
		   float *scratch, uint8_t *u)
{
	struct vigil_preprocess pp;
	int err, fast;

	ck_assert_int_eq(
	    vigil_preprocess_init(&pp, c->dst, c->dst, c->stretch ? 1.0f : 1.0f / 127.5f, c->stretch ? 0.0f : -1.0f),
	    0);
	pp.stretch = c->stretch;
	pp.kernels = set;
	err = vigil_preprocess_configure(&pp, &k->f, &c->roi, c->sampling);
	ck_assert_msg(err == 0, "configure: %d %s", err, vigil_last_error());
	vigil_preprocess_run(&pp, &k->f, t);
	vigil_preprocess_run_u8(&pp, &k->f, scratch, u);
	fast = pp.fast;
	vigil_preprocess_free(&pp);
	return fast;
}

static int has_kernel(enum vigil_pixel_format f)
{
	return f != VIGIL_FORMAT_GRAY8;
}

/* One frame, every set against the reference. Returns the number of sets compared that used their kernels. */
static int compare_sets(const struct kframe *k, const struct pcase *c, const char *what)
{
	const struct vigil_prep_kernels *const *sets;
	const int n_sets = vigil_prep_kernel_sets(&sets);
	const size_t n = (size_t)c->dst * c->dst * 3;
	float *ref = malloc(n * sizeof(float)), *t = malloc(n * sizeof(float)), *scratch = malloc(n * sizeof(float));
	uint8_t *ref_u8 = malloc(n), *u8 = malloc(n);
	int used = 0;

	ck_assert(ref && t && scratch && ref_u8 && u8);
	ck_assert_str_eq(sets[n_sets - 1]->isa, "c");
	run_set(sets[n_sets - 1], k, c, ref, scratch, ref_u8);
	for (int s = 0; s < n_sets; s++) {
		/* fill with NaN so that a value the set never wrote shows up */
		memset(t, 0xff, n * sizeof(float));
		memset(u8, 0xa5, n);
		used += run_set(sets[s], k, c, t, scratch, u8);
		/* ck_assert per element would report a checkpoint each time (slow in fork mode): find the first
		 * difference, then assert on it */
		size_t q = 0;

		while (q < n && t[q] == ref[q] && u8[q] == ref_u8[q])
			q++;
		if (q < n) {
			ck_assert_msg(t[q] == ref[q],
				      "seed 0x%016" PRIx64 " %s: set %s tensor[%zu] (pixel %zu, channel %zu) = %.9g, "
				      "reference %.9g",
				      seed0, what, sets[s]->isa, q, q / 3, q % 3, t[q], ref[q]);
			ck_assert_msg(u8[q] == ref_u8[q],
				      "seed 0x%016" PRIx64 " %s: set %s uint8 tensor[%zu] = %d, reference %d", seed0,
				      what, sets[s]->isa, q, u8[q], ref_u8[q]);
		}
	}
	free(ref);
	free(t);
	free(scratch);
	free(ref_u8);
	free(u8);
	return used;
}

static void describe(char *buf, size_t size, enum vigil_pixel_format fmt, int w, int h, int pad, int mis, int fill,
		     const struct pcase *c)
{
	snprintf(buf, size, "%s %dx%d pad %d misalign %d fill %d -> %d %s %s roi (%g,%g,%g,%g)", vigil_format_name(fmt),
		 w, h, pad, mis, fill, c->dst, c->stretch ? "stretch" : "letterbox",
		 c->sampling == VIGIL_SAMPLING_CORNER ? "corner" : "centre", c->roi.x, c->roi.y, c->roi.w, c->roi.h);
}

/* Odd sizes 1..N, every format, both samplings, letterbox and stretch, paddings and misalignments. */
START_TEST(test_sets_sweep)
{
	static const int widths[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 67, 130 };
	static const int heights[] = { 1, 2, 3, 4, 5, 9, 17, 40 };
	static const int dsts[] = { 1, 2, 7, 16, 17, 33, 40 };
	uint64_t seed = seed0;
	int cases = 0, kernel_cases = 0;

	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		for (size_t hi = 0; hi < sizeof(heights) / sizeof(heights[0]); hi++)
			for (int fi = 0; fi < N_FORMATS; fi++) {
				const int w = widths[wi], h = heights[hi];
				const int pad = (int)(tu_rand(&seed) % 3) * 5, mis = (int)(tu_rand(&seed) % 4);
				struct kframe k;
				struct pcase c;
				char what[200];

				c.dst = dsts[tu_rand(&seed) % (sizeof(dsts) / sizeof(dsts[0]))];
				c.stretch = (int)(tu_rand(&seed) % 2);
				c.sampling = tu_rand(&seed) % 2 ? VIGIL_SAMPLING_CORNER : VIGIL_SAMPLING_PIXEL_CENTER;
				memset(&c.roi, 0, sizeof(c.roi));
				if (tu_rand(&seed) % 3 == 0) { /* a ROI inside, or clipped by, the frame */
					c.roi.x = (float)(tu_rand(&seed) % 2000) / 1000.0f * w - 0.5f * w;
					c.roi.y = (float)(tu_rand(&seed) % 2000) / 1000.0f * h - 0.5f * h;
					c.roi.w = (float)(tu_rand(&seed) % 1000 + 1) / 1000.0f * w + 0.3f;
					c.roi.h = (float)(tu_rand(&seed) % 1000 + 1) / 1000.0f * h + 0.3f;
					if (c.roi.x + c.roi.w <= 0.0f || c.roi.x >= (float)w ||
					    c.roi.y + c.roi.h <= 0.0f || c.roi.y >= (float)h)
						memset(&c.roi, 0, sizeof(c.roi));
				}
				kframe_make(&k, all_formats[fi], w, h, pad, mis, FILL_RANDOM, &seed);
				describe(what, sizeof(what), all_formats[fi], w, h, pad, mis, FILL_RANDOM, &c);
				kernel_cases += compare_sets(&k, &c, what) > 0;
				kframe_free(&k);
				cases++;
			}
	/* the kernels (not only the generic rows) ran in most cases: frames 8 wide and more, 3 rows and more */
	printf("prep_kernels: %d sweep cases, %d through the row kernels\n", cases, kernel_cases);
	ck_assert_int_gt(kernel_cases, cases / 3);
}
END_TEST

/* Extreme values and camera-sized frames: 0, 255 and 0/255 stripes drive the colour clamps to both ends. */
START_TEST(test_sets_extremes)
{
	static const int sizes[][2] = { { 640, 480 }, { 321, 241 }, { 1920, 1080 } };
	const struct vigil_prep_kernels *const *sets;
	const int n_sets = vigil_prep_kernel_sets(&sets);
	uint64_t seed = seed0 ^ 0xabcdef;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (int fi = 0; fi < N_FORMATS; fi++)
			for (int fill = 0; fill < FILL_COUNT; fill++) {
				const struct pcase cases[] = {
					{ 192, 0, VIGIL_SAMPLING_PIXEL_CENTER, { 0, 0, 0, 0 } },
					{ 128, 0, VIGIL_SAMPLING_CORNER, { 10.5f, 7.25f, 200.0f, 151.0f } },
					{ 300, 1, VIGIL_SAMPLING_PIXEL_CENTER, { 0, 0, 0, 0 } },
				};
				struct kframe k;

				if (s == 2 && fill != FILL_RANDOM)
					continue;
				kframe_make(&k, all_formats[fi], sizes[s][0], sizes[s][1], (int)s * 3, (int)s,
					    (enum fill)fill, &seed);
				for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
					char what[200];
					int used;

					describe(what, sizeof(what), all_formats[fi], sizes[s][0], sizes[s][1],
						 (int)s * 3, (int)s, fill, &cases[c]);
					used = compare_sets(&k, &cases[c], what);
					/* every set but GRAY8's ran its kernels on these frames */
					ck_assert_msg(used == (has_kernel(all_formats[fi]) ? n_sets : 0),
						      "%s: %d of %d sets used their kernels", what, used, n_sets);
				}
				kframe_free(&k);
			}
}
END_TEST

/* The set the dispatcher chose is the best this CPU runs, and VIGIL_FORCE_C=1 chooses the reference. */
START_TEST(test_sets_dispatch)
{
	const struct vigil_prep_kernels *const *sets;
	const int n_sets = vigil_prep_kernel_sets(&sets);
	const char *force = getenv("VIGIL_FORCE_C");

	ck_assert_int_ge(n_sets, 1);
	ck_assert_ptr_eq(vigil_prep_kernels(), sets[0]);
	ck_assert_str_eq(sets[n_sets - 1]->isa, "c");
	for (int s = 0; s < n_sets; s++) {
		ck_assert(sets[s]->nv12 && sets[s]->i420 && sets[s]->yuv422 && sets[s]->rgb && sets[s]->f32_to_u8);
		printf("prep_kernels: set %s\n", sets[s]->isa);
	}
	if (force && strcmp(force, "1") == 0)
		ck_assert_str_eq(vigil_prep_kernels()->isa, "c");
#if defined(__x86_64__)
	else if (vigil_cpu_features() & VIGIL_CPU_AVX512)
		ck_assert_str_eq(vigil_prep_kernels()->isa, "avx512");
	else if (vigil_cpu_features() & VIGIL_CPU_AVX2)
		ck_assert_str_eq(vigil_prep_kernels()->isa, "avx2");
#elif defined(__aarch64__)
	else
		ck_assert_str_eq(vigil_prep_kernels()->isa, "neon");
#endif
}
END_TEST

static Suite *prep_kernels_suite(void)
{
	Suite *s = suite_create("prep_kernels");
	TCase *tc = tcase_create("sets");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_sets_dispatch);
	tcase_add_test(tc, test_sets_sweep);
	tcase_add_test(tc, test_sets_extremes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setup_seed();
	sr = srunner_create(prep_kernels_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
