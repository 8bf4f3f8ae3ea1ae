/* SPDX-License-Identifier: Apache-2.0
 * DMABUF import into OpenCL: the extension entry points and the per-executor import cache. */
#include "cl_import.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cl_runtime.h"
#include "error.h"

/* Whether the space-separated @p list holds @p name as a whole word. */
static int has_word(const char *list, const char *name)
{
	const size_t n = strlen(name);

	for (const char *p = list; p && (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
			return 1;
	return 0;
}

void vigil_cl_import_api_init(struct vigil_cl_import_api *api, cl_platform_id platform, const char *extensions)
{
	const int khr =
	    has_word(extensions, "cl_khr_external_memory") && has_word(extensions, "cl_khr_external_memory_dma_buf");
	const int arm =
	    has_word(extensions, "cl_arm_import_memory") || has_word(extensions, "cl_arm_import_memory_dma_buf");

	memset(api, 0, sizeof(*api));
	if (khr) {
		char version[64] = "";

		clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof(version) - 1, version, NULL);
		api->acquire = (vigil_cl_external_mem_fn)clGetExtensionFunctionAddressForPlatform(
		    platform, "clEnqueueAcquireExternalMemObjectsKHR");
		api->release = (vigil_cl_external_mem_fn)clGetExtensionFunctionAddressForPlatform(
		    platform, "clEnqueueReleaseExternalMemObjectsKHR");
		/* an OpenCL 3.0 core function: some platforms hand it out here, otherwise the ICD loader exports
		 * it (it dispatches to the platform, which must then be 3.0) */
		api->create_buffer_with_properties =
		    (vigil_cl_create_buffer_with_properties_fn)clGetExtensionFunctionAddressForPlatform(
			platform, "clCreateBufferWithProperties");
		if (!api->create_buffer_with_properties && strncmp(version, "OpenCL 3.", 9) == 0)
			api->create_buffer_with_properties = (vigil_cl_create_buffer_with_properties_fn)dlsym(
			    RTLD_DEFAULT, "clCreateBufferWithProperties");
		if (api->acquire && api->release && api->create_buffer_with_properties) {
			api->kind = VIGIL_CL_IMPORT_KHR;
			return;
		}
		snprintf(api->why_not, sizeof(api->why_not),
			 "cl_khr_external_memory_dma_buf offered but %s not found (platform %s)",
			 !api->acquire || !api->release ? "clEnqueue{Acquire,Release}ExternalMemObjectsKHR"
							: "clCreateBufferWithProperties",
			 version);
	}
	if (arm) {
		api->import_memory_arm = (vigil_cl_import_memory_arm_fn)clGetExtensionFunctionAddressForPlatform(
		    platform, "clImportMemoryARM");
		if (api->import_memory_arm) {
			api->kind = VIGIL_CL_IMPORT_ARM;
			api->why_not[0] = 0;
			return;
		}
		snprintf(api->why_not, sizeof(api->why_not),
			 "cl_arm_import_memory offered but clImportMemoryARM not found");
	}
	if (!khr && !arm)
		snprintf(api->why_not, sizeof(api->why_not),
			 "the device offers neither cl_khr_external_memory_dma_buf nor cl_arm_import_memory");
}

const char *vigil_cl_import_name(enum vigil_cl_import_kind kind)
{
	switch (kind) {
	case VIGIL_CL_IMPORT_KHR:
		return "cl_khr_external_memory_dma_buf";
	case VIGIL_CL_IMPORT_ARM:
		return "cl_arm_import_memory";
	default:
		return "none";
	}
}

static _Atomic(const struct vigil_cl_import_api *) override;

void vigil_cl_import_override(const struct vigil_cl_import_api *api)
{
	atomic_store(&override, api);
}

const struct vigil_cl_import_api *vigil_cl_import_override_get(void)
{
	return atomic_load(&override);
}

void vigil_cl_import_cache_init(struct vigil_cl_import_cache *c, const struct vigil_cl_import_api *api,
				cl_context context, cl_device_id device)
{
	memset(c, 0, sizeof(*c));
	c->api = *api;
	c->context = context;
	c->device = device;
}

static cl_mem import(struct vigil_cl_import_cache *c, const struct vigil_dmabuf *d, cl_int *st, const char **what)
{
	if (c->api.kind == VIGIL_CL_IMPORT_KHR) {
		const cl_ulong props[] = {
			CL_EXTERNAL_MEMORY_HANDLE_DMA_BUF_KHR,
			(cl_ulong)d->fd,
			CL_DEVICE_HANDLE_LIST_KHR,
			(cl_ulong)(intptr_t)c->device,
			CL_DEVICE_HANDLE_LIST_END_KHR,
			0,
		};

		*what = "clCreateBufferWithProperties(CL_EXTERNAL_MEMORY_HANDLE_DMA_BUF_KHR)";
		return c->api.create_buffer_with_properties(c->context, props, CL_MEM_READ_ONLY, d->size, NULL, st);
	}
	if (c->api.kind == VIGIL_CL_IMPORT_ARM) {
		const cl_import_properties_arm props[] = { CL_IMPORT_TYPE_ARM, CL_IMPORT_TYPE_DMA_BUF_ARM, 0 };
		int fd = d->fd;

		*what = "clImportMemoryARM(CL_IMPORT_TYPE_DMA_BUF_ARM)";
		return c->api.import_memory_arm(c->context, CL_MEM_READ_ONLY, props, &fd, d->size, st);
	}
	*what = "no import extension";
	*st = CL_INVALID_OPERATION;
	return NULL;
}

int vigil_cl_import_get(struct vigil_cl_import_cache *c, const struct vigil_dmabuf *d, dev_t dev, ino_t ino,
			cl_mem *out, cl_int *status)
{
	struct vigil_cl_import_slot *victim = NULL;
	const char *what;
	cl_int st = CL_SUCCESS;
	cl_mem mem;

	*status = CL_SUCCESS;
	c->tick++;
	for (int i = 0; i < VIGIL_CL_IMPORT_SLOTS; i++) {
		struct vigil_cl_import_slot *s = &c->slot[i];

		if (s->mem && s->fd == d->fd && s->size == d->size && s->dev == dev && s->ino == ino) {
			s->used = c->tick;
			c->hits++;
			*out = s->mem;
			return 0;
		}
		if (!victim || (victim->mem && (!s->mem || s->used < victim->used)))
			victim = s;
	}
	mem = import(c, d, &st, &what);
	if (!mem || st != CL_SUCCESS) {
		if (mem)
			clReleaseMemObject(mem);
		*status = st != CL_SUCCESS ? st : CL_INVALID_MEM_OBJECT;
		return vigil_error(VIGIL_EUNSUPPORTED, "DMABUF import of fd %d (%zu bytes): %s failed with %s", d->fd,
				   d->size, what, vigil_cl_status_name(*status));
	}
	if (victim->mem) {
		clReleaseMemObject(victim->mem);
		c->releases++;
	}
	victim->fd = d->fd;
	victim->size = d->size;
	victim->dev = dev;
	victim->ino = ino;
	victim->mem = mem;
	victim->used = c->tick;
	c->imports++;
	*out = mem;
	return 0;
}

cl_int vigil_cl_import_acquire(struct vigil_cl_import_cache *c, cl_command_queue queue, cl_mem mem)
{
	if (c->api.kind != VIGIL_CL_IMPORT_KHR)
		return CL_SUCCESS;
	return c->api.acquire(queue, 1, &mem, 0, NULL, NULL);
}

cl_int vigil_cl_import_release(struct vigil_cl_import_cache *c, cl_command_queue queue, cl_mem mem)
{
	if (c->api.kind != VIGIL_CL_IMPORT_KHR)
		return CL_SUCCESS;
	return c->api.release(queue, 1, &mem, 0, NULL, NULL);
}

void vigil_cl_import_cache_drop(struct vigil_cl_import_cache *c)
{
	for (int i = 0; i < VIGIL_CL_IMPORT_SLOTS; i++)
		if (c->slot[i].mem) {
			clReleaseMemObject(c->slot[i].mem);
			c->slot[i].mem = NULL;
			c->releases++;
		}
}

int vigil_cl_import_cache_count(const struct vigil_cl_import_cache *c)
{
	int n = 0;

	for (int i = 0; i < VIGIL_CL_IMPORT_SLOTS; i++)
		n += c->slot[i].mem != NULL;
	return n;
}
