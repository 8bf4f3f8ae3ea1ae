/* SPDX-License-Identifier: Apache-2.0
 * The detector through the public API: no allocation per frame, configuration and frame checks, model
 * loading errors, sharing one model between threads, ROI, caps. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vigil/vigil.h"

/* ---- allocation counter: the suite links with -Wl,--wrap for every allocator entry point ---- */
static atomic_long n_allocs;
static atomic_int counting;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

#define COUNT()                                                                                                        \
	do {                                                                                                           \
		if (atomic_load(&counting))                                                                            \
			atomic_fetch_add(&n_allocs, 1);                                                                \
	} while (0)

void *__wrap_malloc(size_t n)
{
	COUNT();
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	COUNT();
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	COUNT();
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	if (p)
		COUNT();
	__real_free(p);
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
	COUNT();
	return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
	COUNT();
	return __real_aligned_alloc(a, n);
}

/* ---- frames ---- */

/* A 192x192 RGB photo: the TFLite reference input tensor of sample1 (letterboxed group photo) turned
 * back into pixels. At the model's own size preprocessing is an identity. */
static uint8_t *sample_rgb192(void)
{
	float *t =
	    tu_read_f32("reference_tensors/blazeface_full_range/sample1.input_192x192x3.float32.bin", 192 * 192 * 3);
	uint8_t *rgb = malloc(192 * 192 * 3);

	for (int i = 0; i < 192 * 192 * 3; i++)
		rgb[i] = (uint8_t)lrintf((t[i] + 1.0f) * 127.5f);
	free(t);
	return rgb;
}

static struct vigil_frame rgb_frame(const uint8_t *rgb, int w, int h)
{
	struct vigil_frame f;

	ck_assert_int_eq(vigil_frame_init_packed(&f, VIGIL_FORMAT_RGB, w, h, rgb), (long)w * h * 3);
	return f;
}

static struct vigil_model *open_model(const char *name)
{
	struct vigil_model *m;
	int ret = vigil_model_open(name, &m);

	ck_assert_msg(ret == 0, "open %s: %s", name, vigil_last_error());
	return m;
}

START_TEST(test_detect_allocates_nothing)
{
	const int w = 1920, h = 1080;
	struct vigil_frame nv12, small;
	uint8_t *buf = malloc((size_t)w * h * 3 / 2), *buf2 = malloc(640 * 480 * 2);
	static const char *const names[] = { "face-full", "face-short", "coco-ssd" };
	struct vigil_model *model = open_model(names[_i]);
	struct vigil_detector *det;
	struct vigil_detector_config cfg;
	const struct vigil_detections *out;
	const int rounds = _i == 2 ? 1 : 3; /* the quantized reference kernels take a second per frame */

	for (size_t i = 0; i < (size_t)w * h * 3 / 2; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	memset(buf2, 100, 640 * 480 * 2);
	ck_assert_int_gt(vigil_frame_init_packed(&nv12, VIGIL_FORMAT_NV12, w, h, buf), 0);
	ck_assert_int_gt(vigil_frame_init_packed(&small, VIGIL_FORMAT_YUY2, 640, 480, buf2), 0);
	/* face-short on a pool of 3 threads: waking the workers per layer allocates nothing either */
	vigil_detector_config_init(&cfg);
	cfg.threads = _i ? 3 : 1;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), 0);

	/* Nothing but detect inside the window: Check's own assertions allocate (it is linked statically). */
	int ret[6] = { 0 };
	atomic_store(&n_allocs, 0);
	atomic_store(&counting, 1);
	for (int i = 0; i < rounds; i++) {
		ret[2 * i] = vigil_detector_detect(det, &nv12, &out);
		/* a new geometry and format recomputes the sampling tables, still in place */
		ret[2 * i + 1] = vigil_detector_detect(det, &small, &out);
	}
	atomic_store(&counting, 0);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(ret[i], 0);
	ck_assert_msg(atomic_load(&n_allocs) == 0, "detect allocated %ld times", atomic_load(&n_allocs));

	/* the counter itself works: create allocates */
	struct vigil_detector *det2;
	atomic_store(&counting, 1);
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det2), 0);
	atomic_store(&counting, 0);
	ck_assert_int_gt(atomic_load(&n_allocs), 0);

	vigil_detector_destroy(det2);
	vigil_detector_destroy(det);
	vigil_model_close(model);
	free(buf2);
	free(buf);
}
END_TEST

