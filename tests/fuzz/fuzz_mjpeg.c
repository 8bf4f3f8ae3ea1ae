/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the MJPEG frame path (pipeline/mjpeg.c: TurboJPEG planar decode, the padded-plane copy and
 * the chroma averaging to I420). The stream size is taken from the frame's own header when it has one (so that
 * decoding goes all the way), else a fixed 64×48; planes carry guard bytes on every side, checked after each call.
 *
 * Seed corpus: camera-style frames (tests/data/mjpeg, 4:2:0 / 4:2:2 / 4:4:4 / gray / no Huffman tables). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpeg.h"
#include "vigil/vigil.h"

#define MAX_SIDE 1024
#define GUARD 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vigil_mjpeg *dec;
	static tjhandle tj;
	if (!dec && (vigil_mjpeg_create(MAX_SIDE, MAX_SIDE, &dec) < 0 || !(tj = tjInitDecompress())))
		abort();
	int w = 64, h = 48, ss, cs;
	if (size <= 0x7fffffff && tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &ss, &cs) == 0 &&
	    (w > MAX_SIDE + 8 || h > MAX_SIDE + 8 || w < 1 || h < 1)) {
		w = 64;
		h = 48;
	}
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	int strides[3] = { w + 3, cw + 1, cw + 5 };
	size_t sizes[3] = { (size_t)strides[0] * h, (size_t)strides[1] * ch, (size_t)strides[2] * ch };
	uint8_t *buf[3], *planes[3];
	for (int p = 0; p < 3; p++) {
		buf[p] = malloc(sizes[p] + 2 * GUARD);
		if (!buf[p])
			abort();
		memset(buf[p], 0xa5, sizes[p] + 2 * GUARD);
		planes[p] = buf[p] + GUARD;
	}
	int rc = vigil_mjpeg_decode(dec, data, size, w, h, planes, strides);
	if (rc != 0 && rc != VIGIL_EIMAGE && rc != VIGIL_EUNSUPPORTED)
		abort();
	for (int p = 0; p < 3; p++) {
		for (size_t i = 0; i < GUARD; i++)
			if (buf[p][i] != 0xa5 || buf[p][GUARD + sizes[p] + i] != 0xa5)
				abort(); /* wrote outside the planes */
		free(buf[p]);
	}
	return 0;
}
