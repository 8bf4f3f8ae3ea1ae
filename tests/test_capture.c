/* SPDX-License-Identifier: Apache-2.0
 * V4L2 capture against the kernel's vivid driver. Runs inside the VM of scripts/vm-test.sh, where vivid is loaded
 * with /dev/video0 single-planar, /dev/video1 multi-planar, /dev/video2 single-planar (dma-contig buffers).
 * Faults are injected through vivid's own controls. Outside that VM there is no such device and every test fails
 * saying so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "testutil.h"
#include "vigil/capture.h"

/* vivid's controls (drivers/media/test-drivers/vivid: VIVID_CID_VIVID_BASE + n), as v4l2-ctl -l lists them */
#define VIVID_CID_PERC_DROPPED 0x00f0f040
#define VIVID_CID_DISCONNECT 0x00f0f041
#define VIVID_CID_BUF_ERROR 0x00f0f042
#define VIVID_CID_QBUF_ERROR 0x00f0f044
#define VIVID_CID_STREAMON_ERROR 0x00f0f045
#define VIVID_CID_FATAL_ERROR 0x00f0f046

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void need_device(const char *dev)
{
	if (access(dev, R_OK | W_OK) != 0)
		ck_abort_msg("%s missing: this suite runs inside scripts/vm-test.sh (vivid loaded)", dev);
}

/* Sets a vivid control through a separate fd (controls are per device, not per file handle). */
static void set_ctrl(const char *dev, uint32_t id, int value)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", dev, strerror(errno));
	struct v4l2_control c = { .id = id, .value = value };
	ck_assert_msg(ioctl(fd, VIDIOC_S_CTRL, &c) == 0, "S_CTRL 0x%x on %s: %s", id, dev, strerror(errno));
	close(fd);
}

static struct vigil_capture *open_cap(const char *dev, uint32_t fourcc, int w, int h)
{
	need_device(dev);
	struct vigil_capture_config cfg;
	vigil_capture_config_init(&cfg);
	cfg.device = dev;
	cfg.fourcc = fourcc;
	cfg.width = w;
	cfg.height = h;
	struct vigil_capture *cap;
	int r = vigil_capture_open(&cfg, &cap);
	ck_assert_msg(r == 0, "open %s: %s (%s)", dev, vigil_strerror(r), vigil_last_error());
	return cap;
}

/* The next frame. A stall report is information, not an end: under emulation (and with vivid dropping half its
 * buffers) 200 ms without a frame happens, and a real consumer just calls again. */
static struct vigil_capture_frame *next_ok(struct vigil_capture *cap)
{
	struct vigil_capture_frame *f;
	int r, stalls = 0;
	while ((r = vigil_capture_next(cap, &f)) == -ETIMEDOUT && stalls < 10)
		stalls++;
	ck_assert_msg(r == 0, "next: %s (%s)", vigil_strerror(r), vigil_last_error());
	return f;
}

static int luma_at(const struct vigil_frame *f, int x, int y)
{
	if (f->format == VIGIL_FORMAT_YUY2)
		return f->planes[0][(size_t)y * f->strides[0] + 2 * (size_t)x];
	return f->planes[0][(size_t)y * f->strides[0] + x];
}

static int cb_at(const struct vigil_frame *f, int x, int y)
{
	if (f->format == VIGIL_FORMAT_YUY2)
		return f->planes[0][(size_t)y * f->strides[0] + 4 * (size_t)(x / 2) + 1];
	return f->planes[1][(size_t)(y / 2) * f->strides[1] + 2 * (size_t)(x / 2)];
}

/* vivid's default pattern is 75% colour bars: white, yellow, cyan, green, magenta, red, blue, black. Sample the
 * middle of bars in the middle row (the OSD text is at the top). */
static void check_colorbars(const struct vigil_frame *f)
{
	int y = f->height / 2, bw = f->width / 8;
	int white = luma_at(f, bw / 2, y), yellow = luma_at(f, bw + bw / 2, y), black = luma_at(f, 7 * bw + bw / 2, y);
	int cb_yellow = cb_at(f, bw + bw / 2, y), cb_blue = cb_at(f, 6 * bw + bw / 2, y);
	ck_assert_msg(white >= 172 && white <= 188, "white bar Y=%d, expected ~180", white);
	ck_assert_msg(yellow >= 152 && yellow <= 172, "yellow bar Y=%d, expected ~162", yellow);
	ck_assert_msg(black >= 10 && black <= 24, "black bar Y=%d, expected ~16", black);
	ck_assert_msg(cb_yellow < 70, "yellow bar Cb=%d, expected low", cb_yellow);
	ck_assert_msg(cb_blue > 170, "blue bar Cb=%d, expected high", cb_blue);
}

