/* SPDX-License-Identifier: Apache-2.0 */
/**
 * SECTION:element-vigildetect
 *
 * Detects faces (and, with other models, objects) in raw video and attaches one
 * GstVideoRegionOfInterestMeta per detection, with a "detection" parameter structure in DL Streamer's
 * layout (see vigilmeta.h). Pixels are never changed: the element reads the frame through a read-only
 * mapping and the same memory continues downstream.
 *
 * |[
 * gst-launch-1.0 v4l2src ! video/x-raw,format=NV12 ! vigildetect ! vigiloverlay ! autovideosink
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! vigildetect model=face-short inference-interval=2 \
 *     message=on-change ! fakesink
 * ]|
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#ifdef VIGIL_HAVE_GST_ALLOCATORS
#include <gst/allocators/gstdmabuf.h>
#endif

#include "vigil/tracker.h"
#include "vigilmeta.h"

GST_DEBUG_CATEGORY_STATIC(vigil_detect_debug);
#define GST_CAT_DEFAULT vigil_detect_debug

#define GST_TYPE_VIGIL_DETECT (gst_vigil_detect_get_type())
G_DECLARE_FINAL_TYPE(GstVigilDetect, gst_vigil_detect, GST, VIGIL_DETECT, GstBaseTransform)

typedef enum {
	VIGIL_MESSAGE_NONE,
	VIGIL_MESSAGE_EVERY_FRAME,
	VIGIL_MESSAGE_ON_CHANGE,
} GstVigilMessageMode;

/* the library's enum vigil_backend, registered as a GEnum; values are the library's */
typedef enum vigil_backend GstVigilBackend;

#define DEFAULT_MODEL "face-full"
#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_IOU_THRESHOLD -1.0
#define DEFAULT_MAX_DETECTIONS 100
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_ROI ""
#define DEFAULT_LABELS ""
#define DEFAULT_MESSAGE VIGIL_MESSAGE_NONE
#define DEFAULT_BACKEND VIGIL_BACKEND_AUTO
#define DEFAULT_THREADS 1
#define DEFAULT_SKIP_LATE TRUE
#define DEFAULT_TRACKING FALSE
#define MAX_DETECTIONS 1024

enum {
	PROP_0,
	PROP_MODEL,
	PROP_THRESHOLD,
	PROP_IOU_THRESHOLD,
	PROP_MAX_DETECTIONS,
	PROP_INFERENCE_INTERVAL,
	PROP_ROI,
	PROP_LABELS,
	PROP_MESSAGE,
	PROP_BACKEND,
	PROP_SKIP_LATE,
	PROP_STATS,
	PROP_TRACKING,
	PROP_THREADS,
};

struct stage_stats {
	double sum, max;
};

struct _GstVigilDetect {
	GstBaseTransform parent;

	/* properties, under the object lock */
	gchar *model_name;
	gdouble threshold, iou_threshold;
	gint max_detections;
	guint inference_interval;
	gchar *roi_text;
	struct vigil_rect roi;
	gchar *labels_text;
	gchar **labels; /* NULL: every label */
	GstVigilMessageMode message;
	GstVigilBackend backend;
	gint threads;
	gboolean skip_late;
	gboolean tracking; /* read at start() */
	gboolean config_changed;

	/* streaming state, made in start(), used by the streaming thread */
	struct vigil_model *model;
	struct vigil_detector *detector;
	struct vigil_tracker *tracker; /* NULL unless tracking */
	GstVideoInfo info;
	struct vigil_detection *last; /* MAX_DETECTIONS: the latest inference's result, filtered */
	struct vigil_detections last_result;
	gboolean have_result;
	guint64 posted_signature;
	gboolean posted_once;
	struct vigil_gst_tracks tracks; /* for GstAnalyticsTrackingMtd (GStreamer >= 1.24 builds) */

	/* QoS, under the object lock */
	GstClockTime earliest_time;

	/* statistics, under the object lock */
	guint64 frames, inferred, skipped_interval, skipped_late;
	struct stage_stats preprocess, inference, postprocess;
	gdouble last_inference_ms;
};

G_DEFINE_TYPE(GstVigilDetect, gst_vigil_detect, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(vigildetect, "vigildetect", GST_RANK_NONE, GST_TYPE_VIGIL_DETECT);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));

