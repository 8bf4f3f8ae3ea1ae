/* SPDX-License-Identifier: Apache-2.0
 * The quantized OpenCL executor (accel/opencl/cl_exec_q8.c) on a real OpenCL implementation (PoCL in CI): every
 * quantized kernel against the CPU reference kernels (accel/cpu/kernels_q8_c.c) over random odd shapes, zero
 * points, per-channel and per-tensor scales, both requantizations and forced saturation, exact equality; COCO SSD's
 * raw outputs (the tensors the post-process reads) and its four outputs bit-identical to the CPU quantized engine
 * on the reference sets of tests/test_quant.c; detections of backend=opencl equal to backend=cpu. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_exec_q8.h"
#include "cl_runtime.h"
#include "engine_q8.h"
#include "kernels_q8.h"
#include "testutil.h"
#include "tflite.h"
#include "vigil/vigil.h"

static struct vigil_cl_device *device(void)
{
	struct vigil_cl_device *dev;

	ck_assert_msg(vigil_cl_device_get(NULL, &dev) == 0, "%s", vigil_last_error());
	return dev;
}

static int rnd(uint64_t *st, int lo, int hi)
{
	return lo + (int)(tu_rand(st) % (uint64_t)(hi - lo + 1));
}

static float rnd_scale(uint64_t *st, int e0, int e1)
{
	return (float)ldexp(1.0 + (double)(tu_rand(st) % 1000) / 1000, -rnd(st, e0, e1));
}

static void expect_same(const uint8_t *want, const uint8_t *got, size_t n, const char *what, int iter)
{
	for (size_t i = 0; i < n; i++)
		if (want[i] != got[i])
			ck_abort_msg("%s iter %d: byte %zu of %zu: CPU %d, OpenCL %d", what, iter, i, n, want[i],
				     got[i]);
}

/* Convolutions and depthwise convolutions, uint8 per-tensor and int8 per-channel, both requantizations, odd sizes
 * up to 17x13 with 1..37 channels, strides, dilations, SAME-like padding, extreme output scales (saturation). */
START_TEST(test_q8_conv_random)
{
	struct vigil_cl_device *dev = device();
	uint64_t st = 0xc18 + (uint64_t)_i;
	enum { MAXC = 37, MAXHW = 17 * 13 };
	uint8_t *in = malloc(MAXHW * MAXC), *w = malloc(MAXC * 2 * 25 * MAXC), *want = malloc(MAXHW * 2 * MAXC),
		*got = malloc(MAXHW * 2 * MAXC);
	int32_t bias[2 * MAXC], qm[2 * MAXC];
	int sh[2 * MAXC];
	float ws[2 * MAXC], fs[2 * MAXC];

	ck_assert(in && w && want && got);
	for (int iter = 0; iter < 48; iter++) {
		const int dw = iter % 2, is_signed = (iter / 2) % 2, fp32 = (iter / 4) % 2;
		const int ih = rnd(&st, 1, 17), iw = rnd(&st, 1, 13), ic = rnd(&st, 1, MAXC),
			  mult = dw ? rnd(&st, 1, 2) : 1;
		const int oc = dw ? ic * mult : rnd(&st, 1, MAXC), k = rnd(&st, 1, 5), stride = rnd(&st, 1, 2);
		const int dil = rnd(&st, 1, 2), oh = (ih + stride - 1) / stride, ow = (iw + stride - 1) / stride;
		const int ph = (oh - 1) * stride + (k - 1) * dil + 1 - ih,
			  pw = (ow - 1) * stride + (k - 1) * dil + 1 - iw;
		const int lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
		const int32_t in_zp = rnd(&st, lo, hi), w_zp = is_signed ? 0 : rnd(&st, 0, 255),
			      out_zp = rnd(&st, lo, hi);
		const float in_s = rnd_scale(&st, 3, 8), out_s = rnd_scale(&st, iter % 7 ? 0 : -4, 6);
		const size_t nw = dw ? (size_t)k * k * oc : (size_t)oc * k * k * ic, no = (size_t)oh * ow * oc;
		struct vigil_q8_conv_args a;

		for (int i = 0; i < ih * iw * ic; i++)
			in[i] = (uint8_t)rnd(&st, lo, hi);
		for (size_t i = 0; i < nw; i++)
			w[i] = (uint8_t)rnd(&st, is_signed ? -127 : 0, is_signed ? 127 : 255);
		for (int c = 0; c < oc; c++) {
			ws[c] = is_signed || c == 0 ? rnd_scale(&st, 5, 9) : ws[0];
			bias[c] = rnd(&st, -40000, 40000);
			vigil_q_quantize_multiplier((double)in_s * (double)ws[c] / (double)out_s, &qm[c], &sh[c]);
			fs[c] = in_s * ws[c] / out_s;
		}
		a = (struct vigil_q8_conv_args){ in,
						 ih,
						 iw,
						 ic,
						 w,
						 iter % 3 == 2 ? NULL : bias,
						 want,
						 oh,
						 ow,
						 oc,
						 k,
						 k,
						 stride,
						 stride,
						 dil,
						 dil,
						 ph > 0 ? ph / 2 : 0,
						 pw > 0 ? pw / 2 : 0,
						 mult,
						 -in_zp,
						 -w_zp,
						 out_zp,
						 qm,
						 sh,
						 lo,
						 hi,
						 fp32 ? fs : NULL };
		if (iter % 5 == 0)
			vigil_q_act_range(3, out_s, out_zp, is_signed, &a.act_min, &a.act_max);
		if (dw)
			(is_signed ? vigil_i8_dwconv2d__c : vigil_u8_dwconv2d__c)(&a);
		else
			(is_signed ? vigil_i8_conv2d__c : vigil_u8_conv2d__c)(&a);
		a.output = got;
		memset(got, 0xa5, no);
		ck_assert_msg(vigil_cl_q8_conv_once(dev, &a, dw, is_signed) == 0, "%s", vigil_last_error());
		expect_same(want, got, no, dw ? "depthwise" : "conv", iter);
	}
	free(in);
	free(w);
	free(want);
	free(got);
}
END_TEST

