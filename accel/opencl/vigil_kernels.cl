/* SPDX-License-Identifier: Apache-2.0
 * Vigil's OpenCL kernels (OpenCL C 1.2, float only: no double, no images). Embedded into libvigil at
 * build time (accel/opencl/meson.build) and built once per device, specialised with -D options:
 *   OC_BLOCK   output channels one work-item of conv2d computes (1, 2 or 4)
 * Tensors are NHWC, batch 1, densely packed floats at an element offset into one activation buffer.
 * Every kernel writes one output element (or OC_BLOCK of them) per work-item; the reference is
 * accel/cpu/kernels_c.c and the tolerances are stated in tests/test_opencl.c. */

#ifndef OC_BLOCK
#define OC_BLOCK 1
#endif

/* Convolution, weights HWIO ([kh][kw][ic][oc]). Optional residual (res_off >= 0, res_c channels, the
 * rest zero) added before the clamp: a following ADD (and a channel PAD of its other operand) fused
 * into the convolution. One work-item: OC_BLOCK channels of one pixel. */
__kernel void conv2d(__global const float *act, int in_off, int in_h, int in_w, int in_c,
		     __global const float *weights, __global const float *bias, int has_bias, int out_off, int out_h,
		     int out_w, int out_c, int kh, int kw, int stride_h, int stride_w, int dil_h, int dil_w, int pad_top,
		     int pad_left, float act_min, float act_max, int res_off, int res_c, __global float *dst)
{
	const int ob = (int)get_global_id(0);
	const int ocb = (out_c + OC_BLOCK - 1) / OC_BLOCK;
	const int pix = ob / ocb, o0 = (ob - pix * ocb) * OC_BLOCK;
	const int oy = pix / out_w, ox = pix - oy * out_w;
	float sum[OC_BLOCK];

	if (pix >= out_h * out_w)
		return;
	for (int k = 0; k < OC_BLOCK; k++)
		sum[k] = has_bias && o0 + k < out_c ? bias[o0 + k] : 0.0f;
	for (int ky = 0; ky < kh; ky++) {
		const int iy = oy * stride_h - pad_top + ky * dil_h;

		if (iy < 0 || iy >= in_h)
			continue;
		for (int kx = 0; kx < kw; kx++) {
			const int ix = ox * stride_w - pad_left + kx * dil_w;

			if (ix < 0 || ix >= in_w)
				continue;
			__global const float *in = act + in_off + (iy * in_w + ix) * in_c;
			__global const float *w = weights + (ky * kw + kx) * in_c * out_c + o0;

			if (o0 + OC_BLOCK <= out_c) {
				for (int c = 0; c < in_c; c++) {
					const float v = in[c];

					for (int k = 0; k < OC_BLOCK; k++)
						sum[k] += v * w[c * out_c + k];
				}
			} else {
				for (int c = 0; c < in_c; c++) {
					const float v = in[c];

					for (int k = 0; k < OC_BLOCK && o0 + k < out_c; k++)
						sum[k] += v * w[c * out_c + k];
				}
			}
		}
	}
	for (int k = 0; k < OC_BLOCK && o0 + k < out_c; k++) {
		float v = sum[k];
		const int at = pix * out_c + o0 + k;

		if (res_off >= 0 && o0 + k < res_c)
			v += act[res_off + pix * res_c + o0 + k];
		dst[out_off + at] = clamp(v, act_min, act_max);
	}
}

/* Depthwise convolution, weights [kh][kw][oc]. */
__kernel void dwconv2d(__global const float *act, int in_off, int in_h, int in_w, int in_c,
		       __global const float *weights, __global const float *bias, int has_bias, int out_off, int out_h,
		       int out_w, int out_c, int mult, int kh, int kw, int stride_h, int stride_w, int dil_h, int dil_w,
		       int pad_top, int pad_left, float act_min, float act_max, __global float *dst)
{
	const int i = (int)get_global_id(0);
	const int pix = i / out_c, o = i - pix * out_c;
	const int oy = pix / out_w, ox = pix - oy * out_w;
	const int c = o / mult;
	float sum;

	if (pix >= out_h * out_w)
		return;
	sum = has_bias ? bias[o] : 0.0f;
	for (int ky = 0; ky < kh; ky++) {
		const int iy = oy * stride_h - pad_top + ky * dil_h;

		if (iy < 0 || iy >= in_h)
			continue;
		for (int kx = 0; kx < kw; kx++) {
			const int ix = ox * stride_w - pad_left + kx * dil_w;

			if (ix < 0 || ix >= in_w)
				continue;
			sum += act[in_off + (iy * in_w + ix) * in_c + c] * weights[(ky * kw + kx) * out_c + o];
		}
	}
	dst[out_off + i] = clamp(sum, act_min, act_max);
}

