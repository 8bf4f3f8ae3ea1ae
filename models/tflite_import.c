/* SPDX-License-Identifier: Apache-2.0
 * TFLite importer: reads a .tflite FlatBuffer with the bounds-checked reader in flatbuf.c and builds the engine
 * graph of its first subgraph. Field ids and enum values below are facts of the TFLite schema
 * (tensorflow/lite/schema/schema.fbs, version 3 with its compatible additions 3a-3c).
 *
 * The checks run in file order: model header, every tensor (shape, type, buffer), the graph's inputs and
 * outputs, then the operators in execution order, so that an operator can only read constants, the graph
 * input, or tensors an earlier operator wrote. Constant data is copied (float16 expanded) into one aligned
 * block only once everything has been validated. */
#include "tflite.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detpp.h"
#include "error.h"
#include "flatbuf.h"
#include "vigil/vigil.h"

/* ---- schema facts ---------------------------------------------------------------------------------------- */

enum { MODEL_VERSION = 0, MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED_BUILTIN = 0, OPCODE_CUSTOM = 1, OPCODE_BUILTIN = 3 };
enum { SUBGRAPH_TENSORS = 0, SUBGRAPH_INPUTS = 1, SUBGRAPH_OUTPUTS = 2, SUBGRAPH_OPERATORS = 3 };
enum {
	TENSOR_SHAPE = 0,
	TENSOR_TYPE = 1,
	TENSOR_BUFFER = 2,
	TENSOR_NAME = 3,
	TENSOR_QUANTIZATION = 4,
	TENSOR_IS_VARIABLE = 5,
	TENSOR_SPARSITY = 6,
	TENSOR_SHAPE_SIGNATURE = 7,
};
enum { OP_OPCODE_INDEX = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_BUILTIN_OPTIONS_TYPE = 3, OP_CUSTOM_OPTIONS = 5 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DETAILS_TYPE = 4, QUANT_DIMENSION = 6 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };

/* TensorType */
enum { TFL_FLOAT32 = 0, TFL_FLOAT16 = 1, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4, TFL_INT8 = 9 };

/* BuiltinOperator codes Vigil runs or treats specially */
enum {
	BUILTIN_ADD = 0,
	BUILTIN_AVERAGE_POOL_2D = 1,
	BUILTIN_CONCATENATION = 2,
	BUILTIN_CONV_2D = 3,
	BUILTIN_DEPTHWISE_CONV_2D = 4,
	BUILTIN_DEQUANTIZE = 6,
	BUILTIN_LOGISTIC = 14,
	BUILTIN_MAX_POOL_2D = 17,
	BUILTIN_RELU = 19,
	BUILTIN_RESHAPE = 22,
	BUILTIN_RESIZE_BILINEAR = 23,
	BUILTIN_CUSTOM = 32,
	BUILTIN_PAD = 34,
	BUILTIN_QUANTIZE = 114,
	BUILTIN_DENSIFY = 124,
};

#define DETPP_NAME "TFLite_Detection_PostProcess"

/* BuiltinOptions union members and their fields */
enum {
	OPT_CONV2D = 1,
	OPT_DEPTHWISE_CONV2D = 2,
	OPT_POOL2D = 5,
	OPT_CONCATENATION = 10,
	OPT_ADD = 11,
	OPT_RESIZE_BILINEAR = 15,
};
enum { CONV_PADDING = 0, CONV_STRIDE_W = 1, CONV_STRIDE_H = 2, CONV_ACT = 3, CONV_DILATION_W = 4, CONV_DILATION_H = 5 };
enum {
	DW_PADDING = 0,
	DW_STRIDE_W = 1,
	DW_STRIDE_H = 2,
	DW_DEPTH_MULTIPLIER = 3,
	DW_ACT = 4,
	DW_DILATION_W = 5,
	DW_DILATION_H = 6,
};
enum { POOL_PADDING = 0, POOL_STRIDE_W = 1, POOL_STRIDE_H = 2, POOL_FILTER_W = 3, POOL_FILTER_H = 4, POOL_ACT = 5 };
enum { CONCAT_AXIS = 0, CONCAT_ACT = 1 };
enum { ADD_ACT = 0 };
enum { RESIZE_ALIGN_CORNERS = 2, RESIZE_HALF_PIXEL_CENTERS = 3 };

/* ActivationFunctionType values past RELU6 */
enum { TFL_ACT_TANH = 4, TFL_ACT_SIGN_BIT = 5 };

static const char *const builtin_names[] = {
	"ADD",
	"AVERAGE_POOL_2D",
	"CONCATENATION",
	"CONV_2D",
	"DEPTHWISE_CONV_2D",
	"DEPTH_TO_SPACE",
	"DEQUANTIZE",
	"EMBEDDING_LOOKUP",
	"FLOOR",
	"FULLY_CONNECTED",
	"HASHTABLE_LOOKUP",
	"L2_NORMALIZATION",
	"L2_POOL_2D",
	"LOCAL_RESPONSE_NORMALIZATION",
	"LOGISTIC",
	"LSH_PROJECTION",
	"LSTM",
	"MAX_POOL_2D",
	"MUL",
	"RELU",
	"RELU_N1_TO_1",
	"RELU6",
	"RESHAPE",
	"RESIZE_BILINEAR",
	"RNN",
	"SOFTMAX",
	"SPACE_TO_DEPTH",
	"SVDF",
	"TANH",
	"CONCAT_EMBEDDINGS",
	"SKIP_GRAM",
	"CALL",
	"CUSTOM",
	"EMBEDDING_LOOKUP_SPARSE",
	"PAD",
	"UNIDIRECTIONAL_SEQUENCE_RNN",
	"GATHER",
	"BATCH_TO_SPACE_ND",
	"SPACE_TO_BATCH_ND",
	"TRANSPOSE",
	"MEAN",
	"SUB",
	"DIV",
	"SQUEEZE",
	"UNIDIRECTIONAL_SEQUENCE_LSTM",
	"STRIDED_SLICE",
	"BIDIRECTIONAL_SEQUENCE_RNN",
	"EXP",
	"TOPK_V2",
	"SPLIT",
	"LOG_SOFTMAX",
	"DELEGATE",
	"BIDIRECTIONAL_SEQUENCE_LSTM",
	"CAST",
	"PRELU",
	"MAXIMUM",
	"ARG_MAX",
	"MINIMUM",
	"LESS",
	"NEG",
	"PADV2",
	"GREATER",
	"GREATER_EQUAL",
	"LESS_EQUAL",
	"SELECT",
	"SLICE",
	"SIN",
	"TRANSPOSE_CONV",
	"SPARSE_TO_DENSE",
	"TILE",
	"EXPAND_DIMS",
	"EQUAL",
	"NOT_EQUAL",
	"LOG",
	"SUM",
	"SQRT",
	"RSQRT",
	"SHAPE",
	"POW",
	"ARG_MIN",
	"FAKE_QUANT",
	"REDUCE_PROD",
	"REDUCE_MAX",
	"PACK",
	"LOGICAL_OR",
	"ONE_HOT",
	"LOGICAL_AND",
	"LOGICAL_NOT",
	"UNPACK",
	"REDUCE_MIN",
	"FLOOR_DIV",
	"REDUCE_ANY",
	"SQUARE",
	"ZEROS_LIKE",
	"FILL",
	"FLOOR_MOD",
	"RANGE",
	"RESIZE_NEAREST_NEIGHBOR",
	"LEAKY_RELU",
	"SQUARED_DIFFERENCE",
	"MIRROR_PAD",
	"ABS",
	"SPLIT_V",
	"UNIQUE",
	"CEIL",
	"REVERSE_V2",
	"ADD_N",
	"GATHER_ND",
	"COS",
	"WHERE",
	"RANK",
	"ELU",
	"REVERSE_SEQUENCE",
	"MATRIX_DIAG",
	"QUANTIZE",
	"MATRIX_SET_DIAG",
	"ROUND",
	"HARD_SWISH",
	"IF",
	"WHILE",
	"NON_MAX_SUPPRESSION_V4",
	"NON_MAX_SUPPRESSION_V5",
	"SCATTER_ND",
	"SELECT_V2",
	"DENSIFY",
	"SEGMENT_SUM",
	"BATCH_MATMUL",
	"PLACEHOLDER_FOR_GREATER_OP_CODES",
	"CUMSUM",
	"CALL_ONCE",
	"BROADCAST_TO",
	"RFFT2D",
	"CONV_3D",
	"IMAG",
	"REAL",
	"COMPLEX_ABS",
	"HASHTABLE",
	"HASHTABLE_FIND",
	"HASHTABLE_IMPORT",
	"HASHTABLE_SIZE",
	"REDUCE_ALL",
	"CONV_3D_TRANSPOSE",
	"VAR_HANDLE",
	"READ_VARIABLE",
	"ASSIGN_VARIABLE",
	"BROADCAST_ARGS",
	"RANDOM_STANDARD_NORMAL",
	"BUCKETIZE",
	"RANDOM_UNIFORM",
	"MULTINOMIAL",
	"GELU",
	"DYNAMIC_UPDATE_SLICE",
	"RELU_0_TO_1",
	"UNSORTED_SEGMENT_PROD",
	"UNSORTED_SEGMENT_MAX",
	"UNSORTED_SEGMENT_SUM",
	"ATAN2",
	"UNSORTED_SEGMENT_MIN",
	"SIGN",
	"BITCAST",
	"BITWISE_XOR",
	"RIGHT_SHIFT",
	"STABLEHLO_LOGISTIC",
	"STABLEHLO_ADD",
	"STABLEHLO_DIVIDE",
	"STABLEHLO_MULTIPLY",
	"STABLEHLO_MAXIMUM",
	"STABLEHLO_RESHAPE",
	"STABLEHLO_CLAMP",
	"STABLEHLO_CONCATENATE",
	"STABLEHLO_BROADCAST_IN_DIM",
	"STABLEHLO_CONVOLUTION",
	"STABLEHLO_SLICE",
	"STABLEHLO_CUSTOM_CALL",
	"STABLEHLO_REDUCE",
	"STABLEHLO_ABS",
	"STABLEHLO_AND",
	"STABLEHLO_COSINE",
	"STABLEHLO_EXPONENTIAL",
	"STABLEHLO_FLOOR",
	"STABLEHLO_LOG",
	"STABLEHLO_MINIMUM",
	"STABLEHLO_NEGATE",
	"STABLEHLO_OR",
	"STABLEHLO_POWER",
	"STABLEHLO_REMAINDER",
	"STABLEHLO_RSQRT",
	"STABLEHLO_SELECT",
	"STABLEHLO_SUBTRACT",
	"STABLEHLO_TANH",
	"STABLEHLO_SCATTER",
	"STABLEHLO_COMPARE",
	"STABLEHLO_CONVERT",
	"STABLEHLO_DYNAMIC_SLICE",
	"STABLEHLO_DYNAMIC_UPDATE_SLICE",
	"STABLEHLO_PAD",
	"STABLEHLO_IOTA",
	"STABLEHLO_DOT_GENERAL",
	"STABLEHLO_REDUCE_WINDOW",
	"STABLEHLO_SORT",
	"STABLEHLO_WHILE",
	"STABLEHLO_GATHER",
	"STABLEHLO_TRANSPOSE",
	"DILATE",
	"STABLEHLO_RNG_BIT_GENERATOR",
	"REDUCE_WINDOW",
};