/* The fixed-point requantization at its edges: INT32_MIN/MAX accumulators, shifts from -31 to +30, so that
 * SaturatingRoundingDoublingHighMul's rounding of negative products and its one overflow are taken (1x1 conv of
 * one channel with weight 1: acc = x + bias). */
START_TEST(test_q8_fixed_point_edges)
{
	struct vigil_cl_device *dev = device();
	static const int32_t accs[] = { INT32_MIN, INT32_MIN + 1, -1073741825, -65537,        -3,       -1, 0, 1, 2,
					3,         65535,         1073741824,  INT32_MAX - 1, INT32_MAX };
	static const int32_t mults[] = { INT32_MIN, -1, 1, 1 << 30, (1 << 30) + 1, 1518500250, INT32_MAX };
	static const int shifts[] = { -31, -20, -2, -1, 0, 1, 5, 30 };
	enum { N = sizeof(accs) / sizeof(accs[0]) };
	uint8_t in[1] = { 0 }, wt[1] = { 1 }, want[1], got[1];

	for (size_t m = 0; m < sizeof(mults) / sizeof(mults[0]); m++)
		for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++)
			for (int i = 0; i < N; i++) {
				const int32_t bias = accs[i];
				const int32_t mult = mults[m];
				const int shift = shifts[s];
				struct vigil_q8_conv_args a = { in, 1, 1, 1, wt,    &bias,  want, 1,   1,
								1,  1, 1, 1, 1,     1,      1,    0,   0,
								1,  0, 0, 0, &mult, &shift, -128, 127, NULL };

				vigil_i8_conv2d__c(&a);
				a.output = got;
				ck_assert_msg(vigil_cl_q8_conv_once(dev, &a, 0, 1) == 0, "%s", vigil_last_error());
				ck_assert_msg(want[0] == got[0], "acc %d mult %d shift %d: CPU %d, OpenCL %d", bias,
					      mult, shift, (int8_t)want[0], (int8_t)got[0]);
			}
}
END_TEST

