#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End-to-end checks of `vigil eval`: the three ground-truth formats on photos (MediaPipe's golden faces as the
# answer), a video made here with GStreamer (decoding, tracking metrics with known answers, --dump, SIGINT),
# malformed input with line-numbered errors, and exit codes.
# meson runs it as: test_eval_cli.sh /path/to/vigil, with VIGIL_TEST_DATA pointing at tests/data. POSIX sh.

VIGIL=$1
HARNESS_TAG=eval
. "$(dirname "$0")/cli_harness.sh"
# check NAME PYTHON: python3 over the JSON report in $T/out (variable r), passes when it exits 0
check() {
	if python3 -c "import json, sys
r = json.load(open('$T/out'))
$2" >"$T/py" 2>&1; then ok "$1"; else
		sed 's/^/  /' "$T/py"
		not_ok "$1"
	fi
}
# expect_err NAME STATUS TEXT: last run exited with STATUS and stderr holds TEXT
expect_err() {
	if [ "$rc" -eq "$2" ] && grep -qF -- "$3" "$T/err"; then ok "$1"; else
		echo "  status $rc (want $2), stderr lacks: $3"
		not_ok "$1"
	fi
}

# ---- photos: three formats, the same answer ----
mkdir -p "$T/img"
cp "$D/faces/sample1.jpg" "$D/faces/sample2.jpg" "$D/faces/sample3.jpg" "$D/faces/sample4.jpg" "$T/img/"
for spec in "voc $D/eval/faces.dlib.xml" "voc $D/eval/voc" "coco $D/eval/faces.coco.json"; do
	set -- $spec
	run eval --model face-full --format "$1" --gt "$2" --json "$T/img"
	check "$1 $(basename "$2"): face-full finds MediaPipe's 8 golden faces (AP 1)" '
f = r["labels"]["face"]
assert r["frames"] == 3 and not r["interrupted"], r["frames"]
assert f["num_gt"] == 8 and f["tp"] == 8 and f["fp"] == 0, f
assert f["ap50"] == 1 and f["precision"] == 1 and f["recall"] == 1, f
assert f["ap"] > 0.6, f["ap"]
assert len(f["pr_curve"]["recall"]) == 101 and len(f["pr_curve"]["precision"]) == 101
assert r["tracking"] is None
for s in ("decode", "preprocess", "inference", "postprocess", "total"):
    l = r["latency_ms"][s]
    assert l["samples"] == 3 and 0 <= l["p50"] <= l["p90"] <= l["p99"], (s, l)
    assert sum(l["histogram"]["counts"]) == 3
assert r["throughput"]["frames_per_s"] > 0'
done
if grep -q "1 images in .* are not in the ground truth (skipped)" "$T/err"; then ok "images without ground truth are skipped, with a note"; else
	not_ok "images without ground truth are skipped, with a note"
fi

# the table
run eval --model face-full --format coco --gt "$D/eval/faces.coco.json" "$T/img"
if [ "$rc" -eq 0 ] && grep -Eq '^face +8 +8 +0 +0 +1\.000 +1\.000 +1\.000' "$T/out" && grep -q '^  inference ' "$T/out"; then
	ok "table output"
else
	cat "$T/out"
	not_ok "table output"
fi

# ---- a video: sample3 (3 faces) held still for 10 frames, MJPEG in AVI ----
if gst-launch-1.0 -q filesrc location="$D/faces/sample3.jpg" ! jpegdec ! videoconvert ! videoscale ! \
	video/x-raw,width=960,height=640 ! imagefreeze num-buffers=10 ! jpegenc ! avimux ! \
	filesink location="$T/still.avi" >"$T/err" 2>&1; then
	ok "test video made"
else
	not_ok "test video made"
fi
# MOT ground truth: MediaPipe's golden faces of sample3 at half size, ids 1..3, 1-based pixels
python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["golden"]["full_size"]["full/sample3.jpg"]["models"]["full_dense"]["detections"]
with open(sys.argv[2], "w") as f:
    for frame in range(1, 11):
        for i, d in enumerate(g):
            b = d["bbox_px"]
            f.write("%d,%d,%.2f,%.2f,%.2f,%.2f,1,-1,-1,-1\n" % (frame, i + 1, b["x"] / 2 + 1, b["y"] / 2 + 1, b["w"] / 2, b["h"] / 2))
' "$D/golden/golden_faces.json" "$T/gt.txt"

# Tracking, worked out by hand: 3 still faces x 10 frames = 30 GT boxes. Tracks are confirmed at their 3rd
# detection: with inference on every frame they are hypotheses from frame 3 on, so frames 1-2 miss 6 boxes:
# MOTA = 1 - 6/30 = 0.8, IDTP = 24, IDF1 = 2*24/(30+24) = 0.8889. Every 2nd frame: confirmed at frame 5 (0-based
# 4), predicted boxes carry the ids on the frames between: 18 matches, MOTA = 1 - 12/30 = 0.6, IDF1 = 36/48 = 0.75.
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --track --json \
	--dump "$T/dump.txt" "$T/still.avi"
