/* SPDX-License-Identifier: Apache-2.0
 * Preprocessing and frame description tests: letterbox geometry, exact identity at model resolution,
 * letterbox bands, an independent per-pixel reference over random frames of every format, YUV against
 * RGB through tests/convert.c, colorimetry, and frame validation errors. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "preprocess.h"
#include "testutil.h"
#include "vigil/vigil.h"

/* MediaPipe's face model normalisation: v / 127.5 - 1. */
#define NS (1.0f / 127.5f)
#define NB (-1.0f)

static const enum vigil_pixel_format all_formats[] = {
	VIGIL_FORMAT_NV12, VIGIL_FORMAT_I420, VIGIL_FORMAT_YUY2,  VIGIL_FORMAT_UYVY,
	VIGIL_FORMAT_RGB,  VIGIL_FORMAT_BGR,  VIGIL_FORMAT_RGBA,  VIGIL_FORMAT_BGRA,
	VIGIL_FORMAT_RGBX, VIGIL_FORMAT_BGRX, VIGIL_FORMAT_GRAY8,
};
#define N_FORMATS ((int)(sizeof(all_formats) / sizeof(all_formats[0])))

static int is_yuv(enum vigil_pixel_format f)
{
	return f == VIGIL_FORMAT_NV12 || f == VIGIL_FORMAT_I420 || f == VIGIL_FORMAT_YUY2 || f == VIGIL_FORMAT_UYVY;
}

static uint8_t *random_rgb(int w, int h, uint64_t seed)
{
	uint8_t *rgb = malloc((size_t)w * h * 3);

	ck_assert(rgb != NULL);
	seed = seed * 2654435761u + 1;
	for (size_t k = 0; k < (size_t)w * h * 3; k++)
		rgb[k] = (uint8_t)(tu_rand(&seed) >> 56);
	return rgb;
}

/* Smooth, colourful test image: chroma subsampling loses little on it. */
static uint8_t *smooth_rgb(int w, int h)
{
	uint8_t *rgb = malloc((size_t)w * h * 3);

	ck_assert(rgb != NULL);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = rgb + ((size_t)y * w + x) * 3;

			p[0] = (uint8_t)lrint(128 + 100 * sin(x / 23.0 + y / 41.0));
			p[1] = (uint8_t)lrint(128 + 90 * cos(x / 37.0 - y / 29.0));
			p[2] = (uint8_t)lrint(128 + 110 * sin(x / 31.0 + y / 19.0 + 1.0));
		}
	return rgb;
}

/* Runs preprocessing into a freshly allocated tensor; fails the test on a configure error. */
static float *run_pp(int dst, const struct vigil_frame *f, const struct vigil_rect *roi)
{
	struct vigil_preprocess pp;
	float *t = malloc((size_t)dst * dst * 3 * sizeof(float));
	int err;

	ck_assert(t != NULL);
	ck_assert_int_eq(vigil_preprocess_init(&pp, dst, dst, NS, NB), 0);
	ck_assert_int_eq(vigil_frame_validate(f), 0);
	err = vigil_preprocess_configure(&pp, f, roi, VIGIL_SAMPLING_PIXEL_CENTER);
	ck_assert_msg(err == 0, "configure: %d %s", err, vigil_last_error());
	vigil_preprocess_run(&pp, f, t);
	vigil_preprocess_free(&pp);
	return t;
}

/* ---------------------------------------------------------------------------------------------- */
/* Frame descriptions */

START_TEST(test_format_names)
{
	static const char *const names[] = { "NV12", "I420", "YUY2", "UYVY", "RGB",  "BGR",
					     "RGBA", "BGRA", "RGBx", "BGRx", "GRAY8" };

	for (int f = 0; f < VIGIL_FORMAT_COUNT; f++) {
		ck_assert_str_eq(vigil_format_name((enum vigil_pixel_format)f), names[f]);
		ck_assert_int_eq(vigil_format_from_name(names[f]), f);
	}
	ck_assert_ptr_null(vigil_format_name(VIGIL_FORMAT_COUNT));
	ck_assert_ptr_null(vigil_format_name((enum vigil_pixel_format) - 1));
	ck_assert_int_eq(vigil_format_from_name("nv12"), VIGIL_FORMAT_NV12);
	ck_assert_int_eq(vigil_format_from_name("RGBX"), VIGIL_FORMAT_RGBX);
	ck_assert_int_eq(vigil_format_from_name("bgrx"), VIGIL_FORMAT_BGRX);
	ck_assert_int_eq(vigil_format_from_name("YUYV"), VIGIL_FORMAT_YUY2);
	ck_assert_int_eq(vigil_format_from_name("yuyv"), VIGIL_FORMAT_YUY2);
	ck_assert_int_eq(vigil_format_from_name("Gray8"), VIGIL_FORMAT_GRAY8);
	ck_assert_int_eq(vigil_format_from_name("NV21"), -1);
	ck_assert_int_eq(vigil_format_from_name("NV12 "), -1);
	ck_assert_int_eq(vigil_format_from_name(""), -1);
	ck_assert_int_eq(vigil_format_from_name(NULL), -1);
}
END_TEST

