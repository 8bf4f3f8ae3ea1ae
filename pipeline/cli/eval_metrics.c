/* SPDX-License-Identifier: Apache-2.0
 * Detection (precision, recall, COCO AP) and tracking (CLEAR-MOT, IDF1) metrics; see eval_metrics.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"
#include "vigil/tracker.h"

#define FORBIDDEN 1e6

enum { ST_FP = 0, ST_TP = 1, ST_IGNORED = 2 };

/* the 10 COCO thresholds, then the operating threshold params.iou */
#define N_T (EV_IOU_STEPS + 1)

int ev_boxes_push(struct ev_boxes *b, const struct ev_box *box)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct ev_box *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *box;
	return 0;
}

void ev_boxes_free(struct ev_boxes *b)
{
	free(b->v);
	memset(b, 0, sizeof(*b));
}

double ev_iou(const struct ev_box *a, const struct ev_box *b)
{
	const double ix = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
	const double iy = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);

	if (!(ix > 0) || !(iy > 0) || !(a->w > 0) || !(a->h > 0) || !(b->w > 0) || !(b->h > 0))
		return 0;
	const double inter = ix * iy;

	return inter / ((double)a->w * a->h + (double)b->w * b->h - inter);
}

/* overlap of detection d with region g: IoU, or intersection over the detection's area for crowd regions */
static double region_overlap(const struct ev_box *g, const struct ev_box *d)
{
	if (!g->crowd)
		return ev_iou(g, d);
	const double ix = fmin(g->x + g->w, d->x + d->w) - fmax(g->x, d->x);
	const double iy = fmin(g->y + g->h, d->y + d->h) - fmax(g->y, d->y);

	if (!(ix > 0) || !(iy > 0) || !(d->w > 0) || !(d->h > 0))
		return 0;
	return ix * iy / ((double)d->w * d->h);
}

/* ---- sorting ---- */

struct ref {
	const struct ev_box *b;
	size_t pos; /* input order, for stable ties */
};

static int cmp_frame_label_score(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;

	if (a->b->frame != b->b->frame)
		return a->b->frame < b->b->frame ? -1 : 1;
	if (a->b->label != b->b->label)
		return a->b->label < b->b->label ? -1 : 1;
	if (a->b->score != b->b->score)
		return a->b->score > b->b->score ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* ground truth: per frame and label, evaluated boxes first, ignore regions after */
static int cmp_gt(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;

	if (a->b->frame != b->b->frame)
		return a->b->frame < b->b->frame ? -1 : 1;
	if (a->b->label != b->b->label)
		return a->b->label < b->b->label ? -1 : 1;
	if (a->b->ignore != b->b->ignore)
		return a->b->ignore < b->b->ignore ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

struct scored {
	float score;
	size_t order;
	unsigned char st[N_T];
};

static int cmp_scored(const void *pa, const void *pb)
{
	const struct scored *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_i64(const void *pa, const void *pb)
{
	const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return a < b ? -1 : a > b;
}

static struct ref *sorted_refs(const struct ev_boxes *b, int n_frames, size_t *n_out,
			       int (*cmp)(const void *, const void *))
{
	struct ref *r = malloc((b->n ? b->n : 1) * sizeof(*r));
	size_t n = 0;

	if (!r)
		return NULL;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].frame >= 0 && b->v[i].frame < n_frames)
			r[n++] = (struct ref){ &b->v[i], i };
	qsort(r, n, sizeof(*r), cmp);
	*n_out = n;
	return r;
}

/* ---- AP ---- */

static double average_precision(const struct scored *s, size_t n, int t, long num_gt, double *curve)
{
	double *rc, *pr;
	size_t m = 0;
	long tp = 0, fp = 0;
	double ap = 0;

	if (num_gt <= 0) {
		if (curve)
			for (int j = 0; j < EV_PR_POINTS; j++)
				curve[j] = -1;
		return -1;
	}
	rc = malloc((n ? n : 1) * sizeof(double));
	pr = malloc((n ? n : 1) * sizeof(double));
	if (!rc || !pr) {
		free(rc);
		free(pr);
		return NAN;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i].st[t] == ST_IGNORED)
			continue;
		if (s[i].st[t] == ST_TP)
			tp++;
		else
			fp++;
		rc[m] = (double)tp / (double)num_gt;
		pr[m] = (double)tp / (double)(tp + fp);
		m++;
	}
	for (size_t i = m; i-- > 1;)
		if (pr[i] > pr[i - 1])
			pr[i - 1] = pr[i];
	size_t i = 0;

	for (int j = 0; j < EV_PR_POINTS; j++) {
		const double r = (double)j / (EV_PR_POINTS - 1);
		double q;

		while (i < m && rc[i] < r)
			i++;
		q = i < m ? pr[i] : 0;
		if (curve)
			curve[j] = q;
		ap += q;
	}
	free(rc);
	free(pr);
	return ap / EV_PR_POINTS;
}

