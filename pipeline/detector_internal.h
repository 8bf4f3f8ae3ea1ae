/* SPDX-License-Identifier: Apache-2.0
 * Detector hooks for the project's own tests and tools; not part of the public API. */
#ifndef VIGIL_DETECTOR_INTERNAL_H
#define VIGIL_DETECTOR_INTERNAL_H

#include <stddef.h>

#include "vigil/vigil.h"

/* Runs inference on a caller-provided input tensor (HWC RGB float, the model's input size) and exposes
 * the raw outputs (boxes [A,16], logits [A]) owned by the detector, valid until its next run.
 * Used for tensor-level parity with the TFLite interpreter. */
int vigil_detector_run_tensor(struct vigil_detector *d, const float *input, size_t n, const float **boxes,
			      const float **logits);

#endif
