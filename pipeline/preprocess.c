/* SPDX-License-Identifier: Apache-2.0
 * One-pass preprocessing. configure() turns the frame geometry and ROI into a letterbox and per-axis
 * bilinear tap tables; run() walks the tensor once, reading the (at most) four source samples of each
 * channel straight from the frame's planes. The sampling mirrors MediaPipe's GPU path: a texture with
 * linear filtering, clamp-to-edge inside the ROI and a black border outside it, so that our tensors (and
 * therefore our detections) match Google's. */
#include "preprocess.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Bounds the tap tables; the models we run are 128 and 192. */
#define MAX_TENSOR_SIDE 4096

int vigil_preprocess_init(struct vigil_preprocess *pp, int dst_w, int dst_h, float norm_scale, float norm_bias)
{
	struct vigil_tap *taps;
	size_t ncols;
	void *cols;

	if (!pp)
		return vigil_error(-EINVAL, "preprocess state is NULL");
	memset(pp, 0, sizeof(*pp));
	if (dst_w < 1 || dst_h < 1 || dst_w > MAX_TENSOR_SIDE || dst_h > MAX_TENSOR_SIDE)
		return vigil_error(-EINVAL, "tensor size %dx%d is outside 1x1..%dx%d", dst_w, dst_h, MAX_TENSOR_SIDE,
				   MAX_TENSOR_SIDE);
	/* The letterbox has a single scale and side (postprocessing maps tensor coordinates back with
	 * them), which is what MediaPipe does for its square detector inputs. */
	if (dst_w != dst_h)
		return vigil_error(-EINVAL, "preprocessing needs a square tensor, got %dx%d", dst_w, dst_h);
	if (!isfinite(norm_scale) || !isfinite(norm_bias))
		return vigil_error(-EINVAL, "normalisation %g * v + %g is not finite", norm_scale, norm_bias);

	taps = calloc(2 * (size_t)dst_w + 2 * (size_t)dst_h, sizeof(*taps));
	if (!taps)
		return vigil_error(-ENOMEM, "out of memory for %dx%d preprocessing tables", dst_w, dst_h);
	pp->dst_w = dst_w;
	pp->dst_h = dst_h;
	pp->norm_scale = norm_scale;
	pp->norm_bias = norm_bias;
	pp->luma_x = taps;
	pp->chroma_x = taps + dst_w;
	pp->luma_y = taps + 2 * (size_t)dst_w;
	pp->chroma_y = taps + 2 * (size_t)dst_w + dst_h;
	/* four column tables, each padded for whole vectors */
	ncols = ((size_t)dst_w + VIGIL_PREP_COLS_ALIGN - 1) / VIGIL_PREP_COLS_ALIGN * VIGIL_PREP_COLS_ALIGN;
	cols = calloc(4 * ncols, sizeof(int32_t));
	if (!cols) {
		free(taps);
		memset(pp, 0, sizeof(*pp));
		return vigil_error(-ENOMEM, "out of memory for %dx%d preprocessing tables", dst_w, dst_h);
	}
	pp->cols.off_y = cols;
	pp->cols.off_c = pp->cols.off_y + ncols;
	pp->cols.fx_y = (float *)(pp->cols.off_c + ncols);
	pp->cols.fx_c = pp->cols.fx_y + ncols;
	pp->kernels = vigil_prep_kernels();
	return 0;
}

