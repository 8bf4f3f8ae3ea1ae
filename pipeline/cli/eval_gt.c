/* SPDX-License-Identifier: Apache-2.0
 * Ground-truth readers: MOTChallenge text, PASCAL VOC / dlib XML through GLib's GMarkup, COCO JSON through
 * jansson. See eval_gt.h. */
#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval_gt.h"
#include "vigil/vigil.h"

#define MAX_FRAME 10000000
#define MAX_COORD 1e6

void ev_gt_free(struct ev_gt *gt)
{
	ev_boxes_free(&gt->boxes);
	for (int i = 0; i < gt->n_images; i++)
		free(gt->images[i]);
	free(gt->images);
	memset(gt, 0, sizeof(*gt));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int ev_gt_image_index(const struct ev_gt *gt, const char *file)
{
	const char *b = base_name(file);

	for (int i = 0; i < gt->n_images; i++)
		if (!strcmp(gt->images[i], b))
			return i;
	return -1;
}

/* index of image @p file, appended when new; -ENOMEM */
static int image_slot(struct ev_gt *gt, const char *file)
{
	int i = ev_gt_image_index(gt, file);
	char **v;

	if (i >= 0)
		return i;
	v = realloc(gt->images, (size_t)(gt->n_images + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	gt->images = v;
	v[gt->n_images] = strdup(base_name(file));
	if (!v[gt->n_images])
		return -ENOMEM;
	return gt->n_images++;
}

/* @p line > 0: "NAME:LINE:", else "NAME:" (NAME may carry a JSON path) */
static int check_box(const char *name, int line, double x, double y, double w, double h)
{
	char where[32] = "";

	if (line > 0)
		snprintf(where, sizeof(where), "%d:", line);
	if (!isfinite(x) || !isfinite(y) || !isfinite(w) || !isfinite(h) || fabs(x) > MAX_COORD ||
	    fabs(y) > MAX_COORD || w > MAX_COORD || h > MAX_COORD)
		return vigil_error(-EINVAL, "%s:%s box coordinates out of range", name, where);
	if (!(w > 0) || !(h > 0))
		return vigil_error(-EINVAL, "%s:%s box width and height must be positive, got %g x %g", name, where, w,
				   h);
	return 0;
}

static int resolve(const char *name, int line, const char *what, ev_label_fn label, void *ctx, int *out)
{
	const int l = label(ctx, what);

	if (l == EV_LABEL_UNKNOWN)
		return vigil_error(-EINVAL,
				   "%s:%d: unknown label '%s' (not a label of the model; map it with "
				   "--label-map %s=MODEL_LABEL)",
				   name, line, what, what);
	*out = l;
	return 0;
}

/* ---- MOTChallenge ---- */

static int parse_num(const char *name, int line, int col, const char *s, double *out)
{
	char *end;
	double v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return vigil_error(-EINVAL, "%s:%d: column %d is empty", name, line, col);
	errno = 0;
	v = strtod(s, &end);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (end == s || *end || errno || !isfinite(v))
		return vigil_error(-EINVAL, "%s:%d: column %d: '%s' is not a number", name, line, col, s);
	*out = v;
	return 0;
}

int ev_gt_parse_mot(const char *text, size_t len, const char *name, ev_label_fn label, void *ctx, struct ev_gt *gt)
{
	char buf[1024];
	int line = 0;
	size_t pos = 0;

	gt->has_ids = 1;
	while (pos < len) {
		size_t end = pos;
		double v[10];
		int ncol = 0, err;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		if (end - pos >= sizeof(buf))
			return vigil_error(-EINVAL, "%s:%d: line longer than %zu bytes", name, line, sizeof(buf) - 1);
		if (memchr(text + pos, 0, end - pos))
			return vigil_error(-EINVAL, "%s:%d: NUL byte in a text file", name, line);
		memcpy(buf, text + pos, end - pos);
		buf[end - pos] = 0;
		pos = end + 1;
		char *p = buf;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			continue;
		for (char *tok = p;; ncol++) {
			char *comma = strchr(tok, ',');

			if (ncol == 10)
				break;
			if (comma)
				*comma = 0;
			err = parse_num(name, line, ncol + 1, tok, &v[ncol]);
			if (err)
				return err;
			if (!comma) {
				ncol++;
				break;
			}
			tok = comma + 1;
		}
		if (ncol < 7)
			return vigil_error(-EINVAL,
					   "%s:%d: %d columns, MOTChallenge needs at least 7 "
					   "(frame,id,x,y,w,h,conf[,class,...])",
					   name, line, ncol);
		if (v[0] != floor(v[0]) || v[0] < 1 || v[0] > MAX_FRAME)
			return vigil_error(-EINVAL, "%s:%d: frame must be a whole number from 1, got %g", name, line,
					   v[0]);
		if (v[1] != floor(v[1]) || fabs(v[1]) > 1e15)
			return vigil_error(-EINVAL, "%s:%d: id must be a whole number, got %g", name, line, v[1]);
		err = check_box(name, line, v[2], v[3], v[4], v[5]);
		if (err)
			return err;
		if (ncol >= 8 && (v[7] != floor(v[7]) || v[7] < -1 || v[7] > 12 || v[7] == 0))
			return vigil_error(-EINVAL, "%s:%d: class must be -1 or 1..12 (MOTChallenge), got %g", name,
					   line, v[7]);
		const int cls = ncol >= 8 ? (int)v[7] : -1;
		const char *what = "person";
		int ignore = v[6] == 0;

		switch (cls) {
		case -1:
		case 1:
			break;
		case 2:
		case 7:
		case 8:
		case 12:
			ignore = 1;
			break;
		case 3:
			what = "car";
			break;
		case 4:
			what = "bicycle";
			break;
		case 5:
			what = "motorcycle";
			break;
		default:
			continue;
		}
		int l = label(ctx, what);

		if (l == EV_LABEL_UNKNOWN && cls >= 3)
			continue;
		err = resolve(name, line, what, label, ctx, &l);
		if (err)
			return err;
		if (l == EV_LABEL_SKIP)
			continue;
		struct ev_box b = { .frame = (int)v[0] - 1,
				    .label = l,
				    .id = (int64_t)v[1],
				    .x = (float)(v[2] - 1),
				    .y = (float)(v[3] - 1),
				    .w = (float)v[4],
				    .h = (float)v[5],
				    .score = 1,
				    .ignore = ignore,
				    .line = line };

		if (ev_boxes_push(&gt->boxes, &b) < 0)
			return -ENOMEM;
		if (b.frame + 1 > gt->max_frame)
			gt->max_frame = b.frame + 1;
	}
	return 0;
}

int ev_dets_parse_mot(const char *text, size_t len, const char *name, int label, struct ev_boxes *out, int *max_frame)
{
	char buf[1024];
	int line = 0;
	size_t pos = 0;

	*max_frame = 0;
	while (pos < len) {
		size_t end = pos;
		double v[7];
		int ncol = 0, err;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		if (end - pos >= sizeof(buf))
			return vigil_error(-EINVAL, "%s:%d: line longer than %zu bytes", name, line, sizeof(buf) - 1);
		if (memchr(text + pos, 0, end - pos))
			return vigil_error(-EINVAL, "%s:%d: NUL byte in a text file", name, line);
		memcpy(buf, text + pos, end - pos);
		buf[end - pos] = 0;
		pos = end + 1;
		char *p = buf;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			continue;
		for (char *tok = p; ncol < 7; ncol++) {
			char *comma = strchr(tok, ',');

			if (comma)
				*comma = 0;
			err = parse_num(name, line, ncol + 1, tok, &v[ncol]);
			if (err)
				return err;
			if (!comma) {
				ncol++;
				break;
			}
			tok = comma + 1;
		}
		if (ncol < 7)
			return vigil_error(-EINVAL,
					   "%s:%d: %d columns, detections need at least 7 (frame,id,x,y,w,h,score)",
					   name, line, ncol);
		if (v[0] != floor(v[0]) || v[0] < 1 || v[0] > MAX_FRAME)
			return vigil_error(-EINVAL, "%s:%d: frame must be a whole number from 1, got %g", name, line,
					   v[0]);
		if (v[1] != floor(v[1]) || v[1] < -1 || v[1] > 1e15)
			return vigil_error(-EINVAL, "%s:%d: id must be -1 or a whole number >= 0, got %g", name, line,
					   v[1]);
		err = check_box(name, line, v[2], v[3], v[4], v[5]);
		if (err)
			return err;
		struct ev_box b = { .frame = (int)v[0] - 1,
				    .label = label,
				    .id = (int64_t)v[1],
				    .x = (float)(v[2] - 1),
				    .y = (float)(v[3] - 1),
				    .w = (float)v[4],
				    .h = (float)v[5],
				    .score = (float)v[6],
				    .line = line };

		if (ev_boxes_push(out, &b) < 0)
			return -ENOMEM;
		if (b.frame + 1 > *max_frame)
			*max_frame = b.frame + 1;
	}
	return 0;
}

/* ---- PASCAL VOC and dlib XML (GMarkup) ---- */

struct xml_state {
	const char *name, *default_label;
	ev_label_fn label;
	void *ctx;
	struct ev_gt *gt;
	int err;  /* first error (vigil_error already recorded) */
	int kind; /* 0 unknown, 1 VOC, 2 dlib */
	GString *text;
	/* VOC */
	int image; /* slot of the current image, -1 before <filename> */
	char *obj_name;
	double xmin, ymin, xmax, ymax;
	int have_box, difficult, obj_line, in_object;
	int width, height;       /* <size>, 0 unknown */
	struct ev_boxes pending; /* VOC objects seen before <filename> */
	/* dlib */
	int dlib_image;
	struct ev_box box;
	int in_box;
	char *box_label;
};

static int xml_line(GMarkupParseContext *c)
{
	int line = 0, ch = 0;

	g_markup_parse_context_get_position(c, &line, &ch);
	return line;
}

static void xml_fail(GError **error, int code)
{
	g_set_error_literal(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, vigil_last_error());
	(void)code;
}

static int attr_num(const char *name, int line, const char *attr, const char *val, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(val, &end);
	if (end == val || *end || errno || !isfinite(*out))
		return vigil_error(-EINVAL, "%s:%d: attribute %s='%s' is not a number", name, line, attr, val);
	return 0;
}

static void xml_start(GMarkupParseContext *c, const char *el, const char **an, const char **av, gpointer user,
		      GError **error)
{
	struct xml_state *s = user;
	const int line = xml_line(c);

	g_string_truncate(s->text, 0);
	if (!s->kind) {
		if (!strcmp(el, "annotation")) {
			s->kind = 1;
		} else if (!strcmp(el, "dataset")) {
			s->kind = 2;
		} else {
			s->err = vigil_error(-EINVAL,
					     "%s:%d: root element <%s>: expected <annotation> (PASCAL VOC) or "
					     "<dataset> (dlib)",
					     s->name, line, el);
			xml_fail(error, s->err);
		}
		return;
	}
	if (s->kind == 1) {
		if (!strcmp(el, "object")) {
			s->in_object = 1;
			s->have_box = 0;
			s->difficult = 0;
			s->obj_line = line;
			g_free(s->obj_name);
			s->obj_name = NULL;
		}
		return;
	}
	/* dlib */
	if (!strcmp(el, "image")) {
		const char *file = NULL;

		for (int i = 0; an[i]; i++)
			if (!strcmp(an[i], "file"))
				file = av[i];
		if (!file || !*file) {
			s->err = vigil_error(-EINVAL, "%s:%d: <image> without a file attribute", s->name, line);
			xml_fail(error, s->err);
			return;
		}
		s->dlib_image = image_slot(s->gt, file);
		if (s->dlib_image < 0) {
			s->err = -ENOMEM;
			xml_fail(error, s->err);
		}
	} else if (!strcmp(el, "box")) {
		double top = NAN, left = NAN, w = NAN, h = NAN, ign = 0;
		int err = 0;

		if (s->dlib_image < 0) {
			s->err = vigil_error(-EINVAL, "%s:%d: <box> outside an <image>", s->name, line);
			xml_fail(error, s->err);
			return;
		}
		for (int i = 0; an[i] && !err; i++) {
			if (!strcmp(an[i], "top"))
				err = attr_num(s->name, line, an[i], av[i], &top);
			else if (!strcmp(an[i], "left"))
				err = attr_num(s->name, line, an[i], av[i], &left);
			else if (!strcmp(an[i], "width"))
				err = attr_num(s->name, line, an[i], av[i], &w);
			else if (!strcmp(an[i], "height"))
				err = attr_num(s->name, line, an[i], av[i], &h);
			else if (!strcmp(an[i], "ignore"))
				err = attr_num(s->name, line, an[i], av[i], &ign);
		}
		if (!err && (isnan(top) || isnan(left) || isnan(w) || isnan(h)))
			err = vigil_error(-EINVAL, "%s:%d: <box> needs top, left, width and height", s->name, line);
		if (!err)
			err = check_box(s->name, line, left, top, w, h);
		if (err) {
			s->err = err;
			xml_fail(error, err);
			return;
		}
		s->in_box = 1;
		s->box = (struct ev_box){ .frame = s->dlib_image,
					  .id = -1,
					  .x = (float)left,
					  .y = (float)top,
					  .w = (float)w,
					  .h = (float)h,
					  .score = 1,
					  .ignore = ign != 0,
					  .line = line };
		g_free(s->box_label);
		s->box_label = NULL;
	}
}

static int push_labelled(struct xml_state *s, struct ev_box *b, const char *what)
{
	int l = EV_LABEL_SKIP, err = resolve(s->name, b->line, what, s->label, s->ctx, &l);

	if (err)
		return err;
	if (l == EV_LABEL_SKIP)
		return 0;
	b->label = l;
	return ev_boxes_push(&s->gt->boxes, b);
}

static int voc_number(struct xml_state *s, int line, const char *el, double *out)
{
	char *end;
	const char *t = s->text->str;

	while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
		t++;
	errno = 0;
	*out = strtod(t, &end);
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (end == t || *end || errno || !isfinite(*out))
		return vigil_error(-EINVAL, "%s:%d: <%s>%s</%s> is not a number", s->name, line, el, s->text->str, el);
	return 0;
}

static void xml_end(GMarkupParseContext *c, const char *el, gpointer user, GError **error)
{
	struct xml_state *s = user;
	const int line = xml_line(c);
	int err = 0;
	double v;

	if (s->kind == 1) {
		if (!strcmp(el, "filename")) {
			g_strstrip(s->text->str);
			s->image = image_slot(s->gt, s->text->str);
			if (s->image < 0)
				err = -ENOMEM;
		} else if (!strcmp(el, "width") || !strcmp(el, "height")) {
			err = voc_number(s, line, el, &v);
			if (!err && (v < 1 || v > 1e6))
				err = vigil_error(-EINVAL, "%s:%d: image %s %g out of range", s->name, line, el, v);
			if (!err && !s->in_object)
				*(el[0] == 'w' ? &s->width : &s->height) = (int)v;
		} else if (s->in_object && !strcmp(el, "name")) {
			g_free(s->obj_name);
			s->obj_name = g_strstrip(g_strdup(s->text->str));
		} else if (s->in_object && !strcmp(el, "difficult")) {
			err = voc_number(s, line, el, &v);
			s->difficult = v != 0;
		} else if (s->in_object &&
			   (!strcmp(el, "xmin") || !strcmp(el, "ymin") || !strcmp(el, "xmax") || !strcmp(el, "ymax"))) {
			err = voc_number(s, line, el, &v);
			*(el[0] == 'x' ? (el[1] == 'm' && el[2] == 'i' ? &s->xmin : &s->xmax)
				       : (el[2] == 'i' ? &s->ymin : &s->ymax)) = v;
			s->have_box |= el[0] == 'x' ? (el[2] == 'i' ? 1 : 2) : (el[2] == 'i' ? 4 : 8);
		} else if (!strcmp(el, "object")) {
			s->in_object = 0;
			if (!s->obj_name || !*s->obj_name)
				err = vigil_error(-EINVAL, "%s:%d: <object> without a <name>", s->name, s->obj_line);
			else if (s->have_box != 15)
				err = vigil_error(-EINVAL, "%s:%d: <object> needs <bndbox> with xmin, ymin, xmax, ymax",
						  s->name, s->obj_line);
			if (!err) {
				/* VOC pixel indices are 1-based and inclusive: [xmin - 1, xmax) in 0-based coordinates */
				struct ev_box b = { .frame = s->image,
						    .id = -1,
						    .x = (float)(s->xmin - 1),
						    .y = (float)(s->ymin - 1),
						    .w = (float)(s->xmax - s->xmin + 1),
						    .h = (float)(s->ymax - s->ymin + 1),
						    .score = 1,
						    .ignore = s->difficult,
						    .line = s->obj_line };
				int l = EV_LABEL_SKIP;

				err = check_box(s->name, s->obj_line, b.x, b.y, b.w, b.h);
				if (!err && s->width && s->height &&
				    (b.x >= s->width || b.y >= s->height || b.x + b.w <= 0 || b.y + b.h <= 0))
					err = vigil_error(-EINVAL, "%s:%d: box lies outside the %dx%d image", s->name,
							  s->obj_line, s->width, s->height);
				if (!err)
					err = resolve(s->name, s->obj_line, s->obj_name, s->label, s->ctx, &l);
				if (!err && l != EV_LABEL_SKIP) {
					b.label = l;
					err = ev_boxes_push(&s->pending, &b);
				}
			}
		} else if (!strcmp(el, "annotation")) {
			if (s->image < 0)
				err = vigil_error(-EINVAL, "%s:%d: <annotation> without a <filename>", s->name, line);
			for (size_t i = 0; !err && i < s->pending.n; i++) {
				s->pending.v[i].frame = s->image;
				err = ev_boxes_push(&s->gt->boxes, &s->pending.v[i]);
			}
			s->pending.n = 0;
		}
	} else if (s->kind == 2) {
		if (s->in_box && !strcmp(el, "label")) {
			g_free(s->box_label);
			s->box_label = g_strstrip(g_strdup(s->text->str));
		} else if (s->in_box && !strcmp(el, "box")) {
			s->in_box = 0;
			err =
			    push_labelled(s, &s->box, s->box_label && *s->box_label ? s->box_label : s->default_label);
		} else if (!strcmp(el, "image")) {
			s->dlib_image = -1;
		}
	}
	g_string_truncate(s->text, 0);
	if (err) {
		s->err = err;
		xml_fail(error, err);
	}
}

static void xml_text(GMarkupParseContext *c, const char *text, gsize len, gpointer user, GError **error)
{
	struct xml_state *s = user;

	if (s->text->len + len > 65536) {
		s->err = vigil_error(-EINVAL, "%s:%d: element text longer than 64 KiB", s->name, xml_line(c));
		xml_fail(error, s->err);
		return;
	}
	g_string_append_len(s->text, text, (gssize)len);
}

int ev_gt_parse_xml(const char *text, size_t len, const char *name, const char *default_label, ev_label_fn label,
		    void *ctx, struct ev_gt *gt)
{
	static const GMarkupParser parser = { xml_start, xml_end, xml_text, NULL, NULL };
	struct xml_state s = { .name = name,
			       .default_label = default_label ? default_label : "",
			       .label = label,
			       .ctx = ctx,
			       .gt = gt,
			       .image = -1,
			       .dlib_image = -1 };
	GMarkupParseContext *c;
	GError *error = NULL;
	int err = 0;

	if (len > G_MAXSSIZE)
		return vigil_error(-EINVAL, "%s: file too large", name);
	s.text = g_string_new(NULL);
	c = g_markup_parse_context_new(&parser, G_MARKUP_PREFIX_ERROR_POSITION, &s, NULL);
	if (!g_markup_parse_context_parse(c, text, (gssize)len, &error) ||
	    !g_markup_parse_context_end_parse(c, &error)) {
		if (s.err)
			err = s.err; /* the message names the file and line already */
		else
			err = vigil_error(-EINVAL, "%s: %s", name, error->message);
	} else if (!s.kind) {
		err = vigil_error(-EINVAL, "%s: no XML elements", name);
	}
	g_clear_error(&error);
	g_markup_parse_context_free(c);
	g_string_free(s.text, TRUE);
	g_free(s.obj_name);
	g_free(s.box_label);
	ev_boxes_free(&s.pending);
	return err;
}

/* ---- COCO JSON (jansson) ---- */

int ev_gt_parse_coco(const char *text, size_t len, const char *name, ev_label_fn label, void *ctx, struct ev_gt *gt)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *images, *anns, *cats, *v;
	size_t i;
	int err = 0;
	struct cat {
		json_int_t id;
		int label; /* EV_LABEL_SKIP or a label */
	} *cv = NULL;
	struct img {
		json_int_t id;
		int slot;
	} *iv = NULL;
	size_t n_cat = 0, n_img = 0;

	if (!root)
		return vigil_error(-EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
	images = json_object_get(root, "images");
	anns = json_object_get(root, "annotations");
	cats = json_object_get(root, "categories");
	if (!json_is_array(images) || !json_is_array(anns) || !json_is_array(cats)) {
		err = vigil_error(-EINVAL,
				  "%s: COCO ground truth needs arrays \"images\", \"annotations\" and "
				  "\"categories\"",
				  name);
		goto out;
	}
	cv = calloc(json_array_size(cats) + 1, sizeof(*cv));
	iv = calloc(json_array_size(images) + 1, sizeof(*iv));
	if (!cv || !iv) {
		err = -ENOMEM;
		goto out;
	}
	json_array_foreach(cats, i, v)
	{
		json_t *id = json_object_get(v, "id"), *nm = json_object_get(v, "name");
		int l;

		if (!json_is_integer(id) || !json_is_string(nm)) {
			err = vigil_error(-EINVAL, "%s: categories[%zu] needs an integer \"id\" and a string \"name\"",
					  name, i);
			goto out;
		}
		l = label(ctx, json_string_value(nm));
		if (l == EV_LABEL_UNKNOWN) {
			err = vigil_error(-EINVAL,
					  "%s: categories[%zu]: unknown label '%s' (not a label of the model; "
					  "map it with --label-map %s=MODEL_LABEL)",
					  name, i, json_string_value(nm), json_string_value(nm));
			goto out;
		}
		cv[n_cat++] = (struct cat){ json_integer_value(id), l };
	}
	json_array_foreach(images, i, v)
	{
		json_t *id = json_object_get(v, "id"), *fn = json_object_get(v, "file_name");
		int slot;

		if (!json_is_integer(id) || !json_is_string(fn) || !*json_string_value(fn)) {
			err = vigil_error(-EINVAL, "%s: images[%zu] needs an integer \"id\" and a \"file_name\"", name,
					  i);
			goto out;
		}
		slot = image_slot(gt, json_string_value(fn));
		if (slot < 0) {
			err = -ENOMEM;
			goto out;
		}
		iv[n_img++] = (struct img){ json_integer_value(id), slot };
	}
	json_array_foreach(anns, i, v)
	{
		json_t *img = json_object_get(v, "image_id"), *cat = json_object_get(v, "category_id");
		json_t *bbox = json_object_get(v, "bbox"), *crowd = json_object_get(v, "iscrowd");
		double b[4];
		size_t k;

		if (!json_is_integer(img) || !json_is_integer(cat) || !json_is_array(bbox) ||
		    json_array_size(bbox) != 4) {
			err = vigil_error(-EINVAL,
					  "%s: annotations[%zu] needs integer \"image_id\" and \"category_id\" "
					  "and \"bbox\": [x, y, w, h]",
					  name, i);
			goto out;
		}
		for (k = 0; k < 4; k++) {
			if (!json_is_number(json_array_get(bbox, k))) {
				err =
				    vigil_error(-EINVAL, "%s: annotations[%zu].bbox[%zu] is not a number", name, i, k);
				goto out;
			}
			b[k] = json_number_value(json_array_get(bbox, k));
		}
		char where[512];

		snprintf(where, sizeof(where), "%s: annotations[%zu]", name, i);
		err = check_box(where, 0, b[0], b[1], b[2], b[3]);
		if (err)
			goto out;
		for (k = 0; k < n_cat && cv[k].id != json_integer_value(cat); k++)
			;
		if (k == n_cat) {
			err = vigil_error(-EINVAL,
					  "%s: annotations[%zu]: category_id %" JSON_INTEGER_FORMAT
					  " is not in \"categories\"",
					  name, i, json_integer_value(cat));
			goto out;
		}
		if (cv[k].label == EV_LABEL_SKIP)
			continue;
		const int l = cv[k].label;

		for (k = 0; k < n_img && iv[k].id != json_integer_value(img); k++)
			;
		if (k == n_img) {
			err = vigil_error(
			    -EINVAL, "%s: annotations[%zu]: image_id %" JSON_INTEGER_FORMAT " is not in \"images\"",
			    name, i, json_integer_value(img));
			goto out;
		}
		struct ev_box box = { .frame = iv[k].slot,
				      .label = l,
				      .id = -1,
				      .x = (float)b[0],
				      .y = (float)b[1],
				      .w = (float)b[2],
				      .h = (float)b[3],
				      .score = 1,
				      .ignore =
					  json_is_true(crowd) || (json_is_integer(crowd) && json_integer_value(crowd)),
				      .line = (int)i };

		box.crowd = box.ignore;
		if (ev_boxes_push(&gt->boxes, &box) < 0) {
			err = -ENOMEM;
			goto out;
		}
	}
out:
	free(cv);
	free(iv);
	json_decref(root);
	return err;
}
