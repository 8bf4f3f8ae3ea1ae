/* SPDX-License-Identifier: Apache-2.0 */
/**
 * SECTION:element-vigilmetapublish
 *
 * Writes the detections found on each frame (the ROI metas and the frame meta of vigilmeta.h, as attached
 * by vigildetect) as a Vigil detection record, one JSON object per frame, to a file or standard output.
 * The element is a passthrough: buffers leave exactly as they came (same buffer, same memory, never made
 * writable).
 *
 * Each line is flushed as it is written so that a reader following the file (tail -f, a log shipper) sees
 * every frame as soon as it has passed. A write error (disk full, closed pipe) posts one element error;
 * frames keep flowing and the application decides whether to stop.
 *
 * |[
 * gst-launch-1.0 v4l2src ! video/x-raw,format=NV12 ! vigildetect ! vigilmetapublish location=faces.jsonl ! \
 *     fakesink
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! vigildetect ! \
 *     vigilmetapublish file-format=json location=faces.json ! fakesink
 * ]|
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "vigilmeta.h"

GST_DEBUG_CATEGORY_STATIC(vigil_metapublish_debug);
#define GST_CAT_DEFAULT vigil_metapublish_debug

#define GST_TYPE_VIGIL_METAPUBLISH (gst_vigil_metapublish_get_type())
G_DECLARE_FINAL_TYPE(GstVigilMetapublish, gst_vigil_metapublish, GST, VIGIL_METAPUBLISH, GstBaseTransform)

typedef enum {
	VIGIL_FILE_FORMAT_JSON_LINES,
	VIGIL_FILE_FORMAT_JSON,
} GstVigilFileFormat;

#define DEFAULT_LOCATION "-"
#define DEFAULT_FILE_FORMAT VIGIL_FILE_FORMAT_JSON_LINES
#define DEFAULT_SOURCE NULL
/* ROI metas read per frame: vigildetect caps max-detections at the same number, and a fixed array keeps the
 * memory of a frame with thousands of foreign metas bounded */
#define MAX_DETECTIONS 1024
/* hops followed upstream when looking for the source element's name */
#define MAX_UPSTREAM_HOPS 64

enum {
	PROP_0,
	PROP_LOCATION,
	PROP_FILE_FORMAT,
	PROP_SOURCE,
	PROP_FRAMES,
};

struct _GstVigilMetapublish {
	GstBaseTransform parent;

	/* properties, under the object lock */
	gchar *location;
	GstVigilFileFormat file_format;
	gchar *source;
	guint64 frames; /* records written since start() */

	/* output state: made in start(), used by the streaming thread, released in stop() */
	FILE *file;
	gboolean own_file; /* FALSE for standard output, which is flushed but never closed */
	gchar *path;       /* location as opened, for messages */
	GstVigilFileFormat format;
	gboolean array_open;   /* json: "[" written */
	gboolean array_closed; /* json: "]" written (EOS); later frames cannot be added */
	gboolean failed;       /* a write error was posted; nothing more is written */
	gboolean warned_late;
	gboolean warned_truncated;
	gboolean warned_non_finite;

	/* streaming state */
	GstVideoInfo info;
	gboolean have_info;
	struct vigil_detection *items; /* MAX_DETECTIONS */
	guint64 seen;                  /* buffers seen since start(): the frame number without a frame meta */
	gchar *upstream_name;          /* resolved at the first frame */
};

G_DEFINE_TYPE(GstVigilMetapublish, gst_vigil_metapublish, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(vigilmetapublish, "vigilmetapublish", GST_RANK_NONE, GST_TYPE_VIGIL_METAPUBLISH);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));

#define GST_TYPE_VIGIL_FILE_FORMAT (gst_vigil_file_format_get_type())
static GType gst_vigil_file_format_get_type(void)
{
	static GType type;
	static const GEnumValue values[] = {
		{ VIGIL_FILE_FORMAT_JSON_LINES, "JSON Lines: one record (JSON object) per line", "json-lines" },
		{ VIGIL_FILE_FORMAT_JSON,
		  "One JSON array of records, one record per line, closed with \"]\" at EOS or when the element stops",
		  "json" },
		{ 0, NULL, NULL },
	};

	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstVigilMetapublishFileFormat", values));
	return type;
}

