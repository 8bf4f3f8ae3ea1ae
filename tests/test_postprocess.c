/* SPDX-License-Identifier: Apache-2.0
 * Postprocessing alone: the TFLite interpreter's raw outputs through our anchors, decode and weighted
 * NMS must give the reference decoder's detections (reference_tensors/<set>/<tag>.detections.json). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "postprocess.h"
#include "refdata.h"
#include "testutil.h"

static const struct vigil_ssd_anchor_config short_anchors = { 128, 4, { 8, 16, 16, 16 }, 0.5f, 2 };
static const struct vigil_ssd_anchor_config full_anchors = { 192, 1, { 4 }, 0.5f, 1 };

START_TEST(test_anchor_layout)
{
	struct vigil_anchor a[2304];

	ck_assert_int_eq(vigil_ssd_anchors(&short_anchors, a, 2304), 896);
	/* first layer: 16x16 cells, 2 anchors each, centres at (x + 0.5) / 16 */
	ck_assert_float_eq_tol(a[0].x, 0.5f / 16, 1e-7);
	ck_assert_float_eq_tol(a[1].x, 0.5f / 16, 1e-7);
	ck_assert_float_eq_tol(a[2].x, 1.5f / 16, 1e-7);
	ck_assert_float_eq_tol(a[511].y, 15.5f / 16, 1e-7);
	/* merged stride-16 layers: 8x8 cells, 6 anchors each */
	ck_assert_float_eq_tol(a[512].x, 0.5f / 8, 1e-7);
	ck_assert_float_eq_tol(a[517].x, 0.5f / 8, 1e-7);
	ck_assert_float_eq_tol(a[518].x, 1.5f / 8, 1e-7);
	ck_assert_float_eq_tol(a[895].x, 7.5f / 8, 1e-7);
	ck_assert_float_eq_tol(a[895].y, 7.5f / 8, 1e-7);

	ck_assert_int_eq(vigil_ssd_anchors(&full_anchors, a, 2304), 2304);
	ck_assert_float_eq_tol(a[47].x, 47.5f / 48, 1e-7);
	ck_assert_float_eq_tol(a[48].y, 1.5f / 48, 1e-7);
	ck_assert_int_eq(vigil_ssd_anchors(&full_anchors, a, 2303), -22 /* -EINVAL */);
}
END_TEST

START_TEST(test_logit_threshold)
{
	ck_assert_float_eq_tol(vigil_logit(0.5f), 0.0f, 1e-7);
	ck_assert_float_eq_tol(vigil_logit(0.6f), logf(1.5f), 1e-6);
	ck_assert(isinf(vigil_logit(0.0f)) && vigil_logit(0.0f) < 0);
	ck_assert(isinf(vigil_logit(1.0f)) && vigil_logit(1.0f) > 0);
}
END_TEST

static struct vigil_candidate box(float score, float x0, float y0, float x1, float y1)
{
	struct vigil_candidate c = { .score = score, .xmin = x0, .ymin = y0, .xmax = x1, .ymax = y1 };

	return c;
}

START_TEST(test_weighted_nms_by_hand)
{
	struct vigil_candidate in[4], out[4];
	int scratch[8];

	/* two overlapping boxes (IoU 0.6) merge into their score-weighted mean; a far one stays */
	in[0] = box(0.6f, 0.0f, 0.0f, 1.0f, 1.0f);
	in[1] = box(0.9f, 0.25f, 0.0f, 1.25f, 1.0f);
	in[2] = box(0.7f, 5.0f, 5.0f, 6.0f, 6.0f);
	in[3] = box(0.8f, 0.0f, 0.0f, 1.0f, 1.0f);
	in[3].xmin = 10;
	in[3].xmax = 11;
	ck_assert_float_eq_tol(vigil_iou(&in[0], &in[1]), 0.75f / 1.25f, 1e-6);
	ck_assert_int_eq(vigil_weighted_nms(in, 4, 0.3f, scratch, out, 4), 3);
	ck_assert_float_eq_tol(out[0].score, 0.9f, 1e-7);
	ck_assert_float_eq_tol(out[0].xmin, (0.6f * 0.0f + 0.9f * 0.25f) / 1.5f, 1e-6);
	ck_assert_float_eq_tol(out[0].xmax, (0.6f * 1.0f + 0.9f * 1.25f) / 1.5f, 1e-6);
	ck_assert_float_eq_tol(out[1].score, 0.8f, 1e-7);
	ck_assert_float_eq_tol(out[2].score, 0.7f, 1e-7);
	/* the cap keeps the best */
	ck_assert_int_eq(vigil_weighted_nms(in, 4, 0.3f, scratch, out, 1), 1);
	ck_assert_float_eq_tol(out[0].score, 0.9f, 1e-7);
	/* IoU exactly at the threshold does not merge (MediaPipe: similarity > threshold) */
	ck_assert_int_eq(vigil_weighted_nms(in, 2, 0.6f, scratch, out, 4), 2);
	ck_assert_int_eq(vigil_weighted_nms(in, 0, 0.3f, scratch, out, 4), 0);
}
END_TEST

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_number(v), "key %s missing in reference detections", k);
	return json_number_value(v);
}

