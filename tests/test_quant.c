/* SPDX-License-Identifier: Apache-2.0
 * Quantized execution: COCO SSD MobileNet v1 (uint8) against the TFLite interpreter's own outputs (bit-exact),
 * quantization parameters the importer must refuse, and the quantized kernels against independent formulations
 * (exact integer rounding, double arithmetic) over random shapes, scales and zero points. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_q8.h"
#include "flatbuf.h"
#include "kernels.h"
#include "kernels_q8.h"
#include "testutil.h"
#include "threadpool.h"
#include "tflite.h"
#include "vigil/vigil.h"

#define SSD_MODEL "coco_ssd_mobilenet_v1_quant.tflite"

static uint8_t *read_model(size_t *n)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/../../models/%s", getenv("VIGIL_TEST_DATA"), SSD_MODEL);
	return tu_read_file(path, n);
}

/* ---- whole model against the TFLite interpreter --------------------------------------------------------- */

static const char *const out_names[4] = {
	"out0_TFLite_Detection_PostProcess",
	"out1_TFLite_Detection_PostProcess_1",
	"out2_TFLite_Detection_PostProcess_2",
	"out3_TFLite_Detection_PostProcess_3",
};

/* Reference sets: the first two ship in tests/data; the PETS09 frames are eval-only and read from ../shared. */
static const struct {
	const char *tag;
	int shared;
} ssd_sets[] = {
	{ "sample1", 0 },         { "test_image", 0 },      { "vtest_frame0001", 1 },
	{ "vtest_frame0301", 1 }, { "vtest_frame0601", 1 },
};

static uint8_t *read_set_file(int shared, const char *tag, const char *suffix, size_t *n)
{
	char path[1024];
	const char *root = shared ? getenv("VIGIL_SHARED") : getenv("VIGIL_TEST_DATA");

	ck_assert_msg(root != NULL, "VIGIL_SHARED/VIGIL_TEST_DATA not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%sreference_tensors/ssd_mobilenet_v1_quant_coco/%s.%s", root,
		 shared ? "data/" : "", tag, suffix);
	if (shared) {
		FILE *f = fopen(path, "rb");

		ck_assert_msg(f != NULL,
			      "eval-only reference set missing: %s (the PETS09 frames are not redistributed; this test "
			      "needs the shared data directory at ../shared next to the checkout)",
			      path);
		fclose(f);
	}
	return tu_read_file(path, n);
}

/* The sets of ../shared may be left out on a user's machine (tu_eval_data_present), never in CI. */
static int set_available(int set)
{
	char path[1024];
	const char *root = getenv("VIGIL_SHARED");

	if (!ssd_sets[set].shared || !root)
		return 1;
	snprintf(path, sizeof(path),
		 "%s/data/reference_tensors/ssd_mobilenet_v1_quant_coco/%s.input_300x300x3.uint8.bin", root,
		 ssd_sets[set].tag);
	return tu_eval_data_present(path);
}

static void run_set(struct vigil_q8_program *p, const struct vigil_graph *g, void *arena, int set, float *out[4])
{
	size_t n;
	uint8_t *in = read_set_file(ssd_sets[set].shared, ssd_sets[set].tag, "input_300x300x3.uint8.bin", &n);

	ck_assert_uint_eq(n, 300 * 300 * 3);
	memcpy(vigil_q8_program_tensor(p, arena, g->inputs[0]), in, n);
	free(in);
	ck_assert_int_eq(vigil_q8_program_run(p, arena, NULL), 0);
	for (int k = 0; k < 4; k++)
		out[k] = vigil_q8_program_tensor(p, arena, g->outputs[k]);
}

START_TEST(test_ssd_bit_exact)
{
	struct vigil_q8_program *p;
	struct vigil_graph g;
	size_t n;
	uint8_t *model = read_model(&n);
	float *out[4];
	void *arena;

	if (!set_available(_i)) {
		free(model);
		return;
	}
	ck_assert_int_eq(vigil_tflite_import(model, n, SSD_MODEL, &g), 0);
	ck_assert_int_eq(vigil_q8_program_create(&g, VIGIL_Q8_REQUANT_FP32, &p), 0);
	arena = aligned_alloc(64, vigil_q8_program_arena_bytes(p, 1));
	ck_assert(arena != NULL);
	run_set(p, &g, arena, _i, out);
	for (int k = 0; k < 4; k++) {
		char suffix[128];
		size_t bytes;
		float *ref;

		snprintf(suffix, sizeof(suffix), "%s.float32.bin", out_names[k]);
		ref = (float *)read_set_file(ssd_sets[_i].shared, ssd_sets[_i].tag, suffix, &bytes);
		ck_assert_uint_eq(bytes, g.tensors[g.outputs[k]].count * sizeof(float));
		for (size_t i = 0; i < bytes / 4; i++)
			ck_assert_msg(memcmp(&ref[i], &out[k][i], 4) == 0, "%s output %d[%zu]: TFLite %.9g, Vigil %.9g",
				      ssd_sets[_i].tag, k, i, (double)ref[i], (double)out[k][i]);
		free(ref);
	}
	ck_assert(*out[3] >= 1.0f);
	free(arena);
	vigil_q8_program_destroy(p);
	vigil_graph_free(&g);
	free(model);
}
END_TEST

/* TFLite's reference fixed-point requantization: every element within 1 LSB of FP32 per layer; after 28 layers the
 * detections still agree (same count, same classes of the confident ones, boxes within 0.02). */