START_TEST(test_uniform_gray_has_no_faces)
{
	static const char *models[] = { "face-full", "face-short" };
	const int w = 640, h = 480;
	uint8_t *rgb = malloc(w * h * 3), *nv12 = malloc(w * h * 3 / 2);
	struct vigil_frame f;
	struct vigil_model *model = open_model(models[_i]);
	struct vigil_detector *det;
	const struct vigil_detections *out;

	memset(rgb, 128, w * h * 3);
	memset(nv12, 128, w * h * 3 / 2);
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	f = rgb_frame(rgb, w, h);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_eq(out->count, 0);
	ck_assert_int_eq(out->frame_width, w);
	ck_assert_int_gt(vigil_frame_init_packed(&f, VIGIL_FORMAT_NV12, w, h, nv12), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_eq(out->count, 0);
	vigil_detector_destroy(det);
	vigil_model_close(model);
	free(nv12);
	free(rgb);
}
END_TEST

START_TEST(test_faces_roi_and_cap)
{
	uint8_t *rgb = sample_rgb192();
	struct vigil_frame f = rgb_frame(rgb, 192, 192);
	struct vigil_model *model = open_model("face-full");
	struct vigil_detector_config cfg;
	struct vigil_detector *det;
	const struct vigil_detections *out;
	struct vigil_detection first;
	size_t n_all;

	f.pts_ns = 123456789;
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	n_all = out->count;
	ck_assert_int_ge(n_all, 3);
	ck_assert(out->pts_ns == 123456789);
	for (size_t i = 0; i < n_all; i++) {
		ck_assert_str_eq(out->items[i].label, "face");
		ck_assert_int_eq(out->items[i].num_keypoints, 6);
		ck_assert_int_eq(out->items[i].track_id, -1);
		ck_assert(out->items[i].score >= 0.6f && out->items[i].score <= 1.0f);
		if (i)
			ck_assert(out->items[i].score <= out->items[i - 1].score);
	}
	first = out->items[0];

	/* cap */
	vigil_detector_config_init(&cfg);
	cfg.max_detections = 1;
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_eq(out->count, 1);
	ck_assert_float_eq(out->items[0].score, first.score);

	/* a threshold of 1 keeps nothing; 0 keeps many more candidates before NMS */
	cfg.max_detections = 100;
	cfg.threshold = 1.0f;
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_eq(out->count, 0);

	/* ROI around the best face: it is found again there, and nothing outside the ROI is reported */
	vigil_detector_config_init(&cfg);
	cfg.roi = (struct vigil_rect){ first.x - first.w, first.y - first.h, 3 * first.w, 3 * first.h };
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_ge(out->count, 1);
	for (size_t i = 0; i < out->count; i++) {
		float cx = out->items[i].x + out->items[i].w / 2, cy = out->items[i].y + out->items[i].h / 2;

		ck_assert(cx >= cfg.roi.x && cx <= cfg.roi.x + cfg.roi.w);
		ck_assert(cy >= cfg.roi.y && cy <= cfg.roi.y + cfg.roi.h);
	}
	ck_assert(fabsf(out->items[0].x + out->items[0].w / 2 - (first.x + first.w / 2)) < first.w / 4);

	/* a ROI outside the frame is an error at detect time */
	cfg.roi = (struct vigil_rect){ 500, 500, 10, 10 };
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);

	vigil_detector_destroy(det);
	vigil_model_close(model);
	free(rgb);
}
END_TEST

struct thread_arg {
	struct vigil_model *model;
	const struct vigil_frame *frame;
	struct vigil_detection best;
	size_t count;
	int ret;
};

static void *detect_thread(void *p)
{
	struct thread_arg *a = p;
	struct vigil_detector *det;
	const struct vigil_detections *out;

	a->ret = vigil_detector_create(a->model, NULL, &det);
	for (int i = 0; i < 5 && a->ret == 0; i++)
		a->ret = vigil_detector_detect(det, a->frame, &out);
	if (a->ret == 0) {
		a->count = out->count;
		if (out->count)
			a->best = out->items[0];
	}
	vigil_detector_destroy(det);
	return NULL;
}

