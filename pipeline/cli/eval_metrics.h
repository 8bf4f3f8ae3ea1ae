/* SPDX-License-Identifier: Apache-2.0
 * Detection and tracking metrics for `vigil eval`, independent of models and decoding (unit-tested on their own).
 *
 * Detection (COCO semantics): per frame and label, detections in descending score order each take the
 * best-overlapping unmatched ground-truth box with IoU >= t; a detection that finds none but overlaps an
 * ignore region (IoU >= t, or for crowd regions intersection / detection area >= t; one region absorbs any
 * number) is ignored, as is an unmatched detection smaller than min_size; every other one is a false
 * positive. AP is the mean of precision interpolated at the 101 recall points 0, 0.01, .., 1 (precision made
 * monotone from the right, 0 past the highest recall); ties in score keep frame order, like COCO's stable sort.
 * AP@[.5:.95] averages AP over the IoU thresholds 0.50, 0.55, .., 0.95.
 *
 * Tracking (CLEAR-MOT, as in py-motmetrics): per frame, a ground-truth object keeps the hypothesis (track id)
 * it was matched to in its previous matched frame while their IoU >= iou; the rest are assigned optimally
 * (minimum total 1 - IoU). A match whose hypothesis differs from the object's last matched one is an ID
 * switch; a ground-truth track that was matched, then missed, then matched again counts a fragmentation;
 * hypotheses over an ignore region are dropped. MOTA = 1 - (FN + FP + IDSW) / GT; MOTP = mean IoU of matches.
 * IDF1 (Ristani et al. 2016) = 2 IDTP / (GT + hypotheses), IDTP from the one-to-one assignment of ground-truth
 * ids to hypothesis ids that maximises the frames where the two overlap with IoU >= iou. Only detections with
 * track_id >= 0 are hypotheses. */
#ifndef VIGIL_EVAL_METRICS_H
#define VIGIL_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ev_box {
	int frame;  /* 0-based */
	int label;  /* 0..n_labels-1 */
	int64_t id; /* ground truth: object id (-1 none); detections: track id (-1 untracked) */
	float x, y, w, h;
	float score; /* detections */
	int ignore;  /* ground truth: 1 = ignore region (MOT conf=0, distractor classes, below --min-size) */
	int crowd;   /* ground truth ignore region matched by intersection over detection area (COCO iscrowd) */
	int line;    /* source line of a ground-truth box, for messages */
};

struct ev_boxes {
	struct ev_box *v;
	size_t n, cap;
};

/* Appends a copy; returns 0 or -ENOMEM. */
int ev_boxes_push(struct ev_boxes *b, const struct ev_box *box);
void ev_boxes_free(struct ev_boxes *b);

#define EV_PR_POINTS 101
#define EV_IOU_STEPS 10

struct ev_tracking {
	double mota, motp, idf1;
	long num_gt, matches, fp, fn, id_switches, fragmentations;
	long idtp, idfp, idfn, num_hyp;
	int gt_ids, hyp_ids;
};

struct ev_label_result {
	long num_gt;              /* ground-truth boxes evaluated (not ignored) */
	long num_det;             /* detections (not ignored at IoU 0.5) */
	long tp, fp, fn;          /* at params.iou */
	double precision, recall; /* at params.iou; -1 when undefined (no detection / no ground truth) */
	double ap50, ap;          /* -1 when the label has no ground truth */
	double ap_at[EV_IOU_STEPS];
	double pr_precision[EV_PR_POINTS]; /* IoU 0.5, at recall i / 100 */
	int has_tracking;
	struct ev_tracking tracking;
};

struct ev_params {
	float iou;      /* precision/recall and tracking threshold (default 0.5) */
	float min_size; /* ground truth with height < min_size becomes ignored; 0: off */
	int tracking;   /* compute tracking metrics (needs ground-truth ids) */
};

struct ev_result {
	int n_labels;
	int n_frames;
	struct ev_label_result *labels; /* n_labels */
	long fp_total;
	double fp_per_frame;
	int has_tracking;
	struct ev_tracking tracking; /* all labels together */
};

/* Evaluates detections against ground truth over frames [0, n_frames). Boxes of other frames are not counted.
 * Returns 0 or -ENOMEM / -EINVAL. Free with ev_result_free(). */
int ev_evaluate(const struct ev_boxes *gt, const struct ev_boxes *det, int n_labels, int n_frames,
		const struct ev_params *params, struct ev_result *out);
void ev_result_free(struct ev_result *r);

/* Intersection over union of two boxes (0 when either is empty). */
double ev_iou(const struct ev_box *a, const struct ev_box *b);

#endif
