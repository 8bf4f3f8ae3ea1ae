/* SPDX-License-Identifier: Apache-2.0
 * The OpenCL executor. At create the graph becomes a list of steps, each one kernel launch with its
 * arguments bound once: RESHAPEs alias, a CONV2D followed by the ADD of a residual (possibly through a
 * channel PAD) is one launch, a channel PAD feeding an ADD is read in place. Activations live in one
 * device buffer at offsets planned by liveness as the CPU arena is; per frame only the frame rows,
 * the launches and the selected candidates cross the bus. */
#include "cl_exec.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

#define ALIGN_FLOATS 16
#define NO_SLOT SIZE_MAX
#define FIRST_CANDIDATES 16 /* read with the count in one transfer; more need a second read */

enum step_kind { S_CONV, S_DW, S_POOL, S_ADD, S_PAD, S_CONCAT, S_RESIZE };

struct step {
	enum step_kind kind;
	int op_index;
	const char *kernel_name;
	int out;                            /* tensor written */
	int reads[VIGIL_MAX_OP_INPUTS + 1]; /* activation tensors read */
	int n_reads;
	int res;   /* CONV: fused residual tensor or -1; ADD: second operand */
	int res_c; /* channels of the residual (a fused channel PAD reads fewer) */
	float act_min, act_max;
	int concat_k; /* CONCAT: which input this launch copies */
	cl_kernel kernel;
	size_t global;
};

struct vigil_cl_exec {
	struct vigil_cl_device *dev;
	const struct vigil_graph *g;
	struct vigil_cl_exec_config cfg;
	cl_command_queue queue;
	cl_mem act, cand, frame, taps;
	cl_mem taps_direct; /* the same taps with frame rows (not gathered rows): imported frames */
	cl_mem *weights;    /* per op: packed weights (conv) or NULL */
	cl_mem *consts;     /* per tensor: device copy of a constant read by a kernel (biases, dw weights) */
	int *alias;
	size_t *offset; /* floats, per tensor */
	int *const_act; /* per tensor: a constant (or RESHAPE of one) kept in the activation buffer */
	struct step *steps;
	int n_steps;
	size_t act_floats;
	cl_kernel pre, select;
	size_t frame_capacity;
	int32_t *taps_host; /* (lo, hi, inside, frac bits) x (2w + 2h) */
	int dst_w, dst_h;
	size_t plane_off[3];
	int *rows[3], n_rows[3]; /* per plane: the frame rows the taps read (sorted), gathered per frame */
	size_t row_bytes[3];
	uint8_t *staging; /* the gathered rows, uploaded with one write */
	float *cand_host;
	struct vigil_cl_exec_stats stats;
	struct vigil_cl_import_cache imports; /* DMABUF frames imported (kind NONE: never) */
	int import_failed;                    /* an import failed: frames are copied from then on */
	unsigned logged;                      /* LOG_*: frame paths already logged */
};

/* Each frame path is logged once per executor. */
enum { LOG_COPY_PLAIN = 1, LOG_COPY_NO_IMPORT = 2, LOG_IMPORT = 4, LOG_IMPORT_FAILED = 8 };

static int cl_fail(const char *what, cl_int st)
{
	return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL %s: %s", what, vigil_cl_status_name(st));
}

static int root_of(const struct vigil_cl_exec *e, int t)
{
	while (e->alias[t] != t)
		t = e->alias[t];
	return t;
}

static const struct vigil_tensor *T(const struct vigil_cl_exec *e, int t)
{
	return &e->g->tensors[t];
}

/* A PAD that only appends zero channels (the last dimension, after the data). */
static int channel_pad(const struct vigil_cl_exec *e, const struct vigil_op *op)
{
	const struct vigil_tensor *in = T(e, op->inputs[0]), *pads = T(e, op->inputs[1]);
	const int32_t *pv = pads->data;

	if (in->rank != 4 || in->data)
		return 0;
	for (int d = 0; d < 4; d++)
		if (pv[2 * d] != 0 || (d < 3 && pv[2 * d + 1] != 0))
			return 0;
	return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Step list */

/* The operators the step list below has kernels for (float tensors only). */
static int check_supported(const struct vigil_graph *g)
{
	for (int i = 0; i < g->n_ops; i++) {
		switch (g->ops[i].kind) {
		case VIGIL_OP_CONV2D:
		case VIGIL_OP_DWCONV2D:
		case VIGIL_OP_MAXPOOL2D:
		case VIGIL_OP_ADD:
		case VIGIL_OP_RELU:
		case VIGIL_OP_PAD:
		case VIGIL_OP_RESIZE_BILINEAR:
		case VIGIL_OP_CONCAT:
		case VIGIL_OP_RESHAPE:
			break;
		default:
			return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL backend: no kernel for operator %d (%s)", i,
					   vigil_op_kind_name(g->ops[i].kind));
		}
	}
	return 0;
}