#define GST_TYPE_VIGIL_MESSAGE_MODE (gst_vigil_message_mode_get_type())
static GType gst_vigil_message_mode_get_type(void)
{
	static GType type;
	static const GEnumValue values[] = {
		{ VIGIL_MESSAGE_NONE, "Post no messages", "none" },
		{ VIGIL_MESSAGE_EVERY_FRAME, "Post a vigil-detections message for every inferred frame",
		  "every-frame" },
		{ VIGIL_MESSAGE_ON_CHANGE, "Post when the number or labels of the detections change", "on-change" },
		{ 0, NULL, NULL },
	};

	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstVigilMessageMode", values));
	return type;
}

#define GST_TYPE_VIGIL_BACKEND (gst_vigil_backend_get_type())
static GType gst_vigil_backend_get_type(void)
{
	static GType type;
	static const GEnumValue values[] = {
		{ VIGIL_BACKEND_AUTO, "The fastest backend measured for the model (OpenCL only on a faster GPU)",
		  "auto" },
		{ VIGIL_BACKEND_CPU, "CPU kernels", "cpu" },
		{ VIGIL_BACKEND_OPENCL, "OpenCL (device: $VIGIL_CL_DEVICE or the first GPU)", "opencl" },
		{ 0, NULL, NULL },
	};

	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstVigilBackend", values));
	return type;
}

/* ---- properties ---------------------------------------------------------------------------------- */

/* "x,y,w,h" in frame pixels; "" clears. Returns FALSE for anything else. */
static gboolean parse_roi(const gchar *text, struct vigil_rect *out)
{
	gchar **parts;
	gdouble v[4];
	gboolean ok = TRUE;

	if (!text || !*text) {
		memset(out, 0, sizeof(*out));
		return TRUE;
	}
	parts = g_strsplit(text, ",", -1);
	if (g_strv_length(parts) != 4)
		ok = FALSE;
	for (int i = 0; ok && i < 4; i++) {
		gchar *end;

		v[i] = g_ascii_strtod(g_strstrip(parts[i]), &end);
		if (end == parts[i] || *end || !isfinite(v[i]) || v[i] < 0 || (i >= 2 && v[i] <= 0))
			ok = FALSE;
	}
	g_strfreev(parts);
	if (ok)
		*out = (struct vigil_rect){ (float)v[0], (float)v[1], (float)v[2], (float)v[3] };
	return ok;
}

static gchar **parse_labels(const gchar *text)
{
	gchar **labels;
	guint n = 0;

	if (!text || !*text)
		return NULL;
	labels = g_strsplit(text, ",", -1);
	for (guint i = 0; labels[i]; i++) {
		g_strstrip(labels[i]);
		if (*labels[i])
			labels[n++] = labels[i];
		else
			g_free(labels[i]);
	}
	labels[n] = NULL;
	if (n == 0) {
		g_strfreev(labels);
		return NULL;
	}
	return labels;
}

static GstStructure *stats_structure(GstVigilDetect *self)
{
	const double n = self->inferred ? (double)self->inferred : 1.0;

	return gst_structure_new("vigil-stats", "frames", G_TYPE_UINT64, self->frames, "inferred", G_TYPE_UINT64,
				 self->inferred, "skipped-interval", G_TYPE_UINT64, self->skipped_interval,
				 "skipped-late", G_TYPE_UINT64, self->skipped_late, "preprocess-ms-mean", G_TYPE_DOUBLE,
				 self->preprocess.sum / n, "inference-ms-mean", G_TYPE_DOUBLE, self->inference.sum / n,
				 "postprocess-ms-mean", G_TYPE_DOUBLE, self->postprocess.sum / n, "preprocess-ms-max",
				 G_TYPE_DOUBLE, self->preprocess.max, "inference-ms-max", G_TYPE_DOUBLE,
				 self->inference.max, "postprocess-ms-max", G_TYPE_DOUBLE, self->postprocess.max,
				 "inference-ms-last", G_TYPE_DOUBLE, self->last_inference_ms, NULL);
}

