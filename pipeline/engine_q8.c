/* SPDX-License-Identifier: Apache-2.0
 * Quantized executor (see engine_q8.h). Parameters are derived exactly as TFLite's Prepare functions derive them. */
#include "engine_q8.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detpp_run.h"
#include "error.h"
#include "kernels.h"
#include "kernels_q8.h"
#include "threadpool.h"
#include "vigil/vigil.h"

#define ALIGN 64
#define NO_SLOT SIZE_MAX

#define Q8_SIMD (VIGIL_Q8_HAVE_AVX2 || VIGIL_Q8_HAVE_NEON)

/* The quantized convolution kernel sets, worst first (names as logged and in vigil_q8_program_op_path) */
enum q8_isa { Q8_C, Q8_AVX2, Q8_AVX512, Q8_AVX512VNNI, Q8_NEON, Q8_NEONDOT };
static const char *const q8_isa_name[] = { "c", "avx2", "avx512", "avx512vnni", "neon", "neon dotprod" };

struct q8_step {
	const struct vigil_op *op;
	int is_signed;
	union {
		struct vigil_q8_conv_args conv;
		struct vigil_q8_pool_args pool;
		struct vigil_q8_add_params add;
		struct {
			size_t outer;
			struct vigil_q8_concat_input in[VIGIL_MAX_OP_INPUTS];
		} concat;
		uint8_t table[256];
		struct vigil_q8_requant_params requant;
		struct {
			struct vigil_detpp_io io;
			size_t scratch_offset;
		} detpp;
	} a;
	int32_t *mult; /* per output channel (owned) */
	int *shift;
	float *fscale;
	float *anchors; /* dequantized anchors (owned) */
#if Q8_SIMD
	struct vigil_q8_gemm gemm; /* SIMD convolution: packed weights and epilogue (owned), when has_gemm */
	struct vigil_q8_dw dw;     /* SIMD depthwise (owned), when has_dw */
#endif
#if VIGIL_Q8_HAVE_AVX2
	struct vigil_q8_dwf dwf; /* depthwise on the float kernels (owned), when has_dwf */
#endif
	int has_gemm, has_dw, has_dwf;
	uint64_t macs; /* multiply-adds of one run (convolutions) */
};

struct vigil_q8_program {
	const struct vigil_graph *graph;
	struct q8_step *steps;
	size_t *offset; /* bytes; NO_SLOT for constants */
	int *alias;
	size_t arena_bytes;
	enum vigil_q8_requant requant;
	int fast;              /* optimised kernels (identical results), unless VIGIL_Q8_REFERENCE=1 */
	enum q8_isa isa;       /* convolution kernels: the best the CPU has when fast (Q8_C under VIGIL_FORCE_C=1) */
	int dw_mode;           /* depthwise kernels: DW_AUTO, DW_INT or DW_FLOAT (VIGIL_Q8_DW=auto|int|float) */
	size_t acc_offset;     /* arena bytes for one int32 per channel (depthwise accumulators) */
	size_t zeros_offset;   /* arena bytes holding a depthwise input zero point per channel (padding) */
	size_t scratch_offset; /* per-thread scratch (GEMM activation tiles) from here, scratch_bytes each */
	size_t scratch_bytes;
};

enum { DW_AUTO, DW_INT, DW_FLOAT };
#if VIGIL_Q8_HAVE_AVX2
static int dw_faster(const struct vigil_q8_program *p, const struct q8_step *s);
#endif

static const struct vigil_tensor *tensor(const struct vigil_q8_program *p, int i)
{
	return &p->graph->tensors[i];
}

static size_t elem_size(enum vigil_dtype dt)
{
	return dt == VIGIL_DT_U8 || dt == VIGIL_DT_I8 ? 1 : dt == VIGIL_DT_I64 ? 8 : dt == VIGIL_DT_F16 ? 2 : 4;
}

/* The quantized convolution kernels, logged once per process (the choice depends only on the CPU and the
 * environment, so every program makes the same one). */
static void log_kernels_once(const struct vigil_q8_program *p)
{
	static atomic_flag logged = ATOMIC_FLAG_INIT;
	const int dwf = VIGIL_Q8_HAVE_AVX2 && p->isa != Q8_C && p->dw_mode != DW_INT;

	if (!atomic_flag_test_and_set(&logged))
		vigil_log("cpu", VIGIL_LOG_INFO, "quantized kernels %s%s%s", q8_isa_name[p->isa],
			  dwf ? "; depthwise on the float kernels where exact and, unless VIGIL_Q8_DW=float, measured "
				"faster: "
			      : "",
			  dwf ? vigil_cpu_kernels()->isa : "");
}

static int unsupported(const struct vigil_op *op, const char *why)
{
	return vigil_error(VIGIL_EUNSUPPORTED, "operator %d (%s): %s", op->source_index, vigil_op_kind_name(op->kind),
			   why);
}