static int build_steps(struct vigil_cl_exec *e)
{
	const struct vigil_graph *g = e->g;
	int *producer = NULL, *consumers = NULL, *skip = NULL, ret = -ENOMEM;

	ret = check_supported(g);
	if (ret < 0)
		return ret;
	ret = -ENOMEM;

	producer = malloc(g->n_tensors * sizeof(int));
	consumers = calloc(g->n_tensors, sizeof(int));
	skip = calloc(g->n_ops ? g->n_ops : 1, sizeof(int));
	e->steps = calloc((size_t)g->n_ops * VIGIL_MAX_OP_INPUTS + 1, sizeof(*e->steps));
	if (!producer || !consumers || !skip || !e->steps)
		goto out_free;
	for (int t = 0; t < g->n_tensors; t++)
		producer[t] = -1;
	for (int i = 0; i < g->n_ops; i++) {
		producer[g->ops[i].output] = i;
		for (int k = 0; k < g->ops[i].n_inputs; k++)
			if (g->ops[i].inputs[k] >= 0)
				consumers[g->ops[i].inputs[k]]++;
	}
	for (int i = 0; i < g->n_outputs; i++)
		consumers[g->outputs[i]] += 2; /* never fused away */
	for (int i = 0; i < g->n_inputs; i++)
		consumers[g->inputs[i]] += 2;

	/* fusion decisions: ADD into the CONV2D producing one operand; channel PAD into its ADD */
	int *fused_res = calloc(g->n_ops ? g->n_ops : 1, sizeof(int)), *fused_res_c = NULL, *fused_out = NULL;
	float *fused_lo = NULL, *fused_hi = NULL;

	fused_res_c = calloc(g->n_ops ? g->n_ops : 1, sizeof(int));
	fused_out = calloc(g->n_ops ? g->n_ops : 1, sizeof(int));
	fused_lo = calloc(g->n_ops ? g->n_ops : 1, sizeof(float));
	fused_hi = calloc(g->n_ops ? g->n_ops : 1, sizeof(float));
	if (!fused_res || !fused_res_c || !fused_out || !fused_lo || !fused_hi)
		goto out_fused;
	for (int i = 0; i < g->n_ops; i++)
		fused_res[i] = -1;
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];

		if (op->kind != VIGIL_OP_ADD || T(e, op->inputs[0])->data || T(e, op->inputs[1])->data)
			continue;
		for (int side = 0; side < 2; side++) {
			const int t = op->inputs[side];
			int r = op->inputs[1 - side], rc, p = producer[t];

			if (p < 0 || skip[p] || g->ops[p].kind != VIGIL_OP_CONV2D ||
			    g->ops[p].p.conv.act != VIGIL_ACT_NONE || consumers[t] != 1)
				continue;
			rc = T(e, r)->dims[T(e, r)->rank - 1];
			if (producer[r] >= 0 && g->ops[producer[r]].kind == VIGIL_OP_PAD && consumers[r] == 1 &&
			    channel_pad(e, &g->ops[producer[r]]) && producer[g->ops[producer[r]].inputs[0]] < p &&
			    !skip[producer[r]]) {
				skip[producer[r]] = 1;
				r = g->ops[producer[r]].inputs[0];
				rc = T(e, r)->dims[3];
			} else if (producer[r] >= p) {
				continue; /* the residual is not ready when the convolution runs */
			}
			fused_res[p] = r;
			fused_res_c[p] = rc;
			fused_out[p] = op->output;
			vigil_act_range(op->p.add.act, &fused_lo[p], &fused_hi[p]);
			skip[i] = 1;
			break;
		}
	}

	e->n_steps = 0;
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];
		struct step *s = &e->steps[e->n_steps];

		if (skip[i] || op->kind == VIGIL_OP_RESHAPE)
			continue;
		memset(s, 0, sizeof(*s));
		s->op_index = i;
		s->out = op->output;
		s->res = -1;
		s->reads[s->n_reads++] = op->inputs[0];
		switch (op->kind) {
		case VIGIL_OP_CONV2D:
			s->kind = S_CONV;
			s->kernel_name = "conv2d";
			vigil_act_range(op->p.conv.act, &s->act_min, &s->act_max);
			if (fused_res[i] >= 0) {
				s->res = fused_res[i];
				s->res_c = fused_res_c[i];
				s->out = fused_out[i];
				s->act_min = fused_lo[i];
				s->act_max = fused_hi[i];
				s->reads[s->n_reads++] = s->res;
			}
			break;
		case VIGIL_OP_DWCONV2D:
			s->kind = S_DW;
			s->kernel_name = "dwconv2d";
			vigil_act_range(op->p.conv.act, &s->act_min, &s->act_max);
			break;
		case VIGIL_OP_MAXPOOL2D:
			s->kind = S_POOL;
			s->kernel_name = "maxpool2d";
			vigil_act_range(op->p.pool.act, &s->act_min, &s->act_max);
			break;
		case VIGIL_OP_ADD:
		case VIGIL_OP_RELU: {
			s->kind = S_ADD;
			s->kernel_name = "add";
			vigil_act_range(op->kind == VIGIL_OP_ADD ? op->p.add.act : VIGIL_ACT_RELU, &s->act_min,
					&s->act_max);
			if (op->kind == VIGIL_OP_RELU)
				break;
			int a = op->inputs[0], b = op->inputs[1];
			const int pa = producer[a];

			/* the operand behind a fusable channel PAD goes second */
			if (pa >= 0 && g->ops[pa].kind == VIGIL_OP_PAD && consumers[a] == 1 &&
			    channel_pad(e, &g->ops[pa]) && !skip[pa]) {
				int tmp = a;

				a = b;
				b = tmp;
			}
			s->reads[0] = a;
			s->res = b;
			s->res_c = T(e, b)->dims[T(e, b)->rank - 1];
			if (producer[b] >= 0 && g->ops[producer[b]].kind == VIGIL_OP_PAD && consumers[b] == 1 &&
			    channel_pad(e, &g->ops[producer[b]]) && !skip[producer[b]]) {
				skip[producer[b]] = 1; /* already emitted? only if it ran before: undo below */
				s->res = g->ops[producer[b]].inputs[0];
				s->res_c = T(e, s->res)->dims[3];
			}
			s->reads[s->n_reads++] = s->res;
			break;
		}
		case VIGIL_OP_PAD:
			s->kind = S_PAD;
			s->kernel_name = "pad4d";
			break;
		case VIGIL_OP_RESIZE_BILINEAR:
			s->kind = S_RESIZE;
			s->kernel_name = "resize_bilinear";
			break;
		case VIGIL_OP_CONCAT:
			vigil_act_range(op->p.concat.act, &s->act_min, &s->act_max);
			for (int k = 0; k < op->n_inputs; k++) {
				struct step *c = &e->steps[e->n_steps + k];

				*c = *s;
				c->kind = S_CONCAT;
				c->kernel_name = "concat_part";
				c->concat_k = k;
				c->reads[0] = op->inputs[k];
				c->n_reads = 1;
			}
			e->n_steps += op->n_inputs - 1;
			break;
		default: /* RESHAPE; check_supported() refused the rest */
			break;
		}
		e->n_steps++;
	}
	/* A PAD fused into an ADD must not also have run: the ADD sees it after the PAD's position, so
	 * drop the PAD steps whose op was marked skipped after being emitted. */
	{
		int w = 0;

		for (int i = 0; i < e->n_steps; i++)
			if (!(e->steps[i].kind == S_PAD && skip[e->steps[i].op_index]))
				e->steps[w++] = e->steps[i];
		e->n_steps = w;
	}
	/* A standalone clamp (RELU) of a tensor that only it reads becomes the clamp of the step that
	 * writes the tensor: clamp(clamp(x, a, b), c, d) = clamp(x, max(a, c), min(b, d)) when they overlap. */
	{
		int w = 0;

		for (int i = 0; i < e->n_steps; i++) {
			struct step *s = &e->steps[i];
			const int t = s->reads[0];
			struct step *p = NULL;

			for (int j = w - 1; j >= 0 && !p; j--)
				if (e->steps[j].out == t)
					p = &e->steps[j];
			if (s->kind == S_ADD && s->res < 0 && p && p->kind != S_CONCAT && p->kind != S_PAD &&
			    consumers[t] == 1 && fmaxf(p->act_min, s->act_min) <= fminf(p->act_max, s->act_max)) {
				p->act_min = fmaxf(p->act_min, s->act_min);
				p->act_max = fminf(p->act_max, s->act_max);
				p->out = s->out;
				continue;
			}
			e->steps[w++] = *s;
		}
		e->n_steps = w;
	}
	ret = 0;
out_fused:
	free(fused_hi);
	free(fused_lo);
	free(fused_out);
	free(fused_res_c);
	free(fused_res);
out_free:
	free(skip);
	free(consumers);
	free(producer);
	return ret;
}

/* ---------------------------------------------------------------------------------------------- */
/* Activation plan: greedy, largest first, as pipeline/engine.c */