static void gst_vigil_detect_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(object);
	gchar *bad_roi = NULL, *kept_roi = NULL;

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_MODEL:
		g_free(self->model_name);
		self->model_name = g_value_dup_string(value);
		if (self->model)
			GST_INFO_OBJECT(self, "model '%s' takes effect at the next start", self->model_name);
		break;
	case PROP_THRESHOLD:
		self->threshold = g_value_get_double(value);
		break;
	case PROP_IOU_THRESHOLD:
		self->iou_threshold = g_value_get_double(value);
		break;
	case PROP_MAX_DETECTIONS:
		self->max_detections = g_value_get_int(value);
		break;
	case PROP_INFERENCE_INTERVAL:
		self->inference_interval = g_value_get_uint(value);
		break;
	case PROP_ROI: {
		const gchar *text = g_value_get_string(value);
		struct vigil_rect roi;

		if (parse_roi(text, &roi)) {
			self->roi = roi;
			g_free(self->roi_text);
			self->roi_text = g_strdup(text ? text : "");
		} else {
			bad_roi = g_strdup(text);
			kept_roi = g_strdup(self->roi_text);
		}
		break;
	}
	case PROP_LABELS:
		g_free(self->labels_text);
		self->labels_text = g_value_dup_string(value);
		g_strfreev(self->labels);
		self->labels = parse_labels(self->labels_text);
		break;
	case PROP_MESSAGE:
		self->message = g_value_get_enum(value);
		break;
	case PROP_BACKEND:
		self->backend = g_value_get_enum(value);
		break;
	case PROP_THREADS:
		self->threads = g_value_get_int(value);
		break;
	case PROP_SKIP_LATE:
		self->skip_late = g_value_get_boolean(value);
		break;
	case PROP_TRACKING:
		self->tracking = g_value_get_boolean(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	self->config_changed = TRUE;
	GST_OBJECT_UNLOCK(self);

	/* posted without the object lock: posting takes it to name the element */
	if (bad_roi)
		GST_ELEMENT_WARNING(
		    self, LIBRARY, SETTINGS, ("Invalid roi \"%s\"", bad_roi),
		    ("expected \"x,y,width,height\" in frame pixels (width, height > 0) or \"\" for the "
		     "whole frame; keeping \"%s\"",
		     kept_roi));
	g_free(bad_roi);
	g_free(kept_roi);
}

static void gst_vigil_detect_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_MODEL:
		g_value_set_string(value, self->model_name);
		break;
	case PROP_THRESHOLD:
		g_value_set_double(value, self->threshold);
		break;
	case PROP_IOU_THRESHOLD:
		g_value_set_double(value, self->iou_threshold);
		break;
	case PROP_MAX_DETECTIONS:
		g_value_set_int(value, self->max_detections);
		break;
	case PROP_INFERENCE_INTERVAL:
		g_value_set_uint(value, self->inference_interval);
		break;
	case PROP_ROI:
		g_value_set_string(value, self->roi_text);
		break;
	case PROP_LABELS:
		g_value_set_string(value, self->labels_text);
		break;
	case PROP_MESSAGE:
		g_value_set_enum(value, self->message);
		break;
	case PROP_BACKEND:
		g_value_set_enum(value, self->backend);
		break;
	case PROP_THREADS:
		g_value_set_int(value, self->threads);
		break;
	case PROP_SKIP_LATE:
		g_value_set_boolean(value, self->skip_late);
		break;
	case PROP_TRACKING:
		g_value_set_boolean(value, self->tracking);
		break;
	case PROP_STATS:
		g_value_take_boxed(value, stats_structure(self));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

/* ---- lifecycle ------------------------------------------------------------------------------------- */

/* Detector configuration from the properties; called with the object lock held. */
static struct vigil_detector_config detector_config(GstVigilDetect *self)
{
	struct vigil_detector_config c;

	vigil_detector_config_init(&c);
	c.threshold = (float)self->threshold;
	c.iou_threshold = (float)self->iou_threshold;
	c.max_detections = self->max_detections;
	c.roi = self->roi;
	c.backend = self->backend;
	c.threads = self->threads;
	return c;
}

