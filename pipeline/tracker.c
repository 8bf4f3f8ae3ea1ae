/* SPDX-License-Identifier: Apache-2.0
 * Multi-object tracker (vigil/tracker.h): per-coordinate constant-velocity Kalman filters, optimal IoU
 * assignment, k-hit birth and m-miss death. Every buffer is sized at create. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "vigil/tracker.h"

/* Cost of a pair that must not match: above any real cost (1 - IoU <= 1), finite for the solver. */
#define FORBIDDEN_COST 1e6

/* One coordinate's filter: value p, velocity v, covariance [[P00, P01], [P01, P11]]. */
struct kf1 {
	double p, v, P00, P01, P11;
};

struct track {
	int live;
	int confirmed;
	int hits;   /* consecutive matched updates */
	int misses; /* consecutive missed updates */
	int frames_since_update;
	int64_t id; /* -1 until confirmed */
	int label_id;
	const char *label;
	float score;
	struct kf1 kf[4]; /* cx, cy, w, h */
};

struct vigil_tracker {
	struct vigil_tracker_config cfg;
	int64_t next_id;
	struct track *tracks;
	int *track_index; /* live track slots in the cost matrix's row order */
	int *row_to_col;
	int *col_matched;
	double *cost;
	void *work;
	struct vigil_detection *items;
	struct vigil_detections out;
	int last_width, last_height;
	struct vigil_timing last_timing;
};

void vigil_tracker_config_init(struct vigil_tracker_config *c)
{
	memset(c, 0, sizeof(*c));
	c->iou_threshold = 0.3f;
	c->min_hits = 3;
	c->max_misses = 5;
	c->max_predict_frames = 30;
	c->per_label = 1;
	c->max_tracks = 256;
	c->max_detections = 1024;
	c->position_noise = 0.05f;
	c->velocity_noise = 0.00625f;
	c->measurement_noise = 0.05f;
}

static int check_config(const struct vigil_tracker_config *c)
{
	if (!(c->iou_threshold >= 0.0f && c->iou_threshold <= 1.0f))
		return vigil_error(-EINVAL, "tracker iou_threshold must be 0..1, got %g", (double)c->iou_threshold);
	if (c->min_hits < 1 || c->min_hits > 1000)
		return vigil_error(-EINVAL, "tracker min_hits must be 1..1000, got %d", c->min_hits);
	if (c->max_misses < 1 || c->max_misses > 1000)
		return vigil_error(-EINVAL, "tracker max_misses must be 1..1000, got %d", c->max_misses);
	if (c->max_predict_frames < 0 || c->max_predict_frames > 100000)
		return vigil_error(-EINVAL, "tracker max_predict_frames must be 0..100000, got %d",
				   c->max_predict_frames);
	if (c->max_tracks < 1 || c->max_tracks > 4096)
		return vigil_error(-EINVAL, "tracker max_tracks must be 1..4096, got %d", c->max_tracks);
	if (c->max_detections < 1 || c->max_detections > 4096)
		return vigil_error(-EINVAL, "tracker max_detections must be 1..4096, got %d", c->max_detections);
	if (!(c->position_noise > 0.0f && isfinite(c->position_noise)) ||
	    !(c->velocity_noise > 0.0f && isfinite(c->velocity_noise)) ||
	    !(c->measurement_noise > 0.0f && isfinite(c->measurement_noise)))
		return vigil_error(-EINVAL, "tracker noise settings must be positive and finite, got %g, %g, %g",
				   (double)c->position_noise, (double)c->velocity_noise, (double)c->measurement_noise);
	return 0;
}

/* ---- optimal assignment ----
 * Shortest augmenting paths with row and column potentials (the O(n^2 m) form of the Hungarian method) on an
 * n x m problem with n <= m; a wider-than-tall matrix is solved transposed. Indices are 1-based inside, with
 * column 0 as the virtual start. */

size_t vigil_assignment_work_size(int rows, int cols)
{
	size_t n = (size_t)(rows < cols ? rows : cols), m = (size_t)(rows < cols ? cols : rows);

	/* u[n+1], v[m+1], minv[m+1] doubles; p[m+1], way[m+1], used[m+1] ints */
	return (n + 1 + 2 * (m + 1)) * sizeof(double) + 3 * (m + 1) * sizeof(int);
}

