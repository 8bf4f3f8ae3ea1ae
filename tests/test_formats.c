/* SPDX-License-Identifier: Apache-2.0
 * Every pixel format finds the same faces: a photo is run through the default model as RGB, then converted
 * (tests/convert.c) into each of the 11 formats, tight, with padded strides and cropped to an odd size, and
 * each result must match the RGB one face for face (GRAY8: see GRAY_MIN_IOU). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "image_io.h"
#include "testutil.h"
#include "vigil/vigil.h"

#define MAX_FACES 64
/* YUV formats against RGB; measured worst 0.988 (NV12, sample1). The RGB-like formats give bit-identical
 * tensors, hence identical faces. */
#define MIN_IOU 0.98f

/* GRAY8 feeds R = G = B = luma to a colour model, which is a different input, not a lossless one. Measured
 * with the default threshold on faces/sample1..6 (RGB -> GRAY8): scores fall by up to 0.28 (sample1 0.855 ->
 * 0.574, so that face drops below 0.6; sample4 loses a 0.798 face entirely), boxes of the faces it does find
 * move (IoU 0.86..0.94 with RGB on sample1 and sample3). No score cut
 * keeps "same faces" true (a 0.855 RGB face is lost while 0.675 ones stay), so for GRAY8 the test asserts
 * what holds and still catches a broken gray path: every face found in gray is one of the RGB faces
 * (IoU >= GRAY_MIN_IOU; measured >= 0.859 on sample1 and sample3 in all three variants) and at least half
 * of the RGB faces are found (measured: 2 of 3 on sample1, 3 of 3 on sample3). */
#define GRAY_MIN_IOU 0.8f

static const char *const images[] = { "faces/sample1.jpg", "faces/sample3.jpg" };

struct faces {
	size_t n;
	struct vigil_detection d[MAX_FACES];
};

static float iou(const struct vigil_detection *a, const struct vigil_detection *b)
{
	float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
	float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
	float inter = fmaxf(x1 - x0, 0.0f) * fmaxf(y1 - y0, 0.0f);
	float uni = a->w * a->h + b->w * b->h - inter;

	return uni > 0.0f ? inter / uni : 0.0f;
}

static void detect(struct vigil_detector *det, const struct vigil_frame *f, struct faces *out)
{
	const struct vigil_detections *res;
	int err = vigil_detector_detect(det, f, &res);

	ck_assert_msg(err == 0, "%s %dx%d: detect failed: %s (%s)", vigil_format_name(f->format), f->width, f->height,
		      vigil_strerror(err), vigil_last_error());
	ck_assert_int_eq(res->frame_width, f->width);
	ck_assert_int_eq(res->frame_height, f->height);
	ck_assert_uint_le(res->count, MAX_FACES);
	out->n = res->count;
	memcpy(out->d, res->items, res->count * sizeof(res->items[0]));
}

/* Matches every face of @p a to a distinct face of @p b (best IoU first) and checks the IoU. Returns the worst
 * IoU (1 when @p a is empty). */
static float match(const struct faces *a, const char *a_name, const struct faces *b, const char *b_name, float min_iou,
		   const char *what)
{
	int used[MAX_FACES] = { 0 };
	float worst = 1.0f;

	for (size_t i = 0; i < a->n; i++) {
		float best = 0.0f;
		int at = -1;

		for (size_t k = 0; k < b->n; k++) {
			float v = iou(&a->d[i], &b->d[k]);

			if (!used[k] && v > best) {
				best = v;
				at = (int)k;
			}
		}
		ck_assert_msg(
		    at >= 0 && best >= min_iou,
		    "%s: %s face %zu (score %.3f at %.1f,%.1f %.1fx%.1f) has no %s match: best IoU %.4f (need "
		    "%.2f)",
		    what, a_name, i, a->d[i].score, a->d[i].x, a->d[i].y, a->d[i].w, a->d[i].h, b_name, best, min_iou);
		used[at] = 1;
		worst = fminf(worst, best);
	}
	return worst;
}

