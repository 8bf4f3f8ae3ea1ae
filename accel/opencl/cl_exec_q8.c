/* SPDX-License-Identifier: Apache-2.0
 * Quantized OpenCL executor (see cl_exec_q8.h). Parameters are derived as pipeline/engine_q8.c derives them, so
 * that both backends compute the same bytes. */
#include "cl_exec_q8.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_q8.h"
#include "error.h"

#define ALIGN 64
#define NO_SLOT SIZE_MAX
#define MAX_READBACK 8

struct q8_launch {
	cl_kernel kernel;
	size_t global;
};

struct vigil_cl_q8 {
	struct vigil_cl_device *dev;
	const struct vigil_graph *g;
	int fixed_point;
	cl_command_queue queue;
	cl_mem act;
	cl_mem *consts; /* per op: up to 5 buffers (weights, bias, multipliers, shifts, float scales / table) */
	struct q8_launch *launches;
	int n_launches, max_launches;
	int split, input;
	int *alias;
	size_t *offset; /* bytes; NO_SLOT for constants */
	int readback[MAX_READBACK], n_readback;
	struct vigil_cl_q8_stats stats;
};

#define CONSTS_PER_OP 5

static int cl_fail(const char *what, cl_int st)
{
	return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL %s: %s", what, vigil_cl_status_name(st));
}

static int unsupported(const struct vigil_op *op, const char *why)
{
	return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: operator %d (%s): %s", op->source_index,
			   vigil_op_kind_name(op->kind), why);
}

static int root_of(const struct vigil_cl_q8 *e, int t)
{
	while (e->alias[t] != t)
		t = e->alias[t];
	return t;
}

static const struct vigil_tensor *T(const struct vigil_cl_q8 *e, int t)
{
	return &e->g->tensors[t];
}

static int is_q8(enum vigil_dtype dt)
{
	return dt == VIGIL_DT_U8 || dt == VIGIL_DT_I8;
}

/* ---- kernel arguments ------------------------------------------------------------------------------------- */

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

static void arg_i4(struct args *a, int x, int y, int z, int w)
{
	cl_int4 v;

	v.s[0] = x;
	v.s[1] = y;
	v.s[2] = z;
	v.s[3] = w;
	arg(a, sizeof(v), &v);
}
#define ARG_I4(a, x, y, z, w) arg_i4(a, x, y, z, w)

static cl_mem upload(cl_context ctx, const void *data, size_t bytes, cl_int *st)
{
	return clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes ? bytes : 1, (void *)data, st);
}

/* The per-channel constants of a convolution: c[0] weights (int16 w + weights_offset, [kh][kw][in_c][out_c rounded up to 8];
 * depthwise [kh][kw][out_c]), c[1] bias (or none), c[2] multipliers, c[3] shifts, c[4] float scales. */
static int conv_consts(cl_context ctx, const struct vigil_q8_conv_args *a, int depthwise, int is_signed,
		       const int32_t *mult, const int *shift, const float *fscale, cl_mem c[CONSTS_PER_OP])
{
	const size_t taps = (size_t)a->kh * a->kw, oc = (size_t)a->out_c, ic = depthwise ? 1 : (size_t)a->in_c;
	const size_t ocp = depthwise ? oc : (oc + 7) / 8 * 8;
	int16_t *w = calloc(taps * ic * ocp, sizeof(int16_t));
	cl_int st = CL_SUCCESS;

	if (!w)
		return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
	for (size_t o = 0; o < oc; o++)
		for (size_t t = 0; t < taps; t++)
			for (size_t k = 0; k < ic; k++) {
				/* source: OHWI, or depthwise [kh][kw][out_c] */
				const size_t from = depthwise ? t * oc + o : (o * taps + t) * ic + k;
				const int32_t v = is_signed ? ((const int8_t *)a->weights)[from]
							    : ((const uint8_t *)a->weights)[from];

				w[(t * ic + k) * ocp + o] = (int16_t)(v + a->weights_offset);
			}
	c[0] = upload(ctx, w, taps * ic * ocp * sizeof(int16_t), &st);
	free(w);
	if (c[0] && a->bias)
		c[1] = upload(ctx, a->bias, oc * sizeof(int32_t), &st);
	if (c[0] && st == CL_SUCCESS)
		c[2] = upload(ctx, mult, oc * sizeof(int32_t), &st);
	if (c[2])
		c[3] = upload(ctx, shift, oc * sizeof(cl_int), &st);
	if (c[3])
		c[4] = upload(ctx, fscale, oc * sizeof(float), &st);
	return c[4] ? 0 : cl_fail("clCreateBuffer (quantized weights)", st);
}

