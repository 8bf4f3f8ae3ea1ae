/* SPDX-License-Identifier: Apache-2.0
 * vigiloverlay in GstHarness and in real pipelines. For every format and mode, a random frame carrying ROI
 * metas (vigil_gst_attach, the contract vigildetect follows) comes out with the samples inside the box
 * changed, every sample that covers no pixel of the box (or its tag) unchanged, and the whole buffer equal
 * byte for byte to vigil_frame_annotate() on a copy; the labels filter; frames without metas pass through
 * without a copy, shared frames with metas are copied and the original left alone; property changes while
 * streaming; a mask that cannot be applied stops the stream; videotestsrc pipelines reach EOS; a face photo
 * through vigildetect ! vigiloverlay mode=fill comes out filled where the faces are. The suite runs in one
 * process with GStreamer's leaks tracer (GST_TRACERS=leaks, set by main()); any leaked GstObject or buffer
 * fails it at gst_deinit(), and one test checks a whole run explicitly. */
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

static const GstVideoFormat formats[] = {
	GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YUY2,  GST_VIDEO_FORMAT_UYVY,
	GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA,  GST_VIDEO_FORMAT_BGRA,
	GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_GRAY8,
};
#define N_FORMATS ((int)G_N_ELEMENTS(formats))
#define N_MODES 4
static const char *const modes[N_MODES] = { "box", "blur", "pixelate", "fill" };

/* odd sizes: GStreamer's default strides then pad every row */
#define W 101
#define H 77

struct prect {
	int x0, y0, x1, y1; /* [x0, x1) x [y0, y1) pixels */
};

/* The face of every frame: fractional edges; masks cover floor..ceil, box mode rounds */
static const struct prect mask_px = { 20, 21, 61, 52 };
static const struct prect box_px = { 20, 22, 61, 52 };
/* "face 0.93": 9 glyphs of 6 px + 1, 9 rows above the box */
static const struct prect tag_px = { 20, 13, 20 + 9 * 6 + 1, 22 };
/* the cat of the labels tests, away from the face and its tag */
static const struct prect cat_px = { 70, 55, 95, 72 };

static struct vigil_detection face_det(void)
{
	struct vigil_detection d;

	memset(&d, 0, sizeof(d));
	d.label = "face";
	d.score = 0.93f;
	d.x = 20.3f;
	d.y = 21.6f;
	d.w = 40.4f;
	d.h = 30.1f;
	d.num_keypoints = 2;
	d.keypoints[0] = (struct vigil_point){ 33.2f, 35.3f };
	d.keypoints[1] = (struct vigil_point){ 47.7f, 35.3f };
	d.track_id = -1;
	return d;
}

static struct vigil_detection cat_det(void)
{
	struct vigil_detection d;

	memset(&d, 0, sizeof(d));
	d.label = "cat";
	d.label_id = 1;
	d.score = 0.61f;
	d.x = 70.2f;
	d.y = 55.3f;
	d.w = 24.6f;
	d.h = 16.4f;
	d.track_id = -1;
	return d;
}

/* ---- frames --------------------------------------------------------------------------------------- */

static GstVideoInfo video_info(GstVideoFormat format, int w, int h)
{
	GstVideoInfo info;

	ck_assert(gst_video_info_set_format(&info, format, (guint)w, (guint)h));
	return info;
}

/* A frame of random bytes (padding included) carrying @p dets as ROI metas. */
static GstBuffer *make_frame(const GstVideoInfo *info, guint64 seed, const struct vigil_detection *items, size_t n)
{
	GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
	struct vigil_detections dets = { .count = n, .items = items };
	struct vigil_gst_frame_info fi = { .model = "face-full", .fresh = TRUE };
	GstMapInfo map;

	vt_assert_nonnull(buf);
	ck_assert(gst_buffer_map(buf, &map, GST_MAP_WRITE));
	seed = seed * 0x9E3779B97F4A7C15ull + 12345;
	for (gsize i = 0; i < map.size; i++) {
		seed ^= seed >> 12;
		seed ^= seed << 25;
		seed ^= seed >> 27;
		map.data[i] = (guint8)((seed * 0x2545F4914F6CDD1Dull) >> 56);
	}
	gst_buffer_unmap(buf, &map);
	dets.frame_width = GST_VIDEO_INFO_WIDTH(info);
	dets.frame_height = GST_VIDEO_INFO_HEIGHT(info);
	if (n)
		vigil_gst_attach(buf, info, &dets, &fi);
	GST_BUFFER_PTS(buf) = 0;
	return buf;
}

