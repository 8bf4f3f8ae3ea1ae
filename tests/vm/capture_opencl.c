/* SPDX-License-Identifier: Apache-2.0
 * V4L2 capture → OpenCL detection on real DMABUFs (runs inside the vivid VM of scripts/vm-test.sh): every frame
 * of a single-planar device carries frame.dmabuf (the fd VIDIOC_EXPBUF exported); the OpenCL detector takes it
 * (on PoCL: the copy path, logged once, checked by run-vm-tests.sh) and must find what the CPU detector finds on
 * the same frame. The threshold is low so that the colour bars give candidates to compare.
 * Usage: capture_opencl DEVICE N */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/capture.h"
#include "vigil/vigil.h"

static struct vigil_detector *detector(struct vigil_model *m, enum vigil_backend backend)
{
	struct vigil_detector_config cfg;
	struct vigil_detector *d;

	vigil_detector_config_init(&cfg);
	cfg.backend = backend;
	cfg.threshold = 0.05f;
	if (vigil_detector_create(m, &cfg, &d) < 0) {
		fprintf(stderr, "detector %s: %s\n", vigil_backend_name(backend), vigil_last_error());
		exit(1);
	}
	return d;
}

int main(int argc, char **argv)
{
	struct vigil_capture_config cfg;
	struct vigil_capture *cap;
	struct vigil_model *m;
	struct vigil_detector *cpu, *cl;
	struct vigil_backend_info info;
	int n, compared = 0, total = 0, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE N\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	if (vigil_model_open("face-short", &m) < 0) {
		fprintf(stderr, "model: %s\n", vigil_last_error());
		return 1;
	}
	cpu = detector(m, VIGIL_BACKEND_CPU);
	cl = detector(m, VIGIL_BACKEND_OPENCL);
	vigil_detector_backend_info(cl, &info);
	printf("OpenCL device: %s, warm-up %.0f ms\n", info.device, info.warmup_ms);
	vigil_capture_config_init(&cfg);
	cfg.device = argv[1];
	cfg.fourcc = VIGIL_FOURCC('N', 'V', '1', '2');
	if (vigil_capture_open(&cfg, &cap) < 0 || vigil_capture_start(cap) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], vigil_last_error());
		return 1;
	}
	while (compared < n) {
		struct vigil_capture_frame *f;
		const struct vigil_detections *a, *b;
		struct vigil_detection want[128];
		struct vigil_frame plain;
		size_t na;
		int r = vigil_capture_next(cap, &f);

		if (r < 0) {
			fprintf(stderr, "capture: %s\n", vigil_last_error());
			return 1;
		}
		if (f->flags & VIGIL_CAPTURE_FRAME_COPIED) { /* a spare copy has no dmabuf: not what is tested */
			vigil_capture_frame_unref(f);
			continue;
		}
		if (!f->frame.dmabuf || f->frame.dmabuf->fd != f->dmabuf_fd[0]) {
			fprintf(stderr, "frame %u: no frame.dmabuf for the exported fd %d\n", f->sequence,
				f->dmabuf_fd[0]);
			return 1;
		}
		plain = f->frame;
		plain.dmabuf = NULL;
		if (vigil_detector_detect(cpu, &plain, &a) < 0) {
			fprintf(stderr, "cpu: %s\n", vigil_last_error());
			return 1;
		}
		na = a->count < 128 ? a->count : 128;
		memcpy(want, a->items, na * sizeof(*want));
		if (vigil_detector_detect(cl, &f->frame, &b) < 0) {
			fprintf(stderr, "opencl on DMABUF fd %d: %s\n", f->frame.dmabuf->fd, vigil_last_error());
			return 1;
		}
		if (b->count != a->count) {
			fprintf(stderr, "frame %u: OpenCL %zu detections, CPU %zu\n", f->sequence, b->count, a->count);
			bad++;
		}
		for (size_t i = 0; i < na && i < b->count; i++) {
			const struct vigil_detection *x = &want[i], *y = &b->items[i];

			if (fabsf(x->score - y->score) > 1e-4f || fabsf(x->x - y->x) > 0.05f ||
			    fabsf(x->y - y->y) > 0.05f || fabsf(x->w - y->w) > 0.05f || fabsf(x->h - y->h) > 0.05f) {
				fprintf(
				    stderr, "frame %u detection %zu: OpenCL %g (%g,%g,%g,%g), CPU %g (%g,%g,%g,%g)\n",
				    f->sequence, i, y->score, y->x, y->y, y->w, y->h, x->score, x->x, x->y, x->w, x->h);
				bad++;
			}
		}
		total += (int)na;
		compared++;
		vigil_capture_frame_unref(f);
	}
	vigil_detector_backend_info(cl, &info);
	printf("capture->opencl: %d DMABUF frames, %d detections compared with the CPU, %d differences; "
	       "uploaded %ld bytes a frame\n",
	       compared, total, bad, info.upload_bytes_per_frame);
	vigil_capture_close(cap);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m);
	return bad ? 1 : 0;
}
