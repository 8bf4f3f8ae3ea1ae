/* SPDX-License-Identifier: Apache-2.0
 * A small, bounds-checked FlexBuffers reader written for Vigil: enough to read the custom options of TFLite custom
 * operators (a map of scalars), nothing more.
 *
 * A FlexBuffer is self-describing. Its last byte is the byte width of the root value, the byte before it the root's
 * packed type (type << 2 | log2 of its child byte width), and the root value itself sits just before those two bytes.
 * Scalars (null, int, uint, float, bool) are stored inline in their parent's width; everything else is an unsigned
 * offset that is subtracted from the position where it is stored. A map at position p with element width w holds
 * [keys offset][keys width][count] in the three words before p, count values from p, then one packed type byte per
 * value; its keys are a vector of offsets to NUL-terminated strings.
 *
 * Every read checks that what it touches lies inside the buffer with 64-bit arithmetic, widths must be 1, 2, 4 or 8,
 * offsets must point backwards, and strings must end inside the buffer. Failures return VIGIL_EMODEL with a message
 * in vigil_last_error() naming the byte offset. Nothing allocates; references point into the caller's buffer.
 */
#ifndef VIGIL_FLEXBUF_H
#define VIGIL_FLEXBUF_H

#include <stddef.h>
#include <stdint.h>

/* FlexBuffer value types (the format's numbering). */
enum vigil_flex_type {
	VIGIL_FLEX_NULL = 0,
	VIGIL_FLEX_INT = 1,
	VIGIL_FLEX_UINT = 2,
	VIGIL_FLEX_FLOAT = 3,
	VIGIL_FLEX_KEY = 4,
	VIGIL_FLEX_STRING = 5,
	VIGIL_FLEX_INDIRECT_INT = 6,
	VIGIL_FLEX_INDIRECT_UINT = 7,
	VIGIL_FLEX_INDIRECT_FLOAT = 8,
	VIGIL_FLEX_MAP = 9,
	VIGIL_FLEX_VECTOR = 10,
	VIGIL_FLEX_BLOB = 25,
	VIGIL_FLEX_BOOL = 26,
	VIGIL_FLEX_VECTOR_BOOL = 36,
};

/* A value: where it is stored, the width of that slot, and its packed type. */
struct vigil_flex_ref {
	const uint8_t *buf;
	size_t len;
	size_t pos;          /* offset of the slot holding the value (inline scalar or offset) */
	uint8_t slot_width;  /* bytes of that slot: 1, 2, 4 or 8 */
	uint8_t type;        /* enum vigil_flex_type */
	uint8_t child_width; /* bytes per element of what an offset points to (1, 2, 4 or 8) */
};

/* A validated map. */
struct vigil_flex_map {
	const uint8_t *buf;
	size_t len;
	size_t values; /* offset of value 0 */
	size_t keys;   /* offset of key slot 0 */
	uint64_t count;
	uint8_t width, key_width;
};

/* The root value of @p buf. */
int vigil_flex_root(const uint8_t *buf, size_t len, struct vigil_flex_ref *out);

/* Validates that @p ref is a map (keys and types inside the buffer). */
int vigil_flex_as_map(const struct vigil_flex_ref *ref, struct vigil_flex_map *out);

/* Key @p i of a map (a NUL-terminated string inside the buffer). */
int vigil_flex_map_key(const struct vigil_flex_map *m, uint64_t i, const char **key);

/* Value @p i of a map. */
int vigil_flex_map_value(const struct vigil_flex_map *m, uint64_t i, struct vigil_flex_ref *out);

/* Looks up @p key: 1 and *out when present, 0 when absent, or VIGIL_EMODEL. */
int vigil_flex_map_find(const struct vigil_flex_map *m, const char *key, struct vigil_flex_ref *out);

/* Numeric conversions as FlexBuffers defines them for scalars (int, uint, float, bool, their indirect forms).
 * A value of any other type is VIGIL_EMODEL. Integers from floats truncate toward zero; a float outside the
 * int64 range, or NaN, is VIGIL_EMODEL. */
int vigil_flex_as_i64(const struct vigil_flex_ref *ref, int64_t *out);
int vigil_flex_as_double(const struct vigil_flex_ref *ref, double *out);
int vigil_flex_as_bool(const struct vigil_flex_ref *ref, int *out);

/* "int", "map", ... for messages. */
const char *vigil_flex_type_name(int type);

#endif
