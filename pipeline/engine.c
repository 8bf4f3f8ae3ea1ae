/* SPDX-License-Identifier: Apache-2.0 */
#include "engine.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "kernels.h"
#include "threadpool.h"
#include "vigil/vigil.h"

#define ARENA_ALIGN_FLOATS 16 /* 64 bytes: a cache line, and any SIMD width we use */
#define NO_SLOT SIZE_MAX

struct vigil_program;
struct step;

/* One operator kind: prepare once at create; run one of n_tasks parts of the work (row bands). */
struct op_impl {
	int (*prepare)(struct vigil_program *p, int index, struct step *s);
	void (*run)(const struct vigil_program *p, const struct step *s, float *arena, int task, int n_tasks);
};

struct step {
	const struct vigil_op *op;
	const struct op_impl *impl;
	int skip; /* fused into another step */
	/* the tensors the step really reads and writes, after fusion (liveness and run use these) */
	int n_inputs;
	int inputs[VIGIL_MAX_OP_INPUTS + 1];
	int output;
	int residual;     /* CONV2D: fused residual tensor, or -1 */
	int split;        /* how many parts the work may be split into (1: not splittable) */
	size_t out_count; /* output elements */
	union {
		struct vigil_conv2d_args conv;
		struct vigil_dwconv2d_args dw;
		struct vigil_pool_args pool;
		struct vigil_resize_args resize;
		struct {
			int in_dims[4], before[4], out_dims[4];
		} pad;
		struct {
			size_t outer;
			size_t block[VIGIL_MAX_OP_INPUTS];
		} concat;
		struct {
			float act_min, act_max;
		} eltwise;
	} a;
};

struct step_prof {
	double ns;
	long runs;
};

struct vigil_program {
	const struct vigil_graph *graph;
	const struct vigil_f32_kernels *k; /* chosen once per process */
	struct step *steps;
	size_t *offset; /* per tensor: arena offset in floats, or NO_SLOT for constants */
	int *alias;     /* per tensor: the tensor whose storage it shares (RESHAPE), itself otherwise */
	float **packed; /* per op: weights repacked for the kernel (owned), or NULL */
	size_t arena_floats;
	int n_fused;
	/* VIGIL_PROFILE=1: per step, nanoseconds and runs, summed by the runs of every arena; printed to stderr
	 * by vigil_program_destroy(). A debugging aid: profile one detector at a time. */
	struct step_prof *prof;
};

static const struct vigil_tensor *tensor(const struct vigil_program *p, int i)
{
	return &p->graph->tensors[i];
}

static int prepare_conv(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *w = tensor(p, op->inputs[1]);
	const struct vigil_tensor *out = tensor(p, op->output);
	const int oc = w->dims[0], kh = w->dims[1], kw = w->dims[2], ic = w->dims[3];
	struct vigil_conv2d_args *a = &s->a.conv;
	const int block = p->k->conv2d_oc_block;
	float *packed = malloc(vigil_f32_conv2d_packed_size(oc, kh, kw, ic, block) * sizeof(float));

	if (!packed)
		return -ENOMEM;
	/* OHWI -> the layout the chosen kernel reads (HWIO, or HWIO blocked by output channels) */
	vigil_f32_conv2d_pack(w->data, oc, kh, kw, ic, block, packed);
	p->packed[op_index] = packed;

	memset(a, 0, sizeof(*a));
	a->in_h = in->dims[1];
	a->in_w = in->dims[2];
	a->in_c = ic;
	a->weights = packed;
	a->bias = op->n_inputs > 2 && op->inputs[2] >= 0 ? tensor(p, op->inputs[2])->data : NULL;
	a->out_h = out->dims[1];
	a->out_w = out->dims[2];
	a->out_c = oc;
	a->kh = kh;
	a->kw = kw;
	a->stride_h = op->p.conv.stride_h;
	a->stride_w = op->p.conv.stride_w;
	a->dil_h = op->p.conv.dilation_h;
	a->dil_w = op->p.conv.dilation_w;
	a->pad_top = vigil_pad_before(op->p.conv.padding, a->in_h, a->out_h, kh, a->stride_h, a->dil_h);
	a->pad_left = vigil_pad_before(op->p.conv.padding, a->in_w, a->out_w, kw, a->stride_w, a->dil_w);
	vigil_act_range(op->p.conv.act, &a->act_min, &a->act_max);
	s->split = a->out_h;
	return 0;
}

