/* SPDX-License-Identifier: Apache-2.0
 * bench_q8: where the quantized engine's time goes (a tool, not a test; scripts/bench-q8.sh runs it). For a
 * quantized model (default coco-ssd) it prints every operator's kernel, multiply-adds and mean time, then the
 * whole inference's median and p99, the achieved multiply-adds per second and the core clock measured with a
 * chain of dependent adds (wall-clock run times, process CPU time per run, per-operator thread CPU time) (for the peak bound: 2 vpmaddwd per cycle x 16 multiply-adds on Zen 3).
 *   bench_q8 [-m MODEL] [-n ITERATIONS] [-w WARMUP] [-T THREADS] [-x] [-q]
 * -x: TFLite's fixed-point requantization instead of fp32; -q: totals only. VIGIL_Q8_REFERENCE=1 and
 * VIGIL_FORCE_C=1 time the C kernels. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "engine_q8.h"
#include "model_internal.h"
#include "threadpool.h"
#include "vigil/vigil.h"

/* GHz from a chain of dependent one-cycle adds timed in thread CPU time (x86-64; 0 elsewhere) */
static double clock_ghz(void)
{
#if defined(__x86_64__)
	const long n = 200000000;
	unsigned long x = 0;
	double t0 = bench_now_ms(), best = 1e30;

	for (int rep = 0; rep < 3; rep++) {
		t0 = bench_clock_ms(CLOCK_THREAD_CPUTIME_ID);
		for (long i = 0; i < n; i += 10)
			__asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
					 "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
					 : "+r"(x));
		if (bench_clock_ms(CLOCK_THREAD_CPUTIME_ID) - t0 < best)
			best = bench_clock_ms(CLOCK_THREAD_CPUTIME_ID) - t0;
	}
	return (double)n / (best * 1e6);
#else
	return 0;
#endif
}

