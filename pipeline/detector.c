/* SPDX-License-Identifier: Apache-2.0
 * The per-stream detector: preprocessing plan, activation arena, candidate and result storage, all
 * allocated at create so that detect() never allocates. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector_internal.h"
#include "error.h"
#include "model_internal.h"
#include "postprocess.h"
#include "preprocess.h"
#include "threadpool.h"

#define MAX_DETECTIONS_CAP 1024
#define DEFAULT_MAX_DETECTIONS 100

struct vigil_detector {
	struct vigil_model *model;
	struct vigil_detector_config config;
	float logit_threshold, iou_threshold;
	float *arena;
	struct vigil_pool *pool; /* config.threads threads, the caller included */
	struct vigil_preprocess pp;
	struct vigil_candidate *candidates; /* one per anchor */
	struct vigil_candidate *kept;       /* after NMS, max_detections */
	int *nms_scratch;                   /* 2 per anchor */
	struct vigil_detection *items;      /* MAX_DETECTIONS_CAP */
	struct vigil_detections result;
};

void vigil_detector_config_init(struct vigil_detector_config *config)
{
	memset(config, 0, sizeof(*config));
	config->threshold = -1.0f;
	config->iou_threshold = -1.0f;
	config->max_detections = DEFAULT_MAX_DETECTIONS;
	config->threads = 1;
	config->backend = VIGIL_BACKEND_AUTO;
}

static int check_config(const struct vigil_detector_config *c)
{
	if (isnan(c->threshold) || c->threshold > 1.0f)
		return vigil_error(-EINVAL, "threshold %g is outside 0..1 (negative selects the model default)",
				   (double)c->threshold);
	if (isnan(c->iou_threshold) || c->iou_threshold > 1.0f)
		return vigil_error(-EINVAL, "iou_threshold %g is outside 0..1 (negative selects the model default)",
				   (double)c->iou_threshold);
	if (c->max_detections < 1 || c->max_detections > MAX_DETECTIONS_CAP)
		return vigil_error(-EINVAL, "max_detections %d is outside 1..%d", c->max_detections,
				   MAX_DETECTIONS_CAP);
	if (!isfinite(c->roi.x) || !isfinite(c->roi.y) || !isfinite(c->roi.w) || !isfinite(c->roi.h))
		return vigil_error(-EINVAL, "roi must be finite numbers");
	if (c->sampling != VIGIL_SAMPLING_PIXEL_CENTER && c->sampling != VIGIL_SAMPLING_CORNER)
		return vigil_error(-EINVAL,
				   "sampling %d is neither VIGIL_SAMPLING_PIXEL_CENTER nor VIGIL_SAMPLING_CORNER",
				   (int)c->sampling);
	if (c->threads < 1 || c->threads > VIGIL_MAX_THREADS)
		return vigil_error(-EINVAL, "threads %d is outside 1..%d", c->threads, VIGIL_MAX_THREADS);
	if (c->backend != VIGIL_BACKEND_AUTO && c->backend != VIGIL_BACKEND_CPU && c->backend != VIGIL_BACKEND_OPENCL)
		return vigil_error(-EINVAL, "backend %d is not a vigil_backend", (int)c->backend);
	return 0;
}

int vigil_detector_set_config(struct vigil_detector *d, const struct vigil_detector_config *config)
{
	const struct vigil_model_info *info = &d->model->info;
	int ret = check_config(config);

	if (ret < 0)
		return ret;
	/* d->config.threads is 0 only during create */
	if (d->config.threads != 0 && (config->threads != d->config.threads || config->backend != d->config.backend))
		return vigil_error(-EINVAL, "threads and backend are fixed when the detector is created");
	d->config = *config;
	d->logit_threshold = vigil_logit(config->threshold < 0.0f ? info->default_threshold : config->threshold);
	d->iou_threshold = config->iou_threshold < 0.0f ? info->default_iou_threshold : config->iou_threshold;
	d->pp.configured = 0; /* the ROI may have changed */
	return 0;
}

void vigil_detector_destroy(struct vigil_detector *d)
{
	if (!d)
		return;
	free(d->items);
	free(d->nms_scratch);
	free(d->kept);
	free(d->candidates);
	vigil_preprocess_free(&d->pp);
	vigil_pool_destroy(d->pool);
	free(d->arena);
	vigil_model_close(d->model);
	free(d);
}

int vigil_detector_create(struct vigil_model *model, const struct vigil_detector_config *config,
			  struct vigil_detector **out)
{
	struct vigil_detector_config defaults;
	struct vigil_detector *d;
	int n_anchors, ret;