/* Max pooling; padded positions are ignored, a window entirely in the padding gives 0 (as the CPU). */
__kernel void maxpool2d(__global const float *act, int in_off, int in_h, int in_w, int c, int out_off, int out_h,
			int out_w, int fh, int fw, int stride_h, int stride_w, int pad_top, int pad_left, float act_min,
			float act_max, __global float *dst)
{
	const int i = (int)get_global_id(0);
	const int pix = i / c, k = i - pix * c;
	const int oy = pix / out_w, ox = pix - oy * out_w;
	float m = 0.0f;
	int first = 1;

	if (pix >= out_h * out_w)
		return;
	for (int ky = 0; ky < fh; ky++) {
		const int iy = oy * stride_h - pad_top + ky;

		if (iy < 0 || iy >= in_h)
			continue;
		for (int kx = 0; kx < fw; kx++) {
			const int ix = ox * stride_w - pad_left + kx;

			if (ix < 0 || ix >= in_w)
				continue;
			const float v = act[in_off + (iy * in_w + ix) * c + k];

			m = first ? v : fmax(m, v);
			first = 0;
		}
	}
	dst[out_off + i] = clamp(m, act_min, act_max);
}

/* out = clamp(a + b); b_off < 0: out = clamp(a). b may be a channel-padded view of a smaller tensor
 * (b_c channels of out_c, the rest zero): a following channel PAD fused into the addition. */
__kernel void add(__global const float *act, int a_off, int b_off, int b_c, int out_c, int out_off, int n,
		  float act_min, float act_max, __global float *dst)
{
	const int i = (int)get_global_id(0);
	float v;

	if (i >= n)
		return;
	v = act[a_off + i];
	if (b_off >= 0) {
		const int pix = i / out_c, k = i - pix * out_c;

		if (k < b_c)
			v += act[b_off + pix * b_c + k];
	}
	dst[out_off + i] = clamp(v, act_min, act_max);
}

/* Zero padding of a rank-4 tensor (dims right-aligned): one work-item per output element. */
__kernel void pad4d(__global const float *act, int in_off, int4 in_dims, int4 before, int out_off, int4 out_dims,
		    __global float *dst)
{
	int i = (int)get_global_id(0);
	const int n = out_dims.s0 * out_dims.s1 * out_dims.s2 * out_dims.s3;
	int d3, d2, d1, d0;
	float v = 0.0f;

	if (i >= n)
		return;
	d3 = i % out_dims.s3 - before.s3;
	d2 = i / out_dims.s3 % out_dims.s2 - before.s2;
	d1 = i / (out_dims.s3 * out_dims.s2) % out_dims.s1 - before.s1;
	d0 = i / (out_dims.s3 * out_dims.s2 * out_dims.s1) - before.s0;
	if (d0 >= 0 && d0 < in_dims.s0 && d1 >= 0 && d1 < in_dims.s1 && d2 >= 0 && d2 < in_dims.s2 && d3 >= 0 &&
	    d3 < in_dims.s3)
		v = act[in_off + ((d0 * in_dims.s1 + d1) * in_dims.s2 + d2) * in_dims.s3 + d3];
	dst[out_off + i] = v;
}

/* One input of a concatenation: outer blocks of `block` elements placed at column `col` of rows of
 * `row` elements. Used once per input; the element count is outer * block. */
__kernel void concat_part(__global const float *act, int in_off, int block, int row, int col, int out_off, int n,
			  float act_min, float act_max, __global float *dst)
{
	const int i = (int)get_global_id(0);
	const int o = i / block, k = i - o * block;

	if (i >= n)
		return;
	dst[out_off + o * row + col + k] = clamp(act[in_off + i], act_min, act_max);
}