/* Work-items of a q8_conv launch: one per output byte (depthwise) or per 8 output channels of a pixel. */
static size_t conv_items(const struct vigil_q8_conv_args *a, int depthwise)
{
	return (size_t)a->out_h * a->out_w * (depthwise ? (size_t)a->out_c : ((size_t)a->out_c + 7) / 8);
}

static cl_int bind_conv(cl_kernel k, cl_mem act, int in_off, int out_off, const struct vigil_q8_conv_args *a,
			int depthwise, int is_signed, int fixed_point, cl_mem c[CONSTS_PER_OP])
{
	struct args g = { .k = k };
	cl_mem bias = c[1] ? c[1] : c[2]; /* any buffer when there is no bias */

	ARG_M(&g, act);
	ARG_I(&g, in_off);
	ARG_I(&g, out_off);
	ARG_M(&g, c[0]);
	ARG_M(&g, bias);
	ARG_M(&g, c[2]);
	ARG_M(&g, c[3]);
	ARG_M(&g, c[4]);
	ARG_I4(&g, a->in_h, a->in_w, a->in_c, a->out_h);
	ARG_I4(&g, a->out_w, a->out_c, a->kh, a->kw);
	ARG_I4(&g, a->stride_h, a->stride_w, a->dil_h, a->dil_w);
	ARG_I4(&g, a->pad_top, a->pad_left, depthwise ? a->depth_multiplier : 1, depthwise);
	ARG_I4(&g, a->input_offset, a->weights_offset, a->output_offset, a->act_min);
	ARG_I4(&g, a->act_max, fixed_point, is_signed, c[1] != NULL);
	ARG_M(&g, act);
	return g.st;
}

/* Per input of a concatenation: the float rescaling of vigil_u8_concat__c (the same float operations). */
static cl_int bind_concat(cl_kernel k, cl_mem act, int in_off, int out_off, const struct vigil_q8_concat_input *in,
			  size_t outer, size_t stride, float out_scale, int32_t out_zp, int is_signed)
{
	struct args g = { .k = k };
	const float inverse = 1.0f / out_scale;
	const int rescale = !(in->zero_point == out_zp && in->scale == out_scale);
	const float scale = in->scale * inverse;
	const float bias = (float)-in->zero_point * scale;

	ARG_M(&g, act);
	ARG_I(&g, in_off);
	ARG_I(&g, out_off);
	ARG_I(&g, (int)in->block);
	ARG_I(&g, (int)stride);
	ARG_I(&g, (int)(outer * in->block));
	ARG_I(&g, rescale);
	ARG_F(&g, scale);
	ARG_F(&g, bias);
	ARG_I(&g, out_zp);
	ARG_I(&g, is_signed);
	ARG_M(&g, act);
	return g.st;
}

static cl_int bind_lookup(cl_kernel k, cl_mem act, int in_off, int out_off, size_t n, cl_mem table)
{
	struct args g = { .k = k };

	ARG_M(&g, act);
	ARG_I(&g, in_off);
	ARG_I(&g, out_off);
	ARG_I(&g, (int)n);
	ARG_M(&g, table);
	ARG_M(&g, act);
	return g.st;
}

static cl_int launch(struct vigil_cl_device *dev, cl_command_queue q, cl_kernel k, size_t n)
{
	const size_t local = dev->local_size, global = (n + local - 1) / local * local;

	return clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL);
}

/* ---- preparation ------------------------------------------------------------------------------------------ */

/* What the device runs: convolutions with constant 8-bit weights, concatenations and reshapes of activations,
 * 8-bit LOGISTIC. */
