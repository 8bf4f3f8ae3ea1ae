/* SPDX-License-Identifier: Apache-2.0
 * Model registry and loading: built-in names, files, validation of the BlazeFace contract. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "model_internal.h"
#include "tflite.h"

/* Model files compiled into the library (models/embed.S.in). */
extern const uint8_t vigil_model_face_full[], vigil_model_face_full_end[];
extern const uint8_t vigil_model_face_short[], vigil_model_face_short_end[];
extern const uint8_t vigil_model_coco_ssd[], vigil_model_coco_ssd_end[];
extern const uint8_t vigil_model_coco_ssd_labels[], vigil_model_coco_ssd_labels_end[];

/* COCO SSD: detections below this score are dropped unless the detector config says otherwise. The model's own
 * NMS (IoU 0.6, at most 10 boxes) runs inside it; iou_threshold does not apply. */
#define SSD_DEFAULT_THRESHOLD 0.5f

/* MediaPipe's face_detection graphs: SsdAnchorsCalculator and TensorsToDetectionsCalculator options. */
struct face_config {
	int input_size;
	int num_anchors;
	struct vigil_ssd_anchor_config anchors;
	float threshold;
};

static const struct face_config face_short_config = {
	.input_size = 128,
	.num_anchors = 896,
	.anchors = { .input_size = 128,
		     .num_layers = 4,
		     .strides = { 8, 16, 16, 16 },
		     .offset = 0.5f,
		     .anchors_per_layer = 2 },
	.threshold = 0.5f,
};

static const struct face_config face_full_config = {
	.input_size = 192,
	.num_anchors = 2304,
	.anchors = { .input_size = 192, .num_layers = 1, .strides = { 4 }, .offset = 0.5f, .anchors_per_layer = 1 },
	.threshold = 0.6f,
};

struct builtin {
	struct vigil_builtin_model pub;
	const uint8_t *start, *end;
	const uint8_t *labels, *labels_end; /* label map, one name per line (SSD models) */
};

static const struct builtin builtins[] = {
	{ { "face-full", "BlazeFace full range (192x192, 2304 anchors): faces at camera and CCTV distances, up to ~5 m",
	    1 },
	  vigil_model_face_full,
	  vigil_model_face_full_end,
	  NULL,
	  NULL },
	{ { "face-short", "BlazeFace short range (128x128, 896 anchors): faces within ~2 m, 3.4x cheaper", 0 },
	  vigil_model_face_short,
	  vigil_model_face_short_end,
	  NULL,
	  NULL },
	{ { "coco-ssd",
	    "COCO SSD MobileNet v1 quant (300x300 uint8, 90 classes: person, car, bicycle, dog, ...), TFLite-exact",
	    0 },
	  vigil_model_coco_ssd,
	  vigil_model_coco_ssd_end,
	  vigil_model_coco_ssd_labels,
	  vigil_model_coco_ssd_labels_end },
};

static const char *const face_labels[] = { "face" };

const struct vigil_builtin_model *vigil_builtin_model(size_t index)
{
	return index < sizeof(builtins) / sizeof(builtins[0]) ? &builtins[index].pub : NULL;
}

const char *vigil_default_model(void)
{
	return builtins[0].pub.name;
}

const char *vigil_version(void)
{
	return VIGIL_VERSION_STRING;
}

static void model_free(struct vigil_model *m)
{
	if (!m)
		return;
	vigil_program_destroy(m->program);
	vigil_q8_program_destroy(m->q8);
	free(m->labels);
	free(m->label_text);
	vigil_graph_free(&m->graph);
	free(m->anchors);
	free(m->owned_bytes);
	free(m->name);
	free(m);
}

/* "[1,128,128,3] float32" */
static void shape_str(const struct vigil_tensor *t, char *buf, size_t size)
{
	char dims[48];

	vigil_tensor_shape_str(t, dims, sizeof(dims));
	snprintf(buf, size, "%s %s", dims, vigil_dtype_name(t->dtype));
}