START_TEST(test_ssd_fixedpoint_close)
{
	struct vigil_q8_program *pf, *px;
	struct vigil_graph g;
	size_t n;
	uint8_t *model = read_model(&n);
	float *a[4], *b[4];
	void *arena_f, *arena_x;

	ck_assert_int_eq(vigil_tflite_import(model, n, SSD_MODEL, &g), 0);
	ck_assert_int_eq(vigil_q8_program_create(&g, VIGIL_Q8_REQUANT_FP32, &pf), 0);
	ck_assert_int_eq(vigil_q8_program_create(&g, VIGIL_Q8_REQUANT_FIXEDPOINT, &px), 0);
	arena_f = aligned_alloc(64, vigil_q8_program_arena_bytes(pf, 1));
	arena_x = aligned_alloc(64, vigil_q8_program_arena_bytes(px, 1));
	run_set(pf, &g, arena_f, 1, a);
	run_set(px, &g, arena_x, 1, b);
	ck_assert(*a[3] == *b[3]);
	for (int i = 0; i < 3; i++) {
		ck_assert(a[1][i] == b[1][i]);
		ck_assert(fabsf(a[2][i] - b[2][i]) <= 4.0f / 256);
		for (int k = 0; k < 4; k++)
			ck_assert(fabsf(a[0][4 * i + k] - b[0][4 * i + k]) < 0.02f);
	}
	free(arena_f);
	free(arena_x);
	vigil_q8_program_destroy(pf);
	vigil_q8_program_destroy(px);
	vigil_graph_free(&g);
	free(model);
}
END_TEST

/* The optimised kernels on 1, 2 and 4 threads give the reference kernels' (VIGIL_Q8_REFERENCE=1) raw tensors (the
 * uint8 box and score tensors fed to the post-process) and outputs byte for byte, with either requantization; with
 * fp32 the outputs are also TFLite's. Under VIGIL_FORCE_C=1 (suite quant_force_c) the "optimised" program runs the C
 * kernels too. */
START_TEST(test_ssd_threads)
{
	static const int threads[] = { 1, 2, 4 };
	struct vigil_graph g;
	size_t n;
	size_t in_n;
	uint8_t *model = read_model(&n), *input = read_set_file(0, "test_image", "input_300x300x3.uint8.bin", &in_n);

	const char *force_c = getenv("VIGIL_FORCE_C");
	/* the C kernels ignore the pool: under VIGIL_FORCE_C one thread count says all */
	const int n_threads = force_c && *force_c && strcmp(force_c, "0") != 0 ? 1 : 3;
#ifdef VIGIL_TEST_SANITIZED
	const int n_modes = 1; /* the reference kernels are slow under ASan: fp32 only */
#else
	const int n_modes = 2;
#endif

	ck_assert_uint_eq(in_n, 300 * 300 * 3);
	ck_assert_int_eq(vigil_tflite_import(model, n, SSD_MODEL, &g), 0);
	for (int rq = 0; rq < n_modes; rq++) {
		const enum vigil_q8_requant mode = rq ? VIGIL_Q8_REQUANT_FIXEDPOINT : VIGIL_Q8_REQUANT_FP32;
		const struct vigil_op *pp = &g.ops[g.n_ops - 1];
		struct vigil_q8_program *ref, *p;
		struct vigil_pool *pool;
		void *ref_arena, *arena;
		float *ref_out[4], *out[4];

		ck_assert_int_eq(pp->kind, VIGIL_OP_DETECTION_POSTPROCESS);
		setenv("VIGIL_Q8_REFERENCE", "1", 1);
		ck_assert_int_eq(vigil_q8_program_create(&g, mode, &ref), 0);
		unsetenv("VIGIL_Q8_REFERENCE");
		ck_assert_int_eq(vigil_q8_program_create(&g, mode, &p), 0);
		ref_arena = aligned_alloc(64, vigil_q8_program_arena_bytes(ref, 1));
		ck_assert(ref_arena != NULL);
		run_set(ref, &g, ref_arena, 1, ref_out); /* test_image */
		for (int t = 0; t < n_threads; t++) {
			ck_assert_int_eq(vigil_pool_create(threads[t], &pool), 0);
			arena = aligned_alloc(64, vigil_q8_program_arena_bytes(p, threads[t]));
			ck_assert(arena != NULL);
			memset(arena, 0x5a, vigil_q8_program_arena_bytes(p, threads[t]));
			memcpy(vigil_q8_program_tensor(p, arena, g.inputs[0]), input, 300 * 300 * 3);
			ck_assert_int_eq(vigil_q8_program_run(p, arena, pool), 0);
			for (int k = 0; k < 2; k++) {
				const uint8_t *a = vigil_q8_program_tensor(ref, ref_arena, pp->inputs[k]);
				const uint8_t *b = vigil_q8_program_tensor(p, arena, pp->inputs[k]);

				for (size_t i = 0; i < g.tensors[pp->inputs[k]].count; i++)
					ck_assert_msg(a[i] == b[i],
						      "%s, %d threads: raw %s tensor [%zu]: reference %d, optimised %d",
						      rq ? "fixedpoint" : "fp32", threads[t], k ? "score" : "box", i,
						      a[i], b[i]);
			}
			for (int k = 0; k < 4; k++) {
				out[k] = vigil_q8_program_tensor(p, arena, g.outputs[k]);
				ck_assert(memcmp(out[k], ref_out[k], g.tensors[g.outputs[k]].count * sizeof(float)) ==
					  0);
			}
			if (mode == VIGIL_Q8_REQUANT_FP32) {
				size_t bytes;
				float *tfl = (float *)read_set_file(
				    0, "test_image", "out0_TFLite_Detection_PostProcess.float32.bin", &bytes);

				ck_assert(memcmp(tfl, out[0], bytes) == 0);
				free(tfl);
			}
			free(arena);
			vigil_pool_destroy(pool);
		}
		free(ref_arena);
		vigil_q8_program_destroy(ref);
		vigil_q8_program_destroy(p);
	}
	vigil_graph_free(&g);
	free(input);
	free(model);
}
END_TEST

