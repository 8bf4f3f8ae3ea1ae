/* SPDX-License-Identifier: Apache-2.0
 * GstAnalytics metadata (GStreamer >= 1.24 builds only; meson builds this suite when it finds
 * gstreamer-analytics-1.0 and says so in its summary line "GstAnalytics meta"): vigildetect's ODMtds equal its
 * ROI metas in real pipelines over the face photos, tracked detections get a TrackingMtd related to their ODMtd
 * (first-seen times from the track table, whose own test is in test_detect.c), and the relation meta survives
 * buffer copies and is shared with upstream analytics. Runs with GStreamer's leaks tracer like the other element
 * suites. */
#ifndef VIGIL_HAVE_GST_ANALYTICS
#error "test_analytics.c needs GStreamer's analytics library (>= 1.24): meson only builds it when found"
#endif

#include <gst/analytics/analytics.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsttestutil.h"
#include "vigilmeta.h"

static guint count_mtds(GstAnalyticsRelationMeta *rmeta, GstAnalyticsMtdType type)
{
	gpointer state = NULL;
	GstAnalyticsMtd mtd;
	guint n = 0;

	while (gst_analytics_relation_meta_iterate(rmeta, &state, type, &mtd))
		n++;
	return n;
}

/* Compares one ROI meta with the ODMtd it names ("od_mtd_id" in its "detection" param); NULL when equal,
 * otherwise what differs (caller frees). */
static gchar *compare_roi_od(GstAnalyticsRelationMeta *rmeta, GstVideoRegionOfInterestMeta *roi)
{
	GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, VIGIL_GST_DETECTION_PARAM);
	GstAnalyticsODMtd od;
	guint id;
	gint x, y, w, h;
	gfloat conf;
	gdouble want_conf;

	if (!s || !gst_structure_get_uint(s, "od_mtd_id", &id) ||
	    !gst_structure_get_double(s, "confidence", &want_conf))
		return g_strdup_printf("ROI %d: no od_mtd_id or confidence in its detection param", roi->id);
	if (!gst_analytics_relation_meta_get_od_mtd(rmeta, id, &od))
		return g_strdup_printf("ROI %d: od_mtd_id %u is not an ODMtd", roi->id, id);
	if (gst_analytics_mtd_get_mtd_type((GstAnalyticsMtd *)&od) != gst_analytics_od_mtd_get_mtd_type())
		return g_strdup_printf("ROI %d: mtd %u has the wrong type", roi->id, id);
	if (!gst_analytics_od_mtd_get_location(&od, &x, &y, &w, &h, &conf))
		return g_strdup_printf("ROI %d: ODMtd %u has no location", roi->id, id);
	if (gst_analytics_od_mtd_get_obj_type(&od) != roi->roi_type)
		return g_strdup_printf("ROI %d: ODMtd label %s, ROI label %s", roi->id,
				       g_quark_to_string(gst_analytics_od_mtd_get_obj_type(&od)),
				       g_quark_to_string(roi->roi_type));
	if (x != (gint)roi->x || y != (gint)roi->y || w != (gint)roi->w || h != (gint)roi->h)
		return g_strdup_printf("ROI %d: ODMtd box %d,%d %dx%d, ROI box %u,%u %ux%u", roi->id, x, y, w, h,
				       roi->x, roi->y, roi->w, roi->h);
	if (conf != (gfloat)want_conf || !(conf > 0.0f && conf <= 1.0f))
		return g_strdup_printf("ROI %d: ODMtd confidence %f, ROI confidence %f", roi->id, (double)conf,
				       want_conf);
	return NULL;
}

/* ---- real pipelines: every ODMtd equals its ROI meta ---- */

/* The probe runs in the streaming thread, where Check's assertions must not be used: it records what it
 * found and the first problem, and the test asserts on those. */
struct probe_result {
	guint buffers, faces;
	gchar *problem;
};

static void probe_fail(struct probe_result *r, gchar *problem)
{
	if (!r->problem)
		r->problem = problem;
	else
		g_free(problem);
}

static GstPadProbeReturn probe_analytics(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct probe_result *r = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstAnalyticsRelationMeta *rmeta = gst_buffer_get_analytics_relation_meta(buf);
	guint n_roi = gst_buffer_get_n_meta(buf, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
	gpointer state = NULL;
	GstMeta *meta;

	r->buffers++;
	if (!rmeta) {
		probe_fail(r, g_strdup_printf("buffer %u: no GstAnalyticsRelationMeta", r->buffers));
		return GST_PAD_PROBE_OK;
	}
	if (count_mtds(rmeta, gst_analytics_od_mtd_get_mtd_type()) != n_roi)
		probe_fail(r, g_strdup_printf("buffer %u: %u ODMtds, %u ROI metas", r->buffers,
					      count_mtds(rmeta, gst_analytics_od_mtd_get_mtd_type()), n_roi));
	if (count_mtds(rmeta, gst_analytics_tracking_mtd_get_mtd_type()) != 0)
		probe_fail(r, g_strdup_printf("buffer %u: a TrackingMtd without tracking", r->buffers));
	while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
		gchar *problem = compare_roi_od(rmeta, (GstVideoRegionOfInterestMeta *)meta);

		if (problem)
			probe_fail(r, problem);
		r->faces++;
	}
	return GST_PAD_PROBE_OK;
}