static gboolean gst_vigil_detect_start(GstBaseTransform *trans)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);
	struct vigil_detector_config config;
	gboolean tracking;
	gchar *name;
	int ret;

	GST_OBJECT_LOCK(self);
	name = g_strdup(self->model_name && *self->model_name ? self->model_name : DEFAULT_MODEL);
	tracking = self->tracking;
	config = detector_config(self);
	self->config_changed = FALSE;
	self->frames = self->inferred = self->skipped_interval = self->skipped_late = 0;
	memset(&self->preprocess, 0, sizeof(self->preprocess));
	memset(&self->inference, 0, sizeof(self->inference));
	memset(&self->postprocess, 0, sizeof(self->postprocess));
	self->last_inference_ms = 0;
	self->earliest_time = GST_CLOCK_TIME_NONE;
	GST_OBJECT_UNLOCK(self);
	self->tracks.count = 0;

	ret = vigil_model_open(name, &self->model);
	if (ret == -ENOENT) {
		GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
				  ("Could not load model \"%s\": %s", name, vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
	} else if (ret < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not load model \"%s\": %s", name, vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
	}
	if (ret < 0) {
		g_free(name);
		return FALSE;
	}
	ret = vigil_detector_create(self->model, &config, &self->detector);
	if (ret < 0) {
		GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
				  ("Could not configure the detector: %s", vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
		vigil_model_close(self->model);
		self->model = NULL;
		g_free(name);
		return FALSE;
	}
	if (tracking && (ret = vigil_tracker_create(NULL, &self->tracker)) < 0) {
		GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Could not create the tracker: %s", vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
		vigil_detector_destroy(self->detector);
		self->detector = NULL;
		vigil_model_close(self->model);
		self->model = NULL;
		g_free(name);
		return FALSE;
	}
	{
		struct vigil_backend_info b;

		vigil_detector_backend_info(self->detector, &b);
		GST_INFO_OBJECT(self, "backend %s %s, warm-up %.1f ms", vigil_backend_name(b.backend), b.device,
				b.warmup_ms);
		gst_element_post_message(
		    GST_ELEMENT(self),
		    gst_message_new_element(GST_OBJECT(self), gst_structure_new("vigil-ready", "backend", G_TYPE_STRING,
										vigil_backend_name(b.backend), "device",
										G_TYPE_STRING, b.device, "warmup-ms",
										G_TYPE_DOUBLE, b.warmup_ms, NULL)));
	}
	self->last = g_new0(struct vigil_detection, MAX_DETECTIONS);
	self->last_result = (struct vigil_detections){ 0 };
	self->last_result.items = self->last;
	self->have_result = FALSE;
	self->posted_once = FALSE;
	GST_INFO_OBJECT(self, "model %s: %dx%d input, %d anchors", name, vigil_model_get_info(self->model)->input_width,
			vigil_model_get_info(self->model)->input_height,
			vigil_model_get_info(self->model)->num_anchors);
	g_free(name);
	return TRUE;
}

static gboolean gst_vigil_detect_stop(GstBaseTransform *trans)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);

	vigil_tracker_destroy(self->tracker);
	self->tracker = NULL;
	vigil_detector_destroy(self->detector);
	self->detector = NULL;
	vigil_model_close(self->model);
	self->model = NULL;
	g_free(self->last);
	self->last = NULL;
	return TRUE;
}

static gboolean gst_vigil_detect_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);

	if (!gst_video_info_from_caps(&self->info, incaps)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot use caps %" GST_PTR_FORMAT, incaps), (NULL));
		return FALSE;
	}
	if (vigil_gst_format(GST_VIDEO_INFO_FORMAT(&self->info)) < 0) {
		GST_ELEMENT_ERROR(
		    self, CORE, NEGOTIATION,
		    ("Unsupported format %s", gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&self->info))), (NULL));
		return FALSE;
	}
	/* a new geometry starts a new sequence: an old result would point at the wrong pixels */
	self->have_result = FALSE;
	return TRUE;
}

/* ---- QoS: late frames pass through without inference -------------------------------------------------- */

static gboolean gst_vigil_detect_src_event(GstBaseTransform *trans, GstEvent *event)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);

	if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
		GstQOSType type;
		gdouble proportion;
		GstClockTimeDiff diff;
		GstClockTime timestamp;

		gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
		GST_OBJECT_LOCK(self);
		/* the sink saw a buffer with running time @timestamp @diff late: anything before then + diff
		 * will be late too */
		if (GST_CLOCK_TIME_IS_VALID(timestamp))
			self->earliest_time = diff > 0 ? timestamp + (GstClockTime)diff : timestamp;
		GST_OBJECT_UNLOCK(self);
	} else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
		GST_OBJECT_LOCK(self);
		self->earliest_time = GST_CLOCK_TIME_NONE;
		GST_OBJECT_UNLOCK(self);
	}
	return GST_BASE_TRANSFORM_CLASS(gst_vigil_detect_parent_class)->src_event(trans, event);
}

