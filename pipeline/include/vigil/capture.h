/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file capture.h
 * libvigil V4L2 capture: frames from a Linux video device without copying them.
 *
 *     struct vigil_capture_config cfg;
 *     vigil_capture_config_init(&cfg);
 *     cfg.device = "/dev/video0";
 *     struct vigil_capture *cap;
 *     vigil_capture_open(&cfg, &cap);                  // negotiates format, size, rate; allocates buffers
 *     vigil_capture_start(cap);
 *     struct vigil_capture_frame *f;
 *     while (vigil_capture_next(cap, &f) == 0) {       // blocks until a frame, a stall or a lost device
 *             vigil_detector_detect(det, &f->frame, &out);     // f->frame points into the driver's buffer
 *             vigil_capture_frame_unref(f);            // the buffer goes back to the driver
 *     }
 *     vigil_capture_close(cap);
 *
 * I/O paths: the device is driven with raw ioctls (never libv4l2: its format emulation copies every frame, which
 * defeats the point). Buffers are MMAP buffers, each exported once as a DMABUF fd (VIDIOC_EXPBUF) that the frame
 * carries for consumers that take fds (encoders, OpenCL, displays); or, in import mode, DMABUF fds the caller
 * allocated elsewhere, queued by fd. Single-planar (NV12, YUYV) and multi-planar (NV12M) devices are supported.
 * MJPEG devices (most USB webcams): each frame is decoded by libjpeg-turbo straight to planar YUV (I420, no RGB
 * step) into a spare buffer, and the driver buffer re-queued at once; a corrupt or truncated JPEG makes next()
 * return VIGIL_EIMAGE (counted as corrupt). (Not exercised against a driver in CI: vivid has no MJPEG output; the
 * decoder itself is tested on real JPEG frames, tests/test_mjpeg.c.)
 *
 * Frames are reference counted: the buffer is re-queued when the last reference is dropped. The driver is never
 * starved: when consumers hold every buffer but one, the newest frame is copied into a spare buffer allocated at
 * open and its driver buffer re-queued at once (counted as copied), or dropped when no spare is free (counted).
 *
 * Errors and faults: sequence gaps are counted as dropped frames; buffers the driver flags V4L2_BUF_FLAG_ERROR are
 * delivered with VIGIL_CAPTURE_FRAME_CORRUPT; no frame within max(3 frame intervals, 200 ms) makes next() return
 * -ETIMEDOUT (a stall, counted; the first frame after STREAMON gets 1 s); a lost device (ENODEV, EIO) makes next() return that error at once; with
 * reconnect set, later next() calls reopen the device (every 100 ms) and resume streaming when it is back.
 * Every fd is O_CLOEXEC, every ioctl is retried on EINTR, nothing leaks on any path.
 *
 * Thread-safety: one thread calls next()/start()/stop(); frames may be unreferenced from any thread.
 */
#ifndef VIGIL_CAPTURE_H
#define VIGIL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vigil_capture;

#define VIGIL_CAPTURE_MAX_BUFFERS 32
#define VIGIL_CAPTURE_MAX_PLANES 3

/** Build a V4L2 fourcc ("NV12" → v4l2_fourcc('N','V','1','2')). */
#define VIGIL_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

enum vigil_capture_io {
	VIGIL_CAPTURE_IO_MMAP = 0, /**< driver buffers, mapped and exported as DMABUF (the default) */
	VIGIL_CAPTURE_IO_DMABUF,   /**< the caller's DMABUF fds (config.import_fds) queued by fd */
};

struct vigil_capture_config {
	const char *device; /**< "/dev/videoN"; NULL: the first capture device (vigil_capture_find) */
	uint32_t fourcc;    /**< 0: the first the device offers of NV12, NV12M, YUYV, UYVY, YU12, GREY, then MJPG */
	int width, height;  /**< 0: 640×480 when offered, else the driver's nearest */
	int fps;            /**< 0: the fastest rate the driver offers at that size; else the nearest */
	int num_buffers;    /**< driver buffers, 2..VIGIL_CAPTURE_MAX_BUFFERS, default 4 */
	int spare_buffers;  /**< copies made when consumers hold the driver's buffers, 0..8, default 2 */
	int export_dmabuf;  /**< MMAP mode: export each buffer as DMABUF fds (default 1) */
	enum vigil_capture_io io;
	int import_fds[VIGIL_CAPTURE_MAX_BUFFERS][VIGIL_CAPTURE_MAX_PLANES]; /**< DMABUF mode: borrowed fds, one per
										 plane, num_buffers of them */
	int reconnect; /**< after a lost device, reopen it on later next() calls (default 0) */
};

