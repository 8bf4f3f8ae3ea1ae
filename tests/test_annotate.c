/* SPDX-License-Identifier: Apache-2.0
 * vigil_frame_annotate: for every pixel format and every mode, on random frames with padded rows (guard
 * bytes) in planes allocated to the byte: what is inside a box changes as the mode says (outline colour,
 * blur variance, constant mosaic blocks holding their mean, fill colour), and every byte that covers no
 * pixel of the box (or of its tag) is unchanged, padding included. Chroma samples shared with the box
 * may change: the test maps every byte of every plane back to the pixels it covers, independently of the
 * library's layout tables. Tiny frames, boxes outside the frame, NaN and absurd coordinates, bad
 * arguments. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "testutil.h"
#include "vigil/vigil.h"

static const enum vigil_pixel_format all_formats[] = {
	VIGIL_FORMAT_NV12, VIGIL_FORMAT_I420, VIGIL_FORMAT_YUY2,  VIGIL_FORMAT_UYVY,
	VIGIL_FORMAT_RGB,  VIGIL_FORMAT_BGR,  VIGIL_FORMAT_RGBA,  VIGIL_FORMAT_BGRA,
	VIGIL_FORMAT_RGBX, VIGIL_FORMAT_BGRX, VIGIL_FORMAT_GRAY8,
};
#define N_FORMATS ((int)(sizeof(all_formats) / sizeof(all_formats[0])))
#define N_MODES 4

static const char *const mode_names[N_MODES] = { "box", "blur", "pixelate", "fill" };

/* ---- frames ------------------------------------------------------------------------------------------ */

static int plane_count(enum vigil_pixel_format f)
{
	return f == VIGIL_FORMAT_NV12 ? 2 : f == VIGIL_FORMAT_I420 ? 3 : 1;
}

static int plane_rows(const struct vigil_frame *f, int p)
{
	return p > 0 ? (f->height + 1) / 2 : f->height;
}

static size_t plane_bytes(const struct vigil_frame *f, int p)
{
	return (size_t)f->strides[p] * (size_t)plane_rows(f, p);
}

/* A random frame of @p format, rows padded with @p pad guard bytes (tests/convert.c: 0xA5). */
static void random_frame(struct tc_frame *tf, enum vigil_pixel_format format, int w, int h, int pad, uint64_t seed)
{
	uint8_t *rgb = malloc((size_t)w * h * 3);

	ck_assert_ptr_nonnull(rgb);
	seed = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t k = 0; k < (size_t)w * h * 3; k++)
		rgb[k] = (uint8_t)(tu_rand(&seed) >> 56);
	ck_assert_int_eq(tc_convert(rgb, w, h, w * 3, format, pad, tf), 0);
	free(rgb);
}

struct snapshot {
	uint8_t *planes[3];
};

static void snap(const struct vigil_frame *f, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int p = 0; p < plane_count(f->format); p++) {
		s->planes[p] = malloc(plane_bytes(f, p));
		ck_assert_ptr_nonnull(s->planes[p]);
		memcpy(s->planes[p], f->planes[p], plane_bytes(f, p));
	}
}

/* The snapshot as a frame of the same geometry, to read the original pixels back. */
static struct vigil_frame snap_frame(const struct vigil_frame *f, const struct snapshot *s)
{
	struct vigil_frame o = *f;

	for (int p = 0; p < 3; p++)
		o.planes[p] = s->planes[p];
	return o;
}

static void snap_free(struct snapshot *s)
{
	for (int p = 0; p < 3; p++)
		free(s->planes[p]);
}

/* ---- an independent map from bytes to pixels ----------------------------------------------------------- */

struct prect {
	int x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
};

/* The pixels that byte @p bx of row @p row of plane @p p describes; returns 0 for bytes that describe no
 * pixel (row padding, the missing second luma of an odd-width YUY2/UYVY row). */
static int byte_pixels(const struct vigil_frame *f, int p, int bx, int row, struct prect *out)
{
	const int W = f->width;
	int x0, x1, y0 = row, y1 = row + 1;

	switch (f->format) {
	case VIGIL_FORMAT_NV12:
	case VIGIL_FORMAT_I420: {
		const int cw = (W + 1) / 2, per = f->format == VIGIL_FORMAT_NV12 ? 2 : 1;

		if (p == 0) {
			x0 = bx;
			x1 = bx + 1;
			if (bx >= W)
				return 0;
			break;
		}
		if (bx >= cw * per)
			return 0;
		x0 = 2 * (bx / per);
		x1 = x0 + 2;
		y0 = 2 * row;
		y1 = y0 + 2;
		break;
	}
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY: {
		const int m = bx / 4, k = bx % 4;
		const int is_luma = f->format == VIGIL_FORMAT_YUY2 ? (k % 2 == 0) : (k % 2 == 1);

		if (m >= (W + 1) / 2)
			return 0;
		if (is_luma) {
			x0 = 2 * m + k / 2;
			x1 = x0 + 1;
			if (x0 >= W)
				return 0;
		} else {
			x0 = 2 * m;
			x1 = x0 + 2;
		}
		break;
	}
	case VIGIL_FORMAT_RGB:
	case VIGIL_FORMAT_BGR:
		if (bx >= 3 * W)
			return 0;
		x0 = bx / 3;
		x1 = x0 + 1;
		break;
	case VIGIL_FORMAT_GRAY8:
		if (bx >= W)
			return 0;
		x0 = bx;
		x1 = bx + 1;
		break;
	default:
		if (bx >= 4 * W)
			return 0;
		x0 = bx / 4;
		x1 = x0 + 1;
		break;
	}
	*out = (struct prect){ x0, y0, x1, y1 };
	return 1;
}