/* TFLite RESIZE_BILINEAR (align_corners, half_pixel_centers), as resize_taps() in kernels_c.c. */
static void resize_tap(int out_i, int in_size, int out_size, int align_corners, int half_pixel, int *lo, int *hi,
		       float *frac)
{
	const float scale = (align_corners && out_size > 1) ? (float)(in_size - 1) / (float)(out_size - 1)
							    : (float)in_size / (float)out_size;
	const float offset = half_pixel ? 0.5f : 0.0f;
	float src = ((float)out_i + offset) * scale - offset;
	int l;

	if (half_pixel && src < 0.0f)
		src = 0.0f;
	l = (int)src;
	if (src < (float)l)
		l--;
	*lo = l < 0 ? 0 : l;
	*hi = l + 1 < in_size ? l + 1 : in_size - 1;
	*frac = src - (float)l;
}

__kernel void resize_bilinear(__global const float *act, int in_off, int in_h, int in_w, int c, int out_off,
			      int out_h, int out_w, int align_corners, int half_pixel, __global float *dst)
{
	const int i = (int)get_global_id(0);
	const int pix = i / c, k = i - pix * c;
	const int oy = pix / out_w, ox = pix - oy * out_w;
	int y0, y1, x0, x1;
	float fy, fx;

	if (pix >= out_h * out_w)
		return;
	resize_tap(oy, in_h, out_h, align_corners, half_pixel, &y0, &y1, &fy);
	resize_tap(ox, in_w, out_w, align_corners, half_pixel, &x0, &x1, &fx);
	dst[out_off + i] = act[in_off + (y0 * in_w + x0) * c + k] * (1 - fy) * (1 - fx) +
			   act[in_off + (y0 * in_w + x1) * c + k] * (1 - fy) * fx +
			   act[in_off + (y1 * in_w + x0) * c + k] * fy * (1 - fx) +
			   act[in_off + (y1 * in_w + x1) * c + k] * fy * fx;
}

/* ------------------------------------------------------------------------------------------------
 * Preprocessing: the frame (its needed rows uploaded once) -> letterboxed, colour-converted,
 * bilinearly sampled, normalised tensor, with the host's tap tables (pipeline/preprocess.c).
 * taps: int4 (lo, hi, inside, frac bits) for luma_x[w], chroma_x[w], luma_y[h], chroma_y[h].
 * Plane offsets are byte offsets into `frame`, rows relative to `row0` (the first uploaded row). */

/* layout: 0 packed RGB-like/GRAY (bpp, ro, go, bo), 1 NV12, 2 I420, 3 YUY2/UYVY (yo, uo, vo) */
static float mixb(uchar a, uchar b, uchar c, uchar d, float fx, float fy)
{
	const float top = (float)a + fx * (float)((int)b - (int)a);
	const float bot = (float)c + fx * (float)((int)d - (int)c);

	return top + fy * (bot - top);
}

