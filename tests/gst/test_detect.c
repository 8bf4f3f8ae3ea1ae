/* SPDX-License-Identifier: Apache-2.0
 * vigildetect in real pipelines and in GstHarness: every format negotiates and runs, detections equal the
 * library's on the same pixels (and MediaPipe's golden), metadata layout, inference-interval, QoS skipping,
 * messages, stats, bad configuration, and 1,000 state cycles. The suite runs in one process with
 * GStreamer's leaks tracer (GST_TRACERS=leaks, set by main()); any leaked GstObject or buffer fails it. */
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsttestutil.h"
#include "vigilmeta.h"

static const char *const formats[] = { "NV12", "I420", "YUY2", "UYVY", "RGB",  "BGR",
				       "RGBA", "BGRA", "RGBx", "BGRx", "GRAY8" };
#define N_FORMATS ((int)(sizeof(formats) / sizeof(formats[0])))

/* Runs a pipeline that ends in "appsink name=out" to EOS; returns the samples (caller unrefs). */
static GPtrArray *run_to_eos(const char *description)
{
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(description, &err);
	GstElement *sink;
	GPtrArray *samples = g_ptr_array_new_with_free_func((GDestroyNotify)gst_sample_unref);
	GstSample *sample;

	ck_assert_msg(pipeline != NULL, "%s: %s", description, err ? err->message : "?");
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
	vt_assert_nonnull(sink);
	g_object_set(sink, "sync", FALSE, NULL);
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	while ((sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))))
		g_ptr_array_add(samples, sample);
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	if (msg) {
		GError *e = NULL;
		gchar *dbg = NULL;

		gst_message_parse_error(msg, &e, &dbg);
		ck_abort_msg("%s: %s (%s)", description, e->message, dbg);
	}
	gst_object_unref(bus);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	return samples;
}

static GstStructure *element_stats(GstElement *e)
{
	GstStructure *s = NULL;

	g_object_get(e, "stats", &s, NULL);
	vt_assert_nonnull(s);
	return s;
}

