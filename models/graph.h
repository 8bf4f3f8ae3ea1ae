/* SPDX-License-Identifier: Apache-2.0
 * The engine's own model representation: a validated, immutable list of operators over tensors.
 * The TFLite importer (tflite_import.c) produces it; the executor (pipeline/engine.c) plans and runs it.
 * Everything here has been checked by the importer: indices are in range, shapes agree with the
 * operator, constant data has exactly the size its shape and type say. */
#ifndef VIGIL_GRAPH_H
#define VIGIL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_MAX_RANK 4
#define VIGIL_MAX_OP_INPUTS 8

enum vigil_dtype {
	VIGIL_DT_F32 = 0,
	VIGIL_DT_F16,
	VIGIL_DT_U8,
	VIGIL_DT_I8,
	VIGIL_DT_I32,
	VIGIL_DT_I64,
};

/* Fused activation as TFLite encodes it. */
enum vigil_act {
	VIGIL_ACT_NONE = 0,
	VIGIL_ACT_RELU,
	VIGIL_ACT_RELU_N1_TO_1,
	VIGIL_ACT_RELU6,
};

enum vigil_padding {
	VIGIL_PAD_SAME = 0,
	VIGIL_PAD_VALID,
};

enum vigil_op_kind {
	VIGIL_OP_CONV2D = 0,
	VIGIL_OP_DWCONV2D,
	VIGIL_OP_ADD,
	VIGIL_OP_RELU,
	VIGIL_OP_MAXPOOL2D,
	VIGIL_OP_PAD,
	VIGIL_OP_RESHAPE,
	VIGIL_OP_CONCAT,
	VIGIL_OP_RESIZE_BILINEAR,
	/* quantized models (pipeline/engine_q8.c runs them) */
	VIGIL_OP_LOGISTIC,
	VIGIL_OP_AVGPOOL2D,
	VIGIL_OP_QUANTIZE,
	VIGIL_OP_DEQUANTIZE,
	VIGIL_OP_DETECTION_POSTPROCESS, /* custom op TFLite_Detection_PostProcess: 4 outputs */
};

/* Affine quantization of a uint8/int8 tensor: real = scale * (q - zero_point). Per-channel (int8 weights) when
 * n > 1: scales[c], zero_points[c] along dimension axis, n == dims[axis]. Validated by the importer: every
 * scale finite and > 0, zero points inside the type's range. n == 0: the tensor is not quantized. */
struct vigil_quant {
	int n;
	int axis;
	float scale;                /* scales[0] */
	int32_t zero_point;         /* zero_points[0] */
	const float *scales;        /* n values; one block with zero_points, owned by the graph */
	const int32_t *zero_points; /* n values */
};

/* Options of TFLite_Detection_PostProcess (read from its FlexBuffer custom options, models/detpp.c). */
struct vigil_detpp_params {
	int max_detections;
	int max_classes_per_detection;
	int detections_per_class;
	int num_classes;
	int use_regular_nms;
	float nms_score_threshold;
	float nms_iou_threshold;
	float y_scale, x_scale, h_scale, w_scale;
};

struct vigil_tensor {
	const char *name;       /* points into the model (never NULL; "" when unnamed) */
	enum vigil_dtype dtype; /* after import: F32 for every tensor an op reads or writes */
	int rank;
	int32_t dims[VIGIL_MAX_RANK]; /* NHWC for rank 4; every dim >= 1 */
	size_t count;                 /* product of dims */
	const void *data;             /* constant tensors only: count elements of dtype, owned by the graph */
	struct vigil_quant quant;     /* uint8/int8 tensors (and int32 biases of quantized ops) */
	/* executor bookkeeping, filled by the planner, not by the importer */
	int arena_slot; /* -1 for constants and graph inputs/outputs with own storage */
};

struct vigil_conv_params {
	int stride_h, stride_w;
	int dilation_h, dilation_w;
	enum vigil_padding padding;
	enum vigil_act act;
	int depth_multiplier; /* depthwise only */
};

struct vigil_pool_params {
	int filter_h, filter_w;
	int stride_h, stride_w;
	enum vigil_padding padding;
	enum vigil_act act;
};

struct vigil_resize_params {
	int align_corners;
	int half_pixel_centers;
};

struct vigil_concat_params {
	int axis; /* normalised to 0..rank-1 */
	enum vigil_act act;
};

struct vigil_add_params {
	enum vigil_act act;
};

struct vigil_op {
	enum vigil_op_kind kind;
	int source_index; /* index of the operator in the source model, for messages */
	int n_inputs;
	int inputs[VIGIL_MAX_OP_INPUTS]; /* tensor indices; -1 for an omitted optional input (e.g. no bias) */
	int output;                      /* every supported op has exactly one output */
	union {
		struct vigil_conv_params conv;     /* CONV2D, DWCONV2D */
		struct vigil_pool_params pool;     /* MAXPOOL2D */
		struct vigil_resize_params resize; /* RESIZE_BILINEAR */
		struct vigil_concat_params concat; /* CONCAT */
		struct vigil_add_params add;       /* ADD */
		struct vigil_detpp_params detpp;   /* DETECTION_POSTPROCESS */
	} p;
	int extra_outputs[3]; /* DETECTION_POSTPROCESS: outputs 1..3 (classes, scores, count); output is boxes */
			      /* PAD: inputs[1] is a constant int32 [rank,2] tensor of (before, after) pairs.
	 * RESHAPE: only the output shape matters (same element count).
	 * RESIZE_BILINEAR: output size is the output tensor's H, W. */
};

struct vigil_graph {
	int n_tensors;
	struct vigil_tensor *tensors;
	int n_ops;
	struct vigil_op *ops; /* in execution order */
	int n_inputs;
	int inputs[4];
	int n_outputs;
	int outputs[4];
	void *storage; /* importer-owned allocations (expanded fp16 weights, ...) */
};

const char *vigil_op_kind_name(enum vigil_op_kind kind);

/* TFLite's padding rule: the implicit padding before the first row/column. SAME centres the window, the odd
 * pixel going after; VALID pads nothing. Shared by every executor (CPU float, quantized, OpenCL). */
int vigil_pad_before(enum vigil_padding padding, int in, int out, int k, int stride, int dil);

/* Places tensors in one arena (the executors' memory plan). order[0..n) lists the tensors that need a slot; each
 * lives from step first[t] to step last[t] inclusive. Tensors are placed largest first (by key(), stable), each
 * at the lowest offset where it overlaps no placed tensor alive at the same time; offset[t] receives it, in the
 * units of size(). Reorders @p order. Returns the arena size. No allocation. */
size_t vigil_plan_arena(const struct vigil_tensor *tensors, int *order, int n, const int *first, const int *last,
			size_t (*key)(const struct vigil_tensor *), size_t (*size)(const struct vigil_tensor *),
			size_t *offset);

/* The clamp a fused float activation applies: [-inf, inf] for none, [0, inf], [-1, 1] or [0, 6]. */
void vigil_act_range(enum vigil_act act, float *lo, float *hi);

/* "float32", "float16", ... */
const char *vigil_dtype_name(enum vigil_dtype dtype);

/* Writes a tensor's shape as "[1,128,128,3]" for messages (truncated to size). */
void vigil_tensor_shape_str(const struct vigil_tensor *t, char *buf, size_t size);

/* 1 when any tensor an operator computes on is uint8/int8 (the graph needs pipeline/engine_q8.c). */
int vigil_graph_is_quantized(const struct vigil_graph *graph);

/* Frees everything the importer allocated; accepts NULL. */
void vigil_graph_free(struct vigil_graph *graph);

#endif
