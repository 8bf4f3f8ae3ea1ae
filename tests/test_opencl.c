/* SPDX-License-Identifier: Apache-2.0
 * The OpenCL backend on a real OpenCL implementation (PoCL's CPU device in CI): every kernel against
 * the CPU reference over odd shapes, preprocessing of every format, whole models against the CPU
 * backend, detections on the face photos, the program cache, and the documented faults.
 * Tolerances (absolute, inputs in [-1, 1]): convolutions and fused convolution + ADD 1e-4 (the device
 * compiler may contract a*b+c into FMA), resize 1e-5, max pool / pad / concat / add / clamp exact,
 * preprocessing 2e-4 (of a [-1, 1] tensor), whole models 1e-3 (the parity bound of the CPU backend). */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cl_exec.h"
#include "cl_runtime.h"
#include "convert.h"
#include "detector_internal.h"
#include "engine.h"
#include "image_io.h"
#include "model_internal.h"
#include "refdata.h"
#include "testutil.h"

/* ---------------------------------------------------------------------------------------------- */
/* Hand-built one-operator graphs */

struct tg {
	struct vigil_graph g;
	struct vigil_tensor t[12];
	struct vigil_op op[4];
	float *owned[12];
};

static float rnd(uint64_t *st)
{
	return (float)((double)(tu_rand(st) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
}

static int tensor4(struct tg *g, int n, int h, int w, int c, int constant, uint64_t *st)
{
	const int i = g->g.n_tensors++;
	struct vigil_tensor *t = &g->t[i];

	memset(t, 0, sizeof(*t));
	t->name = "";
	t->dtype = VIGIL_DT_F32;
	t->rank = 4;
	t->dims[0] = n;
	t->dims[1] = h;
	t->dims[2] = w;
	t->dims[3] = c;
	t->count = (size_t)n * h * w * c;
	t->arena_slot = -1;
	if (constant) {
		float *d = malloc(t->count * sizeof(float));

		ck_assert(d != NULL);
		for (size_t k = 0; k < t->count; k++)
			d[k] = rnd(st);
		g->owned[i] = d;
		t->data = d;
	}
	return i;
}

static int tensor1(struct tg *g, int n, uint64_t *st)
{
	const int i = tensor4(g, 1, 1, 1, n, 1, st);

	g->t[i].rank = 1;
	g->t[i].dims[0] = n;
	return i;
}

static struct vigil_op *add_op(struct tg *g, enum vigil_op_kind kind, int out, int n_in, const int *in)
{
	struct vigil_op *op = &g->op[g->g.n_ops++];

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->source_index = g->g.n_ops - 1;
	op->output = out;
	op->n_inputs = n_in;
	for (int k = 0; k < n_in; k++)
		op->inputs[k] = in[k];
	return op;
}

static void tg_init(struct tg *g)
{
	memset(g, 0, sizeof(*g));
	g->g.tensors = g->t;
	g->g.ops = g->op;
}

static void tg_free(struct tg *g)
{
	for (int i = 0; i < 12; i++)
		free(g->owned[i]);
}

static int out_same(int in, int stride)
{
	return (in + stride - 1) / stride;
}

static struct vigil_cl_device *device(void)
{
	struct vigil_cl_device *dev = NULL;
	int ret = vigil_cl_device_get(NULL, &dev);

	ck_assert_msg(ret == 0, "no OpenCL device: %s (install pocl-opencl-icd: scripts/setup.sh)", vigil_last_error());
	return dev;
}

/* Runs the graph (input g->g.inputs[0], output g->g.outputs[0]) on the CPU engine and on the device and
 * returns the largest absolute difference. */
static double run_both(struct tg *g, uint64_t *st, const char *what)
{
	const int in = g->g.inputs[0], out = g->g.outputs[0];
	const size_t n_in = g->t[in].count, n_out = g->t[out].count;
	struct vigil_program *prog;
	struct vigil_cl_exec *e;
	struct vigil_cl_exec_config cfg = { .input_tensor = in, .boxes_tensor = out, .logits_tensor = out };
	float *input = malloc(n_in * sizeof(float)), *arena, *got = malloc(n_out * sizeof(float));
	float *got2 = malloc(n_out * sizeof(float));
	const float *want;
	double worst = 0;
	size_t at = 0;

	ck_assert(input && got && got2);
	for (size_t k = 0; k < n_in; k++)
		input[k] = rnd(st);
	ck_assert_msg(vigil_program_create(&g->g, &prog) == 0, "%s", vigil_last_error());
	arena = aligned_alloc(64, (vigil_program_arena_floats(prog) + 16) * sizeof(float));
	ck_assert(arena != NULL);
	memcpy(vigil_program_tensor(prog, arena, in), input, n_in * sizeof(float));
	vigil_program_run(prog, arena, NULL);
	want = vigil_program_tensor(prog, arena, out);

	ck_assert_msg(vigil_cl_exec_create(device(), &g->g, &cfg, &e) == 0, "%s: %s", what, vigil_last_error());
	ck_assert_msg(vigil_cl_exec_run_tensor(e, input, got, got2) == 0, "%s: %s", what, vigil_last_error());
	for (size_t k = 0; k < n_out; k++) {
		const double d = fabs((double)got[k] - (double)want[k]);

		if (!(d <= worst)) {
			worst = isnan(d) ? INFINITY : d;
			at = k;
		}
	}
	if (worst > 1e-6)
		printf("%s: max |diff| %.3g at %zu (%g vs %g)\n", what, worst, at, got[at], want[at]);
	vigil_cl_exec_destroy(e);
	vigil_program_destroy(prog);
	free(arena);
	free(got2);
	free(got);
	free(input);
	return worst;
}

static void graph_io(struct tg *g, int in, int out)
{
	g->g.n_inputs = 1;
	g->g.inputs[0] = in;
	g->g.n_outputs = 1;
	g->g.outputs[0] = out;
}

START_TEST(test_conv2d)
{
	uint64_t seed = 0xc0de + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 24; iter++) {
		struct tg g;
		const int ih = 1 + tu_rand(&st) % 13, iw = 1 + tu_rand(&st) % 11, ic = 1 + tu_rand(&st) % 9;
		const int oc = 1 + tu_rand(&st) % 11, k = 1 + 2 * (tu_rand(&st) % 3), stride = 1 + tu_rand(&st) % 2;
		const int dil = 1 + (tu_rand(&st) % 4 == 0), valid = tu_rand(&st) % 3 == 0 && ih > k && iw > k;
		const int oh = valid ? (ih - (k - 1) * dil - 1) / stride + 1 : out_same(ih, stride);
		const int ow = valid ? (iw - (k - 1) * dil - 1) / stride + 1 : out_same(iw, stride);
		char what[96];

		if (oh < 1 || ow < 1)
			continue;
		tg_init(&g);
		int x = tensor4(&g, 1, ih, iw, ic, 0, &st), w = tensor4(&g, oc, k, k, ic, 1, &st);
		int b = tu_rand(&st) % 4 ? tensor1(&g, oc, &st) : -1, y = tensor4(&g, 1, oh, ow, oc, 0, &st);
		struct vigil_op *op = add_op(&g, VIGIL_OP_CONV2D, y, 3, (int[]){ x, w, b });

		op->p.conv.stride_h = op->p.conv.stride_w = stride;
		op->p.conv.dilation_h = op->p.conv.dilation_w = dil;
		op->p.conv.padding = valid ? VIGIL_PAD_VALID : VIGIL_PAD_SAME;
		op->p.conv.act = (enum vigil_act)(tu_rand(&st) % 4);
		graph_io(&g, x, y);
		snprintf(what, sizeof(what), "conv2d seed %#llx iter %d %dx%dx%d->%d k%d s%d d%d",
			 (unsigned long long)seed, iter, ih, iw, ic, oc, k, stride, dil);
		ck_assert_msg(run_both(&g, &st, what) <= 1e-4, "%s", what);
		tg_free(&g);
	}
}
END_TEST

START_TEST(test_dwconv2d)
{
	uint64_t seed = 0xd3 + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 24; iter++) {
		struct tg g;
		const int ih = 1 + tu_rand(&st) % 14, iw = 1 + tu_rand(&st) % 9, ic = 1 + tu_rand(&st) % 13;
		const int mult = 1 + (tu_rand(&st) % 3 == 0), k = 1 + 2 * (tu_rand(&st) % 3);
		const int stride = 1 + tu_rand(&st) % 2, dil = 1 + (tu_rand(&st) % 5 == 0);
		const int oh = out_same(ih, stride), ow = out_same(iw, stride);
		char what[96];

		tg_init(&g);
		int x = tensor4(&g, 1, ih, iw, ic, 0, &st), w = tensor4(&g, 1, k, k, ic * mult, 1, &st);
		int b = tu_rand(&st) % 4 ? tensor1(&g, ic * mult, &st) : -1;
		int y = tensor4(&g, 1, oh, ow, ic * mult, 0, &st);
		struct vigil_op *op = add_op(&g, VIGIL_OP_DWCONV2D, y, 3, (int[]){ x, w, b });

		op->p.conv.stride_h = op->p.conv.stride_w = stride;
		op->p.conv.dilation_h = op->p.conv.dilation_w = dil;
		op->p.conv.depth_multiplier = mult;
		op->p.conv.act = (enum vigil_act)(tu_rand(&st) % 4);
		graph_io(&g, x, y);
		snprintf(what, sizeof(what), "dwconv2d seed %#llx iter %d %dx%dx%d*%d k%d s%d",
			 (unsigned long long)seed, iter, ih, iw, ic, mult, k, stride);
		ck_assert_msg(run_both(&g, &st, what) <= 1e-4, "%s", what);
		tg_free(&g);
	}
}
END_TEST

