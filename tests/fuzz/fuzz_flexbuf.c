/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the FlexBuffers reader and the TFLite_Detection_PostProcess options parser: any byte string
 * gives parsed options or VIGIL_EMODEL with a message, never a crash or an out-of-bounds read. Every key and value
 * of a map that validates is also read and converted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detpp.h"
#include "flexbuf.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_detpp_params p;
	struct vigil_flex_ref root, v;
	struct vigil_flex_map m;
	volatile size_t sink = 0;
	int ret = vigil_detpp_parse_options(data, size, &p);

	if (ret != 0 && ret != VIGIL_EMODEL)
		abort();
	if (ret == 0 && (p.max_detections < 1 || p.num_classes < 1 || p.max_classes_per_detection > p.num_classes))
		abort();
	if (vigil_flex_root(data, size, &root) < 0 || vigil_flex_as_map(&root, &m) < 0)
		return 0;
	for (uint64_t i = 0; i < m.count && i < 4096; i++) {
		const char *key;
		int64_t i64;
		double d;
		int b;

		if (vigil_flex_map_key(&m, i, &key) == 0)
			sink += strlen(key);
		if (vigil_flex_map_value(&m, i, &v) == 0) {
			if (vigil_flex_as_i64(&v, &i64) == 0)
				sink += (size_t)i64;
			if (vigil_flex_as_double(&v, &d) == 0)
				sink += d > 0;
			if (vigil_flex_as_bool(&v, &b) == 0)
				sink += (size_t)b;
		}
	}
	(void)sink;
	return 0;
}
