/* SPDX-License-Identifier: Apache-2.0
 * Bounds-checked FlexBuffers reader (see flexbuf.h for the layout it reads). */
#include "flexbuf.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "vigil/vigil.h"

static int valid_width(uint64_t w)
{
	return w == 1 || w == 2 || w == 4 || w == 8;
}

/* Unsigned little-endian value of @p width bytes at @p pos. */
static int load_uint(const uint8_t *buf, size_t len, size_t pos, unsigned width, uint64_t *v)
{
	if (pos > len || len - pos < width)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: %u-byte value at byte %zu lies past the end (%zu bytes)",
				   width, pos, len);
	*v = 0;
	for (unsigned i = 0; i < width; i++)
		*v |= (uint64_t)buf[pos + i] << (8 * i);
	return 0;
}

static int load_int(const uint8_t *buf, size_t len, size_t pos, unsigned width, int64_t *v)
{
	uint64_t u;
	int ret = load_uint(buf, len, pos, width, &u);

	if (ret < 0)
		return ret;
	if (width < 8 && (u >> (8 * width - 1)) & 1)
		u |= ~0ULL << (8 * width); /* sign-extend */
	memcpy(v, &u, sizeof(*v));
	return 0;
}

static int load_float(const uint8_t *buf, size_t len, size_t pos, unsigned width, double *v)
{
	uint64_t u;
	int ret;

	if (width != 4 && width != 8)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: float at byte %zu is %u bytes wide (4 or 8 expected)",
				   pos, width);
	ret = load_uint(buf, len, pos, width, &u);
	if (ret < 0)
		return ret;
	if (width == 4) {
		const uint32_t u32 = (uint32_t)u;
		float f;

		memcpy(&f, &u32, sizeof(f));
		*v = f;
	} else {
		memcpy(v, &u, sizeof(*v));
	}
	return 0;
}

/* The position an offset slot points to (offsets always point backwards). */
static int target(const struct vigil_flex_ref *r, size_t *out)
{
	uint64_t off;
	int ret = load_uint(r->buf, r->len, r->pos, r->slot_width, &off);

	if (ret < 0)
		return ret;
	if (off > r->pos)
		return vigil_error(VIGIL_EMODEL,
				   "flexbuffer: offset %llu at byte %zu points before the start of the buffer",
				   (unsigned long long)off, r->pos);
	*out = r->pos - (size_t)off;
	return 0;
}

const char *vigil_flex_type_name(int type)
{
	static const char *const names[] = {
		"null",   "int",          "uint",          "float",          "key",
		"string", "indirect int", "indirect uint", "indirect float", "map",
		"vector", "int vector",   "uint vector",   "float vector",
	};

	if (type >= 0 && (size_t)type < sizeof(names) / sizeof(names[0]))
		return names[type];
	if (type == VIGIL_FLEX_BLOB)
		return "blob";
	if (type == VIGIL_FLEX_BOOL)
		return "bool";
	if (type == VIGIL_FLEX_VECTOR_BOOL)
		return "bool vector";
	return "typed vector";
}

static void set_ref(struct vigil_flex_ref *r, const uint8_t *buf, size_t len, size_t pos, unsigned slot_width,
		    uint8_t packed)
{
	r->buf = buf;
	r->len = len;
	r->pos = pos;
	r->slot_width = (uint8_t)slot_width;
	r->type = packed >> 2;
	r->child_width = (uint8_t)(1u << (packed & 3));
}

int vigil_flex_root(const uint8_t *buf, size_t len, struct vigil_flex_ref *out)
{
	unsigned width;

	if (!buf || len < 3)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: %zu bytes is too short (at least 3 needed)", len);
	width = buf[len - 1];
	if (!valid_width(width))
		return vigil_error(VIGIL_EMODEL, "flexbuffer: root width %u in the last byte is not 1, 2, 4 or 8",
				   width);
	if (len < 2 + (size_t)width)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: %zu bytes cannot hold a %u-byte root value", len, width);
	set_ref(out, buf, len, len - 2 - width, width, buf[len - 2]);
	return 0;
}

int vigil_flex_as_map(const struct vigil_flex_ref *r, struct vigil_flex_map *m)
{
	const unsigned w = r->child_width;
	uint64_t count, keys_off, key_width, key_count;
	size_t p, kslot, kp;
	int ret;

	if (r->type != VIGIL_FLEX_MAP)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: value at byte %zu is a %s, expected a map", r->pos,
				   vigil_flex_type_name(r->type));
	ret = target(r, &p);
	if (ret < 0)
		return ret;
	if (p < 3 * (size_t)w)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: map at byte %zu has no room for its header", p);
	if ((ret = load_uint(r->buf, r->len, p - w, w, &count)) < 0 ||
	    (ret = load_uint(r->buf, r->len, p - 2 * w, w, &key_width)) < 0 ||
	    (ret = load_uint(r->buf, r->len, p - 3 * w, w, &keys_off)) < 0)
		return ret;
	/* count values of w bytes, then count type bytes */
	if (count > r->len || p > r->len || (r->len - p) / (w + 1) < count)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: map at byte %zu claims %llu entries, past the end", p,
				   (unsigned long long)count);
	if (!valid_width(key_width))
		return vigil_error(VIGIL_EMODEL, "flexbuffer: map at byte %zu has key width %llu (1, 2, 4 or 8)", p,
				   (unsigned long long)key_width);
	kslot = p - 3 * w;
	if (keys_off > kslot)
		return vigil_error(VIGIL_EMODEL,
				   "flexbuffer: map at byte %zu: keys offset %llu points before the start", p,
				   (unsigned long long)keys_off);
	kp = kslot - (size_t)keys_off;
	if (kp < key_width)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: map at byte %zu: keys vector at byte %zu has no count", p,
				   kp);
	ret = load_uint(r->buf, r->len, kp - (size_t)key_width, (unsigned)key_width, &key_count);
	if (ret < 0)
		return ret;
	if (key_count != count)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: map at byte %zu has %llu values but %llu keys", p,
				   (unsigned long long)count, (unsigned long long)key_count);
	if (kp > r->len || (r->len - kp) / key_width < count)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: keys of the map at byte %zu run past the end", p);
	m->buf = r->buf;
	m->len = r->len;
	m->values = p;
	m->keys = kp;
	m->count = count;
	m->width = (uint8_t)w;
	m->key_width = (uint8_t)key_width;
	return 0;
}

