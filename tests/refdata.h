/* SPDX-License-Identifier: Apache-2.0
 * The TFLite reference tensor sets in tests/data/reference_tensors, shared by the parity and
 * postprocessing suites. */
#ifndef VIGIL_REFDATA_H
#define VIGIL_REFDATA_H

struct refset {
	const char *model; /* built-in model name */
	const char *dir;   /* under tests/data/reference_tensors */
	const char *tag;   /* sergey, sample1, ... */
	int size;          /* input side */
	int anchors;
	const char *boxes_name; /* output file suffixes */
	const char *logits_name;
};

static const struct refset refsets[] = {
	{ "face-short", "blazeface_short_range", "sergey", 128, 896, "out0_regressors", "out1_classificators" },
	{ "face-short", "blazeface_short_range", "sample1", 128, 896, "out0_regressors", "out1_classificators" },
	{ "face-short", "blazeface_short_range", "sample2", 128, 896, "out0_regressors", "out1_classificators" },
	{ "face-short", "blazeface_short_range", "sample3", 128, 896, "out0_regressors", "out1_classificators" },
	{ "face-full", "blazeface_full_range", "sergey", 192, 2304, "out0_reshaped_regressor_face_4",
	  "out1_reshaped_classifier_face_4" },
	{ "face-full", "blazeface_full_range", "sample1", 192, 2304, "out0_reshaped_regressor_face_4",
	  "out1_reshaped_classifier_face_4" },
	{ "face-full", "blazeface_full_range", "sample2", 192, 2304, "out0_reshaped_regressor_face_4",
	  "out1_reshaped_classifier_face_4" },
	{ "face-full", "blazeface_full_range", "sample3", 192, 2304, "out0_reshaped_regressor_face_4",
	  "out1_reshaped_classifier_face_4" },
};

#define N_REFSETS ((int)(sizeof(refsets) / sizeof(refsets[0])))

#endif
