/* SPDX-License-Identifier: Apache-2.0
 * OpenCL device selection, contexts and the program cache. Programs are built here and nowhere else,
 * so that the per-frame path never compiles: a detector's create() calls vigil_cl_device_get() once. */
#include "cl_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "vigil/vigil.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 16
#define CACHE_MAGIC "VIGILCL1"
#define BUILD_OPTIONS "-cl-std=CL1.2 -DOC_BLOCK=4"

/* The kernels, .incbin-ed by accel/opencl/meson.build (NUL-terminated). */
extern const char vigil_cl_kernels[];

struct entry {
	struct vigil_cl_device dev;
	uint64_t source_hash;
	struct entry *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries; /* kept for the life of the process: the in-memory program cache */
static struct vigil_cl_cache_stats stats;

const char *vigil_cl_status_name(cl_int s)
{
	switch (s) {
#define N(x)                                                                                                           \
	case x:                                                                                                        \
		return #x
		N(CL_SUCCESS);
		N(CL_DEVICE_NOT_FOUND);
		N(CL_DEVICE_NOT_AVAILABLE);
		N(CL_COMPILER_NOT_AVAILABLE);
		N(CL_MEM_OBJECT_ALLOCATION_FAILURE);
		N(CL_OUT_OF_RESOURCES);
		N(CL_OUT_OF_HOST_MEMORY);
		N(CL_BUILD_PROGRAM_FAILURE);
		N(CL_INVALID_VALUE);
		N(CL_INVALID_PLATFORM);
		N(CL_INVALID_DEVICE);
		N(CL_INVALID_CONTEXT);
		N(CL_INVALID_COMMAND_QUEUE);
		N(CL_INVALID_MEM_OBJECT);
		N(CL_INVALID_BINARY);
		N(CL_INVALID_BUILD_OPTIONS);
		N(CL_INVALID_PROGRAM);
		N(CL_INVALID_PROGRAM_EXECUTABLE);
		N(CL_INVALID_KERNEL_NAME);
		N(CL_INVALID_KERNEL);
		N(CL_INVALID_ARG_INDEX);
		N(CL_INVALID_ARG_VALUE);
		N(CL_INVALID_ARG_SIZE);
		N(CL_INVALID_KERNEL_ARGS);
		N(CL_INVALID_WORK_DIMENSION);
		N(CL_INVALID_WORK_GROUP_SIZE);
		N(CL_INVALID_GLOBAL_OFFSET);
		N(CL_INVALID_EVENT_WAIT_LIST);
		N(CL_INVALID_OPERATION);
		N(CL_INVALID_BUFFER_SIZE);
		N(CL_INVALID_GLOBAL_WORK_SIZE);
		N(CL_MISALIGNED_SUB_BUFFER_OFFSET);
#undef N
	case -1001:
		return "CL_PLATFORM_NOT_FOUND_KHR";
	default:
		return "unknown OpenCL status";
	}
}

void vigil_cl_cache_stats(struct vigil_cl_cache_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = stats;
	pthread_mutex_unlock(&lock);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	/* a separator, so that ("ab","c") and ("a","bc") differ */
	h ^= 0xff;
	return h * 1099511628211ull;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv1a(h, s, strlen(s));
}

/* The kernel source: the embedded copy, or $VIGIL_CL_KERNEL_DIR/vigil_kernels.cl (development override).
 * Returns a malloc'ed string. */
static int load_source(char **out)
{
	const char *dir = getenv("VIGIL_CL_KERNEL_DIR");
	char path[4096];
	FILE *f;
	long n;
	char *s;

	*out = NULL;
	if (!dir || !*dir) {
		*out = strdup(vigil_cl_kernels);
		return *out ? 0 : vigil_error(-ENOMEM, "out of memory for the OpenCL source");
	}
	snprintf(path, sizeof(path), "%s/vigil_kernels.cl", dir);
	f = fopen(path, "rb");
	if (!f)
		return vigil_error(-ENOENT, "VIGIL_CL_KERNEL_DIR: cannot open %s", path);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 || n > (1 << 24)) {
		fclose(f);
		return vigil_error(-EIO, "VIGIL_CL_KERNEL_DIR: cannot read %s", path);
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		fclose(f);
		return vigil_error(-ENOMEM, "out of memory for %s", path);
	}
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		fclose(f);
		return vigil_error(-EIO, "VIGIL_CL_KERNEL_DIR: short read of %s", path);
	}
	fclose(f);
	s[n] = 0;
	vigil_log("opencl", VIGIL_LOG_WARNING, "kernels from %s (VIGIL_CL_KERNEL_DIR, development override)", path);
	*out = s;
	return 0;
}