/* What the library draws on a copy of @p buf with @p config: the element must produce exactly this. */
static GstBuffer *reference(GstBuffer *buf, const GstVideoInfo *info, const struct vigil_detection *items, size_t n,
			    const struct vigil_annotate_config *config)
{
	GstBuffer *ref = gst_buffer_copy_deep(buf);
	struct vigil_detections dets = { .count = n, .items = items };
	GstVideoFrame vf;
	struct vigil_frame frame;

	ck_assert(gst_video_frame_map(&vf, info, ref, GST_MAP_READWRITE));
	ck_assert(vigil_gst_frame_from_video_frame(&vf, &frame));
	ck_assert_int_eq(vigil_frame_annotate(&frame, &dets, config), 0);
	gst_video_frame_unmap(&vf);
	return ref;
}

static void assert_same_bytes(GstBuffer *a, GstBuffer *b, const char *what)
{
	GstMapInfo ma, mb;

	ck_assert(gst_buffer_map(a, &ma, GST_MAP_READ));
	ck_assert(gst_buffer_map(b, &mb, GST_MAP_READ));
	ck_assert_uint_eq(ma.size, mb.size);
	for (gsize i = 0; i < ma.size; i++)
		ck_assert_msg(ma.data[i] == mb.data[i], "%s: byte %" G_GSIZE_FORMAT " is %d, expected %d", what, i,
			      ma.data[i], mb.data[i]);
	gst_buffer_unmap(a, &ma);
	gst_buffer_unmap(b, &mb);
}