START_TEST(test_maxpool_resize_pad)
{
	uint64_t seed = 0x900 + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 10; iter++) {
		const int ih = 1 + tu_rand(&st) % 15, iw = 1 + tu_rand(&st) % 12, c = 1 + tu_rand(&st) % 7;
		const int f = 1 + tu_rand(&st) % 3, s = 1 + tu_rand(&st) % 2;
		char what[96];
		struct tg g;

		/* max pool, SAME */
		tg_init(&g);
		int x = tensor4(&g, 1, ih, iw, c, 0, &st),
		    y = tensor4(&g, 1, out_same(ih, s), out_same(iw, s), c, 0, &st);
		struct vigil_op *op = add_op(&g, VIGIL_OP_MAXPOOL2D, y, 1, &x);

		op->p.pool.filter_h = f;
		op->p.pool.filter_w = f + (iter & 1);
		op->p.pool.stride_h = op->p.pool.stride_w = s;
		op->p.pool.act = iter % 3 == 0 ? VIGIL_ACT_RELU : VIGIL_ACT_NONE;
		graph_io(&g, x, y);
		snprintf(what, sizeof(what), "maxpool seed %#llx iter %d", (unsigned long long)seed, iter);
		ck_assert_msg(run_both(&g, &st, what) == 0, "%s", what);
		tg_free(&g);

		/* resize bilinear, the three conventions */
		tg_init(&g);
		x = tensor4(&g, 1, ih, iw, c, 0, &st);
		y = tensor4(&g, 1, 1 + tu_rand(&st) % 20, 1 + tu_rand(&st) % 17, c, 0, &st);
		op = add_op(&g, VIGIL_OP_RESIZE_BILINEAR, y, 1, &x);
		op->p.resize.align_corners = iter % 3 == 1;
		op->p.resize.half_pixel_centers = iter % 3 == 2;
		graph_io(&g, x, y);
		snprintf(what, sizeof(what), "resize seed %#llx iter %d", (unsigned long long)seed, iter);
		ck_assert_msg(run_both(&g, &st, what) <= 1e-5, "%s", what);
		tg_free(&g);

		/* pad on every dimension */
		{
			int32_t pads[8] = { 0, 0, iter % 2, 1, 2, iter % 3, 0, 1 + iter % 4 };

			tg_init(&g);
			x = tensor4(&g, 1, ih, iw, c, 0, &st);
			int p = tensor4(&g, 4, 2, 1, 1, 0, &st);

			g.t[p].rank = 2;
			g.t[p].dims[0] = 4;
			g.t[p].dims[1] = 2;
			g.t[p].dims[2] = g.t[p].dims[3] = 0;
			g.t[p].count = 8;
			g.t[p].dtype = VIGIL_DT_I32;
			g.t[p].data = pads;
			y = tensor4(&g, 1, ih + pads[2] + pads[3], iw + pads[4] + pads[5], c + pads[7], 0, &st);
			add_op(&g, VIGIL_OP_PAD, y, 2, (int[]){ x, p });
			graph_io(&g, x, y);
			snprintf(what, sizeof(what), "pad seed %#llx iter %d", (unsigned long long)seed, iter);
			ck_assert_msg(run_both(&g, &st, what) == 0, "%s", what);
			tg_free(&g);
		}
	}
}
END_TEST

