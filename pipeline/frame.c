/* SPDX-License-Identifier: Apache-2.0
 * Frame descriptions: format names, plane geometry, tight-buffer layout and validation. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "preprocess.h"
#include "vigil/vigil.h"

/* GStreamer's names, so that caps strings and CLI options read the same. */
static const char *const format_names[VIGIL_FORMAT_COUNT] = {
	[VIGIL_FORMAT_NV12] = "NV12", [VIGIL_FORMAT_I420] = "I420",   [VIGIL_FORMAT_YUY2] = "YUY2",
	[VIGIL_FORMAT_UYVY] = "UYVY", [VIGIL_FORMAT_RGB] = "RGB",     [VIGIL_FORMAT_BGR] = "BGR",
	[VIGIL_FORMAT_RGBA] = "RGBA", [VIGIL_FORMAT_BGRA] = "BGRA",   [VIGIL_FORMAT_RGBX] = "RGBx",
	[VIGIL_FORMAT_BGRX] = "BGRx", [VIGIL_FORMAT_GRAY8] = "GRAY8",
};

static int format_valid(int format)
{
	return format >= 0 && format < VIGIL_FORMAT_COUNT;
}

const char *vigil_format_name(enum vigil_pixel_format format)
{
	return format_valid((int)format) ? format_names[format] : NULL;
}

int vigil_format_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int f = 0; f < VIGIL_FORMAT_COUNT; f++)
		if (strcasecmp(name, format_names[f]) == 0)
			return f;
	/* V4L2 and FFmpeg call the Y0 U Y1 V layout YUYV. */
	if (strcasecmp(name, "YUYV") == 0)
		return VIGIL_FORMAT_YUY2;
	return -1;
}

static int num_planes(enum vigil_pixel_format format)
{
	switch (format) {
	case VIGIL_FORMAT_NV12:
		return 2;
	case VIGIL_FORMAT_I420:
		return 3;
	default:
		return 1;
	}
}

/* Bytes that one row of plane @p plane needs for a frame @p width pixels wide. Chroma sizes round up,
 * so an odd width still has a chroma sample for its last column. */
static int plane_row_bytes(enum vigil_pixel_format format, int plane, int width)
{
	int half = (width + 1) / 2;

	switch (format) {
	case VIGIL_FORMAT_NV12:
		return plane == 0 ? width : half * 2;
	case VIGIL_FORMAT_I420:
		return plane == 0 ? width : half;
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY:
		return half * 4;
	case VIGIL_FORMAT_RGB:
	case VIGIL_FORMAT_BGR:
		return width * 3;
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_RGBX:
	case VIGIL_FORMAT_BGRX:
		return width * 4;
	case VIGIL_FORMAT_GRAY8:
	default:
		return width;
	}
}

static int plane_rows(enum vigil_pixel_format format, int plane, int height)
{
	if (plane > 0 && (format == VIGIL_FORMAT_NV12 || format == VIGIL_FORMAT_I420))
		return (height + 1) / 2;
	return height;
}

static int is_yuv(enum vigil_pixel_format format)
{
	return format == VIGIL_FORMAT_NV12 || format == VIGIL_FORMAT_I420 || format == VIGIL_FORMAT_YUY2 ||
	       format == VIGIL_FORMAT_UYVY;
}

long vigil_frame_init_packed(struct vigil_frame *frame, enum vigil_pixel_format format, int width, int height,
			     const uint8_t *data)
{
	long total = 0;

	if (!format_valid((int)format))
		return vigil_error(VIGIL_EFORMAT, "pixel format %d is not one of the %d supported formats", (int)format,
				   VIGIL_FORMAT_COUNT);
	if (width < 1 || height < 1 || width > VIGIL_MAX_FRAME_SIDE || height > VIGIL_MAX_FRAME_SIDE)
		return vigil_error(VIGIL_EFORMAT, "frame size %dx%d is outside 1x1..%dx%d", width, height,
				   VIGIL_MAX_FRAME_SIDE, VIGIL_MAX_FRAME_SIDE);
	if (frame) {
		frame->format = format;
		frame->width = width;
		frame->height = height;
		frame->colorimetry = VIGIL_COLOR_BT601_LIMITED;
		frame->pts_ns = -1;
		frame->dmabuf = NULL;
	}
	for (int p = 0; p < 3; p++) {
		int used = p < num_planes(format);
		int stride = used ? plane_row_bytes(format, p, width) : 0;

		if (frame) {
			frame->planes[p] = used && data ? data + total : NULL;
			frame->strides[p] = stride;
		}
		/* 4 * 16384 * 16384 = 2^30: fits a 32-bit long too */
		total += (long)stride * plane_rows(format, p, height);
	}
	return total;
}

