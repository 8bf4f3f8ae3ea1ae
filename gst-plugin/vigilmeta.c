/* SPDX-License-Identifier: Apache-2.0 */
#include "vigilmeta.h"

#include <math.h>

#ifdef VIGIL_HAVE_GST_ANALYTICS
#include <gst/analytics/analytics.h>
#endif

static gboolean copy_field(GQuark field, const GValue *value, gpointer dest)
{
	gst_structure_id_set_value(dest, field, value);
	return TRUE;
}

static gboolean frame_meta_transform(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *src, GQuark type, gpointer data,
				     gpointer user_data)
{
	GstCustomMeta *copy;

	/* the frame meta describes the buffer's content: keep it through copies, drop it when pixels change
	 * geometry (scaling, cropping) */
	if (!GST_META_TRANSFORM_IS_COPY(type))
		return FALSE;
	copy = gst_buffer_add_custom_meta(dest, VIGIL_GST_FRAME_META_NAME);
	if (!copy)
		return FALSE;
	gst_structure_set_name(gst_custom_meta_get_structure(copy),
			       gst_structure_get_name(gst_custom_meta_get_structure(meta)));
	gst_structure_foreach(gst_custom_meta_get_structure(meta), copy_field, gst_custom_meta_get_structure(copy));
	return TRUE;
}

static gpointer register_once(gpointer unused)
{
	static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, NULL };

	gst_meta_register_custom(VIGIL_GST_FRAME_META_NAME, tags, frame_meta_transform, NULL, NULL);
	return NULL;
}

void vigil_gst_meta_register(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, register_once, NULL);
}

int vigil_gst_format(GstVideoFormat format)
{
	switch (format) {
	case GST_VIDEO_FORMAT_NV12:
		return VIGIL_FORMAT_NV12;
	case GST_VIDEO_FORMAT_I420:
		return VIGIL_FORMAT_I420;
	case GST_VIDEO_FORMAT_YUY2:
		return VIGIL_FORMAT_YUY2;
	case GST_VIDEO_FORMAT_UYVY:
		return VIGIL_FORMAT_UYVY;
	case GST_VIDEO_FORMAT_RGB:
		return VIGIL_FORMAT_RGB;
	case GST_VIDEO_FORMAT_BGR:
		return VIGIL_FORMAT_BGR;
	case GST_VIDEO_FORMAT_RGBA:
		return VIGIL_FORMAT_RGBA;
	case GST_VIDEO_FORMAT_BGRA:
		return VIGIL_FORMAT_BGRA;
	case GST_VIDEO_FORMAT_RGBx:
		return VIGIL_FORMAT_RGBX;
	case GST_VIDEO_FORMAT_BGRx:
		return VIGIL_FORMAT_BGRX;
	case GST_VIDEO_FORMAT_GRAY8:
		return VIGIL_FORMAT_GRAY8;
	default:
		return -1;
	}
}

static enum vigil_colorimetry colorimetry(const GstVideoInfo *info)
{
	const gboolean full = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;

	if (info->colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709)
		return full ? VIGIL_COLOR_BT709_FULL : VIGIL_COLOR_BT709_LIMITED;
	return full ? VIGIL_COLOR_BT601_FULL : VIGIL_COLOR_BT601_LIMITED;
}

gboolean vigil_gst_frame_from_video_frame(const GstVideoFrame *vframe, struct vigil_frame *out)
{
	const GstVideoInfo *info = &vframe->info;
	int format = vigil_gst_format(GST_VIDEO_INFO_FORMAT(info));

	if (format < 0)
		return FALSE;
	memset(out, 0, sizeof(*out));
	out->format = (enum vigil_pixel_format)format;
	out->width = GST_VIDEO_INFO_WIDTH(info);
	out->height = GST_VIDEO_INFO_HEIGHT(info);
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(vframe) && p < 3; p++) {
		out->planes[p] = GST_VIDEO_FRAME_PLANE_DATA(vframe, p);
		out->strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(vframe, p);
	}
	out->colorimetry = colorimetry(info);
	out->pts_ns = GST_BUFFER_PTS_IS_VALID(vframe->buffer) ? (int64_t)GST_BUFFER_PTS(vframe->buffer) : -1;
	return TRUE;
}