void vigil_q8_conv_args_init(const struct vigil_graph *g, const struct vigil_op *op, int is_signed,
			     struct vigil_q8_conv_args *a, int32_t *mult, int *shift, float *fscale)
{
	const struct vigil_tensor *in = &g->tensors[op->inputs[0]], *w = &g->tensors[op->inputs[1]];
	const struct vigil_tensor *out = &g->tensors[op->output];
	const int dw = op->kind == VIGIL_OP_DWCONV2D, oc = out->dims[3];

	memset(a, 0, sizeof(*a));
	for (int c = 0; c < oc; c++) {
		const float ws = w->quant.n > 1 ? w->quant.scales[c] : w->quant.scale;
		const double real = (double)in->quant.scale * (double)ws / (double)out->quant.scale;

		vigil_q_quantize_multiplier(real, &mult[c], &shift[c]);
		fscale[c] = in->quant.scale * ws / out->quant.scale;
	}
	a->in_h = in->dims[1];
	a->in_w = in->dims[2];
	a->in_c = in->dims[3];
	a->weights = w->data;
	a->bias = op->n_inputs > 2 && op->inputs[2] >= 0 ? g->tensors[op->inputs[2]].data : NULL;
	a->out_h = out->dims[1];
	a->out_w = out->dims[2];
	a->out_c = oc;
	a->kh = w->dims[1];
	a->kw = w->dims[2];
	a->stride_h = op->p.conv.stride_h;
	a->stride_w = op->p.conv.stride_w;
	a->dil_h = op->p.conv.dilation_h;
	a->dil_w = op->p.conv.dilation_w;
	a->pad_top = vigil_pad_before(op->p.conv.padding, a->in_h, a->out_h, a->kh, a->stride_h, a->dil_h);
	a->pad_left = vigil_pad_before(op->p.conv.padding, a->in_w, a->out_w, a->kw, a->stride_w, a->dil_w);
	a->depth_multiplier = dw ? op->p.conv.depth_multiplier : 1;
	a->input_offset = -in->quant.zero_point;
	a->weights_offset = w->quant.n > 1 ? 0 : -w->quant.zero_point;
	a->output_offset = out->quant.zero_point;
	vigil_q_act_range(op->p.conv.act, out->quant.scale, out->quant.zero_point, is_signed, &a->act_min, &a->act_max);
}

static int prepare_conv(struct vigil_q8_program *p, struct q8_step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);
	const int dw = op->kind == VIGIL_OP_DWCONV2D, oc = out->dims[3];
	struct vigil_q8_conv_args *a = &s->a.conv;

	if (in->dtype == VIGIL_DT_F32)
		return unsupported(op, "float convolution in a quantized graph");
	s->mult = malloc((size_t)oc * sizeof(*s->mult));
	s->shift = malloc((size_t)oc * sizeof(*s->shift));
	s->fscale = malloc((size_t)oc * sizeof(float));
	if (!s->mult || !s->shift || !s->fscale)
		return -ENOMEM;
	vigil_q8_conv_args_init(p->graph, op, s->is_signed, a, s->mult, s->shift, s->fscale);
	a->fp32_scale = p->requant == VIGIL_Q8_REQUANT_FP32 ? s->fscale : NULL;
	a->multiplier = s->mult;
	a->shift = s->shift;
	s->macs = (uint64_t)a->out_h * a->out_w * oc * a->kh * a->kw * (dw ? 1 : a->in_c);
#if Q8_SIMD
	/* weights are [oc][kh][kw][in_c]: one row of K = kh*kw*in_c per output channel */
	if (p->isa != Q8_C && !dw) {
		const struct vigil_q8_gemm_shape shape = p->isa == Q8_NEONDOT ? VIGIL_Q8_GEMM_NEONDOT
							 : p->isa == Q8_NEON  ? VIGIL_Q8_GEMM_NEON
							 : p->isa == Q8_AVX2  ? VIGIL_Q8_GEMM_AVX2
									      : VIGIL_Q8_GEMM_AVX512;

		if (vigil_q8_gemm_pack(a, s->is_signed, shape, &s->gemm) < 0)
			return -ENOMEM;
		s->has_gemm = 1;
		if (vigil_q8_gemm_scratch_bytes(&s->gemm) > p->scratch_bytes)
			p->scratch_bytes = vigil_q8_gemm_scratch_bytes(&s->gemm);
	} else if (p->isa != Q8_C && a->depth_multiplier == 1 && a->kh * a->kw <= VIGIL_Q8_DW_MAX_TAPS) {
		if (vigil_q8_dw_pack(a, s->is_signed, &s->dw) < 0)
			return -ENOMEM;
		s->has_dw = 1;
#if VIGIL_Q8_HAVE_AVX2
		const int ret =
		    p->dw_mode != DW_INT ? vigil_q8_dwf_pack(a, s->is_signed, vigil_cpu_kernels(), &s->dwf) : -ERANGE;

		if (ret == -ENOMEM)
			return ret;
		s->has_dwf = ret == 0;
		if (s->has_dwf) {
			const int faster = p->dw_mode == DW_FLOAT ? DW_FLOAT : dw_faster(p, s);

			if (faster < 0)
				return faster;
			if (faster == DW_FLOAT) {
				vigil_q8_dw_free(&s->dw);
				s->has_dw = 0;
				if (vigil_q8_dwf_scratch_bytes(a, &s->dwf) > p->scratch_bytes)
					p->scratch_bytes = vigil_q8_dwf_scratch_bytes(a, &s->dwf);
			} else {
				vigil_q8_dwf_free(&s->dwf);
				s->has_dwf = 0;
			}
		}
#endif
	}
