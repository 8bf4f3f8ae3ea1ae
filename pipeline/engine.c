/* SPDX-License-Identifier: Apache-2.0 */
#include "engine.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "vigil/vigil.h"

#define ARENA_ALIGN_FLOATS 16 /* 64 bytes: a cache line, and any SIMD width we use */
#define NO_SLOT SIZE_MAX

struct step {
	const struct vigil_op *op;
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

struct vigil_program {
	const struct vigil_graph *graph;
	struct step *steps;
	size_t *offset; /* per tensor: arena offset in floats, or NO_SLOT for constants */
	int *alias;     /* per tensor: the tensor whose storage it shares (RESHAPE), itself otherwise */
	float **packed; /* per op: weights repacked for the kernel (owned), or NULL */
	size_t arena_floats;
};

static void act_range(enum vigil_act act, float *lo, float *hi)
{
	switch (act) {
	case VIGIL_ACT_RELU:
		*lo = 0.0f;
		*hi = INFINITY;
		break;
	case VIGIL_ACT_RELU_N1_TO_1:
		*lo = -1.0f;
		*hi = 1.0f;
		break;
	case VIGIL_ACT_RELU6:
		*lo = 0.0f;
		*hi = 6.0f;
		break;
	default:
		*lo = -INFINITY;
		*hi = INFINITY;
		break;
	}
}

/* TFLite's padding rule: SAME centres the window, the odd pixel going after. */
static int pad_before(enum vigil_padding padding, int in, int out, int k, int stride, int dil)
{
	const int eff = (k - 1) * dil + 1;
	const int total = (out - 1) * stride + eff - in;

	if (padding == VIGIL_PAD_VALID || total <= 0)
		return 0;
	return total / 2;
}

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
	const float *src = w->data;
	float *packed = malloc(w->count * sizeof(float));

	if (!packed)
		return -ENOMEM;
	/* OHWI -> HWIO: the kernel's inner loop runs over contiguous output channels */
	for (int o = 0; o < oc; o++)
		for (int y = 0; y < kh; y++)
			for (int x = 0; x < kw; x++)
				for (int c = 0; c < ic; c++)
					packed[(((size_t)y * kw + x) * ic + c) * oc + o] =
					    src[(((size_t)o * kh + y) * kw + x) * ic + c];
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
	a->pad_top = pad_before(op->p.conv.padding, a->in_h, a->out_h, kh, a->stride_h, a->dil_h);
	a->pad_left = pad_before(op->p.conv.padding, a->in_w, a->out_w, kw, a->stride_w, a->dil_w);
	act_range(op->p.conv.act, &a->act_min, &a->act_max);
	return 0;
}

static void prepare_dwconv(struct vigil_program *p, struct step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *w = tensor(p, op->inputs[1]);
	const struct vigil_tensor *out = tensor(p, op->output);
	struct vigil_dwconv2d_args *a = &s->a.dw;

	memset(a, 0, sizeof(*a));
	a->in_h = in->dims[1];
	a->in_w = in->dims[2];
	a->in_c = in->dims[3];
	a->weights = w->data; /* [1][kh][kw][out_c] is already what the kernel reads */
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
	a->pad_top = pad_before(op->p.conv.padding, a->in_h, a->out_h, a->kh, a->stride_h, a->dil_h);
	a->pad_left = pad_before(op->p.conv.padding, a->in_w, a->out_w, a->kw, a->stride_w, a->dil_w);
	act_range(op->p.conv.act, &a->act_min, &a->act_max);
}

static void prepare_pool(struct vigil_program *p, struct step *s)
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
	a->pad_top = pad_before(op->p.pool.padding, a->in_h, a->out_h, a->fh, a->stride_h, 1);
	a->pad_left = pad_before(op->p.pool.padding, a->in_w, a->out_w, a->fw, a->stride_w, 1);
	act_range(op->p.pool.act, &a->act_min, &a->act_max);
}

/* Right-aligns a shape of rank <= 4 into 4 dims. */
static void dims4(const struct vigil_tensor *t, int d[4])
{
	for (int i = 0; i < 4; i++)
		d[i] = 1;
	for (int i = 0; i < t->rank; i++)
		d[4 - t->rank + i] = t->dims[i];
}

static void prepare_pad(struct vigil_program *p, struct step *s)
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
}

static void prepare_concat(struct vigil_program *p, struct step *s)
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
}