static guint count_rois(GstBuffer *buf)
{
	return gst_buffer_get_n_meta(buf, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
}

/* ---- every format negotiates; test patterns have no faces ---- */

START_TEST(test_formats_on_test_patterns)
{
	const char *fmt = formats[_i];
	gchar *desc = g_strdup_printf("videotestsrc num-buffers=6 pattern=smpte ! video/x-raw,format=%s,width=321,"
				      "height=241 ! vigildetect name=d model=face-short ! appsink name=out",
				      fmt);
	GPtrArray *samples = run_to_eos(desc);

	ck_assert_int_eq(samples->len, 6);
	for (guint i = 0; i < samples->len; i++) {
		GstBuffer *buf = gst_sample_get_buffer(g_ptr_array_index(samples, i));
		GstCustomMeta *fm = gst_buffer_get_custom_meta(buf, VIGIL_GST_FRAME_META_NAME);
		guint64 frame = 99;
		gboolean fresh = FALSE;

		ck_assert_msg(count_rois(buf) == 0, "%s: a face in a test pattern", fmt);
		vt_assert_nonnull(fm);
		ck_assert(gst_structure_get_uint64(gst_custom_meta_get_structure(fm), "frame", &frame));
		ck_assert(gst_structure_get_boolean(gst_custom_meta_get_structure(fm), "fresh", &fresh));
		ck_assert_int_eq(frame, i);
		ck_assert(fresh);
	}
	g_ptr_array_unref(samples);
	g_free(desc);
}
END_TEST

/* ---- the face photos: equal to the library on the same pixels, and to MediaPipe ---- */

static const struct vigil_detections *library_detect(struct vigil_detector *det, GstBuffer *buf, GstCaps *caps)
{
	GstVideoInfo info;
	GstVideoFrame vf;
	struct vigil_frame frame;
	const struct vigil_detections *out;

	ck_assert(gst_video_info_from_caps(&info, caps));
	ck_assert(gst_video_frame_map(&vf, &info, buf, GST_MAP_READ));
	ck_assert(vigil_gst_frame_from_video_frame(&vf, &frame));
	ck_assert_int_eq(vigil_detector_detect(det, &frame, &out), 0);
	gst_video_frame_unmap(&vf);
	return out;
}

START_TEST(test_photos_match_library)
{
	const char *fmt = formats[_i % N_FORMATS];
	const char *photo = _i < N_FORMATS ? "faces/sample1.jpg" : "faces/sample3.jpg";
	gchar *desc =
	    g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! video/x-raw,format=%s ! "
			    "imagefreeze num-buffers=2 ! vigildetect ! appsink name=out",
			    vt_data_path(photo), fmt);
	GPtrArray *samples = run_to_eos(desc);
	struct vigil_model *model;
	struct vigil_detector *det;
	struct vigil_detection got[64];

	ck_assert_int_eq(samples->len, 2);
	ck_assert_int_eq(vigil_model_open("face-full", &model), 0);
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	for (guint i = 0; i < samples->len; i++) {
		GstSample *sample = g_ptr_array_index(samples, i);
		GstBuffer *buf = gst_sample_get_buffer(sample);
		GstVideoInfo info;
		struct vigil_gst_frame_info fi;
		const struct vigil_detections *want = library_detect(det, buf, gst_sample_get_caps(sample));
		guint n;

		ck_assert(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
		n = vigil_gst_read(buf, &info, got, 64, &fi);
		ck_assert_msg(n == want->count, "%s %s: %u faces on the buffer, the library finds %zu", photo, fmt, n,
			      want->count);
		if (strcmp(fmt, "GRAY8") != 0)
			ck_assert_int_ge(n, 2);
		ck_assert_str_eq(fi.model, "face-full");
		ck_assert(fi.fresh);
		for (guint k = 0; k < n; k++) {
			const struct vigil_detection *w = &want->items[k];

			ck_assert_str_eq(got[k].label, "face");
			vt_assert_near(got[k].score, w->score, 1e-6);
			vt_assert_near(got[k].x, w->x, 1e-2);
			vt_assert_near(got[k].y, w->y, 1e-2);
			vt_assert_near(got[k].w, w->w, 1e-2);
			vt_assert_near(got[k].h, w->h, 1e-2);
			ck_assert_int_eq(got[k].num_keypoints, 6);
			for (int p = 0; p < 6; p++) {
				vt_assert_near(got[k].keypoints[p].x, w->keypoints[p].x, 1e-2);
				vt_assert_near(got[k].keypoints[p].y, w->keypoints[p].y, 1e-2);
			}
		}
	}
	vigil_detector_destroy(det);
	vigil_model_close(model);
	g_ptr_array_unref(samples);
	g_free(desc);
}
END_TEST

/* MediaPipe's full-size golden for sample1 with face-full (tests/data/golden/golden_faces.json) */
static const double golden_sample1[3][5] = {
	/* score, xmin, ymin, width, height (normalised) */
	{ 0.888635993, 0.200870112, 0.307439446, 0.0995160043, 0.149264038 },
	{ 0.855200171, 0.763819844, 0.194478989, 0.0869118571, 0.130357146 },
	{ 0.817956209, 0.430590674, 0.360090673, 0.100526243, 0.150777102 },
};

static double iou_norm(const GstStructure *s, const double *g)
{
	double x0, y0, x1, y1;

	if (!gst_structure_get_double(s, "x_min", &x0) || !gst_structure_get_double(s, "y_min", &y0) ||
	    !gst_structure_get_double(s, "x_max", &x1) || !gst_structure_get_double(s, "y_max", &y1))
		return -1;
	double ix = fmin(x1, g[1] + g[3]) - fmax(x0, g[1]), iy = fmin(y1, g[2] + g[4]) - fmax(y0, g[2]);

	if (ix <= 0 || iy <= 0)
		return 0;
	return ix * iy / ((x1 - x0) * (y1 - y0) + g[3] * g[4] - ix * iy);
}

/* A pad probe downstream reads every field of the "detection" structure, and the faces agree with
 * Google's MediaPipe within the engine's full-size tolerances (IoU >= 0.95, score within 0.01). The probe
 * runs in the streaming thread, where Check's assertions must not be used: it records what it found and
 * the first problem, and the test asserts on those. */
struct probe_result {
	int checked;
	gchar *problem;
};

static void probe_fail(struct probe_result *r, gchar *problem)
{
	if (!r->problem)
		r->problem = problem;
	else
		g_free(problem);
}

static void probe_one(GstVideoRegionOfInterestMeta *roi, struct probe_result *r)
{
	GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, "detection");
	double conf = 0, best = 0;
	gint label_id = -1;
	gboolean fresh = FALSE;
	const GValue *kps;

	if (!s) {
		probe_fail(r, g_strdup("ROI meta without a \"detection\" param"));
		return;
	}
	kps = gst_structure_get_value(s, "keypoints");
	if (g_strcmp0(g_quark_to_string(roi->roi_type), "face") != 0 ||
	    g_strcmp0(gst_structure_get_string(s, "label"), "face") != 0 ||
	    !gst_structure_get_int(s, "label_id", &label_id) || label_id != 0 ||
	    !gst_structure_get_double(s, "confidence", &conf) || !gst_structure_get_boolean(s, "fresh", &fresh) ||
	    !fresh || !kps || !GST_VALUE_HOLDS_ARRAY(kps) || gst_value_array_get_size(kps) != 6 || roi->w == 0 ||
	    roi->x + roi->w > 1920) {
		probe_fail(r, gst_structure_to_string(s));
		return;
	}
	for (int g = 0; g < 3; g++) {
		if (fabs(conf - golden_sample1[g][0]) > 0.01)
			continue;
		best = iou_norm(s, golden_sample1[g]);
		break;
	}
	if (best < 0.95)
		probe_fail(r,
			   g_strdup_printf("face with confidence %.4f has no MediaPipe match (IoU %.3f)", conf, best));
	r->checked++;
}

