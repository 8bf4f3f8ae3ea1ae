/* SPDX-License-Identifier: Apache-2.0
 * MJPEG → I420 decoding (pipeline/mjpeg.c) on real JPEG frames: the test photos, and camera-style frames made
 * from them with libjpeg-turbo at 4:2:0, 4:2:2 (what most USB webcams send), 4:4:4, 4:4:0 and gray, with and
 * without Huffman tables (UVC cameras leave them out). Checked against libjpeg-turbo's own RGB decode converted
 * with the JFIF equations. Corrupt and truncated frames must give VIGIL_EIMAGE, never a crash. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpeg.h"
#include "testutil.h"
#include "vigil/vigil.h"

struct i420 {
	int w, h, cw, ch;
	uint8_t *buf;
	uint8_t *planes[3];
	int strides[3];
};

static void i420_alloc(struct i420 *f, int w, int h)
{
	f->w = w;
	f->h = h;
	f->cw = (w + 1) / 2;
	f->ch = (h + 1) / 2;
	/* odd strides on purpose: padding must be respected */
	f->strides[0] = w + 7;
	f->strides[1] = f->strides[2] = f->cw + 3;
	size_t ys = (size_t)f->strides[0] * h, cs = (size_t)f->strides[1] * f->ch;
	f->buf = malloc(ys + 2 * cs);
	ck_assert(f->buf);
	memset(f->buf, 0xee, ys + 2 * cs);
	f->planes[0] = f->buf;
	f->planes[1] = f->buf + ys;
	f->planes[2] = f->buf + ys + cs;
}

/* Compares the decode with libjpeg-turbo's RGB decode: Y per pixel, Cb/Cr per 2×2 block (JFIF, full range). */
static void check_against_rgb(const uint8_t *jpeg, size_t size, const struct i420 *f, int gray)
{
	tjhandle tj = tjInitDecompress();
	uint8_t *rgb = malloc((size_t)f->w * f->h * 3);
	ck_assert(tj && rgb);
	ck_assert_int_eq(tjDecompress2(tj, jpeg, (unsigned long)size, rgb, f->w, f->w * 3, f->h, TJPF_RGB, 0), 0);
	double ey = 0, ec = 0;
	int maxy = 0;
	for (int y = 0; y < f->h; y++)
		for (int x = 0; x < f->w; x++) {
			const uint8_t *p = rgb + ((size_t)y * f->w + x) * 3;
			double yy = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
			int d = abs((int)(yy + 0.5) - f->planes[0][(size_t)y * f->strides[0] + x]);
			ey += d;
			maxy = d > maxy ? d : maxy;
		}
	for (int y = 0; y < f->ch; y++)
		for (int x = 0; x < f->cw; x++) {
			double cb = 0, cr = 0;
			int n = 0;
			for (int dy = 0; dy < 2; dy++)
				for (int dx = 0; dx < 2; dx++) {
					int sx = 2 * x + dx < f->w ? 2 * x + dx : f->w - 1;
					int sy = 2 * y + dy < f->h ? 2 * y + dy : f->h - 1;
					const uint8_t *p = rgb + ((size_t)sy * f->w + sx) * 3;
					cb += 128 - 0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2];
					cr += 128 + 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2];
					n++;
				}
			ec += fabs(cb / n - f->planes[1][(size_t)y * f->strides[1] + x]);
			ec += fabs(cr / n - f->planes[2][(size_t)y * f->strides[2] + x]);
			if (gray) {
				ck_assert_int_eq(f->planes[1][(size_t)y * f->strides[1] + x], 128);
				ck_assert_int_eq(f->planes[2][(size_t)y * f->strides[2] + x], 128);
			}
		}
	ey /= (double)f->w * f->h;
	ec /= 2.0 * f->cw * f->ch;
	/* the RGB path clamps saturated colours, so single pixels may differ more; the mean may not */
	ck_assert_msg(ey < 1.0 && maxy <= 16, "luma differs: mean %.3f max %d", ey, maxy);
	ck_assert_msg(ec < 3.0, "chroma differs: mean %.3f", ec);
	/* padding untouched */
	ck_assert_int_eq(f->planes[0][f->w], 0xee);
	ck_assert_int_eq(f->planes[1][f->cw], 0xee);
	free(rgb);
	tjDestroy(tj);
}

