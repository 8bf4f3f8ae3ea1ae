/* SPDX-License-Identifier: Apache-2.0
 * Helpers for the GStreamer element suites. These use gst-check's bundled Check (gst/check/gstcheck.h),
 * not the system libcheck the other suites use: the two must not be linked into one program, so the
 * suites here do not use tests/testutil.c, and the float/pointer assertions gst-check's older Check lacks
 * are spelled out below. */
#ifndef VIGIL_GSTTESTUTIL_H
#define VIGIL_GSTTESTUTIL_H

#include <gst/check/gstcheck.h>
#include <math.h>
#include <stdlib.h>

#define vt_assert_nonnull(p) ck_assert_msg((p) != NULL, "%s is NULL", #p)
#define vt_assert_near(a, b, tol)                                                                                      \
	ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), "%s = %g, %s = %g, tolerance %g", #a, (double)(a), #b, \
		      (double)(b), (double)(tol))

/* tests/data/<rel> (VIGIL_TEST_DATA, set by meson); a static buffer overwritten by the next call */
static inline const char *vt_data_path(const char *rel)
{
	static char buf[4096];
	const char *root = g_getenv("VIGIL_TEST_DATA");

	ck_assert_msg(root != NULL, "VIGIL_TEST_DATA is not set (run the tests through meson test)");
	g_snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return buf;
}

/* Runs a suite in this process (so GStreamer's leaks tracer sees every object). gst-check deinitialises
 * GStreamer at exit, when the leaks tracer reports leaked objects and fails the run. Returns the exit
 * status. */
static inline int vt_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	if (!g_getenv("CK_FORK"))
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Call first in main(): enables the leaks tracer (unless the environment chose tracers) and gst-check. */
static inline void vt_init(int *argc, char ***argv)
{
	g_setenv("GST_TRACERS", "leaks", FALSE);
	gst_check_init(argc, argv);
}

#endif