/* $XDG_CACHE_HOME/vigil/opencl (or ~/.cache/...), created; "" when there is none. */
static void cache_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char tmp[4096];

	buf[0] = 0;
	if (xdg && xdg[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", xdg);
	else if (home && home[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s/.cache", home);
	else
		return;
	mkdir(tmp, 0755);
	strncat(tmp, "/vigil", sizeof(tmp) - strlen(tmp) - 1);
	mkdir(tmp, 0755);
	strncat(tmp, "/opencl", sizeof(tmp) - strlen(tmp) - 1);
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return;
	snprintf(buf, size, "%s", tmp);
}

static unsigned char *read_cached(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char magic[8];
	uint64_t n;
	unsigned char *b = NULL;

	if (!f)
		return NULL;
	if (fread(magic, 1, 8, f) == 8 && memcmp(magic, CACHE_MAGIC, 8) == 0 && fread(&n, sizeof(n), 1, f) == 1 &&
	    n > 0 && n < (1u << 28)) {
		b = malloc(n);
		if (b && fread(b, 1, n, f) != n) {
			free(b);
			b = NULL;
		}
		*size = n;
	}
	fclose(f);
	return b;
}

/* Written to a temporary file and renamed: a concurrent reader sees the old file or the whole new one. */
static void write_cached(const char *path, const unsigned char *b, size_t n)
{
	char tmp[4200];
	uint64_t n64 = n;
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return;
	ok = fwrite(CACHE_MAGIC, 1, 8, f) == 8 && fwrite(&n64, sizeof(n64), 1, f) == 1 && fwrite(b, 1, n, f) == n;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		vigil_log("opencl", VIGIL_LOG_WARNING, "could not write the program cache %s", path);
	}
}

static int build_log_error(struct vigil_cl_device *d, cl_program prog, cl_int st)
{
	size_t n = 0;
	char *log = NULL;
	int ret;

	clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
	if (n > 0 && n < (1u << 20))
		log = calloc(1, n + 1);
	if (log)
		clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
	ret = vigil_error(VIGIL_EUNSUPPORTED, "OpenCL program build failed on %s (%s):\n%s", d->name,
			  vigil_cl_status_name(st), log && log[0] ? log : "(no build log)");
	free(log);
	return ret;
}

/* Builds the program from the disk cache when a binary for exactly this source, options, device and
 * driver is there, else from source (and stores the binary). */
static int build_program(struct vigil_cl_device *d, const char *src)
{
	char dir[4096], path[4200];
	uint64_t key = 14695981039346656037ull;
	unsigned char *bin = NULL;
	size_t bin_size = 0;
	cl_program prog = NULL;
	cl_int st;

	key = fnv_str(key, src);
	key = fnv_str(key, BUILD_OPTIONS);
	key = fnv_str(key, d->platform_name);
	key = fnv_str(key, d->device_name);
	key = fnv_str(key, d->driver_version);
	cache_dir(dir, sizeof(dir));
	path[0] = 0;
	if (dir[0]) {
		snprintf(path, sizeof(path), "%s/%016llx.bin", dir, (unsigned long long)key);
		bin = read_cached(path, &bin_size);
	}
	if (bin) {
		const unsigned char *bins[1] = { bin };
		cl_int bst;

		prog = clCreateProgramWithBinary(d->context, 1, &d->device, &bin_size, bins, &bst, &st);
		free(bin);
		if (prog && st == CL_SUCCESS && bst == CL_SUCCESS &&
		    clBuildProgram(prog, 1, &d->device, BUILD_OPTIONS, NULL, NULL) == CL_SUCCESS) {
			d->program = prog;
			stats.binary_loads++;
			vigil_log("opencl", VIGIL_LOG_INFO, "program for %s loaded from %s", d->name, path);
			return 0;
		}
		if (prog)
			clReleaseProgram(prog);
		vigil_log("opencl", VIGIL_LOG_WARNING, "program cache %s is unusable; rebuilding from source", path);
	}

	prog = clCreateProgramWithSource(d->context, 1, &src, NULL, &st);
	if (!prog)
		return vigil_error(VIGIL_EUNSUPPORTED, "clCreateProgramWithSource on %s: %s", d->name,
				   vigil_cl_status_name(st));
	st = clBuildProgram(prog, 1, &d->device, BUILD_OPTIONS, NULL, NULL);
	stats.source_builds++;
	if (st != CL_SUCCESS) {
		int ret = build_log_error(d, prog, st);

		clReleaseProgram(prog);
		return ret;
	}
	d->program = prog;
	vigil_log("opencl", VIGIL_LOG_INFO, "program for %s built from source", d->name);
	if (path[0] &&
	    clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof(bin_size), &bin_size, NULL) == CL_SUCCESS &&
	    bin_size > 0) {
		bin = malloc(bin_size);
		if (bin) {
			unsigned char *bins[1] = { bin };

			if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof(bins), bins, NULL) == CL_SUCCESS)
				write_cached(path, bin, bin_size);
			free(bin);
		}
	}
	return 0;
}