/* ---- the coco-ssd detector -------------------------------------------------------------------------- */

/* At the model's own size the stretch resize is an identity: the reference input tensor as an RGB frame must give
 * the TFLite outputs above the threshold, boxes mapped to pixels, labels from the label map; then label filters. */
START_TEST(test_detector_coco_ssd)
{
	struct vigil_model *m;
	struct vigil_detector *d;
	struct vigil_detector_config cfg;
	struct vigil_frame frame;
	const struct vigil_detections *out;
	size_t n, nb, nc, ns;
	uint8_t *rgb = read_set_file(0, "sample1", "input_300x300x3.uint8.bin", &n);
	float *boxes = (float *)read_set_file(0, "sample1", "out0_TFLite_Detection_PostProcess.float32.bin", &nb);
	float *classes = (float *)read_set_file(0, "sample1", "out1_TFLite_Detection_PostProcess_1.float32.bin", &nc);
	float *scores = (float *)read_set_file(0, "sample1", "out2_TFLite_Detection_PostProcess_2.float32.bin", &ns);
	size_t k = 0;

	ck_assert_int_eq(vigil_model_open("coco-ssd", &m), 0);
	ck_assert_int_eq(vigil_model_get_info(m)->input_width, 300);
	ck_assert_int_eq(vigil_model_get_info(m)->num_labels, 90);
	ck_assert_str_eq(vigil_model_label(m, 0), "person");
	ck_assert_str_eq(vigil_model_label(m, 2), "car");
	ck_assert_str_eq(vigil_model_label(m, 11), "unknown"); /* a "???" line of the label map */
	ck_assert_str_eq(vigil_model_label(m, 89), "toothbrush");
	ck_assert_ptr_null(vigil_model_label(m, 90));
	vigil_detector_config_init(&cfg);
	cfg.threshold = 0.4f;
	ck_assert_int_eq(vigil_detector_create(m, &cfg, &d), 0);
	ck_assert_int_gt(vigil_frame_init_packed(&frame, VIGIL_FORMAT_RGB, 300, 300, rgb), 0);
	ck_assert_int_eq(vigil_detector_detect(d, &frame, &out), 0);
	for (int i = 0; i < 10; i++) {
		const struct vigil_detection *det;

		if (scores[i] < 0.4f)
			continue;
		ck_assert_uint_lt(k, out->count);
		det = &out->items[k++];
		ck_assert_int_eq(det->label_id, (int)classes[i]);
		ck_assert_str_eq(det->label, vigil_model_label(m, (int)classes[i]));
		ck_assert(det->score == scores[i]);
		ck_assert(fabsf(det->x - fmaxf(boxes[4 * i + 1], 0) * 300) < 1e-3f);
		ck_assert(fabsf(det->y - fmaxf(boxes[4 * i], 0) * 300) < 1e-3f);
		ck_assert(fabsf(det->x + det->w - fminf(boxes[4 * i + 3], 1) * 300) < 1e-3f);
		ck_assert(fabsf(det->y + det->h - fminf(boxes[4 * i + 2], 1) * 300) < 1e-3f);
	}
	ck_assert_uint_eq(out->count, k);
	ck_assert_uint_ge(k, 4);

	/* only persons; ties at 0.42578125 (a tie and a handbag) kept by their own minimum */
	ck_assert_int_eq(vigil_detector_set_label_filter(d, "person"), 0);
	ck_assert_int_eq(vigil_detector_detect(d, &frame, &out), 0);
	for (size_t i = 0; i < out->count; i++)
		ck_assert_str_eq(out->items[i].label, "person");
	ck_assert_uint_eq(out->count, 5); /* 0.75, 0.668, 0.645, 0.477, 0.402 */
	ck_assert_int_eq(vigil_detector_set_label_filter(d, " handbag = 0.42 , tie=0.43,person=0.7"), 0);
	ck_assert_int_eq(vigil_detector_detect(d, &frame, &out), 0);
	ck_assert_uint_eq(out->count, 2);
	ck_assert_str_eq(out->items[0].label, "person");
	ck_assert_str_eq(out->items[1].label, "handbag");
	/* bad specs keep the previous filter */
	ck_assert_int_eq(vigil_detector_set_label_filter(d, "persn"), -EINVAL);
	ck_assert(strstr(vigil_last_error(), "no label 'persn'"));
	ck_assert_int_eq(vigil_detector_set_label_filter(d, "person=1.5"), -EINVAL);
	ck_assert_int_eq(vigil_detector_set_label_filter(d, "person,,car"), -EINVAL);
	ck_assert_int_eq(vigil_detector_set_label_filter(d, "person=abc"), -EINVAL);
	ck_assert_int_eq(vigil_detector_detect(d, &frame, &out), 0);
	ck_assert_uint_eq(out->count, 2);
	ck_assert_int_eq(vigil_detector_set_label_filter(d, NULL), 0);
	ck_assert_int_eq(vigil_detector_detect(d, &frame, &out), 0);
	ck_assert_uint_eq(out->count, k);

	vigil_detector_destroy(d);
	vigil_model_close(m);
	free(rgb);
	free(boxes);
	free(classes);
	free(scores);
}
END_TEST