/* Matches the graph against the BlazeFace contract and picks the decoder settings. */
static int bind_face_model(struct vigil_model *m)
{
	const struct vigil_graph *g = &m->graph;
	const struct vigil_tensor *in;
	const struct face_config *cfg;
	char shape[64];
	int n;

	if (g->n_inputs != 1 || g->n_outputs != 2)
		return vigil_error(VIGIL_EUNSUPPORTED,
				   "model '%s' has %d inputs and %d outputs; a face detector has 1 input and 2 outputs "
				   "(boxes [1,A,16], scores [1,A,1])",
				   m->name, g->n_inputs, g->n_outputs);
	in = &g->tensors[g->inputs[0]];
	shape_str(in, shape, sizeof(shape));
	if (in->rank != 4 || in->dims[0] != 1 || in->dims[3] != 3 || in->dims[1] != in->dims[2] ||
	    in->dtype != VIGIL_DT_F32)
		return vigil_error(VIGIL_EUNSUPPORTED, "model '%s' input is %s; expected [1,S,S,3] float32", m->name,
				   shape);
	if (in->dims[1] == face_short_config.input_size)
		cfg = &face_short_config;
	else if (in->dims[1] == face_full_config.input_size)
		cfg = &face_full_config;
	else
		return vigil_error(VIGIL_EUNSUPPORTED,
				   "model '%s' input is %s; known face detectors take 128x128 or 192x192", m->name,
				   shape);

	m->boxes_tensor = m->logits_tensor = -1;
	for (int i = 0; i < 2; i++) {
		const struct vigil_tensor *t = &g->tensors[g->outputs[i]];
		int a = t->rank == 3 ? t->dims[1] : -1;

		if (t->rank == 3 && t->dims[0] == 1 && a == cfg->num_anchors && t->dims[2] == 16)
			m->boxes_tensor = g->outputs[i];
		else if (t->rank == 3 && t->dims[0] == 1 && a == cfg->num_anchors && t->dims[2] == 1)
			m->logits_tensor = g->outputs[i];
	}
	if (m->boxes_tensor < 0 || m->logits_tensor < 0) {
		char s0[64], s1[64];

		shape_str(&g->tensors[g->outputs[0]], s0, sizeof(s0));
		shape_str(&g->tensors[g->outputs[1]], s1, sizeof(s1));
		return vigil_error(
		    VIGIL_EUNSUPPORTED,
		    "model '%s' outputs are %s and %s; a %dx%d face detector gives [1,%d,16] and [1,%d,1]", m->name, s0,
		    s1, cfg->input_size, cfg->input_size, cfg->num_anchors, cfg->num_anchors);
	}
	m->input_tensor = g->inputs[0];

	m->anchors = malloc(cfg->num_anchors * sizeof(*m->anchors));
	if (!m->anchors)
		return -ENOMEM;
	n = vigil_ssd_anchors(&cfg->anchors, m->anchors, cfg->num_anchors);
	if (n != cfg->num_anchors)
		return vigil_error(VIGIL_EUNSUPPORTED, "model '%s': anchor layout gives %d anchors, outputs have %d",
				   m->name, n, cfg->num_anchors);
	m->decoder = (struct vigil_face_decoder){
		.anchors = m->anchors,
		.num_anchors = n,
		.num_coords = 16,
		.num_keypoints = 6,
		.scale = (float)cfg->input_size,
		.score_clip = 100.0f,
	};
	m->norm_scale = 1.0f / 127.5f;
	m->norm_bias = -1.0f;
	m->info.input_width = m->info.input_height = cfg->input_size;
	m->info.num_anchors = n;
	m->info.num_keypoints = 6;
	m->info.default_threshold = cfg->threshold;
	m->info.default_iou_threshold = 0.3f;
	m->info.num_labels = 1;
	return 0;
}

/* Label map: line 0 is the background class ("???"), line c + 1 names TFLite class index c; "???" lines are COCO
 * ids the model never learned and read "unknown". Without a map every class reads "object". */
