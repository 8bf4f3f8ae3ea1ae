/* The README's C API example: decode a JPEG (here with TurboJPEG; any source of frames will do),
 * describe the frame, detect faces, print the detection record.
 * Build: cc example_api.c $(pkg-config --cflags --libs vigil libturbojpeg) */
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>
#include <vigil/vigil.h>

static unsigned char *decode_jpeg(const char *path, int *w, int *h)
{
	FILE *f = fopen(path, "rb");
	unsigned char *jpeg = NULL, *rgb = NULL;
	long size;
	int sub, cs;
	tjhandle tj = tjInitDecompress();

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		goto out;
	jpeg = malloc(size);
	if (!jpeg || fread(jpeg, 1, size, f) != (size_t)size)
		goto out;
	if (tjDecompressHeader3(tj, jpeg, size, w, h, &sub, &cs) == 0) {
		rgb = malloc((size_t)*w * *h * 3);
		if (rgb && tjDecompress2(tj, jpeg, size, rgb, *w, 0, *h, TJPF_RGB, 0) != 0) {
			free(rgb);
			rgb = NULL;
		}
	}
out:
	tjDestroy(tj);
	free(jpeg);
	if (f)
		fclose(f);
	return rgb;
}

int main(int argc, char **argv)
{
	struct vigil_model *model;
	struct vigil_detector *detector;
	struct vigil_detector_config config;
	struct vigil_frame frame = { 0 };
	const struct vigil_detections *faces;
	int w, h, ret;

	unsigned char *rgb = argc > 1 ? decode_jpeg(argv[1], &w, &h) : NULL;
	if (!rgb) {
		fprintf(stderr, "usage: %s PHOTO.jpg\n", argv[0]);
		return 2;
	}
	/* once per process: the model is immutable and can be shared by every stream and thread */
	ret = vigil_model_open("face-full", &model);
	if (ret < 0) {
		fprintf(stderr, "model: %s: %s\n", vigil_strerror(ret), vigil_last_error());
		return 1;
	}
	/* once per stream */
	vigil_detector_config_init(&config);
	config.threshold = 0.6f;
	ret = vigil_detector_create(model, &config, &detector);
	if (ret < 0) {
		fprintf(stderr, "detector: %s\n", vigil_last_error());
		return 1;
	}
	/* per frame: describe the caller's pixels (NV12, YUY2, ... work the same way), then detect */
	frame.format = VIGIL_FORMAT_RGB;
	frame.width = w;
	frame.height = h;
	frame.planes[0] = rgb;
	frame.strides[0] = w * 3;
	frame.pts_ns = -1;
	ret = vigil_detector_detect(detector, &frame, &faces);
	if (ret < 0) {
		fprintf(stderr, "detect: %s\n", vigil_last_error());
		return 1;
	}
	for (size_t i = 0; i < faces->count; i++) {
		const struct vigil_detection *d = &faces->items[i];
		printf("%s %.2f at %.0f,%.0f %.0fx%.0f, nose tip %.0f,%.0f\n", d->label, d->score, d->x, d->y, d->w,
		       d->h, d->keypoints[2].x, d->keypoints[2].y);
	}
	char *json = vigil_detections_to_json(faces, argv[1], 0, "face-full");
	puts(json);
	vigil_free(json);
	size_t found = faces->count; /* faces is the detector's: read it before destroying it */

	vigil_detector_destroy(detector);
	vigil_model_close(model);
	free(rgb);
	return found > 0 ? 0 : 1; /* the test photo has faces */
}