/* A flush (seek) starts a new stretch of the stream: the last result and the tracks belong to frames that
 * will not be seen again. Runs in the streaming thread (FLUSH_STOP is serialized). */
static gboolean gst_vigil_detect_sink_event(GstBaseTransform *trans, GstEvent *event)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);

	if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
		if (self->tracker)
			vigil_tracker_reset(self->tracker);
		self->have_result = FALSE;
		GST_OBJECT_LOCK(self);
		self->earliest_time = GST_CLOCK_TIME_NONE;
		GST_OBJECT_UNLOCK(self);
	}
	return GST_BASE_TRANSFORM_CLASS(gst_vigil_detect_parent_class)->sink_event(trans, event);
}

static gboolean is_late(GstVigilDetect *self, GstBuffer *buf, GstClockTime earliest)
{
	GstClockTime rt;

	if (!GST_CLOCK_TIME_IS_VALID(earliest) || !GST_BUFFER_PTS_IS_VALID(buf))
		return FALSE;
	rt = gst_segment_to_running_time(&GST_BASE_TRANSFORM(self)->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	return GST_CLOCK_TIME_IS_VALID(rt) && rt < earliest;
}

/* ---- per frame --------------------------------------------------------------------------------------------- */

/* An entry is "name" or "name=min_score" (the score applies on top of the threshold property). */
static gboolean label_wanted(gchar **labels, const char *label, float score)
{
	if (!labels)
		return TRUE;
	for (guint i = 0; labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		const size_t len = eq ? (size_t)(eq - labels[i]) : strlen(labels[i]);

		if (label && strlen(label) == len && strncmp(labels[i], label, len) == 0)
			return !eq || score >= g_ascii_strtod(eq + 1, NULL);
	}
	return FALSE;
}

/* A cheap summary of what is on the frame for message=on-change: count and labels. */
static guint64 signature(const struct vigil_detections *d)
{
	guint64 h = d->count;

	for (size_t i = 0; i < d->count; i++)
		h = h * 1000003u + (guint64)d->items[i].label_id + 1;
	return h;
}

static void post_message(GstVigilDetect *self, GstBuffer *buf, gboolean fresh)
{
	GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
	const GstClockTime pts = GST_BUFFER_PTS(buf);
	const double W = GST_VIDEO_INFO_WIDTH(&self->info), H = GST_VIDEO_INFO_HEIGHT(&self->info);
	GValue list = G_VALUE_INIT;
	GstStructure *s;

	g_value_init(&list, GST_TYPE_LIST);
	for (size_t i = 0; i < self->last_result.count; i++) {
		const struct vigil_detection *d = &self->last_result.items[i];
		GValue v = G_VALUE_INIT;

		g_value_init(&v, GST_TYPE_STRUCTURE);
		g_value_take_boxed(&v,
				   gst_structure_new("detection", "label", G_TYPE_STRING, d->label, "label_id",
						     G_TYPE_INT, d->label_id, "confidence", G_TYPE_DOUBLE,
						     (double)d->score, "x_min", G_TYPE_DOUBLE, d->x / W, "y_min",
						     G_TYPE_DOUBLE, d->y / H, "x_max", G_TYPE_DOUBLE, (d->x + d->w) / W,
						     "y_max", G_TYPE_DOUBLE, (d->y + d->h) / H, NULL));
		gst_value_list_append_and_take_value(&list, &v);
	}
	s = gst_structure_new("vigil-detections", "timestamp", G_TYPE_UINT64, pts, "stream-time", G_TYPE_UINT64,
			      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, pts), "running-time",
			      G_TYPE_UINT64, gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts),
			      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION(buf), "fresh", G_TYPE_BOOLEAN, fresh,
			      NULL);
	gst_structure_take_value(s, "detections", &list);
	gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static void add_stage(struct stage_stats *s, double ms)
{
	s->sum += ms;
	if (ms > s->max)
		s->max = ms;
}