static int prepare_step(struct vigil_program *p, int i)
{
	struct step *s = &p->steps[i];
	const struct vigil_op *op = &p->graph->ops[i];

	s->op = op;
	switch (op->kind) {
	case VIGIL_OP_CONV2D:
		return prepare_conv(p, i, s);
	case VIGIL_OP_DWCONV2D:
		prepare_dwconv(p, s);
		return 0;
	case VIGIL_OP_MAXPOOL2D:
		prepare_pool(p, s);
		return 0;
	case VIGIL_OP_PAD:
		prepare_pad(p, s);
		return 0;
	case VIGIL_OP_CONCAT:
		prepare_concat(p, s);
		return 0;
	case VIGIL_OP_ADD:
		act_range(op->p.add.act, &s->a.eltwise.act_min, &s->a.eltwise.act_max);
		return 0;
	case VIGIL_OP_RELU:
		act_range(VIGIL_ACT_RELU, &s->a.eltwise.act_min, &s->a.eltwise.act_max);
		return 0;
	case VIGIL_OP_RESIZE_BILINEAR: {
		const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);

		memset(&s->a.resize, 0, sizeof(s->a.resize));
		s->a.resize.in_h = in->dims[1];
		s->a.resize.in_w = in->dims[2];
		s->a.resize.c = in->dims[3];
		s->a.resize.out_h = out->dims[1];
		s->a.resize.out_w = out->dims[2];
		s->a.resize.align_corners = op->p.resize.align_corners;
		s->a.resize.half_pixel_centers = op->p.resize.half_pixel_centers;
		return 0;
	}
	case VIGIL_OP_RESHAPE:
		return 0;
	default: /* quantized-only kinds: pipeline/engine_q8.c */
		break;
	}
	return vigil_error(VIGIL_EUNSUPPORTED, "operator %d: kind %d has no CPU kernel", op->source_index, op->kind);
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
		const struct vigil_op *op = &g->ops[i];
		const int r = root_of(p, op->output);

		if (first[r] > i)
			first[r] = i;
		if (last[r] < i)
			last[r] = i;
		for (int k = 0; k < op->n_inputs; k++) {
			if (op->inputs[k] < 0 || g->tensors[op->inputs[k]].data)
				continue;
			const int ri = root_of(p, op->inputs[k]);

			if (last[ri] < i)
				last[ri] = i;
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[root_of(p, g->outputs[i])] = g->n_ops;

	for (int t = 0; t < nt; t++)
		if (root_of(p, t) == t && !g->tensors[t].data && last[t] >= 0)
			order[n_roots++] = t;
	/* insertion sort by size, largest first: a few hundred tensors at most */
	for (int i = 1; i < n_roots; i++) {
		const int t = order[i];
		int j = i;

		while (j > 0 && g->tensors[order[j - 1]].count < g->tensors[t].count) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = t;
	}

	p->arena_floats = 0;
	for (int i = 0; i < n_roots; i++) {
		const int t = order[i];
		const size_t size = align_up(g->tensors[t].count);
		size_t at = 0;
		int moved;

		do {
			moved = 0;
			for (int j = 0; j < i; j++) {
				const int u = order[j];
				const size_t us = align_up(g->tensors[u].count);

				if (first[u] > last[t] || first[t] > last[u])
					continue; /* never alive together */
				if (at < p->offset[u] + us && p->offset[u] < at + size) {
					at = p->offset[u] + us;
					moved = 1;
				}
			}
		} while (moved);
		p->offset[t] = at;
		if (at + size > p->arena_floats)
			p->arena_floats = at + size;
	}
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

void vigil_program_destroy(struct vigil_program *p)
{
	if (!p)
		return;
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

void vigil_program_run(const struct vigil_program *p, float *arena)
{
	for (int i = 0; i < p->graph->n_ops; i++) {
		const struct step *s = &p->steps[i];
		const struct vigil_op *op = s->op;
		float *out = vigil_program_tensor(p, arena, op->output);
		const float *in = vigil_program_tensor(p, arena, op->inputs[0]);

		switch (op->kind) {
		case VIGIL_OP_CONV2D: {
			struct vigil_conv2d_args a = s->a.conv;

			a.input = in;
			a.output = out;
			vigil_f32_conv2d__c(&a);
			break;
		}
		case VIGIL_OP_DWCONV2D: {
			struct vigil_dwconv2d_args a = s->a.dw;

			a.input = in;
			a.output = out;
			vigil_f32_dwconv2d__c(&a);
			break;
		}
		case VIGIL_OP_MAXPOOL2D: {
			struct vigil_pool_args a = s->a.pool;

			a.input = in;
			a.output = out;
			vigil_f32_maxpool2d__c(&a);
			break;
		}
		case VIGIL_OP_RESIZE_BILINEAR: {
			struct vigil_resize_args a = s->a.resize;

			a.input = in;
			a.output = out;
			vigil_f32_resize_bilinear__c(&a);
			break;
		}
		case VIGIL_OP_ADD:
			vigil_f32_add__c(in, vigil_program_tensor(p, arena, op->inputs[1]), out,
					 p->graph->tensors[op->output].count, s->a.eltwise.act_min,
					 s->a.eltwise.act_max);
			break;
		case VIGIL_OP_RELU:
			vigil_f32_clamp__c(in, out, p->graph->tensors[op->output].count, s->a.eltwise.act_min,
					   s->a.eltwise.act_max);
			break;
		case VIGIL_OP_PAD:
			vigil_f32_pad4d__c(in, s->a.pad.in_dims, s->a.pad.before, out, s->a.pad.out_dims);
			break;
		case VIGIL_OP_CONCAT: {
			const float *ins[VIGIL_MAX_OP_INPUTS];

			for (int k = 0; k < op->n_inputs; k++)
				ins[k] = vigil_program_tensor(p, arena, op->inputs[k]);
			vigil_f32_concat__c(ins, s->a.concat.block, op->n_inputs, s->a.concat.outer, out);
			break;
		}
		case VIGIL_OP_RESHAPE:
			if (out != in) /* only a constant input is not aliased */
				memcpy(out, in, p->graph->tensors[op->output].count * sizeof(float));
			break;
		default: /* refused by prepare_step */
			break;
		}
	}
}
