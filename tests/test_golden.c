/* SPDX-License-Identifier: Apache-2.0
 * Detection parity with Google's MediaPipe face detector (tests/data/golden/golden_faces.json):
 * - square model-resolution inputs (no resampling): same faces, score within 1e-3, box and keypoints
 *   within 5e-4 of the image size;
 * - full-size photos (golden.full_size, MediaPipe's pixel-centre resampling): every face scoring >= 0.6
 *   is found with IoU >= 0.95 and score within 0.01, and we report no extra face scoring >= 0.6;
 * - sergey.png matches MediaPipe's own expected detection within 1e-3. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "testutil.h"
#include "vigil/vigil.h"

static json_t *golden;

static json_t *golden_root(void)
{
	json_error_t err;

	if (!golden) {
		golden = json_load_file(tu_data_path("golden/golden_faces.json"), 0, &err);
		ck_assert_msg(golden != NULL, "golden_faces.json: %s (line %d)", err.text, err.line);
	}
	return golden;
}

struct box {
	double x, y, w, h, score;
	double kp[6][2];
};

/* MediaPipe's detections of one input for one model, normalised to the image. */
static int golden_faces(const char *section, const char *input, const char *model, struct box *out, int max)
{
	json_t *dets = json_object_get(
	    json_object_get(json_object_get(json_object_get(json_object_get(golden_root(), "golden"), section), input),
			    "models"),
	    model);
	int n;

	ck_assert_msg(dets != NULL, "golden.%s[%s].models.%s missing", section, input, model);
	dets = json_object_get(dets, "detections");
	n = (int)json_array_size(dets);
	ck_assert_int_le(n, max);
	for (int i = 0; i < n; i++) {
		json_t *d = json_array_get(dets, i), *b = json_object_get(d, "bbox_norm"),
		       *kps = json_object_get(d, "keypoints_norm");

		out[i].score = json_number_value(json_object_get(d, "score"));
		out[i].x = json_number_value(json_object_get(b, "xmin"));
		out[i].y = json_number_value(json_object_get(b, "ymin"));
		out[i].w = json_number_value(json_object_get(b, "width"));
		out[i].h = json_number_value(json_object_get(b, "height"));
		ck_assert_int_eq(json_array_size(kps), 6);
		for (int k = 0; k < 6; k++) {
			out[i].kp[k][0] = json_number_value(json_array_get(json_array_get(kps, k), 0));
			out[i].kp[k][1] = json_number_value(json_array_get(json_array_get(kps, k), 1));
		}
	}
	return n;
}

/* Our detections of an image file, normalised to the image. */
static int our_faces(const char *rel, const char *model_name, float threshold, enum vigil_sampling sampling,
		     struct box *out, int max)
{
	struct vigil_image img = { 0 };
	struct vigil_model *model;
	struct vigil_detector *det;
	struct vigil_detector_config cfg;
	struct vigil_frame frame = { 0 };
	const struct vigil_detections *res;
	int ret = vigil_image_load(tu_data_path(rel), &img), n;

	ck_assert_msg(ret == 0, "%s: %s", rel, vigil_last_error());
	ck_assert_int_eq(vigil_model_open(model_name, &model), 0);
	vigil_detector_config_init(&cfg);
	cfg.threshold = threshold;
	cfg.sampling = sampling;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), 0);
	frame.format = VIGIL_FORMAT_RGB;
	frame.width = img.width;
	frame.height = img.height;
	frame.planes[0] = img.rgb;
	frame.strides[0] = img.stride;
	frame.pts_ns = -1;
	ck_assert_int_eq(vigil_detector_detect(det, &frame, &res), 0);
	n = (int)res->count;
	ck_assert_int_le(n, max);
	for (int i = 0; i < n; i++) {
		const struct vigil_detection *d = &res->items[i];

		out[i].score = d->score;
		out[i].x = d->x / img.width;
		out[i].y = d->y / img.height;
		out[i].w = d->w / img.width;
		out[i].h = d->h / img.height;
		for (int k = 0; k < 6; k++) {
			out[i].kp[k][0] = d->keypoints[k].x / img.width;
			out[i].kp[k][1] = d->keypoints[k].y / img.height;
		}
	}
	vigil_detector_destroy(det);
	vigil_model_close(model);
	vigil_image_free(&img);
	return n;
}