START_TEST(test_frame_init_packed)
{
	/* 3x3: chroma is 2x2 for 4:2:0, 2 pairs per row for 4:2:2 */
	static const struct {
		enum vigil_pixel_format f;
		long size;
		int strides[3];
	} cases[] = {
		{ VIGIL_FORMAT_NV12, 9 + 2 * 4, { 3, 4, 0 } }, { VIGIL_FORMAT_I420, 9 + 4 + 4, { 3, 2, 2 } },
		{ VIGIL_FORMAT_YUY2, 3 * 8, { 8, 0, 0 } },     { VIGIL_FORMAT_UYVY, 3 * 8, { 8, 0, 0 } },
		{ VIGIL_FORMAT_RGB, 27, { 9, 0, 0 } },         { VIGIL_FORMAT_BGR, 27, { 9, 0, 0 } },
		{ VIGIL_FORMAT_RGBA, 36, { 12, 0, 0 } },       { VIGIL_FORMAT_BGRA, 36, { 12, 0, 0 } },
		{ VIGIL_FORMAT_RGBX, 36, { 12, 0, 0 } },       { VIGIL_FORMAT_BGRX, 36, { 12, 0, 0 } },
		{ VIGIL_FORMAT_GRAY8, 9, { 3, 0, 0 } },
	};
	uint8_t buf[64];
	struct vigil_frame f;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&f, 0x5a, sizeof(f));
		ck_assert_int_eq(vigil_frame_init_packed(&f, cases[k].f, 3, 3, NULL), cases[k].size);
		for (int p = 0; p < 3; p++) {
			ck_assert_ptr_null(f.planes[p]);
			ck_assert_int_eq(f.strides[p], cases[k].strides[p]);
		}
		ck_assert_int_eq(vigil_frame_init_packed(&f, cases[k].f, 3, 3, buf), cases[k].size);
		ck_assert_int_eq(f.format, cases[k].f);
		ck_assert_int_eq(f.width, 3);
		ck_assert_int_eq(f.height, 3);
		ck_assert_int_eq(f.colorimetry, VIGIL_COLOR_BT601_LIMITED);
		ck_assert(f.pts_ns == -1);
		ck_assert_ptr_eq(f.planes[0], buf);
		ck_assert_int_eq(vigil_frame_validate(&f), 0);
	}
	vigil_frame_init_packed(&f, VIGIL_FORMAT_NV12, 3, 3, buf);
	ck_assert_ptr_eq(f.planes[1], buf + 9);
	ck_assert_ptr_null(f.planes[2]);
	vigil_frame_init_packed(&f, VIGIL_FORMAT_I420, 3, 3, buf);
	ck_assert_ptr_eq(f.planes[1], buf + 9);
	ck_assert_ptr_eq(f.planes[2], buf + 13);

	/* the largest frame: 4 * 16384^2 bytes */
	ck_assert_int_eq(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGBA, 16384, 16384, NULL), 4L * 16384 * 16384);
	ck_assert_int_eq(vigil_frame_init_packed(NULL, VIGIL_FORMAT_NV12, 1920, 1080, NULL), 1920 * 1080 * 3 / 2);

	ck_assert_int_eq(vigil_frame_init_packed(&f, VIGIL_FORMAT_COUNT, 3, 3, NULL), VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "pixel format 11"));
	ck_assert_int_eq(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, 0, 3, NULL), VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "0x3"));
	ck_assert_int_eq(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, 3, VIGIL_MAX_FRAME_SIDE + 1, NULL),
			 VIGIL_EFORMAT);
}
END_TEST

START_TEST(test_validate_errors)
{
	static uint8_t buf[16384 * 4];
	struct vigil_frame f;

	ck_assert_int_eq(vigil_frame_validate(NULL), -EINVAL);

	vigil_frame_init_packed(&f, VIGIL_FORMAT_NV12, 319, 5, buf);
	ck_assert_int_eq(vigil_frame_validate(&f), 0);
	f.strides[1] = 100;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(),
			 "NV12 plane 1 stride 100 is less than the 320 bytes a 319-pixel row needs");
	f.strides[1] = 320;
	f.planes[1] = NULL;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "NV12 plane 1 is NULL (the format has 2 planes)");

	vigil_frame_init_packed(&f, VIGIL_FORMAT_I420, 319, 5, buf);
	f.strides[2] = 159;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(),
			 "I420 plane 2 stride 159 is less than the 160 bytes a 319-pixel row needs");
	f.strides[2] = 160;
	f.planes[2] = NULL;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "I420 plane 2 is NULL (the format has 3 planes)");

	vigil_frame_init_packed(&f, VIGIL_FORMAT_YUY2, 319, 5, buf);
	f.strides[0] = 638;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(),
			 "YUY2 plane 0 stride 638 is less than the 640 bytes a 319-pixel row needs");

	vigil_frame_init_packed(&f, VIGIL_FORMAT_RGBX, 319, 5, buf);
	f.strides[0] = 319 * 3;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(),
			 "RGBx plane 0 stride 957 is less than the 1276 bytes a 319-pixel row needs");
	f.strides[0] = -1276; /* bottom-up images are not supported */
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	f.strides[0] = 1276;
	f.planes[0] = NULL;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "RGBx plane 0 is NULL (the format has 1 planes)");

	vigil_frame_init_packed(&f, VIGIL_FORMAT_GRAY8, 16, 16, buf);
	f.width = 0;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "GRAY8 frame size 0x16 is outside 1x1..16384x16384");
	f.width = 16;
	f.height = -4;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "GRAY8 frame size 16x-4 is outside 1x1..16384x16384");
	f.height = VIGIL_MAX_FRAME_SIDE + 1;
	f.strides[0] = VIGIL_MAX_FRAME_SIDE + 1;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "GRAY8 frame size 16x16385 is outside 1x1..16384x16384");
	f.height = 16;
	f.strides[0] = 16;

	f.format = VIGIL_FORMAT_COUNT;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "pixel format 11 is not one of the 11 supported formats");
	f.format = (enum vigil_pixel_format) - 3;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "pixel format -3 is not one of the 11 supported formats");

	/* colorimetry matters only where there is YUV to convert */
	vigil_frame_init_packed(&f, VIGIL_FORMAT_UYVY, 16, 16, buf);
	f.colorimetry = (enum vigil_colorimetry)4;
	ck_assert_int_eq(vigil_frame_validate(&f), VIGIL_EFORMAT);
	ck_assert_str_eq(vigil_last_error(), "UYVY frame colorimetry 4 is not one of the 4 supported (0..3)");
	vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, 16, 16, buf);
	f.colorimetry = (enum vigil_colorimetry)4;
	ck_assert_int_eq(vigil_frame_validate(&f), 0);

	/* unused planes are ignored, whatever they hold */
	vigil_frame_init_packed(&f, VIGIL_FORMAT_BGRA, 16, 16, buf);
	f.planes[1] = NULL;
	f.strides[2] = -7;
	ck_assert_int_eq(vigil_frame_validate(&f), 0);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Letterbox */

