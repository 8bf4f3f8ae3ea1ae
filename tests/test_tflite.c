/* SPDX-License-Identifier: Apache-2.0
 * TFLite importer and FlatBuffer reader: the real BlazeFace models import into the expected graphs, and every
 * kind of broken or hostile file (truncated, bit-flipped, wrong type, patched in place, or built small by the
 * writer below) fails with the right code and a message that names what is wrong. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "flatbuf.h"
#include "testutil.h"
#include "tflite.h"
#include "vigil/vigil.h"

/* TFLite schema facts the tests navigate by (tensorflow/lite/schema/schema.fbs). */
enum { MODEL_VERSION = 0, MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_IS_VARIABLE = 5 };
enum { OP_OPCODE_INDEX = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3, OP_OPTIONS = 4 };
enum { OPCODE_DEPRECATED = 0, OPCODE_CUSTOM = 1, OPCODE_BUILTIN = 3 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { F32 = 0, F16 = 1, I32 = 2, I8 = 9, STRING = 5 };
enum {
	ADD = 0,
	CONCATENATION = 2,
	CONV_2D = 3,
	DEPTHWISE_CONV_2D = 4,
	DEQUANTIZE = 6,
	MAX_POOL_2D = 17,
	RELU = 19,
	RESHAPE = 22,
	RESIZE_BILINEAR = 23,
	SOFTMAX = 25,
	CUSTOM = 32,
	PAD = 34
};
enum { OPT_CONV = 1, OPT_DW = 2, OPT_POOL = 5, OPT_CONCAT = 10, OPT_ADD = 11, OPT_RESIZE = 15 };

#define SHORT_RANGE "../../models/face_detection_short_range.tflite"
#define FULL_RANGE "../../models/face_detection_full_range.tflite"
#define SPARSE "models/face_detection_full_range_sparse.tflite"

/* ---- helpers ----------------------------------------------------------------------------------------------- */

static uint8_t *dup_bytes(const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	ck_assert(copy != NULL);
	memcpy(copy, buf, len);
	return copy;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Imports and expects failure with @p err and a message holding every needle; the graph must be left empty. */
static void expect_fail(const uint8_t *buf, size_t len, const char *label, int err, ...)
{
	struct vigil_graph g;
	const char *msg, *needle;
	int ret = vigil_tflite_import(buf, len, label, &g);
	va_list ap;

	msg = vigil_last_error();
	ck_assert_msg(ret == err, "%s: expected %s (%d), got %s (%d): %s", label, vigil_strerror(err), err,
		      vigil_strerror(ret), ret, msg);
	va_start(ap, err);
	while ((needle = va_arg(ap, const char *)) != NULL)
		ck_assert_msg(strstr(msg, needle) != NULL, "%s: message lacks '%s': %s", label, needle, msg);
	va_end(ap);
	ck_assert_msg(g.tensors == NULL && g.ops == NULL && g.storage == NULL && g.n_ops == 0,
		      "%s: a failed import left a partial graph", label);
	vigil_graph_free(&g);
}

/* Checks the invariants the executor relies on, independently of how the importer established them. */
static void check_graph_sane(const struct vigil_graph *g, const char *what)
{
	char *state = calloc((size_t)g->n_tensors, 1); /* 1: constant, 2: input, 3: produced */

	ck_assert(state != NULL);
	ck_assert_msg(g->n_inputs == 1 && g->n_outputs >= 1 && g->n_outputs <= 4, "%s: %d inputs, %d outputs", what,
		      g->n_inputs, g->n_outputs);
	for (int t = 0; t < g->n_tensors; t++) {
		const struct vigil_tensor *x = &g->tensors[t];
		size_t count = 1;

		ck_assert_msg(x->name != NULL && x->rank >= 0 && x->rank <= VIGIL_MAX_RANK, "%s: tensor %d", what, t);
		for (int d = 0; d < x->rank; d++) {
			ck_assert_msg(x->dims[d] >= 1, "%s: tensor %d dim %d is %d", what, t, d, x->dims[d]);
			count *= (size_t)x->dims[d];
		}
		ck_assert_msg(count == x->count && count <= VIGIL_TFLITE_MAX_ELEMENTS, "%s: tensor %d count", what, t);
		ck_assert_int_eq(x->arena_slot, -1);
		if (x->data)
			state[t] = 1;
	}
	ck_assert(g->inputs[0] >= 0 && g->inputs[0] < g->n_tensors);
	ck_assert_msg(!state[g->inputs[0]] && g->tensors[g->inputs[0]].dtype == VIGIL_DT_F32, "%s: input", what);
	state[g->inputs[0]] = 2;
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];

		ck_assert_msg(op->kind >= VIGIL_OP_CONV2D && op->kind <= VIGIL_OP_RESIZE_BILINEAR, "%s: op %d kind",
			      what, i);
		ck_assert_msg(op->n_inputs >= 1 && op->n_inputs <= VIGIL_MAX_OP_INPUTS, "%s: op %d inputs", what, i);
		for (int k = 0; k < op->n_inputs; k++) {
			const int t = op->inputs[k];

			if (t == -1 && k == 2 && (op->kind == VIGIL_OP_CONV2D || op->kind == VIGIL_OP_DWCONV2D))
				continue;
			ck_assert_msg(t >= 0 && t < g->n_tensors, "%s: op %d input %d is %d", what, i, k, t);
			ck_assert_msg(state[t] != 0, "%s: op %d reads tensor %d before it exists", what, i, t);
			ck_assert_msg(g->tensors[t].dtype ==
					  (op->kind == VIGIL_OP_PAD && k == 1 ? VIGIL_DT_I32 : VIGIL_DT_F32),
				      "%s: op %d input %d has dtype %d", what, i, k, g->tensors[t].dtype);
		}
		ck_assert_msg(op->output >= 0 && op->output < g->n_tensors && state[op->output] == 0,
			      "%s: op %d output %d written twice or constant", what, i, op->output);
		ck_assert(g->tensors[op->output].dtype == VIGIL_DT_F32 && g->tensors[op->output].data == NULL);
		state[op->output] = 3;
	}
	for (int k = 0; k < g->n_outputs; k++)
		ck_assert_msg(g->outputs[k] >= 0 && g->outputs[k] < g->n_tensors && state[g->outputs[k]] == 3,
			      "%s: output %d not produced", what, k);
	free(state);
}

static float ref_half(uint16_t h)
{
	const int e = (h >> 10) & 31, m = h & 1023;
	float v;

	if (e == 31)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexpf((float)m, -24);
	else
		v = ldexpf((float)(m + 1024), e - 25);
	return (h & 0x8000) ? -v : v;
}

/* ---- navigating a real model with the reader (to find bytes to patch) ------------------------------------- */

struct real {
	uint8_t *buf;
	size_t len;
	struct vigil_fb fb;
	struct vigil_fb_table model, sg;
	struct vigil_fb_vector tensors, ops, opcodes, buffers;
};

static struct vigil_fb_table nth(const struct vigil_fb_vector *v, uint32_t i)
{
	struct vigil_fb_table t;

	ck_assert_msg(vigil_fb_vector_table(v, i, "test", &t) == 0, "%s", vigil_last_error());
	return t;
}

static struct vigil_fb_vector vec(const struct vigil_fb_table *t, int field, size_t elem)
{
	struct vigil_fb_vector v;

	ck_assert_msg(vigil_fb_vector(t, field, elem, "test", &v) == 1, "field %d: %s", field, vigil_last_error());
	return v;
}

static size_t pos_of(const struct vigil_fb_table *t, int field, size_t size)
{
	size_t pos;

	ck_assert_msg(vigil_fb_field_pos(t, field, size, &pos) == 1, "field %d of the table at 0x%zx is absent", field,
		      t->pos);
	return pos;
}

/* Loads a real model; @p r must stay where it is (its tables point at r->fb). */
static void real_open(struct real *r, const char *rel)
{
	r->buf = tu_read_file(tu_data_path(rel), &r->len);
	ck_assert(vigil_fb_init(&r->fb, r->buf, r->len) == 0);
	ck_assert(vigil_fb_root(&r->fb, &r->model) == 0);
	r->opcodes = vec(&r->model, MODEL_OPERATOR_CODES, 4);
	r->buffers = vec(&r->model, MODEL_BUFFERS, 4);
	r->sg = nth((struct vigil_fb_vector[]){ vec(&r->model, MODEL_SUBGRAPHS, 4) }, 0);
	r->tensors = vec(&r->sg, SG_TENSORS, 4);
	r->ops = vec(&r->sg, SG_OPERATORS, 4);
}

static int32_t real_op_code(const struct real *r, uint32_t op)
{
	const struct vigil_fb_table ot = nth(&r->ops, op);
	struct vigil_fb_table oc;
	uint32_t index;
	int8_t dep;
	int32_t builtin;

	ck_assert(vigil_fb_u32(&ot, OP_OPCODE_INDEX, 0, &index) >= 0);
	oc = nth(&r->opcodes, index);
	ck_assert(vigil_fb_i8(&oc, OPCODE_DEPRECATED, 0, &dep) >= 0);
	ck_assert(vigil_fb_i32(&oc, OPCODE_BUILTIN, 0, &builtin) >= 0);
	return dep > builtin ? dep : builtin;
}

static uint32_t real_op_opcode_index(const struct real *r, uint32_t op)
{
	const struct vigil_fb_table ot = nth(&r->ops, op);
	uint32_t index;

	ck_assert(vigil_fb_u32(&ot, OP_OPCODE_INDEX, 0, &index) >= 0);
	return index;
}

static int real_first_op(const struct real *r, int32_t code)
{
	for (uint32_t i = 0; i < r->ops.count; i++)
		if (real_op_code(r, i) == code)
			return (int)i;
	ck_abort_msg("the model has no operator with code %d", code);
	return -1;
}