/* A DMABUF description: an open fd, every plane inside the buffer (what an OpenCL import reads). */
static int dmabuf_validate(const struct vigil_frame *frame, const char *name)
{
	const struct vigil_dmabuf *d = frame->dmabuf;
	struct stat st;

	if (d->fd < 0 || fstat(d->fd, &st) < 0)
		return vigil_error(-EBADF, "%s frame: DMABUF fd %d is not an open file descriptor", name, d->fd);
	if (d->size == 0 || (S_ISREG(st.st_mode) && (long long)d->size > (long long)st.st_size))
		return vigil_error(-EINVAL, "%s frame: DMABUF fd %d has size %zu, the buffer holds %lld bytes", name,
				   d->fd, d->size, (long long)st.st_size);
	for (int p = 0; p < num_planes(frame->format); p++) {
		const size_t rows = (size_t)plane_rows(frame->format, p, frame->height);
		const size_t need =
		    (rows - 1) * (size_t)frame->strides[p] + (size_t)plane_row_bytes(frame->format, p, frame->width);

		if (d->offsets[p] > d->size || need > d->size - d->offsets[p] || d->offsets[p] > INT32_MAX)
			return vigil_error(-EINVAL,
					   "%s frame: DMABUF fd %d plane %d (offset %zu, %zu bytes) is outside its %zu "
					   "bytes",
					   name, d->fd, p, d->offsets[p], need, d->size);
	}
	return 0;
}

int vigil_frame_validate(const struct vigil_frame *frame)
{
	const char *name;

	if (!frame)
		return vigil_error(-EINVAL, "frame is NULL");
	if (!format_valid((int)frame->format))
		return vigil_error(VIGIL_EFORMAT, "pixel format %d is not one of the %d supported formats",
				   (int)frame->format, VIGIL_FORMAT_COUNT);
	name = format_names[frame->format];
	if (frame->width < 1 || frame->height < 1 || frame->width > VIGIL_MAX_FRAME_SIDE ||
	    frame->height > VIGIL_MAX_FRAME_SIDE)
		return vigil_error(VIGIL_EFORMAT, "%s frame size %dx%d is outside 1x1..%dx%d", name, frame->width,
				   frame->height, VIGIL_MAX_FRAME_SIDE, VIGIL_MAX_FRAME_SIDE);
	for (int p = 0; p < num_planes(frame->format); p++) {
		int need = plane_row_bytes(frame->format, p, frame->width);

		if (!frame->planes[p])
			return vigil_error(VIGIL_EFORMAT, "%s plane %d is NULL (the format has %d planes)", name, p,
					   num_planes(frame->format));
		if (frame->strides[p] < need)
			return vigil_error(VIGIL_EFORMAT,
					   "%s plane %d stride %d is less than the %d bytes a %d-pixel row needs", name,
					   p, frame->strides[p], need, frame->width);
	}
	if (is_yuv(frame->format) &&
	    ((int)frame->colorimetry < VIGIL_COLOR_BT601_LIMITED || (int)frame->colorimetry > VIGIL_COLOR_BT709_FULL))
		return vigil_error(VIGIL_EFORMAT, "%s frame colorimetry %d is not one of the 4 supported (0..3)", name,
				   (int)frame->colorimetry);
	return frame->dmabuf ? dmabuf_validate(frame, name) : 0;
}