START_TEST(test_add_concat_relu)
{
	uint64_t seed = 0xadd + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 8; iter++) {
		const int h = 1 + tu_rand(&st) % 9, w = 1 + tu_rand(&st) % 8, c = 1 + tu_rand(&st) % 10;
		char what[96];
		struct tg g;

		/* ADD of an activation and a constant, with a clamp */
		tg_init(&g);
		int x = tensor4(&g, 1, h, w, c, 0, &st), k = tensor4(&g, 1, h, w, c, 1, &st);
		int y = tensor4(&g, 1, h, w, c, 0, &st);

		add_op(&g, VIGIL_OP_ADD, y, 2, (int[]){ x, k })->p.add.act = (enum vigil_act)(iter % 4);
		graph_io(&g, x, y);
		snprintf(what, sizeof(what), "add seed %#llx iter %d", (unsigned long long)seed, iter);
		ck_assert_msg(run_both(&g, &st, what) == 0, "%s", what);
		tg_free(&g);

		/* RELU */
		tg_init(&g);
		x = tensor4(&g, 1, h, w, c, 0, &st);
		y = tensor4(&g, 1, h, w, c, 0, &st);
		add_op(&g, VIGIL_OP_RELU, y, 1, &x);
		graph_io(&g, x, y);
		ck_assert(run_both(&g, &st, "relu") == 0);
		tg_free(&g);

		/* CONCAT of the input, a constant and the input again along one axis */
		{
			const int axis = 1 + iter % 3, c2 = 1 + tu_rand(&st) % 5;
			int d2[4] = { 1, h, w, c };

			d2[axis] = c2;
			tg_init(&g);
			x = tensor4(&g, 1, h, w, c, 0, &st);
			k = tensor4(&g, d2[0], d2[1], d2[2], d2[3], 1, &st);
			int d3[4] = { 1, h, w, c };

			d3[axis] = 2 * d3[axis] + c2;
			y = tensor4(&g, d3[0], d3[1], d3[2], d3[3], 0, &st);
			struct vigil_op *op = add_op(&g, VIGIL_OP_CONCAT, y, 3, (int[]){ x, k, x });

			op->p.concat.axis = axis;
			graph_io(&g, x, y);
			snprintf(what, sizeof(what), "concat seed %#llx iter %d axis %d", (unsigned long long)seed,
				 iter, axis);
			ck_assert_msg(run_both(&g, &st, what) == 0, "%s", what);
			tg_free(&g);
		}
	}
}
END_TEST

