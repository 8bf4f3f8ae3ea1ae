/* SPDX-License-Identifier: Apache-2.0
 * Still-image decoding, JPEG writing and annotation drawing.
 *
 * Reference values come from outside this code: the SHA-256 of each sample's decoded RGB recorded in
 * tests/data/golden/golden_faces.json (PIL 9.4 over libjpeg-turbo 2.1 / libpng), a mirror image that PIL wrote
 * as PNG, a few sergey.png pixels read with a separate zlib-based decoder, and synthetic PNGs this file writes
 * with libpng itself so that the expected RGB is known by construction. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "draw.h"
#include "image_io.h"
#include "testutil.h"
#include "vigil/vigil.h"

/* ---------------------------------------------------------------------------------------------------------- */
/* SHA-256 (FIPS 180-4), to compare decodes with the digests recorded in golden_faces.json. */

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t fill;
	uint64_t bits;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_hex(const uint8_t *data, size_t n, char hex[65])
{
	static const uint32_t init[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	struct sha256 s;
	uint8_t tail[128] = { 0 };
	size_t full = n / 64 * 64, rem = n - full, tail_len;

	memcpy(s.h, init, sizeof(init));

	for (size_t i = 0; i < full; i += 64)
		sha256_block(&s, data + i);
	memcpy(tail, data + full, rem);
	tail[rem] = 0x80;
	tail_len = rem + 9 <= 64 ? 64 : 128;
	s.bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(s.bits >> (8 * i));
	for (size_t i = 0; i < tail_len; i += 64)
		sha256_block(&s, tail + i);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", s.h[i]);
}

START_TEST(test_sha256_known_answer)
{
	char hex[65];

	sha256_hex((const uint8_t *)"abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------- */
/* Helpers */

static int is_decode_error(int rc)
{
	return rc == VIGIL_EIMAGE || rc == VIGIL_EFORMAT || rc == VIGIL_ETOOBIG;
}

static void assert_empty(const struct vigil_image *img)
{
	ck_assert_ptr_null(img->rgb);
	ck_assert_int_eq(img->width, 0);
	ck_assert_int_eq(img->height, 0);
}

/* A decode that must fail: no pixels, one of the documented codes, a message. */
static void expect_failure(const uint8_t *data, size_t size, int want, const char *what)
{
	struct vigil_image img;
	int rc = vigil_image_decode(data, size, &img);

	ck_assert_msg(rc == want, "%s: got %d (%s: %s), expected %d", what, rc, vigil_strerror(rc), vigil_last_error(),
		      want);
	assert_empty(&img);
	ck_assert_msg(vigil_last_error()[0] != '\0', "%s: no detail message", what);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

/* Recomputes the CRC of the chunk that starts (length field) at @p off. */
static void png_fix_crc(uint8_t *png, size_t off)
{
	uint32_t len = rd32(png + off);

	wr32(png + off + 8 + len, crc32_ref(png + off + 4, 4 + (size_t)len));
}

/* Offset of the SOF0/SOF2 marker (its FF byte) in a JPEG, walking the segments from SOI. */
static size_t jpeg_find_sof(const uint8_t *d, size_t n)
{
	size_t pos = 2;

	while (pos + 4 < n) {
		ck_assert_int_eq(d[pos], 0xff);
		if (d[pos + 1] == 0xc0 || d[pos + 1] == 0xc2)
			return pos;
		pos += 2 + ((size_t)d[pos + 2] << 8 | d[pos + 3]);
	}
	ck_abort_msg("no SOF marker in the JPEG");
	return 0;
}

/* Deterministic test pattern: smooth gradients plus a few sharp edges, so encoders have real work. */
static void fill_pattern(uint8_t *rgb, int w, int h, int stride)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;

			p[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
			p[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
			p[2] = ((x / 8 + y / 8) & 1) ? 200 : 40;
		}
}

/* Encodes the pattern with TurboJPEG directly (progressive and grey variants the writer does not offer). */
static uint8_t *make_jpeg(int w, int h, int subsamp, int flags, size_t *size)
{
	tjhandle tj = tjInitCompress();
	uint8_t *rgb = malloc((size_t)w * h * 3), *copy;
	unsigned char *jpeg = NULL;
	unsigned long len = 0;

	ck_assert_ptr_nonnull(tj);
	ck_assert_ptr_nonnull(rgb);
	fill_pattern(rgb, w, h, w * 3);
	ck_assert_msg(tjCompress2(tj, rgb, w, w * 3, h, TJPF_RGB, &jpeg, &len, subsamp, 85, flags) == 0, "%s",
		      tjGetErrorStr2(tj));
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, jpeg, len);
	tjFree(jpeg);
	tjDestroy(tj);
	free(rgb);
	*size = len;
	return copy;
}

struct membuf {
	uint8_t *data;
	size_t size, cap;
};

static void png_write_mem(png_structp png, png_bytep src, size_t len)
{
	struct membuf *m = png_get_io_ptr(png);

	if (m->size + len > m->cap) {
		size_t cap = (m->size + len) * 2;
		uint8_t *p = realloc(m->data, cap);

		if (!p)
			png_error(png, "out of memory");
		m->data = p;
		m->cap = cap;
	}
	memcpy(m->data + m->size, src, len);
	m->size += len;
}

static void png_flush_mem(png_structp png)
{
	(void)png;
}

/* Writes rows already packed in PNG layout (@p rowbytes each) with the given IHDR fields. */
static uint8_t *make_png(int w, int h, int depth, int color, int interlace, const uint8_t *pixels, size_t rowbytes,
			 const png_color *palette, int npalette, const uint8_t *trns, int ntrns, size_t *size)
{
	struct membuf m = { 0 };
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	png_bytep *rows = malloc(sizeof(*rows) * h);

	ck_assert_ptr_nonnull(png);
	ck_assert_ptr_nonnull(info);
	ck_assert_ptr_nonnull(rows);
	if (setjmp(png_jmpbuf(png)))
		ck_abort_msg("libpng failed to write the test PNG");
	png_set_write_fn(png, &m, png_write_mem, png_flush_mem);
	png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (palette)
		png_set_PLTE(png, info, palette, npalette);
	if (trns && color == PNG_COLOR_TYPE_PALETTE) {
		png_set_tRNS(png, info, trns, ntrns, NULL);
	} else if (trns) {
		/* grey and RGB files mark one colour transparent: pick one that occurs */
		png_color_16 key = { 0, 1, 2, 3, 1 };

		png_set_tRNS(png, info, NULL, 0, &key);
	}
	for (int y = 0; y < h; y++)
		rows[y] = (png_bytep)pixels + (size_t)y * rowbytes;
	png_set_rows(png, info, rows);
	png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
	png_destroy_write_struct(&png, &info);
	free(rows);
	*size = m.size;
	return m.data;
}

static json_t *golden_inputs(void)
{
	json_error_t err;
	json_t *root = json_load_file(tu_data_path("golden/golden_faces.json"), 0, &err);

	ck_assert_msg(root != NULL, "cannot parse golden_faces.json: %s (line %d)", err.text, err.line);
	return root;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Good files */

/* Each sample decodes to exactly the pixels PIL produced when the golden data was made (same libjpeg-turbo
 * settings: accurate integer IDCT, smooth chroma upsampling). */
START_TEST(test_decode_samples_match_golden)
{
	static const char *const names[] = { "faces/sample1.jpg",           "faces/sample2.jpg",
					     "faces/sample3.jpg",           "faces/sample4.jpg",
					     "faces/sample5.jpg",           "faces/sample6.jpg",
					     "golden/full/gray640x480.png", "golden/full/sample1_flip.png" };
	static const char *const keys[] = { "full/sample1.jpg",     "full/sample2.jpg",     "full/sample3.jpg",
					    "full/sample4.jpg",     "full/sample5.jpg",     "full/sample6.jpg",
					    "full/gray640x480.png", "full/sample1_flip.png" };
	const char *name = names[_i], *key = keys[_i];
	json_t *root = golden_inputs();
	json_t *entry = json_object_get(json_object_get(root, "inputs"), key);
	struct vigil_image img;
	char hex[65];
	int rc;

	ck_assert_msg(entry != NULL, "golden_faces.json has no inputs[%s]", key);
	rc = vigil_image_load(tu_data_path(name), &img);
	ck_assert_msg(rc == 0, "%s: %s", name, vigil_last_error());
	ck_assert_int_eq(img.width, json_integer_value(json_object_get(entry, "width")));
	ck_assert_int_eq(img.height, json_integer_value(json_object_get(entry, "height")));
	ck_assert_int_eq(img.stride, img.width * 3);
	sha256_hex(img.rgb, (size_t)img.stride * img.height, hex);
	ck_assert_msg(strcmp(hex, json_string_value(json_object_get(entry, "sha256_decoded_rgb"))) == 0,
		      "%s decodes to sha256 %s, the golden decode is %s", name, hex,
		      json_string_value(json_object_get(entry, "sha256_decoded_rgb")));
	vigil_image_free(&img);
	assert_empty(&img);
	json_decref(root);
}
END_TEST

/* Cross-decoder check: libjpeg's sample1 equals libpng's copy of its mirror image, pixel for pixel. */
START_TEST(test_jpeg_equals_mirrored_png)
{
	struct vigil_image jpg, png;

	ck_assert_int_eq(vigil_image_load(tu_data_path("faces/sample1.jpg"), &jpg), 0);
	ck_assert_int_eq(vigil_image_load(tu_data_path("golden/full/sample1_flip.png"), &png), 0);
	ck_assert_int_eq(jpg.width, png.width);
	ck_assert_int_eq(jpg.height, png.height);
	for (int y = 0; y < jpg.height; y++)
		for (int x = 0; x < jpg.width; x++) {
			const uint8_t *a = jpg.rgb + (size_t)y * jpg.stride + (size_t)x * 3;
			const uint8_t *b = png.rgb + (size_t)y * png.stride + (size_t)(png.width - 1 - x) * 3;

			if (memcmp(a, b, 3) != 0)
				ck_abort_msg("pixel (%d,%d): JPEG %u,%u,%u, mirrored PNG %u,%u,%u", x, y, a[0], a[1],
					     a[2], b[0], b[1], b[2]);
		}
	vigil_image_free(&jpg);
	vigil_image_free(&png);
}
END_TEST

START_TEST(test_gray_png_is_uniform)
{
	struct vigil_image img;

	ck_assert_int_eq(vigil_image_load(tu_data_path("golden/full/gray640x480.png"), &img), 0);
	ck_assert_int_eq(img.width, 640);
	ck_assert_int_eq(img.height, 480);
	for (size_t i = 0; i < (size_t)img.stride * img.height; i++)
		ck_assert_int_eq(img.rgb[i], 128);
	vigil_image_free(&img);
}
END_TEST

/* sergey.png is RGBA; the alpha channel is dropped. Pixel values read with an independent zlib-based decoder. */
START_TEST(test_rgba_png_to_rgb)
{
	static const struct {
		int x, y;
		uint8_t rgb[3];
	} want[] = {
		{ 0, 0, { 223, 213, 211 } },    { 300, 300, { 191, 110, 106 } }, { 599, 599, { 81, 79, 80 } },
		{ 150, 420, { 125, 101, 89 } }, { 451, 77, { 21, 22, 14 } },
	};
	struct vigil_image img;

	ck_assert_int_eq(vigil_image_load(tu_data_path("sergey/sergey.png"), &img), 0);
	ck_assert_int_eq(img.width, 600);
	ck_assert_int_eq(img.height, 600);
	ck_assert_int_eq(img.stride, 1800);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const uint8_t *p = img.rgb + (size_t)want[i].y * img.stride + (size_t)want[i].x * 3;

		ck_assert_msg(memcmp(p, want[i].rgb, 3) == 0, "(%d,%d) is %u,%u,%u, expected %u,%u,%u", want[i].x,
			      want[i].y, p[0], p[1], p[2], want[i].rgb[0], want[i].rgb[1], want[i].rgb[2]);
	}
	vigil_image_free(&img);
}
END_TEST

/* Every PNG colour type and depth, interlaced or not, decodes to the RGB the file was built from. */
struct png_case {
	const char *name;
	int color, depth, interlace;
};

static const struct png_case png_cases[] = {
	{ "gray1", PNG_COLOR_TYPE_GRAY, 1, 0 },
	{ "gray2", PNG_COLOR_TYPE_GRAY, 2, 0 },
	{ "gray4", PNG_COLOR_TYPE_GRAY, 4, 0 },
	{ "gray8", PNG_COLOR_TYPE_GRAY, 8, 0 },
	{ "gray4-trns", PNG_COLOR_TYPE_GRAY, 4, 0 },
	{ "gray8-trns", PNG_COLOR_TYPE_GRAY, 8, 0 },
	{ "gray16", PNG_COLOR_TYPE_GRAY, 16, 0 },
	{ "gray-alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0 },
	{ "gray-alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0 },
	{ "rgb8", PNG_COLOR_TYPE_RGB, 8, 0 },
	{ "rgb16", PNG_COLOR_TYPE_RGB, 16, 0 },
	{ "rgb8-trns", PNG_COLOR_TYPE_RGB, 8, 0 },
	{ "rgb16-trns", PNG_COLOR_TYPE_RGB, 16, 0 },
	{ "rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0 },
	{ "rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0 },
	{ "palette1", PNG_COLOR_TYPE_PALETTE, 1, 0 },
	{ "palette4-trns", PNG_COLOR_TYPE_PALETTE, 4, 0 },
	{ "palette8-trns", PNG_COLOR_TYPE_PALETTE, 8, 0 },
	{ "rgb8-adam7", PNG_COLOR_TYPE_RGB, 8, 1 },
	{ "gray2-adam7", PNG_COLOR_TYPE_GRAY, 2, 1 },
	{ "palette4-adam7", PNG_COLOR_TYPE_PALETTE, 4, 1 },
	{ "rgba16-adam7", PNG_COLOR_TYPE_RGB_ALPHA, 16, 1 },
};

START_TEST(test_png_color_types)
{
	const struct png_case *c = &png_cases[_i];
	const int w = 37, h = 23; /* odd sizes: partial bytes at low depths, partial Adam7 passes */
	int channels = c->color == PNG_COLOR_TYPE_GRAY         ? 1
		       : c->color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
		       : c->color == PNG_COLOR_TYPE_RGB        ? 3
		       : c->color == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
							       : 1;
	int levels = c->depth >= 8 ? 256 : 1 << c->depth;
	size_t rowbytes = ((size_t)w * channels * c->depth + 7) / 8;
	uint8_t *packed = calloc(rowbytes, h), *want = malloc((size_t)w * h * 3), *file;
	png_color palette[256];
	uint8_t trns[256];
	struct vigil_image img;
	size_t size;

	ck_assert_ptr_nonnull(packed);
	ck_assert_ptr_nonnull(want);
	for (int i = 0; i < 256; i++) {
		palette[i] = (png_color){ (png_byte)(i * 7 + 3), (png_byte)(255 - i), (png_byte)(i * 13) };
		trns[i] = (uint8_t)(i * 5); /* must not matter: transparency is dropped */
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *o = want + ((size_t)y * w + x) * 3;
			unsigned v[4];

			for (int ch = 0; ch < channels; ch++)
				v[ch] = (unsigned)(x * 3 + y * 5 + ch * 11 + x * y) % (unsigned)levels;
			if (c->color == PNG_COLOR_TYPE_PALETTE) {
				o[0] = palette[v[0]].red, o[1] = palette[v[0]].green, o[2] = palette[v[0]].blue;
			} else if (c->depth < 8) {
				unsigned g = v[0] * 255 / (unsigned)(levels - 1);

				o[0] = o[1] = o[2] = (uint8_t)g;
			} else if (channels <= 2) {
				o[0] = o[1] = o[2] = (uint8_t)v[0];
			} else {
				o[0] = (uint8_t)v[0], o[1] = (uint8_t)v[1], o[2] = (uint8_t)v[2];
			}
			/* Pack: sub-byte samples MSB first; 16-bit samples are v * 257 so that both exact scaling and
			 * truncation to 8 bits give v back. */
			for (int ch = 0; ch < channels; ch++) {
				size_t bit = ((size_t)x * channels + ch) * c->depth;
				uint8_t *row = packed + (size_t)y * rowbytes;

				if (c->depth == 16) {
					row[bit / 8] = (uint8_t)v[ch];
					row[bit / 8 + 1] = (uint8_t)v[ch];
				} else if (c->depth == 8) {
					row[bit / 8] = (uint8_t)v[ch];
				} else {
					row[bit / 8] |= (uint8_t)(v[ch] << (8 - c->depth - bit % 8));
				}
			}
		}
	file = make_png(w, h, c->depth, c->color, c->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, packed,
			rowbytes, c->color == PNG_COLOR_TYPE_PALETTE ? palette : NULL, levels,
			strstr(c->name, "trns") ? trns : NULL, levels, &size);
	ck_assert_msg(vigil_image_decode(file, size, &img) == 0, "%s: %s", c->name, vigil_last_error());
	ck_assert_int_eq(img.width, w);
	ck_assert_int_eq(img.height, h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const uint8_t *got = img.rgb + (size_t)y * img.stride + (size_t)x * 3;
			const uint8_t *exp = want + ((size_t)y * w + x) * 3;

			if (memcmp(got, exp, 3) != 0)
				ck_abort_msg("%s (%d,%d): got %u,%u,%u, expected %u,%u,%u", c->name, x, y, got[0],
					     got[1], got[2], exp[0], exp[1], exp[2]);
		}
	vigil_image_free(&img);
	free(file);
	free(packed);
	free(want);
}
END_TEST

/* A grey JPEG comes out as RGB with three equal channels; a progressive one decodes like its baseline twin. */
START_TEST(test_jpeg_gray_and_progressive)
{
	size_t gsize, bsize, psize;
	uint8_t *gray = make_jpeg(61, 47, TJSAMP_GRAY, 0, &gsize);
	uint8_t *base = make_jpeg(61, 47, TJSAMP_444, 0, &bsize);
	uint8_t *prog = make_jpeg(61, 47, TJSAMP_444, TJFLAG_PROGRESSIVE, &psize);
	struct vigil_image g, b, p;

	ck_assert_int_eq(vigil_image_decode(gray, gsize, &g), 0);
	ck_assert_int_eq(g.width, 61);
	ck_assert_int_eq(g.height, 47);
	for (size_t i = 0; i < (size_t)g.width * g.height; i++) {
		ck_assert_int_eq(g.rgb[3 * i], g.rgb[3 * i + 1]);
		ck_assert_int_eq(g.rgb[3 * i], g.rgb[3 * i + 2]);
	}
	ck_assert_int_eq(vigil_image_decode(base, bsize, &b), 0);
	ck_assert_int_eq(vigil_image_decode(prog, psize, &p), 0);
	ck_assert_int_eq(p.width, 61);
	ck_assert_int_eq(p.height, 47);
	/* same quantised coefficients, different entropy coding: identical pixels */
	ck_assert_mem_eq(b.rgb, p.rgb, (size_t)61 * 47 * 3);
	vigil_image_free(&g);
	vigil_image_free(&b);
	vigil_image_free(&p);
	free(gray);
	free(base);
	free(prog);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------- */
/* Bad input */

START_TEST(test_empty_and_tiny)
{
	static const uint8_t jpeg_start[] = { 0xff, 0xd8, 0xff };
	static const uint8_t png_start[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	uint8_t dummy = 0;
	struct vigil_image img;

	expect_failure(&dummy, 0, VIGIL_EIMAGE, "empty");
	expect_failure(NULL, 0, VIGIL_EIMAGE, "NULL, 0");
	ck_assert_int_eq(vigil_image_decode(NULL, 10, &img), -EINVAL);
	ck_assert_int_eq(vigil_image_decode(&dummy, 1, NULL), -EINVAL);
	for (size_t n = 1; n <= sizeof(jpeg_start); n++)
		expect_failure(jpeg_start, n, VIGIL_EIMAGE, "JPEG signature only");
	for (size_t n = 1; n <= sizeof(png_start); n++)
		expect_failure(png_start, n, VIGIL_EIMAGE, "PNG signature only");
}
END_TEST

static void check_truncations(const uint8_t *data, size_t size, size_t step, const char *what)
{
	for (size_t n = 0; n < size; n += n < 1024 ? 1 : step) {
		struct vigil_image img;
		int rc = vigil_image_decode(data, n, &img);

		ck_assert_msg(rc == VIGIL_EIMAGE, "%s cut to %zu of %zu bytes: got %d (%s)", what, n, size, rc,
			      rc ? vigil_last_error() : "decoded");
		assert_empty(&img);
	}
	/* the last bytes matter too: they hold the end marker */
	for (size_t cut = 1; cut <= 4 && cut < size; cut++) {
		struct vigil_image img;
		int rc = vigil_image_decode(data, size - cut, &img);

		ck_assert_msg(rc == VIGIL_EIMAGE, "%s without its last %zu bytes: got %d", what, cut, rc);
		assert_empty(&img);
	}
}

START_TEST(test_truncated_jpeg)
{
	size_t size, psize;
	uint8_t *data = tu_read_file(tu_data_path("faces/sample1.jpg"), &size);
	uint8_t *prog = make_jpeg(61, 47, TJSAMP_420, TJFLAG_PROGRESSIVE, &psize);

	/* the check below relies on the end marker being the last bytes of the file */
	ck_assert(size > 2 && data[size - 2] == 0xff && data[size - 1] == 0xd9);
	check_truncations(data, size, 1499, "sample1.jpg");
	check_truncations(prog, psize, 1, "progressive JPEG");
	free(data);
	free(prog);
}
END_TEST

START_TEST(test_truncated_png)
{
	size_t size, ssize;
	uint8_t *data = tu_read_file(tu_data_path("sergey/sergey.png"), &ssize);
	uint8_t px[16 * 9 * 3];
	uint8_t *small;

	for (size_t i = 0; i < sizeof(px); i++)
		px[i] = (uint8_t)(i * 31);
	small = make_png(16, 9, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, px, 16 * 3, NULL, 0, NULL, 0, &size);
	check_truncations(data, ssize, 1709, "sergey.png");
	check_truncations(small, size, 1, "16x9 PNG");
	free(data);
	free(small);
}
END_TEST

/* Seeded random damage: whatever happens, the decoder returns a documented code and leaks nothing. */
static void fuzz_decode(const uint8_t *orig, size_t size, uint64_t seed, int rounds, int fix_png_crc, const char *what)
{
	uint8_t *buf = malloc(size);
	int ok = 0, failed = 0;

	ck_assert_ptr_nonnull(buf);
	for (int r = 0; r < rounds; r++) {
		uint64_t st = seed * 1000003u + (uint64_t)r + 1;
		int nflips = 1 + (int)(tu_rand(&st) % 6);
		size_t len = size, chunk = 0;
		struct vigil_image img;
		int rc;

		memcpy(buf, orig, size);
		if (fix_png_crc) {
			/* mutate inside one chunk and give it a valid CRC, to reach the code behind the CRC check */
			size_t nchunks = 0, off = 8, pick;

			for (off = 8; off + 12 <= size; off += 12 + rd32(orig + off))
				nchunks += rd32(orig + off) > 0;
			ck_assert(nchunks > 0);
			pick = (size_t)(tu_rand(&st) % nchunks);
			for (off = 8;; off += 12 + rd32(orig + off))
				if (rd32(orig + off) > 0 && pick-- == 0)
					break;
			chunk = off;
		}
		for (int i = 0; i < nflips; i++) {
			size_t pos;

			if (fix_png_crc)
				pos = chunk + 8 + (size_t)(tu_rand(&st) % rd32(buf + chunk));
			else if (tu_rand(&st) & 1) /* headers are where parsers break: favour the first bytes */
				pos = (size_t)(tu_rand(&st) % (size < 1024 ? size : 1024));
			else
				pos = (size_t)(tu_rand(&st) % size);
			buf[pos] ^= (uint8_t)(1 + tu_rand(&st) % 255);
		}
		if (fix_png_crc)
			png_fix_crc(buf, chunk);
		if (tu_rand(&st) % 8 == 0)
			len = 1 + (size_t)(tu_rand(&st) % size);
		rc = vigil_image_decode(buf, len, &img);
		if (rc == 0) {
			ck_assert_int_gt(img.width, 0);
			ck_assert_int_gt(img.height, 0);
			ck_assert_int_eq(img.stride, img.width * 3);
			ck_assert_ptr_nonnull(img.rgb);
			/* touch every byte so that ASan sees the whole buffer is real */
			unsigned sum = 0;
			for (size_t i = 0; i < (size_t)img.stride * img.height; i++)
				sum += img.rgb[i];
			(void)sum;
			vigil_image_free(&img);
			ok++;
		} else {
			ck_assert_msg(is_decode_error(rc), "%s round %d (seed %llu): unexpected code %d (%s)", what, r,
				      (unsigned long long)seed, rc, vigil_last_error());
			assert_empty(&img);
			ck_assert(vigil_last_error()[0] != '\0');
			failed++;
		}
	}
	/* the damage must actually have been seen: a run where nothing ever fails tests nothing */
	ck_assert_msg(failed > 0, "%s: none of %d damaged copies was rejected", what, rounds);
	free(buf);
}

START_TEST(test_corrupt_jpeg)
{
	size_t size, psize, ssize;
	uint8_t *base = make_jpeg(96, 64, TJSAMP_420, 0, &size);
	uint8_t *prog = make_jpeg(96, 64, TJSAMP_444, TJFLAG_PROGRESSIVE, &psize);
	uint8_t *sample = tu_read_file(tu_data_path("faces/sample2.jpg"), &ssize);

	fuzz_decode(base, size, 1, 400, 0, "baseline JPEG");
	fuzz_decode(prog, psize, 2, 400, 0, "progressive JPEG");
	fuzz_decode(sample, ssize, 3, 60, 0, "sample2.jpg");
	free(base);
	free(prog);
	free(sample);
}
END_TEST

START_TEST(test_corrupt_png)
{
	size_t size, isize, ssize;
	uint8_t px[40 * 30 * 4];
	uint8_t *plain, *adam7, *sergey = tu_read_file(tu_data_path("sergey/sergey.png"), &ssize);

	for (size_t i = 0; i < sizeof(px); i++)
		px[i] = (uint8_t)(i * 7 + i / 97);
	plain = make_png(40, 30, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE, px, 40 * 4, NULL, 0, NULL, 0, &size);
	adam7 =
	    make_png(40, 30, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, px, 40 * 4, NULL, 0, NULL, 0, &isize);
	fuzz_decode(plain, size, 11, 400, 0, "RGBA PNG");
	fuzz_decode(plain, size, 12, 400, 1, "RGBA PNG, CRC fixed");
	fuzz_decode(adam7, isize, 13, 400, 1, "interlaced PNG, CRC fixed");
	fuzz_decode(sergey, ssize, 14, 40, 1, "sergey.png, CRC fixed");
	free(plain);
	free(adam7);
	free(sergey);
}
END_TEST

/* Frame sizes written into a real JPEG's SOF: zero is EFORMAT, beyond the caps ETOOBIG (before allocating). */
START_TEST(test_jpeg_header_sizes)
{
	static const struct {
		unsigned w, h;
		int want;
	} cases[] = {
		{ 0, 0, VIGIL_EFORMAT },         { 0, 100, VIGIL_EFORMAT },   { 100, 0, VIGIL_EFORMAT },
		{ 65535, 65535, VIGIL_ETOOBIG }, { 16385, 8, VIGIL_ETOOBIG }, { 8, 16385, VIGIL_ETOOBIG },
		{ 16384, 4097, VIGIL_ETOOBIG },
	};
	size_t size;
	uint8_t *orig = tu_read_file(tu_data_path("faces/sample3.jpg"), &size);
	uint8_t *buf = malloc(size);
	size_t sof = jpeg_find_sof(orig, size);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];

		memcpy(buf, orig, size);
		buf[sof + 5] = (uint8_t)(cases[i].h >> 8);
		buf[sof + 6] = (uint8_t)cases[i].h;
		buf[sof + 7] = (uint8_t)(cases[i].w >> 8);
		buf[sof + 8] = (uint8_t)cases[i].w;
		snprintf(what, sizeof(what), "JPEG claiming %ux%u", cases[i].w, cases[i].h);
		expect_failure(buf, size, cases[i].want, what);
	}
	free(buf);
	free(orig);
}
END_TEST

START_TEST(test_png_header_sizes)
{
	static const struct {
		uint32_t w, h;
		int want;
	} cases[] = {
		{ 0, 0, VIGIL_EFORMAT },
		{ 0, 600, VIGIL_EFORMAT },
		{ 600, 0, VIGIL_EFORMAT },
		{ 100000, 100000, VIGIL_ETOOBIG },
		{ 16385, 1, VIGIL_ETOOBIG },
		{ 16384, 4097, VIGIL_ETOOBIG },
		{ 0x7fffffff, 0x7fffffff, VIGIL_ETOOBIG },
	};
	size_t size;
	uint8_t *orig = tu_read_file(tu_data_path("sergey/sergey.png"), &size);
	uint8_t *buf = malloc(size);

	ck_assert_ptr_nonnull(buf);
	ck_assert(memcmp(orig + 12, "IHDR", 4) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[80];

		memcpy(buf, orig, size);
		wr32(buf + 16, cases[i].w);
		wr32(buf + 20, cases[i].h);
		/* with the CRC left stale the header is simply damaged */
		snprintf(what, sizeof(what), "PNG claiming %ux%u, stale CRC", cases[i].w, cases[i].h);
		expect_failure(buf, size, VIGIL_EIMAGE, what);
		ck_assert_msg(strstr(vigil_last_error(), "CRC") != NULL, "%s: message '%s' does not mention the CRC",
			      what, vigil_last_error());
		/* with a valid CRC the size itself must be refused */
		png_fix_crc(buf, 8);
		snprintf(what, sizeof(what), "PNG claiming %ux%u", cases[i].w, cases[i].h);
		expect_failure(buf, size, cases[i].want, what);
	}
	free(buf);
	free(orig);

	/* a size within the caps that a small file cannot hold: truncated, found before allocating 190 MB */
	uint8_t px[16 * 9 * 3] = { 0 };
	uint8_t *small =
	    make_png(16, 9, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, px, 16 * 3, NULL, 0, NULL, 0, &size);

	wr32(small + 16, 16384);
	wr32(small + 20, 4096);
	png_fix_crc(small, 8);
	expect_failure(small, size, VIGIL_EIMAGE, "PNG claiming 16384x4096 in a few hundred bytes");
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "truncated"));
	free(small);
}
END_TEST

START_TEST(test_not_an_image)
{
	static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04";
	static const uint8_t bmp[] = "BM\x3e\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00";
	static const uint8_t text[] = "hello, this is not a picture\n";
	static const uint8_t *const files[] = { gif, bmp, text };
	static const size_t sizes[] = { sizeof(gif) - 1, sizeof(bmp) - 1, sizeof(text) - 1 };

	for (int i = 0; i < 3; i++) {
		expect_failure(files[i], sizes[i], VIGIL_EIMAGE, "not an image");
		ck_assert_msg(strstr(vigil_last_error(), "not a JPEG or PNG") != NULL, "message: %s",
			      vigil_last_error());
	}
}
END_TEST

START_TEST(test_load_errors)
{
	char dir[] = "/tmp/vigil-imgio-XXXXXX", path[256];
	struct vigil_image img;
	FILE *f;

	ck_assert_int_eq(vigil_image_load("/nonexistent/vigil/none.jpg", &img), -ENOENT);
	assert_empty(&img);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "/nonexistent/vigil/none.jpg"));

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(vigil_image_load(dir, &img), -EISDIR);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), dir));

	/* a decode failure from a file names the file */
	snprintf(path, sizeof(path), "%s/broken.jpg", dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("\xff\xd8\xff\xe0 this is not really a JPEG", f);
	fclose(f);
	ck_assert_int_eq(vigil_image_load(path, &img), VIGIL_EIMAGE);
	assert_empty(&img);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), path));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(vigil_image_load(NULL, &img), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------- */
/* JPEG writing */

START_TEST(test_jpeg_write_roundtrip)
{
	static const int sizes[][2] = { { 1, 1 }, { 3, 5 }, { 17, 9 }, { 640, 480 }, { 16384, 2 } };
	char dir[] = "/tmp/vigil-imgio-XXXXXX", path[256];
	uint8_t head[3];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.jpg", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int w = sizes[i][0], h = sizes[i][1];
		/* padded rows: the writer must honour the stride */
		struct vigil_image src = { w, h, w * 3 + 5, malloc((size_t)(w * 3 + 5) * h) }, back;

		ck_assert_ptr_nonnull(src.rgb);
		memset(src.rgb, 0xee, (size_t)src.stride * h);
		fill_pattern(src.rgb, w, h, src.stride);
		ck_assert_msg(vigil_image_write_jpeg(path, &src, 95) == 0, "%s", vigil_last_error());
		f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fread(head, 1, 3, f), 3);
		fclose(f);
		ck_assert(head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff);
		ck_assert_msg(vigil_image_load(path, &back) == 0, "%s", vigil_last_error());
		ck_assert_int_eq(back.width, w);
		ck_assert_int_eq(back.height, h);
		vigil_image_free(&back);
		free(src.rgb);
	}
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static double mean_abs_diff(const struct vigil_image *a, const struct vigil_image *b)
{
	double sum = 0;

	for (int y = 0; y < a->height; y++)
		for (int x = 0; x < a->width * 3; x++)
			sum += fabs((double)a->rgb[(size_t)y * a->stride + x] - b->rgb[(size_t)y * b->stride + x]);
	return sum / ((double)a->width * a->height * 3);
}

