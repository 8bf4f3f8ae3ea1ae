#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End-to-end checks of the vigil command-line tool: subcommands, JSON records, annotated output, exit codes.
# meson runs it as: test_cli.sh /path/to/vigil, with VIGIL_TEST_DATA pointing at tests/data (and, in a cross
# build, VIGIL_EXE_WRAPPER naming the emulator that runs the binary, e.g. "qemu-aarch64 -L /").
# JSON is checked with python3 (always present where meson is). POSIX sh only.

VIGIL=$1
if [ -z "$VIGIL" ] || [ ! -x "$VIGIL" ]; then
	echo "usage: $0 /path/to/vigil (with VIGIL_TEST_DATA set)" >&2
	exit 2
fi
if [ -z "$VIGIL_TEST_DATA" ]; then
	echo "VIGIL_TEST_DATA is not set (run through meson test)" >&2
	exit 2
fi
for f in faces/sample1.jpg faces/sample2.jpg sergey/sergey.png; do
	if [ ! -f "$VIGIL_TEST_DATA/$f" ]; then
		echo "test data missing: $VIGIL_TEST_DATA/$f" >&2
		exit 1
	fi
done

S1=$VIGIL_TEST_DATA/faces/sample1.jpg
S2=$VIGIL_TEST_DATA/faces/sample2.jpg
SERGEY=$VIGIL_TEST_DATA/sergey/sergey.png
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cli-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	if [ -s "$T/err" ]; then
		echo "  stderr:"
		sed 's/^/    /' "$T/err" | head -n 20
	fi
}

