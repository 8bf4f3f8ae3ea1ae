/* SPDX-License-Identifier: Apache-2.0
 * `vigil bench`: times the detector on a synthetic 1920x1080 NV12 frame, the format most cameras deliver, and
 * reports per-stage and whole-call latency. The frame is a fixed pattern, so runs on different machines time
 * the same work. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "kernels.h"
#include "vigil/vigil.h"

#define BENCH_WIDTH 1920
#define BENCH_HEIGHT 1080
#define DEFAULT_ITERATIONS 100
#define DEFAULT_WARMUP 10
#define MAX_ITERATIONS 1000000

static const char bench_usage[] =
    "Usage: vigil bench [OPTIONS]\n"
    "\n"
    "Times the detector on a synthetic 1920x1080 NV12 frame: warm-up calls, then timed calls. Reports the\n"
    "median, 99th percentile and minimum in milliseconds of each stage (preprocess, inference, postprocess,\n"
    "as measured by the library) and of the whole vigil_detector_detect() call (frame).\n"
    "\n"
    "Options:\n"
    "  -m, --model NAME|PATH  built-in model name or .tflite file [default: face-full]\n"
    "  -n, --iterations K     timed calls, 1..1000000 [default: 100]\n"
    "  -w, --warmup W         untimed calls first, 0..1000000 [default: 10]\n"
    "  -b, --backend B        auto, cpu or opencl [default: auto]; the backend that ran is printed\n"
    "      --device D         OpenCL device: P:D indices or a name substring [default: $VIGIL_CL_DEVICE]\n"
    "  -T, --threads N        inference threads, 1..64 [default: 1]\n"
    "  -j, --json             print one JSON object: {\"model\", \"backend\", \"threads\", \"iterations\",\n"
    "                         \"median_ms\", \"p99_ms\", \"min_ms\" (inference), \"kernels\" (the CPU kernel set:\n"
    "                         avx512, avx2, neon or c), \"stages\": {\"preprocess\", \"inference\",\n"
    "                         \"postprocess\", \"frame\": {\"median_ms\", \"p99_ms\", \"min_ms\"}}}\n"
    "  -h, --help             show this help\n"
    "\n"
    "VIGIL_FORCE_C=1 times the reference C kernels; VIGIL_CPU_DISABLE=avx512 (or avx2) a lesser kernel set.\n";

struct stats {
	double median, p99, min;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @p v in place. The p99 is the nearest-rank value: with fewer than 100 samples it is the maximum. */
static struct stats summarize(double *v, size_t n)
{
	struct stats s;
	size_t rank = (size_t)((99 * n + 99) / 100); /* ceil(0.99 n), 1-based */

	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.p99 = v[(rank ? rank : 1) - 1];
	return s;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* A deterministic scene: a lit gradient background with a few bright and dark discs, and smoothly varying
 * chroma. Not a face, but real work for every stage (no constant regions for caches or branches to exploit). */
static void fill_nv12(uint8_t *y_plane, uint8_t *uv_plane, int w, int h)
{
	static const struct {
		int cx, cy, r, luma;
	} discs[] = { { 480, 400, 160, 200 }, { 1300, 500, 220, 60 }, { 900, 850, 120, 235 } };

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int v = 40 + (x * 120) / w + (y * 60) / h + ((x ^ y) & 7);

			for (size_t i = 0; i < sizeof(discs) / sizeof(discs[0]); i++) {
				int dx = x - discs[i].cx, dy = y - discs[i].cy;

				if (dx * dx + dy * dy < discs[i].r * discs[i].r)
					v = discs[i].luma + ((x + y) & 3);
			}
			y_plane[(size_t)y * w + x] = (uint8_t)(v > 255 ? 255 : v);
		}
	for (int y = 0; y < (h + 1) / 2; y++)
		for (int x = 0; x < (w + 1) / 2; x++) {
			uv_plane[(size_t)y * w + 2 * x] = (uint8_t)(96 + (x * 64) / w);
			uv_plane[(size_t)y * w + 2 * x + 1] = (uint8_t)(160 - (y * 64) / h);
		}
}

static json_t *stage_json(struct stats s)
{
	return json_pack("{s:f, s:f, s:f}", "median_ms", s.median, "p99_ms", s.p99, "min_ms", s.min);
}