/* A photo survives a quality-95 round trip nearly unchanged, and the quality setting is honoured. */
START_TEST(test_jpeg_write_quality)
{
	char dir[] = "/tmp/vigil-imgio-XXXXXX", hi[256], lo[256];
	struct vigil_image photo, back_hi, back_lo;
	struct stat st_hi, st_lo;
	double err_hi, err_lo;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(hi, sizeof(hi), "%s/q95.jpg", dir);
	snprintf(lo, sizeof(lo), "%s/q20.jpg", dir);
	ck_assert_int_eq(vigil_image_load(tu_data_path("faces/sample4.jpg"), &photo), 0);
	ck_assert_int_eq(vigil_image_write_jpeg(hi, &photo, 95), 0);
	ck_assert_int_eq(vigil_image_write_jpeg(lo, &photo, 20), 0);
	ck_assert_int_eq(vigil_image_load(hi, &back_hi), 0);
	ck_assert_int_eq(vigil_image_load(lo, &back_lo), 0);
	ck_assert_int_eq(back_hi.width, photo.width);
	ck_assert_int_eq(back_hi.height, photo.height);
	err_hi = mean_abs_diff(&photo, &back_hi);
	err_lo = mean_abs_diff(&photo, &back_lo);
	ck_assert_int_eq(stat(hi, &st_hi), 0);
	ck_assert_int_eq(stat(lo, &st_lo), 0);
	ck_assert_msg(err_hi < 1.5, "mean error %.3f after a quality-95 round trip", err_hi);
	ck_assert_msg(err_lo > err_hi && st_lo.st_size < st_hi.st_size / 2,
		      "quality 20: error %.3f, %lld bytes; quality 95: error %.3f, %lld bytes", err_lo,
		      (long long)st_lo.st_size, err_hi, (long long)st_hi.st_size);
	vigil_image_free(&photo);
	vigil_image_free(&back_hi);
	vigil_image_free(&back_lo);
	ck_assert_int_eq(unlink(hi), 0);
	ck_assert_int_eq(unlink(lo), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_jpeg_write_errors)
{
	uint8_t px[12] = { 0 };
	struct vigil_image img = { 2, 2, 6, px };
	struct vigil_image no_pixels = { 2, 2, 6, NULL };
	struct vigil_image bad_stride = { 2, 2, 5, px };

	ck_assert_int_eq(vigil_image_write_jpeg("/tmp/x.jpg", &img, 0), -EINVAL);
	ck_assert_int_eq(vigil_image_write_jpeg("/tmp/x.jpg", &img, 101), -EINVAL);
	ck_assert_int_eq(vigil_image_write_jpeg("/tmp/x.jpg", &no_pixels, 90), -EINVAL);
	ck_assert_int_eq(vigil_image_write_jpeg("/tmp/x.jpg", &bad_stride, 90), -EINVAL);
	ck_assert_int_eq(vigil_image_write_jpeg(NULL, &img, 90), -EINVAL);
	ck_assert_int_eq(vigil_image_write_jpeg("/nonexistent/vigil/out.jpg", &img, 90), -ENOENT);
	ck_assert_ptr_nonnull(strstr(vigil_last_error(), "/nonexistent/vigil/out.jpg"));
	vigil_image_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------------- */
/* Drawing */

#define GUARD 64

/* An image inside a larger allocation whose margins must stay untouched (checked even without ASan). */
struct guarded {
	uint8_t *block;
	struct vigil_image img;
};

static void guarded_init(struct guarded *g, int w, int h, uint8_t fill)
{
	size_t n = (size_t)w * h * 3;

	g->block = malloc(n + 2 * GUARD);
	ck_assert_ptr_nonnull(g->block);
	memset(g->block, 0xa5, n + 2 * GUARD);
	g->img = (struct vigil_image){ w, h, w * 3, g->block + GUARD };
	memset(g->img.rgb, fill, n);
}

static void guarded_check_free(struct guarded *g)
{
	size_t n = (size_t)g->img.width * g->img.height * 3;

	for (size_t i = 0; i < GUARD; i++) {
		ck_assert_msg(g->block[i] == 0xa5, "wrote %zu bytes before the image", GUARD - i);
		ck_assert_msg(g->block[GUARD + n + i] == 0xa5, "wrote past the end of the image");
	}
	free(g->block);
}

static struct vigil_detection make_det(float x, float y, float w, float h, float score, const char *label)
{
	struct vigil_detection d = { 0 };

	d.label_id = 0;
	d.label = label;
	d.score = score;
	d.x = x, d.y = y, d.w = w, d.h = h;
	d.num_keypoints = 6;
	for (int k = 0; k < 6; k++)
		d.keypoints[k] = (struct vigil_point){ x + w * (0.2f + 0.12f * k), y + h * 0.5f };
	d.track_id = -1;
	return d;
}

START_TEST(test_draw_tiny_images)
{
	static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 3, 2 }, { 1, 40 }, { 40, 1 } };
	struct vigil_detection dets[] = {
		make_det(-10, -10, 5, 5, 0.9f, "face"),         /* wholly outside, top left */
		make_det(50, 50, 10, 10, 0.8f, "face"),         /* wholly outside, bottom right */
		make_det(-5, -5, 100, 100, 0.7f, "face"),       /* covers everything */
		make_det(0, 0, 1, 1, 0.6f, "face"),             /* one pixel */
		make_det(1, 1, 0, 0, 0.5f, NULL),               /* empty box, no label name */
		make_det(3e9f, -3e9f, 1e30f, 1e30f, 0.4f, "x"), /* absurd coordinates */
		make_det(0, 0, -4, -4, 0.3f, "face"),           /* negative size */
		make_det(NAN, 0, 2, 2, 0.2f, "face"),           /* not a number */
		make_det(0, 0, INFINITY, 2, 0.1f, "face"),
	};
	struct vigil_detections set = { .count = sizeof(dets) / sizeof(dets[0]), .items = dets };

	dets[4].label_id = -3;
	dets[5].label_id = 1000;
	dets[6].keypoints[0] = (struct vigil_point){ NAN, 1 };
	dets[6].num_keypoints = 99; /* more than the array holds: only VIGIL_MAX_KEYPOINTS are read */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct guarded g;

		guarded_init(&g, sizes[i][0], sizes[i][1], 0);
		set.frame_width = sizes[i][0];
		set.frame_height = sizes[i][1];
		vigil_draw_detections(&g.img, &set);
		guarded_check_free(&g);
	}
	/* nothing to draw on, or nothing to draw */
	vigil_draw_detections(NULL, &set);
	struct vigil_image empty = { 0 };
	vigil_draw_detections(&empty, &set);
	struct guarded g;
	guarded_init(&g, 4, 4, 7);
	vigil_draw_detections(&g.img, NULL);
	struct vigil_detections none = { 0 };
	vigil_draw_detections(&g.img, &none);
	for (size_t i = 0; i < 4 * 4 * 3; i++)
		ck_assert_int_eq(g.img.rgb[i], 7);
	guarded_check_free(&g);
}
END_TEST