static size_t align_up(size_t n)
{
	return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static size_t tensor_floats(const struct vigil_tensor *t)
{
	return t->count;
}

static size_t slot_floats(const struct vigil_tensor *t)
{
	return align_up(t->count);
}

static int plan(struct vigil_cl_exec *e)
{
	const struct vigil_graph *g = e->g;
	const int nt = g->n_tensors, ns = e->n_steps;
	int *first = malloc(nt * sizeof(int)), *last = malloc(nt * sizeof(int)), *order = malloc(nt * sizeof(int));
	int n_roots = 0, ret = -ENOMEM;

	if (!first || !last || !order)
		goto out_free;
	for (int t = 0; t < nt; t++) {
		first[t] = INT32_MAX;
		last[t] = -1;
		e->offset[t] = NO_SLOT;
	}
	for (int i = 0; i < g->n_inputs; i++)
		first[root_of(e, g->inputs[i])] = -1;
	for (int t = 0; t < nt; t++)
		if (e->const_act[t]) {
			first[root_of(e, t)] = -1;
			last[root_of(e, t)] = ns;
		}
	for (int i = 0; i < ns; i++) {
		const struct step *s = &e->steps[i];
		const int r = root_of(e, s->out);

		if (first[r] > i)
			first[r] = i;
		if (last[r] < i)
			last[r] = i;
		for (int k = 0; k < s->n_reads; k++) {
			const int ri = root_of(e, s->reads[k]);

			if (last[ri] < i)
				last[ri] = i;
			if (first[ri] > i)
				first[ri] = i; /* read but never written: a graph input without a writer */
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[root_of(e, g->outputs[i])] = ns;
	for (int t = 0; t < nt; t++)
		if (root_of(e, t) == t && last[t] >= 0 && (!g->tensors[t].data || e->const_act[t]))
			order[n_roots++] = t;
	e->act_floats =
	    vigil_plan_arena(g->tensors, order, n_roots, first, last, tensor_floats, slot_floats, e->offset);
	for (int t = 0; t < nt; t++)
		if (e->offset[t] == NO_SLOT && e->offset[root_of(e, t)] != NO_SLOT)
			e->offset[t] = e->offset[root_of(e, t)];
	ret = 0;
out_free:
	free(order);
	free(last);
	free(first);
	return ret;
}

/* ---------------------------------------------------------------------------------------------- */
/* Kernel objects, one per step, arguments bound once */

struct args {
	cl_kernel k;
	cl_uint n;
	cl_int st;
};

static void arg(struct args *a, size_t size, const void *v)
{
	if (a->st == CL_SUCCESS)
		a->st = clSetKernelArg(a->k, a->n, size, v);
	a->n++;
}

#define ARG_I(a, v) arg(a, sizeof(cl_int), &(cl_int){ (v) })
#define ARG_F(a, v) arg(a, sizeof(cl_float), &(cl_float){ (v) })
#define ARG_M(a, m) arg(a, sizeof(cl_mem), &(m))

static int off(const struct vigil_cl_exec *e, int t)
{
	return (int)e->offset[t];
}

static int upload(struct vigil_cl_exec *e, const void *data, size_t bytes, cl_mem *out)
{
	cl_int st;

	*out = clCreateBuffer(e->dev->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, (void *)data, &st);
	return *out ? 0 : cl_fail("clCreateBuffer (weights)", st);
}

/* A constant read by a kernel (bias, depthwise weights), uploaded once per executor. */
static int const_buf(struct vigil_cl_exec *e, int t, cl_mem *out)
{
	int ret;

	if (!e->consts[t]) {
		ret = upload(e, T(e, t)->data, T(e, t)->count * sizeof(float), &e->consts[t]);
		if (ret < 0)
			return ret;
	}
	*out = e->consts[t];
	return 0;
}

static int bind_conv(struct vigil_cl_exec *e, struct step *s, struct args *a)
{
	const struct vigil_op *op = &e->g->ops[s->op_index];
	const struct vigil_tensor *in = T(e, op->inputs[0]), *w = T(e, op->inputs[1]), *out = T(e, op->output);
	const int has_bias = op->n_inputs > 2 && op->inputs[2] >= 0;
	const int dw = s->kind == S_DW;
	const int kh = w->dims[1], kw = w->dims[2];
	const int oc = out->dims[3];
	cl_mem wbuf, bbuf;
	int ret;

	if (dw) {
		ret = const_buf(e, op->inputs[1], &wbuf);
	} else {
		const int ic = w->dims[3];
		const float *src = w->data;
		float *packed = malloc(w->count * sizeof(float));

		if (!packed)
			return -ENOMEM;
		/* OHWI -> HWIO: neighbouring work-items read neighbouring weights */
		for (int o = 0; o < oc; o++)
			for (int y = 0; y < kh; y++)
				for (int x = 0; x < kw; x++)
					for (int c = 0; c < ic; c++)
						packed[(((size_t)y * kw + x) * ic + c) * oc + o] =
						    src[(((size_t)o * kh + y) * kw + x) * ic + c];
		ret = upload(e, packed, w->count * sizeof(float), &e->weights[s->op_index]);
		free(packed);
		wbuf = e->weights[s->op_index];
	}
	if (ret < 0)
		return ret;
	bbuf = wbuf; /* any valid buffer when there is no bias */
	if (has_bias) {
		ret = const_buf(e, op->inputs[2], &bbuf);
		if (ret < 0)
			return ret;
	}
	ARG_M(a, e->act);
	ARG_I(a, off(e, op->inputs[0]));
	ARG_I(a, in->dims[1]);
	ARG_I(a, in->dims[2]);
	ARG_I(a, in->dims[3]);
	ARG_M(a, wbuf);
	ARG_M(a, bbuf);
	ARG_I(a, has_bias);
	ARG_I(a, off(e, s->out));
	ARG_I(a, out->dims[1]);
	ARG_I(a, out->dims[2]);
	ARG_I(a, oc);
	if (dw)
		ARG_I(a, oc / in->dims[3]);
	ARG_I(a, kh);
	ARG_I(a, kw);
	ARG_I(a, op->p.conv.stride_h);
	ARG_I(a, op->p.conv.stride_w);
	ARG_I(a, op->p.conv.dilation_h);
	ARG_I(a, op->p.conv.dilation_w);
	ARG_I(a, vigil_pad_before(op->p.conv.padding, in->dims[1], out->dims[1], kh, op->p.conv.stride_h,
				  op->p.conv.dilation_h));
	ARG_I(a, vigil_pad_before(op->p.conv.padding, in->dims[2], out->dims[2], kw, op->p.conv.stride_w,
				  op->p.conv.dilation_w));
	ARG_F(a, s->act_min);
	ARG_F(a, s->act_max);
	if (!dw) {
		ARG_I(a, s->res >= 0 ? off(e, s->res) : -1);
		ARG_I(a, s->res_c);
		s->global = (size_t)out->dims[1] * out->dims[2] * ((oc + 3) / 4);
	} else {
		s->global = out->count;
	}
	ARG_M(a, e->act);
	return 0;
}

static void dims4(const struct vigil_tensor *t, cl_int d[4])
{
	for (int i = 0; i < 4; i++)
		d[i] = 1;
	for (int i = 0; i < t->rank; i++)
		d[4 - t->rank + i] = t->dims[i];
}

static int bind_step(struct vigil_cl_exec *e, struct step *s)
{
	const struct vigil_op *op = &e->g->ops[s->op_index];
	const struct vigil_tensor *in = T(e, s->reads[0]), *out = T(e, op->output);
	struct args a = { 0 };
	cl_int st;
	int ret = 0;

	s->kernel = clCreateKernel(e->dev->program, s->kernel_name, &st);
	if (!s->kernel)
		return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL kernel %s: %s", s->kernel_name,
				   vigil_cl_status_name(st));
	a.k = s->kernel;
	switch (s->kind) {
	case S_CONV:
	case S_DW:
		ret = bind_conv(e, s, &a);
		break;
	case S_POOL: {
		const struct vigil_pool_params *p = &op->p.pool;

		ARG_M(&a, e->act);
		ARG_I(&a, off(e, op->inputs[0]));
		ARG_I(&a, in->dims[1]);
		ARG_I(&a, in->dims[2]);
		ARG_I(&a, in->dims[3]);
		ARG_I(&a, off(e, s->out));
		ARG_I(&a, out->dims[1]);
		ARG_I(&a, out->dims[2]);
		ARG_I(&a, p->filter_h);
		ARG_I(&a, p->filter_w);
		ARG_I(&a, p->stride_h);
		ARG_I(&a, p->stride_w);
		ARG_I(&a, vigil_pad_before(p->padding, in->dims[1], out->dims[1], p->filter_h, p->stride_h, 1));
		ARG_I(&a, vigil_pad_before(p->padding, in->dims[2], out->dims[2], p->filter_w, p->stride_w, 1));
		ARG_F(&a, s->act_min);
		ARG_F(&a, s->act_max);
		ARG_M(&a, e->act);
		s->global = out->count;
		break;
	}
	case S_ADD: {
		const struct vigil_tensor *o = T(e, s->out);

		ARG_M(&a, e->act);
		ARG_I(&a, off(e, s->reads[0]));
		ARG_I(&a, s->res >= 0 ? off(e, s->res) : -1);
		ARG_I(&a, s->res >= 0 ? s->res_c : 0);
		ARG_I(&a, o->dims[o->rank - 1]);
		ARG_I(&a, off(e, s->out));
		ARG_I(&a, (int)o->count);
		ARG_F(&a, s->act_min);
		ARG_F(&a, s->act_max);
		ARG_M(&a, e->act);
		s->global = o->count;
		break;
	}
	case S_PAD: {
		const int32_t *pv = T(e, op->inputs[1])->data;
		cl_int ind[4], outd[4], before[4] = { 0, 0, 0, 0 };

		dims4(in, ind);
		dims4(out, outd);
		for (int i = 0; i < in->rank; i++)
			before[4 - in->rank + i] = pv[2 * i];
		ARG_M(&a, e->act);
		ARG_I(&a, off(e, op->inputs[0]));
		arg(&a, sizeof(cl_int4), ind);
		arg(&a, sizeof(cl_int4), before);
		ARG_I(&a, off(e, s->out));
		arg(&a, sizeof(cl_int4), outd);
		ARG_M(&a, e->act);
		s->global = out->count;
		break;
	}
	case S_CONCAT: {
		const int axis = op->p.concat.axis;
		size_t inner = 1, col = 0;

		for (int i = axis + 1; i < out->rank; i++)
			inner *= (size_t)out->dims[i];
		for (int k = 0; k < s->concat_k; k++)
			col += (size_t)T(e, op->inputs[k])->dims[axis] * inner;
		ARG_M(&a, e->act);
		ARG_I(&a, off(e, s->reads[0]));
		ARG_I(&a, (int)((size_t)in->dims[axis] * inner));
		ARG_I(&a, (int)((size_t)out->dims[axis] * inner));
		ARG_I(&a, (int)col);
		ARG_I(&a, off(e, s->out));
		ARG_I(&a, (int)in->count);
		ARG_F(&a, s->act_min);
		ARG_F(&a, s->act_max);
		ARG_M(&a, e->act);
		s->global = in->count;
		break;
	}
	case S_RESIZE:
		ARG_M(&a, e->act);
		ARG_I(&a, off(e, op->inputs[0]));
		ARG_I(&a, in->dims[1]);
		ARG_I(&a, in->dims[2]);
		ARG_I(&a, in->dims[3]);
		ARG_I(&a, off(e, s->out));
		ARG_I(&a, out->dims[1]);
		ARG_I(&a, out->dims[2]);
		ARG_I(&a, op->p.resize.align_corners);
		ARG_I(&a, op->p.resize.half_pixel_centers);
		ARG_M(&a, e->act);
		s->global = out->count;
		break;
	}
	if (ret < 0)
		return ret;
	if (a.st != CL_SUCCESS)
		return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL kernel %s argument %u: %s", s->kernel_name, a.n - 1,
				   vigil_cl_status_name(a.st));
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */

void vigil_cl_exec_destroy(struct vigil_cl_exec *e)
{
	if (!e)
		return;
	if (e->queue)
		clFinish(e->queue);
	vigil_cl_import_cache_drop(&e->imports);
	for (int i = 0; e->steps && i < e->n_steps; i++)
		if (e->steps[i].kernel)
			clReleaseKernel(e->steps[i].kernel);
	if (e->pre)
		clReleaseKernel(e->pre);
	if (e->select)
		clReleaseKernel(e->select);
	for (int i = 0; e->weights && i < e->g->n_ops; i++)
		if (e->weights[i])
			clReleaseMemObject(e->weights[i]);
	for (int t = 0; e->consts && t < e->g->n_tensors; t++)
		if (e->consts[t])
			clReleaseMemObject(e->consts[t]);
	if (e->act)
		clReleaseMemObject(e->act);
	if (e->cand)
		clReleaseMemObject(e->cand);
	if (e->frame)
		clReleaseMemObject(e->frame);
	if (e->taps)
		clReleaseMemObject(e->taps);
	if (e->taps_direct)
		clReleaseMemObject(e->taps_direct);
	if (e->queue)
		clReleaseCommandQueue(e->queue);
	free(e->staging);
	free(e->rows[0]);
	free(e->cand_host);
	free(e->taps_host);
	free(e->steps);
	free(e->const_act);
	free(e->offset);
	free(e->alias);
	free(e->consts);
	free(e->weights);
	free(e);
}

int vigil_cl_exec_create(struct vigil_cl_device *dev, const struct vigil_graph *g,
			 const struct vigil_cl_exec_config *cfg, struct vigil_cl_exec **out)
{
	const struct vigil_tensor *in = &g->tensors[cfg->input_tensor];
	struct vigil_cl_exec *e = calloc(1, sizeof(*e));
	size_t nt = g->n_tensors ? (size_t)g->n_tensors : 1;
	cl_int st;
	int ret = -ENOMEM;

	*out = NULL;
	if (!e)
		return vigil_error(-ENOMEM, "out of memory for the OpenCL executor");
	e->dev = dev;
	e->g = g;
	e->cfg = *cfg;
	vigil_cl_import_cache_init(&e->imports,
				   vigil_cl_import_override_get() ? vigil_cl_import_override_get() : &dev->import,
				   dev->context, dev->device);
	e->weights = calloc(g->n_ops ? g->n_ops : 1, sizeof(cl_mem));
	e->consts = calloc(nt, sizeof(cl_mem));
	e->alias = malloc(nt * sizeof(int));
	e->offset = malloc(nt * sizeof(size_t));
	e->const_act = calloc(nt, sizeof(int));
	if (!e->weights || !e->consts || !e->alias || !e->offset || !e->const_act)
		goto out_nomem;
	/* frames can be preprocessed into an input [1,S,S,3]; other graphs (kernel tests) run tensors only */
	if (in->rank == 4 && in->dims[1] == in->dims[2] && in->dims[3] == 3) {
		e->dst_h = in->dims[1];
		e->dst_w = in->dims[2];
	}
	for (int t = 0; t < g->n_tensors; t++)
		e->alias[t] = t;
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];

		if (op->kind == VIGIL_OP_RESHAPE) {
			if (T(e, op->inputs[0])->data)
				e->const_act[op->output] = 1; /* filled with the constant at create */
			else
				e->alias[op->output] = op->inputs[0];
			continue;
		}
		/* constants in activation positions live in the activation buffer */
		for (int k = 0; k < op->n_inputs; k++) {
			const int t = op->inputs[k];
			const int weight = (op->kind == VIGIL_OP_CONV2D || op->kind == VIGIL_OP_DWCONV2D) ? k >= 1
					   : op->kind == VIGIL_OP_PAD                                     ? k == 1
													  : 0;

			if (t >= 0 && !weight && g->tensors[t].data)
				e->const_act[t] = 1;
		}
	}
	ret = build_steps(e);
	if (ret < 0)
		goto out_nomem;
	ret = plan(e);
	if (ret < 0)
		goto out_nomem;

	if (e->act_floats > INT32_MAX || e->act_floats * sizeof(float) > dev->max_alloc) {
		ret =
		    vigil_error(VIGIL_EUNSUPPORTED, "OpenCL: the %zu-byte activation buffer exceeds %s's limit of %zu",
				e->act_floats * sizeof(float), dev->name, dev->max_alloc);
		goto out_destroy;
	}
	e->queue = clCreateCommandQueue(dev->context, dev->device, cfg->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &st);
	if (!e->queue) {
		ret = cl_fail("clCreateCommandQueue", st);
		goto out_destroy;
	}
	e->act = clCreateBuffer(dev->context, CL_MEM_READ_WRITE, (e->act_floats ? e->act_floats : 1) * sizeof(float),
				NULL, &st);
	if (!e->act) {
		ret = cl_fail("clCreateBuffer (activations)", st);
		goto out_destroy;
	}
	e->cand = clCreateBuffer(dev->context, CL_MEM_READ_WRITE,
				 (1 + (size_t)cfg->num_anchors * (2 + cfg->num_coords)) * sizeof(float), NULL, &st);
	if (!e->cand) {
		ret = cl_fail("clCreateBuffer (candidates)", st);
		goto out_destroy;
	}
	e->taps =
	    clCreateBuffer(dev->context, CL_MEM_READ_ONLY, (2 * (size_t)e->dst_w + 2 * e->dst_h + 1) * 16, NULL, &st);
	if (!e->taps) {
		ret = cl_fail("clCreateBuffer (taps)", st);
		goto out_destroy;
	}
	if (e->imports.api.kind != VIGIL_CL_IMPORT_NONE) {
		e->taps_direct = clCreateBuffer(dev->context, CL_MEM_READ_ONLY,
						(2 * (size_t)e->dst_w + 2 * e->dst_h + 1) * 16, NULL, &st);
		if (!e->taps_direct) {
			ret = cl_fail("clCreateBuffer (taps)", st);
			goto out_destroy;
		}
	}
	e->taps_host = malloc((2 * (size_t)e->dst_w + 2 * e->dst_h + 1) * 16);
	e->rows[0] = malloc((6 * (size_t)e->dst_h + 1) * sizeof(int));
	e->rows[1] = e->rows[0] + 2 * (size_t)e->dst_h;
	e->rows[2] = e->rows[1] + 2 * (size_t)e->dst_h;
	e->cand_host = malloc((1 + (size_t)cfg->num_anchors * (2 + cfg->num_coords)) * sizeof(float));
	if (!e->taps_host || !e->cand_host || !e->rows[0])
		goto out_nomem;
	for (int t = 0; t < g->n_tensors; t++) {
		if (!e->const_act[t])
			continue;
		/* a RESHAPE of a constant takes its input's bytes */
		const void *data = g->tensors[t].data;

		for (int i = 0; !data && i < g->n_ops; i++)
			if (g->ops[i].output == t)
				data = g->tensors[g->ops[i].inputs[0]].data;
		st = clEnqueueWriteBuffer(e->queue, e->act, CL_TRUE, e->offset[t] * sizeof(float),
					  g->tensors[t].count * sizeof(float), data, 0, NULL, NULL);
		if (st != CL_SUCCESS) {
			ret = cl_fail("constant upload", st);
			goto out_destroy;
		}
	}
	for (int i = 0; i < e->n_steps; i++) {
		ret = bind_step(e, &e->steps[i]);
		if (ret < 0)
			goto out_destroy;
	}
	e->pre = clCreateKernel(dev->program, "preprocess", &st);
	if (e->pre)
		e->select = clCreateKernel(dev->program, "select_candidates", &st);
	if (!e->pre || !e->select) {
		ret = cl_fail("clCreateKernel (preprocess, select_candidates)", st);
		goto out_destroy;
	}
	{
		struct args a = { .k = e->select };

		ARG_M(&a, e->act);
		ARG_I(&a, off(e, cfg->boxes_tensor));
		ARG_I(&a, off(e, cfg->logits_tensor));
		ARG_I(&a, cfg->num_anchors);
		ARG_I(&a, cfg->num_coords);
		a.n++; /* threshold: per frame */
		ARG_M(&a, e->cand);
		if (a.st != CL_SUCCESS) {
			ret = cl_fail("select_candidates arguments", a.st);
			goto out_destroy;
		}
	}
	e->stats.launches_per_inference = e->n_steps + 2; /* preprocess, the steps, select_candidates */
	e->stats.ops = g->n_ops;
	e->stats.act_bytes = e->act_floats * sizeof(float);
	*out = e;
	return 0;

out_nomem:
	if (ret == -ENOMEM)
		ret = vigil_error(-ENOMEM, "out of memory preparing the OpenCL executor");
out_destroy:
	vigil_cl_exec_destroy(e);
	return ret;
}