/* ---- properties ---------------------------------------------------------------------------------- */

static void gst_vigil_metapublish_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_LOCATION:
	case PROP_FILE_FORMAT:
		/* the file is opened in start(): a change while running would silently not apply */
		if (self->file) {
			GST_WARNING_OBJECT(self, "%s can only be changed in the NULL or READY state", pspec->name);
			break;
		}
		if (prop_id == PROP_LOCATION) {
			g_free(self->location);
			self->location = g_value_dup_string(value);
			if (!self->location)
				self->location = g_strdup(DEFAULT_LOCATION);
		} else {
			self->file_format = (GstVigilFileFormat)g_value_get_enum(value);
		}
		break;
	case PROP_SOURCE:
		g_free(self->source);
		self->source = g_value_dup_string(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_vigil_metapublish_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_LOCATION:
		g_value_set_string(value, self->location);
		break;
	case PROP_FILE_FORMAT:
		g_value_set_enum(value, self->file_format);
		break;
	case PROP_SOURCE:
		g_value_set_string(value, self->source);
		break;
	case PROP_FRAMES:
		g_value_set_uint64(value, self->frames);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

/* ---- output --------------------------------------------------------------------------------------- */

static const gchar *output_name(GstVigilMetapublish *self)
{
	return self->own_file ? self->path : "standard output";
}

static void post_write_error(GstVigilMetapublish *self, int err)
{
	if (self->failed)
		return;
	self->failed = TRUE;
	GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
			  ("Could not write the detection records to \"%s\": %s", output_name(self), g_strerror(err)),
			  ("errno %d; no further records are written", err));
}

/* Writes @a @b @c and hands them to the OS (fflush), so a reader following the file sees whole lines. */
static gboolean write_flush(GstVigilMetapublish *self, const gchar *a, const gchar *b, const gchar *c)
{
	gboolean ok;

	if (self->failed)
		return FALSE;
	/* one lock for the whole line: on standard output the application may print from other threads */
	flockfile(self->file);
	errno = 0;
	ok = fputs(a, self->file) != EOF && fputs(b, self->file) != EOF && fputs(c, self->file) != EOF &&
	     fflush(self->file) != EOF;
	funlockfile(self->file);
	if (!ok)
		post_write_error(self, errno ? errno : EIO);
	return ok;
}

/* json: ends the array ("[]" when no record was written). Called at EOS and in stop(). */
static void finish_output(GstVigilMetapublish *self)
{
	if (!self->file || self->failed)
		return;
	if (self->format == VIGIL_FILE_FORMAT_JSON && !self->array_closed) {
		if (write_flush(self, self->array_open ? "\n]\n" : "[]\n", "", ""))
			self->array_closed = TRUE;
	} else {
		write_flush(self, "", "", "");
	}
}

static gboolean gst_vigil_metapublish_start(GstBaseTransform *trans)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(trans);
	gchar *location;
	GstVigilFileFormat format;
	FILE *file;

	GST_OBJECT_LOCK(self);
	location = g_strdup(self->location);
	format = self->file_format;
	self->frames = 0;
	GST_OBJECT_UNLOCK(self);

	if (!location || !*location) {
		GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No location set for the detection records"),
				  ("set location to a file path or \"-\" for standard output"));
		g_free(location);
		return FALSE;
	}
	if (strcmp(location, "-") == 0) {
		file = stdout;
	} else {
		/* "e": close-on-exec, so a child process started by the application does not keep the file */
		file = fopen(location, "we");
		if (!file) {
			const int err = errno;

			GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
					  ("Could not open \"%s\" for writing: %s", location, g_strerror(err)),
					  ("fopen: errno %d", err));
			g_free(location);
			return FALSE;
		}
	}
	GST_OBJECT_LOCK(self);
	self->file = file;
	GST_OBJECT_UNLOCK(self);
	self->own_file = file != stdout;
	self->path = location;
	self->format = format;
	self->array_open = self->array_closed = self->failed = FALSE;
	self->warned_late = self->warned_truncated = self->warned_non_finite = FALSE;
	self->have_info = FALSE;
	self->seen = 0;
	self->items = g_new0(struct vigil_detection, MAX_DETECTIONS);
	GST_DEBUG_OBJECT(self, "writing %s to %s", format == VIGIL_FILE_FORMAT_JSON ? "a JSON array" : "JSON lines",
			 output_name(self));
	return TRUE;
}

