/* SPDX-License-Identifier: Apache-2.0
 * Tensor parity with the TFLite interpreter: the exact input tensors of tests/data/reference_tensors
 * through our engine give raw outputs within 1e-3 (absolute) of TFLite's, element by element. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "detector_internal.h"
#include "refdata.h"
#include "testutil.h"

#define TOLERANCE 1e-3

static void compare(const struct refset *r, const char *what, const float *got, const float *want, size_t n,
		    double *max_diff)
{
	size_t worst = 0;
	double worst_diff = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (!(d <= worst_diff)) { /* NaN counts as worst */
			worst_diff = isnan(d) ? INFINITY : d;
			worst = i;
		}
	}
	*max_diff = worst_diff;
	ck_assert_msg(worst_diff <= TOLERANCE, "%s/%s %s: element %zu is %.6f, TFLite gives %.6f (|diff| %.2e > %.0e)",
		      r->dir, r->tag, what, worst, got[worst], want[worst], worst_diff, TOLERANCE);
}

START_TEST(test_tensor_parity)
{
	const struct refset *r = &refsets[_i];
	const size_t n_in = (size_t)r->size * r->size * 3;
	struct vigil_model *model;
	struct vigil_detector *det;
	const float *boxes, *logits;
	float *input, *want_boxes, *want_logits;
	double diff_boxes, diff_logits;
	char rel[256];

	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.input_%dx%dx3.float32.bin", r->dir, r->tag, r->size,
		 r->size);
	input = tu_read_f32(rel, n_in);
	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.%s.float32.bin", r->dir, r->tag, r->boxes_name);
	want_boxes = tu_read_f32(rel, (size_t)r->anchors * 16);
	snprintf(rel, sizeof(rel), "reference_tensors/%s/%s.%s.float32.bin", r->dir, r->tag, r->logits_name);
	want_logits = tu_read_f32(rel, (size_t)r->anchors);

	ck_assert_msg(vigil_model_open(r->model, &model) == 0, "%s", vigil_last_error());
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	ck_assert_int_eq(vigil_detector_run_tensor(det, input, n_in, &boxes, &logits), 0);
	compare(r, "boxes", boxes, want_boxes, (size_t)r->anchors * 16, &diff_boxes);
	compare(r, "logits", logits, want_logits, (size_t)r->anchors, &diff_logits);
	printf("parity %s/%s: max |diff| boxes %.2e, logits %.2e\n", r->dir, r->tag, diff_boxes, diff_logits);

	/* a wrongly sized input is refused */
	ck_assert_int_lt(vigil_detector_run_tensor(det, input, n_in - 1, &boxes, &logits), 0);

	vigil_detector_destroy(det);
	vigil_model_close(model);
	free(want_logits);
	free(want_boxes);
	free(input);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parity");
	TCase *tc = tcase_create("tflite");

	tcase_add_loop_test(tc, test_tensor_parity, 0, N_REFSETS);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
