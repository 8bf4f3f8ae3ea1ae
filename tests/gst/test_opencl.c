/* SPDX-License-Identifier: Apache-2.0
 * vigildetect backend=opencl in real pipelines (on PoCL in CI): the same "vigil-detections" messages as
 * backend=cpu for photos in several formats, and a "vigil-ready" message carrying the backend, the device
 * and the warm-up time. DMABUF buffers (GstDmaBufMemory over a memfd, with a GstVideoMeta of padded strides and
 * a memory offset) give the same messages too, and the element's OpenCL path says once that it copies them
 * (PoCL imports nothing). */
#include <fcntl.h>
#include <gst/allocators/gstdmabuf.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gsttestutil.h"

#define MAX_FACES 32

struct result {
	int n;
	double box[MAX_FACES][5]; /* confidence, x_min, y_min, x_max, y_max */
	gchar *backend;
	double warmup_ms;
};

/* Plays @p pipeline to EOS, collecting vigildetect's messages (@p frames detections messages, the last kept). */
static void collect(GstElement *pipeline, const char *desc, int frames, struct result *r,
		    void (*feed)(GstElement *pipeline, void *data), void *data)
{
	GstBus *bus;
	GstMessage *msg;
	int done = 0, detections = 0;

	memset(r, 0, sizeof(*r));
	bus = gst_element_get_bus(pipeline);
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	if (feed)
		feed(pipeline, data);
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
	ck_assert_int_eq(detections, frames);
	gst_object_unref(bus);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

/* Runs the photo through decode → @format → vigildetect backend=@backend and collects its messages. */
static void run(const char *photo, const char *format, const char *backend, struct result *r)
{
	gchar *desc = g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! "
				      "video/x-raw,format=%s ! vigildetect backend=%s message=every-frame ! fakesink",
				      vt_data_path(photo), format, backend);
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(desc, &err);

	ck_assert_msg(pipeline != NULL && err == NULL, "%s: %s", desc, err ? err->message : "?");
	collect(pipeline, desc, 1, r, NULL, NULL);
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

/* ---------------------------------------------------------------------------------------------- */
/* DMABUF buffers */

#define MEM_OFFSET 256 /* the GstMemory starts this far into the fd */

struct nv12 {
	GstVideoFrame vf; /* the decoded photo */
	GstSample *sample;
	int width, height;
};

static void decode_nv12(const char *photo, struct nv12 *p)
{
	gchar *desc = g_strdup_printf("filesrc location=%s ! jpegdec idct-method=islow ! videoconvert ! "
				      "video/x-raw,format=NV12 ! appsink name=sink sync=false",
				      vt_data_path(photo));
	GstElement *pipeline = gst_parse_launch(desc, NULL);
	GstElement *sink;
	GstVideoInfo info;

	ck_assert(pipeline != NULL);
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	p->sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
	ck_assert(p->sample != NULL);
	ck_assert(gst_video_info_from_caps(&info, gst_sample_get_caps(p->sample)));
	ck_assert(gst_video_frame_map(&p->vf, &info, gst_sample_get_buffer(p->sample), GST_MAP_READ));
	p->width = GST_VIDEO_INFO_WIDTH(&info);
	p->height = GST_VIDEO_INFO_HEIGHT(&info);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_free(desc);
}

static void nv12_free(struct nv12 *p)
{
	gst_video_frame_unmap(&p->vf);
	gst_sample_unref(p->sample);
}

/* The photo in a memfd wrapped as GstDmaBufMemory: padded strides, the chroma plane at a page boundary, the
 * memory MEM_OFFSET bytes into the fd; a GstVideoMeta says where the planes are. */
static GstBuffer *dmabuf_buffer(const struct nv12 *p)
{
	const int stride = (p->width + 63) / 64 * 64 + 64;
	const gsize uv = ((gsize)stride * p->height + 4095) / 4096 * 4096;
	const gsize size = MEM_OFFSET + uv + (gsize)stride * ((p->height + 1) / 2);
	gsize offsets[4] = { 0, uv, 0, 0 };
	gint strides[4] = { stride, stride, 0, 0 };
	GstAllocator *alloc = gst_dmabuf_allocator_new();
	int fd = memfd_create("vigil-gst-test", MFD_CLOEXEC);
	GstMemory *mem;
	GstBuffer *buf;
	uint8_t *m;

	ck_assert(fd >= 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(m != MAP_FAILED);
	memset(m, 0x5a, size);
	for (int y = 0; y < p->height; y++)
		memcpy(m + MEM_OFFSET + (gsize)y * stride,
		       (const uint8_t *)GST_VIDEO_FRAME_PLANE_DATA(&p->vf, 0) +
			   y * GST_VIDEO_FRAME_PLANE_STRIDE(&p->vf, 0),
		       p->width);
	for (int y = 0; y < (p->height + 1) / 2; y++)
		memcpy(m + MEM_OFFSET + uv + (gsize)y * stride,
		       (const uint8_t *)GST_VIDEO_FRAME_PLANE_DATA(&p->vf, 1) +
			   y * GST_VIDEO_FRAME_PLANE_STRIDE(&p->vf, 1),
		       (gsize)(p->width + 1) / 2 * 2);
	munmap(m, size);
	mem = gst_dmabuf_allocator_alloc(alloc, fd, size); /* owns fd */
	ck_assert(mem != NULL && gst_is_dmabuf_memory(mem));
	gst_memory_resize(mem, MEM_OFFSET, size - MEM_OFFSET);
	buf = gst_buffer_new();
	gst_buffer_append_memory(buf, mem);
	gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_NV12, p->width, p->height, 2,
				       offsets, strides);
	gst_object_unref(alloc);
	return buf;
}

struct feed {
	const struct nv12 *photo;
	int frames;
};

static void push_dmabufs(GstElement *pipeline, void *data)
{
	const struct feed *f = data;
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");

	for (int i = 0; i < f->frames; i++) {
		GstBuffer *buf = dmabuf_buffer(f->photo);

		GST_BUFFER_PTS(buf) = i * GST_SECOND / 30;
		GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
		ck_assert_int_eq(gst_app_src_push_buffer(GST_APP_SRC(src), buf), GST_FLOW_OK);
	}
	ck_assert_int_eq(gst_app_src_end_of_stream(GST_APP_SRC(src)), GST_FLOW_OK);
	gst_object_unref(src);
}

static void run_dmabuf(const struct nv12 *photo, const char *backend, int frames, struct result *r)
{
	/* the decoder's caps (colorimetry included: the same pixels mean the same colours) */
	gchar *caps = gst_caps_to_string(gst_sample_get_caps(photo->sample));
	gchar *desc = g_strdup_printf("appsrc name=src format=time caps=\"%s\" ! vigildetect backend=%s "
				      "message=every-frame ! fakesink",
				      caps, backend);
	GstElement *pipeline = gst_parse_launch(desc, NULL);
	struct feed f = { photo, frames };

	ck_assert(pipeline != NULL);
	collect(pipeline, desc, frames, r, push_dmabufs, &f);
	gst_object_unref(pipeline);
	g_free(desc);
	g_free(caps);
}

/* stderr into a file while @p fn runs; returns what was written (g_free) */
static gchar *capture_stderr(void (*fn)(void *), void *data)
{
	gchar *path = g_strdup_printf("%s/gst-opencl-dmabuf.%d.log", g_get_tmp_dir(), (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), saved;
	gchar *text = NULL;

	ck_assert(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
	fn(data);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	unlink(path);
	g_free(path);
	fputs(text, stderr);
	return text;
}

struct dmabuf_case {
	const struct nv12 *photo;
	struct result cpu, cl;
};

static void run_both(void *data)
{
	struct dmabuf_case *c = data;

	run_dmabuf(c->photo, "cpu", 3, &c->cpu);
	run_dmabuf(c->photo, "opencl", 3, &c->cl);
}

static int occurrences(const gchar *hay, const char *needle)
{
	int n = 0;

	for (const gchar *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

GST_START_TEST(test_dmabuf_same_metadata)
{
	static const char *const photos[] = { "faces/sample1.jpg", "faces/sample4.jpg" };

	for (size_t k = 0; k < G_N_ELEMENTS(photos); k++) {
		struct nv12 photo;
		struct dmabuf_case c;
		struct result plain;
		gchar *log;

		memset(&c, 0, sizeof(c));
		c.photo = &photo;
		decode_nv12(photos[k], &photo);
		log = capture_stderr(run_both, &c);
		run(photos[k], "NV12", "cpu", &plain);
		ck_assert_str_eq(c.cl.backend, "opencl");
		ck_assert_msg(c.cpu.n == c.cl.n && c.cl.n > 0 && c.cl.n == plain.n, "%s: cpu %d faces, opencl %d",
			      photos[k], c.cpu.n, c.cl.n);
		for (int i = 0; i < c.cl.n; i++)
			for (int j = 0; j < 5; j++) {
				vt_assert_near(c.cl.box[i][j], c.cpu.box[i][j], 1e-4);
				/* the DMABUF's padded strides and offsets read the same pixels as plain memory */
				vt_assert_near(c.cpu.box[i][j], plain.box[i][j], 1e-6);
			}
		/* one detector, three DMABUF frames: the path is logged once, with the reason */
		ck_assert_msg(occurrences(log, "frame path:") == 1, "%s", log);
		ck_assert_msg(occurrences(log, "frame path: DMABUF frames are copied") == 1, "%s", log);
		printf("%s as DMABUF: %d faces equal on cpu and opencl\n", photos[k], c.cl.n);
		g_free(log);
		g_free(c.cpu.backend);
		g_free(c.cl.backend);
		g_free(plain.backend);
		nv12_free(&photo);
	}
}
GST_END_TEST

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;

	g_setenv("VIGIL_DEBUG", "opencl:3", TRUE); /* the frame path (DMABUF copied or imported) is an info line */
	gst_check_init(&argc, &argv);
	s = suite_create("gst_opencl");
	tc = tcase_create("opencl");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_same_metadata);
	tcase_add_test(tc, test_dmabuf_same_metadata);
	suite_add_tcase(s, tc);
	return vt_run(s);
}