static int intersects(const struct prect *a, const struct prect *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Every byte of every plane that covers none of the @p n allowed pixel rectangles equals the snapshot. */
static void check_outside_unchanged(const struct vigil_frame *f, const struct snapshot *before,
				    const struct prect *allowed, int n, const char *what)
{
	for (int p = 0; p < plane_count(f->format); p++)
		for (int row = 0; row < plane_rows(f, p); row++)
			for (int bx = 0; bx < f->strides[p]; bx++) {
				const size_t at = (size_t)row * f->strides[p] + bx;
				struct prect px;
				int may_change = 0;

				if (f->planes[p][at] == before->planes[p][at])
					continue;
				if (byte_pixels(f, p, bx, row, &px))
					for (int i = 0; i < n; i++)
						may_change |= intersects(&px, &allowed[i]);
				ck_assert_msg(may_change, "%s %s %dx%d: plane %d row %d byte %d changed %d -> %d", what,
					      vigil_format_name(f->format), f->width, f->height, p, row, bx,
					      before->planes[p][at], f->planes[p][at]);
			}
}

static void check_unchanged(const struct vigil_frame *f, const struct snapshot *before, const char *what)
{
	check_outside_unchanged(f, before, NULL, 0, what);
}

/* ---- reading pixels back --------------------------------------------------------------------------------- */

/* A pixel's samples in a fixed order: YUV formats Y, U, V; RGB formats R, G, B and the fourth byte when there
 * is one; GRAY8 the gray value. */
struct px {
	int n;
	int v[4];
};

static const uint8_t *at(const struct vigil_frame *f, int p, int x, int y)
{
	return f->planes[p] + (size_t)y * f->strides[p] + x;
}

static struct px read_px(const struct vigil_frame *f, int x, int y)
{
	struct px o = { 0 };
	const uint8_t *q;

	switch (f->format) {
	case VIGIL_FORMAT_NV12:
		o = (struct px){ 3, { *at(f, 0, x, y), *at(f, 1, x / 2 * 2, y / 2), *at(f, 1, x / 2 * 2 + 1, y / 2) } };
		break;
	case VIGIL_FORMAT_I420:
		o = (struct px){ 3, { *at(f, 0, x, y), *at(f, 1, x / 2, y / 2), *at(f, 2, x / 2, y / 2) } };
		break;
	case VIGIL_FORMAT_YUY2:
		q = at(f, 0, x / 2 * 4, y);
		o = (struct px){ 3, { q[(x % 2) * 2], q[1], q[3] } };
		break;
	case VIGIL_FORMAT_UYVY:
		q = at(f, 0, x / 2 * 4, y);
		o = (struct px){ 3, { q[(x % 2) * 2 + 1], q[0], q[2] } };
		break;
	case VIGIL_FORMAT_RGB:
		q = at(f, 0, x * 3, y);
		o = (struct px){ 3, { q[0], q[1], q[2] } };
		break;
	case VIGIL_FORMAT_BGR:
		q = at(f, 0, x * 3, y);
		o = (struct px){ 3, { q[2], q[1], q[0] } };
		break;
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_RGBX:
		q = at(f, 0, x * 4, y);
		o = (struct px){ 4, { q[0], q[1], q[2], q[3] } };
		break;
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_BGRX:
		q = at(f, 0, x * 4, y);
		o = (struct px){ 4, { q[2], q[1], q[0], q[3] } };
		break;
	case VIGIL_FORMAT_GRAY8:
	default:
		o = (struct px){ 1, { *at(f, 0, x, y) } };
		break;
	}
	return o;
}

static int is_yuv(enum vigil_pixel_format f)
{
	return f == VIGIL_FORMAT_NV12 || f == VIGIL_FORMAT_I420 || f == VIGIL_FORMAT_YUY2 || f == VIGIL_FORMAT_UYVY;
}

/* What an opaque RGB colour reads back as, in read_px's order (BT.601 limited for YUV frames). */
static struct px expected(enum vigil_pixel_format f, int r, int g, int b)
{
	uint8_t y, u, v;

	if (is_yuv(f)) {
		tc_rgb_to_yuv601(r, g, b, &y, &u, &v);
		return (struct px){ 3, { y, u, v } };
	}
	if (f == VIGIL_FORMAT_GRAY8)
		return (struct px){ 1, { (int)lround(0.299 * r + 0.587 * g + 0.114 * b) } };
	if (f == VIGIL_FORMAT_RGB || f == VIGIL_FORMAT_BGR)
		return (struct px){ 3, { r, g, b } };
	return (struct px){ 4, { r, g, b, 255 } };
}

static void assert_px(const struct vigil_frame *f, int x, int y, struct px want, int tol, const char *what)
{
	struct px got = read_px(f, x, y);

	for (int i = 0; i < got.n; i++)
		ck_assert_msg(abs(got.v[i] - want.v[i]) <= tol, "%s %s at (%d,%d) sample %d: %d, expected %d", what,
			      vigil_format_name(f->format), x, y, i, got.v[i], want.v[i]);
}

static int px_equal(struct px a, struct px b)
{
	if (a.n != b.n)
		return 0;
	for (int i = 0; i < a.n; i++)
		if (a.v[i] != b.v[i])
			return 0;
	return 1;
}

static struct vigil_detection make_det(float x, float y, float w, float h, float score, const char *label)
{
	struct vigil_detection d;

	memset(&d, 0, sizeof(d));
	d.label = label;
	d.score = score;
	d.x = x;
	d.y = y;
	d.w = w;
	d.h = h;
	d.track_id = -1;
	return d;
}

static struct vigil_detections one(struct vigil_detection *d, const struct vigil_frame *f)
{
	return (struct vigil_detections){ .count = 1, .items = d, .frame_width = f->width, .frame_height = f->height };
}

/* ---- every format x every mode -------------------------------------------------------------------------- */

/* 101x77 (odd both ways) with 5 guard bytes a row; a box with fractional edges at odd and even pixels. */
#define FW 101
#define FH 77
#define BX 20.3f
#define BY 21.6f
#define BW 40.4f
#define BH 30.1f
/* the pixels a mask covers: floor / ceil of the box edges */
static const struct prect mask_px = { 20, 21, 61, 52 };

START_TEST(test_modes)
{
	const enum vigil_pixel_format format = all_formats[_i / N_MODES];
	const int mode = _i % N_MODES;
	struct tc_frame tf;
	struct snapshot before;
	struct vigil_frame orig;
	struct vigil_annotate_config cfg;
	struct vigil_detection d = make_det(BX, BY, BW, BH, 0.93f, "face");
	struct vigil_detections set;
	char what[64];

	snprintf(what, sizeof(what), "%s", mode_names[mode]);
	random_frame(&tf, format, FW, FH, 5, (uint64_t)_i);
	set = one(&d, &tf.frame);
	snap(&tf.frame, &before);
	orig = snap_frame(&tf.frame, &before);
	vigil_annotate_config_init(&cfg);
	cfg.mode = (enum vigil_annotate_mode)mode;
	cfg.pixelate_block = 6;
	cfg.fill_rgb = 0xFF3366CC; /* alpha byte ignored */
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);

	if (mode == VIGIL_ANNOTATE_BOX) {
		/* rounded edges: x 20..61 (lround 60.7), y 22..52 (lround 51.7); 2 px outline on a small frame; the
		 * tag "face 0.93" (9 glyphs of 6 px + 1) sits on the 9 rows above the box */
		const struct prect box = { 20, 22, 61, 52 }, tag = { 20, 22 - 9, 20 + 9 * 6 + 1, 22 };
		const struct prect allowed[] = { box, tag };
		const struct px green = expected(format, 0, 230, 64); /* label 0's colour */
		int ink = 0;

		check_outside_unchanged(&tf.frame, &before, allowed, 2, what);
		for (int t = 0; t < 2; t++) {
			assert_px(&tf.frame, 40 + t, box.y0 + t, green, 0, "top edge");
			assert_px(&tf.frame, 40 + t, box.y1 - 1 - t, green, 0, "bottom edge");
			assert_px(&tf.frame, box.x0 + t, 37, green, 0, "left edge");
			assert_px(&tf.frame, box.x1 - 1 - t, 37, green, 0, "right edge");
		}
		/* inside the outline (away from chroma shared with it) nothing changes: no keypoints here */
		for (int y = box.y0 + 4; y < box.y1 - 4; y++)
			for (int x = box.x0 + 4; x < box.x1 - 4; x++)
				ck_assert(px_equal(read_px(&tf.frame, x, y), read_px(&orig, x, y)));
		/* the tag: box-coloured background with ink of another luma */
		for (int y = tag.y0; y < tag.y1; y++)
			for (int x = tag.x0; x < tag.x1; x++) {
				const struct px q = read_px(&tf.frame, x, y);

				ink += !px_equal(q, green);
				/* text is luma only: the tag's chroma stays the box colour under the glyphs */
				if (is_yuv(format))
					ck_assert_msg(q.v[1] == green.v[1] && q.v[2] == green.v[2],
						      "%s tag chroma at (%d,%d): %d,%d", vigil_format_name(format), x,
						      y, q.v[1], q.v[2]);
			}
		ck_assert_msg(ink > 40 && ink < 9 * 55 / 2, "%s: %d ink pixels in the tag", vigil_format_name(format),
			      ink);
	} else {
		check_outside_unchanged(&tf.frame, &before, &mask_px, 1, what);
	}

	if (mode == VIGIL_ANNOTATE_BLUR) {
		/* strong: the first sample's variance over the box falls to a small fraction of the noise's */
		double s0 = 0, q0 = 0, s1 = 0, q1 = 0;
		const int n = (mask_px.x1 - mask_px.x0) * (mask_px.y1 - mask_px.y0);

		for (int y = mask_px.y0; y < mask_px.y1; y++)
			for (int x = mask_px.x0; x < mask_px.x1; x++) {
				double a = read_px(&orig, x, y).v[0], b = read_px(&tf.frame, x, y).v[0];

				s0 += a;
				q0 += a * a;
				s1 += b;
				q1 += b * b;
			}
		const double var0 = q0 / n - (s0 / n) * (s0 / n), var1 = q1 / n - (s1 / n) * (s1 / n);
		ck_assert_msg(var0 > 500 && var1 < var0 / 20, "%s blur: variance %.1f -> %.1f",
			      vigil_format_name(format), var0, var1);
		ck_assert_msg(fabs(s1 / n - s0 / n) < 4, "%s blur moved the mean %.1f -> %.1f",
			      vigil_format_name(format), s0 / n, s1 / n);
	}

	if (mode == VIGIL_ANNOTATE_PIXELATE) {
		/* 6x6 blocks anchored at the mask's corner, each at its mean; checked on full-resolution samples (luma,
		 * RGB, gray); subsampled chroma gets 3x3-sample blocks */
		const int full = is_yuv(format) ? 1 : read_px(&tf.frame, 0, 0).n;

		for (int by = mask_px.y0; by < mask_px.y1; by += 6)
			for (int bx = mask_px.x0; bx < mask_px.x1; bx += 6) {
				const int ye = by + 6 < mask_px.y1 ? by + 6 : mask_px.y1;
				const int xe = bx + 6 < mask_px.x1 ? bx + 6 : mask_px.x1;

				for (int c = 0; c < full; c++) {
					long sum = 0, cnt = 0;

					for (int y = by; y < ye; y++)
						for (int x = bx; x < xe; x++) {
							sum += read_px(&orig, x, y).v[c];
							cnt++;
							ck_assert_int_eq(read_px(&tf.frame, x, y).v[c],
									 read_px(&tf.frame, bx, by).v[c]);
						}
					ck_assert_int_eq(read_px(&tf.frame, bx, by).v[c], (sum + cnt / 2) / cnt);
				}
			}
	}

	if (mode == VIGIL_ANNOTATE_FILL) {
		const struct px want = expected(format, 0x33, 0x66, 0xCC);

		for (int y = mask_px.y0; y < mask_px.y1; y++)
			for (int x = mask_px.x0; x < mask_px.x1; x++)
				assert_px(&tf.frame, x, y, want, 0, "fill");
	}
	snap_free(&before);
	tc_frame_free(&tf);
}
END_TEST

