/* SPDX-License-Identifier: Apache-2.0
 * Zero-copy through vigildetect, checked with pad probes (runs inside the vivid VM of scripts/vm-test.sh):
 *   v4l2src io-mode=dmabuf device=DEV num-buffers=N ! video/x-raw,format=NV12,width=640,height=480
 *     ! vigildetect ! fakesink
 * Every buffer reaching fakesink must carry exactly one GstMemory that is DMABUF memory, the very GstMemory
 * v4l2src pushed, and vigildetect's frame meta (so the element really ran on it).
 * Usage: gst_dmabuf_probe DEVICE N [VIGILDETECT-PROPERTIES] */
#include <stdio.h>
#include <stdlib.h>

#include <gst/allocators/gstdmabuf.h>
#include <gst/gst.h>

#define MAX_SEEN 64

static GstMemory *seen[MAX_SEEN]; /* memories v4l2src pushed (its pool has far fewer) */
static int nseen;
static int src_buffers, sink_buffers, sink_dmabuf, sink_same, sink_meta;

static GstPadProbeReturn on_src(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	src_buffers++;
	for (guint i = 0; i < gst_buffer_n_memory(buf); i++) {
		GstMemory *m = gst_buffer_peek_memory(buf, i);
		int known = 0;
		for (int j = 0; j < nseen; j++)
			known |= seen[j] == m;
		if (!known && nseen < MAX_SEEN)
			seen[nseen++] = m;
	}
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_sink(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	sink_buffers++;
	if (gst_buffer_n_memory(buf) == 1) {
		GstMemory *m = gst_buffer_peek_memory(buf, 0);
		sink_dmabuf += gst_is_dmabuf_memory(m) && gst_dmabuf_memory_get_fd(m) >= 0;
		for (int j = 0; j < nseen; j++)
			if (seen[j] == m) {
				sink_same++;
				break;
			}
	}
	sink_meta += gst_buffer_get_custom_meta(buf, "VigilFrameMeta") != NULL;
	return GST_PAD_PROBE_OK;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s DEVICE N [VIGILDETECT-PROPERTIES]\n", argv[0]);
		return 2;
	}
	gst_init(NULL, NULL);
	int n = atoi(argv[2]);
	gchar *desc = g_strdup_printf("v4l2src name=src io-mode=dmabuf device=%s num-buffers=%d ! "
				      "video/x-raw,format=NV12,width=640,height=480 ! vigildetect name=det %s ! "
				      "fakesink name=sink sync=false",
				      argv[1], n, argc > 3 ? argv[3] : "");
	GError *err = NULL;
	GstElement *pipe = gst_parse_launch(desc, &err);
	g_free(desc);
	if (!pipe) {
		fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
		return 1;
	}
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src"), *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
	GstPad *sp = gst_element_get_static_pad(src, "src"), *kp = gst_element_get_static_pad(sink, "sink");
	gst_pad_add_probe(sp, GST_PAD_PROBE_TYPE_BUFFER, on_src, NULL, NULL);
	gst_pad_add_probe(kp, GST_PAD_PROBE_TYPE_BUFFER, on_sink, NULL, NULL);
	gst_object_unref(sp);
	gst_object_unref(kp);
	gst_object_unref(src);
	gst_object_unref(sink);

	gint64 t0 = g_get_monotonic_time();
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	GstBus *bus = gst_element_get_bus(pipe);
	GstMessage *msg = gst_bus_timed_pop_filtered(bus, 150 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	int rc = 0;
	if (!msg) {
		fprintf(stderr, "timed out\n");
		rc = 1;
	} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *e;
		gchar *dbg;
		gst_message_parse_error(msg, &e, &dbg);
		fprintf(stderr, "error: %s (%s)\n", e->message, dbg ? dbg : "");
		g_error_free(e);
		g_free(dbg);
		rc = 1;
	}
	double secs = (g_get_monotonic_time() - t0) / 1e6;
	if (msg)
		gst_message_unref(msg);
	gst_object_unref(bus);
	gst_element_set_state(pipe, GST_STATE_NULL);
	gst_object_unref(pipe);

	printf("buffers: %d from v4l2src (%d distinct memories), %d at fakesink: %d dmabuf, %d the same GstMemory, "
	       "%d with VigilFrameMeta; %.1f fps\n",
	       src_buffers, nseen, sink_buffers, sink_dmabuf, sink_same, sink_meta, sink_buffers / secs);
	if (sink_buffers != n || sink_dmabuf != n || sink_same != n || sink_meta != n) {
		fprintf(stderr, "FAIL: expected %d of each\n", n);
		rc = 1;
	}
	return rc;
}
