/* SPDX-License-Identifier: Apache-2.0
 * FlexBuffers reader and TFLite_Detection_PostProcess options: buffers built here byte by byte (a map like the one
 * TFLite's converter writes), then truncated, corrupted and given wrong types. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detpp.h"
#include "flexbuf.h"
#include "testutil.h"
#include "vigil/vigil.h"

enum { T_INT = 1, T_UINT = 2, T_FLOAT = 3, T_STRING = 5, T_IND_FLOAT = 8, T_MAP = 9, T_BOOL = 26 };

struct entry {
	const char *key;
	int type;
	double value;
};

struct fbuild {
	uint8_t b[4096];
	size_t n;
};

static void put(struct fbuild *f, uint64_t v, unsigned w)
{
	for (unsigned i = 0; i < w; i++)
		f->b[f->n++] = (uint8_t)(v >> (8 * i));
}

static void align(struct fbuild *f, unsigned w)
{
	while (f->n % w)
		f->b[f->n++] = 0;
}

static uint64_t float_bits(double v, unsigned w)
{
	uint64_t u = 0;

	if (w == 4) {
		float f = (float)v;
		uint32_t u32;

		memcpy(&u32, &f, 4);
		u = u32;
	} else {
		memcpy(&u, &v, 8);
	}
	return u;
}

static unsigned log2w(unsigned w)
{
	return w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : 3;
}

/* A map of @p n entries with element width @p w (and key width @p w). */
static size_t build_map(struct fbuild *f, const struct entry *e, int n, unsigned w)
{
	size_t key_pos[32], ind_pos[32], keys, map;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < n; i++) {
		key_pos[i] = f->n;
		memcpy(f->b + f->n, e[i].key, strlen(e[i].key) + 1);
		f->n += strlen(e[i].key) + 1;
	}
	for (int i = 0; i < n; i++) {
		if (e[i].type == T_IND_FLOAT || e[i].type == T_STRING) {
			align(f, 8);
			ind_pos[i] = f->n;
			if (e[i].type == T_STRING) {
				memcpy(f->b + f->n, "abc", 4);
				f->n += 4;
			} else {
				put(f, float_bits(e[i].value, 8), 8);
			}
		}
	}
	align(f, w);
	put(f, (uint64_t)n, w);
	keys = f->n;
	for (int i = 0; i < n; i++)
		put(f, f->n - key_pos[i], w);
	put(f, f->n - keys, w); /* keys offset */
	put(f, w, w);           /* keys width */
	put(f, (uint64_t)n, w);
	map = f->n;
	for (int i = 0; i < n; i++) {
		switch (e[i].type) {
		case T_INT:
			put(f, (uint64_t)(int64_t)e[i].value, w);
			break;
		case T_UINT:
		case T_BOOL:
			put(f, (uint64_t)e[i].value, w);
			break;
		case T_FLOAT:
			put(f, float_bits(e[i].value, w), w);
			break;
		default:
			put(f, f->n - ind_pos[i], w);
			break;
		}
	}
	for (int i = 0; i < n; i++)
		f->b[f->n++] = (uint8_t)(e[i].type << 2 | (e[i].type == T_IND_FLOAT ? 3
							   : e[i].type == T_STRING  ? 0
										    : 0));
	put(f, f->n - map, w);
	f->b[f->n++] = (uint8_t)(T_MAP << 2 | log2w(w));
	f->b[f->n++] = (uint8_t)w;
	return f->n;
}

/* What TFLite's object-detection exporter writes (COCO SSD MobileNet values). */
static const struct entry ssd_options[] = {
	{ "max_detections", T_INT, 10 },
	{ "max_classes_per_detection", T_INT, 1 },
	{ "detections_per_class", T_INT, 100 },
	{ "use_regular_nms", T_BOOL, 0 },
	{ "nms_score_threshold", T_FLOAT, 3.0e-8 },
	{ "nms_iou_threshold", T_FLOAT, 0.6 },
	{ "num_classes", T_INT, 90 },
	{ "y_scale", T_FLOAT, 10.0 },
	{ "x_scale", T_FLOAT, 10.0 },
	{ "h_scale", T_FLOAT, 5.0 },
	{ "w_scale", T_FLOAT, 5.0 },
};
#define N_SSD ((int)(sizeof(ssd_options) / sizeof(ssd_options[0])))