void vigil_cl_exec_log_frame_paths(struct vigil_cl_exec *e, int on)
{
	e->logged = on ? 0 : ~0u;
}

void vigil_cl_exec_get_stats(const struct vigil_cl_exec *e, struct vigil_cl_exec_stats *out)
{
	*out = e->stats;
	out->import_kind = (int)e->imports.api.kind;
	out->imports = e->imports.imports;
	out->import_hits = e->imports.hits;
	out->import_releases = e->imports.releases;
	out->imports_held = vigil_cl_import_cache_count(&e->imports);
}

/* A 1-D launch of @p n work-items at the device's fixed work-group size (rounded-up grid). */
static cl_int launch(struct vigil_cl_exec *e, cl_kernel k, size_t n, cl_event *event)
{
	const size_t local = e->dev->local_size, global = (n + local - 1) / local * local;

	return clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, &local, 0, NULL, event);
}

static cl_int enqueue_steps(struct vigil_cl_exec *e, cl_event *events)
{
	for (int i = 0; i < e->n_steps; i++) {
		const struct step *s = &e->steps[i];
		cl_int st = launch(e, s->kernel, s->global, events ? &events[i] : NULL);

		if (st != CL_SUCCESS)
			return st;
	}
	return CL_SUCCESS;
}

int vigil_cl_exec_run_tensor(struct vigil_cl_exec *e, const float *input, float *boxes, float *logits)
{
	const struct vigil_tensor *in = T(e, e->cfg.input_tensor);
	cl_int st;

	st = clEnqueueWriteBuffer(e->queue, e->act, CL_FALSE, e->offset[e->cfg.input_tensor] * sizeof(float),
				  in->count * sizeof(float), input, 0, NULL, NULL);
	if (st == CL_SUCCESS)
		st = enqueue_steps(e, NULL);
	if (st == CL_SUCCESS)
		st = clEnqueueReadBuffer(e->queue, e->act, CL_FALSE, e->offset[e->cfg.boxes_tensor] * sizeof(float),
					 T(e, e->cfg.boxes_tensor)->count * sizeof(float), boxes, 0, NULL, NULL);
	if (st == CL_SUCCESS)
		st = clEnqueueReadBuffer(e->queue, e->act, CL_TRUE, e->offset[e->cfg.logits_tensor] * sizeof(float),
					 T(e, e->cfg.logits_tensor)->count * sizeof(float), logits, 0, NULL, NULL);
	return st == CL_SUCCESS ? 0 : cl_fail("inference", st);
}

