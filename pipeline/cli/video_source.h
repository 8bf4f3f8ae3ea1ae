/* SPDX-License-Identifier: Apache-2.0
 * A video file as a frame source for the CLI (`vigil run FILE`, `vigil eval VIDEO`): decoded with GStreamer
 * (filesrc ! decodebin ! videoconvert ! I420 appsink). Built without GStreamer, opening fails with
 * VIGIL_EUNSUPPORTED. Frames are read-only views into the decoder's buffer, valid until the next call. */
#ifndef VIGIL_CLI_VIDEO_SOURCE_H
#define VIGIL_CLI_VIDEO_SOURCE_H

#include <signal.h>

#include "vigil/vigil.h"

struct vigil_video_source;

/* Starts decoding path. Returns 0, or a negative error with the detail in vigil_last_error(): -errno when the
 * file cannot be read, VIGIL_EUNSUPPORTED without GStreamer or a decoding pipeline. A file that is not a video
 * is only found out by the first vigil_video_source_next(). */
int vigil_video_source_open(const char *path, struct vigil_video_source **out);

/* Waits for the next decoded frame: 1 and *f filled (I420, BT.601 limited range, pts_ns from the decoder or -1),
 * 0 at the end of the stream or when *stop becomes non-zero (stop may be NULL), or VIGIL_EIMAGE when the file does
 * not decode (detail in vigil_last_error()). Releases the previous frame. */
int vigil_video_source_next(struct vigil_video_source *s, struct vigil_frame *f, volatile sig_atomic_t *stop);

/* Stops decoding and frees everything; accepts NULL. Also shuts GStreamer down (gst_deinit), so a process
 * opens at most one video source in its lifetime. */
void vigil_video_source_close(struct vigil_video_source *s);

#endif