static GstPadProbeReturn probe_detections(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	gpointer state = NULL;
	GstMeta *meta;

	while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
		probe_one((GstVideoRegionOfInterestMeta *)meta, data);
	return GST_PAD_PROBE_OK;
}

START_TEST(test_probe_reads_detection_fields)
{
	gchar *desc =
	    g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! video/x-raw,format=RGB ! "
			    "imagefreeze num-buffers=1 ! vigildetect name=d ! fakesink name=sink",
			    vt_data_path("faces/sample1.jpg"));
	GstElement *pipeline = gst_parse_launch(desc, NULL);
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	GstPad *pad = gst_element_get_static_pad(sink, "sink");
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *msg;
	struct probe_result r = { 0, NULL };

	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, probe_detections, &r, NULL);
	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	ck_assert(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS);
	gst_message_unref(msg);
	ck_assert_msg(r.problem == NULL, "%s", r.problem);
	ck_assert_int_eq(r.checked, 3);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(bus);
	gst_object_unref(pad);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_free(desc);
}
END_TEST

/* ---- harness: inference-interval, messages, stats, property changes while playing ---- */

/* One decoded NV12 frame of a photo, with its caps. */
static GstBuffer *photo_frame(const char *rel, const char *format, GstCaps **caps)
{
	gchar *desc =
	    g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! video/x-raw,format=%s ! "
			    "imagefreeze num-buffers=1 ! appsink name=out",
			    vt_data_path(rel), format);
	GPtrArray *samples = run_to_eos(desc);
	GstSample *s = g_ptr_array_index(samples, 0);
	GstBuffer *buf = gst_buffer_ref(gst_sample_get_buffer(s));

	*caps = gst_caps_ref(gst_sample_get_caps(s));
	g_ptr_array_unref(samples);
	g_free(desc);
	return buf;
}

static GstBuffer *timed_copy(GstBuffer *frame, int i)
{
	GstBuffer *b = gst_buffer_copy(frame); /* shares the memory, fresh metadata */

	GST_BUFFER_PTS(b) = (GstClockTime)i * 40 * GST_MSECOND;
	GST_BUFFER_DURATION(b) = 40 * GST_MSECOND;
	return b;
}