check "video, --track: MOTA 0.8, IDF1 0.889, no switches" '
t = r["tracking"]
assert r["frames"] == 10 and r["inferences"] == 10, r["frames"]
assert t["num_gt"] == 30 and t["fn"] == 6 and t["fp"] == 0 and t["id_switches"] == 0, t
assert abs(t["mota"] - 0.8) < 1e-6 and abs(t["idf1"] - 48 / 54) < 1e-6, t
assert t["gt_ids"] == 3 and t["hyp_ids"] == 3, t
assert r["labels"]["face"]["ap50"] == 1, r["labels"]["face"]
assert r["latency_ms"]["track"]["samples"] == 10'
if python3 -c '
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1])]
assert len(rows) == 30, len(rows)
for r in rows:
    assert len(r) == 10 and r[7:] == ["-1", "-1", "-1"], r
    float(r[6]); [float(v) for v in r[2:6]]
assert sorted(set(int(r[0]) for r in rows)) == list(range(1, 11))
assert [r[1] for r in rows if r[0] in ("1", "2")] == ["-1"] * 6  # tentative: untracked
assert set(r[1] for r in rows if int(r[0]) >= 3) == {"1", "2", "3"}
' "$T/dump.txt" >"$T/py" 2>&1; then ok "--dump writes MOTChallenge lines"; else
	cat "$T/py"
	not_ok "--dump writes MOTChallenge lines"
fi
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --track --inference-interval 2 \
	--json "$T/still.avi"
check "video, --track --inference-interval 2: predicted boxes keep the ids (MOTA 0.6, IDF1 0.75)" '
t = r["tracking"]
assert r["frames"] == 10 and r["inferences"] == 5, r
assert t["fn"] == 12 and t["fp"] == 0 and t["id_switches"] == 0 and t["fragmentations"] == 0, t
assert abs(t["mota"] - 0.6) < 1e-6 and abs(t["idf1"] - 0.75) < 1e-6, t'
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --frames 4 --json "$T/still.avi"
check "--frames 4 stops after 4 frames; no --track, no tracking metrics" '
assert r["frames"] == 4 and r["labels"]["face"]["num_gt"] == 12 and r["tracking"] is None, r'

# ---- --detections: a dump replayed gives the live run's numbers ----
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --track --inference-interval 2 \
	--json --dump "$T/live.txt" "$T/still.avi"
cp "$T/out" "$T/live.json"
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --json --dump "$T/untracked.txt" \
	"$T/still.avi"
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --json --detections "$T/live.txt"
check "--detections: a tracked dump evaluated again gives the same tracking numbers" '
live = json.load(open("'"$T"'/live.json"))
a, b = dict(r["tracking"]), dict(live["tracking"])
assert abs(a.pop("motp") - b.pop("motp")) < 1e-3 and a == b, (a, b)  # the dump rounds to 0.01 px
assert r["labels"]["face"]["tp"] == live["labels"]["face"]["tp"]'
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --json --track --inference-interval 2 \
	--detections "$T/untracked.txt"
check "--detections --track: the tracker replayed offline matches the live run" '
live = json.load(open("'"$T"'/live.json"))
a, b = dict(r["tracking"]), dict(live["tracking"])
assert abs(a.pop("motp") - b.pop("motp")) < 1e-3 and a == b, (a, b)  # the dump rounds to 0.01 px'
printf '1,1,10,10,40,40\n' >"$T/bad.txt"
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --detections "$T/bad.txt"
expect_err "--detections: short lines are named" 1 "bad.txt:1: 6 columns, detections need at least 7"

# ---- SIGINT: a long video, interrupted ----
gst-launch-1.0 -q videotestsrc num-buffers=3000 pattern=ball ! video/x-raw,width=320,height=240 ! jpegenc ! \
	avimux ! filesink location="$T/long.avi" >/dev/null 2>&1
echo "1,1,10,10,40,40,1,-1,-1,-1" >"$T/gt1.txt"
"$VIGIL" eval --model face-short --label-map person=face --format mot --gt "$T/gt1.txt" --track --json \
	--dump "$T/dump2.txt" "$T/long.avi" >"$T/out" 2>"$T/err" &
pid=$!
sleep 3
kill -INT "$pid"
wait "$pid"
rc=$?
check "SIGINT: exit 0 and a valid report of the frames done" '
assert '"$rc"' == 0
assert r["interrupted"] is True and 0 < r["frames"] < 3000, r["frames"]'
if grep -q "interrupted after" "$T/err" && [ "$(grep -cv '^[0-9]*,-\{0,1\}[0-9]*,[-0-9.]*,[-0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,-1,-1,-1$' "$T/dump2.txt")" -eq 0 ]; then
	ok "SIGINT: the dump holds whole lines only"
