/* SPDX-License-Identifier: Apache-2.0
 * Which backend runs a detector, decided once at create. */
#include "backend.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

const char *vigil_backend_name(enum vigil_backend b)
{
	switch (b) {
	case VIGIL_BACKEND_AUTO:
		return "auto";
	case VIGIL_BACKEND_CPU:
		return "cpu";
	case VIGIL_BACKEND_OPENCL:
		return "opencl";
	}
	return NULL;
}

#ifndef VIGIL_HAVE_OPENCL

int vigil_accel_create(struct vigil_model *model, const struct vigil_detector_config *config, void *arena,
		       struct vigil_accel **out, struct vigil_backend_info *info)
{
	*out = NULL;
	memset(info, 0, sizeof(*info));
	info->backend = VIGIL_BACKEND_CPU;
	if (config->backend == VIGIL_BACKEND_OPENCL)
		return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: this build has no OpenCL backend");
	return 0;
}

void vigil_accel_destroy(struct vigil_accel *a)
{
}

int vigil_accel_configure(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame)
{
	return -ENOSYS;
}

int vigil_accel_detect(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame,
		       float logit_threshold, float *boxes, float *logits, struct vigil_backend_info *info)
{
	return -ENOSYS;
}

int vigil_accel_run_tensor(struct vigil_accel *a, const float *input, float *boxes, float *logits)
{
	return -ENOSYS;
}

int vigil_accel_run_q8(struct vigil_accel *a, void *qarena, struct vigil_pool *pool, struct vigil_backend_info *info)
{
	return -ENOSYS;
}

void vigil_accel_fallback(struct vigil_accel **a, struct vigil_backend_info *info)
{
	*a = NULL;
	info->backend = VIGIL_BACKEND_CPU;
}

#else

#include "cl_exec.h"
#include "cl_exec_q8.h"
#include "engine_q8.h"

#define AUTO_RUNS 5

struct vigil_accel {
	struct vigil_cl_exec *exec; /* float models */
	struct vigil_cl_q8 *q8;     /* quantized models (model->q8) */
	const struct vigil_model *model;
	void *dst[8]; /* q8: where each read-back tensor goes in the arena given to run_q8 (set per call) */
};

/* Runs the quantized network on the device with @p qarena's input tensor, then the host's share. */
static int run_q8(struct vigil_accel *a, void *qarena, struct vigil_pool *pool)
{
	const struct vigil_q8_program *p = a->model->q8;
	const int n = vigil_cl_q8_n_readback(a->q8);
	int ret;

	for (int k = 0; k < n; k++)
		a->dst[k] = vigil_q8_program_tensor(p, qarena, vigil_cl_q8_readback_tensor(a->q8, k));
	ret = vigil_cl_q8_run(a->q8, vigil_q8_program_tensor(p, qarena, a->model->input_tensor), a->dst);
	if (ret < 0)
		return ret;
	return vigil_q8_program_run_range(p, qarena, pool, vigil_cl_q8_split(a->q8), a->model->graph.n_ops);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over AUTO_RUNS of the OpenCL executor (tensor in, raw outputs out) and of the CPU program. */
static void measure(struct vigil_model *m, struct vigil_accel *a, void *arena, double *cl_ms, double *cpu_ms)
{
	double t[2][AUTO_RUNS];

	for (int i = 0; i < AUTO_RUNS; i++) {
		double t0 = now_ms();

		if (m->q8) {
			run_q8(a, arena, NULL);
			t[0][i] = now_ms() - t0;
			t0 = now_ms();
			vigil_q8_program_run(m->q8, arena, NULL);
		} else {
			vigil_cl_exec_run_tensor(a->exec, vigil_program_tensor(m->program, arena, m->input_tensor),
						 vigil_program_tensor(m->program, arena, m->boxes_tensor),
						 vigil_program_tensor(m->program, arena, m->logits_tensor));
			t[0][i] = now_ms() - t0;
			t0 = now_ms();
			vigil_program_run(m->program, arena, NULL);
		}
		t[1][i] = now_ms() - t0;
	}
	qsort(t[0], AUTO_RUNS, sizeof(double), cmp_double);
	qsort(t[1], AUTO_RUNS, sizeof(double), cmp_double);
	*cl_ms = t[0][AUTO_RUNS / 2];
	*cpu_ms = t[1][AUTO_RUNS / 2];
}

/* A dummy frame (16x16 black GRAY8) through every kernel, so that the first real frame pays no
 * first-launch costs (drivers that compile lazily, PoCL's per-kernel work-group compile, allocations). */
static int warm_up(struct vigil_model *m, struct vigil_cl_exec *exec, void *arena)
{
	static const uint8_t black[16 * 16];
	struct vigil_frame f = { 0 };
	struct vigil_preprocess pp;
	int ret;

	f.format = VIGIL_FORMAT_GRAY8;
	f.width = f.height = 16;
	f.planes[0] = black;
	f.strides[0] = 16;
	f.pts_ns = -1;
	ret = vigil_preprocess_init(&pp, m->info.input_width, m->info.input_height, m->norm_scale, m->norm_bias);
	if (ret < 0)
		return ret;
	ret = vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER);
	if (ret == 0)
		ret = vigil_cl_exec_configure(exec, &pp, &f);
	vigil_cl_exec_log_frame_paths(exec, 0); /* the first real frame logs its path */
	if (ret == 0)
		ret =
		    vigil_cl_exec_detect(exec, &pp, &f, 0.0f, vigil_program_tensor(m->program, arena, m->boxes_tensor),
					 vigil_program_tensor(m->program, arena, m->logits_tensor));
	vigil_cl_exec_log_frame_paths(exec, 1);
	vigil_preprocess_free(&pp);
	return ret;
}