/* The fusions the executor makes: CONV2D + ADD(residual) and CONV2D + ADD(channel PAD of the input),
 * and a standalone ADD reading a channel PAD in place. */
START_TEST(test_fusions)
{
	uint64_t seed = 0xf05e + (uint64_t)_i, st = seed;

	for (int iter = 0; iter < 12; iter++) {
		const int h = 1 + tu_rand(&st) % 9, w = 1 + tu_rand(&st) % 9, c = 1 + tu_rand(&st) % 6;
		const int extra = iter % 2 ? 1 + tu_rand(&st) % 5 : 0, oc = c + extra;
		int32_t pads[8] = { 0, 0, 0, 0, 0, 0, 0, extra };
		char what[96];
		struct tg g;

		tg_init(&g);
		int x = tensor4(&g, 1, h, w, c, 0, &st), wt = tensor4(&g, oc, 1, 1, c, 1, &st);
		int b = tensor1(&g, oc, &st), y = tensor4(&g, 1, h, w, oc, 0, &st);
		int res = x, z = tensor4(&g, 1, h, w, oc, 0, &st);
		struct vigil_op *op = add_op(&g, VIGIL_OP_CONV2D, y, 3, (int[]){ x, wt, b });

		op->p.conv.stride_h = op->p.conv.stride_w = 1;
		op->p.conv.dilation_h = op->p.conv.dilation_w = 1;
		if (extra) {
			int p = tensor4(&g, 4, 2, 1, 1, 0, &st);

			g.t[p].rank = 2;
			g.t[p].count = 8;
			g.t[p].dims[0] = 4;
			g.t[p].dims[1] = 2;
			g.t[p].dtype = VIGIL_DT_I32;
			g.t[p].data = pads;
			res = tensor4(&g, 1, h, w, oc, 0, &st);
			add_op(&g, VIGIL_OP_PAD, res, 2, (int[]){ x, p });
		}
		/* operand order alternates so both sides of the fusion are exercised; every third graph has
		 * the clamp as a separate RELU (as BlazeFace does), which is fused too */
		add_op(&g, VIGIL_OP_ADD, z, 2, iter & 2 ? (int[]){ res, y } : (int[]){ y, res })->p.add.act =
		    iter % 3 ? VIGIL_ACT_RELU : VIGIL_ACT_NONE;
		if (iter % 3 == 0) {
			const int r = tensor4(&g, 1, h, w, oc, 0, &st);

			add_op(&g, VIGIL_OP_RELU, r, 1, &z);
			z = r;
		}
		graph_io(&g, x, z);
		snprintf(what, sizeof(what), "conv+add%s seed %#llx iter %d", extra ? "+pad" : "",
			 (unsigned long long)seed, iter);
		ck_assert_msg(run_both(&g, &st, what) <= 1e-4, "%s", what);
		tg_free(&g);
	}
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Preprocessing of every format against pipeline/preprocess.c */

static void preprocess_format(enum vigil_pixel_format fmt)
{
	const int _i = (int)fmt;
	uint64_t st = 0x77 + (uint64_t)_i;
	struct vigil_model *model;
	struct vigil_cl_exec *e;
	struct vigil_cl_exec_config cfg = { 0 };
	static const int sizes[][2] = { { 37, 23 }, { 128, 128 }, { 301, 517 }, { 641, 47 } };

	ck_assert_int_eq(vigil_model_open("face-short", &model), 0);
	cfg.input_tensor = model->input_tensor;
	cfg.boxes_tensor = model->boxes_tensor;
	cfg.logits_tensor = model->logits_tensor;
	cfg.num_anchors = model->info.num_anchors;
	cfg.num_coords = model->decoder.num_coords;
	ck_assert_msg(vigil_cl_exec_create(device(), &model->graph, &cfg, &e) == 0, "%s", vigil_last_error());
	for (int s = 0; s < 4; s++) {
		const int w = sizes[s][0], h = sizes[s][1];
		uint8_t *rgb = malloc((size_t)w * h * 3);
		float *want = malloc(128 * 128 * 3 * sizeof(float)), *got = malloc(128 * 128 * 3 * sizeof(float));
		struct vigil_preprocess pp;
		struct tc_frame f;
		struct vigil_rect roi = { 3.5f, 2.0f, w * 0.6f, h * 0.7f };

		ck_assert(rgb && want && got);
		for (size_t k = 0; k < (size_t)w * h * 3; k++)
			rgb[k] = (uint8_t)(tu_rand(&st) >> 24);
		ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, fmt, s % 2 ? 5 : 0, &f), 0);
		f.frame.colorimetry = (enum vigil_colorimetry)(s % 4);
		ck_assert_int_eq(vigil_preprocess_init(&pp, 128, 128, model->norm_scale, model->norm_bias), 0);
		ck_assert_int_eq(
		    vigil_preprocess_configure(&pp, &f.frame, s == 2 ? &roi : NULL,
					       s == 3 ? VIGIL_SAMPLING_CORNER : VIGIL_SAMPLING_PIXEL_CENTER),
		    0);
		vigil_preprocess_run(&pp, &f.frame, want);
		ck_assert_msg(vigil_cl_exec_configure(e, &pp, &f.frame) == 0, "%s", vigil_last_error());
		ck_assert_msg(vigil_cl_exec_preprocess(e, &pp, &f.frame, got) == 0, "%s", vigil_last_error());
		for (int k = 0; k < 128 * 128 * 3; k++)
			ck_assert_msg(fabsf(got[k] - want[k]) <= 2e-4f,
				      "format %d size %dx%d: element %d is %g, CPU %g", _i, w, h, k, got[k], want[k]);
		vigil_preprocess_free(&pp);
		tc_frame_free(&f);
		free(got);
		free(want);
		free(rgb);
	}
	vigil_cl_exec_destroy(e);
	vigil_model_close(model);
}

