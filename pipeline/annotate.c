/* SPDX-License-Identifier: Apache-2.0
 * Drawing detections and privacy masks into frames of every supported pixel format, in place
 * (vigil_frame_annotate, see vigil.h).
 *
 * A frame is seen as a list of channels (Y, U, V, R, G, B, alpha/padding, gray), each a 2D array of samples
 * with its own byte step, row stride and subsampling. Every operation (solid rectangles, blur, mosaic) is
 * written once against that view and runs per channel, so a new format is one line in the layout table.
 * Shapes are given in frame pixels and mapped to each channel's samples so that a subsampled channel covers
 * every sample the shape touches. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "font.h"
#include "preprocess.h"
#include "vigil/vigil.h"

#define MAX_THICKNESS 1024
#define MAX_FILTER_PX VIGIL_MAX_FRAME_SIDE

enum kind { K_Y, K_U, K_V, K_R, K_G, K_B, K_A, K_GRAY, K_COUNT };

struct chan_layout {
	uint8_t plane, offset, step, sx, sy, kind;
};

struct format_layout {
	int n;
	struct chan_layout ch[4];
};

/* Where each format keeps its samples: plane, byte offset of the first sample, bytes between samples,
 * horizontal and vertical subsampling, what the sample is. */
static const struct format_layout layouts[VIGIL_FORMAT_COUNT] = {
	[VIGIL_FORMAT_NV12] = { 3, { { 0, 0, 1, 1, 1, K_Y }, { 1, 0, 2, 2, 2, K_U }, { 1, 1, 2, 2, 2, K_V } } },
	[VIGIL_FORMAT_I420] = { 3, { { 0, 0, 1, 1, 1, K_Y }, { 1, 0, 1, 2, 2, K_U }, { 2, 0, 1, 2, 2, K_V } } },
	[VIGIL_FORMAT_YUY2] = { 3, { { 0, 0, 2, 1, 1, K_Y }, { 0, 1, 4, 2, 1, K_U }, { 0, 3, 4, 2, 1, K_V } } },
	[VIGIL_FORMAT_UYVY] = { 3, { { 0, 1, 2, 1, 1, K_Y }, { 0, 0, 4, 2, 1, K_U }, { 0, 2, 4, 2, 1, K_V } } },
	[VIGIL_FORMAT_RGB] = { 3, { { 0, 0, 3, 1, 1, K_R }, { 0, 1, 3, 1, 1, K_G }, { 0, 2, 3, 1, 1, K_B } } },
	[VIGIL_FORMAT_BGR] = { 3, { { 0, 0, 3, 1, 1, K_B }, { 0, 1, 3, 1, 1, K_G }, { 0, 2, 3, 1, 1, K_R } } },
	[VIGIL_FORMAT_RGBA] = { 4,
				{ { 0, 0, 4, 1, 1, K_R },
				  { 0, 1, 4, 1, 1, K_G },
				  { 0, 2, 4, 1, 1, K_B },
				  { 0, 3, 4, 1, 1, K_A } } },
	[VIGIL_FORMAT_BGRA] = { 4,
				{ { 0, 0, 4, 1, 1, K_B },
				  { 0, 1, 4, 1, 1, K_G },
				  { 0, 2, 4, 1, 1, K_R },
				  { 0, 3, 4, 1, 1, K_A } } },
	[VIGIL_FORMAT_RGBX] = { 4,
				{ { 0, 0, 4, 1, 1, K_R },
				  { 0, 1, 4, 1, 1, K_G },
				  { 0, 2, 4, 1, 1, K_B },
				  { 0, 3, 4, 1, 1, K_A } } },
	[VIGIL_FORMAT_BGRX] = { 4,
				{ { 0, 0, 4, 1, 1, K_B },
				  { 0, 1, 4, 1, 1, K_G },
				  { 0, 2, 4, 1, 1, K_R },
				  { 0, 3, 4, 1, 1, K_A } } },
	[VIGIL_FORMAT_GRAY8] = { 1, { { 0, 0, 1, 1, 1, K_GRAY } } },
};