static int prepare_dwconv(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *w = tensor(p, op->inputs[1]);
	const struct vigil_tensor *out = tensor(p, op->output);
	struct vigil_dwconv2d_args *a = &s->a.dw;

	memset(a, 0, sizeof(*a));
	a->in_h = in->dims[1];
	a->in_w = in->dims[2];
	a->in_c = in->dims[3];
	a->weights = w->data; /* [1][kh][kw][out_c]: every kernel reads it */
	a->bias = op->n_inputs > 2 && op->inputs[2] >= 0 ? tensor(p, op->inputs[2])->data : NULL;
	a->out_h = out->dims[1];
	a->out_w = out->dims[2];
	a->out_c = out->dims[3];
	a->depth_multiplier = a->out_c / a->in_c;
	a->kh = w->dims[1];
	a->kw = w->dims[2];
	a->stride_h = op->p.conv.stride_h;
	a->stride_w = op->p.conv.stride_w;
	a->dil_h = op->p.conv.dilation_h;
	a->dil_w = op->p.conv.dilation_w;
	a->pad_top = vigil_pad_before(op->p.conv.padding, a->in_h, a->out_h, a->kh, a->stride_h, a->dil_h);
	a->pad_left = vigil_pad_before(op->p.conv.padding, a->in_w, a->out_w, a->kw, a->stride_w, a->dil_w);
	vigil_act_range(op->p.conv.act, &a->act_min, &a->act_max);
	if (p->k->dwconv2d_c_block > 0 && a->depth_multiplier == 1) {
		/* and the layout the optimised kernel wants */
		const int b = p->k->dwconv2d_c_block;
		float *packed = malloc(vigil_f32_dwconv2d_packed_size(a->out_c, a->kh, a->kw, b) * sizeof(float));

		if (!packed)
			return -ENOMEM;
		vigil_f32_dwconv2d_pack(w->data, a->out_c, a->kh, a->kw, b, packed);
		p->packed[op_index] = packed;
		a->packed = packed;
	}
	s->split = a->out_h;
	return 0;
}

static int prepare_pool(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);
	struct vigil_pool_args *a = &s->a.pool;

	memset(a, 0, sizeof(*a));
	a->in_h = in->dims[1];
	a->in_w = in->dims[2];
	a->c = in->dims[3];
	a->out_h = out->dims[1];
	a->out_w = out->dims[2];
	a->fh = op->p.pool.filter_h;
	a->fw = op->p.pool.filter_w;
	a->stride_h = op->p.pool.stride_h;
	a->stride_w = op->p.pool.stride_w;
	a->pad_top = vigil_pad_before(op->p.pool.padding, a->in_h, a->out_h, a->fh, a->stride_h, 1);
	a->pad_left = vigil_pad_before(op->p.pool.padding, a->in_w, a->out_w, a->fw, a->stride_w, 1);
	vigil_act_range(op->p.pool.act, &a->act_min, &a->act_max);
	s->split = a->out_h;
	return 0;
}

/* Right-aligns a shape of rank <= 4 into 4 dims. */
static void dims4(const struct vigil_tensor *t, int d[4])
{
	for (int i = 0; i < 4; i++)
		d[i] = 1;
	for (int i = 0; i < t->rank; i++)
		d[4 - t->rank + i] = t->dims[i];
}

static int prepare_pad(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *pads = tensor(p, op->inputs[1]);
	const int32_t *pv = pads->data;

	dims4(in, s->a.pad.in_dims);
	dims4(tensor(p, op->output), s->a.pad.out_dims);
	for (int i = 0; i < 4; i++)
		s->a.pad.before[i] = 0;
	for (int i = 0; i < in->rank; i++)
		s->a.pad.before[4 - in->rank + i] = pv[2 * i];
	return 0;
}

static int prepare_concat(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *out = tensor(p, op->output);
	const int axis = op->p.concat.axis;
	size_t outer = 1, inner = 1;

	for (int i = 0; i < axis; i++)
		outer *= (size_t)out->dims[i];
	for (int i = axis + 1; i < out->rank; i++)
		inner *= (size_t)out->dims[i];
	s->a.concat.outer = outer;
	for (int i = 0; i < op->n_inputs; i++)
		s->a.concat.block[i] = (size_t)tensor(p, op->inputs[i])->dims[axis] * inner;
	return 0;
}

