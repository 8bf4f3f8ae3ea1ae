/* SPDX-License-Identifier: Apache-2.0
 * `vigil run`: camera → detector → one detection record (JSON line) per frame on stdout, and once a second a
 * stats line on stderr (fps, per-stage latency p50/p99, dropped frames). Frames go from the driver's buffer to
 * the detector without a copy (pipeline/capture.c). A video file is decoded with GStreamer (video_source.c) and
 * runs the same loop; a still image (JPEG/PNG) is a one-frame source. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image_io.h"
#include "video_source.h"
#include "vigil/capture.h"
#include "vigil/vigil.h"

#define MAX_SAMPLES 4096 /* per stats period; beyond that a period keeps its first samples */

static const char run_usage[] =
    "Usage: vigil run [OPTIONS] [DEVICE|FILE]\n"
    "\n"
    "Captures from a V4L2 camera (default: the first one) and runs the detector on every frame. Prints one\n"
    "detection record (JSON) per frame on stdout and, every second, a stats line on stderr: frames per second,\n"
    "per-stage latency p50/p99 in ms (wait for the frame, preprocess, inference, postprocess) and dropped\n"
    "frames. A FILE is a video (any container and codec GStreamer decodes; frames are numbered from 0, pts_ns\n"
    "comes from the decoder, the run stops at the end of the stream) or a still image (JPEG or PNG, run as a\n"
    "one-frame source that --frames repeats).\n"
    "\n"
    "Options:\n"
    "  -m, --model NAME|PATH   built-in model name or .tflite file [default: face-full]\n"
    "  -d, --duration S        stop after S seconds [default: until interrupted]\n"
    "  -n, --frames N          stop after N frames\n"
    "  -f, --format FOURCC     capture format (NV12, NM12, YUYV, ...) [default: the best offered]\n"
    "  -s, --size WxH          capture size [default: 640x480]\n"
    "  -r, --fps N             capture frame rate [default: the fastest offered]\n"
    "  -q, --quiet             no stats lines\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 success, 1 no camera, a lost camera, a file that does not decode or a failed model, 2 bad\n"
    "command line.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { STAGE_WAIT, STAGE_PRE, STAGE_INF, STAGE_POST, STAGE_COUNT };
static const char *const stage_names[STAGE_COUNT] = { "wait", "preprocess", "inference", "postprocess" };

struct period {
	double samples[STAGE_COUNT][MAX_SAMPLES];
	int n;
	int frames;
	double start;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void print_stats(struct period *p, double now, const struct vigil_capture_stats *cs)
{
	char line[512];
	int len = snprintf(line, sizeof(line), "vigil run: %.1f fps", p->frames / (now - p->start));
	for (int s = 0; s < STAGE_COUNT && p->n > 0; s++) {
		qsort(p->samples[s], (size_t)p->n, sizeof(double), cmp_double);
		size_t rank = (size_t)((99 * p->n + 99) / 100);
		len += snprintf(line + len, sizeof(line) - (size_t)len, ", %s %.2f/%.2f", stage_names[s],
				p->samples[s][p->n / 2], p->samples[s][rank - 1]);
	}
	snprintf(line + len, sizeof(line) - (size_t)len,
		 " ms p50/p99, dropped %llu, corrupt %llu, copied %llu, stalls %llu", (unsigned long long)cs->dropped,
		 (unsigned long long)cs->corrupt, (unsigned long long)cs->copied, (unsigned long long)cs->stalls);
	fprintf(stderr, "%s\n", line);
	p->n = 0;
	p->frames = 0;
	p->start = now;
}

static int parse_fourcc(const char *s, uint32_t *out)
{
	if (strlen(s) != 4)
		return -1;
	*out = VIGIL_FOURCC(s[0], s[1], s[2], s[3]);
	return 0;
}

/* JPEG or PNG by signature (anything else that is not a device is tried as a video) */
static int is_still_image(const char *path)
{
	unsigned char sig[8] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, sig, sizeof(sig));
	close(fd);
	if (n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff)
		return 1;
	return n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
}

