/* SPDX-License-Identifier: Apache-2.0
 * Video files decoded with GStreamer for the CLI; see video_source.h. */
#include "video_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef VIGIL_HAVE_GST
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include "error.h"

struct vigil_video_source {
	char *path;
#ifdef VIGIL_HAVE_GST
	GstElement *pipeline, *sink;
	GstSample *sample;
	GstVideoFrame vframe;
	int mapped;
#endif
};

#ifdef VIGIL_HAVE_GST
static void release_frame(struct vigil_video_source *s)
{
	if (s->mapped) {
		gst_video_frame_unmap(&s->vframe);
		s->mapped = 0;
	}
	if (s->sample) {
		gst_sample_unref(s->sample);
		s->sample = NULL;
	}
}
#endif

int vigil_video_source_open(const char *path, struct vigil_video_source **out)
{
	*out = NULL;
	if (access(path, R_OK) != 0) {
		int err = errno;
		return vigil_error(-err, "cannot read %s: %s", path, strerror(err));
	}
#ifdef VIGIL_HAVE_GST
	struct vigil_video_source *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return vigil_error(-ENOMEM, "out of memory");
	}
	GError *error = NULL;
	gst_init(NULL, NULL);
	s->pipeline = gst_parse_launch("filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=I420 ! "
				       "appsink name=sink sync=false max-buffers=4",
				       &error);
	if (!s->pipeline) {
		int r = vigil_error(VIGIL_EUNSUPPORTED, "cannot build the decoding pipeline: %s",
				    error ? error->message : "unknown error");
		g_clear_error(&error);
		free(s->path);
		free(s);
		return r;
	}
	g_clear_error(&error); /* a recoverable warning */
	GstElement *src = gst_bin_get_by_name(GST_BIN(s->pipeline), "src");
	g_object_set(src, "location", path, NULL);
	gst_object_unref(src);
	s->sink = gst_bin_get_by_name(GST_BIN(s->pipeline), "sink");
	gst_element_set_state(s->pipeline, GST_STATE_PLAYING);
	*out = s;
	return 0;
#else
	return vigil_error(VIGIL_EUNSUPPORTED, "%s: this vigil was built without GStreamer, so it cannot decode video",
			   path);
#endif
}

int vigil_video_source_next(struct vigil_video_source *s, struct vigil_frame *f, volatile sig_atomic_t *stop)
{
	memset(f, 0, sizeof(*f));
	f->pts_ns = -1;
#ifdef VIGIL_HAVE_GST
	GstVideoInfo info;

	release_frame(s);
	/* poll: a stream that fails (say, typefinding random bytes) posts an error but never reaches the sink */
	while (!(s->sample = gst_app_sink_try_pull_sample(GST_APP_SINK(s->sink), 100 * GST_MSECOND))) {
		GstBus *bus = gst_element_get_bus(s->pipeline);
		GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);

		gst_object_unref(bus);
		if (m) {
			GError *e = NULL;
			gchar *dbg = NULL;

			gst_message_parse_error(m, &e, &dbg);
			int r = vigil_error(VIGIL_EIMAGE, "%s: cannot decode: %s%s%s", s->path,
					    e ? e->message : "error", dbg ? " | " : "", dbg ? dbg : "");
			g_clear_error(&e);
			g_free(dbg);
			gst_message_unref(m);
			return r;
		}
		if (gst_app_sink_is_eos(GST_APP_SINK(s->sink)))
			return 0;
		if (stop && *stop)
			return 0;
	}
	if (!gst_video_info_from_caps(&info, gst_sample_get_caps(s->sample)) ||
	    !gst_video_frame_map(&s->vframe, &info, gst_sample_get_buffer(s->sample), GST_MAP_READ))
		return vigil_error(VIGIL_EIMAGE, "%s: cannot map a decoded frame", s->path);
	s->mapped = 1;
	f->format = VIGIL_FORMAT_I420;
	f->width = GST_VIDEO_FRAME_WIDTH(&s->vframe);
	f->height = GST_VIDEO_FRAME_HEIGHT(&s->vframe);
	for (int p = 0; p < 3; p++) {
		f->planes[p] = GST_VIDEO_FRAME_PLANE_DATA(&s->vframe, p);
		f->strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&s->vframe, p);
	}
	f->colorimetry = VIGIL_COLOR_BT601_LIMITED;
	if (GST_BUFFER_PTS_IS_VALID(gst_sample_get_buffer(s->sample)))
		f->pts_ns = (int64_t)GST_BUFFER_PTS(gst_sample_get_buffer(s->sample));
	return 1;
#else
	(void)s;
	(void)stop;
	return vigil_error(VIGIL_EUNSUPPORTED, "built without GStreamer");
#endif
}

void vigil_video_source_close(struct vigil_video_source *s)
{
	if (!s)
		return;
#ifdef VIGIL_HAVE_GST
	release_frame(s);
	gst_element_set_state(s->pipeline, GST_STATE_NULL);
	gst_object_unref(s->sink);
	gst_object_unref(s->pipeline);
	/* GStreamer's own global state, so that leak checkers see only ours */
	gst_deinit();
#endif
	free(s->path);
	free(s);
}
