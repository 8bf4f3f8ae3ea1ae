/* SPDX-License-Identifier: Apache-2.0
 * vigilmetapublish in GstHarness and in real pipelines: the records it writes parse as JSON and equal the
 * detections attached to the buffers (vigil_gst_attach, the contract vigildetect follows), in both file
 * formats; frames without metas; the source name; standard output; an unwritable location and a full disk
 * give errors; buffers pass through untouched. The suite runs in one process with GStreamer's leaks tracer
 * (GST_TRACERS=leaks, set by main()): one test asserts that a whole run leaves no object behind, and any
 * leaked GstObject or buffer fails the suite at gst_deinit(). */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gsttestutil.h"
#include "vigilmeta.h"

#define W 640
#define H 480
#define CAPS "video/x-raw,format=I420,width=640,height=480,framerate=30/1"

/* ---- temporary directory (a checked fixture: removed even when a test fails) ---------------------- */

static gchar *tmpdir;

static void tmpdir_setup(void)
{
	GError *err = NULL;

	tmpdir = g_dir_make_tmp("vigil-metapublish-XXXXXX", &err);
	ck_assert_msg(tmpdir != NULL, "g_dir_make_tmp: %s", err ? err->message : "?");
}

static void tmpdir_teardown(void)
{
	GDir *dir = g_dir_open(tmpdir, 0, NULL);
	const gchar *name;

	while (dir && (name = g_dir_read_name(dir))) {
		gchar *path = g_build_filename(tmpdir, name, NULL);

		g_unlink(path);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	g_rmdir(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

static gchar *tmp_path(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

/* ---- what goes on the buffers ------------------------------------------------------------------- */

/* Frame i carries i % 3 detections: none, a face with keypoints, then also a tracked "person" whose box
 * crosses the frame's left and bottom edges (the ROI rectangle is clipped, the record must not be). */
struct fixture {
	struct vigil_detection items[2];
	struct vigil_detections dets;
	struct vigil_gst_frame_info frame;
};

static void make_fixture(guint i, struct fixture *f)
{
	struct vigil_detection *face = &f->items[0], *person = &f->items[1];

	memset(f, 0, sizeof(*f));
	face->label_id = 0;
	face->label = "face";
	face->score = 0.9f - 0.0123457f * (float)i;
	face->x = 100.25f + 10.5f * (float)i;
	face->y = 50.5f;
	face->w = 120.75f;
	face->h = 130.125f;
	face->num_keypoints = 6;
	for (int k = 0; k < 6; k++) {
		face->keypoints[k].x = face->x + 10.0f + 15.0f * (float)k;
		face->keypoints[k].y = face->y + 20.0f + 7.5f * (float)k + 0.333f * (float)i;
	}
	face->track_id = -1;
	person->label_id = 1;
	person->label = "person";
	person->score = 0.51234567f;
	person->x = -20.5f;
	person->y = 300.25f + (float)i;
	person->w = 80.0f;
	person->h = 200.5f;
	person->track_id = 7 + i;
	f->dets.count = i % 3;
	f->dets.items = f->items;
	f->dets.frame_width = W;
	f->dets.frame_height = H;
	f->frame.model = "face-full";
	f->frame.frame = 100 + i;
	f->frame.fresh = TRUE;
	f->frame.timing.preprocess_ms = 1.5 + i;
	f->frame.timing.inference_ms = 20.25 + 0.001 * i;
	f->frame.timing.postprocess_ms = 0.125;
}

static GstVideoInfo video_info(void)
{
	GstVideoInfo info;

	gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, W, H);
	return info;
}

static GstClockTime frame_pts(guint i)
{
	return gst_util_uint64_scale(i, GST_SECOND, 30);
}

/* A frame filled with byte 0x10 + i, PTS of frame i at 30 fps, and the fixture's metas when @f is given. */
static GstBuffer *make_buffer(guint i, const struct fixture *f)
{
	GstVideoInfo info = video_info();
	GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);

	gst_buffer_memset(buf, 0, (guint8)(0x10 + i), GST_VIDEO_INFO_SIZE(&info));
	GST_BUFFER_PTS(buf) = frame_pts(i);
	GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
	if (f)
		vigil_gst_attach(buf, &info, &f->dets, &f->frame);
	return buf;
}

/* ---- reading the output -------------------------------------------------------------------------- */

static gchar *read_text(const gchar *path)
{
	gchar *text = NULL;
	GError *err = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, NULL, &err), "%s: %s", path, err ? err->message : "?");
	return text;
}

