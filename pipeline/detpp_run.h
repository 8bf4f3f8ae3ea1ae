/* SPDX-License-Identifier: Apache-2.0
 * TFLite_Detection_PostProcess, computed as TFLite's kernel does (detection_postprocess.cc): center-size box decoding
 * against constant anchors, then either the fast multi-class NMS (per-anchor best class, one NMS) or the regular
 * per-class NMS; outputs boxes [M,4] (ymin, xmin, ymax, xmax), classes [M], scores [M] and the count, with
 * M = max_detections x max_classes_per_detection. Runs in caller-provided scratch memory, allocates nothing. */
#ifndef VIGIL_DETPP_RUN_H
#define VIGIL_DETPP_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct vigil_detpp_io {
	int num_anchors, num_classes_with_bg, box_len; /* box_len >= 4 values per anchor */
	/* box encodings [A][box_len] and class predictions [A][num_classes_with_bg]: uint8 with scale and zero point,
	 * or float32 when the scale is 0 */
	const void *boxes;
	float box_scale, box_zero_point;
	const void *scores;
	float score_scale, score_zero_point;
	const float *anchors; /* [A][4] ycenter, xcenter, h, w, already dequantized */
	float *out_boxes, *out_classes, *out_scores, *out_count;
};

/* Bytes of scratch that vigil_detpp_run needs (8-byte aligned). */
size_t vigil_detpp_scratch_bytes(const struct vigil_detpp_params *p, int num_anchors, int num_classes_with_bg);

/* Returns 0, or VIGIL_EMODEL when a decoded box is inverted (TFLite fails the invocation then). */
int vigil_detpp_run(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, void *scratch);

#endif
