/* SPDX-License-Identifier: Apache-2.0
 * The tracker (vigil/tracker.h): the assignment solver against brute force, the Kalman filter against
 * numbers worked out by hand, and synthetic scenes (crossings, occlusions, inference every 2..5 frames)
 * where ids must stay stable and ghosts must die on time. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vigil/tracker.h"

/* ---- allocation counter (the suite links with -Wl,--wrap for malloc, calloc, realloc, free) ---- */
static atomic_long n_allocs;
static atomic_int counting;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#define COUNT()                                                                                                        \
	do {                                                                                                           \
		if (atomic_load(&counting))                                                                            \
			atomic_fetch_add(&n_allocs, 1);                                                                \
	} while (0)

void *__wrap_malloc(size_t n)
{
	COUNT();
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	COUNT();
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	COUNT();
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	if (p)
		COUNT();
	__real_free(p);
}

/* ---- assignment ---- */

static double brute_best(const double *c, int rows, int cols)
{
	/* rows <= cols <= 6: try every injective map of rows into columns */
	int perm[6] = { 0, 1, 2, 3, 4, 5 };
	double best = INFINITY;

	for (;;) {
		double s = 0;

		for (int r = 0; r < rows; r++)
			s += c[r * cols + perm[r]];
		if (s < best)
			best = s;
		/* next permutation of perm[0..cols) */
		int i = cols - 2;

		while (i >= 0 && perm[i] >= perm[i + 1])
			i--;
		if (i < 0)
			break;
		int j = cols - 1;

		while (perm[j] <= perm[i])
			j--;
		int t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
		for (int a = i + 1, b = cols - 1; a < b; a++, b--) {
			t = perm[a];
			perm[a] = perm[b];
			perm[b] = t;
		}
	}
	return best;
}

START_TEST(test_assign_by_hand)
{
	/* Greedy takes (0,0) = 1 and is then forced into (1,1) = 10: total 11. The optimum is
	 * (0,1) + (1,0) = 2 + 3 = 5. */
	const double c[4] = { 1, 2, 3, 10 };
	int r2c[3];
	double work[64];

	ck_assert_int_eq(vigil_assign(c, 2, 2, r2c, work), 0);
	ck_assert_int_eq(r2c[0], 1);
	ck_assert_int_eq(r2c[1], 0);

	/* 3 rows, 2 columns: one row stays unassigned; best is row0->c1 (1) + row2->c0 (0) = 1 */
	const double t[6] = { 5, 1, 4, 4, 0, 9 };

	ck_assert_int_eq(vigil_assign(t, 3, 2, r2c, work), 0);
	ck_assert_int_eq(r2c[0], 1);
	ck_assert_int_eq(r2c[1], -1);
	ck_assert_int_eq(r2c[2], 0);
	ck_assert_int_eq(vigil_assign(t, 0, 2, r2c, work), 0);
	ck_assert_int_eq(vigil_assign(t, -1, 2, r2c, work), -EINVAL);
	ck_assert_uint_ge(sizeof(work), vigil_assignment_work_size(3, 2));
}
END_TEST

START_TEST(test_assign_random_vs_brute_force)
{
	uint64_t seed = 0x5eed;
	double c[36], work[128];
	int r2c[6], used[6];

	for (int iter = 0; iter < 2000; iter++) {
		const int rows = 1 + (int)(tu_rand(&seed) % 6), cols = 1 + (int)(tu_rand(&seed) % 6);

		for (int i = 0; i < rows * cols; i++) /* small integers make ties common */
			c[i] = (double)(tu_rand(&seed) % 5);
		ck_assert_uint_ge(sizeof(work), vigil_assignment_work_size(rows, cols));
		ck_assert_int_eq(vigil_assign(c, rows, cols, r2c, work), 0);
		double got = 0, want;
		int n = 0;

		memset(used, 0, sizeof(used));
		for (int r = 0; r < rows; r++) {
			if (r2c[r] < 0)
				continue;
			ck_assert_int_lt(r2c[r], cols);
			ck_assert_msg(!used[r2c[r]], "column %d assigned twice", r2c[r]);
			used[r2c[r]] = 1;
			got += c[r * cols + r2c[r]];
			n++;
		}
		ck_assert_int_eq(n, rows < cols ? rows : cols);
		if (rows <= cols) {
			want = brute_best(c, rows, cols);
		} else {
			double ct[36];

			for (int r = 0; r < rows; r++)
				for (int k = 0; k < cols; k++)
					ct[k * rows + r] = c[r * cols + k];
			want = brute_best(ct, cols, rows);
		}
		ck_assert_msg(fabs(got - want) < 1e-9, "iter %d (%dx%d): cost %g, optimum %g", iter, rows, cols, got,
			      want);
	}
}
END_TEST