/* A buffer in one DMABUF (v4l2src io-mode=dmabuf, dmabuf allocators): described in @p d for the detector, which
 * imports it on an OpenCL device that can (vigil_frame.dmabuf). The plane offsets are the mapped frame's (from the
 * GstVideoMeta when there is one) within the memory, whose own offset counts from the start of the fd. */
static const struct vigil_dmabuf *buffer_dmabuf(const GstVideoFrame *vframe, GstBuffer *buf, struct vigil_dmabuf *d)
{
#ifdef VIGIL_HAVE_GST_ALLOCATORS
	GstMemory *mem;
	int fd;

	if (gst_buffer_n_memory(buf) != 1)
		return NULL;
	mem = gst_buffer_peek_memory(buf, 0);
	if (!gst_is_dmabuf_memory(mem) || (fd = gst_dmabuf_memory_get_fd(mem)) < 0)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->size = mem->maxsize;
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(vframe) && p < 3; p++)
		d->offsets[p] = mem->offset + GST_VIDEO_FRAME_PLANE_OFFSET(vframe, p);
	return d;
#else
	return NULL;
#endif
}

static GstFlowReturn infer(GstVigilDetect *self, GstBuffer *buf, gchar **labels)
{
	const struct vigil_detections *out;
	GstVideoFrame vframe;
	struct vigil_frame frame;
	struct vigil_dmabuf dmabuf;
	int ret;

	/* read-only: the pixels are never written, and DMABUF or other read-only memory is not copied */
	if (!gst_video_frame_map(&vframe, &self->info, buf, GST_MAP_READ)) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the video frame"), (NULL));
		return GST_FLOW_ERROR;
	}
	if (!vigil_gst_frame_from_video_frame(&vframe, &frame)) {
		gst_video_frame_unmap(&vframe);
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Unsupported video format"), (NULL));
		return GST_FLOW_NOT_NEGOTIATED;
	}
	frame.dmabuf = buffer_dmabuf(&vframe, buf, &dmabuf);
	ret = vigil_detector_detect(self->detector, &frame, &out);
	gst_video_frame_unmap(&vframe);
	if (ret < 0) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Detection failed: %s", vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
		return GST_FLOW_ERROR;
	}

	self->last_result.count = 0;
	for (size_t i = 0; i < out->count && self->last_result.count < MAX_DETECTIONS; i++)
		if (label_wanted(labels, out->items[i].label, out->items[i].score))
			self->last[self->last_result.count++] = out->items[i];
	self->last_result.frame_width = out->frame_width;
	self->last_result.frame_height = out->frame_height;
	self->last_result.pts_ns = out->pts_ns;
	self->last_result.timing = out->timing;
	self->have_result = TRUE;
	if (self->tracker) {
		const struct vigil_detections *tracked;

		/* same detections, same order, with track ids */
		if (vigil_tracker_update(self->tracker, &self->last_result, &tracked) == 0)
			for (size_t i = 0; i < tracked->count; i++)
				self->last[i].track_id = tracked->items[i].track_id;
	}
	return GST_FLOW_OK;
}

