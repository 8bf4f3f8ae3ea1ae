/* SPDX-License-Identifier: Apache-2.0 */
#include "detpp_run.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "vigil/vigil.h"

struct scratch {
	float *boxes;      /* [A][4] decoded corners ymin, xmin, ymax, xmax */
	float *scores;     /* [A][C1] dequantized */
	float *max_scores; /* [A] */
	uint8_t *max_q;    /* [A] the uint8 score behind max_scores (fast_nms_u8) */
	int *classes;      /* [A][K] best classes per anchor (fast path) */
	int *keep_idx, *order, *tmp;
	float *keep_scores;
	uint8_t *active;
	int *selected;
	/* regular NMS */
	float *class_scores; /* [A] */
	int *box_idx;        /* [A + max] */
	float *score_after;  /* [A + max] */
	int *sorted;         /* [A + max] */
	float *sorted_values;
};

static size_t up8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int per_anchor(const struct vigil_detpp_params *p)
{
	return p->max_classes_per_detection < p->num_classes ? p->max_classes_per_detection : p->num_classes;
}

static size_t layout(const struct vigil_detpp_params *p, int na, int c1, uint8_t *base, struct scratch *s)
{
	const size_t a = (size_t)na, m = (size_t)p->max_detections,
		     sel = m > (size_t)p->detections_per_class ? m : (size_t)p->detections_per_class;
	size_t at = 0;
#define TAKE(field, type, n)                                                                                           \
	do {                                                                                                           \
		if (s)                                                                                                 \
			s->field = (type *)(base + at);                                                                \
		at += up8((n) * sizeof(type));                                                                         \
	} while (0)
	TAKE(boxes, float, a * 4);
	TAKE(scores, float, a *(size_t)c1);
	TAKE(max_scores, float, a);
	TAKE(max_q, uint8_t, a);
	TAKE(classes, int, a *(size_t)per_anchor(p));
	TAKE(keep_idx, int, a);
	TAKE(order, int, a);
	TAKE(tmp, int, a + m);
	TAKE(keep_scores, float, a);
	TAKE(active, uint8_t, a);
	TAKE(selected, int, sel);
	TAKE(class_scores, float, a);
	TAKE(box_idx, int, a + m);
	TAKE(score_after, float, a + m);
	TAKE(sorted, int, a + m);
	TAKE(sorted_values, float, m);
#undef TAKE
	return at;
}

size_t vigil_detpp_scratch_bytes(const struct vigil_detpp_params *p, int num_anchors, int num_classes_with_bg)
{
	return layout(p, num_anchors, num_classes_with_bg, NULL, NULL);
}

/* Stable sort of indices 0..n-1 by decreasing values[i] (ties keep index order), bottom-up merge sort. */
static void argsort_desc(const float *values, int n, int *idx, int *tmp)
{
	for (int i = 0; i < n; i++)
		idx[i] = i;
	for (int width = 1; width < n; width *= 2) {
		for (int lo = 0; lo < n; lo += 2 * width) {
			const int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			int i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = values[idx[j]] > values[idx[i]] ? idx[j++] : idx[i++];
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
		}
		memcpy(idx, tmp, (size_t)n * sizeof(int));
	}
}

/* The k largest of n values, decreasing, first occurrence first among equals. */
static void top_k(const float *values, int n, int k, int *idx)
{
	if (k == 1) { /* the usual case (max_classes_per_detection 1): a plain argmax, first of equals */
		int best = 0;

		for (int i = 1; i < n; i++)
			if (values[i] > values[best])
				best = i;
		idx[0] = best;
		return;
	}
	for (int j = 0; j < k; j++) {
		int best = -1;

		for (int i = 0; i < n; i++) {
			int taken = 0;

			for (int q = 0; q < j && !taken; q++)
				taken = idx[q] == i;
			if (!taken && (best < 0 || values[i] > values[best]))
				best = i;
		}
		idx[j] = best;
	}
}

static float iou(const float *bi, const float *bj)
{
	const float area_i = (bi[2] - bi[0]) * (bi[3] - bi[1]);
	const float area_j = (bj[2] - bj[0]) * (bj[3] - bj[1]);
	float ymin, xmin, ymax, xmax, inter;

	if (area_i <= 0 || area_j <= 0)
		return 0.0f;
	ymin = bi[0] > bj[0] ? bi[0] : bj[0];
	xmin = bi[1] > bj[1] ? bi[1] : bj[1];
	ymax = bi[2] < bj[2] ? bi[2] : bj[2];
	xmax = bi[3] < bj[3] ? bi[3] : bj[3];
	inter = (ymax - ymin > 0.0f ? ymax - ymin : 0.0f) * (xmax - xmin > 0.0f ? xmax - xmin : 0.0f);
	return inter / (area_i + area_j - inter);
}

/* NonMaxSuppressionSingleClassHelper: greedy NMS over scores[0..na), at most max_out picks into s->selected. With
 * keys (the uint8 score each float was dequantized from, strictly increasing with it), the stable descending sort is
 * a counting sort on the keys: the same order as argsort_desc on the floats. */