/* ---- helpers ---- */

static struct vigil_detection det(float x, float y, float w, float h, int label_id)
{
	struct vigil_detection d;

	memset(&d, 0, sizeof(d));
	d.label_id = label_id;
	d.label = label_id ? "car" : "person";
	d.score = 0.9f;
	d.x = x;
	d.y = y;
	d.w = w;
	d.h = h;
	d.track_id = -1;
	return d;
}

static const struct vigil_detections *update(struct vigil_tracker *t, struct vigil_detection *items, size_t n)
{
	struct vigil_detections in = { .count = n, .items = items, .frame_width = 640, .frame_height = 480 };
	const struct vigil_detections *out = NULL;

	ck_assert_int_eq(vigil_tracker_update(t, &in, &out), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(out->count, n);
	return out;
}

static const struct vigil_detections *predict(struct vigil_tracker *t)
{
	const struct vigil_detections *out = NULL;

	ck_assert_int_eq(vigil_tracker_predict(t, 42, &out), 0);
	ck_assert_int_eq(out->pts_ns, 42);
	return out;
}

/* ---- Kalman filter by hand ---- */

START_TEST(test_kalman_by_hand)
{
	/* min_hits 1: confirmed at birth. A 100x100 box at centre (100, 100), then a detection 10 px to the
	 * right. With the defaults (position 0.05, velocity 0.00625, measurement 0.05 of the 100-px side):
	 *   birth:   P00 = (2 * 0.05 * 100)^2 = 100, P01 = 0, P11 = (10 * 0.00625 * 100)^2 = 39.0625
	 *   predict: qp = (0.05 * 100)^2 = 25, qv = (0.00625 * 100)^2 = 0.390625
	 *            P00 = 100 + 2 * 0 + 39.0625 + 25 = 164.0625, P01 = 39.0625, P11 = 39.453125, cx = 100, v = 0
	 *   update:  r = (0.05 * 100)^2 = 25, S = 189.0625, K0 = 164.0625 / 189.0625 = 0.867769,
	 *            K1 = 39.0625 / 189.0625 = 0.206612, innovation 10:
	 *            cx = 100 + 8.67769 = 108.67769, v = 2.06612
	 *   predict: cx = 110.74380, so the predicted box is x = 110.74380 - 50 = 60.74380; the size did not
	 *            change (innovation 0), so w = h = 100 and y = 50. */
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d = det(50, 50, 100, 100, 0);

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 1;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	const struct vigil_detections *o = update(t, &d, 1);

	ck_assert_int_eq(o->items[0].track_id, 1);
	d.x = 60;
	o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, 1);
	ck_assert_float_eq(o->items[0].x, 60); /* updates report the detection itself */
	o = predict(t);
	ck_assert_uint_eq(o->count, 1);
	ck_assert_int_eq(o->items[0].predicted, 1);
	ck_assert_int_eq(o->items[0].track_id, 1);
	const double K0 = 164.0625 / 189.0625, K1 = 39.0625 / 189.0625;
	const double cx = 100 + K0 * 10 + K1 * 10;

	ck_assert_double_eq_tol(cx, 110.74380, 1e-4);
	ck_assert_double_eq_tol(o->items[0].x, cx - 50, 1e-3);
	ck_assert_double_eq_tol(o->items[0].y, 50, 1e-3);
	ck_assert_double_eq_tol(o->items[0].w, 100, 1e-3);
	ck_assert_double_eq_tol(o->items[0].h, 100, 1e-3);
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_kalman_learns_velocity)
{
	/* 40 updates of a box moving (+5, -2) px per frame and growing 0.5 px per frame in width: 10 predicted
	 * frames later the box is within 1 px of where the object is. */
	struct vigil_tracker *t;
	struct vigil_detection d;

	ck_assert_int_eq(vigil_tracker_create(NULL, &t), 0);
	for (int f = 0; f < 40; f++) {
		d = det(10 + 5.0f * f, 300 - 2.0f * f, 60 + 0.5f * f, 120, 0);
		update(t, &d, 1);
	}
	for (int f = 40; f < 50; f++) {
		const struct vigil_detections *o = predict(t);

		ck_assert_uint_eq(o->count, 1);
		ck_assert_double_eq_tol(o->items[0].x + o->items[0].w / 2, 10 + 5.0 * f + (60 + 0.5 * f) / 2, 1.0);
		ck_assert_double_eq_tol(o->items[0].y, 300 - 2.0 * f, 1.0);
		ck_assert_double_eq_tol(o->items[0].w, 60 + 0.5 * f, 1.0);
	}
	vigil_tracker_destroy(t);
}
END_TEST