static struct vigil_letterbox letterbox(int w, int h, int dst, const struct vigil_rect *roi, int expect)
{
	struct vigil_preprocess pp;
	struct vigil_letterbox lb;
	struct vigil_frame f;

	vigil_frame_init_packed(&f, VIGIL_FORMAT_NV12, w, h, NULL);
	ck_assert_int_eq(vigil_preprocess_init(&pp, dst, dst, NS, NB), 0);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, roi, VIGIL_SAMPLING_PIXEL_CENTER), expect);
	if (expect == 0) {
		ck_assert_int_eq(pp.configured, 1);
		ck_assert_int_eq(pp.format, VIGIL_FORMAT_NV12);
		ck_assert_int_eq(pp.width, w);
		ck_assert_int_eq(pp.height, h);
	} else {
		ck_assert_int_eq(pp.configured, 0);
	}
	lb = pp.lb;
	vigil_preprocess_free(&pp);
	return lb;
}

static void check_lb(const struct vigil_letterbox *lb, float ox, float oy, float side, float scale, int x0, int y0,
		     int x1, int y1)
{
	ck_assert_float_eq(lb->origin_x, ox);
	ck_assert_float_eq(lb->origin_y, oy);
	ck_assert_float_eq(lb->side, side);
	ck_assert_float_eq_tol(lb->scale, scale, 1e-6f * scale);
	ck_assert_int_eq(lb->roi_x0, x0);
	ck_assert_int_eq(lb->roi_y0, y0);
	ck_assert_int_eq(lb->roi_x1, x1);
	ck_assert_int_eq(lb->roi_y1, y1);
}

START_TEST(test_letterbox_geometry)
{
	struct vigil_letterbox lb;
	struct vigil_rect r;

	lb = letterbox(1920, 1080, 192, NULL, 0); /* landscape: bands above and below */
	check_lb(&lb, 0, -420, 1920, 10, 0, 0, 1920, 1080);
	lb = letterbox(1080, 1920, 192, NULL, 0); /* portrait: bands left and right */
	check_lb(&lb, -420, 0, 1920, 10, 0, 0, 1080, 1920);
	lb = letterbox(640, 640, 128, NULL, 0); /* square: no band */
	check_lb(&lb, 0, 0, 640, 5, 0, 0, 640, 640);
	lb = letterbox(641, 479, 128, NULL, 0); /* odd difference: half-pixel origin */
	check_lb(&lb, 0, -81, 641, 641.0f / 128, 0, 0, 641, 479);
	lb = letterbox(640, 479, 128, NULL, 0);
	check_lb(&lb, 0, -80.5f, 640, 5, 0, 0, 640, 479);
	lb = letterbox(1, 1, 192, NULL, 0);
	check_lb(&lb, 0, 0, 1, 1.0f / 192, 0, 0, 1, 1);

	/* ROI rounded out to whole pixels: [100, 401) x [200, 351), 301 x 151 */
	r = (struct vigil_rect){ 100.3f, 200.7f, 300.2f, 150.1f };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 100, 125, 301, 301.0f / 192, 100, 200, 401, 351);
	/* ROI partly outside: clipped to [0, 150) x [0, 50) */
	r = (struct vigil_rect){ -50, -50, 200, 100 };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 0, -50, 150, 150.0f / 192, 0, 0, 150, 50);
	/* clipped on the far sides: [1800, 1920) x [1000, 1080) */
	r = (struct vigil_rect){ 1800, 1000, 500, 500 };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 1800, 980, 120, 120.0f / 192, 1800, 1000, 1920, 1080);
	/* a sub-pixel ROI still covers the pixel it touches */
	r = (struct vigil_rect){ 10.25f, 20.5f, 0.5f, 0.25f };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 10, 20, 1, 1.0f / 192, 10, 20, 11, 21);
	/* w or h <= 0 selects the whole frame */
	r = (struct vigil_rect){ 100, 100, 0, 50 };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 0, -420, 1920, 10, 0, 0, 1920, 1080);
	r = (struct vigil_rect){ 100, 100, 50, -1 };
	lb = letterbox(1920, 1080, 192, &r, 0);
	check_lb(&lb, 0, -420, 1920, 10, 0, 0, 1920, 1080);
}
END_TEST

START_TEST(test_roi_errors)
{
	static const struct vigil_rect bad[] = {
		{ 1920, 0, 10, 10 },                                        /* starts at the right edge */
		{ -30, 0, 30, 10 },                                         /* ends at the left edge */
		{ 0, 1080.5f, 10, 10 },                                     /* below */
		{ 5000, 5000, 1e9f, 1e9f }, { -1e30f, -1e30f, 1e9f, 1e9f }, /* far outside, no integer overflow */
	};
	struct vigil_rect r;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		letterbox(1920, 1080, 192, &bad[k], VIGIL_EFORMAT);
		ck_assert_msg(strstr(vigil_last_error(), "does not overlap the 1920x1080 frame") != NULL,
			      "case %zu: %s", k, vigil_last_error());
	}
	r = (struct vigil_rect){ NAN, 0, 10, 10 };
	letterbox(1920, 1080, 192, &r, VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "is not finite"));
	r = (struct vigil_rect){ 0, 0, INFINITY, 10 };
	letterbox(1920, 1080, 192, &r, VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "is not finite"));
	r = (struct vigil_rect){ 0, 0, 10, NAN };
	letterbox(1920, 1080, 192, &r, VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "is not finite"));
	/* a huge ROI around the frame is just the frame */
	r = (struct vigil_rect){ -1e30f, -1e30f, 3e30f, 3e30f };
	letterbox(1920, 1080, 192, &r, 0);
}
END_TEST

