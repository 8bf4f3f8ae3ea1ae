/* SPDX-License-Identifier: Apache-2.0
 * Options of TFLite's custom operator TFLite_Detection_PostProcess, read from its FlexBuffer custom options. */
#ifndef VIGIL_DETPP_H
#define VIGIL_DETPP_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* Caps on what a hostile file may ask for. */
#define VIGIL_DETPP_MAX_DETECTIONS 10000
#define VIGIL_DETPP_MAX_CLASSES 10000

/*
 * Parses the custom options (a FlexBuffer map). Required keys: max_detections, max_classes_per_detection,
 * num_classes, nms_score_threshold, nms_iou_threshold, y_scale, x_scale, h_scale, w_scale. Optional:
 * detections_per_class (default 100, as TFLite), use_regular_nms (default false).
 * Values are checked: counts >= 1 and within the caps, max_classes_per_detection <= num_classes, scales finite and
 * > 0, IoU threshold in (0, 1], score threshold finite.
 * Returns 0 or VIGIL_EMODEL with a message naming the key.
 */
int vigil_detpp_parse_options(const uint8_t *buf, size_t len, struct vigil_detpp_params *out);

#endif
