/* SPDX-License-Identifier: Apache-2.0
 * A QEMU TCG plugin (user mode) that counts the guest instructions executed, in total and per function:
 * each translated block adds its instruction count, at run time, to the function its first instruction
 * belongs to (blocks end at calls and branches, so a block lies in one function). Used by
 * scripts/bench-aarch64.sh to compare the NEON and C kernels on aarch64 code, where timings under
 * emulation mean nothing.
 *
 *   qemu-aarch64 -plugin ./insn_count.so,out=counts.txt prog args...
 * writes "total N" then "FUNCTION N" lines, largest first (out= omitted: stderr). Counts are exact for a
 * single-threaded guest (the inline increments are not atomic across vCPU threads).
 *
 * Debian's qemu-user exports the plugin API but ships neither the contrib plugins nor <qemu-plugin.h>, so
 * the few entry points used are declared here from QEMU's documented plugin API (version 1, QEMU 4.2+). */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API (declarations) ---- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
					      uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))
EXPORT extern const int qemu_plugin_version;
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);
const int qemu_plugin_version = 1;

/* ---- the plugin ---- */
struct block {
	uint64_t execs; /* incremented by the translated code */
	uint64_t n_insns;
	const char *symbol; /* owned by QEMU's symbol table, or NULL */
	struct block *next;
};

struct func {
	const char *symbol;
	uint64_t insns;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *blocks;
static char *out_path;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b) {
		qemu_plugin_outs("insn_count: out of memory\n");
		abort();
	}
	b->n_insns = qemu_plugin_tb_n_insns(tb);
	if (b->n_insns)
		b->symbol = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0));
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
	pthread_mutex_lock(&lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&lock);
}

static int by_name(const void *x, const void *y)
{
	const struct func *a = x, *b = y;

	return strcmp(a->symbol, b->symbol);
}

static int by_count(const void *x, const void *y)
{
	const struct func *a = x, *b = y;

	return a->insns < b->insns ? 1 : (a->insns > b->insns ? -1 : strcmp(a->symbol, b->symbol));
}

static void on_exit_cb(qemu_plugin_id_t id, void *userdata)
{
	size_t n = 0, m = 0;
	uint64_t total = 0;
	struct func *f;
	FILE *out = stderr;

	for (struct block *b = blocks; b; b = b->next)
		n++;
	f = calloc(n ? n : 1, sizeof(*f));
	if (!f)
		return;
	for (struct block *b = blocks; b; b = b->next) {
		f[m].symbol = b->symbol ? b->symbol : "?";
		f[m].insns = b->execs * b->n_insns;
		total += f[m].insns;
		m++;
	}
	/* merge the blocks of each function */
	qsort(f, m, sizeof(*f), by_name);
	n = 0;
	for (size_t i = 0; i < m; i++) {
		if (n > 0 && strcmp(f[n - 1].symbol, f[i].symbol) == 0)
			f[n - 1].insns += f[i].insns;
		else
			f[n++] = f[i];
	}
	qsort(f, n, sizeof(*f), by_count);
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "insn_count: cannot write %s\n", out_path);
		out = stderr;
	}
	fprintf(out, "total %" PRIu64 "\n", total);
	for (size_t i = 0; i < n && f[i].insns > 0; i++)
		fprintf(out, "%s %" PRIu64 "\n", f[i].symbol, f[i].insns);
	if (out != stderr)
		fclose(out);
	free(f);
}

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0) {
			out_path = strdup(argv[i] + 4);
		} else {
			fprintf(stderr, "insn_count: unknown argument '%s' (only out=FILE)\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	return 0;
}
