/* SPDX-License-Identifier: Apache-2.0
 * Timing helpers shared by the benchmark tools in tests/ (bench_opencl, bench_preprocess, bench_q8): a clock in
 * milliseconds and order statistics of a sample. Header-only: the tools link no test library. */
#ifndef VIGIL_TESTS_BENCHUTIL_H
#define VIGIL_TESTS_BENCHUTIL_H

#include <stdlib.h>
#include <time.h>

/* @p clock (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...) in milliseconds. */
static inline double bench_clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static inline double bench_now_ms(void)
{
	return bench_clock_ms(CLOCK_MONOTONIC);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts the @p n (>= 1) samples of @p v and gives their median and 99th percentile (nearest rank). */
static inline void bench_stats(double *v, int n, double *median, double *p99)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*p99 = v[(99 * n + 99) / 100 - 1];
}

#endif