static const uint8_t *px_at(const struct vigil_image *img, int x, int y)
{
	return img->rgb + (size_t)y * img->stride + (size_t)x * 3;
}

/* Drawing tests start from this grey, which is neither the black nor the white that text is drawn in. */
#define BG 77

static int is_bg(const struct vigil_image *img, int x, int y)
{
	const uint8_t *p = px_at(img, x, y);

	return p[0] == BG && p[1] == BG && p[2] == BG;
}

START_TEST(test_draw_box_keypoints_and_tag)
{
	struct guarded g;
	struct vigil_detection d = make_det(50, 60, 80, 40, 0.93f, "face");
	struct vigil_detections set = { .count = 1, .items = &d, .frame_width = 200, .frame_height = 150 };
	const uint8_t *edge;
	uint8_t kp_colors[6][3];
	int ink = 0, tag_bg = 0;

	d.keypoints[0] = (struct vigil_point){ 70, 80 };
	d.keypoints[1] = (struct vigil_point){ 110, 80 };
	d.keypoints[2] = (struct vigil_point){ 90, 88 };
	d.keypoints[3] = (struct vigil_point){ 90, 95 };
	d.keypoints[4] = (struct vigil_point){ 56, 82 };
	d.keypoints[5] = (struct vigil_point){ 124, 82 };
	guarded_init(&g, 200, 150, BG);
	vigil_draw_detections(&g.img, &set);

	/* outline: all four edges in one colour, 2 px thick on a small image; inside and outside untouched */
	edge = px_at(&g.img, 90, 60);
	ck_assert(!is_bg(&g.img, 90, 60));
	ck_assert_mem_eq(px_at(&g.img, 90, 61), edge, 3);
	ck_assert_mem_eq(px_at(&g.img, 90, 99), edge, 3);
	ck_assert_mem_eq(px_at(&g.img, 50, 75), edge, 3);
	ck_assert_mem_eq(px_at(&g.img, 129, 75), edge, 3);
	ck_assert(is_bg(&g.img, 90, 62));
	ck_assert(is_bg(&g.img, 80, 70));
	ck_assert(is_bg(&g.img, 90, 100));
	ck_assert(is_bg(&g.img, 49, 75));
	ck_assert(is_bg(&g.img, 130, 75));
	ck_assert(is_bg(&g.img, 5, 140));
	ck_assert(is_bg(&g.img, 190, 5));

	/* keypoints: six distinct colours, none the box colour */
	for (int k = 0; k < 6; k++) {
		memcpy(kp_colors[k], px_at(&g.img, (int)d.keypoints[k].x, (int)d.keypoints[k].y), 3);
		ck_assert(!is_bg(&g.img, (int)d.keypoints[k].x, (int)d.keypoints[k].y));
		ck_assert(memcmp(kp_colors[k], edge, 3) != 0);
		for (int j = 0; j < k; j++)
			ck_assert_msg(memcmp(kp_colors[k], kp_colors[j], 3) != 0, "keypoints %d and %d share a colour",
				      j, k);
	}

	/* tag "face 0.93" above the box: 9 glyphs of 6 px on a box-coloured background, with ink in another
	 * colour */
	for (int y = 60 - 9; y < 60; y++)
		for (int x = 50; x < 50 + 9 * 6; x++) {
			const uint8_t *p = px_at(&g.img, x, y);

			if (memcmp(p, edge, 3) == 0)
				tag_bg++;
			else if (!is_bg(&g.img, x, y))
				ink++;
		}
	ck_assert_msg(ink > 40 && tag_bg > 200, "tag: %d ink pixels, %d background pixels", ink, tag_bg);
	ck_assert(is_bg(&g.img, 50 + 9 * 6 + 3, 55)); /* the tag ends after its text */
	guarded_check_free(&g);
}
END_TEST