/* ---- importer: crafted quantization parameters and custom operators ----------------------------------- */

static void expect_import_fail(const uint8_t *buf, size_t n, int err, const char *needle)
{
	struct vigil_graph g;
	int ret = vigil_tflite_import(buf, n, "patched", &g);

	ck_assert_msg(ret == err, "expected %d, got %d: %s", err, ret, vigil_last_error());
	ck_assert_msg(strstr(vigil_last_error(), needle), "message '%s' lacks '%s'", vigil_last_error(), needle);
}

/* File offsets of tensor @p t's scale and zero_point vectors (positions of their counts). */
static void quant_vectors(const uint8_t *buf, size_t n, int t, size_t *scale, size_t *zp)
{
	struct vigil_fb fb;
	struct vigil_fb_table root, sg, tt, qt;
	struct vigil_fb_vector v;

	ck_assert_int_eq(vigil_fb_init(&fb, buf, n), 0);
	ck_assert_int_eq(vigil_fb_root(&fb, &root), 0);
	ck_assert_int_eq(vigil_fb_vector(&root, 2, 4, "subgraphs", &v), 1);
	ck_assert_int_eq(vigil_fb_vector_table(&v, 0, "subgraph", &sg), 0);
	ck_assert_int_eq(vigil_fb_vector(&sg, 0, 4, "tensors", &v), 1);
	ck_assert_int_eq(vigil_fb_vector_table(&v, (uint32_t)t, "tensor", &tt), 0);
	ck_assert_int_eq(vigil_fb_table(&tt, 4, "quantization", &qt), 1);
	ck_assert_int_eq(vigil_fb_vector(&qt, 2, 4, "scale", &v), 1);
	*scale = v.pos - 4;
	ck_assert_int_eq(vigil_fb_vector(&qt, 3, 8, "zero_point", &v), 1);
	*zp = v.pos - 4;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(test_bad_quantization)
{
	size_t n, sc, zp;
	uint8_t *orig = read_model(&n), *buf = malloc(n);
	struct vigil_graph g;
	int input;
	float f;
	uint32_t bits;

	ck_assert_int_eq(vigil_tflite_import(orig, n, "ok", &g), 0);
	input = g.inputs[0];
	vigil_graph_free(&g);
	quant_vectors(orig, n, input, &sc, &zp);
	{
		const float bad[] = { 0.0f, -0.5f, NAN, INFINITY };

		for (int i = 0; i < 4; i++) {
			memcpy(buf, orig, n);
			f = bad[i];
			memcpy(&bits, &f, 4);
			put32(buf + sc + 4, bits);
			expect_import_fail(buf, n, VIGIL_EMODEL, "a scale must be finite and > 0");
		}
	}
	memcpy(buf, orig, n);
	put32(buf + zp + 4, 300);
	expect_import_fail(buf, n, VIGIL_EMODEL, "zero point 0 is 300, outside the uint8 range 0..255");
	memcpy(buf, orig, n);
	put32(buf + zp + 4, (uint32_t)-1);
	put32(buf + zp + 8, (uint32_t)-1);
	expect_import_fail(buf, n, VIGIL_EMODEL, "zero point 0 is -1");
	memcpy(buf, orig, n);
	put32(buf + sc, 2);
	expect_import_fail(buf, n, VIGIL_EMODEL, "has 2 scales but 1 zero points");
	/* two per-channel values on an axis (0, the batch) of size 1 */
	memcpy(buf, orig, n);
	put32(buf + sc, 2);
	put32(buf + zp, 2);
	expect_import_fail(buf, n, VIGIL_EMODEL, "has 2 per-channel scales, but dimension 0");
	free(buf);
	free(orig);
}
END_TEST

START_TEST(test_custom_ops)
{
	size_t n;
	uint8_t *buf = read_model(&n);
	uint8_t *opts = memmem(buf, n, "max_detections", 14);
	int renamed = 0;

	ck_assert(opts != NULL);
	/* every NUL-terminated "TFLite_Detection_PostProcess": the operator code (and the output tensor's name) */
	for (uint8_t *at = buf; (at = memmem(at, n - (size_t)(at - buf), "TFLite_Detection_PostProcess", 29)); at++) {
		at[27] = 'X';
		renamed++;
	}
	ck_assert_int_ge(renamed, 1);
	expect_import_fail(buf, n, VIGIL_EUNSUPPORTED,
			   "is CUSTOM ('TFLite_Detection_PostProcesX'), which Vigil does not");
	for (uint8_t *at = buf; (at = memmem(at, n - (size_t)(at - buf), "TFLite_Detection_PostProcesX", 29)); at++)
		at[27] = 's';
	/* a key renamed: a required option is missing */
	opts[0] = 'M';
	expect_import_fail(buf, n, VIGIL_EMODEL, "required key 'max_detections' is missing");
	free(buf);
}
END_TEST

/* ---- kernels ------------------------------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* TFLite's MultiplyByQuantizedMultiplier restated: high-mul rounds half up, the shift half away from zero. */
static int32_t ref_mul(int32_t x, int32_t m, int shift)
{
	const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
	const int64_t xl = (int64_t)x * ((int64_t)1 << left);
	int64_t t, q, r, half;

	if (xl == INT32_MIN && m == INT32_MIN)
		t = INT32_MAX;
	else
		t = floor_div(xl * m + ((int64_t)1 << 30), (int64_t)1 << 31);
	if (right == 0)
		return (int32_t)t;
	half = (int64_t)1 << (right - 1);
	q = (t < 0 ? -t : t) >> right;
	r = (t < 0 ? -t : t) & (((int64_t)1 << right) - 1);
	if (r >= half)
		q++;
	return (int32_t)(t < 0 ? -q : q);
}

START_TEST(test_fixed_point_edges)
{
	uint64_t st = 7;
	int32_t m;
	int shift;

	ck_assert_int_eq(vigil_q_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	ck_assert_int_eq(vigil_q_rdbypot(-1, 1), -1); /* -0.5 -> -1 (half away from zero) */
	ck_assert_int_eq(vigil_q_rdbypot(1, 1), 1);
	ck_assert_int_eq(vigil_q_rdbypot(-3, 1), -2);
	ck_assert_int_eq(vigil_q_rdbypot(5, 2), 1);
	ck_assert_int_eq(vigil_q_rdbypot(6, 2), 2);
	ck_assert_int_eq(vigil_q_srdhm(1 << 30, 1), 1); /* 0.5 ulp rounds up */
	ck_assert_int_eq(vigil_q_srdhm(-(1 << 30), 1), 0);
	vigil_q_quantize_multiplier(0.5, &m, &shift);
	ck_assert(m == (int32_t)(1u << 30) && shift == 0);
	vigil_q_quantize_multiplier(1.0, &m, &shift);
	ck_assert(m == (int32_t)(1u << 30) && shift == 1);
	vigil_q_quantize_multiplier(0.0, &m, &shift);
	ck_assert(m == 0 && shift == 0);
	vigil_q_quantize_multiplier(1e-12, &m, &shift); /* below 2^-31: flushed to zero as TFLite does */
	ck_assert(m == 0 && shift == 0);
	vigil_q_quantize_multiplier(0.99999999999, &m, &shift); /* rounds up to 2^31: renormalised */
	ck_assert(m == (int32_t)(1u << 30) && shift == 1);
	for (int i = 0; i < 200000; i++) {
		const double real = ldexp((double)(tu_rand(&st) % 1000000 + 1) / 1e6, (int)(tu_rand(&st) % 40) - 30);
		const int32_t x = (int32_t)(tu_rand(&st) % (1u << 24)) - (1 << 23);
		int32_t got, want;

		vigil_q_quantize_multiplier(real, &m, &shift);
		ck_assert(m == 0 || (m >= (1 << 30) && shift <= 30));
		if (shift > 7)
			continue; /* x << shift must stay in int32, as TFLite requires */
		got = vigil_q_mul(x, m, shift);
		want = ref_mul(x, m, shift);
		ck_assert_msg(got == want, "x %d m %d shift %d: %d vs %d", x, m, shift, got, want);
		ck_assert(fabs((double)got - (double)x * real) <= 1.0 + fabs((double)x * real) * 1e-8);
	}
}
END_TEST

static int rnd(uint64_t *st, int lo, int hi)
{
	return lo + (int)(tu_rand(st) % (uint64_t)(hi - lo + 1));
}

/* Convolutions (plain and depthwise, uint8 and int8 per-channel, both requantizations) against direct sums with an
 * explicitly zero-point-padded input and the restated rounding; saturation is forced by extreme scales. */
START_TEST(test_conv_random)
{
	uint64_t st = 0x51 + (uint64_t)_i;

	for (int iter = 0; iter < 60; iter++) {
		const int dw = iter % 2, is_signed = (iter / 2) % 2, fp32 = (iter / 4) % 2;
		const int ih = rnd(&st, 1, 9), iw = rnd(&st, 1, 9), ic = rnd(&st, 1, 6), mult = dw ? rnd(&st, 1, 2) : 1;
		const int oc = dw ? ic * mult : rnd(&st, 1, 7), k = rnd(&st, 1, 3), stride = rnd(&st, 1, 2);
		const int dil = rnd(&st, 1, 2), oh = (ih + stride - 1) / stride, ow = (iw + stride - 1) / stride;
		const int pt = ((oh - 1) * stride + (k - 1) * dil + 1 - ih) > 0
				   ? ((oh - 1) * stride + (k - 1) * dil + 1 - ih) / 2
				   : 0;
		const int pl = ((ow - 1) * stride + (k - 1) * dil + 1 - iw) > 0
				   ? ((ow - 1) * stride + (k - 1) * dil + 1 - iw) / 2
				   : 0;
		const int lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
		const int32_t in_zp = rnd(&st, lo, hi), w_zp = is_signed ? 0 : rnd(&st, 0, 255),
			      out_zp = rnd(&st, lo, hi);
		const float in_s = (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, 3, 8));
		const float out_s =
		    (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, iter % 7 ? 0 : -4, 6));
		const size_t nw = dw ? (size_t)k * k * oc : (size_t)oc * k * k * ic;
		uint8_t in[9 * 9 * 6], w[7 * 3 * 3 * 6 > 3 * 3 * 12 ? 7 * 3 * 3 * 6 : 3 * 3 * 12], out[9 * 9 * 12];
		int32_t bias[12], qm[12];
		int sh[12];
		float ws[12], fs[12];
		struct vigil_q8_conv_args a = { 0 };

		for (int i = 0; i < ih * iw * ic; i++)
			in[i] = (uint8_t)rnd(&st, lo, hi);
		for (size_t i = 0; i < nw; i++)
			w[i] = (uint8_t)rnd(&st, is_signed ? -127 : 0, is_signed ? 127 : 255);
		for (int c = 0; c < oc; c++) {
			ws[c] = (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, 5, 9));
			bias[c] = rnd(&st, -20000, 20000);
			if (!is_signed)
				ws[c] = ws[0]; /* uint8: per-tensor */
			vigil_q_quantize_multiplier((double)in_s * (double)ws[c] / (double)out_s, &qm[c], &sh[c]);
			fs[c] = in_s * ws[c] / out_s;
		}
		a = (struct vigil_q8_conv_args){ in,   ih,     iw,    ic,     w,      bias, out, oh, ow,
						 oc,   k,      k,     stride, stride, dil,  dil, pt, pl,
						 mult, -in_zp, -w_zp, out_zp, qm,     sh,   lo,  hi, fp32 ? fs : NULL };
		if (iter % 5 == 0)
			vigil_q_act_range(3, out_s, out_zp, is_signed, &a.act_min, &a.act_max);
		if (dw)
			(is_signed ? vigil_i8_dwconv2d__c : vigil_u8_dwconv2d__c)(&a);
		else
			(is_signed ? vigil_i8_conv2d__c : vigil_u8_conv2d__c)(&a);
		for (int y = 0; y < oh; y++)
			for (int x = 0; x < ow; x++)
				for (int o = 0; o < oc; o++) {
					int64_t acc = bias[o];
					int32_t want;
					int got;

					for (int ky = 0; ky < k; ky++)
						for (int kx = 0; kx < k; kx++)
							for (int c = 0; c < (dw ? 1 : ic); c++) {
								const int yy = y * stride - pt + ky * dil,
									  xx = x * stride - pl + kx * dil;
								const int cin = dw ? o / mult : c;
								/* padding holds the input zero point: contributes nothing */
								const int32_t v =
								    (yy < 0 || yy >= ih || xx < 0 || xx >= iw)
									? in_zp
									: (is_signed
									       ? (int8_t)
										     in[((size_t)yy * iw + xx) * ic +
											cin]
									       : in[((size_t)yy * iw + xx) * ic + cin]);
								const size_t wi =
								    dw ? ((size_t)ky * k + kx) * oc + o
								       : (((size_t)o * k + ky) * k + kx) * ic + c;
								const int32_t wv = is_signed ? (int8_t)w[wi] : w[wi];

								acc += (int64_t)(wv - w_zp) * (v - in_zp);
							}
					if (fp32) {
						float f = (float)(int32_t)acc * fs[o];

						f = f < (float)(a.act_min - out_zp) ? (float)(a.act_min - out_zp) : f;
						f = f > (float)(a.act_max - out_zp) ? (float)(a.act_max - out_zp) : f;
						want = (int32_t)nearbyintf(f) + out_zp;
						ck_assert(fabs((double)want -
							       ((double)acc * in_s * ws[o] / out_s + out_zp)) <= 1.01 ||
							  want == a.act_min || want == a.act_max);
					} else {
						want = ref_mul((int32_t)acc, qm[o], sh[o]) + out_zp;
						want = want < a.act_min   ? a.act_min
						       : want > a.act_max ? a.act_max
									  : want;
					}
					got = is_signed ? (int8_t)out[((size_t)y * ow + x) * oc + o]
							: out[((size_t)y * ow + x) * oc + o];
					ck_assert_msg(got == want,
						      "iter %d (dw %d signed %d fp32 %d) at %d,%d,%d: %d vs %d", iter,
						      dw, is_signed, fp32, y, x, o, got, want);
				}
	}
}
END_TEST