int vigil_flex_map_key(const struct vigil_flex_map *m, uint64_t i, const char **key)
{
	const size_t slot = m->keys + (size_t)i * m->key_width;
	uint64_t off;
	size_t s;
	int ret;

	if (i >= m->count)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: key %llu of a %llu-entry map", (unsigned long long)i,
				   (unsigned long long)m->count);
	ret = load_uint(m->buf, m->len, slot, m->key_width, &off);
	if (ret < 0)
		return ret;
	if (off > slot)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: key offset %llu at byte %zu points before the start",
				   (unsigned long long)off, slot);
	s = slot - (size_t)off;
	if (!memchr(m->buf + s, 0, m->len - s))
		return vigil_error(VIGIL_EMODEL, "flexbuffer: key at byte %zu is not NUL-terminated inside the buffer",
				   s);
	*key = (const char *)m->buf + s;
	return 0;
}

int vigil_flex_map_value(const struct vigil_flex_map *m, uint64_t i, struct vigil_flex_ref *out)
{
	if (i >= m->count)
		return vigil_error(VIGIL_EMODEL, "flexbuffer: value %llu of a %llu-entry map", (unsigned long long)i,
				   (unsigned long long)m->count);
	/* vigil_flex_as_map checked that values and type bytes lie inside the buffer */
	set_ref(out, m->buf, m->len, m->values + (size_t)i * m->width, m->width,
		m->buf[m->values + (size_t)m->count * m->width + (size_t)i]);
	return 0;
}

int vigil_flex_map_find(const struct vigil_flex_map *m, const char *key, struct vigil_flex_ref *out)
{
	for (uint64_t i = 0; i < m->count; i++) {
		const char *k;
		int ret = vigil_flex_map_key(m, i, &k);

		if (ret < 0)
			return ret;
		if (strcmp(k, key) == 0)
			return vigil_flex_map_value(m, i, out) < 0 ? VIGIL_EMODEL : 1;
	}
	return 0;
}

/* A scalar as int64, uint64 or double, whichever it holds; *kind is 'i', 'u' or 'f'. */
static int scalar(const struct vigil_flex_ref *r, int *kind, int64_t *i, uint64_t *u, double *f)
{
	size_t pos = r->pos;
	unsigned width = r->slot_width;
	int ret;

	switch (r->type) {
	case VIGIL_FLEX_INDIRECT_INT:
	case VIGIL_FLEX_INDIRECT_UINT:
	case VIGIL_FLEX_INDIRECT_FLOAT:
		ret = target(r, &pos);
		if (ret < 0)
			return ret;
		width = r->child_width;
		break;
	default:
		break;
	}
	switch (r->type) {
	case VIGIL_FLEX_INT:
	case VIGIL_FLEX_INDIRECT_INT:
		*kind = 'i';
		return load_int(r->buf, r->len, pos, width, i);
	case VIGIL_FLEX_UINT:
	case VIGIL_FLEX_INDIRECT_UINT:
	case VIGIL_FLEX_BOOL:
		*kind = 'u';
		return load_uint(r->buf, r->len, pos, width, u);
	case VIGIL_FLEX_FLOAT:
	case VIGIL_FLEX_INDIRECT_FLOAT:
		*kind = 'f';
		return load_float(r->buf, r->len, pos, width, f);
	default:
		return vigil_error(VIGIL_EMODEL, "flexbuffer: value at byte %zu is a %s, expected a number", r->pos,
				   vigil_flex_type_name(r->type));
	}
}

int vigil_flex_as_i64(const struct vigil_flex_ref *r, int64_t *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	int kind, ret = scalar(r, &kind, &i, &u, &f);

	if (ret < 0)
		return ret;
	if (kind == 'i') {
		*out = i;
	} else if (kind == 'u') {
		if (u > INT64_MAX)
			return vigil_error(VIGIL_EMODEL, "flexbuffer: value %llu at byte %zu does not fit an int64",
					   (unsigned long long)u, r->pos);
		*out = (int64_t)u;
	} else {
		if (!(f > -9.2e18 && f < 9.2e18))
			return vigil_error(VIGIL_EMODEL, "flexbuffer: float %g at byte %zu is not a usable integer", f,
					   r->pos);
		*out = (int64_t)f;
	}
	return 0;
}

int vigil_flex_as_double(const struct vigil_flex_ref *r, double *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	int kind, ret = scalar(r, &kind, &i, &u, &f);

	if (ret < 0)
		return ret;
	*out = kind == 'i' ? (double)i : kind == 'u' ? (double)u : f;
	return 0;
}

int vigil_flex_as_bool(const struct vigil_flex_ref *r, int *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	int kind, ret = scalar(r, &kind, &i, &u, &f);

	if (ret < 0)
		return ret;
	*out = kind == 'i' ? i != 0 : kind == 'u' ? u != 0 : f != 0.0;
	return 0;
}
