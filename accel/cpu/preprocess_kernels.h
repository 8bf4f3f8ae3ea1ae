/* SPDX-License-Identifier: Apache-2.0
 * Preprocessing row kernels: one tensor row of bilinear samples from two source rows, colour converted and
 * normalised, written as RGB floats (HWC). vigil_prep_kernels__c (preprocess_c.c) is the reference and the
 * specification; the AVX2 (x86) and NEON (aarch64) sets come from one template (preprocess_simd.h), each
 * file built with its own flags. pipeline/preprocess.c plans the tables at configure and calls a kernel
 * per tensor row; the rows it cannot hand to a kernel (see below) it samples itself, with the same
 * arithmetic.
 *
 * Arithmetic (all variants, in this order, in float, never fused into FMA: the files are built with
 * -ffp-contract=off, so every variant gives the reference's values exactly, +0 and -0 aside):
 *   top = a + fx * (b - a), bot = c + fx * (d - c), v = top + fy * (bot - top)
 * for the samples a (lo column, lo row), b (hi, lo), c (lo, hi), d (hi, hi); then for YUV
 *   l = ys * (y - yo), u -= 128, v -= 128,
 *   R = clamp(l + rv * v), G = clamp((l - gu * u) - gv * v), B = clamp(l + bu * u), clamp to [0, 255],
 * and every channel * ns + nb (RGB formats: no clamp).
 *
 * Column tables (struct vigil_prep_cols, made at configure): for each tensor column j inside the ROI, the
 * byte offset in a source row of a 4-byte window holding the lo sample and the hi sample (hi is always the
 * next sample: where the reference clamps hi to lo at an edge, the table keeps lo, points hi at the next
 * sample and sets fx to 0, which gives a + 0 * (b - a) = a, the same value). A window may therefore reach
 * up to 4 bytes past the last byte of a row: the caller hands a kernel only rows that are not the last
 * row of their plane, and only frames whose plane rows are at least 4 bytes (the bytes past a row are then
 * the stride padding and the next row, both inside the plane).
 *
 * Windows per format (byte k of a window is the byte at offset + k):
 *   NV12  off_y: Y lo at 0, Y hi at 1          off_c: U lo 0, V lo 1, U hi 2, V hi 3 (plane 1)
 *   I420  off_y: Y lo 0, hi 1                  off_c: lo 0, hi 1, in plane 1 (U) and plane 2 (V)
 *   YUY2/UYVY off_y: Y lo 0, hi 2 (offset includes the Y byte's place)
 *                off_c: the lo macropixel (U at byte uo, V at vo), the hi macropixel at off_c + 4
 *   RGB-like  off_y: the lo pixel (R, G, B at ro, go, bo), the hi pixel at off_y + bpp */
#ifndef VIGIL_PREPROCESS_KERNELS_H
#define VIGIL_PREPROCESS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Column tables of one geometry, n entries used, padded (by repeating the last entry) to a multiple of
 * VIGIL_PREP_COLS_ALIGN so that vector kernels can run whole vectors past n. */
#define VIGIL_PREP_COLS_ALIGN 16

struct vigil_prep_cols {
	int32_t *off_y, *off_c;
	float *fx_y, *fx_c;
};

/* One tensor row. r0/r1: the lo and hi source rows of each plane used (plane 0: Y or packed pixels;
 * plane 1: NV12 UV or I420 U; plane 2: I420 V); for packed 4:2:2 and RGB only plane 0. */
struct vigil_prep_row {
	const uint8_t *r0[3], *r1[3];
	const struct vigil_prep_cols *cols;
	float fy_y, fy_c;             /* vertical weights of the hi rows (luma / pixel rows, chroma rows) */
	int n;                        /* tensor columns to write */
	float *out;                   /* 3 * n floats */
	float ns, nb;                 /* normalisation */
	float ys, yo, rv, gu, gv, bu; /* YUV -> RGB (vigil_preprocess_yuv_coeffs) */
	int bpp, ro, go, bo;          /* RGB-like: bytes per pixel and channel bytes; 4:2:2: Y, U, V bytes */
};

typedef void (*vigil_prep_row_fn)(const struct vigil_prep_row *r);

struct vigil_prep_kernels {
	const char *isa;
	vigil_prep_row_fn nv12;   /* vigil_u8_prep_nv12__<isa> */
	vigil_prep_row_fn i420;   /* vigil_u8_prep_i420__<isa> */
	vigil_prep_row_fn yuv422; /* YUY2 / UYVY: ro, go, bo = Y, U, V byte in the macropixel */
	vigil_prep_row_fn rgb;    /* bpp 3 or 4 */
	/* dst[k] = round-to-nearest-even of src[k] clamped to [0, 255], as lrintf does */
	void (*f32_to_u8)(const float *src, uint8_t *dst, size_t n);
};

extern const struct vigil_prep_kernels vigil_prep_kernels__c;
extern const struct vigil_prep_kernels vigil_prep_kernels__avx2;
extern const struct vigil_prep_kernels vigil_prep_kernels__avx512;
extern const struct vigil_prep_kernels vigil_prep_kernels__neon;

/* The best set this CPU runs (vigil_cpu_features(): VIGIL_FORCE_C=1 and VIGIL_CPU_DISABLE apply), chosen
 * once per process and logged in the "cpu" category. */
const struct vigil_prep_kernels *vigil_prep_kernels(void);

/* Every set this CPU runs, best first, the reference last, for the reference-vs-optimised tests. */
int vigil_prep_kernel_sets(const struct vigil_prep_kernels *const **sets);

#endif
