/* SPDX-License-Identifier: Apache-2.0
 * MJPEG → I420 with TurboJPEG's planar YUV decode (see mjpeg.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mjpeg.h"
#include "vigil/vigil.h"

#ifdef VIGIL_HAVE_TURBOJPEG
#include <turbojpeg.h>

struct vigil_mjpeg {
	tjhandle tj;
	int max_width, max_height;
	uint8_t *scratch; /* padded planes when the caller's cannot take TurboJPEG's output directly */
};

int vigil_mjpeg_create(int max_width, int max_height, struct vigil_mjpeg **out)
{
	*out = NULL;
	if (max_width < 1 || max_height < 1 || max_width > VIGIL_MAX_FRAME_SIDE || max_height > VIGIL_MAX_FRAME_SIDE)
		return vigil_error(-EINVAL, "MJPEG decoder size %dx%d out of range", max_width, max_height);
	struct vigil_mjpeg *d = calloc(1, sizeof(*d));
	if (!d)
		return vigil_error(-ENOMEM, "out of memory");
	d->max_width = max_width;
	d->max_height = max_height;
	/* three planes padded to whole MCUs (up to 16 pixels more each way) */
	d->scratch = malloc(3 * ((size_t)max_width + 16) * ((size_t)max_height + 16));
	d->tj = tjInitDecompress();
	if (!d->scratch || !d->tj) {
		vigil_mjpeg_destroy(d);
		return vigil_error(-ENOMEM, "out of memory for an MJPEG decoder");
	}
	*out = d;
	return 0;
}

void vigil_mjpeg_destroy(struct vigil_mjpeg *d)
{
	if (!d)
		return;
	if (d->tj)
		tjDestroy(d->tj);
	free(d->scratch);
	free(d);
}

/* Averages a chroma plane of cw × ch down to the I420 plane (ow × oh), with fx, fy ∈ {1, 2} source samples per
 * destination sample in each direction (edges replicate). */
static void downsample(const uint8_t *src, int sstride, int cw, int ch, int fx, int fy, uint8_t *dst, int dstride,
		       int ow, int oh)
{
	for (int y = 0; y < oh; y++) {
		const uint8_t *r0 = src + (size_t)(fy * y < ch ? fy * y : ch - 1) * sstride;
		const uint8_t *r1 = src + (size_t)(fy * y + fy - 1 < ch ? fy * y + fy - 1 : ch - 1) * sstride;
		uint8_t *o = dst + (size_t)y * dstride;
		for (int x = 0; x < ow; x++) {
			int x0 = fx * x < cw ? fx * x : cw - 1, x1 = fx * x + fx - 1 < cw ? fx * x + fx - 1 : cw - 1;
			o[x] = (uint8_t)((r0[x0] + r0[x1] + r1[x0] + r1[x1] + 2) >> 2);
		}
	}
}

int vigil_mjpeg_decode(struct vigil_mjpeg *d, const uint8_t *data, size_t size, int width, int height,
		       uint8_t *const planes[3], const int strides[3])
{
	int w, h, subsamp, colorspace;
	if (!data || size < 4 || size > (size_t)0x7fffffff)
		return vigil_error(VIGIL_EIMAGE, "MJPEG frame of %zu bytes", size);
	if (tjDecompressHeader3(d->tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0)
		return vigil_error(VIGIL_EIMAGE, "MJPEG frame: %s", tjGetErrorStr2(d->tj));
	if (w != width || h != height)
		return vigil_error(VIGIL_EIMAGE, "MJPEG frame is %dx%d, the stream is %dx%d", w, h, width, height);
	if (w > d->max_width || h > d->max_height)
		return vigil_error(VIGIL_EIMAGE, "MJPEG frame %dx%d exceeds the decoder's %dx%d", w, h, d->max_width,
				   d->max_height);
	int fx, fy;
	switch (subsamp) {
	case TJSAMP_420:
		fx = fy = 1; /* decoded in place */
		break;
	case TJSAMP_422:
		fx = 1;
		fy = 2;
		break;
	case TJSAMP_444:
		fx = fy = 2;
		break;
	case TJSAMP_440:
		fx = 2;
		fy = 1;
		break;
	case TJSAMP_GRAY:
		fx = fy = 0;
		break;
	default:
		return vigil_error(VIGIL_EUNSUPPORTED, "MJPEG chroma subsampling %d is not supported", subsamp);
	}
	int cw = (width + 1) / 2, ch = (height + 1) / 2;
	/* TurboJPEG writes whole MCUs: planes padded to tjPlaneWidth/Height. Decode straight into the caller's planes
	 * only when that padding is nil and the chroma is already 4:2:0; otherwise into scratch, then copy/average. */
	int yw = tjPlaneWidth(0, width, subsamp), yh = tjPlaneHeight(0, height, subsamp);
	int sw = fx ? tjPlaneWidth(1, width, subsamp) : 0, sh = fx ? tjPlaneHeight(1, height, subsamp) : 0;
	int direct = yw == width && yh == height && (fx == 0 || (fx == 1 && fy == 1 && sw == cw && sh == ch));
	unsigned char *dst[3] = { planes[0], planes[1], planes[2] };
	int dstr[3] = { strides[0], strides[1], strides[2] };
	if (!direct) {
		dst[0] = d->scratch;
		dstr[0] = yw;
		dst[1] = d->scratch + (size_t)yw * (size_t)yh;
		dst[2] = dst[1] + (size_t)sw * (size_t)sh;
		dstr[1] = dstr[2] = sw;
	}
	if (fx == 0) {
		dst[1] = dst[2] = NULL;
		dstr[1] = dstr[2] = 0;
	}
	if (tjDecompressToYUVPlanes(d->tj, data, (unsigned long)size, dst, width, dstr, height, TJFLAG_STOPONWARNING) !=
	    0)
		return vigil_error(VIGIL_EIMAGE, "corrupt MJPEG frame: %s", tjGetErrorStr2(d->tj));
	if (!direct)
		for (int y = 0; y < height; y++)
			memcpy(planes[0] + (size_t)y * strides[0], dst[0] + (size_t)y * yw, (size_t)width);
	if (fx == 0) {
		for (int y = 0; y < ch; y++) {
			memset(planes[1] + (size_t)y * strides[1], 128, (size_t)cw);
			memset(planes[2] + (size_t)y * strides[2], 128, (size_t)cw);
		}
	} else if (!direct) {
		/* the scratch planes' real content is the chroma size of width × height, not the padded one */
		int rw = fx == 1 ? cw : width, rh = fy == 1 ? ch : height;
		for (int p = 1; p < 3; p++)
			downsample(dst[p], sw, rw, rh, fx, fy, planes[p], strides[p], cw, ch);
	}
	return 0;
}

#else

struct vigil_mjpeg {
	int unused;
};

int vigil_mjpeg_create(int max_width, int max_height, struct vigil_mjpeg **out)
{
	*out = NULL;
	return vigil_error(VIGIL_EUNSUPPORTED, "libvigil was built without libturbojpeg: no MJPEG decoding");
}

int vigil_mjpeg_decode(struct vigil_mjpeg *dec, const uint8_t *data, size_t size, int width, int height,
		       uint8_t *const planes[3], const int strides[3])
{
	return vigil_error(VIGIL_EUNSUPPORTED, "libvigil was built without libturbojpeg: no MJPEG decoding");
}

void vigil_mjpeg_destroy(struct vigil_mjpeg *dec)
{
}

#endif
