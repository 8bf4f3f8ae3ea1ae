/* SPDX-License-Identifier: Apache-2.0
 * `vigil eval`: runs a model (and optionally the tracker) over a video file (decoded with GStreamer) or a
 * directory of images, against MOTChallenge, PASCAL VOC / dlib or COCO ground truth, and reports detection,
 * tracking, latency and throughput numbers as a table or one JSON object. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "eval_gt.h"
#include "eval_metrics.h"
#include "image_io.h"
#include "video_source.h"
#include "vigil/tracker.h"
#include "vigil/vigil.h"

static const char eval_usage[] =
    "Usage: vigil eval --model NAME --gt FILE --format mot|voc|coco [OPTIONS] INPUT\n"
    "\n"
    "Runs the model over INPUT, a video file (decoded with GStreamer) or a directory of JPEG/PNG images (in name\n"
    "order), and compares the detections with the ground truth.\n"
    "\n"
    "Ground truth (--gt):\n"
    "  mot   MOTChallenge gt.txt (frame,id,x,y,w,h,conf[,class,...]); frame N is the N-th video frame or image;\n"
    "        conf=0 rows and distractor classes are ignore regions; class 1 (pedestrian) is the label 'person'\n"
    "  voc   a PASCAL VOC annotation file, a directory of them, or a dlib image-dataset XML file; images are\n"
    "        matched to INPUT's files by name; VOC 'difficult' and dlib ignore='1' boxes are ignore regions\n"
    "  coco  COCO instances JSON; images matched by file_name; iscrowd boxes are crowd ignore regions\n"
    "\n"
    "Options:\n"
    "  -m, --model NAME|PATH      model [default: face-full]\n"
    "  -l, --labels L1,L2,..      evaluate only these model labels [default: all]\n"
    "      --label-map GT=M,..    ground-truth label GT is model label M (e.g. pedestrian=person)\n"
    "  -t, --threshold T          detector score threshold 0..1 [default: the model's]\n"
    "      --track                run the tracker (track ids; tracking metrics when the ground truth has ids)\n"
    "  -n, --inference-interval N run inference on every Nth frame; the others reuse the last result or, with\n"
    "                             --track, carry the tracker's predicted boxes [default: 1]\n"
    "      --iou T                IoU for precision, recall and tracking matches [default: 0.5]\n"
    "      --min-size PX          ground truth lower than PX pixels is an ignore region [default: 0]\n"
    "      --frames N             stop after N frames\n"
    "      --detections FILE      evaluate these detections (MOTChallenge lines, as --dump writes them or any\n"
    "                             tracker does) instead of running the model; INPUT is then not needed. Their\n"
    "                             ids are the hypotheses unless --track re-tracks them\n"
    "      --track-min-hits K     tracker: detections that confirm a track [default: 3]\n"
    "      --track-max-misses M   tracker: missed inferences that end a track [default: 5]\n"
    "      --track-iou T          tracker: minimum IoU to associate [default: 0.3]\n"
    "  -d, --dump FILE            write every detection as MOTChallenge lines\n"
    "                             frame,track_id,x,y,w,h,score,-1,-1,-1 (1-based frames and pixels, -1 untracked)\n"
    "  -j, --json                 print one JSON report instead of the table\n"
    "  -q, --quiet                no progress bar (it is drawn only when stderr is a terminal)\n"
    "  -h, --help                 show this help\n"
    "\n"
    "Ctrl-C stops early: the report (marked \"interrupted\") and the dump cover the frames processed.\n"
    "Exit status: 0 done (also when interrupted), 1 a model, input or ground-truth error, 2 bad command line.\n";

#define MAX_MAP 32
#define MAX_SELECTED 64
#define HIST_BINS 40

enum stage { ST_DECODE, ST_PRE, ST_INFER, ST_POST, ST_TRACK, ST_TOTAL, N_STAGES };
static const char *const stage_names[N_STAGES] = {
	"decode", "preprocess", "inference", "postprocess", "track", "total"
};

struct samples {
	double *v;
	size_t n, cap;
};

struct eval_ctx {
	const struct vigil_model *model;
	const char *map_from[MAX_MAP], *map_to[MAX_MAP];
	int n_map;
	const char *selected[MAX_SELECTED];
	int n_selected;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int sample_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted values */
static double percentile(const double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return NAN;
	k = (size_t)ceil(p / 100.0 * (double)n);
	return v[k ? k - 1 : 0];
}

