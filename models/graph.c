/* SPDX-License-Identifier: Apache-2.0 */
#include "graph.h"

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
	}
	return "UNKNOWN";
}

void vigil_graph_free(struct vigil_graph *graph)
{
	if (!graph)
		return;
	free(graph->tensors);
	free(graph->ops);
	free(graph->storage);
	memset(graph, 0, sizeof(*graph));
}