/* The channel-vectorised C depthwise kernel gives the reference's bytes (the AVX2 kernels: tests/test_q8_simd.c). */
START_TEST(test_fast_kernels_identical)
{
	uint64_t st = 0xfa57;

	for (int iter = 0; iter < 40; iter++) {
		const int h = rnd(&st, 1, 7), w = rnd(&st, 1, 9), ic = rnd(&st, 1, 70);
		const int fp32 = iter % 2, k = rnd(&st, 1, 3), stride = rnd(&st, 1, 2);
		const int oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride;
		const int pt = ((oh - 1) * stride + k - h) > 0 ? ((oh - 1) * stride + k - h) / 2 : 0;
		const int pl = ((ow - 1) * stride + k - w) > 0 ? ((ow - 1) * stride + k - w) / 2 : 0;
		uint8_t *in = malloc((size_t)h * w * 70), *wt = malloc((size_t)70 * 40 * 9);
		uint8_t *o1 = malloc((size_t)h * w * 70), *o2 = malloc((size_t)h * w * 70);
		int32_t bias[70], qm[70], acc[70];
		int sh[70];
		float fs[70];
		const float in_s = 0.02f, out_s = (float)ldexp(1.0, -rnd(&st, 0, 4));
		struct vigil_q8_conv_args a;

		for (int i = 0; i < h * w * 70; i++)
			in[i] = (uint8_t)rnd(&st, 0, 255);
		for (int i = 0; i < 70 * 40 * 9; i++)
			wt[i] = (uint8_t)rnd(&st, 0, 255);
		for (int c = 0; c < 70; c++) {
			bias[c] = rnd(&st, -30000, 30000);
			fs[c] = in_s * 0.003f / out_s;
			vigil_q_quantize_multiplier((double)in_s * 0.003 / out_s, &qm[c], &sh[c]);
		}
		/* depthwise, multiplier 1 */
		a = (struct vigil_q8_conv_args){ in,
						 h,
						 w,
						 ic,
						 wt,
						 iter % 3 ? bias : NULL,
						 o1,
						 oh,
						 ow,
						 ic,
						 k,
						 k,
						 stride,
						 stride,
						 1,
						 1,
						 pt,
						 pl,
						 1,
						 -rnd(&st, 0, 255),
						 -rnd(&st, 0, 255),
						 rnd(&st, 0, 255),
						 qm,
						 sh,
						 0,
						 255,
						 fp32 ? fs : NULL };
		vigil_u8_dwconv2d__c(&a);
		a.output = o2;
		vigil_u8_dwconv2d_m1__c(&a, acc);
		ck_assert_msg(memcmp(o1, o2, (size_t)oh * ow * ic) == 0, "depthwise iter %d", iter);
		free(in);
		free(wt);
		free(o1);
		free(o2);
	}
}
END_TEST