#endif
	return 0;
}

static void prepare_pool(struct vigil_q8_program *p, struct q8_step *s)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);
	struct vigil_q8_pool_args *a = &s->a.pool;

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
	vigil_q_act_range(op->p.pool.act, out->quant.scale, out->quant.zero_point, s->is_signed, &a->act_min,
			  &a->act_max);
}

static int prepare_detpp(struct vigil_q8_program *p, struct q8_step *s, size_t *scratch_bytes)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *boxes = tensor(p, op->inputs[0]), *scores = tensor(p, op->inputs[1]);
	const struct vigil_tensor *anchors = tensor(p, op->inputs[2]);
	struct vigil_detpp_io *io = &s->a.detpp.io;

	memset(io, 0, sizeof(*io));
	io->num_anchors = boxes->dims[1];
	io->box_len = boxes->dims[2];
	io->num_classes_with_bg = scores->dims[2];
	if (boxes->dtype == VIGIL_DT_U8) {
		io->box_scale = boxes->quant.scale;
		io->box_zero_point = (float)boxes->quant.zero_point;
	}
	if (scores->dtype == VIGIL_DT_U8) {
		io->score_scale = scores->quant.scale;
		io->score_zero_point = (float)scores->quant.zero_point;
	}
	s->anchors = malloc(anchors->count * sizeof(float));
	if (!s->anchors)
		return -ENOMEM;
	for (size_t i = 0; i < anchors->count; i++)
		s->anchors[i] = anchors->dtype == VIGIL_DT_U8
				    ? ((float)((const uint8_t *)anchors->data)[i] - (float)anchors->quant.zero_point) *
					  anchors->quant.scale
				    : ((const float *)anchors->data)[i];
	io->anchors = s->anchors;
	*scratch_bytes = vigil_detpp_scratch_bytes(&op->p.detpp, io->num_anchors, io->num_classes_with_bg);
	return 0;
}

static int prepare_step(struct vigil_q8_program *p, struct q8_step *s, size_t *scratch)
{
	const struct vigil_op *op = s->op;
	const struct vigil_tensor *in = tensor(p, op->inputs[0]), *out = tensor(p, op->output);

	s->is_signed = out->dtype == VIGIL_DT_I8 || (out->dtype == VIGIL_DT_F32 && in->dtype == VIGIL_DT_I8);
	switch (op->kind) {
	case VIGIL_OP_CONV2D:
	case VIGIL_OP_DWCONV2D:
		return prepare_conv(p, s);
	case VIGIL_OP_MAXPOOL2D:
	case VIGIL_OP_AVGPOOL2D:
		if (in->dtype == VIGIL_DT_F32)
			return unsupported(op, "float pooling in a quantized graph");
		prepare_pool(p, s);
		return 0;
	case VIGIL_OP_ADD: {
		const struct vigil_tensor *b = tensor(p, op->inputs[1]);
		int32_t lo, hi;

		if (in->dtype == VIGIL_DT_F32)
			return unsupported(op, "float ADD in a quantized graph");
		vigil_q_act_range(op->p.add.act, out->quant.scale, out->quant.zero_point, s->is_signed, &lo, &hi);
		vigil_q8_add_prepare(in->quant.scale, in->quant.zero_point, b->quant.scale, b->quant.zero_point,
				     out->quant.scale, out->quant.zero_point, lo, hi, &s->a.add);
		return 0;
	}
	case VIGIL_OP_CONCAT: {
		const int axis = op->p.concat.axis;
		size_t inner = 1;

		if (in->dtype == VIGIL_DT_F32)
			return unsupported(op, "float CONCATENATION in a quantized graph");
		if (op->p.concat.act != VIGIL_ACT_NONE)
			return unsupported(op, "fused activation on a quantized CONCATENATION");
		s->a.concat.outer = 1;
		for (int d = 0; d < axis; d++)
			s->a.concat.outer *= (size_t)out->dims[d];
		for (int d = axis + 1; d < out->rank; d++)
			inner *= (size_t)out->dims[d];
		for (int k = 0; k < op->n_inputs; k++) {
			const struct vigil_tensor *t = tensor(p, op->inputs[k]);

			s->a.concat.in[k].block = (size_t)t->dims[axis] * inner;
			s->a.concat.in[k].scale = t->quant.scale;
			s->a.concat.in[k].zero_point = t->quant.zero_point;
		}
		return 0;
	}
	case VIGIL_OP_RESHAPE:
		return 0;
	case VIGIL_OP_LOGISTIC:
		vigil_q8_logistic_table(in->quant.scale, in->quant.zero_point, out->quant.scale, out->quant.zero_point,
					s->is_signed, s->a.table);
		return 0;
	case VIGIL_OP_QUANTIZE:
		if (in->dtype != VIGIL_DT_F32) {
			struct vigil_q8_requant_params *r = &s->a.requant;

			r->in_zero_point = in->quant.zero_point;
			r->out_zero_point = out->quant.zero_point;
			r->in_signed = in->dtype == VIGIL_DT_I8;
			r->out_signed = out->dtype == VIGIL_DT_I8;
			vigil_q_quantize_multiplier((double)in->quant.scale / (double)out->quant.scale, &r->multiplier,
						    &r->shift);
		}
		return 0;
	case VIGIL_OP_DEQUANTIZE:
		return 0;
	case VIGIL_OP_DETECTION_POSTPROCESS:
		return prepare_detpp(p, s, scratch);
	default:
		return unsupported(op, "no quantized kernel");
	}
}

