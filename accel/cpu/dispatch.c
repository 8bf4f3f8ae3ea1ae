/* SPDX-License-Identifier: Apache-2.0
 * CPU feature detection and the choice of kernel set, both once per process (see kernels.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20) /* Linux arch/arm64 uapi hwcap.h */
#endif
#endif

#define LOG_CAT "cpu"

struct candidate {
	const struct vigil_f32_kernels *set;
	unsigned needs; /* VIGIL_CPU_* bits */
};

/* Best first; the reference is implied last. */
static const struct candidate candidates[] = {
#if VIGIL_HAVE_AVX512
	{ &vigil_f32_kernels__avx512, VIGIL_CPU_AVX512 },
#endif
#if VIGIL_HAVE_AVX2
	{ &vigil_f32_kernels__avx2, VIGIL_CPU_AVX2 },
#endif
#if VIGIL_HAVE_NEON
	{ &vigil_f32_kernels__neon, VIGIL_CPU_NEON },
#endif
	{ NULL, 0 },
};

#define MAX_SETS (sizeof(candidates) / sizeof(candidates[0]))

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned features;
static struct vigil_f32_kernels filled[MAX_SETS]; /* candidates with NULLs filled from the reference */
static const struct vigil_f32_kernels *usable[MAX_SETS];
static int n_usable;

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long xgetbv0(void)
{
	unsigned lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect(void)
{
	unsigned a, b, c, d, f = 0;
	unsigned long long xcr0;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	/* OSXSAVE, AVX and FMA; then the OS must save the YMM (and for AVX-512 the opmask/ZMM) state */
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_FMA))
		return 0;
	xcr0 = xgetbv0();
	if ((xcr0 & 0x6) != 0x6)
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	if (b & bit_AVX2)
		f |= VIGIL_CPU_AVX2;
	if ((f & VIGIL_CPU_AVX2) && (xcr0 & 0xe6) == 0xe6 && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
	    (b & bit_AVX512VL) && (b & bit_AVX512DQ)) {
		f |= VIGIL_CPU_AVX512;
		if (c & bit_AVX512VNNI)
			f |= VIGIL_CPU_AVX512VNNI;
	}
	return f;
}
#elif defined(__aarch64__)
static unsigned detect(void)
{
	/* NEON (AdvSIMD) is architectural on aarch64; the ARMv8.2 dot product (SDOT/UDOT) is optional and
	 * reported by the kernel, for the quantized kernels that use it */
	unsigned f = VIGIL_CPU_NEON;

	if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP)
		f |= VIGIL_CPU_DOTPROD;
	return f;
}
#else
static unsigned detect(void)
{
	return 0;
}
#endif

static const struct {
	const char *name;
	unsigned bits;
} feature_names[] = {
	{ "avx2", VIGIL_CPU_AVX2 },
	{ "avx512", VIGIL_CPU_AVX512 | VIGIL_CPU_AVX512VNNI },
	{ "avx512vnni", VIGIL_CPU_AVX512VNNI },
	{ "neon", VIGIL_CPU_NEON | VIGIL_CPU_DOTPROD },
	{ "dotprod", VIGIL_CPU_DOTPROD },
};

/* VIGIL_CPU_DISABLE="avx512,avx2": features to pretend the CPU lacks */
static unsigned disabled_features(void)
{
	const char *env = getenv("VIGIL_CPU_DISABLE");
	unsigned off = 0;
	char buf[128];

	if (!env)
		return 0;
	strncpy(buf, env, sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (strcmp(tok, feature_names[i].name) == 0)
				break;
		if (i == sizeof(feature_names) / sizeof(feature_names[0]))
			vigil_log(LOG_CAT, VIGIL_LOG_WARNING, "VIGIL_CPU_DISABLE: unknown feature '%s' ignored", tok);
		else
			off |= feature_names[i].bits;
	}
	return off;
}

static void fill(struct vigil_f32_kernels *k, const struct vigil_f32_kernels *src)
{
	const struct vigil_f32_kernels *ref = &vigil_f32_kernels__c;

	*k = *src;
	if (!k->conv2d) {
		k->conv2d = ref->conv2d;
		k->conv2d_oc_block = ref->conv2d_oc_block;
	}
	if (!k->dwconv2d) {
		k->dwconv2d = ref->dwconv2d;
		k->dwconv2d_c_block = ref->dwconv2d_c_block;
	}
	if (!k->maxpool2d)
		k->maxpool2d = ref->maxpool2d;
	if (!k->add)
		k->add = ref->add;
	if (!k->clamp)
		k->clamp = ref->clamp;
	if (!k->resize_bilinear)
		k->resize_bilinear = ref->resize_bilinear;
}

static void choose(void)
{
	const char *force = getenv("VIGIL_FORCE_C");
	const int forced = force && force[0] && strcmp(force, "0") != 0;
	char names[128] = "";

	features = forced ? 0 : detect() & ~disabled_features();
	for (size_t i = 0; candidates[i].set; i++) {
		if ((features & candidates[i].needs) != candidates[i].needs)
			continue;
		fill(&filled[n_usable], candidates[i].set);
		usable[n_usable] = &filled[n_usable];
		n_usable++;
	}
	usable[n_usable++] = &vigil_f32_kernels__c;
	for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
		const unsigned own = feature_names[i].bits & -feature_names[i].bits; /* the lowest bit is its own */

		if (features & own) {
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
			strncat(names, feature_names[i].name, sizeof(names) - strlen(names) - 1);
		}
	}
	vigil_log(LOG_CAT, VIGIL_LOG_INFO, "features:%s%s; kernels %s (conv2d weights %s)", names[0] ? names : " none",
		  forced ? " (VIGIL_FORCE_C)" : "", usable[0]->isa, usable[0]->conv2d_oc_block ? "blocked" : "HWIO");
}

unsigned vigil_cpu_features(void)
{
	pthread_once(&once, choose);
	return features;
}

const struct vigil_f32_kernels *vigil_cpu_kernels(void)
{
	pthread_once(&once, choose);
	return usable[0];
}

int vigil_cpu_kernel_sets(const struct vigil_f32_kernels *const **sets)
{
	pthread_once(&once, choose);
	*sets = usable;
	return n_usable;
}