START_TEST(test_model_shared_between_threads)
{
	uint8_t *rgb = sample_rgb192();
	struct vigil_frame f = rgb_frame(rgb, 192, 192);
	struct vigil_model *model = open_model("face-full");
	struct thread_arg args[3];
	pthread_t th[3];

	for (int i = 0; i < 3; i++) {
		args[i] = (struct thread_arg){ .model = vigil_model_ref(model), .frame = &f };
		ck_assert_int_eq(pthread_create(&th[i], NULL, detect_thread, &args[i]), 0);
	}
	vigil_model_close(model); /* the threads hold their own references */
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].ret, 0);
		ck_assert_int_ge(args[i].count, 3);
		ck_assert_int_eq(args[i].count, args[0].count);
		ck_assert(memcmp(&args[i].best, &args[0].best, sizeof(args[0].best)) == 0);
		vigil_model_close(args[i].model);
	}
	free(rgb);
}
END_TEST

START_TEST(test_config_errors)
{
	struct vigil_model *model = open_model("face-short");
	struct vigil_detector_config cfg;
	struct vigil_detector *det = NULL;

	vigil_detector_config_init(&cfg);
	ck_assert_int_eq(cfg.max_detections, 100);
	cfg.threshold = 1.5f;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	ck_assert_ptr_null(det);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "threshold"));
	cfg.threshold = NAN;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	vigil_detector_config_init(&cfg);
	cfg.iou_threshold = 2.0f;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	vigil_detector_config_init(&cfg);
	cfg.max_detections = 0;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	cfg.max_detections = 5000;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "max_detections"));
	vigil_detector_config_init(&cfg);
	cfg.roi.w = INFINITY;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	vigil_detector_config_init(&cfg);
	cfg.sampling = (enum vigil_sampling)7;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "sampling"));
	vigil_detector_config_init(&cfg);
	cfg.threads = 0;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "threads"));
	cfg.threads = VIGIL_MAX_THREADS + 1;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	cfg.threads = 2; /* accepted: a pool of two */
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), 0);
	vigil_detector_destroy(det);
	vigil_detector_config_init(&cfg);
	cfg.backend = (enum vigil_backend)9;
	ck_assert_int_eq(vigil_detector_create(model, &cfg, &det), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "backend"));
	ck_assert_int_eq(vigil_detector_create(NULL, NULL, &det), -EINVAL);
	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	vigil_detector_config_init(&cfg);
	cfg.max_detections = -1;
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), -EINVAL);
	vigil_detector_config_init(&cfg);
	cfg.backend = VIGIL_BACKEND_CPU; /* fixed at create */
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "fixed"));
	vigil_detector_config_init(&cfg);
	ck_assert_int_eq(vigil_detector_set_config(det, &cfg), 0);
	vigil_detector_destroy(det);
	vigil_detector_destroy(NULL);
	vigil_model_close(model);
	vigil_model_close(NULL);
}
END_TEST

START_TEST(test_frame_errors)
{
	struct vigil_model *model = open_model("face-short");
	struct vigil_detector *det;
	const struct vigil_detections *out;
	uint8_t pix[64 * 64 * 4] = { 0 };
	struct vigil_frame f;

	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	f = rgb_frame(pix, 8, 8);
	f.planes[0] = NULL;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	ck_assert_ptr_null(out);
	f = rgb_frame(pix, 8, 8);
	f.width = 0;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	f = rgb_frame(pix, 8, 8);
	f.width = VIGIL_MAX_FRAME_SIDE + 1;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	f = rgb_frame(pix, 8, 8);
	f.strides[0] = 8 * 3 - 1;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "stride"));
	f = rgb_frame(pix, 8, 8);
	f.format = VIGIL_FORMAT_COUNT;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	f.format = (enum vigil_pixel_format) - 1;
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), VIGIL_EFORMAT);
	ck_assert_int_eq(vigil_detector_detect(det, NULL, &out), -EINVAL);
	/* a 1x1 frame is valid */
	f = rgb_frame(pix, 1, 1);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	ck_assert_int_eq(out->count, 0);
	vigil_detector_destroy(det);
	vigil_model_close(model);
}
END_TEST

