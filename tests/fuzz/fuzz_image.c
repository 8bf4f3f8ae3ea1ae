/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the still-image decoder (JPEG through TurboJPEG, PNG through libpng): any input must
 * either decode to a well-formed RGB image or fail with a documented code, without leaking. Decoded images are
 * also annotated with a box taken from the input bytes, so that drawing is fuzzed over every size the decoder
 * produces, boxes far outside the image included.
 *
 * Seed corpus: the JPEGs in tests/data/faces and the PNGs in tests/data/sergey and tests/data/golden. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "image_io.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A coordinate from two input bytes, spanning well past both sides of any image the decoder accepts. */
static float coord(const uint8_t *p)
{
	return (float)((int)(p[0] << 8 | p[1]) - 16384) * 1.5f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_image img;
	int rc = vigil_image_decode(data, size, &img);

	if (rc < 0) {
		if (rc != VIGIL_EIMAGE && rc != VIGIL_EFORMAT && rc != VIGIL_ETOOBIG && rc != -ENOMEM)
			abort();
		if (img.rgb || img.width || img.height)
			abort();
		return 0;
	}
	if (img.width <= 0 || img.height <= 0 || img.stride != img.width * 3 || !img.rgb ||
	    img.width > VIGIL_IMAGE_MAX_SIDE || img.height > VIGIL_IMAGE_MAX_SIDE)
		abort();

	if (size >= 16) {
		struct vigil_detection det;
		struct vigil_detections dets;
		const uint8_t *tail = data + size - 16;

		memset(&det, 0, sizeof(det));
		det.label = "face";
		det.score = (float)tail[8] / 255.0f;
		det.x = coord(tail);
		det.y = coord(tail + 2);
		det.w = coord(tail + 4);
		det.h = coord(tail + 6);
		det.num_keypoints = tail[9] % (VIGIL_MAX_KEYPOINTS + 1);
		for (int k = 0; k < det.num_keypoints; k++)
			det.keypoints[k] =
			    (struct vigil_point){ coord(tail + 10) + (float)k, coord(tail + 12) - (float)k };
		det.track_id = -1;
		memset(&dets, 0, sizeof(dets));
		dets.count = 1;
		dets.items = &det;
		dets.frame_width = img.width;
		dets.frame_height = img.height;
		vigil_draw_detections(&img, &dets);
	}
	vigil_image_free(&img);
	return 0;
}
