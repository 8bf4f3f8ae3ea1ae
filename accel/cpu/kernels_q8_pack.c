/* SPDX-License-Identifier: Apache-2.0
 * Load-time packing for the optimised quantized kernels, the same on every architecture: the requantization
 * epilogue as vectors, the GEMM weight panels (w - zw as int16, in the micro-kernel's tile shape), the paired
 * depthwise weights and the float-exact depthwise weights. The kernels that read them are in kernels_q8_<isa>.c. */
#include "kernels_q8.h"

#include "kernels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DW_CP 16         /* depthwise channels padded to a multiple of this */
#define TILE_BYTES 49152 /* activation tile: mr-multiple pixels x row_stride, kept in L1/L2 */

static size_t round_up(size_t v, size_t m)
{
	return (v + m - 1) / m * m;
}

static void *alloc_zero(size_t bytes)
{
	void *p = aligned_alloc(64, round_up(bytes ? bytes : 1, 64));

	if (p)
		memset(p, 0, round_up(bytes ? bytes : 1, 64));
	return p;
}

void vigil_q8_requant_vec_free(struct vigil_q8_requant_vec *rq)
{
	free(rq->bias);
	free(rq->fscale);
	free(rq->mult);
	free(rq->lshift);
	free(rq->rshift);
	memset(rq, 0, sizeof(*rq));
}

int vigil_q8_requant_vec_init(const struct vigil_q8_conv_args *a, int is_signed, int n, int np,
			      struct vigil_q8_requant_vec *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->bias = alloc_zero((size_t)np * sizeof(int32_t));
	rq->mult = alloc_zero((size_t)np * sizeof(int32_t));
	rq->lshift = alloc_zero((size_t)np * sizeof(int32_t));
	rq->rshift = alloc_zero((size_t)np * sizeof(int32_t));
	if (a->fp32_scale)
		rq->fscale = alloc_zero((size_t)np * sizeof(float));
	if (!rq->bias || !rq->mult || !rq->lshift || !rq->rshift || (a->fp32_scale && !rq->fscale)) {
		vigil_q8_requant_vec_free(rq);
		return -ENOMEM;
	}
	for (int c = 0; c < n; c++) {
		rq->bias[c] = a->bias ? a->bias[c] : 0;
		if (a->fp32_scale)
			rq->fscale[c] = a->fp32_scale[c];
		if (a->multiplier) {
			rq->mult[c] = a->multiplier[c];
			rq->lshift[c] = a->shift[c] > 0 ? a->shift[c] : 0;
			rq->rshift[c] = a->shift[c] > 0 ? 0 : -a->shift[c];
		}
	}
	rq->output_offset = a->output_offset;
	rq->act_min = a->act_min;
	rq->act_max = a->act_max;
	rq->is_signed = is_signed;
	return 0;
}

/* ---- GEMM for convolutions ---------------------------------------------------------------------------------- */

int vigil_q8_gemm_pack(const struct vigil_q8_conv_args *a, int is_signed, struct vigil_q8_gemm_shape shape,
		       struct vigil_q8_gemm *g)
{
	const int8_t *ws = a->weights;
	const uint8_t *wu = a->weights;

	memset(g, 0, sizeof(*g));
	g->mr = shape.mr;
	g->nr = shape.nr;
	g->kg = shape.kg;
	g->dot = shape.dot;
	g->k = a->kh * a->kw * a->in_c;
	g->kp = (int)round_up((size_t)g->k, (size_t)shape.kb);
	g->row_stride = g->dot ? g->kp + 16 : g->kp;
	g->n = a->out_c;
	g->np = (int)round_up((size_t)g->n, (size_t)g->nr);
	g->wo = a->weights_offset;
	if (g->dot)
		g->wb = alloc_zero((size_t)g->np * g->kp);
	else
		g->w = alloc_zero((size_t)g->np * g->kp * sizeof(int16_t));
	if ((!g->w && !g->wb) || vigil_q8_requant_vec_init(a, is_signed, g->n, g->np, &g->rq) < 0) {
		vigil_q8_gemm_free(g);
		return -ENOMEM;
	}
	for (int o = 0; o < g->n; o++) {
		uint32_t wsum = 0;

		for (int k = 0; k < g->k; k++) {
			const size_t src = (size_t)o * g->k + k;
			const size_t dst =
			    (((size_t)(o / g->nr) * (g->kp / g->kg) + k / g->kg) * g->nr + o % g->nr) * g->kg +
			    k % g->kg;
			const int32_t raw = is_signed ? (int32_t)ws[src] : (int32_t)wu[src];

			if (g->dot)
				g->wb[dst] = wu[src];
			else
				g->w[dst] = (int16_t)(raw + a->weights_offset);
			wsum += (uint32_t)raw;
		}
		/* dot: bias + xo * sum w + K * xo * wo (see struct vigil_q8_gemm), wrapping as the kernel's sums do */
		if (g->dot)
			g->rq.bias[o] =
			    (int32_t)((uint32_t)g->rq.bias[o] + (uint32_t)a->input_offset * wsum +
				      (uint32_t)g->k * (uint32_t)a->input_offset * (uint32_t)a->weights_offset);
	}
	return 0;
}

void vigil_q8_gemm_free(struct vigil_q8_gemm *g)
{
	free(g->w);
	free(g->wb);
	vigil_q8_requant_vec_free(&g->rq);
	memset(g, 0, sizeof(*g));
}

int vigil_q8_gemm_tile_pixels(const struct vigil_q8_gemm *g)
{
	const int t = TILE_BYTES / (g->row_stride * (g->dot ? 1 : 2)) / g->mr * g->mr;

	return t < g->mr ? g->mr : t;
}

