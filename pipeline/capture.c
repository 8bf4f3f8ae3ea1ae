/* SPDX-License-Identifier: Apache-2.0
 * V4L2 capture with raw ioctls: MMAP buffers exported as DMABUF, or imported DMABUF fds; reference-counted frames
 * re-queued on release; sequence-gap, corrupt-buffer, stall and device-loss reporting; optional reconnect.
 *
 * A session is one open of the device with its buffers. The capture holds one reference and every frame handed
 * out holds one, so a lost device can be closed and reopened while consumers still read their old frames. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "error.h"
#include "mjpeg.h"
#include "vigil/capture.h"

#define LOG "v4l2"
#define MIN_STALL_MS 200
#define RECONNECT_PERIOD_MS 100
#define FIRST_FRAME_MS 1000 /* drivers take a while to deliver the first frame after STREAMON */

struct cap_buffer {
	struct vigil_capture_frame pub;
	struct cap_session *s;
	atomic_int refs;
	void *map[VIGIL_CAPTURE_MAX_PLANES];
	size_t map_len[VIGIL_CAPTURE_MAX_PLANES];
	uint8_t *spare_mem; /* spare copies only */
	int queued;         /* in the driver (under s->lock) */
	int held;           /* handed out (under s->lock) */
};

struct cap_session {
	atomic_int refs;
	pthread_mutex_t lock;
	int fd;
	enum v4l2_buf_type type;
	int mplane;
	enum vigil_capture_io io;
	int nbuf, nspare, nplanes;
	int streaming; /* under lock */
	int dead;      /* under lock: device gone, nothing is queued any more */
	int qbuf_error;
	struct vigil_mjpeg *mjpeg; /* MJPEG devices: frames are decoded into the spares */
	struct cap_buffer buf[VIGIL_CAPTURE_MAX_BUFFERS];
	struct cap_buffer spare[8];
};

struct vigil_capture {
	struct vigil_capture_config cfg;
	char path[64];
	struct cap_session *s;
	uint32_t fourcc;
	int width, height;
	enum vigil_pixel_format format;
	uint32_t bytesperline[VIGIL_CAPTURE_MAX_PLANES];
	uint32_t sizeimage[VIGIL_CAPTURE_MAX_PLANES];
	double fps;
	int stall_ms;
	int64_t next_reconnect_ns;
	int have_seq;
	uint32_t last_seq;
	struct vigil_capture_stats stats;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fourcc_str(uint32_t f, char out[8])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		out[i] = c >= 32 && c < 127 ? c : '?';
	}
	out[4] = 0;
}

void vigil_capture_config_init(struct vigil_capture_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->num_buffers = 4;
	cfg->spare_buffers = 2;
	cfg->export_dmabuf = 1;
	for (int i = 0; i < VIGIL_CAPTURE_MAX_BUFFERS; i++)
		for (int p = 0; p < VIGIL_CAPTURE_MAX_PLANES; p++)
			cfg->import_fds[i][p] = -1;
}

static int is_capture_device(int fd)
{
	struct v4l2_capability caps;
	if (xioctl(fd, VIDIOC_QUERYCAP, &caps) < 0)
		return 0;
	uint32_t c = caps.capabilities & V4L2_CAP_DEVICE_CAPS ? caps.device_caps : caps.capabilities;
	return (c & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) && (c & V4L2_CAP_STREAMING);
}

int vigil_capture_find(char *path, size_t size)
{
	for (int i = 0; i < 64; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/dev/video%d", i);
		int fd = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		int ok = is_capture_device(fd);
		close(fd);
		if (ok) {
			snprintf(path, size, "%s", p);
			return 0;
		}
	}
	return vigil_error(-ENODEV, "no camera found: no /dev/video* device offers video capture with streaming");
}

/* ---- formats ---- */

static int vigil_format_of(uint32_t fourcc, enum vigil_pixel_format *fmt)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_NV12M:
		*fmt = VIGIL_FORMAT_NV12;
		return 0;
	case V4L2_PIX_FMT_YUYV:
		*fmt = VIGIL_FORMAT_YUY2;
		return 0;
	case V4L2_PIX_FMT_UYVY:
		*fmt = VIGIL_FORMAT_UYVY;
		return 0;
	case V4L2_PIX_FMT_YUV420:
	case V4L2_PIX_FMT_MJPEG: /* decoded to I420 */
	case V4L2_PIX_FMT_JPEG:
		*fmt = VIGIL_FORMAT_I420;
		return 0;
	case V4L2_PIX_FMT_GREY:
		*fmt = VIGIL_FORMAT_GRAY8;
		return 0;
	default:
		return -1;
	}
}

static int offers(int fd, enum v4l2_buf_type type, uint32_t fourcc)
{
	struct v4l2_fmtdesc d = { .type = type };
	for (d.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++)
		if (d.pixelformat == fourcc)
			return 1;
	return 0;
}