/* Renders a one-detection tag and returns a copy of the tag area. */
static uint8_t *render_tag(const char *label, size_t *n)
{
	struct guarded g;
	struct vigil_detection d = make_det(10, 20, 100, 30, 0.5f, label);
	struct vigil_detections set = { .count = 1, .items = &d };
	uint8_t *copy;

	d.num_keypoints = 0;
	guarded_init(&g, 120, 60, 0);
	vigil_draw_detections(&g.img, &set);
	*n = (size_t)20 * g.img.stride;
	copy = malloc(*n);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, g.img.rgb, *n);
	guarded_check_free(&g);
	return copy;
}

START_TEST(test_draw_font)
{
	static const char *const distinct[] = { "a", "b", "e", "A", "B", "0", "8", ".", "-", "z", "Z", " " };
	size_t n, m;
	uint8_t *tags[sizeof(distinct) / sizeof(distinct[0])];
	uint8_t *unknown, *question;

	/* every glyph the labels need is its own shape (no fallback, no two alike) */
	for (size_t i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++) {
		tags[i] = render_tag(distinct[i], &n);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(memcmp(tags[i], tags[j], n) != 0, "'%s' and '%s' draw the same", distinct[i],
				      distinct[j]);
	}
	/* characters without a glyph are drawn as '?' */
	unknown = render_tag("~", &n);
	question = render_tag("?", &m);
	ck_assert_mem_eq(unknown, question, n);
	for (size_t i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++)
		free(tags[i]);
	free(unknown);
	free(question);
}
END_TEST

