/* SPDX-License-Identifier: Apache-2.0
 * Still images for the CLI and the tests: JPEG through TurboJPEG, PNG through libpng, always decoded to packed
 * 8-bit RGB.
 *
 * Policy on damaged files, so that every caller sees the same answer:
 * - Sizes are checked against VIGIL_IMAGE_MAX_SIDE / VIGIL_IMAGE_MAX_PIXELS from the header, before any pixel
 *   memory exists. A 0x0 header is VIGIL_EFORMAT, an oversized one VIGIL_ETOOBIG.
 * - JPEG: libjpeg only warns on a truncated stream (it pads the missing rows with grey), so a TurboJPEG warning
 *   alone does not tell a damaged picture from a complete one. A fatal TurboJPEG error fails with
 *   VIGIL_EIMAGE. A warning is accepted only when the stream is structurally complete: an end-of-image marker
 *   follows the last start-of-scan marker. Warnings on complete streams (stray bytes before a marker, a bad
 *   Huffman code in one block) keep the image, as every viewer does.
 * - PNG: any libpng error fails (this includes CRC errors on critical chunks and a missing IEND), warnings are
 *   logged at debug level. Transparency is dropped, not composited: the stored colour of each pixel is kept.
 */
#include "image_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "error.h"
#include "vigil/vigil.h"

#define LOG_CAT "image"

/* Files larger than this are not images we would ever decode within the pixel caps. */
#define MAX_FILE_SIZE (512L * 1024 * 1024)

/* Progressive JPEGs with thousands of tiny scans make libjpeg spend seconds on a few kilobytes (a known
 * decompression-bomb pattern); real encoders write about ten. */
#define JPEG_MAX_SCANS 1000

/* Deflate cannot expand more than 1032:1; a PNG whose IDAT could not possibly hold its rows is truncated, and
 * saying so before allocating keeps a 100-byte file from costing 200 MB. */
#define DEFLATE_MAX_RATIO 1032u

static const uint8_t png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static int check_size(const char *kind, uint64_t w, uint64_t h)
{
	if (w == 0 || h == 0)
		return vigil_error(VIGIL_EFORMAT, "%s header says %llux%llu: zero-sized images are not supported", kind,
				   (unsigned long long)w, (unsigned long long)h);
	if (w > VIGIL_IMAGE_MAX_SIDE || h > VIGIL_IMAGE_MAX_SIDE || w * h > VIGIL_IMAGE_MAX_PIXELS)
		return vigil_error(VIGIL_ETOOBIG, "%s is %llux%llu, above the limit of %d pixels a side and %u pixels",
				   kind, (unsigned long long)w, (unsigned long long)h, VIGIL_IMAGE_MAX_SIDE,
				   VIGIL_IMAGE_MAX_PIXELS);
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------------------------------------------------- */
/* JPEG */

/* Walks the marker segments up to the first scan to read the frame size, so that 0x0 and oversized headers get
 * their own error codes (libjpeg reports both as generic errors). Returns 1 and the size when a SOFn segment was
 * found, 0 otherwise (TurboJPEG then gives the detailed error). */
static int jpeg_frame_size(const uint8_t *data, size_t size, unsigned *w, unsigned *h)
{
	size_t pos = 2;

	while (pos + 1 < size) {
		uint8_t m;
		size_t len;

		if (data[pos] != 0xff)
			return 0;
		while (pos < size && data[pos] == 0xff) /* fill bytes */
			pos++;
		if (pos >= size)
			return 0;
		m = data[pos++];
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) /* TEM, RSTn, SOI: no length */
			continue;
		if (m == 0xd9 || m == 0xda) /* EOI or the first scan: no frame header before it */
			return 0;
		if (pos + 2 > size)
			return 0;
		len = (size_t)data[pos] << 8 | data[pos + 1];
		if (len < 2 || len > size - pos)
			return 0;
		/* SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc) */
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
			if (len < 7)
				return 0;
			*h = (unsigned)data[pos + 3] << 8 | data[pos + 4];
			*w = (unsigned)data[pos + 5] << 8 | data[pos + 6];
			return 1;
		}
		pos += len;
	}
	return 0;
}

/* Entropy-coded data never contains FF followed by anything but 00 or RSTn, so an FF D9 after the last FF DA
 * means the last scan was followed by the end of the image. */
static int jpeg_is_complete(const uint8_t *data, size_t size)
{
	size_t last_sos = 0, last_eoi = 0;

	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] != 0xff)
			continue;
		if (data[i + 1] == 0xda)
			last_sos = i + 1;
		else if (data[i + 1] == 0xd9)
			last_eoi = i + 1;
	}
	return last_sos != 0 && last_eoi > last_sos;
}