/* ---- properties of the masks ----------------------------------------------------------------------------- */

/* Nothing outside the box leaks into a blurred box: two frames that differ only outside it blur alike. */
START_TEST(test_blur_uses_only_inside)
{
	const enum vigil_pixel_format format = all_formats[_i];
	struct tc_frame a, b;
	struct vigil_annotate_config cfg;
	struct vigil_detection d = make_det(BX, BY, BW, BH, 0.9f, "face");
	struct vigil_detections set;

	random_frame(&a, format, FW, FH, 3, 11);
	random_frame(&b, format, FW, FH, 3, 12);
	/* copy the box's pixels (with the chroma blocks around them) from a into b */
	for (int p = 0; p < plane_count(format); p++)
		for (int row = 0; row < (p ? (FH + 1) / 2 : FH); row++)
			for (int bx = 0; bx < a.frame.strides[p]; bx++) {
				struct prect px;

				if (byte_pixels(&a.frame, p, bx, row, &px) && intersects(&px, &mask_px))
					b.planes[p][(size_t)row * b.frame.strides[p] + bx] =
					    a.planes[p][(size_t)row * a.frame.strides[p] + bx];
			}
	vigil_annotate_config_init(&cfg);
	cfg.mode = VIGIL_ANNOTATE_BLUR;
	set = one(&d, &a.frame);
	ck_assert_int_eq(vigil_frame_annotate(&a.frame, &set, &cfg), 0);
	ck_assert_int_eq(vigil_frame_annotate(&b.frame, &set, &cfg), 0);
	for (int y = mask_px.y0; y < mask_px.y1; y++)
		for (int x = mask_px.x0; x < mask_px.x1; x++)
			ck_assert(px_equal(read_px(&a.frame, x, y), read_px(&b.frame, x, y)));
	tc_frame_free(&a);
	tc_frame_free(&b);
}
END_TEST