struct channel {
	uint8_t *base;          /* first sample of row 0 */
	ptrdiff_t stride, step; /* bytes between rows, between samples of a row */
	int sx, sy;             /* pixels per sample horizontally, vertically (1 or 2) */
	enum kind kind;
};

struct canvas {
	int width, height; /* pixels */
	int n;
	struct channel ch[4];
	enum vigil_colorimetry colorimetry;
};

/* A colour as the value of every kind of sample. */
struct color {
	uint8_t v[K_COUNT];
};

/* [x0, x1) x [y0, y1) in frame pixels. long so that far-off boxes cannot overflow. */
struct rect {
	long x0, y0, x1, y1;
};

static void canvas_init(struct canvas *cv, const struct vigil_frame *frame)
{
	const struct format_layout *l = &layouts[frame->format];

	cv->width = frame->width;
	cv->height = frame->height;
	cv->colorimetry = frame->colorimetry;
	cv->n = l->n;
	for (int i = 0; i < l->n; i++) {
		const struct chan_layout *c = &l->ch[i];

		/* The one place the frame's planes lose their const: struct vigil_frame promises the detector
		 * reads only, vigil_frame_annotate()'s contract is that the caller's planes are writable. */
		cv->ch[i].base = (uint8_t *)(uintptr_t)frame->planes[c->plane] + c->offset;
		cv->ch[i].stride = frame->strides[c->plane];
		cv->ch[i].step = c->step;
		cv->ch[i].sx = c->sx;
		cv->ch[i].sy = c->sy;
		cv->ch[i].kind = (enum kind)c->kind;
	}
}