int vigil_assign(const double *cost, int rows, int cols, int *row_to_col, void *work)
{
	if (rows < 0 || cols < 0 || (rows && !row_to_col) || (rows && cols && (!cost || !work)))
		return -EINVAL;
	for (int r = 0; r < rows; r++)
		row_to_col[r] = -1;
	if (!rows || !cols)
		return 0;

	const int transposed = rows > cols;
	const int n = transposed ? cols : rows, m = transposed ? rows : cols;
	double *u = work, *v = u + n + 1, *minv = v + m + 1;
	int *p = (int *)(minv + m + 1), *way = p + m + 1, *used = way + m + 1;

#define COST(i, j) (transposed ? cost[(size_t)((j)-1) * cols + ((i)-1)] : cost[(size_t)((i)-1) * cols + ((j)-1)])
	for (int j = 0; j <= m; j++) {
		v[j] = 0;
		p[j] = 0;
		way[j] = 0;
	}
	for (int i = 0; i <= n; i++)
		u[i] = 0;
	for (int i = 1; i <= n; i++) {
		int j0 = 0;

		p[0] = i;
		for (int j = 0; j <= m; j++) {
			minv[j] = DBL_MAX;
			used[j] = 0;
		}
		do {
			const int i0 = p[j0];
			double delta = DBL_MAX;
			int j1 = 0;

			used[j0] = 1;
			for (int j = 1; j <= m; j++) {
				if (used[j])
					continue;
				const double cur = COST(i0, j) - u[i0] - v[j];

				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			for (int j = 0; j <= m; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		do {
			const int j1 = way[j0];

			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
#undef COST
	for (int j = 1; j <= m; j++) {
		if (!p[j])
			continue;
		if (transposed)
			row_to_col[j - 1] = p[j] - 1;
		else
			row_to_col[p[j] - 1] = j - 1;
	}
	return 0;
}

/* ---- Kalman filter, one coordinate, one frame per step ---- */

static void kf_init(struct kf1 *k, double z, double pos_std, double vel_std)
{
	k->p = z;
	k->v = 0;
	k->P00 = pos_std * pos_std;
	k->P01 = 0;
	k->P11 = vel_std * vel_std;
}

/* x = F x, P = F P F^T + Q with F = [[1, 1], [0, 1]] and Q = diag(qp, qv). */
static void kf_predict(struct kf1 *k, double qp, double qv)
{
	k->p += k->v;
	k->P00 += 2 * k->P01 + k->P11 + qp;
	k->P01 += k->P11;
	k->P11 += qv;
}

/* Measurement z of the value with variance r (H = [1, 0]). */
static void kf_update(struct kf1 *k, double z, double r)
{
	const double s = k->P00 + r, k0 = k->P00 / s, k1 = k->P01 / s, y = z - k->p;
	const double P00 = k->P00, P01 = k->P01;

	k->p += k0 * y;
	k->v += k1 * y;
	k->P00 = (1 - k0) * P00;
	k->P01 = (1 - k0) * P01;
	k->P11 -= k1 * P01;
}

static double track_scale(const struct track *t)
{
	const double s = fmax(t->kf[2].p, t->kf[3].p);

	return s > 1.0 ? s : 1.0;
}

static void track_predict(const struct vigil_tracker *trk, struct track *t)
{
	const double s = track_scale(t);
	const double qp = trk->cfg.position_noise * s, qv = trk->cfg.velocity_noise * s;

	for (int i = 0; i < 4; i++)
		kf_predict(&t->kf[i], qp * qp, qv * qv);
	/* a shrinking box must not turn inside out */
	for (int i = 2; i < 4; i++)
		if (t->kf[i].p < 1.0) {
			t->kf[i].p = 1.0;
			if (t->kf[i].v < 0)
				t->kf[i].v = 0;
		}
	t->frames_since_update++;
}

static void det_measure(const struct vigil_detection *d, double z[4])
{
	z[0] = d->x + 0.5 * d->w;
	z[1] = d->y + 0.5 * d->h;
	z[2] = d->w;
	z[3] = d->h;
}

static void track_box(const struct track *t, float *x, float *y, float *w, float *h)
{
	const double bw = fmax(t->kf[2].p, 1.0), bh = fmax(t->kf[3].p, 1.0);

	*x = (float)(t->kf[0].p - 0.5 * bw);
	*y = (float)(t->kf[1].p - 0.5 * bh);
	*w = (float)bw;
	*h = (float)bh;
}

static void track_correct(const struct vigil_tracker *trk, struct track *t, const struct vigil_detection *d)
{
	double z[4];

	det_measure(d, z);
	const double r = trk->cfg.measurement_noise * fmax(fmax(z[2], z[3]), 1.0);

	for (int i = 0; i < 4; i++)
		kf_update(&t->kf[i], z[i], r * r);
}

static void track_start(struct vigil_tracker *trk, struct track *t, const struct vigil_detection *d)
{
	double z[4];

	det_measure(d, z);
	const double s = fmax(fmax(z[2], z[3]), 1.0);

	memset(t, 0, sizeof(*t));
	t->live = 1;
	t->hits = 1;
	t->id = -1;
	t->label_id = d->label_id;
	t->label = d->label;
	t->score = d->score;
	for (int i = 0; i < 4; i++)
		kf_init(&t->kf[i], z[i], 2 * trk->cfg.measurement_noise * s, 10 * trk->cfg.velocity_noise * s);
	if (trk->cfg.min_hits <= 1) {
		t->confirmed = 1;
		t->id = trk->next_id++;
	}
}

static double iou(float ax, float ay, float aw, float ah, float bx, float by, float bw, float bh)
{
	const double ix = fmin(ax + aw, bx + bw) - fmax(ax, bx), iy = fmin(ay + ah, by + bh) - fmax(ay, by);

	if (!(ix > 0) || !(iy > 0))
		return 0;
	const double inter = ix * iy, uni = (double)aw * ah + (double)bw * bh - inter;

	return uni > 0 ? inter / uni : 0;
}

int vigil_tracker_create(const struct vigil_tracker_config *config, struct vigil_tracker **out)
{
	struct vigil_tracker_config def;
	struct vigil_tracker *t;
	int err;

	if (!out)
		return vigil_error(-EINVAL, "vigil_tracker_create: out is NULL");
	*out = NULL;
	if (!config) {
		vigil_tracker_config_init(&def);
		config = &def;
	}
	err = check_config(config);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *config;
	t->next_id = 1;
	const size_t nt = (size_t)config->max_tracks, nd = (size_t)config->max_detections;

	t->tracks = calloc(nt, sizeof(*t->tracks));
	t->track_index = calloc(nt, sizeof(int));
	t->row_to_col = calloc(nt, sizeof(int));
	t->col_matched = calloc(nd, sizeof(int));
	t->cost = calloc(nt * nd, sizeof(double));
	t->work = malloc(vigil_assignment_work_size((int)nt, (int)nd));
	t->items = calloc(nt > nd ? nt : nd, sizeof(*t->items));
	if (!t->tracks || !t->track_index || !t->row_to_col || !t->col_matched || !t->cost || !t->work || !t->items) {
		vigil_tracker_destroy(t);
		return vigil_error(-ENOMEM, "tracker: out of memory for %zu tracks x %zu detections", nt, nd);
	}
	t->out.items = t->items;
	t->out.pts_ns = -1;
	*out = t;
	return 0;
}

void vigil_tracker_destroy(struct vigil_tracker *t)
{
	if (!t)
		return;
	free(t->tracks);
	free(t->track_index);
	free(t->row_to_col);
	free(t->col_matched);
	free(t->cost);
	free(t->work);
	free(t->items);
	free(t);
}

void vigil_tracker_reset(struct vigil_tracker *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->cfg.max_tracks; i++)
		t->tracks[i].live = 0;
	t->out.count = 0;
}

size_t vigil_tracker_count(const struct vigil_tracker *t, int confirmed_only)
{
	size_t n = 0;

	if (!t)
		return 0;
	for (int i = 0; i < t->cfg.max_tracks; i++)
		if (t->tracks[i].live && (!confirmed_only || t->tracks[i].confirmed))
			n++;
	return n;
}

int vigil_tracker_update(struct vigil_tracker *trk, const struct vigil_detections *dets,
			 const struct vigil_detections **out)
{
	if (!trk || !dets || !out || (dets->count && !dets->items))
		return vigil_error(-EINVAL, "vigil_tracker_update: NULL argument");
	const int nd = dets->count < (size_t)trk->cfg.max_detections ? (int)dets->count : trk->cfg.max_detections;
	int nt = 0;

	/* predict every live track to this frame */
	for (int i = 0; i < trk->cfg.max_tracks; i++) {
		struct track *t = &trk->tracks[i];

		if (!t->live)
			continue;
		track_predict(trk, t);
		trk->track_index[nt++] = i;
	}

	/* cost matrix rows = live tracks, columns = detections */
	for (int r = 0; r < nt; r++) {
		const struct track *t = &trk->tracks[trk->track_index[r]];
		float tx, ty, tw, th;

		track_box(t, &tx, &ty, &tw, &th);
		for (int c = 0; c < nd; c++) {
			const struct vigil_detection *d = &dets->items[c];
			double cst = FORBIDDEN_COST;

			if (!trk->cfg.per_label || d->label_id == t->label_id) {
				const double o = iou(tx, ty, tw, th, d->x, d->y, d->w, d->h);

				if (o >= trk->cfg.iou_threshold && o > 0)
					cst = 1.0 - o;
			}
			trk->cost[(size_t)r * nd + c] = cst;
		}
	}
	vigil_assign(trk->cost, nt, nd, trk->row_to_col, trk->work);

	for (int c = 0; c < nd; c++) {
		trk->col_matched[c] = -1;
		trk->items[c] = dets->items[c];
		trk->items[c].track_id = -1;
		trk->items[c].predicted = 0;
	}
	for (int r = 0; r < nt; r++) {
		struct track *t = &trk->tracks[trk->track_index[r]];
		const int c = trk->row_to_col[r];

		if (c >= 0 && trk->cost[(size_t)r * nd + c] < FORBIDDEN_COST) {
			const struct vigil_detection *d = &dets->items[c];

			trk->col_matched[c] = trk->track_index[r];
			track_correct(trk, t, d);
			t->hits++;
			t->misses = 0;
			t->frames_since_update = 0;
			t->score = d->score;
			t->label = d->label;
			if (!t->confirmed && t->hits >= trk->cfg.min_hits) {
				t->confirmed = 1;
				t->id = trk->next_id++;
			}
			if (t->confirmed)
				trk->items[c].track_id = t->id;
		} else {
			t->hits = 0;
			t->misses++;
			t->frames_since_update = 0;
			if (!t->confirmed || t->misses >= trk->cfg.max_misses)
				t->live = 0;
		}
	}

	/* births */
	int slot = 0;

	for (int c = 0; c < nd; c++) {
		if (trk->col_matched[c] >= 0)
			continue;
		while (slot < trk->cfg.max_tracks && trk->tracks[slot].live)
			slot++;
		if (slot == trk->cfg.max_tracks)
			break;
		track_start(trk, &trk->tracks[slot], &dets->items[c]);
		trk->items[c].track_id = trk->tracks[slot].id;
	}

	trk->out.count = (size_t)nd;
	trk->out.frame_width = trk->last_width = dets->frame_width;
	trk->out.frame_height = trk->last_height = dets->frame_height;
	trk->out.pts_ns = dets->pts_ns;
	trk->out.timing = trk->last_timing = dets->timing;
	*out = &trk->out;
	return 0;
}

int vigil_tracker_predict(struct vigil_tracker *trk, int64_t pts_ns, const struct vigil_detections **out)
{
	size_t n = 0;

	if (!trk || !out)
		return vigil_error(-EINVAL, "vigil_tracker_predict: NULL argument");
	for (int i = 0; i < trk->cfg.max_tracks; i++) {
		struct track *t = &trk->tracks[i];

		if (!t->live)
			continue;
		track_predict(trk, t);
		if (!t->confirmed || t->misses > 0 || t->frames_since_update > trk->cfg.max_predict_frames)
			continue;
		struct vigil_detection *d = &trk->items[n++];

		memset(d, 0, sizeof(*d));
		d->label_id = t->label_id;
		d->label = t->label;
		d->score = t->score;
		track_box(t, &d->x, &d->y, &d->w, &d->h);
		d->track_id = t->id;
		d->predicted = 1;
	}
	/* highest score first, as detections are (insertion sort: at most max_tracks items, no allocation) */
	for (size_t i = 1; i < n; i++) {
		struct vigil_detection tmp = trk->items[i];
		size_t j = i;

		while (j > 0 && trk->items[j - 1].score < tmp.score) {
			trk->items[j] = trk->items[j - 1];
			j--;
		}
		trk->items[j] = tmp;
	}
	trk->out.count = n;
	trk->out.frame_width = trk->last_width;
	trk->out.frame_height = trk->last_height;
	trk->out.pts_ns = pts_ns;
	trk->out.timing = trk->last_timing;
	*out = &trk->out;
	return 0;
}