static gboolean gst_vigil_metapublish_stop(GstBaseTransform *trans)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(trans);

	finish_output(self);
	/* a failed close (data lost on a network file system) is reported, but the element still stops */
	if (self->file && self->own_file) {
		errno = 0;
		if (fclose(self->file) != 0)
			post_write_error(self, errno ? errno : EIO);
	}
	GST_OBJECT_LOCK(self);
	self->file = NULL;
	GST_OBJECT_UNLOCK(self);
	self->own_file = FALSE;
	g_clear_pointer(&self->path, g_free);
	g_clear_pointer(&self->items, g_free);
	g_clear_pointer(&self->upstream_name, g_free);
	self->have_info = FALSE;
	return TRUE;
}

/* ---- source name ---------------------------------------------------------------------------------- */

/* The first sink pad of @element, or NULL (transfer full). */
static GstPad *first_sink_pad(GstElement *element)
{
	GstPad *pad = NULL;

	GST_OBJECT_LOCK(element);
	if (element->sinkpads)
		pad = gst_object_ref(GST_PAD(element->sinkpads->data));
	GST_OBJECT_UNLOCK(element);
	return pad;
}

/* Name of the element that produces the stream, following first sink pads upstream through filters and
 * through bins on either side (ghost pads), or NULL when there is none (a harness pad, an application
 * pushing buffers). */
static gchar *find_upstream_source(GstVigilMetapublish *self)
{
	/* always an output (src-direction) pad upstream of us, or NULL */
	GstPad *pad = gst_pad_get_peer(GST_BASE_TRANSFORM_SINK_PAD(self));
	gchar *name = NULL;

	for (int hop = 0; pad && hop < MAX_UPSTREAM_HOPS; hop++) {
		GstPad *next = NULL;
		GstElement *element;

		if (GST_IS_PROXY_PAD(pad)) {
			/* a bin's ghost pad, or the inside of one: cross the bin's boundary (ghost pad <-> its
			 * internal pad) and continue from the peer over there */
			GstProxyPad *other = gst_proxy_pad_get_internal(GST_PROXY_PAD(pad));

			if (other) {
				next = gst_pad_get_peer(GST_PAD(other));
				gst_object_unref(other);
			}
			gst_object_unref(pad);
			pad = next;
			continue;
		}
		element = gst_pad_get_parent_element(pad);
		gst_object_unref(pad);
		pad = NULL;
		if (!element)
			break;
		next = first_sink_pad(element);
		if (!next || GST_OBJECT_FLAG_IS_SET(element, GST_ELEMENT_FLAG_SOURCE)) {
			name = gst_element_get_name(element);
		} else {
			pad = gst_pad_get_peer(next);
		}
		if (next)
			gst_object_unref(next);
		gst_object_unref(element);
	}
	if (pad)
		gst_object_unref(pad);
	return name;
}

/* ---- streaming ------------------------------------------------------------------------------------ */

static gboolean gst_vigil_metapublish_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(trans);

	if (!gst_video_info_from_caps(&self->info, incaps)) {
		GST_WARNING_OBJECT(self, "caps %" GST_PTR_FORMAT " are not raw video", incaps);
		return FALSE;
	}
	self->have_info = TRUE;
	return TRUE;
}

static gboolean detection_is_finite(const struct vigil_detection *d)
{
	if (!isfinite(d->score) || !isfinite(d->x) || !isfinite(d->y) || !isfinite(d->w) || !isfinite(d->h))
		return FALSE;
	for (int k = 0; k < d->num_keypoints; k++)
		if (!isfinite(d->keypoints[k].x) || !isfinite(d->keypoints[k].y))
			return FALSE;
	return TRUE;
}