static int nms_single(const struct vigil_detpp_params *p, struct scratch *s, int na, const float *scores,
		      const uint8_t *keys, int max_out)
{
	int kept = 0, n_sel = 0, active_left;

	for (int i = 0; i < na; i++)
		if (scores[i] >= p->nms_score_threshold) {
			s->keep_scores[kept] = scores[i];
			s->keep_idx[kept++] = i;
		}
	if (keys) {
		int start[257] = { 0 };

		for (int i = 0; i < kept; i++)
			start[256 - keys[s->keep_idx[i]]]++;
		for (int v = 1; v < 257; v++)
			start[v] += start[v - 1];
		for (int i = 0; i < kept; i++)
			s->order[start[255 - keys[s->keep_idx[i]]]++] = i;
	} else {
		argsort_desc(s->keep_scores, kept, s->order, s->tmp);
	}
	memset(s->active, 1, (size_t)kept);
	active_left = kept;
	for (int i = 0; i < kept; i++) {
		const float *bi;

		if (active_left == 0 || n_sel >= (kept < max_out ? kept : max_out))
			break;
		if (!s->active[i])
			continue;
		s->selected[n_sel++] = s->keep_idx[s->order[i]];
		s->active[i] = 0;
		active_left--;
		bi = s->boxes + 4 * (size_t)s->keep_idx[s->order[i]];
		for (int j = i + 1; j < kept; j++)
			if (s->active[j] &&
			    iou(bi, s->boxes + 4 * (size_t)s->keep_idx[s->order[j]]) > p->nms_iou_threshold) {
				s->active[j] = 0;
				active_left--;
			}
	}
	return n_sel;
}

static void decode(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, struct scratch *s)
{
	for (int i = 0; i < io->num_anchors; i++) {
		const float *an = io->anchors + 4 * (size_t)i;
		float e[4];
		double yc, xc, hh, hw;

		for (int k = 0; k < 4; k++) {
			const size_t at = (size_t)i * io->box_len + k;

			e[k] = io->box_scale != 0.0f
				   ? ((float)((const uint8_t *)io->boxes)[at] - io->box_zero_point) * io->box_scale
				   : ((const float *)io->boxes)[at];
		}
		/* TFLite computes the centre-size transform in double and stores floats */
		yc = (double)e[0] / (double)p->y_scale * (double)an[2] + (double)an[0];
		xc = (double)e[1] / (double)p->x_scale * (double)an[3] + (double)an[1];
		hh = 0.5 * exp((double)e[2] / (double)p->h_scale) * (double)an[2];
		hw = 0.5 * exp((double)e[3] / (double)p->w_scale) * (double)an[3];
		s->boxes[4 * (size_t)i + 0] = (float)yc - (float)hh;
		s->boxes[4 * (size_t)i + 1] = (float)xc - (float)hw;
		s->boxes[4 * (size_t)i + 2] = (float)yc + (float)hh;
		s->boxes[4 * (size_t)i + 3] = (float)xc + (float)hw;
	}
}

static void fast_nms(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, struct scratch *s)
{
	const int na = io->num_anchors, c1 = io->num_classes_with_bg, off = c1 - p->num_classes, k = per_anchor(p);
	int n_sel, out = 0;

	for (int a = 0; a < na; a++) {
		const float *sc = s->scores + (size_t)a * c1 + off;
		int *cls = s->classes + (size_t)a * k;

		top_k(sc, p->num_classes, k, cls);
		s->max_scores[a] = sc[cls[0]];
	}
	n_sel = nms_single(p, s, na, s->max_scores, NULL, p->max_detections);
	for (int i = 0; i < n_sel; i++) {
		const int a = s->selected[i];
		const float *sc = s->scores + (size_t)a * c1 + off;

		for (int c = 0; c < k; c++) {
			const size_t o = (size_t)p->max_classes_per_detection * out + c;

			memcpy(io->out_boxes + 4 * o, s->boxes + 4 * (size_t)a, 4 * sizeof(float));
			io->out_classes[o] = (float)s->classes[(size_t)a * k + c];
			io->out_scores[o] = sc[s->classes[(size_t)a * k + c]];
		}
		out++;
	}
	*io->out_count = (float)out;
}

/* fast_nms for one class per detection on uint8 scores: (q - zp) * scale with scale >= FLT_MIN is strictly increasing
 * in q (|q - zp| <= 255, so two different q never round to the same float), so the first maximal q is the first
 * maximal float; only the per-anchor maxima and the picked scores are dequantized, with the same expression. */
