/* SPDX-License-Identifier: Apache-2.0
 * vigildetect backend=opencl in real pipelines (on PoCL in CI): the same "vigil-detections" messages as
 * backend=cpu for photos in several formats, and a "vigil-ready" message carrying the backend, the device
 * and the warm-up time. */
#include <gst/check/gstcheck.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsttestutil.h"

#define MAX_FACES 32

struct result {
	int n;
	double box[MAX_FACES][5]; /* confidence, x_min, y_min, x_max, y_max */
	gchar *backend;
	double warmup_ms;
};

/* Runs the photo through decode → @format → vigildetect backend=@backend and collects its messages. */
static void run(const char *photo, const char *format, const char *backend, struct result *r)
{
	gchar *desc = g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! "
				      "video/x-raw,format=%s ! vigildetect backend=%s message=every-frame ! fakesink",
				      vt_data_path(photo), format, backend);
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(desc, &err);
	GstBus *bus;
	GstMessage *msg;
	int done = 0, detections = 0;

	ck_assert_msg(pipeline != NULL && err == NULL, "%s: %s", desc, err ? err->message : "?");
	memset(r, 0, sizeof(*r));
	bus = gst_element_get_bus(pipeline);
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	while (!done && (msg = gst_bus_timed_pop(bus, 120 * GST_SECOND))) {
		const GstStructure *s = gst_message_get_structure(msg);

		if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
			GError *e = NULL;
			gchar *dbg = NULL;

			gst_message_parse_error(msg, &e, &dbg);
			ck_abort_msg("%s: %s (%s)", desc, e->message, dbg);
		} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
			done = 1;
		} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "vigil-ready")) {
			r->backend = g_strdup(gst_structure_get_string(s, "backend"));
			ck_assert(gst_structure_get_double(s, "warmup-ms", &r->warmup_ms));
		} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT &&
			   gst_structure_has_name(s, "vigil-detections")) {
			const GValue *list = gst_structure_get_value(s, "detections");

			detections++;
			r->n = (int)gst_value_list_get_size(list);
			ck_assert_int_le(r->n, MAX_FACES);
			for (int i = 0; i < r->n; i++) {
				const GstStructure *d = gst_value_get_structure(gst_value_list_get_value(list, i));

				gst_structure_get_double(d, "confidence", &r->box[i][0]);
				gst_structure_get_double(d, "x_min", &r->box[i][1]);
				gst_structure_get_double(d, "y_min", &r->box[i][2]);
				gst_structure_get_double(d, "x_max", &r->box[i][3]);
				gst_structure_get_double(d, "y_max", &r->box[i][4]);
			}
		}
		gst_message_unref(msg);
	}
	ck_assert_msg(done, "%s: no EOS within 120 s", desc);
	ck_assert_int_eq(detections, 1);
	gst_object_unref(bus);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_object_unref(pipeline);
	g_free(desc);
}

GST_START_TEST(test_same_metadata)
{
	static const char *const cases[][2] = {
		{ "faces/sample1.jpg", "NV12" }, { "faces/sample4.jpg", "RGB" },  { "faces/sample6.jpg", "YUY2" },
		{ "faces/sample2.jpg", "I420" }, { "faces/sample5.jpg", "BGRx" },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct result cpu, cl;

		run(cases[c][0], cases[c][1], "cpu", &cpu);
		run(cases[c][0], cases[c][1], "opencl", &cl);
		ck_assert_str_eq(cpu.backend, "cpu");
		ck_assert_str_eq(cl.backend, "opencl");
		ck_assert_msg(cl.warmup_ms > 0, "warm-up %g ms", cl.warmup_ms);
		ck_assert_msg(cpu.n == cl.n && cl.n > 0, "%s %s: cpu %d faces, opencl %d", cases[c][0], cases[c][1],
			      cpu.n, cl.n);
		for (int i = 0; i < cl.n; i++)
			for (int k = 0; k < 5; k++)
				vt_assert_near(cl.box[i][k], cpu.box[i][k], 1e-4);
		printf("%s %s: %d faces equal; OpenCL warm-up %.1f ms\n", cases[c][0], cases[c][1], cl.n, cl.warmup_ms);
		g_free(cpu.backend);
		g_free(cl.backend);
	}
}
GST_END_TEST

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;

	gst_check_init(&argc, &argv);
	s = suite_create("gst_opencl");
	tc = tcase_create("opencl");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_same_metadata);
	suite_add_tcase(s, tc);
	return vt_run(s);
}