/* Runs one variant of the photo: the RGB frame of it, then all 11 formats. */
static void check_variant(struct vigil_detector *det, const uint8_t *rgb, int w, int h, int stride, int pad,
			  const char *name)
{
	struct faces ref, got;
	struct tc_frame tf;
	char what[160];

	ck_assert_int_eq(tc_convert(rgb, w, h, stride, VIGIL_FORMAT_RGB, pad, &tf), 0);
	detect(det, &tf.frame, &ref);
	tc_frame_free(&tf);
	/* the photos hold several clearly visible faces: an empty reference would prove nothing */
	ck_assert_msg(ref.n >= 1, "%s: no face found in the RGB frame", name);

	for (int f = 0; f < VIGIL_FORMAT_COUNT; f++) {
		int gray = f == VIGIL_FORMAT_GRAY8;
		float worst;

		ck_assert_int_eq(tc_convert(rgb, w, h, stride, (enum vigil_pixel_format)f, pad, &tf), 0);
		detect(det, &tf.frame, &got);
		snprintf(what, sizeof(what), "%s %dx%d pad %d as %s", name, w, h, pad,
			 vigil_format_name((enum vigil_pixel_format)f));
		if (gray) {
			worst = match(&got, "GRAY8", &ref, "RGB", GRAY_MIN_IOU, what);
			ck_assert_msg(2 * got.n >= ref.n, "%s: %zu faces, RGB found %zu", what, got.n, ref.n);
		} else {
			ck_assert_msg(got.n == ref.n, "%s: %zu faces, RGB found %zu", what, got.n, ref.n);
			worst = match(&ref, "RGB", &got, vigil_format_name((enum vigil_pixel_format)f), MIN_IOU, what);
			for (size_t i = 0; f >= VIGIL_FORMAT_RGB && i < ref.n; i++)
				ck_assert_msg(got.d[i].score == ref.d[i].score && got.d[i].x == ref.d[i].x &&
						  got.d[i].y == ref.d[i].y && got.d[i].w == ref.d[i].w &&
						  got.d[i].h == ref.d[i].h,
					      "%s: face %zu differs from RGB's, expected the identical result", what,
					      i);
		}
		if (getenv("VIGIL_TEST_VERBOSE"))
			fprintf(stderr, "%s: %zu faces (RGB %zu), worst IoU %.4f\n", what, got.n, ref.n, worst);
		tc_frame_free(&tf);
	}
}

START_TEST(test_formats_same_faces)
{
	const char *rel = images[_i];
	struct vigil_model *model = NULL;
	struct vigil_detector *det = NULL;
	struct vigil_image img;
	int err;

	err = vigil_image_load(tu_data_path(rel), &img);
	ck_assert_msg(err == 0, "cannot load %s: %s (%s)", rel, vigil_strerror(err), vigil_last_error());
	ck_assert_int_eq(vigil_model_open(vigil_default_model(), &model), 0);
	ck_assert_str_eq(vigil_default_model(), "face-full");
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);

	check_variant(det, img.rgb, img.width, img.height, img.stride, 0, rel);
	/* odd padding: rows start at unaligned addresses */
	check_variant(det, img.rgb, img.width, img.height, img.stride, 37, rel);
	/* odd crop, offset by one pixel: odd chroma sizes, a different letterbox */
	check_variant(det, img.rgb + img.stride + 3, img.width - 3, (img.height - 2) | 1, img.stride, 0, rel);

	vigil_detector_destroy(det);
	vigil_model_close(model);
	vigil_image_free(&img);
}
END_TEST

static Suite *formats_suite(void)
{
	Suite *s = suite_create("formats");
	TCase *tc = tcase_create("same_faces");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_formats_same_faces, 0, (int)(sizeof(images) / sizeof(images[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *s = formats_suite();

	return tu_run(s, CK_FORK);
}
