/* SPDX-License-Identifier: Apache-2.0
 * Bounds-checked FlatBuffers reader (see flatbuf.h for the format and the contract). */
#include "flatbuf.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "vigil/vigil.h"

uint16_t vigil_fb_load_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

uint32_t vigil_fb_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t vigil_fb_load_u64(const uint8_t *p)
{
	return (uint64_t)vigil_fb_load_u32(p) | (uint64_t)vigil_fb_load_u32(p + 4) << 32;
}

/* 1 when [pos, pos + size) lies inside the buffer. Written so that no sum can wrap. */
static int in_bounds(const struct vigil_fb *fb, uint64_t pos, uint64_t size)
{
	return pos <= fb->len && size <= fb->len - pos;
}

int vigil_fb_init(struct vigil_fb *fb, const uint8_t *buf, size_t len)
{
	fb->buf = buf;
	fb->len = len;
	if (!buf && len)
		return -EINVAL;
	if (len < 8)
		return vigil_error(VIGIL_EMODEL, "file holds %zu bytes, too short for a FlatBuffer (at least 8)", len);
	return 0;
}

int vigil_fb_has_identifier(const struct vigil_fb *fb, const char id[4])
{
	return fb->len >= 8 && memcmp(fb->buf + 4, id, 4) == 0;
}

/* Validates the table header at @p pos: its vtable and its inline bytes must lie inside the buffer. */
static int table_at(const struct vigil_fb *fb, uint64_t pos, int depth, const char *what, struct vigil_fb_table *out)
{
	int64_t vt;
	int32_t soffset;
	uint16_t vsize, tsize;

	if (depth > VIGIL_FB_MAX_DEPTH)
		return vigil_error(VIGIL_EMODEL, "%s table at offset 0x%llx is nested %d levels deep (limit %d)", what,
				   (unsigned long long)pos, depth, VIGIL_FB_MAX_DEPTH);
	if (!in_bounds(fb, pos, 4))
		return vigil_error(VIGIL_EMODEL, "%s table at offset 0x%llx runs past the end of the file (len %zu)",
				   what, (unsigned long long)pos, fb->len);
	/* The vtable lies at pos - soffset; the soffset is signed, so the vtable may come before or after. */
	soffset = (int32_t)vigil_fb_load_u32(fb->buf + pos);
	vt = (int64_t)pos - soffset;
	if (vt < 0 || !in_bounds(fb, (uint64_t)vt, 4))
		return vigil_error(
		    VIGIL_EMODEL,
		    "%s table at offset 0x%llx: its vtable offset %d puts the vtable at %lld, outside the "
		    "file (len %zu)",
		    what, (unsigned long long)pos, soffset, (long long)vt, fb->len);
	vsize = vigil_fb_load_u16(fb->buf + vt);
	tsize = vigil_fb_load_u16(fb->buf + vt + 2);
	if (vsize < 4 || vsize % 2 || !in_bounds(fb, (uint64_t)vt, vsize))
		return vigil_error(
		    VIGIL_EMODEL,
		    "%s table at offset 0x%llx: vtable at 0x%llx declares %u bytes, expected an even size "
		    ">= 4 that fits in the file (len %zu)",
		    what, (unsigned long long)pos, (unsigned long long)vt, vsize, fb->len);
	if (tsize < 4 || !in_bounds(fb, pos, tsize))
		return vigil_error(VIGIL_EMODEL,
				   "%s table at offset 0x%llx declares %u inline bytes, expected >= 4 that fit in the "
				   "file (len %zu)",
				   what, (unsigned long long)pos, tsize, fb->len);
	out->fb = fb;
	out->pos = (size_t)pos;
	out->vtable = (size_t)vt;
	out->vtable_size = vsize;
	out->table_size = tsize;
	out->depth = depth;
	return 0;
}

int vigil_fb_root(const struct vigil_fb *fb, struct vigil_fb_table *out)
{
	return table_at(fb, vigil_fb_load_u32(fb->buf), 0, "root", out);
}

