/* SPDX-License-Identifier: Apache-2.0
 * Per-thread last-error detail and logging, shared by every part of libvigil. */
#ifndef VIGIL_ERROR_H
#define VIGIL_ERROR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define VIGIL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VIGIL_PRINTF(a, b)
#endif

/* Records the detail message for the calling thread and returns err, so that a failure reads
 * `return vigil_error(VIGIL_EMODEL, "tensor %d: buffer %u out of range", i, b);` */
int vigil_error(int err, const char *fmt, ...) VIGIL_PRINTF(2, 3);

/* Clears the calling thread's detail message. */
void vigil_error_clear(void);

enum vigil_log_level {
	VIGIL_LOG_ERROR = 1,
	VIGIL_LOG_WARNING = 2,
	VIGIL_LOG_INFO = 3,
	VIGIL_LOG_DEBUG = 4,
};

/* Categories are short names ("engine", "model", "preprocess"). The threshold per category comes from
 * VIGIL_DEBUG="engine:4,model:3" or "*:4" (read once); the default is warnings. */
int vigil_log_enabled(const char *category, enum vigil_log_level level);
void vigil_log(const char *category, enum vigil_log_level level, const char *fmt, ...) VIGIL_PRINTF(3, 4);

#endif