static atomic_int auto_warned;

/* AUTO: one warning per process, then the CPU. */
static int auto_fallback(int err)
{
	if (atomic_exchange(&auto_warned, 1) == 0)
		vigil_log("opencl", VIGIL_LOG_WARNING, "backend auto: OpenCL is not usable (%s); using the CPU",
			  vigil_last_error());
	vigil_error_clear();
	return 0;
}

int vigil_accel_create(struct vigil_model *m, const struct vigil_detector_config *config, void *arena,
		       struct vigil_accel **out, struct vigil_backend_info *info)
{
	const int is_auto = config->backend == VIGIL_BACKEND_AUTO;
	struct vigil_cl_exec_config ec = { 0 };
	struct vigil_cl_device *dev;
	struct vigil_accel *a = NULL;
	struct vigil_cl_exec_stats st;
	double t0, cl_ms, cpu_ms;
	int ret, is_cpu = 0;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	info->backend = VIGIL_BACKEND_CPU;
	if (config->backend == VIGIL_BACKEND_CPU)
		return 0;
	if (is_auto) {
		const char *env = getenv("VIGIL_CL_DEVICE");
		const int named = (config->device && *config->device) || (env && *env);

		/* PoCL (CPU devices only) maps LLVM into the process when loaded: not done for nothing */
		if (!named && !vigil_cl_may_have_gpu()) {
			vigil_log("opencl", VIGIL_LOG_INFO,
				  "backend auto: no OpenCL implementation that may offer a GPU; using the CPU backend");
			return 0;
		}
		ret = vigil_cl_device_find(config->device, &is_cpu);
		if (ret < 0)
			return auto_fallback(ret);
		/* An OpenCL CPU device computes on the cores the CPU backend already uses, with launch and
		 * copy overhead on top: only measured when asked for by name. */
		if (is_cpu && !named) {
			vigil_log("opencl", VIGIL_LOG_INFO,
				  "backend auto: the OpenCL device is a CPU device; using the CPU backend");
			return 0;
		}
	}
	t0 = now_ms();
	ret = vigil_cl_device_get(config->device, &dev);
	if (ret < 0)
		return is_auto ? auto_fallback(ret) : ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return vigil_error(-ENOMEM, "out of memory for the OpenCL backend");
	a->model = m;
	if (m->q8) {
		/* the warm-up: one inference of whatever the input tensor holds */
		ret = vigil_cl_q8_create(dev, &m->graph, vigil_q8_program_requant(m->q8) == VIGIL_Q8_REQUANT_FIXEDPOINT,
					 &a->q8);
		if (ret == 0)
			ret = run_q8(a, arena, NULL);
	} else {
		ec.input_tensor = m->input_tensor;
		ec.boxes_tensor = m->boxes_tensor;
		ec.logits_tensor = m->logits_tensor;
		ec.num_anchors = m->info.num_anchors;
		ec.num_coords = m->decoder.num_coords;
		ret = vigil_cl_exec_create(dev, &m->graph, &ec, &a->exec);
		if (ret == 0)
			ret = warm_up(m, a->exec, arena);
	}
	if (ret < 0)
		goto out_fail;
	info->warmup_ms = now_ms() - t0;
	if (m->q8) {
		struct vigil_cl_q8_stats qs;

		vigil_cl_q8_get_stats(a->q8, &qs);
		st.launches_per_inference = qs.launches_per_inference;
		st.act_bytes = qs.act_bytes;
	} else {
		vigil_cl_exec_get_stats(a->exec, &st);
	}
	snprintf(info->device, sizeof(info->device), "%.255s", dev->name);
	info->launches_per_inference = st.launches_per_inference;
	if (is_auto) {
		measure(m, a, arena, &cl_ms, &cpu_ms);
		vigil_log("opencl", VIGIL_LOG_INFO, "backend auto for %s: OpenCL %.3f ms, CPU %.3f ms: %s",
			  m->info.name, cl_ms, cpu_ms, cl_ms < cpu_ms ? "OpenCL" : "CPU");
		if (!(cl_ms < cpu_ms)) {
			vigil_accel_destroy(a);
			memset(info, 0, sizeof(*info));
			info->backend = VIGIL_BACKEND_CPU;
			return 0;
		}
	}
	info->backend = VIGIL_BACKEND_OPENCL;
	vigil_log("opencl", VIGIL_LOG_INFO,
		  "%s on %s: warm-up %.1f ms, %d launches per inference, %zu-byte activations", m->info.name, dev->name,
		  info->warmup_ms, st.launches_per_inference, st.act_bytes);
	*out = a;
	return 0;

out_fail:
	vigil_accel_destroy(a);
	return is_auto ? auto_fallback(ret) : ret;
}