/* Bytes of tensor @p t's buffer (count 0 when it has none). */
static struct vigil_fb_vector real_tensor_data(const struct real *r, uint32_t t)
{
	const struct vigil_fb_table tt = nth(&r->tensors, t);
	struct vigil_fb_vector v;
	struct vigil_fb_table bt;
	uint32_t b;

	ck_assert(vigil_fb_u32(&tt, TENSOR_BUFFER, 0, &b) >= 0);
	bt = nth(&r->buffers, b);
	ck_assert(vigil_fb_vector(&bt, BUFFER_DATA, 1, "data", &v) >= 0);
	return v;
}

/* ---- the real models --------------------------------------------------------------------------------------- */

struct expect_model {
	const char *rel;
	int side, anchors;
	int first_kernel, first_channels; /* the first convolution: stride 2, SAME */
	int n_tensors, ops[VIGIL_OP_RESIZE_BILINEAR + 1];
};

/* Operator counts per kind, read off the files with an independent script (DEQUANTIZE excluded). */
static const struct expect_model short_range = {
	.rel = SHORT_RANGE,
	.side = 128,
	.anchors = 896,
	.first_kernel = 5,
	.first_channels = 24,
	.n_tensors = 250,
	.ops = { [VIGIL_OP_CONV2D] = 21,
		 [VIGIL_OP_DWCONV2D] = 16,
		 [VIGIL_OP_ADD] = 16,
		 [VIGIL_OP_RELU] = 17,
		 [VIGIL_OP_MAXPOOL2D] = 3,
		 [VIGIL_OP_PAD] = 11,
		 [VIGIL_OP_RESHAPE] = 4,
		 [VIGIL_OP_CONCAT] = 2 },
};
static const struct expect_model full_range = {
	.rel = FULL_RANGE,
	.side = 192,
	.anchors = 2304,
	.first_kernel = 3,
	.first_channels = 32,
	.n_tensors = 544,
	.ops = { [VIGIL_OP_CONV2D] = 49,
		 [VIGIL_OP_DWCONV2D] = 40,
		 [VIGIL_OP_ADD] = 23,
		 [VIGIL_OP_RELU] = 47,
		 [VIGIL_OP_MAXPOOL2D] = 4,
		 [VIGIL_OP_PAD] = 8,
		 [VIGIL_OP_RESHAPE] = 2,
		 [VIGIL_OP_RESIZE_BILINEAR] = 3 },
};

static void check_shape(const struct vigil_tensor *t, int rank, int d0, int d1, int d2, int d3)
{
	const int want[4] = { d0, d1, d2, d3 };

	ck_assert_int_eq(t->rank, rank);
	for (int d = 0; d < rank; d++)
		ck_assert_msg(t->dims[d] == want[d], "tensor '%s' dim %d is %d, expected %d", t->name, d, t->dims[d],
			      want[d]);
}

/* Every DEQUANTIZE of the file is gone and its output holds the float16 data expanded exactly. */
static void check_dequantized(const struct real *r, const struct vigil_graph *g)
{
	int folded = 0;

	for (uint32_t i = 0; i < r->ops.count; i++) {
		const struct vigil_fb_table ot = nth(&r->ops, i);
		const struct vigil_fb_vector ins = vec(&ot, OP_INPUTS, 4), outs = vec(&ot, OP_OUTPUTS, 4);
		const struct vigil_tensor *out;
		struct vigil_fb_vector half;

		if (real_op_code(r, i) != DEQUANTIZE)
			continue;
		out = &g->tensors[vigil_fb_vector_i32(&outs, 0)];
		half = real_tensor_data(r, (uint32_t)vigil_fb_vector_i32(&ins, 0));
		ck_assert_msg(out->dtype == VIGIL_DT_F32 && out->data != NULL, "'%s' was not expanded", out->name);
		ck_assert_uint_eq(half.count, out->count * 2);
		for (size_t k = 0; k < out->count; k++) {
			const float want = ref_half(vigil_fb_load_u16(vigil_fb_vector_data(&half) + 2 * k));
			const float got = ((const float *)out->data)[k];

			ck_assert_msg(got == want || (isnan(got) && isnan(want)), "'%s'[%zu] = %g, expected %g",
				      out->name, k, got, want);
		}
		ck_assert_msg(((uintptr_t)out->data & 63) == 0, "'%s' data is not 64-byte aligned", out->name);
		folded++;
	}
	ck_assert_int_gt(folded, 0);
	ck_assert_int_eq(g->n_ops, (int)r->ops.count - folded);
}

static void check_real_model(const struct expect_model *e)
{
	struct real r;
	struct vigil_graph g;
	int counts[VIGIL_OP_RESIZE_BILINEAR + 1] = { 0 };
	int ret;

	real_open(&r, e->rel);
	ret = vigil_tflite_import(r.buf, r.len, e->rel, &g);
	ck_assert_msg(ret == 0, "%s: %s", e->rel, vigil_last_error());
	check_graph_sane(&g, e->rel);
	ck_assert_int_eq(g.n_tensors, e->n_tensors);
	check_shape(&g.tensors[g.inputs[0]], 4, 1, e->side, e->side, 3);
	ck_assert_int_eq(g.n_outputs, 2);
	check_shape(&g.tensors[g.outputs[0]], 3, 1, e->anchors, 16, 0);
	check_shape(&g.tensors[g.outputs[1]], 3, 1, e->anchors, 1, 0);
	for (int i = 0; i < g.n_ops; i++) {
		const struct vigil_op *op = &g.ops[i];

		counts[op->kind]++;
		ck_assert(i == 0 || op->source_index > g.ops[i - 1].source_index);
		if (op->kind == VIGIL_OP_CONV2D || op->kind == VIGIL_OP_DWCONV2D) {
			const struct vigil_tensor *w = &g.tensors[op->inputs[1]];

			ck_assert_msg(w->dtype == VIGIL_DT_F32 && w->data, "op %d weights", i);
			ck_assert(op->inputs[2] >= 0 && g.tensors[op->inputs[2]].data);
			ck_assert_int_eq(op->p.conv.dilation_h, 1);
			ck_assert_int_eq(op->p.conv.depth_multiplier, 1);
		}
		if (op->kind == VIGIL_OP_RESIZE_BILINEAR) {
			/* the file sets half_pixel_centers and leaves align_corners at its default */
			ck_assert_int_eq(op->p.resize.half_pixel_centers, 1);
			ck_assert_int_eq(op->p.resize.align_corners, 0);
			ck_assert_int_eq(op->n_inputs, 1);
		}
	}
	for (int k = 0; k <= VIGIL_OP_RESIZE_BILINEAR; k++)
		ck_assert_msg(counts[k] == e->ops[k], "%s: %d %s operators, expected %d", e->rel, counts[k],
			      vigil_op_kind_name(k), e->ops[k]);
	/* The first operator: a stride-2 SAME convolution to half resolution. */
	ck_assert_int_eq(g.ops[0].kind, VIGIL_OP_CONV2D);
	ck_assert_int_eq(g.ops[0].p.conv.stride_h, 2);
	ck_assert_int_eq(g.ops[0].p.conv.padding, VIGIL_PAD_SAME);
	check_shape(&g.tensors[g.ops[0].inputs[1]], 4, e->first_channels, e->first_kernel, e->first_kernel, 3);
	check_shape(&g.tensors[g.ops[0].output], 4, 1, e->side / 2, e->side / 2, e->first_channels);
	check_dequantized(&r, &g);
	vigil_graph_free(&g);
	vigil_graph_free(&g); /* freeing twice is harmless: the first free clears the graph */
	free(r.buf);
}

START_TEST(test_short_range_model)
{
	check_real_model(&short_range);
}
END_TEST

START_TEST(test_full_range_model)
{
	check_real_model(&full_range);
}
END_TEST

START_TEST(test_sparse_model_refused)
{
	size_t len;
	uint8_t *buf = tu_read_file(tu_data_path(SPARSE), &len);

	expect_fail(buf, len, "sparse.tflite", VIGIL_EUNSUPPORTED, "model 'sparse.tflite'", "sparse", "DENSIFY", NULL);
	free(buf);
}
END_TEST

START_TEST(test_identifier_optional)
{
	struct real r;
	struct vigil_graph g;

	/* Without "TFL3" the file is still read, and validated exactly as strictly. */
	real_open(&r, SHORT_RANGE);
	memcpy(r.buf + 4, "XXXX", 4);
	ck_assert_msg(vigil_tflite_import(r.buf, r.len, "noident", &g) == 0, "%s", vigil_last_error());
	check_graph_sane(&g, "noident");
	vigil_graph_free(&g);
	free(r.buf);
}
END_TEST

/* ---- arguments and wrong files ----------------------------------------------------------------------------- */

START_TEST(test_bad_arguments)
{
	static const uint8_t byte = 0;
	struct vigil_graph g;

	ck_assert_int_eq(vigil_tflite_import(NULL, 16, "x", &g), -EINVAL);
	ck_assert_int_eq(vigil_tflite_import(&byte, 1, "x", NULL), -EINVAL);
	expect_fail(NULL, 0, "empty.tflite", VIGIL_EMODEL, "model 'empty.tflite'", "empty", NULL);
	expect_fail(&byte, 0, "empty.tflite", VIGIL_EMODEL, "empty", NULL);
	expect_fail(&byte, 1, "one.tflite", VIGIL_EMODEL, "1 bytes", NULL);
	/* The size cap is checked before a single byte is read. */
	expect_fail(&byte, (size_t)VIGIL_TFLITE_MAX_BYTES + 1, "huge.tflite", VIGIL_ETOOBIG, "huge.tflite", NULL);
	vigil_graph_free(NULL);
}
END_TEST

