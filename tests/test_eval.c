/* SPDX-License-Identifier: Apache-2.0
 * `vigil eval`'s metric code and ground-truth readers against answers worked out by hand (in the comments):
 * COCO-style AP with 101-point interpolation, CLEAR-MOT MOTA, IDF1, ID switches and fragmentations, and
 * line-numbered errors for malformed MOT, VOC, dlib and COCO files. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "eval_gt.h"
#include "eval_metrics.h"
#include "testutil.h"
#include "vigil/vigil.h"

static struct ev_box B(int frame, int label, int64_t id, float x, float y, float w, float h, float score) {
	struct ev_box b = { .frame = frame, .label = label, .id = id, .x = x, .y = y, .w = w, .h = h, .score = score };

	return b;
}

static void
push(struct ev_boxes *s, struct ev_box b)
{
	ck_assert_int_eq(ev_boxes_push(s, &b), 0);
}

static const struct ev_params P50 = { .iou = 0.5f, .min_size = 0, .tracking = 0 };

static struct ev_result eval(struct ev_boxes *gt, struct ev_boxes *det, int n_labels, int n_frames,
			     const struct ev_params *p)
{
	struct ev_result r;

	ck_assert_int_eq(ev_evaluate(gt, det, n_labels, n_frames, p, &r), 0);
	return r;
}

#define EPS 1e-9

START_TEST(test_iou)
{
	struct ev_box a = B(0, 0, -1, 0, 0, 100, 100, 1), b = B(0, 0, -1, 50, 0, 100, 100, 1);

	/* 50x100 overlap over 20000 - 5000 */
	ck_assert_double_eq_tol(ev_iou(&a, &b), 5000.0 / 15000.0, EPS);
	b.x = 100; /* touching edges */
	ck_assert_double_eq_tol(ev_iou(&a, &b), 0, EPS);
	b.w = 0;
	ck_assert_double_eq_tol(ev_iou(&a, &a), 1, EPS);
	ck_assert_double_eq_tol(ev_iou(&a, &b), 0, EPS);
}
END_TEST

START_TEST(test_perfect)
{
	struct ev_boxes gt = { 0 }, det = { 0 };

	push(&gt, B(0, 0, -1, 10, 10, 50, 80, 1));
	push(&gt, B(0, 0, -1, 100, 10, 50, 80, 1));
	push(&gt, B(1, 0, -1, 10, 10, 50, 80, 1));
	for (size_t i = 0; i < gt.n; i++) {
		struct ev_box d = gt.v[i];

		d.score = 0.9f - 0.1f * (float)i;
		push(&det, d);
	}
	struct ev_result r = eval(&gt, &det, 1, 2, &P50);

	ck_assert_double_eq_tol(r.labels[0].ap50, 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].ap, 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].precision, 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].recall, 1, EPS);
	ck_assert_int_eq(r.labels[0].tp, 3);
	ck_assert_int_eq(r.labels[0].fp, 0);
	ck_assert_int_eq(r.labels[0].fn, 0);
	ck_assert_double_eq_tol(r.fp_per_frame, 0, EPS);
	for (int j = 0; j < EV_PR_POINTS; j++)
		ck_assert_double_eq_tol(r.labels[0].pr_precision[j], 1, EPS);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_empty)
{
	struct ev_boxes gt = { 0 }, det = { 0 };
	struct ev_result r = eval(&gt, &det, 2, 5, &P50);

	/* no ground truth, no detections: everything undefined, nothing counted */
	ck_assert_double_eq(r.labels[0].ap50, -1);
	ck_assert_double_eq(r.labels[0].ap, -1);
	ck_assert_double_eq(r.labels[0].precision, -1);
	ck_assert_double_eq(r.labels[0].recall, -1);
	ev_result_free(&r);

	/* ground truth but no detections: AP 0, recall 0, precision undefined */
	push(&gt, B(0, 1, -1, 0, 0, 10, 10, 1));
	r = eval(&gt, &det, 2, 5, &P50);
	ck_assert_double_eq(r.labels[1].ap50, 0);
	ck_assert_double_eq(r.labels[1].ap, 0);
	ck_assert_double_eq(r.labels[1].recall, 0);
	ck_assert_double_eq(r.labels[1].precision, -1);
	ck_assert_int_eq(r.labels[1].fn, 1);
	ev_result_free(&r);
	ev_boxes_free(&gt);
}
END_TEST

