/* SPDX-License-Identifier: Apache-2.0
 * Executor for quantized graphs (uint8/int8 tensors, TFLite_Detection_PostProcess): the same contract as engine.h —
 * prepared once (requantization multipliers, lookup tables, dequantized anchors, an arena planned by liveness),
 * immutable afterwards, run on a caller-owned arena measured in bytes. */
#ifndef VIGIL_ENGINE_Q8_H
#define VIGIL_ENGINE_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct vigil_q8_program;
struct vigil_q8_conv_args;
struct vigil_pool;

/* How CONV_2D and DEPTHWISE_CONV_2D requantize their int32 accumulators. The other operators always follow TFLite's
 * reference kernels (their results do not depend on this choice).
 * - FP32: float scale (s_in * s_w / s_out, in float), acc * scale rounded to nearest-even after clamping: what the
 *   TFLite interpreter computes with its default CPU delegate (XNNPACK). Vigil's default: bit-exact with the
 *   TFLite reference tensors in ../shared/data/reference_tensors.
 * - FIXEDPOINT: TFLite's reference/builtin kernels (QuantizeMultiplier, SaturatingRoundingDoublingHighMul,
 *   RoundingDivideByPOT). Differs from FP32 by at most 1 LSB per element (double rounding of ties). */
enum vigil_q8_requant {
	VIGIL_Q8_REQUANT_FP32 = 0,
	VIGIL_Q8_REQUANT_FIXEDPOINT,
};

/* Prepares @p graph (which must outlive the program). VIGIL_EUNSUPPORTED for an operator/type combination it does
 * not run. */
int vigil_q8_program_create(const struct vigil_graph *graph, enum vigil_q8_requant requant,
			    struct vigil_q8_program **out);
void vigil_q8_program_destroy(struct vigil_q8_program *program);

/* Bytes the arena must hold for runs on a pool of @p threads threads (a multiple of 64; allocate it 64-byte
 * aligned): the tensors plus each thread's scratch. */
size_t vigil_q8_program_arena_bytes(const struct vigil_q8_program *program, int threads);

/* Where tensor @p index lives for a run on @p arena (constants: their data). */
void *vigil_q8_program_tensor(const struct vigil_q8_program *program, void *arena, int index);

/* Runs every operator; no allocation. Convolutions are split over @p pool (NULL: the caller alone), whose thread
 * count must not exceed the one the arena was sized for. Returns 0, or VIGIL_EMODEL when the post-process meets an
 * inverted box. The results do not depend on the thread count. */
int vigil_q8_program_run(const struct vigil_q8_program *program, void *arena, struct vigil_pool *pool);

/* The same, adding each operator's milliseconds of the calling thread's CPU time to op_ms[i] (n_ops entries) when op_ms is not NULL. */
/* Runs operators [op0, op1) only: the host's share when another executor (accel/opencl/cl_exec_q8.c) ran the
 * operators before op0 and wrote the tensors they produce into @p arena. */
int vigil_q8_program_run_range(const struct vigil_q8_program *program, void *arena, struct vigil_pool *pool, int op0,
			       int op1);
int vigil_q8_program_run_profiled(const struct vigil_q8_program *program, void *arena, struct vigil_pool *pool,
				  double *op_ms);
/* The requantization the program was created with. */
enum vigil_q8_requant vigil_q8_program_requant(const struct vigil_q8_program *program);

/* The arguments of the CONV2D / DEPTHWISE_CONV2D @p op of @p graph, derived as TFLite's Prepare derives them, for
 * the CPU engine and the OpenCL executor alike. Fills @p a except its multiplier, shift and fp32_scale pointers (left
 * NULL), and the per-output-channel @p mult, @p shift and @p fscale (out_c entries each) those may point at. */
void vigil_q8_conv_args_init(const struct vigil_graph *graph, const struct vigil_op *op, int is_signed,
			     struct vigil_q8_conv_args *a, int32_t *mult, int *shift, float *fscale);

int vigil_q8_program_n_ops(const struct vigil_q8_program *program);
/* Multiply-adds of operator @p i per run (convolutions; 0 for the others). */
uint64_t vigil_q8_program_op_macs(const struct vigil_q8_program *program, int i);
/* Which kernel runs operator @p i: "avx2 gemm 1x1", "avx2 gemm im2col", "avx2 depthwise", "c depthwise m1", "c". */
const char *vigil_q8_program_op_path(const struct vigil_q8_program *program, int i);

#endif