# run ARGS...: runs vigil, leaving stdout in $T/out, stderr in $T/err and the status in $rc
run() {
	# shellcheck disable=SC2086 # the wrapper is a command line
	$VIGIL_EXE_WRAPPER "$VIGIL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect NAME STATUS: passes when the last run exited with STATUS
expect_rc() {
	if [ "$rc" -eq "$2" ]; then
		ok "$1"
	else
		echo "  exit status $rc, expected $2"
		not_ok "$1"
	fi
}

# check_py NAME SCRIPT [ARGS...]: runs a python3 check over $T/out; passes when it exits 0
check_py() {
	name=$1
	script=$2
	shift 2
	if python3 -c "$script" "$@" <"$T/out" >"$T/py" 2>&1; then
		ok "$name"
	else
		sed 's/^/  /' "$T/py"
		not_ok "$name"
	fi
}

# is_jpeg FILE: the file starts with the JPEG SOI marker and a third 0xff
is_jpeg() {
	[ -s "$1" ] && [ "$(od -An -tx1 -N3 "$1" | tr -d ' \n')" = "ffd8ff" ]
}

# Validates detection records read from stdin, one per line.
# argv: expected line count, then per line "source:frame:min_detections".
RECORD_CHECK='
import json, sys
lines = sys.stdin.read().splitlines()
want = int(sys.argv[1])
assert len(lines) == want, "%d lines, expected %d" % (len(lines), want)
for line, spec in zip(lines, sys.argv[2:]):
    source, frame, min_dets = spec.rsplit(":", 2)
    r = json.loads(line)
    keys = ["source", "frame", "pts_ns", "width", "height", "model", "timing_ms", "detections"]
    for k in keys:
        assert k in r, "record lacks %r: %s" % (k, line[:200])
    assert r["source"] == source, (r["source"], source)
    assert r["frame"] == int(frame), (r["frame"], frame)
    assert r["pts_ns"] is None
    assert r["width"] > 0 and r["height"] > 0
    assert r["model"] == "face-full", r["model"]
    for k in ("preprocess", "inference", "postprocess"):
        assert r["timing_ms"][k] >= 0, r["timing_ms"]
    dets = r["detections"]
    assert len(dets) >= int(min_dets), "%s: %d detections, expected >= %s" % (source, len(dets), min_dets)
    for d in dets:
        assert d["label"] == "face" and d["label_id"] == 0, d
        assert 0 < d["score"] <= 1, d
        assert d["w"] > 0 and d["h"] > 0, d
        assert len(d["keypoints"]) == 6, d
        assert all(len(p) == 2 for p in d["keypoints"]), d
        assert "track_id" not in d, d
    scores = [d["score"] for d in dets]
    assert scores == sorted(scores, reverse=True), scores
'

# --- global options -----------------------------------------------------------------------------------------
run --version
if [ "$rc" -eq 0 ] && grep -Eq '^vigil [0-9]+\.[0-9]+\.[0-9]+$' "$T/out"; then
	ok "--version"
else
	not_ok "--version"
fi

run --help
if [ "$rc" -eq 0 ] && grep -q detect "$T/out" && grep -q models "$T/out" && grep -q bench "$T/out"; then
	ok "--help lists the commands"
else
	not_ok "--help lists the commands"
fi

for cmd in detect models bench; do
	run "$cmd" --help
	if [ "$rc" -eq 0 ] && grep -q "^Usage: vigil $cmd" "$T/out"; then ok "$cmd --help"; else not_ok "$cmd --help"; fi
done

run help detect
if [ "$rc" -eq 0 ] && grep -q "^Usage: vigil detect" "$T/out"; then ok "help detect"; else not_ok "help detect"; fi

# --- models -------------------------------------------------------------------------------------------------
run models
if [ "$rc" -eq 0 ] &&
	grep -Eq '^face-full +\(default\) +192x192 +2304 ' "$T/out" &&
	grep -Eq '^face-short +128x128 +896 ' "$T/out" &&
	[ "$(grep -c '(default)' "$T/out")" -eq 1 ]; then
	ok "models lists face-full (default) and face-short with sizes and anchors"
else
	sed 's/^/  /' "$T/out"
	not_ok "models lists face-full (default) and face-short with sizes and anchors"
fi

# --- detect -------------------------------------------------------------------------------------------------
run detect --json "$S1"
expect_rc "detect --json exits 0" 0
check_py "detect --json prints one record with >= 2 faces of 6 keypoints" "$RECORD_CHECK" 1 "$S1:0:2"

run detect --json "$S1" "$SERGEY" "$S2"
expect_rc "detect --json on three images exits 0" 0
check_py "one record per image, in order, frame = position" "$RECORD_CHECK" 3 "$S1:0:2" "$SERGEY:1:1" "$S2:2:1"

run detect --json --model face-short "$SERGEY"
check_py "--model face-short is named in the record" '
import json, sys
r = json.loads(sys.stdin.read())
assert r["model"] == "face-short", r["model"]
assert len(r["detections"]) == 1, r["detections"]
'

# The threshold is honoured: a higher one never finds more faces, a very high one finds none of these.
run detect --json "$S1"
cp "$T/out" "$T/default.json"
run detect --json --threshold 0.3 "$S1"
cp "$T/out" "$T/low.json"
run detect --json --threshold 0.999 "$S1"
expect_rc "--threshold 0.999 exits 0" 0
check_py "--threshold filters detections" '
import json, sys
high = json.loads(sys.stdin.read())
default = json.load(open(sys.argv[1]))
low = json.load(open(sys.argv[2]))
n = [len(x["detections"]) for x in (low, default, high)]
assert n[0] >= n[1] >= n[2] and n[2] == 0 and n[1] >= 2, n
assert all(d["score"] >= 0.3 for d in low["detections"])
' "$T/default.json" "$T/low.json"

# coco-ssd: label strings, --labels keeps only the named labels with their own minimum scores
run detect --json --model coco-ssd --threshold 0.3 "$S1"
expect_rc "detect --model coco-ssd exits 0" 0
cp "$T/out" "$T/coco.json"
run detect --json --model coco-ssd --threshold 0.3 --labels "person=0.6,handbag" "$S1"
expect_rc "--labels exits 0" 0
check_py "--labels keeps persons from 0.6 and handbags, drops the rest" '
import json, sys
r = json.loads(sys.stdin.read())
all_ = json.load(open(sys.argv[1]))["detections"]
assert r["model"] == "coco-ssd"
labels = {d["label"] for d in all_}
assert "person" in labels and len(labels) >= 2, labels
want = [d for d in all_ if (d["label"] == "person" and d["score"] >= 0.6) or d["label"] == "handbag"]
assert r["detections"] == want, (r["detections"], want)
assert len(want) >= 2
' "$T/coco.json"
run detect --model coco-ssd --labels "persn" "$S1"
expect_rc "--labels with an unknown label is a usage error" 2
if grep -q "no label 'persn'" "$T/err"; then ok "--labels names the unknown label"; else not_ok "--labels names the unknown label"; fi

# --sampling corner reproduces MediaPipe's CPU-graph golden for sergey.png (score 0.92843366), which the
# default pixel-centre sampling does not reach within 1e-3.
run detect --json --model face-short --sampling corner "$SERGEY"
expect_rc "--sampling corner exits 0" 0
check_py "--sampling corner matches MediaPipe's sergey golden" '
import json, sys
r = json.loads(sys.stdin.read())
assert len(r["detections"]) == 1 and abs(r["detections"][0]["score"] - 0.92843366) < 1e-3, r["detections"]
'
run detect --json --model face-short "$SERGEY"
check_py "default sampling differs on sergey.png" '
import json, sys
r = json.loads(sys.stdin.read())
assert len(r["detections"]) == 1 and abs(r["detections"][0]["score"] - 0.92843366) > 1e-3, r["detections"]
'
run detect --sampling sideways "$S1"
expect_rc "--sampling with an unknown mode is a usage error" 2

# --- --backend ------------------------------------------------------------------------------------------------
run detect --backend gpu "$S1"
expect_rc "--backend with an unknown name is a usage error" 2
run detect --json --model face-short --backend cpu "$S1"
cp "$T/out" "$T/cpu.json"
# OpenCL (PoCL in CI) with its program caches in the temporary directory; in sanitizer builds, PoCL's LLVM
# allocations are suppressed as in the OpenCL suite (tests/lsan-opencl.supp)
LSAN_SUPP="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan-opencl.supp:print_suppressions=0"
XDG_CACHE_HOME=$T/cache POCL_CACHE_DIR=$T/cache/pocl POCL_DEVICES=basic LSAN_OPTIONS=$LSAN_SUPP \
	run detect --json --model face-short --backend opencl "$S1"
expect_rc "--backend opencl exits 0" 0
check_py "--backend opencl gives the CPU backend's detections" '
import json, sys
a = json.loads(sys.stdin.read())["detections"]
b = json.load(open(sys.argv[1]))["detections"]
assert len(a) == len(b) and len(a) > 0, (len(a), len(b))
for x, y in zip(a, b):
    assert abs(x["score"] - y["score"]) < 1e-4 and all(abs(x[k] - y[k]) < 0.05 for k in "xywh"), (x, y)
' "$T/cpu.json"
XDG_CACHE_HOME=$T/cache POCL_DEVICES=basic LSAN_OPTIONS=$LSAN_SUPP run detect --backend opencl --device 9:9 "$S1"
if [ "$rc" -eq 1 ] && grep -q 'OpenCL device "9:9" not found; devices: 0:0' "$T/err"; then
	ok "--device that does not exist fails naming the devices"
else
	sed 's/^/  /' "$T/err"
	not_ok "--device that does not exist fails naming the devices"
fi

run detect "$S1"
if [ "$rc" -eq 0 ] && grep -q "^$S1: 1920x1280, [0-9]* faces" "$T/out" &&
	grep -Eq '^  face +0\.[0-9]+ +box ' "$T/out"; then
	ok "text summary names the image, its size and each face"
else
	sed 's/^/  /' "$T/out"
	not_ok "text summary names the image, its size and each face"
fi

# --- --draw -------------------------------------------------------------------------------------------------
run detect --draw "$T/drawn.jpg" "$S1"
if [ "$rc" -eq 0 ] && is_jpeg "$T/drawn.jpg"; then ok "--draw writes a JPEG"; else not_ok "--draw writes a JPEG"; fi

mkdir "$T/outdir"
run detect --json --draw "$T/outdir" "$S1" "$SERGEY"
if [ "$rc" -eq 0 ] && is_jpeg "$T/outdir/sample1.jpg" && is_jpeg "$T/outdir/sergey.jpg" &&
	[ "$(wc -l <"$T/out")" -eq 2 ]; then
	ok "--draw DIR with several images writes DIR/<name>.jpg for each"
else
	find "$T/outdir" -type f | sed 's/^/  /'
	not_ok "--draw DIR with several images writes DIR/<name>.jpg for each"
fi

run detect --draw "$T/not-a-dir.jpg" "$S1" "$S2"
if [ "$rc" -eq 2 ] && grep -q "directory" "$T/err" && [ ! -e "$T/not-a-dir.jpg" ]; then
	ok "--draw FILE with several images is a usage error"
else
	not_ok "--draw FILE with several images is a usage error"
fi

run detect --draw "$T/outdir" "$S1" "$T/sample1.png"
expect_rc "--draw DIR with two images that map to one output name is a usage error" 2

# --- failures -----------------------------------------------------------------------------------------------
head -c 20000 "$S1" >"$T/truncated.jpg"
printf 'GIF89a this is not a face\n' >"$T/picture.gif"
run detect --json "$S1" "$T/truncated.jpg" "$T/picture.gif" "$T/missing.jpg" "$SERGEY"
if [ "$rc" -eq 1 ]; then ok "corrupt, foreign and missing images exit 1"; else
	echo "  exit status $rc"
	not_ok "corrupt, foreign and missing images exit 1"
fi
check_py "the good images around them are still processed" "$RECORD_CHECK" 2 "$S1:0:2" "$SERGEY:4:1"
if grep -q "$T/truncated.jpg" "$T/err" && grep -q "$T/picture.gif" "$T/err" && grep -q "$T/missing.jpg" "$T/err" &&
	grep -q "not a JPEG or PNG" "$T/err" && grep -q "No such file" "$T/err"; then
	ok "each failure is reported on stderr with the file and the reason"
else
	not_ok "each failure is reported on stderr with the file and the reason"
fi

run detect "$T/truncated.jpg"
if [ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "truncated.jpg" "$T/err"; then
	ok "a single corrupt image exits 1 and prints nothing on stdout"
else
	not_ok "a single corrupt image exits 1 and prints nothing on stdout"
fi

run detect --model "$T/no/such/model.tflite" "$S1"
if [ "$rc" -eq 1 ] && grep -q "$T/no/such/model.tflite" "$T/err" && [ ! -s "$T/out" ]; then
	ok "a nonexistent model path exits 1 naming the path"
else
	echo "  exit status $rc"
	not_ok "a nonexistent model path exits 1 naming the path"
fi

run detect --model "$VIGIL_TEST_DATA/models/face_detection_full_range_sparse.tflite" "$S1"
if [ "$rc" -eq 1 ] && grep -q "sparse" "$T/err" && [ ! -s "$T/out" ]; then
	ok "a model the engine cannot run exits 1 with the reason"
else
	not_ok "a model the engine cannot run exits 1 with the reason"
fi

run detect --model no-such-model "$S1"
if [ "$rc" -eq 1 ] && grep -q "no-such-model" "$T/err"; then ok "an unknown model name exits 1"; else
	not_ok "an unknown model name exits 1"
fi

run detect --draw "$T/no/such/dir/out.jpg" "$S1"
if [ "$rc" -eq 1 ] && grep -q "$T/no/such/dir/out.jpg" "$T/err"; then ok "an unwritable --draw path exits 1"; else
	not_ok "an unwritable --draw path exits 1"
fi

# --- usage errors -------------------------------------------------------------------------------------------
usage_case() {
	name=$1
	shift
	run "$@"
	if [ "$rc" -eq 2 ] && [ -s "$T/err" ] && [ ! -s "$T/out" ]; then ok "usage error: $name"; else
		echo "  exit status $rc, expected 2"
		not_ok "usage error: $name"
	fi
}
usage_case "no command"
usage_case "unknown command" frobnicate
usage_case "unknown global option" --frobnicate
usage_case "unknown detect option" detect --frobnicate "$S1"
usage_case "no images" detect --json
usage_case "threshold above 1" detect --threshold 1.5 "$S1"
usage_case "negative threshold" detect --threshold -0.1 "$S1"
usage_case "threshold not a number" detect --threshold abc "$S1"
usage_case "threshold NaN" detect --threshold nan "$S1"
usage_case "missing threshold value" detect "$S1" --threshold
usage_case "missing model value" detect --model
usage_case "models with an argument" models extra
usage_case "bench --iterations 0" bench --iterations 0
usage_case "bench --iterations junk" bench --iterations 3x
usage_case "bench --warmup -1" bench --warmup -1
usage_case "bench stray argument" bench extra
usage_case "bench --threads 0" bench --threads 0
usage_case "bench --threads 65" bench --threads 65
usage_case "detect --threads junk" detect --threads x "$VIGIL_TEST_DATA/faces/sample2.jpg"
usage_case "help for an unknown command" help frobnicate

# --- bench --------------------------------------------------------------------------------------------------
run bench --iterations 3 --warmup 1 --json
expect_rc "bench --json exits 0" 0
check_py "bench --json prints the timing object" '
import json, sys
text = sys.stdin.read()
assert len(text.strip().splitlines()) == 1, text
r = json.loads(text)
for k in ("model", "backend", "threads", "iterations", "median_ms", "p99_ms", "min_ms", "stages"):
    assert k in r, k
assert r["model"] == "face-full" and r["backend"] == "cpu" and r["threads"] == 1 and r["iterations"] == 3, r
for stage in ("preprocess", "inference", "postprocess", "frame"):
    s = r["stages"][stage]
    assert 0 <= s["min_ms"] <= s["median_ms"] <= s["p99_ms"], (stage, s)
assert r["median_ms"] == r["stages"]["inference"]["median_ms"], r
assert r["min_ms"] == r["stages"]["inference"]["min_ms"], r
assert r["stages"]["inference"]["min_ms"] > 0, r
assert r["stages"]["frame"]["median_ms"] >= r["stages"]["inference"]["median_ms"], r
'

run bench --model face-short --threads 2 --iterations 3 --warmup 1 --json
expect_rc "bench --threads 2 exits 0" 0
check_py "bench --threads 2 reports its threads and kernel set" '
import json, sys
r = json.loads(sys.stdin.read())
assert r["threads"] == 2 and r["model"] == "face-short", r
assert r["kernels"] in ("avx512", "avx2", "neon", "c"), r
'

run bench --model face-short --iterations 2 --warmup 0
if [ "$rc" -eq 0 ] && grep -q "face-short" "$T/out" && grep -Eq '^inference +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$T/out"; then
	ok "bench text output has a row per stage"
else
	sed 's/^/  /' "$T/out"
	not_ok "bench text output has a row per stage"
fi

run bench --model "$T/no/such/model.tflite" --iterations 1
if [ "$rc" -eq 1 ] && grep -q "$T/no/such/model.tflite" "$T/err"; then ok "bench with a missing model exits 1"; else
	not_ok "bench with a missing model exits 1"
fi

# vigil run: cameras are tested in the vivid VM (scripts/vm-test.sh); here the image source and the errors
run run --model face-short --frames 2 "$S2"
expect_rc "run on an image exits 0" 0
check_py "run on an image prints a record per frame" '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert [r["frame"] for r in recs] == [0, 1], recs
assert all(r["source"].endswith("sample2.jpg") and len(r["detections"]) > 0 for r in recs)
'
run run --frames 1 "$T/no/such/camera"
if [ "$rc" -eq 1 ] && grep -q "$T/no/such/camera" "$T/err"; then ok "run on a missing device exits 1"; else
	not_ok "run on a missing device exits 1"
fi
run run --frames 1 /dev/null
if [ "$rc" -eq 1 ] && grep -q "not a V4L2 device" "$T/err"; then ok "run on a non-camera device exits 1"; else
	not_ok "run on a non-camera device exits 1"
fi
run run --frames 0 /dev/null
expect_rc "run --frames 0 is a usage error" 2
run run --size 640 /dev/null
expect_rc "run --size without a height is a usage error" 2
if ! ls /dev/video* >/dev/null 2>&1; then
	run run --frames 1
	if [ "$rc" -eq 1 ] && grep -q "no camera found" "$T/err"; then ok "run without cameras says so"; else
		not_ok "run without cameras says so"
	fi
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