static size_t jpeg_count_scans(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0xff && data[i + 1] == 0xda)
			n++;
	return n;
}

static int decode_jpeg(const uint8_t *data, size_t size, struct vigil_image *out)
{
	tjhandle tj;
	unsigned hw, hh;
	int w = 0, h = 0, subsamp = -1, colorspace = -1, rc;
	uint8_t *rgb = NULL;
	size_t scans;

	if (jpeg_frame_size(data, size, &hw, &hh)) {
		rc = check_size("JPEG", hw, hh);
		if (rc < 0)
			return rc;
	}
	scans = jpeg_count_scans(data, size);
	if (scans > JPEG_MAX_SCANS)
		return vigil_error(VIGIL_EIMAGE, "JPEG has %zu scans, more than the %d any encoder writes", scans,
				   JPEG_MAX_SCANS);

	tj = tjInitDecompress();
	if (!tj)
		return vigil_error(-ENOMEM, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));

	if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0) {
		rc = vigil_error(VIGIL_EIMAGE, "corrupt JPEG header: %s", tjGetErrorStr2(tj));
		goto destroy_tj;
	}
	/* TurboJPEG reports a tables-only stream (what a header cut before its frame looks like) as success and
	 * leaves the size untouched. */
	if (w <= 0 || h <= 0) {
		rc = vigil_error(VIGIL_EIMAGE, "JPEG has no image frame (truncated header or tables only)");
		goto destroy_tj;
	}
	rc = check_size("JPEG", (uint64_t)w, (uint64_t)h);
	if (rc < 0)
		goto destroy_tj;
	if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
		rc = vigil_error(VIGIL_EFORMAT, "CMYK JPEGs are not supported (only grey and colour)");
		goto destroy_tj;
	}

	rgb = malloc((size_t)w * (size_t)h * 3);
	if (!rgb) {
		rc = vigil_error(-ENOMEM, "cannot allocate %dx%d RGB pixels", w, h);
		goto destroy_tj;
	}
	if (tjDecompress2(tj, data, (unsigned long)size, rgb, w, w * 3, h, TJPF_RGB, 0) != 0) {
		const char *why = tjGetErrorStr2(tj);

		if (tjGetErrorCode(tj) == TJERR_FATAL) {
			rc = vigil_error(VIGIL_EIMAGE, "corrupt JPEG: %s", why);
			goto free_rgb;
		}
		if (!jpeg_is_complete(data, size)) {
			rc = vigil_error(VIGIL_EIMAGE,
					 "truncated JPEG (no end-of-image marker after the last scan): %s", why);
			goto free_rgb;
		}
		vigil_log(LOG_CAT, VIGIL_LOG_INFO, "JPEG decoded with a warning: %s", why);
	}

	tjDestroy(tj);
	out->width = w;
	out->height = h;
	out->stride = w * 3;
	out->rgb = rgb;
	return 0;

free_rgb:
	free(rgb);
destroy_tj:
	tjDestroy(tj);
	return rc;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* PNG */

struct png_source {
	const uint8_t *data;
	size_t size, pos;
	char message[256]; /* libpng's error text, kept for the caller's message */
};

static void png_on_error(png_structp png, png_const_charp msg)
{
	struct png_source *src = png_get_error_ptr(png);

	snprintf(src->message, sizeof(src->message), "%s", msg ? msg : "unknown libpng error");
	png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	vigil_log(LOG_CAT, VIGIL_LOG_DEBUG, "libpng warning: %s", msg);
}