/* ---------------------------------------------------------------------------------------------- */
/* Frames */

/* layout for the preprocess kernel: 0 packed RGB-like / GRAY, 1 NV12, 2 I420, 3 YUY2 / UYVY */
static int layout_of(enum vigil_pixel_format f, int *bpp, cl_int offs[4], int *planes)
{
	offs[0] = offs[1] = offs[2] = offs[3] = 0;
	*bpp = 1;
	*planes = 1;
	switch (f) {
	case VIGIL_FORMAT_NV12:
		*planes = 2;
		return 1;
	case VIGIL_FORMAT_I420:
		*planes = 3;
		return 2;
	case VIGIL_FORMAT_YUY2:
		offs[1] = 1;
		offs[2] = 3;
		return 3;
	case VIGIL_FORMAT_UYVY:
		offs[0] = 1;
		offs[2] = 2;
		return 3;
	case VIGIL_FORMAT_RGB:
		*bpp = 3;
		offs[1] = 1;
		offs[2] = 2;
		return 0;
	case VIGIL_FORMAT_BGR:
		*bpp = 3;
		offs[0] = 2;
		offs[1] = 1;
		return 0;
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_RGBX:
		*bpp = 4;
		offs[1] = 1;
		offs[2] = 2;
		return 0;
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_BGRX:
		*bpp = 4;
		offs[0] = 2;
		offs[1] = 1;
		return 0;
	default: /* GRAY8 */
		return 0;
	}
}