static const char *const tensor_type_names[] = {
	"FLOAT32", "FLOAT16", "INT32",      "UINT8",  "INT64",    "STRING",  "BOOL",   "INT16",  "COMPLEX64",
	"INT8",    "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- importer state ---------------------------------------------------------------------------------------- */

enum tensor_state {
	T_UNSET = 0, /* nothing has written it yet */
	T_CONST,     /* constant data in the file, or a folded DEQUANTIZE of such data */
	T_INPUT,     /* the graph input */
	T_PRODUCED,  /* written by an earlier operator */
};

struct tensor_info {
	enum tensor_state state;
	int tfl_type;
	uint32_t buffer;
	const uint8_t *src; /* constant bytes inside the file; NULL when not constant */
	size_t src_len;
	int dequant_of; /* float16 tensor that a folded DEQUANTIZE expands into this one, or -1 */
	int writer;     /* source index of the operator that writes it, or -1 */
	int read;       /* read by an operator of the graph: its data is needed */
};

struct importer {
	const char *label;
	struct vigil_fb fb;
	struct vigil_fb_vector opcodes, buffers;
	struct vigil_graph *g;
	struct tensor_info *ti;
};

/* One source operator, its counts checked and its indices resolved. */
struct src_op {
	int index;
	int32_t code;
	const char *name;
	int n_in;
	int in[VIGIL_MAX_OP_INPUTS];
	int out;
	int n_out;
	int extra_out[3];   /* outputs 1..3 of the detection post-process */
	const char *custom; /* custom operator name ("" for builtins) */
	struct vigil_fb_vector custom_options;
	struct vigil_fb_table opt; /* empty (every field reads as its default) when the file has no options */
};

/* ---- messages ---------------------------------------------------------------------------------------------- */

static int fail(const struct importer *im, int err, const char *fmt, ...) VIGIL_PRINTF(3, 4);
static int fail(const struct importer *im, int err, const char *fmt, ...)
{
	char detail[448];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return vigil_error(err, "model '%s': %s", im->label, detail);
}

/* Prefixes the reader's message, already in vigil_last_error(), with where the importer was. */
static int fail_at(const struct importer *im, int err, const char *fmt, ...) VIGIL_PRINTF(3, 4);
static int fail_at(const struct importer *im, int err, const char *fmt, ...)
{
	char where[160], detail[512];
	va_list ap;

	snprintf(detail, sizeof(detail), "%s", vigil_last_error());
	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	return vigil_error(err, "model '%s': %s: %s", im->label, where, detail);
}

static int op_fail(const struct importer *im, const struct src_op *s, int err, const char *fmt, ...) VIGIL_PRINTF(4, 5);
static int op_fail(const struct importer *im, const struct src_op *s, int err, const char *fmt, ...)
{
	char detail[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return vigil_error(err, "model '%s': operator %d (%s): %s", im->label, s->index, s->name, detail);
}

static const char *builtin_name(int32_t code)
{
	return code >= 0 && (size_t)code < N_ELEMS(builtin_names) ? builtin_names[code] : NULL;
}

static const char *type_name(int tfl_type)
{
	return tfl_type >= 0 && (size_t)tfl_type < N_ELEMS(tensor_type_names) ? tensor_type_names[tfl_type] : "UNKNOWN";
}

static const struct vigil_tensor *tensor(const struct importer *im, int i)
{
	return &im->g->tensors[i];
}

static void dims_str(const int64_t *dims, int rank, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "[");

	for (int i = 0; i < rank && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)dims[i]);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

/* ---- tensors ----------------------------------------------------------------------------------------------- */

static int dtype_of(int tfl_type, enum vigil_dtype *out, size_t *size)
{
	switch (tfl_type) {
	case TFL_FLOAT32:
		*out = VIGIL_DT_F32, *size = 4;
		return 0;
	case TFL_FLOAT16:
		*out = VIGIL_DT_F16, *size = 2;
		return 0;
	case TFL_INT32:
		*out = VIGIL_DT_I32, *size = 4;
		return 0;
	case TFL_UINT8:
		*out = VIGIL_DT_U8, *size = 1;
		return 0;
	case TFL_INT8:
		*out = VIGIL_DT_I8, *size = 1;
		return 0;
	case TFL_INT64:
		*out = VIGIL_DT_I64, *size = 8;
		return 0;
	}
	return -1;
}

static int read_shape(struct importer *im, int i, const struct vigil_fb_table *tt)
{
	struct vigil_tensor *t = &im->g->tensors[i];
	struct vigil_fb_vector shape;
	size_t count = 1;
	int ret = vigil_fb_vector(tt, TENSOR_SHAPE, 4, "shape", &shape);

	if (ret < 0)
		return fail_at(im, ret, "tensor %d '%s'", i, t->name);
	if (shape.count > VIGIL_MAX_RANK)
		return fail(im, VIGIL_EUNSUPPORTED, "tensor %d '%s' has rank %u; Vigil supports up to %d dimensions", i,
			    t->name, shape.count, VIGIL_MAX_RANK);
	t->rank = (int)shape.count;
	for (int d = 0; d < t->rank; d++) {
		const int32_t dim = vigil_fb_vector_i32(&shape, (uint32_t)d);

		if (dim < 1)
			return fail(im, VIGIL_EMODEL,
				    "tensor %d '%s': dimension %d is %d; every dimension must be >= 1 (shape vector "
				    "at offset 0x%zx)",
				    i, t->name, d, dim, shape.pos - 4);
		if (count > VIGIL_TFLITE_MAX_ELEMENTS / (uint32_t)dim)
			return fail(im, VIGIL_ETOOBIG,
				    "tensor %d '%s': dimension %d is %d, which makes more than %u "
				    "elements (the cap per tensor)",
				    i, t->name, d, dim, VIGIL_TFLITE_MAX_ELEMENTS);
		t->dims[d] = dim;
		count *= (uint32_t)dim;
	}
	t->count = count;
	return 0;
}

/* Finds the bytes of buffer @p index; an empty or absent data vector gives *len = 0. */
static int buffer_data(struct importer *im, int i, uint32_t index, const uint8_t **data, size_t *len)
{
	struct vigil_fb_table b;
	struct vigil_fb_vector v;
	uint64_t offset = 0, size = 0;
	int ret;

	if (index >= im->buffers.count)
		return fail(im, VIGIL_EMODEL, "tensor %d '%s' refers to buffer %u, but the model has %u buffers", i,
			    tensor(im, i)->name, index, im->buffers.count);
	ret = vigil_fb_vector_table(&im->buffers, index, "buffer", &b);
	if (ret == 0)
		ret = vigil_fb_u64(&b, BUFFER_OFFSET, 0, &offset);
	if (ret >= 0)
		ret = vigil_fb_u64(&b, BUFFER_SIZE, 0, &size);
	if (ret >= 0)
		ret = vigil_fb_vector(&b, BUFFER_DATA, 1, "data", &v);
	if (ret < 0)
		return fail_at(im, ret, "tensor %d '%s': buffer %u", i, tensor(im, i)->name, index);
	/* Past 2 GB, TFLite stores data after the FlatBuffer and records where (offset > 1 marks it). */
	if (offset > 1)
		return fail(im, VIGIL_EUNSUPPORTED,
			    "buffer %u keeps its %llu bytes outside the FlatBuffer (offset/size fields, used by models "
			    "over 2 GB); Vigil only reads buffers stored inside the model",
			    index, (unsigned long long)size);
	*data = vigil_fb_vector_data(&v);
	*len = v.count;
	return 0;
}

static int read_constant(struct importer *im, int i, size_t elem_size)
{
	const struct vigil_tensor *t = tensor(im, i);
	struct tensor_info *ti = &im->ti[i];
	const uint8_t *data = NULL;
	size_t len = 0;
	char shape[64];
	int ret;

	/* Buffer 0 is the schema's empty sentinel: tensors computed at run time point to it. */
	if (ti->buffer == 0)
		return 0;
	ret = buffer_data(im, i, ti->buffer, &data, &len);
	if (ret < 0 || len == 0)
		return ret;
	if (len != t->count * elem_size) {
		vigil_tensor_shape_str(t, shape, sizeof(shape));
		return fail(im, VIGIL_EMODEL, "tensor %d '%s': buffer %u holds %zu bytes, but %s %s needs %zu", i,
			    t->name, ti->buffer, len, shape, type_name(ti->tfl_type), t->count * elem_size);
	}
	ti->src = data;
	ti->src_len = len;
	ti->state = T_CONST;
	return 0;
}

/* Fields Vigil does not use but must be well-formed, and fields that change a tensor's meaning. */
static int check_tensor_extras(struct importer *im, int i, const struct vigil_fb_table *tt)
{
	const char *name = tensor(im, i)->name;
	struct vigil_fb_table sub;
	struct vigil_fb_vector sig;
	int variable;
	int ret = vigil_fb_table(tt, TENSOR_SPARSITY, "sparsity", &sub);

	if (ret > 0)
		return fail(im, VIGIL_EUNSUPPORTED,
			    "tensor %d '%s' is sparse (it has sparsity parameters, decoded at run time by DENSIFY); "
			    "Vigil only runs models with dense weights",
			    i, name);
	if (ret == 0)
		ret = vigil_fb_table(tt, TENSOR_QUANTIZATION, "quantization", &sub);
	if (ret >= 0)
		ret = vigil_fb_vector(tt, TENSOR_SHAPE_SIGNATURE, 4, "shape_signature", &sig);
	if (ret >= 0)
		ret = vigil_fb_bool(tt, TENSOR_IS_VARIABLE, 0, &variable);
	if (ret < 0)
		return fail_at(im, ret, "tensor %d '%s'", i, name);
	if (variable)
		return fail(im, VIGIL_EUNSUPPORTED,
			    "tensor %d '%s' is a variable (state kept between runs), which "
			    "Vigil does not support",
			    i, name);
	return 0;
}

static int32_t zp_min(enum vigil_dtype dt)
{
	return dt == VIGIL_DT_U8 ? 0 : dt == VIGIL_DT_I8 ? -128 : INT32_MIN;
}

static int32_t zp_max(enum vigil_dtype dt)
{
	return dt == VIGIL_DT_U8 ? 255 : dt == VIGIL_DT_I8 ? 127 : INT32_MAX;
}

/* QuantizationParameters: scale/zero_point vectors (one value, or one per channel along quantized_dimension). */
static int read_quant(struct importer *im, int i, const struct vigil_fb_table *tt)
{
	struct vigil_tensor *t = &im->g->tensors[i];
	struct vigil_fb_vector sv, zv;
	struct vigil_fb_table qt;
	int32_t axis;
	uint8_t details;
	float *scales;
	int32_t *zps;
	int ret = vigil_fb_table(tt, TENSOR_QUANTIZATION, "quantization", &qt);

	if (ret <= 0 || (t->dtype != VIGIL_DT_U8 && t->dtype != VIGIL_DT_I8 && t->dtype != VIGIL_DT_I32))
		return ret < 0 ? fail_at(im, ret, "tensor %d '%s'", i, t->name) : 0;
	if ((ret = vigil_fb_vector(&qt, QUANT_SCALE, 4, "scale", &sv)) < 0 ||
	    (ret = vigil_fb_vector(&qt, QUANT_ZERO_POINT, 8, "zero_point", &zv)) < 0 ||
	    (ret = vigil_fb_i32(&qt, QUANT_DIMENSION, 0, &axis)) < 0 ||
	    (ret = vigil_fb_u8(&qt, QUANT_DETAILS_TYPE, 0, &details)) < 0)
		return fail_at(im, ret, "tensor %d '%s' quantization", i, t->name);
	if (details != 0)
		return fail(im, VIGIL_EUNSUPPORTED,
			    "tensor %d '%s' uses custom quantization details (type %u); Vigil reads affine "
			    "scale/zero_point quantization only",
			    i, t->name, details);
	if (sv.count == 0)
		return 0; /* min/max only: not usable for execution; ops that need parameters say so */
	if (zv.count != sv.count)
		return fail(im, VIGIL_EMODEL, "tensor %d '%s' has %u scales but %u zero points", i, t->name, sv.count,
			    zv.count);
	if (sv.count > 1) {
		if (axis < 0 || axis >= t->rank)
			return fail(im, VIGIL_EMODEL,
				    "tensor %d '%s': quantized_dimension %d is out of range for rank %d", i, t->name,
				    axis, t->rank);
		if ((uint32_t)t->dims[axis] != sv.count)
			return fail(im, VIGIL_EMODEL,
				    "tensor %d '%s' has %u per-channel scales, but dimension %d (its "
				    "quantized_dimension) is %d",
				    i, t->name, sv.count, axis, t->dims[axis]);
	}
	scales = malloc(sv.count * (sizeof(float) + sizeof(int32_t)));
	if (!scales)
		return fail(im, -ENOMEM, "out of memory");
	zps = (int32_t *)(scales + sv.count);
	t->quant.scales = scales; /* owned from here on: vigil_graph_free releases it */
	t->quant.zero_points = zps;
	t->quant.n = (int)sv.count;
	t->quant.axis = sv.count > 1 ? axis : 0;
	for (uint32_t c = 0; c < sv.count; c++) {
		const uint32_t bits = vigil_fb_load_u32(vigil_fb_vector_data(&sv) + 4 * c);
		const int64_t zp = (int64_t)vigil_fb_load_u64(vigil_fb_vector_data(&zv) + 8 * c);

		memcpy(&scales[c], &bits, 4);
		if (!(scales[c] > 0.0f) || !isfinite(scales[c]))
			return fail(im, VIGIL_EMODEL, "tensor %d '%s': scale %u is %g; a scale must be finite and > 0",
				    i, t->name, c, (double)scales[c]);
		if (zp < zp_min(t->dtype) || zp > zp_max(t->dtype))
			return fail(im, VIGIL_EMODEL,
				    "tensor %d '%s': zero point %u is %lld, outside the %s range %d..%d", i, t->name, c,
				    (long long)zp, vigil_dtype_name(t->dtype), zp_min(t->dtype), zp_max(t->dtype));
		zps[c] = (int32_t)zp;
	}
	t->quant.scale = scales[0];
	t->quant.zero_point = zps[0];
	return 0;
}

static int import_tensor(struct importer *im, int i, const struct vigil_fb_table *tt)
{
	struct vigil_tensor *t = &im->g->tensors[i];
	struct tensor_info *ti = &im->ti[i];
	size_t elem_size;
	int8_t type;
	int ret;

	t->name = "";
	t->arena_slot = -1;
	ti->dequant_of = -1;
	ti->writer = -1;
	ret = vigil_fb_string(tt, TENSOR_NAME, "name", &t->name);
	if (ret < 0)
		return fail_at(im, ret, "tensor %d", i);
	ret = check_tensor_extras(im, i, tt);
	if (ret < 0)
		return ret;
	ret = vigil_fb_i8(tt, TENSOR_TYPE, TFL_FLOAT32, &type);
	if (ret >= 0)
		ret = vigil_fb_u32(tt, TENSOR_BUFFER, 0, &ti->buffer);
	if (ret < 0)
		return fail_at(im, ret, "tensor %d '%s'", i, t->name);
	ti->tfl_type = type;
	if (dtype_of(type, &t->dtype, &elem_size) < 0)
		return fail(im, VIGIL_EUNSUPPORTED, "tensor %d '%s' has type %s (%d), which Vigil does not support", i,
			    t->name, type_name(type), type);
	ret = read_shape(im, i, tt);
	if (ret < 0)
		return ret;
	ret = read_quant(im, i, tt);
	if (ret < 0)
		return ret;
	return read_constant(im, i, elem_size);
}

static int import_tensors(struct importer *im, const struct vigil_fb_table *subgraph)
{
	struct vigil_fb_vector tensors;
	struct vigil_fb_table tt;
	int ret = vigil_fb_vector(subgraph, SUBGRAPH_TENSORS, 4, "tensors", &tensors);

	if (ret < 0)
		return fail_at(im, ret, "subgraph 0");
	if (tensors.count > VIGIL_TFLITE_MAX_TENSORS)
		return fail(im, VIGIL_ETOOBIG, "subgraph 0 has %u tensors; Vigil accepts at most %d", tensors.count,
			    VIGIL_TFLITE_MAX_TENSORS);
	if (tensors.count == 0)
		return fail(im, VIGIL_EMODEL, "subgraph 0 has no tensors");
	im->g->tensors = calloc(tensors.count, sizeof(*im->g->tensors));
	im->ti = calloc(tensors.count, sizeof(*im->ti));
	if (!im->g->tensors || !im->ti)
		return fail(im, -ENOMEM, "out of memory for %u tensors", tensors.count);
	im->g->n_tensors = (int)tensors.count;
	for (int i = 0; i < im->g->n_tensors; i++) {
		ret = vigil_fb_vector_table(&tensors, (uint32_t)i, "tensor", &tt);
		if (ret < 0)
			return fail_at(im, ret, "tensor %d", i);
		ret = import_tensor(im, i, &tt);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- graph inputs and outputs ---------------------------------------------------------------------------- */

static int tensor_index(const struct importer *im, int32_t index, const char *what, int k)
{
	if (index < 0 || index >= im->g->n_tensors)
		return fail(im, VIGIL_EMODEL, "%s %d is tensor %d, out of range (the subgraph has %d tensors)", what, k,
			    index, im->g->n_tensors);
	return 0;
}

static int import_inputs(struct importer *im, const struct vigil_fb_table *subgraph)
{
	struct vigil_fb_vector v;
	int32_t t;
	int ret = vigil_fb_vector(subgraph, SUBGRAPH_INPUTS, 4, "inputs", &v);

	if (ret < 0)
		return fail_at(im, ret, "subgraph 0");
	if (v.count == 0)
		return fail(im, VIGIL_EMODEL, "subgraph 0 lists no input tensor");
	if (v.count > 1)
		return fail(im, VIGIL_EUNSUPPORTED, "subgraph 0 has %u inputs; Vigil runs single-input models",
			    v.count);
	t = vigil_fb_vector_i32(&v, 0);
	ret = tensor_index(im, t, "graph input", 0);
	if (ret < 0)
		return ret;
	if (im->ti[t].state == T_CONST)
		return fail(im, VIGIL_EMODEL, "graph input tensor %d '%s' holds constant data", t, tensor(im, t)->name);
	if (tensor(im, t)->dtype != VIGIL_DT_F32 &&
	    ((tensor(im, t)->dtype != VIGIL_DT_U8 && tensor(im, t)->dtype != VIGIL_DT_I8) || !tensor(im, t)->quant.n))
		return fail(im, VIGIL_EUNSUPPORTED,
			    "graph input tensor %d '%s' is %s; Vigil feeds FLOAT32 or quantized UINT8/INT8 input", t,
			    tensor(im, t)->name, type_name(im->ti[t].tfl_type));
	im->ti[t].state = T_INPUT;
	im->g->inputs[0] = t;
	im->g->n_inputs = 1;
	return 0;
}

static int import_outputs(struct importer *im, const struct vigil_fb_table *subgraph)
{
	const int max = (int)N_ELEMS(im->g->outputs);
	struct vigil_fb_vector v;
	int ret = vigil_fb_vector(subgraph, SUBGRAPH_OUTPUTS, 4, "outputs", &v);

	if (ret < 0)
		return fail_at(im, ret, "subgraph 0");
	if (v.count == 0)
		return fail(im, VIGIL_EMODEL, "subgraph 0 lists no output tensor");
	if (v.count > (uint32_t)max)
		return fail(im, VIGIL_EUNSUPPORTED, "subgraph 0 has %u outputs; Vigil supports up to %d", v.count, max);
	for (int k = 0; k < (int)v.count; k++) {
		const int32_t t = vigil_fb_vector_i32(&v, (uint32_t)k);

		ret = tensor_index(im, t, "graph output", k);
		if (ret < 0)
			return ret;
		for (int j = 0; j < k; j++)
			if (im->g->outputs[j] == t)
				return fail(im, VIGIL_EMODEL, "graph outputs %d and %d are both tensor %d", j, k, t);
		im->g->outputs[k] = t;
	}
	im->g->n_outputs = (int)v.count;
	return 0;
}

/* Once every operator has run, each graph output must have been computed by one of them. */
static int check_outputs_produced(const struct importer *im)
{
	for (int k = 0; k < im->g->n_outputs; k++) {
		const int t = im->g->outputs[k];
		const char *name = tensor(im, t)->name;

		switch (im->ti[t].state) {
		case T_PRODUCED:
			break;
		case T_INPUT:
			return fail(im, VIGIL_EUNSUPPORTED, "graph output %d is the graph input (tensor %d '%s')", k, t,
				    name);
		case T_CONST:
			return fail(im, VIGIL_EUNSUPPORTED, "graph output %d (tensor %d '%s') is constant data", k, t,
				    name);
		default:
			return fail(im, VIGIL_EMODEL, "graph output %d (tensor %d '%s') is computed by no operator", k,
				    t, name);
		}
	}
	return 0;
}

/* ---- operator inputs and outputs --------------------------------------------------------------------------- */

/* An input the operator computes on: the graph input or an earlier operator's output, always FLOAT32. */
static int activation(struct importer *im, const struct src_op *s, int k)
{
	const int t = s->in[k];
	const char *name = tensor(im, t)->name;

	switch (im->ti[t].state) {
	case T_INPUT:
	case T_PRODUCED:
		im->ti[t].read = 1;
		return 0;
	case T_CONST:
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "input %d (tensor %d '%s') is constant data; Vigil expects an activation here", k, t,
			       name);
	default:
		return op_fail(im, s, VIGIL_EMODEL,
			       "input %d reads tensor %d '%s' before any operator computes it (operators must come in "
			       "execution order)",
			       k, t, name);
	}
}

/* A constant input of type @p dtype (weights, bias, paddings, sizes). */
static int constant(struct importer *im, const struct src_op *s, int k, enum vigil_dtype dtype, const char *role)
{
	const int t = s->in[k];
	const struct vigil_tensor *ct = tensor(im, t);

	if (im->ti[t].state != T_CONST)
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "%s (input %d, tensor %d '%s') is computed at run time; Vigil needs it constant", role,
			       k, t, ct->name);
	if (ct->dtype != dtype)
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "%s (input %d, tensor %d '%s') is %s, expected %s%s", role, k,
			       t, ct->name, type_name(im->ti[t].tfl_type),
			       dtype == VIGIL_DT_F32   ? "FLOAT32"
			       : dtype == VIGIL_DT_I32 ? "INT32"
			       : dtype == VIGIL_DT_U8  ? "UINT8"
						       : "INT8",
			       ct->dtype == VIGIL_DT_F16 ? " (FLOAT16 constants are only read through DEQUANTIZE)"
							 : "");
	im->ti[t].read = 1;
	return 0;
}