START_TEST(test_init_errors)
{
	struct vigil_preprocess pp;
	struct vigil_frame f;
	float t[4 * 4 * 3];
	uint8_t px[3 * 4 * 4];

	ck_assert_int_eq(vigil_preprocess_init(&pp, 192, 128, NS, NB), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "square"));
	ck_assert_ptr_null(pp.luma_x);
	vigil_preprocess_free(&pp); /* a failed init leaves a state that free accepts */
	ck_assert_int_eq(vigil_preprocess_init(&pp, 0, 0, NS, NB), -EINVAL);
	ck_assert_int_eq(vigil_preprocess_init(&pp, 5000, 5000, NS, NB), -EINVAL);
	ck_assert_int_eq(vigil_preprocess_init(&pp, 4, 4, NAN, NB), -EINVAL);
	ck_assert_int_eq(vigil_preprocess_init(NULL, 4, 4, NS, NB), -EINVAL);
	vigil_preprocess_free(NULL);

	/* configure on an uninitialised state, or with bad frame geometry */
	vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, 4, 4, px);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER), -EINVAL);
	ck_assert_int_eq(vigil_preprocess_init(&pp, 4, 4, NS, NB), 0);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, NULL, NULL, VIGIL_SAMPLING_PIXEL_CENTER), -EINVAL);
	f.width = 0;
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER), VIGIL_EFORMAT);
	f.width = 4;
	f.format = VIGIL_FORMAT_COUNT;
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER), VIGIL_EFORMAT);
	f.format = VIGIL_FORMAT_RGB;

	/* run before configure, or with a frame other than the configured one: black, no reads */
	memset(px, 255, sizeof(px));
	vigil_preprocess_run(&pp, &f, t);
	for (int k = 0; k < 4 * 4 * 3; k++)
		ck_assert_float_eq(t[k], NB);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER), 0);
	vigil_preprocess_run(&pp, &f, t);
	for (int k = 0; k < 4 * 4 * 3; k++)
		ck_assert_float_eq_tol(t[k], 1.0f, 1e-6f);
	f.width = 3;
	vigil_preprocess_run(&pp, &f, t);
	for (int k = 0; k < 4 * 4 * 3; k++)
		ck_assert_float_eq(t[k], NB);
	vigil_preprocess_free(&pp);
	ck_assert_ptr_null(pp.luma_x);
	vigil_preprocess_free(&pp);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Identity and bands */

/* At model resolution every tensor pixel samples exactly one frame pixel (MediaPipe's golden tests feed
 * 128x128 and 192x192 images): no resampling error is allowed. */
START_TEST(test_identity)
{
	static const int sizes[] = { 128, 192, 1, 7 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int n = sizes[s];
		uint8_t *rgb = random_rgb(n, n, (uint64_t)n);

		for (int k = 0; k < N_FORMATS; k++) {
			enum vigil_pixel_format fmt = all_formats[k];
			struct tc_frame tf;
			float *t;

			if (is_yuv(fmt))
				continue;
			ck_assert_int_eq(tc_convert(rgb, n, n, n * 3, fmt, k, &tf), 0);
			t = run_pp(n, &tf.frame, NULL);
			for (int i = 0; i < n * n; i++) {
				const uint8_t *p = rgb + (size_t)i * 3;

				for (int c = 0; c < 3; c++) {
					/* GRAY8 replicates its single channel */
					int v = fmt == VIGIL_FORMAT_GRAY8
						    ? tf.planes[0][(i / n) * tf.frame.strides[0] + i % n]
						    : p[c];

					ck_assert_msg(fabs(t[i * 3 + c] - (v / 127.5 - 1.0)) <= 1e-6,
						      "%s %dx%d pixel %d channel %d: %.8f, expected %.8f",
						      vigil_format_name(fmt), n, n, i, c, t[i * 3 + c],
						      v / 127.5 - 1.0);
				}
			}
			free(t);
			tc_frame_free(&tf);
		}
		free(rgb);
	}
}
END_TEST

/* Tensor rows [42, 150) hold the 1080 frame rows (10 per tensor row), the rest is exactly black. */
START_TEST(test_constant_bands)
{
	const int W = 1920, H = 1080, D = 192;
	uint8_t *rgb = malloc((size_t)W * H * 3);
	struct tc_frame tf;
	float *t;

	ck_assert(rgb != NULL);
	for (size_t k = 0; k < (size_t)W * H; k++) {
		rgb[k * 3] = 200;
		rgb[k * 3 + 1] = 100;
		rgb[k * 3 + 2] = 50;
	}
	for (int k = 0; k < N_FORMATS; k++) {
		enum vigil_pixel_format fmt = all_formats[k];
		float expect[3] = { 200 / 127.5f - 1, 100 / 127.5f - 1, 50 / 127.5f - 1 };
		int portrait = k % 2; /* half of the formats go through the transposed geometry */
		int w = portrait ? H : W, h = portrait ? W : H;

		if (is_yuv(fmt)) {
			/* the constant YUV that the converter stores, back through BT.601 limited */
			uint8_t y, u, v;

			tc_rgb_to_yuv601(200, 100, 50, &y, &u, &v);
			expect[0] = (float)(fmin(fmax(1.164383 * (y - 16) + 1.596027 * (v - 128), 0), 255) / 127.5 - 1);
			expect[1] =
			    (float)(fmin(fmax(1.164383 * (y - 16) - 0.391762 * (u - 128) - 0.812968 * (v - 128), 0),
					 255) /
					127.5 -
				    1);
			expect[2] = (float)(fmin(fmax(1.164383 * (y - 16) + 2.017232 * (u - 128), 0), 255) / 127.5 - 1);
		} else if (fmt == VIGIL_FORMAT_GRAY8) {
			float g = (float)(lrint(0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 127.5 - 1);

			expect[0] = expect[1] = expect[2] = g;
		}
		ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, fmt, 0, &tf), 0);
		t = run_pp(D, &tf.frame, NULL);
		for (int i = 0; i < D; i++)
			for (int j = 0; j < D; j++) {
				int along = portrait ? j : i;
				int content = along >= 42 && along < 150;

				for (int c = 0; c < 3; c++) {
					float v = t[(i * D + j) * 3 + c];

					if (content)
						ck_assert_msg(fabsf(v - expect[c]) <= 1e-5f, "%s (%d,%d,%d): %f != %f",
							      vigil_format_name(fmt), i, j, c, v, expect[c]);
					else
						ck_assert_msg(v == -1.0f,
							      "%s band (%d,%d,%d) = %.9f, expected exactly -1",
							      vigil_format_name(fmt), i, j, c, v);
				}
			}
		free(t);
		tc_frame_free(&tf);
	}
	free(rgb);
}
END_TEST