START_TEST(test_parse_widths)
{
	static const unsigned widths[] = { 4, 8 };
	struct vigil_detpp_params p;
	struct fbuild f;
	size_t n = build_map(&f, ssd_options, N_SSD, widths[_i]);

	ck_assert_int_eq(vigil_detpp_parse_options(f.b, n, &p), 0);
	ck_assert_int_eq(p.max_detections, 10);
	ck_assert_int_eq(p.max_classes_per_detection, 1);
	ck_assert_int_eq(p.detections_per_class, 100);
	ck_assert_int_eq(p.num_classes, 90);
	ck_assert_int_eq(p.use_regular_nms, 0);
	ck_assert(p.nms_score_threshold == 3.0e-8f);
	ck_assert(p.nms_iou_threshold == 0.6f);
	ck_assert(p.y_scale == 10.0f && p.x_scale == 10.0f && p.h_scale == 5.0f && p.w_scale == 5.0f);
}
END_TEST

/* Small integer values in a 1-byte map, an indirect float, defaults for the optional keys. */
START_TEST(test_parse_narrow_and_defaults)
{
	struct entry e[N_SSD];
	struct vigil_detpp_params p;
	struct fbuild f;
	int n = 0;

	for (int i = 0; i < N_SSD; i++) {
		if (!strcmp(ssd_options[i].key, "detections_per_class") ||
		    !strcmp(ssd_options[i].key, "use_regular_nms"))
			continue;
		e[n] = ssd_options[i];
		if (e[n].type == T_FLOAT)
			e[n].type = T_IND_FLOAT;
		n++;
	}
	e[0].type = T_UINT; /* max_detections as uint */
	ck_assert_int_eq(vigil_detpp_parse_options(f.b, build_map(&f, e, n, 1), &p), 0);
	ck_assert_int_eq(p.detections_per_class, 100);
	ck_assert_int_eq(p.use_regular_nms, 0);
	ck_assert_int_eq(p.max_detections, 10);
	ck_assert(p.nms_iou_threshold == 0.6f);
	ck_assert(p.h_scale == 5.0f);
}
END_TEST

static void expect_error(const struct entry *e, int n, const char *needle)
{
	struct vigil_detpp_params p;
	struct fbuild f;
	size_t len = build_map(&f, e, n, 4);

	ck_assert_int_eq(vigil_detpp_parse_options(f.b, len, &p), VIGIL_EMODEL);
	ck_assert_msg(strstr(vigil_last_error(), needle), "message '%s' lacks '%s'", vigil_last_error(), needle);
}

START_TEST(test_bad_values)
{
	struct entry e[N_SSD];

	memcpy(e, ssd_options, sizeof(e));
	expect_error(e, N_SSD - 1, "'w_scale' is missing");
	e[0].value = 0;
	expect_error(e, N_SSD, "'max_detections' is 0");
	e[0].value = 10;
	e[1].value = 91;
	expect_error(e, N_SSD, "exceeds num_classes");
	e[1].value = 1;
	e[5].value = 0;
	expect_error(e, N_SSD, "nms_iou_threshold");
	e[5].value = 0.6;
	e[9].value = -1;
	expect_error(e, N_SSD, "must all be > 0");
	e[9].value = NAN;
	expect_error(e, N_SSD, "must be finite");
	e[9].value = 5;
	e[6].type = T_STRING;
	expect_error(e, N_SSD, "expected a number");
}
END_TEST

START_TEST(test_malformed_headers)
{
	struct vigil_detpp_params p;
	struct vigil_flex_ref ref;
	struct vigil_flex_map m;
	struct fbuild f;
	size_t n = build_map(&f, ssd_options, N_SSD, 4);

	ck_assert_int_eq(vigil_detpp_parse_options(NULL, 0, &p), VIGIL_EMODEL);
	ck_assert_int_eq(vigil_flex_root(f.b, 2, &ref), VIGIL_EMODEL);
	f.b[n - 1] = 3; /* root width */
	ck_assert_int_eq(vigil_flex_root(f.b, n, &ref), VIGIL_EMODEL);
	ck_assert(strstr(vigil_last_error(), "root width 3"));
	f.b[n - 1] = 4;
	f.b[n - 2] = (uint8_t)(T_INT << 2 | 2); /* root is an int, not a map */
	ck_assert_int_eq(vigil_flex_root(f.b, n, &ref), 0);
	ck_assert_int_eq(vigil_flex_as_map(&ref, &m), VIGIL_EMODEL);
	ck_assert(strstr(vigil_last_error(), "expected a map"));
	f.b[n - 2] = (uint8_t)(T_MAP << 2 | 2);
	/* the map offset pointing before byte 0 */
	memset(f.b + n - 6, 0xff, 4);
	ck_assert_int_eq(vigil_detpp_parse_options(f.b, n, &p), VIGIL_EMODEL);
	ck_assert(strstr(vigil_last_error(), "points before the start"));
}
END_TEST