static int check_op(const struct vigil_cl_q8 *e, const struct vigil_op *op)
{
	const struct vigil_tensor *in = T(e, op->inputs[0]), *out = T(e, op->output);

	if (!is_q8(out->dtype) || (op->kind != VIGIL_OP_CONCAT && !is_q8(in->dtype)))
		return unsupported(op, "the OpenCL quantized executor runs 8-bit tensors only");
	switch (op->kind) {
	case VIGIL_OP_CONV2D:
	case VIGIL_OP_DWCONV2D: {
		const struct vigil_tensor *w = T(e, op->inputs[1]);

		if (in->data || !w->data || !is_q8(w->dtype) || in->dtype != out->dtype)
			return unsupported(op, "needs an activation input and constant 8-bit weights");
		if (op->n_inputs > 2 && op->inputs[2] >= 0 &&
		    (!T(e, op->inputs[2])->data || T(e, op->inputs[2])->dtype != VIGIL_DT_I32))
			return unsupported(op, "needs a constant int32 bias");
		return 0;
	}
	case VIGIL_OP_CONCAT:
		if (op->p.concat.act != VIGIL_ACT_NONE)
			return unsupported(op, "fused activation on a quantized CONCATENATION");
		for (int k = 0; k < op->n_inputs; k++)
			if (T(e, op->inputs[k])->data || T(e, op->inputs[k])->dtype != out->dtype)
				return unsupported(op, "needs activation inputs of the output's type");
		return 0;
	case VIGIL_OP_RESHAPE:
		return in->data ? unsupported(op, "RESHAPE of a constant") : 0;
	case VIGIL_OP_LOGISTIC:
		return in->data ? unsupported(op, "LOGISTIC of a constant") : 0;
	default:
		return unsupported(op, "no OpenCL quantized kernel (the CPU backend runs it)");
	}
}

static size_t bytes_of(const struct vigil_tensor *t)
{
	return (t->count + ALIGN - 1) / ALIGN * ALIGN;
}

static int plan(struct vigil_cl_q8 *e)
{
	const struct vigil_graph *g = e->g;
	const int nt = g->n_tensors;
	int *first = malloc(nt * sizeof(int)), *last = malloc(nt * sizeof(int)), *order = malloc(nt * sizeof(int));
	int n_roots = 0;
	size_t bytes;
	cl_int st;

	if (!first || !last || !order) {
		free(first);
		free(last);
		free(order);
		return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
	}
	for (int t = 0; t < nt; t++) {
		first[t] = INT32_MAX;
		last[t] = -1;
		e->offset[t] = NO_SLOT;
	}
	first[root_of(e, e->input)] = -1;
	for (int i = 0; i < e->split; i++) {
		const struct vigil_op *op = &g->ops[i];
		const int r = root_of(e, op->output);

		if (first[r] > i)
			first[r] = i;
		if (last[r] < i)
			last[r] = i;
		for (int k = 0; k < op->n_inputs; k++)
			if (op->inputs[k] >= 0 && !g->tensors[op->inputs[k]].data &&
			    last[root_of(e, op->inputs[k])] < i)
				last[root_of(e, op->inputs[k])] = i;
	}
	for (int k = 0; k < e->n_readback; k++)
		last[root_of(e, e->readback[k])] = e->split;
	for (int t = 0; t < nt; t++)
		if (root_of(e, t) == t && !g->tensors[t].data && last[t] >= 0 && first[t] <= last[t])
			order[n_roots++] = t;
	bytes = vigil_plan_arena(g->tensors, order, n_roots, first, last, bytes_of, bytes_of, e->offset);
	for (int t = 0; t < nt; t++)
		if (!g->tensors[t].data && e->offset[root_of(e, t)] != NO_SLOT)
			e->offset[t] = e->offset[root_of(e, t)];
	free(first);
	free(last);
	free(order);
	if (bytes > (size_t)INT32_MAX)
		return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: %zu bytes of activations (offsets are int)",
				   bytes);
	e->stats.act_bytes = bytes;
	e->act = clCreateBuffer(e->dev->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &st);
	return e->act ? 0 : cl_fail("clCreateBuffer (activations)", st);
}