/* The whole model through the reference kernels only (VIGIL_Q8_REFERENCE=1) is bit-exact too. */
/* Every convolution of the model takes the optimised kernels of the CPU (the bit-exact tests above then test them):
 * NEON on aarch64 (the GEMM on the dot-product kernels where the CPU has them), the best of AVX2/AVX-512 on x86-64; the C kernels under VIGIL_FORCE_C=1 (quant_force_c) or where
 * VIGIL_CPU_DISABLE leaves none. */
START_TEST(test_ssd_kernel_paths)
{
	struct vigil_q8_program *p;
	struct vigil_graph g;
	size_t n;
	uint8_t *model = read_model(&n);
	const int forced = getenv("VIGIL_FORCE_C") && strcmp(getenv("VIGIL_FORCE_C"), "1") == 0;
	const unsigned f = vigil_cpu_features();
	const char *isa = f & VIGIL_CPU_AVX512VNNI ? "avx512vnni "
			  : f & VIGIL_CPU_AVX512   ? "avx512 "
			  : f & VIGIL_CPU_AVX2     ? "avx2 "
			  : f & VIGIL_CPU_NEON     ? "neon "
						   : NULL;
	/* the GEMM's dot-product kernels where the CPU has them (qemu-aarch64 -cpu max; VIGIL_CPU_DISABLE=dotprod not) */
	const char *gemm = f & VIGIL_CPU_DOTPROD ? "neon dotprod gemm" : f & VIGIL_CPU_NEON ? "neon gemm" : isa;
	int convs = 0;

	ck_assert_int_eq(vigil_tflite_import(model, n, SSD_MODEL, &g), 0);
	ck_assert_int_eq(vigil_q8_program_create(&g, VIGIL_Q8_REQUANT_FP32, &p), 0);
	for (int i = 0; i < vigil_q8_program_n_ops(p); i++) {
		const char *path = vigil_q8_program_op_path(p, i);

		if (g.ops[i].kind != VIGIL_OP_CONV2D && g.ops[i].kind != VIGIL_OP_DWCONV2D)
			continue;
		convs++;
		if (forced || !isa)
			ck_assert_msg(strncmp(path, "c", 1) == 0, "op %d: %s under VIGIL_FORCE_C=1", i, path);
		else if (g.ops[i].kind == VIGIL_OP_CONV2D)
			ck_assert_msg(strncmp(path, gemm, strlen(gemm)) == 0, "op %d: %s, expected the %s kernels", i,
				      path, gemm);
		else if (strncmp(path, "f32-exact dw", 12) != 0)
			ck_assert_msg(strncmp(path, isa, strlen(isa)) == 0, "op %d: %s, expected the %skernels", i,
				      path, isa);
	}
	ck_assert_int_gt(convs, 30);
	vigil_q8_program_destroy(p);
	vigil_graph_free(&g);
	free(model);
}
END_TEST

