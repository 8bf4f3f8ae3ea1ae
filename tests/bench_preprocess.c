/* SPDX-License-Identifier: Apache-2.0
 * bench_preprocess [ITERATIONS] [WIDTH HEIGHT]: preprocessing alone, every kernel set this CPU runs, every
 * format with a row kernel plus GRAY8, from a WIDTHxHEIGHT frame (default 1920x1080) to the face-full tensor
 * (192x192 letterboxed float) and to the coco-ssd tensor (300x300 stretched uint8). Two timings per case:
 * "warm" runs back to back (the frame stays in the caches it fits), "cold" evicts the caches with a 64 MiB
 * sweep before each run, as a new camera frame arriving in DRAM would. Prints median, p99 and min in ms.
 * A tool (scripts and README numbers), not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "preprocess.h"
#include "preprocess_kernels.h"
#include "vigil/vigil.h"

#define SWEEP_BYTES (64u << 20)

static volatile uint8_t sink;

static void sweep(uint8_t *buf)
{
	uint8_t acc = 0;

	for (size_t k = 0; k < SWEEP_BYTES; k += 64) {
		buf[k]++;
		acc ^= buf[k];
	}
	sink = acc;
}

int main(int argc, char **argv)
{
	static const enum vigil_pixel_format formats[] = {
		VIGIL_FORMAT_NV12, VIGIL_FORMAT_I420, VIGIL_FORMAT_YUY2, VIGIL_FORMAT_UYVY,
		VIGIL_FORMAT_RGB,  VIGIL_FORMAT_BGR,  VIGIL_FORMAT_RGBA, VIGIL_FORMAT_GRAY8,
	};
	const int iterations = argc > 1 ? atoi(argv[1]) : 200;
	const int w = argc > 3 ? atoi(argv[2]) : 1920, h = argc > 3 ? atoi(argv[3]) : 1080;
	const struct vigil_prep_kernels *const *sets;
	const int n_sets = vigil_prep_kernel_sets(&sets);
	double *t = malloc(sizeof(double) * (size_t)(iterations > 0 ? iterations : 1));
	uint8_t *evict = calloc(SWEEP_BYTES, 1);
	float *tensor = malloc(sizeof(float) * 300 * 300 * 3);
	uint8_t *tensor_u8 = malloc(300 * 300 * 3);

	if (iterations < 1 || w < 1 || h < 1 || !t || !evict || !tensor || !tensor_u8) {
		fprintf(stderr, "usage: bench_preprocess [ITERATIONS] [WIDTH HEIGHT]\n");
		return 2;
	}
	printf("%-6s %-5s %-10s %-4s %9s %9s %9s  (%dx%d, %d iterations, ms)\n", "kernel", "fmt", "tensor", "mode",
	       "median", "p99", "min", w, h, iterations);
	for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++) {
		struct vigil_frame f;
		long size = vigil_frame_init_packed(&f, formats[fi], w, h, NULL);
		uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
		uint64_t seed = 1;

		if (!data)
			return 1;
		for (long k = 0; k < size; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			data[k] = (uint8_t)(seed >> 56);
		}
		vigil_frame_init_packed(&f, formats[fi], w, h, data);
		for (int s = 0; s < n_sets; s++)
			for (int ssd = 0; ssd <= 1; ssd++)
				for (int cold = 0; cold <= 1; cold++) {
					struct vigil_preprocess pp;
					const int side = ssd ? 300 : 192;
					double min;

					if (vigil_preprocess_init(&pp, side, side, ssd ? 1.0f : 1.0f / 127.5f,
								  ssd ? 0.0f : -1.0f) < 0)
						return 1;
					pp.stretch = ssd;
					pp.kernels = sets[s];
					if (vigil_preprocess_configure(&pp, &f, NULL, VIGIL_SAMPLING_PIXEL_CENTER) < 0)
						return 1;
					for (int k = -3; k < iterations; k++) {
						double t0;

						if (cold)
							sweep(evict);
						t0 = bench_now_ms();
						if (ssd)
							vigil_preprocess_run_u8(&pp, &f, tensor, tensor_u8);
						else
							vigil_preprocess_run(&pp, &f, tensor);
						if (k >= 0)
							t[k] = bench_now_ms() - t0;
					}
					qsort(t, (size_t)iterations, sizeof(*t), bench_cmp_double);
					min = t[0];
					printf("%-6s %-5s %-10s %-4s %9.4f %9.4f %9.4f\n", sets[s]->isa,
					       vigil_format_name(formats[fi]), ssd ? "300 u8" : "192 f32",
					       cold ? "cold" : "warm", t[iterations / 2],
					       t[(99 * iterations + 99) / 100 - 1], min);
					vigil_preprocess_free(&pp);
				}
		free(data);
	}
	free(t);
	free(evict);
	free(tensor);
	free(tensor_u8);
	return 0;
}