static const struct {
	const char *photo, *format;
	guint faces; /* per frame, what test_detect checks against the library and MediaPipe */
} pipelines[] = {
	{ "faces/sample1.jpg", "RGB", 3 },
	{ "faces/sample3.jpg", "NV12", 0 },
	{ "faces/sample1.jpg", "I420", 3 },
};

START_TEST(test_od_mtd_equals_roi)
{
	/* inference-interval=2: frames 1 and 3 carry frame 0's and 2's result (not fresh) and their mtds too */
	gchar *desc =
	    g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! video/x-raw,format=%s ! "
			    "imagefreeze num-buffers=4 ! vigildetect inference-interval=2 ! fakesink name=sink",
			    vt_data_path(pipelines[_i].photo), pipelines[_i].format);
	GstElement *pipeline = gst_parse_launch(desc, NULL);
	GstElement *sink;
	GstPad *pad;
	GstBus *bus;
	GstMessage *msg;
	struct probe_result r = { 0, 0, NULL };

	vt_assert_nonnull(pipeline);
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	pad = gst_element_get_static_pad(sink, "sink");
	bus = gst_element_get_bus(pipeline);
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, probe_analytics, &r, NULL);
	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	ck_assert_msg(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "%s: no EOS", desc);
	gst_message_unref(msg);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	ck_assert_msg(r.problem == NULL, "%s: %s", desc, r.problem);
	ck_assert_int_eq(r.buffers, 4);
	if (pipelines[_i].faces > 0)
		ck_assert_int_eq(r.faces, 4 * pipelines[_i].faces);
	else
		ck_assert_int_ge(r.faces, 4 * 2); /* sample3: a group photo, at least two faces per frame */
	gst_object_unref(bus);
	gst_object_unref(pad);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_free(desc);
}
END_TEST

/* ---- tracked detections: TrackingMtd related to the ODMtd (through vigil_gst_attach, which vigildetect
 * calls for every frame, with detections that carry track ids) ---- */

static GstBuffer *attach(const struct vigil_detection *items, size_t n, GstClockTime pts,
			 struct vigil_gst_tracks *tracks, GstVideoInfo *info)
{
	GstBuffer *buf = gst_buffer_new();
	struct vigil_detections dets = { .count = n, .items = items, .frame_width = 320, .frame_height = 240 };
	struct vigil_gst_frame_info fi = { .model = "face-full", .fresh = TRUE, .tracks = tracks };

	gst_video_info_set_format(info, GST_VIDEO_FORMAT_GRAY8, 320, 240);
	GST_BUFFER_PTS(buf) = pts;
	vigil_gst_attach(buf, info, &dets, &fi);
	return buf;
}

/* The TrackingMtd related to ROI @roi's ODMtd: its id, first/last seen, lost; FALSE when there is none. */
static gboolean tracking_of(GstAnalyticsRelationMeta *rmeta, GstVideoRegionOfInterestMeta *roi, guint64 *track_id,
			    GstClockTime *first, GstClockTime *last)
{
	GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, VIGIL_GST_DETECTION_PARAM);
	GstAnalyticsTrackingMtd trk;
	gpointer state = NULL;
	gboolean lost = TRUE;
	guint od_id;

	ck_assert(s && gst_structure_get_uint(s, "od_mtd_id", &od_id));
	if (!gst_analytics_relation_meta_get_direct_related(rmeta, od_id, GST_ANALYTICS_REL_TYPE_RELATE_TO,
							    gst_analytics_tracking_mtd_get_mtd_type(), &state, &trk))
		return FALSE;
	ck_assert_int_eq(gst_analytics_relation_meta_get_relation(rmeta, od_id, trk.id),
			 GST_ANALYTICS_REL_TYPE_RELATE_TO);
	ck_assert_int_eq(gst_analytics_relation_meta_get_relation(rmeta, trk.id, od_id),
			 GST_ANALYTICS_REL_TYPE_RELATE_TO);
	ck_assert(gst_analytics_tracking_mtd_get_info(&trk, track_id, first, last, &lost));
	ck_assert(!lost);
	/* only one TrackingMtd per ODMtd */
	ck_assert(!gst_analytics_relation_meta_get_direct_related(
	    rmeta, od_id, GST_ANALYTICS_REL_TYPE_RELATE_TO, gst_analytics_tracking_mtd_get_mtd_type(), &state, &trk));
	return TRUE;
}