START_TEST(test_inference_interval)
{
	GstCaps *caps;
	GstBuffer *frame = photo_frame("faces/sample3.jpg", "NV12", &caps);
	GstHarness *h = gst_harness_new("vigildetect");
	struct vigil_detection first[16], d[16];
	guint n_first = 0;
	GstStructure *stats;
	guint64 inferred = 0, skipped = 0, frames = 0;

	gst_harness_set_src_caps(h, gst_caps_ref(caps));
	g_object_set(h->element, "inference-interval", 3, NULL);
	for (int i = 0; i < 30; i++) {
		GstBuffer *out;
		GstVideoInfo info;
		struct vigil_gst_frame_info fi;
		guint n;

		ck_assert_int_eq(gst_harness_push(h, timed_copy(frame, i)), GST_FLOW_OK);
		out = gst_harness_pull(h);
		ck_assert(gst_video_info_from_caps(&info, caps));
		n = vigil_gst_read(out, &info, d, 16, &fi);
		ck_assert_int_eq(fi.frame, (guint64)i);
		ck_assert_int_eq(fi.fresh, i % 3 == 0);
		if (i == 0) {
			n_first = n;
			memcpy(first, d, sizeof(d));
			ck_assert_int_ge(n_first, 2);
		}
		/* the frames in between carry the last result, marked as not fresh */
		ck_assert_int_eq(n, n_first);
		for (guint k = 0; k < n; k++) {
			GstVideoRegionOfInterestMeta *roi =
			    gst_buffer_get_video_region_of_interest_meta_id(out, (gint)k);
			gboolean fresh;

			vt_assert_nonnull(roi);
			ck_assert(gst_structure_get_boolean(
			    gst_video_region_of_interest_meta_get_param(roi, "detection"), "fresh", &fresh));
			ck_assert_int_eq(fresh, i % 3 == 0);
			vt_assert_near(d[k].score, first[k].score, 0);
		}
		/* same memory: the frame was not copied */
		ck_assert_ptr_eq(gst_buffer_peek_memory(out, 0), gst_buffer_peek_memory(frame, 0));
		gst_buffer_unref(out);
	}
	stats = element_stats(h->element);
	ck_assert(gst_structure_get_uint64(stats, "frames", &frames));
	ck_assert(gst_structure_get_uint64(stats, "inferred", &inferred));
	ck_assert(gst_structure_get_uint64(stats, "skipped-interval", &skipped));
	ck_assert_int_eq(frames, 30);
	ck_assert_int_eq(inferred, 10);
	ck_assert_int_eq(skipped, 20);
	gst_structure_free(stats);
	gst_harness_teardown(h);
	gst_buffer_unref(frame);
	gst_caps_unref(caps);
}
END_TEST

START_TEST(test_tracking)
{
	/* a still photo with inference every 2nd frame: the faces become tracks at their 3rd detection (frame 4),
	 * keep their ids, and the frames in between carry the tracks' predicted boxes (not fresh) with the same
	 * ids, in the ROI meta id and the detection structure */
	GstCaps *caps;
	GstBuffer *frame = photo_frame("faces/sample3.jpg", "NV12", &caps);
	GstHarness *h = gst_harness_new_parse("vigildetect inference-interval=2 tracking=true");
	struct vigil_detection fresh_d[16], d[16];
	guint n_fresh = 0;
	GstVideoInfo info;

	ck_assert(gst_video_info_from_caps(&info, caps));
	gst_harness_set_src_caps(h, gst_caps_ref(caps));
	for (int i = 0; i < 13; i++) {
		struct vigil_gst_frame_info fi;
		GstBuffer *out;
		guint n;

		ck_assert_int_eq(gst_harness_push(h, timed_copy(frame, i)), GST_FLOW_OK);
		out = gst_harness_pull(h);
		n = vigil_gst_read(out, &info, d, 16, &fi);
		ck_assert_int_eq(fi.fresh, i % 2 == 0);
		if (i % 2 == 0) {
			ck_assert_int_ge(n, 2);
			for (guint k = 0; k < n; k++)
				ck_assert_int_eq(d[k].track_id >= 0, i >= 4);
			if (i >= 6) /* a still photo gives the same detections in the same order: same ids */
				for (guint k = 0; k < n; k++)
					ck_assert_int_eq(d[k].track_id, fresh_d[k].track_id);
			n_fresh = n;
			memcpy(fresh_d, d, sizeof(d));
		} else {
			/* predictions exist only for confirmed tracks */
			ck_assert_int_eq(n, i >= 5 ? n_fresh : 0);
			for (guint k = 0; k < n; k++) {
				GstVideoRegionOfInterestMeta *roi =
				    gst_buffer_get_video_region_of_interest_meta_id(out, (gint)d[k].track_id);
				guint j;

				vt_assert_nonnull(roi);
				for (j = 0; j < n_fresh && fresh_d[j].track_id != d[k].track_id; j++)
					;
				ck_assert_uint_lt(j, n_fresh);
				/* a still object: the prediction stays on the detection (within 2 px) */
				vt_assert_near(d[k].x, fresh_d[j].x, 2);
				vt_assert_near(d[k].y, fresh_d[j].y, 2);
				vt_assert_near(d[k].w, fresh_d[j].w, 2);
			}
		}
		gst_buffer_unref(out);
	}
	/* a flush (seek) forgets the tracks and the carried result: the next frame is inferred although the
	 * cadence would carry (frame 13), and its faces are new, unconfirmed tracks */
	{
		struct vigil_gst_frame_info fi;
		GstSegment seg;
		GstBuffer *out;
		guint n;

		ck_assert(gst_harness_push_event(h, gst_event_new_flush_start()));
		ck_assert(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
		gst_segment_init(&seg, GST_FORMAT_TIME);
		ck_assert(gst_harness_push_event(h, gst_event_new_segment(&seg)));
		ck_assert_int_eq(gst_harness_push(h, timed_copy(frame, 13)), GST_FLOW_OK);
		out = gst_harness_pull(h);
		n = vigil_gst_read(out, &info, d, 16, &fi);
		ck_assert(fi.fresh);
		ck_assert_int_eq(n, n_fresh);
		for (guint k = 0; k < n; k++)
			ck_assert_int_lt(d[k].track_id, 0);
		gst_buffer_unref(out);
	}
	gst_harness_teardown(h);
	gst_buffer_unref(frame);
	gst_caps_unref(caps);
}
END_TEST

static guint count_messages(GstBus *bus)
{
	GstMessage *m;
	guint n = 0;

	while ((m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT))) {
		const GstStructure *s = gst_message_get_structure(m);

		if (gst_structure_has_name(s, "vigil-detections")) {
			const GValue *list = gst_structure_get_value(s, "detections");
			GstClockTime ts;

			ck_assert(list && GST_VALUE_HOLDS_LIST(list));
			ck_assert(gst_structure_get_uint64(s, "timestamp", &ts));
			n++;
		}
		gst_message_unref(m);
	}
	return n;
}