static int root_of(const struct vigil_q8_program *p, int t)
{
	while (p->alias[t] != t)
		t = p->alias[t];
	return t;
}

static size_t bytes_of(const struct vigil_tensor *t)
{
	return (t->count * elem_size(t->dtype) + ALIGN - 1) / ALIGN * ALIGN;
}

static int op_output(const struct vigil_op *op, int k)
{
	return k == 0 ? op->output : op->extra_outputs[k - 1];
}

static int op_n_outputs(const struct vigil_op *op)
{
	return op->kind == VIGIL_OP_DETECTION_POSTPROCESS ? 4 : 1;
}

/* Liveness-planned arena: tensors alive at the same time never overlap (greedy, largest first). The scratch of each
 * post-process step goes after the tensors. */
static int plan_arena(struct vigil_q8_program *p, const size_t *scratch)
{
	const struct vigil_graph *g = p->graph;
	const int nt = g->n_tensors;
	int *first = malloc(nt * sizeof(int)), *last = malloc(nt * sizeof(int)), *order = malloc(nt * sizeof(int));
	int n_roots = 0;

	if (!first || !last || !order) {
		free(first);
		free(last);
		free(order);
		return -ENOMEM;
	}
	for (int t = 0; t < nt; t++) {
		first[t] = INT32_MAX;
		last[t] = -1;
		p->offset[t] = NO_SLOT;
	}
	for (int i = 0; i < g->n_inputs; i++)
		first[root_of(p, g->inputs[i])] = -1;
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];

		for (int k = 0; k < op_n_outputs(op); k++) {
			const int r = root_of(p, op_output(op, k));

			if (first[r] > i)
				first[r] = i;
			if (last[r] < i)
				last[r] = i;
		}
		for (int k = 0; k < op->n_inputs; k++) {
			if (op->inputs[k] < 0 || g->tensors[op->inputs[k]].data)
				continue;
			if (last[root_of(p, op->inputs[k])] < i)
				last[root_of(p, op->inputs[k])] = i;
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[root_of(p, g->outputs[i])] = g->n_ops;
	for (int t = 0; t < nt; t++)
		if (root_of(p, t) == t && !g->tensors[t].data && last[t] >= 0)
			order[n_roots++] = t;
	p->arena_bytes = vigil_plan_arena(g->tensors, order, n_roots, first, last, bytes_of, bytes_of, p->offset);
	for (int t = 0; t < nt; t++)
		if (!g->tensors[t].data)
			p->offset[t] = p->offset[root_of(p, t)];
	p->acc_offset = p->arena_bytes;
	for (int i = 0; i < g->n_ops; i++)
		if (g->ops[i].kind == VIGIL_OP_DWCONV2D &&
		    p->acc_offset + (size_t)g->tensors[g->ops[i].output].dims[3] * 4 > p->arena_bytes)
			p->arena_bytes = p->acc_offset +
					 ((size_t)g->tensors[g->ops[i].output].dims[3] * 4 + ALIGN - 1) / ALIGN * ALIGN;
	p->zeros_offset = p->arena_bytes;
	for (int i = 0; i < g->n_ops; i++)
		if (p->steps[i].has_dw && p->zeros_offset + (size_t)p->steps[i].a.conv.in_c > p->arena_bytes)
			p->arena_bytes =
			    p->zeros_offset + ((size_t)p->steps[i].a.conv.in_c + ALIGN - 1) / ALIGN * ALIGN;
	for (int i = 0; i < g->n_ops; i++)
		if (scratch[i]) {
			p->steps[i].a.detpp.scratch_offset = p->arena_bytes;
			p->arena_bytes += (scratch[i] + ALIGN - 1) / ALIGN * ALIGN;
		}
	p->scratch_offset = p->arena_bytes;
	p->scratch_bytes = (p->scratch_bytes + ALIGN - 1) / ALIGN * ALIGN;
	free(first);
	free(last);
	free(order);
	return 0;
}