int vigil_fb_field_pos(const struct vigil_fb_table *t, int field, size_t size, size_t *pos)
{
	const uint64_t slot = 4 + 2 * (uint64_t)field;
	uint16_t off;

	if (field < 0 || slot + 2 > t->vtable_size)
		return 0; /* fields added to the schema after this file was written */
	off = vigil_fb_load_u16(t->fb->buf + t->vtable + slot);
	if (off == 0)
		return 0;
	if (off < 4 || (uint64_t)off + size > t->table_size)
		return vigil_error(VIGIL_EMODEL,
				   "table at offset 0x%zx: field %d (%zu bytes at +%u) lies outside the table's %u "
				   "inline bytes",
				   t->pos, field, size, off, t->table_size);
	*pos = t->pos + off;
	return 1;
}

/* Reads a scalar of @p size bytes into @p raw (little-endian, zero-extended); absent fields leave it alone. */
static int scalar(const struct vigil_fb_table *t, int field, size_t size, uint64_t *raw)
{
	size_t pos = 0;
	int ret = vigil_fb_field_pos(t, field, size, &pos);

	if (ret <= 0)
		return ret;
	switch (size) {
	case 1:
		*raw = t->fb->buf[pos];
		break;
	case 4:
		*raw = vigil_fb_load_u32(t->fb->buf + pos);
		break;
	default:
		*raw = vigil_fb_load_u64(t->fb->buf + pos);
		break;
	}
	return 1;
}

int vigil_fb_u8(const struct vigil_fb_table *t, int field, uint8_t def, uint8_t *out)
{
	uint64_t raw = def;
	int ret = scalar(t, field, 1, &raw);

	*out = (uint8_t)raw;
	return ret;
}

int vigil_fb_i8(const struct vigil_fb_table *t, int field, int8_t def, int8_t *out)
{
	uint64_t raw = (uint8_t)def;
	int ret = scalar(t, field, 1, &raw);

	*out = (int8_t)(uint8_t)raw;
	return ret;
}

int vigil_fb_i32(const struct vigil_fb_table *t, int field, int32_t def, int32_t *out)
{
	uint64_t raw = (uint32_t)def;
	int ret = scalar(t, field, 4, &raw);

	*out = (int32_t)(uint32_t)raw;
	return ret;
}

int vigil_fb_u32(const struct vigil_fb_table *t, int field, uint32_t def, uint32_t *out)
{
	uint64_t raw = def;
	int ret = scalar(t, field, 4, &raw);

	*out = (uint32_t)raw;
	return ret;
}

int vigil_fb_u64(const struct vigil_fb_table *t, int field, uint64_t def, uint64_t *out)
{
	uint64_t raw = def;
	int ret = scalar(t, field, 8, &raw);

	*out = raw;
	return ret;
}

int vigil_fb_bool(const struct vigil_fb_table *t, int field, int def, int *out)
{
	uint64_t raw = def ? 1 : 0;
	int ret = scalar(t, field, 1, &raw);

	*out = raw != 0;
	return ret;
}

/* Follows the u32 offset stored in field @p field to the file offset it designates. */
static int follow(const struct vigil_fb_table *t, int field, const char *what, uint64_t *target)
{
	size_t pos = 0;
	int ret = vigil_fb_field_pos(t, field, 4, &pos);

	if (ret <= 0)
		return ret;
	*target = (uint64_t)pos + vigil_fb_load_u32(t->fb->buf + pos);
	if (*target >= t->fb->len)
		return vigil_error(VIGIL_EMODEL,
				   "%s (field %d of the table at 0x%zx) points to offset 0x%llx, past the "
				   "end of the file (len %zu)",
				   what, field, t->pos, (unsigned long long)*target, t->fb->len);
	return 1;
}

int vigil_fb_table(const struct vigil_fb_table *t, int field, const char *what, struct vigil_fb_table *out)
{
	uint64_t target;
	int ret = follow(t, field, what, &target);

	if (ret <= 0)
		return ret;
	ret = table_at(t->fb, target, t->depth + 1, what, out);
	return ret < 0 ? ret : 1;
}