/** Frame flags. */
enum {
	VIGIL_CAPTURE_FRAME_CORRUPT = 1 << 0, /**< the driver flagged the buffer V4L2_BUF_FLAG_ERROR */
	VIGIL_CAPTURE_FRAME_COPIED = 1 << 1,  /**< a copy in a spare buffer (consumers held the driver's) */
	VIGIL_CAPTURE_FRAME_DECODED = 1 << 2, /**< decoded from MJPEG into a spare buffer (I420, full range) */
};

/** One captured frame. Read-only for consumers; valid until its last vigil_capture_frame_unref(). */
struct vigil_capture_frame {
	struct vigil_frame frame; /**< planes point into the mapped buffer (or the spare for copies and MJPEG) */
	uint32_t fourcc;          /**< the V4L2 format the device delivered */
	int num_planes;           /**< memory planes (NV12M: 2) */
	int dmabuf_fd[VIGIL_CAPTURE_MAX_PLANES];       /**< one per memory plane, owned by the capture; -1 for copies */
	size_t plane_offset[VIGIL_CAPTURE_MAX_PLANES]; /**< where frame.planes[i] starts in its dmabuf */
	struct vigil_dmabuf dmabuf; /**< what frame.dmabuf points to when the frame has one fd for every plane
				       (single-planar devices, not copies nor MJPEG); frame.dmabuf is NULL otherwise */
	size_t bytesused[VIGIL_CAPTURE_MAX_PLANES];
	uint32_t sequence;    /**< the driver's frame sequence number */
	int64_t timestamp_ns; /**< CLOCK_MONOTONIC (also in frame.pts_ns) */
	int index;            /**< driver buffer index; -1 for copies */
	uint32_t flags;       /**< VIGIL_CAPTURE_FRAME_* */
};

struct vigil_capture_stats {
	uint64_t frames;    /**< frames handed out */
	uint64_t dropped;   /**< frames lost: sequence gaps plus frames dropped because every buffer was held */
	uint64_t corrupt;   /**< frames flagged V4L2_BUF_FLAG_ERROR */
	uint64_t copied;    /**< frames copied into a spare buffer because consumers held the driver's */
	uint64_t held_drop; /**< frames dropped (re-queued unseen) because consumers held every buffer */
	uint64_t stalls;    /**< watchdog reports */
	uint64_t reconnects;
};

/** Fills cfg with the defaults above. */
VIGIL_API void vigil_capture_config_init(struct vigil_capture_config *cfg);

/**
 * Finds the first video capture device (/dev/video0..63 in order that reports V4L2_CAP_VIDEO_CAPTURE or
 * _MPLANE and streaming). Writes its path to @p path. Returns 0, or -ENODEV when none exists.
 */
VIGIL_API int vigil_capture_find(char *path, size_t size);

/** Opens and configures the device, allocates (and exports) its buffers. Not streaming yet. */
VIGIL_API int vigil_capture_open(const struct vigil_capture_config *cfg, struct vigil_capture **out);

/** Queues every free buffer and starts streaming. */
VIGIL_API int vigil_capture_start(struct vigil_capture *cap);

/** Stops streaming. Frames still held stay valid; their buffers are re-queued at the next start. */
VIGIL_API int vigil_capture_stop(struct vigil_capture *cap);

/**
 * Waits for the next frame. Returns 0 with a new reference in *out, -ETIMEDOUT when the stall watchdog fired
 * (no frame within max(3 intervals, 200 ms)), -ENODEV/-EIO when the device is lost (reported at once),
 * -EAGAIN while reconnecting, -ENOBUFS when consumers hold every buffer and spare (the frame was dropped and its
 * buffer re-queued), or another negative error. Starts streaming if needed.
 */
VIGIL_API int vigil_capture_next(struct vigil_capture *cap, struct vigil_capture_frame **out);

/** Takes another reference. */
VIGIL_API struct vigil_capture_frame *vigil_capture_frame_ref(struct vigil_capture_frame *frame);

/** Drops a reference; the last one re-queues the buffer. Accepts NULL. Any thread. */
VIGIL_API void vigil_capture_frame_unref(struct vigil_capture_frame *frame);

/** Negotiated format (fourcc), size and rate (frames per second, 0 when unknown). */
VIGIL_API void vigil_capture_format(const struct vigil_capture *cap, uint32_t *fourcc, int *width, int *height,
				    double *fps);

/** Counters since open. */
VIGIL_API void vigil_capture_get_stats(const struct vigil_capture *cap, struct vigil_capture_stats *stats);

/** The device fd (for controls and polling), or -1 while disconnected. */
VIGIL_API int vigil_capture_fd(const struct vigil_capture *cap);

/** Stops, unmaps and closes everything. Frames still held keep their buffer alive until unreferenced.
 *  Accepts NULL. */
VIGIL_API void vigil_capture_close(struct vigil_capture *cap);

#ifdef __cplusplus
}
#endif

#endif
