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

/* Runs a pipeline description to EOS (60 s at most) and fails on a parse warning, a state change failure or
 * an ERROR message, naming the pipeline. */
static inline void vt_run_pipeline(const char *description)
{
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(description, &err);
	GstBus *bus;
	GstMessage *msg;

	ck_assert_msg(pipeline != NULL && err == NULL, "%s: %s", description, err ? err->message : "?");
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	bus = gst_element_get_bus(pipeline);
	msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	ck_assert_msg(msg != NULL, "%s: no EOS within 60 s", description);
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *e = NULL;
		gchar *dbg = NULL;

		gst_message_parse_error(msg, &e, &dbg);
		ck_abort_msg("%s: %s (%s)", description, e->message, dbg);
	}
	gst_message_unref(msg);
	gst_object_unref(bus);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_object_unref(pipeline);
}

/* Runs @scenario once to create the once-per-process objects (classes, pad templates), then again with
 * GStreamer's leaks tracer tracking, and fails naming every object created and not freed in between. */
static inline void vt_assert_no_leaks(void (*scenario)(void))
{
	GList *tracers = gst_tracing_get_active_tracers();
	GstTracer *tracer = NULL;
	GstStructure *checkpoint = NULL;
	const GValue *created, *removed;
	GHashTable *alive;
	GHashTableIter iter;
	gpointer key, value;
	GString *names;

	for (GList *l = tracers; l; l = l->next)
		if (!tracer && g_strcmp0(G_OBJECT_TYPE_NAME(l->data), "GstLeaksTracer") == 0)
			tracer = gst_object_ref(l->data);
	g_list_free_full(tracers, gst_object_unref);
	ck_assert_msg(tracer != NULL, "the leaks tracer is not active (GST_TRACERS=leaks)");

	scenario();
	g_signal_emit_by_name(tracer, "activity-start-tracking");
	scenario();
	gst_task_cleanup_all();
	g_signal_emit_by_name(tracer, "activity-get-checkpoint", &checkpoint);
	g_signal_emit_by_name(tracer, "activity-stop-tracking");
	vt_assert_nonnull(checkpoint);

	/* address -> type of each object created and not removed since tracking started */
	alive = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	created = gst_structure_get_value(checkpoint, "objects-created-list");
	removed = gst_structure_get_value(checkpoint, "objects-removed-list");
	vt_assert_nonnull(created);
	vt_assert_nonnull(removed);
	ck_assert_uint_gt(gst_value_list_get_size(created), 0);
	for (guint i = 0; i < gst_value_list_get_size(created); i++) {
		const GstStructure *s = gst_value_get_structure(gst_value_list_get_value(created, i));

		g_hash_table_insert(alive, g_strdup(gst_structure_get_string(s, "address")),
				    g_strdup(gst_structure_get_string(s, "type-name")));
	}
	for (guint i = 0; i < gst_value_list_get_size(removed); i++) {
		const GstStructure *s = gst_value_get_structure(gst_value_list_get_value(removed, i));

		g_hash_table_remove(alive, gst_structure_get_string(s, "address"));
	}
	names = g_string_new(NULL);
	g_hash_table_iter_init(&iter, alive);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_string_append_printf(names, " %s@%s", (const char *)value, (const char *)key);
	ck_assert_msg(g_hash_table_size(alive) == 0, "%u objects leaked:%s", g_hash_table_size(alive), names->str);
	g_string_free(names, TRUE);
	g_hash_table_unref(alive);
	gst_structure_free(checkpoint);
	gst_object_unref(tracer);
}

#endif