static guint clip_px(float v, int size)
{
	if (!(v > 0.0f)) /* also NaN */
		return 0;
	if (v > (float)size)
		return (guint)size;
	return (guint)lrintf(v);
}

GstClockTime vigil_gst_tracks_see(struct vigil_gst_tracks *tracks, gint64 id, GstClockTime pts)
{
	guint slot, oldest = 0;

	for (slot = 0; slot < tracks->count; slot++) {
		if (tracks->items[slot].id == id) {
			tracks->items[slot].last_seen = pts;
			return tracks->items[slot].first_seen;
		}
		/* GST_CLOCK_TIME_NONE (no PTS) is the largest value: such tracks are forgotten last */
		if (tracks->items[slot].last_seen < tracks->items[oldest].last_seen)
			oldest = slot;
	}
	slot = tracks->count < VIGIL_GST_MAX_TRACKS ? tracks->count++ : oldest;
	tracks->items[slot].id = id;
	tracks->items[slot].first_seen = tracks->items[slot].last_seen = pts;
	return pts;
}

#ifdef VIGIL_HAVE_GST_ANALYTICS
static GstAnalyticsRelationMeta *relation_meta(GstBuffer *buffer, size_t count)
{
	GstAnalyticsRelationMeta *rmeta = gst_buffer_get_analytics_relation_meta(buffer);
	/* room for an ODMtd and a TrackingMtd per detection without growing (the meta grows when it must) */
	GstAnalyticsRelationMetaInitParams params = { MAX(2 * count, 4), MAX(2 * count * 96, 512) };

	return rmeta ? rmeta : gst_buffer_add_analytics_relation_meta_full(buffer, &params);
}

/* The ODMtd (and for a tracked detection the TrackingMtd) of one detection; returns the ODMtd's id, or
 * G_MAXUINT when the meta refused it. */
static guint add_analytics(GstAnalyticsRelationMeta *rmeta, GstBuffer *buffer, const struct vigil_detection *d,
			   const GstVideoRegionOfInterestMeta *roi, struct vigil_gst_tracks *tracks)
{
	GstAnalyticsODMtd od;
	GstAnalyticsTrackingMtd trk;
	GstClockTime pts = GST_BUFFER_PTS(buffer), first_seen;

	if (!gst_analytics_relation_meta_add_od_mtd(rmeta, roi->roi_type, (gint)roi->x, (gint)roi->y, (gint)roi->w,
						    (gint)roi->h, d->score, &od))
		return G_MAXUINT;
	if (d->track_id < 0)
		return od.id;
	first_seen = tracks ? vigil_gst_tracks_see(tracks, d->track_id, pts) : pts;
	if (gst_analytics_relation_meta_add_tracking_mtd(rmeta, (guint64)d->track_id, first_seen, &trk)) {
		gst_analytics_tracking_mtd_update_last_seen(&trk, pts);
		gst_analytics_relation_meta_set_relation(rmeta, GST_ANALYTICS_REL_TYPE_RELATE_TO, od.id, trk.id);
		gst_analytics_relation_meta_set_relation(rmeta, GST_ANALYTICS_REL_TYPE_RELATE_TO, trk.id, od.id);
	}
	return od.id;
}
#endif

