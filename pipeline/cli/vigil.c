/* SPDX-License-Identifier: Apache-2.0
 * `vigil`: face detection on still images, the built-in model list and a benchmark, from the command line.
 * Images are decoded by image_io (JPEG, PNG) into RGB frames and run through the public libvigil API, so this
 * file is also the reference for how an application drives the library. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "draw.h"
#include "image_io.h"
#include "vigil/vigil.h"

/* Annotated images are for people to look at: 90 keeps the tags crisp at a third of the size of 100. */
#define DRAW_JPEG_QUALITY 90

static const char main_usage[] = "Usage: vigil [--help] [--version] COMMAND [ARGS...]\n"
				 "\n"
				 "Face detection on JPEG and PNG images with libvigil.\n"
				 "\n"
				 "Commands:\n"
				 "  detect   detect faces in images (text summary, JSON records, annotated copies)\n"
				 "  models   list the built-in models\n"
				 "  bench    time the detector on a synthetic 1920x1080 NV12 frame\n"
				 "  run      detect faces on a V4L2 camera's frames (JSON lines, stats on stderr)\n"
				 "  help     show the help of a command\n"
				 "\n"
				 "Options:\n"
				 "  -h, --help     show this help\n"
				 "  -V, --version  print the library version\n"
				 "\n"
				 "Run 'vigil COMMAND --help' for the options of a command.\n"
				 "Exit status: 0 success, 1 a model or image failed, 2 bad command line.\n";

static const char detect_usage[] =
    "Usage: vigil detect [OPTIONS] IMAGE...\n"
    "\n"
    "Detects faces in each JPEG or PNG image. A failing image is reported on stderr and the others are still\n"
    "processed.\n"
    "\n"
    "Options:\n"
    "  -m, --model NAME|PATH  built-in model name (see 'vigil models') or .tflite file [default: face-full]\n"
    "  -t, --threshold T      minimum score, 0..1 [default: the model's]\n"
    "  -l, --labels SPEC      keep only these labels, each with an optional minimum score replacing\n"
    "                         --threshold: 'person,car' or 'person=0.6,car=0.4' (names from the model:\n"
    "                         'face', or the COCO names of coco-ssd) [default: every label]\n"
    "  -s, --sampling MODE    resampling to the model input: 'center' (MediaPipe's GPU path, pixel\n"
    "                         centres) or 'corner' (MediaPipe's CPU path, OpenCV) [default: center]\n"
    "  -j, --json             print one detection record (JSON) per image and line instead of a summary;\n"
    "                         \"frame\" is the image's 0-based position on the command line\n"
    "  -T, --threads N        inference threads, 1..64 [default: 1]\n"
    "  -d, --draw OUT         write annotated JPEG copies: with one IMAGE, OUT is the file to write (or an\n"
    "                         existing directory); with several, OUT must be an existing directory and each\n"
    "                         copy is OUT/<image name without extension>.jpg\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 all images processed, 1 the model or any image failed, 2 bad command line.\n";

static const char models_usage[] =
    "Usage: vigil models\n"
    "\n"
    "Lists the models compiled into libvigil with their input size and anchor count; the default is marked.\n"
    "\n"
    "Options:\n"
    "  -h, --help  show this help\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "vigil%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vigil%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
	return VIGIL_EXIT_USAGE;
}

int vigil_cli_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_threshold(const char *s, float *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0.0 || v > 1.0)
		return -1;
	*out = (float)v;
	return 0;
}

static int is_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* OUT/<basename without extension>.jpg; returns a malloc'd path or NULL. */
static char *output_in_dir(const char *dir, const char *image)
{
	const char *base = strrchr(image, '/');
	const char *dot;
	size_t stem, n;
	char *path;

	base = base ? base + 1 : image;
	dot = strrchr(base, '.');
	stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	n = strlen(dir) + 1 + stem + sizeof(".jpg");
	path = malloc(n);
	if (path)
		snprintf(path, n, "%s/%.*s.jpg", dir, (int)stem, base);
	return path;
}