static size_t row_bytes(enum vigil_pixel_format f, int plane, int width)
{
	const size_t half = ((size_t)width + 1) / 2;

	switch (f) {
	case VIGIL_FORMAT_NV12:
		return plane == 0 ? (size_t)width : half * 2;
	case VIGIL_FORMAT_I420:
		return plane == 0 ? (size_t)width : half;
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY:
		return half * 4;
	case VIGIL_FORMAT_RGB:
	case VIGIL_FORMAT_BGR:
		return (size_t)width * 3;
	case VIGIL_FORMAT_GRAY8:
		return (size_t)width;
	default:
		return (size_t)width * 4;
	}
}

/* Collects the sorted distinct rows that the inside taps of @p t read into @p rows and rewrites the taps
 * (lo, hi at taps_host[4k], [4k+1]) to indices into that list: the rows are gathered per frame. */
static int gather_rows(const struct vigil_tap *t, int n, int32_t *taps, int *rows)
{
	int m = 0, w = 0;

	for (int i = 0; i < n; i++)
		if (t[i].inside) {
			rows[m++] = t[i].lo;
			rows[m++] = t[i].hi;
		}
	/* insertion sort: the taps are already almost in order */
	for (int i = 1; i < m; i++) {
		const int v = rows[i];
		int j = i;

		while (j > 0 && rows[j - 1] > v) {
			rows[j] = rows[j - 1];
			j--;
		}
		rows[j] = v;
	}
	for (int i = 0; i < m; i++)
		if (w == 0 || rows[w - 1] != rows[i])
			rows[w++] = rows[i];
	for (int i = 0; i < n; i++) {
		int lo = 0, hi = 0;

		if (t[i].inside) {
			for (int a = 0, b = w - 1; a <= b;) { /* binary search: the rows are distinct */
				const int mid = (a + b) / 2;

				if (rows[mid] == t[i].lo) {
					lo = mid;
					break;
				}
				if (rows[mid] < t[i].lo)
					a = mid + 1;
				else
					b = mid - 1;
			}
			hi = lo + (t[i].hi != t[i].lo);
		}
		taps[4 * i] = lo;
		taps[4 * i + 1] = hi;
	}
	return w;
}

static int grow_frame(struct vigil_cl_exec *e, size_t need)
{
	cl_int st;
	uint8_t *staging;

	if (need <= e->frame_capacity)
		return 0;
	if (e->frame)
		clReleaseMemObject(e->frame);
	e->frame_capacity = 0;
	staging = realloc(e->staging, need);
	if (!staging)
		return vigil_error(-ENOMEM, "out of memory for %zu bytes of frame rows", need);
	e->staging = staging;
	e->frame = clCreateBuffer(e->dev->context, CL_MEM_READ_ONLY, need, NULL, &st);
	if (!e->frame)
		return cl_fail("clCreateBuffer (frame)", st);
	e->frame_capacity = need;
	return 0;
}

