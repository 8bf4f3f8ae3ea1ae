/* SPDX-License-Identifier: Apache-2.0 */
/**
 * SECTION:element-vigiloverlay
 *
 * Draws the detections attached to each frame (GstVideoRegionOfInterestMeta, as vigildetect writes them,
 * see vigilmeta.h) into the frame, in place: box outlines in a colour per label with a "label 0.93" tag
 * and face keypoints, or, with mode=blur|pixelate|fill, a privacy mask over each box for NVR recordings
 * and public streams. ROI metas from other elements are drawn from their rectangle and roi_type.
 *
 * The drawing is libvigil's vigil_frame_annotate(); this element only reads the metas and the properties.
 * Frames that carry nothing to draw pass through untouched without being made writable, so a shared
 * buffer (after a tee, for example) is only copied when there is something to draw on it.
 *
 * |[
 * gst-launch-1.0 v4l2src ! video/x-raw,format=NV12 ! vigildetect ! vigiloverlay ! autovideosink
 * gst-launch-1.0 v4l2src ! vigildetect ! vigiloverlay mode=blur ! x264enc ! mp4mux ! filesink location=nvr.mp4
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! vigildetect ! vigiloverlay mode=fill fill-color=0xff808080 \
 *     labels=face ! autovideosink
 * ]|
 */
#include <string.h>

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#include "vigilmeta.h"

GST_DEBUG_CATEGORY_STATIC(vigil_overlay_debug);
#define GST_CAT_DEFAULT vigil_overlay_debug

#define GST_TYPE_VIGIL_OVERLAY (gst_vigil_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstVigilOverlay, gst_vigil_overlay, GST, VIGIL_OVERLAY, GstVideoFilter)

typedef enum {
	VIGIL_OVERLAY_BOX = VIGIL_ANNOTATE_BOX,
	VIGIL_OVERLAY_BLUR = VIGIL_ANNOTATE_BLUR,
	VIGIL_OVERLAY_PIXELATE = VIGIL_ANNOTATE_PIXELATE,
	VIGIL_OVERLAY_FILL = VIGIL_ANNOTATE_FILL,
} GstVigilOverlayMode;

#define DEFAULT_MODE VIGIL_OVERLAY_BOX
#define DEFAULT_LABELS ""
#define DEFAULT_THICKNESS 0
#define DEFAULT_DRAW_LABELS TRUE
#define DEFAULT_DRAW_KEYPOINTS TRUE
#define DEFAULT_FILL_COLOR 0xff000000u
#define DEFAULT_PIXELATE_BLOCK 0
#define DEFAULT_BLUR_RADIUS 0
/* the ranges vigil_frame_annotate accepts */
#define MAX_THICKNESS 1024
#define MAX_FILTER_SIZE 16384

enum {
	PROP_0,
	PROP_MODE,
	PROP_LABELS,
	PROP_THICKNESS,
	PROP_DRAW_LABELS,
	PROP_DRAW_KEYPOINTS,
	PROP_FILL_COLOR,
	PROP_PIXELATE_BLOCK,
	PROP_BLUR_RADIUS,
};

struct _GstVigilOverlay {
	GstVideoFilter parent;

	/* properties, under the object lock */
	struct vigil_annotate_config config;
	guint fill_color; /* ARGB as given; config.fill_rgb is its RGB part */
	gchar *labels_text;
	const gchar **labels; /* interned, NULL-terminated; NULL: every label */

	/* streaming thread: the current buffer's detections, read by before_transform, drawn by
	 * transform_frame_ip. The array only grows (to the most metas a buffer has carried). */
	struct vigil_detection *dets;
	guint capacity, count;
	gboolean warned;
};

G_DEFINE_TYPE(GstVigilOverlay, gst_vigil_overlay, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(vigiloverlay, "vigiloverlay", GST_RANK_NONE, GST_TYPE_VIGIL_OVERLAY);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIGIL_GST_VIDEO_CAPS));