START_TEST(test_all_false_positives)
{
	struct ev_boxes gt = { 0 }, det = { 0 };

	push(&gt, B(0, 0, -1, 0, 0, 10, 10, 1));
	push(&det, B(0, 0, -1, 50, 50, 10, 10, 0.9f)); /* no overlap */
	push(&det, B(1, 0, -1, 0, 0, 10, 10, 0.8f));   /* right place, wrong frame */
	push(&det, B(0, 1, -1, 0, 0, 10, 10, 0.7f));   /* right place, wrong label */
	push(&det, B(3, 0, -1, 0, 0, 10, 10, 0.7f));   /* frame 3 is past n_frames: not counted */
	struct ev_result r = eval(&gt, &det, 2, 3, &P50);

	ck_assert_double_eq(r.labels[0].ap50, 0);
	ck_assert_double_eq(r.labels[0].precision, 0);
	ck_assert_double_eq(r.labels[0].recall, 0);
	ck_assert_int_eq(r.labels[0].fp, 2);
	ck_assert_int_eq(r.labels[1].fp, 1);
	ck_assert_double_eq(r.labels[1].ap50, -1); /* label 1 has no ground truth */
	ck_assert_int_eq(r.fp_total, 3);
	ck_assert_double_eq_tol(r.fp_per_frame, 1.0, EPS); /* 3 over 3 frames */
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_duplicates)
{
	/* one object, two detections on it: the stronger is the TP, the weaker a FP.
	 * Sorted: TP (recall 1, precision 1), FP (recall 1, precision 0.5): every recall point finds precision 1
	 * at the first entry, so AP = 1, but precision at the operating point = 1/2. */
	struct ev_boxes gt = { 0 }, det = { 0 };

	push(&gt, B(0, 0, -1, 0, 0, 100, 100, 1));
	push(&det, B(0, 0, -1, 2, 0, 100, 100, 0.8f));
	push(&det, B(0, 0, -1, 0, 0, 100, 100, 0.9f));
	struct ev_result r = eval(&gt, &det, 1, 1, &P50);

	ck_assert_double_eq_tol(r.labels[0].ap50, 1, EPS);
	ck_assert_int_eq(r.labels[0].tp, 1);
	ck_assert_int_eq(r.labels[0].fp, 1);
	ck_assert_double_eq_tol(r.labels[0].precision, 0.5, EPS);
	ck_assert_double_eq_tol(r.labels[0].recall, 1, EPS);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_ap_interpolation_by_hand)
{
	/* 4 objects (one per frame); 5 detections by score: .9 TP, .8 FP, .7 TP, .6 FP, .5 TP.
	 * recall    .25  .25  .50  .50  .75
	 * precision 1    .5   .667 .5   .6   -> monotone from the right: 1, .667, .667, .6, .6
	 * 101 recall points: 0..0.25 (26 points) -> 1; 0.26..0.50 (25) -> 2/3; 0.51..0.75 (25) -> 0.6;
	 * 0.76..1 (25) -> 0. AP = (26 + 25 * 2/3 + 25 * 0.6) / 101 = 57.6667 / 101 = 0.570957 */
	struct ev_boxes gt = { 0 }, det = { 0 };

	for (int f = 0; f < 4; f++)
		push(&gt, B(f, 0, -1, 0, 0, 100, 100, 1));
	push(&det, B(0, 0, -1, 0, 0, 100, 100, 0.9f));
	push(&det, B(0, 0, -1, 300, 0, 100, 100, 0.8f));
	push(&det, B(1, 0, -1, 0, 0, 100, 100, 0.7f));
	push(&det, B(1, 0, -1, 300, 0, 100, 100, 0.6f));
	push(&det, B(2, 0, -1, 0, 0, 100, 100, 0.5f));
	struct ev_result r = eval(&gt, &det, 1, 4, &P50);

	ck_assert_double_eq_tol(r.labels[0].ap50, (26 + 25 * 2.0 / 3 + 25 * 0.6) / 101, 1e-9);
	ck_assert_double_eq_tol(r.labels[0].ap50, 0.570957, 1e-6);
	ck_assert_double_eq_tol(r.labels[0].pr_precision[25], 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].pr_precision[26], 2.0 / 3, EPS);
	ck_assert_double_eq_tol(r.labels[0].pr_precision[75], 0.6, EPS);
	ck_assert_double_eq_tol(r.labels[0].pr_precision[76], 0, EPS);
	ck_assert_double_eq_tol(r.labels[0].precision, 3.0 / 5, EPS);
	ck_assert_double_eq_tol(r.labels[0].recall, 3.0 / 4, EPS);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_ap_over_iou_thresholds)
{
	/* the detection covers 82% of the object (IoU 0.82): a TP at 0.50 .. 0.80 (7 thresholds), a FP at
	 * 0.85 .. 0.95, so AP@[.5:.95] = 7/10 while AP@.5 = 1 */
	struct ev_boxes gt = { 0 }, det = { 0 };

	push(&gt, B(0, 0, -1, 0, 0, 100, 100, 1));
	push(&det, B(0, 0, -1, 0, 0, 100, 82, 0.9f));
	struct ev_result r = eval(&gt, &det, 1, 1, &P50);

	ck_assert_double_eq_tol(r.labels[0].ap50, 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].ap, 0.7, EPS);
	ck_assert_double_eq_tol(r.labels[0].ap_at[6], 1, EPS);
	ck_assert_double_eq_tol(r.labels[0].ap_at[7], 0, EPS);
	ev_result_free(&r);

	/* --iou 0.9 moves the operating point: the same detection is a FP there */
	struct ev_params p = P50;

	p.iou = 0.9f;
	r = eval(&gt, &det, 1, 1, &p);
	ck_assert_int_eq(r.labels[0].tp, 0);
	ck_assert_int_eq(r.labels[0].fp, 1);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_score_ties_keep_frame_order)
{
	/* two objects in frames 0 and 1; a FP in frame 0 and a TP in frame 1, both at score 0.5. COCO's stable
	 * sort keeps frame order: FP first (recall 0, precision 0), then TP (recall .5, precision .5); precision
	 * made monotone -> .5 for recall points 0..0.5 (51 points): AP = 51 * 0.5 / 101 = 0.252475. Had the TP come
	 * first it would be 51 / 101. */
	struct ev_boxes gt = { 0 }, det = { 0 };

	push(&gt, B(0, 0, -1, 0, 0, 50, 50, 1));
	push(&gt, B(1, 0, -1, 0, 0, 50, 50, 1));
	push(&det, B(1, 0, -1, 0, 0, 50, 50, 0.5f));
	push(&det, B(0, 0, -1, 200, 200, 50, 50, 0.5f));
	struct ev_result r = eval(&gt, &det, 1, 2, &P50);

	ck_assert_double_eq_tol(r.labels[0].ap50, 51 * 0.5 / 101, 1e-12);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_ignore_and_crowd_regions)
{
	struct ev_boxes gt = { 0 }, det = { 0 };
	struct ev_box ign = B(0, 0, -1, 300, 0, 50, 100, 1), crowd = B(0, 0, -1, 0, 200, 400, 100, 1);

	ign.ignore = 1;
	crowd.ignore = crowd.crowd = 1;
	push(&gt, B(0, 0, -1, 0, 0, 50, 100, 1));
	push(&gt, ign);
	push(&gt, crowd);
	push(&det, B(0, 0, -1, 0, 0, 50, 100, 0.9f));   /* TP */
	push(&det, B(0, 0, -1, 302, 0, 50, 100, 0.8f)); /* on the ignore region: neither TP nor FP */
	push(&det, B(0, 0, -1, 300, 0, 50, 100, 0.7f)); /* a second one: the region absorbs any number */
	/* three small boxes inside the crowd region: IoU with it is tiny (0.025), but intersection over their own
	 * area is 1 */
	for (int i = 0; i < 3; i++)
		push(&det, B(0, 0, -1, 10 + 100.0f * i, 220, 20, 50, 0.6f));
	push(&det, B(0, 0, -1, 600, 0, 50, 100, 0.5f)); /* a real FP */
	struct ev_result r = eval(&gt, &det, 1, 1, &P50);

	ck_assert_int_eq(r.labels[0].num_gt, 1);
	ck_assert_int_eq(r.labels[0].tp, 1);
	ck_assert_int_eq(r.labels[0].fp, 1);
	ck_assert_int_eq(r.labels[0].num_det, 2);
	ck_assert_double_eq_tol(r.labels[0].ap50, 1, EPS);
	ev_result_free(&r);

	/* --min-size 60: the 50x100 object stays; a 20x40 object and a small unmatched detection are ignored */
	struct ev_params p = P50;

	p.min_size = 60;
	push(&gt, B(0, 0, -1, 500, 300, 20, 40, 1));
	push(&det, B(0, 0, -1, 500, 300, 20, 40, 0.4f));
	push(&det, B(0, 0, -1, 700, 300, 20, 40, 0.3f));
	r = eval(&gt, &det, 1, 1, &p);
	ck_assert_int_eq(r.labels[0].num_gt, 1);
	ck_assert_int_eq(r.labels[0].tp, 1);
	ck_assert_int_eq(r.labels[0].fp, 1);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

/* ---- tracking ---- */

START_TEST(test_mota_idf1_by_hand)
{
	/* 6 frames, objects 1 and 2 always present (12 GT boxes), far apart.
	 * hypothesis 10 follows object 1 in frames 0..4 and is gone in frame 5  -> 1 FN
	 * hypothesis 20 follows object 2 in frames 0..2, hypothesis 30 in 3..5 -> 1 ID switch (frame 3)
	 * hypothesis 40 is alone in frame 4                                     -> 1 FP
	 * MOTA = 1 - (1 + 1 + 1) / 12 = 0.75.
	 * IDF1: 12 hypothesis boxes (5 + 3 + 3 + 1); best id pairs 1-10 (5 frames) and 2-20 or 2-30 (3): IDTP 8,
	 * IDF1 = 2 * 8 / (12 + 12) = 2/3. No fragmentation: object 1 is never matched again after its miss. */
	struct ev_boxes gt = { 0 }, det = { 0 };
	const struct ev_params p = { .iou = 0.5f, .tracking = 1 };

	for (int f = 0; f < 6; f++) {
		push(&gt, B(f, 0, 1, 10.0f * f, 0, 50, 100, 1));
		push(&gt, B(f, 0, 2, 10.0f * f, 300, 50, 100, 1));
		if (f < 5)
			push(&det, B(f, 0, 10, 10.0f * f + 2, 0, 50, 100, 0.9f));
		push(&det, B(f, 0, f < 3 ? 20 : 30, 10.0f * f, 302, 50, 100, 0.9f));
		if (f == 4)
			push(&det, B(f, 0, 40, 600, 0, 50, 100, 0.9f));
	}
	struct ev_result r = eval(&gt, &det, 1, 6, &p);
	const struct ev_tracking *t = &r.labels[0].tracking;

	ck_assert(r.has_tracking);
	ck_assert_int_eq(t->num_gt, 12);
	ck_assert_int_eq(t->fn, 1);
	ck_assert_int_eq(t->fp, 1);
	ck_assert_int_eq(t->id_switches, 1);
	ck_assert_int_eq(t->fragmentations, 0);
	ck_assert_double_eq_tol(t->mota, 0.75, EPS);
	ck_assert_int_eq(t->idtp, 8);
	ck_assert_double_eq_tol(t->idf1, 2.0 / 3, EPS);
	ck_assert_double_eq_tol(r.tracking.mota, 0.75, EPS);
	ck_assert_double_eq_tol(r.tracking.idf1, 2.0 / 3, EPS);
	ck_assert_int_eq(r.tracking.id_switches, 1);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_fragmentation_by_hand)
{
	/* one object over 6 frames, its track present in frames 0, 1, 4, 5 (same id): 2 FN, 1 fragmentation,
	 * no switch. MOTA = 1 - 2/6 = 2/3; IDTP 4, IDF1 = 2 * 4 / (6 + 4) = 0.8. Untracked detections
	 * (id -1) are not hypotheses. */
	struct ev_boxes gt = { 0 }, det = { 0 };
	const struct ev_params p = { .iou = 0.5f, .tracking = 1 };

	for (int f = 0; f < 6; f++) {
		push(&gt, B(f, 0, 7, 0, 0, 50, 100, 1));
		push(&det, B(f, 0, f == 2 || f == 3 ? -1 : 3, 0, 0, 50, 100, 0.9f));
	}
	struct ev_result r = eval(&gt, &det, 1, 6, &p);
	const struct ev_tracking *t = &r.labels[0].tracking;

	ck_assert_int_eq(t->fn, 2);
	ck_assert_int_eq(t->fragmentations, 1);
	ck_assert_int_eq(t->id_switches, 0);
	ck_assert_double_eq_tol(t->mota, 2.0 / 3, EPS);
	ck_assert_double_eq_tol(t->idf1, 0.8, EPS);
	ck_assert_double_eq_tol(t->motp, 1, EPS);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

START_TEST(test_clear_mot_keeps_correspondences)
{
	/* Frame 0: objects 1 [0,0,100,100] and 2 [200,0,100,100] tracked by hypotheses 1 and 2.
	 * Frame 1: the objects meet, 1 at x=0 and 2 at x=20; hypothesis 1 sits at x=15 (IoU 0.739 with object 1,
	 * 0.905 with object 2) and hypothesis 2 at x=5 (0.905 with object 1, 0.739 with object 2). A fresh optimal
	 * assignment would swap them (two ID switches); CLEAR-MOT keeps the frame-0 pairs because both still have
	 * IoU >= 0.5: no switch, MOTA 1. */
	struct ev_boxes gt = { 0 }, det = { 0 };
	const struct ev_params p = { .iou = 0.5f, .tracking = 1 };

	push(&gt, B(0, 0, 1, 0, 0, 100, 100, 1));
	push(&gt, B(0, 0, 2, 200, 0, 100, 100, 1));
	push(&det, B(0, 0, 1, 0, 0, 100, 100, 0.9f));
	push(&det, B(0, 0, 2, 200, 0, 100, 100, 0.9f));
	push(&gt, B(1, 0, 1, 0, 0, 100, 100, 1));
	push(&gt, B(1, 0, 2, 20, 0, 100, 100, 1));
	push(&det, B(1, 0, 1, 15, 0, 100, 100, 0.9f));
	push(&det, B(1, 0, 2, 5, 0, 100, 100, 0.9f));
	struct ev_result r = eval(&gt, &det, 1, 2, &p);

	ck_assert_int_eq(r.tracking.id_switches, 0);
	ck_assert_double_eq_tol(r.tracking.mota, 1, EPS);
	ck_assert_double_eq_tol(r.tracking.idf1, 1, EPS);
	ev_result_free(&r);

	/* an ignore region swallows a hypothesis: not a FP */
	struct ev_box ign = B(1, 0, 5, 500, 0, 50, 100, 1);

	ign.ignore = 1;
	push(&gt, ign);
	push(&det, B(1, 0, 9, 500, 0, 50, 100, 0.9f));
	r = eval(&gt, &det, 1, 2, &p);
	ck_assert_int_eq(r.tracking.fp, 0);
	ck_assert_double_eq_tol(r.tracking.mota, 1, EPS);
	ev_result_free(&r);
	ev_boxes_free(&gt);
	ev_boxes_free(&det);
}
END_TEST

/* ---- ground-truth readers ---- */

static int labels(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "person"))
		return 0;
	if (!strcmp(name, "car"))
		return 1;
	if (!strcmp(name, "face"))
		return 2;
	if (!strcmp(name, "bicycle"))
		return EV_LABEL_SKIP;
	return EV_LABEL_UNKNOWN;
}