else
	not_ok "SIGINT: the dump holds whole lines only"
fi

# ---- vigil detect --track: images as one sequence ----
S3=$D/faces/sample3.jpg
run detect --track --json "$S3" "$S3" "$S3" "$S3"
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
ids = [[d.get("track_id") for d in json.loads(l)["detections"]] for l in open(sys.argv[1])]
assert len(ids) == 4 and ids[0] == ids[1] == [None] * 3, ids
assert ids[2] == ids[3] and sorted(ids[2]) == [1, 2, 3], ids
' "$T/out" >"$T/py" 2>&1; then ok "detect --track: ids from the 3rd image on, stable"; else
	cat "$T/py"
	not_ok "detect --track: ids from the 3rd image on, stable"
fi

# ---- scripts/plot-eval.py (Debian's matplotlib: /usr/bin/python3) ----
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" --track --json "$T/still.avi"
cp "$T/out" "$T/report.json"
if /usr/bin/python3 "$D/../../scripts/plot-eval.py" "$T/report.json" -o "$T/plots" >"$T/err" 2>&1 &&
	[ "$(head -c 4 "$T/plots/pr_curve.png" | od -An -c | tr -d ' ')" = "211PNG" ] &&
	[ "$(head -c 4 "$T/plots/latency.png" | od -An -c | tr -d ' ')" = "211PNG" ] &&
	grep -q "data:image/png;base64" "$T/plots/report.html" && grep -q "<td>0.800</td>" "$T/plots/report.html"; then
	ok "plot-eval.py: PR curve and latency PNGs, HTML report with the MOTA"
else
	not_ok "plot-eval.py: PR curve and latency PNGs, HTML report with the MOTA"
fi

# ---- bad input ----
printf '1,1,10,10,40,40,1\n2,1,10,x,40,40,1\n' >"$T/bad.txt"
run eval --model face-full --label-map person=face --format mot --gt "$T/bad.txt" "$T/still.avi"
expect_err "MOT: a bad number names file, line and column" 1 "bad.txt:2: column 4: 'x' is not a number"
printf '1,1,10,10,40,40\n' >"$T/bad.txt"
run eval --model face-full --label-map person=face --format mot --gt "$T/bad.txt" "$T/still.avi"
expect_err "MOT: missing columns" 1 "bad.txt:1: 6 columns"
printf '1,1,10,10,40,40,1\n' >"$T/bad.txt"
run eval --model face-full --format mot --gt "$T/bad.txt" "$T/still.avi"
expect_err "MOT: a label the model does not know" 1 "bad.txt:1: unknown label 'person'"
printf '1,1,10,10,40,40,1\n\n3,2,2000,10,40,40,1\n' >"$T/bad.txt"
run eval --model face-full --label-map person=face --format mot --gt "$T/bad.txt" "$T/still.avi"
expect_err "MOT: a box outside the frame" 1 "bad.txt:3: box 1999,9 40x40 lies outside the 960x640 frame 3"
printf '<annotation><filename>sample1.jpg</filename>\n<object><name>face</name><bndbox><xmin>1</xmin>' >"$T/bad.xml"
run eval --model face-full --format voc --gt "$T/bad.xml" "$T/img"
expect_err "VOC: truncated XML" 1 "bad.xml"
printf '{"images": [],\n "annotations": [\n' >"$T/bad.json"
run eval --model face-full --format coco --gt "$T/bad.json" "$T/img"
expect_err "COCO: broken JSON names line and column" 1 "bad.json:3:"
head -c 20000 /dev/urandom >"$T/noise.avi"
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" "$T/noise.avi"
expect_err "a file that does not decode" 1 "cannot decode"
run eval --model face-full --label-map person=face --format mot --gt "$T/gt.txt" "$T/missing.avi"
expect_err "a missing input" 1 "missing.avi"
run eval --model face-full --format coco --gt "$D/eval/faces.coco.json" "$T/still.avi"
expect_err "per-image ground truth with a video" 1 "a video needs --format mot"
run eval --model face-full --format yaml --gt "$T/gt.txt" "$T/still.avi"
expect_err "unknown --format" 2 "--format must be mot, voc or coco"
run eval --model face-full --format mot "$T/still.avi"
expect_err "--gt is required" 2 "--gt FILE is required"
run eval --model face-full --format mot --gt "$T/gt.txt" --labels car "$T/still.avi"
expect_err "--labels must name model labels" 1 "'car' is not a label of model face-full"
run eval --model face-full --format mot --gt "$T/gt.txt" --inference-interval 0 "$T/still.avi"
expect_err "--inference-interval range" 2 "--inference-interval must be 1..1000"
run eval --help
if [ "$rc" -eq 0 ] && grep -q -- "--label-map" "$T/out"; then ok "--help"; else not_ok "--help"; fi

echo "eval cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