/* A camera-style frame: a w×h window of a test photo, compressed by libjpeg-turbo with the given subsampling. */
static uint8_t *camera_frame(int w, int h, int subsamp, unsigned long *size)
{
	size_t fsize;
	uint8_t *file = tu_read_file(tu_data_path("faces/sample2.jpg"), &fsize);
	tjhandle d = tjInitDecompress(), c = tjInitCompress();
	int pw, ph, ss, cs;
	ck_assert_int_eq(tjDecompressHeader3(d, file, (unsigned long)fsize, &pw, &ph, &ss, &cs), 0);
	uint8_t *rgb = malloc((size_t)pw * ph * 3);
	ck_assert_int_eq(tjDecompress2(d, file, (unsigned long)fsize, rgb, pw, pw * 3, ph, TJPF_RGB, 0), 0);
	ck_assert(w <= pw && h <= ph);
	uint8_t *jpeg = NULL;
	*size = 0;
	const uint8_t *win = rgb + ((size_t)(ph - h) / 2 * pw + (size_t)(pw - w) / 2) * 3;
	ck_assert_int_eq(tjCompress2(c, win, w, pw * 3, h, TJPF_RGB, &jpeg, size, subsamp, 85, 0), 0);
	free(rgb);
	free(file);
	tjDestroy(d);
	tjDestroy(c);
	return jpeg;
}

START_TEST(test_photo)
{
	size_t size;
	uint8_t *jpeg = tu_read_file(tu_data_path("faces/sample1.jpg"), &size);
	tjhandle tj = tjInitDecompress();
	int w, h, ss, cs;
	ck_assert_int_eq(tjDecompressHeader3(tj, jpeg, (unsigned long)size, &w, &h, &ss, &cs), 0);
	tjDestroy(tj);
	struct vigil_mjpeg *dec;
	ck_assert_int_eq(vigil_mjpeg_create(1920, 1920, &dec), 0);
	struct i420 f;
	i420_alloc(&f, w, h);
	int r = vigil_mjpeg_decode(dec, jpeg, size, w, h, f.planes, f.strides);
	ck_assert_msg(r == 0, "%s", vigil_last_error());
	check_against_rgb(jpeg, size, &f, 0);
	free(f.buf);
	free(jpeg);
	vigil_mjpeg_destroy(dec);
}
END_TEST

static const int subsamps[] = { TJSAMP_420, TJSAMP_422, TJSAMP_444, TJSAMP_440, TJSAMP_GRAY };

START_TEST(test_camera_subsampling)
{
	int ss = subsamps[_i / 2];
	int w = _i % 2 ? 641 : 640, h = _i % 2 ? 359 : 480; /* odd sizes too */
	unsigned long size;
	uint8_t *jpeg = camera_frame(w, h, ss, &size);
	struct vigil_mjpeg *dec;
	ck_assert_int_eq(vigil_mjpeg_create(1280, 720, &dec), 0);
	struct i420 f;
	i420_alloc(&f, w, h);
	int r = vigil_mjpeg_decode(dec, jpeg, size, w, h, f.planes, f.strides);
	ck_assert_msg(r == 0, "subsampling %d %dx%d: %s", ss, w, h, vigil_last_error());
	check_against_rgb(jpeg, size, &f, ss == TJSAMP_GRAY);
	free(f.buf);
	tjFree(jpeg);
	vigil_mjpeg_destroy(dec);
}
END_TEST

/* UVC webcams send MJPEG without DHT segments: the decoder must use the standard tables. */
START_TEST(test_no_huffman_tables)
{
	unsigned long size;
	uint8_t *jpeg = camera_frame(640, 480, TJSAMP_422, &size);
	uint8_t *stripped = malloc(size);
	size_t n = 0, i = 0;
	int removed = 0;
	/* copy marker segments up to SOS, dropping DHT (FFC4); the rest (entropy data) verbatim */
	while (i + 4 <= size) {
		ck_assert_int_eq(jpeg[i], 0xff);
		int marker = jpeg[i + 1];
		if (marker == 0xd8) {
			memcpy(stripped + n, jpeg + i, 2);
			n += 2;
			i += 2;
			continue;
		}
		size_t len = 2 + ((size_t)jpeg[i + 2] << 8 | jpeg[i + 3]);
		if (marker == 0xda) {
			memcpy(stripped + n, jpeg + i, size - i);
			n += size - i;
			break;
		}
		if (marker == 0xc4)
			removed++;
		else {
			memcpy(stripped + n, jpeg + i, len);
			n += len;
		}
		i += len;
	}
	ck_assert_int_gt(removed, 0);
	struct vigil_mjpeg *dec;
	ck_assert_int_eq(vigil_mjpeg_create(640, 480, &dec), 0);
	struct i420 f;
	i420_alloc(&f, 640, 480);
	int r = vigil_mjpeg_decode(dec, stripped, n, 640, 480, f.planes, f.strides);
	ck_assert_msg(r == 0, "%s", vigil_last_error());
	check_against_rgb(jpeg, size, &f, 0); /* same pixels as the frame with its tables */
	free(f.buf);
	free(stripped);
	tjFree(jpeg);
	vigil_mjpeg_destroy(dec);
}
END_TEST