/* @s, or a valid UTF-8 copy of it kept in *owned (created on first use) */
static const gchar *valid_utf8(const gchar *s, GPtrArray **owned)
{
	gchar *copy;

	if (!s || g_utf8_validate(s, -1, NULL))
		return s;
	copy = g_utf8_make_valid(s, -1);
	if (!*owned)
		*owned = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(*owned, copy);
	return copy;
}

/* JSON has no NaN or infinity and jansson refuses invalid UTF-8, but metas written by other elements (or
 * an application) may carry either: drop detections with non-finite numbers, repair strings, so one odd
 * frame never stops the records. Returns the number of detections kept at the front of @items. */
static guint sanitize_detections(GstVigilMetapublish *self, struct vigil_detection *items, guint n,
				 struct vigil_timing *timing, GPtrArray **owned)
{
	guint kept = 0;

	for (guint i = 0; i < n; i++) {
		if (!detection_is_finite(&items[i]))
			continue;
		items[i].label = valid_utf8(items[i].label, owned);
		items[kept++] = items[i];
	}
	if (kept < n && !self->warned_non_finite) {
		self->warned_non_finite = TRUE;
		GST_WARNING_OBJECT(self, "dropped %u detection(s) with a non-finite score, box or keypoint", n - kept);
	}
	if (!isfinite(timing->preprocess_ms))
		timing->preprocess_ms = 0.0;
	if (!isfinite(timing->inference_ms))
		timing->inference_ms = 0.0;
	if (!isfinite(timing->postprocess_ms))
		timing->postprocess_ms = 0.0;
	return kept;
}

static GstFlowReturn gst_vigil_metapublish_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(trans);
	const guint64 index = self->seen++;
	struct vigil_gst_frame_info frame;
	struct vigil_detections dets;
	gboolean has_frame_meta;
	GPtrArray *owned = NULL; /* repaired strings, rarely needed */
	gchar *source;
	char *record;

	if (!self->have_info)
		return GST_FLOW_NOT_NEGOTIATED;
	if (self->failed)
		return GST_FLOW_OK;
	if (self->array_closed) {
		/* json after EOS closed the array (a flush and new data): records cannot be appended */
		if (!self->warned_late) {
			self->warned_late = TRUE;
			GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Frames after EOS are not written"),
					    ("the JSON array in \"%s\" was closed at EOS; use file-format=json-lines "
					     "for streams that continue after EOS",
					     output_name(self)));
		}
		return GST_FLOW_OK;
	}

	if (!self->upstream_name) {
		self->upstream_name = find_upstream_source(self);
		if (!self->upstream_name)
			self->upstream_name = gst_element_get_name(GST_ELEMENT(self));
	}
	if (!self->warned_truncated &&
	    gst_buffer_get_n_meta(buf, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) > MAX_DETECTIONS) {
		self->warned_truncated = TRUE;
		GST_WARNING_OBJECT(self,
				   "a frame carries more than %d region of interest metas; only the first %d "
				   "are written",
				   MAX_DETECTIONS, MAX_DETECTIONS);
	}

	memset(&dets, 0, sizeof(dets));
	dets.count = vigil_gst_read(buf, &self->info, self->items, MAX_DETECTIONS, &frame);
	dets.count = sanitize_detections(self, self->items, (guint)dets.count, &frame.timing, &owned);
	dets.items = self->items;
	dets.frame_width = GST_VIDEO_INFO_WIDTH(&self->info);
	dets.frame_height = GST_VIDEO_INFO_HEIGHT(&self->info);
	dets.pts_ns =
	    GST_BUFFER_PTS_IS_VALID(buf) && GST_BUFFER_PTS(buf) <= G_MAXINT64 ? (int64_t)GST_BUFFER_PTS(buf) : -1;
	dets.timing = frame.timing;
	has_frame_meta = gst_buffer_get_custom_meta(buf, VIGIL_GST_FRAME_META_NAME) != NULL;

	GST_OBJECT_LOCK(self);
	source = g_strdup(self->source ? self->source : self->upstream_name);
	GST_OBJECT_UNLOCK(self);
	record = vigil_detections_to_json(&dets, valid_utf8(source, &owned),
					  (int64_t)MIN(has_frame_meta ? frame.frame : index, (guint64)G_MAXINT64),
					  frame.model ? valid_utf8(frame.model, &owned) : "");
	g_free(source);
	if (owned)
		g_ptr_array_unref(owned);
	if (!record) {
		/* the inputs are sanitized: only memory can be missing */
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Out of memory formatting a detection record"), (NULL));
		return GST_FLOW_ERROR;
	}

	const gchar *prefix = "";

	if (self->format == VIGIL_FILE_FORMAT_JSON)
		prefix = self->array_open ? ",\n" : "[\n";
	if (write_flush(self, prefix, record, self->format == VIGIL_FILE_FORMAT_JSON ? "" : "\n")) {
		self->array_open = TRUE;
		GST_OBJECT_LOCK(self);
		self->frames++;
		GST_OBJECT_UNLOCK(self);
	}
	vigil_free(record);
	/* a write error has been posted; the video itself is fine, so it keeps flowing */
	return GST_FLOW_OK;
}