static int intersects(const struct prect *a, const struct prect *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Compares @p out with @p orig sample by sample through GStreamer's own description of the format's
 * components: every sample whose pixels touch none of the @p n allowed rectangles must be unchanged;
 * returns how many samples of component 0 whose pixels lie inside @p inside changed, and how many there are. */
static void compare_samples(GstBuffer *out, GstBuffer *orig, const GstVideoInfo *info, const struct prect *allowed,
			    int n, const struct prect *inside, int *changed, int *total, const char *what)
{
	GstVideoFrame fo, fi;

	ck_assert(gst_video_frame_map(&fo, info, out, GST_MAP_READ));
	ck_assert(gst_video_frame_map(&fi, info, orig, GST_MAP_READ));
	*changed = *total = 0;
	for (guint c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS(&fo); c++) {
		const guint ws = GST_VIDEO_FORMAT_INFO_W_SUB(fo.info.finfo, c);
		const guint hs = GST_VIDEO_FORMAT_INFO_H_SUB(fo.info.finfo, c);
		const guint8 *po = GST_VIDEO_FRAME_COMP_DATA(&fo, c), *pi = GST_VIDEO_FRAME_COMP_DATA(&fi, c);
		const gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE(&fo, c), rs = GST_VIDEO_FRAME_COMP_STRIDE(&fo, c);

		for (int cy = 0; cy < GST_VIDEO_FRAME_COMP_HEIGHT(&fo, c); cy++)
			for (int cx = 0; cx < GST_VIDEO_FRAME_COMP_WIDTH(&fo, c); cx++) {
				const struct prect px = { cx << ws, cy << hs, (cx + 1) << ws, (cy + 1) << hs };
				const guint8 a = po[cy * rs + cx * ps], b = pi[cy * rs + cx * ps];
				int may = 0;

				for (int i = 0; i < n; i++)
					may |= intersects(&px, &allowed[i]);
				ck_assert_msg(may || a == b, "%s %s: component %u sample (%d,%d) changed %d -> %d",
					      what, GST_VIDEO_INFO_NAME(info), c, cx, cy, b, a);
				if (c == 0 && inside && px.x0 >= inside->x0 && px.x1 <= inside->x1 &&
				    px.y0 >= inside->y0 && px.y1 <= inside->y1) {
					(*total)++;
					*changed += a != b;
				}
			}
	}
	gst_video_frame_unmap(&fo);
	gst_video_frame_unmap(&fi);
}

static GstHarness *overlay_harness(const char *props, const GstVideoInfo *info)
{
	gchar *desc = g_strdup_printf("vigiloverlay %s", props ? props : "");
	GstHarness *h = gst_harness_new_parse(desc);
	GstCaps *caps = gst_video_info_to_caps(info);

	vt_assert_nonnull(h);
	gst_harness_set_caps(h, gst_caps_ref(caps), caps);
	g_free(desc);
	return h;
}

/* ---- every format x every mode ------------------------------------------------------------------------ */

GST_START_TEST(test_formats_and_modes)
{
	const GstVideoFormat format = formats[__i__ / N_MODES];
	const int mode = __i__ % N_MODES;
	const GstVideoInfo info = video_info(format, W, H);
	const struct vigil_detection face = face_det();
	struct vigil_annotate_config config;
	gchar *props = g_strdup_printf("mode=%s pixelate-block=6 fill-color=0xff3366cc", modes[mode]);
	GstHarness *h = overlay_harness(props, &info);
	GstBuffer *in = make_frame(&info, (guint64)__i__, &face, 1);
	GstBuffer *orig = gst_buffer_copy_deep(in), *ref, *out;
	const GstBuffer *in_ptr = in;
	int changed, total;

	vigil_annotate_config_init(&config);
	config.mode = (enum vigil_annotate_mode)mode;
	config.pixelate_block = 6;
	config.fill_rgb = 0x3366cc;
	ref = reference(in, &info, &face, 1, &config);

	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	vt_assert_nonnull(out);
	/* the only reference was handed over: drawn in place, no copy */
	ck_assert_msg((const GstBuffer *)out == in_ptr, "a writable buffer was copied");
	assert_same_bytes(out, ref, modes[mode]);
	if (mode == VIGIL_ANNOTATE_BOX) {
		const struct prect allowed[] = { box_px, tag_px };
		const struct prect left_edge = { box_px.x0, box_px.y0 + 4, box_px.x0 + 2, box_px.y1 - 4 };

		compare_samples(out, orig, &info, allowed, 2, &left_edge, &changed, &total, modes[mode]);
		/* random bytes equal the outline colour by chance in 1 of 256 */
		ck_assert_msg(total > 0 && changed >= total - 2, "%s: %d of %d outline samples changed",
			      GST_VIDEO_INFO_NAME(&info), changed, total);
	} else {
		compare_samples(out, orig, &info, &mask_px, 1, &mask_px, &changed, &total, modes[mode]);
		ck_assert_msg(total > 0 && changed > total * 9 / 10, "%s %s: %d of %d samples in the box changed",
			      GST_VIDEO_INFO_NAME(&info), modes[mode], changed, total);
	}
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_buffer_unref(orig);
	gst_harness_teardown(h);
	g_free(props);
}
GST_END_TEST;

/* ---- labels, passthrough, writability ------------------------------------------------------------------- */

GST_START_TEST(test_labels_filter)
{
	const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_NV12, W, H);
	const struct vigil_detection both[] = { face_det(), cat_det() };
	struct vigil_annotate_config config;
	GstHarness *h = overlay_harness("mode=fill labels=\" dog , cat,\"", &info);
	GstElement *overlay = gst_harness_find_element(h, "vigiloverlay");
	GstBuffer *in, *orig, *ref, *out;
	gchar *labels = NULL;
	int changed, total;

	g_object_get(overlay, "labels", &labels, NULL);
	ck_assert_str_eq(labels, " dog , cat,");
	g_free(labels);
	vigil_annotate_config_init(&config);
	config.mode = VIGIL_ANNOTATE_FILL;

	/* only the cat is masked */
	in = make_frame(&info, 1, both, 2);
	orig = gst_buffer_copy_deep(in);
	ref = reference(in, &info, &both[1], 1, &config);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, ref, "labels=cat");
	compare_samples(out, orig, &info, &cat_px, 1, &cat_px, &changed, &total, "labels=cat");
	ck_assert_int_gt(changed, total * 9 / 10);
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_buffer_unref(orig);

	/* a filter that matches nothing: the frame passes untouched */
	g_object_set(overlay, "labels", "person", NULL);
	in = make_frame(&info, 2, both, 2);
	orig = gst_buffer_copy_deep(in);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, orig, "labels=person");
	gst_buffer_unref(out);
	gst_buffer_unref(orig);

	/* changed while streaming: face only, then (empty) everything, in another mode */
	g_object_set(overlay, "labels", "face", NULL);
	in = make_frame(&info, 3, both, 2);
	orig = gst_buffer_copy_deep(in);
	ref = reference(in, &info, &both[0], 1, &config);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, ref, "labels=face");
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_buffer_unref(orig);

	g_object_set(overlay, "labels", "", "mode", VIGIL_ANNOTATE_PIXELATE, NULL);
	config.mode = VIGIL_ANNOTATE_PIXELATE;
	in = make_frame(&info, 4, both, 2);
	ref = reference(in, &info, both, 2, &config);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, ref, "labels=\"\" mode=pixelate");
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_object_unref(overlay);
	gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_without_metas_and_shared_buffers)
{
	const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_I420, W, H);
	const struct vigil_detection face = face_det();
	GstHarness *h = overlay_harness("mode=blur", &info);
	struct vigil_annotate_config config;
	GstBuffer *in, *orig, *ref, *out;
	int changed, total;

	vigil_annotate_config_init(&config);
	config.mode = VIGIL_ANNOTATE_BLUR;

	/* no metas, shared (the test keeps a reference, as a tee's other branch would): passes as the very
	 * same buffer, not copied, not changed */
	in = make_frame(&info, 5, NULL, 0);
	orig = gst_buffer_copy_deep(in);
	gst_buffer_ref(in);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_msg(out == in, "a frame without metas was copied");
	assert_same_bytes(out, orig, "no metas");
	gst_buffer_unref(out);
	gst_buffer_unref(in);
	gst_buffer_unref(orig);

	/* metas on a shared buffer: drawn on a copy, the original stays as it was */
	in = make_frame(&info, 6, &face, 1);
	orig = gst_buffer_copy_deep(in);
	gst_buffer_ref(in);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert(out != in);
	assert_same_bytes(in, orig, "shared input");
	ref = reference(orig, &info, &face, 1, &config);
	assert_same_bytes(out, ref, "copy of a shared input");
	compare_samples(out, orig, &info, &mask_px, 1, &mask_px, &changed, &total, "shared");
	ck_assert_int_gt(changed, total * 9 / 10);
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_buffer_unref(in);
	gst_buffer_unref(orig);

	/* and back to a frame without metas */
	in = make_frame(&info, 7, NULL, 0);
	orig = gst_buffer_copy_deep(in);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, orig, "no metas again");
	gst_buffer_unref(out);
	gst_buffer_unref(orig);
	gst_harness_teardown(h);
}
GST_END_TEST;

