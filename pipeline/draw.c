/* SPDX-License-Identifier: Apache-2.0
 * Annotation of decoded RGB images for `vigil detect --draw`: an RGB frame view of the image handed to
 * vigil_frame_annotate (pipeline/annotate.c), so that the CLI, the library and the vigiloverlay element draw
 * the same boxes, tags and keypoints with the same font. */
#include "draw.h"

void vigil_draw_detections(struct vigil_image *img, const struct vigil_detections *dets)
{
	struct vigil_frame frame = { .format = VIGIL_FORMAT_RGB, .pts_ns = -1 };

	/* checked here rather than left to vigil_frame_annotate, so that "nothing to draw on" is not recorded
	 * as the thread's last error */
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || img->stride < img->width * 3 || !dets ||
	    (dets->count && !dets->items))
		return;
	frame.width = img->width;
	frame.height = img->height;
	frame.planes[0] = img->rgb;
	frame.strides[0] = img->stride;
	/* box mode with the defaults cannot fail on a valid frame; images past VIGIL_MAX_FRAME_SIDE (which the
	 * decoders refuse) are left undrawn */
	(void)vigil_frame_annotate(&frame, dets, NULL);
}