static int cmp_box_frame_line(const void *a, const void *b)
{
	const struct ev_box *x = a, *y = b;

	if (x->frame != y->frame)
		return x->frame < y->frame ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* ---- labels ---- */

static int model_label_id(const struct vigil_model *m, const char *name)
{
	const struct vigil_model_info *info = vigil_model_get_info(m);

	for (int i = 0; i < info->num_labels; i++) {
		const char *l = vigil_model_label(m, i);

		if (l && !strcmp(l, name))
			return i;
	}
	return -1;
}

static int label_selected(const struct eval_ctx *c, const char *name)
{
	if (!c->n_selected)
		return 1;
	for (int i = 0; i < c->n_selected; i++)
		if (!strcmp(c->selected[i], name))
			return 1;
	return 0;
}

static int resolve_label(void *ctx, const char *gt_name)
{
	struct eval_ctx *c = ctx;
	const char *name = gt_name;
	int id;

	for (int i = 0; i < c->n_map; i++)
		if (!strcmp(c->map_from[i], gt_name))
			name = c->map_to[i];
	id = model_label_id(c->model, name);
	if (id < 0)
		return EV_LABEL_UNKNOWN;
	return label_selected(c, name) ? id : EV_LABEL_SKIP;
}

/* splits "a,b,c" in place */
static int split_list(char *s, const char **out, int max)
{
	int n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max)
			return -1;
		out[n++] = tok;
	}
	return n;
}

/* ---- reading files ---- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 131072;
			if (cap > (size_t)1 << 31 || !(p = realloc(buf, cap))) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, 65536, f);

		n += r;
		if (r < 65536)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_ext(const char *name, const char *const *exts)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return 0;
	for (; *exts; exts++)
		if (!strcasecmp(dot + 1, *exts))
			return 1;
	return 0;
}

/* sorted full paths of the files in @p dir with one of @p exts; -1 with errno on failure */
static int list_dir(const char *dir, const char *const *exts, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char **p;

		if (e->d_name[0] == '.' || !has_ext(e->d_name, exts))
			continue;
		p = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!p)
			break;
		v = p;
		if (asprintf(&v[n], "%s/%s", dir, e->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int load_gt(const char *path, const char *format, struct eval_ctx *ctx, struct ev_gt *gt)
{
	static const char *const xml_ext[] = { "xml", NULL };
	const char *default_label = vigil_model_label(ctx->model, 0);
	char **files = NULL;
	int n = 1, err = 0;

	if (!strcmp(format, "voc") && is_dir(path)) {
		n = list_dir(path, xml_ext, &files);
		if (n <= 0) {
			fprintf(stderr, "vigil eval: %s: no .xml annotation files%s%s\n", path, n < 0 ? ": " : "",
				n < 0 ? strerror(errno) : "");
			return -1;
		}
	}
	for (int i = 0; i < n && !err; i++) {
		const char *p = files ? files[i] : path;
		size_t len;
		char *text = read_all(p, &len);

		if (!text) {
			fprintf(stderr, "vigil eval: cannot read ground truth %s: %s\n", p, strerror(errno));
			err = -1;
			break;
		}
		if (!strcmp(format, "mot"))
			err = ev_gt_parse_mot(text, len, p, resolve_label, ctx, gt);
		else if (!strcmp(format, "voc"))
			err = ev_gt_parse_xml(text, len, p, default_label, resolve_label, ctx, gt);
		else
			err = ev_gt_parse_coco(text, len, p, resolve_label, ctx, gt);
		free(text);
		if (err)
			fprintf(stderr, "vigil eval: %s\n", err == -ENOMEM ? "out of memory" : vigil_last_error());
	}
	free_list(files, files ? n : 0);
	return err ? -1 : 0;
}

/* ---- frame sources ---- */

struct source {
	/* images */
	char **files;
	int n_files, next;
	struct vigil_image img;
	int have_img;
	struct vigil_video_source *video; /* video_source.c */
	int is_video;
	const char *path;
};

static void source_release_frame(struct source *s)
{
	if (s->have_img) {
		vigil_image_free(&s->img);
		s->have_img = 0;
	}
}

static int source_open(struct source *s, const char *path)
{
	static const char *const img_ext[] = { "jpg", "jpeg", "png", NULL };

	memset(s, 0, sizeof(*s));
	s->path = path;
	if (is_dir(path)) {
		s->n_files = list_dir(path, img_ext, &s->files);
		if (s->n_files <= 0) {
			fprintf(stderr, "vigil eval: %s: no JPEG or PNG images%s%s\n", path, s->n_files < 0 ? ": " : "",
				s->n_files < 0 ? strerror(errno) : "");
			return -1;
		}
		return 0;
	}
	if (vigil_video_source_open(path, &s->video) < 0) {
		fprintf(stderr, "vigil eval: %s\n", vigil_last_error());
		return -1;
	}
	s->is_video = 1;
	return 0;
}

static void source_close(struct source *s)
{
	source_release_frame(s);
	free_list(s->files, s->n_files > 0 ? s->n_files : 0);
	vigil_video_source_close(s->video);
	s->video = NULL;
}

/* 1: a frame, 0: end of input, -1: error (reported) */
static int source_next(struct source *s, struct vigil_frame *f, const char **name)
{
	source_release_frame(s);
	memset(f, 0, sizeof(*f));
	f->pts_ns = -1;
	if (!s->is_video) {
		if (s->next >= s->n_files)
			return 0;
		*name = s->files[s->next++];
		if (vigil_image_load(*name, &s->img) < 0) {
			fprintf(stderr, "vigil eval: %s: %s\n", *name, vigil_last_error());
			return -1;
		}
		s->have_img = 1;
		f->format = VIGIL_FORMAT_RGB;
		f->width = s->img.width;
		f->height = s->img.height;
		f->planes[0] = s->img.rgb;
		f->strides[0] = s->img.stride;
		f->colorimetry = VIGIL_COLOR_BT601_FULL;
		return 1;
	}
	*name = s->path;
	int r = vigil_video_source_next(s->video, f, &interrupted);
	if (r < 0) {
		fprintf(stderr, "vigil eval: %s\n", vigil_last_error());
		return -1;
	}
	return r;
}

/* ---- report ---- */

static json_t *num_or_null(double v)
{
	return v < 0 || !isfinite(v) ? json_null() : json_real(v);
}

static json_t *tracking_json(const struct ev_tracking *t)
{
	return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i}", "mota",
			 t->num_gt ? json_real(t->mota) : json_null(), "motp", num_or_null(t->motp), "idf1",
			 num_or_null(t->idf1), "id_switches", (json_int_t)t->id_switches, "fragmentations",
			 (json_int_t)t->fragmentations, "fp", (json_int_t)t->fp, "fn", (json_int_t)t->fn, "num_gt",
			 (json_int_t)t->num_gt, "num_hyp", (json_int_t)t->num_hyp, "idtp", (json_int_t)t->idtp, "idfp",
			 (json_int_t)t->idfp, "idfn", (json_int_t)t->idfn, "gt_ids", t->gt_ids, "hyp_ids", t->hyp_ids);
}