/* Box mode options through the properties: no tag, no keypoints, thick lines. */
GST_START_TEST(test_box_properties)
{
	const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_RGBx, W, H);
	const struct vigil_detection face = face_det();
	struct vigil_annotate_config config;
	GstHarness *h = overlay_harness("draw-labels=false draw-keypoints=false thickness=4", &info);
	GstBuffer *in = make_frame(&info, 8, &face, 1), *orig = gst_buffer_copy_deep(in), *ref, *out;
	const struct prect ring[] = { { 20, 22, 61, 26 }, { 20, 48, 61, 52 }, { 20, 22, 24, 52 }, { 57, 22, 61, 52 } };
	int changed, total;

	vigil_annotate_config_init(&config);
	config.draw_labels = 0;
	config.draw_keypoints = 0;
	config.thickness = 4;
	ref = reference(in, &info, &face, 1, &config);
	ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
	out = gst_harness_pull(h);
	assert_same_bytes(out, ref, "box options");
	compare_samples(out, orig, &info, ring, 4, &ring[2], &changed, &total, "box options");
	ck_assert_int_ge(changed, total - 2);
	gst_buffer_unref(out);
	gst_buffer_unref(ref);
	gst_buffer_unref(orig);
	gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_property_defaults_and_values)
{
	GstElement *e = gst_element_factory_make("vigiloverlay", NULL);
	GError *err = NULL;
	GstElement *bad;
	gint mode, thickness, block, radius;
	gboolean draw_labels, draw_keypoints;
	guint color;
	gchar *labels;

	vt_assert_nonnull(e);
	g_object_get(e, "mode", &mode, "thickness", &thickness, "pixelate-block", &block, "blur-radius", &radius,
		     "draw-labels", &draw_labels, "draw-keypoints", &draw_keypoints, "fill-color", &color, "labels",
		     &labels, NULL);
	ck_assert_int_eq(mode, VIGIL_ANNOTATE_BOX);
	ck_assert_int_eq(thickness, 0);
	ck_assert_int_eq(block, 0);
	ck_assert_int_eq(radius, 0);
	ck_assert(draw_labels && draw_keypoints);
	ck_assert_uint_eq(color, 0xff000000u);
	ck_assert_str_eq(labels, "");
	g_free(labels);

	gst_util_set_object_arg(G_OBJECT(e), "mode", "pixelate");
	g_object_set(e, "fill-color", 0x00abcdefu, "blur-radius", 9, NULL);
	g_object_get(e, "mode", &mode, "fill-color", &color, "blur-radius", &radius, NULL);
	ck_assert_int_eq(mode, VIGIL_ANNOTATE_PIXELATE);
	ck_assert_uint_eq(color, 0x00abcdefu);
	ck_assert_int_eq(radius, 9);
	gst_object_unref(e);

	/* an unknown mode is refused with a message that names it */
	bad = gst_parse_launch("fakesrc ! vigiloverlay mode=sparkle ! fakesink", &err);
	ck_assert_msg(err != NULL, "mode=sparkle was accepted");
	ck_assert_msg(strstr(err->message, "sparkle") != NULL, "%s", err->message);
	g_clear_error(&err);
	if (bad)
		gst_object_unref(bad);
}
GST_END_TEST;