START_TEST(test_wrong_files)
{
	size_t len;
	uint8_t *jpeg = tu_read_file(tu_data_path("faces/sample1.jpg"), &len);
	uint8_t *junk = malloc(65536);
	uint64_t seed = 0x5eed;

	expect_fail(jpeg, len, "sample1.jpg", VIGIL_EMODEL, "sample1.jpg", "TFL3", NULL);
	free(jpeg);
	ck_assert(junk != NULL);
	memset(junk, 0, 65536);
	expect_fail(junk, 65536, "zeros", VIGIL_EMODEL, "TFL3", NULL);
	for (int i = 0; i < 16; i++) {
		const size_t n = 8 + tu_rand(&seed) % 65529;
		struct vigil_graph g;
		int ret;

		for (size_t k = 0; k < n; k++)
			junk[k] = (uint8_t)tu_rand(&seed);
		ret = vigil_tflite_import(junk, n, "random", &g);
		ck_assert_msg(ret == VIGIL_EMODEL, "random file %d (%zu bytes): %d %s", i, n, ret, vigil_last_error());
	}
	free(junk);
}
END_TEST

/* ---- truncations and bit flips ----------------------------------------------------------------------------- */

/* Imports an exact-size copy, so that ASan sees any read past @p len. Returns the import's result. */
static int import_copy(const uint8_t *buf, size_t len, const char *what)
{
	uint8_t *copy = dup_bytes(buf, len);
	struct vigil_graph g;
	int ret = vigil_tflite_import(copy, len, what, &g);

	ck_assert_msg(ret <= 0, "%s: positive return %d", what, ret);
	if (ret == 0)
		check_graph_sane(&g, what);
	else
		ck_assert_msg(ret == VIGIL_EMODEL || ret == VIGIL_EUNSUPPORTED || ret == VIGIL_ETOOBIG,
			      "%s: unexpected error %d (%s)", what, ret, vigil_last_error());
	vigil_graph_free(&g);
	free(copy);
	return ret;
}

START_TEST(test_truncated)
{
	struct real r;
	char what[64];

	real_open(&r, SHORT_RANGE);
	for (size_t n = 0; n < r.len; n += n < 1024 ? 1 : 1021) {
		snprintf(what, sizeof(what), "truncated to %zu", n);
		ck_assert_msg(import_copy(r.buf, n, what) < 0, "%s: imported", what);
	}
	ck_assert_msg(import_copy(r.buf, r.len - 1, "truncated by one") < 0, "truncated by one byte: imported");
	free(r.buf);
}
END_TEST

/* Marks the bytes that hold weights, so that mutations can aim at the structure around them. */
static uint8_t *weight_mask(const struct real *r)
{
	uint8_t *mask = calloc(r->len, 1);

	ck_assert(mask != NULL);
	for (uint32_t b = 0; b < r->buffers.count; b++) {
		const struct vigil_fb_table bt = nth(&r->buffers, b);
		struct vigil_fb_vector v;

		if (vigil_fb_vector(&bt, BUFFER_DATA, 1, "data", &v) == 1)
			memset(mask + v.pos, 1, v.count);
	}
	return mask;
}

START_TEST(test_bit_flips)
{
	enum { ROUNDS = 1200 };
	struct real r;
	uint8_t *mask, *copy;
	int failures = 0;
	char what[96];

	real_open(&r, SHORT_RANGE);
	mask = weight_mask(&r);
	copy = malloc(r.len);
	ck_assert(copy != NULL);
	for (uint64_t seed = 1; seed <= ROUNDS; seed++) {
		uint64_t state = seed * 0x9E3779B97F4A7C15ULL;
		const int flips = 1 + (int)(tu_rand(&state) % 8);
		struct vigil_graph g;
		int ret;

		memcpy(copy, r.buf, r.len);
		for (int f = 0; f < flips; f++) {
			size_t pos = tu_rand(&state) % r.len;

			/* Three rounds in four aim at the FlatBuffer structure rather than at the weights. */
			for (int tries = 0; seed % 4 && mask[pos] && tries < 64; tries++)
				pos = tu_rand(&state) % r.len;
			copy[pos] ^= (uint8_t)(1u << (tu_rand(&state) % 8));
		}
		snprintf(what, sizeof(what), "bit flips, seed %llu", (unsigned long long)seed);
		ret = vigil_tflite_import(copy, r.len, what, &g);
		ck_assert_msg(ret == 0 || ret == VIGIL_EMODEL || ret == VIGIL_EUNSUPPORTED || ret == VIGIL_ETOOBIG,
			      "%s: unexpected result %d (%s)", what, ret, vigil_last_error());
		ck_assert_msg(ret == 0 || vigil_last_error()[0] != '\0', "%s: failed without a message", what);
		if (ret == 0)
			check_graph_sane(&g, what);
		else
			failures++;
		vigil_graph_free(&g);
	}
	/* Most structural flips must be caught; weight flips are legitimately accepted. */
	ck_assert_msg(failures > ROUNDS / 4, "only %d of %d mutated files were refused", failures, ROUNDS);
	free(copy);
	free(mask);
	free(r.buf);
}
END_TEST

/* ---- the real model patched in place ----------------------------------------------------------------------- */

/* The first operator that is not a DEQUANTIZE (its inputs are activations and weights). */
static int first_compute_op(const struct real *r)
{
	for (uint32_t i = 0; i < r->ops.count; i++)
		if (real_op_code(r, i) != DEQUANTIZE)
			return (int)i;
	ck_abort_msg("no compute operator");
	return -1;
}

START_TEST(test_patch_operator_tensor_index)
{
	struct real r;
	char needle[64];
	int op;

	real_open(&r, SHORT_RANGE);
	op = first_compute_op(&r);
	{
		const struct vigil_fb_table ot = nth(&r.ops, (uint32_t)op);
		const struct vigil_fb_vector ins = vec(&ot, OP_INPUTS, 4), outs = vec(&ot, OP_OUTPUTS, 4);

		put_u32(r.buf + ins.pos + 4, 100000);
		snprintf(needle, sizeof(needle), "operator %d (CONV_2D): input 1 is tensor 100000", op);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", needle,
			    "out of range", NULL);
		put_u32(r.buf + ins.pos + 4, (uint32_t)-7);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "tensor -7", NULL);
		put_u32(r.buf + ins.pos + 4, (uint32_t)-1); /* -1 is only allowed for an omitted bias */
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "tensor -1", NULL);
		free(r.buf);

		real_open(&r, SHORT_RANGE);
		put_u32(r.buf + outs.pos, (uint32_t)r.tensors.count);
		snprintf(needle, sizeof(needle), "output 0 is tensor %u, out of range", r.tensors.count);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, needle, NULL);
	}
	free(r.buf);
}
END_TEST

START_TEST(test_patch_buffer_index)
{
	struct real r;
	size_t pos;

	real_open(&r, SHORT_RANGE);
	pos = pos_of((struct vigil_fb_table[]){ nth(&r.tensors, 1) }, TENSOR_BUFFER, 4);
	put_u32(r.buf + pos, 5000);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", "tensor 1 ", "buffer 5000",
		    NULL);
	free(r.buf);
}
END_TEST

START_TEST(test_patch_opcode_index)
{
	struct real r;
	char needle[64];

	real_open(&r, SHORT_RANGE);
	for (uint32_t i = 0; i < r.ops.count; i++) {
		size_t pos;

		if (vigil_fb_field_pos((struct vigil_fb_table[]){ nth(&r.ops, i) }, OP_OPCODE_INDEX, 4, &pos) != 1)
			continue;
		put_u32(r.buf + pos, 9999);
		snprintf(needle, sizeof(needle), "operator %u uses operator code 9999", i);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", needle, NULL);
		free(r.buf);
		return;
	}
	ck_abort_msg("no operator stores its opcode index");
}
END_TEST

START_TEST(test_patch_dimensions)
{
	static const struct {
		int32_t dim;
		int err;
		const char *needle;
	} cases[] = {
		{ -5, VIGIL_EMODEL, "dimension 1 is -5" },
		{ 0, VIGIL_EMODEL, "dimension 1 is 0" },
		{ 1 << 30, VIGIL_ETOOBIG, "dimension 1 is 1073741824" },
		{ INT32_MIN, VIGIL_EMODEL, "dimension 1 is -2147483648" },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct real r;
		struct vigil_fb_vector shape;

		real_open(&r, SHORT_RANGE);
		shape = vec((struct vigil_fb_table[]){ nth(&r.tensors, 0) }, TENSOR_SHAPE, 4);
		put_u32(r.buf + shape.pos + 4, (uint32_t)cases[c].dim);
		expect_fail(r.buf, r.len, "patched.tflite", cases[c].err, "model 'patched.tflite'", "tensor 0 'input'",
			    cases[c].needle, NULL);
		free(r.buf);
	}
}
END_TEST

START_TEST(test_patch_shape_and_rank)
{
	struct real r;
	struct vigil_fb_vector shape;
	char needle[96];
	int op;

	/* A constant whose shape no longer matches its buffer. */
	real_open(&r, SHORT_RANGE);
	shape = vec((struct vigil_fb_table[]){ nth(&r.tensors, 1) }, TENSOR_SHAPE, 4);
	put_u32(r.buf + shape.pos - 4, 5); /* the count: rank 5 */
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EUNSUPPORTED, "tensor 1 ", "rank 5", NULL);
	free(r.buf);

	/* An activation whose shape disagrees with what its operator computes. */
	real_open(&r, SHORT_RANGE);
	op = first_compute_op(&r);
	{
		const struct vigil_fb_table ot = nth(&r.ops, (uint32_t)op);
		const int out = vigil_fb_vector_i32((struct vigil_fb_vector[]){ vec(&ot, OP_OUTPUTS, 4) }, 0);

		shape = vec((struct vigil_fb_table[]){ nth(&r.tensors, (uint32_t)out) }, TENSOR_SHAPE, 4);
		put_u32(r.buf + shape.pos + 4 * 2, 63);
		snprintf(needle, sizeof(needle), "operator %d (CONV_2D): output tensor %d", op, out);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, needle, "[1,64,63,24]",
			    "computes [1,64,64,24]", NULL);
	}
	free(r.buf);
}
END_TEST