static void fast_nms_u8(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, struct scratch *s)
{
	const int na = io->num_anchors, c1 = io->num_classes_with_bg, off = c1 - p->num_classes;
	const float zp = io->score_zero_point, scale = io->score_scale;
	int n_sel;

	for (int a = 0; a < na; a++) {
		const uint8_t *q = (const uint8_t *)io->scores + (size_t)a * c1 + off;
		uint8_t t[4] = { 0, 0, 0, 0 }, top;
		int best = 0, i = 0;

		/* the maximum without branches (four independent chains), then its first position */
		for (; i + 4 <= p->num_classes; i += 4)
			for (int l = 0; l < 4; l++)
				t[l] = q[i + l] > t[l] ? q[i + l] : t[l];
		for (; i < p->num_classes; i++)
			t[0] = q[i] > t[0] ? q[i] : t[0];
		top = t[0] > t[1] ? t[0] : t[1];
		top = t[2] > top ? t[2] : top;
		top = t[3] > top ? t[3] : top;
		while (best < p->num_classes - 1 && q[best] != top)
			best++;
		s->classes[a] = best;
		s->max_q[a] = q[best];
		s->max_scores[a] = ((float)q[best] - zp) * scale;
	}
	n_sel = nms_single(p, s, na, s->max_scores, s->max_q, p->max_detections);
	for (int i = 0; i < n_sel; i++) {
		const int a = s->selected[i];
		const size_t o = (size_t)p->max_classes_per_detection * i;

		memcpy(io->out_boxes + 4 * o, s->boxes + 4 * (size_t)a, 4 * sizeof(float));
		io->out_classes[o] = (float)s->classes[a];
		io->out_scores[o] = s->max_scores[a];
	}
	*io->out_count = (float)n_sel;
}

static void regular_nms(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, struct scratch *s)
{
	const int na = io->num_anchors, c1 = io->num_classes_with_bg, off = c1 - p->num_classes;
	int n_sorted = 0;

	for (int col = 0; col < p->num_classes; col++) {
		int n_sel, n_out = n_sorted, n_keep;

		for (int a = 0; a < na; a++)
			s->class_scores[a] = s->scores[(size_t)a * c1 + col + off];
		n_sel = nms_single(p, s, na, s->class_scores, NULL, p->detections_per_class);
		for (int i = 0; i < n_sel; i++) {
			s->box_idx[n_out] = s->selected[i] * c1 + col + off;
			s->score_after[n_out] = s->class_scores[s->selected[i]];
			n_out++;
		}
		n_keep = n_out < p->max_detections ? n_out : p->max_detections;
		argsort_desc(s->score_after, n_out, s->sorted, s->tmp);
		for (int r = 0; r < n_keep; r++) {
			const int t = s->sorted[r];

			s->sorted[r] = s->box_idx[t];
			s->sorted_values[r] = s->score_after[t];
		}
		for (int r = 0; r < n_keep; r++) {
			s->box_idx[r] = s->sorted[r];
			s->score_after[r] = s->sorted_values[r];
		}
		n_sorted = n_keep;
	}
	for (int o = 0; o < p->max_detections; o++) {
		if (o < n_sorted) {
			const int a = s->box_idx[o] / c1;

			memcpy(io->out_boxes + 4 * (size_t)o, s->boxes + 4 * (size_t)a, 4 * sizeof(float));
			io->out_classes[o] = (float)(s->box_idx[o] - a * c1 - off);
			io->out_scores[o] = s->score_after[o];
		} else {
			memset(io->out_boxes + 4 * (size_t)o, 0, 4 * sizeof(float));
			io->out_classes[o] = 0.0f;
			io->out_scores[o] = 0.0f;
		}
	}
	*io->out_count = (float)n_sorted;
}

int vigil_detpp_run(const struct vigil_detpp_params *p, const struct vigil_detpp_io *io, void *scratch)
{
	const size_t m = (size_t)p->max_detections * p->max_classes_per_detection;
	const size_t n_scores = (size_t)io->num_anchors * io->num_classes_with_bg;
	struct scratch s;

	layout(p, io->num_anchors, io->num_classes_with_bg, scratch, &s);
	decode(p, io, &s);
	for (int a = 0; a < io->num_anchors; a++) {
		const float *b = s.boxes + 4 * (size_t)a;

		if (!(b[0] <= b[2] && b[1] <= b[3]))
			return vigil_error(VIGIL_EMODEL,
					   "TFLite_Detection_PostProcess: anchor %d decodes to an inverted box", a);
	}
	memset(io->out_boxes, 0, m * 4 * sizeof(float));
	memset(io->out_classes, 0, m * sizeof(float));
	memset(io->out_scores, 0, m * sizeof(float));
	if (io->score_scale >= FLT_MIN && !p->use_regular_nms && per_anchor(p) == 1) {
		fast_nms_u8(p, io, &s);
		return 0;
	}
	if (io->score_scale != 0.0f) {
		const uint8_t *q = io->scores;
		const float zp = io->score_zero_point, scale = io->score_scale;
		float *restrict f = s.scores;

		for (size_t i = 0; i < n_scores; i++)
			f[i] = ((float)q[i] - zp) * scale;
	} else {
		memcpy(s.scores, io->scores, n_scores * sizeof(float));
	}
	if (p->use_regular_nms)
		regular_nms(p, io, &s);
	else
		fast_nms(p, io, &s);
	return 0;
}