/* A flat region stays exactly flat through blur and pixelate (no rounding drift), whatever the radius. */
START_TEST(test_flat_stays_flat)
{
	const enum vigil_pixel_format format = all_formats[_i];
	static const int sizes[] = { 0, 1, 3, 50, 16384 };
	uint8_t rgb[40 * 30 * 3];
	struct tc_frame tf;
	struct vigil_detection d = make_det(-5, 3, 30, 40, 0.9f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;

	for (size_t k = 0; k < sizeof(rgb); k += 3) {
		rgb[k] = 200;
		rgb[k + 1] = 40;
		rgb[k + 2] = 90;
	}
	ck_assert_int_eq(tc_convert(rgb, 40, 30, 40 * 3, format, 0, &tf), 0);
	const struct px flat = read_px(&tf.frame, 0, 0);
	set = one(&d, &tf.frame);
	vigil_annotate_config_init(&cfg);
	for (int m = VIGIL_ANNOTATE_BLUR; m <= VIGIL_ANNOTATE_PIXELATE; m++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			cfg.mode = (enum vigil_annotate_mode)m;
			cfg.blur_radius = sizes[s];
			cfg.pixelate_block = sizes[s];
			ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
			for (int y = 0; y < 30; y++)
				for (int x = 0; x < 40; x++)
					ck_assert_msg(px_equal(read_px(&tf.frame, x, y), flat),
						      "%s %s size %d at (%d,%d)", vigil_format_name(format),
						      mode_names[m], sizes[s], x, y);
		}
	tc_frame_free(&tf);
}
END_TEST

/* Pixelated blocks differ from one another on a gradient (the mosaic is not one flat colour), and a block
 * larger than the box makes it one colour. */
START_TEST(test_pixelate_blocks)
{
	uint8_t rgb[64 * 48 * 3];
	struct tc_frame tf;
	struct vigil_detection d = make_det(8, 8, 48, 32, 0.9f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;

	for (int y = 0; y < 48; y++)
		for (int x = 0; x < 64; x++) {
			rgb[(y * 64 + x) * 3] = (uint8_t)(x * 4);
			rgb[(y * 64 + x) * 3 + 1] = (uint8_t)(y * 5);
			rgb[(y * 64 + x) * 3 + 2] = 128;
		}
	ck_assert_int_eq(tc_convert(rgb, 64, 48, 64 * 3, VIGIL_FORMAT_RGB, 0, &tf), 0);
	set = one(&d, &tf.frame);
	vigil_annotate_config_init(&cfg);
	cfg.mode = VIGIL_ANNOTATE_PIXELATE;
	cfg.pixelate_block = 8;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	/* block (8..16) x (8..16): R mean of x*4 over x 8..15 = 46, G of y*5 over 8..15 = 57.5 -> 58 */
	assert_px(&tf.frame, 9, 9, (struct px){ 3, { 46, 58, 128 } }, 0, "block");
	ck_assert_int_ne(read_px(&tf.frame, 9, 9).v[0], read_px(&tf.frame, 17, 9).v[0]);
	ck_assert_int_ne(read_px(&tf.frame, 9, 9).v[1], read_px(&tf.frame, 9, 17).v[1]);
	cfg.pixelate_block = 1000;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	for (int y = 8; y < 40; y++)
		for (int x = 8; x < 56; x++)
			ck_assert(px_equal(read_px(&tf.frame, x, y), read_px(&tf.frame, 8, 8)));
	tc_frame_free(&tf);
}
END_TEST

/* Fill converts with the frame's colorimetry: BT.709 full range here. */
START_TEST(test_fill_colorimetry)
{
	uint8_t rgb[16 * 8 * 3] = { 0 };
	struct tc_frame tf;
	struct vigil_detection d = make_det(0, 0, 16, 8, 0.9f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;
	const double r = 250 / 255.0, g = 100 / 255.0, b = 20 / 255.0;
	const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
	const int want_y = (int)lround(255 * y), want_u = (int)lround(128 + 255 * (b - y) / 1.8556),
		  want_v = (int)lround(128 + 255 * (r - y) / 1.5748);

	ck_assert_int_eq(tc_convert(rgb, 16, 8, 16 * 3, VIGIL_FORMAT_NV12, 0, &tf), 0);
	tf.frame.colorimetry = VIGIL_COLOR_BT709_FULL;
	set = one(&d, &tf.frame);
	vigil_annotate_config_init(&cfg);
	cfg.mode = VIGIL_ANNOTATE_FILL;
	cfg.fill_rgb = 0xFA6414;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	assert_px(&tf.frame, 5, 5, (struct px){ 3, { want_y, want_u, want_v } }, 0, "bt709 full");
	tc_frame_free(&tf);
}
END_TEST

/* ---- box mode details ------------------------------------------------------------------------------------- */

START_TEST(test_box_options)
{
	const enum vigil_pixel_format format = all_formats[_i];
	struct tc_frame tf;
	struct snapshot before;
	struct vigil_detection d = make_det(30, 30, 40, 30, 0.5f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;
	const struct prect box = { 30, 30, 70, 60 };

	d.num_keypoints = 2;
	d.keypoints[0] = (struct vigil_point){ 40, 45 };
	d.keypoints[1] = (struct vigil_point){ NAN, 45 }; /* ignored */

	/* no labels, no keypoints, thickness 5: only the outline changes, 5 px wide */
	random_frame(&tf, format, 100, 90, 2, 7);
	snap(&tf.frame, &before);
	set = one(&d, &tf.frame);
	vigil_annotate_config_init(&cfg);
	cfg.draw_labels = 0;
	cfg.draw_keypoints = 0;
	cfg.thickness = 5;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	const struct prect ring[] = { { 30, 30, 70, 35 }, { 30, 55, 70, 60 }, { 30, 30, 35, 60 }, { 65, 30, 70, 60 } };
	check_outside_unchanged(&tf.frame, &before, ring, 4, "outline only");
	assert_px(&tf.frame, 34, 45, expected(format, 0, 230, 64), 0, "5 px outline");
	snap_free(&before);

	/* keypoints on: a dot of radius thickness + 1 in keypoint 0's colour (red), still inside the box */
	cfg.draw_keypoints = 1;
	cfg.thickness = 0;
	snap(&tf.frame, &before);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	check_outside_unchanged(&tf.frame, &before, &box, 1, "keypoints");
	assert_px(&tf.frame, 40, 45, expected(format, 255, 0, 0), 0, "keypoint 0");
	assert_px(&tf.frame, 43, 45, expected(format, 255, 0, 0), 0, "keypoint 0 radius");
	ck_assert(!px_equal(read_px(&tf.frame, 40, 45), expected(format, 0, 230, 64)));
	snap_free(&before);
	tc_frame_free(&tf);
}
END_TEST

/* The strongest detection is drawn last: where outlines cross, its colour wins. */
START_TEST(test_box_order_and_labels)
{
	struct tc_frame tf;
	struct vigil_detection d[2] = { make_det(10, 10, 40, 40, 0.9f, "face"), make_det(30, 30, 40, 40, 0.4f, "cat") };
	struct vigil_detections set;
	uint8_t rgb[100 * 100 * 3] = { 0 };

	d[1].label_id = 1; /* red */
	ck_assert_int_eq(tc_convert(rgb, 100, 100, 300, VIGIL_FORMAT_RGB, 0, &tf), 0);
	set = (struct vigil_detections){ .count = 2, .items = d };
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, NULL), 0);
	/* (49, 30): face's right edge crosses cat's top edge */
	assert_px(&tf.frame, 49, 30, (struct px){ 3, { 0, 230, 64 } }, 0, "crossing");
	assert_px(&tf.frame, 60, 30, (struct px){ 3, { 255, 64, 64 } }, 0, "cat edge");
	tc_frame_free(&tf);
}
END_TEST

/* ---- tiny frames, far-off and broken boxes ---------------------------------------------------------------- */

START_TEST(test_tiny_and_absurd)
{
	const enum vigil_pixel_format format = all_formats[_i / N_MODES];
	const int mode = _i % N_MODES;
	static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 3, 2 }, { 1, 40 }, { 40, 1 }, { 5, 5 } };
	struct vigil_detection dets[] = {
		make_det(-5, -5, 100, 100, 0.7f, "face"),       /* covers everything */
		make_det(0, 0, 1, 1, 0.6f, "face"),             /* one pixel */
		make_det(1, 1, 0, 0, 0.5f, NULL),               /* empty box, no label name */
		make_det(3e9f, -3e9f, 1e30f, 1e30f, 0.4f, "x"), /* absurd coordinates */
		make_det(-3e38f, -3e38f, 3e38f, 3e38f, 0.4f, "y"),
		make_det(0, 0, -4, -4, 0.3f, "face"), /* negative size */
		make_det(0.5f, 0.5f, 1e-6f, 1e-6f, NAN, "face"),
	};
	struct vigil_detections set = { .count = sizeof(dets) / sizeof(dets[0]), .items = dets };
	struct vigil_annotate_config cfg;

	vigil_annotate_config_init(&cfg);
	cfg.mode = (enum vigil_annotate_mode)mode;
	dets[2].label_id = -3;
	dets[3].label_id = 1000;
	dets[5].keypoints[0] = (struct vigil_point){ NAN, 1 };
	dets[5].keypoints[1] = (struct vigil_point){ 1e30f, -1e30f };
	dets[5].num_keypoints = 99; /* more than the array holds: only VIGIL_MAX_KEYPOINTS are read */
	dets[0].num_keypoints = 2;
	dets[0].keypoints[0] = (struct vigil_point){ 0, 0 };
	dets[0].keypoints[1] = (struct vigil_point){ INFINITY, 0 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (int pad = 0; pad <= 1; pad++) {
			struct tc_frame tf;
			struct snapshot before;
			const struct prect frame_px = { 0, 0, sizes[i][0], sizes[i][1] };

			random_frame(&tf, format, sizes[i][0], sizes[i][1], pad, i);
			snap(&tf.frame, &before);
			ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
			/* padding bytes (and YUY2's missing luma of odd widths) stay as they were */
			check_outside_unchanged(&tf.frame, &before, &frame_px, 1, mode_names[mode]);
			snap_free(&before);
			tc_frame_free(&tf);
		}
}
END_TEST

/* Boxes wholly outside, NaN and infinite boxes, empty sets: the frame is untouched (tags are not pinned to
 * an edge for boxes that are not visible). */
START_TEST(test_outside_untouched)
{
	const enum vigil_pixel_format format = all_formats[_i / N_MODES];
	const int mode = _i % N_MODES;
	struct vigil_detection dets[] = {
		make_det(-50, 10, 45, 20, 0.9f, "face"),    make_det(10, -50, 20, 49.4f, 0.9f, "face"),
		make_det(70, 10, 20, 20, 0.9f, "face"),     make_det(10, 50, 20, 20, 0.9f, "face"),
		make_det(NAN, 5, 10, 10, 0.9f, "face"),     make_det(5, 5, NAN, 10, 0.9f, "face"),
		make_det(5, 5, 10, INFINITY, 0.9f, "face"),
	};
	struct vigil_detections set = { .count = sizeof(dets) / sizeof(dets[0]), .items = dets };
	struct vigil_detections none = { 0 };
	struct vigil_annotate_config cfg;
	struct tc_frame tf;
	struct snapshot before;

	vigil_annotate_config_init(&cfg);
	cfg.mode = (enum vigil_annotate_mode)mode;
	random_frame(&tf, format, 70, 50, 4, 3);
	snap(&tf.frame, &before);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &none, &cfg), 0);
	check_unchanged(&tf.frame, &before, mode_names[mode]);
	snap_free(&before);
	tc_frame_free(&tf);
}
END_TEST