START_TEST(test_messages_and_live_changes)
{
	GstCaps *caps;
	GstBuffer *frame = photo_frame("faces/sample1.jpg", "I420", &caps);
	GstHarness *h = gst_harness_new("vigildetect");
	GstBus *bus = gst_bus_new();
	GstVideoInfo info;
	struct vigil_detection d[16];

	ck_assert(gst_video_info_from_caps(&info, caps));
	gst_element_set_bus(h->element, bus);
	gst_harness_set_src_caps(h, gst_caps_ref(caps));

	g_object_set(h->element, "message", 1 /* every-frame */, NULL);
	for (int i = 0; i < 3; i++)
		gst_buffer_unref(gst_harness_push_and_pull(h, timed_copy(frame, i)));
	ck_assert_int_eq(count_messages(bus), 3);

	g_object_set(h->element, "message", 2 /* on-change */, NULL);
	for (int i = 3; i < 6; i++)
		gst_buffer_unref(gst_harness_push_and_pull(h, timed_copy(frame, i)));
	ck_assert_int_le(count_messages(bus), 1);

	/* while playing: a label filter that matches nothing, then a threshold of 1, then back */
	g_object_set(h->element, "message", 0, "labels", "person,car", NULL);
	GstBuffer *out = gst_harness_push_and_pull(h, timed_copy(frame, 6));
	ck_assert_int_eq(vigil_gst_read(out, &info, d, 16, NULL), 0);
	gst_buffer_unref(out);
	g_object_set(h->element, "labels", "", "threshold", 1.0, NULL);
	out = gst_harness_push_and_pull(h, timed_copy(frame, 7));
	ck_assert_int_eq(vigil_gst_read(out, &info, d, 16, NULL), 0);
	gst_buffer_unref(out);
	g_object_set(h->element, "threshold", -1.0, "max-detections", 1, NULL);
	out = gst_harness_push_and_pull(h, timed_copy(frame, 8));
	ck_assert_int_eq(vigil_gst_read(out, &info, d, 16, NULL), 1);
	gst_buffer_unref(out);
	/* ROI: the right half only; nothing reported left of it */
	g_object_set(h->element, "max-detections", 100, "roi", "960,0,960,1280", NULL);
	out = gst_harness_push_and_pull(h, timed_copy(frame, 9));
	guint n = vigil_gst_read(out, &info, d, 16, NULL);
	ck_assert_int_ge(n, 1);
	for (guint k = 0; k < n; k++)
		ck_assert(d[k].x + d[k].w / 2 >= 960);
	gst_buffer_unref(out);
	/* an invalid ROI string is refused with a warning and the old one kept */
	g_object_set(h->element, "roi", "left half", NULL);
	gchar *roi = NULL;
	g_object_get(h->element, "roi", &roi, NULL);
	ck_assert_str_eq(roi, "960,0,960,1280");
	g_free(roi);
	GstMessage *warn = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
	vt_assert_nonnull(warn);
	gst_message_unref(warn);

	gst_element_set_bus(h->element, NULL);
	gst_object_unref(bus);
	gst_harness_teardown(h);
	gst_buffer_unref(frame);
	gst_caps_unref(caps);
}
END_TEST