/* Positions exactly half a pixel outside the edge samples are still inside (the texture edge itself): a 4x1
 * frame at scale 1 has pad 1.5, so tensor rows 1 and 2 sample y = -0.5 and y = 0.5 and both show the
 * frame's row; rows 0 and 3 are black. Likewise for a 1x4 frame's columns. */
START_TEST(test_band_edges)
{
	const uint8_t px[4 * 3] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120 };

	for (int transposed = 0; transposed < 2; transposed++) {
		struct vigil_frame f;
		float *t;

		vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, transposed ? 1 : 4, transposed ? 4 : 1, px);
		t = run_pp(4, &f, NULL);
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++) {
				int across = transposed ? j : i, along = transposed ? i : j;

				for (int c = 0; c < 3; c++) {
					float expect =
					    across == 1 || across == 2 ? px[along * 3 + c] / 127.5f - 1 : -1.0f;

					ck_assert_msg(fabsf(t[(i * 4 + j) * 3 + c] - expect) <= 1e-6f,
						      "%s (%d,%d,%d): %f, expected %f", transposed ? "1x4" : "4x1", i,
						      j, c, t[(i * 4 + j) * 3 + c], expect);
				}
			}
		free(t);
	}
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Reference implementation: the documented semantics, per pixel, straight from the formulas, with no
 * tables and nothing shared with pipeline/preprocess.c. */

struct ref_matrix {
	double ys, yo, rv, gu, gv, bu;
};

/* Published coefficients (ITU-R BT.601 / BT.709, limited and full range). */
static const struct ref_matrix ref_matrices[4] = {
	[VIGIL_COLOR_BT601_LIMITED] = { 1.164384, 16, 1.596027, 0.391762, 0.812968, 2.017232 },
	[VIGIL_COLOR_BT601_FULL] = { 1.0, 0, 1.402, 0.344136, 0.714136, 1.772 },
	[VIGIL_COLOR_BT709_LIMITED] = { 1.164384, 16, 1.792741, 0.213249, 0.532909, 2.112402 },
	[VIGIL_COLOR_BT709_FULL] = { 1.0, 0, 1.5748, 0.187324, 0.468124, 1.8556 },
};

