/* SPDX-License-Identifier: Apache-2.0
 * Still-image input and output for the CLI and tests: JPEG through TurboJPEG, PNG through libpng.
 * Every image is decoded to packed 8-bit RGB. */
#ifndef VIGIL_IMAGE_IO_H
#define VIGIL_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

/* Documented caps: larger images are refused with VIGIL_ETOOBIG before any pixel memory is allocated. */
#define VIGIL_IMAGE_MAX_SIDE 16384
#define VIGIL_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

struct vigil_image {
	int width, height;
	int stride;   /* bytes per row (width * 3 for decoded images) */
	uint8_t *rgb; /* malloc'd, owned by the image */
};

/* Decodes a JPEG or PNG held in memory (type from its signature). Returns 0, VIGIL_EIMAGE (corrupt,
 * truncated, not an image), VIGIL_ETOOBIG, VIGIL_EFORMAT (0x0 image) or -ENOMEM, with a detail message
 * in vigil_last_error(). On failure *out is left empty. */
int vigil_image_decode(const uint8_t *data, size_t size, struct vigil_image *out);

/* Reads a file and decodes it; errors as vigil_image_decode plus negative errno for I/O. */
int vigil_image_load(const char *path, struct vigil_image *out);

/* Writes RGB as JPEG (quality 1..100). */
int vigil_image_write_jpeg(const char *path, const struct vigil_image *img, int quality);

/* Frees the pixels; accepts an empty image. */
void vigil_image_free(struct vigil_image *img);

#endif