/* The exported dmabuf must hold what the frame's mapping shows. */
static void check_dmabuf(const struct vigil_capture_frame *f)
{
	for (int p = 0; p < f->num_planes; p++) {
		int fd = f->dmabuf_fd[p];
		ck_assert_msg(fd >= 0, "plane %d has no dmabuf fd", p);
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "dmabuf fd %d is not close-on-exec", fd);
		off_t size = lseek(fd, 0, SEEK_END);
		ck_assert_msg(size > 0, "dmabuf fd %d: size %lld", fd, (long long)size);
		uint8_t *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
		ck_assert_msg(m != MAP_FAILED, "mmap dmabuf: %s", strerror(errno));
		const struct vigil_frame *v = &f->frame;
		int rows = p == 0 ? v->height : (v->height + 1) / 2;
		int plane = p;
		if (f->num_planes == 1 && v->format == VIGIL_FORMAT_NV12) {
			/* NV12 single-planar: both planes in one buffer */
			ck_assert(memcmp(m + f->plane_offset[1], v->planes[1], (size_t)v->strides[1] * (rows / 2)) ==
				  0);
		}
		ck_assert_msg(memcmp(m + f->plane_offset[plane], v->planes[plane], (size_t)v->strides[plane] * rows) ==
				  0,
			      "dmabuf plane %d differs from the frame", p);
		munmap(m, (size_t)size);
	}
	/* one fd for every plane: the frame itself describes the dmabuf (what the OpenCL backend imports) */
	if (f->num_planes == 1) {
		const struct vigil_dmabuf *d = f->frame.dmabuf;
		ck_assert_msg(d != NULL, "single-planar frame without frame.dmabuf");
		ck_assert_int_eq(d->fd, f->dmabuf_fd[0]);
		/* the V4L2 buffer's length: inside the dmabuf (which the kernel rounds up to pages), and holding
		 * every plane */
		ck_assert_uint_le(d->size, (size_t)lseek(d->fd, 0, SEEK_END));
		ck_assert_uint_ge(d->size, (size_t)f->frame.strides[0] * (size_t)f->frame.height);
		for (int p = 0; p < 3 && f->frame.planes[p]; p++)
			ck_assert_uint_eq(d->offsets[p], (size_t)(f->frame.planes[p] - f->frame.planes[0]));
	} else {
		ck_assert_msg(f->frame.dmabuf == NULL, "multi-planar frame with a single frame.dmabuf");
	}
}