void vigil_q8_program_destroy(struct vigil_q8_program *p)
{
	if (!p)
		return;
	for (int i = 0; p->steps && i < p->graph->n_ops; i++) {
		free(p->steps[i].mult);
		free(p->steps[i].shift);
		free(p->steps[i].fscale);
#if Q8_SIMD
		if (p->steps[i].has_gemm)
			vigil_q8_gemm_free(&p->steps[i].gemm);
		if (p->steps[i].has_dw)
			vigil_q8_dw_free(&p->steps[i].dw);
#endif
#if VIGIL_Q8_HAVE_AVX2
		if (p->steps[i].has_dwf)
			vigil_q8_dwf_free(&p->steps[i].dwf);
#endif
		free(p->steps[i].anchors);
	}
	free(p->steps);
	free(p->offset);
	free(p->alias);
	free(p);
}

int vigil_q8_program_create(const struct vigil_graph *g, enum vigil_q8_requant requant, struct vigil_q8_program **out)
{
	struct vigil_q8_program *p = calloc(1, sizeof(*p));
	size_t *scratch = calloc(g->n_ops ? g->n_ops : 1, sizeof(size_t));
	int ret = -ENOMEM;

	*out = NULL;
	if (!p || !scratch)
		goto fail;
	p->graph = g;
	p->requant = requant;
	p->fast = !(getenv("VIGIL_Q8_REFERENCE") && *getenv("VIGIL_Q8_REFERENCE") == '1');
	p->dw_mode = DW_AUTO;
	if (getenv("VIGIL_Q8_DW") && strcmp(getenv("VIGIL_Q8_DW"), "int") == 0)
		p->dw_mode = DW_INT;
	else if (getenv("VIGIL_Q8_DW") && strcmp(getenv("VIGIL_Q8_DW"), "float") == 0)
		p->dw_mode = DW_FLOAT;
	if (p->fast) {
		const unsigned f = vigil_cpu_features(); /* 0 under VIGIL_FORCE_C=1 */

		if (VIGIL_Q8_HAVE_AVX2 && (f & VIGIL_CPU_AVX512VNNI))
			p->isa = Q8_AVX512VNNI;
		else if (VIGIL_Q8_HAVE_AVX2 && (f & VIGIL_CPU_AVX512))
			p->isa = Q8_AVX512;
		else if (VIGIL_Q8_HAVE_AVX2 && (f & VIGIL_CPU_AVX2))
			p->isa = Q8_AVX2;
		else if (VIGIL_Q8_HAVE_NEON && (f & VIGIL_CPU_DOTPROD))
			p->isa = Q8_NEONDOT;
		else if (VIGIL_Q8_HAVE_NEON && (f & VIGIL_CPU_NEON))
			p->isa = Q8_NEON;
	}
	log_kernels_once(p);
	p->steps = calloc(g->n_ops ? g->n_ops : 1, sizeof(*p->steps));
	p->offset = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(*p->offset));
	p->alias = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(*p->alias));
	if (!p->steps || !p->offset || !p->alias)
		goto fail;
	for (int t = 0; t < g->n_tensors; t++)
		p->alias[t] = t;
	for (int i = 0; i < g->n_ops; i++)
		if (g->ops[i].kind == VIGIL_OP_RESHAPE && !g->tensors[g->ops[i].inputs[0]].data)
			p->alias[g->ops[i].output] = g->ops[i].inputs[0];
	for (int i = 0; i < g->n_ops; i++) {
		p->steps[i].op = &g->ops[i];
		ret = prepare_step(p, &p->steps[i], &scratch[i]);
		if (ret < 0)
			goto fail;
	}
	ret = plan_arena(p, scratch);
	if (ret < 0)
		goto fail;
	free(scratch);
	*out = p;
	return 0;
fail:
	free(scratch);
	vigil_q8_program_destroy(p);
	return ret == -ENOMEM ? vigil_error(-ENOMEM, "out of memory preparing the quantized program") : ret;
}

size_t vigil_q8_program_arena_bytes(const struct vigil_q8_program *p, int threads)
{
	return p->arena_bytes + (size_t)(threads > 1 ? threads : 1) * p->scratch_bytes;
}

enum vigil_q8_requant vigil_q8_program_requant(const struct vigil_q8_program *p)
{
	return p->requant;
}

int vigil_q8_program_n_ops(const struct vigil_q8_program *p)
{
	return p->graph->n_ops;
}

uint64_t vigil_q8_program_op_macs(const struct vigil_q8_program *p, int i)
{
	return p->steps[i].macs;
}