static void png_read_mem(png_structp png, png_bytep dst, size_t len)
{
	struct png_source *src = png_get_io_ptr(png);

	if (len > src->size - src->pos)
		png_error(png, "truncated file (read past the end of the data)");
	memcpy(dst, src->data + src->pos, len);
	src->pos += len;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

/* Reads the IHDR ourselves so that 0x0 and oversized headers get their own error codes before libpng (which
 * calls both "invalid IHDR") allocates anything. The CRC is checked first: a damaged size field is corruption,
 * not a size. */
static int png_check_header(const uint8_t *data, size_t size)
{
	uint32_t w, h, bpp, rows_bytes;
	uint64_t raw;
	static const uint8_t channels[7] = { 1, 0, 3, 1, 2, 0, 4 };
	uint8_t depth, color, interlace;
	int rc;

	if (size < 33)
		return vigil_error(VIGIL_EIMAGE, "truncated PNG (%zu bytes, the header alone needs 33)", size);
	if (be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0)
		return vigil_error(VIGIL_EIMAGE, "corrupt PNG: the first chunk is not a 13-byte IHDR");
	if (crc32_png(data + 12, 17) != be32(data + 29))
		return vigil_error(VIGIL_EIMAGE, "corrupt PNG: IHDR CRC mismatch");
	w = be32(data + 16);
	h = be32(data + 20);
	depth = data[24];
	color = data[25];
	interlace = data[28];
	rc = check_size("PNG", w, h);
	if (rc < 0)
		return rc;
	if (color > 6 || channels[color] == 0 || (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16))
		return vigil_error(VIGIL_EIMAGE, "corrupt PNG: colour type %u with bit depth %u", color, depth);

	/* Lower bound of the inflated size: the non-interlaced rows with their filter bytes (Adam7 only adds). */
	bpp = channels[color] * depth;
	rows_bytes = (uint32_t)(((uint64_t)w * bpp + 7) / 8);
	raw = interlace ? ((uint64_t)w * h * bpp + 7) / 8 : (uint64_t)h * (rows_bytes + 1u);
	if (raw / DEFLATE_MAX_RATIO > size)
		return vigil_error(VIGIL_EIMAGE,
				   "truncated PNG: %ux%u needs at least %llu bytes of image data, the file has %zu", w,
				   h, (unsigned long long)(raw / DEFLATE_MAX_RATIO), size);
	return 0;
}

static int decode_png(const uint8_t *data, size_t size, struct vigil_image *out)
{
	struct png_source src = { .data = data, .size = size };
	png_structp png;
	png_infop info;
	uint8_t *volatile rgb = NULL;
	png_bytep *volatile rows = NULL;
	png_uint_32 w, h;
	int depth, color, interlace, rc;

	rc = png_check_header(data, size);
	if (rc < 0)
		return rc;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
	if (!png)
		return vigil_error(-ENOMEM, "cannot create a PNG decoder");
	info = png_create_info_struct(png);
	if (!info) {
		rc = vigil_error(-ENOMEM, "cannot create a PNG decoder");
		goto destroy_png;
	}
	if (setjmp(png_jmpbuf(png))) {
		rc = vigil_error(VIGIL_EIMAGE, "corrupt PNG: %s", src.message);
		goto free_pixels;
	}

	png_set_user_limits(png, VIGIL_IMAGE_MAX_SIDE, VIGIL_IMAGE_MAX_SIDE);
	png_set_chunk_malloc_max(png, 16u * 1024 * 1024);
	png_set_read_fn(png, &src, png_read_mem);
	png_read_info(png, info);
	png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
	rc = check_size("PNG", w, h);
	if (rc < 0)
		goto free_pixels;

	/* Everything becomes 8-bit RGB: palettes and grey expanded, 16-bit scaled, alpha and tRNS dropped. */
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if ((color & PNG_COLOR_MASK_COLOR) == 0) {
		if (depth < 8)
			png_set_expand_gray_1_2_4_to_8(png);
		png_set_gray_to_rgb(png);
	}
	if (depth == 16)
		png_set_scale_16(png);
	/* palette expansion turns tRNS into an alpha channel, which goes too */
	if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_strip_alpha(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3) {
		rc =
		    vigil_error(VIGIL_EIMAGE, "PNG colour type %d depth %d did not convert to 8-bit RGB", color, depth);
		goto free_pixels;
	}

	rgb = malloc((size_t)w * h * 3);
	rows = malloc(sizeof(*rows) * h);
	if (!rgb || !rows) {
		rc = vigil_error(-ENOMEM, "cannot allocate %ux%u RGB pixels", (unsigned)w, (unsigned)h);
		goto free_pixels;
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = rgb + (size_t)y * w * 3;
	png_read_image(png, rows);
	png_read_end(png, NULL);

	free(rows);
	png_destroy_read_struct(&png, &info, NULL);
	out->width = (int)w;
	out->height = (int)h;
	out->stride = (int)w * 3;
	out->rgb = rgb;
	return 0;

free_pixels:
	free(rows);
	free(rgb);
destroy_png:
	png_destroy_read_struct(&png, info ? &info : NULL, NULL);
	return rc;
}

/* ---------------------------------------------------------------------------------------------------------- */

int vigil_image_decode(const uint8_t *data, size_t size, struct vigil_image *out)
{
	if (!out)
		return vigil_error(-EINVAL, "no output image");
	memset(out, 0, sizeof(*out));
	if (!data && size)
		return vigil_error(-EINVAL, "no image data");
	if (size == 0)
		return vigil_error(VIGIL_EIMAGE, "empty file: not a JPEG or PNG file");
	if (size >= 2 && data[0] == 0xff && data[1] == 0xd8) {
		if (size < 4)
			return vigil_error(VIGIL_EIMAGE, "truncated JPEG (%zu bytes)", size);
		return decode_jpeg(data, size, out);
	}
	if (memcmp(data, png_signature, size < 8 ? size : 8) == 0) {
		if (size < 8)
			return vigil_error(VIGIL_EIMAGE, "truncated PNG (%zu bytes)", size);
		return decode_png(data, size, out);
	}
	if (size >= 4)
		return vigil_error(VIGIL_EIMAGE, "not a JPEG or PNG file (starts with %02x %02x %02x %02x)", data[0],
				   data[1], data[2], data[3]);
	return vigil_error(VIGIL_EIMAGE, "not a JPEG or PNG file (%zu bytes)", size);
}

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f;
	struct stat st;
	uint8_t *buf;
	int rc;

	f = fopen(path, "rb");
	if (!f)
		return vigil_error(-errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0) {
		rc = vigil_error(-errno, "cannot stat %s: %s", path, strerror(errno));
		goto close_file;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = vigil_error(-EISDIR, "cannot read %s: it is a directory", path);
		goto close_file;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vigil_error(-EINVAL, "cannot read %s: not a regular file", path);
		goto close_file;
	}
	if (st.st_size > MAX_FILE_SIZE) {
		rc = vigil_error(VIGIL_ETOOBIG, "%s is %lld bytes, above the %ld-byte limit for images", path,
				 (long long)st.st_size, MAX_FILE_SIZE);
		goto close_file;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		rc = vigil_error(-ENOMEM, "cannot allocate %lld bytes for %s", (long long)st.st_size, path);
		goto close_file;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		rc = vigil_error(ferror(f) ? -EIO : VIGIL_EIMAGE, "short read of %s", path);
		free(buf);
		goto close_file;
	}
	fclose(f);
	*data = buf;
	*size = (size_t)st.st_size;
	return 0;

close_file:
	fclose(f);
	return rc;
}

int vigil_image_load(const char *path, struct vigil_image *out)
{
	uint8_t *data = NULL;
	size_t size = 0;
	char why[512];
	int rc;

	if (!out)
		return vigil_error(-EINVAL, "no output image");
	memset(out, 0, sizeof(*out));
	if (!path)
		return vigil_error(-EINVAL, "no image path");
	rc = read_file(path, &data, &size);
	if (rc < 0)
		return rc;
	rc = vigil_image_decode(data, size, out);
	free(data);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", vigil_last_error());
		return vigil_error(rc, "%s: %s", path, why);
	}
	return 0;
}