#define GST_TYPE_VIGIL_OVERLAY_MODE (gst_vigil_overlay_mode_get_type())
static GType gst_vigil_overlay_mode_get_type(void)
{
	static GType type;
	static const GEnumValue values[] = {
		{ VIGIL_OVERLAY_BOX, "Box outline in the label's colour, \"label score\" tag and keypoints", "box" },
		{ VIGIL_OVERLAY_BLUR, "Privacy mask: strong blur of each box (only pixels inside it are mixed)",
		  "blur" },
		{ VIGIL_OVERLAY_PIXELATE, "Privacy mask: mosaic of blocks over each box", "pixelate" },
		{ VIGIL_OVERLAY_FILL, "Privacy mask: each box filled with fill-color", "fill" },
		{ 0, NULL, NULL },
	};

	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstVigilOverlayMode", values));
	return type;
}

/* ---- properties ---------------------------------------------------------------------------------- */

/* "face, person" -> { "face", "person", NULL } as interned strings (compared by pointer with the labels
 * vigil_gst_read returns); NULL for an empty list. */
static const gchar **parse_labels(const gchar *text)
{
	gchar **parts;
	const gchar **labels;
	guint n = 0;

	if (!text || !*text)
		return NULL;
	parts = g_strsplit(text, ",", -1);
	labels = g_new0(const gchar *, g_strv_length(parts) + 1);
	for (guint i = 0; parts[i]; i++) {
		g_strstrip(parts[i]);
		if (*parts[i])
			labels[n++] = g_intern_string(parts[i]);
	}
	g_strfreev(parts);
	if (n == 0) {
		g_free(labels);
		return NULL;
	}
	return labels;
}