static int check_output(const struct importer *im, const struct src_op *s)
{
	const int t = s->out;
	const char *name = tensor(im, t)->name;

	switch (im->ti[t].state) {
	case T_CONST:
		return op_fail(im, s, VIGIL_EMODEL, "writes tensor %d '%s', which is constant data", t, name);
	case T_INPUT:
		return op_fail(im, s, VIGIL_EMODEL, "writes tensor %d '%s', which is the graph input", t, name);
	case T_PRODUCED:
		return op_fail(im, s, VIGIL_EMODEL, "writes tensor %d '%s', already written by operator %d", t, name,
			       im->ti[t].writer);
	default:
		break;
	}
	if (tensor(im, t)->dtype != VIGIL_DT_F32 && tensor(im, t)->dtype != VIGIL_DT_U8 &&
	    tensor(im, t)->dtype != VIGIL_DT_I8)
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "output tensor %d '%s' is %s; Vigil computes FLOAT32, UINT8 and INT8 only", t, name,
			       type_name(im->ti[t].tfl_type));
	return 0;
}

static int is_q(enum vigil_dtype dt)
{
	return dt == VIGIL_DT_U8 || dt == VIGIL_DT_I8;
}

/* Input 0 and the output have the same dtype; a quantized one must carry per-tensor parameters. When @p same_params,
 * a quantized input and output must also share scale and zero point (operators that move values unchanged). */