/* Reports a failure for @p path on stderr, naming the file once even when the library message already does. */
static void report_failure(const char *path, const char *what)
{
	const char *msg = vigil_last_error();

	if (strstr(msg, path))
		fprintf(stderr, "vigil detect: %s%s\n", what, msg);
	else
		fprintf(stderr, "vigil detect: %s: %s%s\n", path, what, msg[0] ? msg : "failed");
}

static void print_summary(const char *path, const struct vigil_image *img, const struct vigil_detections *dets,
			  const char *noun)
{
	printf("%s: %dx%d, %zu %s%s (preprocess %.2f ms, inference %.2f ms, postprocess %.2f ms)\n", path, img->width,
	       img->height, dets->count, noun, dets->count == 1 ? "" : "s", dets->timing.preprocess_ms,
	       dets->timing.inference_ms, dets->timing.postprocess_ms);
	for (size_t i = 0; i < dets->count; i++) {
		const struct vigil_detection *d = &dets->items[i];

		printf("  %-6s %.3f  box x=%.1f y=%.1f w=%.1f h=%.1f\n", d->label ? d->label : "?", (double)d->score,
		       (double)d->x, (double)d->y, (double)d->w, (double)d->h);
	}
}

/* Runs one image through the detector; returns 0 or -1 after reporting the failure. */
static int detect_one(struct vigil_detector *det, const char *model_name, const char *path, int index, int json,
		      const char *draw_path)
{
	struct vigil_image img;
	struct vigil_frame frame;
	const struct vigil_detections *dets;
	int ret = -1;

	if (vigil_image_load(path, &img) < 0) {
		report_failure(path, "");
		return -1;
	}
	memset(&frame, 0, sizeof(frame));
	frame.format = VIGIL_FORMAT_RGB;
	frame.width = img.width;
	frame.height = img.height;
	frame.planes[0] = img.rgb;
	frame.strides[0] = img.stride;
	frame.colorimetry = VIGIL_COLOR_BT601_FULL;
	frame.pts_ns = -1;
	if (vigil_detector_detect(det, &frame, &dets) < 0) {
		report_failure(path, "detection failed: ");
		goto free_image;
	}

	if (json) {
		char *record = vigil_detections_to_json(dets, path, index, model_name);

		if (!record) {
			fprintf(stderr, "vigil detect: %s: out of memory formatting the record\n", path);
			goto free_image;
		}
		puts(record);
		vigil_free(record);
	} else {
		/* face models give keypoints; object detectors (coco-ssd) do not */
		print_summary(path, &img, dets,
			      vigil_model_get_info(vigil_detector_model(det))->num_keypoints ? "face" : "object");
	}
	fflush(stdout);

	if (draw_path) {
		vigil_draw_detections(&img, dets);
		if (vigil_image_write_jpeg(draw_path, &img, DRAW_JPEG_QUALITY) < 0) {
			report_failure(path, "cannot write the annotated copy: ");
			goto free_image;
		}
	}
	ret = 0;

free_image:
	vigil_image_free(&img);
	return ret;
}