static uint8_t clamp_u8(double v)
{
	v = floor(v + 0.5);
	return (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
}

static struct color make_color(const struct canvas *cv, struct vigil_rgb c)
{
	const int bt709 = cv->colorimetry == VIGIL_COLOR_BT709_LIMITED || cv->colorimetry == VIGIL_COLOR_BT709_FULL;
	const int full = cv->colorimetry == VIGIL_COLOR_BT601_FULL || cv->colorimetry == VIGIL_COLOR_BT709_FULL;
	const double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114;
	const double r = c.r / 255.0, g = c.g / 255.0, b = c.b / 255.0;
	const double y = kr * r + (1.0 - kr - kb) * g + kb * b;
	const double pb = (b - y) / (2.0 * (1.0 - kb)), pr = (r - y) / (2.0 * (1.0 - kr));
	struct color out;

	out.v[K_Y] = clamp_u8(full ? 255.0 * y : 16.0 + 219.0 * y);
	out.v[K_U] = clamp_u8(128.0 + (full ? 255.0 : 224.0) * pb);
	out.v[K_V] = clamp_u8(128.0 + (full ? 255.0 : 224.0) * pr);
	out.v[K_R] = c.r;
	out.v[K_G] = c.g;
	out.v[K_B] = c.b;
	out.v[K_A] = 255;
	/* GRAY8 is full-range BT.601 luma, as the detector reads it */
	out.v[K_GRAY] = clamp_u8(0.299 * c.r + 0.587 * c.g + 0.114 * c.b);
	return out;
}

/* Clips @p r to the frame; returns 0 when nothing is left. */
static int clip_rect(const struct canvas *cv, struct rect *r)
{
	if (r->x0 < 0)
		r->x0 = 0;
	if (r->y0 < 0)
		r->y0 = 0;
	if (r->x1 > cv->width)
		r->x1 = cv->width;
	if (r->y1 > cv->height)
		r->y1 = cv->height;
	return r->x0 < r->x1 && r->y0 < r->y1;
}

/* The samples of channel @p ch that the clipped pixel rectangle @p r touches. */
static void channel_rect(const struct channel *ch, const struct rect *r, int *cx0, int *cy0, int *cx1, int *cy1)
{
	*cx0 = (int)(r->x0 / ch->sx);
	*cy0 = (int)(r->y0 / ch->sy);
	*cx1 = (int)((r->x1 + ch->sx - 1) / ch->sx);
	*cy1 = (int)((r->y1 + ch->sy - 1) / ch->sy);
}

static uint8_t *sample(const struct channel *ch, int cx, int cy)
{
	return ch->base + (ptrdiff_t)cy * ch->stride + (ptrdiff_t)cx * ch->step;
}

/* Sets [x0, x1) x [y0, y1), clipped to the frame, to @p c. With @p luma_only, chroma samples are left alone
 * (text ink: a 1-pixel stroke would otherwise wash the colour out of the whole 2x2 chroma block around it). */
static void fill_rect(const struct canvas *cv, long x0, long y0, long x1, long y1, const struct color *c, int luma_only)
{
	struct rect r = { x0, y0, x1, y1 };

	if (!clip_rect(cv, &r))
		return;
	for (int i = 0; i < cv->n; i++) {
		const struct channel *ch = &cv->ch[i];
		const uint8_t v = c->v[ch->kind];
		int cx0, cy0, cx1, cy1;

		if (luma_only && (ch->kind == K_U || ch->kind == K_V))
			continue;
		channel_rect(ch, &r, &cx0, &cy0, &cx1, &cy1);
		for (int cy = cy0; cy < cy1; cy++) {
			uint8_t *p = sample(ch, cx0, cy);

			if (ch->step == 1) {
				memset(p, v, (size_t)(cx1 - cx0));
				continue;
			}
			for (int cx = cx0; cx < cx1; cx++, p += ch->step)
				*p = v;
		}
	}
}

static void fill_disc(const struct canvas *cv, long cx, long cy, long r, const struct color *c)
{
	for (long dy = -r; dy <= r; dy++) {
		long half = (long)sqrt((double)(r * r - dy * dy));

		fill_rect(cv, cx - half, cy + dy, cx + half + 1, cy + dy + 1, c, 0);
	}
}

/* Frame coordinates from detector floats (the caller rejects NaN): huge values are pinned far enough outside
 * that clipping discards them without overflowing long arithmetic. */
static long to_px(float v)
{
	const float lim = 1e7f;

	if (v < -lim)
		return (long)-lim;
	if (v > lim)
		return (long)lim;
	return lround(v);
}

static int box_finite(const struct vigil_detection *d)
{
	return isfinite(d->x) && isfinite(d->y) && isfinite(d->w) && isfinite(d->h);
}

/* ---- BOX ---------------------------------------------------------------------------------------------- */

static struct vigil_rgb text_color_on(struct vigil_rgb bg)
{
	int luma = (299 * bg.r + 587 * bg.g + 114 * bg.b) / 1000;

	return luma > 140 ? (struct vigil_rgb){ 0, 0, 0 } : (struct vigil_rgb){ 255, 255, 255 };
}

/* "label 0.93". The score is formatted by hand: printf's %f follows LC_NUMERIC, which applications such as
 * gst-launch set from the environment, and the font has no decimal comma. */
static int format_tag(char *text, size_t size, const struct vigil_detection *d)
{
	const float s = d->score;
	const long hundredths = isfinite(s) && s > 0.0f ? lroundf((s < 9.99f ? s : 9.99f) * 100.0f) : 0;
	int n;

	if (d->label && d->label[0])
		n = snprintf(text, size, "%s %ld.%02ld", d->label, hundredths / 100, hundredths % 100);
	else
		n = snprintf(text, size, "id%d %ld.%02ld", d->label_id, hundredths / 100, hundredths % 100);
	return n < 0 ? -1 : (int)strlen(text);
}

/* Draws @p text at (x, y) top-left with pixel scale @p s, luma only on YUV frames. */
static void draw_text(const struct canvas *cv, long x, long y, int s, const char *text, const struct color *c)
{
	for (const char *t = text; *t; t++, x += (VIGIL_GLYPH_W + 1) * s) {
		const struct vigil_glyph *g = vigil_font_glyph(*t);

		for (int gy = 0; gy < VIGIL_GLYPH_H; gy++)
			for (int gx = 0; gx < VIGIL_GLYPH_W; gx++)
				if (g->rows[gy][gx] == '#')
					fill_rect(cv, x + (long)gx * s, y + (long)gy * s, x + (long)(gx + 1) * s,
						  y + (long)(gy + 1) * s, c, 1);
	}
}

static void draw_box(const struct canvas *cv, const struct vigil_detection *d, int thick, int scale,
		     const struct vigil_annotate_config *config)
{
	const struct vigil_rgb rgb = vigil_label_color(d->label_id);
	const struct color color = make_color(cv, rgb);
	long x0, y0, x1, y1, tw, th, tx, ty;
	char text[64];
	int n;

	if (!box_finite(d))
		return;
	x0 = to_px(d->x);
	y0 = to_px(d->y);
	x1 = to_px(d->x + d->w);
	y1 = to_px(d->y + d->h);
	if (x1 < x0 || y1 < y0)
		return;
	/* wholly outside: nothing of it would show, and its tag must not be pinned to a frame edge */
	if (x1 <= 0 || y1 <= 0 || x0 >= cv->width || y0 >= cv->height)
		return;

	/* Outline drawn inward from the box edge so that its outer edge is the box. */
	fill_rect(cv, x0, y0, x1, y0 + thick, &color, 0);
	fill_rect(cv, x0, y1 - thick, x1, y1, &color, 0);
	fill_rect(cv, x0, y0, x0 + thick, y1, &color, 0);
	fill_rect(cv, x1 - thick, y0, x1, y1, &color, 0);

	if (config->draw_keypoints)
		for (int k = 0; k < d->num_keypoints && k < VIGIL_MAX_KEYPOINTS; k++) {
			const struct vigil_point *p = &d->keypoints[k];
			const struct color kc = make_color(cv, vigil_keypoint_color(k));

			if (isfinite(p->x) && isfinite(p->y))
				fill_disc(cv, to_px(p->x), to_px(p->y), thick + 1, &kc);
		}

	if (!config->draw_labels)
		return;
	n = format_tag(text, sizeof(text), d);
	if (n <= 0)
		return;
	/* Tag above the box on a background of the box colour; inside the top of the box when there is no room
	 * above, and slid left when it would run off the right edge. */
	tw = (long)n * (VIGIL_GLYPH_W + 1) * scale + scale;
	th = (long)(VIGIL_GLYPH_H + 2) * scale;
	tx = x0;
	ty = y0 - th;
	if (ty < 0)
		ty = y0 < 0 ? 0 : y0;
	if (tx + tw > cv->width)
		tx = cv->width - tw;
	if (tx < 0)
		tx = 0;
	fill_rect(cv, tx, ty, tx + tw, ty + th, &color, 0);
	const struct color ink = make_color(cv, text_color_on(rgb));
	draw_text(cv, tx + scale, ty + scale, scale, text, &ink);
}

/* ---- privacy masks ------------------------------------------------------------------------------------- */

/* Every pixel the box touches, clipped to the frame; 0 when nothing (or NaN, or an empty box). */
static int mask_rect(const struct canvas *cv, const struct vigil_detection *d, struct rect *r)
{
	double x0, y0, x1, y1;

	if (!box_finite(d) || !(d->w > 0.0f) || !(d->h > 0.0f))
		return 0;
	x0 = floor((double)d->x);
	y0 = floor((double)d->y);
	x1 = ceil((double)d->x + (double)d->w);
	y1 = ceil((double)d->y + (double)d->h);
	/* clip in double: a float box may lie far beyond what long holds */
	r->x0 = (long)(x0 < 0.0 ? 0.0 : x0 > cv->width ? cv->width : x0);
	r->y0 = (long)(y0 < 0.0 ? 0.0 : y0 > cv->height ? cv->height : y0);
	r->x1 = (long)(x1 < 0.0 ? 0.0 : x1 > cv->width ? cv->width : x1);
	r->y1 = (long)(y1 < 0.0 ? 0.0 : y1 > cv->height ? cv->height : y1);
	return r->x0 < r->x1 && r->y0 < r->y1;
}

/* The automatic filter size for a box: a fraction of its longer side (unclipped, so that a face leaving the
 * frame keeps its mask strength), at least @p min. */
static int auto_size(const struct vigil_detection *d, int divisor, int min)
{
	double side = d->w > d->h ? (double)d->w : (double)d->h;
	double v = side / divisor;

	if (!(v > min))
		return min;
	return v > MAX_FILTER_PX ? MAX_FILTER_PX : (int)v;
}

/* One box-filter pass of radius r (< n) over src[0..n), clamping at the ends, written to dst (step apart). */
static void box_pass(const uint8_t *src, int n, int r, uint8_t *dst, ptrdiff_t step)
{
	const int div = 2 * r + 1;
	int sum = (r + 1) * src[0];

	for (int j = 1; j <= r; j++)
		sum += src[j];
	for (int i = 0; i < n; i++) {
		dst[(ptrdiff_t)i * step] = (uint8_t)((sum + r) / div);
		sum += src[i + r + 1 < n ? i + r + 1 : n - 1] - src[i - r > 0 ? i - r : 0];
	}
}

/* Three passes (close to a Gaussian of sigma ~ r) over the n samples at p, in place through a and b. */
static void blur_line(uint8_t *p, ptrdiff_t step, int n, int r, uint8_t *a, uint8_t *b)
{
	if (n < 2)
		return;
	if (r > n - 1)
		r = n - 1;
	for (int i = 0; i < n; i++)
		a[i] = p[(ptrdiff_t)i * step];
	box_pass(a, n, r, b, 1);
	box_pass(b, n, r, a, 1);
	box_pass(a, n, r, p, step);
}

static void blur_rect(const struct canvas *cv, const struct rect *r, int radius)
{
	/* one line of one channel; frame sides are at most VIGIL_MAX_FRAME_SIDE samples */
	uint8_t a[VIGIL_MAX_FRAME_SIDE], b[VIGIL_MAX_FRAME_SIDE];

	for (int i = 0; i < cv->n; i++) {
		const struct channel *ch = &cv->ch[i];
		const int rx = radius / ch->sx > 1 ? radius / ch->sx : 1;
		const int ry = radius / ch->sy > 1 ? radius / ch->sy : 1;
		int cx0, cy0, cx1, cy1;

		channel_rect(ch, r, &cx0, &cy0, &cx1, &cy1);
		for (int cy = cy0; cy < cy1; cy++)
			blur_line(sample(ch, cx0, cy), ch->step, cx1 - cx0, rx, a, b);
		for (int cx = cx0; cx < cx1; cx++)
			blur_line(sample(ch, cx, cy0), ch->stride, cy1 - cy0, ry, a, b);
	}
}

static void pixelate_rect(const struct canvas *cv, const struct rect *r, int block)
{
	for (int i = 0; i < cv->n; i++) {
		const struct channel *ch = &cv->ch[i];
		const int bx = block / ch->sx > 1 ? block / ch->sx : 1;
		const int by = block / ch->sy > 1 ? block / ch->sy : 1;
		int cx0, cy0, cx1, cy1;

		channel_rect(ch, r, &cx0, &cy0, &cx1, &cy1);
		for (int y = cy0; y < cy1; y += by) {
			const int ye = y + by < cy1 ? y + by : cy1;

			for (int x = cx0; x < cx1; x += bx) {
				const int xe = x + bx < cx1 ? x + bx : cx1;
				const uint64_t count = (uint64_t)(xe - x) * (uint64_t)(ye - y);
				uint64_t sum = 0;
				uint8_t mean;

				for (int yy = y; yy < ye; yy++) {
					const uint8_t *p = sample(ch, x, yy);

					for (int xx = x; xx < xe; xx++, p += ch->step)
						sum += *p;
				}
				mean = (uint8_t)((sum + count / 2) / count);
				for (int yy = y; yy < ye; yy++) {
					uint8_t *p = sample(ch, x, yy);

					for (int xx = x; xx < xe; xx++, p += ch->step)
						*p = mean;
				}
			}
		}
	}
}

/* ---- entry points --------------------------------------------------------------------------------------- */

void vigil_annotate_config_init(struct vigil_annotate_config *config)
{
	if (!config)
		return;
	memset(config, 0, sizeof(*config));
	config->mode = VIGIL_ANNOTATE_BOX;
	config->draw_labels = 1;
	config->draw_keypoints = 1;
	config->fill_rgb = 0x000000;
}

static int check_config(const struct vigil_annotate_config *c)
{
	if ((int)c->mode < VIGIL_ANNOTATE_BOX || (int)c->mode > VIGIL_ANNOTATE_FILL)
		return vigil_error(-EINVAL, "annotate mode %d is not one of box, blur, pixelate, fill (0..3)",
				   (int)c->mode);
	if (c->thickness < 0 || c->thickness > MAX_THICKNESS)
		return vigil_error(-EINVAL, "annotate thickness %d is outside 0..%d (0: automatic)", c->thickness,
				   MAX_THICKNESS);
	if (c->pixelate_block < 0 || c->pixelate_block > MAX_FILTER_PX)
		return vigil_error(-EINVAL, "pixelate block %d is outside 0..%d (0: automatic)", c->pixelate_block,
				   MAX_FILTER_PX);
	if (c->blur_radius < 0 || c->blur_radius > MAX_FILTER_PX)
		return vigil_error(-EINVAL, "blur radius %d is outside 0..%d (0: automatic)", c->blur_radius,
				   MAX_FILTER_PX);
	return 0;
}

int vigil_frame_annotate(const struct vigil_frame *frame, const struct vigil_detections *dets,
			 const struct vigil_annotate_config *config)
{
	struct vigil_annotate_config defaults;
	struct canvas cv;
	struct color fill;
	int err, min_side, thick, scale;

	err = vigil_frame_validate(frame);
	if (err < 0)
		return err;
	if (!dets)
		return vigil_error(-EINVAL, "detections are NULL");
	if (dets->count && !dets->items)
		return vigil_error(-EINVAL, "%zu detections but no items", dets->count);
	if (!config) {
		vigil_annotate_config_init(&defaults);
		config = &defaults;
	}
	err = check_config(config);
	if (err < 0)
		return err;

	canvas_init(&cv, frame);
	min_side = cv.width < cv.height ? cv.width : cv.height;
	thick = config->thickness ? config->thickness : (min_side / 300 > 2 ? min_side / 300 : 2);
	/* Text grows with the frame like the lines do (1x below 600 px, 2x from 600, 3x on 1080p) so that tags
	 * stay readable on a downscaled view of a large frame. */
	scale = min_side / 300 > 1 ? min_side / 300 : 1;
	fill = make_color(&cv, (struct vigil_rgb){ (uint8_t)(config->fill_rgb >> 16), (uint8_t)(config->fill_rgb >> 8),
						   (uint8_t)config->fill_rgb });

	/* Lowest score first, so that the strongest detection's tag ends on top where tags overlap. */
	for (size_t i = dets->count; i-- > 0;) {
		const struct vigil_detection *d = &dets->items[i];
		struct rect r;

		if (config->mode == VIGIL_ANNOTATE_BOX) {
			draw_box(&cv, d, thick, scale, config);
			continue;
		}
		if (!mask_rect(&cv, d, &r))
			continue;
		switch (config->mode) {
		case VIGIL_ANNOTATE_BLUR:
			blur_rect(&cv, &r, config->blur_radius ? config->blur_radius : auto_size(d, 6, 2));
			break;
		case VIGIL_ANNOTATE_PIXELATE:
			pixelate_rect(&cv, &r, config->pixelate_block ? config->pixelate_block : auto_size(d, 8, 4));
			break;
		case VIGIL_ANNOTATE_FILL:
		default:
			fill_rect(&cv, r.x0, r.y0, r.x1, r.y1, &fill, 0);
			break;
		}
	}
	return 0;
}