/* A frame the library refuses (wider than VIGIL_MAX_FRAME_SIDE): a mask must not let it through unmasked
 * (error), boxes are only a view (one warning, the frame goes on). */
GST_START_TEST(test_frame_too_wide)
{
	const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_GRAY8, 16385, 2);
	const struct vigil_detection face = face_det();
	GstBus *bus = gst_bus_new();
	GstHarness *h;
	GstMessage *msg;
	GstBuffer *out;

	h = overlay_harness("mode=fill", &info);
	gst_element_set_bus(h->element, bus);
	ck_assert_int_eq(gst_harness_push(h, make_frame(&info, 9, &face, 1)), GST_FLOW_ERROR);
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	ck_assert_msg(msg != NULL, "no error message");
	{
		GError *e = NULL;
		gchar *dbg = NULL;

		gst_message_parse_error(msg, &e, &dbg);
		ck_assert_msg(strstr(e->message, "privacy mask") && dbg && strstr(dbg, "16385"), "%s / %s", e->message,
			      dbg);
		g_error_free(e);
		g_free(dbg);
	}
	gst_message_unref(msg);
	gst_element_set_bus(h->element, NULL);
	gst_harness_teardown(h);

	h = overlay_harness("mode=box", &info);
	gst_element_set_bus(h->element, bus);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(gst_harness_push(h, make_frame(&info, 10, &face, 1)), GST_FLOW_OK);
		out = gst_harness_pull(h);
		gst_buffer_unref(out);
	}
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
	ck_assert_msg(msg != NULL, "no warning");
	gst_message_unref(msg);
	ck_assert_msg(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING) == NULL, "more than one warning");
	gst_element_set_bus(h->element, NULL);
	gst_harness_teardown(h);
	gst_object_unref(bus);
}
GST_END_TEST;

/* ---- real pipelines ------------------------------------------------------------------------------------ */

GST_START_TEST(test_pipeline_videotestsrc)
{
	gchar *desc;

	vt_run_pipeline("videotestsrc num-buffers=5 ! video/x-raw,format=NV12,width=320,height=240 ! vigiloverlay ! "
			"fakesink");
	for (int m = 0; m < N_MODES; m++) {
		desc = g_strdup_printf("videotestsrc num-buffers=3 ! video/x-raw,format=%s,width=33,height=17 ! "
				       "vigiloverlay mode=%s ! fakesink",
				       gst_video_format_to_string(formats[m * 3 % N_FORMATS]), modes[m]);
		vt_run_pipeline(desc);
		g_free(desc);
	}
}
GST_END_TEST;