/* The lines of a JSON Lines file, each parsed; the file must end with a newline (every line complete). */
static GPtrArray *read_json_lines(const gchar *path)
{
	gchar *text = read_text(path);
	GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	gchar **lines;
	guint n;

	ck_assert_msg(text[0] == '\0' || g_str_has_suffix(text, "\n"), "%s does not end with a newline", path);
	lines = g_strsplit(text, "\n", -1);
	n = g_strv_length(lines);
	for (guint i = 0; i + 1 < n; i++) {
		json_error_t error;
		json_t *rec = json_loads(lines[i], 0, &error);

		ck_assert_msg(rec != NULL, "%s line %u: %s: %s", path, i + 1, error.text, lines[i]);
		g_ptr_array_add(records, rec);
	}
	g_strfreev(lines);
	g_free(text);
	return records;
}

static const char *get_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

static json_int_t get_int(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static double get_num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "\"%s\" is not a number", key);
	return json_number_value(v);
}

static void check_relative(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want)), "%s = %.9g, expected %.9g", what, got, want);
}

/* One record against what was on the buffer: @f NULL for a frame without metas. @pts < 0: null. */
static void check_record(const json_t *rec, const struct fixture *f, const char *source, gint64 frame, gint64 pts,
			 int width, int height)
{
	const json_t *timing, *list;

	ck_assert(json_is_object(rec));
	ck_assert_str_eq(get_str(rec, "source"), source);
	ck_assert_int_eq(get_int(rec, "frame"), frame);
	if (pts < 0)
		ck_assert(json_is_null(json_object_get(rec, "pts_ns")));
	else
		ck_assert_int_eq(get_int(rec, "pts_ns"), pts);
	ck_assert_int_eq(get_int(rec, "width"), width);
	ck_assert_int_eq(get_int(rec, "height"), height);
	ck_assert_str_eq(get_str(rec, "model"), f ? f->frame.model : "");
	timing = json_object_get(rec, "timing_ms");
	ck_assert(json_is_object(timing));
	check_relative(get_num(timing, "preprocess"), f ? f->frame.timing.preprocess_ms : 0.0, "preprocess");
	check_relative(get_num(timing, "inference"), f ? f->frame.timing.inference_ms : 0.0, "inference");
	check_relative(get_num(timing, "postprocess"), f ? f->frame.timing.postprocess_ms : 0.0, "postprocess");

	list = json_object_get(rec, "detections");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), f ? f->dets.count : 0);
	for (size_t i = 0; f && i < f->dets.count; i++) {
		const struct vigil_detection *d = &f->items[i];
		const json_t *o = json_array_get(list, i), *kps = json_object_get(o, "keypoints");

		ck_assert(json_is_object(o));
		ck_assert_str_eq(get_str(o, "label"), d->label);
		ck_assert_int_eq(get_int(o, "label_id"), d->label_id);
		vt_assert_near(get_num(o, "score"), d->score, 1e-6);
		vt_assert_near(get_num(o, "x"), d->x, 1e-3);
		vt_assert_near(get_num(o, "y"), d->y, 1e-3);
		vt_assert_near(get_num(o, "w"), d->w, 1e-3);
		vt_assert_near(get_num(o, "h"), d->h, 1e-3);
		if (d->num_keypoints == 0) {
			ck_assert_msg(kps == NULL, "detection %zu has keypoints", i);
		} else {
			ck_assert(json_is_array(kps));
			ck_assert_uint_eq(json_array_size(kps), (size_t)d->num_keypoints);
			for (int k = 0; k < d->num_keypoints; k++) {
				const json_t *pt = json_array_get(kps, (size_t)k);

				ck_assert(json_is_array(pt) && json_array_size(pt) == 2);
				vt_assert_near(json_number_value(json_array_get(pt, 0)), d->keypoints[k].x, 1e-3);
				vt_assert_near(json_number_value(json_array_get(pt, 1)), d->keypoints[k].y, 1e-3);
			}
		}
		if (d->track_id >= 0)
			ck_assert_int_eq(get_int(o, "track_id"), d->track_id);
		else
			ck_assert_msg(json_object_get(o, "track_id") == NULL, "detection %zu has a track_id", i);
	}
}

/* ---- element helpers ----------------------------------------------------------------------------- */

/* vigilmetapublish named "pub" with @props, started, caps set. */
static GstHarness *new_harness(const char *props)
{
	gchar *desc = g_strdup_printf("vigilmetapublish name=pub %s", props);
	GstHarness *h = gst_harness_new_parse(desc);

	g_free(desc);
	gst_harness_set_src_caps_str(h, CAPS);
	return h;
}

static guint64 frames_written(GstHarness *h)
{
	GstElement *e = gst_harness_find_element(h, "vigilmetapublish");
	guint64 frames = G_MAXUINT64;

	vt_assert_nonnull(e);
	g_object_get(e, "frames", &frames, NULL);
	gst_object_unref(e);
	return frames;
}

