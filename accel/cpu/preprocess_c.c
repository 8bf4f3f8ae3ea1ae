/* SPDX-License-Identifier: Apache-2.0
 * Reference preprocessing row kernels (see preprocess_kernels.h for the contract and the arithmetic). */
#include <math.h>

#include "preprocess_kernels.h"

static float mix(int a, int b, int c, int d, float fx, float fy)
{
	float top = (float)a + fx * ((float)b - (float)a);
	float bot = (float)c + fx * ((float)d - (float)c);

	return top + fy * (bot - top);
}

static float clamp255(float v)
{
	return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
}

/* copied out of the row arguments, which the output stores could alias as far as the compiler knows */
struct coeffs {
	float ns, nb, ys, yo, rv, gu, gv, bu;
};

static struct coeffs coeffs_of(const struct vigil_prep_row *r)
{
	struct coeffs c = { r->ns, r->nb, r->ys, r->yo, r->rv, r->gu, r->gv, r->bu };

	return c;
}

static void put_yuv(const struct coeffs *m, float *out, float y, float u, float v)
{
	float l = m->ys * (y - m->yo);

	u -= 128.0f;
	v -= 128.0f;
	out[0] = clamp255(l + m->rv * v) * m->ns + m->nb;
	out[1] = clamp255(l - m->gu * u - m->gv * v) * m->ns + m->nb;
	out[2] = clamp255(l + m->bu * u) * m->ns + m->nb;
}

static void vigil_u8_prep_nv12__c(const struct vigil_prep_row *r)
{
	const struct vigil_prep_cols t = *r->cols;
	const struct coeffs m = coeffs_of(r);
	const struct vigil_prep_row a = *r;

	for (int j = 0; j < a.n; j++) {
		const uint8_t *y0 = a.r0[0] + t.off_y[j], *y1 = a.r1[0] + t.off_y[j];
		const uint8_t *c0 = a.r0[1] + t.off_c[j], *c1 = a.r1[1] + t.off_c[j];
		float y = mix(y0[0], y0[1], y1[0], y1[1], t.fx_y[j], a.fy_y);
		float u = mix(c0[0], c0[2], c1[0], c1[2], t.fx_c[j], a.fy_c);
		float v = mix(c0[1], c0[3], c1[1], c1[3], t.fx_c[j], a.fy_c);

		put_yuv(&m, a.out + 3 * (size_t)j, y, u, v);
	}
}

static void vigil_u8_prep_i420__c(const struct vigil_prep_row *r)
{
	const struct vigil_prep_cols t = *r->cols;
	const struct coeffs m = coeffs_of(r);
	const struct vigil_prep_row a = *r;

	for (int j = 0; j < a.n; j++) {
		const uint8_t *y0 = a.r0[0] + t.off_y[j], *y1 = a.r1[0] + t.off_y[j];
		const uint8_t *u0 = a.r0[1] + t.off_c[j], *u1 = a.r1[1] + t.off_c[j];
		const uint8_t *v0 = a.r0[2] + t.off_c[j], *v1 = a.r1[2] + t.off_c[j];
		float y = mix(y0[0], y0[1], y1[0], y1[1], t.fx_y[j], a.fy_y);
		float u = mix(u0[0], u0[1], u1[0], u1[1], t.fx_c[j], a.fy_c);
		float v = mix(v0[0], v0[1], v1[0], v1[1], t.fx_c[j], a.fy_c);

		put_yuv(&m, a.out + 3 * (size_t)j, y, u, v);
	}
}

static void vigil_u8_prep_yuv422__c(const struct vigil_prep_row *r)
{
	const struct vigil_prep_cols t = *r->cols;
	const struct coeffs m = coeffs_of(r);
	const struct vigil_prep_row a = *r;
	const int uo = a.go, vo = a.bo;

	for (int j = 0; j < a.n; j++) {
		const uint8_t *y0 = a.r0[0] + t.off_y[j], *y1 = a.r1[0] + t.off_y[j];
		const uint8_t *c0 = a.r0[0] + t.off_c[j], *c1 = a.r1[0] + t.off_c[j];
		float y = mix(y0[0], y0[2], y1[0], y1[2], t.fx_y[j], a.fy_y);
		float u = mix(c0[uo], c0[4 + uo], c1[uo], c1[4 + uo], t.fx_c[j], a.fy_y);
		float v = mix(c0[vo], c0[4 + vo], c1[vo], c1[4 + vo], t.fx_c[j], a.fy_y);

		put_yuv(&m, a.out + 3 * (size_t)j, y, u, v);
	}
}

static void vigil_u8_prep_rgb__c(const struct vigil_prep_row *r)
{
	const struct vigil_prep_cols t = *r->cols;
	const struct vigil_prep_row a = *r;
	const int bpp = a.bpp, ch[3] = { a.ro, a.go, a.bo };

	for (int j = 0; j < a.n; j++) {
		const uint8_t *p0 = a.r0[0] + t.off_y[j], *p1 = a.r1[0] + t.off_y[j];
		float *out = a.out + 3 * (size_t)j;

		for (int k = 0; k < 3; k++) {
			const int o = ch[k];

			out[k] = mix(p0[o], p0[bpp + o], p1[o], p1[bpp + o], t.fx_y[j], a.fy_y) * a.ns + a.nb;
		}
	}
}

static void vigil_u8_f32_to_u8__c(const float *src, uint8_t *dst, size_t n)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (uint8_t)lrintf(clamp255(src[k]));
}

const struct vigil_prep_kernels vigil_prep_kernels__c = {
	.isa = "c",
	.nv12 = vigil_u8_prep_nv12__c,
	.i420 = vigil_u8_prep_i420__c,
	.yuv422 = vigil_u8_prep_yuv422__c,
	.rgb = vigil_u8_prep_rgb__c,
	.f32_to_u8 = vigil_u8_f32_to_u8__c,
};