struct found {
	cl_platform_id platform;
	cl_device_id device;
	int pi, di;
};

static void dev_str(cl_device_id dev, cl_device_info what, char *buf, size_t size)
{
	buf[0] = 0;
	if (clGetDeviceInfo(dev, what, size, buf, NULL) != CL_SUCCESS)
		buf[0] = 0;
	buf[size - 1] = 0;
}

/* Lists every device; *n gets the count. */
static int enumerate(struct found *all, int *n)
{
	cl_platform_id plats[MAX_PLATFORMS];
	cl_uint np = 0;
	cl_int st = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);

	*n = 0;
	if (st != CL_SUCCESS || np == 0)
		return vigil_error(VIGIL_EUNSUPPORTED,
				   "no OpenCL platform (%s); install an ICD such as pocl-opencl-icd",
				   st != CL_SUCCESS ? vigil_cl_status_name(st) : "none listed");
	for (cl_uint p = 0; p < np && p < MAX_PLATFORMS; p++) {
		cl_device_id devs[MAX_DEVICES];
		cl_uint nd = 0;

		if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
			continue;
		for (cl_uint k = 0; k < nd && k < MAX_DEVICES && *n < MAX_PLATFORMS * MAX_DEVICES; k++) {
			all[*n].platform = plats[p];
			all[*n].device = devs[k];
			all[*n].pi = (int)p;
			all[*n].di = (int)k;
			(*n)++;
		}
	}
	if (*n == 0)
		return vigil_error(VIGIL_EUNSUPPORTED, "OpenCL platforms found, but no device");
	return 0;
}

static int select_device(const char *sel, const struct found *all, int n)
{
	int pi, di;
	char tail;

	if (!sel || !*sel) {
		static const cl_device_type prefer[] = { CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR,
							 CL_DEVICE_TYPE_ALL };

		for (int k = 0; k < 3; k++)
			for (int i = 0; i < n; i++) {
				cl_device_type t = 0;

				clGetDeviceInfo(all[i].device, CL_DEVICE_TYPE, sizeof(t), &t, NULL);
				if (t & prefer[k])
					return i;
			}
		return 0;
	}
	if (sscanf(sel, "%d:%d%c", &pi, &di, &tail) == 2 || (sscanf(sel, "%d%c", &di, &tail) == 1 && (pi = 0) == 0)) {
		for (int i = 0; i < n; i++)
			if (all[i].pi == pi && all[i].di == di)
				return i;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char name[256], pname[256];

		dev_str(all[i].device, CL_DEVICE_NAME, name, sizeof(name));
		clGetPlatformInfo(all[i].platform, CL_PLATFORM_NAME, sizeof(pname), pname, NULL);
		pname[sizeof(pname) - 1] = 0;
		if (strcasestr(name, sel) || strcasestr(pname, sel))
			return i;
	}
	return -1;
}

static int no_such_device(const char *sel, const struct found *all, int n)
{
	char list[1024] = "";

	for (int i = 0; i < n; i++) {
		char name[128];
		size_t l = strlen(list);

		dev_str(all[i].device, CL_DEVICE_NAME, name, sizeof(name));
		snprintf(list + l, sizeof(list) - l, "%s%d:%d %s", i ? ", " : "", all[i].pi, all[i].di, name);
	}
	return vigil_error(-EINVAL, "OpenCL device \"%s\" not found; devices: %s", sel, list);
}

