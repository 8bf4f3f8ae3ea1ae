/* SPDX-License-Identifier: Apache-2.0
 * Small helpers shared by the Check suites. */
#ifndef VIGIL_TESTUTIL_H
#define VIGIL_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Path of a file under tests/data (VIGIL_TEST_DATA, set by meson). Returns a static buffer that the next
 * call overwrites. */
const char *tu_data_path(const char *rel);

/* Reads a whole file into malloc'd memory; fails the current test (ck_abort) when it cannot,
 * naming the file, so missing data is a failure, never a skip. */
uint8_t *tu_read_file(const char *path, size_t *size);

/* Reads tests/data/<rel> as float32 and checks it holds exactly n values. */
float *tu_read_f32(const char *rel, size_t n);

/* Eval-only data (read from ../shared, never shipped): 1 when `path` is readable or must be (a missing file then
 * fails the reader with its name); 0, after saying so on stderr, when it is missing and scripts/test.sh runs for
 * a user without ../shared (VIGIL_EVAL_DATA=optional, never in CI). */
int tu_eval_data_present(const char *path);

/* Runs every test of the suite (fork mode CK_FORK, or CK_NOFORK for suites that share state between
 * tests), frees it and returns the process exit status. */
int tu_run(Suite *suite, enum fork_status mode);

/* Deterministic PRNG (xorshift64*) for seeded mutations and random data. */
uint64_t tu_rand(uint64_t *state);

#endif
