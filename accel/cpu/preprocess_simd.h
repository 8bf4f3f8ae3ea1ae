/* SPDX-License-Identifier: Apache-2.0
 * Preprocessing row kernels written once for any vector width (see preprocess_kernels.h for the contract).
 * The including ISA file defines, for PREP_N lanes of 32 bits:
 *   PVF, PVI                  float and int vector types
 *   pgather(base, off)        PVI of the 4-byte windows at base + off[0..PREP_N-1] (unaligned)
 *   pbyte(w, k)               byte k (0..3, may be a variable) of each window, as float
 *   pload(p), pset1(x), padd, psub, pmul, pmin, pmax
 *   pstore3(out, r, g, b)     3 * PREP_N floats r0 g0 b0 r1 g1 b1 ...
 *   PREP_NAME(op)             vigil_u8_prep_<op>__<isa>;  PREP_TABLE, PREP_ISA
 *   pf32_to_u8(src, dst, n)   the vectorised float -> uint8 conversion
 * Tensor columns go PREP_N at a time; the column tables are padded (VIGIL_PREP_COLS_ALIGN), so the last
 * vector reads valid windows and only its first columns are stored. Every operation is the reference's,
 * in the reference's order, unfused (the files are built with -ffp-contract=off). */
#include <string.h>

#include "preprocess_kernels.h"

static inline PVF pmix(PVF a, PVF b, PVF c, PVF d, PVF fx, PVF fy)
{
	PVF top = padd(a, pmul(fx, psub(b, a)));
	PVF bot = padd(c, pmul(fx, psub(d, c)));

	return padd(top, pmul(fy, psub(bot, top)));
}

/* clamp(v) as the reference writes it: v < 0 ? 0 : v > 255 ? 255 : v */
static inline PVF pclamp(PVF v)
{
	return pmin(pset1(255.0f), pmax(pset1(0.0f), v));
}

/* Colour conversion and normalisation constants, loaded once per row (the output stores could alias the row
 * arguments as far as the compiler knows). */
struct pconst {
	float *out;
	int n;
	const uint8_t *r0[3], *r1[3];
	PVF ns, nb, c128, ys, yo, rv, gu, gv, bu;
};

static inline struct pconst pconst_of(const struct vigil_prep_row *r)
{
	struct pconst k = {
		.out = r->out,
		.n = r->n,
		.r0 = { r->r0[0], r->r0[1], r->r0[2] },
		.r1 = { r->r1[0], r->r1[1], r->r1[2] },
		.ns = pset1(r->ns),
		.nb = pset1(r->nb),
		.c128 = pset1(128.0f),
		.ys = pset1(r->ys),
		.yo = pset1(r->yo),
		.rv = pset1(r->rv),
		.gu = pset1(r->gu),
		.gv = pset1(r->gv),
		.bu = pset1(r->bu),
	};

	return k;
}

/* Stores columns [j, j + PREP_N) of the row, or only those below n. */
static inline void pput(const struct pconst *k, int j, PVF cr, PVF cg, PVF cb)
{
	if (j + PREP_N <= k->n) {
		pstore3(k->out + 3 * (size_t)j, cr, cg, cb);
	} else {
		float tmp[3 * PREP_N];

		pstore3(tmp, cr, cg, cb);
		memcpy(k->out + 3 * (size_t)j, tmp, 3 * sizeof(float) * (size_t)(k->n - j));
	}
}

static inline void pput_yuv(const struct pconst *k, int j, PVF y, PVF u, PVF v)
{
	PVF l = pmul(k->ys, psub(y, k->yo));
	PVF cr, cg, cb;

	u = psub(u, k->c128);
	v = psub(v, k->c128);
	cr = padd(pmul(pclamp(padd(l, pmul(k->rv, v))), k->ns), k->nb);
	cg = padd(pmul(pclamp(psub(psub(l, pmul(k->gu, u)), pmul(k->gv, v))), k->ns), k->nb);
	cb = padd(pmul(pclamp(padd(l, pmul(k->bu, u))), k->ns), k->nb);
	pput(k, j, cr, cg, cb);
}

static void PREP_NAME(nv12)(const struct vigil_prep_row *r)
{
	const struct pconst k = pconst_of(r);
	const int32_t *const oy = r->cols->off_y, *const oc = r->cols->off_c;
	const float *const fxy = r->cols->fx_y, *const fxcs = r->cols->fx_c;
	const PVF fy = pset1(r->fy_y), fyc = pset1(r->fy_c);

	for (int j = 0; j < k.n; j += PREP_N) {
		PVI w0 = pgather(k.r0[0], oy + j), w1 = pgather(k.r1[0], oy + j);
		PVI c0 = pgather(k.r0[1], oc + j), c1 = pgather(k.r1[1], oc + j);
		PVF fx = pload(fxy + j), fxc = pload(fxcs + j);
		PVF y = pmix(pbyte(w0, 0), pbyte(w0, 1), pbyte(w1, 0), pbyte(w1, 1), fx, fy);
		PVF u = pmix(pbyte(c0, 0), pbyte(c0, 2), pbyte(c1, 0), pbyte(c1, 2), fxc, fyc);
		PVF v = pmix(pbyte(c0, 1), pbyte(c0, 3), pbyte(c1, 1), pbyte(c1, 3), fxc, fyc);

		pput_yuv(&k, j, y, u, v);
	}
}