START_TEST(test_patch_buffer_size)
{
	struct real r;
	struct vigil_fb_vector data;

	real_open(&r, SHORT_RANGE);
	data = real_tensor_data(&r, 1);
	ck_assert_uint_gt(data.count, 2);
	put_u32(r.buf + data.pos - 4, data.count - 2);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", "tensor 1 ", "holds",
		    "FLOAT16 needs", NULL);
	/* a count that runs past the end of the file */
	put_u32(r.buf + data.pos - 4, (uint32_t)r.len);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "data vector", "past the end", NULL);
	free(r.buf);
}
END_TEST

START_TEST(test_patch_vtable)
{
	struct real r;
	struct vigil_fb_table t;

	/* soffset sending the vtable past the end of the file, then before its start */
	real_open(&r, SHORT_RANGE);
	t = nth(&r.tensors, 5);
	put_u32(r.buf + t.pos, (uint32_t)(int32_t)((int64_t)t.pos - (int64_t)r.len - 64));
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", "tensor 5", "vtable",
		    "outside the file", NULL);
	put_u32(r.buf + t.pos, (uint32_t)(int32_t)((int64_t)t.pos + 16));
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "tensor 5", "outside the file", NULL);
	free(r.buf);

	/* A vtable too short to hold its own header. Writers share vtables between tables of the same layout, so
	 * the first tensor using it is the one reported: the message names no index here. */
	real_open(&r, SHORT_RANGE);
	t = nth(&r.tensors, 5);
	r.buf[t.vtable] = 2;
	r.buf[t.vtable + 1] = 0;
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "vtable", "declares 2 bytes", NULL);
	free(r.buf);

	/* a field offset past the table's inline size */
	real_open(&r, SHORT_RANGE);
	t = nth(&r.tensors, 5);
	r.buf[t.vtable + 4 + 2 * TENSOR_SHAPE] = (uint8_t)t.table_size;
	r.buf[t.vtable + 5 + 2 * TENSOR_SHAPE] = (uint8_t)(t.table_size >> 8);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "field 0 (4 bytes", "outside the table", NULL);
	free(r.buf);

	/* the root offset */
	real_open(&r, SHORT_RANGE);
	put_u32(r.buf, (uint32_t)r.len);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "root table", "past the end", NULL);
	free(r.buf);
}
END_TEST

START_TEST(test_patch_string_terminator)
{
	struct real r;
	struct vigil_fb_vector name;

	real_open(&r, SHORT_RANGE);
	name = vec((struct vigil_fb_table[]){ nth(&r.tensors, 3) }, TENSOR_NAME, 1);
	ck_assert_int_eq(r.buf[name.pos + name.count], 0);
	r.buf[name.pos + name.count] = 'X';
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, "model 'patched.tflite'", "tensor 3", "name string",
		    "not NUL-terminated", NULL);
	free(r.buf);
}
END_TEST

START_TEST(test_patch_unsupported_op)
{
	struct real r;
	char needle[96];
	uint32_t opcode;
	int op;

	/* Turn the operator code used by the first RELU into SOFTMAX. */
	real_open(&r, SHORT_RANGE);
	op = real_first_op(&r, RELU);
	opcode = real_op_opcode_index(&r, (uint32_t)op);
	r.buf[pos_of((struct vigil_fb_table[]){ nth(&r.opcodes, opcode) }, OPCODE_DEPRECATED, 1)] = SOFTMAX;
	snprintf(needle, sizeof(needle), "model 'blaze.tflite': operator %d is SOFTMAX, which Vigil does not support",
		 op);
	expect_fail(r.buf, r.len, "blaze.tflite", VIGIL_EUNSUPPORTED, needle, NULL);
	free(r.buf);

	/* The full-range model also stores the int32 code: the larger of the two wins. */
	real_open(&r, FULL_RANGE);
	op = real_first_op(&r, RELU);
	opcode = real_op_opcode_index(&r, (uint32_t)op);
	put_u32(r.buf + pos_of((struct vigil_fb_table[]){ nth(&r.opcodes, opcode) }, OPCODE_BUILTIN, 4), 150);
	snprintf(needle, sizeof(needle), "operator %d is GELU", op);
	expect_fail(r.buf, r.len, "full.tflite", VIGIL_EUNSUPPORTED, "model 'full.tflite'", needle, NULL);
	put_u32(r.buf + pos_of((struct vigil_fb_table[]){ nth(&r.opcodes, opcode) }, OPCODE_BUILTIN, 4), 4000);
	snprintf(needle, sizeof(needle), "operator %d is BUILTIN_4000", op);
	expect_fail(r.buf, r.len, "full.tflite", VIGIL_EUNSUPPORTED, needle, NULL);
	put_u32(r.buf + pos_of((struct vigil_fb_table[]){ nth(&r.opcodes, opcode) }, OPCODE_BUILTIN, 4), -3);
	r.buf[pos_of((struct vigil_fb_table[]){ nth(&r.opcodes, opcode) }, OPCODE_DEPRECATED, 1)] = 0xfd;
	expect_fail(r.buf, r.len, "full.tflite", VIGIL_EMODEL, "builtin code -3 is negative", NULL);
	free(r.buf);
}
END_TEST

START_TEST(test_patch_graph_structure)
{
	struct real r;
	struct vigil_fb_vector v;
	char needle[96];
	int op;

	/* schema version */
	real_open(&r, SHORT_RANGE);
	put_u32(r.buf + pos_of(&r.model, MODEL_VERSION, 4), 2);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EUNSUPPORTED, "schema version 2", NULL);
	free(r.buf);

	/* a graph output that is a weight tensor */
	real_open(&r, SHORT_RANGE);
	v = vec(&r.sg, SG_OUTPUTS, 4);
	put_u32(r.buf + v.pos, 1);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EUNSUPPORTED, "graph output 0 (tensor 1 ", "constant", NULL);
	free(r.buf);

	/* an operator that reads the output of a later operator */
	real_open(&r, SHORT_RANGE);
	op = first_compute_op(&r);
	{
		const struct vigil_fb_table ot = nth(&r.ops, (uint32_t)op);
		const uint32_t late =
		    (uint32_t)vigil_fb_vector_i32((struct vigil_fb_vector[]){ vec(&r.sg, SG_OUTPUTS, 4) }, 0);

		v = vec(&ot, OP_INPUTS, 4);
		put_u32(r.buf + v.pos, late);
		snprintf(needle, sizeof(needle), "operator %d (CONV_2D): input 0 reads tensor %u", op, late);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, needle, "before any operator computes it",
			    NULL);
		/* the graph input used as weights */
		put_u32(r.buf + v.pos, 0);
		put_u32(r.buf + v.pos + 4, 0);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EUNSUPPORTED, "weights (input 1, tensor 0 'input')",
			    "constant", NULL);
	}
	free(r.buf);

	/* two operators writing the same tensor */
	real_open(&r, SHORT_RANGE);
	op = first_compute_op(&r);
	{
		const int32_t out =
		    vigil_fb_vector_i32((struct vigil_fb_vector[]){ vec(
					    (struct vigil_fb_table[]){ nth(&r.ops, (uint32_t)op) }, OP_OUTPUTS, 4) },
					0);

		v = vec((struct vigil_fb_table[]){ nth(&r.ops, (uint32_t)op + 1) }, OP_OUTPUTS, 4);
		put_u32(r.buf + v.pos, (uint32_t)out);
		snprintf(needle, sizeof(needle), "already written by operator %d", op);
		expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EMODEL, needle, NULL);
	}
	free(r.buf);

	/* the weights' DEQUANTIZE fed a non-constant tensor */
	real_open(&r, SHORT_RANGE);
	v = vec((struct vigil_fb_table[]){ nth(&r.ops, 0) }, OP_INPUTS, 4);
	put_u32(r.buf + v.pos, 0);
	expect_fail(r.buf, r.len, "patched.tflite", VIGIL_EUNSUPPORTED, "operator 0 (DEQUANTIZE)",
		    "only expands FLOAT16 constant", NULL);
	free(r.buf);
}
END_TEST

/* ---- tiny models written from scratch ---------------------------------------------------------------------- */

/* A FlatBuffer writer for tests: objects are prepended (children before parents, as FlatBuffers are built), so
 * every uoffset points forward. Nothing is aligned, which also exercises the reader's unaligned loads. */
#define FBW_CAP (1 << 16)

struct fbw {
	uint8_t buf[FBW_CAP];
	size_t used; /* data occupies buf[FBW_CAP - used, FBW_CAP); objects are named by their distance to the end */
};

enum fbw_kind { FB_U8, FB_I32, FB_U64, FB_REF };

struct fbw_field {
	int id;
	enum fbw_kind kind;
	uint64_t v; /* the value, or for FB_REF the object it points to */
};

static size_t fbw_prepend(struct fbw *w, const void *p, size_t n)
{
	ck_assert(w->used + n <= FBW_CAP);
	w->used += n;
	memcpy(w->buf + FBW_CAP - w->used, p, n);
	return w->used;
}

static size_t fbw_u32(struct fbw *w, uint32_t v)
{
	uint8_t le[4];

	put_u32(le, v);
	return fbw_prepend(w, le, 4);
}

static size_t fbw_ref(struct fbw *w, size_t target)
{
	/* the field will sit at distance used + 4 from the end; the target is closer to the end */
	return fbw_u32(w, (uint32_t)(w->used + 4 - target));
}

static size_t fbw_vec_i32(struct fbw *w, const int32_t *v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		fbw_u32(w, (uint32_t)v[i]);
	return fbw_u32(w, (uint32_t)n);
}

static size_t fbw_vec_bytes(struct fbw *w, const void *data, size_t n)
{
	if (n)
		fbw_prepend(w, data, n);
	return fbw_u32(w, (uint32_t)n);
}

