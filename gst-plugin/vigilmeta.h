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

/* What vigildetect knows about a frame beyond its detections. */
struct vigil_gst_frame_info {
	const char *model; /* borrowed */
	guint64 frame;
	gboolean fresh;
	struct vigil_timing timing;
};

/* Attaches one ROI meta per detection and the frame meta. @buffer must be writable. */
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
