/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vigil.h
 * libvigil: face and object detection on camera frames.
 *
 * Life of a stream:
 *
 *     struct vigil_model *model;
 *     vigil_model_open("face-full", &model);          // once; share it between streams and threads
 *     struct vigil_detector_config cfg;
 *     vigil_detector_config_init(&cfg);
 *     struct vigil_detector *det;
 *     vigil_detector_create(model, &cfg, &det);       // one per stream
 *     const struct vigil_detections *out;
 *     vigil_detector_detect(det, &frame, &out);       // per frame: no allocation, no I/O
 *     vigil_detector_destroy(det);
 *     vigil_model_close(model);
 *
 * Errors: every function returning int returns 0 on success or a negative value: a negative errno
 * (-ENOMEM, -EINVAL, -ENOENT, ...) or one of the VIGIL_E* codes below. vigil_strerror() names the
 * code and vigil_last_error() gives the calling thread's detail message for its last failure
 * ("model input is [1,128,128,3] float32, frame gave ..."), naming what was expected and what was found.
 *
 * Thread-safety: a model is immutable after vigil_model_open() and may be used from any number of
 * threads and detectors at once. A detector is single-threaded: one call at a time per detector;
 * different detectors may run concurrently.
 */
#ifndef VIGIL_VIGIL_H
#define VIGIL_VIGIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VIGIL_API __attribute__((visibility("default")))
#else
#define VIGIL_API
#endif

#define VIGIL_VERSION_MAJOR 0
#define VIGIL_VERSION_MINOR 1
#define VIGIL_VERSION_MICRO 0

/** Returns the library version as "MAJOR.MINOR.MICRO". Thread-safe. */
VIGIL_API const char *vigil_version(void);

/* ------------------------------------------------------------------------------------------------ */
/** @name Errors */

enum {
	VIGIL_EMODEL = -10000,       /**< model file is malformed (bad flatbuffer, index out of range, ...) */
	VIGIL_EUNSUPPORTED = -10001, /**< well-formed but uses an operator, type or layout we do not run */
	VIGIL_EFORMAT = -10002,      /**< frame or image format/size not supported */
	VIGIL_EIMAGE = -10003,       /**< image file is corrupt or truncated */
	VIGIL_ETOOBIG = -10004,      /**< image or model exceeds a documented size cap */
};

/** Short name of an error code (VIGIL_E* or negative errno). Never NULL. Thread-safe. */
VIGIL_API const char *vigil_strerror(int err);

/** Detail message of the calling thread's last failure in libvigil ("" if none).
 * Valid until the next failing libvigil call on the same thread. */
VIGIL_API const char *vigil_last_error(void);

/* ------------------------------------------------------------------------------------------------ */
/** @name Models */

struct vigil_model;

/** Static description of a model. */
struct vigil_model_info {
	const char *name;              /**< built-in name ("face-full") or the path it was opened from */
	const char *description;       /**< one line */
	int input_width, input_height; /**< model input tensor size in pixels */
	int num_anchors;               /**< candidate boxes per inference */
	int num_keypoints;             /**< per detection (6 for faces, 0 otherwise) */
	float default_threshold;       /**< score threshold used when the detector config leaves it unset */
	float default_iou_threshold;
	int num_labels;
};

/**
 * Opens a model by built-in name (see vigil_builtin_model()) or by path to a .tflite file.
 * A path must name a BlazeFace-shaped face detector (float input [1,S,S,3], outputs [1,A,16] boxes
 * and [1,A,1] logits with A = 896 for S = 128 or A = 2304 for S = 192); other models fail with
 * VIGIL_EUNSUPPORTED. Files are read whole, validated (every offset, index, shape, type and buffer
 * range), float16 weights expanded to float32, and every operator checked: an unsupported operator
 * fails here, naming the operator, its index and the model.
 * Ownership: on success *out holds one reference; release it with vigil_model_close().
 * Thread-safe. Not per-frame: reads a file and allocates.
 */
VIGIL_API int vigil_model_open(const char *name_or_path, struct vigil_model **out);

/** Opens a model from memory (same validation as vigil_model_open). The bytes are copied.
 * @p label names the model in messages and in vigil_model_info.name. */
VIGIL_API int vigil_model_open_memory(const void *data, size_t size, const char *label, struct vigil_model **out);

/** Takes another reference (for sharing between owners). Thread-safe. Returns @p model. */
VIGIL_API struct vigil_model *vigil_model_ref(struct vigil_model *model);

/** Drops a reference; the model is freed with the last one. Accepts NULL. Thread-safe. */
VIGIL_API void vigil_model_close(struct vigil_model *model);

