/* SPDX-License-Identifier: Apache-2.0
 * DMABUF frames on the OpenCL backend (PoCL in CI, which offers neither cl_khr_external_memory_dma_buf nor
 * cl_arm_import_memory):
 *  - the fallback: a frame described by an fd (a memfd here: no /dev/udmabuf in CI; the VM test runs real
 *    V4L2 dmabufs, tests/vm) is copied, gives the CPU backend's detections, and the path is logged once;
 *  - faults: a closed fd, a negative fd, planes outside the buffer → a clear error, and the detector goes on;
 *  - the import code with the extension entry points replaced by a test double (the only way without a driver
 *    that has them): the properties list, fd, size and flags passed, acquire/release around each frame, one
 *    import per buffer of a ring, a new import when an fd number is reused for another buffer, the cache
 *    dropped on a geometry change and at destroy, and an import failure falling back to the copy with one
 *    warning. The double maps the fd and wraps it in a CL_MEM_USE_HOST_PTR buffer, so the kernels really read
 *    the buffer in place (with the frame's strides and plane offsets) and the detections are checked too. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_import.h"
#include "cl_runtime.h"
#include "convert.h"
#include "image_io.h"
#include "testutil.h"

/* ---------------------------------------------------------------------------------------------- */
/* DMABUF-like frames: NV12 with padded strides in a memfd, the chroma plane at a page offset */

struct dbuf {
	int fd;
	size_t size;
	uint8_t *map;
	struct vigil_dmabuf desc;
	struct vigil_frame frame;
};

static void dbuf_make(struct dbuf *b, const char *photo, int w, int h)
{
	struct vigil_image img = { 0 };
	struct tc_frame f;
	char rel[64];
	const int stride = (w + 63) / 64 * 64 + 64;
	const size_t uv_off = ((size_t)stride * h + 4095) / 4096 * 4096;

	snprintf(rel, sizeof(rel), "faces/%s", photo);
	ck_assert_msg(vigil_image_load(tu_data_path(rel), &img) == 0, "%s: %s", rel, vigil_last_error());
	ck_assert(img.width >= w && img.height >= h);
	ck_assert_int_eq(tc_convert(img.rgb, w, h, img.stride, VIGIL_FORMAT_NV12, 0, &f), 0);
	memset(b, 0, sizeof(*b));
	b->size = uv_off + (size_t)stride * ((h + 1) / 2) + 100;
	b->fd = memfd_create("vigil-test-frame", MFD_CLOEXEC);
	ck_assert_msg(b->fd >= 0, "memfd_create: %s", strerror(errno));
	ck_assert_int_eq(ftruncate(b->fd, (off_t)b->size), 0);
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	ck_assert(b->map != MAP_FAILED);
	memset(b->map, 0x5a, b->size);
	for (int y = 0; y < h; y++)
		memcpy(b->map + (size_t)y * stride, f.frame.planes[0] + (size_t)y * f.frame.strides[0], (size_t)w);
	for (int y = 0; y < (h + 1) / 2; y++)
		memcpy(b->map + uv_off + (size_t)y * stride, f.frame.planes[1] + (size_t)y * f.frame.strides[1],
		       (size_t)(w + 1) / 2 * 2);
	b->desc.fd = b->fd;
	b->desc.size = b->size;
	b->desc.offsets[1] = uv_off;
	b->frame.format = VIGIL_FORMAT_NV12;
	b->frame.width = w;
	b->frame.height = h;
	b->frame.planes[0] = b->map;
	b->frame.planes[1] = b->map + uv_off;
	b->frame.strides[0] = b->frame.strides[1] = stride;
	b->frame.colorimetry = VIGIL_COLOR_BT601_LIMITED;
	b->frame.pts_ns = -1;
	b->frame.dmabuf = &b->desc;
	tc_frame_free(&f);
	vigil_image_free(&img);
}