static int io_types(const struct importer *im, const struct src_op *s, int same_params)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]), *out = tensor(im, s->out);

	if (in->dtype != out->dtype)
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "input is %s but output is %s; Vigil needs the same type",
			       vigil_dtype_name(in->dtype), vigil_dtype_name(out->dtype));
	if (!is_q(in->dtype))
		return 0;
	if (in->quant.n != 1 || out->quant.n != 1)
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "quantized input/output (tensors %d, %d) need one scale and zero point each (they have "
			       "%d and %d)",
			       s->in[0], s->out, in->quant.n, out->quant.n);
	if (same_params && (in->quant.scale != out->quant.scale || in->quant.zero_point != out->quant.zero_point))
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "input (scale %g, zero point %d) and output (scale %g, zero point %d) are quantized "
			       "differently; this operator needs them equal",
			       (double)in->quant.scale, in->quant.zero_point, (double)out->quant.scale,
			       out->quant.zero_point);
	return 0;
}

static int float_only(const struct importer *im, const struct src_op *s)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]);

	if (in->dtype != VIGIL_DT_F32 || tensor(im, s->out)->dtype != VIGIL_DT_F32)
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "is quantized (%s); Vigil runs it on FLOAT32 only",
			       vigil_dtype_name(in->dtype));
	return 0;
}

static int check_out_shape(const struct importer *im, const struct src_op *s, const int64_t *dims, int rank)
{
	const struct vigil_tensor *o = tensor(im, s->out);
	char have[64], want[64];
	int same = o->rank == rank;

	for (int d = 0; same && d < rank; d++)
		same = o->dims[d] == dims[d];
	if (same)
		return 0;
	vigil_tensor_shape_str(o, have, sizeof(have));
	dims_str(dims, rank, want, sizeof(want));
	return op_fail(im, s, VIGIL_EMODEL, "output tensor %d '%s' is %s, but the operator computes %s", s->out,
		       o->name, have, want);
}

static int check_rank(const struct importer *im, const struct src_op *s, int k, int rank)
{
	const struct vigil_tensor *t = tensor(im, s->in[k]);
	char shape[64];

	if (t->rank == rank)
		return 0;
	vigil_tensor_shape_str(t, shape, sizeof(shape));
	return op_fail(im, s, VIGIL_EMODEL, "input %d (tensor %d '%s') is %s, expected rank %d", k, s->in[k], t->name,
		       shape, rank);
}

/* ---- operator options ------------------------------------------------------------------------------------- */

static int read_act(const struct importer *im, const struct src_op *s, int field, enum vigil_act *act)
{
	uint8_t raw;
	int ret = vigil_fb_u8(&s->opt, field, 0, &raw);

	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if (raw <= VIGIL_ACT_RELU6) {
		*act = (enum vigil_act)raw;
		return 0;
	}
	if (raw == TFL_ACT_TANH || raw == TFL_ACT_SIGN_BIT)
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "fused activation %s is not supported (only NONE, RELU, "
			       "RELU_N1_TO_1 and RELU6)",
			       raw == TFL_ACT_TANH ? "TANH" : "SIGN_BIT");
	return op_fail(im, s, VIGIL_EMODEL, "fused activation %u is not a TFLite activation", raw);
}

static int read_padding(const struct importer *im, const struct src_op *s, int field, enum vigil_padding *pad)
{
	uint8_t raw;
	int ret = vigil_fb_u8(&s->opt, field, 0, &raw);

	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if (raw > VIGIL_PAD_VALID)
		return op_fail(im, s, VIGIL_EMODEL, "padding %u is neither SAME (0) nor VALID (1)", raw);
	*pad = (enum vigil_padding)raw;
	return 0;
}

/* Reads an int option that must be >= 1 (strides, dilations, filter sizes). */
static int read_positive(const struct importer *im, const struct src_op *s, int field, int32_t def, const char *what,
			 int *out)
{
	int32_t v;
	int ret = vigil_fb_i32(&s->opt, field, def, &v);

	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if (v < 1)
		return op_fail(im, s, VIGIL_EMODEL, "%s is %d; it must be >= 1%s", what, v,
			       ret == 0 ? " (the options table does not set it)" : "");
	*out = v;
	return 0;
}

/* Output size of a window over @p in, as TFLite computes it. */
static int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t dilation, enum vigil_padding pad)
{
	const int64_t span = (k - 1) * dilation + 1;

	if (pad == VIGIL_PAD_SAME)
		return (in + stride - 1) / stride;
	return in >= span ? (in - span + stride) / stride : 0;
}

static int window_shape(const struct importer *im, const struct src_op *s, int64_t kh, int64_t kw, int stride_h,
			int stride_w, int dil_h, int dil_w, enum vigil_padding pad, int64_t channels)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]);
	int64_t out[4] = { in->dims[0], window_out(in->dims[1], kh, stride_h, dil_h, pad),
			   window_out(in->dims[2], kw, stride_w, dil_w, pad), channels };

	if (out[1] < 1 || out[2] < 1)
		return op_fail(im, s, VIGIL_EMODEL,
			       "a %lldx%lld window (dilation %dx%d) does not fit the %dx%d input with VALID padding",
			       (long long)kh, (long long)kw, dil_h, dil_w, in->dims[1], in->dims[2]);
	return check_out_shape(im, s, out, 4);
}

/* ---- supported operators ----------------------------------------------------------------------------------- */

static int build_conv(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	struct vigil_conv_params *p = &op->p.conv;
	const struct vigil_tensor *in, *w;
	int ret;

	if ((ret = read_padding(im, s, CONV_PADDING, &p->padding)) < 0 ||
	    (ret = read_positive(im, s, CONV_STRIDE_W, 0, "stride_w", &p->stride_w)) < 0 ||
	    (ret = read_positive(im, s, CONV_STRIDE_H, 0, "stride_h", &p->stride_h)) < 0 ||
	    (ret = read_act(im, s, CONV_ACT, &p->act)) < 0 ||
	    (ret = read_positive(im, s, CONV_DILATION_W, 1, "dilation_w_factor", &p->dilation_w)) < 0 ||
	    (ret = read_positive(im, s, CONV_DILATION_H, 1, "dilation_h_factor", &p->dilation_h)) < 0)
		return ret;
	p->depth_multiplier = 1;
	if ((ret = activation(im, s, 0)) < 0 || (ret = check_rank(im, s, 0, 4)) < 0 ||
	    (ret = constant(im, s, 1, tensor(im, s->in[0])->dtype, "weights")) < 0 ||
	    (ret = check_rank(im, s, 1, 4)) < 0)
		return ret;
	in = tensor(im, s->in[0]);
	w = tensor(im, s->in[1]);
	if (w->dims[3] != in->dims[3])
		return op_fail(im, s, in->dims[3] % w->dims[3] == 0 ? VIGIL_EUNSUPPORTED : VIGIL_EMODEL,
			       "weights [%d,%d,%d,%d] take %d input channels, the input has %d%s", w->dims[0],
			       w->dims[1], w->dims[2], w->dims[3], w->dims[3], in->dims[3],
			       in->dims[3] % w->dims[3] == 0 ? " (grouped convolution is not supported)" : "");
	return window_shape(im, s, w->dims[1], w->dims[2], p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
			    p->padding, w->dims[0]);
}