static void gst_vigil_overlay_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_MODE:
		self->config.mode = (enum vigil_annotate_mode)g_value_get_enum(value);
		break;
	case PROP_LABELS:
		g_free(self->labels_text);
		self->labels_text = g_value_dup_string(value);
		g_free(self->labels);
		self->labels = parse_labels(self->labels_text);
		break;
	case PROP_THICKNESS:
		self->config.thickness = g_value_get_int(value);
		break;
	case PROP_DRAW_LABELS:
		self->config.draw_labels = g_value_get_boolean(value);
		break;
	case PROP_DRAW_KEYPOINTS:
		self->config.draw_keypoints = g_value_get_boolean(value);
		break;
	case PROP_FILL_COLOR:
		self->fill_color = g_value_get_uint(value);
		self->config.fill_rgb = self->fill_color & 0xffffffu;
		break;
	case PROP_PIXELATE_BLOCK:
		self->config.pixelate_block = g_value_get_int(value);
		break;
	case PROP_BLUR_RADIUS:
		self->config.blur_radius = g_value_get_int(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_vigil_overlay_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_MODE:
		g_value_set_enum(value, (gint)self->config.mode);
		break;
	case PROP_LABELS:
		g_value_set_string(value, self->labels_text);
		break;
	case PROP_THICKNESS:
		g_value_set_int(value, self->config.thickness);
		break;
	case PROP_DRAW_LABELS:
		g_value_set_boolean(value, self->config.draw_labels);
		break;
	case PROP_DRAW_KEYPOINTS:
		g_value_set_boolean(value, self->config.draw_keypoints);
		break;
	case PROP_FILL_COLOR:
		g_value_set_uint(value, self->fill_color);
		break;
	case PROP_PIXELATE_BLOCK:
		g_value_set_int(value, self->config.pixelate_block);
		break;
	case PROP_BLUR_RADIUS:
		g_value_set_int(value, self->config.blur_radius);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

/* ---- streaming ----------------------------------------------------------------------------------- */

static gboolean label_wanted(const gchar *const *labels, const gchar *label)
{
	if (!labels)
		return TRUE;
	for (guint i = 0; labels[i]; i++)
		if (labels[i] == label)
			return TRUE;
	return FALSE;
}

/* Reads what there is to draw on this buffer and goes passthrough when there is nothing, so that the base
 * class neither makes the buffer writable (a copy when it is shared) nor maps it for writing. */
static void gst_vigil_overlay_before_transform(GstBaseTransform *trans, GstBuffer *buffer)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(trans);
	GstVideoFilter *filter = GST_VIDEO_FILTER(trans);
	gpointer state = NULL;
	guint metas = 0, n = 0;

	self->count = 0;
	if (filter->negotiated) {
		while (gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
			metas++;
		if (metas > self->capacity) {
			self->capacity = MAX(metas, 2 * self->capacity);
			self->dets = g_renew(struct vigil_detection, self->dets, self->capacity);
		}
		if (metas > 0)
			n = vigil_gst_read(buffer, &filter->in_info, self->dets, self->capacity, NULL);

		GST_OBJECT_LOCK(self);
		for (guint i = 0; i < n; i++)
			if (label_wanted(self->labels, self->dets[i].label))
				self->dets[self->count++] = self->dets[i];
		GST_OBJECT_UNLOCK(self);
	}
	GST_LOG_OBJECT(self, "%u regions, %u to draw", metas, self->count);
	if (gst_base_transform_is_passthrough(trans) != (self->count == 0))
		gst_base_transform_set_passthrough(trans, self->count == 0);
}

static GstFlowReturn gst_vigil_overlay_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *vframe)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(filter);
	struct vigil_annotate_config config;
	struct vigil_detections dets = { 0 };
	struct vigil_frame frame;
	int ret;

	if (self->count == 0)
		return GST_FLOW_OK;
	if (!vigil_gst_frame_from_video_frame(vframe, &frame)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("Unsupported format %s", GST_VIDEO_INFO_NAME(&vframe->info)), (NULL));
		return GST_FLOW_NOT_NEGOTIATED;
	}
	GST_OBJECT_LOCK(self);
	config = self->config;
	GST_OBJECT_UNLOCK(self);

	/* vigil_frame_annotate draws the items last to first, so that the first ends on top; metas come in
	 * attachment order, which for vigildetect is best score first */
	dets.count = self->count;
	dets.items = self->dets;
	dets.frame_width = frame.width;
	dets.frame_height = frame.height;
	dets.pts_ns = frame.pts_ns;
	ret = vigil_frame_annotate(&frame, &dets, &config);
	if (ret == 0)
		return GST_FLOW_OK;

	/* A privacy mask that cannot be applied must not let the frame through unmasked; boxes are only a
	 * view, so the stream goes on without them. */
	if (config.mode != VIGIL_ANNOTATE_BOX) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not apply the privacy mask: %s", vigil_strerror(ret)),
				  ("%s", vigil_last_error()));
		return GST_FLOW_ERROR;
	}
	if (!self->warned) {
		GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Could not draw the detections: %s", vigil_strerror(ret)),
				    ("%s (further frames are passed on without boxes)", vigil_last_error()));
		self->warned = TRUE;
	}
	return GST_FLOW_OK;
}

static gboolean gst_vigil_overlay_stop(GstBaseTransform *trans)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(trans);

	g_free(self->dets);
	self->dets = NULL;
	self->capacity = self->count = 0;
	self->warned = FALSE;
	return TRUE;
}

/* ---- class ------------------------------------------------------------------------------------------ */

static void gst_vigil_overlay_finalize(GObject *object)
{
	GstVigilOverlay *self = GST_VIGIL_OVERLAY(object);

	g_free(self->labels_text);
	g_free(self->labels);
	g_free(self->dets);
	G_OBJECT_CLASS(gst_vigil_overlay_parent_class)->finalize(object);
}