const char *vigil_q8_program_op_path(const struct vigil_q8_program *p, int i)
{
	const struct q8_step *s = &p->steps[i];

	if (s->has_gemm) {
		const int direct =
		    s->a.conv.kh == 1 && s->a.conv.kw == 1 && s->a.conv.stride_h == 1 && s->a.conv.stride_w == 1;

		static const char *const names[][2] = {
			{ "c", "c" },
			{ "avx2 gemm im2col", "avx2 gemm 1x1" },
			{ "avx512 gemm im2col", "avx512 gemm 1x1" },
			{ "avx512vnni gemm im2col", "avx512vnni gemm 1x1" },
			{ "neon gemm im2col", "neon gemm 1x1" },
			{ "neon dotprod gemm im2col", "neon dotprod gemm 1x1" },
		};

		return names[p->isa][direct];
	}
	if (s->has_dw) {
		static const char *const names[] = { "c",
						     "avx2 depthwise",
						     "avx512 depthwise",
						     "avx512vnni depthwise",
						     "neon depthwise",
						     "neon depthwise" };

		return names[p->isa];
	}
#if VIGIL_Q8_HAVE_AVX2
	if (s->has_dwf)
		return strcmp(s->dwf.k->isa, "avx512") == 0 ? "f32-exact dw avx512"
		       : strcmp(s->dwf.k->isa, "avx2") == 0 ? "f32-exact dw avx2"
							    : "f32-exact dw";
#endif
	if (s->op->kind == VIGIL_OP_DWCONV2D && p->fast && !s->is_signed && s->a.conv.depth_multiplier == 1)
		return "c depthwise m1";
	return "c";
}

void *vigil_q8_program_tensor(const struct vigil_q8_program *p, void *arena, int index)
{
	const struct vigil_tensor *t = tensor(p, index);

	return t->data ? (void *)t->data : (uint8_t *)arena + p->offset[index];
}

static int run_op(const struct vigil_q8_program *p, void *arena, struct vigil_pool *pool, int i);
static double now_ms(void);

#if Q8_SIMD
static void run_dw_int(const struct vigil_q8_program *p, const struct q8_step *s, const struct vigil_q8_conv_args *a,
		       const void *zeros, int y0, int y1)
{
#if VIGIL_Q8_HAVE_AVX2
	if (p->isa == Q8_AVX512VNNI)
		vigil_q8_dwconv__avx512vnni(a, &s->dw, zeros, y0, y1);
	else if (p->isa == Q8_AVX512)
		vigil_q8_dwconv__avx512(a, &s->dw, zeros, y0, y1);
	else
		vigil_q8_dwconv__avx2(a, &s->dw, zeros, y0, y1);
#else
	(void)p;
	vigil_q8_dwconv__neon(a, &s->dw, zeros, y0, y1);
#endif
}

struct conv_task {
	const struct vigil_q8_program *p;
	const struct q8_step *s;
	struct vigil_q8_conv_args a;
	uint8_t *arena;
	int units; /* output pixels (GEMM) or rows (depthwise) */
};

static void conv_task(void *ctx, int task, int n_tasks)
{
	const struct conv_task *t = ctx;
	/* GEMM ranges start at multiples of one micro-tile */
	const int gran = t->s->has_gemm ? t->s->gemm.mr : 1;
	const int blocks = (t->units + gran - 1) / gran;
	const int u0 = (int)((int64_t)blocks * task / n_tasks) * gran;
	int u1 = (int)((int64_t)blocks * (task + 1) / n_tasks) * gran;

	u1 = u1 < t->units ? u1 : t->units;
	if (u0 >= u1)
		return;
	if (t->s->has_gemm) {
		void *scratch = t->arena + t->p->scratch_offset + (size_t)task * t->p->scratch_bytes;

#if VIGIL_Q8_HAVE_AVX2
		if (t->p->isa == Q8_AVX512VNNI)
			vigil_q8_conv_gemm__avx512vnni(&t->a, &t->s->gemm, scratch, u0, u1);
		else if (t->p->isa == Q8_AVX512)
			vigil_q8_conv_gemm__avx512(&t->a, &t->s->gemm, scratch, u0, u1);
		else
			vigil_q8_conv_gemm__avx2(&t->a, &t->s->gemm, scratch, u0, u1);
#else
		if (t->p->isa == Q8_NEONDOT)
			vigil_q8_conv_gemm__neondot(&t->a, &t->s->gemm, scratch, u0, u1);
		else
			vigil_q8_conv_gemm__neon(&t->a, &t->s->gemm, scratch, u0, u1);
#endif
#if VIGIL_Q8_HAVE_AVX2
	} else if (t->s->has_dwf) {
		vigil_q8_dwconv_f32__avx2(&t->a, &t->s->dwf,
					  t->arena + t->p->scratch_offset + (size_t)task * t->p->scratch_bytes, u0, u1);
#endif
	} else {
		run_dw_int(t->p, t->s, &t->a, t->arena + t->p->zeros_offset, u0, u1);
	}
}

#if VIGIL_Q8_HAVE_AVX2
/* The integer and the float depthwise kernels give the same bytes; which is faster depends on the layer's shape and
 * the CPU (on a Zen 3 the float kernels win on wide stride-1 layers, the integer ones on stride 2 and at 19x19 and
 * below), so each layer takes the faster by measurement when the program is made: both kernels, three times each
 * in turn on scratch tensors, the fastest run of each compared. DW_INT, DW_FLOAT, or a negative errno. */