static size_t fbw_string(struct fbw *w, const char *s)
{
	fbw_prepend(w, "", 1);
	return fbw_vec_bytes(w, s, strlen(s));
}

static size_t fbw_vec_refs(struct fbw *w, const size_t *refs, int n)
{
	for (int i = n - 1; i >= 0; i--)
		fbw_ref(w, refs[i]);
	return fbw_u32(w, (uint32_t)n);
}

static size_t fbw_table(struct fbw *w, const struct fbw_field *f, int n)
{
	const size_t start = w->used;
	size_t at[16] = { 0 }, table;
	uint16_t vt[2 + 16] = { 0 };
	int max_id = -1;

	for (int i = n - 1; i >= 0; i--) {
		uint8_t le[8];

		ck_assert(f[i].id < 16);
		switch (f[i].kind) {
		case FB_U8:
			le[0] = (uint8_t)f[i].v;
			at[f[i].id] = fbw_prepend(w, le, 1);
			break;
		case FB_I32:
			at[f[i].id] = fbw_u32(w, (uint32_t)f[i].v);
			break;
		case FB_U64:
			put_u32(le, (uint32_t)f[i].v);
			put_u32(le + 4, (uint32_t)(f[i].v >> 32));
			at[f[i].id] = fbw_prepend(w, le, 8);
			break;
		case FB_REF:
			at[f[i].id] = fbw_ref(w, (size_t)f[i].v);
			break;
		}
		if (f[i].id > max_id)
			max_id = f[i].id;
	}
	vt[0] = (uint16_t)(4 + 2 * (max_id + 1));
	table = fbw_u32(w, vt[0]); /* soffset: the vtable sits right before the table */
	vt[1] = (uint16_t)(table - start);
	for (int id = 0; id <= max_id; id++)
		vt[2 + id] = at[id] ? (uint16_t)(table - at[id]) : 0;
	for (int i = 1 + max_id + 2 - 1; i >= 0; i--) {
		const uint8_t le[2] = { (uint8_t)vt[i], (uint8_t)(vt[i] >> 8) };

		fbw_prepend(w, le, 2);
	}
	return table;
}

static uint8_t *fbw_finish(struct fbw *w, size_t root, size_t *len)
{
	fbw_prepend(w, "TFL3", 4);
	fbw_ref(w, root);
	*len = w->used;
	return dup_bytes(w->buf + FBW_CAP - w->used, w->used);
}

/* A model description, written out by write_model(). */
struct mtensor {
	const char *name;
	int type, rank;
	int32_t dims[5];
	const void *data;
	size_t data_len;
	int variable;
};

struct mop {
	int code;
	const char *custom;
	int n_in, in[10];
	int n_out, out[2];
	int opt_type, n_opt;
	struct fbw_field opt[8];
};

struct model {
	int n_tensors;
	struct mtensor t[12];
	int n_ops;
	struct mop o[6];
	int n_in, in[4];
	int n_out, out[6];
	uint32_t version;
	int external_buffer; /* tensor whose buffer claims data outside the FlatBuffer, or -1 */
};

static uint8_t *write_model(const struct model *m, size_t *len)
{
	struct fbw *w = calloc(1, sizeof(*w));
	size_t buffers[16], tensors[12], ops[6], opcodes[6], sg, sgs, root, ref_bufs, ref_tensors, ref_ops, ref_codes;
	int n_buffers = 1, buffer_of[12];
	uint8_t *out;

	ck_assert(w != NULL);
	buffers[0] = fbw_table(w, NULL, 0);
	for (int i = 0; i < m->n_tensors; i++) {
		buffer_of[i] = 0;
		if (i == m->external_buffer) {
			buffer_of[i] = n_buffers;
			buffers[n_buffers++] =
			    fbw_table(w,
				      (struct fbw_field[]){ { BUFFER_OFFSET, FB_U64, 4096 },
							    { BUFFER_SIZE, FB_U64, m->t[i].data_len } },
				      2);
		} else if (m->t[i].data) {
			const size_t data = fbw_vec_bytes(w, m->t[i].data, m->t[i].data_len);

			buffer_of[i] = n_buffers;
			buffers[n_buffers++] = fbw_table(w, (struct fbw_field[]){ { BUFFER_DATA, FB_REF, data } }, 1);
		}
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const size_t shape = fbw_vec_i32(w, m->t[i].dims, m->t[i].rank);
		const size_t name = fbw_string(w, m->t[i].name);

		tensors[i] =
		    fbw_table(w,
			      (struct fbw_field[]){ { TENSOR_SHAPE, FB_REF, shape },
						    { TENSOR_TYPE, FB_U8, (uint64_t)m->t[i].type },
						    { TENSOR_BUFFER, FB_I32, (uint64_t)buffer_of[i] },
						    { TENSOR_NAME, FB_REF, name },
						    { TENSOR_IS_VARIABLE, FB_U8, (uint64_t)m->t[i].variable } },
			      5);
	}
	for (int i = 0; i < m->n_ops; i++) {
		const struct mop *o = &m->o[i];
		const size_t ins = fbw_vec_i32(w, o->in, o->n_in), outs = fbw_vec_i32(w, o->out, o->n_out);
		const size_t opt = fbw_table(w, o->opt, o->n_opt);
		const size_t custom = o->custom ? fbw_string(w, o->custom) : 0;
		struct fbw_field code[3] = { { OPCODE_DEPRECATED, FB_U8, (uint64_t)(o->code < 127 ? o->code : 127) },
					     { OPCODE_BUILTIN, FB_I32, (uint64_t)o->code },
					     { OPCODE_CUSTOM, FB_REF, custom } };

		opcodes[i] = fbw_table(w, code, o->custom ? 3 : 2);
		ops[i] = fbw_table(w,
				   (struct fbw_field[]){ { OP_OPCODE_INDEX, FB_I32, (uint64_t)i },
							 { OP_INPUTS, FB_REF, ins },
							 { OP_OUTPUTS, FB_REF, outs },
							 { OP_OPTIONS_TYPE, FB_U8, (uint64_t)o->opt_type },
							 { OP_OPTIONS, FB_REF, opt } },
				   5);
	}
	ref_tensors = fbw_vec_refs(w, tensors, m->n_tensors);
	ref_ops = fbw_vec_refs(w, ops, m->n_ops);
	{
		const size_t ins = fbw_vec_i32(w, m->in, m->n_in), outs = fbw_vec_i32(w, m->out, m->n_out);

		sg = fbw_table(w,
			       (struct fbw_field[]){ { SG_TENSORS, FB_REF, ref_tensors },
						     { SG_INPUTS, FB_REF, ins },
						     { SG_OUTPUTS, FB_REF, outs },
						     { SG_OPERATORS, FB_REF, ref_ops } },
			       4);
	}
	sgs = fbw_vec_refs(w, &sg, 1);
	ref_codes = fbw_vec_refs(w, opcodes, m->n_ops);
	ref_bufs = fbw_vec_refs(w, buffers, n_buffers);
	root = fbw_table(w,
			 (struct fbw_field[]){ { MODEL_VERSION, FB_I32, m->version },
					       { MODEL_OPERATOR_CODES, FB_REF, ref_codes },
					       { MODEL_SUBGRAPHS, FB_REF, sgs },
					       { MODEL_BUFFERS, FB_REF, ref_bufs } },
			 4);
	out = fbw_finish(w, root, len);
	free(w);
	return out;
}

static float weights[4 * 3 * 3 * 4], bias[4];

/*
 * input [1,8,8,4] -> CONV_2D 3x3 SAME (weights t1, bias t2) -> t3 -> ADD(t3, input) -> t4 (output)
 */
static void base_model(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		weights[i] = (float)i * 0.25f - 3.0f;
	for (int i = 0; i < 4; i++)
		bias[i] = 0.5f * (float)i;
	m->version = 3;
	m->external_buffer = -1;
	m->n_tensors = 5;
	m->t[0] = (struct mtensor){ .name = "input", .type = F32, .rank = 4, .dims = { 1, 8, 8, 4 } };
	m->t[1] = (struct mtensor){ .name = "w",
				    .type = F32,
				    .rank = 4,
				    .dims = { 4, 3, 3, 4 },
				    .data = weights,
				    .data_len = sizeof(weights) };
	m->t[2] = (struct mtensor){
		.name = "b", .type = F32, .rank = 1, .dims = { 4 }, .data = bias, .data_len = sizeof(bias)
	};
	m->t[3] = (struct mtensor){ .name = "conv", .type = F32, .rank = 4, .dims = { 1, 8, 8, 4 } };
	m->t[4] = (struct mtensor){ .name = "sum", .type = F32, .rank = 4, .dims = { 1, 8, 8, 4 } };
	m->n_ops = 2;
	m->o[0] = (struct mop){ .code = CONV_2D,
				.n_in = 3,
				.in = { 0, 1, 2 },
				.n_out = 1,
				.out = { 3 },
				.opt_type = OPT_CONV,
				.n_opt = 2,
				.opt = { { 1, FB_I32, 1 }, { 2, FB_I32, 1 } } };
	m->o[1] = (struct mop){ .code = ADD, .n_in = 2, .in = { 3, 0 }, .n_out = 1, .out = { 4 }, .opt_type = OPT_ADD };
	m->n_in = 1;
	m->in[0] = 0;
	m->n_out = 1;
	m->out[0] = 4;
}

static void expect_model_fail(const struct model *m, int err, const char *needle)
{
	size_t len;
	uint8_t *buf = write_model(m, &len);

	expect_fail(buf, len, "tiny.tflite", err, "model 'tiny.tflite'", needle, NULL);
	free(buf);
}

static void import_model_ok(const struct model *m, struct vigil_graph *g)
{
	size_t len;
	uint8_t *buf = write_model(m, &len);
	int ret = vigil_tflite_import(buf, len, "tiny.tflite", g);

	ck_assert_msg(ret == 0, "tiny model refused: %s", vigil_last_error());
	check_graph_sane(g, "tiny");
	free(buf); /* names point into the file; the tests below do not read them after this */
}