static void expect_error(int err, const char *needle)
{
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_msg(strstr(vigil_last_error(), needle), "message '%s' lacks '%s'", vigil_last_error(), needle);
}

START_TEST(test_mot_reader)
{
	const char *txt = "# comment\n"
			  "1,9,499,158,31,75,1,-1,-1,-1\n"
			  "\n"
			  "1,11,10,10,20,40,0,-1,-1,-1\n" /* conf 0: ignore */
			  "2,9,497,158,31,75,1,1,0.9\n"
			  "2,3,100,100,50,30,1,3,1\n" /* car */
			  "2,4,100,100,50,30,1,4,1\n" /* bicycle: not evaluated */
			  "3,5,1,1,5,5,1,7,1\r\n"     /* static person: ignore */
			  "3,6,1,1,5,5,1,10,1\n";     /* occluder: skipped */
	struct ev_gt gt = { 0 };

	ck_assert_int_eq(ev_gt_parse_mot(txt, strlen(txt), "gt.txt", labels, NULL, &gt), 0);
	ck_assert_uint_eq(gt.boxes.n, 5);
	ck_assert(gt.has_ids);
	ck_assert_int_eq(gt.max_frame, 3);
	ck_assert_int_eq(gt.boxes.v[0].frame, 0);
	ck_assert_int_eq(gt.boxes.v[0].id, 9);
	ck_assert_float_eq(gt.boxes.v[0].x, 498); /* 1-based pixels -> 0-based */
	ck_assert_int_eq(gt.boxes.v[0].line, 2);
	ck_assert_int_eq(gt.boxes.v[1].ignore, 1);
	ck_assert_int_eq(gt.boxes.v[1].line, 4);
	ck_assert_int_eq(gt.boxes.v[3].label, 1);
	ck_assert_int_eq(gt.boxes.v[4].ignore, 1);
	ck_assert_int_eq(gt.boxes.v[4].line, 8);
	ev_gt_free(&gt);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "1,2,3,4,5\n", "t.txt:1: 5 columns" },
		{ "1,2,3,4,5,6,1\n1,2,x,4,5,6,1\n", "t.txt:2: column 3: 'x' is not a number" },
		{ "1,2,3,4,,6,1\n", "t.txt:1: column 5 is empty" },
		{ "0,2,3,4,5,6,1\n", "t.txt:1: frame must be" },
		{ "1.5,2,3,4,5,6,1\n", "t.txt:1: frame must be" },
		{ "1,2,3,4,-5,6,1\n", "t.txt:1: box width and height must be positive" },
		{ "1,2,3,4,5,6,1,13\n", "t.txt:1: class must be" },
		{ "1,2,3,4,nan,6,1\n", "t.txt:1: column 5: 'nan' is not a number" },
		{ "1,2,3,4,5,6,1,1,1,1,1,1\n1,2,3,4,1e9,6,1\n", "t.txt:2: box coordinates out of range" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&gt, 0, sizeof(gt));
		expect_error(ev_gt_parse_mot(bad[i].text, strlen(bad[i].text), "t.txt", labels, NULL, &gt),
			     bad[i].needle);
		ev_gt_free(&gt);
	}
}
END_TEST