/* QoS: after the sink reports lateness, frames before the earliest time pass through uninferred. */
START_TEST(test_qos_skips_late_frames)
{
	GstCaps *caps;
	GstBuffer *frame = photo_frame("faces/sample3.jpg", "NV12", &caps);
	GstHarness *h = gst_harness_new("vigildetect");
	GstStructure *stats;
	GstVideoInfo info;
	struct vigil_detection d[16];
	struct vigil_gst_frame_info fi;
	guint64 late = 0, inferred = 0;

	ck_assert(gst_video_info_from_caps(&info, caps));
	gst_harness_set_src_caps(h, gst_caps_ref(caps));
	gst_buffer_unref(gst_harness_push_and_pull(h, timed_copy(frame, 0)));
	/* downstream: the frame at 40 ms arrived 400 ms late */
	ck_assert(gst_harness_push_upstream_event(
	    h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.5, 400 * GST_MSECOND, 40 * GST_MSECOND)));
	for (int i = 1; i <= 20; i++) {
		GstBuffer *out = gst_harness_push_and_pull(h, timed_copy(frame, i));
		guint n = vigil_gst_read(out, &info, d, 16, &fi);

		/* running time i*40 ms < 440 ms: late, carried; later ones are inferred again */
		ck_assert_int_eq(fi.fresh, i * 40 >= 440);
		ck_assert_int_ge(n, 2);
		gst_buffer_unref(out);
	}
	stats = element_stats(h->element);
	ck_assert(gst_structure_get_uint64(stats, "skipped-late", &late));
	ck_assert(gst_structure_get_uint64(stats, "inferred", &inferred));
	ck_assert_int_eq(late, 10);
	ck_assert_int_eq(inferred, 11);
	gst_structure_free(stats);
	gst_harness_teardown(h);
	gst_buffer_unref(frame);
	gst_caps_unref(caps);
}
END_TEST

/* The track table behind GstAnalyticsTrackingMtd's first-seen times (GStreamer >= 1.24 builds) is fixed-size:
 * when full, the track seen longest ago is forgotten. */
START_TEST(test_track_table_forgets_oldest)
{
	struct vigil_gst_tracks tracks = { 0 };

	for (gint64 id = 0; id < VIGIL_GST_MAX_TRACKS; id++)
		ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, id, (GstClockTime)id * GST_SECOND), id * GST_SECOND);
	ck_assert_uint_eq(tracks.count, VIGIL_GST_MAX_TRACKS);
	/* track 0 seen again: remembered, now the most recent */
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 0, 100 * GST_SECOND), 0);
	/* a new track replaces track 1 (last seen at 1 s) */
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 1000, 101 * GST_SECOND), 101 * GST_SECOND);
	ck_assert_uint_eq(tracks.count, VIGIL_GST_MAX_TRACKS);
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 2, 102 * GST_SECOND), 2 * GST_SECOND);
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 1000, 103 * GST_SECOND), 101 * GST_SECOND);
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 0, 104 * GST_SECOND), 0);
	/* track 1 was forgotten: seen again, it starts over */
	ck_assert_uint_eq(vigil_gst_tracks_see(&tracks, 1, 105 * GST_SECOND), 105 * GST_SECOND);
}
END_TEST

/* ---- bad configuration ---- */