static int build_dwconv(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	struct vigil_conv_params *p = &op->p.conv;
	const struct vigil_tensor *in, *w;
	int32_t mult;
	int ret;

	if ((ret = read_padding(im, s, DW_PADDING, &p->padding)) < 0 ||
	    (ret = read_positive(im, s, DW_STRIDE_W, 0, "stride_w", &p->stride_w)) < 0 ||
	    (ret = read_positive(im, s, DW_STRIDE_H, 0, "stride_h", &p->stride_h)) < 0 ||
	    (ret = read_act(im, s, DW_ACT, &p->act)) < 0 ||
	    (ret = read_positive(im, s, DW_DILATION_W, 1, "dilation_w_factor", &p->dilation_w)) < 0 ||
	    (ret = read_positive(im, s, DW_DILATION_H, 1, "dilation_h_factor", &p->dilation_h)) < 0)
		return ret;
	ret = vigil_fb_i32(&s->opt, DW_DEPTH_MULTIPLIER, 0, &mult);
	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if ((ret = activation(im, s, 0)) < 0 || (ret = check_rank(im, s, 0, 4)) < 0 ||
	    (ret = constant(im, s, 1, tensor(im, s->in[0])->dtype, "weights")) < 0 ||
	    (ret = check_rank(im, s, 1, 4)) < 0)
		return ret;
	in = tensor(im, s->in[0]);
	w = tensor(im, s->in[1]);
	if (w->dims[0] != 1 || w->dims[3] % in->dims[3] != 0)
		return op_fail(im, s, VIGIL_EMODEL,
			       "weights are [%d,%d,%d,%d], expected [1,KH,KW,C*multiplier] with C = %d input channels",
			       w->dims[0], w->dims[1], w->dims[2], w->dims[3], in->dims[3]);
	/* TFLite ignores depth_multiplier in newer versions and derives it; a stated one must still agree. */
	if (mult != 0 && (int64_t)mult * in->dims[3] != w->dims[3])
		return op_fail(im, s, VIGIL_EMODEL,
			       "depth_multiplier %d with %d input channels gives %lld outputs, "
			       "the weights have %d",
			       mult, in->dims[3], (long long)mult * in->dims[3], w->dims[3]);
	p->depth_multiplier = w->dims[3] / in->dims[3];
	return window_shape(im, s, w->dims[1], w->dims[2], p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
			    p->padding, w->dims[3]);
}

/* Convolution bias: absent (-1) or a constant FLOAT32 [O]. */
static int conv_bias(struct importer *im, const struct src_op *s)
{
	const int out_c = tensor(im, s->out)->rank == 4 ? tensor(im, s->out)->dims[3] : -1;
	const struct vigil_tensor *b;
	int ret;

	if (s->n_in < 3 || s->in[2] < 0)
		return 0;
	ret = constant(im, s, 2, is_q(tensor(im, s->in[0])->dtype) ? VIGIL_DT_I32 : VIGIL_DT_F32, "bias");
	if (ret < 0)
		return ret;
	b = tensor(im, s->in[2]);
	if (b->rank != 1 || b->dims[0] != out_c)
		return op_fail(im, s, VIGIL_EMODEL,
			       "bias (tensor %d '%s') has %zu values in %d dimensions, expected [%d]", s->in[2],
			       b->name, b->count, b->rank, out_c);
	return 0;
}

/* Quantized convolution: per-tensor uint8 (TFLite's uint8 kernels), or int8 with per-tensor or per-output-channel
 * symmetric weights. */
static int conv_quant(const struct importer *im, const struct src_op *s, int out_axis)
{
	const struct vigil_tensor *w = tensor(im, s->in[1]);
	int ret = io_types(im, s, 0);

	if (ret < 0 || !is_q(w->dtype))
		return ret;
	if (w->quant.n == 0)
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "weights (tensor %d '%s') carry no scale/zero point",
			       s->in[1], w->name);
	if (w->quant.n > 1 && (w->dtype != VIGIL_DT_I8 || w->quant.axis != out_axis))
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "weights (tensor %d '%s') are %s per-channel along dimension %d; Vigil runs per-channel "
			       "INT8 weights along the output channels (dimension %d) only",
			       s->in[1], w->name, vigil_dtype_name(w->dtype), w->quant.axis, out_axis);
	if (w->dtype == VIGIL_DT_I8)
		for (int c = 0; c < w->quant.n; c++)
			if (w->quant.zero_points[c] != 0)
				return op_fail(
				    im, s, VIGIL_EUNSUPPORTED,
				    "INT8 weights (tensor %d '%s') have zero point %d on channel %d; TFLite's "
				    "int8 kernels need symmetric weights (zero point 0)",
				    s->in[1], w->name, w->quant.zero_points[c], c);
	return 0;
}

static int build_conv_any(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	int ret = s->code == BUILTIN_CONV_2D ? build_conv(im, s, op) : build_dwconv(im, s, op);

	if (ret >= 0)
		ret = conv_quant(im, s, s->code == BUILTIN_CONV_2D ? 0 : 3);
	return ret < 0 ? ret : conv_bias(im, s);
}

static int build_maxpool(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	struct vigil_pool_params *p = &op->p.pool;
	int ret;

	if ((ret = read_padding(im, s, POOL_PADDING, &p->padding)) < 0 ||
	    (ret = read_positive(im, s, POOL_STRIDE_W, 0, "stride_w", &p->stride_w)) < 0 ||
	    (ret = read_positive(im, s, POOL_STRIDE_H, 0, "stride_h", &p->stride_h)) < 0 ||
	    (ret = read_positive(im, s, POOL_FILTER_W, 0, "filter_width", &p->filter_w)) < 0 ||
	    (ret = read_positive(im, s, POOL_FILTER_H, 0, "filter_height", &p->filter_h)) < 0 ||
	    (ret = read_act(im, s, POOL_ACT, &p->act)) < 0)
		return ret;
	if ((ret = activation(im, s, 0)) < 0 || (ret = check_rank(im, s, 0, 4)) < 0 || (ret = io_types(im, s, 1)) < 0)
		return ret;
	if (op->kind == VIGIL_OP_AVGPOOL2D && !is_q(tensor(im, s->in[0])->dtype))
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "Vigil runs AVERAGE_POOL_2D on quantized tensors only");
	return window_shape(im, s, p->filter_h, p->filter_w, p->stride_h, p->stride_w, 1, 1, p->padding,
			    tensor(im, s->in[0])->dims[3]);
}

static int same_shape(const struct vigil_tensor *a, const struct vigil_tensor *b)
{
	if (a->rank != b->rank)
		return 0;
	for (int d = 0; d < a->rank; d++)
		if (a->dims[d] != b->dims[d])
			return 0;
	return 1;
}

/* The output has the shape of input 0 (element-wise operators). */
static int same_as_input(const struct importer *im, const struct src_op *s)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]);
	int64_t dims[VIGIL_MAX_RANK];

	for (int d = 0; d < in->rank; d++)
		dims[d] = in->dims[d];
	return check_out_shape(im, s, dims, in->rank);
}

static int build_add(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	char a[64], b[64];
	int ret;

	if ((ret = read_act(im, s, ADD_ACT, &op->p.add.act)) < 0 || (ret = activation(im, s, 0)) < 0 ||
	    (ret = activation(im, s, 1)) < 0 || (ret = io_types(im, s, 0)) < 0)
		return ret;
	if (tensor(im, s->in[1])->dtype != tensor(im, s->in[0])->dtype ||
	    (is_q(tensor(im, s->in[1])->dtype) && tensor(im, s->in[1])->quant.n != 1))
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "input 1 is %s (%d scales), input 0 %s",
			       vigil_dtype_name(tensor(im, s->in[1])->dtype), tensor(im, s->in[1])->quant.n,
			       vigil_dtype_name(tensor(im, s->in[0])->dtype));
	if (!same_shape(tensor(im, s->in[0]), tensor(im, s->in[1]))) {
		vigil_tensor_shape_str(tensor(im, s->in[0]), a, sizeof(a));
		vigil_tensor_shape_str(tensor(im, s->in[1]), b, sizeof(b));
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "adds %s to %s, which needs broadcasting; Vigil only adds tensors of the same shape", a,
			       b);
	}
	return same_as_input(im, s);
}

static int build_relu(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	int ret = activation(im, s, 0);

	if (ret >= 0)
		ret = float_only(im, s);
	return ret < 0 ? ret : same_as_input(im, s);
}

static int build_pad(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *in, *pads;
	int64_t out[VIGIL_MAX_RANK];
	const uint8_t *pv;
	int ret;

	if ((ret = activation(im, s, 0)) < 0 || (ret = float_only(im, s)) < 0 ||
	    (ret = constant(im, s, 1, VIGIL_DT_I32, "paddings")) < 0)
		return ret;
	in = tensor(im, s->in[0]);
	pads = tensor(im, s->in[1]);
	if (pads->rank != 2 || pads->dims[0] != in->rank || pads->dims[1] != 2)
		return op_fail(im, s, VIGIL_EMODEL, "paddings (tensor %d '%s') must be [%d,2] for a rank-%d input",
			       s->in[1], pads->name, in->rank, in->rank);
	pv = im->ti[s->in[1]].src;
	for (int d = 0; d < in->rank; d++) {
		const int32_t before = (int32_t)vigil_fb_load_u32(pv + 8 * d);
		const int32_t after = (int32_t)vigil_fb_load_u32(pv + 8 * d + 4);

		if (before < 0 || after < 0)
			return op_fail(im, s, VIGIL_EMODEL, "paddings of dimension %d are (%d, %d); they must be >= 0",
				       d, before, after);
		out[d] = (int64_t)in->dims[d] + before + after;
	}
	return check_out_shape(im, s, out, in->rank);
}