static GstFlowReturn gst_vigil_detect_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(trans);
	struct vigil_detector_config config;
	struct vigil_gst_frame_info info = { 0 };
	GstVigilMessageMode message;
	gboolean reconfigure, run, late;
	gchar **labels;
	guint64 index;
	GstFlowReturn flow = GST_FLOW_OK;

	GST_OBJECT_LOCK(self);
	index = self->frames++;
	reconfigure = self->config_changed;
	self->config_changed = FALSE;
	config = detector_config(self);
	labels = g_strdupv(self->labels);
	message = self->message;
	/* no result to carry (first frame, after a flush or new caps): infer whatever the cadence says */
	run = self->inference_interval <= 1 || index % self->inference_interval == 0 || !self->have_result;
	late = run && self->skip_late && self->have_result && is_late(self, buf, self->earliest_time);
	GST_OBJECT_UNLOCK(self);

	if (reconfigure && vigil_detector_set_config(self->detector, &config) < 0)
		GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Invalid detector settings ignored"),
				    ("%s", vigil_last_error()));

	if (run && !late) {
		flow = infer(self, buf, labels);
		if (flow != GST_FLOW_OK)
			goto out;
	}

	info.model = vigil_model_get_info(self->model)->name;
	info.frame = index;
	info.fresh = run && !late;
	info.tracks = &self->tracks;
	if (info.fresh)
		info.timing = self->last_result.timing;
	if (self->tracker && !info.fresh) {
		/* without inference: the tracks' predicted boxes instead of the last result */
		const struct vigil_detections *predicted;

		if (vigil_tracker_predict(self->tracker,
					  GST_BUFFER_PTS_IS_VALID(buf) ? (int64_t)GST_BUFFER_PTS(buf) : -1,
					  &predicted) == 0 &&
		    self->have_result)
			vigil_gst_attach(buf, &self->info, predicted, &info);
	} else if (self->have_result) {
		vigil_gst_attach(buf, &self->info, &self->last_result, &info);
	}

	GST_OBJECT_LOCK(self);
	if (!run)
		self->skipped_interval++;
	else if (late)
		self->skipped_late++;
	else {
		self->inferred++;
		add_stage(&self->preprocess, self->last_result.timing.preprocess_ms);
		add_stage(&self->inference, self->last_result.timing.inference_ms);
		add_stage(&self->postprocess, self->last_result.timing.postprocess_ms);
		self->last_inference_ms = self->last_result.timing.inference_ms;
	}
	GST_OBJECT_UNLOCK(self);

	if (late)
		GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT " is late: passed through without inference", index);
	if (info.fresh && message != VIGIL_MESSAGE_NONE) {
		const guint64 sig = signature(&self->last_result);

		if (message == VIGIL_MESSAGE_EVERY_FRAME || !self->posted_once || sig != self->posted_signature)
			post_message(self, buf, TRUE);
		self->posted_signature = sig;
		self->posted_once = TRUE;
	}
out:
	g_strfreev(labels);
	return flow;
}

/* ---- class -------------------------------------------------------------------------------------------------- */

static void gst_vigil_detect_finalize(GObject *object)
{
	GstVigilDetect *self = GST_VIGIL_DETECT(object);

	g_free(self->model_name);
	g_free(self->roi_text);
	g_free(self->labels_text);
	g_strfreev(self->labels);
	G_OBJECT_CLASS(gst_vigil_detect_parent_class)->finalize(object);
}

