#!/bin/sh
# `vigil run` end to end on vivid: N frames captured, detected, one JSON record each, stats on stderr.
set -eu
VIGIL=$1
N=4
"$VIGIL" run --model face-short --frames $N /dev/video0 >/tmp/run.json 2>/tmp/run.err
cat /tmp/run.err
python3 - "$N" <<'PY'
import json, sys
n = int(sys.argv[1])
recs = [json.loads(l) for l in open("/tmp/run.json")]
assert len(recs) == n, f"{len(recs)} records, expected {n}"
seqs = [r["frame"] for r in recs]
assert seqs == sorted(seqs) and len(set(seqs)) == n, f"frame numbers not increasing: {seqs}"
for r in recs:
    assert r["source"] == "/dev/video0" and r["width"] == 640 and r["height"] == 480, r
    assert r["model"] == "face-short" and isinstance(r["pts_ns"], int) and r["pts_ns"] > 0, r
    assert r["timing_ms"]["inference"] > 0 and r["detections"] == [], r  # colour bars hold no face
err = open("/tmp/run.err").read()
assert f"{n} frames from /dev/video0" in err, err
print(f"vigil run: {n} records ok")
PY
# no argument: the first camera
"$VIGIL" run --model face-short --frames 1 --quiet >/tmp/run2.json
[ "$(wc -l </tmp/run2.json)" -eq 1 ]
grep -q '"source":"/dev/video0"' /tmp/run2.json
# a device that is not a camera: a clear error, exit 1
if "$VIGIL" run --frames 1 /dev/null 2>/tmp/run3.err; then exit 1; fi
grep -q 'not a V4L2 device' /tmp/run3.err