START_TEST(test_tiny_model)
{
	struct model m;
	struct vigil_graph g;
	const float *w, *b;

	base_model(&m);
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.n_ops, 2);
	ck_assert_int_eq(g.ops[0].kind, VIGIL_OP_CONV2D);
	ck_assert_int_eq(g.ops[0].p.conv.stride_w, 1);
	ck_assert_int_eq(g.ops[0].p.conv.dilation_w, 1); /* schema default */
	ck_assert_int_eq(g.ops[0].p.conv.act, VIGIL_ACT_NONE);
	ck_assert_int_eq(g.ops[1].kind, VIGIL_OP_ADD);
	w = g.tensors[1].data;
	b = g.tensors[2].data;
	ck_assert(w != NULL && b != NULL && w != (const float *)weights);
	ck_assert(memcmp(w, weights, sizeof(weights)) == 0 && memcmp(b, bias, sizeof(bias)) == 0);
	vigil_graph_free(&g);

	/* fused activations */
	m.o[1].n_opt = 1;
	m.o[1].opt[0] = (struct fbw_field){ 0, FB_U8, VIGIL_ACT_RELU6 };
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.ops[1].p.add.act, VIGIL_ACT_RELU6);
	vigil_graph_free(&g);
	m.o[1].opt[0].v = 4;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "operator 1 (ADD): fused activation TANH is not supported");
	m.o[1].opt[0].v = 9;
	expect_model_fail(&m, VIGIL_EMODEL, "fused activation 9");
}
END_TEST

START_TEST(test_tiny_conv_shapes)
{
	static const struct {
		int padding, stride, dilation, out;
	} cases[] = {
		/* SAME: ceil(8 / s); VALID: ceil((8 - (3 - 1) * d) / s) */
		{ 0, 1, 1, 8 }, { 0, 2, 1, 4 }, { 0, 3, 1, 3 }, { 0, 3, 2, 3 }, { 1, 1, 1, 6 },
		{ 1, 2, 1, 3 }, { 1, 3, 1, 2 }, { 1, 1, 2, 4 }, { 1, 2, 2, 2 }, { 1, 1, 3, 2 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct model m;
		struct vigil_graph g;

		base_model(&m);
		m.n_ops = 1;
		m.out[0] = 3;
		m.o[0].n_opt = 5;
		m.o[0].opt[0] = (struct fbw_field){ 0, FB_U8, (uint64_t)cases[c].padding };
		m.o[0].opt[1] = (struct fbw_field){ 1, FB_I32, (uint64_t)cases[c].stride };
		m.o[0].opt[2] = (struct fbw_field){ 2, FB_I32, (uint64_t)cases[c].stride };
		m.o[0].opt[3] = (struct fbw_field){ 4, FB_I32, (uint64_t)cases[c].dilation };
		m.o[0].opt[4] = (struct fbw_field){ 5, FB_I32, (uint64_t)cases[c].dilation };
		m.t[3].dims[1] = m.t[3].dims[2] = cases[c].out;
		import_model_ok(&m, &g);
		ck_assert_int_eq(g.ops[0].p.conv.dilation_h, cases[c].dilation);
		ck_assert_int_eq(g.ops[0].p.conv.padding, cases[c].padding);
		vigil_graph_free(&g);
		m.t[3].dims[2] = cases[c].out + 1;
		expect_model_fail(&m, VIGIL_EMODEL, "but the operator computes");
	}
}
END_TEST

START_TEST(test_tiny_conv_errors)
{
	struct model m;

	base_model(&m);
	m.o[0].n_opt = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "stride_w is 0");
	base_model(&m);
	m.o[0].opt_type = OPT_POOL;
	expect_model_fail(&m, VIGIL_EMODEL, "union type 5, expected type 1");
	base_model(&m);
	m.o[0].opt[2] = (struct fbw_field){ 0, FB_U8, 2 };
	m.o[0].n_opt = 3;
	expect_model_fail(&m, VIGIL_EMODEL, "padding 2");
	base_model(&m);
	m.o[0].n_opt = 3;
	m.o[0].opt[2] = (struct fbw_field){ 4, FB_I32, 0 };
	expect_model_fail(&m, VIGIL_EMODEL, "dilation_w_factor is 0");
	base_model(&m);
	m.o[0].opt[0].v = m.o[0].opt[1].v = (uint32_t)INT32_MAX; /* huge strides: SAME gives 1x1 */
	expect_model_fail(&m, VIGIL_EMODEL, "computes [1,1,1,4]");
	base_model(&m);
	m.o[0].n_opt = 4; /* VALID with a dilated kernel far wider than the input */
	m.o[0].opt[2] = (struct fbw_field){ 0, FB_U8, 1 };
	m.o[0].opt[3] = (struct fbw_field){ 4, FB_I32, 100000 };
	expect_model_fail(&m, VIGIL_EMODEL, "does not fit the 8x8 input");
	/* no bias */
	base_model(&m);
	m.o[0].n_in = 2;
	{
		struct vigil_graph g;

		import_model_ok(&m, &g);
		ck_assert(g.ops[0].n_inputs < 3 || g.ops[0].inputs[2] == -1);
		vigil_graph_free(&g);
	}
	base_model(&m);
	m.o[0].in[2] = -1;
	{
		struct vigil_graph g;

		import_model_ok(&m, &g);
		ck_assert_int_eq(g.ops[0].inputs[2], -1);
		vigil_graph_free(&g);
	}
	base_model(&m);
	m.t[2].dims[0] = 2;
	m.t[2].data_len = 8;
	expect_model_fail(&m, VIGIL_EMODEL, "bias (tensor 2 'b') has 2 values");
	base_model(&m);
	m.t[1].dims[3] = 2;
	m.t[1].data_len /= 2;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "grouped convolution");
	base_model(&m);
	m.t[1].dims[3] = 3;
	m.t[1].data_len = 4 * 3 * 3 * 3 * 4;
	expect_model_fail(&m, VIGIL_EMODEL, "take 3 input channels, the input has 4");
	base_model(&m);
	m.t[1].data = NULL;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "weights (input 1, tensor 1 'w') is computed at run time");
	base_model(&m);
	m.t[1].type = F16;
	m.t[1].data_len /= 2;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "only read through DEQUANTIZE");
	base_model(&m);
	m.o[0].n_in = 4;
	expect_model_fail(&m, VIGIL_EMODEL, "has 4 inputs, expected 2 to 3");
	base_model(&m);
	m.o[0].n_out = 2;
	m.o[0].out[1] = 4;
	expect_model_fail(&m, VIGIL_EMODEL, "has 2 outputs, expected 1");
}
END_TEST

START_TEST(test_tiny_depthwise)
{
	struct model m;
	struct vigil_graph g;

	base_model(&m);
	m.o[0].code = DEPTHWISE_CONV_2D;
	m.o[0].opt_type = OPT_DW;
	m.t[1].dims[0] = 1;
	m.t[1].dims[3] = 8; /* multiplier 2, derived because the options leave it 0 */
	m.t[2] =
	    (struct mtensor){ .name = "b", .type = F32, .rank = 1, .dims = { 8 }, .data = weights, .data_len = 32 };
	m.t[3].dims[3] = 8;
	m.t[1].data_len = 1 * 3 * 3 * 8 * 4;
	m.n_ops = 1;
	m.out[0] = 3;
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.ops[0].kind, VIGIL_OP_DWCONV2D);
	ck_assert_int_eq(g.ops[0].p.conv.depth_multiplier, 2);
	vigil_graph_free(&g);
	m.o[0].n_opt = 3;
	m.o[0].opt[2] = (struct fbw_field){ 3, FB_I32, 3 };
	expect_model_fail(&m, VIGIL_EMODEL, "depth_multiplier 3 with 4 input channels gives 12 outputs");
	m.o[0].opt[2] = (struct fbw_field){ 4, FB_U8, 5 };
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "SIGN_BIT");
	m.o[0].n_opt = 2;
	m.t[1].dims[0] = 2;
	m.t[1].dims[3] = 4;
	expect_model_fail(&m, VIGIL_EMODEL, "expected [1,KH,KW,C*multiplier]");
}
END_TEST

START_TEST(test_tiny_add_relu_pool)
{
	struct model m;
	struct vigil_graph g;

	/* ADD of [1,8,8,4] and [1,1,1,4]: broadcasting is refused. MAX_POOL 8x8 VALID makes the small one. */
	base_model(&m);
	m.t[5] = (struct mtensor){ .name = "pooled", .type = F32, .rank = 4, .dims = { 1, 1, 1, 4 } };
	m.n_tensors = 6;
	m.o[1] = (struct mop){
		.code = MAX_POOL_2D,
		.n_in = 1,
		.in = { 3 },
		.n_out = 1,
		.out = { 5 },
		.opt_type = OPT_POOL,
		.n_opt = 5,
		.opt = { { 0, FB_U8, 1 }, { 1, FB_I32, 1 }, { 2, FB_I32, 1 }, { 3, FB_I32, 8 }, { 4, FB_I32, 8 } }
	};
	m.o[2] = (struct mop){ .code = ADD, .n_in = 2, .in = { 3, 5 }, .n_out = 1, .out = { 4 }, .opt_type = OPT_ADD };
	m.n_ops = 3;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "adds [1,8,8,4] to [1,1,1,4], which needs broadcasting");

	/* the pool alone, then RELU */
	m.o[2] = (struct mop){ .code = RELU, .n_in = 1, .in = { 5 }, .n_out = 1, .out = { 4 } };
	m.t[4] = (struct mtensor){ .name = "relu", .type = F32, .rank = 4, .dims = { 1, 1, 1, 4 } };
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.ops[1].kind, VIGIL_OP_MAXPOOL2D);
	ck_assert_int_eq(g.ops[1].p.pool.filter_h, 8);
	ck_assert_int_eq(g.ops[1].p.pool.padding, VIGIL_PAD_VALID);
	ck_assert_int_eq(g.ops[2].kind, VIGIL_OP_RELU);
	vigil_graph_free(&g);
	m.t[4].dims[3] = 5;
	expect_model_fail(&m, VIGIL_EMODEL, "operator 2 (RELU): output tensor 4 'relu' is [1,1,1,5]");
	m.t[4].dims[3] = 4;
	m.o[1].opt[3].v = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "filter_width is 0");

	/* an activation that is constant data */
	base_model(&m);
	m.o[1].in[1] = 2;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "input 1 (tensor 2 'b') is constant data");
}
END_TEST

