/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

static _Thread_local char last_error[512];

int vigil_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void vigil_error_clear(void)
{
	last_error[0] = '\0';
}

const char *vigil_last_error(void)
{
	return last_error;
}

const char *vigil_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case VIGIL_EMODEL:
		return "malformed model";
	case VIGIL_EUNSUPPORTED:
		return "unsupported model feature";
	case VIGIL_EFORMAT:
		return "unsupported frame format or size";
	case VIGIL_EIMAGE:
		return "corrupt image";
	case VIGIL_ETOOBIG:
		return "exceeds size limit";
	default:
		break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

#define MAX_CATEGORIES 16

static struct {
	char name[24];
	int level;
} categories[MAX_CATEGORIES];
static int n_categories;
static int default_level = VIGIL_LOG_WARNING;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_init(void)
{
	const char *env = getenv("VIGIL_DEBUG");
	char buf[256];

	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		int level = colon ? atoi(colon + 1) : VIGIL_LOG_DEBUG;

		if (colon)
			*colon = '\0';
		if (strcmp(tok, "*") == 0 || tok[0] == '\0') {
			default_level = level;
		} else if (n_categories < MAX_CATEGORIES) {
			snprintf(categories[n_categories].name, sizeof(categories[0].name), "%s", tok);
			categories[n_categories++].level = level;
		}
	}
}

int vigil_log_enabled(const char *category, enum vigil_log_level level)
{
	pthread_once(&log_once, log_init);
	for (int i = 0; i < n_categories; i++)
		if (strcmp(categories[i].name, category) == 0)
			return (int)level <= categories[i].level;
	return (int)level <= default_level;
}

void vigil_log(const char *category, enum vigil_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "", "ERROR", "WARN", "INFO", "DEBUG" };
	va_list ap;

	if (!vigil_log_enabled(category, level))
		return;
	fprintf(stderr, "vigil %s %s: ", names[level], category);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