static json_t *stage_json(struct samples *s)
{
	json_t *o, *edges, *counts;
	double lo, hi, w;
	size_t bins[HIST_BINS] = { 0 };

	if (!s->n)
		return json_null();
	qsort(s->v, s->n, sizeof(double), cmp_double);
	lo = s->v[0];
	hi = s->v[s->n - 1];
	w = hi > lo ? (hi - lo) / HIST_BINS : 1e-3;
	double sum = 0;

	for (size_t i = 0; i < s->n; i++) {
		size_t b = (size_t)((s->v[i] - lo) / w);

		bins[b < HIST_BINS ? b : HIST_BINS - 1]++;
		sum += s->v[i];
	}
	edges = json_array();
	counts = json_array();
	for (int b = 0; b <= HIST_BINS; b++)
		json_array_append_new(edges, json_real(lo + w * b));
	for (int b = 0; b < HIST_BINS; b++)
		json_array_append_new(counts, json_integer((json_int_t)bins[b]));
	o = json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:{s:o, s:o}}", "samples", (json_int_t)s->n, "mean",
		      sum / (double)s->n, "p50", percentile(s->v, s->n, 50), "p90", percentile(s->v, s->n, 90), "p99",
		      percentile(s->v, s->n, 99), "min", lo, "max", hi, "histogram", "edges", edges, "counts", counts);
	return o;
}

/* ---- the command ---- */

struct opts {
	const char *model, *gt, *format, *dump, *input, *detections;
	long min_hits, max_misses;
	float track_iou;
	char *labels, *label_map;
	float threshold, iou, min_size;
	long interval, max_frames;
	int track, json, quiet;
};

static int usage(const char *fmt, const char *arg)
{
	fputs("vigil eval: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'vigil eval --help'.\n", stderr);
	return VIGIL_EXIT_USAGE;
}

static int parse_float(const char *s, float lo, float hi, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= lo && v <= hi))
		return -1;
	*out = (float)v;
	return 0;
}

static void progress(int done, int total, double t0, int final)
{
	static double last;
	const double t = now_ms();
	char bar[31];

	if (!final && t - last < 100)
		return;
	last = t;
	const double fps = done / fmax((t - t0) / 1000.0, 1e-9);

	if (total > 0) {
		const int fill = (int)(30.0 * (done > total ? total : done) / total);

		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\r[%s] %d/%d frames %.1f fps", bar, done, total, fps);
	} else {
		fprintf(stderr, "\r%d frames %.1f fps", done, fps);
	}
	if (final)
		fputc('\n', stderr);
}

