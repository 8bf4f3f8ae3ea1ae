/* SPDX-License-Identifier: Apache-2.0
 * OpenCL executor for quantized (uint8/int8) graphs such as COCO SSD MobileNet v1: bit-exact with the CPU
 * quantized engine (pipeline/engine_q8.c, accel/cpu/kernels_q8_c.c). Weights, biases and requantization
 * parameters are uploaded at create; activations live in one device buffer at byte offsets planned by liveness;
 * one launch per operator (CONCATENATION: one per input), arguments bound once. Operators from the first
 * DETECTION_POSTPROCESS on are left to the host: run() reads back only the tensors they read. */
#ifndef VIGIL_CL_EXEC_Q8_H
#define VIGIL_CL_EXEC_Q8_H

#include <stddef.h>

#include "cl_runtime.h"
#include "graph.h"
#include "kernels_q8.h"

struct vigil_cl_q8;

/* Prepares @p graph (which must outlive the executor) on @p dev; @p fixed_point picks TFLite's fixed-point
 * requantization of convolutions (VIGIL_Q8_REQUANT_FIXEDPOINT), else the float one (VIGIL_Q8_REQUANT_FP32).
 * Errors: VIGIL_EUNSUPPORTED naming the first operator it has no kernel for, or with the OpenCL status; -ENOMEM. */
int vigil_cl_q8_create(struct vigil_cl_device *dev, const struct vigil_graph *graph, int fixed_point,
		       struct vigil_cl_q8 **out);
void vigil_cl_q8_destroy(struct vigil_cl_q8 *e);

/* Operators [0, split) run on the device; the host runs [split, n_ops) (the SSD post-process). */
int vigil_cl_q8_split(const struct vigil_cl_q8 *e);
/* The tensors run() reads back: what the host operators read (or the graph outputs when split == n_ops). */
int vigil_cl_q8_n_readback(const struct vigil_cl_q8 *e);
int vigil_cl_q8_readback_tensor(const struct vigil_cl_q8 *e, int k);

/* Uploads @p input (the graph's input tensor, count bytes), runs the device operators and reads readback tensor k
 * into dst[k] (its count bytes). Blocking; no allocation. */
int vigil_cl_q8_run(struct vigil_cl_q8 *e, const void *input, void *const *dst);

struct vigil_cl_q8_stats {
	int launches_per_inference; /* kernels enqueued by one run() */
	int ops;                    /* operators run on the device (RESHAPEs included) */
	size_t act_bytes;           /* the activation buffer */
	size_t upload_bytes;        /* bytes written by one run() (the input tensor) */
	size_t read_bytes;          /* bytes read back by one run() */
};
void vigil_cl_q8_get_stats(const struct vigil_cl_q8 *e, struct vigil_cl_q8_stats *out);

/* One kernel on its own (tests): the same binding as the executor, with temporary buffers. */
int vigil_cl_q8_conv_once(struct vigil_cl_device *dev, const struct vigil_q8_conv_args *a, int depthwise,
			  int is_signed);
int vigil_cl_q8_concat_once(struct vigil_cl_device *dev, const struct vigil_q8_concat_input *in, int n, size_t outer,
			    float out_scale, int32_t out_zero_point, int is_signed, void *out);
int vigil_cl_q8_lookup_once(struct vigil_cl_device *dev, const uint8_t *in, uint8_t *out, size_t n,
			    const uint8_t table[256]);

#endif
