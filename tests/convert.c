/* SPDX-License-Identifier: Apache-2.0
 * Test-only RGB -> any vigil format converter (see convert.h). Written for clarity, not speed. */
#include "convert.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD_BYTE 0xA5

/* BT.601 limited range from 8-bit RGB: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, etc. */
static void yuv601(const uint8_t *p, double *y, double *u, double *v)
{
	double r = p[0], g = p[1], b = p[2];

	*y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
	*u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
	*v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
}

static uint8_t to_u8(double v)
{
	v = floor(v + 0.5);
	return (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
}

void tc_rgb_to_yuv601(int r, int g, int b, uint8_t *y, uint8_t *u, uint8_t *v)
{
	uint8_t p[3] = { (uint8_t)r, (uint8_t)g, (uint8_t)b };
	double fy, fu, fv;

	yuv601(p, &fy, &fu, &fv);
	*y = to_u8(fy);
	*u = to_u8(fu);
	*v = to_u8(fv);
}

/* Mean U and V over the pixels [x, x + bw) x [y, y + bh) that lie inside the image. */
static void mean_uv(const uint8_t *rgb, int width, int height, int stride, int x, int y, int bw, int bh, uint8_t *u,
		    uint8_t *v)
{
	double su = 0.0, sv = 0.0, dy, du, dv;
	int n = 0;

	for (int yy = y; yy < y + bh && yy < height; yy++)
		for (int xx = x; xx < x + bw && xx < width; xx++) {
			yuv601(rgb + (size_t)yy * stride + (size_t)xx * 3, &dy, &du, &dv);
			su += du;
			sv += dv;
			n++;
		}
	*u = to_u8(su / n);
	*v = to_u8(sv / n);
}

static int alloc_plane(struct tc_frame *out, int p, int row_bytes, int rows, int pad)
{
	int stride = row_bytes + pad;

	out->planes[p] = malloc((size_t)stride * rows);
	if (!out->planes[p])
		return -ENOMEM;
	memset(out->planes[p], PAD_BYTE, (size_t)stride * rows);
	out->frame.planes[p] = out->planes[p];
	out->frame.strides[p] = stride;
	return 0;
}

int tc_convert(const uint8_t *rgb, int width, int height, int stride, enum vigil_pixel_format format, int pad,
	       struct tc_frame *out)
{
	int cw = (width + 1) / 2, ch = (height + 1) / 2, err = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!rgb || (int)format < 0 || (int)format >= VIGIL_FORMAT_COUNT || width < 1 || height < 1 ||
	    stride < 3 * width || pad < 0)
		return -EINVAL;
	out->frame.format = format;
	out->frame.width = width;
	out->frame.height = height;
	out->frame.colorimetry = VIGIL_COLOR_BT601_LIMITED;
	out->frame.pts_ns = -1;

	switch (format) {
	case VIGIL_FORMAT_NV12:
	case VIGIL_FORMAT_I420: {
		int nv12 = format == VIGIL_FORMAT_NV12;

		if ((err = alloc_plane(out, 0, width, height, pad)) ||
		    (err = alloc_plane(out, 1, nv12 ? 2 * cw : cw, ch, pad)) ||
		    (!nv12 && (err = alloc_plane(out, 2, cw, ch, pad))))
			goto fail_planes;
		for (int y = 0; y < height; y++)
			for (int x = 0; x < width; x++) {
				const uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;
				uint8_t yy, u, v;

				tc_rgb_to_yuv601(p[0], p[1], p[2], &yy, &u, &v);
				out->planes[0][(size_t)y * out->frame.strides[0] + x] = yy;
			}
		for (int y = 0; y < ch; y++)
			for (int x = 0; x < cw; x++) {
				uint8_t u, v;

				mean_uv(rgb, width, height, stride, 2 * x, 2 * y, 2, 2, &u, &v);
				if (nv12) {
					out->planes[1][(size_t)y * out->frame.strides[1] + 2 * x] = u;
					out->planes[1][(size_t)y * out->frame.strides[1] + 2 * x + 1] = v;
				} else {
					out->planes[1][(size_t)y * out->frame.strides[1] + x] = u;
					out->planes[2][(size_t)y * out->frame.strides[2] + x] = v;
				}
			}
		break;
	}
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY: {
		/* byte offsets of Y0, U, Y1, V in each 4-byte pair */
		int y0o = format == VIGIL_FORMAT_YUY2 ? 0 : 1, uo = format == VIGIL_FORMAT_YUY2 ? 1 : 0;
		int y1o = y0o + 2, vo = uo + 2;

		if ((err = alloc_plane(out, 0, 4 * cw, height, pad)))
			goto fail_planes;
		for (int y = 0; y < height; y++)
			for (int x = 0; x < cw; x++) {
				uint8_t *d = out->planes[0] + (size_t)y * out->frame.strides[0] + (size_t)x * 4;
				const uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 6;
				uint8_t yy, u, v;

				tc_rgb_to_yuv601(p[0], p[1], p[2], &yy, &u, &v);
				d[y0o] = yy;
				/* an odd width's last pair repeats its only pixel's luma */
				if (2 * x + 1 < width)
					tc_rgb_to_yuv601(p[3], p[4], p[5], &yy, &u, &v);
				d[y1o] = yy;
				mean_uv(rgb, width, height, stride, 2 * x, y, 2, 1, &d[uo], &d[vo]);
			}
		break;
	}
	case VIGIL_FORMAT_GRAY8:
		if ((err = alloc_plane(out, 0, width, height, pad)))
			goto fail_planes;
		for (int y = 0; y < height; y++)
			for (int x = 0; x < width; x++) {
				const uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;

				out->planes[0][(size_t)y * out->frame.strides[0] + x] =
				    to_u8(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
			}
		break;
	default: {
		/* packed RGB family: bytes per pixel, offsets of R and B, value of the fourth byte */
		int bgr = format == VIGIL_FORMAT_BGR || format == VIGIL_FORMAT_BGRA || format == VIGIL_FORMAT_BGRX;
		int bpp = format == VIGIL_FORMAT_RGB || format == VIGIL_FORMAT_BGR ? 3 : 4;
		uint8_t fourth = format == VIGIL_FORMAT_RGBA || format == VIGIL_FORMAT_BGRA ? 255 : 0;

		if ((err = alloc_plane(out, 0, bpp * width, height, pad)))
			goto fail_planes;
		for (int y = 0; y < height; y++)
			for (int x = 0; x < width; x++) {
				const uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;
				uint8_t *d = out->planes[0] + (size_t)y * out->frame.strides[0] + (size_t)x * bpp;

				d[bgr ? 2 : 0] = p[0];
				d[1] = p[1];
				d[bgr ? 0 : 2] = p[2];
				if (bpp == 4)
					d[3] = fourth;
			}
		break;
	}
	}
	return 0;

fail_planes:
	tc_frame_free(out);
	return err;
}

void tc_frame_free(struct tc_frame *f)
{
	if (!f)
		return;
	for (int p = 0; p < 3; p++)
		free(f->planes[p]);
	memset(f, 0, sizeof(*f));
}
