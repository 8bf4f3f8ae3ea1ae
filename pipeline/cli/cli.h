/* SPDX-License-Identifier: Apache-2.0
 * Shared between the `vigil` subcommands. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

/* Exit statuses of every subcommand. */
enum {
	VIGIL_EXIT_OK = 0,    /* everything worked */
	VIGIL_EXIT_FAIL = 1,  /* a model, an image or a write failed (the others were still processed) */
	VIGIL_EXIT_USAGE = 2, /* bad command line */
};

/* `vigil bench`: argv[0] is the subcommand name. Returns an exit status. */
int vigil_cli_bench(int argc, char **argv);

/* `vigil run`: camera (or image) → detector → JSON lines, stats on stderr. Returns an exit status. */
int vigil_cli_run(int argc, char **argv);

/* Parses a whole decimal integer in [min, max]; returns 0 or -1 (nothing written) on junk or range. */
int vigil_cli_parse_int(const char *s, long min, long max, long *out);

#endif