/* CONCATENATION (copies and rescaled inputs, several axes) and the LOGISTIC table lookup. */
START_TEST(test_q8_concat_lookup_random)
{
	struct vigil_cl_device *dev = device();
	uint64_t st = 0xc0c;
	uint8_t *data = malloc(4 * 4096), *want = malloc(4 * 4096), *got = malloc(4 * 4096);

	ck_assert(data && want && got);
	for (int iter = 0; iter < 24; iter++) {
		const int is_signed = iter % 2, n = rnd(&st, 1, 4), lo = is_signed ? -128 : 0,
			  hi = is_signed ? 127 : 255;
		const size_t outer = (size_t)rnd(&st, 1, 19);
		const float out_s = rnd_scale(&st, 2, 7);
		const int32_t out_zp = rnd(&st, lo, hi);
		struct vigil_q8_concat_input ins[4];
		size_t total = 0;

		for (int i = 0; i < n; i++) {
			const int same = rnd(&st, 0, 2) == 0;

			ins[i].block = (size_t)rnd(&st, 1, 53);
			ins[i].data = data + total;
			ins[i].scale =
			    same ? out_s : rnd_scale(&st, 0, 9); /* up to 2^7 times the output's: saturates */
			ins[i].zero_point = same ? out_zp : rnd(&st, lo, hi);
			for (size_t j = 0; j < outer * ins[i].block; j++)
				data[total + j] = (uint8_t)rnd(&st, lo, hi);
			total += outer * ins[i].block;
		}
		if (is_signed)
			vigil_i8_concat__c(ins, n, outer, out_s, out_zp, (int8_t *)want);
		else
			vigil_u8_concat__c(ins, n, outer, out_s, out_zp, want);
		ck_assert_msg(vigil_cl_q8_concat_once(dev, ins, n, outer, out_s, out_zp, is_signed, got) == 0, "%s",
			      vigil_last_error());
		expect_same(want, got, total, "concat", iter);
	}
	for (int iter = 0; iter < 6; iter++) {
		const int is_signed = iter % 2, lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
		const size_t n = (size_t)rnd(&st, 1, 4000);
		uint8_t table[256];

		vigil_q8_logistic_table(rnd_scale(&st, 0, 6), rnd(&st, lo, hi), 1.0f / 256, is_signed ? -128 : 0,
					is_signed, table);
		for (size_t j = 0; j < n; j++)
			data[j] = (uint8_t)rnd(&st, 0, 255);
		vigil_q8_lookup__c(data, want, n, table);
		ck_assert_msg(vigil_cl_q8_lookup_once(dev, data, got, n, table) == 0, "%s", vigil_last_error());
		expect_same(want, got, n, "lookup", iter);
	}
	free(data);
	free(want);
	free(got);
}
END_TEST

/* ---- COCO SSD: the whole model against the CPU quantized engine ------------------------------------------ */

static const struct {
	const char *tag;
	int shared;
} ssd_sets[] = {
	{ "sample1", 0 },         { "test_image", 0 },      { "vtest_frame0001", 1 },
	{ "vtest_frame0301", 1 }, { "vtest_frame0601", 1 },
};

static uint8_t *read_input(int set)
{
	char path[1024];
	const char *root = ssd_sets[set].shared ? getenv("VIGIL_SHARED") : getenv("VIGIL_TEST_DATA");
	size_t n;
	uint8_t *d;

	ck_assert_msg(root != NULL, "VIGIL_SHARED/VIGIL_TEST_DATA not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%sreference_tensors/ssd_mobilenet_v1_quant_coco/%s.input_300x300x3.uint8.bin",
		 root, ssd_sets[set].shared ? "data/" : "", ssd_sets[set].tag);
	if (ssd_sets[set].shared && !tu_eval_data_present(path))
		return NULL; /* a user's machine without ../shared; never in CI */
	ck_assert_msg(access(path, R_OK) == 0, "reference set missing: %s (the PETS09 sets need ../shared)", path);
	d = tu_read_file(path, &n);
	ck_assert_uint_eq(n, 300 * 300 * 3);
	return d;
}

/* Raw outputs (what the post-process reads) and the four post-processed outputs, byte for byte; _i: the sets of
 * one requantization mode. */
