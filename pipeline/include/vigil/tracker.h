/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tracker.h
 * Multi-object tracker: stable track ids across frames for the detections of one stream.
 *
 *     struct vigil_tracker_config tcfg;
 *     vigil_tracker_config_init(&tcfg);
 *     struct vigil_tracker *trk;
 *     vigil_tracker_create(&tcfg, &trk);                 // one per stream, next to its detector
 *     // per frame, exactly one of:
 *     vigil_detector_detect(det, &frame, &dets);
 *     vigil_tracker_update(trk, dets, &tracked);         // a frame with inference
 *     vigil_tracker_predict(trk, frame.pts_ns, &tracked); // a frame without (interval > 1, QoS skip)
 *     vigil_tracker_destroy(trk);
 *
 * Model: every track holds a constant-velocity Kalman filter on the box centre (cx, cy) and size (w, h);
 * the four coordinates are filtered independently (state = value and velocity per coordinate, one frame per
 * step), with process and measurement noise proportional to the box's size, so the same settings work for
 * small and large objects. Each update predicts every track one frame ahead, then assigns detections to
 * tracks optimally (Hungarian method, cost 1 - IoU between the predicted box and the detection; pairs under
 * iou_threshold or, with per_label, of different labels are never matched), corrects matched tracks, counts
 * misses on the others and starts a tentative track for each unmatched detection.
 *
 * Life of a track: born tentative from an unmatched detection; confirmed after min_hits consecutive matched
 * updates (it gets its track_id then: ids count up from 1 and are never reused by a tracker); a tentative
 * track that misses an update is dropped; a confirmed track that misses max_misses consecutive updates is
 * deleted. Misses count updates, not frames: at inference interval N a track outlives its object by at most
 * max_misses * N frames, and skipped frames never break an id.
 *
 * Thread-safety: one call at a time per tracker. Allocation: only in vigil_tracker_create(); update,
 * predict and reset allocate nothing and do no I/O.
 */
#ifndef VIGIL_TRACKER_H
#define VIGIL_TRACKER_H

#include "vigil/vigil.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vigil_tracker_config {
	float iou_threshold;     /**< minimum IoU of predicted box and detection to match, 0..1 (default 0.3) */
	int min_hits;            /**< k: matched updates that confirm a track, 1..1000 (default 3) */
	int max_misses;          /**< m: missed updates that delete a confirmed track, 1..1000 (default 5) */
	int max_predict_frames;  /**< predict() outputs a track for at most this many frames after the last
				     update, 0..100000 (default 30); 0 = predict() outputs nothing */
	int per_label;           /**< nonzero (default): detections match only tracks of their label */
	int max_tracks;          /**< live tracks (tentative and confirmed), 1..4096 (default 256); detections
				     that find no free slot stay untracked */
	int max_detections;      /**< detections read per update, 1..4096 (default 1024); more are dropped
				     (the input is highest score first, so the weakest go) */
	float position_noise;    /**< process noise std of centre and size per frame, as a fraction of the box's
				     larger side, > 0 (default 0.05) */
	float velocity_noise;    /**< process noise std of the velocities per frame, fraction, > 0 (default 0.00625) */
	float measurement_noise; /**< detection noise std, fraction of the box's larger side, > 0 (default 0.05) */
};

/** Fills @p config with the defaults documented on each field. */
VIGIL_API void vigil_tracker_config_init(struct vigil_tracker_config *config);

struct vigil_tracker;

/** Creates a tracker, allocating every buffer it will use. -EINVAL (with a message) for a config value out
 * of range, -ENOMEM. */
VIGIL_API int vigil_tracker_create(const struct vigil_tracker_config *config, struct vigil_tracker **out);

/** Destroys a tracker. Accepts NULL. */
VIGIL_API void vigil_tracker_destroy(struct vigil_tracker *tracker);

/** Forgets every track (a new scene or stream); ids keep counting up. */
VIGIL_API void vigil_tracker_reset(struct vigil_tracker *tracker);

/**
 * A frame with inference: associates @p detections with the tracks. On success *out holds every input
 * detection (same order, boxes and scores as detected, predicted = 0) with track_id set for those that
 * belong to a confirmed track and -1 for the others (tentative tracks, no free slot). *out is owned by the
 * tracker and valid until its next call. -EINVAL for NULL arguments.
 */
VIGIL_API int vigil_tracker_update(struct vigil_tracker *tracker, const struct vigil_detections *detections,
				   const struct vigil_detections **out);

/**
 * A frame without inference: advances every track one frame. *out holds, for every confirmed track matched
 * at the last update (and at most max_predict_frames frames ago), its predicted box with predicted = 1, the
 * label and score of its last detection, no keypoints and its track_id; frame size and timing as at the last
 * update, pts_ns as given. Owned by the tracker, valid until its next call. -EINVAL for NULL arguments.
 */
VIGIL_API int vigil_tracker_predict(struct vigil_tracker *tracker, int64_t pts_ns, const struct vigil_detections **out);

/** Live tracks: confirmed ones when @p confirmed_only, else tentative ones too. */
VIGIL_API size_t vigil_tracker_count(const struct vigil_tracker *tracker, int confirmed_only);

/**
 * Optimal assignment (Hungarian method, O(n^2 m)) for the rows x cols cost matrix @p cost (row-major,
 * rows <= cols or not: both work): minimises the total cost over assignments of min(rows, cols) pairs.
 * row_to_col[r] receives the column of row r or -1. @p work must hold vigil_assignment_work_size(rows, cols)
 * bytes (aligned for double). Costs must be finite. Returns 0 or -EINVAL. No allocation.
 */
VIGIL_API int vigil_assign(const double *cost, int rows, int cols, int *row_to_col, void *work);

/** Bytes of scratch vigil_assign() needs for a rows x cols problem. */
VIGIL_API size_t vigil_assignment_work_size(int rows, int cols);

#ifdef __cplusplus
}
#endif

#endif