static void gst_vigil_overlay_class_init(GstVigilOverlayClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
	GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);
	const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

	GST_DEBUG_CATEGORY_INIT(vigil_overlay_debug, "vigiloverlay", 0, "Vigil detection overlay");

	gobject_class->set_property = gst_vigil_overlay_set_property;
	gobject_class->get_property = gst_vigil_overlay_get_property;
	gobject_class->finalize = gst_vigil_overlay_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_MODE,
	    g_param_spec_enum("mode", "Mode",
			      "What to draw for each detection: box (outline, label and score, keypoints) or a "
			      "privacy mask over the box: blur, pixelate or fill (with fill-color)",
			      GST_TYPE_VIGIL_OVERLAY_MODE, DEFAULT_MODE, flags));
	g_object_class_install_property(
	    gobject_class, PROP_LABELS,
	    g_param_spec_string("labels", "Labels",
				"Comma-separated labels to draw (e.g. \"face,person\"); detections with other labels "
				"are left alone. Empty: every detection",
				DEFAULT_LABELS, flags));
	g_object_class_install_property(
	    gobject_class, PROP_THICKNESS,
	    g_param_spec_int("thickness", "Thickness",
			     "Box outline width in pixels (mode=box); keypoint dots get radius thickness + 1. "
			     "0: automatic, max(2, shorter frame side / 300)",
			     0, MAX_THICKNESS, DEFAULT_THICKNESS, flags));
	g_object_class_install_property(gobject_class, PROP_DRAW_LABELS,
					g_param_spec_boolean("draw-labels", "Draw labels",
							     "Draw a \"label score\" tag above each box (mode=box)",
							     DEFAULT_DRAW_LABELS, flags));
	g_object_class_install_property(
	    gobject_class, PROP_DRAW_KEYPOINTS,
	    g_param_spec_boolean("draw-keypoints", "Draw keypoints",
				 "Draw each detection's keypoints (eyes, nose, mouth, ears for faces) as dots "
				 "(mode=box)",
				 DEFAULT_DRAW_KEYPOINTS, flags));
	g_object_class_install_property(
	    gobject_class, PROP_FILL_COLOR,
	    g_param_spec_uint("fill-color", "Fill color",
			      "Colour of mode=fill as 0xAARRGGBB (like textoverlay's color) or 0xRRGGBB; the "
			      "mask is always opaque, so alpha is ignored",
			      0, G_MAXUINT32, DEFAULT_FILL_COLOR, flags));
	g_object_class_install_property(
	    gobject_class, PROP_PIXELATE_BLOCK,
	    g_param_spec_int("pixelate-block", "Pixelate block",
			     "Mosaic block side in pixels (mode=pixelate). 0: automatic per box, max(4, longer "
			     "box side / 8), about 8 blocks across a face",
			     0, MAX_FILTER_SIZE, DEFAULT_PIXELATE_BLOCK, flags));
	g_object_class_install_property(
	    gobject_class, PROP_BLUR_RADIUS,
	    g_param_spec_int("blur-radius", "Blur radius",
			     "Blur filter radius in pixels (mode=blur; three box-filter passes, close to a "
			     "Gaussian of this sigma). 0: automatic per box, max(2, longer box side / 6)",
			     0, MAX_FILTER_SIZE, DEFAULT_BLUR_RADIUS, flags));

	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Vigil detection overlay", "Filter/Effect/Video",
	    "Draws the detections attached to video frames (boxes, labels and scores, keypoints) or masks them "
	    "for privacy (blur, pixelate, fill), e.g. faces in NVR recordings",
	    "Vigil developers");

	trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_vigil_overlay_before_transform);
	trans_class->stop = GST_DEBUG_FUNCPTR(gst_vigil_overlay_stop);
	/* nothing to look at in passthrough (nothing to draw): skip even the read-only map */
	trans_class->transform_ip_on_passthrough = FALSE;
	filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_vigil_overlay_transform_frame_ip);

	gst_type_mark_as_plugin_api(GST_TYPE_VIGIL_OVERLAY_MODE, 0);
}

static void gst_vigil_overlay_init(GstVigilOverlay *self)
{
	vigil_annotate_config_init(&self->config);
	self->config.mode = (enum vigil_annotate_mode)DEFAULT_MODE;
	self->config.thickness = DEFAULT_THICKNESS;
	self->config.draw_labels = DEFAULT_DRAW_LABELS;
	self->config.draw_keypoints = DEFAULT_DRAW_KEYPOINTS;
	self->fill_color = DEFAULT_FILL_COLOR;
	self->config.fill_rgb = DEFAULT_FILL_COLOR & 0xffffffu;
	self->config.pixelate_block = DEFAULT_PIXELATE_BLOCK;
	self->config.blur_radius = DEFAULT_BLUR_RADIUS;
	self->labels_text = g_strdup(DEFAULT_LABELS);
}
