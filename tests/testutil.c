/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *tu_data_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("VIGIL_TEST_DATA");

	ck_assert_msg(root != NULL, "VIGIL_TEST_DATA is not set (run the tests through meson test)");
	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return buf;
}

uint8_t *tu_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	ck_assert_msg(f != NULL, "test data missing: cannot open %s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	ck_assert(len >= 0);
	ck_assert(fseek(f, 0, SEEK_SET) == 0);
	data = malloc(len ? (size_t)len : 1);
	ck_assert(data != NULL);
	ck_assert_msg(fread(data, 1, (size_t)len, f) == (size_t)len, "short read of %s", path);
	fclose(f);
	*size = (size_t)len;
	return data;
}

float *tu_read_f32(const char *rel, size_t n)
{
	size_t size;
	float *data = (float *)tu_read_file(tu_data_path(rel), &size);

	ck_assert_msg(size == n * sizeof(float), "%s holds %zu bytes, expected %zu floats", rel, size, n);
	return data;
}

int tu_eval_data_present(const char *path)
{
	const char *mode = getenv("VIGIL_EVAL_DATA");

	if (access(path, R_OK) == 0 || !mode || strcmp(mode, "optional") != 0)
		return 1;
	fprintf(stderr, "SKIPPED (VIGIL_EVAL_DATA=optional): eval-only data missing: %s\n", path);
	return 0;
}

uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

int tu_run(Suite *suite, enum fork_status mode)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	/* CK_FORK in the environment still wins, so a debugger can run everything in one process */
	if (mode == CK_NOFORK || !getenv("CK_FORK"))
		srunner_set_fork_status(sr, mode);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