START_TEST(test_reference_decoding)
{
	const struct refset *r = &refsets[_i];
	char rel[256];
	struct vigil_anchor *anchors = calloc(r->anchors, sizeof(*anchors));
	struct vigil_candidate *cand = calloc(r->anchors, sizeof(*cand)), out[64];
	int *scratch = calloc(2 * r->anchors, sizeof(int));
	float *boxes, *logits;
	json_t *root, *dets, *size;
	json_error_t jerr;
	struct vigil_letterbox lb;
	int n, n_out;
	double W, H;

	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.%s.float32.bin", r->dir, r->tag, r->boxes_name);
	boxes = tu_read_f32(rel, (size_t)r->anchors * 16);
	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.%s.float32.bin", r->dir, r->tag, r->logits_name);
	logits = tu_read_f32(rel, (size_t)r->anchors);
	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.detections.json", r->dir, r->tag);
	root = json_load_file(tu_data_path(rel), 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", rel, jerr.text);

	ck_assert_int_eq(vigil_ssd_anchors(r->size == 128 ? &short_anchors : &full_anchors, anchors, r->anchors),
			 r->anchors);
	struct vigil_face_decoder dec = { anchors, r->anchors, 16, 6, (float)r->size, 100.0f };
	const float thresh = r->size == 128 ? 0.5f : 0.6f;

	n = vigil_face_decode(&dec, boxes, logits, vigil_logit(thresh), cand);
	n_out = vigil_weighted_nms(cand, n, 0.3f, scratch, out, 64);

	size = json_object_get(root, "image_size");
	W = json_number_value(json_array_get(size, 0));
	H = json_number_value(json_array_get(size, 1));
	lb.side = (float)(W > H ? W : H);
	lb.origin_x = (float)(W - lb.side) / 2;
	lb.origin_y = (float)(H - lb.side) / 2;
	dets = json_object_get(root, "detections");
	ck_assert_int_eq(n_out, (int)json_array_size(dets));
	for (int i = 0; i < n_out; i++) {
		json_t *e = json_array_get(dets, i);
		struct vigil_detection d;

		vigil_candidate_to_detection(&out[i], &lb, &d);
		ck_assert_float_eq_tol(d.score, jnum(e, "score"), 1e-6);
		ck_assert_float_eq_tol(d.x / W, jnum(e, "xmin"), 1e-5);
		ck_assert_float_eq_tol(d.y / H, jnum(e, "ymin"), 1e-5);
		ck_assert_float_eq_tol(d.w / W, jnum(e, "width"), 1e-5);
		ck_assert_float_eq_tol(d.h / H, jnum(e, "height"), 1e-5);
		json_t *kps = json_object_get(e, "keypoints");
		ck_assert_int_eq(json_array_size(kps), 6);
		for (int k = 0; k < 6; k++) {
			json_t *kp = json_array_get(kps, k);

			ck_assert_float_eq_tol(d.keypoints[k].x / W, json_number_value(json_array_get(kp, 0)), 1e-5);
			ck_assert_float_eq_tol(d.keypoints[k].y / H, json_number_value(json_array_get(kp, 1)), 1e-5);
		}
	}
	json_decref(root);
	free(logits);
	free(boxes);
	free(scratch);
	free(cand);
	free(anchors);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("postprocess");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_anchor_layout);
	tcase_add_test(tc, test_logit_threshold);
	tcase_add_test(tc, test_weighted_nms_by_hand);
	tcase_add_loop_test(tc, test_reference_decoding, 0, N_REFSETS);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