/* One process for all formats: each test is a fork that sets up OpenCL anew, slow under ASan. */
START_TEST(test_preprocess_formats)
{
	for (int f = 0; f < VIGIL_FORMAT_COUNT; f++)
		preprocess_format((enum vigil_pixel_format)f);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Whole models */

static struct vigil_detector *detector(const char *name, enum vigil_backend backend, struct vigil_model **model)
{
	struct vigil_detector_config cfg;
	struct vigil_detector *det;

	ck_assert_int_eq(vigil_model_open(name, model), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = backend;
	ck_assert_msg(vigil_detector_create(*model, &cfg, &det) == 0, "%s %s: %s", name, vigil_backend_name(backend),
		      vigil_last_error());
	return det;
}

static void model_parity(int _i)
{
	const struct refset *r = &refsets[_i];
	const size_t n_in = (size_t)r->size * r->size * 3, nb = (size_t)r->anchors * 16;
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(r->model, VIGIL_BACKEND_CPU, &m1);
	struct vigil_detector *cl = detector(r->model, VIGIL_BACKEND_OPENCL, &m2);
	struct vigil_backend_info info;
	const float *b1, *l1, *b2, *l2;
	float *input, *boxes = malloc(nb * sizeof(float)), *logits = malloc(r->anchors * sizeof(float));
	double worst = 0;
	char rel[256];

	vigil_detector_backend_info(cl, &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_OPENCL);
	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.input_%dx%dx3.float32.bin", r->dir, r->tag, r->size,
		 r->size);
	input = tu_read_f32(rel, n_in);
	ck_assert_int_eq(vigil_detector_run_tensor(cpu, input, n_in, &b1, &l1), 0);
	memcpy(boxes, b1, nb * sizeof(float));
	memcpy(logits, l1, r->anchors * sizeof(float));
	ck_assert_msg(vigil_detector_run_tensor(cl, input, n_in, &b2, &l2) == 0, "%s", vigil_last_error());
	for (size_t k = 0; k < nb; k++) {
		worst = fmax(worst, fabs(boxes[k] - b2[k]));
		ck_assert_msg(fabsf(boxes[k] - b2[k]) <= 1e-3f, "%s/%s boxes[%zu]: OpenCL %g, CPU %g", r->dir, r->tag,
			      k, b2[k], boxes[k]);
	}
	for (int k = 0; k < r->anchors; k++) {
		worst = fmax(worst, fabs(logits[k] - l2[k]));
		ck_assert_msg(fabsf(logits[k] - l2[k]) <= 1e-3f, "%s/%s logits[%d]: OpenCL %g, CPU %g", r->dir, r->tag,
			      k, l2[k], logits[k]);
	}
	printf("opencl parity %s/%s: max |diff| vs CPU %.2e, %d launches per inference, warm-up %.1f ms\n", r->dir,
	       r->tag, worst, info.launches_per_inference, info.warmup_ms);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
	free(input);
	free(logits);
	free(boxes);
}

START_TEST(test_model_parity)
{
	for (int i = 0; i < N_REFSETS; i++)
		model_parity(i);
}
END_TEST

static void photo_detections(int _i)
{
	static const char *models[] = { "face-short", "face-full" };
	const char *name = models[_i % 2];
	const int photo = 1 + _i / 2;
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(name, VIGIL_BACKEND_CPU, &m1);
	struct vigil_detector *cl = detector(name, VIGIL_BACKEND_OPENCL, &m2);
	const struct vigil_detections *a, *b;
	struct vigil_detection *want;
	struct vigil_backend_info info;
	struct vigil_image img = { 0 };
	struct vigil_frame frame = { 0 };
	size_t n;
	char rel[64];

	snprintf(rel, sizeof(rel), "faces/sample%d.jpg", photo);
	ck_assert_msg(vigil_image_load(tu_data_path(rel), &img) == 0, "%s: %s", rel, vigil_last_error());
	frame.format = VIGIL_FORMAT_RGB;
	frame.width = img.width;
	frame.height = img.height;
	frame.planes[0] = img.rgb;
	frame.strides[0] = img.stride;
	frame.pts_ns = -1;
	ck_assert_int_eq(vigil_detector_detect(cpu, &frame, &a), 0);
	n = a->count;
	want = malloc((n + 1) * sizeof(*want));
	memcpy(want, a->items, n * sizeof(*want));
	ck_assert_msg(vigil_detector_detect(cl, &frame, &b) == 0, "%s", vigil_last_error());
	vigil_detector_backend_info(cl, &info);
	printf("%s %s: %zu faces; OpenCL read back %ld bytes, uploaded %ld bytes\n", name, rel, n,
	       info.read_bytes_per_frame, info.upload_bytes_per_frame);
	ck_assert_msg(b->count == n, "%s %s: OpenCL finds %zu faces, CPU %zu", name, rel, b->count, n);
	ck_assert_int_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		const struct vigil_detection *x = &want[i], *y = &b->items[i];

		ck_assert_msg(fabsf(x->score - y->score) <= 1e-4f, "%s %s face %zu: score %g vs CPU %g", name, rel, i,
			      y->score, x->score);
		ck_assert_msg(fabsf(x->x - y->x) <= 0.05f && fabsf(x->y - y->y) <= 0.05f &&
				  fabsf(x->w - y->w) <= 0.05f && fabsf(x->h - y->h) <= 0.05f,
			      "%s %s face %zu: box (%g,%g,%g,%g) vs CPU (%g,%g,%g,%g)", name, rel, i, y->x, y->y, y->w,
			      y->h, x->x, x->y, x->w, x->h);
		for (int k = 0; k < 6; k++)
			ck_assert(fabsf(x->keypoints[k].x - y->keypoints[k].x) <= 0.05f &&
				  fabsf(x->keypoints[k].y - y->keypoints[k].y) <= 0.05f);
	}
	/* 4 bytes of count + 16 candidates of 18 floats, and more only when more than 16 pass */
	ck_assert_int_le(info.read_bytes_per_frame, 4 + 18 * 4 * (long)(n * 8 > 16 ? n * 8 : 16));
	free(want);
	vigil_image_free(&img);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}