/* Element-wise work splits into chunks of whole cache lines. */
#define ELTWISE_CHUNK 1024

static int prepare_add(struct vigil_program *p, int op_index, struct step *s)
{
	vigil_act_range(s->op->p.add.act, &s->a.eltwise.act_min, &s->a.eltwise.act_max);
	s->split = (int)((s->out_count + ELTWISE_CHUNK - 1) / ELTWISE_CHUNK);
	return 0;
}

static int prepare_relu(struct vigil_program *p, int op_index, struct step *s)
{
	vigil_act_range(VIGIL_ACT_RELU, &s->a.eltwise.act_min, &s->a.eltwise.act_max);
	s->split = (int)((s->out_count + ELTWISE_CHUNK - 1) / ELTWISE_CHUNK);
	return 0;
}

static int prepare_resize(struct vigil_program *p, int op_index, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);

	memset(&s->a.resize, 0, sizeof(s->a.resize));
	s->a.resize.in_h = in->dims[1];
	s->a.resize.in_w = in->dims[2];
	s->a.resize.c = in->dims[3];
	s->a.resize.out_h = out->dims[1];
	s->a.resize.out_w = out->dims[2];
	s->a.resize.align_corners = op->p.resize.align_corners;
	s->a.resize.half_pixel_centers = op->p.resize.half_pixel_centers;
	s->split = s->a.resize.out_h;
	return 0;
}

static int prepare_nothing(struct vigil_program *p, int op_index, struct step *s)
{
	return 0;
}

/* ---- running: every run function does part `task` of `n_tasks` of its step ---- */

static float *tensor_at(const struct vigil_program *p, float *arena, int index)
{
	return vigil_program_tensor(p, arena, index);
}

/* rows [*b, *e) of part task of n */
static void band(int rows, int task, int n, int *b, int *e)
{
	*b = (int)((long)rows * task / n);
	*e = (int)((long)rows * (task + 1) / n);
}

static void run_conv(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	struct vigil_conv2d_args a = s->a.conv;

	a.input = tensor_at(p, arena, s->inputs[0]);
	a.output = tensor_at(p, arena, s->output);
	a.residual = s->residual >= 0 ? tensor_at(p, arena, s->residual) : NULL;
	band(a.out_h, task, n, &a.row_begin, &a.row_end);
	if (a.row_end > a.row_begin)
		p->k->conv2d(&a);
}

static void run_dwconv(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	struct vigil_dwconv2d_args a = s->a.dw;

	a.input = tensor_at(p, arena, s->inputs[0]);
	a.output = tensor_at(p, arena, s->output);
	band(a.out_h, task, n, &a.row_begin, &a.row_end);
	if (a.row_end > a.row_begin)
		p->k->dwconv2d(&a);
}

static void run_pool(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	struct vigil_pool_args a = s->a.pool;

	a.input = tensor_at(p, arena, s->inputs[0]);
	a.output = tensor_at(p, arena, s->output);
	band(a.out_h, task, n, &a.row_begin, &a.row_end);
	if (a.row_end > a.row_begin)
		p->k->maxpool2d(&a);
}

static void run_resize(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	struct vigil_resize_args a = s->a.resize;

	a.input = tensor_at(p, arena, s->inputs[0]);
	a.output = tensor_at(p, arena, s->output);
	band(a.out_h, task, n, &a.row_begin, &a.row_end);
	if (a.row_end > a.row_begin)
		p->k->resize_bilinear(&a);
}

/* elements [*b, *e) of part task of n, in whole chunks */
static void chunk(size_t count, int task, int n, size_t *b, size_t *e)
{
	const size_t chunks = (count + ELTWISE_CHUNK - 1) / ELTWISE_CHUNK;

	*b = chunks * task / n * ELTWISE_CHUNK;
	*e = chunks * (task + 1) / n * ELTWISE_CHUNK;
	if (*e > count)
		*e = count;
	if (*b > *e)
		*b = *e;
}

static void run_add(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	size_t b, e;

	chunk(s->out_count, task, n, &b, &e);
	if (e > b)
		p->k->add(tensor_at(p, arena, s->inputs[0]) + b, tensor_at(p, arena, s->inputs[1]) + b,
			  tensor_at(p, arena, s->output) + b, e - b, s->a.eltwise.act_min, s->a.eltwise.act_max);
}