static int add_launch(struct vigil_cl_q8 *e, const char *name, size_t global, cl_kernel *k)
{
	cl_int st;

	if (e->n_launches == e->max_launches) {
		const int n = e->max_launches ? 2 * e->max_launches : 64;
		struct q8_launch *l = realloc(e->launches, (size_t)n * sizeof(*l));

		if (!l)
			return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
		e->launches = l;
		e->max_launches = n;
	}
	*k = clCreateKernel(e->dev->program, name, &st);
	if (!*k)
		return cl_fail("clCreateKernel (quantized)", st);
	e->launches[e->n_launches].kernel = *k;
	e->launches[e->n_launches++].global = global;
	return 0;
}

static int bind_op(struct vigil_cl_q8 *e, int i)
{
	const struct vigil_op *op = &e->g->ops[i];
	const struct vigil_tensor *in = T(e, op->inputs[0]), *out = T(e, op->output);
	const int is_signed = out->dtype == VIGIL_DT_I8;
	cl_mem *c = &e->consts[(size_t)i * CONSTS_PER_OP];
	cl_kernel k;
	cl_int st = CL_SUCCESS;
	int ret;

	switch (op->kind) {
	case VIGIL_OP_CONV2D:
	case VIGIL_OP_DWCONV2D: {
		const int oc = out->dims[3];
		int32_t *mult = malloc((size_t)oc * sizeof(int32_t));
		int *shift = malloc((size_t)oc * sizeof(int));
		float *fscale = malloc((size_t)oc * sizeof(float));
		struct vigil_q8_conv_args a;

		if (!mult || !shift || !fscale) {
			free(mult);
			free(shift);
			free(fscale);
			return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
		}
		vigil_q8_conv_args_init(e->g, op, is_signed, &a, mult, shift, fscale);
		ret =
		    conv_consts(e->dev->context, &a, op->kind == VIGIL_OP_DWCONV2D, is_signed, mult, shift, fscale, c);
		free(mult);
		free(shift);
		free(fscale);
		if (ret == 0)
			ret = add_launch(e, "q8_conv", conv_items(&a, op->kind == VIGIL_OP_DWCONV2D), &k);
		if (ret < 0)
			return ret;
		st = bind_conv(k, e->act, (int)e->offset[op->inputs[0]], (int)e->offset[op->output], &a,
			       op->kind == VIGIL_OP_DWCONV2D, is_signed, e->fixed_point, c);
		break;
	}
	case VIGIL_OP_CONCAT: {
		const int axis = op->p.concat.axis;
		size_t outer = 1, inner = 1, stride, pos = 0;

		for (int d = 0; d < axis; d++)
			outer *= (size_t)out->dims[d];
		for (int d = axis + 1; d < out->rank; d++)
			inner *= (size_t)out->dims[d];
		stride = (size_t)out->dims[axis] * inner;
		for (int j = 0; j < op->n_inputs && st == CL_SUCCESS; j++) {
			const struct vigil_tensor *t = T(e, op->inputs[j]);
			struct vigil_q8_concat_input ci = { NULL, (size_t)t->dims[axis] * inner, t->quant.scale,
							    t->quant.zero_point };

			ret = add_launch(e, "q8_concat", outer * ci.block, &k);
			if (ret < 0)
				return ret;
			st = bind_concat(k, e->act, (int)e->offset[op->inputs[j]], (int)(e->offset[op->output] + pos),
					 &ci, outer, stride, out->quant.scale, out->quant.zero_point, is_signed);
			pos += ci.block;
		}
		break;
	}
	case VIGIL_OP_RESHAPE:
		return 0; /* aliased: the same bytes */
	case VIGIL_OP_LOGISTIC: {
		uint8_t table[256];

		vigil_q8_logistic_table(in->quant.scale, in->quant.zero_point, out->quant.scale, out->quant.zero_point,
					is_signed, table);
		c[0] = upload(e->dev->context, table, sizeof(table), &st);
		if (!c[0])
			return cl_fail("clCreateBuffer (table)", st);
		ret = add_launch(e, "q8_lookup", out->count, &k);
		if (ret < 0)
			return ret;
		st =
		    bind_lookup(k, e->act, (int)e->offset[op->inputs[0]], (int)e->offset[op->output], out->count, c[0]);
		break;
	}
	default:
		return unsupported(op, "no OpenCL quantized kernel");
	}
	return st == CL_SUCCESS ? 0 : cl_fail("quantized kernel arguments", st);
}