static void list_formats(int fd, enum v4l2_buf_type type, char *out, size_t n)
{
	struct v4l2_fmtdesc d = { .type = type };
	size_t len = 0;
	out[0] = 0;
	for (d.index = 0; d.index < 16 && xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++) {
		char f[8];
		fourcc_str(d.pixelformat, f);
		int w = snprintf(out + len, n - len, "%s%s", len ? " " : "", f);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

static int negotiate(struct vigil_capture *cap, int fd, enum v4l2_buf_type type)
{
	const struct vigil_capture_config *cfg = &cap->cfg;
	int mplane = type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	uint32_t fourcc = cfg->fourcc;
	char want[8], avail[128];
	if (fourcc) {
		if (!offers(fd, type, fourcc)) {
			fourcc_str(fourcc, want);
			list_formats(fd, type, avail, sizeof(avail));
			return vigil_error(VIGIL_EFORMAT, "%s does not offer %s (it offers: %s)", cap->path, want,
					   avail);
		}
	} else {
		static const uint32_t pref[] = { V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_NV12M,  V4L2_PIX_FMT_YUYV,
						 V4L2_PIX_FMT_UYVY, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_GREY };
		for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]) && !fourcc; i++)
			if (offers(fd, type, pref[i]))
				fourcc = pref[i];
		if (!fourcc && offers(fd, type, V4L2_PIX_FMT_MJPEG))
			fourcc = V4L2_PIX_FMT_MJPEG;
		if (!fourcc) {
			list_formats(fd, type, avail, sizeof(avail));
			return vigil_error(VIGIL_EFORMAT, "%s offers no format Vigil reads (it offers: %s)", cap->path,
					   avail);
		}
	}
	if (vigil_format_of(fourcc, &cap->format) < 0) {
		fourcc_str(fourcc, want);
		return vigil_error(VIGIL_EUNSUPPORTED,
				   "capture format %s is not supported (NV12, NV12M, YUYV, UYVY, "
				   "YU12, GREY, MJPG are)",
				   want);
	}
	int w = cfg->width > 0 ? cfg->width : 640, h = cfg->height > 0 ? cfg->height : 480;

	struct v4l2_format f = { .type = type };
	if (mplane) {
		f.fmt.pix_mp.width = (uint32_t)w;
		f.fmt.pix_mp.height = (uint32_t)h;
		f.fmt.pix_mp.pixelformat = fourcc;
		f.fmt.pix_mp.field = V4L2_FIELD_NONE;
	} else {
		f.fmt.pix.width = (uint32_t)w;
		f.fmt.pix.height = (uint32_t)h;
		f.fmt.pix.pixelformat = fourcc;
		f.fmt.pix.field = V4L2_FIELD_NONE;
	}
	int r = xioctl(fd, VIDIOC_S_FMT, &f);
	if (r < 0)
		return vigil_error(r, "%s: VIDIOC_S_FMT: %s", cap->path, strerror(-r));
	uint32_t got = mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat;
	if (got != fourcc) {
		fourcc_str(fourcc, want);
		fourcc_str(got, avail);
		return vigil_error(VIGIL_EFORMAT, "%s: asked for %s, the driver set %s", cap->path, want, avail);
	}
	memset(cap->bytesperline, 0, sizeof(cap->bytesperline));
	memset(cap->sizeimage, 0, sizeof(cap->sizeimage));
	if (mplane) {
		cap->width = (int)f.fmt.pix_mp.width;
		cap->height = (int)f.fmt.pix_mp.height;
		if (f.fmt.pix_mp.num_planes < 1 || f.fmt.pix_mp.num_planes > VIGIL_CAPTURE_MAX_PLANES)
			return vigil_error(VIGIL_EFORMAT, "%s: %u memory planes", cap->path, f.fmt.pix_mp.num_planes);
		for (int p = 0; p < f.fmt.pix_mp.num_planes; p++) {
			cap->bytesperline[p] = f.fmt.pix_mp.plane_fmt[p].bytesperline;
			cap->sizeimage[p] = f.fmt.pix_mp.plane_fmt[p].sizeimage;
		}
	} else {
		cap->width = (int)f.fmt.pix.width;
		cap->height = (int)f.fmt.pix.height;
		cap->bytesperline[0] = f.fmt.pix.bytesperline;
		cap->sizeimage[0] = f.fmt.pix.sizeimage;
	}
	cap->fourcc = fourcc;

	/* frame rate: the requested one (nearest the driver allows) or the fastest offered at this size */
	struct v4l2_streamparm parm = { .type = type };
	cap->fps = 0;
	if (xioctl(fd, VIDIOC_G_PARM, &parm) == 0 && (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
		struct v4l2_fract best = parm.parm.capture.timeperframe;
		if (cfg->fps > 0) {
			best.numerator = 1;
			best.denominator = (uint32_t)cfg->fps;
		} else {
			struct v4l2_frmivalenum iv = { .pixel_format = fourcc,
						       .width = (uint32_t)cap->width,
						       .height = (uint32_t)cap->height };
			for (iv.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) == 0; iv.index++) {
				struct v4l2_fract fr =
				    iv.type == V4L2_FRMIVAL_TYPE_DISCRETE ? iv.discrete : iv.stepwise.min;
				if (fr.denominator && (uint64_t)fr.numerator * best.denominator <
							  (uint64_t)best.numerator * fr.denominator)
					best = fr;
				if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE)
					break;
			}
		}
		parm.parm.capture.timeperframe = best;
		xioctl(fd, VIDIOC_S_PARM, &parm); /* drivers clamp; read back what they chose */
		if (xioctl(fd, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator)
			cap->fps = (double)parm.parm.capture.timeperframe.denominator /
				   parm.parm.capture.timeperframe.numerator;
	}
	int interval_ms = cap->fps > 0 ? (int)(1000.0 / cap->fps + 0.5) : 1000;
	cap->stall_ms = 3 * interval_ms > MIN_STALL_MS ? 3 * interval_ms : MIN_STALL_MS;
	return 0;
}