static void run_relu(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	size_t b, e;

	chunk(s->out_count, task, n, &b, &e);
	if (e > b)
		p->k->clamp(tensor_at(p, arena, s->inputs[0]) + b, tensor_at(p, arena, s->output) + b, e - b,
			    s->a.eltwise.act_min, s->a.eltwise.act_max);
}

static void run_pad(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	vigil_f32_pad4d__c(tensor_at(p, arena, s->inputs[0]), s->a.pad.in_dims, s->a.pad.before,
			   tensor_at(p, arena, s->output), s->a.pad.out_dims);
}

static void run_concat(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	const float *ins[VIGIL_MAX_OP_INPUTS];

	for (int k = 0; k < s->n_inputs; k++)
		ins[k] = tensor_at(p, arena, s->inputs[k]);
	vigil_f32_concat__c(ins, s->a.concat.block, s->n_inputs, s->a.concat.outer, tensor_at(p, arena, s->output));
}

static void run_reshape(const struct vigil_program *p, const struct step *s, float *arena, int task, int n)
{
	const float *in = tensor_at(p, arena, s->inputs[0]);
	float *out = tensor_at(p, arena, s->output);

	if (out != in) /* only a constant input is not aliased */
		memcpy(out, in, s->out_count * sizeof(float));
}

/* The step table: one entry per operator kind (enum vigil_op_kind). */
static const struct op_impl op_impls[] = {
	[VIGIL_OP_CONV2D] = { prepare_conv, run_conv },
	[VIGIL_OP_DWCONV2D] = { prepare_dwconv, run_dwconv },
	[VIGIL_OP_ADD] = { prepare_add, run_add },
	[VIGIL_OP_RELU] = { prepare_relu, run_relu },
	[VIGIL_OP_MAXPOOL2D] = { prepare_pool, run_pool },
	[VIGIL_OP_PAD] = { prepare_pad, run_pad },
	[VIGIL_OP_RESHAPE] = { prepare_nothing, run_reshape },
	[VIGIL_OP_CONCAT] = { prepare_concat, run_concat },
	[VIGIL_OP_RESIZE_BILINEAR] = { prepare_resize, run_resize },
};

static int prepare_step(struct vigil_program *p, int i)
{
	struct step *s = &p->steps[i];
	const struct vigil_op *op = &p->graph->ops[i];

	s->op = op;
	s->n_inputs = op->n_inputs;
	memcpy(s->inputs, op->inputs, sizeof(op->inputs));
	s->output = op->output;
	s->residual = -1;
	s->split = 1;
	s->out_count = tensor(p, op->output)->count;
	/* quantized-only kinds have no entry here: pipeline/engine_q8.c runs them */
	if ((unsigned)op->kind >= sizeof(op_impls) / sizeof(op_impls[0]) || !op_impls[op->kind].run)
		return vigil_error(VIGIL_EUNSUPPORTED, "operator %d: kind %d has no CPU kernel", op->source_index,
				   op->kind);
	s->impl = &op_impls[op->kind];
	return s->impl->prepare(p, i, s);
}

/* ---- fusion ---- */

/* The step that writes tensor t (-1: a graph input or a constant), and how many live steps read it
 * (graph outputs count as a reader). */
static int producer(const struct vigil_program *p, int t)
{
	for (int i = 0; i < p->graph->n_ops; i++)
		if (!p->steps[i].skip && p->steps[i].output == t)
			return i;
	return -1;
}

static int readers(const struct vigil_program *p, int t)
{
	const struct vigil_graph *g = p->graph;
	int n = 0;

	for (int i = 0; i < g->n_ops; i++) {
		const struct step *s = &p->steps[i];

		if (s->skip)
			continue;
		for (int k = 0; k < s->n_inputs; k++)
			n += s->inputs[k] == t;
	}
	for (int i = 0; i < g->n_outputs; i++)
		n += g->outputs[i] == t;
	return n;
}

/* A PAD that only appends zero channels: its input can be a conv's residual of fewer channels. */
static int channel_pad_source(const struct vigil_program *p, const struct step *pad)
{
	const struct vigil_tensor *in = tensor(p, pad->inputs[0]), *out = tensor(p, pad->output);

	if (in->rank != 4)
		return -1;
	for (int d = 0; d < 4; d++)
		if (pad->a.pad.before[d] != 0 || (d < 3 && in->dims[d] != out->dims[d]))
			return -1;
	return pad->inputs[0];
}