/* A box partly outside is clipped: the visible part is masked, nothing else changes. */
START_TEST(test_partly_outside)
{
	const enum vigil_pixel_format format = all_formats[_i / N_MODES];
	const int mode = 1 + _i % 3; /* the masks */
	struct vigil_detection d = make_det(50.5f, -10, 40, 30, 0.9f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;
	struct tc_frame tf;
	struct snapshot before;
	const struct prect vis = { 50, 0, 70, 20 };

	vigil_annotate_config_init(&cfg);
	cfg.mode = (enum vigil_annotate_mode)mode;
	cfg.fill_rgb = 0xFFFFFF;
	random_frame(&tf, format, 70, 50, 1, 5);
	set = one(&d, &tf.frame);
	snap(&tf.frame, &before);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	check_outside_unchanged(&tf.frame, &before, &vis, 1, mode_names[mode]);
	if (mode == VIGIL_ANNOTATE_FILL)
		assert_px(&tf.frame, 69, 19, expected(format, 255, 255, 255), 0, "clipped fill");
	snap_free(&before);
	tc_frame_free(&tf);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------------- */

START_TEST(test_errors)
{
	struct tc_frame tf;
	struct snapshot before;
	struct vigil_detection d = make_det(1, 1, 5, 5, 0.9f, "face");
	struct vigil_detections set = { .count = 1, .items = &d };
	struct vigil_detections broken = { .count = 2, .items = NULL };
	struct vigil_annotate_config cfg;
	struct vigil_frame bad;

	random_frame(&tf, VIGIL_FORMAT_I420, 9, 7, 0, 1);
	snap(&tf.frame, &before);
	vigil_annotate_config_init(&cfg);
	vigil_annotate_config_init(NULL); /* accepted */

	ck_assert_int_eq(vigil_frame_annotate(NULL, &set, &cfg), -EINVAL);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, NULL, &cfg), -EINVAL);
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &broken, &cfg), -EINVAL);
	ck_assert(strstr(vigil_last_error(), "items") != NULL);

	bad = tf.frame;
	bad.format = VIGIL_FORMAT_COUNT;
	ck_assert_int_eq(vigil_frame_annotate(&bad, &set, &cfg), VIGIL_EFORMAT);
	bad = tf.frame;
	bad.strides[1] = 2; /* 9 wide needs 5 chroma bytes */
	ck_assert_int_eq(vigil_frame_annotate(&bad, &set, &cfg), VIGIL_EFORMAT);
	ck_assert(strstr(vigil_last_error(), "stride") != NULL);
	bad = tf.frame;
	bad.planes[2] = NULL;
	ck_assert_int_eq(vigil_frame_annotate(&bad, &set, &cfg), VIGIL_EFORMAT);
	bad = tf.frame;
	bad.width = 0;
	ck_assert_int_eq(vigil_frame_annotate(&bad, &set, &cfg), VIGIL_EFORMAT);
	bad = tf.frame;
	bad.colorimetry = (enum vigil_colorimetry)9;
	ck_assert_int_eq(vigil_frame_annotate(&bad, &set, &cfg), VIGIL_EFORMAT);

	cfg.mode = (enum vigil_annotate_mode)4;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	ck_assert(strstr(vigil_last_error(), "mode") != NULL);
	cfg.mode = (enum vigil_annotate_mode) - 1;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	vigil_annotate_config_init(&cfg);
	cfg.thickness = -1;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	cfg.thickness = 1025;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	vigil_annotate_config_init(&cfg);
	cfg.blur_radius = -2;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	vigil_annotate_config_init(&cfg);
	cfg.pixelate_block = 16385;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), -EINVAL);
	ck_assert(strstr(vigil_last_error(), "pixelate") != NULL);
	/* nothing was drawn by any failing call */
	check_unchanged(&tf.frame, &before, "errors");

	/* NULL config means the defaults (box) */
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, NULL), 0);
	snap_free(&before);
	tc_frame_free(&tf);
}
END_TEST