/* ---- life cycle ---- */

START_TEST(test_birth_after_k_hits_death_after_m_misses)
{
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d = det(100, 100, 50, 50, 0);
	const struct vigil_detections *o;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 3;
	cfg.max_misses = 4;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, -1); /* tentative */
	ck_assert_uint_eq(predict(t)->count, 0);    /* tentative tracks are not predicted */
	o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, -1);
	o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, 1); /* third hit confirms */
	ck_assert_uint_eq(vigil_tracker_count(t, 1), 1);
	ck_assert_uint_eq(predict(t)->count, 1);
	/* the object leaves: 3 missed updates keep the track (not predicted any more), the 4th deletes it */
	for (int miss = 1; miss <= 4; miss++) {
		update(t, NULL, 0);
		ck_assert_uint_eq(predict(t)->count, 0);
		ck_assert_uint_eq(vigil_tracker_count(t, 1), miss < 4 ? 1 : 0);
	}
	/* a tentative track dies at its first miss */
	update(t, &d, 1);
	ck_assert_uint_eq(vigil_tracker_count(t, 0), 1);
	update(t, NULL, 0);
	ck_assert_uint_eq(vigil_tracker_count(t, 0), 0);
	/* an object coming back after its track died gets a new id */
	for (int i = 0; i < 3; i++)
		o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, 2);
	/* reset forgets tracks, ids keep counting */
	vigil_tracker_reset(t);
	ck_assert_uint_eq(vigil_tracker_count(t, 0), 0);
	for (int i = 0; i < 3; i++)
		o = update(t, &d, 1);
	ck_assert_int_eq(o->items[0].track_id, 3);
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_coasting_track_recovers_after_short_occlusion)
{
	struct vigil_tracker *t;
	struct vigil_detection d;
	const struct vigil_detections *o;

	ck_assert_int_eq(vigil_tracker_create(NULL, &t), 0);
	for (int f = 0; f < 30; f++) {
		const int hidden = f >= 10 && f < 14; /* 4 missed updates < max_misses 5 */

		d = det(20 + 6.0f * f, 200, 40, 80, 0);
		o = update(t, &d, hidden ? 0 : 1);
		if (f >= 2 && !hidden)
			ck_assert_msg(o->items[0].track_id == 1, "frame %d: id %lld", f,
				      (long long)o->items[0].track_id);
	}
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_per_label)
{
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d[2] = { det(100, 100, 50, 50, 0), det(102, 101, 50, 50, 1) };
	const struct vigil_detections *o;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 1;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	for (int f = 0; f < 5; f++) {
		o = update(t, d, 2);
		ck_assert_int_eq(o->items[0].track_id, 1);
		ck_assert_int_eq(o->items[1].track_id, 2);
	}
	/* the "car" box alone, where the person was: a car track takes it; the person track misses */
	o = update(t, &d[1], 1);
	ck_assert_int_eq(o->items[0].track_id, 2);
	vigil_tracker_destroy(t);

	/* per_label off: one object whose label flickers keeps its id */
	cfg.per_label = 0;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	for (int f = 0; f < 6; f++) {
		o = update(t, &d[f % 2], 1);
		ck_assert_int_eq(o->items[0].track_id, 1);
	}
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_config_validation)
{
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t = (void *)1;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 0;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), -EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "min_hits"));
	vigil_tracker_config_init(&cfg);
	cfg.iou_threshold = NAN;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), -EINVAL);
	vigil_tracker_config_init(&cfg);
	cfg.measurement_noise = 0;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), -EINVAL);
	vigil_tracker_config_init(&cfg);
	cfg.max_tracks = 5000;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), -EINVAL);
	ck_assert_int_eq(vigil_tracker_create(NULL, NULL), -EINVAL);
	ck_assert_int_eq(vigil_tracker_create(NULL, &t), 0);
	ck_assert_int_eq(vigil_tracker_update(t, NULL, NULL), -EINVAL);
	ck_assert_int_eq(vigil_tracker_predict(t, 0, NULL), -EINVAL);
	vigil_tracker_destroy(t);
	vigil_tracker_destroy(NULL);
}
END_TEST