START_TEST(test_photo_detections)
{
	for (int i = 0; i < 12; i++)
		photo_detections(i);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Program cache */

START_TEST(test_second_detector_builds_nothing)
{
	struct vigil_cl_cache_stats s0, s1;
	struct vigil_model *m1, *m2;
	struct vigil_detector *d1 = detector("face-short", VIGIL_BACKEND_OPENCL, &m1), *d2;

	vigil_cl_cache_stats(&s0);
	ck_assert_int_eq(s0.source_builds + s0.binary_loads, 1);
	d2 = detector("face-short", VIGIL_BACKEND_OPENCL, &m2);
	vigil_cl_cache_stats(&s1);
	ck_assert_int_eq(s1.source_builds, s0.source_builds);
	ck_assert_int_eq(s1.binary_loads, s0.binary_loads);
	ck_assert_int_eq(s1.memory_hits, s0.memory_hits + 1);
	vigil_detector_destroy(d2);
	vigil_detector_destroy(d1);
	vigil_model_close(m2);
	vigil_model_close(m1);
	/* and after both are gone, a third one (another model) still finds the program in memory */
	d1 = detector("face-full", VIGIL_BACKEND_OPENCL, &m1);
	vigil_cl_cache_stats(&s1);
	ck_assert_int_eq(s1.source_builds + s1.binary_loads, 1);
	ck_assert_int_eq(s1.memory_hits, s0.memory_hits + 2);
	vigil_detector_destroy(d1);
	vigil_model_close(m1);
}
END_TEST

static char *make_temp_dir(const char *what)
{
	const char *base = getenv("VIGIL_TEST_TMP");
	char *dir = malloc(4096);

	ck_assert(dir != NULL);
	snprintf(dir, 4096, "%s/%s-XXXXXX", base && *base ? base : "/tmp", what);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

/* In a child process (fresh in-memory cache): builds (or loads) the program; exit status 10 + builds
 * from source, 20 + loads from disk. */
static int child_build(void)
{
	pid_t pid = fork();
	int status;

	ck_assert(pid >= 0);
	if (pid == 0) {
		struct vigil_cl_device *dev;
		struct vigil_cl_cache_stats s;

		if (vigil_cl_device_get(NULL, &dev) != 0)
			_exit(1);
		vigil_cl_cache_stats(&s);
		_exit(s.source_builds == 1 && s.binary_loads == 0 ? 10
		      : s.binary_loads == 1 && !s.source_builds   ? 20
								  : 2);
	}
	ck_assert(waitpid(pid, &status, 0) == pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_disk_cache)
{
	char *dir = make_temp_dir("xdg");
	char path[4200];
	struct stat sb;

	setenv("XDG_CACHE_HOME", dir, 1);
	ck_assert_int_eq(child_build(), 10); /* empty cache: compiled from source, binary stored */
	snprintf(path, sizeof(path), "%s/vigil/opencl", dir);
	ck_assert_msg(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode), "%s was not created", path);
	ck_assert_int_eq(child_build(), 20); /* next process: loaded from the disk cache */
	free(dir);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* Faults */

static long count_in_file(const char *path, const char *needle)
{
	size_t size;
	uint8_t *b = tu_read_file(path, &size);
	long n = 0;
	char *s = realloc(b, size + 1), *p;

	ck_assert(s != NULL);
	s[size] = 0;
	for (p = s; (p = strstr(p, needle)); p++)
		n++;
	free(s);
	return n;
}

START_TEST(test_no_platform)
{
	char *dir = make_temp_dir("icd"), log[4200];
	struct vigil_model *m;
	struct vigil_detector_config cfg;
	struct vigil_detector *d1, *d2;
	struct vigil_backend_info info;
	int ret;

	/* the ICD loader finds no vendor: no OpenCL platform at all */
	setenv("OCL_ICD_VENDORS", dir, 1);
	snprintf(log, sizeof(log), "%s/stderr.txt", dir);
	ck_assert(freopen(log, "w", stderr) != NULL);
	ck_assert_int_eq(vigil_model_open("face-short", &m), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = VIGIL_BACKEND_OPENCL;
	ret = vigil_detector_create(m, &cfg, &d1);
	ck_assert_int_eq(ret, VIGIL_EUNSUPPORTED);
	ck_assert_msg(strstr(vigil_last_error(), "no OpenCL platform"), "%s", vigil_last_error());
	/* auto falls back to the CPU, with one warning for the process */
	cfg.backend = VIGIL_BACKEND_AUTO;
	cfg.device = "0:0";
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d1), 0);
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d2), 0);
	vigil_detector_backend_info(d1, &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_CPU);
	fflush(stderr);
	ck_assert_int_eq(count_in_file(log, "backend auto: OpenCL is not usable"), 1);
	ck_assert_int_eq(count_in_file(log, "; using the CPU"), 1);
	vigil_detector_destroy(d2);
	vigil_detector_destroy(d1);
	vigil_model_close(m);
	unlink(log);
	rmdir(dir);
	free(dir);
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* auto with no device named and only PoCL installed leaves OpenCL unloaded; another ICD makes it probe */
START_TEST(test_auto_leaves_pocl_unloaded)
{
	char *dir = make_temp_dir("vendors"), path[4200];
	struct vigil_model *m;
	struct vigil_detector *d;
	struct vigil_backend_info info;
	char line[4096];
	FILE *maps;
	int lines = 0;

	write_file(dir, "pocl.icd", "libpocl.so.2\n");
	setenv("OCL_ICD_VENDORS", dir, 1);
	unsetenv("VIGIL_CL_DEVICE");
	ck_assert_int_eq(vigil_cl_may_have_gpu(), 0);
	ck_assert_int_eq(vigil_model_open("face-short", &m), 0);
	ck_assert_int_eq(vigil_detector_create(m, NULL, &d), 0);
	vigil_detector_backend_info(d, &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_CPU);
	/* the ICD loader is linked in; the vendor library (PoCL, and LLVM with it) must not be */
	maps = fopen("/proc/self/maps", "r");
	ck_assert(maps != NULL);
	while (fgets(line, sizeof(line), maps)) {
		lines++;
		ck_assert_msg(!strstr(line, "libpocl") && !strstr(line, "libLLVM"), "auto loaded PoCL: %s", line);
	}
	fclose(maps);
	ck_assert_int_gt(lines, 10);
	vigil_detector_destroy(d);
	vigil_model_close(m);
	write_file(dir, "vendor.icd", "libvendor-gpu-opencl.so.1\n");
	ck_assert_int_eq(vigil_cl_may_have_gpu(), 1);
	snprintf(path, sizeof(path), "%s/vendor.icd", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pocl.icd", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

extern const char vigil_cl_kernels[];

START_TEST(test_broken_kernel)
{
	char *dir = make_temp_dir("kernels"), *xdg = make_temp_dir("xdg"), path[4200];
	struct vigil_model *m;
	struct vigil_detector_config cfg;
	struct vigil_detector *d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vigil_kernels.cl", dir);
	f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs(vigil_cl_kernels, f);
	fputs("\n__kernel void broken(__global float *x) { x[0] = vigil_undeclared_identifier; }\n", f);
	ck_assert_int_eq(fclose(f), 0);
	setenv("VIGIL_CL_KERNEL_DIR", dir, 1);
	setenv("XDG_CACHE_HOME", xdg, 1);
	ck_assert_int_eq(vigil_model_open("face-short", &m), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = VIGIL_BACKEND_OPENCL;
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), VIGIL_EUNSUPPORTED);
	ck_assert_msg(strstr(vigil_last_error(), "OpenCL program build failed"), "%s", vigil_last_error());
	ck_assert_msg(strstr(vigil_last_error(), "vigil_undeclared_identifier"), "no build log: %s",
		      vigil_last_error());
	printf("broken kernel: %.300s\n", vigil_last_error());
	/* auto survives it on the CPU */
	cfg.backend = VIGIL_BACKEND_AUTO;
	cfg.device = "0";
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), 0);
	vigil_detector_destroy(d);
	vigil_model_close(m);
	unlink(path);
	rmdir(dir);
	free(xdg);
	free(dir);
}
END_TEST