static void dbuf_free(struct dbuf *b)
{
	munmap(b->map, b->size);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* ---------------------------------------------------------------------------------------------- */
/* stderr captured into a file (the log; VIGIL_DEBUG=opencl:3 is set in main) */

static int saved_stderr = -1;
static char log_path[512];

static void log_begin(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "%s/opencl-dmabuf-log.%d", getenv("VIGIL_TEST_TMP") ?: "/tmp",
		 (int)getpid());
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Ends the capture, echoes the log and returns it (malloc'd). */
static char *log_end(void)
{
	size_t n;
	char *s;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	{
		uint8_t *raw = tu_read_file(log_path, &n);

		s = malloc(n + 1);
		ck_assert(s != NULL);
		memcpy(s, raw, n);
		s[n] = 0;
		free(raw);
	}
	unlink(log_path);
	fputs(s, stderr);
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---------------------------------------------------------------------------------------------- */

static int device_has_import(void);

static struct vigil_detector *detector(enum vigil_backend backend, struct vigil_model **model)
{
	struct vigil_detector_config cfg;
	struct vigil_detector *det;

	ck_assert_int_eq(vigil_model_open("face-short", model), 0);
	vigil_detector_config_init(&cfg);
	cfg.backend = backend;
	ck_assert_msg(vigil_detector_create(*model, &cfg, &det) == 0, "%s: %s", vigil_backend_name(backend),
		      vigil_last_error());
	return det;
}

/* The OpenCL detector's result on @p f equals the CPU's; returns the face count. */
static size_t same_as_cpu(struct vigil_detector *cpu, struct vigil_detector *cl, const struct vigil_frame *f)
{
	struct vigil_frame plain = *f;
	const struct vigil_detections *a, *b;
	struct vigil_detection want[64];
	size_t n;

	plain.dmabuf = NULL; /* the CPU backend reads planes only anyway */
	ck_assert_int_eq(vigil_detector_detect(cpu, &plain, &a), 0);
	n = a->count < 64 ? a->count : 64;
	memcpy(want, a->items, n * sizeof(*want));
	ck_assert_msg(vigil_detector_detect(cl, f, &b) == 0, "%s", vigil_last_error());
	ck_assert_msg(b->count == a->count, "OpenCL finds %zu faces, CPU %zu", b->count, n);
	for (size_t i = 0; i < n; i++) {
		const struct vigil_detection *x = &want[i], *y = &b->items[i];

		ck_assert_msg(fabsf(x->score - y->score) <= 1e-4f, "face %zu: score %g vs CPU %g", i, y->score,
			      x->score);
		ck_assert_msg(fabsf(x->x - y->x) <= 0.05f && fabsf(x->y - y->y) <= 0.05f &&
				  fabsf(x->w - y->w) <= 0.05f && fabsf(x->h - y->h) <= 0.05f,
			      "face %zu: box (%g,%g,%g,%g) vs CPU (%g,%g,%g,%g)", i, y->x, y->y, y->w, y->h, x->x, x->y,
			      x->w, x->h);
	}
	return n;
}

/* The fallback on a real driver without import: copied, equal to the CPU, logged once with the reason. */
START_TEST(test_fallback)
{
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(VIGIL_BACKEND_CPU, &m1), *cl;
	struct vigil_backend_info info;
	struct dbuf b[2];
	size_t faces = 0;
	char *log;

	ck_assert_msg(!device_has_import(), "this OpenCL device offers DMABUF import: the fallback is not tested");
	dbuf_make(&b[0], "sample1.jpg", 301, 203);
	dbuf_make(&b[1], "sample2.jpg", 301, 203);
	log_begin();
	cl = detector(VIGIL_BACKEND_OPENCL, &m2);
	for (int i = 0; i < 4; i++)
		faces += same_as_cpu(cpu, cl, &b[i % 2].frame);
	log = log_end();
	vigil_detector_backend_info(cl, &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_OPENCL);
	ck_assert_int_gt(info.upload_bytes_per_frame, 0);
	ck_assert_int_gt(faces, 0);
	ck_assert_msg(count(log, "frame path:") == 1, "expected one frame path line:\n%s", log);
	ck_assert_int_eq(count(log, "frame path: DMABUF frames are copied"), 1);
	ck_assert(strstr(log, "neither cl_khr_external_memory_dma_buf nor cl_arm_import_memory") != NULL);
	free(log);
	dbuf_free(&b[1]);
	dbuf_free(&b[0]);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}
END_TEST

/* A closed or negative fd, planes outside the buffer: clear errors, and the next good frame works. */
START_TEST(test_bad_dmabuf)
{
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(VIGIL_BACKEND_CPU, &m1), *cl = detector(VIGIL_BACKEND_OPENCL, &m2);
	const struct vigil_detections *out;
	struct dbuf b;
	struct vigil_dmabuf bad;
	int fd;

	dbuf_make(&b, "sample1.jpg", 301, 203);
	ck_assert_int_gt(same_as_cpu(cpu, cl, &b.frame), 0);
	/* a closed fd (the number stays unused: nothing else opens fds here) */
	fd = dup(b.fd);
	close(fd);
	bad = b.desc;
	bad.fd = fd;
	b.frame.dmabuf = &bad;
	ck_assert_int_eq(vigil_detector_detect(cl, &b.frame, &out), -EBADF);
	ck_assert_msg(strstr(vigil_last_error(), "not an open file descriptor") != NULL, "%s", vigil_last_error());
	ck_assert_int_eq(vigil_detector_detect(cpu, &b.frame, &out), -EBADF); /* every backend checks it */
	bad.fd = -1;
	ck_assert_int_eq(vigil_detector_detect(cl, &b.frame, &out), -EBADF);
	/* the chroma plane past the end */
	bad = b.desc;
	bad.offsets[1] = b.size - 10;
	ck_assert_int_eq(vigil_detector_detect(cl, &b.frame, &out), -EINVAL);
	ck_assert_msg(strstr(vigil_last_error(), "plane 1") != NULL, "%s", vigil_last_error());
	/* a size larger than the buffer */
	bad = b.desc;
	bad.size = b.size * 2;
	ck_assert_int_eq(vigil_detector_detect(cl, &b.frame, &out), -EINVAL);
	b.frame.dmabuf = &b.desc;
	ck_assert_int_gt(same_as_cpu(cpu, cl, &b.frame), 0);
	dbuf_free(&b);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}
END_TEST

/* ---------------------------------------------------------------------------------------------- */
/* The import code against a test double of the extension entry points */

static struct {
	int creates, acquires, releases, destroyed, fail;
	cl_ulong props[8];
	int n_props;
	cl_mem_flags flags;
	size_t size;
	void *host_ptr;
	int arm_props_ok, arm_fd;
	cl_mem last_acquired;
} dbl;

struct mapping {
	void *p;
	size_t n;
};

static void CL_CALLBACK unmap_cb(cl_mem mem, void *user)
{
	struct mapping *m = user;

	munmap(m->p, m->n);
	free(m);
	dbl.destroyed++;
}

/* What a driver does, short of the DMA: the buffer's pages, read in place. */
static cl_mem wrap_fd(cl_context ctx, int fd, size_t size, cl_int *err)
{
	struct mapping *m = malloc(sizeof(*m));
	cl_mem mem;

	ck_assert(m != NULL);
	m->n = size;
	m->p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert(m->p != MAP_FAILED);
	mem = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, size, m->p, err);
	ck_assert(mem != NULL);
	ck_assert_int_eq(clSetMemObjectDestructorCallback(mem, unmap_cb, m), CL_SUCCESS);
	return mem;
}

static cl_mem CL_API_CALL dbl_create(cl_context ctx, const cl_ulong *props, cl_mem_flags flags, size_t size,
				     void *host_ptr, cl_int *err)
{
	dbl.creates++;
	dbl.n_props = 0;
	while (dbl.n_props < 7 && props[dbl.n_props])
		dbl.props[dbl.n_props] = props[dbl.n_props], dbl.n_props++;
	dbl.props[dbl.n_props] = props[dbl.n_props];
	dbl.flags = flags;
	dbl.size = size;
	dbl.host_ptr = host_ptr;
	if (dbl.fail) {
		*err = CL_INVALID_OPERATION;
		return NULL;
	}
	return wrap_fd(ctx, (int)props[1], size, err);
}

static cl_mem CL_API_CALL dbl_import_arm(cl_context ctx, cl_mem_flags flags, const cl_import_properties_arm *props,
					 void *memory, size_t size, cl_int *err)
{
	dbl.creates++;
	dbl.arm_props_ok = props[0] == CL_IMPORT_TYPE_ARM && props[1] == CL_IMPORT_TYPE_DMA_BUF_ARM && props[2] == 0;
	dbl.arm_fd = *(int *)memory;
	dbl.flags = flags;
	dbl.size = size;
	return wrap_fd(ctx, dbl.arm_fd, size, err);
}

static cl_int CL_API_CALL dbl_acquire(cl_command_queue q, cl_uint n, const cl_mem *mems, cl_uint ne,
				      const cl_event *wait, cl_event *ev)
{
	ck_assert(n == 1 && mems && mems[0] && ne == 0 && !wait && !ev);
	ck_assert_msg(dbl.acquires == dbl.releases, "acquired twice without a release");
	dbl.acquires++;
	dbl.last_acquired = mems[0];
	return CL_SUCCESS;
}

static cl_int CL_API_CALL dbl_release(cl_command_queue q, cl_uint n, const cl_mem *mems, cl_uint ne,
				      const cl_event *wait, cl_event *ev)
{
	ck_assert(n == 1 && mems[0] == dbl.last_acquired && ne == 0 && !wait && !ev);
	dbl.releases++;
	return CL_SUCCESS;
}

static int device_has_import(void)
{
	struct vigil_cl_device *dev;

	ck_assert_msg(vigil_cl_device_get(NULL, &dev) == 0, "%s", vigil_last_error());
	return dev->has_dmabuf_import;
}

static cl_device_id the_device(void)
{
	struct vigil_cl_device *dev;

	ck_assert_int_eq(vigil_cl_device_get(NULL, &dev), 0);
	return dev->device;
}

START_TEST(test_import_khr_double)
{
	const struct vigil_cl_import_api api = {
		.kind = VIGIL_CL_IMPORT_KHR,
		.create_buffer_with_properties = dbl_create,
		.acquire = dbl_acquire,
		.release = dbl_release,
	};
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(VIGIL_BACKEND_CPU, &m1), *cl;
	struct vigil_backend_info info;
	struct dbuf b[3], other, small;
	size_t faces = 0;
	int reused;
	char *log;

	dbuf_make(&b[0], "sample1.jpg", 301, 203);
	dbuf_make(&b[1], "sample2.jpg", 301, 203);
	dbuf_make(&b[2], "sample3.jpg", 301, 203);
	vigil_cl_import_override(&api);
	log_begin();
	cl = detector(VIGIL_BACKEND_OPENCL, &m2);
	vigil_cl_import_override(NULL);
	/* a ring of three buffers, twice round: three imports */
	for (int i = 0; i < 6; i++) {
		faces += same_as_cpu(cpu, cl, &b[i % 3].frame);
		ck_assert_int_eq(dbl.creates, i < 3 ? i + 1 : 3);
		ck_assert_int_eq(dbl.acquires, i + 1);
		ck_assert_int_eq(dbl.releases, i + 1);
		if (i < 3) {
			/* { DMA_BUF handle type, fd, device list, device, end of list, 0 } */
			ck_assert_int_eq(dbl.n_props, 4);
			ck_assert(dbl.props[0] == CL_EXTERNAL_MEMORY_HANDLE_DMA_BUF_KHR);
			ck_assert(dbl.props[1] == (cl_ulong)b[i].fd);
			ck_assert(dbl.props[2] == CL_DEVICE_HANDLE_LIST_KHR);
			ck_assert(dbl.props[3] == (cl_ulong)(intptr_t)the_device());
			ck_assert(dbl.props[4] == CL_DEVICE_HANDLE_LIST_END_KHR && dbl.props[4] == 0);
			ck_assert(dbl.flags == CL_MEM_READ_ONLY);
			ck_assert_uint_eq(dbl.size, b[i].size);
			ck_assert(dbl.host_ptr == NULL);
		}
		vigil_detector_backend_info(cl, &info);
		ck_assert_int_eq(info.upload_bytes_per_frame, 0);
	}
	ck_assert_int_gt(faces, 0);
	/* the fd number of buffer 0 now names another buffer (sample3's picture): imported anew, never the stale one */
	dbuf_make(&other, "sample3.jpg", 301, 203);
	reused = b[0].fd;
	ck_assert_int_eq(dup3(other.fd, reused, O_CLOEXEC), reused);
	close(other.fd);
	other.fd = reused;
	b[0].fd = -1;
	munmap(b[0].map, b[0].size);
	ck_assert_int_eq(other.desc.size, b[0].size);
	other.desc.fd = reused;
	same_as_cpu(cpu, cl, &other.frame);
	ck_assert_int_eq(dbl.creates, 4);
	/* buffer 1 again: still cached */
	same_as_cpu(cpu, cl, &b[1].frame);
	ck_assert_int_eq(dbl.creates, 4);
	ck_assert_int_eq(dbl.destroyed, 0);
	/* a new geometry: every import is released */
	dbuf_make(&small, "sample1.jpg", 200, 150);
	same_as_cpu(cpu, cl, &small.frame);
	ck_assert_int_eq(dbl.creates, 5);
	ck_assert_int_eq(dbl.destroyed, 4);
	vigil_detector_destroy(cl);
	ck_assert_int_eq(dbl.destroyed, 5);
	log = log_end();
	ck_assert_int_eq(count(log, "frame path: DMABUF import (cl_khr_external_memory_dma_buf), no copy"), 1);
	ck_assert_int_eq(count(log, "frame path: DMABUF frames are copied"), 0);
	free(log);
	dbuf_free(&small);
	dbuf_free(&other);
	dbuf_free(&b[2]);
	dbuf_free(&b[1]);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}
END_TEST

START_TEST(test_import_arm_double)
{
	const struct vigil_cl_import_api api = { .kind = VIGIL_CL_IMPORT_ARM, .import_memory_arm = dbl_import_arm };
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(VIGIL_BACKEND_CPU, &m1), *cl;
	struct dbuf b;

	dbuf_make(&b, "sample1.jpg", 320, 240);
	vigil_cl_import_override(&api);
	cl = detector(VIGIL_BACKEND_OPENCL, &m2);
	vigil_cl_import_override(NULL);
	ck_assert_int_gt(same_as_cpu(cpu, cl, &b.frame), 0);
	same_as_cpu(cpu, cl, &b.frame);
	ck_assert_int_eq(dbl.creates, 1);
	ck_assert(dbl.arm_props_ok);
	ck_assert_int_eq(dbl.arm_fd, b.fd);
	ck_assert(dbl.flags == CL_MEM_READ_ONLY);
	ck_assert_uint_eq(dbl.size, b.size);
	ck_assert_int_eq(dbl.acquires, 0);
	vigil_detector_destroy(cl);
	ck_assert_int_eq(dbl.destroyed, 1);
	dbuf_free(&b);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}
END_TEST

/* The driver refuses the import: one warning with the status, then copies (no second attempt). */
START_TEST(test_import_failure_falls_back)
{
	const struct vigil_cl_import_api api = {
		.kind = VIGIL_CL_IMPORT_KHR,
		.create_buffer_with_properties = dbl_create,
		.acquire = dbl_acquire,
		.release = dbl_release,
	};
	struct vigil_model *m1, *m2;
	struct vigil_detector *cpu = detector(VIGIL_BACKEND_CPU, &m1), *cl;
	struct vigil_backend_info info;
	struct dbuf b;
	char *log;

	dbuf_make(&b, "sample1.jpg", 301, 203);
	dbl.fail = 1;
	vigil_cl_import_override(&api);
	cl = detector(VIGIL_BACKEND_OPENCL, &m2);
	vigil_cl_import_override(NULL);
	log_begin();
	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(same_as_cpu(cpu, cl, &b.frame), 0);
	log = log_end();
	ck_assert_int_eq(dbl.creates, 1);
	ck_assert_int_eq(dbl.acquires, 0);
	vigil_detector_backend_info(cl, &info);
	ck_assert_int_gt(info.upload_bytes_per_frame, 0);
	ck_assert_int_eq(count(log, "frame path:"), 1);
	ck_assert_msg(strstr(log, "failed with CL_INVALID_OPERATION; falling back to copying frames") != NULL, "%s",
		      log);
	free(log);
	dbuf_free(&b);
	vigil_detector_destroy(cl);
	vigil_detector_destroy(cpu);
	vigil_model_close(m2);
	vigil_model_close(m1);
}
END_TEST

/* The entry points come from the extension string (PoCL: none, with the reason). */
START_TEST(test_api_init)
{
	struct vigil_cl_device *dev;
	struct vigil_cl_import_api api;

	ck_assert_int_eq(vigil_cl_device_get(NULL, &dev), 0);
	vigil_cl_import_api_init(&api, dev->platform, "cl_khr_icd cl_khr_fp64");
	ck_assert_int_eq(api.kind, VIGIL_CL_IMPORT_NONE);
	ck_assert(strstr(api.why_not, "neither") != NULL);
	/* a prefix of a name is not the name */
	vigil_cl_import_api_init(&api, dev->platform, "cl_khr_external_memory_dma_buffer cl_arm_import_memory_x");
	ck_assert_int_eq(api.kind, VIGIL_CL_IMPORT_NONE);
	/* offered: the kind follows the entry points the platform hands out (PoCL: none, named in the reason;
	 * NVIDIA's driver has cl_khr_external_memory for other handle types, so it has the KHR entry points) */
	vigil_cl_import_api_init(&api, dev->platform, "cl_khr_external_memory cl_khr_external_memory_dma_buf");
	if (clGetExtensionFunctionAddressForPlatform(dev->platform, "clEnqueueAcquireExternalMemObjectsKHR") &&
	    clGetExtensionFunctionAddressForPlatform(dev->platform, "clEnqueueReleaseExternalMemObjectsKHR")) {
		ck_assert_msg(api.kind == VIGIL_CL_IMPORT_KHR || strstr(api.why_not, "clCreateBufferWithProperties"),
			      "kind %d: %s", (int)api.kind, api.why_not);
	} else {
		ck_assert_int_eq(api.kind, VIGIL_CL_IMPORT_NONE);
		ck_assert_msg(strstr(api.why_not, "ExternalMemObjectsKHR") != NULL, "%s", api.why_not);
	}
	vigil_cl_import_api_init(&api, dev->platform, "cl_arm_import_memory cl_arm_import_memory_dma_buf");
	if (clGetExtensionFunctionAddressForPlatform(dev->platform, "clImportMemoryARM")) {
		ck_assert_int_eq(api.kind, VIGIL_CL_IMPORT_ARM);
	} else {
		ck_assert_int_eq(api.kind, VIGIL_CL_IMPORT_NONE);
		ck_assert_msg(strstr(api.why_not, "clImportMemoryARM") != NULL, "%s", api.why_not);
	}
	ck_assert_int_eq(dev->has_dmabuf_import, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("opencl_dmabuf");
	TCase *t = tcase_create("dmabuf");

	setenv("VIGIL_DEBUG", "opencl:3", 1);
	tcase_add_test(t, test_api_init);
	tcase_add_test(t, test_fallback);
	tcase_add_test(t, test_bad_dmabuf);
	tcase_add_test(t, test_import_khr_double);
	tcase_add_test(t, test_import_arm_double);
	tcase_add_test(t, test_import_failure_falls_back);
	suite_add_tcase(s, t);
	return tu_run(s, CK_FORK);
}
