/* SPDX-License-Identifier: Apache-2.0
 * CPU executor: a program is a graph prepared once (weights packed for the kernels, padding resolved,
 * one activation arena planned by liveness); running it writes only into a caller-owned arena. */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include <stddef.h>

#include "graph.h"

struct vigil_program;
struct vigil_pool;

/* Prepares @p graph (which must outlive the program). Immutable afterwards: one program can run on
 * many arenas from many threads at once. */
int vigil_program_create(const struct vigil_graph *graph, struct vigil_program **out);
void vigil_program_destroy(struct vigil_program *program);

/* Floats the arena must hold (already rounded for alignment). */
size_t vigil_program_arena_floats(const struct vigil_program *program);

/* Where tensor @p index lives for a run on @p arena: a constant's data or a slot in the arena.
 * The graph input must be written here before vigil_program_run(). */
float *vigil_program_tensor(const struct vigil_program *program, float *arena, int index);

/* Runs every operator, splitting layers over @p pool's threads (NULL: the calling thread only).
 * No allocation, no I/O. */
void vigil_program_run(const struct vigil_program *program, float *arena, struct vigil_pool *pool);

/* The kernel set the program runs ("avx512", "avx2", "neon", "c") and how many operators fusion removed. */
const char *vigil_program_isa(const struct vigil_program *program);
int vigil_program_fused(const struct vigil_program *program);

#endif