/* Channel c (0 Y / R, 1 U / G, 2 V / B) of the sample at (x, y) in that channel's own grid. */
static int ref_get(const struct vigil_frame *f, int c, int x, int y)
{
	const uint8_t *p0 = f->planes[0] + (size_t)y * f->strides[0];

	switch (f->format) {
	case VIGIL_FORMAT_NV12:
		return c == 0 ? p0[x] : f->planes[1][(size_t)y * f->strides[1] + 2 * x + (c - 1)];
	case VIGIL_FORMAT_I420:
		return c == 0 ? p0[x] : f->planes[c][(size_t)y * f->strides[c] + x];
	case VIGIL_FORMAT_YUY2: /* Y0 U Y1 V */
		return c == 0 ? p0[2 * x] : p0[4 * x + (c == 1 ? 1 : 3)];
	case VIGIL_FORMAT_UYVY: /* U Y0 V Y1 */
		return c == 0 ? p0[2 * x + 1] : p0[4 * x + (c == 1 ? 0 : 2)];
	case VIGIL_FORMAT_RGB:
		return p0[3 * x + c];
	case VIGIL_FORMAT_BGR:
		return p0[3 * x + 2 - c];
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_RGBX:
		return p0[4 * x + c];
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_BGRX:
		return p0[4 * x + 2 - c];
	default: /* GRAY8 */
		return p0[x];
	}
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Bilinear sample of channel c at (px, py), taps clamped to [x0, x1] x [y0, y1] (inclusive). */
static double ref_bilinear(const struct vigil_frame *f, int c, double px, double py, int x0, int x1, int y0, int y1)
{
	int xl = (int)floor(px), yl = (int)floor(py);
	double fx = px - xl, fy = py - yl;
	int xa = clampi(xl, x0, x1), xb = clampi(xl + 1, x0, x1);
	int ya = clampi(yl, y0, y1), yb = clampi(yl + 1, y0, y1);

	return (1 - fx) * (1 - fy) * ref_get(f, c, xa, ya) + fx * (1 - fy) * ref_get(f, c, xb, ya) +
	       (1 - fx) * fy * ref_get(f, c, xa, yb) + fx * fy * ref_get(f, c, xb, yb);
}

static double clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

static void reference(const struct vigil_frame *f, const struct vigil_rect *roi, int dst, float *out)
{
	int x0 = 0, y0 = 0, x1 = f->width, y1 = f->height, side;
	double ox, oy, scale;

	if (roi && roi->w > 0 && roi->h > 0) {
		x0 = (int)fmax(floor(roi->x), 0);
		y0 = (int)fmax(floor(roi->y), 0);
		x1 = (int)fmin(ceil((double)roi->x + roi->w), f->width);
		y1 = (int)fmin(ceil((double)roi->y + roi->h), f->height);
	}
	side = x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0;
	ox = x0 - (side - (x1 - x0)) / 2.0;
	oy = y0 - (side - (y1 - y0)) / 2.0;
	scale = (double)side / dst;

	for (int i = 0; i < dst; i++)
		for (int j = 0; j < dst; j++) {
			double sx = (j + 0.5) * scale - 0.5 + ox, sy = (i + 0.5) * scale - 0.5 + oy;
			double rgb[3] = { 0, 0, 0 };
			float *o = out + ((size_t)i * dst + j) * 3;

			if (sx >= x0 - 0.5 && sx <= x1 - 0.5 && sy >= y0 - 0.5 && sy <= y1 - 0.5) {
				if (is_yuv(f->format)) {
					const struct ref_matrix *m = &ref_matrices[f->colorimetry];
					int v420 = f->format == VIGIL_FORMAT_NV12 || f->format == VIGIL_FORMAT_I420;
					double cx = sx / 2, cy = v420 ? (sy + 0.5) / 2 - 0.5 : sy;
					int cy0 = v420 ? y0 / 2 : y0, cy1 = v420 ? (y1 - 1) / 2 : y1 - 1;
					double y = ref_bilinear(f, 0, sx, sy, x0, x1 - 1, y0, y1 - 1);
					double u = ref_bilinear(f, 1, cx, cy, x0 / 2, (x1 - 1) / 2, cy0, cy1) - 128;
					double v = ref_bilinear(f, 2, cx, cy, x0 / 2, (x1 - 1) / 2, cy0, cy1) - 128;

					rgb[0] = clamp255(m->ys * (y - m->yo) + m->rv * v);
					rgb[1] = clamp255(m->ys * (y - m->yo) - m->gu * u - m->gv * v);
					rgb[2] = clamp255(m->ys * (y - m->yo) + m->bu * u);
				} else {
					for (int c = 0; c < 3; c++)
						rgb[c] = ref_bilinear(f, c, sx, sy, x0, x1 - 1, y0, y1 - 1);
				}
			}
			for (int c = 0; c < 3; c++)
				o[c] = (float)(rgb[c] / 127.5 - 1.0);
		}
}

/* Random bytes in every plane byte, padding included. */
static void randomise(struct tc_frame *tf, uint64_t *seed)
{
	for (int p = 0; p < 3; p++) {
		int rows = p > 0 ? (tf->frame.height + 1) / 2 : tf->frame.height;

		if (!tf->planes[p])
			continue;
		for (size_t k = 0; k < (size_t)rows * tf->frame.strides[p]; k++)
			tf->planes[p][k] = (uint8_t)(tu_rand(seed) >> 56);
	}
}

START_TEST(test_reference_random)
{
	static const int sizes[][2] = { { 1, 1 },  { 2, 1 },  { 1, 2 },   { 3, 5 },     { 5, 3 },
					{ 17, 9 }, { 9, 17 }, { 64, 36 }, { 641, 479 }, { 480, 641 } };
	static const int dsts[] = { 128, 17 };
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int cases = 0;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0], h = sizes[s][1];
		uint8_t *rgb = random_rgb(w, h, s);
		const struct vigil_rect rois[] = {
			{ 0, 0, 0, 0 },                                                   /* whole frame */
			{ w * 0.25f + 0.3f, h * 0.1f - 0.2f, w * 0.5f + 0.1f, h * 0.7f }, /* interior, odd edges */
			{ -w * 0.3f, h * 0.5f, (float)w, (float)h },                      /* clipped */
			{ 1, 1, w - 2.5f, h - 1.5f },                                     /* odd start for chroma */
		};

		for (int k = 0; k < N_FORMATS; k++)
			for (int pad = 0; pad <= 7; pad += 7)
				for (size_t r = 0; r < sizeof(rois) / sizeof(rois[0]); r++) {
					const struct vigil_rect *roi = &rois[r];
					int dst = dsts[(s + r) % 2];
					struct tc_frame tf;
					float *t, *ref;
					double worst = 0;
					int at = -1;

					if (r == 3 && (w < 4 || h < 4))
						continue;
					ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, all_formats[k], pad, &tf), 0);
					randomise(&tf, &seed);
					tf.frame.colorimetry = (enum vigil_colorimetry)((s + r + pad) % 4);
					ref = malloc((size_t)dst * dst * 3 * sizeof(float));
					ck_assert(ref != NULL);
					reference(&tf.frame, roi, dst, ref);
					t = run_pp(dst, &tf.frame, roi);
					for (int q = 0; q < dst * dst * 3; q++)
						if (fabs(t[q] - ref[q]) > worst) {
							worst = fabs(t[q] - ref[q]);
							at = q;
						}
					ck_assert_msg(
					    worst <= 1e-4,
					    "%s %dx%d pad %d roi %zu colorimetry %d -> %d: tensor[%d] = %.6f, "
					    "reference %.6f",
					    vigil_format_name(all_formats[k]), w, h, pad, r, tf.frame.colorimetry, dst,
					    at, t[at], ref[at]);
					free(t);
					free(ref);
					tc_frame_free(&tf);
					cases++;
				}
		free(rgb);
	}
	ck_assert_int_eq(cases,
			 770); /* 10 sizes x 11 formats x 2 paddings x 4 ROIs, less the 5 sizes too small for ROI 3 */
}
END_TEST

/* Chroma siting by hand on a 4x4 NV12 frame at scale 1 (tensor pixel (j, i) samples frame pixel (j, i)):
 * chroma is left-sited horizontally (cx = x / 2) and centred vertically (cy = (y + 0.5) / 2 - 0.5). */
START_TEST(test_chroma_siting)
{
	uint8_t buf[16 + 8] = { 0 };
	struct vigil_frame f;
	float *t;

	vigil_frame_init_packed(&f, VIGIL_FORMAT_NV12, 4, 4, buf);
	f.colorimetry = VIGIL_COLOR_BT601_FULL;
	memset(buf, 128, 16);
	/* U = [[0, 100], [200, 40]], V = 128 */
	buf[16] = 0;
	buf[18] = 100;
	buf[20] = 200;
	buf[22] = 40;
	buf[17] = buf[19] = buf[21] = buf[23] = 128;
	t = run_pp(4, &f, NULL);
	/* B = Y + 1.772 (U - 128). Expected U at frame pixel (x, y):
	 * (0,0): cx 0, cy -0.25 -> clamped row 0 -> 0
	 * (1,0): cx 0.5, cy -0.25 -> rows clamp to 0: (0 + 100) / 2 = 50
	 * (1,1): cx 0.5, cy 0.25 -> 0.75 * 50 + 0.25 * (200 + 40) / 2 = 67.5
	 * (2,2): cx 1, cy 0.75 -> 0.25 * 100 + 0.75 * 40 = 55
	 * (3,3): cx 1.5 -> clamped to column 1, cy 1.25 -> clamped to row 1 -> 40 */
	static const int px[][2] = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 } };
	static const double u[] = { 0, 50, 67.5, 55, 40 };

	for (int k = 0; k < 5; k++) {
		double b = fmin(fmax(128 + 1.772 * (u[k] - 128), 0), 255) / 127.5 - 1;
		float got = t[(px[k][1] * 4 + px[k][0]) * 3 + 2];

		ck_assert_msg(fabs(got - b) < 1e-5, "pixel (%d,%d): B %f, expected %f", px[k][0], px[k][1], got, b);
	}
	free(t);
}
END_TEST