START_TEST(test_model_open_errors)
{
	struct vigil_model *m = (struct vigil_model *)1;
	static const uint8_t junk[] = "this is not a model";
	const struct vigil_builtin_model *b;

	ck_assert_int_eq(vigil_model_open("face-medium", &m), -ENOENT);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "face-medium"));
	ck_assert_int_eq(vigil_model_open("/nonexistent/model.tflite", &m), -ENOENT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "/nonexistent/model.tflite"));
	ck_assert_int_eq(vigil_model_open(tu_data_path("faces"), &m), -EINVAL); /* a directory */
	ck_assert_int_eq(vigil_model_open(tu_data_path("faces/sample1.jpg"), &m), VIGIL_EMODEL);
	ck_assert_int_eq(vigil_model_open_memory(junk, sizeof(junk), "junk", &m), VIGIL_EMODEL);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "junk"));
	ck_assert_int_eq(vigil_model_open_memory(junk, 0, "empty", &m), VIGIL_EMODEL);
	ck_assert_int_eq(vigil_model_open(tu_data_path("models/face_detection_full_range_sparse.tflite"), &m),
			 VIGIL_EUNSUPPORTED);
	printf("sparse model: %s\n", vigil_last_error());

	/* a model given by path works like the built-in one */
	ck_assert_int_eq(vigil_model_open(tu_data_path("../../models/face_detection_short_range.tflite"), &m), 0);
	ck_assert_int_eq(vigil_model_get_info(m)->input_width, 128);
	ck_assert_int_eq(vigil_model_get_info(m)->num_anchors, 896);
	ck_assert_str_eq(vigil_model_label(m, 0), "face");
	ck_assert_ptr_null(vigil_model_label(m, 1));
	vigil_model_close(m);

	b = vigil_builtin_model(0);
	ck_assert_str_eq(b->name, "face-full");
	ck_assert_int_eq(b->is_default, 1);
	ck_assert_str_eq(vigil_builtin_model(1)->name, "face-short");
	ck_assert_str_eq(vigil_builtin_model(2)->name, "coco-ssd");
	ck_assert_ptr_null(vigil_builtin_model(3));
	ck_assert_str_eq(vigil_default_model(), "face-full");
	ck_assert_int_eq(vigil_model_open(NULL, &m), 0); /* the default */
	ck_assert_str_eq(vigil_model_get_info(m)->name, "face-full");
	ck_assert_int_eq(vigil_model_get_info(m)->num_anchors, 2304);
	ck_assert_float_eq(vigil_model_get_info(m)->default_threshold, 0.6f);
	vigil_model_close(m);
	ck_assert_str_eq(vigil_strerror(VIGIL_EMODEL), "malformed model");
	ck_assert_str_eq(vigil_version(), "0.1.0");
}
END_TEST

START_TEST(test_json_record)
{
	uint8_t *rgb = sample_rgb192();
	struct vigil_frame f = rgb_frame(rgb, 192, 192);
	struct vigil_model *model = open_model("face-full");
	struct vigil_detector *det;
	const struct vigil_detections *out;
	char *json;

	ck_assert_int_eq(vigil_detector_create(model, NULL, &det), 0);
	ck_assert_int_eq(vigil_detector_detect(det, &f, &out), 0);
	json = vigil_detections_to_json(out, "cam\"0", 7, "face-full");
	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"source\":\"cam\\\"0\",\"frame\":7,\"pts_ns\":null,\"width\":192,"
					   "\"height\":192,\"model\":\"face-full\",\"timing_ms\":{\"preprocess\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"detections\":[{\"label\":\"face\",\"label_id\":0,\"score\":0."));
	ck_assert_ptr_nonnull(strstr(json, "\"keypoints\":[["));
	ck_assert_ptr_null(strstr(json, "track_id"));
	vigil_free(json);
	vigil_detector_destroy(det);
	vigil_model_close(model);
	free(rgb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("detector");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_detect_allocates_nothing, 0, 3);
	tcase_add_loop_test(tc, test_uniform_gray_has_no_faces, 0, 2);
	tcase_add_test(tc, test_faces_roi_and_cap);
	tcase_add_test(tc, test_model_shared_between_threads);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_frame_errors);
	tcase_add_test(tc, test_model_open_errors);
	tcase_add_test(tc, test_json_record);
	suite_add_tcase(s, tc);
	return tu_run(s, CK_FORK);
}