int vigil_cl_exec_configure(struct vigil_cl_exec *e, const struct vigil_preprocess *pp, const struct vigil_frame *f)
{
	const int n = 2 * pp->dst_w + 2 * pp->dst_h;
	const struct vigil_tap *all[4] = { pp->luma_x, pp->chroma_x, pp->luma_y, pp->chroma_y };
	const int len[4] = { pp->dst_w, pp->dst_w, pp->dst_h, pp->dst_h };
	size_t total = 0;
	cl_int offs[4], st;
	int bpp, planes, k = 0;

	if (e->dst_w == 0 || e->cfg.num_anchors == 0)
		return vigil_error(-EINVAL, "this graph has no [1,S,S,3] input or no face decoder outputs");
	if (pp->dst_w != e->dst_w || pp->dst_h != e->dst_h)
		return vigil_error(-EINVAL, "preprocessing is %dx%d, the model takes %dx%d", pp->dst_w, pp->dst_h,
				   e->dst_w, e->dst_h);
	for (int a = 0; a < 4; a++)
		for (int i = 0; i < len[a]; i++, k++) {
			const struct vigil_tap *t = &all[a][i];

			e->taps_host[4 * k] = t->lo;
			e->taps_host[4 * k + 1] = t->hi;
			e->taps_host[4 * k + 2] = t->inside;
			memcpy(&e->taps_host[4 * k + 3], &t->frac, 4);
		}
	/* imports of the previous geometry are not reused: a new geometry is a new ring of buffers */
	vigil_cl_import_cache_drop(&e->imports);
	if (e->taps_direct) {
		st = clEnqueueWriteBuffer(e->queue, e->taps_direct, CL_TRUE, 0, (size_t)n * 16, e->taps_host, 0, NULL,
					  NULL);
		if (st != CL_SUCCESS)
			return cl_fail("tap table upload", st);
	}
	layout_of(f->format, &bpp, offs, &planes);
	e->n_rows[0] = gather_rows(pp->luma_y, pp->dst_h, e->taps_host + 4 * 2 * (size_t)pp->dst_w, e->rows[0]);
	if (planes > 1)
		e->n_rows[1] = gather_rows(pp->chroma_y, pp->dst_h,
					   e->taps_host + 4 * (2 * (size_t)pp->dst_w + pp->dst_h), e->rows[1]);
	if (planes > 2) {
		memcpy(e->rows[2], e->rows[1], (size_t)e->n_rows[1] * sizeof(int));
		e->n_rows[2] = e->n_rows[1];
	}
	for (int p = 0; p < planes; p++) {
		e->plane_off[p] = total;
		e->row_bytes[p] = row_bytes(f->format, p, f->width);
		total += ((size_t)e->n_rows[p] * e->row_bytes[p] + 63) / 64 * 64;
	}
	st = clEnqueueWriteBuffer(e->queue, e->taps, CL_TRUE, 0, (size_t)n * 16, e->taps_host, 0, NULL, NULL);
	if (st != CL_SUCCESS)
		return cl_fail("tap table upload", st);
	return grow_frame(e, total ? total : 1);
}

/* The buffer's identity for the import cache (vigil_frame_validate() checked the description). */
static int check_dmabuf(const struct vigil_frame *f, struct stat *st)
{
	if (f->dmabuf->fd < 0 || fstat(f->dmabuf->fd, st) < 0)
		return vigil_error(-EBADF, "frame DMABUF fd %d is not an open file descriptor", f->dmabuf->fd);
	return 0;
}

/* An imported DMABUF frame: the preprocess kernel reads the buffer itself, with the frame's strides and the
 * planes' offsets in it, through the taps that hold frame rows. 0: enqueued; 1: not imported (the copy path
 * follows); negative: error. */
static int enqueue_import(struct vigil_cl_exec *e, const struct vigil_frame *f, const struct stat *fs, cl_mem *mem)
{
	cl_int status;
	int ret;

	if (e->imports.api.kind == VIGIL_CL_IMPORT_NONE || e->import_failed || !e->taps_direct) {
		if (!(e->logged & LOG_COPY_NO_IMPORT) && !e->import_failed) {
			vigil_log(
			    "opencl", VIGIL_LOG_INFO,
			    "frame path: DMABUF frames are copied (mapped, the rows the taps read uploaded once): %s",
			    e->imports.api.why_not[0] ? e->imports.api.why_not : "no import extension");
			e->logged |= LOG_COPY_NO_IMPORT;
		}
		return 1;
	}
	ret = vigil_cl_import_get(&e->imports, f->dmabuf, fs->st_dev, fs->st_ino, mem, &status);
	if (ret < 0) {
		/* one failure says the driver will not take this kind of buffer: copy from now on */
		vigil_log("opencl", VIGIL_LOG_WARNING, "frame path: %s; falling back to copying frames",
			  vigil_last_error());
		vigil_error_clear();
		e->import_failed = 1;
		e->logged |= LOG_IMPORT_FAILED;
		return 1;
	}
	if (!(e->logged & LOG_IMPORT)) {
		vigil_log("opencl", VIGIL_LOG_INFO, "frame path: DMABUF import (%s), no copy",
			  vigil_cl_import_name(e->imports.api.kind));
		e->logged |= LOG_IMPORT;
	}
	status = vigil_cl_import_acquire(&e->imports, e->queue, *mem);
	return status == CL_SUCCESS ? 0 : cl_fail("clEnqueueAcquireExternalMemObjectsKHR", status);
}

/* Gathers the rows of the frame the taps read, uploads them with one write and enqueues the preprocess
 * kernel; an imported DMABUF frame is read in place instead. */
static int enqueue_frame(struct vigil_cl_exec *e, const struct vigil_preprocess *pp, const struct vigil_frame *f)
{
	size_t global = (size_t)e->dst_w * e->dst_h, upload = 0;
	cl_int offs[4], po[4] = { 0 }, strides[4] = { 0 }, rows[4] = { 0 }, st = CL_SUCCESS;
	cl_float yuv[8] = { 0 };
	int bpp, planes, layout, ret;
	struct args a = { .k = e->pre };
	cl_mem imported = NULL;

	layout = layout_of(f->format, &bpp, offs, &planes);
	if (f->dmabuf) {
		struct stat fs;

		ret = check_dmabuf(f, &fs);
		if (ret == 0)
			ret = enqueue_import(e, f, &fs, &imported);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			for (int p = 0; p < planes; p++) {
				po[p] = (cl_int)f->dmabuf->offsets[p];
				strides[p] = (cl_int)f->strides[p];
			}
			goto launch;
		}
	} else if (!(e->logged & LOG_COPY_PLAIN)) {
		vigil_log("opencl", VIGIL_LOG_INFO,
			  "frame path: host copy of the rows the taps read (%zu bytes a frame): the frames carry no "
			  "DMABUF%s",
			  e->plane_off[planes - 1] + (size_t)e->n_rows[planes - 1] * e->row_bytes[planes - 1],
			  e->imports.api.kind != VIGIL_CL_IMPORT_NONE ? " (the device could import one)" : "");
		e->logged |= LOG_COPY_PLAIN;
	}
	for (int p = 0; p < planes; p++) {
		uint8_t *dst = e->staging + e->plane_off[p];

		for (int r = 0; r < e->n_rows[p]; r++, dst += e->row_bytes[p])
			memcpy(dst, f->planes[p] + (size_t)e->rows[p][r] * f->strides[p], e->row_bytes[p]);
		po[p] = (cl_int)e->plane_off[p];
		strides[p] = (cl_int)e->row_bytes[p];
		upload = e->plane_off[p] + (size_t)e->n_rows[p] * e->row_bytes[p];
	}
	/* the staging memory is not touched again before the blocking read that ends the frame */
	st = clEnqueueWriteBuffer(e->queue, e->frame, CL_FALSE, 0, upload, e->staging, 0, NULL, NULL);
	if (st != CL_SUCCESS)
		return cl_fail("frame upload", st);