static gboolean gst_vigil_metapublish_sink_event(GstBaseTransform *trans, GstEvent *event)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(trans);

	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS)
		finish_output(self);
	return GST_BASE_TRANSFORM_CLASS(gst_vigil_metapublish_parent_class)->sink_event(trans, event);
}

/* ---- type ----------------------------------------------------------------------------------------- */

static void gst_vigil_metapublish_finalize(GObject *object)
{
	GstVigilMetapublish *self = GST_VIGIL_METAPUBLISH(object);

	g_free(self->location);
	g_free(self->source);
	G_OBJECT_CLASS(gst_vigil_metapublish_parent_class)->finalize(object);
}

static void gst_vigil_metapublish_class_init(GstVigilMetapublishClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

	GST_DEBUG_CATEGORY_INIT(vigil_metapublish_debug, "vigilmetapublish", 0, "Vigil detection record writer");
	vigil_gst_meta_register();

	gobject_class->set_property = gst_vigil_metapublish_set_property;
	gobject_class->get_property = gst_vigil_metapublish_get_property;
	gobject_class->finalize = gst_vigil_metapublish_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_LOCATION,
	    g_param_spec_string("location", "Location",
				"Where the records go: a file path (created, or truncated when it exists, when the "
				"element starts) or \"-\" for standard output",
				DEFAULT_LOCATION,
				G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_FILE_FORMAT,
	    g_param_spec_enum("file-format", "File format",
			      "json-lines: one JSON detection record per line, each line flushed as the frame "
			      "passes; json: the same records as one JSON array (\"[\", records separated by "
			      "\",\", \"]\" written at EOS or when the element stops)",
			      GST_TYPE_VIGIL_FILE_FORMAT, DEFAULT_FILE_FORMAT,
			      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	    gobject_class, PROP_SOURCE,
	    g_param_spec_string("source", "Source",
				"Value of each record's \"source\" field (a camera name, a URI); when unset, the "
				"name of the upstream source element (e.g. v4l2src0), or this element's name when "
				"there is none",
				DEFAULT_SOURCE,
				G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
	g_object_class_install_property(gobject_class, PROP_FRAMES,
					g_param_spec_uint64("frames", "Frames",
							    "Records written since the element last started", 0,
							    G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Vigil metadata publisher", "Filter/Metadata",
	    "Writes the detections on each frame as a JSON detection record (one line per frame)", "Vigil developers");

	trans_class->start = GST_DEBUG_FUNCPTR(gst_vigil_metapublish_start);
	trans_class->stop = GST_DEBUG_FUNCPTR(gst_vigil_metapublish_stop);
	trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_vigil_metapublish_set_caps);
	trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_vigil_metapublish_transform_ip);
	trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_vigil_metapublish_sink_event);
	/* passthrough still shows every buffer to transform_ip, without making it writable */
	trans_class->transform_ip_on_passthrough = TRUE;

	gst_type_mark_as_plugin_api(GST_TYPE_VIGIL_FILE_FORMAT, 0);
}

static void gst_vigil_metapublish_init(GstVigilMetapublish *self)
{
	self->location = g_strdup(DEFAULT_LOCATION);
	self->file_format = DEFAULT_FILE_FORMAT;
	self->source = NULL;
	gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
	gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