static int cmd_detect(int argc, char **argv)
{
	static const struct option options[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threshold", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "draw", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "sampling", required_argument, NULL, 's' },
		{ "labels", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model_arg = NULL, *draw = NULL, *labels = NULL;
	long threads = 1;
	enum vigil_sampling sampling = VIGIL_SAMPLING_PIXEL_CENTER;
	struct vigil_detector_config cfg;
	struct vigil_model *model = NULL;
	struct vigil_detector *det = NULL;
	char **outputs = NULL;
	int json = 0, nimages, failed = 0, draw_into_dir, ret, opt;
	float threshold = -1.0f;

	while ((opt = getopt_long(argc, argv, "m:t:s:jd:T:hl:", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			labels = optarg;
			break;
		case 'm':
			model_arg = optarg;
			break;
		case 'T':
			if (vigil_cli_parse_int(optarg, 1, VIGIL_MAX_THREADS, &threads) < 0)
				return usage_error("detect", "--threads must be 1..64, got '%s'", optarg);
			break;
		case 's':
			if (strcmp(optarg, "center") == 0)
				sampling = VIGIL_SAMPLING_PIXEL_CENTER;
			else if (strcmp(optarg, "corner") == 0)
				sampling = VIGIL_SAMPLING_CORNER;
			else
				return usage_error("detect", "--sampling must be 'center' or 'corner', got '%s'",
						   optarg);
			break;
		case 't':
			if (parse_threshold(optarg, &threshold) < 0)
				return usage_error("detect", "--threshold must be a number from 0 to 1, got '%s'",
						   optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'd':
			draw = optarg;
			break;
		case 'h':
			fputs(detect_usage, stdout);
			return VIGIL_EXIT_OK;
		default:
			fputs("Try 'vigil detect --help'.\n", stderr);
			return VIGIL_EXIT_USAGE;
		}
	}
	nimages = argc - optind;
	if (nimages <= 0)
		return usage_error("detect", "%s", "no images given");
	if (draw && !*draw)
		return usage_error("detect", "%s", "--draw needs a file or directory name");
	draw_into_dir = draw && (nimages > 1 || is_directory(draw));
	if (draw && nimages > 1 && !is_directory(draw))
		return usage_error("detect", "with several images, --draw needs an existing directory; '%s' is not one",
				   draw);

	/* Plan every output name before any work, so that two inputs that would overwrite each other's copy
	 * (a/x.jpg and b/x.png) are a usage error instead of a silent loss. */
	if (draw_into_dir) {
		outputs = calloc((size_t)nimages, sizeof(*outputs));
		if (!outputs) {
			fputs("vigil detect: out of memory\n", stderr);
			return VIGIL_EXIT_FAIL;
		}
		ret = VIGIL_EXIT_OK;
		for (int i = 0; i < nimages && ret == VIGIL_EXIT_OK; i++) {
			outputs[i] = output_in_dir(draw, argv[optind + i]);
			if (!outputs[i]) {
				fputs("vigil detect: out of memory\n", stderr);
				ret = VIGIL_EXIT_FAIL;
				break;
			}
			for (int j = 0; j < i; j++)
				if (strcmp(outputs[i], outputs[j]) == 0) {
					fprintf(stderr,
						"vigil detect: '%s' and '%s' would both be drawn to '%s'\n"
						"Try 'vigil detect --help'.\n",
						argv[optind + j], argv[optind + i], outputs[i]);
					ret = VIGIL_EXIT_USAGE;
					break;
				}
		}
		if (ret != VIGIL_EXIT_OK)
			goto free_outputs;
	}

	if (!model_arg)
		model_arg = vigil_default_model();
	if (vigil_model_open(model_arg, &model) < 0) {
		if (strstr(vigil_last_error(), model_arg))
			fprintf(stderr, "vigil detect: %s\n", vigil_last_error());
		else
			fprintf(stderr, "vigil detect: cannot open model '%s': %s\n", model_arg, vigil_last_error());
		ret = VIGIL_EXIT_FAIL;
		goto free_outputs;
	}
	vigil_detector_config_init(&cfg);
	cfg.threshold = threshold;
	cfg.sampling = sampling;
	cfg.threads = (int)threads;
	if (vigil_detector_create(model, &cfg, &det) < 0) {
		fprintf(stderr, "vigil detect: cannot create a detector for '%s': %s\n", model_arg, vigil_last_error());
		ret = VIGIL_EXIT_FAIL;
		goto close_model;
	}

	if (labels && vigil_detector_set_label_filter(det, labels) < 0) {
		fprintf(stderr, "vigil detect: --labels: %s\n", vigil_last_error());
		ret = VIGIL_EXIT_USAGE;
		goto destroy_detector;
	}
	for (int i = 0; i < nimages; i++) {
		const char *out = draw_into_dir ? outputs[i] : draw;

		if (detect_one(det, vigil_model_get_info(model)->name, argv[optind + i], i, json, out) < 0)
			failed++;
	}
	if (failed && nimages > 1)
		fprintf(stderr, "vigil detect: %d of %d images failed\n", failed, nimages);
	ret = failed ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;

destroy_detector:
	vigil_detector_destroy(det);
close_model:
	vigil_model_close(model);
free_outputs:
	if (outputs)
		for (int i = 0; i < nimages; i++)
			free(outputs[i]);
	free(outputs);
	return ret;
}

static int cmd_models(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vigil_builtin_model *b;
	int opt, ret = VIGIL_EXIT_OK;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(models_usage, stdout);
			return VIGIL_EXIT_OK;
		}
		fputs("Try 'vigil models --help'.\n", stderr);
		return VIGIL_EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error("models", "unexpected argument '%s'", argv[optind]);

	printf("%-12s %-9s %-9s %-8s %s\n", "NAME", "DEFAULT", "INPUT", "ANCHORS", "DESCRIPTION");
	for (size_t i = 0; (b = vigil_builtin_model(i)) != NULL; i++) {
		struct vigil_model *model;
		const struct vigil_model_info *info;
		char input[32];

		/* Opening validates the embedded model too: a model that would fail later fails here. */
		if (vigil_model_open(b->name, &model) < 0) {
			fprintf(stderr, "vigil models: cannot open built-in model '%s': %s\n", b->name,
				vigil_last_error());
			ret = VIGIL_EXIT_FAIL;
			continue;
		}
		info = vigil_model_get_info(model);
		snprintf(input, sizeof(input), "%dx%d", info->input_width, info->input_height);
		printf("%-12s %-9s %-9s %-8d %s\n", b->name, b->is_default ? "(default)" : "", input, info->num_anchors,
		       b->description);
		vigil_model_close(model);
	}
	return ret;
}

/* getopt prints errors with argv[0]: name the subcommand there. */
static char detect_name[] = "vigil detect";
static char models_name[] = "vigil models";
static char bench_name[] = "vigil bench";
static char run_name[] = "vigil run";

static const struct {
	const char *name;
	char *argv0;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "detect", detect_name, cmd_detect },
	{ "models", models_name, cmd_models },
	{ "bench", bench_name, vigil_cli_bench },
	{ "run", run_name, vigil_cli_run },
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int opt;

	/* '+': stop at the subcommand, whose options are its own */
	while ((opt = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(main_usage, stdout);
			return VIGIL_EXIT_OK;
		case 'V':
			printf("vigil %s\n", vigil_version());
			return VIGIL_EXIT_OK;
		default:
			fputs("Try 'vigil --help'.\n", stderr);
			return VIGIL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		return VIGIL_EXIT_USAGE;
	}
	cmd = argv[optind];

	if (strcmp(cmd, "help") == 0) {
		const char *topic = optind + 1 < argc ? argv[optind + 1] : NULL;

		if (!topic) {
			fputs(main_usage, stdout);
			return VIGIL_EXIT_OK;
		}
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(topic, commands[i].name) == 0) {
				char help[] = "--help";
				char *sub_argv[] = { commands[i].argv0, help, NULL };

				optind = 0;
				return commands[i].run(2, sub_argv);
			}
		return usage_error(NULL, "no such command '%s'", topic);
	}

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		argv[optind] = commands[i].argv0;
		/* optind = 0 makes glibc's getopt start over on the subcommand's arguments */
		argc -= optind;
		argv += optind;
		optind = 0;
		return commands[i].run(argc, argv);
	}
	return usage_error(NULL, "unknown command '%s'", cmd);
}