void vigil_gst_attach(GstBuffer *buffer, const GstVideoInfo *info, const struct vigil_detections *dets,
		      const struct vigil_gst_frame_info *frame)
{
	const int W = GST_VIDEO_INFO_WIDTH(info), H = GST_VIDEO_INFO_HEIGHT(info);
	GstCustomMeta *fm;
#ifdef VIGIL_HAVE_GST_ANALYTICS
	GstAnalyticsRelationMeta *rmeta = relation_meta(buffer, dets->count);
#endif

	for (size_t i = 0; i < dets->count; i++) {
		const struct vigil_detection *d = &dets->items[i];
		const guint x0 = clip_px(d->x, W), y0 = clip_px(d->y, H);
		const guint x1 = clip_px(d->x + d->w, W), y1 = clip_px(d->y + d->h, H);
		GstVideoRegionOfInterestMeta *roi;
		GstStructure *s;

		roi = gst_buffer_add_video_region_of_interest_meta(buffer, d->label ? d->label : "", x0, y0, x1 - x0,
								   y1 - y0);
		roi->id = d->track_id >= 0 ? (gint)d->track_id : (gint)i;
		s = gst_structure_new(VIGIL_GST_DETECTION_PARAM, "x_min", G_TYPE_DOUBLE, (double)d->x / W, "y_min",
				      G_TYPE_DOUBLE, (double)d->y / H, "x_max", G_TYPE_DOUBLE,
				      (double)(d->x + d->w) / W, "y_max", G_TYPE_DOUBLE, (double)(d->y + d->h) / H,
				      "confidence", G_TYPE_DOUBLE, (double)d->score, "label_id", G_TYPE_INT,
				      d->label_id, "label", G_TYPE_STRING, d->label ? d->label : "", "fresh",
				      G_TYPE_BOOLEAN, frame->fresh, NULL);
		if (d->num_keypoints > 0) {
			GValue points = G_VALUE_INIT;

			g_value_init(&points, GST_TYPE_ARRAY);
			for (int k = 0; k < d->num_keypoints && k < VIGIL_MAX_KEYPOINTS; k++) {
				GValue pt = G_VALUE_INIT, c = G_VALUE_INIT;

				g_value_init(&pt, GST_TYPE_ARRAY);
				g_value_init(&c, G_TYPE_DOUBLE);
				g_value_set_double(&c, (double)d->keypoints[k].x / W);
				gst_value_array_append_value(&pt, &c);
				g_value_set_double(&c, (double)d->keypoints[k].y / H);
				gst_value_array_append_value(&pt, &c);
				gst_value_array_append_and_take_value(&points, &pt);
				g_value_unset(&c);
			}
			gst_structure_take_value(s, "keypoints", &points);
		}
		if (d->track_id >= 0)
			gst_structure_set(s, "track_id", G_TYPE_INT64, (gint64)d->track_id, NULL);
#ifdef VIGIL_HAVE_GST_ANALYTICS
		if (rmeta) {
			const guint od_id = add_analytics(rmeta, buffer, d, roi, frame->tracks);

			if (od_id != G_MAXUINT)
				gst_structure_set(s, "od_mtd_id", G_TYPE_UINT, od_id, NULL);
		}
#endif
		gst_video_region_of_interest_meta_add_param(roi, s);
	}

	fm = gst_buffer_add_custom_meta(buffer, VIGIL_GST_FRAME_META_NAME);
	if (fm)
		gst_structure_set(gst_custom_meta_get_structure(fm), "model", G_TYPE_STRING,
				  frame->model ? frame->model : "", "frame", G_TYPE_UINT64, frame->frame, "fresh",
				  G_TYPE_BOOLEAN, frame->fresh, "preprocess-ms", G_TYPE_DOUBLE,
				  frame->timing.preprocess_ms, "inference-ms", G_TYPE_DOUBLE,
				  frame->timing.inference_ms, "postprocess-ms", G_TYPE_DOUBLE,
				  frame->timing.postprocess_ms, "count", G_TYPE_UINT, (guint)dets->count, NULL);
}

static double get_double(const GstStructure *s, const char *field, double fallback)
{
	double v;

	return gst_structure_get_double(s, field, &v) ? v : fallback;
}

