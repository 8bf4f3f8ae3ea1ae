/* SPDX-License-Identifier: Apache-2.0
 * The choice of preprocessing kernels, once per process, from the features dispatch.c detected (so
 * VIGIL_FORCE_C=1 and VIGIL_CPU_DISABLE apply to them too). */
#include <pthread.h>

#include "error.h"
#include "kernels.h"
#include "preprocess_kernels.h"

struct prep_candidate {
	const struct vigil_prep_kernels *set;
	unsigned needs;
};

/* Best first, the reference last. */
static const struct prep_candidate prep_candidates[] = {
#if VIGIL_HAVE_AVX512
	{ &vigil_prep_kernels__avx512, VIGIL_CPU_AVX512 },
#endif
#if VIGIL_HAVE_AVX2
	{ &vigil_prep_kernels__avx2, VIGIL_CPU_AVX2 },
#endif
#if VIGIL_HAVE_NEON
	{ &vigil_prep_kernels__neon, VIGIL_CPU_NEON },
#endif
	{ &vigil_prep_kernels__c, 0 },
};

#define N_PREP (sizeof(prep_candidates) / sizeof(prep_candidates[0]))

static pthread_once_t prep_once = PTHREAD_ONCE_INIT;
static const struct vigil_prep_kernels *prep_usable[N_PREP];
static int prep_n;

static void prep_choose(void)
{
	const unsigned f = vigil_cpu_features();

	for (size_t i = 0; i < N_PREP; i++)
		if ((f & prep_candidates[i].needs) == prep_candidates[i].needs)
			prep_usable[prep_n++] = prep_candidates[i].set;
	vigil_log("cpu", VIGIL_LOG_INFO, "preprocessing kernels %s", prep_usable[0]->isa);
}

const struct vigil_prep_kernels *vigil_prep_kernels(void)
{
	pthread_once(&prep_once, prep_choose);
	return prep_usable[0];
}

int vigil_prep_kernel_sets(const struct vigil_prep_kernels *const **sets)
{
	pthread_once(&prep_once, prep_choose);
	*sets = prep_usable;
	return prep_n;
}
