/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the TFLite importer and the FlatBuffer reader under it. Any byte string must give 0 or a
 * negative error with a message, never a crash, a leak, an out-of-bounds read or undefined behaviour. When a file
 * is accepted, the graph is walked the way the executor will walk it, so that a graph that breaks its contract
 * (an index out of range, constant data shorter than its shape) is caught here rather than at run time. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "tflite.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
	if (!ok)
		abort();
}

static void check_tensor(const struct vigil_tensor *t)
{
	volatile uint32_t sink = 0;
	size_t count = 1;

	require(t->name != NULL && t->rank >= 0 && t->rank <= VIGIL_MAX_RANK);
	for (int d = 0; d < t->rank; d++) {
		require(t->dims[d] >= 1);
		count *= (size_t)t->dims[d];
	}
	require(count == t->count);
	/* Touch every byte of constant data so that ASan sees a buffer shorter than the shape says. */
	if (t->data) {
		const uint8_t *p = t->data;
		const size_t elem = t->dtype == VIGIL_DT_U8 || t->dtype == VIGIL_DT_I8 ? 1 : 4;

		for (size_t i = 0; i < t->count * elem; i += elem)
			sink += p[i] + p[i + elem - 1];
	}
	/* quantization parameters: n values each, finite positive scales */
	require(t->quant.n >= 0);
	for (int c = 0; c < t->quant.n; c++) {
		require(t->quant.scales[c] > 0.0f);
		sink += (uint32_t)t->quant.zero_points[c];
	}
	require(t->quant.n <= 1 ||
		(t->quant.axis >= 0 && t->quant.axis < t->rank && t->dims[t->quant.axis] == t->quant.n));
	(void)sink;
}

static void check_graph(const struct vigil_graph *g)
{
	require(g->n_inputs == 1 && g->n_outputs >= 1 && g->n_outputs <= 4);
	require(g->inputs[0] >= 0 && g->inputs[0] < g->n_tensors);
	for (int t = 0; t < g->n_tensors; t++)
		check_tensor(&g->tensors[t]);
	for (int i = 0; i < g->n_ops; i++) {
		const struct vigil_op *op = &g->ops[i];

		require(op->n_inputs >= 1 && op->n_inputs <= VIGIL_MAX_OP_INPUTS);
		require(op->output >= 0 && op->output < g->n_tensors && !g->tensors[op->output].data);
		for (int k = 0; k < op->n_inputs; k++)
			require(op->inputs[k] >= -1 && op->inputs[k] < g->n_tensors);
		require(strcmp(vigil_op_kind_name(op->kind), "UNKNOWN") != 0);
		if (op->kind == VIGIL_OP_DETECTION_POSTPROCESS)
			for (int k = 0; k < 3; k++)
				require(op->extra_outputs[k] >= 0 && op->extra_outputs[k] < g->n_tensors &&
					!g->tensors[op->extra_outputs[k]].data);
	}
	for (int k = 0; k < g->n_outputs; k++)
		require(g->outputs[k] >= 0 && g->outputs[k] < g->n_tensors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_graph g;
	int ret = vigil_tflite_import(data, size, "fuzz", &g);

	if (ret == 0)
		check_graph(&g);
	else
		require(ret < 0 && vigil_last_error()[0] != '\0');
	vigil_graph_free(&g);
	return 0;
}