static double iou(const struct box *a, const struct box *b)
{
	double ix = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
	double iy = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);

	if (ix <= 0 || iy <= 0)
		return 0;
	return ix * iy / (a->w * a->h + b->w * b->h - ix * iy);
}

static int best_match(const struct box *g, const struct box *ours, int n, double *best_iou)
{
	int best = -1;

	*best_iou = 0;
	for (int i = 0; i < n; i++) {
		double v = iou(g, &ours[i]);

		if (v > *best_iou) {
			*best_iou = v;
			best = i;
		}
	}
	return best;
}

/* ---- square model-resolution inputs ---- */

static const char *const square_names[] = { "sample1", "sample2", "sample3",     "sample4",
					    "sample5", "sample6", "gray640x480", "sample1_flip" };

START_TEST(test_model_resolution)
{
	const int size = _i < 8 ? 128 : 192;
	const char *name = square_names[_i % 8];
	const char *model = size == 128 ? "face-short" : "face-full";
	char input[96], rel[128];
	struct box g[16], o[16];
	int ng, no;
	double max_score = 0, max_box = 0, max_kp = 0;

	snprintf(input, sizeof(input), "sq%d/%s_%d.png", size, name, size);
	snprintf(rel, sizeof(rel), "golden/%s", input);
	ng = golden_faces("model_resolution", input, size == 128 ? "short" : "full_dense", g, 16);
	no = our_faces(rel, model, -1.0f, VIGIL_SAMPLING_PIXEL_CENTER, o, 16);
	ck_assert_msg(no == ng, "%s with %s: %d faces, MediaPipe finds %d", input, model, no, ng);
	for (int i = 0; i < ng; i++) {
		double v;
		int m = best_match(&g[i], o, no, &v);

		ck_assert_msg(m >= 0, "%s: MediaPipe face %d not found", input, i);
		max_score = fmax(max_score, fabs(o[m].score - g[i].score));
		max_box = fmax(max_box, fmax(fmax(fabs(o[m].x - g[i].x), fabs(o[m].y - g[i].y)),
					     fmax(fabs(o[m].w - g[i].w), fabs(o[m].h - g[i].h))));
		for (int k = 0; k < 6; k++)
			max_kp = fmax(max_kp,
				      fmax(fabs(o[m].kp[k][0] - g[i].kp[k][0]), fabs(o[m].kp[k][1] - g[i].kp[k][1])));
	}
	printf("golden %-28s %-10s faces %d  max |diff| score %.1e box %.1e keypoints %.1e\n", input, model, ng,
	       max_score, max_box, max_kp);
	ck_assert_msg(max_score <= 1e-3, "%s: score differs by %.2e", input, max_score);
	ck_assert_msg(max_box <= 5e-4, "%s: box differs by %.2e", input, max_box);
	ck_assert_msg(max_kp <= 5e-4, "%s: keypoints differ by %.2e", input, max_kp);
}
END_TEST

/* ---- full-size photos ---- */

struct full_case {
	const char *golden_input, *file;
};

static const struct full_case full_cases[] = {
	{ "full/sample1.jpg", "faces/sample1.jpg" },
	{ "full/sample2.jpg", "faces/sample2.jpg" },
	{ "full/sample3.jpg", "faces/sample3.jpg" },
	{ "full/sample4.jpg", "faces/sample4.jpg" },
	{ "full/sample5.jpg", "faces/sample5.jpg" },
	{ "full/sample6.jpg", "faces/sample6.jpg" },
	{ "full/gray640x480.png", "golden/full/gray640x480.png" },
	{ "full/sample1_flip.png", "golden/full/sample1_flip.png" },
};

