/* SPDX-License-Identifier: Apache-2.0
 * BlazeFace postprocessing as MediaPipe does it: SSD anchors, box/keypoint decode, logit-space
 * threshold, weighted NMS, projection through the letterbox. */
#ifndef VIGIL_POSTPROCESS_H
#define VIGIL_POSTPROCESS_H

#include <stddef.h>

#include "preprocess.h"
#include "vigil/vigil.h"

struct vigil_anchor {
	float x, y; /* centre, tensor-normalised */
};

struct vigil_ssd_anchor_config {
	int input_size; /* square input, pixels */
	int num_layers;
	int strides[8];
	float offset;          /* 0.5 */
	int anchors_per_layer; /* anchors each layer adds per cell: 2 with MediaPipe's interpolated scale, else 1 */
};

/* Generates anchors as MediaPipe's SsdAnchorsCalculator does with fixed_anchor_size (w = h = 1):
 * layers with the same stride are merged and contribute 2 anchors each per cell. Returns the count
 * written (at most max), or -EINVAL when max is too small. */
int vigil_ssd_anchors(const struct vigil_ssd_anchor_config *cfg, struct vigil_anchor *out, int max);

/* A candidate in tensor-normalised coordinates. */
struct vigil_candidate {
	float score;
	float xmin, ymin, xmax, ymax;
	int num_keypoints;
	struct vigil_point kp[VIGIL_MAX_KEYPOINTS];
};

struct vigil_face_decoder {
	const struct vigil_anchor *anchors;
	int num_anchors;
	int num_coords; /* 16 = 4 box + 6 keypoints * 2 */
	int num_keypoints;
	float scale;      /* x/y/w/h scale (input size) */
	float score_clip; /* 100 */
};

/* Decodes every anchor whose logit is >= logit_threshold into cand (cand holds num_anchors entries).
 * Returns the number written. */
int vigil_face_decode(const struct vigil_face_decoder *dec, const float *boxes, const float *logits,
		      float logit_threshold, struct vigil_candidate *cand);

/* MediaPipe WEIGHTED non-max suppression: orders cand by score, clusters every remaining candidate
 * with IoU > iou_threshold to the best remaining one, and writes each cluster's score-weighted mean box
 * and keypoints (with the best one's score) to out, best first, at most max_out.
 * scratch holds 2 * n ints. No allocation. Returns the number of results. */
int vigil_weighted_nms(const struct vigil_candidate *cand, int n, float iou_threshold, int *scratch,
		       struct vigil_candidate *out, int max_out);

/* Intersection over union of two boxes (0 when they do not overlap). */
float vigil_iou(const struct vigil_candidate *a, const struct vigil_candidate *b);

/* Logit of a probability (threshold compared in logit space). */
float vigil_logit(float p);

/* Maps a tensor-normalised candidate to a frame-pixel detection through the letterbox. */
void vigil_candidate_to_detection(const struct vigil_candidate *c, const struct vigil_letterbox *lb,
				  struct vigil_detection *d);

#endif