struct fmt_case {
	const char *dev;
	uint32_t fourcc;
	int w, h;
	int planes;
};
static const struct fmt_case fmt_cases[] = {
	{ "/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 640, 480, 1 },
	{ "/dev/video0", VIGIL_FOURCC('Y', 'U', 'Y', 'V'), 640, 480, 1 },
	{ "/dev/video1", VIGIL_FOURCC('N', 'M', '1', '2'), 640, 480, 2 },
	{ "/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 1920, 1080, 1 },
	{ "/dev/video0", VIGIL_FOURCC('Y', 'U', 'Y', 'V'), 1920, 1080, 1 },
	{ "/dev/video1", VIGIL_FOURCC('N', 'M', '1', '2'), 1920, 1080, 2 },
};

START_TEST(test_stream_formats)
{
	const struct fmt_case *c = &fmt_cases[_i];
	struct vigil_capture *cap = open_cap(c->dev, c->fourcc, c->w, c->h);
	uint32_t fourcc;
	int w, h;
	double fps;
	vigil_capture_format(cap, &fourcc, &w, &h, &fps);
	ck_assert_uint_eq(fourcc, c->fourcc);
	ck_assert_int_eq(w, c->w);
	ck_assert_int_eq(h, c->h);
	ck_assert_msg(fps > 0, "no frame rate");
	ck_assert_int_eq(vigil_capture_start(cap), 0);
	uint32_t last = 0;
	int64_t last_ts = 0;
	for (int i = 0; i < 4; i++) {
		struct vigil_capture_frame *f = next_ok(cap);
		ck_assert_int_eq(f->num_planes, c->planes);
		ck_assert_int_eq(f->frame.width, c->w);
		ck_assert(f->flags == 0);
		if (i > 0) {
			ck_assert_msg(f->sequence > last, "sequence %u after %u", f->sequence, last);
			ck_assert_msg(f->timestamp_ns > last_ts, "timestamps not increasing");
		}
		last = f->sequence;
		last_ts = f->timestamp_ns;
		ck_assert_msg(f->bytesused[0] > 0, "empty buffer");
		check_colorbars(&f->frame);
		check_dmabuf(f);
		vigil_capture_frame_unref(f);
	}
	vigil_capture_close(cap);
}
END_TEST

/* Buffers allocated by another device (vivid #0 exports them) are queued by fd into vivid #2's capture. */
START_TEST(test_dmabuf_import)
{
	need_device("/dev/video0");
	int exp = open("/dev/video0", O_RDWR | O_CLOEXEC);
	ck_assert(exp >= 0);
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	f.fmt.pix.width = 640;
	f.fmt.pix.height = 480;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_NV12;
	ck_assert(ioctl(exp, VIDIOC_S_FMT, &f) == 0);
	struct v4l2_requestbuffers rb = { .count = 4, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
	ck_assert(ioctl(exp, VIDIOC_REQBUFS, &rb) == 0);
	ck_assert_uint_eq(rb.count, 4);
	struct vigil_capture_config cfg;
	vigil_capture_config_init(&cfg);
	cfg.device = "/dev/video2";
	cfg.fourcc = VIGIL_FOURCC('N', 'V', '1', '2');
	cfg.width = 640;
	cfg.height = 480;
	cfg.io = VIGIL_CAPTURE_IO_DMABUF;
	for (int i = 0; i < 4; i++) {
		struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						.index = (uint32_t)i,
						.flags = O_RDWR | O_CLOEXEC };
		ck_assert_msg(ioctl(exp, VIDIOC_EXPBUF, &eb) == 0, "EXPBUF: %s", strerror(errno));
		cfg.import_fds[i][0] = eb.fd;
	}
	struct vigil_capture *cap;
	int r = vigil_capture_open(&cfg, &cap);
	ck_assert_msg(r == 0, "open import: %s", vigil_last_error());
	for (int i = 0; i < 4; i++) {
		struct vigil_capture_frame *fr = next_ok(cap);
		ck_assert_int_eq(fr->dmabuf_fd[0], cfg.import_fds[fr->index][0]);
		check_colorbars(&fr->frame);
		vigil_capture_frame_unref(fr);
	}
	vigil_capture_close(cap);
	for (int i = 0; i < 4; i++)
		close(cfg.import_fds[i][0]);
	close(exp);
}
END_TEST

START_TEST(test_disconnect_reconnect)
{
	need_device("/dev/video2");
	struct vigil_capture_config cfg;
	vigil_capture_config_init(&cfg);
	cfg.device = "/dev/video2";
	cfg.reconnect = 1;
	struct vigil_capture *cap;
	ck_assert_int_eq(vigil_capture_open(&cfg, &cap), 0);
	vigil_capture_frame_unref(next_ok(cap));
	int64_t t0 = mono_ms();
	set_ctrl("/dev/video2", VIVID_CID_DISCONNECT, 0);
	struct vigil_capture_frame *f = NULL;
	int r;
	while ((r = vigil_capture_next(cap, &f)) == 0) { /* frames already done may still come out */
		vigil_capture_frame_unref(f);
		ck_assert_msg(mono_ms() - t0 < 1000, "no error 1 s after the disconnect");
	}
	int64_t t_err = mono_ms() - t0;
	ck_assert_msg(r == -ENODEV || r == -EIO, "disconnect gave %s (%s)", vigil_strerror(r), vigil_last_error());
	ck_assert_msg(t_err <= 1000, "disconnect reported after %lld ms", (long long)t_err);
	fprintf(stderr, "disconnect reported after %lld ms: %s\n", (long long)t_err, vigil_last_error());
	/* vivid comes back once every file handle is closed, which our error path did */
	int64_t t1 = mono_ms();
	while ((r = vigil_capture_next(cap, &f)) != 0) {
		ck_assert_msg(r == -EAGAIN, "reconnect: %s (%s)", vigil_strerror(r), vigil_last_error());
		ck_assert_msg(mono_ms() - t1 < 2000, "not reconnected within 2 s: %s", vigil_last_error());
	}
	fprintf(stderr, "streaming again %lld ms after the device came back\n", (long long)(mono_ms() - t1));
	check_colorbars(&f->frame);
	vigil_capture_frame_unref(f);
	struct vigil_capture_stats st;
	vigil_capture_get_stats(cap, &st);
	ck_assert_uint_eq(st.reconnects, 1);
	vigil_capture_close(cap);
}
END_TEST

START_TEST(test_dropped_and_stall)
{
	struct vigil_capture *cap = open_cap("/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 640, 480);
	ck_assert_int_eq(vigil_capture_start(cap), 0);
	vigil_capture_frame_unref(next_ok(cap));
	set_ctrl("/dev/video0", VIVID_CID_PERC_DROPPED, 50);
	uint64_t gaps = 0;
	uint32_t last = 0;
	for (int i = 0; i < 20; i++) {
		struct vigil_capture_frame *f = next_ok(cap);
		if (i > 0 && f->sequence > last + 1)
			gaps += f->sequence - last - 1;
		last = f->sequence;
		vigil_capture_frame_unref(f);
	}
	struct vigil_capture_stats st;
	vigil_capture_get_stats(cap, &st);
	ck_assert_msg(gaps > 0, "no sequence gaps with 50%% dropped buffers");
	ck_assert_msg(st.dropped >= gaps, "dropped %llu < gaps seen %llu", (unsigned long long)st.dropped,
		      (unsigned long long)gaps);
	/* every buffer dropped: the watchdog reports a stall within max(3 intervals, 200 ms) */
	set_ctrl("/dev/video0", VIVID_CID_PERC_DROPPED, 100);
	struct vigil_capture_frame *f;
	int r;
	int64_t t0 = mono_ms();
	while ((r = vigil_capture_next(cap, &f)) == 0)
		vigil_capture_frame_unref(f);
	int64_t dt = mono_ms() - t0;
	ck_assert_msg(r == -ETIMEDOUT, "expected a stall, got %s (%s)", vigil_strerror(r), vigil_last_error());
	ck_assert_msg(dt < 1500, "stall reported after %lld ms", (long long)dt);
	vigil_capture_get_stats(cap, &st);
	ck_assert_uint_ge(st.stalls, 1);
	set_ctrl("/dev/video0", VIVID_CID_PERC_DROPPED, 0);
	vigil_capture_frame_unref(next_ok(cap));
	vigil_capture_close(cap);
}
END_TEST

START_TEST(test_corrupt_flag)
{
	struct vigil_capture *cap = open_cap("/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 640, 480);
	ck_assert_int_eq(vigil_capture_start(cap), 0);
	vigil_capture_frame_unref(next_ok(cap));
	set_ctrl("/dev/video0", VIVID_CID_BUF_ERROR, 0);
	int seen = 0;
	for (int i = 0; i < 10 && !seen; i++) {
		struct vigil_capture_frame *f = next_ok(cap);
		seen = !!(f->flags & VIGIL_CAPTURE_FRAME_CORRUPT);
		vigil_capture_frame_unref(f);
	}
	ck_assert_msg(seen, "no frame reported corrupt after injecting V4L2_BUF_FLAG_ERROR");
	struct vigil_capture_stats st;
	vigil_capture_get_stats(cap, &st);
	ck_assert_uint_eq(st.corrupt, 1);
	vigil_capture_close(cap);
}
END_TEST

START_TEST(test_streamon_qbuf_errors)
{
	struct vigil_capture *cap = open_cap("/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 640, 480);
	set_ctrl("/dev/video0", VIVID_CID_STREAMON_ERROR, 0);
	int r = vigil_capture_start(cap);
	ck_assert_msg(r < 0, "STREAMON error injection not reported");
	ck_assert_msg(strstr(vigil_last_error(), "STREAMON"), "message: %s", vigil_last_error());
	ck_assert_int_eq(vigil_capture_start(cap), 0); /* one-shot: the next start works */
	vigil_capture_frame_unref(next_ok(cap));
	vigil_capture_stop(cap);
	set_ctrl("/dev/video0", VIVID_CID_QBUF_ERROR, 0);
	r = vigil_capture_start(cap);
	ck_assert_msg(r < 0, "QBUF error injection not reported");
	ck_assert_msg(strstr(vigil_last_error(), "QBUF"), "message: %s", vigil_last_error());
	ck_assert_int_eq(vigil_capture_start(cap), 0);
	vigil_capture_frame_unref(next_ok(cap));
	/* a QBUF failure when a frame is released is retried by the next next() */
	struct vigil_capture_frame *f = next_ok(cap);
	set_ctrl("/dev/video0", VIVID_CID_QBUF_ERROR, 0);
	vigil_capture_frame_unref(f);
	for (int i = 0; i < 6; i++)
		vigil_capture_frame_unref(next_ok(cap));
	vigil_capture_close(cap);
}
END_TEST

START_TEST(test_fatal_error)
{
	struct vigil_capture *cap = open_cap("/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), 640, 480);
	ck_assert_int_eq(vigil_capture_start(cap), 0);
	vigil_capture_frame_unref(next_ok(cap));
	int64_t t0 = mono_ms();
	set_ctrl("/dev/video0", VIVID_CID_FATAL_ERROR, 0);
	struct vigil_capture_frame *f;
	int r;
	while ((r = vigil_capture_next(cap, &f)) == 0)
		vigil_capture_frame_unref(f);
	ck_assert_msg(r == -EIO || r == -ENODEV, "fatal streaming error gave %s (%s)", vigil_strerror(r),
		      vigil_last_error());
	ck_assert_msg(mono_ms() - t0 <= 1000, "reported after %lld ms", (long long)(mono_ms() - t0));
	vigil_capture_close(cap);
}
END_TEST

/* Consumers holding every buffer: copies into spares, then drops, never a starved driver. */
START_TEST(test_held_buffers)
{
	need_device("/dev/video0");
	struct vigil_capture_config cfg;
	vigil_capture_config_init(&cfg);
	cfg.device = "/dev/video0";
	cfg.num_buffers = 3;
	cfg.spare_buffers = 1;
	struct vigil_capture *cap;
	ck_assert_int_eq(vigil_capture_open(&cfg, &cap), 0);
	struct vigil_capture_frame *held[8];
	int n = 0, r = 0;
	while (n < 8 && (r = vigil_capture_next(cap, &held[n])) == 0)
		n++;
	ck_assert_msg(r == -ENOBUFS, "holding %d frames gave %s (%s)", n, vigil_strerror(r), vigil_last_error());
	ck_assert_int_eq(n, 3); /* 2 driver buffers (one always stays queued) + 1 spare copy */
	ck_assert(held[2]->flags & VIGIL_CAPTURE_FRAME_COPIED);
	ck_assert_int_eq(held[2]->dmabuf_fd[0], -1);
	check_colorbars(&held[2]->frame);
	struct vigil_capture_stats st;
	vigil_capture_get_stats(cap, &st);
	ck_assert_uint_eq(st.copied, 1);
	ck_assert_uint_eq(st.held_drop, 1);
	for (int i = 0; i < n; i++)
		vigil_capture_frame_unref(held[i]);
	for (int i = 0; i < 4; i++) {
		struct vigil_capture_frame *f = next_ok(cap);
		ck_assert(!(f->flags & VIGIL_CAPTURE_FRAME_COPIED));
		vigil_capture_frame_unref(f);
	}
	vigil_capture_close(cap);
}
END_TEST

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Mappings of video buffers or dmabufs (malloc's own anonymous mappings come and go with its thresholds). A
 * dmabuf's mapping is named "/dmabuf:NAME" (or "anon_inode:dmabuf"); "dmabuf" alone would also match this
 * program's own path when a directory above it has the word in its name. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, " /dev/video") || strstr(line, "/dmabuf:") || strstr(line, "anon_inode:dmabuf") ||
		     strstr(line, "dma_buf");
	fclose(f);
	return n;
}

START_TEST(test_cycles_no_leaks)
{
	need_device("/dev/video0");
	/* warm up once so lazily loaded libraries do not count */
	struct vigil_capture *cap = open_cap("/dev/video0", 0, 640, 480);
	vigil_capture_frame_unref(next_ok(cap));
	vigil_capture_close(cap);
	int fds = count_fds(), maps = count_maps();
	ck_assert_int_eq(maps, 0);
	for (int i = 0; i < 100; i++) {
		cap = open_cap(i % 2 ? "/dev/video1" : "/dev/video0", 0, 640, 480);
		ck_assert_int_eq(vigil_capture_start(cap), 0);
		struct vigil_capture_frame *f = next_ok(cap);
		vigil_capture_stop(cap);
		if (i % 3 == 0) { /* a frame held across close keeps its buffer until released */
			vigil_capture_close(cap);
			ck_assert_int_gt(count_maps(), 0);
			check_colorbars(&f->frame);
			vigil_capture_frame_unref(f);
		} else {
			vigil_capture_frame_unref(f);
			ck_assert_int_eq(vigil_capture_start(cap), 0);
			vigil_capture_frame_unref(next_ok(cap));
			vigil_capture_close(cap);
		}
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_maps(), maps);
}
END_TEST

START_TEST(test_bad_input)
{
	struct vigil_capture_config cfg;
	vigil_capture_config_init(&cfg);
	struct vigil_capture *cap;
	cfg.device = "/dev/null";
	ck_assert_int_eq(vigil_capture_open(&cfg, &cap), -ENODEV);
	ck_assert_ptr_null(cap);
	cfg.device = "/nonexistent/video9";
	ck_assert_int_eq(vigil_capture_open(&cfg, &cap), -ENOENT);
	cfg.device = "/dev/video0";
	cfg.fourcc = VIGIL_FOURCC('H', '2', '6', '4');
	int r = vigil_capture_open(&cfg, &cap);
	ck_assert_int_eq(r, VIGIL_EFORMAT);
	ck_assert_msg(strstr(vigil_last_error(), "NV12"), "message lists offered formats: %s", vigil_last_error());
	cfg.fourcc = 0;
	cfg.num_buffers = 1;
	ck_assert_int_eq(vigil_capture_open(&cfg, &cap), -EINVAL);
	char path[64];
	ck_assert_int_eq(vigil_capture_find(path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/video0");
}
END_TEST

/* Capture throughput and CPU time per frame in the capturing thread: the zero-copy path (dequeue, hand out,
 * re-queue) and what copying each frame out of the driver's buffer would add. Numbers, not assertions. */
static double thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

START_TEST(test_measure)
{
	static const struct {
		int w, h, n;
	} sizes[] = { { 640, 480, 50 }, { 1920, 1080, 10 } };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int w = sizes[k].w, h = sizes[k].h, n = sizes[k].n;
		struct vigil_capture *cap = open_cap("/dev/video0", VIGIL_FOURCC('N', 'V', '1', '2'), w, h);
		double rate;
		vigil_capture_format(cap, NULL, NULL, NULL, &rate);
		uint8_t *dst = malloc((size_t)w * h * 3 / 2);
		ck_assert(dst);
		vigil_capture_frame_unref(next_ok(cap));
		double copy_us = 0, c0 = thread_cpu_us();
		int64_t t0 = mono_ms();
		for (int i = 0; i < n; i++) {
			struct vigil_capture_frame *f = next_ok(cap);
			double a = thread_cpu_us();
			for (int y = 0; y < h; y++)
				memcpy(dst + (size_t)y * w, f->frame.planes[0] + (size_t)y * f->frame.strides[0],
				       (size_t)w);
			for (int y = 0; y < h / 2; y++)
				memcpy(dst + (size_t)(h + y) * w, f->frame.planes[1] + (size_t)y * f->frame.strides[1],
				       (size_t)w);
			copy_us += thread_cpu_us() - a;
			vigil_capture_frame_unref(f);
		}
		double total_us = (thread_cpu_us() - c0) / n;
		double fps = n * 1000.0 / (double)(mono_ms() - t0);
		fprintf(stderr,
			"measure: NV12 %dx%d: %.1f fps captured (driver rate %.0f); capture thread CPU per frame: "
			"zero-copy %.0f us, a copy of the frame adds %.0f us\n",
			w, h, fps, rate, total_us - copy_us / n, copy_us / n);
		free(dst);
		vigil_capture_close(cap);
	}
}
END_TEST

static Suite *capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("vivid");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bad_input);
	tcase_add_loop_test(tc, test_stream_formats, 0, (int)(sizeof(fmt_cases) / sizeof(fmt_cases[0])));
	tcase_add_test(tc, test_dmabuf_import);
	tcase_add_test(tc, test_corrupt_flag);
	tcase_add_test(tc, test_dropped_and_stall);
	tcase_add_test(tc, test_streamon_qbuf_errors);
	tcase_add_test(tc, test_held_buffers);
	tcase_add_test(tc, test_fatal_error);
	tcase_add_test(tc, test_disconnect_reconnect);
	tcase_add_test(tc, test_cycles_no_leaks);
	tcase_add_test(tc, test_measure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(capture_suite(), CK_FORK);
}