__kernel void preprocess(__global const uchar *frame, int layout, int4 plane_off, int4 stride, int4 row0, int bpp,
			 int4 offs, __global const int4 *taps, int dst_w, int dst_h, float8 yuv, float ns, float nb,
			 int out_off, __global float *dst, __global int *counter)
{
	const int i = (int)get_global_id(0);
	const int y = i / dst_w, x = i - y * dst_w;

	/* resets the candidate count of select_candidates, which runs later in the same in-order queue */
	if (i == 0)
		counter[0] = 0;
	__global float *out;
	int4 tx, cx, ty, cy;
	float fx, fy, cfx, cfy, r, g, b;

	if (y >= dst_h)
		return;
	out = dst + out_off + i * 3;
	tx = taps[x];
	cx = taps[dst_w + x];
	ty = taps[2 * dst_w + y];
	cy = taps[2 * dst_w + dst_h + y];
	if (!tx.s2 || !ty.s2) {
		out[0] = nb;
		out[1] = nb;
		out[2] = nb;
		return;
	}
	fx = as_float(tx.s3);
	fy = as_float(ty.s3);
	cfx = as_float(cx.s3);
	cfy = as_float(cy.s3);
	if (layout == 0) {
		__global const uchar *r0 = frame + plane_off.s0 + (ty.s0 - row0.s0) * stride.s0;
		__global const uchar *r1 = frame + plane_off.s0 + (ty.s1 - row0.s0) * stride.s0;
		const int a = tx.s0 * bpp, bb = tx.s1 * bpp;

		r = mixb(r0[a + offs.s0], r0[bb + offs.s0], r1[a + offs.s0], r1[bb + offs.s0], fx, fy);
		g = mixb(r0[a + offs.s1], r0[bb + offs.s1], r1[a + offs.s1], r1[bb + offs.s1], fx, fy);
		b = mixb(r0[a + offs.s2], r0[bb + offs.s2], r1[a + offs.s2], r1[bb + offs.s2], fx, fy);
	} else {
		float Y, U, V, l;

		if (layout == 3) {
			__global const uchar *r0 = frame + plane_off.s0 + (ty.s0 - row0.s0) * stride.s0;
			__global const uchar *r1 = frame + plane_off.s0 + (ty.s1 - row0.s0) * stride.s0;
			const int yl = tx.s0 * 2 + offs.s0, yh = tx.s1 * 2 + offs.s0;
			const int cl = cx.s0 * 4, ch = cx.s1 * 4;

			Y = mixb(r0[yl], r0[yh], r1[yl], r1[yh], fx, fy);
			U = mixb(r0[cl + offs.s1], r0[ch + offs.s1], r1[cl + offs.s1], r1[ch + offs.s1], cfx, fy);
			V = mixb(r0[cl + offs.s2], r0[ch + offs.s2], r1[cl + offs.s2], r1[ch + offs.s2], cfx, fy);
		} else {
			__global const uchar *y0 = frame + plane_off.s0 + (ty.s0 - row0.s0) * stride.s0;
			__global const uchar *y1 = frame + plane_off.s0 + (ty.s1 - row0.s0) * stride.s0;
			__global const uchar *u0 = frame + plane_off.s1 + (cy.s0 - row0.s1) * stride.s1;
			__global const uchar *u1 = frame + plane_off.s1 + (cy.s1 - row0.s1) * stride.s1;
			__global const uchar *v0, *v1;
			const int step = layout == 1 ? 2 : 1;
			const int cl = cx.s0 * step, ch = cx.s1 * step;

			if (layout == 1) {
				v0 = u0 + 1;
				v1 = u1 + 1;
			} else {
				v0 = frame + plane_off.s2 + (cy.s0 - row0.s2) * stride.s2;
				v1 = frame + plane_off.s2 + (cy.s1 - row0.s2) * stride.s2;
			}
			Y = mixb(y0[tx.s0], y0[tx.s1], y1[tx.s0], y1[tx.s1], fx, fy);
			U = mixb(u0[cl], u0[ch], u1[cl], u1[ch], cfx, cfy);
			V = mixb(v0[cl], v0[ch], v1[cl], v1[ch], cfx, cfy);
		}
		/* yuv: ys, yo, rv, gu, gv, bu */
		l = yuv.s0 * (Y - yuv.s1);
		U -= 128.0f;
		V -= 128.0f;
		r = clamp(l + yuv.s2 * V, 0.0f, 255.0f);
		g = clamp(l - yuv.s3 * U - yuv.s4 * V, 0.0f, 255.0f);
		b = clamp(l + yuv.s5 * U, 0.0f, 255.0f);
	}
	out[0] = r * ns + nb;
	out[1] = g * ns + nb;
	out[2] = b * ns + nb;
}

/* Face decoder's first half on the device: anchors whose logit passes the threshold (logit space, as
 * postprocess.c) are appended to `cand` as (anchor index, logit, 16 coordinates); cand[0] counts them.
 * The host sorts them back into anchor order, so the result does not depend on atomics' order. */
__kernel void select_candidates(__global const float *act, int boxes_off, int logits_off, int n_anchors, int coords,
				float logit_threshold, __global float *cand)
{
	const int i = (int)get_global_id(0);
	__global const float *r;
	__global float *c;
	int at;

	if (i >= n_anchors)
		return;
	if (!(act[logits_off + i] >= logit_threshold))
		return;
	at = atomic_inc((volatile __global int *)cand);
	r = act + boxes_off + i * coords;
	c = cand + 1 + at * (2 + coords);
	c[0] = as_float(i);
	c[1] = act[logits_off + i];
	for (int k = 0; k < coords; k++)
		c[2 + k] = r[k];
}

