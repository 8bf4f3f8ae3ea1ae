/* SPDX-License-Identifier: Apache-2.0
 * coco-ssd in a real pipeline: the PETS09-S2L1 video (eval-only data, read from ../shared) decoded by GStreamer,
 * vigildetect model=coco-ssd labels=person, vigilmetapublish writing JSON lines; the records must hold only persons
 * and find a good part of the MOTChallenge ground-truth pedestrians of those frames (IoU >= 0.5). fakesink does not
 * sync: with the clock, late frames would be dropped by the decoder's QoS and the frame numbers would jump. */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsttestutil.h"

#define FRAMES 3

struct box {
	double x, y, w, h;
};

static const char *shared_path(const char *rel)
{
	static char path[2048];
	const char *root = g_getenv("VIGIL_SHARED");

	ck_assert_msg(root != NULL, "VIGIL_SHARED is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_msg(
	    g_file_test(path, G_FILE_TEST_EXISTS),
	    "eval-only data missing: %s (PETS09-S2L1 is not redistributed with Vigil; this test needs the shared "
	    "data directory at ../shared next to the checkout)",
	    path);
	return path;
}

static double iou(const struct box *a, const struct box *b)
{
	const double x0 = MAX(a->x, b->x), y0 = MAX(a->y, b->y);
	const double x1 = MIN(a->x + a->w, b->x + b->w), y1 = MIN(a->y + a->h, b->y + b->h);
	const double inter = MAX(x1 - x0, 0) * MAX(y1 - y0, 0);

	return inter / (a->w * a->h + b->w * b->h - inter);
}

/* Ground-truth boxes of MOT frame @p frame (1-based). */
static int read_gt(const char *path, int frame, struct box *out, int max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int n = 0;

	vt_assert_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		int fr, id;
		struct box b;

		if (sscanf(line, "%d,%d,%lf,%lf,%lf,%lf", &fr, &id, &b.x, &b.y, &b.w, &b.h) == 6 && fr == frame &&
		    n < max)
			out[n++] = b;
	}
	fclose(f);
	return n;
}

GST_START_TEST(test_pets09_persons)
{
	gchar *dir = g_dir_make_tmp("vigil-coco-XXXXXX", NULL);
	gchar *jsonl = g_build_filename(dir, "pets.jsonl", NULL);
	gchar *video = g_strdup(shared_path("data/video/pets09_s2l1/vtest.avi"));
	gchar *gt = g_strdup(shared_path("data/video/pets09_s2l1/gt.txt"));
	gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! videoconvert ! identity eos-after=%d ! "
				      "vigildetect model=coco-ssd labels=person ! vigilmetapublish location=\"%s\" ! "
				      "fakesink sync=false",
				      video, FRAMES + 1, jsonl);
	gchar *text = NULL, **lines;
	int records = 0, tp = 0, n_det = 0, n_gt = 0;

	vt_run_pipeline(desc);
	ck_assert(g_file_get_contents(jsonl, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] && *lines[i]; i++) {
		json_error_t error;
		json_t *rec = json_loads(lines[i], 0, &error), *dets;
		struct box gtb[64], det[128];
		int used[64] = { 0 }, ng, nd = 0, frame;
		size_t k;
		json_t *d;

		ck_assert_msg(rec != NULL, "line %d: %s", i, error.text);
		ck_assert_str_eq(json_string_value(json_object_get(rec, "model")), "coco-ssd");
		/* the AVI has 10 frames/s; MOT numbers every frame from 1 */
		frame = (int)(json_integer_value(json_object_get(rec, "pts_ns")) / 100000000) + 1;
		ng = read_gt(gt, frame, gtb, 64);
		dets = json_object_get(rec, "detections");
		json_array_foreach(dets, k, d)
		{
			ck_assert_str_eq(json_string_value(json_object_get(d, "label")), "person");
			det[nd++] = (struct box){ json_number_value(json_object_get(d, "x")),
						  json_number_value(json_object_get(d, "y")),
						  json_number_value(json_object_get(d, "w")),
						  json_number_value(json_object_get(d, "h")) };
		}
		/* greedy one-to-one matching in score order (the records are sorted by score) */
		for (int a = 0; a < nd; a++) {
			int best = -1;
			double best_iou = 0.5;

			for (int b = 0; b < ng; b++)
				if (!used[b] && iou(&det[a], &gtb[b]) >= best_iou) {
					best_iou = iou(&det[a], &gtb[b]);
					best = b;
				}
			if (best >= 0) {
				used[best] = 1;
				tp++;
			}
		}
		printf("PETS09 frame %d: %d persons detected, %d in the ground truth\n", frame, nd, ng);
		/* the first FRAMES records are the first FRAMES frames, in order */
		if (records < FRAMES)
			ck_assert_int_eq(frame, records + 1);
		n_det += nd;
		n_gt += ng;
		records++;
		json_decref(rec);
	}
	printf("coco-ssd on %d PETS09 frames: recall %.3f (%d/%d), precision %.3f (%d/%d) at IoU 0.5\n", records,
	       (double)tp / n_gt, tp, n_gt, (double)tp / n_det, tp, n_det);
	/* identity eos-after=N passes N-1 buffers, answers GST_FLOW_EOS to the Nth, and passes later ones: a
	 * threaded decoder may still push a few frames it had decoded before it sees that answer */
	ck_assert_int_ge(records, FRAMES);
	ck_assert_int_gt(n_gt, 0);
	/* measured on 40 frames spread over the video: recall 0.69, precision 0.56 at the default threshold (the
	 * misses are mostly people partly hidden or under 40 px tall); on these first frames about 0.5 */
	ck_assert_msg(tp * 100 >= n_gt * 35, "recall %d/%d below 0.35", tp, n_gt);
	/* precision is printed, not asserted: the ground truth leaves out people it does not track */
	g_strfreev(lines);
	g_free(text);
	g_unlink(jsonl);
	g_rmdir(dir);
	g_free(desc);
	g_free(gt);
	g_free(video);
	g_free(jsonl);
	g_free(dir);
}
GST_END_TEST

