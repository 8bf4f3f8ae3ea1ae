/* SPDX-License-Identifier: Apache-2.0
 * Ground-truth readers for `vigil eval`: MOTChallenge gt.txt, PASCAL VOC XML and dlib XML (GLib's GMarkup),
 * COCO JSON (jansson). They read from memory (the fuzz targets call them the same way), append boxes to an
 * ev_gt and fail with -EINVAL and a "NAME:LINE: what" message (vigil_last_error()) on malformed input. */
#ifndef VIGIL_EVAL_GT_H
#define VIGIL_EVAL_GT_H

#include <stddef.h>

#include "eval_metrics.h"

/* Label lookup: returns the label index (>= 0) for a ground-truth label name, EV_LABEL_SKIP for a label that
 * is not evaluated (not in --labels), or EV_LABEL_UNKNOWN (an error naming the line). */
#define EV_LABEL_SKIP (-2)
#define EV_LABEL_UNKNOWN (-1)
typedef int (*ev_label_fn)(void *ctx, const char *name);

struct ev_gt {
	struct ev_boxes boxes;
	int has_ids;   /* every evaluated box has an object id (MOT) */
	int max_frame; /* largest frame index + 1 (MOT) */
	char **images; /* per-image formats: the image file names (base names), box.frame indexes them */
	int n_images;
};

void ev_gt_free(struct ev_gt *gt);

/* MOTChallenge: frame,id,x,y,w,h,conf[,class[,visibility[,...]]] with 1-based frames and 1-based pixel
 * coordinates (converted to 0-based). conf 0 rows are ignore regions. class (column 8, -1 or absent =
 * pedestrian): 1 pedestrian -> label "person"; 2 person on vehicle, 7 static person, 8 distractor,
 * 12 reflection -> ignore regions of "person"; 3 car, 4 bicycle, 5 motorbike -> "car", "bicycle",
 * "motorcycle" (skipped when the model does not know them); 6, 9, 10, 11 (non-motorised vehicles, occluders)
 * are skipped. Blank lines and '#' comments are allowed. */
int ev_gt_parse_mot(const char *text, size_t len, const char *name, ev_label_fn label, void *ctx, struct ev_gt *gt);

/* One PASCAL VOC annotation (<annotation><filename>, <size>, <object><name>, <bndbox>, <difficult>: difficult
 * objects are ignore regions) or a dlib image dataset (<dataset><images><image file=".."><box top left width
 * height [ignore='1']><label>..</label></box>: boxes without a label get @p default_label). */
int ev_gt_parse_xml(const char *text, size_t len, const char *name, const char *default_label, ev_label_fn label,
		    void *ctx, struct ev_gt *gt);

/* COCO: {"images": [{"id", "file_name"}], "annotations": [{"image_id", "category_id", "bbox": [x,y,w,h],
 * "iscrowd"}], "categories": [{"id", "name"}]}. iscrowd annotations are crowd ignore regions. JSON errors name
 * the line and column. */
int ev_gt_parse_coco(const char *text, size_t len, const char *name, ev_label_fn label, void *ctx, struct ev_gt *gt);

/* Detections or tracker output in MOTChallenge form (what `vigil eval --dump` writes, and most trackers):
 * frame,id,x,y,w,h,score[,...] with 1-based frames and pixels; id -1 = untracked. Every box gets @p label.
 * *max_frame receives the largest frame index + 1. */
int ev_dets_parse_mot(const char *text, size_t len, const char *name, int label, struct ev_boxes *out, int *max_frame);

/* Index of image @p file (compared by base name) in gt->images, or -1. */
int ev_gt_image_index(const struct ev_gt *gt, const char *file);

#endif