/* ---- quantized (uint8/int8) kernels: accel/opencl/cl_exec_q8.c --------------------------------------------
 * Bit-exact with accel/cpu/kernels_q8_c.c: integer sums in int32, TFLite's fixed-point requantization in 32-bit
 * arithmetic only (mul_hi: no 64-bit integers needed, so embedded-profile devices without cles_khr_int64 run it
 * too), and the float requantization with IEEE single operations in the C order: no contraction into fma. Bytes
 * live at byte offsets in one activation buffer; sgn selects int8 (else uint8). One output byte per work-item. */
#pragma OPENCL FP_CONTRACT OFF

static int q8_ld(__global const uchar *p, int i, int sgn)
{
	return sgn ? (int)as_char(p[i]) : (int)p[i];
}

/* (a * b * 2) >> 32 rounded half away from zero (vigil_q_srdhm): the 64-bit product as mul_hi and the low word. */
static int q8_srdhm(int a, int b)
{
	const uint lo = (uint)a * (uint)b;
	const int hi = mul_hi(a, b);
	const uint nlo = hi >= 0 ? 0x40000000u : 0xC0000001u; /* nudge 2^30 or 1 - 2^30 */
	const uint slo = lo + nlo;
	const int shi = hi + (hi >= 0 ? 0 : -1) + (slo < lo ? 1 : 0);
	/* floor(s / 2^31), then towards zero as C's division */
	int q = (int)(((uint)shi << 1) | (slo >> 31));

	if (shi < 0 && (slo & 0x7fffffffu) != 0)
		q += 1;
	return a == b && a == INT_MIN ? INT_MAX : q;
}

static int q8_rdbypot(int x, int e)
{
	const int mask = (int)((1u << e) - 1u);
	const int rem = x & mask, thr = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> e) + (rem > thr ? 1 : 0);
}

/* acc (bias included) to the output byte value: mode 0 float scale (XNNPACK), 1 fixed point (TFLite reference). */
static int q8_requant(int acc, int mode, float fs, int m, int sh, int zp, int lo, int hi)
{
	int v;

	if (mode == 0) {
		const float flo = (float)(lo - zp), fhi = (float)(hi - zp);
		float f = (float)acc * fs;

		f = f < flo ? flo : f > fhi ? fhi : f;
		v = (int)rint(f) + zp;
	} else {
		const int left = sh > 0 ? sh : 0, right = sh > 0 ? 0 : -sh;

		v = q8_rdbypot(q8_srdhm((int)((uint)acc << left), m), right) + zp;
	}
	return clamp(v, lo, hi);
}

/* geo: in_h, in_w, in_c, out_h; out_w, out_c, kh, kw; stride_h, stride_w, dil_h, dil_w; pad_top, pad_left,
 * depth_multiplier, depthwise. q: input_offset, (unused), output_offset, act_min; act_max, mode, sgn, has_bias.
 * Weights as int16 with the weight offset already added (w + weights_offset), laid out by the host as
 * [kh][kw][in_c][oc8] for a convolution (oc8: out_c rounded up to 8, zero padded) and [kh][kw][out_c] for a
 * depthwise one. A convolution work-item computes 8 output channels of one pixel (each input byte loaded once for
 * them), a depthwise one a single byte. Integer sums: any order gives the CPU's int32. */