/* RESHAPE keeps the data and changes the shape; the optional shape input must agree with the output. */
static int build_reshape(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *in, *out;
	int ret = activation(im, s, 0);

	if (ret >= 0)
		ret = io_types(im, s, 1);
	if (ret < 0)
		return ret;
	in = tensor(im, s->in[0]);
	out = tensor(im, s->out);
	if (in->count != out->count)
		return op_fail(im, s, VIGIL_EMODEL, "reshapes %zu elements (tensor %d '%s') into %zu (tensor %d '%s')",
			       in->count, s->in[0], in->name, out->count, s->out, out->name);
	if (s->n_in > 1 && s->in[1] >= 0) {
		const struct vigil_tensor *shape;

		ret = constant(im, s, 1, VIGIL_DT_I32, "shape");
		if (ret < 0)
			return ret;
		shape = tensor(im, s->in[1]);
		if (shape->rank != 1 || (int)shape->count != out->rank)
			return op_fail(im, s, VIGIL_EMODEL,
				       "shape input (tensor %d '%s') has %zu values for a rank-%d "
				       "output",
				       s->in[1], shape->name, shape->count, out->rank);
		for (int d = 0; d < out->rank; d++) {
			const int32_t v = (int32_t)vigil_fb_load_u32(im->ti[s->in[1]].src + 4 * d);

			if (v != -1 && v != out->dims[d])
				return op_fail(im, s, VIGIL_EMODEL,
					       "shape input says dimension %d is %d, the output "
					       "tensor has %d",
					       d, v, out->dims[d]);
		}
	}
	op->n_inputs = 1; /* the executor only needs the output shape */
	return 0;
}

/* Same rank, same dimensions except along the axis. */
static int concat_compatible(const struct vigil_tensor *a, const struct vigil_tensor *b, int axis)
{
	if (a->rank != b->rank)
		return 0;
	for (int d = 0; d < a->rank; d++)
		if (d != axis && a->dims[d] != b->dims[d])
			return 0;
	return 1;
}

static int build_concat(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *first = tensor(im, s->in[0]);
	int64_t out[VIGIL_MAX_RANK];
	int32_t axis;
	int ret;

	if ((ret = read_act(im, s, CONCAT_ACT, &op->p.concat.act)) < 0)
		return ret;
	ret = vigil_fb_i32(&s->opt, CONCAT_AXIS, 0, &axis);
	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if (first->rank < 1 || axis < -first->rank || axis >= first->rank)
		return op_fail(im, s, VIGIL_EMODEL, "axis %d is out of range for rank-%d inputs", axis, first->rank);
	if (axis < 0)
		axis += first->rank;
	op->p.concat.axis = axis;
	for (int d = 0; d < first->rank; d++)
		out[d] = d == axis ? 0 : first->dims[d];
	for (int k = 0; k < s->n_in; k++) {
		const struct vigil_tensor *t = tensor(im, s->in[k]);
		char a[64], b[64];

		ret = activation(im, s, k);
		if (ret < 0)
			return ret;
		if (t->dtype != tensor(im, s->out)->dtype ||
		    (is_q(t->dtype) && (t->quant.n != 1 || tensor(im, s->out)->quant.n != 1)))
			return op_fail(im, s, VIGIL_EUNSUPPORTED,
				       "input %d is %s, the output %s; Vigil needs one type (per-tensor quantized)", k,
				       vigil_dtype_name(t->dtype), vigil_dtype_name(tensor(im, s->out)->dtype));
		if (!concat_compatible(first, t, axis)) {
			vigil_tensor_shape_str(first, a, sizeof(a));
			vigil_tensor_shape_str(t, b, sizeof(b));
			return op_fail(im, s, VIGIL_EMODEL,
				       "input %d is %s, input 0 is %s; they may differ only along axis %d", k, b, a,
				       axis);
		}
		out[axis] += t->dims[axis];
	}
	return check_out_shape(im, s, out, first->rank);
}

static int build_resize(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *in, *size;
	int64_t out[4];
	int ret;

	if ((ret = vigil_fb_bool(&s->opt, RESIZE_ALIGN_CORNERS, 0, &op->p.resize.align_corners)) < 0 ||
	    (ret = vigil_fb_bool(&s->opt, RESIZE_HALF_PIXEL_CENTERS, 0, &op->p.resize.half_pixel_centers)) < 0)
		return fail_at(im, ret, "operator %d (%s) options", s->index, s->name);
	if (op->p.resize.align_corners && op->p.resize.half_pixel_centers)
		return op_fail(im, s, VIGIL_EMODEL,
			       "align_corners and half_pixel_centers are both set; TFLite allows "
			       "at most one");
	if ((ret = activation(im, s, 0)) < 0 || (ret = float_only(im, s)) < 0 || (ret = check_rank(im, s, 0, 4)) < 0 ||
	    (ret = constant(im, s, 1, VIGIL_DT_I32, "size")) < 0)
		return ret;
	in = tensor(im, s->in[0]);
	size = tensor(im, s->in[1]);
	if (size->rank != 1 || size->count != 2)
		return op_fail(im, s, VIGIL_EMODEL,
			       "size input (tensor %d '%s') must hold 2 values (height, width), "
			       "it holds %zu",
			       s->in[1], size->name, size->count);
	out[0] = in->dims[0];
	out[1] = (int32_t)vigil_fb_load_u32(im->ti[s->in[1]].src);
	out[2] = (int32_t)vigil_fb_load_u32(im->ti[s->in[1]].src + 4);
	out[3] = in->dims[3];
	op->n_inputs = 1; /* the output tensor's H and W are the size */
	return check_out_shape(im, s, out, 4);
}

static int build_logistic(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *out = tensor(im, s->out);
	int ret = activation(im, s, 0);

	if (ret < 0 || (ret = io_types(im, s, 0)) < 0 || (ret = same_as_input(im, s)) < 0)
		return ret;
	if (!is_q(out->dtype))
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "Vigil runs LOGISTIC on quantized tensors only");
	/* TFLite's quantized LOGISTIC requires this output quantization */
	if (out->quant.scale != 1.0f / 256 || out->quant.zero_point != (out->dtype == VIGIL_DT_U8 ? 0 : -128))
		return op_fail(im, s, VIGIL_EMODEL,
			       "output (tensor %d '%s') has scale %g and zero point %d; quantized LOGISTIC needs scale "
			       "1/256 and zero point %d",
			       s->out, out->name, (double)out->quant.scale, out->quant.zero_point,
			       out->dtype == VIGIL_DT_U8 ? 0 : -128);
	return 0;
}

/* QUANTIZE: FLOAT32 -> UINT8/INT8, or a requantization between them. */
static int build_quantize(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]), *out = tensor(im, s->out);
	int ret = activation(im, s, 0);

	if (ret < 0 || (ret = same_as_input(im, s)) < 0)
		return ret;
	if (!is_q(out->dtype) || out->quant.n != 1 || (is_q(in->dtype) && in->quant.n != 1) ||
	    (!is_q(in->dtype) && in->dtype != VIGIL_DT_F32))
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "quantizes %s into %s (%d scales); Vigil quantizes FLOAT32/UINT8/INT8 into per-tensor "
			       "UINT8/INT8",
			       vigil_dtype_name(in->dtype), vigil_dtype_name(out->dtype), out->quant.n);
	return 0;
}

static int build_dequantize(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	const struct vigil_tensor *in = tensor(im, s->in[0]), *out = tensor(im, s->out);
	int ret = activation(im, s, 0);

	if (ret < 0)
		return ret;
	if (!is_q(in->dtype) || in->quant.n != 1 || out->dtype != VIGIL_DT_F32)
		return op_fail(
		    im, s, VIGIL_EUNSUPPORTED,
		    "dequantizes tensor %d '%s' (%s, %d scales) into %s; Vigil only expands FLOAT16 constant "
		    "weights and dequantizes per-tensor UINT8/INT8 activations into FLOAT32",
		    s->in[0], in->name, vigil_dtype_name(in->dtype), in->quant.n, vigil_dtype_name(out->dtype));
	return same_as_input(im, s);
}

static int detpp_input(const struct importer *im, const struct src_op *s, int k, int rank, int64_t d0, int64_t d1)
{
	const struct vigil_tensor *t = tensor(im, s->in[k]);
	char shape[64];

	if (t->rank != rank || (d0 >= 0 && t->dims[0] != d0) || (d1 >= 0 && t->dims[1] != d1) ||
	    (t->dtype != VIGIL_DT_F32 && (t->dtype != VIGIL_DT_U8 || t->quant.n != 1))) {
		vigil_tensor_shape_str(t, shape, sizeof(shape));
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "input %d (tensor %d '%s') is %s %s; expected rank %d, FLOAT32 or per-tensor UINT8", k,
			       s->in[k], t->name, shape, vigil_dtype_name(t->dtype), rank);
	}
	return 0;
}

/* Output @p k of the post-process: FLOAT32 with the shape TFLite gives it (files often leave it unset). */
static int detpp_output(struct importer *im, const struct src_op *s, int k, int t, int rank, int32_t m)
{
	struct vigil_tensor *o = &im->g->tensors[t];
	const int32_t want[3] = { 1, m, k == 0 ? 4 : 1 };
	const int r = k == 3 ? 1 : rank;
	char shape[64];
	int same = o->rank == r;

	for (int d = 0; same && d < r; d++)
		same = o->dims[d] == (k == 3 ? 1 : want[d]);
	if (o->dtype != VIGIL_DT_F32)
		return op_fail(im, s, VIGIL_EUNSUPPORTED, "output %d (tensor %d '%s') is %s; it must be FLOAT32", k, t,
			       o->name, vigil_dtype_name(o->dtype));
	if (same)
		return 0;
	if (o->rank != 0) {
		vigil_tensor_shape_str(o, shape, sizeof(shape));
		return op_fail(im, s, VIGIL_EMODEL,
			       "output %d (tensor %d '%s') is %s, but max_detections x max_classes_per_detection = %d",
			       k, t, o->name, shape, m);
	}
	o->rank = r;
	for (int d = 0; d < r; d++)
		o->dims[d] = k == 3 ? 1 : want[d];
	o->count = k == 3 ? 1 : (size_t)m * (k == 0 ? 4 : 1);
	return 0;
}

static int build_detpp(struct importer *im, const struct src_op *s, struct vigil_op *op)
{
	struct vigil_detpp_params *p = &op->p.detpp;
	const struct vigil_tensor *boxes, *scores;
	int32_t m;
	int ret = vigil_detpp_parse_options(vigil_fb_vector_data(&s->custom_options), s->custom_options.count, p);

	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s)", s->index, s->name);
	if ((ret = activation(im, s, 0)) < 0 || (ret = activation(im, s, 1)) < 0 ||
	    (ret = detpp_input(im, s, 0, 3, 1, -1)) < 0)
		return ret;
	boxes = tensor(im, s->in[0]);
	if ((ret = detpp_input(im, s, 1, 3, 1, boxes->dims[1])) < 0)
		return ret;
	if (boxes->dims[2] < 4)
		return op_fail(im, s, VIGIL_EMODEL, "box encodings have %d values per anchor, at least 4 needed",
			       boxes->dims[2]);
	scores = tensor(im, s->in[1]);
	if (scores->dims[2] < p->num_classes)
		return op_fail(im, s, VIGIL_EMODEL, "class predictions have %d classes per anchor, num_classes is %d",
			       scores->dims[2], p->num_classes);
	if (tensor(im, s->in[2])->dtype == VIGIL_DT_F32)
		ret = constant(im, s, 2, VIGIL_DT_F32, "anchors");
	else
		ret = constant(im, s, 2, VIGIL_DT_U8, "anchors");
	if (ret < 0 || (ret = detpp_input(im, s, 2, 2, boxes->dims[1], 4)) < 0)
		return ret;
	m = p->max_detections * p->max_classes_per_detection;
	if ((ret = detpp_output(im, s, 0, s->out, 3, m)) < 0)
		return ret;
	for (int k = 0; k < 3; k++) {
		op->extra_outputs[k] = s->extra_out[k];
		if ((ret = detpp_output(im, s, k + 1, s->extra_out[k], 2, m)) < 0)
			return ret;
	}
	return 0;
}