/* labels with per-label minimum scores on a photo: only persons from 0.6 and handbags from the threshold */
GST_START_TEST(test_label_scores)
{
	gchar *dir = g_dir_make_tmp("vigil-coco-XXXXXX", NULL);
	gchar *jsonl = g_build_filename(dir, "photo.jsonl", NULL);
	gchar *desc =
	    g_strdup_printf("filesrc location=\"%s\" ! decodebin ! videoconvert ! imagefreeze num-buffers=1 ! "
			    "vigildetect model=coco-ssd threshold=0.3 labels=\"person=0.6,handbag\" ! "
			    "vigilmetapublish location=\"%s\" ! fakesink sync=false",
			    vt_data_path("faces/sample1.jpg"), jsonl);
	gchar *text = NULL;
	json_error_t error;
	json_t *rec, *d;
	size_t k;
	int persons = 0, handbags = 0;

	vt_run_pipeline(desc);
	ck_assert(g_file_get_contents(jsonl, &text, NULL, NULL));
	rec = json_loads(text, JSON_DISABLE_EOF_CHECK, &error);
	ck_assert_msg(rec != NULL, "%s", error.text);
	json_array_foreach(json_object_get(rec, "detections"), k, d)
	{
		const char *label = json_string_value(json_object_get(d, "label"));
		const double score = json_number_value(json_object_get(d, "score"));

		if (strcmp(label, "person") == 0) {
			ck_assert(score >= 0.6);
			persons++;
		} else {
			ck_assert_str_eq(label, "handbag");
			ck_assert(score >= 0.3);
			handbags++;
		}
	}
	ck_assert_int_ge(persons, 2);
	ck_assert_int_ge(handbags, 1);
	json_decref(rec);
	g_free(text);
	g_unlink(jsonl);
	g_rmdir(dir);
	g_free(desc);
	g_free(jsonl);
	g_free(dir);
}
GST_END_TEST

static Suite *coco_suite(void)
{
	Suite *s = suite_create("coco_ssd");
	TCase *tc = tcase_create("pipeline");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_pets09_persons);
	tcase_add_test(tc, test_label_scores);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *root = g_getenv("VIGIL_SHARED"), *mode = g_getenv("VIGIL_EVAL_DATA");

	/* every case reads PETS09: without ../shared this suite fails, except when scripts/test.sh runs for a user
	 * (VIGIL_EVAL_DATA=optional, never in CI), where meson reports it skipped */
	if (root && mode && strcmp(mode, "optional") == 0) {
		gchar *video = g_build_filename(root, "data/video/pets09_s2l1/vtest.avi", NULL);
		gboolean have = g_file_test(video, G_FILE_TEST_EXISTS);

		if (!have)
			g_printerr("SKIPPED (VIGIL_EVAL_DATA=optional): eval-only data missing: %s\n", video);
		g_free(video);
		if (!have)
			return 77;
	}
	g_setenv("GST_REGISTRY_FORK", "no", FALSE);
	vt_init(&argc, &argv);
	return vt_run(coco_suite());
}