void vigil_preprocess_free(struct vigil_preprocess *pp)
{
	if (!pp)
		return;
	/* luma_x heads the single block the tap tables share, cols.off_y the column tables' */
	free(pp->luma_x);
	free(pp->cols.off_y);
	memset(pp, 0, sizeof(*pp));
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A tap at sample position @p pos of a plane whose usable samples are [lo, hi]. */
static struct vigil_tap make_tap(double pos, int lo, int hi, int inside)
{
	struct vigil_tap t;
	double f = floor(pos);

	/* pos stays within a few frame sides of the frame, so the conversion cannot overflow */
	t.lo = clamp_int((int)f, lo, hi);
	t.hi = clamp_int((int)f + 1, lo, hi);
	t.frac = (float)(pos - f);
	t.inside = inside;
	return t;
}

/* Fills one axis: @p n tensor pixels over ROI [r0, r1) in a plane, letterbox origin @p origin. */
static void fill_axis(struct vigil_tap *luma, struct vigil_tap *chroma, int n, double scale, double origin, int r0,
		      int r1, int chroma_mode, enum vigil_sampling sampling)
{
	for (int k = 0; k < n; k++) {
		double s = sampling == VIGIL_SAMPLING_CORNER ? k * scale + origin : (k + 0.5) * scale - 0.5 + origin;
		/* a GL texture with a zero border: black beyond half a pixel outside the edge samples */
		int inside = s >= r0 - 0.5 && s <= r1 - 0.5;

		luma[k] = make_tap(s, r0, r1 - 1, inside);
		switch (chroma_mode) {
		case 1: /* horizontal subsampling: chroma sited with the even luma samples (MPEG-2) */
			chroma[k] = make_tap(s / 2, r0 / 2, (r1 - 1) / 2, inside);
			break;
		case 2: /* vertical 4:2:0 subsampling: chroma sited between the two luma rows */
			chroma[k] = make_tap((s + 0.5) / 2 - 0.5, r0 / 2, (r1 - 1) / 2, inside);
			break;
		default: /* full resolution (4:2:2 rows, or no chroma) */
			chroma[k] = luma[k];
			break;
		}
	}
}

/* The row kernels' column tables (see preprocess_kernels.h) for pp->format from the tap tables. */
static void plan_cols(struct vigil_preprocess *pp)
{
	const struct vigil_prep_cols *t = &pp->cols;
	int ystep = 1, yoff = 0, cstep = 0, n, padded;

	pp->fast = 0;
	pp->col_j0 = pp->col_j1 = 0;
	switch (pp->format) {
	case VIGIL_FORMAT_NV12:
		cstep = 2;
		break;
	case VIGIL_FORMAT_I420:
		cstep = 1;
		break;
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY:
		ystep = 2;
		yoff = pp->format == VIGIL_FORMAT_UYVY;
		cstep = 4;
		break;
	case VIGIL_FORMAT_RGB:
	case VIGIL_FORMAT_BGR:
		ystep = 3;
		break;
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_RGBX:
	case VIGIL_FORMAT_BGRX:
		ystep = 4;
		break;
	default: /* GRAY8 stays on the generic rows */
		return;
	}
	/* a window reads up to 4 bytes past a row: every plane row must have 4 bytes (I420 chroma: 8 pixels) */
	if (pp->width < 8 || !pp->kernels)
		return;
	while (pp->col_j0 < pp->dst_w && !pp->luma_x[pp->col_j0].inside)
		pp->col_j0++;
	pp->col_j1 = pp->col_j0;
	while (pp->col_j1 < pp->dst_w && pp->luma_x[pp->col_j1].inside)
		pp->col_j1++;
	n = pp->col_j1 - pp->col_j0;
	padded = (n + VIGIL_PREP_COLS_ALIGN - 1) / VIGIL_PREP_COLS_ALIGN * VIGIL_PREP_COLS_ALIGN;
	for (int q = 0; q < padded; q++) {
		/* hi is lo + 1, or lo at an edge, where weight 0 on the next sample gives the same value */
		const struct vigil_tap *tx = &pp->luma_x[pp->col_j0 + (q < n ? q : n - 1)];
		const struct vigil_tap *cx = &pp->chroma_x[pp->col_j0 + (q < n ? q : n - 1)];

		t->off_y[q] = tx->lo * ystep + yoff;
		t->fx_y[q] = tx->hi == tx->lo ? 0.0f : tx->frac;
		t->off_c[q] = cx->lo * cstep;
		t->fx_c[q] = cx->hi == cx->lo ? 0.0f : cx->frac;
	}
	pp->fast = n > 0;
}

int vigil_preprocess_configure(struct vigil_preprocess *pp, const struct vigil_frame *frame,
			       const struct vigil_rect *roi, enum vigil_sampling sampling)
{
	int x0 = 0, y0 = 0, x1, y1, rw, rh, side, subsampled_x, subsampled_y;
	double scale, ox, oy;

	if (!pp || !pp->luma_x || !frame)
		return vigil_error(-EINVAL, "preprocess configure: %s is NULL or uninitialised",
				   frame ? "state" : "frame");
	pp->configured = 0;
	if (sampling != VIGIL_SAMPLING_PIXEL_CENTER && sampling != VIGIL_SAMPLING_CORNER)
		return vigil_error(-EINVAL, "sampling %d is neither pixel-centre (0) nor corner (1)", (int)sampling);
	if ((int)frame->format < 0 || (int)frame->format >= VIGIL_FORMAT_COUNT)
		return vigil_error(VIGIL_EFORMAT, "pixel format %d is not one of the %d supported formats",
				   (int)frame->format, VIGIL_FORMAT_COUNT);
	if (frame->width < 1 || frame->height < 1 || frame->width > VIGIL_MAX_FRAME_SIDE ||
	    frame->height > VIGIL_MAX_FRAME_SIDE)
		return vigil_error(VIGIL_EFORMAT, "frame size %dx%d is outside 1x1..%dx%d", frame->width, frame->height,
				   VIGIL_MAX_FRAME_SIDE, VIGIL_MAX_FRAME_SIDE);
	x1 = frame->width;
	y1 = frame->height;

	/* written so that a NaN size selects the ROI path and is refused there */
	if (roi && !(roi->w <= 0 || roi->h <= 0)) {
		double fx0, fy0, fx1, fy1;

		if (!isfinite(roi->x) || !isfinite(roi->y) || !isfinite(roi->w) || !isfinite(roi->h))
			return vigil_error(VIGIL_EFORMAT, "ROI (%g, %g, %g, %g) is not finite", roi->x, roi->y, roi->w,
					   roi->h);
		/* whole pixels that the rectangle touches, clipped to the frame (in double: no int overflow) */
		fx0 = fmax(floor(roi->x), 0.0);
		fy0 = fmax(floor(roi->y), 0.0);
		fx1 = fmin(ceil((double)roi->x + roi->w), frame->width);
		fy1 = fmin(ceil((double)roi->y + roi->h), frame->height);
		if (fx1 <= fx0 || fy1 <= fy0)
			return vigil_error(VIGIL_EFORMAT, "ROI (%g, %g, %g x %g) does not overlap the %dx%d frame",
					   roi->x, roi->y, roi->w, roi->h, frame->width, frame->height);
		x0 = (int)fx0;
		y0 = (int)fy0;
		x1 = (int)fx1;
		y1 = (int)fy1;
	}

	rw = x1 - x0;
	rh = y1 - y0;
	side = rw > rh ? rw : rh;
	/* half-integers, exact in float and double */
	ox = x0 - (side - rw) / 2.0;
	oy = y0 - (side - rh) / 2.0;
	scale = (double)side / pp->dst_w;

	subsampled_x = frame->format == VIGIL_FORMAT_NV12 || frame->format == VIGIL_FORMAT_I420 ||
		       frame->format == VIGIL_FORMAT_YUY2 || frame->format == VIGIL_FORMAT_UYVY;
	subsampled_y = frame->format == VIGIL_FORMAT_NV12 || frame->format == VIGIL_FORMAT_I420;
	if (pp->stretch) { /* whole ROI onto the whole tensor, one scale per axis */
		side = rw;
		ox = x0;
		oy = y0;
		scale = (double)rw / pp->dst_w;
		fill_axis(pp->luma_y, pp->chroma_y, pp->dst_h, (double)rh / pp->dst_h, oy, y0, y1, subsampled_y ? 2 : 0,
			  sampling);
	} else {
		fill_axis(pp->luma_y, pp->chroma_y, pp->dst_h, scale, oy, y0, y1, subsampled_y ? 2 : 0, sampling);
	}
	fill_axis(pp->luma_x, pp->chroma_x, pp->dst_w, scale, ox, x0, x1, subsampled_x ? 1 : 0, sampling);

	pp->lb.origin_x = (float)ox;
	pp->lb.origin_y = (float)oy;
	pp->lb.side = (float)side;
	pp->lb.scale = (float)scale;
	pp->lb.roi_x0 = x0;
	pp->lb.roi_y0 = y0;
	pp->lb.roi_x1 = x1;
	pp->lb.roi_y1 = y1;
	pp->format = frame->format;
	pp->width = frame->width;
	pp->height = frame->height;
	pp->sampling = sampling;
	plan_cols(pp);
	pp->configured = 1;
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */

/* YUV -> RGB: R = ys*(Y - yo) + rv*(V - 128), G = ys*(Y - yo) - gu*(U - 128) - gv*(V - 128),
 * B = ys*(Y - yo) + bu*(U - 128). */
struct yuv_matrix {
	float ys, yo, rv, gu, gv, bu;
};

/* Derived from the standards' luma weights Kr and Kb (BT.601: 0.299, 0.114; BT.709: 0.2126, 0.0722) and,
 * for limited range, the 219 (luma) and 224 (chroma) code ranges: e.g. BT.601 limited gives
 * ys = 1.164383, rv = 1.596027, gu = 0.391762, gv = 0.812968, bu = 2.017232. */
static struct yuv_matrix yuv_matrix(enum vigil_colorimetry c)
{
	int bt709 = c == VIGIL_COLOR_BT709_LIMITED || c == VIGIL_COLOR_BT709_FULL;
	int full = c == VIGIL_COLOR_BT601_FULL || c == VIGIL_COLOR_BT709_FULL;
	double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114, kg = 1.0 - kr - kb;
	double ys = full ? 1.0 : 255.0 / 219.0, cs = full ? 1.0 : 255.0 / 224.0;
	struct yuv_matrix m;

	m.ys = (float)ys;
	m.yo = full ? 0.0f : 16.0f;
	m.rv = (float)(cs * 2.0 * (1.0 - kr));
	m.bu = (float)(cs * 2.0 * (1.0 - kb));
	m.gu = (float)(cs * 2.0 * (1.0 - kb) * kb / kg);
	m.gv = (float)(cs * 2.0 * (1.0 - kr) * kr / kg);
	return m;
}

void vigil_preprocess_yuv_coeffs(enum vigil_colorimetry c, float out[8])
{
	const struct yuv_matrix m = yuv_matrix(c);

	out[0] = m.ys;
	out[1] = m.yo;
	out[2] = m.rv;
	out[3] = m.gu;
	out[4] = m.gv;
	out[5] = m.bu;
	out[6] = out[7] = 0.0f;
}

static float clamp255(float v)
{
	return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
}

static void put_yuv(float *out, const struct yuv_matrix *m, float y, float u, float v, float ns, float nb)
{
	float l = m->ys * (y - m->yo);

	u -= 128.0f;
	v -= 128.0f;
	out[0] = clamp255(l + m->rv * v) * ns + nb;
	out[1] = clamp255(l - m->gu * u - m->gv * v) * ns + nb;
	out[2] = clamp255(l + m->bu * u) * ns + nb;
}

static void put_black(float *out, int n, float black)
{
	for (int k = 0; k < 3 * n; k++)
		out[k] = black;
}

/* Bilinear mix of samples a (lo,lo) b (hi,lo) c (lo,hi) d (hi,hi). */
static float mix(int a, int b, int c, int d, float fx, float fy)
{
	float top = (float)a + fx * (float)(b - a);
	float bot = (float)c + fx * (float)(d - c);

	return top + fy * (bot - top);
}

static const uint8_t *row(const uint8_t *plane, int stride, int y)
{
	return plane + (ptrdiff_t)y * stride;
}

/* Touches the cache lines that the next tensor row will sample while this one is computed: the rows are far
 * apart in the frame, so the hardware prefetchers do not see them coming, and the kernels wait on memory. */
static void prefetch_span(const uint8_t *r, int first, int last)
{
	for (int b = first; b <= last; b += 64)
		__builtin_prefetch(r + b);
	__builtin_prefetch(r + last);
}

static void prefetch_next(const struct vigil_preprocess *pp, const struct vigil_frame *f, int i)
{
	const int n = pp->col_j1 - pp->col_j0;
	const struct vigil_tap *ty, *cy;

	if (i + 1 >= pp->dst_h || !pp->luma_y[i + 1].inside)
		return;
	ty = &pp->luma_y[i + 1];
	cy = &pp->chroma_y[i + 1];
	prefetch_span(row(f->planes[0], f->strides[0], ty->lo), pp->cols.off_y[0], pp->cols.off_y[n - 1] + 7);
	prefetch_span(row(f->planes[0], f->strides[0], ty->hi), pp->cols.off_y[0], pp->cols.off_y[n - 1] + 7);
	if (f->format == VIGIL_FORMAT_NV12 || f->format == VIGIL_FORMAT_I420) {
		for (int p = 1; p <= (f->format == VIGIL_FORMAT_I420 ? 2 : 1); p++) {
			prefetch_span(row(f->planes[p], f->strides[p], cy->lo), pp->cols.off_c[0],
				      pp->cols.off_c[n - 1] + 3);
			prefetch_span(row(f->planes[p], f->strides[p], cy->hi), pp->cols.off_c[0],
				      pp->cols.off_c[n - 1] + 3);
		}
	}
}

/* Hands tensor row @p i to the row kernel when it can take it (pp->fast, and no source row the last of its plane:
 * the kernels' windows may read a few bytes past a row). Returns 0 when the caller must sample the row itself. */
static int fast_row(const struct vigil_preprocess *pp, const struct vigil_frame *f, int i, float *out,
		    const struct yuv_matrix *m)
{
	const struct vigil_tap *ty = &pp->luma_y[i], *cy = &pp->chroma_y[i];
	const int chroma_last = (f->height + 1) / 2 - 1;
	const struct vigil_prep_kernels *k = pp->kernels;
	struct vigil_prep_row r = { .cols = &pp->cols, .fy_y = ty->frac, .fy_c = cy->frac };
	vigil_prep_row_fn fn;

	if (!pp->fast || ty->lo >= f->height - 1 || ty->hi >= f->height - 1)
		return 0;
	r.r0[0] = row(f->planes[0], f->strides[0], ty->lo);
	r.r1[0] = row(f->planes[0], f->strides[0], ty->hi);
	switch (f->format) {
	case VIGIL_FORMAT_NV12:
	case VIGIL_FORMAT_I420:
		if (cy->lo >= chroma_last || cy->hi >= chroma_last)
			return 0;
		for (int p = 1; p <= (f->format == VIGIL_FORMAT_I420 ? 2 : 1); p++) {
			r.r0[p] = row(f->planes[p], f->strides[p], cy->lo);
			r.r1[p] = row(f->planes[p], f->strides[p], cy->hi);
		}
		fn = f->format == VIGIL_FORMAT_NV12 ? k->nv12 : k->i420;
		break;
	case VIGIL_FORMAT_YUY2:
	case VIGIL_FORMAT_UYVY: /* Y, U, V bytes of a macropixel in ro, go, bo */
		r.ro = f->format == VIGIL_FORMAT_UYVY;
		r.go = f->format == VIGIL_FORMAT_UYVY ? 0 : 1;
		r.bo = f->format == VIGIL_FORMAT_UYVY ? 2 : 3;
		fn = k->yuv422;
		break;
	case VIGIL_FORMAT_RGB:
	case VIGIL_FORMAT_BGR:
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_RGBX:
	case VIGIL_FORMAT_BGRX: {
		const int bgr =
		    f->format == VIGIL_FORMAT_BGR || f->format == VIGIL_FORMAT_BGRA || f->format == VIGIL_FORMAT_BGRX;

		r.bpp = f->format == VIGIL_FORMAT_RGB || f->format == VIGIL_FORMAT_BGR ? 3 : 4;
		r.ro = bgr ? 2 : 0;
		r.go = 1;
		r.bo = bgr ? 0 : 2;
		fn = k->rgb;
		break;
	}
	default:
		return 0;
	}
	if (m) {
		r.ys = m->ys;
		r.yo = m->yo;
		r.rv = m->rv;
		r.gu = m->gu;
		r.gv = m->gv;
		r.bu = m->bu;
	}
	r.ns = pp->norm_scale;
	r.nb = pp->norm_bias;
	r.n = pp->col_j1 - pp->col_j0;
	r.out = out + 3 * (size_t)pp->col_j0;
	put_black(out, pp->col_j0, pp->norm_bias);
	prefetch_next(pp, f, i);
	fn(&r);
	put_black(out + 3 * (size_t)pp->col_j1, pp->dst_w - pp->col_j1, pp->norm_bias);
	return 1;
}

/* Packed RGB-like formats (3 or 4 bytes, R/G/B at given offsets) and GRAY8 (bpp 1, all offsets 0). */
static void run_packed_rgb(const struct vigil_preprocess *pp, const struct vigil_frame *f, float *dst, int bpp, int ro,
			   int go, int bo)
{
	const float ns = pp->norm_scale, nb = pp->norm_bias;

	for (int i = 0; i < pp->dst_h; i++) {
		const struct vigil_tap *ty = &pp->luma_y[i];
		float *out = dst + (size_t)i * pp->dst_w * 3;
		const uint8_t *r0, *r1;

		if (!ty->inside) {
			put_black(out, pp->dst_w, nb);
			continue;
		}
		if (fast_row(pp, f, i, out, NULL))
			continue;
		r0 = row(f->planes[0], f->strides[0], ty->lo);
		r1 = row(f->planes[0], f->strides[0], ty->hi);
		for (int j = 0; j < pp->dst_w; j++, out += 3) {
			const struct vigil_tap *tx = &pp->luma_x[j];
			const uint8_t *a, *b, *c, *d;

			if (!tx->inside) {
				put_black(out, 1, nb);
				continue;
			}
			a = r0 + (ptrdiff_t)tx->lo * bpp;
			b = r0 + (ptrdiff_t)tx->hi * bpp;
			c = r1 + (ptrdiff_t)tx->lo * bpp;
			d = r1 + (ptrdiff_t)tx->hi * bpp;
			out[0] = mix(a[ro], b[ro], c[ro], d[ro], tx->frac, ty->frac) * ns + nb;
			out[1] = mix(a[go], b[go], c[go], d[go], tx->frac, ty->frac) * ns + nb;
			out[2] = mix(a[bo], b[bo], c[bo], d[bo], tx->frac, ty->frac) * ns + nb;
		}
	}
}

/* NV12 (uv_step 2, V right after U in plane 1) and I420 (uv_step 1, U in plane 1, V in plane 2). */
static void run_planar_420(const struct vigil_preprocess *pp, const struct vigil_frame *f, float *dst, int nv12)
{
	const float ns = pp->norm_scale, nb = pp->norm_bias;
	const struct yuv_matrix m = yuv_matrix(f->colorimetry);
	const int step = nv12 ? 2 : 1;

	for (int i = 0; i < pp->dst_h; i++) {
		const struct vigil_tap *ty = &pp->luma_y[i], *cy = &pp->chroma_y[i];
		float *out = dst + (size_t)i * pp->dst_w * 3;
		const uint8_t *y0, *y1, *u0, *u1, *v0, *v1;

		if (!ty->inside) {
			put_black(out, pp->dst_w, nb);
			continue;
		}
		if (fast_row(pp, f, i, out, &m))
			continue;
		y0 = row(f->planes[0], f->strides[0], ty->lo);
		y1 = row(f->planes[0], f->strides[0], ty->hi);
		u0 = row(f->planes[1], f->strides[1], cy->lo);
		u1 = row(f->planes[1], f->strides[1], cy->hi);
		if (nv12) {
			v0 = u0 + 1;
			v1 = u1 + 1;
		} else {
			v0 = row(f->planes[2], f->strides[2], cy->lo);
			v1 = row(f->planes[2], f->strides[2], cy->hi);
		}
		for (int j = 0; j < pp->dst_w; j++, out += 3) {
			const struct vigil_tap *tx = &pp->luma_x[j], *cx = &pp->chroma_x[j];
			ptrdiff_t cl = (ptrdiff_t)cx->lo * step, ch = (ptrdiff_t)cx->hi * step;
			float y, u, v;

			if (!tx->inside) {
				put_black(out, 1, nb);
				continue;
			}
			y = mix(y0[tx->lo], y0[tx->hi], y1[tx->lo], y1[tx->hi], tx->frac, ty->frac);
			u = mix(u0[cl], u0[ch], u1[cl], u1[ch], cx->frac, cy->frac);
			v = mix(v0[cl], v0[ch], v1[cl], v1[ch], cx->frac, cy->frac);
			put_yuv(out, &m, y, u, v, ns, nb);
		}
	}
}

/* YUY2 (Y0 U Y1 V) and UYVY (U Y0 V Y1): 4:2:2, chroma rows are the luma rows. */
static void run_packed_422(const struct vigil_preprocess *pp, const struct vigil_frame *f, float *dst, int yo, int uo,
			   int vo)
{
	const float ns = pp->norm_scale, nb = pp->norm_bias;
	const struct yuv_matrix m = yuv_matrix(f->colorimetry);

	for (int i = 0; i < pp->dst_h; i++) {
		const struct vigil_tap *ty = &pp->luma_y[i];
		float *out = dst + (size_t)i * pp->dst_w * 3;
		const uint8_t *r0, *r1;

		if (!ty->inside) {
			put_black(out, pp->dst_w, nb);
			continue;
		}
		if (fast_row(pp, f, i, out, &m))
			continue;
		r0 = row(f->planes[0], f->strides[0], ty->lo);
		r1 = row(f->planes[0], f->strides[0], ty->hi);
		for (int j = 0; j < pp->dst_w; j++, out += 3) {
			const struct vigil_tap *tx = &pp->luma_x[j], *cx = &pp->chroma_x[j];
			ptrdiff_t yl = (ptrdiff_t)tx->lo * 2 + yo, yh = (ptrdiff_t)tx->hi * 2 + yo;
			ptrdiff_t cl = (ptrdiff_t)cx->lo * 4, ch = (ptrdiff_t)cx->hi * 4;
			float y, u, v;

			if (!tx->inside) {
				put_black(out, 1, nb);
				continue;
			}
			y = mix(r0[yl], r0[yh], r1[yl], r1[yh], tx->frac, ty->frac);
			u = mix(r0[cl + uo], r0[ch + uo], r1[cl + uo], r1[ch + uo], cx->frac, ty->frac);
			v = mix(r0[cl + vo], r0[ch + vo], r1[cl + vo], r1[ch + vo], cx->frac, ty->frac);
			put_yuv(out, &m, y, u, v, ns, nb);
		}
	}
}

void vigil_preprocess_run(const struct vigil_preprocess *pp, const struct vigil_frame *frame, float *dst)
{
	/* A frame other than the configured one is a caller bug; a black tensor is safer than reading
	 * planes with tables made for another geometry. */
	if (!pp->configured || frame->format != pp->format || frame->width != pp->width ||
	    frame->height != pp->height) {
		put_black(dst, pp->dst_w * pp->dst_h, pp->norm_bias);
		return;
	}
	switch (frame->format) {
	case VIGIL_FORMAT_NV12:
		run_planar_420(pp, frame, dst, 1);
		break;
	case VIGIL_FORMAT_I420:
		run_planar_420(pp, frame, dst, 0);
		break;
	case VIGIL_FORMAT_YUY2:
		run_packed_422(pp, frame, dst, 0, 1, 3);
		break;
	case VIGIL_FORMAT_UYVY:
		run_packed_422(pp, frame, dst, 1, 0, 2);
		break;
	case VIGIL_FORMAT_RGB:
		run_packed_rgb(pp, frame, dst, 3, 0, 1, 2);
		break;
	case VIGIL_FORMAT_BGR:
		run_packed_rgb(pp, frame, dst, 3, 2, 1, 0);
		break;
	case VIGIL_FORMAT_RGBA:
	case VIGIL_FORMAT_RGBX:
		run_packed_rgb(pp, frame, dst, 4, 0, 1, 2);
		break;
	case VIGIL_FORMAT_BGRA:
	case VIGIL_FORMAT_BGRX:
		run_packed_rgb(pp, frame, dst, 4, 2, 1, 0);
		break;
	case VIGIL_FORMAT_GRAY8:
		run_packed_rgb(pp, frame, dst, 1, 0, 0, 0);
		break;
	default:
		put_black(dst, pp->dst_w * pp->dst_h, pp->norm_bias);
		break;
	}
}

void vigil_preprocess_run_u8(const struct vigil_preprocess *pp, const struct vigil_frame *frame, float *scratch,
			     uint8_t *dst)
{
	const size_t n = (size_t)pp->dst_w * pp->dst_h * 3;

	vigil_preprocess_run(pp, frame, scratch);
	if (pp->kernels) {
		pp->kernels->f32_to_u8(scratch, dst, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)lrintf(clamp255(scratch[i]));
}