START_TEST(test_ssd_reference_kernels)
{
	struct vigil_q8_program *p;
	struct vigil_graph g;
	size_t n, bytes;
	uint8_t *model = read_model(&n);
	float *out[4], *ref;
	void *arena;

	setenv("VIGIL_Q8_REFERENCE", "1", 1);
	ck_assert_int_eq(vigil_tflite_import(model, n, SSD_MODEL, &g), 0);
	ck_assert_int_eq(vigil_q8_program_create(&g, VIGIL_Q8_REQUANT_FP32, &p), 0);
	unsetenv("VIGIL_Q8_REFERENCE");
	arena = aligned_alloc(64, vigil_q8_program_arena_bytes(p, 1));
	run_set(p, &g, arena, 1, out);
	ref = (float *)read_set_file(0, "test_image", "out0_TFLite_Detection_PostProcess.float32.bin", &bytes);
	ck_assert(memcmp(ref, out[0], bytes) == 0);
	free(ref);
	free(arena);
	vigil_q8_program_destroy(p);
	vigil_graph_free(&g);
	free(model);
}
END_TEST

START_TEST(test_add_concat_pool_random)
{
	uint64_t st = 0xadd;

	for (int iter = 0; iter < 200; iter++) {
		const int is_signed = iter % 2, lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
		const float s1 = (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, 2, 8));
		const float s2 = (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, 2, 8));
		const float so = (float)ldexp(1.0 + (double)(tu_rand(&st) % 1000) / 1000, -rnd(&st, 1, 8));
		const int32_t z1 = rnd(&st, lo, hi), z2 = rnd(&st, lo, hi), zo = rnd(&st, lo, hi);
		uint8_t a[64], b[64], out[128];
		struct vigil_q8_add_params p;
		struct vigil_q8_concat_input ci[2];

		for (int i = 0; i < 64; i++) {
			a[i] = (uint8_t)rnd(&st, lo, hi);
			b[i] = (uint8_t)rnd(&st, lo, hi);
		}
		if (iter < 4) { /* saturation at both ends */
			memset(a, is_signed ? 0x7f : 0xff, 64);
			memset(b, is_signed ? 0x80 : 0x00, 32);
		}
		vigil_q8_add_prepare(s1, z1, s2, z2, so, zo, lo, hi, &p);
		if (is_signed)
			vigil_i8_add__c((int8_t *)a, (int8_t *)b, (int8_t *)out, 64, &p);
		else
			vigil_u8_add__c(a, b, out, 64, &p);
		for (int i = 0; i < 64; i++) {
			const int32_t va = is_signed ? (int8_t)a[i] : a[i], vb = is_signed ? (int8_t)b[i] : b[i];
			const double real = (s1 * (va - z1) + (double)s2 * (vb - z2)) / so + zo;
			const double want = real < lo ? lo : real > hi ? hi : real;
			const int got = is_signed ? (int8_t)out[i] : out[i];

			ck_assert_msg(fabs(got - want) <= 1.0, "add iter %d [%d]: %d vs %.3f", iter, i, got, want);
		}
		/* concatenation: rescaled part within rounding, the same-parameter part copied */
		ci[0] = (struct vigil_q8_concat_input){ a, 8, s1, z1 };
		ci[1] = (struct vigil_q8_concat_input){ b, 8, so, zo };
		if (is_signed)
			vigil_i8_concat__c(ci, 2, 4, so, zo, (int8_t *)out);
		else
			vigil_u8_concat__c(ci, 2, 4, so, zo, out);
		for (int k = 0; k < 4; k++)
			for (int j = 0; j < 8; j++) {
				const int32_t va = is_signed ? (int8_t)a[k * 8 + j] : a[k * 8 + j];
				const double real = (double)s1 * (va - z1) / so + zo;
				const double want = real < lo ? lo : real > hi ? hi : real;
				const int got = is_signed ? (int8_t)out[k * 16 + j] : out[k * 16 + j];

				ck_assert(fabs(got - want) <= 0.5 + 1e-4);
				ck_assert(out[k * 16 + 8 + j] == b[k * 8 + j]);
			}
	}
	{ /* average pooling rounds half away from zero; max pooling ignores padding */
		const int8_t in[4] = { -3, -2, 2, 1 };
		int8_t o[1];
		struct vigil_q8_pool_args pa = { in, 2, 2, 1, o, 1, 1, 2, 2, 2, 2, 0, 0, -128, 127 };

		vigil_i8_avgpool2d__c(&pa); /* -2 / 4 = -0.5 -> -1 */
		ck_assert_int_eq(o[0], -1);
		vigil_i8_maxpool2d__c(&pa);
		ck_assert_int_eq(o[0], 2);
		pa.pad_top = pa.pad_left = 1; /* window over one real pixel */
		vigil_i8_avgpool2d__c(&pa);
		ck_assert_int_eq(o[0], -3);
	}
}
END_TEST