/** Description of an open model; valid while the model is. Thread-safe. */
VIGIL_API const struct vigil_model_info *vigil_model_get_info(const struct vigil_model *model);

/** Name of label @p label_id, or NULL when out of range. Thread-safe. */
VIGIL_API const char *vigil_model_label(const struct vigil_model *model, int label_id);

/** A model compiled into libvigil. */
struct vigil_builtin_model {
	const char *name; /**< "face-full", "face-short" */
	const char *description;
	int is_default; /**< 1 for the model used when none is named */
};

/** The @p index-th built-in model (0-based), or NULL past the end. Thread-safe. */
VIGIL_API const struct vigil_builtin_model *vigil_builtin_model(size_t index);

/** Name of the default model ("face-full"). */
VIGIL_API const char *vigil_default_model(void);

/* ------------------------------------------------------------------------------------------------ */
/** @name Frames */

enum vigil_pixel_format {
	VIGIL_FORMAT_NV12 = 0, /**< Y plane, then interleaved UV plane at half width and height */
	VIGIL_FORMAT_I420,     /**< Y, U, V planes; U and V at half width and height (rounded up) */
	VIGIL_FORMAT_YUY2,     /**< packed Y0 U Y1 V */
	VIGIL_FORMAT_UYVY,     /**< packed U Y0 V Y1 */
	VIGIL_FORMAT_RGB,
	VIGIL_FORMAT_BGR,
	VIGIL_FORMAT_RGBA,
	VIGIL_FORMAT_BGRA,
	VIGIL_FORMAT_RGBX,
	VIGIL_FORMAT_BGRX,
	VIGIL_FORMAT_GRAY8,
	VIGIL_FORMAT_COUNT
};

/** YUV to RGB conversion for YUV formats (ignored for RGB and gray formats). */
enum vigil_colorimetry {
	VIGIL_COLOR_BT601_LIMITED = 0, /**< the default: SD cameras, most V4L2 webcams */
	VIGIL_COLOR_BT601_FULL,        /**< JPEG / MJPEG */
	VIGIL_COLOR_BT709_LIMITED,     /**< HD broadcast */
	VIGIL_COLOR_BT709_FULL,
};

/** Maximum frame side accepted by the detector (pixels). */
#define VIGIL_MAX_FRAME_SIDE 16384

/**
 * Where a frame lives when it is a Linux DMABUF (V4L2 VIDIOC_EXPBUF, GStreamer dmabuf memory): one fd that
 * holds every plane, the buffer's size in bytes, and where each plane starts in it (the planes' strides are
 * the frame's). Borrowed: the fd is only used during vigil_detector_detect() and never closed or kept open by
 * libvigil (an OpenCL device that imports it may keep its own reference to the buffer, not the fd: see
 * vigil_frame.dmabuf).
 */
struct vigil_dmabuf {
	int fd;            /**< the DMABUF fd (0 is a valid fd) */
	size_t size;       /**< bytes of the buffer behind fd; every plane must lie inside it */
	size_t offsets[3]; /**< byte offset of planes[i] in the buffer; unused planes 0 */
};

/**
 * A frame the caller owns. Planes are read only during vigil_detector_detect(); nothing is kept.
 * strides are in bytes and may exceed the row size (padding); odd widths and heights are allowed
 * (chroma sizes round up). Unused planes are NULL with stride 0.
 */
struct vigil_frame {
	enum vigil_pixel_format format;
	int width, height;
	const uint8_t *planes[3];
	int strides[3];
	enum vigil_colorimetry colorimetry;
	int64_t pts_ns; /**< presentation time, or -1 when unknown; copied to the result */
	/**
	 * NULL (a zero-initialised frame): plain memory. Otherwise the same pixels as a DMABUF, borrowed for the
	 * call. planes[] must still point at the mapped pixels: the CPU backend reads them, and so does an OpenCL
	 * device that cannot import (it uploads the rows it samples, once per frame). An OpenCL device with
	 * cl_khr_external_memory_dma_buf or cl_arm_import_memory imports the buffer instead (zero-copy; imports are
	 * cached per buffer, keyed by fd, size and the buffer's inode, so a ring of capture buffers is imported
	 * once each). vigil_detector_detect() checks the description on every backend: a closed or negative fd
	 * fails the call with -EBADF, a plane outside size with -EINVAL. Which path a detector took is logged once
	 * (domain "opencl").
	 */
	const struct vigil_dmabuf *dmabuf;
};

/** Name of a pixel format ("NV12", ...), or NULL when out of range. */
VIGIL_API const char *vigil_format_name(enum vigil_pixel_format format);

