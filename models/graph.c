/* SPDX-License-Identifier: Apache-2.0 */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vigil_op_kind_name(enum vigil_op_kind kind)
{
	/* The TFLite names, so that messages match what model authors see in their tools. */
	switch (kind) {
	case VIGIL_OP_CONV2D:
		return "CONV_2D";
	case VIGIL_OP_DWCONV2D:
		return "DEPTHWISE_CONV_2D";
	case VIGIL_OP_ADD:
		return "ADD";
	case VIGIL_OP_RELU:
		return "RELU";
	case VIGIL_OP_MAXPOOL2D:
		return "MAX_POOL_2D";
	case VIGIL_OP_PAD:
		return "PAD";
	case VIGIL_OP_RESHAPE:
		return "RESHAPE";
	case VIGIL_OP_CONCAT:
		return "CONCATENATION";
	case VIGIL_OP_RESIZE_BILINEAR:
		return "RESIZE_BILINEAR";
	case VIGIL_OP_LOGISTIC:
		return "LOGISTIC";
	case VIGIL_OP_AVGPOOL2D:
		return "AVERAGE_POOL_2D";
	case VIGIL_OP_QUANTIZE:
		return "QUANTIZE";
	case VIGIL_OP_DEQUANTIZE:
		return "DEQUANTIZE";
	case VIGIL_OP_DETECTION_POSTPROCESS:
		return "TFLite_Detection_PostProcess";
	}
	return "UNKNOWN";
}

const char *vigil_dtype_name(enum vigil_dtype dtype)
{
	static const char *const names[] = { "float32", "float16", "uint8", "int8", "int32", "int64" };

	return (unsigned)dtype < sizeof(names) / sizeof(names[0]) ? names[dtype] : "unknown";
}

void vigil_tensor_shape_str(const struct vigil_tensor *t, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "[");

	for (int i = 0; i < t->rank && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%d", i ? "," : "", (int)t->dims[i]);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

int vigil_graph_is_quantized(const struct vigil_graph *graph)
{
	for (int i = 0; i < graph->n_ops; i++) {
		const struct vigil_op *op = &graph->ops[i];

		if (op->kind >= VIGIL_OP_LOGISTIC || graph->tensors[op->output].dtype != VIGIL_DT_F32 ||
		    graph->tensors[op->inputs[0]].dtype != VIGIL_DT_F32)
			return 1;
	}
	return 0;
}

void vigil_graph_free(struct vigil_graph *graph)
{
	if (!graph)
		return;
	for (int t = 0; graph->tensors && t < graph->n_tensors; t++)
		free((void *)graph->tensors[t].quant.scales); /* one block: scales, then zero points */
	free(graph->tensors);
	free(graph->ops);
	free(graph->storage);
	memset(graph, 0, sizeof(*graph));
}

int vigil_pad_before(enum vigil_padding padding, int in, int out, int k, int stride, int dil)
{
	const int total = (out - 1) * stride + (k - 1) * dil + 1 - in;

	return padding == VIGIL_PAD_VALID || total <= 0 ? 0 : total / 2;
}

void vigil_act_range(enum vigil_act act, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (act == VIGIL_ACT_RELU) {
		*lo = 0.0f;
	} else if (act == VIGIL_ACT_RELU_N1_TO_1) {
		*lo = -1.0f;
		*hi = 1.0f;
	} else if (act == VIGIL_ACT_RELU6) {
		*lo = 0.0f;
		*hi = 6.0f;
	}
}

size_t vigil_plan_arena(const struct vigil_tensor *tensors, int *order, int n, const int *first, const int *last,
			size_t (*key)(const struct vigil_tensor *), size_t (*size)(const struct vigil_tensor *),
			size_t *offset)
{
	size_t total = 0;

	/* insertion sort, largest first: a few hundred tensors at most */
	for (int i = 1; i < n; i++) {
		const int t = order[i];
		int j = i;

		while (j > 0 && key(&tensors[order[j - 1]]) < key(&tensors[t])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = t;
	}
	for (int i = 0; i < n; i++) {
		const int t = order[i];
		const size_t sz = size(&tensors[t]);
		size_t at = 0;
		int moved;

		do {
			moved = 0;
			for (int j = 0; j < i; j++) {
				const int u = order[j];
				const size_t us = size(&tensors[u]);

				if (first[u] > last[t] || first[t] > last[u])
					continue; /* never alive together */
				if (at < offset[u] + us && offset[u] < at + sz) {
					at = offset[u] + us;
					moved = 1;
				}
			}
		} while (moved);
		offset[t] = at;
		if (at + sz > total)
			total = at + sz;
	}
	return total;
}
