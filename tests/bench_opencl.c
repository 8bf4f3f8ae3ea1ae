/* SPDX-License-Identifier: Apache-2.0
 * bench_opencl MODEL [ITERATIONS]: the OpenCL executor against the CPU backend on one model.
 * Prints per-kernel device times (OpenCL profiling events, summed per kernel over one inference) beside
 * the CPU reference per operator kind, whole-model medians and p99 (tensor in, raw outputs out), kernel
 * launches per inference and bytes read back per frame. Device from $VIGIL_CL_DEVICE (default: first
 * GPU, else any). Used by scripts/bench-opencl.sh; not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "cl_exec.h"
#include "cl_runtime.h"
#include "engine.h"
#include "model_internal.h"

#define MAX_STEPS 512

/* Median time of one operator alone on the CPU: a graph of that operator over the model's tensors. */
static double cpu_op_ms(const struct vigil_graph *g, int i, int iterations)
{
	struct vigil_graph one = *g;
	const struct vigil_op *op = &g->ops[i];
	struct vigil_program *p;
	double *t = malloc(sizeof(double) * (size_t)iterations), med, p99;
	float *arena;

	one.ops = (struct vigil_op *)op;
	one.n_ops = 1;
	one.n_inputs = 0;
	for (int k = 0; k < op->n_inputs && one.n_inputs < 4; k++)
		if (op->inputs[k] >= 0 && !g->tensors[op->inputs[k]].data)
			one.inputs[one.n_inputs++] = op->inputs[k];
	one.n_outputs = 1;
	one.outputs[0] = op->output;
	if (!t || vigil_program_create(&one, &p) < 0) {
		free(t);
		return -1;
	}
	arena = calloc(vigil_program_arena_floats(p) + 16, sizeof(float));
	for (int it = 0; arena && it < iterations; it++) {
		const double t0 = bench_now_ms();

		vigil_program_run(p, arena, NULL);
		t[it] = bench_now_ms() - t0;
	}
	bench_stats(t, iterations, &med, &p99);
	free(arena);
	vigil_program_destroy(p);
	free(t);
	return med;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "face-short";
	const int iterations = argc > 2 ? atoi(argv[2]) : 50;
	struct vigil_model *m;
	struct vigil_cl_device *dev;
	struct vigil_cl_exec *e;
	struct vigil_cl_exec_config cfg = { 0 };
	struct vigil_cl_exec_stats st;
	static struct vigil_cl_step_time steps[MAX_STEPS];
	double *t, med_cl, p99_cl, med_cpu, p99_cpu;
	float *arena, *boxes, *logits, *input;
	struct {
		const char *name;
		int count;
		double ms;
	} agg[32];
	int n_agg = 0, n;

	if (iterations < 1 || vigil_model_open(name, &m) < 0) {
		fprintf(stderr, "usage: bench_opencl MODEL [ITERATIONS >= 1]: %s\n", vigil_last_error());
		return 2;
	}
	if (vigil_cl_device_get(NULL, &dev) < 0) {
		fprintf(stderr, "bench_opencl: %s\n", vigil_last_error());
		return 1;
	}
	cfg.input_tensor = m->input_tensor;
	cfg.boxes_tensor = m->boxes_tensor;
	cfg.logits_tensor = m->logits_tensor;
	cfg.num_anchors = m->info.num_anchors;
	cfg.num_coords = m->decoder.num_coords;
	cfg.profiling = 1;
	if (vigil_cl_exec_create(dev, &m->graph, &cfg, &e) < 0) {
		fprintf(stderr, "bench_opencl: %s\n", vigil_last_error());
		return 1;
	}
	arena = calloc(vigil_program_arena_floats(m->program) + 16, sizeof(float));
	t = malloc(sizeof(double) * (size_t)iterations);
	if (!arena || !t)
		return 1;
	input = vigil_program_tensor(m->program, arena, m->input_tensor);
	boxes = vigil_program_tensor(m->program, arena, m->boxes_tensor);
	logits = vigil_program_tensor(m->program, arena, m->logits_tensor);
	for (int i = 0; i < 3; i++) /* warm-up */
		vigil_cl_exec_run_tensor(e, input, boxes, logits);
	for (int i = 0; i < iterations; i++) {
		const double t0 = bench_now_ms();

		vigil_cl_exec_run_tensor(e, input, boxes, logits);
		t[i] = bench_now_ms() - t0;
	}
	bench_stats(t, iterations, &med_cl, &p99_cl);
	for (int i = 0; i < iterations; i++) {
		const double t0 = bench_now_ms();

		vigil_program_run(m->program, arena, NULL);
		t[i] = bench_now_ms() - t0;
	}
	bench_stats(t, iterations, &med_cpu, &p99_cpu);
	vigil_cl_exec_get_stats(e, &st);

	printf("model %s on %s\n", name, dev->name);
	printf("whole model (tensor in, raw outputs out), %d runs: OpenCL median %.3f ms p99 %.3f ms; "
	       "CPU backend median %.3f ms p99 %.3f ms\n",
	       iterations, med_cl, p99_cl, med_cpu, p99_cpu);
	printf("%d operators -> %d kernel launches per frame (preprocess + %d steps + candidate selection), "
	       "%zu-byte activation buffer\n\n",
	       st.ops, st.launches_per_inference, st.launches_per_inference - 2, st.act_bytes);

	n = vigil_cl_exec_profile(e, iterations, steps, MAX_STEPS);
	if (n < 0) {
		fprintf(stderr, "bench_opencl: %s\n", vigil_last_error());
		return 1;
	}
	for (int i = 0; i < n; i++) {
		int k = 0;

		while (k < n_agg && strcmp(agg[k].name, steps[i].kernel) != 0)
			k++;
		if (k == n_agg && n_agg < 32) {
			agg[n_agg].name = steps[i].kernel;
			agg[n_agg].count = 0;
			agg[n_agg++].ms = 0;
		}
		if (k < 32) {
			agg[k].count++;
			agg[k].ms += steps[i].ms / iterations;
		}
	}
	printf("%-18s %9s %16s\n", "OpenCL kernel", "launches", "device ms/frame");
	for (int k = 0; k < n_agg; k++)
		printf("%-18s %9d %16.3f\n", agg[k].name, agg[k].count, agg[k].ms);

	n_agg = 0;
	for (int i = 0; i < m->graph.n_ops; i++) {
		const char *kind = vigil_op_kind_name(m->graph.ops[i].kind);
		double ms;
		int k = 0;

		if (m->graph.ops[i].kind == VIGIL_OP_RESHAPE)
			continue;
		ms = cpu_op_ms(&m->graph, i, iterations);
		while (k < n_agg && strcmp(agg[k].name, kind) != 0)
			k++;
		if (k == n_agg && n_agg < 32) {
			agg[n_agg].name = kind;
			agg[n_agg].count = 0;
			agg[n_agg++].ms = 0;
		}
		if (k < 32) {
			agg[k].count++;
			agg[k].ms += ms;
		}
	}
	printf("\n%-18s %9s %16s\n", "CPU operator", "ops", "ms/frame");
	for (int k = 0; k < n_agg; k++)
		printf("%-18s %9d %16.3f\n", agg[k].name, agg[k].count, agg[k].ms);

	free(t);
	free(arena);
	vigil_cl_exec_destroy(e);
	vigil_model_close(m);
	return 0;
}