/* Pushes frame i and checks the same buffer comes out. */
static void push_frame(GstHarness *h, guint i, const struct fixture *f)
{
	GstBuffer *buf = make_buffer(i, f), *out;

	ck_assert_int_eq(gst_harness_push(h, buf), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_ptr_eq(out, buf);
	gst_buffer_unref(out);
}

/* ---- tests --------------------------------------------------------------------------------------- */

GST_START_TEST(test_defaults)
{
	GstElement *e = gst_element_factory_make("vigilmetapublish", NULL);
	gchar *location = NULL, *source = NULL;
	gint format = -1;
	guint64 frames = 1;

	vt_assert_nonnull(e);
	g_object_get(e, "location", &location, "file-format", &format, "source", &source, "frames", &frames, NULL);
	ck_assert_str_eq(location, "-");
	ck_assert_int_eq(format, 0); /* json-lines */
	ck_assert_ptr_eq(source, NULL);
	ck_assert_uint_eq(frames, 0);
	/* NULL location returns to standard output rather than leaving the element without one */
	g_object_set(e, "location", NULL, NULL);
	g_free(location);
	g_object_get(e, "location", &location, NULL);
	ck_assert_str_eq(location, "-");
	gst_util_set_object_arg(G_OBJECT(e), "file-format", "json");
	g_object_get(e, "file-format", &format, NULL);
	ck_assert_int_eq(format, 1);
	g_free(location);
	gst_object_unref(e);
}
GST_END_TEST;

/* json-lines: one line per frame, on disk as soon as the frame has passed, equal to the metas */
GST_START_TEST(test_json_lines_equal_detections)
{
	gchar *path = tmp_path("out.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\" source=cam0", path);
	GstHarness *h = new_harness(props);
	struct fixture f[6];
	GPtrArray *records;

	for (guint i = 0; i < 6; i++) {
		make_fixture(i, &f[i]);
		push_frame(h, i, &f[i]);
		/* flushed per line: the file already holds this frame, before EOS */
		records = read_json_lines(path);
		ck_assert_uint_eq(records->len, i + 1);
		g_ptr_array_unref(records);
	}
	ck_assert_uint_eq(frames_written(h), 6);
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	gst_harness_teardown(h);

	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 6);
	for (guint i = 0; i < 6; i++)
		check_record(g_ptr_array_index(records, i), &f[i], "cam0", 100 + i, (gint64)frame_pts(i), W, H);
	g_ptr_array_unref(records);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* json: "[\n" + records separated by ",\n" + "\n]\n", closed at EOS; stop() adds nothing after that */
GST_START_TEST(test_json_array_at_eos)
{
	gchar *path = tmp_path("out.json");
	gchar *props = g_strdup_printf("location=\"%s\" file-format=json source=cam1", path);
	GstHarness *h = new_harness(props);
	struct fixture f[4];
	json_error_t error;
	json_t *array;
	gchar *text, *after;

	for (guint i = 0; i < 4; i++) {
		make_fixture(i, &f[i]);
		push_frame(h, i, &f[i]);
	}
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	text = read_text(path);
	ck_assert_msg(g_str_has_prefix(text, "[\n{"), "starts with %.10s", text);
	ck_assert_msg(g_str_has_suffix(text, "}\n]\n"), "does not end with \"}\\n]\\n\"");
	ck_assert_ptr_eq(strstr(text, "\n\n"), NULL);
	array = json_loads(text, 0, &error);
	ck_assert_msg(array != NULL, "%s: %s", error.text, text);
	ck_assert(json_is_array(array));
	ck_assert_uint_eq(json_array_size(array), 4);
	for (guint i = 0; i < 4; i++)
		check_record(json_array_get(array, i), &f[i], "cam1", 100 + i, (gint64)frame_pts(i), W, H);
	/* one record per line */
	gchar **lines = g_strsplit(text, "\n", -1);
	ck_assert_uint_eq(g_strv_length(lines), 4 + 3);
	g_strfreev(lines);
	json_decref(array);

	ck_assert_uint_eq(frames_written(h), 4);
	gst_harness_teardown(h);
	after = read_text(path);
	ck_assert_str_eq(after, text);
	g_free(after);
	g_free(text);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* json without EOS: the element stopping (state change to NULL) closes the array */
GST_START_TEST(test_json_array_at_stop)
{
	gchar *path = tmp_path("out.json");
	gchar *props = g_strdup_printf("location=\"%s\" file-format=json source=cam2", path);
	GstHarness *h = new_harness(props);
	struct fixture f[3];
	json_error_t error;
	json_t *array;
	gchar *text;

	for (guint i = 0; i < 3; i++) {
		make_fixture(i, &f[i]);
		push_frame(h, i, &f[i]);
	}
	/* before the array is closed the file is an unterminated array */
	text = read_text(path);
	ck_assert(g_str_has_prefix(text, "[\n"));
	ck_assert(!g_str_has_suffix(text, "]\n"));
	g_free(text);
	gst_harness_teardown(h);

	text = read_text(path);
	ck_assert(g_str_has_suffix(text, "}\n]\n"));
	array = json_loads(text, 0, &error);
	ck_assert_msg(array != NULL, "%s: %s", error.text, text);
	ck_assert_uint_eq(json_array_size(array), 3);
	for (guint i = 0; i < 3; i++)
		check_record(json_array_get(array, i), &f[i], "cam2", 100 + i, (gint64)frame_pts(i), W, H);
	json_decref(array);
	g_free(text);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* No frame at all: json gives "[]" (at EOS and at stop), json-lines an empty file */
GST_START_TEST(test_zero_frames)
{
	gchar *json = tmp_path("empty.json"), *jsonl = tmp_path("empty.jsonl"), *json_eos = tmp_path("eos.json");
	gchar *props, *text;
	GstHarness *h;

	props = g_strdup_printf("location=\"%s\" file-format=json", json);
	h = new_harness(props);
	gst_harness_teardown(h);
	text = read_text(json);
	ck_assert_str_eq(text, "[]\n");
	g_free(text);
	g_free(props);

	props = g_strdup_printf("location=\"%s\" file-format=json", json_eos);
	h = new_harness(props);
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	text = read_text(json_eos);
	ck_assert_str_eq(text, "[]\n");
	g_free(text);
	gst_harness_teardown(h);
	text = read_text(json_eos);
	ck_assert_str_eq(text, "[]\n");
	g_free(text);
	g_free(props);

	props = g_strdup_printf("location=\"%s\" file-format=json-lines", jsonl);
	h = new_harness(props);
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	gst_harness_teardown(h);
	text = read_text(jsonl);
	ck_assert_str_eq(text, "");
	g_free(text);
	g_free(props);
	g_free(json);
	g_free(jsonl);
	g_free(json_eos);
}
GST_END_TEST;

/* Frames without metas: "detections":[], model "", the element's own frame count; a buffer without PTS
 * gives "pts_ns":null; with no source property and no upstream element, the element's name */
GST_START_TEST(test_frames_without_metas)
{
	gchar *path = tmp_path("plain.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\"", path);
	GstHarness *h = new_harness(props);
	struct fixture f0, f1;
	GstBuffer *buf, *out;
	GPtrArray *records;

	make_fixture(1, &f0);
	make_fixture(2, &f1);
	push_frame(h, 0, &f0);
	push_frame(h, 1, NULL);
	push_frame(h, 2, &f1);
	buf = make_buffer(3, NULL);
	GST_BUFFER_PTS(buf) = GST_CLOCK_TIME_NONE;
	ck_assert_int_eq(gst_harness_push(h, buf), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_ptr_eq(out, buf);
	gst_buffer_unref(out);
	gst_harness_teardown(h);

	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 4);
	/* frame numbers: the frame meta's counter (vigildetect's) when there is one, else this element's */
	check_record(g_ptr_array_index(records, 0), &f0, "pub", 101, (gint64)frame_pts(0), W, H);
	check_record(g_ptr_array_index(records, 1), NULL, "pub", 1, (gint64)frame_pts(1), W, H);
	check_record(g_ptr_array_index(records, 2), &f1, "pub", 102, (gint64)frame_pts(2), W, H);
	check_record(g_ptr_array_index(records, 3), NULL, "pub", 3, -1, W, H);
	ck_assert_str_eq(json_string_value(json_object_get(g_ptr_array_index(records, 1), "model")), "");
	ck_assert_uint_eq(json_array_size(json_object_get(g_ptr_array_index(records, 1), "detections")), 0);
	g_ptr_array_unref(records);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* The source property changes while PLAYING; location cannot (the file is open) */
GST_START_TEST(test_source_while_playing)
{
	gchar *path = tmp_path("src.jsonl"), *other = tmp_path("other.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\" source=cam-A", path);
	GstHarness *h = new_harness(props);
	GstElement *e = gst_harness_find_element(h, "vigilmetapublish");
	GPtrArray *records;
	gchar *location = NULL;

	push_frame(h, 0, NULL);
	g_object_set(e, "source", "cam-B", NULL);
	g_object_set(e, "location", other, NULL);
	g_object_get(e, "location", &location, NULL);
	ck_assert_str_eq(location, path);
	push_frame(h, 1, NULL);
	g_object_set(e, "source", NULL, NULL);
	push_frame(h, 2, NULL);
	gst_object_unref(e);
	gst_harness_teardown(h);

	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 3);
	check_record(g_ptr_array_index(records, 0), NULL, "cam-A", 0, (gint64)frame_pts(0), W, H);
	check_record(g_ptr_array_index(records, 1), NULL, "cam-B", 1, (gint64)frame_pts(1), W, H);
	check_record(g_ptr_array_index(records, 2), NULL, "pub", 2, (gint64)frame_pts(2), W, H);
	g_ptr_array_unref(records);
	ck_assert(!g_file_test(other, G_FILE_TEST_EXISTS));
	g_free(location);
	g_free(props);
	g_free(other);
	g_free(path);
}
GST_END_TEST;

/* location "-" (the default) writes the same records to standard output */
GST_START_TEST(test_stdout)
{
	gchar *path = tmp_path("stdout.txt");
	GPtrArray *records;
	struct fixture f;
	GstHarness *h;
	int fd, saved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	close(fd);

	make_fixture(2, &f);
	h = new_harness("source=stdout-cam");
	push_frame(h, 0, &f);
	push_frame(h, 1, NULL);
	gst_harness_teardown(h);

	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 2);
	check_record(g_ptr_array_index(records, 0), &f, "stdout-cam", 102, (gint64)frame_pts(0), W, H);
	check_record(g_ptr_array_index(records, 1), NULL, "stdout-cam", 1, (gint64)frame_pts(1), W, H);
	g_ptr_array_unref(records);
	g_free(path);
}
GST_END_TEST;

/* The same GstBuffer leaves, with the same memory, pixels and metas, even when it is not writable */
GST_START_TEST(test_passthrough_unmodified)
{
	gchar *path = tmp_path("pass.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\"", path);
	GstHarness *h = new_harness(props);
	GstVideoInfo info = video_info();
	struct fixture f;
	GstBuffer *buf, *out;
	GstMemory *mem;
	GstMapInfo map;

	make_fixture(2, &f);
	buf = make_buffer(5, &f);
	mem = gst_buffer_peek_memory(buf, 0);
	gst_buffer_ref(buf); /* a second reference: making it writable would have to copy it */
	ck_assert(!gst_buffer_is_writable(buf));
	ck_assert_int_eq(gst_harness_push(h, buf), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_ptr_eq(out, buf);
	ck_assert_uint_eq(gst_buffer_n_memory(out), 1);
	ck_assert_ptr_eq(gst_buffer_peek_memory(out, 0), mem);
	ck_assert_uint_eq(GST_BUFFER_PTS(out), frame_pts(5));
	ck_assert(gst_buffer_map(out, &map, GST_MAP_READ));
	ck_assert_uint_eq(map.size, GST_VIDEO_INFO_SIZE(&info));
	for (gsize i = 0; i < map.size; i++)
		if (map.data[i] != 0x15)
			ck_abort_msg("byte %zu changed to 0x%02x", i, map.data[i]);
	gst_buffer_unmap(out, &map);
	ck_assert_uint_eq(gst_buffer_get_n_meta(out, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE), 2);
	ck_assert_ptr_ne(gst_buffer_get_custom_meta(out, VIGIL_GST_FRAME_META_NAME), NULL);
	gst_buffer_unref(out);
	gst_buffer_unref(buf);
	gst_harness_teardown(h);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* More ROI metas than any detector makes: the record is bounded (1024 detections), the frame still passes */
GST_START_TEST(test_many_metas_bounded)
{
	gchar *path = tmp_path("many.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\"", path);
	GstHarness *h = new_harness(props);
	struct vigil_detection *items = g_new0(struct vigil_detection, 1500);
	struct vigil_detections dets = { .count = 1500, .items = items, .frame_width = W, .frame_height = H };
	struct vigil_gst_frame_info frame = { .model = "face-full", .frame = 9 };
	GstVideoInfo info = video_info();
	GstBuffer *buf = make_buffer(0, NULL), *out;
	GPtrArray *records;
	const json_t *list;

	for (int i = 0; i < 1500; i++)
		items[i] = (struct vigil_detection){
			.label = "face", .score = 0.5f, .x = (float)(i % 600), .y = 10, .w = 20, .h = 20, .track_id = -1
		};
	vigil_gst_attach(buf, &info, &dets, &frame);
	ck_assert_int_eq(gst_harness_push(h, buf), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_ptr_eq(out, buf);
	ck_assert_uint_eq(gst_buffer_get_n_meta(out, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE), 1500);
	gst_buffer_unref(out);
	gst_harness_teardown(h);

	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 1);
	list = json_object_get(g_ptr_array_index(records, 0), "detections");
	ck_assert_uint_eq(json_array_size(list), 1024);
	vt_assert_near(json_number_value(json_object_get(json_array_get(list, 1023), "x")), 1023 % 600, 1e-3);
	g_ptr_array_unref(records);
	g_free(items);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* json: frames after EOS closed the array (a flush, then more data) are not appended; one warning says so
 * and the file stays one valid array */
GST_START_TEST(test_json_frames_after_eos)
{
	gchar *path = tmp_path("eos.json");
	gchar *props = g_strdup_printf("location=\"%s\" file-format=json source=cam3", path);
	GstHarness *h = new_harness(props);
	GstBus *bus = gst_bus_new();
	struct fixture f[3];
	GstSegment segment;
	GstMessage *msg;
	json_error_t error;
	json_t *array;

	gst_element_set_bus(h->element, bus);
	for (guint i = 0; i < 2; i++) {
		make_fixture(i, &f[i]);
		push_frame(h, i, &f[i]);
	}
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	ck_assert(gst_harness_push_event(h, gst_event_new_flush_start()));
	ck_assert(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
	gst_segment_init(&segment, GST_FORMAT_TIME);
	ck_assert(gst_harness_push_event(h, gst_event_new_segment(&segment)));
	make_fixture(2, &f[2]);
	push_frame(h, 2, &f[2]);
	push_frame(h, 3, &f[2]);
	ck_assert_uint_eq(frames_written(h), 2);
	gst_harness_teardown(h);

	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
	ck_assert_msg(msg != NULL, "no WARNING message on the bus");
	gst_message_unref(msg);
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
	ck_assert_msg(msg == NULL, "more than one warning, or an error");
	gst_object_unref(bus);

	array = json_load_file(path, 0, &error);
	ck_assert_msg(array != NULL, "%s: %s", path, error.text);
	ck_assert_uint_eq(json_array_size(array), 2);
	for (guint i = 0; i < 2; i++)
		check_record(json_array_get(array, i), &f[i], "cam3", 100 + i, (gint64)frame_pts(i), W, H);
	json_decref(array);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

/* Metas another element could write: NaN and infinite numbers (JSON has neither), a label and a source
 * name that are not UTF-8, a NaN timing. The record is still written and parses; the odd detections are
 * dropped, the strings repaired, the timing 0. */
GST_START_TEST(test_odd_metas)
{
	gchar *path = tmp_path("odd.jsonl");
	gchar *props = g_strdup_printf("location=\"%s\"", path);
	GstHarness *h = new_harness(props);
	GstElement *e = gst_harness_find_element(h, "vigilmetapublish");
	struct vigil_detection items[4];
	struct fixture f, expected;
	GstBuffer *buf, *out;
	GPtrArray *records;
	const json_t *rec, *list, *raw;
	const char *label;

	g_object_set(e, "source", "cam\xff", NULL);
	gst_object_unref(e);
	make_fixture(2, &f);
	items[0] = f.items[0];
	items[1] = f.items[0];
	items[1].score = NAN;
	items[2] = f.items[1];
	items[3] = f.items[1];
	items[3].x = INFINITY;
	f.dets.items = items;
	f.dets.count = 4;
	f.frame.timing.inference_ms = NAN;
	buf = make_buffer(0, &f);
	gst_buffer_add_video_region_of_interest_meta(buf, "bad\xfflabel", 10, 20, 30, 40);
	ck_assert_int_eq(gst_harness_push(h, buf), GST_FLOW_OK);
	out = gst_harness_pull(h);
	ck_assert_ptr_eq(out, buf);
	gst_buffer_unref(out);
	gst_harness_teardown(h);

	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 1);
	rec = g_ptr_array_index(records, 0);
	ck_assert(g_str_has_prefix(get_str(rec, "source"), "cam"));
	ck_assert_str_ne(get_str(rec, "source"), "cam");
	ck_assert_int_eq(get_num(json_object_get(rec, "timing_ms"), "inference"), 0);
	list = json_object_get(rec, "detections");
	ck_assert_uint_eq(json_array_size(list), 3);
	/* the two good detections, compared as a 2-detection frame */
	make_fixture(2, &expected);
	json_t *copy = json_deep_copy(rec);
	json_array_remove(json_object_get(copy, "detections"), 2);
	json_object_set_new(json_object_get(copy, "timing_ms"), "inference",
			    json_real(expected.frame.timing.inference_ms));
	check_record(copy, &expected, get_str(rec, "source"), 102, (gint64)frame_pts(0), W, H);
	json_decref(copy);
	/* the bare ROI meta: read from its rectangle, label repaired */
	raw = json_array_get(list, 2);
	label = get_str(raw, "label");
	ck_assert(g_utf8_validate(label, -1, NULL));
	ck_assert(g_str_has_prefix(label, "bad") && g_str_has_suffix(label, "label"));
	vt_assert_near(get_num(raw, "x"), 10, 1e-3);
	vt_assert_near(get_num(raw, "y"), 20, 1e-3);
	vt_assert_near(get_num(raw, "w"), 30, 1e-3);
	vt_assert_near(get_num(raw, "h"), 40, 1e-3);
	vt_assert_near(get_num(raw, "score"), 0, 0);
	g_ptr_array_unref(records);
	g_free(props);
	g_free(path);
}
GST_END_TEST;

static void check_open_error(GstBus *bus, const char *path)
{
	GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	GError *err = NULL;
	gchar *dbg = NULL;

	ck_assert_msg(msg != NULL, "no ERROR message on the bus");
	gst_message_parse_error(msg, &err, &dbg);
	ck_assert_msg(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE), "%s", err->message);
	ck_assert_msg(strstr(err->message, path) != NULL, "\"%s\" does not name %s", err->message, path);
	ck_assert_msg(strstr(err->message, g_strerror(ENOENT)) != NULL, "\"%s\" does not give the reason",
		      err->message);
	g_error_free(err);
	g_free(dbg);
	gst_message_unref(msg);
}

/* A location that cannot be opened fails the state change with an error naming the path and the reason */
GST_START_TEST(test_unwritable_location)
{
	const char *path = "/nonexistent/dir/x.jsonl";
	GstElement *e = gst_element_factory_make("vigilmetapublish", "pub_bad");
	GstBus *bus = gst_bus_new();
	GstElement *pipeline;
	GstMessage *msg;
	GError *err = NULL;
	gchar *desc;

	vt_assert_nonnull(e);
	g_object_set(e, "location", path, NULL);
	gst_element_set_bus(e, bus);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
	check_open_error(bus, path);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	check_open_error(bus, path);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	/* an empty location is refused the same way */
	g_object_set(e, "location", "", NULL);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	ck_assert_msg(msg != NULL, "no ERROR message for an empty location");
	gst_message_parse_error(msg, &err, NULL);
	ck_assert_msg(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND), "%s", err->message);
	g_clear_error(&err);
	gst_message_unref(msg);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_element_set_bus(e, NULL);
	gst_object_unref(e);

	/* the same in a real pipeline */
	desc = g_strdup_printf("videotestsrc num-buffers=3 ! vigilmetapublish location=%s ! fakesink", path);
	pipeline = gst_parse_launch(desc, &err);
	ck_assert_msg(pipeline != NULL, "%s", err ? err->message : "?");
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	gst_object_unref(bus);
	bus = gst_element_get_bus(pipeline);
	check_open_error(bus, path);
	gst_object_unref(bus);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_object_unref(pipeline);
	g_free(desc);
}
GST_END_TEST;

/* A full disk (/dev/full) posts one write error naming the location; the video keeps flowing */
GST_START_TEST(test_write_error_once)
{
	GstHarness *h = new_harness("location=/dev/full");
	GstBus *bus = gst_bus_new();
	GstMessage *msg;
	GError *err = NULL;
	gchar *dbg = NULL;
	struct fixture f;

	ck_assert_msg(g_file_test("/dev/full", G_FILE_TEST_EXISTS), "/dev/full is missing");
	gst_element_set_bus(h->element, bus);
	make_fixture(1, &f);
	for (guint i = 0; i < 4; i++)
		push_frame(h, i, &f);
	ck_assert_uint_eq(frames_written(h), 0);

	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	ck_assert_msg(msg != NULL, "no ERROR message on the bus");
	gst_message_parse_error(msg, &err, &dbg);
	ck_assert_msg(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE), "%s", err->message);
	ck_assert_msg(strstr(err->message, "/dev/full") != NULL, "%s", err->message);
	ck_assert_msg(strstr(err->message, g_strerror(ENOSPC)) != NULL, "%s", err->message);
	g_error_free(err);
	g_free(dbg);
	gst_message_unref(msg);
	/* once: not per frame, and not again when the element stops */
	gst_harness_teardown(h);
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	ck_assert_msg(msg == NULL, "a second ERROR message was posted");
	gst_object_unref(bus);
}
GST_END_TEST;

/* The pipeline: 10 test frames, 10 lines, nothing attached so no detections */
GST_START_TEST(test_pipeline_videotestsrc)
{
	gchar *path = tmp_path("out.jsonl");
	gchar *desc =
	    g_strdup_printf("videotestsrc name=cam num-buffers=10 ! video/x-raw,format=I420,width=160,height=120"
			    " ! vigilmetapublish location=\"%s\" ! fakesink",
			    path);
	GPtrArray *records;

	vt_run_pipeline(desc);
	records = read_json_lines(path);
	ck_assert_uint_eq(records->len, 10);
	/* the source is the upstream source element, found through the capsfilter */
	for (guint i = 0; i < 10; i++)
		check_record(g_ptr_array_index(records, i), NULL, "cam", i, (gint64)frame_pts(i), 160, 120);
	g_ptr_array_unref(records);
	g_free(desc);
	g_free(path);
}
GST_END_TEST;

/* The source element's name is found through bins and ghost pads on both sides */
GST_START_TEST(test_pipeline_source_through_bins)
{
	gchar *path = tmp_path("bins.json");
	gchar *inner = g_strdup_printf("vigilmetapublish file-format=json location=\"%s\" ! fakesink", path);
	GstElement *pipeline = gst_pipeline_new("p");
	GstElement *up, *down;
	GstBus *bus;
	GstMessage *msg;
	GError *err = NULL;
	json_error_t error;
	json_t *array;

	up = gst_parse_bin_from_description("videotestsrc name=outside-cam num-buffers=3 ! "
					    "video/x-raw,format=NV12,width=64,height=48 ! identity",
					    TRUE, &err);
	ck_assert_msg(up != NULL, "%s", err ? err->message : "?");
	down = gst_parse_bin_from_description(inner, TRUE, &err);
	ck_assert_msg(down != NULL, "%s", err ? err->message : "?");
	gst_bin_add_many(GST_BIN(pipeline), up, down, NULL);
	ck_assert(gst_element_link(up, down));
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	bus = gst_element_get_bus(pipeline);
	msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	ck_assert(msg != NULL && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS);
	gst_message_unref(msg);
	gst_object_unref(bus);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_object_unref(pipeline);

	array = json_load_file(path, 0, &error);
	ck_assert_msg(array != NULL, "%s: %s", path, error.text);
	ck_assert_uint_eq(json_array_size(array), 3);
	for (guint i = 0; i < 3; i++)
		check_record(json_array_get(array, i), NULL, "outside-cam", i, (gint64)frame_pts(i), 64, 48);
	json_decref(array);
	g_free(inner);
	g_free(path);
}
GST_END_TEST;

/* One run of everything the element does (harness with metas in both formats, a real pipeline, a failed
 * open), for the leak check */
static void leak_scenario(void)
{
	gchar *jsonl = tmp_path("leak.jsonl"), *json = tmp_path("leak.json");
	gchar *props = g_strdup_printf("location=\"%s\"", jsonl);
	gchar *desc = g_strdup_printf("videotestsrc num-buffers=5 ! video/x-raw,format=GRAY8,width=32,height=24 ! "
				      "vigilmetapublish file-format=json location=\"%s\" ! fakesink",
				      json);
	GstElement *e = gst_element_factory_make("vigilmetapublish", NULL);
	GstHarness *h = new_harness(props);
	struct fixture f;

	for (guint i = 0; i < 5; i++) {
		make_fixture(i, &f);
		push_frame(h, i, &f);
	}
	ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
	gst_harness_teardown(h);
	vt_run_pipeline(desc);

	g_object_set(e, "location", "/nonexistent/dir/x.jsonl", NULL);
	ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	gst_element_set_state(e, GST_STATE_NULL);
	gst_object_unref(e);
	g_free(desc);
	g_free(props);
	g_free(json);
	g_free(jsonl);
}

/* The leaks tracer's view of a whole run: every object and buffer created is gone at the end */
GST_START_TEST(test_no_leaked_objects)
{
	vt_assert_no_leaks(leak_scenario);
}
GST_END_TEST;

static Suite *metapublish_suite(void)
{
	Suite *s = suite_create("gst_metapublish");
	TCase *tc = tcase_create("metapublish");

	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_json_lines_equal_detections);
	tcase_add_test(tc, test_json_array_at_eos);
	tcase_add_test(tc, test_json_array_at_stop);
	tcase_add_test(tc, test_zero_frames);
	tcase_add_test(tc, test_frames_without_metas);
	tcase_add_test(tc, test_source_while_playing);
	tcase_add_test(tc, test_stdout);
	tcase_add_test(tc, test_passthrough_unmodified);
	tcase_add_test(tc, test_many_metas_bounded);
	tcase_add_test(tc, test_json_frames_after_eos);
	tcase_add_test(tc, test_odd_metas);
	tcase_add_test(tc, test_unwritable_location);
	tcase_add_test(tc, test_write_error_once);
	tcase_add_test(tc, test_pipeline_videotestsrc);
	tcase_add_test(tc, test_pipeline_source_through_bins);
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
	return vt_run(metapublish_suite());
}
