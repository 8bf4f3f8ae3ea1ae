/* SPDX-License-Identifier: Apache-2.0
 * OpenCL runtime: device selection, one context per device, and the program cache (process-wide in
 * memory, and on disk under $XDG_CACHE_HOME/vigil/opencl). OpenCL 1.2 only. */
#ifndef VIGIL_CL_RUNTIME_H
#define VIGIL_CL_RUNTIME_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "cl_import.h"

/* A device with its context and built program. Shared process-wide and kept for the life of the
 * process (the in-memory program cache): vigil_cl_device_get() for the same device returns the same
 * object. Thread-safe. */
struct vigil_cl_device {
	cl_platform_id platform;
	cl_device_id device;
	cl_context context;
	cl_program program; /* the embedded kernels, built for this device */
	char name[400];     /* "P:D device (platform, driver ...)" for messages */
	char device_name[128], driver_version[64], platform_name[128];
	int platform_index, device_index;
	int has_dmabuf_import;             /* cl_khr_external_memory_dma_buf or cl_arm_import_memory usable */
	struct vigil_cl_import_api import; /* its entry points, or why there is none */
	size_t max_alloc;                  /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
	size_t local_size; /* work-group size of every launch: 64, or less where the device allows less */
};

/* Selects a device: @p selector "P:D" (platform and device indices), "D" (device index on platform 0)
 * or a case-insensitive substring of the device or platform name; NULL or "" reads $VIGIL_CL_DEVICE,
 * and when that is unset too the first GPU (or accelerator, or any device) wins. Creates the context
 * and builds (or loads from a cache) the program on first use.
 * Errors: VIGIL_EUNSUPPORTED when there is no OpenCL platform or the program fails to build (the
 * message holds the compiler log); -EINVAL when the selector names no device (the message lists them). */
int vigil_cl_device_get(const char *selector, struct vigil_cl_device **out);

/* Resolves @p selector as vigil_cl_device_get() does, without creating anything: 0 and whether the
 * device is of type CPU (an OpenCL CPU device never beats the native CPU backend on the same cores),
 * or the error vigil_cl_device_get() would give. */
int vigil_cl_device_find(const char *selector, int *is_cpu);

/* Whether an installed OpenCL implementation may offer a GPU or accelerator, judged from the ICD
 * loader's vendor files ($OCL_ICD_VENDORS, a directory or one file, else /etc/OpenCL/vendors) without
 * loading any: 0 when every one is PoCL (CPU devices only in Debian's pocl-opencl-icd) or there is none.
 * Lets backend=auto leave OpenCL unloaded (PoCL maps LLVM into the process) when it cannot win. */
int vigil_cl_may_have_gpu(void);

/* Counters of the program cache, for tests and benchmarks. */
struct vigil_cl_cache_stats {
	long source_builds; /* programs compiled from source */
	long binary_loads;  /* programs loaded from the disk cache */
	long memory_hits;   /* vigil_cl_device_get() served from memory */
};
void vigil_cl_cache_stats(struct vigil_cl_cache_stats *out);

/* Short name of an OpenCL status ("CL_OUT_OF_RESOURCES"). */
const char *vigil_cl_status_name(cl_int status);

#endif