START_TEST(test_capacity)
{
	/* max_tracks 2: a third object stays untracked, and never disturbs the other two */
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d[3] = { det(0, 0, 20, 20, 0), det(100, 0, 20, 20, 0), det(200, 0, 20, 20, 0) };
	const struct vigil_detections *o;

	vigil_tracker_config_init(&cfg);
	cfg.max_tracks = 2;
	cfg.max_detections = 3;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	for (int f = 0; f < 5; f++)
		o = update(t, d, 3);
	ck_assert_int_eq(o->items[0].track_id, 1);
	ck_assert_int_eq(o->items[1].track_id, 2);
	ck_assert_int_eq(o->items[2].track_id, -1);
	vigil_tracker_destroy(t);
}
END_TEST

/* ---- synthetic scenes ---- */

struct obj {
	float x0, y0, vx, vy, w, h;
	int start, end;           /* visible frames [start, end) */
	int hide_start, hide_end; /* occluded frames (no detection) */
	int label_id;
};

#define MAX_OBJ 8
#define MAX_IDS 16

struct scene_result {
	int64_t ids[MAX_OBJ][MAX_IDS]; /* distinct track ids each object received */
	int n_ids[MAX_OBJ];
	int ghost_frames; /* frames with an output box matching no present object */
	int last_ghost_frame;
};

static void obj_box(const struct obj *o, int f, float *x, float *y)
{
	*x = o->x0 + o->vx * (float)f;
	*y = o->y0 + o->vy * (float)f;
}

static void note_id(struct scene_result *r, int o, int64_t id)
{
	if (id < 0)
		return;
	for (int i = 0; i < r->n_ids[o]; i++)
		if (r->ids[o][i] == id)
			return;
	ck_assert_int_lt(r->n_ids[o], MAX_IDS);
	r->ids[o][r->n_ids[o]++] = id;
}

static double box_iou(const struct vigil_detection *d, float x, float y, float w, float h)
{
	const double ix = fmin(d->x + d->w, x + w) - fmax(d->x, x), iy = fmin(d->y + d->h, y + h) - fmax(d->y, y);

	if (ix <= 0 || iy <= 0)
		return 0;
	return ix * iy / ((double)d->w * d->h + (double)w * h - ix * iy);
}

/* Runs @p frames frames with inference on every @p interval-th frame; detections carry +-noise px of
 * uniform noise. Every output box is attributed to the present object it overlaps most (IoU >= 0.3). */
