/* SPDX-License-Identifier: Apache-2.0
 * The metadata contract of the vigil plugin: what vigildetect attaches, what vigiloverlay, vigilmetapublish
 * and applications read.
 *
 * Per detection, one GstVideoRegionOfInterestMeta:
 *   roi_type  the label as a quark ("face", "person", ...); x, y, w, h the box in frame pixels, clipped to
 *             the frame; id the detection's index in the frame (or its track id once tracking exists)
 *   param "detection" (GstStructure), DL Streamer's layout plus keypoints:
 *     x_min, y_min, x_max, y_max  G_TYPE_DOUBLE  box normalised to the frame (not clipped)
 *     confidence                  G_TYPE_DOUBLE  0..1
 *     label_id                    G_TYPE_INT
 *     label                       G_TYPE_STRING
 *     keypoints                   GST_TYPE_ARRAY of GST_TYPE_ARRAY { x, y } G_TYPE_DOUBLE, normalised
 *                                 (faces: right eye, left eye, nose tip, mouth, right ear, left ear)
 *     fresh                       G_TYPE_BOOLEAN FALSE when the frame carries an earlier inference's result
 *                                 (inference-interval, QoS)
 *
 * Per frame, one custom meta "VigilFrameMeta" (gst_meta_register_custom) whose structure "vigil-frame" holds:
 *   model (string), frame (guint64, 0-based count of frames seen by vigildetect), fresh (boolean),
 *   preprocess-ms, inference-ms, postprocess-ms (double; 0 when not fresh), count (guint, detections).
 *
 * Built against GStreamer >= 1.24 with its analytics library (gstreamer-analytics-1.0, from gst-plugins-bad;
 * VIGIL_HAVE_GST_ANALYTICS defined), every frame vigildetect attaches also gets a GstAnalyticsRelationMeta
 * (the buffer's existing one when an upstream element already added it) holding, per detection and in the
 * same order as the ROI metas:
 *   GstAnalyticsODMtd        obj_type = the label as a quark (the ROI's roi_type), x, y, w, h = the ROI's
 *                            rectangle (frame pixels, clipped), location confidence = the detection's confidence;
 *                            its mtd id is stored in the ROI's "detection" param as "od_mtd_id" (G_TYPE_UINT)
 *   GstAnalyticsTrackingMtd  only for a detection with a track id (>= 0): tracking id = the track id (= the
 *                            ROI's id), first seen = the PTS of the first frame in which this vigildetect saw
 *                            the track, last seen = this frame's PTS; related to its ODMtd with
 *                            GST_ANALYTICS_REL_TYPE_RELATE_TO in both directions. Tracks are never marked lost
 *                            (libvigil does not report track ends).
 * No classification mtd: the ODMtd's obj_type and confidence already carry the label and score of a detector
 * with one class per box. Keypoints have no analytics mtd (none exists in 1.24 or 1.26): they stay in the ROI
 * param. Built against GStreamer 1.22 (Debian bookworm) none of this exists and only the ROI and frame metas
 * are attached.
 */
#ifndef VIGIL_GST_META_H
#define VIGIL_GST_META_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <vigil/vigil.h>

G_BEGIN_DECLS

#define VIGIL_GST_FRAME_META_NAME "VigilFrameMeta"
#define VIGIL_GST_DETECTION_PARAM "detection"

/* Registers the custom frame meta once (thread-safe). */
void vigil_gst_meta_register(void);

/* The tracks one vigildetect has seen (track id -> PTS of the first and latest frame), for the first-seen time
 * of GstAnalyticsTrackingMtd. Fixed size: when full, the track seen longest ago is forgotten. */
#define VIGIL_GST_MAX_TRACKS 64
struct vigil_gst_tracks {
	guint count;
	struct {
		gint64 id;
		GstClockTime first_seen, last_seen;
	} items[VIGIL_GST_MAX_TRACKS];
};

/* What vigildetect knows about a frame beyond its detections. */
struct vigil_gst_frame_info {
	const char *model; /* borrowed */
	guint64 frame;
	gboolean fresh;
	struct vigil_timing timing;
	/* analytics builds: track history for the tracking mtd (NULL: first seen = this frame); unused otherwise */
	struct vigil_gst_tracks *tracks;
};

/* The first-seen time of track @id, recording it (first seen = last seen = @pts) when new and updating its
 * last-seen time otherwise. */
GstClockTime vigil_gst_tracks_see(struct vigil_gst_tracks *tracks, gint64 id, GstClockTime pts);

/* Attaches one ROI meta per detection and the frame meta (and in analytics builds the relation meta described
 * above). @buffer must be writable. */
void vigil_gst_attach(GstBuffer *buffer, const GstVideoInfo *info, const struct vigil_detections *dets,
		      const struct vigil_gst_frame_info *frame);

/* Reads back what vigil_gst_attach wrote (or what another element wrote in the same layout): up to @max
 * detections into @out, in frame pixels of @info (labels point at interned quark strings), and, when
 * @frame is not NULL, the frame meta (model is an interned string; fields zeroed when absent). Returns the
 * number of detections; ROI metas without a "detection" param are read from their rectangle alone
 * (confidence 0, label from roi_type). */
guint vigil_gst_read(GstBuffer *buffer, const GstVideoInfo *info, struct vigil_detection *out, guint max,
		     struct vigil_gst_frame_info *frame);

/* libvigil's pixel format for a GStreamer video format, or -1 when unsupported. */
int vigil_gst_format(GstVideoFormat format);

/* A struct vigil_frame over a mapped GstVideoFrame (planes and strides as mapped). Returns FALSE for an
 * unsupported format. */
gboolean vigil_gst_frame_from_video_frame(const GstVideoFrame *vframe, struct vigil_frame *out);

/* The caps every vigil element accepts. */
#define VIGIL_GST_VIDEO_CAPS GST_VIDEO_CAPS_MAKE("{ NV12, I420, YUY2, UYVY, RGB, BGR, RGBA, BGRA, RGBx, BGRx, GRAY8 }")

G_END_DECLS

#endif
