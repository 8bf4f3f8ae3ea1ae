/* SPDX-License-Identifier: Apache-2.0
 * Backend choice for a detector (pipeline/backend.c): the CPU program of the model, or an OpenCL
 * executor (accel/opencl) chosen and warmed up at create. detector.c calls these few hooks. */
#ifndef VIGIL_BACKEND_H
#define VIGIL_BACKEND_H

#include <stddef.h>

#include "model_internal.h"
#include "preprocess.h"
#include "vigil/vigil.h"

struct vigil_accel; /* an OpenCL executor; NULL means the CPU backend */

/* Resolves config->backend for @p model: *out stays NULL for the CPU. OPENCL that cannot run fails with
 * the reason; AUTO falls back to the CPU (one warning per process for an OpenCL failure). @p arena is
 * the detector's CPU arena (used by the AUTO measurement). Fills info. */
/* @p arena: the float program's arena, or for a quantized model the q8 program's (warm-up and auto's measurement). */
int vigil_accel_create(struct vigil_model *model, const struct vigil_detector_config *config, void *arena,
		       struct vigil_accel **out, struct vigil_backend_info *info);
void vigil_accel_destroy(struct vigil_accel *a);

/* Frame geometry changed (pp freshly configured for @p frame). */
int vigil_accel_configure(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame);

/* Preprocessing + inference + candidate selection on the device; boxes/logits as vigil_face_decode() reads
 * them (logits NaN where no candidate). */
int vigil_accel_detect(struct vigil_accel *a, const struct vigil_preprocess *pp, const struct vigil_frame *frame,
		       float logit_threshold, float *boxes, float *logits, struct vigil_backend_info *info);

/* After a failed vigil_accel_detect() under AUTO: warns once, destroys *a (NULL afterwards) and marks
 * the CPU in @p info. */
void vigil_accel_fallback(struct vigil_accel **a, struct vigil_backend_info *info);

/* Full raw outputs for an input tensor. */
int vigil_accel_run_tensor(struct vigil_accel *a, const float *input, float *boxes, float *logits);

/* Quantized models (model->q8): the input tensor already preprocessed into @p qarena (the q8 program's arena), the
 * device runs the network, the tensors the post-process reads are read back into @p qarena and the host runs the
 * rest (TFLite_Detection_PostProcess) with the CPU code: @p qarena then holds what vigil_q8_program_run() leaves. */
int vigil_accel_run_q8(struct vigil_accel *a, void *qarena, struct vigil_pool *pool, struct vigil_backend_info *info);

#endif