static int dw_faster(const struct vigil_q8_program *p, const struct q8_step *s)
{
	struct vigil_q8_conv_args a = s->a.conv;
	const size_t in_bytes = (size_t)a.in_h * a.in_w * a.in_c, out_bytes = (size_t)a.out_h * a.out_w * a.out_c;
	uint8_t *in = malloc(in_bytes), *out = malloc(out_bytes), *zeros = malloc((size_t)a.in_c);
	void *scratch = aligned_alloc(64, vigil_q8_dwf_scratch_bytes(&a, &s->dwf));
	double best_int = 1e30, best_float = 1e30;

	if (!in || !out || !zeros || !scratch) {
		free(in);
		free(out);
		free(zeros);
		free(scratch);
		return -ENOMEM;
	}
	for (size_t i = 0; i < in_bytes; i++)
		in[i] = (uint8_t)(i * 37 + 11);
	memset(zeros, (uint8_t)-a.input_offset, (size_t)a.in_c);
	a.input = in;
	a.output = out;
	for (int r = 0; r < 3; r++) {
		double t0 = now_ms();

		run_dw_int(p, s, &a, zeros, 0, a.out_h);
		t0 = now_ms() - t0;
		best_int = t0 < best_int ? t0 : best_int;
		t0 = now_ms();
		vigil_q8_dwconv_f32__avx2(&a, &s->dwf, scratch, 0, a.out_h);
		t0 = now_ms() - t0;
		best_float = t0 < best_float ? t0 : best_float;
	}
	free(in);
	free(out);
	free(zeros);
	free(scratch);
	vigil_log("cpu", VIGIL_LOG_DEBUG, "depthwise %dx%dx%d stride %d: integer kernel %.3f ms, float kernel %.3f ms",
		  a.out_h, a.out_w, a.out_c, a.stride_h, best_int, best_float);
	return best_float < best_int ? DW_FLOAT : DW_INT;
}

#endif

/* Splits one convolution over the pool: output pixels (GEMM) or rows (depthwise); one task per thread, so that the
 * task index picks the thread's scratch. Small layers stay on fewer threads. */
static void run_conv_simd(const struct vigil_q8_program *p, const struct q8_step *s, const struct vigil_q8_conv_args *a,
			  void *arena, struct vigil_pool *pool)
{
	struct conv_task t = { p, s, *a, arena, s->has_gemm ? a->out_h * a->out_w : a->out_h };
	const int gran = s->has_gemm ? s->gemm.mr : 1;
	int n = vigil_pool_threads(pool);
	const uint64_t min_macs = 200000; /* per task: below this waking a thread costs more than it saves */

	if ((uint64_t)n * min_macs > s->macs)
		n = (int)(s->macs / min_macs);
	if (n > (t.units + gran - 1) / gran)
		n = (t.units + gran - 1) / gran;
	if (n < 1)
		n = 1;
	if (s->has_dw)
		memset((uint8_t *)arena + p->zeros_offset, (uint8_t)-a->input_offset, (size_t)a->in_c);
	if (n == 1 || !pool)
		conv_task(&t, 0, 1);
	else
		vigil_pool_run(pool, conv_task, &t, n);
}
#endif

/* CPU time of the calling thread: per-operator profiles stay meaningful on a loaded machine (single-threaded runs) */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int vigil_q8_program_run(const struct vigil_q8_program *p, void *arena, struct vigil_pool *pool)
{
	return vigil_q8_program_run_profiled(p, arena, pool, NULL);
}

