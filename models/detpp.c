/* SPDX-License-Identifier: Apache-2.0 */
#include "detpp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "flexbuf.h"
#include "vigil/vigil.h"

static int find(const struct vigil_flex_map *m, const char *key, int required, struct vigil_flex_ref *ref)
{
	char detail[256];
	int ret = vigil_flex_map_find(m, key, ref);

	if (ret < 0) {
		snprintf(detail, sizeof(detail), "%s", vigil_last_error());
		return vigil_error(VIGIL_EMODEL, "custom options: looking up '%s': %s", key, detail);
	}
	if (ret == 0 && required)
		return vigil_error(VIGIL_EMODEL, "custom options: required key '%s' is missing", key);
	return ret;
}

static int get_int(const struct vigil_flex_map *m, const char *key, int required, int def, int lo, int hi, int *out)
{
	struct vigil_flex_ref ref;
	char detail[256];
	int64_t v;
	int ret = find(m, key, required, &ref);

	if (ret <= 0) {
		*out = def;
		return ret;
	}
	if (vigil_flex_as_i64(&ref, &v) < 0) {
		snprintf(detail, sizeof(detail), "%s", vigil_last_error());
		return vigil_error(VIGIL_EMODEL, "custom options: '%s': %s", key, detail);
	}
	if (v < lo || v > hi)
		return vigil_error(VIGIL_EMODEL, "custom options: '%s' is %lld; it must be in %d..%d", key,
				   (long long)v, lo, hi);
	*out = (int)v;
	return 0;
}

static int get_float(const struct vigil_flex_map *m, const char *key, float *out)
{
	struct vigil_flex_ref ref;
	char detail[256];
	double v;
	int ret = find(m, key, 1, &ref);

	if (ret < 0)
		return ret;
	if (vigil_flex_as_double(&ref, &v) < 0) {
		snprintf(detail, sizeof(detail), "%s", vigil_last_error());
		return vigil_error(VIGIL_EMODEL, "custom options: '%s': %s", key, detail);
	}
	*out = (float)v; /* TFLite reads them with AsFloat() */
	if (!isfinite(*out))
		return vigil_error(VIGIL_EMODEL, "custom options: '%s' is %g; it must be finite", key, v);
	return 0;
}

int vigil_detpp_parse_options(const uint8_t *buf, size_t len, struct vigil_detpp_params *p)
{
	struct vigil_flex_ref root, ref;
	struct vigil_flex_map m;
	char detail[256];
	int ret;

	memset(p, 0, sizeof(*p));
	if (!buf || len == 0)
		return vigil_error(VIGIL_EMODEL,
				   "custom options are missing (TFLite_Detection_PostProcess needs them)");
	ret = vigil_flex_root(buf, len, &root);
	if (ret >= 0)
		ret = vigil_flex_as_map(&root, &m);
	if (ret < 0) {
		snprintf(detail, sizeof(detail), "%s", vigil_last_error());
		return vigil_error(VIGIL_EMODEL, "custom options: %s", detail);
	}
	if ((ret = get_int(&m, "max_detections", 1, 0, 1, VIGIL_DETPP_MAX_DETECTIONS, &p->max_detections)) < 0 ||
	    (ret = get_int(&m, "max_classes_per_detection", 1, 0, 1, VIGIL_DETPP_MAX_CLASSES,
			   &p->max_classes_per_detection)) < 0 ||
	    (ret = get_int(&m, "detections_per_class", 0, 100, 1, VIGIL_DETPP_MAX_DETECTIONS,
			   &p->detections_per_class)) < 0 ||
	    (ret = get_int(&m, "num_classes", 1, 0, 1, VIGIL_DETPP_MAX_CLASSES, &p->num_classes)) < 0 ||
	    (ret = get_float(&m, "nms_score_threshold", &p->nms_score_threshold)) < 0 ||
	    (ret = get_float(&m, "nms_iou_threshold", &p->nms_iou_threshold)) < 0 ||
	    (ret = get_float(&m, "y_scale", &p->y_scale)) < 0 || (ret = get_float(&m, "x_scale", &p->x_scale)) < 0 ||
	    (ret = get_float(&m, "h_scale", &p->h_scale)) < 0 || (ret = get_float(&m, "w_scale", &p->w_scale)) < 0)
		return ret;
	ret = find(&m, "use_regular_nms", 0, &ref);
	if (ret < 0)
		return ret;
	if (ret > 0 && vigil_flex_as_bool(&ref, &p->use_regular_nms) < 0) {
		snprintf(detail, sizeof(detail), "%s", vigil_last_error());
		return vigil_error(VIGIL_EMODEL, "custom options: 'use_regular_nms': %s", detail);
	}
	if (p->max_classes_per_detection > p->num_classes)
		return vigil_error(VIGIL_EMODEL, "custom options: max_classes_per_detection %d exceeds num_classes %d",
				   p->max_classes_per_detection, p->num_classes);
	if (!(p->nms_iou_threshold > 0.0f && p->nms_iou_threshold <= 1.0f))
		return vigil_error(VIGIL_EMODEL, "custom options: nms_iou_threshold %g must be in (0, 1]",
				   (double)p->nms_iou_threshold);
	if (!(p->y_scale > 0 && p->x_scale > 0 && p->h_scale > 0 && p->w_scale > 0))
		return vigil_error(VIGIL_EMODEL, "custom options: box scales y %g x %g h %g w %g must all be > 0",
				   (double)p->y_scale, (double)p->x_scale, (double)p->h_scale, (double)p->w_scale);
	return 0;
}