/* The largest frame side with a box across it: the blur's line buffers hold a whole side. */
START_TEST(test_full_side_blur)
{
	struct tc_frame tf;
	uint8_t *rgb = calloc((size_t)VIGIL_MAX_FRAME_SIDE * 2 * 3, 1);
	struct vigil_detection d = make_det(-1, -1, VIGIL_MAX_FRAME_SIDE + 2, 4, 0.9f, "face");
	struct vigil_detections set;
	struct vigil_annotate_config cfg;

	ck_assert_ptr_nonnull(rgb);
	for (int x = 0; x < 2 * VIGIL_MAX_FRAME_SIDE; x++)
		rgb[x * 3] = (uint8_t)(x & 1 ? 255 : 0);
	ck_assert_int_eq(tc_convert(rgb, VIGIL_MAX_FRAME_SIDE, 2, VIGIL_MAX_FRAME_SIDE * 3, VIGIL_FORMAT_RGB, 0, &tf),
			 0);
	set = one(&d, &tf.frame);
	vigil_annotate_config_init(&cfg);
	cfg.mode = VIGIL_ANNOTATE_BLUR;
	ck_assert_int_eq(vigil_frame_annotate(&tf.frame, &set, &cfg), 0);
	/* the 0/255 stripes blur to the middle */
	ck_assert_int_ge(read_px(&tf.frame, 8000, 0).v[0], 120);
	ck_assert_int_le(read_px(&tf.frame, 8000, 0).v[0], 135);
	tc_frame_free(&tf);
	free(rgb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("annotate");
	TCase *modes = tcase_create("modes");
	TCase *props = tcase_create("properties");
	TCase *edges = tcase_create("edges");

	tcase_add_loop_test(modes, test_modes, 0, N_FORMATS * N_MODES);
	suite_add_tcase(s, modes);

	tcase_add_loop_test(props, test_blur_uses_only_inside, 0, N_FORMATS);
	tcase_add_loop_test(props, test_flat_stays_flat, 0, N_FORMATS);
	tcase_add_test(props, test_pixelate_blocks);
	tcase_add_test(props, test_fill_colorimetry);
	tcase_add_loop_test(props, test_box_options, 0, N_FORMATS);
	tcase_add_test(props, test_box_order_and_labels);
	suite_add_tcase(s, props);

	tcase_add_loop_test(edges, test_tiny_and_absurd, 0, N_FORMATS * N_MODES);
	tcase_add_loop_test(edges, test_outside_untouched, 0, N_FORMATS * N_MODES);
	tcase_add_loop_test(edges, test_partly_outside, 0, N_FORMATS * 3);
	tcase_add_test(edges, test_errors);
	tcase_add_test(edges, test_full_side_blur);
	suite_add_tcase(s, edges);

	return tu_run(s, CK_FORK);
}