START_TEST(test_tiny_pad_reshape_concat_resize)
{
	static const int32_t pads[4][2] = { { 0, 0 }, { 1, 2 }, { 0, 1 }, { 0, 0 } };
	static const int32_t size[2] = { 16, 12 };
	static const int32_t new_shape[3] = { 1, -1, 4 };
	struct model m;
	struct vigil_graph g;

	/* input -> PAD -> [1,11,9,4] -> RESIZE_BILINEAR -> [1,16,12,4] */
	base_model(&m);
	m.t[1] = (struct mtensor){
		.name = "pads", .type = I32, .rank = 2, .dims = { 4, 2 }, .data = pads, .data_len = sizeof(pads)
	};
	m.t[2] = (struct mtensor){
		.name = "size", .type = I32, .rank = 1, .dims = { 2 }, .data = size, .data_len = sizeof(size)
	};
	m.t[3] = (struct mtensor){ .name = "padded", .type = F32, .rank = 4, .dims = { 1, 11, 9, 4 } };
	m.t[4] = (struct mtensor){ .name = "resized", .type = F32, .rank = 4, .dims = { 1, 16, 12, 4 } };
	m.o[0] = (struct mop){ .code = PAD, .n_in = 2, .in = { 0, 1 }, .n_out = 1, .out = { 3 } };
	m.o[1] = (struct mop){ .code = RESIZE_BILINEAR,
			       .n_in = 2,
			       .in = { 3, 2 },
			       .n_out = 1,
			       .out = { 4 },
			       .opt_type = OPT_RESIZE,
			       .n_opt = 1,
			       .opt = { { 2, FB_U8, 1 } } };
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.ops[0].kind, VIGIL_OP_PAD);
	ck_assert_int_eq(g.ops[0].n_inputs, 2);
	ck_assert_int_eq(((const int32_t *)g.tensors[1].data)[3], 2);
	ck_assert_int_eq(g.ops[1].p.resize.align_corners, 1);
	ck_assert_int_eq(g.ops[1].p.resize.half_pixel_centers, 0);
	vigil_graph_free(&g);
	m.o[1].n_opt = 2;
	m.o[1].opt[1] = (struct fbw_field){ 3, FB_U8, 1 };
	expect_model_fail(&m, VIGIL_EMODEL, "align_corners and half_pixel_centers are both set");
	m.o[1].n_opt = 0;
	m.t[4].dims[1] = 17;
	expect_model_fail(&m, VIGIL_EMODEL, "computes [1,16,12,4]");
	m.t[4].dims[1] = 16;
	m.t[3].dims[2] = 10;
	expect_model_fail(&m, VIGIL_EMODEL, "operator 0 (PAD): output tensor 3 'padded' is [1,11,10,4]");
	m.t[3].dims[2] = 9;
	m.t[1].dims[0] = 3;
	m.t[1].data_len = 24;
	expect_model_fail(&m, VIGIL_EMODEL, "must be [4,2]");
	m.t[1].dims[0] = 4;
	m.t[1].data_len = sizeof(pads);
	m.t[1].type = F32;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "paddings (input 1, tensor 1 'pads') is FLOAT32, expected INT32");

	/* input -> RESHAPE [1,64,4] (shape input with -1) x2 -> CONCATENATION axis -2 -> [1,128,4] */
	base_model(&m);
	m.t[1] = (struct mtensor){
		.name = "shape", .type = I32, .rank = 1, .dims = { 3 }, .data = new_shape, .data_len = sizeof(new_shape)
	};
	m.t[2] = (struct mtensor){ .name = "flat", .type = F32, .rank = 3, .dims = { 1, 64, 4 } };
	m.t[3] = (struct mtensor){ .name = "flat2", .type = F32, .rank = 3, .dims = { 1, 64, 4 } };
	m.t[4] = (struct mtensor){ .name = "cat", .type = F32, .rank = 3, .dims = { 1, 128, 4 } };
	m.o[0] = (struct mop){ .code = RESHAPE, .n_in = 2, .in = { 0, 1 }, .n_out = 1, .out = { 2 } };
	m.o[1] = (struct mop){ .code = RESHAPE, .n_in = 1, .in = { 0 }, .n_out = 1, .out = { 3 } };
	m.o[2] = (struct mop){ .code = CONCATENATION,
			       .n_in = 2,
			       .in = { 2, 3 },
			       .n_out = 1,
			       .out = { 4 },
			       .opt_type = OPT_CONCAT,
			       .n_opt = 1,
			       .opt = { { 0, FB_I32, (uint64_t)(uint32_t)-2 } } };
	m.n_ops = 3;
	import_model_ok(&m, &g);
	ck_assert_int_eq(g.ops[0].kind, VIGIL_OP_RESHAPE);
	ck_assert_int_eq(g.ops[0].n_inputs, 1);
	ck_assert_int_eq(g.ops[2].kind, VIGIL_OP_CONCAT);
	ck_assert_int_eq(g.ops[2].p.concat.axis, 1);
	vigil_graph_free(&g);
	m.o[2].opt[0].v = 3;
	expect_model_fail(&m, VIGIL_EMODEL, "axis 3 is out of range");
	m.o[2].opt[0].v = 1;
	m.t[4].dims[1] = 127;
	expect_model_fail(&m, VIGIL_EMODEL, "computes [1,128,4]");
	m.t[4].dims[1] = 128;
	m.o[2].n_in = 9;
	for (int k = 2; k < 9; k++)
		m.o[2].in[k] = 2;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "has 9 inputs");
	m.o[2].n_in = 2;
	m.t[3] = (struct mtensor){ .name = "flat2", .type = F32, .rank = 3, .dims = { 1, 32, 8 } };
	expect_model_fail(&m, VIGIL_EMODEL, "input 1 is [1,32,8], input 0 is [1,64,4]");
	m.t[3] = (struct mtensor){ .name = "flat2", .type = F32, .rank = 3, .dims = { 1, 64, 5 } };
	expect_model_fail(&m, VIGIL_EMODEL, "reshapes 256 elements (tensor 0 'input') into 320");
	m.t[3] = (struct mtensor){ .name = "flat2", .type = F32, .rank = 3, .dims = { 1, 64, 4 } };
	m.t[2].dims[2] = 2;
	m.t[2].dims[1] = 128;
	expect_model_fail(&m, VIGIL_EMODEL, "shape input says dimension 2 is 4");
}
END_TEST

START_TEST(test_tiny_dequantize)
{
	/* 0, 1, -2.5, smallest normal, smallest subnormal, -0, +inf, a NaN, 65504 (largest) */
	static const uint16_t half[9] = { 0x0000, 0x3c00, 0xc100, 0x0400, 0x0001, 0x8000, 0x7c00, 0x7e00, 0x7bff };
	struct model m;
	struct vigil_graph g;

	/* input -> ADD(input, DEQUANTIZE(f16 constant)) is refused (constant activation), so feed a conv bias */
	base_model(&m);
	m.t[5] = (struct mtensor){ .name = "b16", .type = F16, .rank = 1, .dims = { 4 }, .data = half, .data_len = 8 };
	m.n_tensors = 6;
	m.t[2].data = NULL;
	m.o[2] = m.o[1];
	m.o[1] = m.o[0];
	m.o[0] = (struct mop){ .code = DEQUANTIZE, .n_in = 1, .in = { 5 }, .n_out = 1, .out = { 2 } };
	m.n_ops = 3;
	for (int start = 0; start < 9; start += 4) {
		const float *b;

		m.t[5].data = half + (start < 5 ? start : 5);
		import_model_ok(&m, &g);
		ck_assert_int_eq(g.n_ops, 2); /* the DEQUANTIZE is gone */
		ck_assert_int_eq(g.tensors[2].dtype, VIGIL_DT_F32);
		b = g.tensors[2].data;
		for (int k = 0; k < 4; k++) {
			const float want = ref_half(((const uint16_t *)m.t[5].data)[k]);

			ck_assert_msg(memcmp(&b[k], &want, 4) == 0 || (isnan(b[k]) && isnan(want)),
				      "half 0x%04x became %g, expected %g", ((const uint16_t *)m.t[5].data)[k], b[k],
				      want);
		}
		vigil_graph_free(&g);
	}
	m.t[5].type = F32;
	m.t[5].data = weights;
	m.t[5].data_len = 16;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "dequantizes tensor 5 'b16' (constant FLOAT32)");
	m.t[5].type = F16;
	m.t[5].data = half;
	m.t[5].data_len = 8;
	m.t[5].dims[0] = 2; /* DEQUANTIZE output shape differs */
	m.t[5].data_len = 4;
	expect_model_fail(&m, VIGIL_EMODEL, "shapes differ");
	/* the folded constant as a graph output */
	m.t[5].dims[0] = 4;
	m.t[5].data_len = 8;
	m.n_out = 2;
	m.out[1] = 2;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "graph output 1 (tensor 2 'b') is constant data");
}
END_TEST