static int bind_labels(struct vigil_model *m, const uint8_t *text, size_t len, int num_classes)
{
	char *p, *line;
	int n = -1;

	m->labels = calloc((size_t)num_classes, sizeof(*m->labels));
	m->label_text = malloc(len + 1);
	if (!m->labels || !m->label_text)
		return -ENOMEM;
	if (len)
		memcpy(m->label_text, text, len);
	m->label_text[len] = '\0';
	for (p = m->label_text; (line = strsep(&p, "\n")) != NULL && n < num_classes; n++) {
		line[strcspn(line, "\r")] = '\0';
		if (n >= 0)
			m->labels[n] = strcmp(line, "???") == 0 || !*line ? "unknown" : line;
	}
	for (int c = 0; c < num_classes; c++)
		if (!m->labels[c])
			m->labels[c] = "object";
	return 0;
}

/* A quantized detector ending in TFLite_Detection_PostProcess: uint8 [1,H,W,3] input, its four outputs. */
static int bind_ssd_model(struct vigil_model *m, const uint8_t *labels, size_t labels_len)
{
	const struct vigil_graph *g = &m->graph;
	const struct vigil_tensor *in = &g->tensors[g->inputs[0]];
	const struct vigil_op *pp = g->n_ops ? &g->ops[g->n_ops - 1] : NULL;
	char shape[64];
	int ret;

	shape_str(in, shape, sizeof(shape));
	if (in->rank != 4 || in->dims[0] != 1 || in->dims[3] != 3 || in->dtype != VIGIL_DT_U8 ||
	    in->quant.scale != 0.0078125f || in->quant.zero_point != 128)
		return vigil_error(VIGIL_EUNSUPPORTED,
				   "model '%s' input is %s; a quantized detector takes [1,H,W,3] uint8 RGB pixels "
				   "(scale 1/128, zero point 128)",
				   m->name, shape);
	if (!pp || pp->kind != VIGIL_OP_DETECTION_POSTPROCESS || g->n_outputs != 4 || g->outputs[0] != pp->output ||
	    g->outputs[1] != pp->extra_outputs[0] || g->outputs[2] != pp->extra_outputs[1] ||
	    g->outputs[3] != pp->extra_outputs[2])
		return vigil_error(
		    VIGIL_EUNSUPPORTED,
		    "model '%s': a quantized detector must end in TFLite_Detection_PostProcess whose four "
		    "outputs are the model's outputs",
		    m->name);
	for (int k = 0; k < 4; k++)
		m->ssd_outputs[k] = g->outputs[k];
	m->input_tensor = g->inputs[0];
	ret = bind_labels(m, labels, labels_len, pp->p.detpp.num_classes);
	if (ret < 0)
		return ret;
	m->norm_scale = 1.0f;
	m->norm_bias = 0.0f;
	m->info.input_width = in->dims[2];
	m->info.input_height = in->dims[1];
	m->info.num_anchors = g->tensors[pp->inputs[0]].dims[1];
	m->info.num_keypoints = 0;
	m->info.default_threshold = SSD_DEFAULT_THRESHOLD;
	m->info.default_iou_threshold = pp->p.detpp.nms_iou_threshold;
	m->info.num_labels = pp->p.detpp.num_classes;
	return 0;
}

static int model_load(const uint8_t *bytes, size_t size, const char *name, const char *description, uint8_t *owned,
		      const uint8_t *labels, size_t labels_len, struct vigil_model **out)
{
	struct vigil_model *m = calloc(1, sizeof(*m));
	int ret;

	*out = NULL;
	if (!m) {
		free(owned);
		return -ENOMEM;
	}
	atomic_init(&m->refs, 1);
	m->owned_bytes = owned;
	m->name = strdup(name);
	if (!m->name) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = vigil_tflite_import(bytes, size, m->name, &m->graph);
	if (ret < 0)
		goto out_free;
	if (vigil_graph_is_quantized(&m->graph)) {
		ret = bind_ssd_model(m, labels, labels_len);
		if (ret == 0)
			ret = vigil_q8_program_create(&m->graph, VIGIL_Q8_REQUANT_FP32, &m->q8);
	} else {
		ret = bind_face_model(m);
		if (ret == 0)
			ret = vigil_program_create(&m->graph, &m->program);
	}
	if (ret < 0)
		goto out_free;
	m->info.name = m->name;
	m->info.description = description;
	vigil_log(
	    "model", VIGIL_LOG_INFO, "loaded '%s': %d operators, %d tensors, arena %zu KiB", m->name, m->graph.n_ops,
	    m->graph.n_tensors,
	    (m->q8 ? vigil_q8_program_arena_bytes(m->q8, 1) : vigil_program_arena_floats(m->program) * sizeof(float)) /
		1024);
	*out = m;
	return 0;

out_free:
	if (ret == -ENOMEM)
		vigil_error(ret, "out of memory loading model '%s'", name);
	model_free(m);
	return ret;
}