int vigil_image_write_jpeg(const char *path, const struct vigil_image *img, int quality)
{
	tjhandle tj;
	unsigned char *jpeg = NULL;
	unsigned long len = 0;
	FILE *f;
	int rc;

	if (!path || !img || !img->rgb)
		return vigil_error(-EINVAL, "no image or path to write");
	if (img->width <= 0 || img->height <= 0 || img->stride < img->width * 3)
		return vigil_error(-EINVAL, "cannot write a %dx%d image with stride %d", img->width, img->height,
				   img->stride);
	if (quality < 1 || quality > 100)
		return vigil_error(-EINVAL, "JPEG quality must be 1..100, got %d", quality);

	tj = tjInitCompress();
	if (!tj)
		return vigil_error(-ENOMEM, "cannot create a JPEG encoder: %s", tjGetErrorStr2(NULL));
	if (tjCompress2(tj, img->rgb, img->width, img->stride, img->height, TJPF_RGB, &jpeg, &len, TJSAMP_420, quality,
			0) != 0) {
		rc = vigil_error(-ENOMEM, "JPEG compression failed: %s", tjGetErrorStr2(tj));
		goto free_jpeg;
	}

	f = fopen(path, "wb");
	if (!f) {
		rc = vigil_error(-errno, "cannot create %s: %s", path, strerror(errno));
		goto free_jpeg;
	}
	if (fwrite(jpeg, 1, len, f) != len) {
		rc = vigil_error(-EIO, "cannot write %s: short write", path);
		fclose(f);
		goto free_jpeg;
	}
	if (fclose(f) != 0) {
		rc = vigil_error(-errno, "cannot write %s: %s", path, strerror(errno));
		goto free_jpeg;
	}
	rc = 0;

free_jpeg:
	tjFree(jpeg);
	tjDestroy(tj);
	return rc;
}

void vigil_image_free(struct vigil_image *img)
{
	if (!img)
		return;
	free(img->rgb);
	memset(img, 0, sizeof(*img));
}