/* Line width and text grow with the image: a 1080p frame gets thicker lines than a small one. */
START_TEST(test_draw_scales_with_image)
{
	struct guarded g;
	struct vigil_detection d = make_det(500, 400, 300, 300, 0.9f, "face");
	struct vigil_detections set = { .count = 1, .items = &d };
	int thick = 0;

	d.num_keypoints = 0;
	guarded_init(&g, 1920, 1080, BG);
	vigil_draw_detections(&g.img, &set);
	while (!is_bg(&g.img, 650, 700 - 1 - thick))
		thick++;
	ck_assert_int_eq(thick, 3); /* max(2, 1080 / 300) */
	/* 3x text: the tag is 9 * 3 = 27 rows tall */
	ck_assert(!is_bg(&g.img, 505, 400 - 27));
	ck_assert(is_bg(&g.img, 505, 400 - 28));
	guarded_check_free(&g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image_io");
	TCase *good = tcase_create("decode");
	TCase *bad = tcase_create("bad input");
	TCase *write = tcase_create("write");
	TCase *draw = tcase_create("draw");

	tcase_add_test(good, test_sha256_known_answer);
	tcase_add_loop_test(good, test_decode_samples_match_golden, 0, 8);
	tcase_add_test(good, test_jpeg_equals_mirrored_png);
	tcase_add_test(good, test_gray_png_is_uniform);
	tcase_add_test(good, test_rgba_png_to_rgb);
	tcase_add_loop_test(good, test_png_color_types, 0, sizeof(png_cases) / sizeof(png_cases[0]));
	tcase_add_test(good, test_jpeg_gray_and_progressive);
	suite_add_tcase(s, good);

	tcase_set_timeout(bad, 600);
	tcase_add_test(bad, test_empty_and_tiny);
	tcase_add_test(bad, test_truncated_jpeg);
	tcase_add_test(bad, test_truncated_png);
	tcase_add_test(bad, test_corrupt_jpeg);
	tcase_add_test(bad, test_corrupt_png);
	tcase_add_test(bad, test_jpeg_header_sizes);
	tcase_add_test(bad, test_png_header_sizes);
	tcase_add_test(bad, test_not_an_image);
	tcase_add_test(bad, test_load_errors);
	suite_add_tcase(s, bad);

	tcase_add_test(write, test_jpeg_write_roundtrip);
	tcase_add_test(write, test_jpeg_write_quality);
	tcase_add_test(write, test_jpeg_write_errors);
	suite_add_tcase(s, write);

	tcase_add_test(draw, test_draw_tiny_images);
	tcase_add_test(draw, test_draw_box_keypoints_and_tag);
	tcase_add_test(draw, test_draw_font);
	tcase_add_test(draw, test_draw_scales_with_image);
	suite_add_tcase(s, draw);

	return tu_run(s, CK_FORK);
}