/* Reads a whole model file, refusing what is not a regular file or exceeds the size cap. */
static int read_model_file(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	int ret;

	if (!f)
		return vigil_error(-errno, "cannot open model '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0) {
		ret = vigil_error(-errno, "cannot stat model '%s': %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = vigil_error(-EINVAL, "model '%s' is not a regular file", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > VIGIL_TFLITE_MAX_BYTES) {
		ret = vigil_error(VIGIL_ETOOBIG, "model '%s' is %lld bytes; the limit is %u", path,
				  (long long)st.st_size, VIGIL_TFLITE_MAX_BYTES);
		goto out_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = vigil_error(-ENOMEM, "out of memory reading model '%s'", path);
		goto out_close;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		ret = vigil_error(-EIO, "short read of model '%s'", path);
		goto out_free;
	}
	fclose(f);
	*data = buf;
	*size = (size_t)st.st_size;
	return 0;

out_free:
	free(buf);
out_close:
	fclose(f);
	return ret;
}

int vigil_model_open(const char *name_or_path, struct vigil_model **out)
{
	uint8_t *data = NULL;
	size_t size = 0;
	int ret;

	if (!out)
		return vigil_error(-EINVAL, "vigil_model_open: out is NULL");
	*out = NULL;
	if (!name_or_path || !*name_or_path)
		name_or_path = vigil_default_model();
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (strcmp(name_or_path, builtins[i].pub.name) == 0)
			return model_load(
			    builtins[i].start, (size_t)(builtins[i].end - builtins[i].start), builtins[i].pub.name,
			    builtins[i].pub.description, NULL, builtins[i].labels,
			    builtins[i].labels ? (size_t)(builtins[i].labels_end - builtins[i].labels) : 0, out);
	}
	if (!strchr(name_or_path, '/') && !strstr(name_or_path, ".tflite"))
		return vigil_error(-ENOENT, "'%s' is neither a built-in model (see 'vigil models') nor a .tflite path",
				   name_or_path);
	ret = read_model_file(name_or_path, &data, &size);
	if (ret < 0)
		return ret;
	return model_load(data, size, name_or_path, "TFLite detector loaded from a file", data, NULL, 0, out);
}

int vigil_model_open_memory(const void *data, size_t size, const char *label, struct vigil_model **out)
{
	uint8_t *copy;

	if (!out)
		return vigil_error(-EINVAL, "vigil_model_open_memory: out is NULL");
	*out = NULL;
	if (!data && size)
		return vigil_error(-EINVAL, "vigil_model_open_memory: data is NULL");
	if (size > VIGIL_TFLITE_MAX_BYTES)
		return vigil_error(VIGIL_ETOOBIG, "model is %zu bytes; the limit is %u", size, VIGIL_TFLITE_MAX_BYTES);
	copy = malloc(size ? size : 1);
	if (!copy)
		return vigil_error(-ENOMEM, "out of memory copying model");
	if (size)
		memcpy(copy, data, size);
	return model_load(copy, size, label ? label : "(memory)", "TFLite detector loaded from memory", copy, NULL, 0,
			  out);
}

struct vigil_model *vigil_model_ref(struct vigil_model *model)
{
	if (model)
		atomic_fetch_add(&model->refs, 1);
	return model;
}

void vigil_model_close(struct vigil_model *model)
{
	if (model && atomic_fetch_sub(&model->refs, 1) == 1)
		model_free(model);
}

const struct vigil_model_info *vigil_model_get_info(const struct vigil_model *model)
{
	return &model->info;
}

const char *vigil_model_label(const struct vigil_model *model, int label_id)
{
	if (!model || label_id < 0 || label_id >= model->info.num_labels)
		return NULL;
	return model->labels ? model->labels[label_id] : face_labels[label_id];
}
