#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End-to-end checks of `vigil run FILE` on video files made here with GStreamer (pipeline/cli/video_source.c):
# one record per decoded frame with the decoder's pts, faces found on a face-photo video, --frames, end of
# stream, the stats line under --duration, still images still taken as images, and clear errors (non-zero
# exit, no crash) for truncated and corrupt files.
# meson runs it as: test_run_video.sh /path/to/vigil, with VIGIL_TEST_DATA pointing at tests/data. POSIX sh.

VIGIL=$1
HARNESS_TAG=runvideo
. "$(dirname "$0")/cli_harness.sh"
# check NAME PYTHON: python3 over the JSON lines in $T/out (list recs), passes when it exits 0
check() {
	if python3 -c "import json
recs = [json.loads(l) for l in open('$T/out')]
$2" >"$T/py" 2>&1; then ok "$1"; else
		sed 's/^/  /' "$T/py"
		not_ok "$1"
	fi
}
# expect_err NAME TEXT: last run exited with 1 (not a crash) and stderr holds TEXT
expect_err() {
	if [ "$rc" -eq 1 ] && grep -qF -- "$2" "$T/err"; then ok "$1"; else
		echo "  status $rc (want 1), stderr lacks: $2"
		not_ok "$1"
	fi
}
make_video() {
	if ! gst-launch-1.0 -q "$@" >"$T/gst.log" 2>&1; then
		sed 's/^/    /' "$T/gst.log"
		echo "gst-launch-1.0 could not make a test video (scripts/setup.sh installs the plugins)" >&2
		exit 1
	fi
}

# ---- a face photo as a 12-frame H.264 MP4 at 10 fps (x264enc: plugins-ugly) ----
make_video filesrc location="$D/faces/sample3.jpg" ! jpegdec ! videoconvert ! videoscale ! \
	video/x-raw,width=640,height=480 ! imagefreeze num-buffers=12 ! video/x-raw,framerate=10/1 ! videoconvert ! \
	x264enc ! mp4mux ! filesink location="$T/faces.mp4"
run run --model face-full "$T/faces.mp4"
if [ "$rc" -eq 0 ]; then ok "run on an H.264 MP4 exits 0 at the end of the stream"; else not_ok "run on an H.264 MP4 exits 0 at the end of the stream"; fi
check "MP4: a record per frame, frames 0..11, pts from the decoder 100 ms apart, faces on every frame" '
assert len(recs) == 12, len(recs)
assert [r["frame"] for r in recs] == list(range(12)), [r["frame"] for r in recs]
pts = [r["pts_ns"] for r in recs]
assert all(isinstance(p, int) for p in pts), pts
assert all(b - a == 100000000 for a, b in zip(pts, pts[1:])), pts
for r in recs:
    assert r["source"].endswith("faces.mp4") and (r["width"], r["height"]) == (640, 480), r
    assert r["model"] == "face-full"
    faces = [d for d in r["detections"] if d["label"] == "face" and d["score"] >= 0.5]
    assert len(faces) >= 2, r["detections"]'

# ---- the same as MJPEG in AVI, with --frames ----
make_video filesrc location="$D/faces/sample3.jpg" ! jpegdec ! videoconvert ! videoscale ! \
	video/x-raw,width=480,height=320 ! imagefreeze num-buffers=8 ! video/x-raw,framerate=25/1 ! jpegenc ! \
	avimux ! filesink location="$T/faces.avi"
run run --model face-full --frames 5 "$T/faces.avi"
check "AVI/MJPEG --frames 5: five records, pts 40 ms apart from 0, faces found" '
assert len(recs) == 5, len(recs)
assert [r["frame"] for r in recs] == list(range(5))
assert [r["pts_ns"] for r in recs] == [i * 40000000 for i in range(5)], [r["pts_ns"] for r in recs]
assert all(any(d["label"] == "face" for d in r["detections"]) for r in recs)'
if [ "$rc" -eq 0 ] && grep -q "vigil run: 5 frames from .*faces.avi" "$T/err"; then ok "--frames: summary line on stderr"; else
	not_ok "--frames: summary line on stderr"
fi

# ---- --duration on a long video: stops early, stats lines every second ----
make_video videotestsrc num-buffers=2000 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 ! \
	jpegenc ! avimux ! filesink location="$T/long.avi"
run run --model face-short --duration 2 "$T/long.avi"
check "--duration 2: stops before the end, frames numbered in order, pts increasing" '
n = len(recs)
assert 0 < n < 2000, n
assert [r["frame"] for r in recs] == list(range(n))
pts = [r["pts_ns"] for r in recs]
assert all(b > a for a, b in zip(pts, pts[1:])), pts[:10]'
if [ "$rc" -eq 0 ] &&
	grep -Eq '^vigil run: [0-9.]+ fps, wait [0-9.]+/[0-9.]+, preprocess [0-9.]+/[0-9.]+, inference [0-9.]+/[0-9.]+, postprocess [0-9.]+/[0-9.]+ ms p50/p99, dropped 0' "$T/err"; then
	ok "--duration 2: a stats line every second on stderr"
else
	not_ok "--duration 2: a stats line every second on stderr"
fi
run run --quiet --model face-short --duration 1 "$T/long.avi"
if [ "$rc" -eq 0 ] && ! grep -q " fps, " "$T/err"; then ok "--quiet: no stats lines"; else not_ok "--quiet: no stats lines"; fi

# ---- still images are still images ----
gst-launch-1.0 -q filesrc location="$D/faces/sample3.jpg" ! jpegdec ! videoconvert ! pngenc ! \
	filesink location="$T/still.png" >/dev/null 2>&1
run run --model face-full --frames 2 "$T/still.png"
check "a PNG is a still image: --frames repeats it, no pts" '
assert [r["frame"] for r in recs] == [0, 1] and all(r["pts_ns"] is None for r in recs), recs
assert all(len(r["detections"]) > 0 for r in recs)'

# ---- files that do not decode ----
head -c 30000 "$T/faces.mp4" >"$T/truncated.mp4"
run run "$T/truncated.mp4"
expect_err "a truncated MP4 is a clear error" "truncated.mp4: cannot decode"
[ -s "$T/out" ] && not_ok "a truncated MP4 prints no records"
head -c 5000 "$T/faces.avi" >"$T/truncated.avi"
run run "$T/truncated.avi"
if [ "$rc" -le 1 ] && ! grep -q "Sanitizer\|Segmentation" "$T/err"; then ok "a truncated AVI does not crash (status $rc)"; else
	not_ok "a truncated AVI does not crash (status $rc)"
fi
python3 -c "import random, sys; random.seed(7); sys.stdout.buffer.write(bytes(random.randrange(256) for _ in range(65536)))" >"$T/noise.avi"
run run "$T/noise.avi"
expect_err "random bytes are a clear error" "noise.avi: cannot decode"
printf 'RIFF\000\001\000\000AVI LIST' >"$T/header.avi"
head -c 20000 "$T/noise.avi" >>"$T/header.avi"
run run "$T/header.avi"
expect_err "an AVI header over garbage is a clear error" "header.avi: cannot decode"
run run "$T/missing.avi"
expect_err "a missing file names it" "missing.avi"

echo "run_video: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
