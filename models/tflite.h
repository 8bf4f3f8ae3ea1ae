/* SPDX-License-Identifier: Apache-2.0
 * TFLite flatbuffer reader and importer, written for Vigil: no generated code. Every offset, vtable,
 * vector length, buffer range, string, tensor shape/type and operator index is checked before use. */
#ifndef VIGIL_TFLITE_H
#define VIGIL_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* Caps that keep a hostile file from asking for absurd work or memory. */
#define VIGIL_TFLITE_MAX_BYTES (256u << 20) /* whole file */
#define VIGIL_TFLITE_MAX_TENSORS 100000
#define VIGIL_TFLITE_MAX_OPS 100000
#define VIGIL_TFLITE_MAX_ELEMENTS (1u << 28) /* per tensor */

/*
 * Parses and validates @p buf (a TFLite model, schema version 3) and builds the engine graph of its
 * first subgraph: constant float16 tensors feeding DEQUANTIZE are expanded to float32 and the
 * DEQUANTIZE removed; every operator is checked for support and for consistent shapes.
 * @p label names the model in error messages.
 * The graph's tensor names point into @p buf, which must outlive the graph.
 * Returns 0, VIGIL_EMODEL (malformed), VIGIL_EUNSUPPORTED (operator/type we do not run; the message
 * names the operator, its index and the model), VIGIL_ETOOBIG (a cap above: file size, tensor or operator
 * count, elements per tensor), -EINVAL (NULL arguments) or -ENOMEM; the detail goes to vigil_last_error().
 */
int vigil_tflite_import(const uint8_t *buf, size_t len, const char *label, struct vigil_graph *out);

#endif