START_TEST(test_bad_frames)
{
	unsigned long size;
	uint8_t *jpeg = camera_frame(640, 480, TJSAMP_422, &size);
	struct vigil_mjpeg *dec;
	ck_assert_int_eq(vigil_mjpeg_create(640, 480, &dec), 0);
	struct i420 f;
	i420_alloc(&f, 640, 480);
	/* truncated, as a camera that lost USB packets delivers them */
	const double cuts[] = { 0.1, 0.5, 0.9, 0.999 };
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		size_t n = (size_t)(size * cuts[k]);
		int r = vigil_mjpeg_decode(dec, jpeg, n, 640, 480, f.planes, f.strides);
		ck_assert_msg(r == VIGIL_EIMAGE, "cut to %zu of %lu bytes gave %d", n, size, r);
		ck_assert(strlen(vigil_last_error()) > 0);
	}
	/* corrupt entropy data: every result must be a clean decode or VIGIL_EIMAGE; most are errors */
	uint8_t *bad = malloc(size);
	uint64_t seed = 7;
	int errors = 0;
	for (int k = 0; k < 40; k++) {
		memcpy(bad, jpeg, size);
		for (int j = 0; j < 8; j++)
			bad[size / 2 + tu_rand(&seed) % (size / 2 - 2)] ^= (uint8_t)(1 + tu_rand(&seed) % 255);
		int r = vigil_mjpeg_decode(dec, bad, size, 640, 480, f.planes, f.strides);
		ck_assert_msg(r == 0 || r == VIGIL_EIMAGE, "corrupt frame %d gave %d", k, r);
		errors += r == VIGIL_EIMAGE;
	}
	ck_assert_msg(errors > 0, "no corrupt frame was reported");
	/* not JPEG at all, empty, wrong size for the stream, larger than the decoder */
	memset(bad, 0x5a, size);
	ck_assert_int_eq(vigil_mjpeg_decode(dec, bad, size, 640, 480, f.planes, f.strides), VIGIL_EIMAGE);
	ck_assert_int_eq(vigil_mjpeg_decode(dec, jpeg, 0, 640, 480, f.planes, f.strides), VIGIL_EIMAGE);
	ck_assert_int_eq(vigil_mjpeg_decode(dec, jpeg, size, 320, 240, f.planes, f.strides), VIGIL_EIMAGE);
	ck_assert_msg(strstr(vigil_last_error(), "640x480"), "%s", vigil_last_error());
	struct vigil_mjpeg *small;
	ck_assert_int_eq(vigil_mjpeg_create(320, 240, &small), 0);
	ck_assert_int_eq(vigil_mjpeg_decode(small, jpeg, size, 640, 480, f.planes, f.strides), VIGIL_EIMAGE);
	vigil_mjpeg_destroy(small);
	/* still good afterwards */
	ck_assert_int_eq(vigil_mjpeg_decode(dec, jpeg, size, 640, 480, f.planes, f.strides), 0);
	check_against_rgb(jpeg, size, &f, 0);
	ck_assert_int_eq(vigil_mjpeg_create(0, 10, &small), -EINVAL);
	vigil_mjpeg_destroy(NULL);
	free(bad);
	free(f.buf);
	tjFree(jpeg);
	vigil_mjpeg_destroy(dec);
}
END_TEST

/* Frames from GStreamer's jpegenc (tests/data/mjpeg, 640×480 4:2:2), one with its DHT segments stripped. */
START_TEST(test_jpegenc_frames)
{
	size_t size, size2;
	uint8_t *jpeg = tu_read_file(tu_data_path("mjpeg/frame_422.jpg"), &size);
	uint8_t *nodht = tu_read_file(tu_data_path("mjpeg/frame_422_nodht.jpg"), &size2);
	ck_assert_uint_lt(size2, size);
	struct vigil_mjpeg *dec;
	ck_assert_int_eq(vigil_mjpeg_create(640, 480, &dec), 0);
	struct i420 f;
	i420_alloc(&f, 640, 480);
	ck_assert_msg(vigil_mjpeg_decode(dec, jpeg, size, 640, 480, f.planes, f.strides) == 0, "%s",
		      vigil_last_error());
	check_against_rgb(jpeg, size, &f, 0);
	memset(f.buf, 0xee, (size_t)f.strides[0] * 480 + 2 * (size_t)f.strides[1] * 240);
	ck_assert_msg(vigil_mjpeg_decode(dec, nodht, size2, 640, 480, f.planes, f.strides) == 0, "%s",
		      vigil_last_error());
	check_against_rgb(jpeg, size, &f, 0);
	free(f.buf);
	free(jpeg);
	free(nodht);
	vigil_mjpeg_destroy(dec);
}
END_TEST

static Suite *mjpeg_suite(void)
{
	Suite *s = suite_create("mjpeg");
	TCase *tc = tcase_create("decode");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_photo);
	tcase_add_loop_test(tc, test_camera_subsampling, 0, 2 * (int)(sizeof(subsamps) / sizeof(subsamps[0])));
	tcase_add_test(tc, test_no_huffman_tables);
	tcase_add_test(tc, test_jpegenc_frames);
	tcase_add_test(tc, test_bad_frames);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(mjpeg_suite(), CK_FORK);
}