/** Parses a format name (case-insensitive; "YUYV" is accepted for YUY2). Returns -1 when unknown. */
VIGIL_API int vigil_format_from_name(const char *name);

/**
 * Fills a frame description for a tightly packed buffer of the given format and size that starts at
 * @p data (planes laid out one after another). Returns the number of bytes the buffer needs, or a
 * negative error for a bad format or size. Pass data = NULL to only compute the size.
 */
VIGIL_API long vigil_frame_init_packed(struct vigil_frame *frame, enum vigil_pixel_format format, int width, int height,
				       const uint8_t *data);

/* ------------------------------------------------------------------------------------------------ */
/** @name Detections */

#define VIGIL_MAX_KEYPOINTS 8

struct vigil_point {
	float x, y;
};

/** One detection. Coordinates are frame pixels, origin top-left; boxes may extend past the frame. */
struct vigil_detection {
	int label_id;
	const char *label; /**< owned by the model */
	float score;       /**< 0..1 */
	float x, y, w, h;  /**< box */
	int num_keypoints;
	struct vigil_point keypoints[VIGIL_MAX_KEYPOINTS]; /**< faces: right eye, left eye, nose tip,
							      mouth, right ear, left ear (subject's) */
	int64_t track_id;                                  /**< -1: not tracked */
	int predicted; /**< 1: box predicted by the tracker for a frame without inference (vigil/tracker.h) */
};

struct vigil_timing {
	double preprocess_ms, inference_ms, postprocess_ms;
};

/** Result of one detect call. Owned by the detector; valid until its next detect or destroy. */
struct vigil_detections {
	size_t count;
	const struct vigil_detection *items; /**< highest score first */
	int frame_width, frame_height;
	int64_t pts_ns;
	struct vigil_timing timing;
};

/* ------------------------------------------------------------------------------------------------ */
/** @name Detectors */

struct vigil_rect {
	float x, y, w, h;
};

/** How the frame is resampled to the model input (both bilinear, with black letterbox borders). */
enum vigil_sampling {
	/** Pixel-centre mapping src = (dst + 0.5) * k - 0.5: MediaPipe's GPU path and TFLite's
	 * half-pixel-centre resize; the default. */
	VIGIL_SAMPLING_PIXEL_CENTER = 0,
	/** Corner mapping src = dst * k: MediaPipe's CPU path (OpenCV warpAffine). On full-size photos the
	 * two differ by up to 0.15 in score; choose the one your reference used. */
	VIGIL_SAMPLING_CORNER,
};

/** Where inference runs. */
enum vigil_backend {
	/** The fastest backend measured for the model (decided once at create, logged): OpenCL when a GPU or
	 * accelerator device (or the device named by config.device / $VIGIL_CL_DEVICE) runs the model faster
	 * than the CPU, else the CPU. OpenCL is not even loaded when no device is named and the only installed
	 * implementation is PoCL (CPU devices). An OpenCL failure falls back to the CPU with one warning. */
	VIGIL_BACKEND_AUTO = 0,
	VIGIL_BACKEND_CPU, /**< the CPU kernels (SIMD where the CPU has it) */
	/** OpenCL (see README "OpenCL"); create fails with VIGIL_EUNSUPPORTED when it cannot be used (no
	 * platform, build failure: the message holds the compiler log) and -EINVAL for an unknown device. */
	VIGIL_BACKEND_OPENCL,
};

#define VIGIL_MAX_THREADS 64

struct vigil_detector_config {
	float threshold;              /**< minimum score 0..1; < 0 selects the model's default */
	float iou_threshold;          /**< NMS overlap 0..1; < 0 selects the model's default */
	int max_detections;           /**< cap per frame, 1..1024 (default 100) */
	struct vigil_rect roi;        /**< region (frame pixels) to search; w or h <= 0 = whole frame.
				        Pixels outside it are treated as black. Clipped to the frame. */
	enum vigil_sampling sampling; /**< default VIGIL_SAMPLING_PIXEL_CENTER */
	int threads;                  /**< inference threads 1..VIGIL_MAX_THREADS (default 1); fixed at create */
	enum vigil_backend backend;   /**< default VIGIL_BACKEND_AUTO; fixed at create */
	/** OpenCL device: "P:D" (platform and device index), "D", or a substring of the device or platform
	 * name; NULL (default) = $VIGIL_CL_DEVICE, else the first GPU. Read at create only. */
	const char *device;
};

/** Fills @p config with the defaults. */
VIGIL_API void vigil_detector_config_init(struct vigil_detector_config *config);