/* Validates a vector whose u32 count sits at @p at. */
static int vector_at(const struct vigil_fb *fb, uint64_t at, size_t elem_size, int depth, const char *what,
		     struct vigil_fb_vector *out)
{
	uint32_t count;

	if (!in_bounds(fb, at, 4))
		return vigil_error(VIGIL_EMODEL, "%s vector at offset 0x%llx runs past the end of the file (len %zu)",
				   what, (unsigned long long)at, fb->len);
	count = vigil_fb_load_u32(fb->buf + at);
	/* count < 2^32 and elem_size is small, so the product cannot overflow 64 bits. */
	if (!in_bounds(fb, at + 4, (uint64_t)count * elem_size))
		return vigil_error(VIGIL_EMODEL,
				   "%s vector at offset 0x%llx: %u elements of %zu bytes run past the end of the file "
				   "(len %zu)",
				   what, (unsigned long long)at, count, elem_size, fb->len);
	out->fb = fb;
	out->pos = (size_t)(at + 4);
	out->count = count;
	out->elem_size = elem_size;
	out->depth = depth;
	return 0;
}

int vigil_fb_vector(const struct vigil_fb_table *t, int field, size_t elem_size, const char *what,
		    struct vigil_fb_vector *out)
{
	uint64_t target;
	int ret;

	memset(out, 0, sizeof(*out));
	out->fb = t->fb;
	out->elem_size = elem_size;
	out->depth = t->depth;
	ret = follow(t, field, what, &target);
	if (ret <= 0)
		return ret;
	ret = vector_at(t->fb, target, elem_size, t->depth, what, out);
	return ret < 0 ? ret : 1;
}

int vigil_fb_string(const struct vigil_fb_table *t, int field, const char *what, const char **out)
{
	struct vigil_fb_vector v;
	int ret;

	*out = "";
	ret = vigil_fb_vector(t, field, 1, what, &v);
	if (ret <= 0)
		return ret;
	/* The terminator follows the counted bytes; the vector check only covered the bytes themselves. */
	if (!in_bounds(t->fb, v.pos, (uint64_t)v.count + 1) || t->fb->buf[v.pos + v.count] != '\0')
		return vigil_error(
		    VIGIL_EMODEL,
		    "%s string at offset 0x%zx (%u bytes) is not NUL-terminated inside the file (len %zu)", what,
		    v.pos - 4, v.count, t->fb->len);
	*out = (const char *)t->fb->buf + v.pos;
	return 1;
}

int vigil_fb_union(const struct vigil_fb_table *t, int type_field, const char *what, uint8_t *type,
		   struct vigil_fb_table *value)
{
	int ret = vigil_fb_u8(t, type_field, 0, type);

	if (ret < 0 || *type == 0)
		return ret < 0 ? ret : 0;
	ret = vigil_fb_table(t, type_field + 1, what, value);
	if (ret == 0)
		return vigil_error(VIGIL_EMODEL, "%s of the table at 0x%zx has type %u but no value", what, t->pos,
				   *type);
	return ret;
}

int vigil_fb_vector_table(const struct vigil_fb_vector *v, uint32_t i, const char *what, struct vigil_fb_table *out)
{
	const uint64_t at = v->pos + (uint64_t)i * 4;

	if (i >= v->count || v->elem_size != 4)
		return vigil_error(VIGIL_EMODEL, "%s: element %u requested from a vector of %u", what, i, v->count);
	return table_at(v->fb, at + vigil_fb_load_u32(v->fb->buf + at), v->depth + 1, what, out);
}

int32_t vigil_fb_vector_i32(const struct vigil_fb_vector *v, uint32_t i)
{
	return (int32_t)vigil_fb_load_u32(v->fb->buf + v->pos + (size_t)i * 4);
}

const uint8_t *vigil_fb_vector_data(const struct vigil_fb_vector *v)
{
	return v->fb->buf + v->pos;
}