typedef int (*build_fn)(struct importer *im, const struct src_op *s, struct vigil_op *op);

struct op_rule {
	int32_t code;
	enum vigil_op_kind kind;
	int min_in, max_in;
	int optional_in;      /* input that may be -1 (omitted), or -1 when none may */
	uint8_t options_type; /* BuiltinOptions member the operator reads, 0 when it reads none */
	build_fn build;
};

static const struct op_rule op_rules[] = {
	{ BUILTIN_CONV_2D, VIGIL_OP_CONV2D, 2, 3, 2, OPT_CONV2D, build_conv_any },
	{ BUILTIN_DEPTHWISE_CONV_2D, VIGIL_OP_DWCONV2D, 2, 3, 2, OPT_DEPTHWISE_CONV2D, build_conv_any },
	{ BUILTIN_ADD, VIGIL_OP_ADD, 2, 2, -1, OPT_ADD, build_add },
	{ BUILTIN_RELU, VIGIL_OP_RELU, 1, 1, -1, 0, build_relu },
	{ BUILTIN_MAX_POOL_2D, VIGIL_OP_MAXPOOL2D, 1, 1, -1, OPT_POOL2D, build_maxpool },
	{ BUILTIN_PAD, VIGIL_OP_PAD, 2, 2, -1, 0, build_pad },
	{ BUILTIN_RESHAPE, VIGIL_OP_RESHAPE, 1, 2, 1, 0, build_reshape },
	{ BUILTIN_CONCATENATION, VIGIL_OP_CONCAT, 1, VIGIL_MAX_OP_INPUTS, -1, OPT_CONCATENATION, build_concat },
	{ BUILTIN_RESIZE_BILINEAR, VIGIL_OP_RESIZE_BILINEAR, 2, 2, -1, OPT_RESIZE_BILINEAR, build_resize },
	{ BUILTIN_AVERAGE_POOL_2D, VIGIL_OP_AVGPOOL2D, 1, 1, -1, OPT_POOL2D, build_maxpool },
	{ BUILTIN_LOGISTIC, VIGIL_OP_LOGISTIC, 1, 1, -1, 0, build_logistic },
	{ BUILTIN_QUANTIZE, VIGIL_OP_QUANTIZE, 1, 1, -1, 0, build_quantize },
	{ BUILTIN_CUSTOM, VIGIL_OP_DETECTION_POSTPROCESS, 3, 3, -1, 0, build_detpp }, /* DETPP_NAME only */
	/* FLOAT16 constants: folded into their constant output; quantized activations: a real operator */
	{ BUILTIN_DEQUANTIZE, VIGIL_OP_DEQUANTIZE, 1, 1, -1, 0, build_dequantize },
};

/* ---- operators --------------------------------------------------------------------------------------------- */

/* Resolves operator_codes[@p index] to its builtin code (and custom name for CUSTOM). */
static int resolve_opcode(const struct importer *im, int op_index, uint32_t index, int32_t *code, const char **custom)
{
	struct vigil_fb_table oc;
	int8_t deprecated;
	int32_t builtin;
	int ret;

	if (index >= im->opcodes.count)
		return fail(im, VIGIL_EMODEL, "operator %d uses operator code %u, but the model has %u", op_index,
			    index, im->opcodes.count);
	ret = vigil_fb_vector_table(&im->opcodes, index, "operator code", &oc);
	if (ret >= 0)
		ret = vigil_fb_i8(&oc, OPCODE_DEPRECATED_BUILTIN, 0, &deprecated);
	if (ret >= 0)
		ret = vigil_fb_i32(&oc, OPCODE_BUILTIN, 0, &builtin);
	if (ret >= 0)
		ret = vigil_fb_string(&oc, OPCODE_CUSTOM, "custom_code", custom);
	if (ret < 0)
		return fail_at(im, ret, "operator code %u", index);
	/* Old writers fill only the int8 field, new ones both (the int8 one saturating at 127): take the larger. */
	*code = deprecated > builtin ? deprecated : builtin;
	if (*code < 0)
		return fail(im, VIGIL_EMODEL, "operator code %u: builtin code %d is negative", index, *code);
	return 0;
}

static int unsupported_op(const struct importer *im, int op_index, int32_t code, const char *custom)
{
	const char *name = builtin_name(code);

	if (code == BUILTIN_CUSTOM)
		return fail(im, VIGIL_EUNSUPPORTED, "operator %d is CUSTOM ('%s'), which Vigil does not support",
			    op_index, custom);
	if (!name)
		return fail(im, VIGIL_EUNSUPPORTED, "operator %d is BUILTIN_%d, which Vigil does not support", op_index,
			    code);
	return fail(im, VIGIL_EUNSUPPORTED, "operator %d is %s, which Vigil does not support%s", op_index, name,
		    code == BUILTIN_DENSIFY ? " (it decodes sparse weights; use a model with dense weights)" : "");
}

static const struct op_rule *find_rule(int32_t code)
{
	for (size_t i = 0; i < N_ELEMS(op_rules); i++)
		if (op_rules[i].code == code)
			return &op_rules[i];
	return NULL;
}

/* Reads the index vectors of an operator; -1 (an omitted optional input) is kept for the builders to judge. */
static int read_op_io(const struct importer *im, const struct vigil_fb_table *ot, const struct op_rule *rule,
		      struct src_op *s)
{
	struct vigil_fb_vector ins, outs;
	int ret = vigil_fb_vector(ot, OP_INPUTS, 4, "inputs", &ins);

	if (ret >= 0)
		ret = vigil_fb_vector(ot, OP_OUTPUTS, 4, "outputs", &outs);
	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s)", s->index, s->name);
	if (ins.count < (uint32_t)rule->min_in || ins.count > (uint32_t)rule->max_in)
		return op_fail(im, s,
			       rule->code == BUILTIN_CONCATENATION && ins.count > 1 ? VIGIL_EUNSUPPORTED : VIGIL_EMODEL,
			       "has %u inputs, expected %d to %d", ins.count, rule->min_in, rule->max_in);
	s->n_out = rule->code == BUILTIN_CUSTOM ? 4 : 1;
	if (outs.count != (uint32_t)s->n_out)
		return op_fail(im, s, VIGIL_EMODEL, "has %u outputs, expected %d", outs.count, s->n_out);
	for (int k = 1; k < s->n_out; k++) {
		s->extra_out[k - 1] = vigil_fb_vector_i32(&outs, (uint32_t)k);
		if (s->extra_out[k - 1] < 0 || s->extra_out[k - 1] >= im->g->n_tensors)
			return op_fail(im, s, VIGIL_EMODEL, "output %d is tensor %d, out of range", k,
				       s->extra_out[k - 1]);
	}
	s->n_in = (int)ins.count;
	for (int k = 0; k < s->n_in; k++) {
		s->in[k] = vigil_fb_vector_i32(&ins, (uint32_t)k);
		if (s->in[k] == -1 && k == rule->optional_in)
			continue;
		if (s->in[k] < 0 || s->in[k] >= im->g->n_tensors)
			return op_fail(im, s, VIGIL_EMODEL,
				       "input %d is tensor %d, out of range (the subgraph has %d tensors)", k, s->in[k],
				       im->g->n_tensors);
	}
	s->out = vigil_fb_vector_i32(&outs, 0);
	if (s->out < 0 || s->out >= im->g->n_tensors)
		return op_fail(im, s, VIGIL_EMODEL, "output 0 is tensor %d, out of range (the subgraph has %d tensors)",
			       s->out, im->g->n_tensors);
	return 0;
}

static int read_op_options(const struct importer *im, const struct vigil_fb_table *ot, const struct op_rule *rule,
			   struct src_op *s)
{
	uint8_t type;
	int ret = vigil_fb_union(ot, OP_BUILTIN_OPTIONS_TYPE, "builtin_options", &type, &s->opt);

	if (ret < 0)
		return fail_at(im, ret, "operator %d (%s)", s->index, s->name);
	if (ret == 0 || rule->options_type == 0) {
		memset(&s->opt, 0, sizeof(s->opt));
		s->opt.fb = &im->fb;
		return 0;
	}
	if (type != rule->options_type)
		return op_fail(im, s, VIGIL_EMODEL, "carries builtin options of union type %u, expected type %u", type,
			       rule->options_type);
	return 0;
}

/* DEQUANTIZE of a FLOAT16 constant: its output becomes a FLOAT32 constant, expanded once the model is valid. */
static int fold_dequantize(struct importer *im, const struct src_op *s)
{
	const int in = s->in[0], out = s->out;
	int ret;

	if (im->ti[in].tfl_type != TFL_FLOAT16)
		return op_fail(im, s, VIGIL_EUNSUPPORTED,
			       "dequantizes tensor %d '%s' (%s%s); Vigil only expands FLOAT16 constant weights "
			       "(quantized models are not supported)",
			       in, tensor(im, in)->name, im->ti[in].state == T_CONST ? "constant " : "",
			       type_name(im->ti[in].tfl_type));
	ret = check_output(im, s);
	if (ret < 0)
		return ret;
	if (!same_shape(tensor(im, in), tensor(im, out)))
		return op_fail(im, s, VIGIL_EMODEL, "input has %zu elements, output tensor %d '%s' %zu; shapes differ",
			       tensor(im, in)->count, out, tensor(im, out)->name, tensor(im, out)->count);
	im->ti[out].state = T_CONST;
	im->ti[out].dequant_of = in;
	im->ti[out].writer = s->index;
	return 0;
}