static int init_device(struct vigil_cl_device *d, const struct found *f, const char *src)
{
	char ext[8192];
	cl_int st;
	cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)f->platform, 0 };

	d->platform = f->platform;
	d->device = f->device;
	d->platform_index = f->pi;
	d->device_index = f->di;
	dev_str(f->device, CL_DEVICE_NAME, d->device_name, sizeof(d->device_name));
	dev_str(f->device, CL_DRIVER_VERSION, d->driver_version, sizeof(d->driver_version));
	d->platform_name[0] = 0;
	clGetPlatformInfo(f->platform, CL_PLATFORM_NAME, sizeof(d->platform_name), d->platform_name, NULL);
	d->platform_name[sizeof(d->platform_name) - 1] = 0;
	snprintf(d->name, sizeof(d->name), "%d:%d %s (%s, driver %s)", f->pi, f->di, d->device_name, d->platform_name,
		 d->driver_version);
	dev_str(f->device, CL_DEVICE_EXTENSIONS, ext, sizeof(ext));
	vigil_cl_import_api_init(&d->import, f->platform, ext);
	d->has_dmabuf_import = d->import.kind != VIGIL_CL_IMPORT_NONE;
	{
		cl_ulong m = 0;

		size_t wg = 0;

		clGetDeviceInfo(f->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(m), &m, NULL);
		d->max_alloc = (size_t)m;
		clGetDeviceInfo(f->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(wg), &wg, NULL);
		/* One fixed work-group size: implementations that compile per size (PoCL) compile once, and
		 * 64 fills a warp or wavefront on GPUs. Kernels check their bounds for the rounded-up grid. */
		d->local_size = wg >= 64 ? 64 : wg >= 1 ? wg : 1;
	}
	d->context = clCreateContext(props, 1, &f->device, NULL, NULL, &st);
	if (!d->context)
		return vigil_error(VIGIL_EUNSUPPORTED, "clCreateContext on %s: %s", d->name, vigil_cl_status_name(st));
	return build_program(d, src);
}

/* 1 when the vendor file at @p path names a library other than PoCL. */
static int icd_not_pocl(const char *path)
{
	char line[512] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return line[0] && !strcasestr(line, "pocl");
}

int vigil_cl_may_have_gpu(void)
{
	const char *env = getenv("OCL_ICD_VENDORS");
	const char *dir = env && *env ? env : "/etc/OpenCL/vendors";
	struct stat sb;
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
		return icd_not_pocl(dir);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char path[4096];
		const size_t n = strlen(de->d_name);

		if (n < 4 || strcmp(de->d_name + n - 4, ".icd") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		found = icd_not_pocl(path);
	}
	closedir(d);
	return found;
}

int vigil_cl_device_find(const char *selector, int *is_cpu)
{
	struct found all[MAX_PLATFORMS * MAX_DEVICES];
	cl_device_type t = 0;
	int n, i, ret;

	*is_cpu = 0;
	if (!selector || !*selector)
		selector = getenv("VIGIL_CL_DEVICE");
	pthread_mutex_lock(&lock);
	ret = enumerate(all, &n);
	if (ret < 0)
		goto out_unlock;
	i = select_device(selector, all, n);
	if (i < 0) {
		ret = no_such_device(selector, all, n);
		goto out_unlock;
	}
	clGetDeviceInfo(all[i].device, CL_DEVICE_TYPE, sizeof(t), &t, NULL);
	*is_cpu = (t & CL_DEVICE_TYPE_CPU) != 0;
out_unlock:
	pthread_mutex_unlock(&lock);
	return ret;
}

int vigil_cl_device_get(const char *selector, struct vigil_cl_device **out)
{
	struct found all[MAX_PLATFORMS * MAX_DEVICES];
	struct entry *e;
	char *src = NULL;
	uint64_t h;
	int n, i, ret;

	*out = NULL;
	if (!selector || !*selector)
		selector = getenv("VIGIL_CL_DEVICE");
	ret = load_source(&src);
	if (ret < 0)
		return ret;
	h = fnv_str(14695981039346656037ull, src);

	pthread_mutex_lock(&lock);
	ret = enumerate(all, &n);
	if (ret < 0)
		goto out_unlock;
	i = select_device(selector, all, n);
	if (i < 0) {
		ret = no_such_device(selector, all, n);
		goto out_unlock;
	}
	for (e = entries; e; e = e->next)
		if (e->dev.device == all[i].device && e->source_hash == h) {
			stats.memory_hits++;
			*out = &e->dev;
			ret = 0;
			goto out_unlock;
		}
	e = calloc(1, sizeof(*e));
	if (!e) {
		ret = vigil_error(-ENOMEM, "out of memory for an OpenCL device");
		goto out_unlock;
	}
	ret = init_device(&e->dev, &all[i], src);
	if (ret < 0) {
		if (e->dev.context)
			clReleaseContext(e->dev.context);
		free(e);
		goto out_unlock;
	}
	e->source_hash = h;
	e->next = entries;
	entries = e;
	vigil_log("opencl", VIGIL_LOG_INFO, "device %s, DMABUF import: %s", e->dev.name,
		  e->dev.has_dmabuf_import ? vigil_cl_import_name(e->dev.import.kind) : e->dev.import.why_not);
	*out = &e->dev;
out_unlock:
	pthread_mutex_unlock(&lock);
	free(src);
	return ret;
}