static int only_face(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "face") ? 0 : EV_LABEL_UNKNOWN;
}

START_TEST(test_mot_unknown_label)
{
	struct ev_gt gt = { 0 };
	const char *txt = "1,1,1,1,5,5,1\n";

	expect_error(ev_gt_parse_mot(txt, strlen(txt), "gt.txt", only_face, NULL, &gt),
		     "gt.txt:1: unknown label 'person'");
	ev_gt_free(&gt);
}
END_TEST

START_TEST(test_voc_reader)
{
	const char *xml = "<annotation>\n"
			  "  <folder>VOC</folder><filename>img1.jpg</filename>\n"
			  "  <size><width>200</width><height>100</height><depth>3</depth></size>\n"
			  "  <object><name>person</name><difficult>0</difficult>\n"
			  "    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>80</ymax></bndbox></object>\n"
			  "  <object><name>car</name><difficult>1</difficult>\n"
			  "    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>\n"
			  "  <object><name>bicycle</name>\n"
			  "    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>\n"
			  "</annotation>\n";
	struct ev_gt gt = { 0 };

	ck_assert_int_eq(ev_gt_parse_xml(xml, strlen(xml), "a.xml", NULL, labels, NULL, &gt), 0);
	ck_assert_int_eq(gt.n_images, 1);
	ck_assert_str_eq(gt.images[0], "img1.jpg");
	ck_assert_uint_eq(gt.boxes.n, 2);
	/* 1-based inclusive pixel indices 11..40 -> x 10, width 30 */
	ck_assert_float_eq(gt.boxes.v[0].x, 10);
	ck_assert_float_eq(gt.boxes.v[0].w, 30);
	ck_assert_float_eq(gt.boxes.v[0].h, 60);
	ck_assert_int_eq(gt.boxes.v[0].line, 4);
	ck_assert_int_eq(gt.boxes.v[1].ignore, 1);
	ck_assert_int_eq(gt.boxes.v[1].label, 1);
	ck_assert_int_eq(ev_gt_image_index(&gt, "/some/dir/img1.jpg"), 0);
	ev_gt_free(&gt);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "<annotation><filename>a.jpg</filename>\n<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
		  "<xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
		  "v.xml:2: unknown label 'dog'" },
		{ "<annotation><filename>a.jpg</filename>\n\n<object><name>car</name><bndbox><xmin>1</xmin><ymin>1</"
		  "ymin>"
		  "<xmax>5</xmax></bndbox></object></annotation>",
		  "v.xml:3: <object> needs <bndbox>" },
		{ "<annotation><filename>a.jpg</filename><object><name>car</name><bndbox>\n<xmin>one</xmin>",
		  "v.xml:2: <xmin>one</xmin> is not a number" },
		{ "<annotation><filename>a.jpg</filename><size><width>50</width><height>50</height></size>\n<object>"
		  "<name>car</name><bndbox><xmin>60</xmin><ymin>1</ymin><xmax>70</xmax><ymax>5</ymax></bndbox></object>"
		  "</annotation>",
		  "v.xml:2: box lies outside the 50x50 image" },
		{ "<annotation><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
		  "</bndbox></object></annotation>",
		  "<annotation> without a <filename>" },
		{ "<annotation>\n<filename>a.jpg</filenam></annotation>", "v.xml" },
		{ "<html></html>", "v.xml:1: root element <html>" },
		{ "", "v.xml" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&gt, 0, sizeof(gt));
		expect_error(ev_gt_parse_xml(bad[i].text, strlen(bad[i].text), "v.xml", NULL, labels, NULL, &gt),
			     bad[i].needle);
		ev_gt_free(&gt);
	}
}
END_TEST