static void read_one(GstVideoRegionOfInterestMeta *roi, int W, int H, struct vigil_detection *d)
{
	GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, VIGIL_GST_DETECTION_PARAM);
	const GValue *points;
	const char *label = g_quark_to_string(roi->roi_type);

	memset(d, 0, sizeof(*d));
	d->track_id = -1;
	d->label = label ? label : "";
	d->x = (float)roi->x;
	d->y = (float)roi->y;
	d->w = (float)roi->w;
	d->h = (float)roi->h;
	if (!s)
		return;
	const double x0 = get_double(s, "x_min", (double)roi->x / W), y0 = get_double(s, "y_min", (double)roi->y / H);
	const double x1 = get_double(s, "x_max", (double)(roi->x + roi->w) / W);
	const double y1 = get_double(s, "y_max", (double)(roi->y + roi->h) / H);
	gint label_id = 0;
	gint64 track;
	const char *slabel = gst_structure_get_string(s, "label");

	d->x = (float)(x0 * W);
	d->y = (float)(y0 * H);
	d->w = (float)((x1 - x0) * W);
	d->h = (float)((y1 - y0) * H);
	d->score = (float)get_double(s, "confidence", 0.0);
	if (gst_structure_get_int(s, "label_id", &label_id))
		d->label_id = label_id;
	if (slabel)
		d->label = g_intern_string(slabel);
	if (gst_structure_get_int64(s, "track_id", &track))
		d->track_id = track;
	points = gst_structure_get_value(s, "keypoints");
	if (points && GST_VALUE_HOLDS_ARRAY(points)) {
		guint n = gst_value_array_get_size(points);

		for (guint k = 0; k < n && k < VIGIL_MAX_KEYPOINTS; k++) {
			const GValue *pt = gst_value_array_get_value(points, k);

			if (!GST_VALUE_HOLDS_ARRAY(pt) || gst_value_array_get_size(pt) != 2)
				break;
			const GValue *vx = gst_value_array_get_value(pt, 0), *vy = gst_value_array_get_value(pt, 1);

			if (!G_VALUE_HOLDS_DOUBLE(vx) || !G_VALUE_HOLDS_DOUBLE(vy))
				break;
			d->keypoints[k].x = (float)(g_value_get_double(vx) * W);
			d->keypoints[k].y = (float)(g_value_get_double(vy) * H);
			d->num_keypoints = (int)k + 1;
		}
	}
}

guint vigil_gst_read(GstBuffer *buffer, const GstVideoInfo *info, struct vigil_detection *out, guint max,
		     struct vigil_gst_frame_info *frame)
{
	const int W = GST_VIDEO_INFO_WIDTH(info) > 0 ? GST_VIDEO_INFO_WIDTH(info) : 1;
	const int H = GST_VIDEO_INFO_HEIGHT(info) > 0 ? GST_VIDEO_INFO_HEIGHT(info) : 1;
	gpointer state = NULL;
	GstMeta *meta;
	guint n = 0;

	while (n < max &&
	       (meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
		read_one((GstVideoRegionOfInterestMeta *)meta, W, H, &out[n++]);

	if (frame) {
		GstCustomMeta *fm = gst_buffer_get_custom_meta(buffer, VIGIL_GST_FRAME_META_NAME);
		const GstStructure *s = fm ? gst_custom_meta_get_structure(fm) : NULL;
		const char *model = s ? gst_structure_get_string(s, "model") : NULL;

		memset(frame, 0, sizeof(*frame));
		frame->model = model ? g_intern_string(model) : NULL;
		if (s) {
			gst_structure_get_uint64(s, "frame", &frame->frame);
			gst_structure_get_boolean(s, "fresh", &frame->fresh);
			frame->timing.preprocess_ms = get_double(s, "preprocess-ms", 0.0);
			frame->timing.inference_ms = get_double(s, "inference-ms", 0.0);
			frame->timing.postprocess_ms = get_double(s, "postprocess-ms", 0.0);
		}
	}
	return n;
}