int vigil_q8_program_run_range(const struct vigil_q8_program *p, void *arena, struct vigil_pool *pool, int op0, int op1)
{
	for (int i = op0 < 0 ? 0 : op0; i < op1 && i < p->graph->n_ops; i++) {
		int ret = run_op(p, arena, pool, i);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int vigil_q8_program_run_profiled(const struct vigil_q8_program *p, void *arena, struct vigil_pool *pool, double *op_ms)
{
	for (int i = 0; i < p->graph->n_ops; i++) {
		const double t0 = op_ms ? now_ms() : 0;
		int ret = run_op(p, arena, pool, i);

		if (op_ms)
			op_ms[i] += now_ms() - t0;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int run_op(const struct vigil_q8_program *p, void *arena, struct vigil_pool *pool, int i)
{
	{
		const struct q8_step *s = &p->steps[i];
		const struct vigil_op *op = s->op;
		void *out = vigil_q8_program_tensor(p, arena, op->output);
		const void *in = vigil_q8_program_tensor(p, arena, op->inputs[0]);
		const size_t n = tensor(p, op->output)->count;

		switch (op->kind) {
		case VIGIL_OP_CONV2D:
		case VIGIL_OP_DWCONV2D: {
			struct vigil_q8_conv_args a = s->a.conv;

			a.input = in;
			a.output = out;
#if Q8_SIMD
			if (s->has_gemm || s->has_dw || s->has_dwf) {
				run_conv_simd(p, s, &a, arena, pool);
				break;
			}
#else
			(void)pool;
#endif
			if (op->kind == VIGIL_OP_DWCONV2D && p->fast && !s->is_signed && a.depth_multiplier == 1) {
				vigil_u8_dwconv2d_m1__c(&a, (int32_t *)((uint8_t *)arena + p->acc_offset));
				break;
			}
			if (op->kind == VIGIL_OP_CONV2D)
				(s->is_signed ? vigil_i8_conv2d__c : vigil_u8_conv2d__c)(&a);
			else
				(s->is_signed ? vigil_i8_dwconv2d__c : vigil_u8_dwconv2d__c)(&a);
			break;
		}
		case VIGIL_OP_MAXPOOL2D:
		case VIGIL_OP_AVGPOOL2D: {
			struct vigil_q8_pool_args a = s->a.pool;

			a.input = in;
			a.output = out;
			if (op->kind == VIGIL_OP_MAXPOOL2D)
				(s->is_signed ? vigil_i8_maxpool2d__c : vigil_u8_maxpool2d__c)(&a);
			else
				(s->is_signed ? vigil_i8_avgpool2d__c : vigil_u8_avgpool2d__c)(&a);
			break;
		}
		case VIGIL_OP_ADD: {
			const void *b = vigil_q8_program_tensor(p, arena, op->inputs[1]);

			if (s->is_signed)
				vigil_i8_add__c(in, b, out, n, &s->a.add);
			else
				vigil_u8_add__c(in, b, out, n, &s->a.add);
			break;
		}
		case VIGIL_OP_CONCAT: {
			struct vigil_q8_concat_input ins[VIGIL_MAX_OP_INPUTS];
			const struct vigil_tensor *o = tensor(p, op->output);

			memcpy(ins, s->a.concat.in, sizeof(ins));
			for (int k = 0; k < op->n_inputs; k++)
				ins[k].data = vigil_q8_program_tensor(p, arena, op->inputs[k]);
#if VIGIL_Q8_HAVE_AVX2
			if (p->isa != Q8_C && s->is_signed)
				vigil_i8_concat__avx2(ins, op->n_inputs, s->a.concat.outer, o->quant.scale,
						      o->quant.zero_point, out);
			else if (p->isa != Q8_C)
				vigil_u8_concat__avx2(ins, op->n_inputs, s->a.concat.outer, o->quant.scale,
						      o->quant.zero_point, out);
			else
#endif
			    if (s->is_signed)
				vigil_i8_concat__c(ins, op->n_inputs, s->a.concat.outer, o->quant.scale,
						   o->quant.zero_point, out);
			else
				vigil_u8_concat__c(ins, op->n_inputs, s->a.concat.outer, o->quant.scale,
						   o->quant.zero_point, out);
			break;
		}
		case VIGIL_OP_RESHAPE:
			if (out != in)
				memcpy(out, in, n * elem_size(tensor(p, op->output)->dtype));
			break;
		case VIGIL_OP_LOGISTIC:
			vigil_q8_lookup__c(in, out, n, s->a.table);
			break;
		case VIGIL_OP_QUANTIZE: {
			const struct vigil_tensor *o = tensor(p, op->output);

			if (tensor(p, op->inputs[0])->dtype != VIGIL_DT_F32)
				vigil_q8_requantize__c(in, out, n, &s->a.requant);
			else if (s->is_signed)
				vigil_i8_quantize__c(in, out, n, o->quant.scale, o->quant.zero_point);
			else
				vigil_u8_quantize__c(in, out, n, o->quant.scale, o->quant.zero_point);
			break;
		}
		case VIGIL_OP_DEQUANTIZE: {
			const struct vigil_tensor *t = tensor(p, op->inputs[0]);

			if (t->dtype == VIGIL_DT_I8)
				vigil_i8_dequantize__c(in, out, n, t->quant.scale, t->quant.zero_point);
			else
				vigil_u8_dequantize__c(in, out, n, t->quant.scale, t->quant.zero_point);
			break;
		}
		case VIGIL_OP_DETECTION_POSTPROCESS: {
			struct vigil_detpp_io io = s->a.detpp.io;
			int ret;

			io.boxes = in;
			io.scores = vigil_q8_program_tensor(p, arena, op->inputs[1]);
			io.out_boxes = out;
			io.out_classes = vigil_q8_program_tensor(p, arena, op->extra_outputs[0]);
			io.out_scores = vigil_q8_program_tensor(p, arena, op->extra_outputs[1]);
			io.out_count = vigil_q8_program_tensor(p, arena, op->extra_outputs[2]);
			ret = vigil_detpp_run(&op->p.detpp, &io, (uint8_t *)arena + s->a.detpp.scratch_offset);
			if (ret < 0)
				return ret;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}