	if (!out)
		return vigil_error(-EINVAL, "vigil_detector_create: out is NULL");
	*out = NULL;
	if (!model)
		return vigil_error(-EINVAL, "vigil_detector_create: model is NULL");
	if (!config) {
		vigil_detector_config_init(&defaults);
		config = &defaults;
	}
	ret = check_config(config);
	if (ret < 0)
		return ret;
	if (config->backend == VIGIL_BACKEND_OPENCL)
		return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: this build has no OpenCL backend");
	d = calloc(1, sizeof(*d));
	if (!d)
		return vigil_error(-ENOMEM, "out of memory creating a detector");
	d->model = vigil_model_ref(model);
	n_anchors = model->info.num_anchors;
	d->arena = aligned_alloc(64, vigil_program_arena_floats(model->program) * sizeof(float));
	d->candidates = calloc(n_anchors, sizeof(*d->candidates));
	d->kept = calloc(MAX_DETECTIONS_CAP, sizeof(*d->kept));
	d->nms_scratch = calloc(2 * (size_t)n_anchors, sizeof(int));
	d->items = calloc(MAX_DETECTIONS_CAP, sizeof(*d->items));
	if (!d->arena || !d->candidates || !d->kept || !d->nms_scratch || !d->items) {
		ret = vigil_error(-ENOMEM, "out of memory creating a detector");
		goto out_destroy;
	}
	ret = vigil_pool_create(config->threads, &d->pool);
	if (ret < 0)
		goto out_destroy;
	ret = vigil_preprocess_init(&d->pp, model->info.input_width, model->info.input_height, model->norm_scale,
				    model->norm_bias);
	if (ret < 0)
		goto out_destroy;
	ret = vigil_detector_set_config(d, config);
	if (ret < 0)
		goto out_destroy;
	*out = d;
	return 0;

out_destroy:
	vigil_detector_destroy(d);
	return ret;
}

const struct vigil_model *vigil_detector_model(const struct vigil_detector *d)
{
	return d->model;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int vigil_detector_detect(struct vigil_detector *d, const struct vigil_frame *frame,
			  const struct vigil_detections **out)
{
	const struct vigil_model *m;
	const struct vigil_rect *roi;
	double t0, t1, t2, t3;
	int ret, n_cand, n_kept;

	if (!d || !frame || !out)
		return vigil_error(-EINVAL, "vigil_detector_detect: NULL argument");
	*out = NULL;
	m = d->model;
	ret = vigil_frame_validate(frame);
	if (ret < 0)
		return ret;

	t0 = now_ms();
	if (!d->pp.configured || d->pp.format != frame->format || d->pp.width != frame->width ||
	    d->pp.height != frame->height) {
		roi = d->config.roi.w > 0.0f && d->config.roi.h > 0.0f ? &d->config.roi : NULL;
		ret = vigil_preprocess_configure(&d->pp, frame, roi, d->config.sampling);
		if (ret < 0)
			return ret;
	}
	vigil_preprocess_run(&d->pp, frame, vigil_program_tensor(m->program, d->arena, m->input_tensor));
	t1 = now_ms();

	vigil_program_run(m->program, d->arena, d->pool);
	t2 = now_ms();

	n_cand = vigil_face_decode(&m->decoder, vigil_program_tensor(m->program, d->arena, m->boxes_tensor),
				   vigil_program_tensor(m->program, d->arena, m->logits_tensor), d->logit_threshold,
				   d->candidates);
	n_kept = vigil_weighted_nms(d->candidates, n_cand, d->iou_threshold, d->nms_scratch, d->kept,
				    d->config.max_detections);
	for (int i = 0; i < n_kept; i++) {
		vigil_candidate_to_detection(&d->kept[i], &d->pp.lb, &d->items[i]);
		d->items[i].label_id = 0;
		d->items[i].label = vigil_model_label(m, 0);
	}
	t3 = now_ms();

	d->result.count = (size_t)n_kept;
	d->result.items = d->items;
	d->result.frame_width = frame->width;
	d->result.frame_height = frame->height;
	d->result.pts_ns = frame->pts_ns;
	d->result.timing.preprocess_ms = t1 - t0;
	d->result.timing.inference_ms = t2 - t1;
	d->result.timing.postprocess_ms = t3 - t2;
	*out = &d->result;
	return 0;
}

int vigil_detector_run_tensor(struct vigil_detector *d, const float *input, size_t n, const float **boxes,
			      const float **logits)
{
	const struct vigil_model *m = d->model;
	const size_t want = (size_t)m->info.input_width * m->info.input_height * 3;

	if (n != want)
		return vigil_error(-EINVAL, "input tensor has %zu values, the model takes %zu", n, want);
	memcpy(vigil_program_tensor(m->program, d->arena, m->input_tensor), input, n * sizeof(float));
	vigil_program_run(m->program, d->arena, d->pool);
	*boxes = vigil_program_tensor(m->program, d->arena, m->boxes_tensor);
	*logits = vigil_program_tensor(m->program, d->arena, m->logits_tensor);
	return 0;
}