static void run_scene(const struct obj *objs, int n, int frames, int interval, float noise,
		      const struct vigil_tracker_config *cfg, struct scene_result *r)
{
	struct vigil_tracker *t;
	struct vigil_detection d[MAX_OBJ];
	int owner[MAX_OBJ];
	uint64_t seed = 1234 + (uint64_t)interval;

	memset(r, 0, sizeof(*r));
	r->last_ghost_frame = -1;
	ck_assert_int_eq(vigil_tracker_create(cfg, &t), 0);
	for (int f = 0; f < frames; f++) {
		const struct vigil_detections *o;

		if (f % interval == 0) {
			size_t nd = 0;

			for (int i = 0; i < n; i++) {
				float x, y;

				if (f < objs[i].start || f >= objs[i].end ||
				    (f >= objs[i].hide_start && f < objs[i].hide_end))
					continue;
				obj_box(&objs[i], f, &x, &y);
				const float nx = noise * ((float)(tu_rand(&seed) % 2001) / 1000.0f - 1.0f);
				const float ny = noise * ((float)(tu_rand(&seed) % 2001) / 1000.0f - 1.0f);

				owner[nd] = i;
				d[nd++] = det(x + nx, y + ny, objs[i].w, objs[i].h, objs[i].label_id);
			}
			o = update(t, d, nd);
			for (size_t k = 0; k < o->count; k++) {
				ck_assert_int_eq(o->items[k].predicted, 0);
				note_id(r, owner[k], o->items[k].track_id);
			}
		} else {
			o = predict(t);
			for (size_t k = 0; k < o->count; k++) {
				int best = -1;
				double best_iou = 0.3;

				ck_assert_int_eq(o->items[k].predicted, 1);
				ck_assert_int_ge(o->items[k].track_id, 1);
				for (int i = 0; i < n; i++) {
					float x, y;

					if (f < objs[i].start || f >= objs[i].end)
						continue;
					obj_box(&objs[i], f, &x, &y);
					const double v = box_iou(&o->items[k], x, y, objs[i].w, objs[i].h);

					if (v >= best_iou) {
						best_iou = v;
						best = i;
					}
				}
				if (best >= 0) {
					note_id(r, best, o->items[k].track_id);
				} else {
					r->ghost_frames++;
					r->last_ghost_frame = f;
				}
			}
		}
	}
	vigil_tracker_destroy(t);
}

static void assert_stable_ids(const struct scene_result *r, int n, int interval)
{
	for (int i = 0; i < n; i++) {
		ck_assert_msg(r->n_ids[i] == 1, "interval %d: object %d got %d ids (first %lld, second %lld)", interval,
			      i, r->n_ids[i], (long long)r->ids[i][0],
			      (long long)(r->n_ids[i] > 1 ? r->ids[i][1] : -1));
		for (int j = 0; j < i; j++)
			ck_assert_msg(r->ids[i][0] != r->ids[j][0], "interval %d: objects %d and %d share id %lld",
				      interval, i, j, (long long)r->ids[i][0]);
	}
}

/* Two pedestrians walking towards each other cross (their boxes overlap by up to 70% IoU for several frames),
 * and at the crossing the one behind is hidden for 4 frames; a third walks down through the scene and a car
 * (another label) drives along the first one's path. */
static const struct obj crossing_scene[] = {
	{ .x0 = 20, .y0 = 200, .vx = 4, .vy = 0, .w = 40, .h = 90, .start = 0, .end = 120, .hide_start = -1 },
	{ .x0 = 420,
	  .y0 = 212,
	  .vx = -4,
	  .vy = 0,
	  .w = 40,
	  .h = 90,
	  .start = 0,
	  .end = 120,
	  .hide_start = 48,
	  .hide_end = 52 },
	{ .x0 = 300,
	  .y0 = 0,
	  .vx = 0.5f,
	  .vy = 3,
	  .w = 30,
	  .h = 70,
	  .start = 5,
	  .end = 120,
	  .hide_start = 60,
	  .hide_end = 63 },
	{ .x0 = 0,
	  .y0 = 190,
	  .vx = 3,
	  .vy = 0.2f,
	  .w = 120,
	  .h = 60,
	  .start = 10,
	  .end = 120,
	  .hide_start = -1,
	  .label_id = 1 },
};

START_TEST(test_scene_crossing_stable_ids)
{
	const int interval = _i; /* 1..5 */
	struct vigil_tracker_config cfg;
	struct scene_result r;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = interval == 1 ? 3 : 2;
	run_scene(crossing_scene, 4, 120, interval, 1.5f, &cfg, &r);
	assert_stable_ids(&r, 4, interval);
	ck_assert_msg(r.ghost_frames == 0, "interval %d: %d ghost boxes, last at frame %d", interval, r.ghost_frames,
		      r.last_ghost_frame);
}
END_TEST

