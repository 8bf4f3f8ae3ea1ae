/* SPDX-License-Identifier: Apache-2.0
 * The detection record (docs/ARCHITECTURE.md, "Detection record"), through jansson. */
#include <jansson.h>
#include <stdlib.h>

#include "vigil/vigil.h"

/* 7 significant digits: sub-pixel coordinates on 16k frames, scores to 1e-7. */
#define RECORD_PRECISION 7

static json_t *detection_json(const struct vigil_detection *d)
{
	json_t *o = json_pack("{s:s, s:i, s:f, s:f, s:f, s:f, s:f}", "label", d->label ? d->label : "", "label_id",
			      d->label_id, "score", (double)d->score, "x", (double)d->x, "y", (double)d->y, "w",
			      (double)d->w, "h", (double)d->h);
	json_t *kps;

	if (!o)
		return NULL;
	if (d->num_keypoints > 0) {
		kps = json_array();
		if (!kps || json_object_set_new(o, "keypoints", kps) < 0)
			goto out_fail;
		for (int k = 0; k < d->num_keypoints && k < VIGIL_MAX_KEYPOINTS; k++)
			if (json_array_append_new(
				kps, json_pack("[f, f]", (double)d->keypoints[k].x, (double)d->keypoints[k].y)) < 0)
				goto out_fail;
	}
	if (d->track_id >= 0 && json_object_set_new(o, "track_id", json_integer(d->track_id)) < 0)
		goto out_fail;
	if (d->predicted && json_object_set_new(o, "predicted", json_true()) < 0)
		goto out_fail;
	return o;

out_fail:
	json_decref(o);
	return NULL;
}

char *vigil_detections_to_json(const struct vigil_detections *dets, const char *source, int64_t frame_index,
			       const char *model_name)
{
	json_t *root, *list;
	char *text = NULL;

	if (!dets)
		return NULL;
	root =
	    json_pack("{s:s, s:I, s:o, s:i, s:i, s:s, s:{s:f, s:f, s:f}}", "source", source ? source : "", "frame",
		      (json_int_t)frame_index, "pts_ns", dets->pts_ns >= 0 ? json_integer(dets->pts_ns) : json_null(),
		      "width", dets->frame_width, "height", dets->frame_height, "model", model_name ? model_name : "",
		      "timing_ms", "preprocess", dets->timing.preprocess_ms, "inference", dets->timing.inference_ms,
		      "postprocess", dets->timing.postprocess_ms);
	if (!root)
		return NULL;
	list = json_array();
	if (!list || json_object_set_new(root, "detections", list) < 0)
		goto out_decref;
	for (size_t i = 0; i < dets->count; i++)
		if (json_array_append_new(list, detection_json(&dets->items[i])) < 0)
			goto out_decref;
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(RECORD_PRECISION));
out_decref:
	json_decref(root);
	return text;
}

void vigil_free(void *ptr)
{
	free(ptr);
}