static void ssd_parity(int fixed_point, int set0, int set1)
{
	struct vigil_cl_device *dev = device();
	struct vigil_model *m;
	struct vigil_graph g;
	struct vigil_q8_program *p;
	struct vigil_cl_q8 *e;
	struct vigil_cl_q8_stats stats;
	char path[1024];
	size_t n;
	uint8_t *model, *cpu, *cl;
	void *dst[8];

	snprintf(path, sizeof(path), "%s/../../models/coco_ssd_mobilenet_v1_quant.tflite", getenv("VIGIL_TEST_DATA"));
	model = tu_read_file(path, &n);
	ck_assert_int_eq(vigil_tflite_import(model, n, "coco_ssd_mobilenet_v1_quant.tflite", &g), 0);
	ck_assert_int_eq(
	    vigil_q8_program_create(&g, fixed_point ? VIGIL_Q8_REQUANT_FIXEDPOINT : VIGIL_Q8_REQUANT_FP32, &p), 0);
	ck_assert_msg(vigil_cl_q8_create(dev, &g, fixed_point, &e) == 0, "%s", vigil_last_error());
	vigil_cl_q8_get_stats(e, &stats);
	ck_assert_int_eq(vigil_cl_q8_n_readback(e), 2); /* box encodings and class scores */
	ck_assert_int_eq(vigil_cl_q8_split(e), g.n_ops - 1);
	ck_assert_int_eq(g.ops[vigil_cl_q8_split(e)].kind, VIGIL_OP_DETECTION_POSTPROCESS);
	ck_assert_uint_eq(stats.read_bytes, 1917 * 4 + 1917 * 91);
	cpu = aligned_alloc(64, vigil_q8_program_arena_bytes(p, 1));
	cl = aligned_alloc(64, vigil_q8_program_arena_bytes(p, 1));
	ck_assert(cpu && cl);
	for (int set = set0; set < set1; set++) {
		uint8_t *in = read_input(set);

		if (!in)
			continue;
		memcpy(vigil_q8_program_tensor(p, cpu, g.inputs[0]), in, 300 * 300 * 3);
		ck_assert_int_eq(vigil_q8_program_run(p, cpu, NULL), 0);
		for (int k = 0; k < vigil_cl_q8_n_readback(e); k++) {
			dst[k] = vigil_q8_program_tensor(p, cl, vigil_cl_q8_readback_tensor(e, k));
			memset(dst[k], 0x5a, g.tensors[vigil_cl_q8_readback_tensor(e, k)].count);
		}
		ck_assert_msg(vigil_cl_q8_run(e, in, dst) == 0, "%s", vigil_last_error());
		for (int k = 0; k < vigil_cl_q8_n_readback(e); k++) {
			const int t = vigil_cl_q8_readback_tensor(e, k);

			expect_same(vigil_q8_program_tensor(p, cpu, t), dst[k], g.tensors[t].count, ssd_sets[set].tag,
				    k);
		}
		ck_assert_int_eq(vigil_q8_program_run_range(p, cl, NULL, vigil_cl_q8_split(e), g.n_ops), 0);
		for (int k = 0; k < 4; k++)
			ck_assert_msg(memcmp(vigil_q8_program_tensor(p, cpu, g.outputs[k]),
					     vigil_q8_program_tensor(p, cl, g.outputs[k]),
					     g.tensors[g.outputs[k]].count * sizeof(float)) == 0,
				      "%s: output %d differs", ssd_sets[set].tag, k);
		ck_assert(*(const float *)vigil_q8_program_tensor(p, cl, g.outputs[3]) >= 1.0f);
		free(in);
	}
	free(cpu);
	free(cl);
	vigil_cl_q8_destroy(e);
	vigil_q8_program_destroy(p);
	vigil_graph_free(&g);
	free(model);
	(void)m;
}

START_TEST(test_ssd_parity)
{
	ssd_parity(0, _i, _i + 1);
}
END_TEST

START_TEST(test_ssd_parity_fixed_point)
{
	ssd_parity(1, 0, 1);
}
END_TEST

/* backend=opencl against backend=cpu through the public API: the same detections, byte for byte, on the reference
 * inputs as 300x300 RGB frames and on an odd-sized BGRx frame (the host preprocesses, resizing). */