struct vigil_detector;

/**
 * Creates a detector for one stream: allocates the activation arena, scratch and result storage.
 * Takes its own reference on @p model. Not per-frame. Thread-safe with respect to other detectors.
 */
VIGIL_API int vigil_detector_create(struct vigil_model *model, const struct vigil_detector_config *config,
				    struct vigil_detector **out);

/** Destroys a detector (accepts NULL) and drops its model reference. */
VIGIL_API void vigil_detector_destroy(struct vigil_detector *detector);

/** Changes thresholds, cap, ROI or sampling. No allocation; takes effect on the next frame.
 * threads and backend are fixed at create: a different value fails with -EINVAL. */
VIGIL_API int vigil_detector_set_config(struct vigil_detector *detector, const struct vigil_detector_config *config);

/**
 * Runs detection on one frame: preprocessing straight from the frame's format into the model
 * tensor, inference, decoding and NMS. Per-frame safe: allocates nothing, does no I/O.
 * A frame geometry or format different from the previous one recomputes the sampling tables
 * (in preallocated memory). On success *out points at storage owned by the detector.
 * Fails with VIGIL_EFORMAT for a bad format, size (0, or above VIGIL_MAX_FRAME_SIDE), missing plane
 * or a stride too small for the width.
 */
VIGIL_API int vigil_detector_detect(struct vigil_detector *detector, const struct vigil_frame *frame,
				    const struct vigil_detections **out);

/** The model the detector runs (borrowed). */
VIGIL_API const struct vigil_model *vigil_detector_model(const struct vigil_detector *detector);

/* ------------------------------------------------------------------------------------------------ */
/** @name Label filtering */

/**
 * Keeps only some labels, each with its own minimum score. @p spec is a comma-separated list of label names
 * as the model reports them ("person,car"), each optionally followed by "=SCORE" (0..1) that replaces the
 * detector's threshold for that label ("person=0.6,car=0.4,bicycle"); a label without a score uses the
 * detector's threshold. NULL or "" removes the filter (every label at the detector's threshold).
 * Labels come from the model (vigil_model_label(): "face" for the face models, the 90 COCO names for
 * coco-ssd). For coco-ssd the filter applies to the model's own output (its NMS keeps at most 10 boxes),
 * so a per-label score below the model's internal threshold cannot bring back what it dropped; for the face
 * models candidates below the detector's threshold are dropped before NMS, so there a per-label score can only
 * raise it.
 * Fails with -EINVAL (message names the offending entry) for an unknown label, a score outside 0..1 or an
 * empty entry; the previous filter then stays. No allocation; takes effect on the next frame.
 */
VIGIL_API int vigil_detector_set_label_filter(struct vigil_detector *detector, const char *spec);

/* ------------------------------------------------------------------------------------------------ */
/** @name Backend in use */

/** What vigil_detector_create() chose and measured. */
struct vigil_backend_info {
	enum vigil_backend backend;  /**< VIGIL_BACKEND_CPU or VIGIL_BACKEND_OPENCL (never AUTO) */
	double warmup_ms;            /**< the dummy run at create (0 for the CPU backend) */
	char device[256];            /**< OpenCL device "P:D name (platform, driver ...)", "" for the CPU */
	int launches_per_inference;  /**< OpenCL kernel launches per frame (0 for the CPU) */
	long read_bytes_per_frame;   /**< bytes read back from the device by the last frame (OpenCL) */
	long upload_bytes_per_frame; /**< frame bytes uploaded to the device by the last frame (OpenCL) */
};

/** Fills @p info for @p detector. Not per-frame critical; thread-compatible with detect(). */
VIGIL_API void vigil_detector_backend_info(const struct vigil_detector *detector, struct vigil_backend_info *info);

/** "auto", "cpu", "opencl" (NULL for another value). */
VIGIL_API const char *vigil_backend_name(enum vigil_backend backend);

/* ------------------------------------------------------------------------------------------------ */
/** @name Detection record (JSON) */

/**
 * Formats one frame's detections as the Vigil detection record, a single-line JSON object:
 * {"source", "frame", "pts_ns" (null when unknown), "width", "height", "model",
 *  "timing_ms": {"preprocess", "inference", "postprocess"},
 *  "detections": [{"label", "label_id", "score", "x", "y", "w", "h", "keypoints": [[x, y], ...],
 *                  "track_id" (only when tracked), "predicted": true (only for tracker predictions)}]}
 * Coordinates are frame pixels. Returns a string to release with vigil_free(), or NULL when out of
 * memory. Not per-frame safe (allocates); thread-safe.
 */