START_TEST(test_bad_device)
{
	struct vigil_model *m;
	struct vigil_detector_config cfg;
	struct vigil_detector *d;

	ck_assert_int_eq(vigil_model_open("face-short", &m), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = VIGIL_BACKEND_OPENCL;
	cfg.device = "7:3";
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), -EINVAL);
	ck_assert_msg(strstr(vigil_last_error(), "\"7:3\" not found; devices: 0:0"), "%s", vigil_last_error());
	cfg.device = "no such device name";
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), -EINVAL);
	/* the environment variable selects too */
	cfg.device = NULL;
	setenv("VIGIL_CL_DEVICE", "0:9", 1);
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), -EINVAL);
	/* a name substring, in another case: the platform name of the first device, its first word upper-cased
	 * (PoCL: "PORTABLE" of "Portable Computing Language", NVIDIA: "NVIDIA" of "NVIDIA CUDA") */
	{
		struct vigil_cl_device *dev;
		char word[64];
		size_t n = 0;

		ck_assert_int_eq(vigil_cl_device_get("0:0", &dev), 0);
		while (dev->platform_name[n] && dev->platform_name[n] != ' ' && n + 1 < sizeof(word)) {
			word[n] = (char)toupper((unsigned char)dev->platform_name[n]);
			n++;
		}
		word[n] = 0;
		ck_assert_uint_gt(n, 0);
		setenv("VIGIL_CL_DEVICE", word, 1);
		ck_assert_msg(vigil_detector_create(m, &cfg, &d) == 0, "%s: %s", word, vigil_last_error());
	}
	vigil_detector_destroy(d);
	vigil_model_close(m);
}
END_TEST