START_TEST(test_dlib_reader)
{
	const char *xml =
	    "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
	    "<dataset><name>faces</name><images>\n"
	    " <image file='a/2008_002506.jpg'>\n"
	    "  <box top='78' left='329' width='109' height='142'/>\n"
	    "  <box top='10' left='20' width='30' height='40' ignore='1'><label>face</label></box>\n"
	    " </image>\n"
	    " <image file='b.png'><box top='1' left='2' width='3' height='4'><label>car</label></box></image>\n"
	    "</images></dataset>\n";
	struct ev_gt gt = { 0 };

	ck_assert_int_eq(ev_gt_parse_xml(xml, strlen(xml), "d.xml", "face", labels, NULL, &gt), 0);
	ck_assert_int_eq(gt.n_images, 2);
	ck_assert_str_eq(gt.images[0], "2008_002506.jpg");
	ck_assert_uint_eq(gt.boxes.n, 3);
	ck_assert_float_eq(gt.boxes.v[0].x, 329);
	ck_assert_float_eq(gt.boxes.v[0].y, 78);
	ck_assert_int_eq(gt.boxes.v[0].label, 2);
	ck_assert_int_eq(gt.boxes.v[0].line, 4);
	ck_assert_int_eq(gt.boxes.v[1].ignore, 1);
	ck_assert_int_eq(gt.boxes.v[2].frame, 1);
	ck_assert_int_eq(gt.boxes.v[2].label, 1);
	ev_gt_free(&gt);

	const char *bad = "<dataset><images><image file='a.jpg'>\n<box top='1' left='x' width='3' height='4'/>";

	expect_error(ev_gt_parse_xml(bad, strlen(bad), "d.xml", "face", labels, NULL, &gt),
		     "d.xml:2: attribute left='x' is not a number");
	ev_gt_free(&gt);
	bad = "<dataset><images><image file='a.jpg'>\n<box top='1' left='1' width='0' height='4'/>";
	expect_error(ev_gt_parse_xml(bad, strlen(bad), "d.xml", "face", labels, NULL, &gt),
		     "d.xml:2: box width and height must be positive");
	ev_gt_free(&gt);
	bad = "<dataset><images>\n<image><box top='1' left='1' width='2' height='4'/></image></images></dataset>";
	expect_error(ev_gt_parse_xml(bad, strlen(bad), "d.xml", "face", labels, NULL, &gt),
		     "d.xml:2: <image> without a file");
	ev_gt_free(&gt);
}
END_TEST