VIGIL_API char *vigil_detections_to_json(const struct vigil_detections *detections, const char *source,
					 int64_t frame_index, const char *model_name);

/** Frees memory returned by libvigil (vigil_detections_to_json). Accepts NULL. */
VIGIL_API void vigil_free(void *ptr);

/* ------------------------------------------------------------------------------------------------ */
/** @name Annotation: drawing detections and privacy masks into frames */

/** What vigil_frame_annotate() does with each detection. */
enum vigil_annotate_mode {
	/** Box outline (drawn inward from the box's rounded edges) in the label's colour, a "label 0.93" tag
	 * above the box (inside its top when there is no room above), keypoints as dots. */
	VIGIL_ANNOTATE_BOX = 0,
	/** Privacy mask: strong blur (three box-filter passes per direction) of every pixel the box touches,
	 * mixing only pixels inside the box, so nothing from outside leaks in and the result does not depend on
	 * the surroundings. */
	VIGIL_ANNOTATE_BLUR,
	/** Privacy mask: mosaic of square blocks, each set to its mean, anchored at the box's top-left corner
	 * (clipped to the frame). */
	VIGIL_ANNOTATE_PIXELATE,
	/** Privacy mask: every pixel the box touches set to fill_rgb. */
	VIGIL_ANNOTATE_FILL,
};

struct vigil_annotate_config {
	enum vigil_annotate_mode mode; /**< default VIGIL_ANNOTATE_BOX */
	int thickness;                 /**< BOX: outline width in pixels, 0..1024; 0 (default) = max(2, shorter
					    frame side / 300). Keypoint dots have radius thickness + 1. */
	int draw_labels;               /**< BOX: nonzero (default) draws the "label score" tag */
	int draw_keypoints;            /**< BOX: nonzero (default) draws the keypoints */
	uint32_t fill_rgb;             /**< FILL: colour 0xRRGGBB; the top byte is ignored (masks are opaque).
					    Default 0x000000, black */
	int pixelate_block;            /**< PIXELATE: block side in pixels, 0..16384; 0 (default) = per box,
					    max(4, longer box side / 8) */
	int blur_radius;               /**< BLUR: filter radius in pixels, 0..16384; 0 (default) = per box,
					    max(2, longer box side / 6) */
};

/** Fills @p config with the defaults (BOX, auto thickness, labels and keypoints on, black fill,
 * automatic block size and blur radius). */
VIGIL_API void vigil_annotate_config_init(struct vigil_annotate_config *config);

/**
 * Draws @p detections into @p frame IN PLACE, writing through frame->planes: the planes must be writable
 * (the const in struct vigil_frame is the detector's promise not to write; this function does write).
 * Every pixel format is supported, with odd sizes and padded strides; padding bytes are never touched.
 *
 * Coordinates are frame pixels (as the detector returns them). Boxes partly outside the frame are clipped,
 * boxes wholly outside are skipped, and boxes or keypoints with NaN or infinite coordinates are ignored.
 * Privacy masks (BLUR, PIXELATE, FILL) cover every pixel the box touches: [floor(x), ceil(x + w)) by
 * [floor(y), ceil(y + h)); they draw no tag and no keypoints. Detections are drawn lowest score first
 * (the items' order reversed), so that the strongest detection ends on top where they overlap.
 *
 * Colours are RGB; for YUV formats they are converted with the frame's colorimetry (BT.601 / BT.709,
 * limited or full range), for GRAY8 to BT.601 luma. With subsampled chroma (NV12, I420: 2x2; YUY2, UYVY:
 * 2x1), a shape covers every chroma sample it touches, so chroma of the neighbouring pixel in the same
 * chroma block changes with it. Tag text is written to luma only, over the tag's coloured background.
 * RGBA/BGRA alpha and RGBx/BGRx padding bytes of drawn and filled pixels are set to 255; blur and pixelate
 * treat them as another channel.
 *
 * @p config NULL means the defaults. Returns 0, -EINVAL for a NULL frame or detections, detections with
 * count > 0 and items NULL, or a config value out of range, or VIGIL_EFORMAT for a frame that the
 * detector would refuse (the same validation), each with a vigil_last_error() message; the frame is not
 * touched on failure.
 * Per-frame safe: no allocation, no I/O; BLUR uses 32 KiB of stack for line buffers. Thread-safe for
 * distinct frames.
 */
VIGIL_API int vigil_frame_annotate(const struct vigil_frame *frame, const struct vigil_detections *detections,
				   const struct vigil_annotate_config *config);

#ifdef __cplusplus
}
#endif

#endif