START_TEST(test_tracking_mtd_related_to_od)
{
	const struct vigil_detection frame1[] = {
		{ .label = "face", .score = 0.9f, .x = 10, .y = 20, .w = 30, .h = 40, .track_id = 7 },
		{ .label = "face", .score = 0.8f, .x = 100, .y = 50, .w = 20, .h = 25, .track_id = -1 },
		{ .label = "person",
		  .label_id = 1,
		  .score = 0.7f,
		  .x = 200,
		  .y = 10,
		  .w = 60,
		  .h = 200,
		  .track_id = 12 },
	};
	const struct vigil_detection frame2[] = {
		{ .label = "face", .score = 0.85f, .x = 12, .y = 21, .w = 30, .h = 40, .track_id = 7 },
		{ .label = "face", .score = 0.6f, .x = 150, .y = 60, .w = 20, .h = 25, .track_id = 13 },
	};
	struct vigil_gst_tracks tracks = { 0 };
	GstVideoInfo info;
	GstBuffer *buf;
	GstAnalyticsRelationMeta *rmeta;
	gpointer state = NULL;
	GstMeta *meta;
	guint tracked = 0, untracked = 0;

	buf = attach(frame1, 3, 1 * GST_SECOND, &tracks, &info);
	rmeta = gst_buffer_get_analytics_relation_meta(buf);
	vt_assert_nonnull(rmeta);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_od_mtd_get_mtd_type()), 3);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_tracking_mtd_get_mtd_type()), 2);
	while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
		GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
		gchar *problem = compare_roi_od(rmeta, roi);
		guint64 id = 0;
		GstClockTime first = 0, last = 0;

		ck_assert_msg(problem == NULL, "%s", problem);
		if (tracking_of(rmeta, roi, &id, &first, &last)) {
			/* the ROI's id is the track id, and so is the TrackingMtd's */
			ck_assert_int_eq(id, roi->id);
			ck_assert(id == 7 || id == 12);
			ck_assert_uint_eq(first, 1 * GST_SECOND);
			ck_assert_uint_eq(last, 1 * GST_SECOND);
			tracked++;
		} else {
			ck_assert_int_eq(roi->id, 1); /* untracked: its index */
			untracked++;
		}
	}
	ck_assert_int_eq(tracked, 2);
	ck_assert_int_eq(untracked, 1);
	gst_buffer_unref(buf);

	/* the next frame: track 7 keeps its first-seen time, track 13 is new; an upstream element's relation
	 * meta (here with a classification) is shared, not duplicated */
	struct vigil_detections dets2 = { .count = 2, .items = frame2, .frame_width = 320, .frame_height = 240 };
	struct vigil_gst_frame_info fi2 = { .model = "face-full", .fresh = TRUE, .tracks = &tracks };
	GstAnalyticsClsMtd cls;
	GstBuffer *copy;

	buf = gst_buffer_new();
	GST_BUFFER_PTS(buf) = 2 * GST_SECOND;
	rmeta = gst_buffer_add_analytics_relation_meta(buf);
	ck_assert(gst_analytics_relation_meta_add_one_cls_mtd(rmeta, 0.5f, g_quark_from_string("indoor"), &cls));
	vigil_gst_attach(buf, &info, &dets2, &fi2);
	ck_assert_int_eq(gst_buffer_get_n_meta(buf, GST_ANALYTICS_RELATION_META_API_TYPE), 1);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_cls_mtd_get_mtd_type()), 1);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_od_mtd_get_mtd_type()), 2);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_tracking_mtd_get_mtd_type()), 2);
	state = NULL;
	tracked = 0;
	while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
		GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
		gchar *problem = compare_roi_od(rmeta, roi);
		guint64 id = 0;
		GstClockTime first = 0, last = 0;

		ck_assert_msg(problem == NULL, "%s", problem);
		ck_assert(tracking_of(rmeta, roi, &id, &first, &last));
		ck_assert_int_eq(id, roi->id);
		ck_assert_uint_eq(first, id == 7 ? 1 * GST_SECOND : 2 * GST_SECOND);
		ck_assert_uint_eq(last, 2 * GST_SECOND);
		tracked++;
	}
	ck_assert_int_eq(tracked, 2);

	/* a copy of the buffer carries the same mtds and relations */
	copy = gst_buffer_copy(buf);
	rmeta = gst_buffer_get_analytics_relation_meta(copy);
	vt_assert_nonnull(rmeta);
	ck_assert_int_eq(count_mtds(rmeta, gst_analytics_od_mtd_get_mtd_type()), 2);
	state = NULL;
	while ((meta = gst_buffer_iterate_meta_filtered(copy, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
		guint64 id = 0;
		GstClockTime first = 0, last = 0;
		gchar *problem = compare_roi_od(rmeta, (GstVideoRegionOfInterestMeta *)meta);

		ck_assert_msg(problem == NULL, "%s", problem);
		ck_assert(tracking_of(rmeta, (GstVideoRegionOfInterestMeta *)meta, &id, &first, &last));
	}
	gst_buffer_unref(copy);
	gst_buffer_unref(buf);
}
END_TEST

static Suite *analytics_suite(void)
{
	Suite *s = suite_create("gst-analytics");
	TCase *tc = tcase_create("analytics");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_od_mtd_equals_roi, 0, (int)(sizeof(pipelines) / sizeof(pipelines[0])));
	tcase_add_test(tc, test_tracking_mtd_related_to_od);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	vt_init(&argc, &argv);
	return vt_run(analytics_suite());
}