START_TEST(test_coco_reader)
{
	const char *js = "{\"images\": [{\"id\": 7, \"file_name\": \"x/000000000139.jpg\", \"width\": 640}],\n"
			 " \"categories\": [{\"id\": 1, \"name\": \"person\"}, {\"id\": 2, \"name\": \"bicycle\"}],\n"
			 " \"annotations\": [\n"
			 "  {\"image_id\": 7, \"category_id\": 1, \"bbox\": [10, 20, 30.5, 40], \"iscrowd\": 0},\n"
			 "  {\"image_id\": 7, \"category_id\": 2, \"bbox\": [1, 2, 3, 4], \"iscrowd\": 0},\n"
			 "  {\"image_id\": 7, \"category_id\": 1, \"bbox\": [0, 0, 300, 200], \"iscrowd\": 1}]}";
	struct ev_gt gt = { 0 };

	ck_assert_int_eq(ev_gt_parse_coco(js, strlen(js), "c.json", labels, NULL, &gt), 0);
	ck_assert_int_eq(gt.n_images, 1);
	ck_assert_uint_eq(gt.boxes.n, 2);
	ck_assert_float_eq(gt.boxes.v[0].w, 30.5f);
	ck_assert_int_eq(gt.boxes.v[1].crowd, 1);
	ck_assert_int_eq(gt.boxes.v[1].ignore, 1);
	ev_gt_free(&gt);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "{\"images\": [],\n \"annotations\": [}", "c.json:2:" },
		{ "{\"images\": []}", "needs arrays" },
		{ "{\"images\": [], \"annotations\": [], \"categories\": [{\"id\": 1, \"name\": \"dog\"}]}",
		  "unknown label 'dog'" },
		{ "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"categories\": [{\"id\": 1, \"name\": "
		  "\"car\"}],"
		  " \"annotations\": [{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, -3, 4]}]}",
		  "c.json: annotations[0]: box width and height must be positive" },
		{ "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"categories\": [{\"id\": 1, \"name\": "
		  "\"car\"}],"
		  " \"annotations\": [{\"image_id\": 2, \"category_id\": 1, \"bbox\": [1, 2, 3, 4]}]}",
		  "annotations[0]: image_id 2 is not in" },
		{ "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"categories\": [{\"id\": 1, \"name\": "
		  "\"car\"}],"
		  " \"annotations\": [{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3]}]}",
		  "annotations[0] needs" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&gt, 0, sizeof(gt));
		expect_error(ev_gt_parse_coco(bad[i].text, strlen(bad[i].text), "c.json", labels, NULL, &gt),
			     bad[i].needle);
		ev_gt_free(&gt);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("metrics");
	TCase *tr = tcase_create("readers");

	tcase_add_test(tc, test_iou);
	tcase_add_test(tc, test_perfect);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_all_false_positives);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_ap_interpolation_by_hand);
	tcase_add_test(tc, test_ap_over_iou_thresholds);
	tcase_add_test(tc, test_score_ties_keep_frame_order);
	tcase_add_test(tc, test_ignore_and_crowd_regions);
	tcase_add_test(tc, test_mota_idf1_by_hand);
	tcase_add_test(tc, test_fragmentation_by_hand);
	tcase_add_test(tc, test_clear_mot_keeps_correspondences);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_mot_reader);
	tcase_add_test(tr, test_mot_unknown_label);
	tcase_add_test(tr, test_voc_reader);
	tcase_add_test(tr, test_dlib_reader);
	tcase_add_test(tr, test_coco_reader);
	suite_add_tcase(s, tr);
	return tu_run(s, CK_FORK);
}