/* Each colorimetry against the published numbers, on constant frames. */
START_TEST(test_colorimetry)
{
	static const struct {
		enum vigil_colorimetry c;
		uint8_t y, u, v;
		double r, g, b;
	} cases[] = {
		{ VIGIL_COLOR_BT601_LIMITED, 16, 128, 128, 0, 0, 0 },
		{ VIGIL_COLOR_BT601_LIMITED, 235, 128, 128, 255, 255, 255 },
		{ VIGIL_COLOR_BT601_LIMITED, 81, 90, 240, 254.4399, 0, 0 }, /* red's codes */
		{ VIGIL_COLOR_BT601_FULL, 100, 60, 200, 200.944, 71.9835, 0 },
		{ VIGIL_COLOR_BT709_LIMITED, 63, 102, 240, 255, 0.5846, 0 }, /* R and B clamped */
		{ VIGIL_COLOR_BT709_LIMITED, 126, 128, 128, 128.0822, 128.0822, 128.0822 },
		{ VIGIL_COLOR_BT709_FULL, 100, 60, 200, 213.3856, 79.0331, 0 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint8_t buf[2 * 2 * 2];
		struct vigil_frame f;
		float *t;

		vigil_frame_init_packed(&f, VIGIL_FORMAT_YUY2, 2, 2, buf);
		f.colorimetry = cases[k].c;
		for (int q = 0; q < 8; q += 4) {
			buf[q] = buf[q + 2] = cases[k].y;
			buf[q + 1] = cases[k].u;
			buf[q + 3] = cases[k].v;
		}
		t = run_pp(2, &f, NULL);
		for (int p = 0; p < 4; p++) {
			const double e[3] = { cases[k].r, cases[k].g, cases[k].b };

			for (int c = 0; c < 3; c++)
				ck_assert_msg(fabs((t[p * 3 + c] + 1) * 127.5 - e[c]) < 0.05,
					      "case %zu channel %d: %.4f, expected %.4f", k, c,
					      (t[p * 3 + c] + 1) * 127.5, e[c]);
		}
		free(t);
	}
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Formats against each other through tests/convert.c */

/* The same smooth image in every format: RGB-like formats give bit-identical tensors; GRAY8 is the luma of
 * the RGB tensor within the converter's rounding; YUV formats stay within YUV_TOL_LEVELS (0..255 levels) of
 * RGB everywhere and YUV_MEAN_TOL_LEVELS on average over the tensor. Measured: at most 4.22 levels, mean
 * 0.53..0.69; the causes are 8-bit code rounding (~0.6 levels through Y, ~1 through U/V), 2x2 chroma
 * averaging, and the converter's centred chroma read as MPEG-2 left-sited (half a pixel). A wrong
 * coefficient, swapped U/V or a misplaced chroma row costs tens of levels. */
#define YUV_TOL_LEVELS 5.0
#define YUV_MEAN_TOL_LEVELS 1.0
START_TEST(test_formats_vs_rgb)
{
	static const int sizes[][2] = { { 640, 480 }, { 641, 479 }, { 300, 517 } };
	const struct vigil_rect roi = { 101.5f, 37.2f, 150.3f, 201.1f };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int w = sizes[s][0], h = sizes[s][1];
		uint8_t *rgb = smooth_rgb(w, h);

		for (int use_roi = 0; use_roi < 2; use_roi++) {
			const struct vigil_rect *r = use_roi ? &roi : NULL;
			struct tc_frame base;
			float *ref;

			ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, VIGIL_FORMAT_RGB, 0, &base), 0);
			ref = run_pp(192, &base.frame, r);
			for (int k = 0; k < N_FORMATS; k++) {
				enum vigil_pixel_format fmt = all_formats[k];
				struct tc_frame tf;
				double worst = 0, sum = 0;
				float *t;

				ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, fmt, 3 * k, &tf), 0);
				t = run_pp(192, &tf.frame, r);
				for (int q = 0; q < 192 * 192; q++) {
					const float *a = t + q * 3, *b = ref + q * 3;

					if (is_yuv(fmt)) {
						for (int c = 0; c < 3; c++) {
							worst = fmax(worst, fabs(a[c] - b[c]) * 127.5);
							sum += fabs(a[c] - b[c]) * 127.5;
						}
					} else if (fmt == VIGIL_FORMAT_GRAY8) {
						/* the converter rounds luma once; bilinear mixing is linear */
						double l = 0.299 * b[0] + 0.587 * b[1] + 0.114 * b[2];

						ck_assert(a[0] == a[1] && a[1] == a[2]);
						worst = fmax(worst, fabs(a[0] - l) * 127.5);
					} else {
						for (int c = 0; c < 3; c++)
							ck_assert_msg(a[c] == b[c], "%s tensor[%d] %.9f != RGB %.9f",
								      vigil_format_name(fmt), q * 3 + c, a[c], b[c]);
					}
				}
				ck_assert_msg(worst <= (fmt == VIGIL_FORMAT_GRAY8 ? 0.5 + 1e-3 : YUV_TOL_LEVELS),
					      "%s %dx%d roi %d: %.3f levels from RGB", vigil_format_name(fmt), w, h,
					      use_roi, worst);
				ck_assert_msg(sum / (192 * 192 * 3) <= YUV_MEAN_TOL_LEVELS,
					      "%s %dx%d roi %d: mean %.3f levels from RGB", vigil_format_name(fmt), w,
					      h, use_roi, sum / (192 * 192 * 3));
				free(t);
				tc_frame_free(&tf);
			}
			free(ref);
			tc_frame_free(&base);
		}
		free(rgb);
	}
}
END_TEST

