/* SPDX-License-Identifier: Apache-2.0
 * A small persistent pool of worker threads for splitting one layer's work: created with the detector,
 * woken per layer (no thread creation or allocation per frame), the calling thread taking part. */
#ifndef VIGIL_THREADPOOL_H
#define VIGIL_THREADPOOL_H

struct vigil_pool;

/* fn(ctx, task, n_tasks) is called once for every task 0..n_tasks-1, spread over the pool's threads. */
typedef void (*vigil_pool_fn)(void *ctx, int task, int n_tasks);

/* A pool of @p threads threads in all (the caller counts as one, so threads - 1 workers are started).
 * threads 1 gives a pool that runs everything on the caller. */
int vigil_pool_create(int threads, struct vigil_pool **out);
void vigil_pool_destroy(struct vigil_pool *pool);

int vigil_pool_threads(const struct vigil_pool *pool);

/* Runs every task and returns when all are done. One caller at a time per pool. No allocation. */
void vigil_pool_run(struct vigil_pool *pool, vigil_pool_fn fn, void *ctx, int n_tasks);

#endif