START_TEST(test_ghost_dies_within_m_updates)
{
	/* one object (3 px per frame) walks out at frame 30; inference every `interval` frames, max_misses 3. The track is
	 * predicted only while matched at the last update, so no predicted box outlives the object by more than
	 * interval - 1 frames, and the track itself is deleted at the 3rd missed update. */
	const int interval = _i;
	const struct obj o[] = {
		{ .x0 = 10, .y0 = 100, .vx = 3, .vy = 0, .w = 40, .h = 80, .end = 30, .hide_start = -1 }
	};
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d;
	int last_output = -1, deleted_at = -1;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 2;
	cfg.max_misses = 3;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	for (int f = 0; f < 80; f++) {
		const struct vigil_detections *out;

		if (f % interval == 0) {
			float x, y;

			obj_box(&o[0], f, &x, &y);
			d = det(x, y, 40, 80, 0);
			out = update(t, &d, f < o[0].end ? 1 : 0);
		} else {
			out = predict(t);
		}
		if (out->count)
			last_output = f;
		if (deleted_at < 0 && f >= o[0].end && vigil_tracker_count(t, 0) == 0)
			deleted_at = f;
	}
	const int first_missed_update = (o[0].end + interval - 1) / interval * interval;

	ck_assert_msg(last_output < first_missed_update, "interval %d: output at frame %d after the object left",
		      interval, last_output);
	ck_assert_msg(deleted_at == first_missed_update + 2 * interval,
		      "interval %d: track deleted at frame %d, want %d", interval, deleted_at,
		      first_missed_update + 2 * interval);
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_no_allocation_per_frame)
{
	struct vigil_tracker *t;
	struct vigil_detection d[3];

	ck_assert_int_eq(vigil_tracker_create(NULL, &t), 0);
	atomic_store(&n_allocs, 0);
	atomic_store(&counting, 1);
	/* no Check assertions inside the counted loop: they allocate */
	int err = 0;
	size_t tracked = 0;

	for (int f = 0; f < 200; f++) {
		const struct vigil_detections *o;

		for (int i = 0; i < 3; i++)
			d[i] = det(10 + 2.0f * f + 100.0f * i, 50, 30, 60, 0);
		struct vigil_detections in = { .count = f % 50 < 40 ? 3 : 1, .items = d };

		if (f % 3 == 0)
			err |= vigil_tracker_update(t, &in, &o);
		else
			err |= vigil_tracker_predict(t, f, &o);
		tracked += o->count;
	}
	vigil_tracker_reset(t);
	atomic_store(&counting, 0);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_gt(tracked, 300);
	ck_assert_int_eq(atomic_load(&n_allocs), 0);
	vigil_tracker_destroy(t);
}
END_TEST

START_TEST(test_record_json_marks_predictions)
{
	struct vigil_tracker_config cfg;
	struct vigil_tracker *t;
	struct vigil_detection d = det(100, 100, 50, 50, 0);
	const struct vigil_detections *o;
	char *json;

	vigil_tracker_config_init(&cfg);
	cfg.min_hits = 1;
	ck_assert_int_eq(vigil_tracker_create(&cfg, &t), 0);
	o = update(t, &d, 1);
	json = vigil_detections_to_json(o, "s", 0, "m");
	ck_assert_ptr_nonnull(strstr(json, "\"track_id\":1"));
	ck_assert_ptr_null(strstr(json, "predicted"));
	vigil_free(json);
	o = predict(t);
	json = vigil_detections_to_json(o, "s", 1, "m");
	ck_assert_ptr_nonnull(strstr(json, "\"track_id\":1,\"predicted\":true"));
	vigil_free(json);
	vigil_tracker_destroy(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tracker");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_assign_by_hand);
	tcase_add_test(tc, test_assign_random_vs_brute_force);
	tcase_add_test(tc, test_kalman_by_hand);
	tcase_add_test(tc, test_kalman_learns_velocity);
	tcase_add_test(tc, test_birth_after_k_hits_death_after_m_misses);
	tcase_add_test(tc, test_coasting_track_recovers_after_short_occlusion);
	tcase_add_test(tc, test_per_label);
	tcase_add_test(tc, test_config_validation);
	tcase_add_test(tc, test_capacity);
	tcase_add_loop_test(tc, test_scene_crossing_stable_ids, 1, 6);
	tcase_add_loop_test(tc, test_ghost_dies_within_m_updates, 1, 6);
	tcase_add_test(tc, test_no_allocation_per_frame);
	tcase_add_test(tc, test_record_json_marks_predictions);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