static int emit(struct vigil_detector *det, const struct vigil_frame *frame, const char *source, int64_t index,
		const char *model_name)
{
	const struct vigil_detections *out;
	int r = vigil_detector_detect(det, frame, &out);
	if (r < 0) {
		fprintf(stderr, "vigil run: frame %lld: %s\n", (long long)index, vigil_last_error());
		return r;
	}
	char *json = vigil_detections_to_json(out, source, index, model_name);
	if (!json)
		return -ENOMEM;
	puts(json);
	fflush(stdout);
	vigil_free(json);
	return 0;
}

int vigil_cli_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "frames", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "fps", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model_arg = vigil_default_model();
	long duration = 0, frames = 0, fps = 0;
	int quiet = 0, width = 0, height = 0, opt;
	uint32_t fourcc = 0;
	while ((opt = getopt_long(argc, argv, "m:d:n:f:s:r:qh", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			model_arg = optarg;
			break;
		case 'd':
			if (vigil_cli_parse_int(optarg, 1, 100000000, &duration) < 0) {
				fprintf(stderr, "vigil run: --duration must be a whole number of seconds, got '%s'\n",
					optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'n':
			if (vigil_cli_parse_int(optarg, 1, 1000000000, &frames) < 0) {
				fprintf(stderr, "vigil run: --frames must be a positive whole number, got '%s'\n",
					optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'f':
			if (parse_fourcc(optarg, &fourcc) < 0) {
				fprintf(stderr, "vigil run: --format must be a four-character code, got '%s'\n",
					optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 's':
			if (sscanf(optarg, "%dx%d", &width, &height) != 2 || width < 1 || height < 1 ||
			    width > VIGIL_MAX_FRAME_SIDE || height > VIGIL_MAX_FRAME_SIDE) {
				fprintf(stderr, "vigil run: --size must be WIDTHxHEIGHT, got '%s'\n", optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'r':
			if (vigil_cli_parse_int(optarg, 1, 1000, &fps) < 0) {
				fprintf(stderr, "vigil run: --fps must be 1..1000, got '%s'\n", optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return VIGIL_EXIT_OK;
		default:
			fputs("Try 'vigil run --help'.\n", stderr);
			return VIGIL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "vigil run: one source expected, got %d\nTry 'vigil run --help'.\n", argc - optind);
		return VIGIL_EXIT_USAGE;
	}
	const char *source = optind < argc ? argv[optind] : NULL;
	char found[64];
	if (!source) {
		if (vigil_capture_find(found, sizeof(found)) < 0) {
			fprintf(stderr, "vigil run: %s\n", vigil_last_error());
			return VIGIL_EXIT_FAIL;
		}
		source = found;
	}
	struct stat st;
	if (stat(source, &st) < 0) {
		fprintf(stderr, "vigil run: %s: %s\n", source, strerror(errno));
		return VIGIL_EXIT_FAIL;
	}

	struct vigil_model *model;
	if (vigil_model_open(model_arg, &model) < 0) {
		fprintf(stderr, "vigil run: model %s: %s\n", model_arg, vigil_last_error());
		return VIGIL_EXIT_FAIL;
	}
	const char *model_name = vigil_model_get_info(model)->name;
	struct vigil_detector_config cfg;
	vigil_detector_config_init(&cfg);
	struct vigil_detector *det;
	if (vigil_detector_create(model, &cfg, &det) < 0) {
		fprintf(stderr, "vigil run: %s\n", vigil_last_error());
		vigil_model_close(model);
		return VIGIL_EXIT_FAIL;
	}
	int ret = VIGIL_EXIT_OK;

	struct vigil_video_source *video = NULL;
	struct vigil_capture *cap = NULL;
	if (!S_ISCHR(st.st_mode) && !is_still_image(source)) {
		if (vigil_video_source_open(source, &video) < 0) {
			fprintf(stderr, "vigil run: %s\n", vigil_last_error());
			ret = VIGIL_EXIT_FAIL;
			goto out_detector;
		}
	} else if (!S_ISCHR(st.st_mode)) {
		/* a still image as a one-frame source */
		struct vigil_image img;
		struct vigil_frame frame;
		if (vigil_image_load(source, &img) < 0) {
			fprintf(stderr, "vigil run: %s: %s\n", source, vigil_last_error());
			ret = VIGIL_EXIT_FAIL;
			goto out_detector;
		}
		memset(&frame, 0, sizeof(frame));
		frame.format = VIGIL_FORMAT_RGB;
		frame.width = img.width;
		frame.height = img.height;
		frame.planes[0] = img.rgb;
		frame.strides[0] = img.stride;
		frame.pts_ns = -1;
		for (long i = 0; i < (frames ? frames : 1) && ret == VIGIL_EXIT_OK; i++)
			if (emit(det, &frame, source, i, model_name) < 0)
				ret = VIGIL_EXIT_FAIL;
		vigil_image_free(&img);
		goto out_detector;
	}

	if (!video) {
		struct vigil_capture_config ccfg;
		vigil_capture_config_init(&ccfg);
		ccfg.device = source;
		ccfg.fourcc = fourcc;
		ccfg.width = width;
		ccfg.height = height;
		ccfg.fps = (int)fps;
		if (vigil_capture_open(&ccfg, &cap) < 0) {
			fprintf(stderr, "vigil run: %s\n", vigil_last_error());
			ret = VIGIL_EXIT_FAIL;
			goto out_detector;
		}
	} else if (fourcc || width || fps) {
		fprintf(stderr, "vigil run: --format, --size and --fps apply to cameras; %s plays as decoded\n",
			source);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	static struct period period;
	double t_start = now_s();
	period.start = t_start;
	long count = 0;
	struct vigil_capture_stats cs;
	memset(&cs, 0, sizeof(cs)); /* a video source drops nothing: its counters stay 0 */
	while (!stop_flag && (!frames || count < frames) && (!duration || now_s() - t_start < (double)duration)) {
		double t0 = now_s();
		struct vigil_capture_frame *f = NULL;
		struct vigil_frame vframe;
		const struct vigil_frame *frame = &vframe;
		int64_t index = count;
		int r;
		if (video) {
			r = vigil_video_source_next(video, &vframe, &stop_flag);
			if (r == 0) /* end of stream (or interrupted) */
				break;
			if (r < 0) {
				fprintf(stderr, "vigil run: %s\n", vigil_last_error());
				ret = VIGIL_EXIT_FAIL;
				break;
			}
		} else {
			r = vigil_capture_next(cap, &f);
			if (r == -ETIMEDOUT || r == -ENOBUFS) {
				fprintf(stderr, "vigil run: %s\n", vigil_last_error());
				continue;
			}
			if (r < 0) {
				fprintf(stderr, "vigil run: %s\n", vigil_last_error());
				ret = VIGIL_EXIT_FAIL;
				break;
			}
			if (f->flags & VIGIL_CAPTURE_FRAME_CORRUPT) { /* counted in the stats line, not detected */
				vigil_capture_frame_unref(f);
				continue;
			}
			frame = &f->frame;
			index = (int64_t)f->sequence;
		}
		double t1 = now_s();
		const struct vigil_detections *out;
		r = vigil_detector_detect(det, frame, &out);
		if (r < 0) {
			fprintf(stderr, "vigil run: frame %ld: %s\n", count, vigil_last_error());
			if (f)
				vigil_capture_frame_unref(f);
			ret = VIGIL_EXIT_FAIL;
			break;
		}
		char *json = vigil_detections_to_json(out, source, index, model_name);
		if (f)
			vigil_capture_frame_unref(f);
		if (json) {
			puts(json);
			fflush(stdout);
			vigil_free(json);
		}
		count++;
		if (period.n < MAX_SAMPLES) {
			period.samples[STAGE_WAIT][period.n] = (t1 - t0) * 1e3;
			period.samples[STAGE_PRE][period.n] = out->timing.preprocess_ms;
			period.samples[STAGE_INF][period.n] = out->timing.inference_ms;
			period.samples[STAGE_POST][period.n] = out->timing.postprocess_ms;
			period.n++;
		}
		period.frames++;
		double now = now_s();
		if (!quiet && now - period.start >= 1.0) {
			if (cap)
				vigil_capture_get_stats(cap, &cs);
			print_stats(&period, now, &cs);
		}
	}
	if (cap)
		vigil_capture_get_stats(cap, &cs);
	fprintf(stderr, "vigil run: %ld frames from %s in %.1f s, dropped %llu, corrupt %llu, stalls %llu\n", count,
		source, now_s() - t_start, (unsigned long long)cs.dropped, (unsigned long long)cs.corrupt,
		(unsigned long long)cs.stalls);
	vigil_capture_close(cap);
	vigil_video_source_close(video);
out_detector:
	vigil_detector_destroy(det);
	vigil_model_close(model);
	return ret;
}