/* coco-ssd is quantized: the OpenCL executor has no kernels for it, so opencl fails clearly and auto
 * runs it on the CPU. */
/* The quantized COCO SSD runs on the device when asked for (tests/test_opencl_q8.c compares it with the CPU);
 * auto keeps it on the CPU on PoCL's CPU device (as for the float models), and measures on a GPU; the quantized operators the device
 * has no kernel for are refused by name (tests/test_opencl_q8.c test_unsupported_operator). */
START_TEST(test_quantized_model)
{
	struct vigil_model *m;
	struct vigil_detector_config cfg;
	struct vigil_detector *d;
	struct vigil_backend_info info;

	ck_assert_int_eq(vigil_model_open("coco-ssd", &m), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = VIGIL_BACKEND_OPENCL;
	ck_assert_msg(vigil_detector_create(m, &cfg, &d) == 0, "%s", vigil_last_error());
	vigil_detector_backend_info(d, &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_OPENCL);
	ck_assert_int_gt(info.launches_per_inference, 0);
	vigil_detector_destroy(d);
	/* a float tensor into a quantized model is still refused */
	ck_assert_msg(vigil_detector_create(m, &cfg, &d) == 0, "%s", vigil_last_error());
	{
		const float *boxes, *logits;
		float x = 0;

		ck_assert_int_eq(vigil_detector_run_tensor(d, &x, 1, &boxes, &logits), VIGIL_EUNSUPPORTED);
		ck_assert_msg(strstr(vigil_last_error(), "quantized"), "%s", vigil_last_error());
	}
	vigil_detector_destroy(d);
	cfg.backend = VIGIL_BACKEND_AUTO;
	ck_assert_msg(vigil_detector_create(m, &cfg, &d) == 0, "%s", vigil_last_error());
	vigil_detector_backend_info(d, &info);
	{
		int is_cpu = 1;

		/* a CPU-type OpenCL device (PoCL) never takes it; a GPU may, when measured faster (an H100 did) */
		ck_assert_int_eq(vigil_cl_device_find(NULL, &is_cpu), 0);
		if (is_cpu)
			ck_assert_int_eq(info.backend, VIGIL_BACKEND_CPU);
		else
			ck_assert(info.backend == VIGIL_BACKEND_CPU || info.backend == VIGIL_BACKEND_OPENCL);
	}
	vigil_detector_destroy(d);
	vigil_model_close(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("opencl");
	TCase *k = tcase_create("kernels"), *mo = tcase_create("models"), *c = tcase_create("cache");
	TCase *fa = tcase_create("faults");

	tcase_add_loop_test(k, test_conv2d, 0, 1);
	tcase_add_loop_test(k, test_dwconv2d, 0, 1);
	tcase_add_loop_test(k, test_maxpool_resize_pad, 0, 1);
	tcase_add_loop_test(k, test_add_concat_relu, 0, 1);
	tcase_add_loop_test(k, test_fusions, 0, 1);
	tcase_add_test(k, test_preprocess_formats);
	suite_add_tcase(s, k);
	tcase_add_test(mo, test_model_parity);
	tcase_add_test(mo, test_photo_detections);
	suite_add_tcase(s, mo);
	tcase_add_test(c, test_second_detector_builds_nothing);
	tcase_add_test(c, test_disk_cache);
	suite_add_tcase(s, c);
	tcase_add_test(fa, test_no_platform);
	tcase_add_test(fa, test_broken_kernel);
	tcase_add_test(fa, test_bad_device);
	tcase_add_test(fa, test_quantized_model);
	tcase_add_test(fa, test_auto_leaves_pocl_unloaded);
	suite_add_tcase(s, fa);
	return tu_run(s, CK_FORK);
}