START_TEST(test_full_size)
{
	const struct full_case *c = &full_cases[_i % 8];
	const int short_model = _i >= 8;
	const char *model = short_model ? "face-short" : "face-full";
	struct box g[16], o[64];
	int ng, no, found = 0;
	double min_iou = 1, max_score = 0;

	ng = golden_faces("full_size", c->golden_input, short_model ? "short" : "full_dense", g, 16);
	/* each model's own threshold, as in MediaPipe's graphs: a lower one would let weaker candidates
	 * into the weighted NMS clusters and move the boxes */
	no = our_faces(c->file, model, -1.0f, VIGIL_SAMPLING_PIXEL_CENTER, o, 64);
	for (int i = 0; i < ng; i++) {
		double v;
		int m;

		if (g[i].score < 0.6)
			continue;
		m = best_match(&g[i], o, no, &v);
		ck_assert_msg(m >= 0 && v >= 0.95, "%s %s: MediaPipe face %d (score %.3f) best IoU %.3f < 0.95",
			      c->golden_input, model, i, g[i].score, v);
		ck_assert_msg(fabs(o[m].score - g[i].score) <= 0.01, "%s %s: face %d score %.4f vs MediaPipe %.4f",
			      c->golden_input, model, i, o[m].score, g[i].score);
		min_iou = fmin(min_iou, v);
		max_score = fmax(max_score, fabs(o[m].score - g[i].score));
		found++;
	}
	for (int i = 0; i < no; i++) {
		double v;

		if (o[i].score < 0.6)
			continue;
		best_match(&o[i], g, ng, &v);
		ck_assert_msg(v >= 0.5, "%s %s: extra face at %.3f,%.3f scoring %.3f that MediaPipe does not report",
			      c->golden_input, model, o[i].x, o[i].y, o[i].score);
	}
	printf("golden %-28s %-10s faces >= 0.6: %d  min IoU %.4f  max |score diff| %.1e\n", c->golden_input, model,
	       found, found ? min_iou : 1.0, max_score);
}
END_TEST

/* ---- MediaPipe's own unit-test golden ---- */

START_TEST(test_sergey)
{
	static const double want_box[4] = { 0.21061149, 0.29150677, 0.5657704, 0.5657307 };
	static const double want_kp[6][2] = { { 0.37730268, 0.44038114 }, { 0.6250565, 0.44425336 },
					      { 0.50687385, 0.5767085 },  { 0.50173956, 0.6991459 },
					      { 0.2383742, 0.49879026 },  { 0.7404449, 0.50361776 } };
	struct box o[8];
	/* MediaPipe's test runs its CPU graph, whose resampling maps pixel corners */
	int n = our_faces("sergey/sergey.png", "face-short", -1.0f, VIGIL_SAMPLING_CORNER, o, 8);

	ck_assert_int_eq(n, 1);
	ck_assert_float_eq_tol(o[0].score, 0.92843366, 1e-3);
	ck_assert_float_eq_tol(o[0].x, want_box[0], 1e-3);
	ck_assert_float_eq_tol(o[0].y, want_box[1], 1e-3);
	ck_assert_float_eq_tol(o[0].w, want_box[2], 1e-3);
	ck_assert_float_eq_tol(o[0].h, want_box[3], 1e-3);
	for (int k = 0; k < 6; k++) {
		ck_assert_float_eq_tol(o[0].kp[k][0], want_kp[k][0], 1e-3);
		ck_assert_float_eq_tol(o[0].kp[k][1], want_kp[k][1], 1e-3);
	}
	printf("golden sergey.png face-short: score %.6f (MediaPipe 0.92843366), xmin %.6f ymin %.6f w %.6f h %.6f\n",
	       o[0].score, o[0].x, o[0].y, o[0].w, o[0].h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("mediapipe");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_model_resolution, 0, 16);
	tcase_add_loop_test(tc, test_full_size, 0, 16);
	tcase_add_test(tc, test_sergey);
	suite_add_tcase(s, tc);
	int status = tu_run(s, CK_NOFORK); /* the golden JSON is parsed once */

	json_decref(golden);
	return status;
}