static gchar *state_change_error(const char *description)
{
	GError *err = NULL;
	GstElement *p = gst_parse_launch(description, &err);
	GstBus *bus;
	GstMessage *msg;
	gchar *text = NULL;

	if (!p) {
		text = g_strdup(err->message);
		g_error_free(err);
		return text;
	}
	if (err) { /* a recoverable parse error (e.g. bad property value) still builds a pipeline */
		text = g_strdup(err->message);
		g_error_free(err);
		gst_object_unref(p);
		return text;
	}
	bus = gst_element_get_bus(p);
	gst_element_set_state(p, GST_STATE_PLAYING);
	msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
	if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *e = NULL;
		gchar *dbg = NULL;

		gst_message_parse_error(msg, &e, &dbg);
		text = g_strdup_printf("%s | %s", e->message, dbg ? dbg : "");
		g_error_free(e);
		g_free(dbg);
	}
	if (msg)
		gst_message_unref(msg);
	gst_element_set_state(p, GST_STATE_NULL);
	gst_object_unref(bus);
	gst_object_unref(p);
	return text;
}

START_TEST(test_bad_configuration)
{
	gchar *e, *desc;

	e = state_change_error("videotestsrc num-buffers=2 ! vigildetect model=/nonexistent/m.tflite ! fakesink");
	vt_assert_nonnull(e);
	ck_assert_msg(strstr(e, "/nonexistent/m.tflite") && strstr(e, "No such file"), "%s", e);
	g_free(e);

	desc = g_strdup_printf("videotestsrc num-buffers=2 ! vigildetect model=%s ! fakesink",
			       vt_data_path("faces/sample1.jpg"));
	e = state_change_error(desc);
	vt_assert_nonnull(e);
	ck_assert_msg(strstr(e, "sample1.jpg") && strstr(e, "malformed model"), "%s", e);
	g_free(e);
	g_free(desc);

	desc = g_strdup_printf("videotestsrc num-buffers=2 ! vigildetect model=%s ! fakesink",
			       vt_data_path("models/face_detection_full_range_sparse.tflite"));
	e = state_change_error(desc);
	ck_assert_msg(e && strstr(e, "sparse"), "%s", e ? e : "(no error)");
	g_free(e);
	g_free(desc);

	e = state_change_error("videotestsrc num-buffers=2 ! vigildetect message=sometimes ! fakesink");
	ck_assert_msg(e && strstr(e, "sometimes"), "%s", e ? e : "(no error)");
	g_free(e);

	e = state_change_error("videotestsrc num-buffers=2 ! video/x-raw,format=ARGB64 ! vigildetect ! fakesink");
	/* refused when linking: vigildetect's pad template does not offer 16-bit ARGB */
	ck_assert_msg(e && strstr(e, "can't handle caps") && strstr(e, "ARGB64"), "%s", e ? e : "(no error)");
	g_free(e);
}
END_TEST

/* ---- lifecycle ---- */

START_TEST(test_state_cycles)
{
	GstElement *p = gst_parse_launch("videotestsrc is-live=true ! video/x-raw,format=NV12,width=160,height=120 ! "
					 "vigildetect name=d model=face-short ! fakesink",
					 NULL);
	GstElement *d = gst_bin_get_by_name(GST_BIN(p), "d");

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_ne(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
		if (i % 100 == 0) {
			/* let frames flow and change properties while they do */
			gst_element_get_state(p, NULL, NULL, 5 * GST_SECOND);
			g_object_set(d, "threshold", 0.7, "inference-interval", 2, "roi", "10,10,100,100", "labels",
				     "face", NULL);
			g_usleep(50000);
			g_object_set(d, "threshold", -1.0, "inference-interval", 1, "roi", "", "labels", "", NULL);
		}
		ck_assert_int_ne(gst_element_set_state(p, GST_STATE_NULL), GST_STATE_CHANGE_FAILURE);
	}
	gst_object_unref(d);
	gst_object_unref(p);
}
END_TEST

static Suite *detect_suite(void)
{
	Suite *s = suite_create("vigildetect");
	TCase *tc = tcase_create("pipelines");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_formats_on_test_patterns, 0, N_FORMATS);
	tcase_add_loop_test(tc, test_photos_match_library, 0, 2 * N_FORMATS);
	tcase_add_test(tc, test_probe_reads_detection_fields);
	tcase_add_test(tc, test_inference_interval);
	tcase_add_test(tc, test_tracking);
	tcase_add_test(tc, test_messages_and_live_changes);
	tcase_add_test(tc, test_qos_skips_late_frames);
	tcase_add_test(tc, test_track_table_forgets_oldest);
	tcase_add_test(tc, test_bad_configuration);
	tcase_add_test(tc, test_state_cycles);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	vt_init(&argc, &argv);
	return vt_run(detect_suite());
}