static int import_operator(struct importer *im, int index, const struct vigil_fb_table *ot)
{
	struct vigil_op *op = &im->g->ops[im->g->n_ops];
	const struct op_rule *rule;
	const char *custom;
	struct src_op s = { .index = index };
	uint32_t opcode;
	int ret = vigil_fb_u32(ot, OP_OPCODE_INDEX, 0, &opcode);

	if (ret < 0)
		return fail_at(im, ret, "operator %d", index);
	ret = resolve_opcode(im, index, opcode, &s.code, &custom);
	if (ret < 0)
		return ret;
	rule = find_rule(s.code);
	if (!rule || (s.code == BUILTIN_CUSTOM && strcmp(custom, DETPP_NAME) != 0))
		return unsupported_op(im, index, s.code, custom);
	s.name = s.code == BUILTIN_CUSTOM ? custom : builtin_name(s.code);
	s.custom = custom;
	if ((ret = read_op_io(im, ot, rule, &s)) < 0 || (ret = read_op_options(im, ot, rule, &s)) < 0)
		return ret;
	if (s.code == BUILTIN_CUSTOM &&
	    (ret = vigil_fb_vector(ot, OP_CUSTOM_OPTIONS, 1, "custom_options", &s.custom_options)) < 0)
		return fail_at(im, ret, "operator %d (%s)", index, s.name);
	if (s.code == BUILTIN_DEQUANTIZE && im->ti[s.in[0]].state == T_CONST)
		return fold_dequantize(im, &s);
	ret = check_output(im, &s);
	for (int k = 1; ret >= 0 && k < s.n_out; k++) {
		struct src_op extra = s;

		extra.out = s.extra_out[k - 1];
		for (int j = 0; j < k && ret >= 0; j++)
			if ((j == 0 ? s.out : s.extra_out[j - 1]) == extra.out)
				ret = op_fail(im, &s, VIGIL_EMODEL, "outputs %d and %d are both tensor %d", j, k,
					      extra.out);
		if (ret >= 0)
			ret = check_output(im, &extra);
	}
	if (ret < 0)
		return ret;
	memset(op, 0, sizeof(*op));
	op->kind = rule->kind;
	op->source_index = index;
	op->n_inputs = s.n_in;
	memcpy(op->inputs, s.in, sizeof(s.in));
	op->output = s.out;
	ret = rule->build(im, &s, op);
	if (ret < 0)
		return ret;
	im->ti[s.out].state = T_PRODUCED;
	im->ti[s.out].writer = index;
	for (int k = 1; k < s.n_out; k++) {
		im->ti[s.extra_out[k - 1]].state = T_PRODUCED;
		im->ti[s.extra_out[k - 1]].writer = index;
	}
	im->g->n_ops++;
	return 0;
}

static int import_operators(struct importer *im, const struct vigil_fb_table *subgraph)
{
	struct vigil_fb_vector ops;
	struct vigil_fb_table ot;
	int ret = vigil_fb_vector(subgraph, SUBGRAPH_OPERATORS, 4, "operators", &ops);

	if (ret < 0)
		return fail_at(im, ret, "subgraph 0");
	if (ops.count > VIGIL_TFLITE_MAX_OPS)
		return fail(im, VIGIL_ETOOBIG, "subgraph 0 has %u operators; Vigil accepts at most %d", ops.count,
			    VIGIL_TFLITE_MAX_OPS);
	if (ops.count == 0)
		return fail(im, VIGIL_EMODEL, "subgraph 0 has no operators");
	im->g->ops = calloc(ops.count, sizeof(*im->g->ops));
	if (!im->g->ops)
		return fail(im, -ENOMEM, "out of memory for %u operators", ops.count);
	for (int i = 0; i < (int)ops.count; i++) {
		ret = vigil_fb_vector_table(&ops, (uint32_t)i, "operator", &ot);
		if (ret < 0)
			return fail_at(im, ret, "operator %d", i);
		ret = import_operator(im, i, &ot);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- constant data ----------------------------------------------------------------------------------------- */

#define STORAGE_ALIGN 64

static float half_to_float(uint16_t h)
{
	const uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	uint32_t bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000 | mant << 13; /* infinity, NaN */
	} else if (exp != 0) {
		bits = sign | (exp + 112) << 23 | mant << 13; /* rebias the exponent from 15 to 127 */
	} else {
		f = (float)mant * 0x1p-24f; /* zero and subnormals: mant * 2^-24, exact in float */
		return sign ? -f : f;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Bytes a tensor's constant data takes in storage; 0 when no operator reads it. */
static size_t storage_bytes(const struct importer *im, int t)
{
	const size_t elem = tensor(im, t)->dtype == VIGIL_DT_U8 || tensor(im, t)->dtype == VIGIL_DT_I8 ? 1 : 4;

	if (!im->ti[t].read || im->ti[t].state != T_CONST)
		return 0;
	return (tensor(im, t)->count * elem + STORAGE_ALIGN - 1) / STORAGE_ALIGN * STORAGE_ALIGN;
}

/* Identifies where a constant's bytes come from, so that tensors sharing a buffer share one copy:
 * buffer index for plain copies, and buffer index + number of buffers for float16 expansions. */
static size_t source_key(const struct importer *im, int t)
{
	const int src = im->ti[t].dequant_of;

	return src >= 0 ? (size_t)im->ti[src].buffer + im->buffers.count : im->ti[t].buffer;
}

static void fill_constant(const struct importer *im, int t, uint8_t *dst)
{
	const int src = im->ti[t].dequant_of;
	const size_t count = tensor(im, t)->count;

	if (src >= 0) {
		const uint8_t *h = im->ti[src].src;

		for (size_t i = 0; i < count; i++) {
			const float f = half_to_float(vigil_fb_load_u16(h + 2 * i));

			memcpy(dst + 4 * i, &f, 4);
		}
	} else if (tensor(im, t)->dtype == VIGIL_DT_U8 || tensor(im, t)->dtype == VIGIL_DT_I8) {
		memcpy(dst, im->ti[t].src, count);
	} else {
		/* FLOAT32 and INT32: little-endian in the file, native in memory. */
		for (size_t i = 0; i < count; i++) {
			const uint32_t v = vigil_fb_load_u32(im->ti[t].src + 4 * i);

			memcpy(dst + 4 * i, &v, 4);
		}
	}
}

/* Copies every constant an operator reads into one aligned block owned by the graph. Tensors that share a
 * buffer share the copy, which keeps the block within three times the file size (float16 doubles). */
static int materialize_constants(struct importer *im)
{
	const size_t n_keys = 2 * (size_t)im->buffers.count;
	struct slot {
		size_t offset;
		int owner; /* tensor that fills the copy, -1 while the source has none */
	} * slots;
	size_t total = 0;
	uint8_t *storage;
	int ret = 0;

	slots = malloc((n_keys ? n_keys : 1) * sizeof(*slots));
	if (!slots)
		return fail(im, -ENOMEM, "out of memory");
	for (size_t k = 0; k < n_keys; k++)
		slots[k].owner = -1;
	for (int t = 0; t < im->g->n_tensors; t++) {
		const size_t bytes = storage_bytes(im, t);
		struct slot *sl = &slots[source_key(im, t)];

		if (bytes && sl->owner < 0) {
			sl->offset = total;
			sl->owner = t;
			total += bytes;
		}
	}
	if (total == 0)
		goto free_slots;
	storage = aligned_alloc(STORAGE_ALIGN, total);
	if (!storage) {
		ret = fail(im, -ENOMEM, "out of memory for %zu bytes of weights", total);
		goto free_slots;
	}
	im->g->storage = storage;
	for (int t = 0; t < im->g->n_tensors; t++) {
		const struct slot *sl = &slots[source_key(im, t)];

		if (!storage_bytes(im, t))
			continue;
		if (sl->owner == t)
			fill_constant(im, t, storage + sl->offset);
		im->g->tensors[t].data = storage + sl->offset;
	}
free_slots:
	free(slots);
	return ret;
}

/* ---- model ------------------------------------------------------------------------------------------------- */

static int import_model(struct importer *im)
{
	struct vigil_fb_table model, subgraph;
	struct vigil_fb_vector subgraphs;
	uint32_t version;
	int ret = vigil_fb_root(&im->fb, &model);

	if (ret < 0)
		return fail_at(im, ret, "model header");
	ret = vigil_fb_u32(&model, MODEL_VERSION, 0, &version);
	if (ret >= 0 && version != 3)
		return fail(im, VIGIL_EUNSUPPORTED, "schema version %u; Vigil reads TFLite schema version 3", version);
	if (ret >= 0)
		ret = vigil_fb_vector(&model, MODEL_OPERATOR_CODES, 4, "operator_codes", &im->opcodes);
	if (ret >= 0)
		ret = vigil_fb_vector(&model, MODEL_BUFFERS, 4, "buffers", &im->buffers);
	if (ret >= 0)
		ret = vigil_fb_vector(&model, MODEL_SUBGRAPHS, 4, "subgraphs", &subgraphs);
	if (ret < 0)
		return fail_at(im, ret, "model");
	if (subgraphs.count == 0)
		return fail(im, VIGIL_EMODEL, "the model has no subgraph");
	ret = vigil_fb_vector_table(&subgraphs, 0, "subgraph", &subgraph);
	if (ret < 0)
		return fail_at(im, ret, "subgraph 0");
	if ((ret = import_tensors(im, &subgraph)) < 0 || (ret = import_inputs(im, &subgraph)) < 0 ||
	    (ret = import_outputs(im, &subgraph)) < 0 || (ret = import_operators(im, &subgraph)) < 0 ||
	    (ret = check_outputs_produced(im)) < 0)
		return ret;
	return materialize_constants(im);
}

int vigil_tflite_import(const uint8_t *buf, size_t len, const char *label, struct vigil_graph *out)
{
	struct importer im = { .label = label ? label : "(unnamed)", .g = out };
	int ret;

	if (!out || (!buf && len))
		return vigil_error(-EINVAL, "vigil_tflite_import: NULL %s", out ? "buffer" : "graph");
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return fail(&im, VIGIL_EMODEL, "the file is empty");
	if (len > VIGIL_TFLITE_MAX_BYTES)
		return fail(&im, VIGIL_ETOOBIG, "the file holds %zu bytes; Vigil reads models up to %u bytes", len,
			    VIGIL_TFLITE_MAX_BYTES);
	ret = vigil_fb_init(&im.fb, buf, len);
	if (ret < 0)
		ret = fail_at(&im, ret, "header");
	else
		ret = import_model(&im);
	free(im.ti);
	if (ret < 0) {
		/* Files without the identifier are most often not TFLite at all: say so next to the detail. */
		if (ret == VIGIL_EMODEL && !vigil_fb_has_identifier(&im.fb, "TFL3")) {
			char detail[512];

			snprintf(detail, sizeof(detail), "%s", vigil_last_error());
			vigil_error(ret,
				    "%s (the file lacks the TFLite identifier 'TFL3' at bytes 4..7: is it a .tflite "
				    "model?)",
				    detail);
		}
		vigil_graph_free(out);
	}
	return ret;
}