size_t vigil_q8_gemm_scratch_bytes(const struct vigil_q8_gemm *g)
{
	return round_up((size_t)vigil_q8_gemm_tile_pixels(g) * g->row_stride * (g->dot ? 1 : 2), 64);
}

/* ---- depthwise ---------------------------------------------------------------------------------------------- */

/* The input offset is folded into the bias: sum_t (x + xo) * w' = sum_t x * w' + xo * sum_t w' (w' = w + wo), so the
 * kernel multiplies raw inputs; a padded tap reads the zero point (x = -xo), which contributes x * w' + xo * w' = 0
 * as the reference's skipped tap does. */
int vigil_q8_dw_pack(const struct vigil_q8_conv_args *a, int is_signed, struct vigil_q8_dw *d)
{
	const int8_t *ws = a->weights;
	const uint8_t *wu = a->weights;

	memset(d, 0, sizeof(*d));
	d->c = a->out_c;
	d->cp = (int)round_up((size_t)d->c, DW_CP);
	d->taps = a->kh * a->kw;
	d->pairs = (d->taps + 1) / 2;
	d->w = alloc_zero((size_t)d->pairs * d->cp * 2 * sizeof(int16_t));
	if (!d->w || vigil_q8_requant_vec_init(a, is_signed, d->c, d->cp, &d->rq) < 0) {
		vigil_q8_dw_free(d);
		return -ENOMEM;
	}
	for (int t = 0; t < d->taps; t++)
		for (int c = 0; c < d->c; c++) {
			const size_t src = (size_t)t * d->c + c;
			const int32_t w = (is_signed ? (int32_t)ws[src] : (int32_t)wu[src]) + a->weights_offset;

			d->w[((size_t)(t / 2) * d->cp + c) * 2 + t % 2] = (int16_t)w;
			d->rq.bias[c] += a->input_offset * w;
		}
	return 0;
}

void vigil_q8_dw_free(struct vigil_q8_dw *d)
{
	free(d->w);
	vigil_q8_requant_vec_free(&d->rq);
	memset(d, 0, sizeof(*d));
}

/* ---- depthwise on the float kernels --------------------------------------------------------------------------- */

#define DWF_BYTES 196608 /* float input and output of one band: within L2 */

static int dwf_in_rows(const struct vigil_q8_conv_args *a, int band)
{
	return (band - 1) * a->stride_h + (a->kh - 1) * a->dil_h + 1;
}

int vigil_q8_dwf_pack(const struct vigil_q8_conv_args *a, int is_signed, const struct vigil_f32_kernels *k,
		      struct vigil_q8_dwf *d)
{
	const int8_t *ws = a->weights;
	const uint8_t *wu = a->weights;
	const int c = a->out_c, taps = a->kh * a->kw;
	const size_t row_bytes = ((size_t)a->stride_h * a->in_w + a->out_w) * c * sizeof(float);
	const size_t fixed = (size_t)(a->kh - 1) * a->dil_h * a->in_w * c * sizeof(float);

	memset(d, 0, sizeof(*d));
	if (a->depth_multiplier != 1)
		return -EINVAL;
	for (int ch = 0; ch < c; ch++) {
		int64_t bound = a->bias ? llabs((long long)a->bias[ch]) : 0;

		for (int t = 0; t < taps; t++) {
			const size_t src = (size_t)t * c + ch;

			bound +=
			    255 *
			    llabs((long long)((is_signed ? (int32_t)ws[src] : (int32_t)wu[src]) + a->weights_offset));
		}
		if (bound > (1 << 24))
			return -ERANGE;
	}
	d->c = c;
	d->k = k;
	d->w = alloc_zero((size_t)taps * c * sizeof(float));
	d->bias = alloc_zero((size_t)c * sizeof(float));
	if (!d->w || !d->bias || vigil_q8_requant_vec_init(a, is_signed, c, (int)round_up((size_t)c, 16), &d->rq) < 0)
		goto oom;
	memset(d->rq.bias, 0, (size_t)c * sizeof(int32_t));
	for (int ch = 0; ch < c; ch++)
		d->bias[ch] = a->bias ? (float)a->bias[ch] : 0.0f;
	for (int i = 0; i < taps * c; i++)
		d->w[i] = (float)((is_signed ? (int32_t)ws[i] : (int32_t)wu[i]) + a->weights_offset);
	if (k->dwconv2d_c_block > 0) {
		d->packed =
		    alloc_zero(vigil_f32_dwconv2d_packed_size(c, a->kh, a->kw, k->dwconv2d_c_block) * sizeof(float));
		if (!d->packed)
			goto oom;
		vigil_f32_dwconv2d_pack(d->w, c, a->kh, a->kw, k->dwconv2d_c_block, d->packed);
	}
	d->band = DWF_BYTES > fixed ? (int)((DWF_BYTES - fixed) / row_bytes) : 1;
	d->band = d->band < 1 ? 1 : d->band > a->out_h ? a->out_h : d->band;
	return 0;
oom:
	vigil_q8_dwf_free(d);
	return -ENOMEM;
}

void vigil_q8_dwf_free(struct vigil_q8_dwf *d)
{
	free(d->w);
	free(d->packed);
	free(d->bias);
	vigil_q8_requant_vec_free(&d->rq);
	memset(d, 0, sizeof(*d));
}

size_t vigil_q8_dwf_in_floats(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d)
{
	return round_up((size_t)dwf_in_rows(a, d->band) * a->in_w * d->c * sizeof(float), 64) / sizeof(float);
}

size_t vigil_q8_dwf_scratch_bytes(const struct vigil_q8_conv_args *a, const struct vigil_q8_dwf *d)
{
	return vigil_q8_dwf_in_floats(a, d) * sizeof(float) +
	       round_up((size_t)d->band * a->out_w * d->c * sizeof(float), 64);
}