/* ---- sessions ---- */

static void session_free(struct cap_session *s)
{
	for (int i = 0; i < s->nbuf; i++) {
		struct cap_buffer *b = &s->buf[i];
		for (int p = 0; p < VIGIL_CAPTURE_MAX_PLANES; p++) {
			if (b->map[p])
				munmap(b->map[p], b->map_len[p]);
			if (s->io == VIGIL_CAPTURE_IO_MMAP && b->pub.dmabuf_fd[p] >= 0)
				close(b->pub.dmabuf_fd[p]);
		}
	}
	for (int i = 0; i < s->nspare; i++)
		free(s->spare[i].spare_mem);
	vigil_mjpeg_destroy(s->mjpeg);
	if (s->fd >= 0) {
		if (s->nbuf > 0) {
			struct v4l2_requestbuffers rb = { .count = 0,
							  .type = s->type,
							  .memory = s->io == VIGIL_CAPTURE_IO_MMAP
									? V4L2_MEMORY_MMAP
									: V4L2_MEMORY_DMABUF };
			xioctl(s->fd, VIDIOC_REQBUFS, &rb);
		}
		close(s->fd);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void session_unref(struct cap_session *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		session_free(s);
}

/* Queue buffer i (lock held). */
static int queue_locked(struct cap_session *s, struct cap_buffer *b)
{
	struct v4l2_plane planes[VIGIL_CAPTURE_MAX_PLANES];
	struct v4l2_buffer vb = { .index = (uint32_t)b->pub.index, .type = s->type };
	memset(planes, 0, sizeof(planes));
	vb.memory = s->io == VIGIL_CAPTURE_IO_MMAP ? V4L2_MEMORY_MMAP : V4L2_MEMORY_DMABUF;
	if (s->mplane) {
		vb.m.planes = planes;
		vb.length = (uint32_t)s->nplanes;
		for (int p = 0; p < s->nplanes; p++) {
			if (s->io == VIGIL_CAPTURE_IO_DMABUF) {
				planes[p].m.fd = b->pub.dmabuf_fd[p];
				planes[p].length = (uint32_t)b->map_len[p];
			}
		}
	} else if (s->io == VIGIL_CAPTURE_IO_DMABUF) {
		vb.m.fd = b->pub.dmabuf_fd[0];
		vb.length = (uint32_t)b->map_len[0];
	}
	int r = xioctl(s->fd, VIDIOC_QBUF, &vb);
	if (r == 0)
		b->queued = 1;
	return r;
}

static int map_dmabuf(struct cap_buffer *b, int p, int fd, size_t need)
{
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0)
		return vigil_error(-EINVAL, "import fd %d: not a dmabuf of known size", fd);
	if ((size_t)size < need)
		return vigil_error(-EINVAL, "import fd %d holds %lld bytes, a plane needs %zu", fd, (long long)size,
				   need);
	void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return vigil_error(-errno, "mmap of import fd %d: %s", fd, strerror(errno));
	b->map[p] = m;
	b->map_len[p] = (size_t)size;
	b->pub.dmabuf_fd[p] = fd;
	return 0;
}

static void describe_frame(struct vigil_capture *cap, struct cap_buffer *b)
{
	struct vigil_frame *fr = &b->pub.frame;
	memset(fr, 0, sizeof(*fr));
	fr->format = cap->format;
	fr->width = cap->width;
	fr->height = cap->height;
	fr->colorimetry = VIGIL_COLOR_BT601_LIMITED;
	fr->pts_ns = -1;
	if (cap->fourcc == V4L2_PIX_FMT_MJPEG || cap->fourcc == V4L2_PIX_FMT_JPEG) {
		/* only the spares hold pictures: tight I420 */
		if (!b->spare_mem)
			return;
		int cw = (cap->width + 1) / 2, ch = (cap->height + 1) / 2;
		fr->format = VIGIL_FORMAT_I420;
		fr->colorimetry = VIGIL_COLOR_BT601_FULL;
		fr->planes[0] = b->spare_mem;
		fr->planes[1] = b->spare_mem + (size_t)cap->width * cap->height;
		fr->planes[2] = fr->planes[1] + (size_t)cw * ch;
		fr->strides[0] = cap->width;
		fr->strides[1] = fr->strides[2] = cw;
		return;
	}
	const uint8_t *base0 = b->map[0] ? b->map[0] : b->spare_mem;
	int stride = (int)cap->bytesperline[0];
	fr->planes[0] = base0;
	fr->strides[0] = stride;
	b->pub.plane_offset[0] = 0;
	if (cap->format == VIGIL_FORMAT_NV12) {
		if (b->pub.num_planes >= 2) {
			fr->planes[1] = b->map[1] ? b->map[1] : b->spare_mem + cap->sizeimage[0];
			fr->strides[1] = (int)cap->bytesperline[1];
			b->pub.plane_offset[1] = 0;
		} else {
			fr->planes[1] = base0 + (size_t)stride * (size_t)cap->height;
			fr->strides[1] = stride;
			b->pub.plane_offset[1] = (size_t)stride * (size_t)cap->height;
		}
	} else if (cap->format == VIGIL_FORMAT_I420) {
		size_t ysz = (size_t)stride * (size_t)cap->height;
		int cs = stride / 2;
		fr->planes[1] = base0 + ysz;
		fr->planes[2] = base0 + ysz + (size_t)cs * (size_t)((cap->height + 1) / 2);
		fr->strides[1] = fr->strides[2] = cs;
	}
	/* one fd for every plane: the frame is a DMABUF (consumers such as OpenCL import it) */
	if (b->pub.num_planes == 1 && b->pub.dmabuf_fd[0] >= 0 && b->map[0]) {
		b->pub.dmabuf.fd = b->pub.dmabuf_fd[0];
		b->pub.dmabuf.size = b->map_len[0];
		for (int p = 0; p < 3; p++)
			b->pub.dmabuf.offsets[p] = fr->planes[p] ? (size_t)(fr->planes[p] - base0) : 0;
		fr->dmabuf = &b->pub.dmabuf;
	}
}

static int session_open(struct vigil_capture *cap, struct cap_session **out)
{
	const struct vigil_capture_config *cfg = &cap->cfg;
	struct cap_session *s = calloc(1, sizeof(*s));
	if (!s)
		return vigil_error(-ENOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	s->io = cfg->io;
	for (int i = 0; i < VIGIL_CAPTURE_MAX_BUFFERS; i++)
		for (int p = 0; p < VIGIL_CAPTURE_MAX_PLANES; p++)
			s->buf[i].pub.dmabuf_fd[p] = -1;
	int r;
	s->fd = open(cap->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		r = vigil_error(-errno, "cannot open %s: %s", cap->path, strerror(errno));
		goto fail;
	}
	struct v4l2_capability caps;
	r = xioctl(s->fd, VIDIOC_QUERYCAP, &caps);
	if (r < 0) {
		r = vigil_error(r == -ENOTTY ? -ENODEV : r, "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", cap->path,
				strerror(-r));
		goto fail;
	}
	uint32_t c = caps.capabilities & V4L2_CAP_DEVICE_CAPS ? caps.device_caps : caps.capabilities;
	if (!(c & V4L2_CAP_STREAMING) || !(c & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))) {
		r = vigil_error(-ENODEV, "%s (%s) is not a streaming video capture device", cap->path,
				(const char *)caps.card);
		goto fail;
	}
	s->mplane = !(c & V4L2_CAP_VIDEO_CAPTURE);
	s->type = s->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	r = negotiate(cap, s->fd, s->type);
	if (r < 0)
		goto fail;
	s->nplanes = 1;
	while (s->nplanes < VIGIL_CAPTURE_MAX_PLANES && cap->sizeimage[s->nplanes])
		s->nplanes++;

	struct v4l2_requestbuffers rb = { .count = (uint32_t)cfg->num_buffers, .type = s->type };
	rb.memory = s->io == VIGIL_CAPTURE_IO_MMAP ? V4L2_MEMORY_MMAP : V4L2_MEMORY_DMABUF;
	r = xioctl(s->fd, VIDIOC_REQBUFS, &rb);
	if (r < 0) {
		r = vigil_error(r, "%s: VIDIOC_REQBUFS(%d, %s): %s", cap->path, cfg->num_buffers,
				s->io == VIGIL_CAPTURE_IO_MMAP ? "MMAP" : "DMABUF", strerror(-r));
		goto fail;
	}
	if (rb.count < 2 || (s->io == VIGIL_CAPTURE_IO_DMABUF && rb.count != (uint32_t)cfg->num_buffers)) {
		s->nbuf = 0; /* nothing mapped yet; closing the fd releases them */
		r = vigil_error(-ENOMEM, "%s: the driver granted %u of %d buffers", cap->path, rb.count,
				cfg->num_buffers);
		goto fail;
	}
	s->nbuf = (int)rb.count > VIGIL_CAPTURE_MAX_BUFFERS ? VIGIL_CAPTURE_MAX_BUFFERS : (int)rb.count;

	for (int i = 0; i < s->nbuf; i++) {
		struct cap_buffer *b = &s->buf[i];
		b->s = s;
		b->pub.index = i;
		b->pub.num_planes = s->nplanes;
		b->pub.fourcc = cap->fourcc;
		if (s->io == VIGIL_CAPTURE_IO_DMABUF) {
			for (int p = 0; p < s->nplanes; p++) {
				r = map_dmabuf(b, p, cfg->import_fds[i][p], cap->sizeimage[p]);
				if (r < 0)
					goto fail;
			}
			describe_frame(cap, b);
			continue;
		}
		struct v4l2_plane planes[VIGIL_CAPTURE_MAX_PLANES];
		struct v4l2_buffer vb = { .index = (uint32_t)i, .type = s->type, .memory = V4L2_MEMORY_MMAP };
		memset(planes, 0, sizeof(planes));
		if (s->mplane) {
			vb.m.planes = planes;
			vb.length = (uint32_t)s->nplanes;
		}
		r = xioctl(s->fd, VIDIOC_QUERYBUF, &vb);
		if (r < 0) {
			r = vigil_error(r, "%s: VIDIOC_QUERYBUF %d: %s", cap->path, i, strerror(-r));
			goto fail;
		}
		for (int p = 0; p < s->nplanes; p++) {
			size_t len = s->mplane ? planes[p].length : vb.length;
			off_t off = s->mplane ? (off_t)planes[p].m.mem_offset : (off_t)vb.m.offset;
			void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->fd, off);
			if (m == MAP_FAILED) {
				r = vigil_error(-errno, "%s: mmap of buffer %d: %s", cap->path, i, strerror(errno));
				goto fail;
			}
			b->map[p] = m;
			b->map_len[p] = len;
			if (cfg->export_dmabuf) {
				struct v4l2_exportbuffer eb = { .type = s->type,
								.index = (uint32_t)i,
								.plane = (uint32_t)p,
								.flags = O_RDONLY | O_CLOEXEC };
				r = xioctl(s->fd, VIDIOC_EXPBUF, &eb);
				if (r < 0) {
					r = vigil_error(r, "%s: VIDIOC_EXPBUF %d/%d: %s", cap->path, i, p,
							strerror(-r));
					goto fail;
				}
				b->pub.dmabuf_fd[p] = eb.fd;
			}
		}
		describe_frame(cap, b);
	}
	s->nspare = cfg->spare_buffers;
	size_t total = 0;
	for (int p = 0; p < s->nplanes; p++)
		total += cap->sizeimage[p];
	if (cap->fourcc == V4L2_PIX_FMT_MJPEG || cap->fourcc == V4L2_PIX_FMT_JPEG) {
		r = vigil_mjpeg_create(cap->width, cap->height, &s->mjpeg);
		if (r < 0)
			goto fail;
		/* the decoded I420 frames live in the spares: one to decode into while consumers hold one */
		s->nspare = s->nspare < 2 ? 2 : s->nspare;
		total = (size_t)cap->width * cap->height + 2 * (size_t)((cap->width + 1) / 2) * ((cap->height + 1) / 2);
	}
	for (int i = 0; i < s->nspare; i++) {
		struct cap_buffer *b = &s->spare[i];
		b->s = s;
		b->pub.index = -1;
		b->pub.num_planes = s->nplanes;
		b->pub.fourcc = cap->fourcc;
		for (int p = 0; p < VIGIL_CAPTURE_MAX_PLANES; p++)
			b->pub.dmabuf_fd[p] = -1;
		b->spare_mem = malloc(total);
		if (!b->spare_mem) {
			r = vigil_error(-ENOMEM, "out of memory for %zu-byte spare buffers", total);
			goto fail;
		}
		describe_frame(cap, b);
	}
	*out = s;
	return 0;
fail:
	session_free(s);
	return r;
}

