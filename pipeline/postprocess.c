/* SPDX-License-Identifier: Apache-2.0 */
#include "postprocess.h"

#include <errno.h>
#include <math.h>

int vigil_ssd_anchors(const struct vigil_ssd_anchor_config *cfg, struct vigil_anchor *out, int max)
{
	int n = 0;

	for (int layer = 0; layer < cfg->num_layers;) {
		/* Consecutive layers with the same stride share one feature map (MediaPipe merges them). */
		int last = layer, per_cell = 0;

		while (last < cfg->num_layers && cfg->strides[last] == cfg->strides[layer]) {
			per_cell += cfg->anchors_per_layer;
			last++;
		}
		const int stride = cfg->strides[layer];
		const int fm = (cfg->input_size + stride - 1) / stride;

		for (int y = 0; y < fm; y++)
			for (int x = 0; x < fm; x++)
				for (int k = 0; k < per_cell; k++) {
					if (n >= max)
						return -EINVAL;
					out[n].x = ((float)x + cfg->offset) / (float)fm;
					out[n].y = ((float)y + cfg->offset) / (float)fm;
					n++;
				}
		layer = last;
	}
	return n;
}

float vigil_logit(float p)
{
	if (p <= 0.0f)
		return -INFINITY;
	if (p >= 1.0f)
		return INFINITY;
	return logf(p / (1.0f - p));
}

static float sigmoid_clipped(float logit, float clip)
{
	if (clip > 0.0f)
		logit = logit < -clip ? -clip : (logit > clip ? clip : logit);
	return 1.0f / (1.0f + expf(-logit));
}

int vigil_face_decode(const struct vigil_face_decoder *dec, const float *boxes, const float *logits,
		      float logit_threshold, struct vigil_candidate *cand)
{
	const float s = dec->scale;
	int n = 0;

	for (int i = 0; i < dec->num_anchors; i++) {
		if (!(logits[i] >= logit_threshold)) /* NaN never passes */
			continue;
		const float *r = boxes + (size_t)i * dec->num_coords;
		const struct vigil_anchor *a = &dec->anchors[i];
		/* reverse_output_order: x, y, w, h; anchors have fixed size 1 */
		const float xc = r[0] / s + a->x, yc = r[1] / s + a->y;
		const float w = r[2] / s, h = r[3] / s;
		struct vigil_candidate *c = &cand[n++];

		c->score = sigmoid_clipped(logits[i], dec->score_clip);
		c->xmin = xc - w / 2;
		c->ymin = yc - h / 2;
		c->xmax = xc + w / 2;
		c->ymax = yc + h / 2;
		c->num_keypoints = dec->num_keypoints;
		for (int k = 0; k < dec->num_keypoints; k++) {
			c->kp[k].x = r[4 + 2 * k] / s + a->x;
			c->kp[k].y = r[5 + 2 * k] / s + a->y;
		}
	}
	return n;
}

float vigil_iou(const struct vigil_candidate *a, const struct vigil_candidate *b)
{
	const float ix0 = fmaxf(a->xmin, b->xmin), iy0 = fmaxf(a->ymin, b->ymin);
	const float ix1 = fminf(a->xmax, b->xmax), iy1 = fminf(a->ymax, b->ymax);

	if (ix1 <= ix0 || iy1 <= iy0)
		return 0.0f;
	const float inter = (ix1 - ix0) * (iy1 - iy0);
	const float uni = (a->xmax - a->xmin) * (a->ymax - a->ymin) + (b->xmax - b->xmin) * (b->ymax - b->ymin) - inter;

	return uni > 0.0f ? inter / uni : 0.0f;
}

/* Orders idx by descending score, ties by ascending index (deterministic). Heapsort: no allocation,
 * unlike qsort, which may call malloc. */
static int ranks_before(const struct vigil_candidate *c, int a, int b)
{
	return c[a].score > c[b].score || (c[a].score == c[b].score && a < b);
}

static void sift_down(const struct vigil_candidate *c, int *idx, int root, int n)
{
	for (;;) {
		int child = 2 * root + 1, last = root;

		if (child < n && ranks_before(c, idx[last], idx[child]))
			last = child;
		if (child + 1 < n && ranks_before(c, idx[last], idx[child + 1]))
			last = child + 1;
		if (last == root)
			return;
		const int t = idx[root];

		idx[root] = idx[last];
		idx[last] = t;
		root = last;
	}
}

static void sort_by_score(const struct vigil_candidate *c, int *idx, int n)
{
	/* max-heap of the "ranks later" order leaves the best first after the extraction loop */
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(c, idx, i, n);
	for (int end = n - 1; end > 0; end--) {
		const int t = idx[0];

		idx[0] = idx[end];
		idx[end] = t;
		sift_down(c, idx, 0, end);
	}
}

int vigil_weighted_nms(const struct vigil_candidate *cand, int n, float iou_threshold, int *scratch,
		       struct vigil_candidate *out, int max_out)
{
	int *remaining = scratch, *next = scratch + n;
	int n_remaining = n, n_out = 0;

	for (int i = 0; i < n; i++)
		remaining[i] = i;
	sort_by_score(cand, remaining, n);

	while (n_remaining > 0 && n_out < max_out) {
		const struct vigil_candidate *top = &cand[remaining[0]];
		struct vigil_candidate *w = &out[n_out++];
		float total = 0.0f, xmin = 0.0f, ymin = 0.0f, xmax = 0.0f, ymax = 0.0f;
		float kx[VIGIL_MAX_KEYPOINTS] = { 0 }, ky[VIGIL_MAX_KEYPOINTS] = { 0 };
		int n_next = 0;

		for (int i = 0; i < n_remaining; i++) {
			const struct vigil_candidate *c = &cand[remaining[i]];

			if (vigil_iou(c, top) > iou_threshold || i == 0) {
				total += c->score;
				xmin += c->xmin * c->score;
				ymin += c->ymin * c->score;
				xmax += c->xmax * c->score;
				ymax += c->ymax * c->score;
				for (int k = 0; k < c->num_keypoints; k++) {
					kx[k] += c->kp[k].x * c->score;
					ky[k] += c->kp[k].y * c->score;
				}
			} else {
				next[n_next++] = remaining[i];
			}
		}
		*w = *top;
		if (total > 0.0f) {
			w->xmin = xmin / total;
			w->ymin = ymin / total;
			w->xmax = xmax / total;
			w->ymax = ymax / total;
			for (int k = 0; k < top->num_keypoints; k++) {
				w->kp[k].x = kx[k] / total;
				w->kp[k].y = ky[k] / total;
			}
		}
		/* the survivors keep their score order */
		for (int i = 0; i < n_next; i++)
			remaining[i] = next[i];
		n_remaining = n_next;
	}
	return n_out;
}

void vigil_candidate_to_detection(const struct vigil_candidate *c, const struct vigil_letterbox *lb,
				  struct vigil_detection *d)
{
	d->score = c->score;
	d->x = lb->origin_x + c->xmin * lb->side;
	d->y = lb->origin_y + c->ymin * lb->side;
	d->w = (c->xmax - c->xmin) * lb->side;
	d->h = (c->ymax - c->ymin) * lb->side;
	d->num_keypoints = c->num_keypoints;
	for (int k = 0; k < c->num_keypoints; k++) {
		d->keypoints[k].x = lb->origin_x + c->kp[k].x * lb->side;
		d->keypoints[k].y = lb->origin_y + c->kp[k].y * lb->side;
	}
	d->track_id = -1;
	d->predicted = 0;
}
