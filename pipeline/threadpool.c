/* SPDX-License-Identifier: Apache-2.0
 * Workers wait for a new generation number; each run hands out tasks through an atomic counter and the
 * caller waits until every task has finished. Workers spin briefly before sleeping because layers come
 * microseconds apart during an inference, and sleep between frames. */
#include "threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "error.h"

#define SPIN_ROUNDS 20000

struct vigil_pool {
	int threads;
	pthread_t *workers;
	int n_started;
	pthread_mutex_t lock;
	pthread_cond_t wake, done_cond;
	atomic_uint generation;
	atomic_int next_task, tasks_done, stop;
	int n_tasks;
	vigil_pool_fn fn;
	void *ctx;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void work(struct vigil_pool *p)
{
	int t, finished = 0;

	while ((t = atomic_fetch_add(&p->next_task, 1)) < p->n_tasks) {
		p->fn(p->ctx, t, p->n_tasks);
		finished++;
	}
	if (finished && atomic_fetch_add(&p->tasks_done, finished) + finished == p->n_tasks) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(&p->done_cond);
		pthread_mutex_unlock(&p->lock);
	}
}

static void *worker_main(void *arg)
{
	struct vigil_pool *p = arg;
	unsigned seen = 0;

	for (;;) {
		unsigned g;
		int spins = 0;

		while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop) && spins < SPIN_ROUNDS) {
			cpu_relax();
			spins++;
		}
		if (g == seen && !atomic_load(&p->stop)) {
			pthread_mutex_lock(&p->lock);
			while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->wake, &p->lock);
			pthread_mutex_unlock(&p->lock);
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = g;
		work(p);
	}
}

int vigil_pool_create(int threads, struct vigil_pool **out)
{
	struct vigil_pool *p;

	*out = NULL;
	if (threads < 1)
		return vigil_error(-EINVAL, "thread pool of %d threads", threads);
	p = calloc(1, sizeof(*p));
	if (!p)
		return vigil_error(-ENOMEM, "out of memory creating a thread pool");
	p->threads = threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done_cond, NULL);
	if (threads > 1) {
		p->workers = calloc((size_t)threads - 1, sizeof(*p->workers));
		if (!p->workers) {
			vigil_pool_destroy(p);
			return vigil_error(-ENOMEM, "out of memory creating a thread pool");
		}
		for (int i = 0; i < threads - 1; i++) {
			int ret = pthread_create(&p->workers[i], NULL, worker_main, p);

			if (ret) {
				vigil_pool_destroy(p);
				return vigil_error(-ret, "cannot start inference thread %d of %d", i + 2, threads);
			}
			p->n_started++;
		}
	}
	*out = p;
	return 0;
}

void vigil_pool_destroy(struct vigil_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->stop, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n_started; i++)
		pthread_join(p->workers[i], NULL);
	free(p->workers);
	pthread_cond_destroy(&p->done_cond);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int vigil_pool_threads(const struct vigil_pool *p)
{
	return p ? p->threads : 1;
}

void vigil_pool_run(struct vigil_pool *p, vigil_pool_fn fn, void *ctx, int n_tasks)
{
	if (!p || p->threads == 1 || n_tasks <= 1) {
		for (int t = 0; t < n_tasks; t++)
			fn(ctx, t, n_tasks);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	p->n_tasks = n_tasks;
	atomic_store(&p->tasks_done, 0);
	atomic_store(&p->next_task, 0);
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->generation, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	work(p);
	/* spin a little, then sleep until the last task signals */
	for (int spins = 0; atomic_load(&p->tasks_done) < n_tasks && spins < SPIN_ROUNDS; spins++)
		cpu_relax();
	if (atomic_load(&p->tasks_done) < n_tasks) {
		pthread_mutex_lock(&p->lock);
		while (atomic_load(&p->tasks_done) < n_tasks)
			pthread_cond_wait(&p->done_cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
}
