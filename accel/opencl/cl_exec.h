/* SPDX-License-Identifier: Apache-2.0
 * OpenCL executor: a graph (models/graph.h) planned onto one device buffer, with every operator, the
 * preprocessing and the first half of the face decoder as kernels. Per stream (one per detector):
 * create (upload weights, plan activations, make and bind one kernel object per step) → configure
 * (frame geometry: tap tables, frame buffer) → run (enqueue only; no allocation, no program build) →
 * destroy. */
#ifndef VIGIL_CL_EXEC_H
#define VIGIL_CL_EXEC_H

#include <stddef.h>

#include "cl_runtime.h"
#include "graph.h"
#include "preprocess.h"

struct vigil_cl_exec;

struct vigil_cl_exec_config {
	int input_tensor, boxes_tensor, logits_tensor; /* graph tensor indices */
	int num_anchors, num_coords; /* face decoder (candidates selected on the device); 0: tensors only */
	int profiling;               /* queue with profiling (vigil_cl_exec_profile) */
};

/* Prepares @p graph (which must outlive the executor) on @p dev. Errors: VIGIL_EUNSUPPORTED with the
 * OpenCL status for a device failure, -ENOMEM. */
int vigil_cl_exec_create(struct vigil_cl_device *dev, const struct vigil_graph *graph,
			 const struct vigil_cl_exec_config *config, struct vigil_cl_exec **out);
void vigil_cl_exec_destroy(struct vigil_cl_exec *e);

/* Uploads @p input (the model's input tensor), runs the model and reads back the full raw outputs into
 * boxes [anchors * coords] and logits [anchors]. For parity tests and warm-up. */
int vigil_cl_exec_run_tensor(struct vigil_cl_exec *e, const float *input, float *boxes, float *logits);

/* Takes a configured preprocessing state (the tap tables) for frames of its geometry; called when the
 * geometry changes. May grow the device frame buffer. */
int vigil_cl_exec_configure(struct vigil_cl_exec *e, const struct vigil_preprocess *pp,
			    const struct vigil_frame *frame);

/* One frame: uploads the rows the taps read (or, for a DMABUF frame on a device that imports, reads the
 * imported buffer in place: frame->dmabuf), preprocesses, runs, selects the anchors whose logit is
 * >= @p logit_threshold on the device and reads back only those. On return logits[] is NaN (never
 * passes a threshold) except at the selected anchors, whose logits and boxes rows are set: what
 * vigil_face_decode() reads. No allocation. */
int vigil_cl_exec_detect(struct vigil_cl_exec *e, const struct vigil_preprocess *pp, const struct vigil_frame *frame,
			 float logit_threshold, float *boxes, float *logits);

/* Preprocessing only: the frame into the input tensor, read back into @p tensor (tests). */
int vigil_cl_exec_preprocess(struct vigil_cl_exec *e, const struct vigil_preprocess *pp,
			     const struct vigil_frame *frame, float *tensor);

struct vigil_cl_exec_stats {
	int launches_per_inference; /* kernels enqueued by one vigil_cl_exec_detect() */
	int ops;                    /* operators of the graph (RESHAPEs included) */
	size_t act_bytes;           /* the activation buffer */
	size_t last_read_bytes;     /* bytes read back by the last detect() */
	size_t last_upload_bytes;   /* frame bytes uploaded by the last detect() (0 when imported) */
	int last_imported;          /* the last frame was a DMABUF read in place (imported) */
	int import_kind;            /* enum vigil_cl_import_kind of the executor (NONE: DMABUF frames are copied) */
	long imports, import_hits;  /* DMABUF imports made, and frames served by an earlier import */
	long import_releases;       /* imports released (evicted, geometry change) */
	int imports_held;           /* imports cached now */
};
/* Whether the frame path (copy, DMABUF import and why) is logged, once per path: off for the warm-up frame,
 * on (and forgotten what was logged) after. */
void vigil_cl_exec_log_frame_paths(struct vigil_cl_exec *e, int on);

void vigil_cl_exec_get_stats(const struct vigil_cl_exec *e, struct vigil_cl_exec_stats *out);

/* Per-step profile (kernel name, total ms over @p iterations runs of the model) for benchmarks:
 * runs with a profiling queue. Writes at most max entries; returns the count or a negative error. */
struct vigil_cl_step_time {
	const char *kernel;
	int op_index; /* graph op, -1 for preprocessing / candidate selection */
	double ms;
};
int vigil_cl_exec_profile(struct vigil_cl_exec *e, int iterations, struct vigil_cl_step_time *out, int max);

#endif