void vigil_accel_destroy(struct vigil_accel *a)
{
	if (!a)
		return;
	vigil_cl_exec_destroy(a->exec);
	vigil_cl_q8_destroy(a->q8);
	free(a);
}

int vigil_accel_configure(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame)
{
	if (!a->exec) /* quantized: the host preprocesses */
		return 0;
	return vigil_cl_exec_configure(a->exec, pp, frame);
}

int vigil_accel_detect(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame,
		       float logit_threshold, float *boxes, float *logits, struct vigil_backend_info *info)
{
	struct vigil_cl_exec_stats st;
	int ret = vigil_cl_exec_detect(a->exec, pp, frame, logit_threshold, boxes, logits);

	vigil_cl_exec_get_stats(a->exec, &st);
	info->read_bytes_per_frame = (long)st.last_read_bytes;
	info->upload_bytes_per_frame = (long)st.last_upload_bytes;
	return ret;
}

int vigil_accel_run_tensor(struct vigil_accel *a, const float *input, float *boxes, float *logits)
{
	return vigil_cl_exec_run_tensor(a->exec, input, boxes, logits);
}

int vigil_accel_run_q8(struct vigil_accel *a, void *qarena, struct vigil_pool *pool, struct vigil_backend_info *info)
{
	struct vigil_cl_q8_stats st;
	int ret = run_q8(a, qarena, pool);

	vigil_cl_q8_get_stats(a->q8, &st);
	info->read_bytes_per_frame = (long)st.read_bytes;
	info->upload_bytes_per_frame = (long)st.upload_bytes;
	return ret;
}

void vigil_accel_fallback(struct vigil_accel **a, struct vigil_backend_info *info)
{
	static atomic_int warned;

	if (atomic_exchange(&warned, 1) == 0)
		vigil_log("opencl", VIGIL_LOG_WARNING,
			  "backend auto: OpenCL failed during detection (%s); using the CPU", vigil_last_error());
	vigil_error_clear();
	vigil_accel_destroy(*a);
	*a = NULL;
	memset(info, 0, sizeof(*info));
	info->backend = VIGIL_BACKEND_CPU;
}

#endif
