/* SPDX-License-Identifier: Apache-2.0
 * MJPEG frames (USB webcams) decoded with libjpeg-turbo straight into planar YUV (I420) in the caller's buffer:
 * no RGB step. 4:2:0 decodes directly into the destination planes; 4:2:2, 4:4:4 and 4:4:0 decode their chroma
 * into scratch planes made at create and are averaged down to 4:2:0; grayscale gets neutral chroma. */
#ifndef VIGIL_MJPEG_H
#define VIGIL_MJPEG_H

#include <stddef.h>
#include <stdint.h>

struct vigil_mjpeg;

/* A decoder for frames up to max_width × max_height. Returns 0, -EINVAL, -ENOMEM, or VIGIL_EUNSUPPORTED when
 * libvigil was built without libturbojpeg. */
int vigil_mjpeg_create(int max_width, int max_height, struct vigil_mjpeg **out);

/* Decodes one JPEG frame of exactly width × height into I420 planes (y, u, v with their strides; chroma planes
 * (width+1)/2 × (height+1)/2). Returns 0; VIGIL_EIMAGE for a corrupt or truncated frame (libjpeg-turbo warnings
 * count: a camera frame cut short must not pass as good), for a size other than width × height or a frame
 * bigger than the decoder's maximum; VIGIL_EUNSUPPORTED for subsamplings other than 4:2:0, 4:2:2, 4:4:4, 4:4:0
 * and gray. The planes' contents are unspecified after a failure. One call at a time per decoder. */
int vigil_mjpeg_decode(struct vigil_mjpeg *dec, const uint8_t *data, size_t size, int width, int height,
		       uint8_t *const planes[3], const int strides[3]);

/* Accepts NULL. */
void vigil_mjpeg_destroy(struct vigil_mjpeg *dec);

#endif