START_TEST(test_detector_backends)
{
	struct vigil_model *m;
	struct vigil_detector *d[2];
	struct vigil_detector_config cfg;
	struct vigil_backend_info info;
	uint8_t *odd = malloc(417 * 233 * 4);

	ck_assert(odd != NULL);
	ck_assert_int_eq(vigil_model_open("coco-ssd", &m), 0);
	for (int b = 0; b < 2; b++) {
		vigil_detector_config_init(&cfg);
		cfg.threshold = 0.3f;
		cfg.backend = b ? VIGIL_BACKEND_OPENCL : VIGIL_BACKEND_CPU;
		ck_assert_msg(vigil_detector_create(m, &cfg, &d[b]) == 0, "%s", vigil_last_error());
	}
	vigil_detector_backend_info(d[1], &info);
	ck_assert_int_eq(info.backend, VIGIL_BACKEND_OPENCL);
	ck_assert_int_gt(info.launches_per_inference, 20);
	ck_assert(info.warmup_ms > 0);
	for (int set = 0; set < 3; set++) {
		uint8_t *rgb = read_input(set < 2 ? set : 0); /* shipped sets: never NULL */
		struct vigil_frame f;
		const struct vigil_detections *out[2];

		if (set < 2) {
			ck_assert_int_gt(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, 300, 300, rgb), 0);
		} else {
			for (int y = 0; y < 233; y++)
				for (int x = 0; x < 417; x++)
					for (int c = 0; c < 4; c++)
						odd[((size_t)y * 417 + x) * 4 + c] =
						    c == 3 ? 0
							   : rgb[((size_t)(y * 300 / 233) * 300 + x * 300 / 417) * 3 +
								 2 - c];
			ck_assert_int_gt(vigil_frame_init_packed(&f, VIGIL_FORMAT_BGRX, 417, 233, odd), 0);
		}
		for (int b = 0; b < 2; b++)
			ck_assert_msg(vigil_detector_detect(d[b], &f, &out[b]) == 0, "%s", vigil_last_error());
		ck_assert_uint_ge(out[0]->count, 2);
		ck_assert_uint_eq(out[0]->count, out[1]->count);
		for (size_t i = 0; i < out[0]->count; i++) {
			const struct vigil_detection *a = &out[0]->items[i], *c = &out[1]->items[i];

			ck_assert_int_eq(a->label_id, c->label_id);
			ck_assert_str_eq(a->label, c->label);
			ck_assert(a->score == c->score && a->x == c->x && a->y == c->y && a->w == c->w && a->h == c->h);
		}
		vigil_detector_backend_info(d[1], &info);
		ck_assert_int_eq(info.read_bytes_per_frame, 1917 * 4 + 1917 * 91);
		ck_assert_int_eq(info.upload_bytes_per_frame, 300 * 300 * 3);
		free(rgb);
	}
	vigil_detector_destroy(d[0]);
	vigil_detector_destroy(d[1]);
	vigil_model_close(m);
	free(odd);
}
END_TEST

/* A quantized operator the device has no kernel for (ADD, AVERAGE_POOL_2D here) is refused clearly, naming it. */
START_TEST(test_unsupported_operator)
{
	static const enum vigil_op_kind kinds[] = { VIGIL_OP_ADD, VIGIL_OP_AVGPOOL2D };
	struct vigil_cl_device *dev = device();

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct vigil_tensor t[3];
		struct vigil_op op;
		struct vigil_graph g;
		struct vigil_cl_q8 *e;
		const int in = 0, out = 2;

		memset(t, 0, sizeof(t));
		for (int i = 0; i < 3; i++) {
			t[i].name = "";
			t[i].dtype = VIGIL_DT_U8;
			t[i].rank = 4;
			t[i].dims[0] = t[i].dims[1] = t[i].dims[2] = 1;
			t[i].dims[3] = 3;
			t[i].count = 3;
			t[i].quant.n = 1;
			t[i].quant.scale = 0.5f;
			t[i].arena_slot = -1;
		}
		memset(&op, 0, sizeof(op));
		op.kind = kinds[k];
		op.source_index = 7;
		op.n_inputs = kinds[k] == VIGIL_OP_ADD ? 2 : 1;
		op.inputs[0] = 0;
		op.inputs[1] = 1;
		op.output = 2;
		op.p.pool.filter_h = op.p.pool.filter_w = op.p.pool.stride_h = op.p.pool.stride_w = 1;
		memset(&g, 0, sizeof(g));
		g.tensors = t;
		g.n_tensors = 3;
		g.ops = &op;
		g.n_ops = 1;
		g.inputs[0] = in;
		g.n_inputs = 1;
		g.outputs[0] = out;
		g.n_outputs = 1;
		ck_assert_int_eq(vigil_cl_q8_create(dev, &g, 0, &e), VIGIL_EUNSUPPORTED);
		ck_assert_msg(strstr(vigil_last_error(), "operator 7") &&
				  strstr(vigil_last_error(), "no OpenCL quantized"),
			      "%s", vigil_last_error());
		ck_assert_ptr_null(e);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("opencl_q8");
	TCase *k = tcase_create("kernels"), *mo = tcase_create("models");

	tcase_add_loop_test(k, test_q8_conv_random, 0, 2);
	tcase_add_test(k, test_q8_fixed_point_edges);
	tcase_add_test(k, test_q8_concat_lookup_random);
	suite_add_tcase(s, k);
	tcase_add_loop_test(mo, test_ssd_parity, 0, (int)(sizeof(ssd_sets) / sizeof(ssd_sets[0])));
	tcase_add_test(mo, test_ssd_parity_fixed_point);
	tcase_add_test(mo, test_detector_backends);
	tcase_add_test(mo, test_unsupported_operator);
	suite_add_tcase(s, mo);
	return tu_run(s, CK_FORK);
}
