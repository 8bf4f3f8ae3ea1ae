/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer targets for `vigil eval`'s ground-truth readers: built three times, with FUZZ_GT_MOT, FUZZ_GT_XML
 * (PASCAL VOC and dlib through GMarkup) or FUZZ_GT_COCO (jansson). Any byte string must give 0 or -EINVAL with a
 * message naming the input, never a crash, leak or undefined behaviour; whatever is accepted is then evaluated
 * against itself (detection and tracking metrics), which must give sane numbers. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval_gt.h"
#include "eval_metrics.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
	if (!ok)
		abort();
}

static int labels(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "person"))
		return 0;
	if (!strcmp(name, "face"))
		return 1;
	if (!strcmp(name, "car"))
		return 2;
	if (!strcmp(name, "bicycle"))
		return EV_LABEL_SKIP;
	return EV_LABEL_UNKNOWN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_gt gt = { 0 };
	int err;

#if defined(FUZZ_GT_MOT)
	struct ev_boxes dets = { 0 };
	int max_frame = 0;

	/* the same text as detections (vigil eval --detections) */
	err = ev_dets_parse_mot((const char *)data, size, "fuzz.txt", 1, &dets, &max_frame);
	require(err == 0 || err == -EINVAL || err == -ENOMEM);
	require(err || max_frame >= 0);
	ev_boxes_free(&dets);
	err = ev_gt_parse_mot((const char *)data, size, "fuzz.txt", labels, NULL, &gt);
#elif defined(FUZZ_GT_XML)
	err = ev_gt_parse_xml((const char *)data, size, "fuzz.xml", "face", labels, NULL, &gt);
#else
	err = ev_gt_parse_coco((const char *)data, size, "fuzz.json", labels, NULL, &gt);
#endif
	require(err == 0 || err == -EINVAL || err == -ENOMEM);
	if (err == -EINVAL)
		require(strstr(vigil_last_error(), "fuzz.") != NULL);
	if (err == 0) {
		struct ev_result r;
		struct ev_params p = { .iou = 0.5f, .min_size = 0, .tracking = 1 };
		int frames = gt.max_frame > gt.n_images ? gt.max_frame : gt.n_images;

		for (size_t i = 0; i < gt.boxes.n; i++) {
			const struct ev_box *b = &gt.boxes.v[i];

			require(b->label >= 0 && b->label < 3 && b->w > 0 && b->h > 0 && b->frame >= 0);
		}
		if (frames > 100000)
			frames = 100000;
		/* the ground truth as its own detections: perfect wherever it has evaluated boxes */
		if (gt.boxes.n <= 2000 && ev_evaluate(&gt.boxes, &gt.boxes, 3, frames, &p, &r) == 0) {
			for (int l = 0; l < 3; l++) {
				const struct ev_label_result *L = &r.labels[l];

				require(L->ap50 == -1 || (L->ap50 >= 0 && L->ap50 <= 1));
				require(L->tp >= 0 && L->fp >= 0 && L->tp <= L->num_gt);
				require(!L->has_tracking || L->tracking.mota <= 1);
			}
			ev_result_free(&r);
		}
	}
	ev_gt_free(&gt);
	return 0;
}