static void PREP_NAME(i420)(const struct vigil_prep_row *r)
{
	const struct pconst k = pconst_of(r);
	const int32_t *const oy = r->cols->off_y, *const oc = r->cols->off_c;
	const float *const fxy = r->cols->fx_y, *const fxcs = r->cols->fx_c;
	const PVF fy = pset1(r->fy_y), fyc = pset1(r->fy_c);

	for (int j = 0; j < k.n; j += PREP_N) {
		PVI w0 = pgather(k.r0[0], oy + j), w1 = pgather(k.r1[0], oy + j);
		PVI u0 = pgather(k.r0[1], oc + j), u1 = pgather(k.r1[1], oc + j);
		PVI v0 = pgather(k.r0[2], oc + j), v1 = pgather(k.r1[2], oc + j);
		PVF fx = pload(fxy + j), fxc = pload(fxcs + j);
		PVF y = pmix(pbyte(w0, 0), pbyte(w0, 1), pbyte(w1, 0), pbyte(w1, 1), fx, fy);
		PVF u = pmix(pbyte(u0, 0), pbyte(u0, 1), pbyte(u1, 0), pbyte(u1, 1), fxc, fyc);
		PVF v = pmix(pbyte(v0, 0), pbyte(v0, 1), pbyte(v1, 0), pbyte(v1, 1), fxc, fyc);

		pput_yuv(&k, j, y, u, v);
	}
}

static void PREP_NAME(yuv422)(const struct vigil_prep_row *r)
{
	const struct pconst k = pconst_of(r);
	const int32_t *const oy = r->cols->off_y, *const oc = r->cols->off_c;
	const float *const fxy = r->cols->fx_y, *const fxcs = r->cols->fx_c;
	const PVF fy = pset1(r->fy_y);
	const int uo = r->go, vo = r->bo;

	for (int j = 0; j < k.n; j += PREP_N) {
		PVI w0 = pgather(k.r0[0], oy + j), w1 = pgather(k.r1[0], oy + j);
		PVI lo0 = pgather(k.r0[0], oc + j), lo1 = pgather(k.r1[0], oc + j);
		PVI hi0 = pgather(k.r0[0] + 4, oc + j), hi1 = pgather(k.r1[0] + 4, oc + j);
		PVF fx = pload(fxy + j), fxc = pload(fxcs + j);
		PVF y = pmix(pbyte(w0, 0), pbyte(w0, 2), pbyte(w1, 0), pbyte(w1, 2), fx, fy);
		PVF u = pmix(pbyte(lo0, uo), pbyte(hi0, uo), pbyte(lo1, uo), pbyte(hi1, uo), fxc, fy);
		PVF v = pmix(pbyte(lo0, vo), pbyte(hi0, vo), pbyte(lo1, vo), pbyte(hi1, vo), fxc, fy);

		pput_yuv(&k, j, y, u, v);
	}
}

static void PREP_NAME(rgb)(const struct vigil_prep_row *r)
{
	const struct pconst k = pconst_of(r);
	const int32_t *const oy = r->cols->off_y;
	const float *const fxy = r->cols->fx_y;
	const PVF fy = pset1(r->fy_y);
	const int bpp = r->bpp, ro = r->ro, go = r->go, bo = r->bo;

	for (int j = 0; j < k.n; j += PREP_N) {
		PVI a = pgather(k.r0[0], oy + j), c = pgather(k.r1[0], oy + j);
		PVI b = pgather(k.r0[0] + bpp, oy + j), d = pgather(k.r1[0] + bpp, oy + j);
		PVF fx = pload(fxy + j);
		PVF cr = pmix(pbyte(a, ro), pbyte(b, ro), pbyte(c, ro), pbyte(d, ro), fx, fy);
		PVF cg = pmix(pbyte(a, go), pbyte(b, go), pbyte(c, go), pbyte(d, go), fx, fy);
		PVF cb = pmix(pbyte(a, bo), pbyte(b, bo), pbyte(c, bo), pbyte(d, bo), fx, fy);

		pput(&k, j, padd(pmul(cr, k.ns), k.nb), padd(pmul(cg, k.ns), k.nb), padd(pmul(cb, k.ns), k.nb));
	}
}

const struct vigil_prep_kernels PREP_TABLE = {
	.isa = PREP_ISA,
	.nv12 = PREP_NAME(nv12),
	.i420 = PREP_NAME(i420),
	.yuv422 = PREP_NAME(yuv422),
	.rgb = PREP_NAME(rgb),
	.f32_to_u8 = pf32_to_u8,
};
