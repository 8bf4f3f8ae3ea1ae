/* SPDX-License-Identifier: Apache-2.0
 * The per-stream detector: preprocessing plan, activation arena, candidate and result storage, all
 * allocated at create so that detect() never allocates. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
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
	/* quantized SSD models */
	void *qarena;
	float *pp_scratch; /* float tensor before rounding to uint8 */
	float threshold;
	/* label filter: per label id, the minimum score, LABEL_DROPPED or LABEL_AT_THRESHOLD; num_labels entries */
	float *label_min;
	int label_filter;
	struct vigil_accel *accel; /* OpenCL executor, or NULL: the CPU program */
	struct vigil_backend_info backend;
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
	d->threshold = config->threshold < 0.0f ? info->default_threshold : config->threshold;
	d->logit_threshold = vigil_logit(d->threshold);
	d->iou_threshold = config->iou_threshold < 0.0f ? info->default_iou_threshold : config->iou_threshold;
	d->pp.configured = 0; /* the ROI may have changed */
	return 0;
}

void vigil_detector_destroy(struct vigil_detector *d)
{
	if (!d)
		return;
	vigil_accel_destroy(d->accel);
	free(d->items);
	free(d->nms_scratch);
	free(d->kept);
	free(d->candidates);
	vigil_preprocess_free(&d->pp);
	vigil_pool_destroy(d->pool);
	free(d->arena);
	free(d->qarena);
	free(d->label_min);
	free(d->pp_scratch);
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
	d = calloc(1, sizeof(*d));
	if (!d)
		return vigil_error(-ENOMEM, "out of memory creating a detector");
	d->model = vigil_model_ref(model);
	n_anchors = model->info.num_anchors;
	if (model->q8) {
		d->qarena = aligned_alloc(64, vigil_q8_program_arena_bytes(model->q8, config->threads));
		d->pp_scratch = malloc((size_t)model->info.input_width * model->info.input_height * 3 * sizeof(float));
		d->arena = malloc(sizeof(float)); /* unused: keeps the checks below uniform */
		if (!d->qarena || !d->pp_scratch) {
			ret = vigil_error(-ENOMEM, "out of memory creating a detector");
			goto out_destroy;
		}
	} else {
		d->arena = aligned_alloc(64, vigil_program_arena_floats(model->program) * sizeof(float));
	}
	d->candidates = calloc(n_anchors, sizeof(*d->candidates));
	d->kept = calloc(MAX_DETECTIONS_CAP, sizeof(*d->kept));
	d->nms_scratch = calloc(2 * (size_t)n_anchors, sizeof(int));
	d->items = calloc(MAX_DETECTIONS_CAP, sizeof(*d->items));
	d->label_min = calloc(model->info.num_labels > 0 ? (size_t)model->info.num_labels : 1, sizeof(float));
	if (!d->label_min) {
		ret = vigil_error(-ENOMEM, "out of memory creating a detector");
		goto out_destroy;
	}
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
	d->pp.stretch = model->q8 != NULL; /* SSD models were trained on whole images resized without letterbox */
	ret = vigil_detector_set_config(d, config);
	if (ret < 0)
		goto out_destroy;
	ret = vigil_accel_create(model, config, model->q8 ? d->qarena : (void *)d->arena, &d->accel, &d->backend);
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

void vigil_detector_backend_info(const struct vigil_detector *d, struct vigil_backend_info *info)
{
	*info = d->backend;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

#define LABEL_DROPPED -1.0f
#define LABEL_AT_THRESHOLD -2.0f

/* 1 when a detection of @p label with @p score passes the label filter (or there is none). */
static int label_passes(const struct vigil_detector *d, int label, float score)
{
	if (!d->label_filter)
		return 1;
	if (label < 0 || label >= d->model->info.num_labels || d->label_min[label] == LABEL_DROPPED)
		return 0;
	return score >= (d->label_min[label] == LABEL_AT_THRESHOLD ? d->threshold : d->label_min[label]);
}

/* Looks up a label by name: its id, or -1. */
static int label_id(const struct vigil_model *m, const char *name, size_t len)
{
	for (int i = 0; i < m->info.num_labels; i++) {
		const char *l = vigil_model_label(m, i);

		if (l && strlen(l) == len && strncmp(l, name, len) == 0)
			return i;
	}
	return -1;
}

int vigil_detector_set_label_filter(struct vigil_detector *d, const char *spec)
{
	const int n = d ? d->model->info.num_labels : 0;
	const char *p = spec;
	int entries = 0;

	if (!d)
		return vigil_error(-EINVAL, "vigil_detector_set_label_filter: detector is NULL");
	if (!spec || !*spec) {
		d->label_filter = 0;
		return 0;
	}
	/* validate everything first, so that a bad spec leaves the previous filter in place */
	for (int pass = 0; pass < 2; pass++) {
		p = spec;
		if (pass == 1)
			for (int i = 0; i < n; i++)
				d->label_min[i] = LABEL_DROPPED;
		while (1) {
			const char *end = p + strcspn(p, ","), *eq = memchr(p, '=', (size_t)(end - p));
			const char *name_end = eq ? eq : end;
			float min = -1.0f;
			int id;

			while (p < name_end && *p == ' ')
				p++;
			while (name_end > p && name_end[-1] == ' ')
				name_end--;
			if (name_end == p)
				return vigil_error(-EINVAL, "label filter '%s': entry %d has no label name", spec,
						   entries + 1);
			id = label_id(d->model, p, (size_t)(name_end - p));
			if (id < 0)
				return vigil_error(-EINVAL, "label filter '%s': model '%s' has no label '%.*s'", spec,
						   d->model->info.name, (int)(name_end - p), p);
			if (eq) {
				char num[32], *num_end;
				const size_t len = (size_t)(end - eq - 1);

				if (len == 0 || len >= sizeof(num))
					return vigil_error(-EINVAL, "label filter '%s': bad score for '%.*s'", spec,
							   (int)(name_end - p), p);
				memcpy(num, eq + 1, len);
				num[len] = '\0';
				min = strtof(num, &num_end);
				while (*num_end == ' ')
					num_end++;
				if (*num_end || !(min >= 0.0f && min <= 1.0f))
					return vigil_error(
					    -EINVAL,
					    "label filter '%s': score '%s' for '%.*s' is not a number from 0 "
					    "to 1",
					    spec, num, (int)(name_end - p), p);
			}
			if (pass == 1)
				d->label_min[id] = eq ? min : LABEL_AT_THRESHOLD;
			entries += pass == 0;
			if (!*end)
				break;
			p = end + 1;
		}
	}
	d->label_filter = 1;
	return 0;
}

/* Quantized SSD: uint8 tensor, the model's own decode + NMS, boxes mapped from the stretched ROI to the frame. */
static int detect_ssd(struct vigil_detector *d, const struct vigil_frame *frame, double t0,
		      const struct vigil_detections **out)
{
	const struct vigil_model *m = d->model;
	const struct vigil_letterbox *lb = &d->pp.lb;
	const float rw = (float)(lb->roi_x1 - lb->roi_x0), rh = (float)(lb->roi_y1 - lb->roi_y0);
	const float *boxes, *classes, *scores;
	double t1, t2;
	int ret, n, kept = 0;

	vigil_preprocess_run_u8(&d->pp, frame, d->pp_scratch,
				vigil_q8_program_tensor(m->q8, d->qarena, m->input_tensor));
	t1 = now_ms();
	ret = -1;
	if (d->accel) {
		/* the network on the device, the post-process on the host (backend.h) */
		ret = vigil_accel_run_q8(d->accel, d->qarena, d->pool, &d->backend);
		if (ret < 0 && d->config.backend != VIGIL_BACKEND_AUTO)
			return ret;
		if (ret < 0)
			vigil_accel_fallback(&d->accel, &d->backend);
	}
	if (!d->accel) {
		ret = vigil_q8_program_run(m->q8, d->qarena, d->pool);
		if (ret < 0)
			return ret;
	}
	t2 = now_ms();
	boxes = vigil_q8_program_tensor(m->q8, d->qarena, m->ssd_outputs[0]);
	classes = vigil_q8_program_tensor(m->q8, d->qarena, m->ssd_outputs[1]);
	scores = vigil_q8_program_tensor(m->q8, d->qarena, m->ssd_outputs[2]);
	n = (int)*(const float *)vigil_q8_program_tensor(m->q8, d->qarena, m->ssd_outputs[3]);
	for (int i = 0; i < n && kept < d->config.max_detections; i++) {
		struct vigil_detection *det = &d->items[kept];
		const float *b = boxes + 4 * (size_t)i; /* ymin, xmin, ymax, xmax of the tensor, 0..1 */
		const float x0 = fminf(fmaxf(b[1], 0.0f), 1.0f), y0 = fminf(fmaxf(b[0], 0.0f), 1.0f);
		const float x1 = fminf(fmaxf(b[3], 0.0f), 1.0f), y1 = fminf(fmaxf(b[2], 0.0f), 1.0f);
		const int label = (int)classes[i];

		if (label < 0 || label >= m->info.num_labels ||
		    !(d->label_filter ? label_passes(d, label, scores[i]) : scores[i] >= d->threshold))
			continue;
		memset(det, 0, sizeof(*det));
		det->label_id = label;
		det->label = vigil_model_label(m, label);
		det->score = scores[i];
		det->x = (float)lb->roi_x0 + x0 * rw;
		det->y = (float)lb->roi_y0 + y0 * rh;
		det->w = (x1 - x0) * rw;
		det->h = (y1 - y0) * rh;
		det->track_id = -1;
		kept++;
	}
	d->result.count = (size_t)kept;
	d->result.items = d->items;
	d->result.frame_width = frame->width;
	d->result.frame_height = frame->height;
	d->result.pts_ns = frame->pts_ns;
	d->result.timing.preprocess_ms = t1 - t0;
	d->result.timing.inference_ms = t2 - t1;
	d->result.timing.postprocess_ms = now_ms() - t2;
	*out = &d->result;
	return 0;
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
		if (ret == 0 && d->accel)
			ret = vigil_accel_configure(d->accel, &d->pp, frame);
		if (ret < 0)
			return ret;
	}
	if (m->q8)
		return detect_ssd(d, frame, t0, out);
	if (d->accel) {
		/* preprocessing, inference and candidate selection are one queue on the device: all of it
		 * counts as inference */
		t1 = now_ms();
		ret = vigil_accel_detect(d->accel, &d->pp, frame, d->logit_threshold,
					 vigil_program_tensor(m->program, d->arena, m->boxes_tensor),
					 vigil_program_tensor(m->program, d->arena, m->logits_tensor), &d->backend);
		if (ret < 0 && d->config.backend != VIGIL_BACKEND_AUTO)
			return ret;
		if (ret < 0) /* auto chose the device and it failed (lost, out of resources): the CPU from now on */
			vigil_accel_fallback(&d->accel, &d->backend);
	}
	if (!d->accel) {
		vigil_preprocess_run(&d->pp, frame, vigil_program_tensor(m->program, d->arena, m->input_tensor));
		t1 = now_ms();
		vigil_program_run(m->program, d->arena, d->pool);
	}
	t2 = now_ms();

	n_cand = vigil_face_decode(&m->decoder, vigil_program_tensor(m->program, d->arena, m->boxes_tensor),
				   vigil_program_tensor(m->program, d->arena, m->logits_tensor), d->logit_threshold,
				   d->candidates);
	n_kept = vigil_weighted_nms(d->candidates, n_cand, d->iou_threshold, d->nms_scratch, d->kept,
				    d->config.max_detections);
	{
		int k = 0;

		for (int i = 0; i < n_kept; i++) {
			if (!label_passes(d, 0, d->kept[i].score))
				continue;
			vigil_candidate_to_detection(&d->kept[i], &d->pp.lb, &d->items[k]);
			d->items[k].label_id = 0;
			d->items[k].label = vigil_model_label(m, 0);
			k++;
		}
		n_kept = k;
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

	if (m->q8)
		return vigil_error(VIGIL_EUNSUPPORTED, "model '%s' is quantized: it takes no float tensor",
				   m->info.name);
	if (n != want)
		return vigil_error(-EINVAL, "input tensor has %zu values, the model takes %zu", n, want);
	*boxes = *logits = NULL;
	if (d->accel) {
		int ret =
		    vigil_accel_run_tensor(d->accel, input, vigil_program_tensor(m->program, d->arena, m->boxes_tensor),
					   vigil_program_tensor(m->program, d->arena, m->logits_tensor));

		if (ret < 0)
			return ret;
	} else {
		memcpy(vigil_program_tensor(m->program, d->arena, m->input_tensor), input, n * sizeof(float));
		vigil_program_run(m->program, d->arena, d->pool);
	}
	*boxes = vigil_program_tensor(m->program, d->arena, m->boxes_tensor);
	*logits = vigil_program_tensor(m->program, d->arena, m->logits_tensor);
	return 0;
}