__kernel void q8_conv(__global const uchar *act, int in_off, int out_off, __global const short *w,
		      __global const int *bias, __global const int *mult, __global const int *shift,
		      __global const float *fscale, int4 g0, int4 g1, int4 g2, int4 g3, int4 q0, int4 q1,
		      __global uchar *dst)
{
	const int i = (int)get_global_id(0);
	const int in_h = g0.s0, in_w = g0.s1, in_c = g0.s2, out_h = g0.s3, out_w = g1.s0, out_c = g1.s1;
	const int kh = g1.s2, kw = g1.s3, dw = g3.s3;
	const int oc8 = (out_c + 7) / 8 * 8, per_pix = dw ? out_c : oc8 / 8;
	/* depthwise: channel fastest (neighbours read neighbouring bytes); convolution: pixel fastest, so that a
	 * work-group shares one block of weights (read from cache) rather than streaming all of them per pixel */
	const int n_pix = out_h * out_w, pix = dw ? i / per_pix : i % n_pix, oy = pix / out_w, ox = pix - oy * out_w;
	const int y0 = oy * g2.s0 - g3.s0, x0 = ox * g2.s1 - g3.s1;
	const int xo = q0.s0, sx = q1.s2 ? 0x80 : 0; /* (b ^ sx) - sx: the byte as int8 or uint8 */

	if (dw ? oy >= out_h : i >= n_pix * per_pix)
		return;
	if (dw) {
		const int oc = i - pix * per_pix, ic = oc / g3.s2;
		int acc = 0;

		for (int ky = 0; ky < kh; ky++) {
			const int y = y0 + ky * g2.s2;

			if (y < 0 || y >= in_h)
				continue;
			for (int kx = 0; kx < kw; kx++) {
				const int x = x0 + kx * g2.s3;

				if (x < 0 || x >= in_w)
					continue;
				acc += (int)w[(ky * kw + kx) * out_c + oc] *
				       ((((int)act[in_off + (y * in_w + x) * in_c + ic]) ^ sx) - sx + xo);
			}
		}
		if (q1.s3)
			acc += bias[oc];
		dst[out_off + pix * out_c + oc] =
		    (uchar)q8_requant(acc, q1.s1, fscale[oc], mult[oc], shift[oc], q0.s2, q0.s3, q1.s0);
	} else {
		const int o0 = i / n_pix * 8;
		int8 acc = (int8)(0);
		int a[8];

		for (int ky = 0; ky < kh; ky++) {
			const int y = y0 + ky * g2.s2;

			if (y < 0 || y >= in_h)
				continue;
			for (int kx = 0; kx < kw; kx++) {
				const int x = x0 + kx * g2.s3;
				__global const uchar *ip = act + in_off + (y * in_w + x) * in_c;
				__global const short *wp = w + (ky * kw + kx) * in_c * oc8 + o0;

				if (x < 0 || x >= in_w)
					continue;
				for (int c = 0; c < in_c; c++)
					acc += convert_int8(vload8(0, wp + c * oc8)) * (int8)((((int)ip[c]) ^ sx) - sx + xo);
			}
		}
		vstore8(acc, 0, a);
		for (int k = 0; k < 8 && o0 + k < out_c; k++) {
			const int oc = o0 + k;
			const int v = a[k] + (q1.s3 ? bias[oc] : 0);

			dst[out_off + pix * out_c + oc] =
			    (uchar)q8_requant(v, q1.s1, fscale[oc], mult[oc], shift[oc], q0.s2, q0.s3, q1.s0);
		}
	}
}

/* One input of a CONCATENATION into place: n = outer * block bytes, the output row is stride bytes, this input
 * starts at out_off. rescale: round(q * scale + bias) + zp (vigil_u8_concat__c's float formula). */
__kernel void q8_concat(__global const uchar *act, int in_off, int out_off, int block, int stride, int n, int rescale,
			float scale, float bias, int zp, int sgn, __global uchar *dst)
{
	const int i = (int)get_global_id(0);
	const int k = i / block, j = i - k * block;
	int v;

	if (i >= n)
		return;
	v = q8_ld(act, in_off + i, sgn);
	if (rescale) {
		const float prod = (float)v * scale;

		v = clamp((int)round(prod + bias) + zp, sgn ? -128 : 0, sgn ? 127 : 255);
	}
	dst[out_off + k * stride + j] = (uchar)v;
}

/* An element-wise 8-bit function through its 256-entry table (LOGISTIC), indexed by the raw byte. */
__kernel void q8_lookup(__global const uchar *act, int in_off, int out_off, int n, __global const uchar *table,
			__global uchar *dst)
{
	const int i = (int)get_global_id(0);

	if (i < n)
		dst[out_off + i] = table[act[in_off + i]];
}