launch:
	vigil_preprocess_yuv_coeffs(f->colorimetry, yuv);
	if (imported)
		ARG_M(&a, imported);
	else
		ARG_M(&a, e->frame);
	ARG_I(&a, layout);
	arg(&a, sizeof(cl_int4), po);
	arg(&a, sizeof(cl_int4), strides);
	arg(&a, sizeof(cl_int4), rows);
	ARG_I(&a, bpp);
	arg(&a, sizeof(cl_int4), offs);
	if (imported)
		ARG_M(&a, e->taps_direct);
	else
		ARG_M(&a, e->taps);
	ARG_I(&a, e->dst_w);
	ARG_I(&a, e->dst_h);
	arg(&a, sizeof(cl_float8), yuv);
	ARG_F(&a, pp->norm_scale);
	ARG_F(&a, pp->norm_bias);
	ARG_I(&a, off(e, e->cfg.input_tensor));
	ARG_M(&a, e->act);
	ARG_M(&a, e->cand);
	if (a.st != CL_SUCCESS) {
		if (imported)
			vigil_cl_import_release(&e->imports, e->queue, imported);
		return cl_fail("preprocess arguments", a.st);
	}
	e->stats.last_upload_bytes = upload;
	e->stats.last_imported = imported != NULL;
	st = launch(e, e->pre, global, NULL);
	if (imported) {
		/* in-order queue: the release follows the only kernel that reads the buffer */
		const cl_int rs = vigil_cl_import_release(&e->imports, e->queue, imported);

		if (st == CL_SUCCESS && rs != CL_SUCCESS)
			return cl_fail("clEnqueueReleaseExternalMemObjectsKHR", rs);
	}
	return st == CL_SUCCESS ? 0 : cl_fail("preprocess launch", st);
}

int vigil_cl_exec_detect(struct vigil_cl_exec *e, const struct vigil_preprocess *pp, const struct vigil_frame *f,
			 float logit_threshold, float *boxes, float *logits)
{
	const int coords = e->cfg.num_coords, rec = 2 + coords, na = e->cfg.num_anchors;
	size_t first, global = (size_t)na;
	cl_int st;
	int count, ret;

	if (e->dst_w == 0 || na == 0)
		return vigil_error(-EINVAL, "this graph has no [1,S,S,3] input or no face decoder outputs");
	ret = enqueue_frame(e, pp, f);
	if (ret < 0)
		return ret;
	st = clSetKernelArg(e->select, 5, sizeof(cl_float), &logit_threshold);
	if (st == CL_SUCCESS)
		st = enqueue_steps(e, NULL);
	if (st == CL_SUCCESS)
		st = launch(e, e->select, global, NULL);
	first = 1 + (size_t)FIRST_CANDIDATES * rec;
	if (st == CL_SUCCESS)
		st = clEnqueueReadBuffer(e->queue, e->cand, CL_TRUE, 0, first * sizeof(float), e->cand_host, 0, NULL,
					 NULL);
	if (st != CL_SUCCESS)
		return cl_fail("inference", st);
	e->stats.last_read_bytes = first * sizeof(float);
	memcpy(&count, e->cand_host, sizeof(count));
	if (count < 0 || count > na)
		return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL candidate count %d is outside 0..%d", count, na);
	if (count > FIRST_CANDIDATES) {
		const size_t rest = (size_t)(count - FIRST_CANDIDATES) * rec;

		st = clEnqueueReadBuffer(e->queue, e->cand, CL_TRUE, first * sizeof(float), rest * sizeof(float),
					 e->cand_host + first, 0, NULL, NULL);
		if (st != CL_SUCCESS)
			return cl_fail("candidate read", st);
		e->stats.last_read_bytes += rest * sizeof(float);
	}
	for (int i = 0; i < na; i++)
		logits[i] = NAN;
	for (int c = 0; c < count; c++) {
		const float *r = e->cand_host + 1 + (size_t)c * rec;
		int idx;

		memcpy(&idx, &r[0], sizeof(idx));
		if (idx < 0 || idx >= na)
			return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL candidate anchor %d is outside 0..%d", idx,
					   na - 1);
		logits[idx] = r[1];
		memcpy(boxes + (size_t)idx * coords, r + 2, (size_t)coords * sizeof(float));
	}
	return 0;
}

int vigil_cl_exec_profile(struct vigil_cl_exec *e, int iterations, struct vigil_cl_step_time *out, int max)
{
	cl_event *ev = calloc(e->n_steps ? e->n_steps : 1, sizeof(cl_event));
	int n = e->n_steps < max ? e->n_steps : max;
	cl_int st = CL_SUCCESS;

	if (!ev)
		return vigil_error(-ENOMEM, "out of memory for profiling events");
	if (!e->cfg.profiling) {
		free(ev);
		return vigil_error(-EINVAL, "the executor was created without profiling");
	}
	for (int i = 0; i < n; i++) {
		out[i].kernel = e->steps[i].kernel_name;
		out[i].op_index = e->steps[i].op_index;
		out[i].ms = 0;
	}
	for (int it = 0; it < iterations && st == CL_SUCCESS; it++) {
		st = enqueue_steps(e, ev);
		if (st == CL_SUCCESS)
			st = clFinish(e->queue);
		for (int i = 0; i < e->n_steps; i++) {
			cl_ulong t0 = 0, t1 = 0;

			if (st == CL_SUCCESS && i < n &&
			    clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_START, sizeof(t0), &t0, NULL) ==
				CL_SUCCESS &&
			    clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_END, sizeof(t1), &t1, NULL) ==
				CL_SUCCESS)
				out[i].ms += (double)(t1 - t0) * 1e-6;
			if (ev[i])
				clReleaseEvent(ev[i]);
			ev[i] = NULL;
		}
	}
	free(ev);
	return st == CL_SUCCESS ? n : cl_fail("profiling run", st);
}

int vigil_cl_exec_preprocess(struct vigil_cl_exec *e, const struct vigil_preprocess *pp,
			     const struct vigil_frame *frame, float *tensor)
{
	const struct vigil_tensor *in = T(e, e->cfg.input_tensor);
	cl_int st;
	int ret;

	if (e->dst_w == 0 || e->cfg.num_anchors == 0)
		return vigil_error(-EINVAL, "this graph has no [1,S,S,3] input or no face decoder outputs");
	ret = enqueue_frame(e, pp, frame);
	if (ret < 0)
		return ret;
	st = clEnqueueReadBuffer(e->queue, e->act, CL_TRUE, e->offset[e->cfg.input_tensor] * sizeof(float),
				 in->count * sizeof(float), tensor, 0, NULL, NULL);
	return st == CL_SUCCESS ? 0 : cl_fail("preprocessing", st);
}