void vigil_cl_q8_destroy(struct vigil_cl_q8 *e)
{
	if (!e)
		return;
	if (e->queue)
		clFinish(e->queue);
	for (int i = 0; i < e->n_launches; i++)
		clReleaseKernel(e->launches[i].kernel);
	for (size_t i = 0; e->consts && i < (size_t)e->g->n_ops * CONSTS_PER_OP; i++)
		if (e->consts[i])
			clReleaseMemObject(e->consts[i]);
	if (e->act)
		clReleaseMemObject(e->act);
	if (e->queue)
		clReleaseCommandQueue(e->queue);
	free(e->launches);
	free(e->consts);
	free(e->alias);
	free(e->offset);
	free(e);
}

static int add_readback(struct vigil_cl_q8 *e, int t)
{
	for (int k = 0; k < e->n_readback; k++)
		if (e->readback[k] == t)
			return 0;
	if (e->n_readback == MAX_READBACK)
		return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: more than %d tensors cross to the host",
				   MAX_READBACK);
	e->readback[e->n_readback++] = t;
	return 0;
}

int vigil_cl_q8_create(struct vigil_cl_device *dev, const struct vigil_graph *g, int fixed_point,
		       struct vigil_cl_q8 **out)
{
	struct vigil_cl_q8 *e = calloc(1, sizeof(*e));
	const size_t nt = g->n_tensors ? (size_t)g->n_tensors : 1;
	int ret = 0;
	cl_int st;

	*out = NULL;
	if (!e)
		return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
	e->dev = dev;
	e->g = g;
	e->fixed_point = fixed_point;
	e->alias = malloc(nt * sizeof(int));
	e->offset = calloc(nt, sizeof(size_t));
	e->consts = calloc((g->n_ops ? (size_t)g->n_ops : 1) * CONSTS_PER_OP, sizeof(cl_mem));
	if (!e->alias || !e->offset || !e->consts) {
		vigil_cl_q8_destroy(e);
		return vigil_error(-ENOMEM, "out of memory preparing the OpenCL quantized executor");
	}
	{
		/* the float requantization must round like the CPU (embedded profiles may round toward zero) */
		cl_device_fp_config fp = 0;

		clGetDeviceInfo(dev->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof(fp), &fp, NULL);
		if (!(fp & CL_FP_ROUND_TO_NEAREST)) {
			vigil_cl_q8_destroy(e);
			return vigil_error(VIGIL_EUNSUPPORTED,
					   "backend opencl: %s does not round floats to nearest: its quantized results "
					   "would differ from the CPU's",
					   dev->name);
		}
	}
	if (g->n_inputs != 1 || !is_q8(g->tensors[g->inputs[0]].dtype)) {
		vigil_cl_q8_destroy(e);
		return vigil_error(VIGIL_EUNSUPPORTED, "backend opencl: the quantized executor needs one 8-bit input");
	}
	e->input = g->inputs[0];
	for (int t = 0; t < g->n_tensors; t++)
		e->alias[t] = t;
	e->split = g->n_ops;
	for (int i = 0; i < g->n_ops; i++)
		if (g->ops[i].kind == VIGIL_OP_DETECTION_POSTPROCESS) {
			e->split = i;
			break;
		}
	for (int i = 0; i < e->split && ret == 0; i++) {
		ret = check_op(e, &g->ops[i]);
		if (g->ops[i].kind == VIGIL_OP_RESHAPE)
			e->alias[g->ops[i].output] = g->ops[i].inputs[0];
	}
	/* what the host operators read from the device's side, or the outputs */
	for (int i = e->split; i < g->n_ops && ret == 0; i++)
		for (int k = 0; k < g->ops[i].n_inputs && ret == 0; k++) {
			const int t = g->ops[i].inputs[k];
			int produced = 0;

			for (int j = 0; t >= 0 && j < e->split; j++)
				produced |= g->ops[j].output == t;
			if (produced || t == e->input)
				ret = add_readback(e, t);
		}
	for (int i = 0; i < g->n_outputs && ret == 0 && e->split == g->n_ops; i++)
		ret = add_readback(e, g->outputs[i]);
	for (int k = 0; k < e->n_readback && ret == 0; k++)
		if (!is_q8(g->tensors[e->readback[k]].dtype))
			ret =
			    vigil_error(VIGIL_EUNSUPPORTED,
					"backend opencl: tensor %d crossing to the host is not 8-bit", e->readback[k]);
	if (ret == 0) {
		e->queue = clCreateCommandQueue(dev->context, dev->device, 0, &st);
		if (!e->queue)
			ret = cl_fail("clCreateCommandQueue", st);
	}
	if (ret == 0)
		ret = plan(e);
	for (int i = 0; i < e->split && ret == 0; i++)
		ret = bind_op(e, i);
	if (ret < 0) {
		vigil_cl_q8_destroy(e);
		return ret;
	}
	e->stats.launches_per_inference = e->n_launches;
	e->stats.ops = e->split;
	e->stats.upload_bytes = g->tensors[e->input].count;
	for (int k = 0; k < e->n_readback; k++)
		e->stats.read_bytes += g->tensors[e->readback[k]].count;
	*out = e;
	return 0;
}