int vigil_cli_eval(int argc, char **argv)
{
	static const struct option options[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "labels", required_argument, NULL, 'l' },
		{ "label-map", required_argument, NULL, 'M' },
		{ "threshold", required_argument, NULL, 't' },
		{ "track", no_argument, NULL, 'T' },
		{ "inference-interval", required_argument, NULL, 'n' },
		{ "iou", required_argument, NULL, 'I' },
		{ "min-size", required_argument, NULL, 'S' },
		{ "frames", required_argument, NULL, 'F' },
		{ "gt", required_argument, NULL, 'g' },
		{ "format", required_argument, NULL, 'f' },
		{ "dump", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "detections", required_argument, NULL, 'D' },
		{ "track-min-hits", required_argument, NULL, 'K' },
		{ "track-max-misses", required_argument, NULL, 'X' },
		{ "track-iou", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .model = NULL,
			  .threshold = -1,
			  .iou = 0.5f,
			  .interval = 1,
			  .max_frames = -1,
			  .min_hits = -1,
			  .max_misses = -1,
			  .track_iou = -1 };
	struct ev_boxes replay = { 0 }; /* --detections */
	int replay_frames = 0;
	size_t replay_pos = 0;
	struct eval_ctx ctx = { 0 };
	struct vigil_model *model = NULL;
	struct vigil_detector *det = NULL;
	struct vigil_tracker *trk = NULL;
	struct ev_gt gt = { 0 };
	struct ev_boxes dets = { 0 };
	struct source src;
	int src_open = 0, status = VIGIL_EXIT_FAIL, opt, *gt_frame_map = NULL;
	FILE *dump = NULL;
	struct samples lat[N_STAGES] = { { 0 } };
	struct vigil_detection *held = NULL; /* last inference's result, for frames without inference */
	size_t n_held = 0;
	struct ev_result res = { 0 };
	struct sigaction sa, old_sa;
	int frames = 0, inferences = 0, sig_installed = 0;
	double t_start;

	while ((opt = getopt_long(argc, argv, "m:l:t:n:d:jqh", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			o.model = optarg;
			break;
		case 'l':
			o.labels = optarg;
			break;
		case 'M':
			o.label_map = optarg;
			break;
		case 't':
			if (parse_float(optarg, 0, 1, &o.threshold) < 0)
				return usage("--threshold must be a number from 0 to 1, got '%s'", optarg);
			break;
		case 'T':
			o.track = 1;
			break;
		case 'n':
			if (vigil_cli_parse_int(optarg, 1, 1000, &o.interval) < 0)
				return usage("--inference-interval must be 1..1000, got '%s'", optarg);
			break;
		case 'I':
			if (parse_float(optarg, 0.01f, 1, &o.iou) < 0)
				return usage("--iou must be a number from 0.01 to 1, got '%s'", optarg);
			break;
		case 'S':
			if (parse_float(optarg, 0, 100000, &o.min_size) < 0)
				return usage("--min-size must be a number of pixels >= 0, got '%s'", optarg);
			break;
		case 'F':
			if (vigil_cli_parse_int(optarg, 1, 100000000, &o.max_frames) < 0)
				return usage("--frames must be a positive number, got '%s'", optarg);
			break;
		case 'g':
			o.gt = optarg;
			break;
		case 'f':
			o.format = optarg;
			break;
		case 'd':
			o.dump = optarg;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'D':
			o.detections = optarg;
			break;
		case 'K':
			if (vigil_cli_parse_int(optarg, 1, 1000, &o.min_hits) < 0)
				return usage("--track-min-hits must be 1..1000, got '%s'", optarg);
			break;
		case 'X':
			if (vigil_cli_parse_int(optarg, 1, 1000, &o.max_misses) < 0)
				return usage("--track-max-misses must be 1..1000, got '%s'", optarg);
			break;
		case 'U':
			if (parse_float(optarg, 0.01f, 1, &o.track_iou) < 0)
				return usage("--track-iou must be a number from 0.01 to 1, got '%s'", optarg);
			break;
		case 'h':
			fputs(eval_usage, stdout);
			return VIGIL_EXIT_OK;
		default:
			fputs("Try 'vigil eval --help'.\n", stderr);
			return VIGIL_EXIT_USAGE;
		}
	}
	if (o.detections ? optind < argc - 1 : optind != argc - 1)
		return usage("%s", optind >= argc ? "needs one INPUT (a video file or a directory of images)"
						  : "takes exactly one INPUT");
	o.input = optind < argc ? argv[optind] : NULL;
	if (o.detections && o.input)
		return usage("%s", "--detections replaces INPUT: give one or the other");
	if (o.detections && strcmp(o.format ? o.format : "", "mot"))
		return usage("%s", "--detections needs --format mot (frames are numbers, not image names)");
	if (!o.gt)
		return usage("%s", "--gt FILE is required");
	if (!o.format)
		return usage("%s", "--format mot|voc|coco is required");
	if (strcmp(o.format, "mot") && strcmp(o.format, "voc") && strcmp(o.format, "coco"))
		return usage("--format must be mot, voc or coco, got '%s'", o.format);
	if (o.labels && (ctx.n_selected = split_list(o.labels, ctx.selected, MAX_SELECTED)) <= 0)
		return usage("%s", "--labels needs a comma-separated list of model labels");
	if (o.label_map) {
		const char *pairs[MAX_MAP];
		int n = split_list(o.label_map, pairs, MAX_MAP);

		if (n <= 0)
			return usage("%s", "--label-map needs GT=MODEL pairs separated by commas");
		for (int i = 0; i < n; i++) {
			char *eq = strchr(pairs[i], '=');

			if (!eq || eq == pairs[i] || !eq[1])
				return usage("--label-map: '%s' is not GT=MODEL", pairs[i]);
			*eq = 0;
			ctx.map_from[i] = pairs[i];
			ctx.map_to[i] = eq + 1;
		}
		ctx.n_map = n;
	}

	if (vigil_model_open(o.model ? o.model : vigil_default_model(), &model) < 0) {
		fprintf(stderr, "vigil eval: cannot open model %s: %s\n", o.model ? o.model : vigil_default_model(),
			vigil_last_error());
		return VIGIL_EXIT_FAIL;
	}
	ctx.model = model;
	for (int i = 0; i < ctx.n_selected; i++)
		if (model_label_id(model, ctx.selected[i]) < 0) {
			fprintf(stderr, "vigil eval: --labels: '%s' is not a label of model %s\n", ctx.selected[i],
				vigil_model_get_info(model)->name);
			goto out;
		}
	for (int i = 0; i < ctx.n_map; i++)
		if (model_label_id(model, ctx.map_to[i]) < 0) {
			fprintf(stderr, "vigil eval: --label-map: '%s' is not a label of model %s\n", ctx.map_to[i],
				vigil_model_get_info(model)->name);
			goto out;
		}
	if (load_gt(o.gt, o.format, &ctx, &gt) < 0)
		goto out;

	struct vigil_detector_config dc;

	vigil_detector_config_init(&dc);
	dc.threshold = o.threshold;
	if (vigil_detector_create(model, &dc, &det) < 0) {
		fprintf(stderr, "vigil eval: cannot create the detector: %s\n", vigil_last_error());
		goto out;
	}
	struct vigil_tracker_config tc;

	vigil_tracker_config_init(&tc);
	if (o.min_hits > 0)
		tc.min_hits = (int)o.min_hits;
	if (o.max_misses > 0)
		tc.max_misses = (int)o.max_misses;
	if (o.track_iou > 0)
		tc.iou_threshold = o.track_iou;
	if (o.track && vigil_tracker_create(&tc, &trk) < 0) {
		fprintf(stderr, "vigil eval: cannot create the tracker: %s\n", vigil_last_error());
		goto out;
	}
	held = calloc(1024, sizeof(*held));
	if (!held)
		goto out;
	if (o.detections) {
		size_t len;
		char *text = read_all(o.detections, &len);
		const char *lname = ctx.n_selected ? ctx.selected[0] : vigil_model_label(model, 0);
		int err;

		if (!text) {
			fprintf(stderr, "vigil eval: cannot read %s: %s\n", o.detections, strerror(errno));
			goto out;
		}
		err = ev_dets_parse_mot(text, len, o.detections, model_label_id(model, lname), &replay, &replay_frames);
		free(text);
		if (err) {
			fprintf(stderr, "vigil eval: %s\n", err == -ENOMEM ? "out of memory" : vigil_last_error());
			goto out;
		}
		if (replay.n)
			qsort(replay.v, replay.n, sizeof(*replay.v), cmp_box_frame_line);
		if (replay_frames < gt.max_frame)
			replay_frames = gt.max_frame;
	} else if (source_open(&src, o.input) < 0) {
		goto out;
	} else {
		src_open = 1;
	}
	if (src_open && src.is_video && strcmp(o.format, "mot")) {
		fprintf(stderr, "vigil eval: --format %s names images by file; a video needs --format mot\n", o.format);
		goto out;
	}
	/* per-image ground truth: box.frame is an image slot; map the slots to INPUT's order */
	if (src_open && strcmp(o.format, "mot")) {
		int matched = 0;

		gt_frame_map = malloc((size_t)(gt.n_images + 1) * sizeof(int));
		if (!gt_frame_map)
			goto out;
		for (int i = 0; i < gt.n_images; i++)
			gt_frame_map[i] = -1;
		/* only the images the ground truth describes are evaluated (the others have no answer) */
		int kept = 0;

		for (int i = 0; i < src.n_files; i++) {
			const int k = ev_gt_image_index(&gt, src.files[i]);

			if (k >= 0 && gt_frame_map[k] < 0) {
				gt_frame_map[k] = kept;
				src.files[kept++] = src.files[i];
				matched++;
			} else {
				free(src.files[i]);
			}
		}
		if (kept < src.n_files)
			fprintf(stderr, "vigil eval: %d images in %s are not in the ground truth (skipped)\n",
				src.n_files - kept, o.input);
		src.n_files = kept;
		if (!matched) {
			fprintf(stderr, "vigil eval: none of the %d images in the ground truth is in %s\n", gt.n_images,
				o.input);
			goto out;
		}
		if (matched < gt.n_images)
			fprintf(stderr, "vigil eval: %d of the %d ground-truth images are not in %s (not evaluated)\n",
				gt.n_images - matched, gt.n_images, o.input);
		for (size_t i = 0; i < gt.boxes.n; i++)
			gt.boxes.v[i].frame = gt_frame_map[gt.boxes.v[i].frame];
	}
	if (o.dump && !(dump = fopen(o.dump, "w"))) {
		fprintf(stderr, "vigil eval: cannot write %s: %s\n", o.dump, strerror(errno));
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	if (sigaction(SIGINT, &sa, &old_sa) == 0)
		sig_installed = 1;

	const int show_progress = !o.quiet && isatty(STDERR_FILENO);
	const int total = o.max_frames > 0           ? (int)o.max_frames
			  : o.detections             ? replay_frames
			  : src_open && src.is_video ? gt.max_frame
						     : src.n_files;
	int width = 0, height = 0;

	t_start = now_ms();
	while (!interrupted && (o.max_frames < 0 || frames < o.max_frames)) {
		struct vigil_frame frame;
		const struct vigil_detections *out = NULL;
		struct vigil_detections heldd;
		const char *name = NULL;
		double t0 = now_ms(), t1, t2;
		int r;

		if (o.detections) {
			/* replay: this frame's detections from the file (sorted by frame after reading) */
			if (frames >= replay_frames)
				break;
			memset(&frame, 0, sizeof(frame));
			name = o.detections;
			r = 1;
		} else {
			r = source_next(&src, &frame, &name);
		}
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		t1 = now_ms();
		if (width && src.is_video && (frame.width != width || frame.height != height))
			fprintf(stderr, "vigil eval: frame %d is %dx%d, the first was %dx%d\n", frames + 1, frame.width,
				frame.height, width, height);
		width = frame.width;
		height = frame.height;
		/* ground truth must lie (at least partly) inside this frame */
		for (size_t i = 0; i < gt.boxes.n && !o.detections; i++) {
			const struct ev_box *b = &gt.boxes.v[i];

			if (b->frame == frames &&
			    (b->x >= width || b->y >= height || b->x + b->w <= 0 || b->y + b->h <= 0)) {
				fprintf(stderr, "vigil eval: %s:%d: box %g,%g %gx%g lies outside the %dx%d frame %d\n",
					o.gt, b->line, (double)b->x, (double)b->y, (double)b->w, (double)b->h, width,
					height, frames + 1);
				goto out;
			}
		}
		sample_add(&lat[ST_DECODE], t1 - t0);
		if (frames % o.interval == 0 && o.detections) {
			n_held = 0;
			while (replay_pos < replay.n && replay.v[replay_pos].frame < frames)
				replay_pos++;
			for (; replay_pos < replay.n && replay.v[replay_pos].frame == frames && n_held < 1024;
			     replay_pos++) {
				const struct ev_box *b = &replay.v[replay_pos];
				struct vigil_detection *d = &held[n_held++];

				memset(d, 0, sizeof(*d));
				d->label_id = b->label;
				d->label = vigil_model_label(model, b->label);
				d->score = b->score;
				d->x = b->x;
				d->y = b->y;
				d->w = b->w;
				d->h = b->h;
				d->track_id = b->id;
			}
			heldd = (struct vigil_detections){ .count = n_held, .items = held, .pts_ns = -1 };
			out = &heldd;
			inferences++;
			t2 = now_ms();
			if (trk && vigil_tracker_update(trk, &heldd, &out) < 0)
				goto out;
		} else if (frames % o.interval == 0) {
			if (vigil_detector_detect(det, &frame, &out) < 0) {
				fprintf(stderr, "vigil eval: %s: detection failed on frame %d: %s\n", name, frames + 1,
					vigil_last_error());
				goto out;
			}
			inferences++;
			sample_add(&lat[ST_PRE], out->timing.preprocess_ms);
			sample_add(&lat[ST_INFER], out->timing.inference_ms);
			sample_add(&lat[ST_POST], out->timing.postprocess_ms);
			/* keep the selected labels only */
			n_held = 0;
			for (size_t k = 0; k < out->count && n_held < 1024; k++)
				if (label_selected(&ctx, out->items[k].label))
					held[n_held++] = out->items[k];
			heldd = *out;
			heldd.items = held;
			heldd.count = n_held;
			out = &heldd;
			t2 = now_ms();
			if (trk && vigil_tracker_update(trk, &heldd, &out) < 0)
				goto out;
		} else {
			t2 = now_ms();
			if (trk) {
				if (vigil_tracker_predict(trk, frame.pts_ns, &out) < 0)
					goto out;
			} else {
				heldd = (struct vigil_detections){ .count = n_held, .items = held };
				out = &heldd;
			}
		}
		const double t3 = now_ms();

		if (trk)
			sample_add(&lat[ST_TRACK], t3 - t2);
		for (size_t k = 0; k < out->count; k++) {
			const struct vigil_detection *d = &out->items[k];
			struct ev_box b = { .frame = frames,
					    .label = d->label_id,
					    .id = d->track_id,
					    .x = d->x,
					    .y = d->y,
					    .w = d->w,
					    .h = d->h,
					    .score = d->score };

			if (ev_boxes_push(&dets, &b) < 0)
				goto out;
			if (dump)
				fprintf(dump, "%d,%lld,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n", frames + 1,
					(long long)d->track_id, (double)d->x + 1, (double)d->y + 1, (double)d->w,
					(double)d->h, (double)d->score);
		}
		frames++;
		sample_add(&lat[ST_TOTAL], now_ms() - t0);
		if (show_progress)
			progress(frames, total, t_start, 0);
	}
	const double wall_ms = now_ms() - t_start;

	if (show_progress)
		progress(frames, total, t_start, 1);
	if (interrupted)
		fprintf(stderr, "vigil eval: interrupted after %d frames; reporting those\n", frames);
	if (dump && fflush(dump) != 0) {
		fprintf(stderr, "vigil eval: cannot write %s: %s\n", o.dump, strerror(errno));
		goto out;
	}

	/* metrics over the frames processed */
	const struct ev_params params = { .iou = o.iou,
					  .min_size = o.min_size,
					  .tracking = (o.track || o.detections) && gt.has_ids };
	const struct vigil_model_info *info = vigil_model_get_info(model);

	if (ev_evaluate(&gt.boxes, &dets, info->num_labels, frames, &params, &res) < 0) {
		fprintf(stderr, "vigil eval: out of memory computing the metrics\n");
		goto out;
	}
	if (o.json) {
		json_t *root = json_object(), *labs = json_object(), *lat_o = json_object();
		char *text;

		json_object_set_new(root, "model", json_string(info->name));
		json_object_set_new(root, "input", json_string(o.input));
		json_object_set_new(root, "gt", json_string(o.gt));
		json_object_set_new(root, "format", json_string(o.format));
		json_object_set_new(root, "frames", json_integer(frames));
		json_object_set_new(root, "inferences", json_integer(inferences));
		json_object_set_new(root, "interrupted", json_boolean(interrupted));
		json_object_set_new(root, "inference_interval", json_integer(o.interval));
		json_object_set_new(root, "tracking_enabled", json_boolean(o.track));
		json_object_set_new(root, "iou", json_real(o.iou));
		json_object_set_new(root, "min_size", json_real(o.min_size));
		for (int l = 0; l < res.n_labels; l++) {
			const struct ev_label_result *L = &res.labels[l];
			const char *lname = vigil_model_label(model, l);
			json_t *lo, *curve_r, *curve_p, *ap_at;

			if (!lname || !label_selected(&ctx, lname))
				continue;
			curve_r = json_array();
			curve_p = json_array();
			ap_at = json_array();
			for (int j = 0; j < EV_PR_POINTS; j++) {
				json_array_append_new(curve_r, json_real((double)j / (EV_PR_POINTS - 1)));
				json_array_append_new(curve_p, num_or_null(L->pr_precision[j]));
			}
			for (int t = 0; t < EV_IOU_STEPS; t++)
				json_array_append_new(ap_at, num_or_null(L->ap_at[t]));
			lo = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:o, s:o}}", "ap50",
				       num_or_null(L->ap50), "ap", num_or_null(L->ap), "precision",
				       num_or_null(L->precision), "recall", num_or_null(L->recall), "tp",
				       (json_int_t)L->tp, "fp", (json_int_t)L->fp, "fn", (json_int_t)L->fn, "num_gt",
				       (json_int_t)L->num_gt, "num_det", (json_int_t)L->num_det, "ap_at_iou", ap_at,
				       "pr_curve", "recall", curve_r, "precision", curve_p);
			if (L->has_tracking)
				json_object_set_new(lo, "tracking", tracking_json(&L->tracking));
			json_object_set_new(labs, lname, lo);
		}
		json_object_set_new(root, "labels", labs);
		json_object_set_new(root, "fp_per_frame", json_real(res.fp_per_frame));
		json_object_set_new(root, "tracking", res.has_tracking ? tracking_json(&res.tracking) : json_null());
		for (int s = 0; s < N_STAGES; s++)
			json_object_set_new(lat_o, stage_names[s], stage_json(&lat[s]));
		json_object_set_new(root, "latency_ms", lat_o);
		json_object_set_new(root, "throughput",
				    json_pack("{s:f, s:f, s:f}", "wall_s", wall_ms / 1000.0, "frames_per_s",
					      frames / fmax(wall_ms / 1000.0, 1e-9), "inferences_per_s",
					      inferences / fmax(wall_ms / 1000.0, 1e-9)));
		text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
		json_decref(root);
		if (!text) {
			fprintf(stderr, "vigil eval: out of memory formatting the report\n");
			goto out;
		}
		puts(text);
		free(text);
	} else {
		printf("model %s, %d frames (%d inferences, interval %ld)%s, IoU %.2f%s\n", info->name, frames,
		       inferences, o.interval, o.track ? ", tracked" : "", (double)o.iou,
		       interrupted ? ", INTERRUPTED" : "");
		printf("%-14s %7s %7s %7s %7s %7s %7s %7s\n", "label", "gt", "tp", "fp", "fn", "prec", "recall",
		       "AP50");
		for (int l = 0; l < res.n_labels; l++) {
			const struct ev_label_result *L = &res.labels[l];
			const char *lname = vigil_model_label(model, l);

			if (!lname || !label_selected(&ctx, lname) || (!L->num_gt && !L->num_det))
				continue;
			printf("%-14s %7ld %7ld %7ld %7ld %7.3f %7.3f %7.3f   AP@[.5:.95] %.3f\n", lname, L->num_gt,
			       L->tp, L->fp, L->fn, L->precision, L->recall, L->ap50, L->ap);
		}
		printf("false positives per frame: %.3f\n", res.fp_per_frame);
		if (res.has_tracking)
			printf("tracking: MOTA %.3f  MOTP %.3f  IDF1 %.3f  ID switches %ld  fragmentations %ld  "
			       "(FP %ld, FN %ld, GT %ld)\n",
			       res.tracking.mota, res.tracking.motp, res.tracking.idf1, res.tracking.id_switches,
			       res.tracking.fragmentations, res.tracking.fp, res.tracking.fn, res.tracking.num_gt);
		else if (o.track)
			printf("tracking: the ground truth has no ids, no tracking metrics\n");
		printf("latency ms    %8s %8s %8s\n", "p50", "p90", "p99");
		for (int s = 0; s < N_STAGES; s++) {
			if (!lat[s].n)
				continue;
			qsort(lat[s].v, lat[s].n, sizeof(double), cmp_double);
			printf("  %-11s %8.3f %8.3f %8.3f\n", stage_names[s], percentile(lat[s].v, lat[s].n, 50),
			       percentile(lat[s].v, lat[s].n, 90), percentile(lat[s].v, lat[s].n, 99));
		}
		printf("throughput: %.1f frames/s (%.1f inferences/s)\n", frames / fmax(wall_ms / 1000.0, 1e-9),
		       inferences / fmax(wall_ms / 1000.0, 1e-9));
	}
	fflush(stdout);
	status = VIGIL_EXIT_OK;
out:
	if (sig_installed)
		sigaction(SIGINT, &old_sa, NULL);
	if (dump && fclose(dump) != 0 && status == VIGIL_EXIT_OK) {
		fprintf(stderr, "vigil eval: cannot write %s: %s\n", o.dump, strerror(errno));
		status = VIGIL_EXIT_FAIL;
	}
	if (src_open)
		source_close(&src);
	ev_result_free(&res);
	for (int s = 0; s < N_STAGES; s++)
		free(lat[s].v);
	free(gt_frame_map);
	free(held);
	ev_boxes_free(&dets);
	ev_boxes_free(&replay);
	ev_gt_free(&gt);
	vigil_tracker_destroy(trk);
	vigil_detector_destroy(det);
	vigil_model_close(model);
	return status;
}