static int print_json(const struct vigil_model_info *info, const struct vigil_backend_info *b, int threads,
		      long iterations, long warmup, const struct stats st[4])
{
	json_t *root;
	char *text;

	root =
	    json_pack("{s:s, s:s, s:i, s:I, s:I, s:i, s:i, s:s, s:f, s:f, s:f, s:s, s:{s:o, s:o, s:o, s:o}}", "model",
		      info->name, "backend", vigil_backend_name(b->backend), "threads", threads, "iterations",
		      (json_int_t)iterations, "warmup", (json_int_t)warmup, "width", BENCH_WIDTH, "height",
		      BENCH_HEIGHT, "format", "NV12", "median_ms", st[1].median, "p99_ms", st[1].p99, "min_ms",
		      st[1].min, "kernels", vigil_cpu_kernels()->isa, "stages", "preprocess", stage_json(st[0]),
		      "inference", stage_json(st[1]), "postprocess", stage_json(st[2]), "frame", stage_json(st[3]));
	if (!root)
		return -1;
	if (b->backend == VIGIL_BACKEND_OPENCL)
		json_object_set_new(root, "opencl",
				    json_pack("{s:s, s:f, s:i, s:I, s:I}", "device", b->device, "warmup_ms",
					      b->warmup_ms, "launches_per_inference", b->launches_per_inference,
					      "read_bytes_per_frame", (json_int_t)b->read_bytes_per_frame,
					      "upload_bytes_per_frame", (json_int_t)b->upload_bytes_per_frame));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

static void print_text(const struct vigil_model_info *info, const struct vigil_backend_info *b, int threads,
		       long iterations, long warmup, const struct stats st[4])
{
	static const char *const names[4] = { "preprocess", "inference", "postprocess", "frame" };

	printf("model %s (%dx%d input, %d anchors), backend %s (%s kernels on the CPU), %d thread%s\n", info->name,
	       info->input_width, info->input_height, info->num_anchors, vigil_backend_name(b->backend),
	       vigil_cpu_kernels()->isa, threads, threads > 1 ? "s" : "");
	if (b->backend == VIGIL_BACKEND_OPENCL)
		printf("OpenCL %s: warm-up %.1f ms, %d kernel launches per frame, %ld bytes read back and %ld bytes\n"
		       "uploaded per frame (float models are preprocessed on the device, that time is in 'inference';\n"
		       "quantized ones on the host, then the input tensor is uploaded)\n",
		       b->device, b->warmup_ms, b->launches_per_inference, b->read_bytes_per_frame,
		       b->upload_bytes_per_frame);
	printf("%dx%d NV12 frame, %ld timed calls after %ld warm-up calls\n\n", BENCH_WIDTH, BENCH_HEIGHT, iterations,
	       warmup);
	printf("%-12s %10s %10s %10s\n", "stage (ms)", "median", "p99", "min");
	for (int i = 0; i < 4; i++)
		printf("%-12s %10.3f %10.3f %10.3f\n", names[i], st[i].median, st[i].p99, st[i].min);
}

int vigil_cli_bench(int argc, char **argv)
{
	static const struct option options[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'D' },
		{ "threads", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	enum vigil_backend backend = VIGIL_BACKEND_AUTO;
	struct vigil_backend_info binfo;
	const char *device = NULL;
	const char *model_arg = NULL;
	long iterations = DEFAULT_ITERATIONS, warmup = DEFAULT_WARMUP, threads = 1;
	int json = 0, opt, ret = VIGIL_EXIT_FAIL;
	struct vigil_model *model = NULL;
	struct vigil_detector *det = NULL;
	struct vigil_detector_config cfg;
	struct vigil_frame frame;
	const struct vigil_detections *dets;
	uint8_t *pixels = NULL;
	double *samples = NULL;
	struct stats st[4];
	long size;

	while ((opt = getopt_long(argc, argv, "m:n:w:b:T:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (vigil_cli_parse_backend(optarg, &backend) < 0) {
				fprintf(stderr, "vigil bench: --backend must be 'auto', 'cpu' or 'opencl', got '%s'\n",
					optarg);
				goto usage;
			}
			break;
		case 'D':
			device = optarg;
			break;
		case 'T':
			if (vigil_cli_parse_int(optarg, 1, VIGIL_MAX_THREADS, &threads) < 0) {
				fprintf(stderr, "vigil bench: --threads must be 1..%d, got '%s'\n", VIGIL_MAX_THREADS,
					optarg);
				goto usage;
			}
			break;
		case 'm':
			model_arg = optarg;
			break;
		case 'n':
			if (vigil_cli_parse_int(optarg, 1, MAX_ITERATIONS, &iterations) < 0) {
				fprintf(stderr, "vigil bench: --iterations must be 1..%d, got '%s'\n", MAX_ITERATIONS,
					optarg);
				goto usage;
			}
			break;
		case 'w':
			if (vigil_cli_parse_int(optarg, 0, MAX_ITERATIONS, &warmup) < 0) {
				fprintf(stderr, "vigil bench: --warmup must be 0..%d, got '%s'\n", MAX_ITERATIONS,
					optarg);
				goto usage;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return VIGIL_EXIT_OK;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil bench: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}

	size = vigil_frame_init_packed(&frame, VIGIL_FORMAT_NV12, BENCH_WIDTH, BENCH_HEIGHT, NULL);
	if (size < 0) {
		fprintf(stderr, "vigil bench: cannot describe the NV12 frame: %s\n", vigil_last_error());
		return VIGIL_EXIT_FAIL;
	}
	pixels = malloc((size_t)size);
	samples = malloc(sizeof(*samples) * 4 * (size_t)iterations);
	if (!pixels || !samples) {
		fputs("vigil bench: out of memory\n", stderr);
		goto free_buffers;
	}
	vigil_frame_init_packed(&frame, VIGIL_FORMAT_NV12, BENCH_WIDTH, BENCH_HEIGHT, pixels);
	fill_nv12(pixels, pixels + (size_t)BENCH_WIDTH * BENCH_HEIGHT, BENCH_WIDTH, BENCH_HEIGHT);
	frame.pts_ns = -1;

	if (!model_arg)
		model_arg = vigil_default_model();
	if (vigil_model_open(model_arg, &model) < 0) {
		if (strstr(vigil_last_error(), model_arg))
			fprintf(stderr, "vigil bench: %s\n", vigil_last_error());
		else
			fprintf(stderr, "vigil bench: cannot open model '%s': %s\n", model_arg, vigil_last_error());
		goto free_buffers;
	}
	vigil_detector_config_init(&cfg);
	cfg.backend = backend;
	cfg.device = device;
	cfg.threads = (int)threads;
	if (vigil_detector_create(model, &cfg, &det) < 0) {
		fprintf(stderr, "vigil bench: cannot create a detector: %s\n", vigil_last_error());
		goto close_model;
	}

	for (long i = 0; i < warmup + iterations; i++) {
		double t0 = now_ms(), t1;

		if (vigil_detector_detect(det, &frame, &dets) < 0) {
			fprintf(stderr, "vigil bench: detection failed: %s\n", vigil_last_error());
			goto destroy_detector;
		}
		t1 = now_ms();
		if (i >= warmup) {
			size_t k = (size_t)(i - warmup);

			samples[k] = dets->timing.preprocess_ms;
			samples[iterations + k] = dets->timing.inference_ms;
			samples[2 * iterations + k] = dets->timing.postprocess_ms;
			samples[3 * iterations + k] = t1 - t0;
		}
	}
	for (int s = 0; s < 4; s++)
		st[s] = summarize(samples + (size_t)s * iterations, (size_t)iterations);

	vigil_detector_backend_info(det, &binfo);
	if (json) {
		if (print_json(vigil_model_get_info(model), &binfo, (int)threads, iterations, warmup, st) < 0) {
			fputs("vigil bench: out of memory formatting JSON\n", stderr);
			goto destroy_detector;
		}
	} else {
		print_text(vigil_model_get_info(model), &binfo, (int)threads, iterations, warmup, st);
	}
	ret = VIGIL_EXIT_OK;

destroy_detector:
	vigil_detector_destroy(det);
close_model:
	vigil_model_close(model);
free_buffers:
	free(samples);
	free(pixels);
	return ret;

usage:
	fputs("Try 'vigil bench --help'.\n", stderr);
	return VIGIL_EXIT_USAGE;
}