/* Called with s->lock held: queue every buffer neither queued nor held. */
static int queue_free_locked(struct cap_session *s)
{
	for (int i = 0; i < s->nbuf; i++) {
		struct cap_buffer *b = &s->buf[i];
		if (!b->queued && !b->held) {
			int r = queue_locked(s, b);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int session_start(struct vigil_capture *cap, struct cap_session *s)
{
	pthread_mutex_lock(&s->lock);
	int r = 0;
	if (!s->streaming) {
		r = queue_free_locked(s);
		if (r < 0) {
			r = vigil_error(r, "%s: VIDIOC_QBUF: %s", cap->path, strerror(-r));
		} else {
			enum v4l2_buf_type t = s->type;
			r = xioctl(s->fd, VIDIOC_STREAMON, &t);
			if (r < 0)
				r = vigil_error(r, "%s: VIDIOC_STREAMON: %s", cap->path, strerror(-r));
			else
				s->streaming = 1;
		}
		if (r < 0) {
			/* a failed start leaves nothing queued: STREAMOFF returns every buffer */
			enum v4l2_buf_type t = s->type;
			xioctl(s->fd, VIDIOC_STREAMOFF, &t);
			for (int i = 0; i < s->nbuf; i++)
				s->buf[i].queued = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (r == 0)
		cap->have_seq = 0; /* gaps across a stop are not drops */
	return r;
}

static void session_stop(struct cap_session *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->streaming) {
		enum v4l2_buf_type t = s->type;
		xioctl(s->fd, VIDIOC_STREAMOFF, &t);
		s->streaming = 0;
	}
	for (int i = 0; i < s->nbuf; i++)
		s->buf[i].queued = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- public ---- */

int vigil_capture_open(const struct vigil_capture_config *cfg, struct vigil_capture **out)
{
	*out = NULL;
	if (!cfg)
		return vigil_error(-EINVAL, "no capture config");
	if (cfg->num_buffers < 2 || cfg->num_buffers > VIGIL_CAPTURE_MAX_BUFFERS)
		return vigil_error(-EINVAL, "num_buffers is %d, expected 2..%d", cfg->num_buffers,
				   VIGIL_CAPTURE_MAX_BUFFERS);
	if (cfg->spare_buffers < 0 || cfg->spare_buffers > 8)
		return vigil_error(-EINVAL, "spare_buffers is %d, expected 0..8", cfg->spare_buffers);
	if (cfg->io != VIGIL_CAPTURE_IO_MMAP && cfg->io != VIGIL_CAPTURE_IO_DMABUF)
		return vigil_error(-EINVAL, "unknown capture io mode %d", (int)cfg->io);
	if (cfg->width < 0 || cfg->height < 0 || cfg->fps < 0 || cfg->width > VIGIL_MAX_FRAME_SIDE ||
	    cfg->height > VIGIL_MAX_FRAME_SIDE)
		return vigil_error(-EINVAL, "bad capture size %dx%d or rate %d", cfg->width, cfg->height, cfg->fps);
	struct vigil_capture *cap = calloc(1, sizeof(*cap));
	if (!cap)
		return vigil_error(-ENOMEM, "out of memory");
	cap->cfg = *cfg;
	int r;
	if (cfg->device) {
		if (strlen(cfg->device) >= sizeof(cap->path)) {
			free(cap);
			return vigil_error(-ENAMETOOLONG, "device path too long");
		}
		snprintf(cap->path, sizeof(cap->path), "%s", cfg->device);
	} else if ((r = vigil_capture_find(cap->path, sizeof(cap->path))) < 0) {
		free(cap);
		return r;
	}
	cap->cfg.device = NULL; /* the caller's string is not kept */
	r = session_open(cap, &cap->s);
	if (r < 0) {
		free(cap);
		return r;
	}
	char f[8];
	fourcc_str(cap->fourcc, f);
	vigil_log(LOG, VIGIL_LOG_INFO, "%s: %s %dx%d @ %.2f fps, %d %s buffers%s, %s-planar", cap->path, f, cap->width,
		  cap->height, cap->fps, cap->s->nbuf, cfg->io == VIGIL_CAPTURE_IO_MMAP ? "MMAP" : "DMABUF",
		  cfg->io == VIGIL_CAPTURE_IO_MMAP && cfg->export_dmabuf ? " (exported)" : "",
		  cap->s->mplane ? "multi" : "single");
	*out = cap;
	return 0;
}

int vigil_capture_start(struct vigil_capture *cap)
{
	if (!cap->s)
		return vigil_error(-ENODEV, "%s is disconnected", cap->path);
	return session_start(cap, cap->s);
}

int vigil_capture_stop(struct vigil_capture *cap)
{
	if (cap->s)
		session_stop(cap->s);
	return 0;
}

static void lose_device(struct vigil_capture *cap)
{
	struct cap_session *s = cap->s;
	pthread_mutex_lock(&s->lock);
	s->dead = 1;
	s->streaming = 0;
	pthread_mutex_unlock(&s->lock);
	cap->s = NULL;
	cap->next_reconnect_ns = now_ns() + (int64_t)RECONNECT_PERIOD_MS * 1000000;
	session_unref(s);
}

static int try_reconnect(struct vigil_capture *cap)
{
	int64_t t = now_ns();
	if (t < cap->next_reconnect_ns) {
		int64_t wait = cap->next_reconnect_ns - t;
		struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
		nanosleep(&ts, NULL);
	}
	cap->next_reconnect_ns = now_ns() + (int64_t)RECONNECT_PERIOD_MS * 1000000;
	struct cap_session *s;
	int r = session_open(cap, &s);
	if (r < 0)
		return vigil_error(-EAGAIN, "%s: reconnecting (%s)", cap->path, vigil_last_error());
	r = session_start(cap, s);
	if (r < 0) {
		session_unref(s);
		return vigil_error(-EAGAIN, "%s: reconnecting (%s)", cap->path, vigil_last_error());
	}
	cap->s = s;
	cap->stats.reconnects++;
	vigil_log(LOG, VIGIL_LOG_WARNING, "%s: reconnected", cap->path);
	return 0;
}

static int64_t buffer_time_ns(const struct v4l2_buffer *vb)
{
	if ((vb->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (vb->timestamp.tv_sec || vb->timestamp.tv_usec))
		return (int64_t)vb->timestamp.tv_sec * 1000000000 + (int64_t)vb->timestamp.tv_usec * 1000;
	return now_ns();
}

int vigil_capture_next(struct vigil_capture *cap, struct vigil_capture_frame **out)
{
	*out = NULL;
	if (!cap->s) {
		if (!cap->cfg.reconnect)
			return vigil_error(-ENODEV, "%s is disconnected", cap->path);
		int r = try_reconnect(cap);
		if (r < 0)
			return r;
	}
	struct cap_session *s = cap->s;
	int r;
	pthread_mutex_lock(&s->lock);
	int streaming = s->streaming;
	r = streaming ? queue_free_locked(s) : 0; /* buffers whose QBUF failed at release */
	pthread_mutex_unlock(&s->lock);
	if (r == -ENODEV || r == -EIO) {
		lose_device(cap);
		return vigil_error(r, "%s: device lost (%s)", cap->path, strerror(-r));
	}
	if (r < 0)
		return vigil_error(r, "%s: VIDIOC_QBUF: %s", cap->path, strerror(-r));
	if (!streaming && (r = session_start(cap, s)) < 0)
		return r;

	/* The watchdog runs while we wait: a consumer that took longer than the limit is not a driver stall. */
	int64_t since = now_ns();
	for (;;) {
		int limit_ms = cap->have_seq || cap->stall_ms > FIRST_FRAME_MS ? cap->stall_ms : FIRST_FRAME_MS;
		int64_t left_ns = since + (int64_t)limit_ms * 1000000 - now_ns();
		if (left_ns <= 0) {
			cap->stats.stalls++;
			return vigil_error(-ETIMEDOUT, "%s: stalled, no frame for %d ms", cap->path, limit_ms);
		}
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLPRI };
		int pr = poll(&pfd, 1, (int)((left_ns + 999999) / 1000000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return vigil_error(-errno, "poll: %s", strerror(errno));
		if (pr == 0)
			continue; /* the stall check above reports it */

		struct v4l2_plane planes[VIGIL_CAPTURE_MAX_PLANES];
		struct v4l2_buffer vb = { .type = s->type };
		memset(planes, 0, sizeof(planes));
		vb.memory = s->io == VIGIL_CAPTURE_IO_MMAP ? V4L2_MEMORY_MMAP : V4L2_MEMORY_DMABUF;
		if (s->mplane) {
			vb.m.planes = planes;
			vb.length = (uint32_t)s->nplanes;
		}
		pthread_mutex_lock(&s->lock);
		r = xioctl(s->fd, VIDIOC_DQBUF, &vb);
		if (r == 0 && vb.index < (uint32_t)s->nbuf)
			s->buf[vb.index].queued = 0;
		pthread_mutex_unlock(&s->lock);
		if (r == -EAGAIN) {
			if (pfd.revents & (POLLERR | POLLHUP)) {
				/* nothing to dequeue yet the queue reports an error: the driver gave up */
				lose_device(cap);
				return vigil_error(-EIO, "%s: streaming error reported by the driver", cap->path);
			}
			continue;
		}
		if (r < 0) {
			if (r == -ENODEV || r == -EIO || r == -EPIPE || r == -EINVAL) {
				int e = r == -EPIPE || r == -EINVAL ? -EIO : r;
				lose_device(cap);
				return vigil_error(e, "%s: device lost (VIDIOC_DQBUF: %s)", cap->path, strerror(-r));
			}
			return vigil_error(r, "%s: VIDIOC_DQBUF: %s", cap->path, strerror(-r));
		}
		if (vb.index >= (uint32_t)s->nbuf)
			return vigil_error(-EIO, "%s: driver returned buffer index %u of %d", cap->path, vb.index,
					   s->nbuf);
		struct cap_buffer *b = &s->buf[vb.index];
		if (cap->have_seq && vb.sequence > cap->last_seq + 1)
			cap->stats.dropped += vb.sequence - cap->last_seq - 1;
		cap->have_seq = 1;
		cap->last_seq = vb.sequence;

		b->pub.sequence = vb.sequence;
		b->pub.timestamp_ns = buffer_time_ns(&vb);
		b->pub.frame.pts_ns = b->pub.timestamp_ns;
		b->pub.flags = 0;
		for (int p = 0; p < s->nplanes; p++)
			b->pub.bytesused[p] = s->mplane ? planes[p].bytesused : vb.bytesused;
		if (vb.flags & V4L2_BUF_FLAG_ERROR) {
			b->pub.flags |= VIGIL_CAPTURE_FRAME_CORRUPT;
			cap->stats.corrupt++;
		}

		/* keep the driver fed: if this was its last buffer, hand out a copy (or nothing) instead; MJPEG
		 * frames are always decoded into a spare and their driver buffer re-queued at once */
		pthread_mutex_lock(&s->lock);
		int queued = 0, decode_err = 0;
		for (int i = 0; i < s->nbuf; i++)
			queued += s->buf[i].queued;
		struct cap_buffer *give = b;
		if (queued == 0 || s->mjpeg) {
			give = NULL;
			for (int i = 0; i < s->nspare && !give; i++)
				if (!s->spare[i].held)
					give = &s->spare[i];
			if (give && s->mjpeg) {
				uint8_t *const dst[3] = { give->spare_mem, (uint8_t *)give->pub.frame.planes[1],
							  (uint8_t *)give->pub.frame.planes[2] };
				decode_err = vigil_mjpeg_decode(s->mjpeg, b->map[0], b->pub.bytesused[0], cap->width,
								cap->height, dst, give->pub.frame.strides);
				give->pub.bytesused[0] = b->pub.bytesused[0];
				give->pub.sequence = b->pub.sequence;
				give->pub.timestamp_ns = b->pub.timestamp_ns;
				give->pub.frame.pts_ns = b->pub.timestamp_ns;
				give->pub.flags = b->pub.flags | VIGIL_CAPTURE_FRAME_DECODED;
				if (decode_err < 0) {
					give = NULL;
					cap->stats.corrupt++;
				}
			} else if (give) {
				size_t off = 0;
				for (int p = 0; p < s->nplanes; p++) {
					memcpy(give->spare_mem + off, b->map[p], cap->sizeimage[p]);
					give->pub.bytesused[p] = b->pub.bytesused[p];
					off += cap->sizeimage[p];
				}
				give->pub.sequence = b->pub.sequence;
				give->pub.timestamp_ns = b->pub.timestamp_ns;
				give->pub.frame.pts_ns = b->pub.timestamp_ns;
				give->pub.flags = b->pub.flags | VIGIL_CAPTURE_FRAME_COPIED;
				cap->stats.copied++;
			} else if (!decode_err) {
				cap->stats.held_drop++;
				cap->stats.dropped++;
			}
			r = queue_locked(s, b);
			if (r < 0)
				s->qbuf_error = r;
		}
		if (give) {
			give->held = 1;
			atomic_store(&give->refs, 1);
			atomic_fetch_add(&s->refs, 1);
		}
		pthread_mutex_unlock(&s->lock);
		if (decode_err < 0)
			return vigil_error(decode_err, "%s: frame %u: %s", cap->path, vb.sequence, vigil_last_error());
		if (!give)
			return vigil_error(-ENOBUFS, "%s: consumers hold every buffer, frame %u dropped", cap->path,
					   vb.sequence);
		cap->stats.frames++;
		*out = &give->pub;
		return 0;
	}
}

struct vigil_capture_frame *vigil_capture_frame_ref(struct vigil_capture_frame *frame)
{
	struct cap_buffer *b = (struct cap_buffer *)frame;
	atomic_fetch_add(&b->refs, 1);
	return frame;
}

void vigil_capture_frame_unref(struct vigil_capture_frame *frame)
{
	if (!frame)
		return;
	struct cap_buffer *b = (struct cap_buffer *)frame; /* pub is the first member */
	if (atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	struct cap_session *s = b->s;
	pthread_mutex_lock(&s->lock);
	b->held = 0;
	if (b->pub.index >= 0 && s->streaming && !s->dead) {
		int r = queue_locked(s, b);
		if (r < 0) /* next() retries and reports it */
			s->qbuf_error = r;
	}
	pthread_mutex_unlock(&s->lock);
	session_unref(s);
}

void vigil_capture_format(const struct vigil_capture *cap, uint32_t *fourcc, int *width, int *height, double *fps)
{
	if (fourcc)
		*fourcc = cap->fourcc;
	if (width)
		*width = cap->width;
	if (height)
		*height = cap->height;
	if (fps)
		*fps = cap->fps;
}

void vigil_capture_get_stats(const struct vigil_capture *cap, struct vigil_capture_stats *stats)
{
	*stats = cap->stats;
}

int vigil_capture_fd(const struct vigil_capture *cap)
{
	return cap->s ? cap->s->fd : -1;
}

void vigil_capture_close(struct vigil_capture *cap)
{
	if (!cap)
		return;
	if (cap->s) {
		session_stop(cap->s);
		session_unref(cap->s);
	}
	free(cap);
}