int main(int argc, char **argv)
{
	const char *name = "coco-ssd";
	int iterations = 50, warmup = 5, threads = 1, quiet = 0, opt;
	enum vigil_q8_requant rq = VIGIL_Q8_REQUANT_FP32;
	struct vigil_model *m;
	struct vigil_q8_program *p;
	struct vigil_pool *pool;
	double *op_ms, *run_ms, *cpu_ms, total_ms = 0, ghz;
	uint64_t total_macs = 0;
	uint8_t *arena, *input;
	size_t in_bytes;

	while ((opt = getopt(argc, argv, "m:n:w:T:xq")) != -1) {
		switch (opt) {
		case 'm':
			name = optarg;
			break;
		case 'n':
			iterations = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'T':
			threads = atoi(optarg);
			break;
		case 'x':
			rq = VIGIL_Q8_REQUANT_FIXEDPOINT;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr,
				"usage: bench_q8 [-m MODEL] [-n ITERATIONS] [-w WARMUP] [-T THREADS] [-x] [-q]\n");
			return 2;
		}
	}
	if (iterations < 1 || warmup < 0 || threads < 1 || threads > VIGIL_MAX_THREADS) {
		fprintf(stderr, "bench_q8: iterations >= 1, warmup >= 0, threads 1..%d\n", VIGIL_MAX_THREADS);
		return 2;
	}
	if (vigil_model_open(name, &m) < 0) {
		fprintf(stderr, "bench_q8: %s\n", vigil_last_error());
		return 1;
	}
	if (!m->q8 || vigil_q8_program_create(&m->graph, rq, &p) < 0 || vigil_pool_create(threads, &pool) < 0) {
		fprintf(stderr, "bench_q8: %s: %s\n", name, m->q8 ? vigil_last_error() : "not a quantized model");
		vigil_model_close(m);
		return 1;
	}
	arena = aligned_alloc(64, vigil_q8_program_arena_bytes(p, threads));
	op_ms = calloc((size_t)vigil_q8_program_n_ops(p), sizeof(double));
	run_ms = calloc((size_t)iterations, sizeof(double));
	cpu_ms = calloc((size_t)iterations, sizeof(double));
	if (!arena || !op_ms || !run_ms || !cpu_ms)
		return 1;
	/* a deterministic textured input */
	input = vigil_q8_program_tensor(p, arena, m->graph.inputs[0]);
	in_bytes = m->graph.tensors[m->graph.inputs[0]].count;
	for (size_t i = 0; i < in_bytes; i++)
		input[i] = (uint8_t)((i * 2654435761u) >> 13);
	for (int i = 0; i < warmup; i++)
		vigil_q8_program_run(p, arena, pool);
	for (int i = 0; i < iterations; i++) {
		const double t0 = bench_now_ms(), c0 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);

		vigil_q8_program_run_profiled(p, arena, pool, quiet ? NULL : op_ms);
		run_ms[i] = bench_now_ms() - t0;
		cpu_ms[i] = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	for (int i = 0; i < vigil_q8_program_n_ops(p); i++) {
		total_macs += vigil_q8_program_op_macs(p, i);
		total_ms += op_ms[i] / iterations;
	}
	if (!quiet) {
		printf("%3s %-18s %-14s %-17s %10s %9s %8s %6s\n", "op", "kind", "output", "kernel", "MACs", "cpu ms",
		       "GMAC/s", "time%");
		for (int i = 0; i < vigil_q8_program_n_ops(p); i++) {
			const struct vigil_op *op = &m->graph.ops[i];
			const struct vigil_tensor *t = &m->graph.tensors[op->output];
			const uint64_t macs = vigil_q8_program_op_macs(p, i);
			const double ms = op_ms[i] / iterations;
			char shape[32];

			if (t->rank == 4)
				snprintf(shape, sizeof(shape), "%dx%dx%d", t->dims[1], t->dims[2], t->dims[3]);
			else
				snprintf(shape, sizeof(shape), "%zu", t->count);
			printf("%3d %-18s %-14s %-17s %10llu %9.3f %8.1f %5.1f%%\n", i, vigil_op_kind_name(op->kind),
			       shape, vigil_q8_program_op_path(p, i), (unsigned long long)macs, ms,
			       macs ? (double)macs / (ms * 1e6) : 0.0, 100.0 * ms / total_ms);
		}
	}
	qsort(run_ms, (size_t)iterations, sizeof(double), bench_cmp_double);
	qsort(cpu_ms, (size_t)iterations, sizeof(double), bench_cmp_double);
	ghz = clock_ghz();
	{
		const double med =
		    iterations % 2 ? run_ms[iterations / 2] : (run_ms[iterations / 2 - 1] + run_ms[iterations / 2]) / 2;
		const double p99 = run_ms[(99 * iterations + 99) / 100 - 1];

		printf("%s: %d thread%s, requant %s, %d runs: median %.3f ms, p99 %.3f ms, min %.3f ms\n", name,
		       threads, threads > 1 ? "s" : "", rq == VIGIL_Q8_REQUANT_FP32 ? "fp32" : "fixedpoint", iterations,
		       med, p99, run_ms[0]);
		printf("process CPU time per run (all threads): median %.3f ms, p99 %.3f ms, min %.3f ms\n",
		       iterations % 2 ? cpu_ms[iterations / 2]
				      : (cpu_ms[iterations / 2 - 1] + cpu_ms[iterations / 2]) / 2,
		       cpu_ms[(99 * iterations + 99) / 100 - 1], cpu_ms[0]);
		printf("multiply-adds per inference: %.4f G; achieved %.1f GMAC/s (median)\n", (double)total_macs / 1e9,
		       (double)total_macs / (med * 1e6));
		if (ghz > 0)
			printf(
			    "core clock (dependent adds): %.2f GHz; vpmaddwd peak 32 MAC/cycle = %.1f GMAC/s per core "
			    "-> %.2f ms for these multiply-adds\n",
			    ghz, 32 * ghz, (double)total_macs / (32 * ghz * 1e6));
	}
	free(run_ms);
	free(cpu_ms);
	free(op_ms);
	free(arena);
	vigil_pool_destroy(pool);
	vigil_q8_program_destroy(p);
	vigil_model_close(m);
	return 0;
}
