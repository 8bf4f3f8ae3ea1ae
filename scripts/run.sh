#!/usr/bin/env bash
# The main job: install what is missing, build, and run a real GStreamer pipeline through Vigil:
#   source → vigildetect → vigilmetapublish (JSON lines) → vigiloverlay → H.264 → out/annotated.mp4
# The source is the first V4L2 camera when one exists (VIGIL_CAMERA=/dev/videoN picks another, VIGIL_CAMERA=none
# skips cameras), otherwise the bundled face photos (tests/data/faces) played as a short video.
# Prints a summary: frames, faces, frames per second. Arguments, if any, go to `vigil detect` instead
# (e.g. scripts/run.sh --model face-short --json photo.jpg).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

if [ $# -gt 0 ]; then
  exec ./build/pipeline/vigil detect "$@"
fi

export GST_PLUGIN_PATH="$PWD/build/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p out
rm -f out/detections.jsonl out/annotated.mp4

SECONDS_CAMERA=${VIGIL_CAMERA_SECONDS:-10}
camera=${VIGIL_CAMERA:-}
if [ -z "$camera" ]; then
  for dev in /dev/video*; do
    [ -c "$dev" ] && { camera=$dev; break; }
  done
fi
[ "$camera" = none ] && camera=

tail_pipeline="vigildetect name=detect ! vigilmetapublish location=out/detections.jsonl ! vigiloverlay ! \
videoconvert ! x264enc speed-preset=ultrafast bitrate=4000 ! video/x-h264,profile=high ! mp4mux ! \
filesink location=out/annotated.mp4"

run_pipeline() { # description
  # shellcheck disable=SC2086 # gst-launch takes the pipeline as separate words
  gst-launch-1.0 -q -e $1
}

start=$(date +%s.%N)
source_name=""
if [ -n "$camera" ]; then
  source_name="camera $camera"
  echo "main job: camera $camera for ${SECONDS_CAMERA} s" >&2
  if ! run_pipeline "v4l2src device=$camera num-buffers=$((SECONDS_CAMERA * 30)) ! videoconvert ! \
video/x-raw,format=NV12 ! $tail_pipeline"; then
    echo "main job: $camera did not stream; using the bundled photos instead" >&2
    camera=
  fi
fi
if [ -z "$camera" ]; then
  source_name="bundled photos tests/data/faces/sample1..6.jpg, one a second, as 1280x720 video at 10 fps"
  echo "main job: no camera found; running on the bundled photos" >&2
  run_pipeline "multifilesrc location=tests/data/faces/sample%d.jpg start-index=1 stop-index=6 \
caps=image/jpeg,framerate=1/1 ! jpegdec idct-method=islow ! videoconvert ! videoscale add-borders=true ! \
video/x-raw,format=I420,width=1280,height=720,pixel-aspect-ratio=1/1 ! videorate ! video/x-raw,framerate=10/1 ! \
$tail_pipeline"
fi
end=$(date +%s.%N)

python3 - "$start" "$end" "$source_name" <<'PY'
import json, sys
start, end, source = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
records = [json.loads(line) for line in open("out/detections.jsonl")]
frames = len(records)
faces = sum(len(r["detections"]) for r in records)
inferred = [r for r in records if r["timing_ms"]["inference"] > 0]
infer_ms = sorted(r["timing_ms"]["inference"] for r in inferred)
print(f"source:     {source}")
print(f"frames:     {frames}")
print(f"faces:      {faces} in total, {faces / frames if frames else 0:.2f} per frame, "
      f"most in one frame {max((len(r['detections']) for r in records), default=0)}")
print(f"speed:      {frames / (end - start):.1f} frames per second for the whole pipeline "
      f"(decode, detect, draw, H.264 encode), inference median {infer_ms[len(infer_ms) // 2] if infer_ms else 0:.1f} ms")
print("written:    out/annotated.mp4 (annotated video), out/detections.jsonl (one detection record per frame)")
PY