int vigil_cl_q8_split(const struct vigil_cl_q8 *e)
{
	return e->split;
}

int vigil_cl_q8_n_readback(const struct vigil_cl_q8 *e)
{
	return e->n_readback;
}

int vigil_cl_q8_readback_tensor(const struct vigil_cl_q8 *e, int k)
{
	return e->readback[k];
}

void vigil_cl_q8_get_stats(const struct vigil_cl_q8 *e, struct vigil_cl_q8_stats *out)
{
	*out = e->stats;
}

int vigil_cl_q8_run(struct vigil_cl_q8 *e, const void *input, void *const *dst)
{
	cl_int st = clEnqueueWriteBuffer(e->queue, e->act, CL_FALSE, e->offset[e->input], T(e, e->input)->count, input,
					 0, NULL, NULL);

	for (int i = 0; i < e->n_launches && st == CL_SUCCESS; i++)
		st = launch(e->dev, e->queue, e->launches[i].kernel, e->launches[i].global);
	for (int k = 0; k < e->n_readback && st == CL_SUCCESS; k++)
		st = clEnqueueReadBuffer(e->queue, e->act, k == e->n_readback - 1 ? CL_TRUE : CL_FALSE,
					 e->offset[e->readback[k]], T(e, e->readback[k])->count, dst[k], 0, NULL, NULL);
	if (st == CL_SUCCESS && e->n_readback == 0)
		st = clFinish(e->queue);
	return st == CL_SUCCESS ? 0 : cl_fail("quantized inference", st);
}

/* ---- single kernels (tests) ------------------------------------------------------------------------------- */

struct once {
	cl_command_queue q;
	cl_mem act, table;
	cl_kernel k;
	cl_mem c[CONSTS_PER_OP];
};

static void once_free(struct once *o)
{
	if (o->k)
		clReleaseKernel(o->k);
	for (int i = 0; i < CONSTS_PER_OP; i++)
		if (o->c[i])
			clReleaseMemObject(o->c[i]);
	if (o->table)
		clReleaseMemObject(o->table);
	if (o->act)
		clReleaseMemObject(o->act);
	if (o->q)
		clReleaseCommandQueue(o->q);
}

/* A queue, a kernel and an activation buffer of @p bytes holding @p in (in_bytes) at offset 0. */
static cl_int once_init(struct vigil_cl_device *dev, struct once *o, const char *name, size_t bytes, const void *in,
			size_t in_bytes)
{
	cl_int st;

	memset(o, 0, sizeof(*o));
	o->q = clCreateCommandQueue(dev->context, dev->device, 0, &st);
	if (o->q)
		o->k = clCreateKernel(dev->program, name, &st);
	if (o->k)
		o->act = clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes, NULL, &st);
	if (o->act && in_bytes)
		st = clEnqueueWriteBuffer(o->q, o->act, CL_TRUE, 0, in_bytes, in, 0, NULL, NULL);
	return st;
}