/* The photo's faces found by vigildetect are filled by vigiloverlay: every pixel of each ROI rectangle
 * (the box clipped to the frame, inside the mask's floor..ceil) is the fill colour. */
GST_START_TEST(test_pipeline_detect_and_fill)
{
	gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! jpegdec ! videoconvert ! "
				      "video/x-raw,format=RGB ! imagefreeze num-buffers=1 ! vigildetect ! "
				      "vigiloverlay mode=fill fill-color=0x10e020 ! appsink name=sink sync=false",
				      vt_data_path("faces/sample2.jpg"));
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(desc, &err);
	GstElement *sink;
	GstSample *sample;
	GstBuffer *buf;
	GstVideoInfo info;
	GstVideoFrame vf;
	gpointer state = NULL;
	GstMeta *meta;
	guint faces = 0;

	ck_assert_msg(pipeline != NULL && err == NULL, "%s", err ? err->message : "?");
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 60 * GST_SECOND);
	ck_assert_msg(sample != NULL, "no frame within 60 s");
	ck_assert(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	buf = gst_sample_get_buffer(sample);
	ck_assert(gst_video_frame_map(&vf, &info, buf, GST_MAP_READ));
	while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
		const GstVideoRegionOfInterestMeta *roi = (const GstVideoRegionOfInterestMeta *)meta;

		faces++;
		for (guint y = roi->y; y < roi->y + roi->h; y++)
			for (guint x = roi->x; x < roi->x + roi->w; x++) {
				const guint8 *p = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) +
						  y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0) + x * 3;

				ck_assert_msg(p[0] == 0x10 && p[1] == 0xe0 && p[2] == 0x20,
					      "face %u pixel (%u,%u) is %02x%02x%02x", faces, x, y, p[0], p[1], p[2]);
			}
	}
	ck_assert_msg(faces > 0, "vigildetect found no face in sample2.jpg");
	gst_video_frame_unmap(&vf);
	gst_sample_unref(sample);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_free(desc);
}
GST_END_TEST;

/* ---- leaks ------------------------------------------------------------------------------------------------- */

static void leak_scenario(void)
{
	const GstVideoInfo info = video_info(GST_VIDEO_FORMAT_YUY2, W, H);
	const struct vigil_detection both[] = { face_det(), cat_det() };

	for (int m = 0; m < N_MODES; m++) {
		gchar *props = g_strdup_printf("mode=%s labels=face,cat", modes[m]);
		GstHarness *h = overlay_harness(props, &info);

		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(gst_harness_push(h, make_frame(&info, (guint64)i, both, (size_t)i % 3)),
					 GST_FLOW_OK);
			gst_buffer_unref(gst_harness_pull(h));
		}
		gst_harness_teardown(h);
		g_free(props);
	}
	vt_run_pipeline("videotestsrc num-buffers=3 ! video/x-raw,format=I420,width=64,height=48 ! vigiloverlay "
			"mode=blur ! fakesink");
}

/* The leaks tracer's view of a whole run: every object and buffer created is gone at the end */
GST_START_TEST(test_no_leaked_objects)
{
	vt_assert_no_leaks(leak_scenario);
}
GST_END_TEST;

static Suite *overlay_suite(void)
{
	Suite *s = suite_create("vigiloverlay");
	TCase *tc = tcase_create("overlay");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_formats_and_modes, 0, N_FORMATS * N_MODES);
	tcase_add_test(tc, test_labels_filter);
	tcase_add_test(tc, test_without_metas_and_shared_buffers);
	tcase_add_test(tc, test_box_properties);
	tcase_add_test(tc, test_property_defaults_and_values);
	tcase_add_test(tc, test_frame_too_wide);
	tcase_add_test(tc, test_pipeline_videotestsrc);
	tcase_add_test(tc, test_pipeline_detect_and_fill);
	tcase_add_test(tc, test_no_leaked_objects);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	/* load the plugin in this process, not in gst-plugin-scanner: under ASan the plugin needs the sanitizer
	 * runtime that only this executable carries */
	g_setenv("GST_REGISTRY_FORK", "no", FALSE);
	vt_init(&argc, &argv);
	return vt_run(overlay_suite());
}