/* The converter itself: known BT.601 codes and the exact plane layout, including odd sizes. */
START_TEST(test_convert)
{
	const uint8_t rgb[2 * 3 * 3] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128 };
	struct tc_frame tf;
	uint8_t y, u, v;

	tc_rgb_to_yuv601(255, 0, 0, &y, &u, &v);
	ck_assert_int_eq(y, 81);
	ck_assert_int_eq(u, 90);
	ck_assert_int_eq(v, 240);
	tc_rgb_to_yuv601(255, 255, 255, &y, &u, &v);
	ck_assert_int_eq(y, 235);
	ck_assert_int_eq(u, 128);
	ck_assert_int_eq(v, 128);
	tc_rgb_to_yuv601(0, 0, 0, &y, &u, &v);
	ck_assert_int_eq(y, 16);

	/* 3x2 image, NV12 with padding 2: Y rows 5 bytes, one UV row pair of 2 samples */
	ck_assert_int_eq(tc_convert(rgb, 3, 2, 9, VIGIL_FORMAT_NV12, 2, &tf), 0);
	ck_assert_int_eq(tf.frame.strides[0], 5);
	ck_assert_int_eq(tf.frame.strides[1], 6);
	ck_assert_ptr_null(tf.planes[2]);
	ck_assert_int_eq(tf.planes[0][0], 81);
	ck_assert_int_eq(tf.planes[0][3], 0xA5);
	ck_assert_int_eq(tf.planes[0][5 + 1], 16);
	/* last chroma column covers only x = 2: blue (41, 240, 110) and grey (126, 128, 128) */
	ck_assert_int_eq(tf.planes[1][2], 184);
	ck_assert_int_eq(tf.planes[1][3], 119);
	ck_assert_int_eq(tf.planes[1][4], 0xA5);
	ck_assert_int_eq(vigil_frame_validate(&tf.frame), 0);
	tc_frame_free(&tf);
	ck_assert_ptr_null(tf.planes[0]);
	tc_frame_free(&tf);
	tc_frame_free(NULL);

	ck_assert_int_eq(tc_convert(rgb, 3, 2, 9, VIGIL_FORMAT_UYVY, 0, &tf), 0);
	ck_assert_int_eq(tf.frame.strides[0], 8);
	ck_assert_int_eq(tf.planes[0][1], 81);  /* Y0 red */
	ck_assert_int_eq(tf.planes[0][3], 145); /* Y1 green */
	ck_assert_int_eq(tf.planes[0][5], 41);  /* Y0 blue, repeated as Y1 */
	ck_assert_int_eq(tf.planes[0][7], 41);
	tc_frame_free(&tf);

	ck_assert_int_eq(tc_convert(rgb, 3, 2, 9, VIGIL_FORMAT_BGRX, 0, &tf), 0);
	ck_assert_int_eq(tf.planes[0][0], 0);
	ck_assert_int_eq(tf.planes[0][2], 255);
	ck_assert_int_eq(tf.planes[0][3], 0);
	tc_frame_free(&tf);

	ck_assert_int_eq(tc_convert(rgb, 3, 2, 8, VIGIL_FORMAT_RGB, 0, &tf), -EINVAL);
	ck_assert_int_eq(tc_convert(rgb, 0, 2, 9, VIGIL_FORMAT_RGB, 0, &tf), -EINVAL);
	ck_assert_int_eq(tc_convert(rgb, 3, 2, 9, VIGIL_FORMAT_COUNT, 0, &tf), -EINVAL);
	ck_assert_ptr_null(tf.planes[0]);
}
END_TEST

/* Corner mapping (MediaPipe's CPU path): tensor pixel j samples frame position origin + j * scale. With an
 * integer downscale every sample lands on a pixel, so the tensor holds exactly those pixels, where the
 * pixel-centre mapping averages neighbours. */
START_TEST(test_corner_sampling)
{
	const int w = 256, h = 256, dst = 128;
	uint8_t *rgb = random_rgb(w, h, 77);
	struct vigil_frame f;
	struct vigil_preprocess pp;
	float *t = malloc((size_t)dst * dst * 3 * sizeof(float));

	ck_assert_int_gt(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, w, h, rgb), 0);
	ck_assert_int_eq(vigil_preprocess_init(&pp, dst, dst, NS, NB), 0);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_CORNER), 0);
	vigil_preprocess_run(&pp, &f, t);
	for (int i = 0; i < dst; i++)
		for (int j = 0; j < dst; j++)
			for (int c = 0; c < 3; c++)
				ck_assert_float_eq_tol(t[((size_t)i * dst + j) * 3 + c],
						       rgb[((size_t)(2 * i) * w + 2 * j) * 3 + c] * NS + NB, 1e-6);
	/* the pixel-centre mapping samples (2j + 0.5, 2i + 0.5): the mean of a 2x2 block */
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER), 0);
	vigil_preprocess_run(&pp, &f, t);
	ck_assert_float_eq_tol(t[(5 * dst + 7) * 3 + 1],
			       (rgb[(10 * w + 14) * 3 + 1] + rgb[(10 * w + 15) * 3 + 1] + rgb[(11 * w + 14) * 3 + 1] +
				rgb[(11 * w + 15) * 3 + 1]) /
				       4.0f * NS +
				   NB,
			       1e-5);
	ck_assert_int_eq(vigil_preprocess_configure(&pp, &f, NULL, (enum vigil_sampling)2), -EINVAL);
	vigil_preprocess_free(&pp);
	free(t);
	free(rgb);
}
END_TEST

static Suite *preprocess_suite(void)
{
	Suite *s = suite_create("preprocess");
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, test_format_names);
	tcase_add_test(tc, test_frame_init_packed);
	tcase_add_test(tc, test_validate_errors);
	tcase_add_test(tc, test_convert);
	suite_add_tcase(s, tc);

	tc = tcase_create("letterbox");
	tcase_add_test(tc, test_letterbox_geometry);
	tcase_add_test(tc, test_roi_errors);
	tcase_add_test(tc, test_init_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("sampling");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_constant_bands);
	tcase_add_test(tc, test_band_edges);
	tcase_add_test(tc, test_chroma_siting);
	tcase_add_test(tc, test_colorimetry);
	tcase_add_test(tc, test_reference_random);
	tcase_add_test(tc, test_formats_vs_rgb);
	tcase_add_test(tc, test_corner_sampling);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *s = preprocess_suite();

	return tu_run(s, CK_FORK);
}