static int once_finish(struct vigil_cl_device *dev, struct once *o, cl_int st, size_t global, size_t off, size_t n,
		       void *out)
{
	if (st == CL_SUCCESS)
		st = launch(dev, o->q, o->k, global);
	if (st == CL_SUCCESS)
		st = clEnqueueReadBuffer(o->q, o->act, CL_TRUE, off, n, out, 0, NULL, NULL);
	once_free(o);
	return st == CL_SUCCESS ? 0 : cl_fail("quantized kernel", st);
}

int vigil_cl_q8_conv_once(struct vigil_cl_device *dev, const struct vigil_q8_conv_args *a, int depthwise, int is_signed)
{
	const size_t in_bytes = (size_t)a->in_h * a->in_w * a->in_c, out_bytes = (size_t)a->out_h * a->out_w * a->out_c;
	const int fixed = a->fp32_scale == NULL;
	float *fs = malloc((size_t)a->out_c * sizeof(float));
	struct once o;
	cl_int st;
	int ret;

	if (!fs)
		return vigil_error(-ENOMEM, "out of memory");
	for (int c = 0; c < a->out_c; c++)
		fs[c] = fixed ? 0.0f : a->fp32_scale[c];
	st = once_init(dev, &o, "q8_conv", in_bytes + out_bytes, a->input, in_bytes);
	if (st == CL_SUCCESS) {
		ret = conv_consts(dev->context, a, depthwise, is_signed, a->multiplier, a->shift, fs, o.c);
		if (ret < 0) {
			free(fs);
			once_free(&o);
			return ret;
		}
		st = bind_conv(o.k, o.act, 0, (int)in_bytes, a, depthwise, is_signed, fixed, o.c);
	}
	free(fs);
	return once_finish(dev, &o, st, conv_items(a, depthwise), in_bytes, out_bytes, a->output);
}

int vigil_cl_q8_concat_once(struct vigil_cl_device *dev, const struct vigil_q8_concat_input *in, int n, size_t outer,
			    float out_scale, int32_t out_zero_point, int is_signed, void *out)
{
	size_t stride = 0, in_bytes = 0, pos = 0;
	struct once o;
	cl_int st;

	for (int i = 0; i < n; i++)
		stride += in[i].block;
	in_bytes = stride * outer;
	st = once_init(dev, &o, "q8_concat", 2 * in_bytes, NULL, 0);
	/* the inputs one after the other, then the output */
	for (int i = 0; i < n && st == CL_SUCCESS; i++) {
		st = clEnqueueWriteBuffer(o.q, o.act, CL_TRUE, pos, outer * in[i].block, in[i].data, 0, NULL, NULL);
		pos += outer * in[i].block;
	}
	pos = 0;
	for (int i = 0; i < n && st == CL_SUCCESS; i++) {
		size_t at = 0;

		for (int j = 0; j < i; j++)
			at += outer * in[j].block;
		st = bind_concat(o.k, o.act, (int)at, (int)(in_bytes + pos), &in[i], outer, stride, out_scale,
				 out_zero_point, is_signed);
		if (st == CL_SUCCESS)
			st = launch(dev, o.q, o.k, outer * in[i].block);
		pos += in[i].block;
	}
	if (st == CL_SUCCESS)
		st = clEnqueueReadBuffer(o.q, o.act, CL_TRUE, in_bytes, in_bytes, out, 0, NULL, NULL);
	once_free(&o);
	return st == CL_SUCCESS ? 0 : cl_fail("quantized kernel", st);
}

int vigil_cl_q8_lookup_once(struct vigil_cl_device *dev, const uint8_t *in, uint8_t *out, size_t n,
			    const uint8_t table[256])
{
	struct once o;
	cl_int st = once_init(dev, &o, "q8_lookup", 2 * n, in, n);

	if (st == CL_SUCCESS) {
		o.table = upload(dev->context, table, 256, &st);
		if (o.table)
			st = bind_lookup(o.k, o.act, 0, (int)n, n, o.table);
	}
	return once_finish(dev, &o, st, n, n, n, out);
}