START_TEST(test_logistic_quantize)
{
	uint8_t table[256], q[6];
	const float f[6] = { -1e9f, -0.51f, 0.49f, 127.4f, 1e9f, NAN };
	float back[6];

	vigil_q8_logistic_table(0.0497368f, 223, 1.0f / 256, 0, 0, table);
	for (int v = 0; v < 256; v++) {
		const double want = 256.0 / (1.0 + exp(-0.0497368 * (v - 223)));

		ck_assert(fabs(table[v] - (want > 255 ? 255 : want)) <= 0.5 + 1e-3);
		ck_assert(v == 0 || table[v] >= table[v - 1]);
	}
	vigil_u8_quantize__c(f, q, 6, 1.0f, 0);
	ck_assert(q[0] == 0 && q[1] == 0 && q[2] == 0 && q[3] == 127 && q[4] == 255);
	vigil_i8_quantize__c(f, (int8_t *)q, 5, 0.5f, -10);
	ck_assert((int8_t)q[0] == -128 && (int8_t)q[1] == -11 && (int8_t)q[2] == -9 && (int8_t)q[3] == 127);
	q[0] = 0;
	q[1] = 255;
	vigil_u8_dequantize__c(q, back, 2, 0.25f, 128);
	ck_assert(back[0] == -32.0f && back[1] == 31.75f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quant");
	TCase *model = tcase_create("ssd"), *imp = tcase_create("import"), *k = tcase_create("kernels");

#ifdef VIGIL_TEST_SANITIZED
	tcase_add_loop_test(model, test_ssd_bit_exact, 0, 1); /* plus vtest_frame0001 below: one set of each origin */
	tcase_add_loop_test(model, test_ssd_bit_exact, 2, 3);
#else
	tcase_add_loop_test(model, test_ssd_bit_exact, 0, (int)(sizeof(ssd_sets) / sizeof(ssd_sets[0])));
	tcase_add_test(model, test_ssd_fixedpoint_close);
#endif
	tcase_set_timeout(model, 300);
	tcase_add_test(model, test_detector_coco_ssd);
	tcase_add_test(model, test_ssd_threads);
	tcase_add_test(model, test_ssd_kernel_paths);
#ifndef VIGIL_TEST_SANITIZED
	tcase_add_test(model, test_ssd_reference_kernels); /* the reference kernels are slow under ASan */
#endif
	tcase_add_test(imp, test_bad_quantization);
	tcase_add_test(imp, test_custom_ops);
	tcase_add_test(k, test_fixed_point_edges);
	tcase_add_loop_test(k, test_conv_random, 0, 3);
	tcase_add_test(k, test_add_concat_pool_random);
	tcase_add_test(k, test_fast_kernels_identical);
	tcase_add_test(k, test_logistic_quantize);
	suite_add_tcase(s, model);
	suite_add_tcase(s, imp);
	suite_add_tcase(s, k);
	return tu_run(s, CK_FORK);
}