/* ---- tracking for one label ---- */

struct track_state {
	int64_t last_hyp;
	int status; /* -1 never seen, 0 missed at its last appearance, 1 matched */
	int ever;
};

static int id_index(const int64_t *ids, int n, int64_t id)
{
	const int64_t *p = bsearch(&id, ids, (size_t)n, sizeof(*ids), cmp_i64);

	return p ? (int)(p - ids) : -1;
}

static int unique_ids(const struct ref *r, size_t n, int label, int64_t **out)
{
	int64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	int m = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (r[i].b->label == label && r[i].b->id >= 0 && !r[i].b->ignore)
			ids[m++] = r[i].b->id;
	qsort(ids, (size_t)m, sizeof(*ids), cmp_i64);
	int u = 0;

	for (int i = 0; i < m; i++)
		if (!u || ids[u - 1] != ids[i])
			ids[u++] = ids[i];
	*out = ids;
	return u;
}

static int track_label(const struct ref *g, size_t ng, const struct ref *d, size_t nd, int label, int n_frames,
		       float iou_t, struct ev_tracking *tr)
{
	int64_t *gids = NULL, *hids = NULL;
	int n_gid, n_hid, err = -ENOMEM;
	struct track_state *state = NULL;
	long *cnt = NULL;
	double *cost = NULL, iou_sum = 0;
	int *r2c = NULL, *hyp_match = NULL, *obj_match = NULL, *rows = NULL, *cols = NULL, *row_to_col = NULL;
	void *work = NULL;
	size_t gi = 0, di = 0, max_g = 0, max_d = 0;

	memset(tr, 0, sizeof(*tr));
	n_gid = unique_ids(g, ng, label, &gids);
	n_hid = unique_ids(d, nd, label, &hids);
	if (n_gid < 0 || n_hid < 0)
		goto out;
	/* largest per-frame groups, for the scratch sizes */
	for (size_t i = 0, j; i < ng; i = j) {
		for (j = i; j < ng && g[j].b->frame == g[i].b->frame; j++)
			;
		if (j - i > max_g)
			max_g = j - i;
	}
	for (size_t i = 0, j; i < nd; i = j) {
		for (j = i; j < nd && d[j].b->frame == d[i].b->frame; j++)
			;
		if (j - i > max_d)
			max_d = j - i;
	}
	state = calloc((size_t)n_gid + 1, sizeof(*state));
	cnt = calloc((size_t)n_gid * n_hid + 1, sizeof(*cnt));
	cost = malloc((max_g * max_d + 1) * sizeof(double));
	r2c = malloc((max_g + max_d + 1) * sizeof(int));
	hyp_match = malloc((max_d + 1) * sizeof(int));
	obj_match = malloc((max_g + 1) * sizeof(int));
	rows = malloc((max_g + 1) * sizeof(int));
	cols = malloc((max_d + 1) * sizeof(int));
	row_to_col = malloc((max_g + 1) * sizeof(int));
	work =
	    malloc(vigil_assignment_work_size((int)max_g, (int)max_d) + vigil_assignment_work_size(n_gid, n_hid) + 64);
	if (!state || !cnt || !cost || !r2c || !hyp_match || !obj_match || !rows || !cols || !row_to_col || !work)
		goto out;
	for (int i = 0; i < n_gid; i++) {
		state[i].last_hyp = -1;
		state[i].status = -1;
	}

	for (int f = 0; f < n_frames; f++) {
		/* this frame's ground truth (evaluated, then ignore regions) and hypotheses of the label */
		while (gi < ng && (g[gi].b->frame < f || (g[gi].b->frame == f && g[gi].b->label < label)))
			gi++;
		while (di < nd && (d[di].b->frame < f || (d[di].b->frame == f && d[di].b->label < label)))
			di++;
		size_t g0 = gi, g1 = gi, gobj = gi, d0 = di, d1 = di;

		while (g1 < ng && g[g1].b->frame == f && g[g1].b->label == label)
			g1++;
		while (gobj < g1 && !g[gobj].b->ignore)
			gobj++;
		while (d1 < nd && d[d1].b->frame == f && d[d1].b->label == label)
			d1++;
		const int no = (int)(gobj - g0);
		int nh = 0;

		/* hypotheses: tracked detections only */
		for (size_t k = d0; k < d1; k++)
			if (d[k].b->id >= 0)
				cols[nh++] = (int)k;
		for (int k = 0; k < nh; k++)
			hyp_match[k] = -1;
		for (int o = 0; o < no; o++)
			obj_match[o] = -1;

		/* 1. keep last frame's correspondences that still overlap */
		for (int o = 0; o < no; o++) {
			const struct ev_box *ob = g[g0 + o].b;
			const int si = id_index(gids, n_gid, ob->id);

			if (si < 0 || state[si].last_hyp < 0)
				continue;
			for (int k = 0; k < nh; k++) {
				const struct ev_box *hb = d[cols[k]].b;

				if (hyp_match[k] < 0 && hb->id == state[si].last_hyp && ev_iou(ob, hb) >= iou_t) {
					hyp_match[k] = o;
					obj_match[o] = k;
					break;
				}
			}
		}
		/* 2. optimal assignment of the rest */
		int nr = 0, nc = 0;

		for (int o = 0; o < no; o++)
			if (obj_match[o] < 0)
				rows[nr++] = o;
		int *free_cols = r2c + max_g; /* reuse: the unmatched hypotheses */

		for (int k = 0; k < nh; k++)
			if (hyp_match[k] < 0)
				free_cols[nc++] = k;
		for (int a = 0; a < nr; a++)
			for (int b = 0; b < nc; b++) {
				const double v = ev_iou(g[g0 + rows[a]].b, d[cols[free_cols[b]]].b);

				cost[(size_t)a * nc + b] = v >= iou_t && v > 0 ? 1 - v : FORBIDDEN;
			}
		vigil_assign(cost, nr, nc, row_to_col, work);
		for (int a = 0; a < nr; a++) {
			const int b = row_to_col[a];

			if (b < 0 || cost[(size_t)a * nc + b] >= FORBIDDEN)
				continue;
			const int o = rows[a], k = free_cols[b];
			const int si = id_index(gids, n_gid, g[g0 + o].b->id);

			obj_match[o] = k;
			hyp_match[k] = o;
			if (si >= 0 && state[si].last_hyp >= 0 && state[si].last_hyp != d[cols[k]].b->id)
				tr->id_switches++;
		}
		/* 3. count */
		for (int o = 0; o < no; o++) {
			const struct ev_box *ob = g[g0 + o].b;
			const int si = id_index(gids, n_gid, ob->id);

			tr->num_gt++;
			if (obj_match[o] >= 0) {
				tr->matches++;
				iou_sum += ev_iou(ob, d[cols[obj_match[o]]].b);
				if (si >= 0) {
					if (state[si].status == 0 && state[si].ever)
						tr->fragmentations++;
					state[si].status = 1;
					state[si].ever = 1;
					state[si].last_hyp = d[cols[obj_match[o]]].b->id;
				}
			} else {
				tr->fn++;
				if (si >= 0 && state[si].status >= 0)
					state[si].status = 0;
				else if (si >= 0)
					state[si].status = 0;
			}
		}
		for (int k = 0; k < nh; k++) {
			const struct ev_box *hb = d[cols[k]].b;
			int dropped = 0;

			if (hyp_match[k] < 0) {
				for (size_t r = gobj; r < g1 && !dropped; r++)
					dropped = region_overlap(g[r].b, hb) >= iou_t;
				if (dropped)
					continue;
				tr->fp++;
			}
			tr->num_hyp++;
			/* IDF1 co-occurrence counts */
			const int hj = id_index(hids, n_hid, hb->id);

			for (int o = 0; o < no && hj >= 0; o++) {
				const int si = id_index(gids, n_gid, g[g0 + o].b->id);

				if (si >= 0 && ev_iou(g[g0 + o].b, hb) >= iou_t)
					cnt[(size_t)si * n_hid + hj]++;
			}
		}
		gi = g1;
		di = d1;
	}

	/* IDF1: one-to-one ids maximising the co-occurrences */
	if (n_gid > 0 && n_hid > 0) {
		double *c = malloc((size_t)n_gid * n_hid * sizeof(double));
		int *a = malloc((size_t)n_gid * sizeof(int));
		void *w = malloc(vigil_assignment_work_size(n_gid, n_hid));

		if (!c || !a || !w) {
			free(c);
			free(a);
			free(w);
			goto out;
		}
		for (size_t i = 0; i < (size_t)n_gid * n_hid; i++)
			c[i] = -(double)cnt[i];
		vigil_assign(c, n_gid, n_hid, a, w);
		for (int i = 0; i < n_gid; i++)
			if (a[i] >= 0)
				tr->idtp += cnt[(size_t)i * n_hid + a[i]];
		free(c);
		free(a);
		free(w);
	}
	tr->idfn = tr->num_gt - tr->idtp;
	tr->idfp = tr->num_hyp - tr->idtp;
	tr->gt_ids = n_gid;
	tr->hyp_ids = n_hid;
	tr->mota = tr->num_gt ? 1.0 - (double)(tr->fn + tr->fp + tr->id_switches) / (double)tr->num_gt : -1;
	tr->motp = tr->matches ? iou_sum / (double)tr->matches : -1;
	tr->idf1 = tr->num_gt + tr->num_hyp ? 2.0 * tr->idtp / (double)(tr->num_gt + tr->num_hyp) : -1;
	err = 0;
out:
	free(gids);
	free(hids);
	free(state);
	free(cnt);
	free(cost);
	free(r2c);
	free(hyp_match);
	free(obj_match);
	free(rows);
	free(cols);
	free(row_to_col);
	free(work);
	return err;
}