/* Every prefix, and every single-byte corruption of every position: an error or a parse, never a bad read. */
START_TEST(test_truncations_and_corruptions)
{
	struct vigil_detpp_params p;
	struct fbuild f, g;
	const size_t n = build_map(&f, ssd_options, N_SSD, _i ? 8 : 4);
	uint64_t st = 99;
	int ok = 0;

	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1); /* exact size so that ASan sees any over-read */

		memcpy(copy, f.b + n - len, len); /* a suffix keeps the root at the end, with wrong offsets */
		if (vigil_detpp_parse_options(copy, len, &p) == 0)
			ok++;
		memcpy(copy, f.b, len);
		ck_assert_int_eq(vigil_detpp_parse_options(copy, len, &p), VIGIL_EMODEL);
		free(copy);
	}
	for (size_t pos = 0; pos < n; pos++) {
		for (int k = 0; k < 4; k++) {
			uint8_t *copy = malloc(n);

			g = f;
			g.b[pos] = k == 0 ? 0 : k == 1 ? 0xff : (uint8_t)tu_rand(&st);
			memcpy(copy, g.b, n);
			if (vigil_detpp_parse_options(copy, n, &p) == 0)
				ok++;
			free(copy);
		}
	}
	ck_assert_int_gt(ok, 0); /* some corruptions (inside key names of unused keys, padding) still parse */
}
END_TEST

START_TEST(test_map_iteration)
{
	struct vigil_flex_ref ref, v;
	struct vigil_flex_map m;
	struct fbuild f;
	const size_t n = build_map(&f, ssd_options, N_SSD, 2);
	const char *key;
	int64_t i64;

	ck_assert_int_eq(vigil_flex_root(f.b, n, &ref), 0);
	ck_assert_int_eq(vigil_flex_as_map(&ref, &m), 0);
	ck_assert_uint_eq(m.count, N_SSD);
	for (int i = 0; i < N_SSD; i++) {
		ck_assert_int_eq(vigil_flex_map_key(&m, (uint64_t)i, &key), 0);
		ck_assert_str_eq(key, ssd_options[i].key);
	}
	ck_assert_int_eq(vigil_flex_map_key(&m, N_SSD, &key), VIGIL_EMODEL);
	ck_assert_int_eq(vigil_flex_map_find(&m, "num_classes", &v), 1);
	ck_assert_int_eq(vigil_flex_as_i64(&v, &i64), 0);
	ck_assert_int_eq(i64, 90);
	ck_assert_int_eq(vigil_flex_map_find(&m, "nothing", &v), 0);
	/* a 2-byte float is not a FlexBuffers float */
	ck_assert_int_eq(vigil_flex_map_find(&m, "y_scale", &v), 1);
	ck_assert_int_eq(vigil_flex_as_i64(&v, &i64), VIGIL_EMODEL);
}
END_TEST

/* The options inside COCO SSD MobileNet v1 quant (detect.tflite), extracted byte for byte. */
START_TEST(test_real_model_options)
{
	struct vigil_detpp_params p;
	size_t n;
	uint8_t *buf = tu_read_file(tu_data_path("flexbuf/ssd_mobilenet_v1_detpp_options.bin"), &n);

	ck_assert_int_eq(vigil_detpp_parse_options(buf, n, &p), 0);
	ck_assert_int_eq(p.max_detections, 10);
	ck_assert_int_eq(p.max_classes_per_detection, 1);
	ck_assert_int_eq(p.num_classes, 90);
	ck_assert_int_eq(p.use_regular_nms, 0);
	ck_assert(p.nms_iou_threshold == 0.6f);
	ck_assert(p.y_scale == 10.0f && p.x_scale == 10.0f && p.h_scale == 5.0f && p.w_scale == 5.0f);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flexbuf");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_widths, 0, 2);
	tcase_add_test(tc, test_parse_narrow_and_defaults);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_malformed_headers);
	tcase_add_loop_test(tc, test_truncations_and_corruptions, 0, 2);
	tcase_add_test(tc, test_map_iteration);
	tcase_add_test(tc, test_real_model_options);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
