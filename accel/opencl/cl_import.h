/* SPDX-License-Identifier: Apache-2.0
 * DMABUF import into OpenCL (zero-copy frames): cl_khr_external_memory_dma_buf (clCreateBufferWithProperties
 * with CL_EXTERNAL_MEMORY_HANDLE_DMA_BUF_KHR, acquire/release around each use) or cl_arm_import_memory
 * (clImportMemoryARM with CL_IMPORT_TYPE_DMA_BUF_ARM). The entry points come from
 * clGetExtensionFunctionAddressForPlatform at device set-up; a cache per executor imports each buffer once. */
#ifndef VIGIL_CL_IMPORT_H
#define VIGIL_CL_IMPORT_H

#include <stddef.h>
#include <sys/types.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <CL/cl_ext.h>

#include "vigil/vigil.h"

enum vigil_cl_import_kind {
	VIGIL_CL_IMPORT_NONE = 0,
	VIGIL_CL_IMPORT_KHR, /* cl_khr_external_memory_dma_buf */
	VIGIL_CL_IMPORT_ARM, /* cl_arm_import_memory */
};

typedef cl_mem(CL_API_CALL *vigil_cl_create_buffer_with_properties_fn)(cl_context context, const cl_ulong *properties,
								       cl_mem_flags flags, size_t size, void *host_ptr,
								       cl_int *errcode_ret);
typedef cl_mem(CL_API_CALL *vigil_cl_import_memory_arm_fn)(cl_context context, cl_mem_flags flags,
							   const cl_import_properties_arm *properties, void *memory,
							   size_t size, cl_int *errcode_ret);
typedef cl_int(CL_API_CALL *vigil_cl_external_mem_fn)(cl_command_queue queue, cl_uint num_mem_objects,
						      const cl_mem *mem_objects, cl_uint num_events,
						      const cl_event *wait_list, cl_event *event);

/* How a device imports a DMABUF, or why it cannot. */
struct vigil_cl_import_api {
	enum vigil_cl_import_kind kind;
	char why_not[160]; /* kind NONE: the reason, for the log */
	vigil_cl_create_buffer_with_properties_fn create_buffer_with_properties; /* KHR */
	vigil_cl_external_mem_fn acquire, release;                               /* KHR */
	vigil_cl_import_memory_arm_fn import_memory_arm;                         /* ARM */
};

/* Fills @p api for a device from its extension string (space-separated names) and the platform's entry
 * points. */
void vigil_cl_import_api_init(struct vigil_cl_import_api *api, cl_platform_id platform, const char *extensions);

/* Name of the extension an api uses ("cl_khr_external_memory_dma_buf"), or "none". */
const char *vigil_cl_import_name(enum vigil_cl_import_kind kind);

/* Development and test hook: executors created while it is set use @p api instead of their device's (a
 * test double of the extension entry points on a driver that has none). NULL restores the device's. */
void vigil_cl_import_override(const struct vigil_cl_import_api *api);
const struct vigil_cl_import_api *vigil_cl_import_override_get(void);

/* The import cache of one executor: one cl_mem per buffer, keyed by fd, size and the buffer's identity
 * (st_dev, st_ino of the fd: the same fd number reused for another buffer is another key). No fd is kept or
 * dup'ed: an import holds the driver's reference to the buffer, not the fd. Least recently used entries are
 * released when the slots are full. */
#define VIGIL_CL_IMPORT_SLOTS 32

struct vigil_cl_import_slot {
	int fd;
	size_t size;
	dev_t dev;
	ino_t ino;
	cl_mem mem; /* NULL: free */
	unsigned long used;
};

struct vigil_cl_import_cache {
	struct vigil_cl_import_api api;
	cl_context context;
	cl_device_id device;
	struct vigil_cl_import_slot slot[VIGIL_CL_IMPORT_SLOTS];
	unsigned long tick;
	long imports, hits, releases; /* counters for tests and stats */
};

void vigil_cl_import_cache_init(struct vigil_cl_import_cache *c, const struct vigil_cl_import_api *api,
				cl_context context, cl_device_id device);

/* The cl_mem of @p d (borrowed from the cache), imported on first use. @p st is the fd's fstat (the caller
 * checked the fd). Returns 0, or VIGIL_EUNSUPPORTED with the entry point and OpenCL status in the message
 * (*status holds it) when the driver refuses the import. */
int vigil_cl_import_get(struct vigil_cl_import_cache *c, const struct vigil_dmabuf *d, dev_t dev, ino_t ino,
			cl_mem *out, cl_int *status);

/* Around each use of an imported buffer on @p queue (KHR: acquire / release; ARM: nothing). */
cl_int vigil_cl_import_acquire(struct vigil_cl_import_cache *c, cl_command_queue queue, cl_mem mem);
cl_int vigil_cl_import_release(struct vigil_cl_import_cache *c, cl_command_queue queue, cl_mem mem);

/* Releases every import (geometry change, executor destroyed). */
void vigil_cl_import_cache_drop(struct vigil_cl_import_cache *c);

/* Imports held now. */
int vigil_cl_import_cache_count(const struct vigil_cl_import_cache *c);

#endif
