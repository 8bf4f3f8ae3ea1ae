/* SPDX-License-Identifier: Apache-2.0
 * The immutable, shareable model: file bytes, validated graph, prepared CPU program, decoder settings. */
#ifndef VIGIL_MODEL_INTERNAL_H
#define VIGIL_MODEL_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "engine_q8.h"
#include "graph.h"
#include "postprocess.h"
#include "vigil/vigil.h"

#define VIGIL_MAX_ANCHORS 4096

struct vigil_model {
	atomic_int refs;
	char *name;
	uint8_t *owned_bytes; /* file copy (NULL for built-ins, which live in the library) */
	struct vigil_graph graph;
	struct vigil_program *program;
	struct vigil_model_info info;
	int input_tensor, boxes_tensor, logits_tensor;
	struct vigil_anchor *anchors;
	struct vigil_face_decoder decoder;
	float norm_scale, norm_bias; /* tensor = pixel * scale + bias */
	/* quantized SSD models (TFLite_Detection_PostProcess outputs): program NULL, q8 set */
	struct vigil_q8_program *q8;
	int ssd_outputs[4];  /* boxes [1,M,4], classes [1,M], scores [1,M], count [1] */
	const char **labels; /* num_labels strings: TFLite class index -> name */
	char *label_text;    /* storage the labels point into */
};

#endif
