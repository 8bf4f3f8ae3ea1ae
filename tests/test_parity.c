/* SPDX-License-Identifier: Apache-2.0
 * Tensor parity with the TFLite interpreter: the exact input tensors of tests/data/reference_tensors
 * through our engine give raw outputs within 1e-3 (absolute) of TFLite's, element by element, with the
 * kernel set this CPU runs (or the reference under VIGIL_FORCE_C=1) on 1, 2 and 4 threads. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector_internal.h"
#include "kernels.h"
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
	static const int thread_counts[] = { 1, 2, 4 };
	const struct refset *r = &refsets[_i / 3];
	const int threads = thread_counts[_i % 3];
	struct vigil_detector_config cfg;
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
	vigil_detector_config_init(&cfg);
	cfg.threads = threads;
	ck_assert_msg(vigil_detector_create(model, &cfg, &det) == 0, "%s", vigil_last_error());
	ck_assert_int_eq(vigil_detector_run_tensor(det, input, n_in, &boxes, &logits), 0);
	compare(r, "boxes", boxes, want_boxes, (size_t)r->anchors * 16, &diff_boxes);
	compare(r, "logits", logits, want_logits, (size_t)r->anchors, &diff_logits);
	printf("parity %s/%s, kernels %s, %d thread(s): max |diff| boxes %.2e, logits %.2e\n", r->dir, r->tag,
	       vigil_cpu_kernels()->isa, threads, diff_boxes, diff_logits);
	/* a second run on the same arena gives the same outputs (nothing left over from the first) */
	{
		float *first = malloc((size_t)r->anchors * 16 * sizeof(float));

		ck_assert(first != NULL);
		memcpy(first, boxes, (size_t)r->anchors * 16 * sizeof(float));
		ck_assert_int_eq(vigil_detector_run_tensor(det, input, n_in, &boxes, &logits), 0);
		ck_assert(memcmp(first, boxes, (size_t)r->anchors * 16 * sizeof(float)) == 0);
		free(first);
	}

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

	tcase_add_loop_test(tc, test_tensor_parity, 0, 3 * N_REFSETS);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