/* CONV2D -> ADD(conv, shortcut [-> channel PAD]) becomes one conv with a residual input. */
static int fuse_residual(struct vigil_program *p, int add_index)
{
	struct step *add = &p->steps[add_index];

	for (int j = 0; j < 2; j++) {
		const int ci = producer(p, add->inputs[j]);
		int other = add->inputs[1 - j], pi = -1, res_c;
		struct step *conv;

		if (ci < 0 || p->steps[ci].op->kind != VIGIL_OP_CONV2D || p->steps[ci].residual >= 0 ||
		    p->steps[ci].a.conv.act_min != -INFINITY || p->steps[ci].a.conv.act_max != INFINITY ||
		    readers(p, add->inputs[j]) != 1 || add->inputs[0] == add->inputs[1])
			continue;
		conv = &p->steps[ci];
		if (tensor(p, other)->data)
			continue;
		pi = producer(p, other);
		if (pi >= 0 && p->steps[pi].op->kind == VIGIL_OP_PAD && readers(p, other) == 1 &&
		    channel_pad_source(p, &p->steps[pi]) >= 0) {
			other = channel_pad_source(p, &p->steps[pi]);
		} else {
			pi = -1;
		}
		/* the residual must exist when the conv runs, with the conv's rows and columns */
		if (producer(p, other) > ci)
			continue;
		if (tensor(p, other)->rank != 4 || tensor(p, other)->dims[1] != conv->a.conv.out_h ||
		    tensor(p, other)->dims[2] != conv->a.conv.out_w)
			continue;
		res_c = tensor(p, other)->dims[3];
		if (res_c > conv->a.conv.out_c)
			continue;
		conv->residual = other;
		conv->a.conv.residual_c = res_c;
		conv->inputs[conv->n_inputs++] = other;
		conv->output = add->output;
		conv->a.conv.act_min = add->a.eltwise.act_min;
		conv->a.conv.act_max = add->a.eltwise.act_max;
		add->skip = 1;
		if (pi >= 0)
			p->steps[pi].skip = 1;
		return 1;
	}
	return 0;
}

/* X -> RELU becomes X with a ReLU clamp, for convolutions and additions without an activation. */
static int fuse_relu(struct vigil_program *p, int relu_index)
{
	struct step *relu = &p->steps[relu_index];
	const int xi = producer(p, relu->inputs[0]);
	float *lo, *hi;
	struct step *x;

	if (xi < 0 || readers(p, relu->inputs[0]) != 1)
		return 0;
	x = &p->steps[xi];
	switch (x->op->kind) {
	case VIGIL_OP_CONV2D:
		lo = &x->a.conv.act_min;
		hi = &x->a.conv.act_max;
		break;
	case VIGIL_OP_DWCONV2D:
		lo = &x->a.dw.act_min;
		hi = &x->a.dw.act_max;
		break;
	case VIGIL_OP_ADD:
		lo = &x->a.eltwise.act_min;
		hi = &x->a.eltwise.act_max;
		break;
	default:
		return 0;
	}
	if (*lo != -INFINITY || *hi != INFINITY)
		return 0;
	*lo = relu->a.eltwise.act_min;
	*hi = relu->a.eltwise.act_max;
	x->output = relu->output;
	relu->skip = 1;
	return 1;
}

static void fuse(struct vigil_program *p)
{
	const struct vigil_graph *g = p->graph;

	for (int i = 0; i < g->n_ops; i++)
		if (!p->steps[i].skip && g->ops[i].kind == VIGIL_OP_ADD)
			p->n_fused += fuse_residual(p, i);
	for (int i = 0; i < g->n_ops; i++)
		if (!p->steps[i].skip && g->ops[i].kind == VIGIL_OP_RELU)
			p->n_fused += fuse_relu(p, i);
}

static int root_of(const struct vigil_program *p, int t)
{
	while (p->alias[t] != t)
		t = p->alias[t];
	return t;
}