/* ---- evaluation ---- */

int ev_evaluate(const struct ev_boxes *gt, const struct ev_boxes *det, int n_labels, int n_frames,
		const struct ev_params *params, struct ev_result *out)
{
	struct ref *g = NULL, *d = NULL;
	size_t ng = 0, nd = 0, max_g = 0;
	struct scored *sc = NULL;
	size_t *label_n = NULL;
	int *gmatch = NULL, err = -ENOMEM;
	float thr[N_T];
	struct ev_box *gcopy = NULL;
	struct ev_boxes gtb;

	memset(out, 0, sizeof(*out));
	if (!gt || !det || !params || n_labels <= 0 || n_frames < 0)
		return -EINVAL;
	for (int t = 0; t < EV_IOU_STEPS; t++)
		thr[t] = 0.5f + 0.05f * (float)t;
	thr[EV_IOU_STEPS] = params->iou;

	/* --min-size: small ground truth becomes ignore regions (a copy, the caller's boxes stay as they are) */
	gcopy = malloc((gt->n ? gt->n : 1) * sizeof(*gcopy));
	if (!gcopy)
		goto out;
	if (gt->n)
		memcpy(gcopy, gt->v, gt->n * sizeof(*gcopy));
	for (size_t i = 0; i < gt->n; i++)
		if (params->min_size > 0 && gcopy[i].h < params->min_size)
			gcopy[i].ignore = 1;
	gtb = (struct ev_boxes){ gcopy, gt->n, gt->n };

	g = sorted_refs(&gtb, n_frames, &ng, cmp_gt);
	d = sorted_refs(det, n_frames, &nd, cmp_frame_label_score);
	out->labels = calloc((size_t)n_labels, sizeof(*out->labels));
	sc = malloc((nd ? nd : 1) * sizeof(*sc));
	label_n = calloc((size_t)n_labels, sizeof(*label_n));
	if (!g || !d || !out->labels || !sc || !label_n)
		goto out;
	out->n_labels = n_labels;
	out->n_frames = n_frames;
	for (size_t i = 0, j; i < ng; i = j) {
		for (j = i; j < ng && g[j].b->frame == g[i].b->frame && g[j].b->label == g[i].b->label; j++)
			;
		if (j - i > max_g)
			max_g = j - i;
	}
	gmatch = malloc((max_g + 1) * sizeof(int));
	if (!gmatch)
		goto out;

	for (size_t i = 0; i < ng; i++)
		if (!g[i].b->ignore && g[i].b->label >= 0 && g[i].b->label < n_labels)
			out->labels[g[i].b->label].num_gt++;

	/* match every (frame, label) group at every threshold */
	size_t gi = 0;

	for (size_t i = 0, j; i < nd; i = j) {
		const int f = d[i].b->frame, lab = d[i].b->label;

		for (j = i; j < nd && d[j].b->frame == f && d[j].b->label == lab; j++)
			;
		while (gi < ng && (g[gi].b->frame < f || (g[gi].b->frame == f && g[gi].b->label < lab)))
			gi++;
		size_t g1 = gi;

		while (g1 < ng && g[g1].b->frame == f && g[g1].b->label == lab)
			g1++;
		const size_t n_g = g1 - gi;

		for (size_t k = i; k < j; k++)
			sc[k] = (struct scored){ .score = d[k].b->score, .order = k };
		for (int t = 0; t < N_T; t++) {
			for (size_t q = 0; q < n_g; q++)
				gmatch[q] = 0;
			for (size_t k = i; k < j; k++) {
				const struct ev_box *db = d[k].b;
				double best_v = thr[t];
				long best = -1;

				for (size_t q = 0; q < n_g; q++) {
					const struct ev_box *gb = g[gi + q].b;

					if (gmatch[q] && !gb->ignore)
						continue;
					/* once matched to an evaluated box, ignore regions (sorted last) cannot win */
					if (best >= 0 && !g[gi + best].b->ignore && gb->ignore)
						break;
					const double v = gb->ignore ? region_overlap(gb, db) : ev_iou(gb, db);

					if (v < best_v || v <= 0)
						continue;
					best_v = v;
					best = (long)q;
				}
				if (best >= 0) {
					gmatch[best] = 1;
					sc[k].st[t] = g[gi + best].b->ignore ? ST_IGNORED : ST_TP;
				} else {
					sc[k].st[t] =
					    params->min_size > 0 && db->h < params->min_size ? ST_IGNORED : ST_FP;
				}
			}
		}
		gi = g1;
	}

	/* per label: AP over the score-sorted detections, and the operating point */
	for (int lab = 0; lab < n_labels; lab++) {
		struct ev_label_result *L = &out->labels[lab];
		size_t m = 0;
		struct scored *s;

		for (size_t k = 0; k < nd; k++)
			if (d[k].b->label == lab)
				m++;
		s = malloc((m ? m : 1) * sizeof(*s));
		if (!s)
			goto out;
		m = 0;
		for (size_t k = 0; k < nd; k++)
			if (d[k].b->label == lab)
				s[m++] = sc[k];
		qsort(s, m, sizeof(*s), cmp_scored);
		double sum = 0;

		for (int t = 0; t < EV_IOU_STEPS; t++) {
			L->ap_at[t] = average_precision(s, m, t, L->num_gt, t == 0 ? L->pr_precision : NULL);
			sum += L->ap_at[t];
		}
		L->ap50 = L->ap_at[0];
		L->ap = L->num_gt > 0 ? sum / EV_IOU_STEPS : -1;
		for (size_t k = 0; k < m; k++) {
			if (s[k].st[0] != ST_IGNORED)
				L->num_det++;
			if (s[k].st[EV_IOU_STEPS] == ST_TP)
				L->tp++;
			else if (s[k].st[EV_IOU_STEPS] == ST_FP)
				L->fp++;
		}
		L->fn = L->num_gt - L->tp;
		L->precision = L->tp + L->fp ? (double)L->tp / (double)(L->tp + L->fp) : -1;
		L->recall = L->num_gt ? (double)L->tp / (double)L->num_gt : -1;
		out->fp_total += L->fp;
		free(s);
	}
	out->fp_per_frame = n_frames ? (double)out->fp_total / n_frames : 0;

	if (params->tracking) {
		struct ev_tracking *T = &out->tracking;
		double motp_sum = 0;

		out->has_tracking = 1;
		for (int lab = 0; lab < n_labels; lab++) {
			struct ev_label_result *L = &out->labels[lab];

			err = track_label(g, ng, d, nd, lab, n_frames, params->iou, &L->tracking);
			if (err)
				goto out;
			L->has_tracking = 1;
			T->num_gt += L->tracking.num_gt;
			T->matches += L->tracking.matches;
			T->fp += L->tracking.fp;
			T->fn += L->tracking.fn;
			T->id_switches += L->tracking.id_switches;
			T->fragmentations += L->tracking.fragmentations;
			T->idtp += L->tracking.idtp;
			T->idfp += L->tracking.idfp;
			T->idfn += L->tracking.idfn;
			T->num_hyp += L->tracking.num_hyp;
			T->gt_ids += L->tracking.gt_ids;
			T->hyp_ids += L->tracking.hyp_ids;
			if (L->tracking.matches)
				motp_sum += L->tracking.motp * (double)L->tracking.matches;
		}
		T->mota = T->num_gt ? 1.0 - (double)(T->fn + T->fp + T->id_switches) / (double)T->num_gt : -1;
		T->motp = T->matches ? motp_sum / (double)T->matches : -1;
		T->idf1 = T->num_gt + T->num_hyp ? 2.0 * T->idtp / (double)(T->num_gt + T->num_hyp) : -1;
	}
	err = 0;
out:
	free(g);
	free(d);
	free(sc);
	free(label_n);
	free(gmatch);
	free(gcopy);
	if (err)
		ev_result_free(out);
	return err;
}

void ev_result_free(struct ev_result *r)
{
	free(r->labels);
	memset(r, 0, sizeof(*r));
}