START_TEST(test_tiny_model_level)
{
	struct model m;

	base_model(&m);
	m.external_buffer = 1;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "outside the FlatBuffer");
	base_model(&m);
	m.n_in = 2;
	m.in[1] = 3;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "2 inputs");
	base_model(&m);
	m.n_in = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "no input");
	base_model(&m);
	m.in[0] = 1;
	expect_model_fail(&m, VIGIL_EMODEL, "graph input tensor 1 'w' holds constant data");
	base_model(&m);
	m.t[0].type = I8;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "graph input tensor 0 'input' is INT8");
	base_model(&m);
	m.t[3].type = STRING;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "tensor 3 'conv' has type STRING");
	base_model(&m);
	m.n_out = 5;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "5 outputs");
	base_model(&m);
	m.n_out = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "no output");
	base_model(&m);
	m.n_out = 2;
	m.out[1] = 4;
	expect_model_fail(&m, VIGIL_EMODEL, "graph outputs 0 and 1 are both tensor 4");
	base_model(&m);
	m.out[0] = 0;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "graph output 0 is the graph input");
	base_model(&m);
	m.n_ops = 1;
	expect_model_fail(&m, VIGIL_EMODEL, "graph output 0 (tensor 4 'sum') is computed by no operator");
	base_model(&m);
	m.n_ops = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "no operators");
	base_model(&m);
	m.t[3].variable = 1;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "tensor 3 'conv' is a variable");
	base_model(&m);
	m.t[3].rank = 5;
	m.t[3].dims[4] = 1;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "rank 5");
	base_model(&m);
	m.version = 4;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "schema version 4");
	base_model(&m);
	m.o[1].code = CUSTOM;
	m.o[1].custom = "MyFancyOp";
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "operator 1 is CUSTOM ('MyFancyOp'), which Vigil does not support");
	base_model(&m);
	m.o[1].code = 124;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "operator 1 is DENSIFY");
	base_model(&m);
	m.o[0].in[0] = 3; /* reads its own output */
	expect_model_fail(&m, VIGIL_EMODEL, "reads tensor 3 'conv' before any operator computes it");
	base_model(&m);
	m.o[1].out[0] = 2;
	expect_model_fail(&m, VIGIL_EMODEL, "operator 1 (ADD): writes tensor 2 'b', which is constant data");
	base_model(&m);
	m.o[1].out[0] = 0;
	expect_model_fail(&m, VIGIL_EMODEL, "writes tensor 0 'input', which is the graph input");
	base_model(&m);
	m.t[4].type = I32;
	expect_model_fail(&m, VIGIL_EUNSUPPORTED, "output tensor 4 'sum' is INT32");
	base_model(&m);
	m.t[2].data_len = 12;
	expect_model_fail(&m, VIGIL_EMODEL, "tensor 2 'b': buffer 2 holds 12 bytes, but [4] FLOAT32 needs 16");
}
END_TEST

/* ---- the reader on its own --------------------------------------------------------------------------------- */

START_TEST(test_reader_basics)
{
	struct fbw *w = calloc(1, sizeof(*w));
	struct vigil_fb fb;
	struct vigil_fb_table root, sub;
	struct vigil_fb_vector v;
	size_t len, s, t, vecref;
	uint8_t *buf, u8;
	int32_t i32;
	uint64_t u64;
	const char *str;
	int b;

	ck_assert(w != NULL);
	s = fbw_string(w, "hello");
	vecref = fbw_vec_i32(w, (const int32_t[]){ 7, -8, 9 }, 3);
	t = fbw_table(w, (struct fbw_field[]){ { 1, FB_I32, (uint64_t)(uint32_t)-42 } }, 1);
	t = fbw_table(w,
		      (struct fbw_field[]){ { 0, FB_U8, 200 },
					    { 1, FB_REF, s },
					    { 2, FB_REF, vecref },
					    { 3, FB_REF, t },
					    { 4, FB_U64, 0x123456789abcdefULL },
					    { 6, FB_U8, 11 },
					    { 7, FB_REF, t },
					    { 8, FB_U8, 3 } },
		      8);
	buf = fbw_finish(w, t, &len);
	free(w);
	ck_assert_int_eq(vigil_fb_init(&fb, buf, len), 0);
	ck_assert_int_eq(vigil_fb_has_identifier(&fb, "TFL3"), 1);
	ck_assert_int_eq(vigil_fb_root(&fb, &root), 0);
	ck_assert_int_eq(vigil_fb_u8(&root, 0, 1, &u8), 1);
	ck_assert_int_eq(u8, 200);
	ck_assert_int_eq(vigil_fb_u8(&root, 5, 77, &u8), 0); /* absent inside the vtable: the default */
	ck_assert_int_eq(u8, 77);
	ck_assert_int_eq(vigil_fb_u8(&root, 40, 78, &u8), 0); /* past the vtable: the default */
	ck_assert_int_eq(u8, 78);
	ck_assert_int_eq(vigil_fb_u64(&root, 4, 0, &u64), 1);
	ck_assert(u64 == 0x123456789abcdefULL);
	ck_assert_int_eq(vigil_fb_string(&root, 1, "greeting", &str), 1);
	ck_assert_str_eq(str, "hello");
	ck_assert_int_eq(vigil_fb_string(&root, 5, "missing", &str), 0);
	ck_assert_str_eq(str, "");
	ck_assert_int_eq(vigil_fb_vector(&root, 2, 4, "numbers", &v), 1);
	ck_assert_int_eq(v.count, 3);
	ck_assert_int_eq(vigil_fb_vector_i32(&v, 1), -8);
	ck_assert_int_eq(vigil_fb_table(&root, 3, "child", &sub), 1);
	ck_assert_int_eq(sub.depth, 1);
	ck_assert_int_eq(vigil_fb_i32(&sub, 1, 0, &i32), 1);
	ck_assert_int_eq(i32, -42);
	ck_assert_int_eq(vigil_fb_bool(&sub, 0, 1, &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(vigil_fb_union(&root, 6, "choice", &u8, &sub), 1);
	ck_assert_int_eq(u8, 11);
	/* reading a 4-byte field where a 1-byte one is stored runs off the table */
	ck_assert_int_eq(vigil_fb_u64(&sub, 1, 0, &u64), VIGIL_EMODEL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "outside the table"));
	/* a union type without its value */
	ck_assert_int_eq(vigil_fb_union(&root, 8, "choice", &u8, &sub), VIGIL_EMODEL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "has type 3 but no value"));
	ck_assert_int_eq(vigil_fb_union(&sub, 0, "choice", &u8, &sub), 0); /* NONE */
	ck_assert_int_eq(vigil_fb_init(&fb, buf, 7), VIGIL_EMODEL);
	free(buf);
}
END_TEST

START_TEST(test_reader_depth_limit)
{
	struct fbw *w = calloc(1, sizeof(*w));
	struct vigil_fb fb;
	struct vigil_fb_table t;
	size_t len, ref;
	uint8_t *buf;
	int depth = 0, ret;

	/* a chain of tables, each pointing at the next through field 0 */
	ck_assert(w != NULL);
	ref = fbw_table(w, NULL, 0);
	for (int i = 0; i < VIGIL_FB_MAX_DEPTH + 4; i++)
		ref = fbw_table(w, (struct fbw_field[]){ { 0, FB_REF, ref } }, 1);
	buf = fbw_finish(w, ref, &len);
	free(w);
	ck_assert_int_eq(vigil_fb_init(&fb, buf, len), 0);
	ck_assert_int_eq(vigil_fb_root(&fb, &t), 0);
	while ((ret = vigil_fb_table(&t, 0, "link", &t)) == 1)
		depth++;
	ck_assert_int_eq(ret, VIGIL_EMODEL);
	ck_assert_int_eq(depth, VIGIL_FB_MAX_DEPTH);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "nested"));
	free(buf);
}
END_TEST

static Suite *tflite_suite(void)
{
	Suite *s = suite_create("tflite");
	TCase *real = tcase_create("real models"), *bad = tcase_create("bad files"), *patch = tcase_create("patched"),
	      *tiny = tcase_create("tiny models"), *reader = tcase_create("reader");

	tcase_add_test(real, test_short_range_model);
	tcase_add_test(real, test_full_range_model);
	tcase_add_test(real, test_sparse_model_refused);
	tcase_add_test(real, test_identifier_optional);
	tcase_add_test(bad, test_bad_arguments);
	tcase_add_test(bad, test_wrong_files);
	tcase_add_test(bad, test_truncated);
	tcase_add_test(bad, test_bit_flips);
	tcase_set_timeout(bad, 300);
	tcase_add_test(patch, test_patch_operator_tensor_index);
	tcase_add_test(patch, test_patch_buffer_index);
	tcase_add_test(patch, test_patch_opcode_index);
	tcase_add_test(patch, test_patch_dimensions);
	tcase_add_test(patch, test_patch_shape_and_rank);
	tcase_add_test(patch, test_patch_buffer_size);
	tcase_add_test(patch, test_patch_vtable);
	tcase_add_test(patch, test_patch_string_terminator);
	tcase_add_test(patch, test_patch_unsupported_op);
	tcase_add_test(patch, test_patch_graph_structure);
	tcase_add_test(tiny, test_tiny_model);
	tcase_add_test(tiny, test_tiny_conv_shapes);
	tcase_add_test(tiny, test_tiny_conv_errors);
	tcase_add_test(tiny, test_tiny_depthwise);
	tcase_add_test(tiny, test_tiny_add_relu_pool);
	tcase_add_test(tiny, test_tiny_pad_reshape_concat_resize);
	tcase_add_test(tiny, test_tiny_dequantize);
	tcase_add_test(tiny, test_tiny_model_level);
	tcase_add_test(reader, test_reader_basics);
	tcase_add_test(reader, test_reader_depth_limit);
	suite_add_tcase(s, real);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, patch);
	suite_add_tcase(s, tiny);
	suite_add_tcase(s, reader);
	return s;
}

int main(void)
{
	Suite *s = tflite_suite();

	return tu_run(s, CK_FORK);
}