static size_t align_up(size_t n)
{
	return (n + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS;
}

/* Gives every non-constant storage root an arena offset so that tensors alive at the same time never
 * overlap: greedy placement, largest first, each at the lowest offset that fits. */
static size_t tensor_floats(const struct vigil_tensor *t)
{
	return t->count;
}

static size_t slot_floats(const struct vigil_tensor *t)
{
	return align_up(t->count);
}

static int plan_arena(struct vigil_program *p)
{
	const struct vigil_graph *g = p->graph;
	const int nt = g->n_tensors;
	int *first = NULL, *last = NULL, *order = NULL, n_roots = 0;
	int ret = -ENOMEM;

	first = malloc(nt * sizeof(int));
	last = malloc(nt * sizeof(int));
	order = malloc(nt * sizeof(int));
	if (!first || !last || !order)
		goto out_free;
	for (int t = 0; t < nt; t++) {
		first[t] = INT32_MAX;
		last[t] = -1;
		p->offset[t] = NO_SLOT;
	}
	/* lifetimes in step numbers; graph inputs are born before step 0, outputs live past the end */
	for (int i = 0; i < g->n_inputs; i++)
		first[root_of(p, g->inputs[i])] = -1;
	for (int i = 0; i < g->n_ops; i++) {
		const struct step *s = &p->steps[i];
		const int r = root_of(p, s->output);

		if (s->skip)
			continue;
		if (first[r] > i)
			first[r] = i;
		if (last[r] < i)
			last[r] = i;
		for (int k = 0; k < s->n_inputs; k++) {
			if (s->inputs[k] < 0 || g->tensors[s->inputs[k]].data)
				continue;
			const int ri = root_of(p, s->inputs[k]);

			if (last[ri] < i)
				last[ri] = i;
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[root_of(p, g->outputs[i])] = g->n_ops;

	for (int t = 0; t < nt; t++)
		if (root_of(p, t) == t && !g->tensors[t].data && last[t] >= 0)
			order[n_roots++] = t;
	p->arena_floats =
	    vigil_plan_arena(g->tensors, order, n_roots, first, last, tensor_floats, slot_floats, p->offset);
	for (int t = 0; t < nt; t++)
		if (!g->tensors[t].data)
			p->offset[t] = p->offset[root_of(p, t)];
	ret = 0;
out_free:
	free(order);
	free(last);
	free(first);
	return ret;
}

static const char *const op_names[] = {
	[VIGIL_OP_CONV2D] = "conv",     [VIGIL_OP_DWCONV2D] = "dwconv",   [VIGIL_OP_ADD] = "add",
	[VIGIL_OP_RELU] = "relu",       [VIGIL_OP_MAXPOOL2D] = "maxpool", [VIGIL_OP_PAD] = "pad",
	[VIGIL_OP_RESHAPE] = "reshape", [VIGIL_OP_CONCAT] = "concat",     [VIGIL_OP_RESIZE_BILINEAR] = "resize",
};

static void print_profile(const struct vigil_program *p)
{
	double total = 0;
	long runs = 0;

	for (int i = 0; i < p->graph->n_ops; i++) {
		total += p->prof[i].ns;
		runs = p->prof[i].runs > runs ? p->prof[i].runs : runs;
	}
	if (total <= 0 || runs == 0)
		return;
	fprintf(stderr, "vigil profile (%s): step op out(HxWxC) k/s  us/run  %%\n", p->k->isa);
	for (int i = 0; i < p->graph->n_ops; i++) {
		const struct step *s = &p->steps[i];
		const struct vigil_tensor *o = tensor(p, s->output);
		int k = 0, st = 0;

		if (s->skip || !p->prof[i].runs)
			continue;
		if (s->op->kind == VIGIL_OP_CONV2D) {
			k = s->a.conv.kh;
			st = s->a.conv.stride_h;
		} else if (s->op->kind == VIGIL_OP_DWCONV2D) {
			k = s->a.dw.kh;
			st = s->a.dw.stride_h;
		}
		fprintf(stderr, "%4d %-7s%s %4dx%-4dx%-4d in_c %-4d %d/%d %8.2f %5.1f\n", i, op_names[s->op->kind],
			s->residual >= 0 ? "+res" : "    ", o->rank == 4 ? o->dims[1] : 1,
			o->rank == 4 ? o->dims[2] : 1, o->dims[o->rank - 1],
			s->op->kind == VIGIL_OP_CONV2D     ? s->a.conv.in_c
			: s->op->kind == VIGIL_OP_DWCONV2D ? s->a.dw.in_c
							   : 0,
			k, st, p->prof[i].ns / p->prof[i].runs / 1e3, 100 * p->prof[i].ns / total);
	}
	fprintf(stderr, "total %.2f us/run\n", total / runs / 1e3);
}

void vigil_program_destroy(struct vigil_program *p)
{
	if (!p)
		return;
	if (p->prof)
		print_profile(p);
	free(p->prof);
	if (p->packed)
		for (int i = 0; i < p->graph->n_ops; i++)
			free(p->packed[i]);
	free(p->packed);
	free(p->alias);
	free(p->offset);
	free(p->steps);
	free(p);
}

int vigil_program_create(const struct vigil_graph *g, struct vigil_program **out)
{
	struct vigil_program *p = calloc(1, sizeof(*p));
	int ret = -ENOMEM;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	if (vigil_graph_is_quantized(g)) {
		free(p);
		return vigil_error(VIGIL_EUNSUPPORTED, "the float executor cannot run a quantized graph (engine_q8.h)");
	}
	p->graph = g;
	p->k = vigil_cpu_kernels();
	p->steps = calloc(g->n_ops ? g->n_ops : 1, sizeof(*p->steps));
	p->offset = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(*p->offset));
	p->alias = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(*p->alias));
	p->packed = calloc(g->n_ops ? g->n_ops : 1, sizeof(*p->packed));
	if (!p->steps || !p->offset || !p->alias || !p->packed)
		goto out_destroy;

	for (int t = 0; t < g->n_tensors; t++)
		p->alias[t] = t;
	/* A RESHAPE of an activation only renames its storage. */
	for (int i = 0; i < g->n_ops; i++)
		if (g->ops[i].kind == VIGIL_OP_RESHAPE && !g->tensors[g->ops[i].inputs[0]].data)
			p->alias[g->ops[i].output] = g->ops[i].inputs[0];

	for (int i = 0; i < g->n_ops; i++) {
		ret = prepare_step(p, i);
		if (ret < 0)
			goto out_destroy;
	}
	if (!getenv("VIGIL_NO_FUSION"))
		fuse(p);
	if (getenv("VIGIL_PROFILE") && atoi(getenv("VIGIL_PROFILE")) > 0) {
		p->prof = calloc(g->n_ops ? g->n_ops : 1, sizeof(*p->prof));
		if (!p->prof)
			goto out_destroy;
	}
	ret = plan_arena(p);
	if (ret < 0)
		goto out_destroy;
	*out = p;
	return 0;

out_destroy:
	vigil_program_destroy(p);
	return ret;
}

size_t vigil_program_arena_floats(const struct vigil_program *p)
{
	return p->arena_floats;
}

float *vigil_program_tensor(const struct vigil_program *p, float *arena, int index)
{
	const struct vigil_tensor *t = tensor(p, index);

	/* Constants are never written: the const cast only lets one accessor serve both kinds. */
	if (t->data)
		return (float *)t->data;
	return arena + p->offset[index];
}

const char *vigil_program_isa(const struct vigil_program *p)
{
	return p->k->isa;
}

int vigil_program_fused(const struct vigil_program *p)
{
	return p->n_fused;
}

struct run_ctx {
	const struct vigil_program *p;
	const struct step *s;
	float *arena;
};

static void run_task(void *ctx, int task, int n_tasks)
{
	const struct run_ctx *c = ctx;

	c->s->impl->run(c->p, c->s, c->arena, task, n_tasks);
}

void vigil_program_run(const struct vigil_program *p, float *arena, struct vigil_pool *pool)
{
	const int threads = vigil_pool_threads(pool);
	struct timespec t0, t1;

	for (int i = 0; i < p->graph->n_ops; i++) {
		const struct step *s = &p->steps[i];
		int n = s->split < threads ? s->split : threads;

		if (s->skip)
			continue;
		/* a part smaller than this costs more to hand over than it saves */
		if (n > 1 && s->out_count / (size_t)n < 2048)
			n = (int)(s->out_count / 2048) > 1 ? (int)(s->out_count / 2048) : 1;
		if (p->prof)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		if (n <= 1) {
			s->impl->run(p, s, arena, 0, 1);
		} else {
			struct run_ctx c = { p, s, arena };

			vigil_pool_run(pool, run_task, &c, n);
		}
		if (p->prof) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			p->prof[i].ns += (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
			p->prof[i].runs++;
		}
	}
}