static void gst_vigil_detect_class_init(GstVigilDetectClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

	GST_DEBUG_CATEGORY_INIT(vigil_detect_debug, "vigildetect", 0, "Vigil face/object detection");

	gobject_class->set_property = gst_vigil_detect_set_property;
	gobject_class->get_property = gst_vigil_detect_get_property;
	gobject_class->finalize = gst_vigil_detect_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_MODEL,
	    g_param_spec_string("model", "Model",
				"Built-in model name (face-full: faces at camera distances; face-short: faces within "
				"~2 m, 3.4x cheaper; see 'vigil models') or the path of a .tflite face detector. "
				"Loaded when the element starts; a change while running takes effect at the next start",
				DEFAULT_MODEL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_THRESHOLD,
	    g_param_spec_double("threshold", "Threshold",
				"Minimum detection score 0..1 (-1: the model's default, 0.6 for face-full, 0.5 for "
				"face-short)",
				-1.0, 1.0, DEFAULT_THRESHOLD, rw));
	g_object_class_install_property(
	    gobject_class, PROP_IOU_THRESHOLD,
	    g_param_spec_double("iou-threshold", "IoU threshold",
				"Overlap above which candidates merge in non-maximum suppression (-1: the model's "
				"default, 0.3)",
				-1.0, 1.0, DEFAULT_IOU_THRESHOLD, rw));
	g_object_class_install_property(gobject_class, PROP_MAX_DETECTIONS,
					g_param_spec_int("max-detections", "Max detections",
							 "At most this many detections per frame, best first", 1,
							 MAX_DETECTIONS, DEFAULT_MAX_DETECTIONS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_INFERENCE_INTERVAL,
	    g_param_spec_uint("inference-interval", "Inference interval",
			      "Run inference on every Nth frame (1: every frame); the frames in between carry the "
			      "last result with fresh=FALSE in their metadata",
			      1, G_MAXUINT, DEFAULT_INFERENCE_INTERVAL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_TRACKING,
	    g_param_spec_boolean(
		"tracking", "Tracking",
		"Track objects across frames (libvigil's Kalman + IoU tracker): detections get stable "
		"track ids (ROI meta id, \"track_id\" in the detection structure), and frames without "
		"inference carry the tracks' predicted boxes (fresh=FALSE) instead of the last result. "
		"Read when the element starts",
		DEFAULT_TRACKING, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_ROI,
	    g_param_spec_string("roi", "Region of interest",
				"Search only this rectangle, \"x,y,width,height\" in frame pixels (\"\": the whole "
				"frame); pixels outside it are treated as black",
				DEFAULT_ROI, rw));
	g_object_class_install_property(
	    gobject_class, PROP_LABELS,
	    g_param_spec_string("labels", "Labels",
				"Comma-separated labels to keep, each with an optional minimum score above the "
				"threshold, e.g. \"face\", \"person,car\" or \"person=0.6,car\" (\"\": all)",
				DEFAULT_LABELS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_MESSAGE,
	    g_param_spec_enum("message", "Message",
			      "Post an element message \"vigil-detections\" (timestamp, stream-time, running-time, "
			      "duration, fresh, detections) on the bus",
			      GST_TYPE_VIGIL_MESSAGE_MODE, DEFAULT_MESSAGE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_BACKEND,
	    g_param_spec_enum("backend", "Backend",
			      "Where inference runs; the element posts a \"vigil-ready\" element message (backend, "
			      "device, warmup-ms) once the detector is created",
			      GST_TYPE_VIGIL_BACKEND, DEFAULT_BACKEND,
			      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_THREADS,
	    g_param_spec_int("threads", "Threads",
			     "Inference threads: one layer's work is split over a pool made when the element starts", 1,
			     VIGIL_MAX_THREADS, DEFAULT_THREADS,
			     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_SKIP_LATE,
	    g_param_spec_boolean("skip-late", "Skip late frames",
				 "When downstream QoS reports that frames arrive late, pass them through without "
				 "inference (carrying the last result) so that latency never grows. The inherited "
				 "\"qos\" property instead drops late frames altogether",
				 DEFAULT_SKIP_LATE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_STATS,
	    g_param_spec_boxed("stats", "Statistics",
			       "Frames seen, inferred, skipped-interval, skipped-late, and per-stage latency in ms "
			       "(mean and max of preprocess, inference, postprocess; last inference)",
			       GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Vigil detector", "Filter/Analyzer/Video",
	    "Detects faces (MediaPipe BlazeFace, results equal to Google's) in raw video of any common camera "
	    "format and attaches a GstVideoRegionOfInterestMeta per detection; pixels are not changed",
	    "Vigil developers");

	trans_class->start = GST_DEBUG_FUNCPTR(gst_vigil_detect_start);
	trans_class->stop = GST_DEBUG_FUNCPTR(gst_vigil_detect_stop);
	trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_vigil_detect_set_caps);
	trans_class->src_event = GST_DEBUG_FUNCPTR(gst_vigil_detect_src_event);
	trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_vigil_detect_sink_event);
	trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_vigil_detect_transform_ip);
	trans_class->passthrough_on_same_caps = FALSE;
	trans_class->transform_ip_on_passthrough = FALSE;

	gst_type_mark_as_plugin_api(GST_TYPE_VIGIL_MESSAGE_MODE, 0);
	gst_type_mark_as_plugin_api(GST_TYPE_VIGIL_BACKEND, 0);
}

static void gst_vigil_detect_init(GstVigilDetect *self)
{
	GstBaseTransform *trans = GST_BASE_TRANSFORM(self);

	self->model_name = g_strdup(DEFAULT_MODEL);
	self->threshold = DEFAULT_THRESHOLD;
	self->iou_threshold = DEFAULT_IOU_THRESHOLD;
	self->max_detections = DEFAULT_MAX_DETECTIONS;
	self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
	self->roi_text = g_strdup(DEFAULT_ROI);
	self->labels_text = g_strdup(DEFAULT_LABELS);
	self->message = DEFAULT_MESSAGE;
	self->backend = DEFAULT_BACKEND;
	self->threads = DEFAULT_THREADS;
	self->skip_late = DEFAULT_SKIP_LATE;
	self->tracking = DEFAULT_TRACKING;
	self->earliest_time = GST_CLOCK_TIME_NONE;
	gst_base_transform_set_in_place(trans, TRUE);
	/* late frames are passed through without inference (skip-late), not dropped */
	gst_base_transform_set_qos_enabled(trans, FALSE);
}
