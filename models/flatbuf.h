/* SPDX-License-Identifier: Apache-2.0
 * A small, bounds-checked FlatBuffers reader written for Vigil (no flatc, no generated code).
 *
 * A FlatBuffer is a byte string: a root uoffset at byte 0 leads to the root table; every table starts with a
 * signed offset to its vtable, which lists (u16) the vtable size, the table's inline size and one u16 offset per
 * field (0 = field absent, as is any field past the end of the vtable). Offset fields hold a u32 that is added to
 * their own position to reach a sub-table, a vector (u32 count, then elements) or a string (a byte vector followed
 * by a NUL).
 *
 * Every read here checks that what it touches lies inside the buffer, using 64-bit arithmetic so that no offset
 * or count can wrap, and loads little-endian values byte by byte so that nothing has to be aligned. Nesting is
 * bounded by VIGIL_FB_MAX_DEPTH. Failures return VIGIL_EMODEL with a message (vigil_last_error()) that names the
 * file offset and what was expected there; callers prefix it with where in their schema they were.
 *
 * Functions that look up an optional field return 1 when it is present, 0 when it is absent (outputs then hold
 * the schema default, an empty vector or ""), or a negative error. Nothing allocates; nothing is kept beyond the
 * buffer, which must outlive every table, vector and string pointer taken from it. Thread-safe.
 */
#ifndef VIGIL_FLATBUF_H
#define VIGIL_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

/* Tables nested deeper than this below the root are refused (TFLite needs 4). */
#define VIGIL_FB_MAX_DEPTH 32

struct vigil_fb {
	const uint8_t *buf;
	size_t len;
};

/* A validated table: its vtable and inline bytes lie inside the buffer. */
struct vigil_fb_table {
	const struct vigil_fb *fb;
	size_t pos;           /* file offset of the table (its soffset to the vtable) */
	size_t vtable;        /* file offset of its vtable */
	uint16_t vtable_size; /* bytes, including the two u16 header fields */
	uint16_t table_size;  /* inline bytes of the table, including the soffset */
	int depth;            /* 0 for the root table */
};

/* A validated vector: count elements of elem_size bytes starting at pos lie inside the buffer. */
struct vigil_fb_vector {
	const struct vigil_fb *fb;
	size_t pos; /* file offset of element 0 (just after the u32 count) */
	uint32_t count;
	size_t elem_size;
	int depth; /* depth of the table holding the vector */
};

/* Wraps a buffer. Fails when it is too short to hold a root offset. */
int vigil_fb_init(struct vigil_fb *fb, const uint8_t *buf, size_t len);

/* 1 when bytes 4..7 hold the 4-character file identifier @p id, else 0. */
int vigil_fb_has_identifier(const struct vigil_fb *fb, const char id[4]);

/* The root table. */
int vigil_fb_root(const struct vigil_fb *fb, struct vigil_fb_table *out);

/*
 * File offset of field @p field (its id: the order of declaration in the schema), checking that @p size bytes
 * there lie inside the table. Returns 1 and sets *pos when present, 0 when absent, or VIGIL_EMODEL.
 * Tests use this to patch a scalar of a real model in place and craft hostile files.
 */
int vigil_fb_field_pos(const struct vigil_fb_table *t, int field, size_t size, size_t *pos);

/* Scalar fields: *out is the stored value, or @p def when the field is absent. */
int vigil_fb_u8(const struct vigil_fb_table *t, int field, uint8_t def, uint8_t *out);
int vigil_fb_i8(const struct vigil_fb_table *t, int field, int8_t def, int8_t *out);
int vigil_fb_i32(const struct vigil_fb_table *t, int field, int32_t def, int32_t *out);
int vigil_fb_u32(const struct vigil_fb_table *t, int field, uint32_t def, uint32_t *out);
int vigil_fb_u64(const struct vigil_fb_table *t, int field, uint64_t def, uint64_t *out);
int vigil_fb_bool(const struct vigil_fb_table *t, int field, int def, int *out);

/* Offset fields. @p what names the field in messages ("shape", "operator_codes"). */
int vigil_fb_table(const struct vigil_fb_table *t, int field, const char *what, struct vigil_fb_table *out);
int vigil_fb_vector(const struct vigil_fb_table *t, int field, size_t elem_size, const char *what,
		    struct vigil_fb_vector *out);
/* A string must end with a NUL inside the buffer; *out points into the buffer ("" when absent). */
int vigil_fb_string(const struct vigil_fb_table *t, int field, const char *what, const char **out);

/* A union stored as a u8 type field @p type_field and the value table at type_field + 1. Returns 1 when the type
 * is not NONE (0) and the value table is present; a type without a value is an error. */
int vigil_fb_union(const struct vigil_fb_table *t, int type_field, const char *what, uint8_t *type,
		   struct vigil_fb_table *value);

/* Element @p i of a vector of tables (elem_size 4). */
int vigil_fb_vector_table(const struct vigil_fb_vector *v, uint32_t i, const char *what, struct vigil_fb_table *out);

/* Elements of a validated vector; @p i must be below v->count. */
int32_t vigil_fb_vector_i32(const struct vigil_fb_vector *v, uint32_t i);
const uint8_t *vigil_fb_vector_data(const struct vigil_fb_vector *v);

/* Little-endian loads from unaligned memory. */
uint16_t vigil_fb_load_u16(const uint8_t *p);
uint32_t vigil_fb_load_u32(const uint8_t *p);
uint64_t vigil_fb_load_u64(const uint8_t *p);

#endif
