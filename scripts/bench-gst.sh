#!/usr/bin/env bash
# Side-by-side GStreamer benchmark on this machine: vigildetect (face-full, face-short) against GStreamer's own
# OpenCV `facedetect` element (Haar cascade, gstreamer1.0-opencv + opencv-data), on
#   photos: the bundled photos tests/data/faces/sample1..6.jpg letterboxed to a 1920x1080 NV12 stream,
#           N frames per photo (imagefreeze; decoding and scaling happen once per photo, not per frame);
#   video:  ../shared/data/video/pets09_s2l1/vtest.avi (768x576, eval only: read in place, never copied;
#           skipped with a message when absent).
# Every pipeline runs as fast as it can (fakesink sync=false) under GStreamer's latency tracer
# (GST_TRACERS="latency(flags=element)"), which gives for the detector element (named "det" in every pipeline)
#   latency: time from a buffer entering the element to it leaving (its per-frame processing), median/p99/mean;
#   fps:     (frames - 1) / (time between the detector's first and last output buffer): the throughput of the
#            whole pipeline, upstream conversion and decoding included (facedetect needs RGB, so its pipelines
#            carry an NV12/I420 -> RGB videoconvert that vigildetect's do not).
# Faces: vigildetect via vigilmetapublish JSON lines (length of "detections"), facedetect via its bus messages
# (gst-launch-1.0 -m, "facedetect, ... faces=<...>"). Both at their default settings.
#
# Usage: scripts/bench-gst.sh [--frames N] [--video-frames M] [--json FILE] [--build-dir DIR]
#   --frames N        frames per photo (default 10)
#   --video-frames M  frames of the video (default 200; the clip has 795)
#   --json FILE       also write the results as JSON
#   --build-dir DIR   build directory with gst-plugin/libgstvigil.so (default build-bench; set up and built
#                     here when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

frames=10
video_frames=200
json_out=
build_dir=build-bench
video=../shared/data/video/pets09_s2l1/vtest.avi
cascade=/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames=${2:?--frames needs a number}; shift 2 ;;
    --video-frames) video_frames=${2:?--video-frames needs a number}; shift 2 ;;
    --json) json_out=${2:?--json needs a file}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-gst: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$frames" "$video_frames"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-gst: frame counts must be positive integers, got '$n'" >&2; exit 2; }
done

# --- what is needed, and the Debian package that provides it ---------------------------------------------------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_cmd gst-launch-1.0 gstreamer1.0-tools
need_cmd gst-inspect-1.0 gstreamer1.0-tools
need_cmd jq jq
need_cmd meson meson
need_cmd ninja ninja-build
need_element() { gst-inspect-1.0 "$1" >/dev/null 2>&1 || missing+=("$2"); }
if command -v gst-inspect-1.0 >/dev/null 2>&1; then
  need_element facedetect gstreamer1.0-opencv
  need_element jpegdec gstreamer1.0-plugins-good
  need_element imagefreeze gstreamer1.0-plugins-good
  need_element videoscale gstreamer1.0-plugins-base
  need_element decodebin gstreamer1.0-plugins-base
  need_element avdec_msmpeg4 gstreamer1.0-libav # vtest.avi is MS-MPEG4 v3 ("DIV3")
fi
[ -f "$cascade" ] || missing+=(opencv-data)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench-gst: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "bench-gst: missing Debian packages: ${missing[*]}" >&2
    echo "bench-gst: install them (as root: apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
fi

# --- the vigil plugin --------------------------------------------------------------------------------------------
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" >/dev/null
fi
ninja -C "$build_dir" >/dev/null
[ -f "$build_dir/gst-plugin/libgstvigil.so" ] || { echo "bench-gst: $build_dir/gst-plugin/libgstvigil.so was not built" >&2; exit 1; }
export GST_PLUGIN_PATH="$PWD/$build_dir/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
gst-inspect-1.0 vigildetect >/dev/null 2>&1 || { echo "bench-gst: GStreamer does not load vigildetect from $build_dir/gst-plugin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-gst.XXXXXX")
trap 'rm -rf "$work"' EXIT
photos=(tests/data/faces/sample{1..6}.jpg)
golden=(3 2 3 4 5 4) # MediaPipe face-full faces in sample1..6 (tests/data/golden)

# Pipeline description of a source stream, ending in NV12 (photos) or the decoder's format (video).
photo_source() {
  local desc="concat name=c" p
  for p in "${photos[@]}"; do
    desc+=" filesrc location=$p ! jpegdec ! videoconvert ! videoscale add-borders=true"
    desc+=" ! video/x-raw,width=1920,height=1080,format=NV12,pixel-aspect-ratio=1/1"
    desc+=" ! imagefreeze num-buffers=$frames ! c."
  done
  echo "$desc"
}

# run STREAM DETECTOR -> writes $work/STREAM-DETECTOR.{trace,bus,jsonl,counts}
run_one() {
  local stream=$1 det=$2 tag="$1-$2" src detector desc
  if [ "$stream" = photos ]; then
    src="$(photo_source) c."
  else
    src="filesrc location=$video ! decodebin ! identity eos-after=$((video_frames + 1))"
  fi
  case "$det" in
    # videoconvert is a passthrough when the stream's format is one vigildetect takes (NV12, I420, ...)
    face-full | face-short) detector="videoconvert ! vigildetect name=det model=$det ! vigilmetapublish location=$work/$tag.jsonl" ;;
    facedetect) detector="videoconvert ! video/x-raw,format=RGB ! facedetect name=det display=false" ;;
  esac
  desc="$src ! $detector ! fakesink sync=false"
  # shellcheck disable=SC2086 # the pipeline description is meant to be split into gst-launch arguments
  if ! GST_TRACERS="latency(flags=element)" GST_DEBUG="GST_TRACER:7" GST_DEBUG_NO_COLOR=1 \
    GST_DEBUG_FILE="$work/$tag.trace" gst-launch-1.0 -m $desc >"$work/$tag.bus" 2>&1; then
    echo "bench-gst: pipeline $tag failed:" >&2
    grep -iE 'error|warn' "$work/$tag.bus" | head -20 >&2
    return 1
  fi
  # faces per frame, one line per frame in stream order
  if [ "$det" = facedetect ]; then
    grep -F 'from element "det" (element): facedetect,' "$work/$tag.bus" |
      awk '{ print gsub(/"face\\,/, "") }' >"$work/$tag.counts"
  else
    jq '.detections | length' "$work/$tag.jsonl" >"$work/$tag.counts"
  fi
}

# stats STREAM DETECTOR -> one JSON object on stdout
stats() {
  local tag="$1-$2"
  grep -F 'element-latency, element-id=' "$work/$tag.trace" | grep -F 'element=(string)det,' |
    sed -E 's/.*time=\(guint64\)([0-9]+), ts=\(guint64\)([0-9]+).*/\1 \2/' >"$work/$tag.lat"
  local n first last fps
  n=$(wc -l <"$work/$tag.lat")
  [ "$n" -gt 0 ] || { echo "bench-gst: no latency records for $tag (is the latency tracer available?)" >&2; return 1; }
  first=$(awk 'NR == 1 { print $2 }' "$work/$tag.lat")
  last=$(awk 'END { print $2 }' "$work/$tag.lat")
  fps=$(awk -v n="$n" -v a="$first" -v b="$last" 'BEGIN { printf "%.2f", (b > a) ? (n - 1) / ((b - a) / 1e9) : 0 }')
  local sorted_ms median p99 mean max
  sorted_ms=$(awk '{ printf "%.3f\n", $1 / 1e6 }' "$work/$tag.lat" | sort -g)
  median=$(awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$sorted_ms")
  p99=$(awk '{ v[NR] = $1 } END { i = int(0.99 * NR + 0.999999); if (i < 1) i = 1; printf "%.2f", v[i] }' <<<"$sorted_ms")
  mean=$(awk '{ s += $1 } END { printf "%.2f", s / NR }' <<<"$sorted_ms")
  max=$(tail -n 1 <<<"$sorted_ms")
  local counts_json
  counts_json=$(jq -s -c '.' "$work/$tag.counts")
  jq -n -c --arg stream "$1" --arg detector "$2" --argjson frames "$n" --argjson fps "$fps" \
    --argjson median "$median" --argjson p99 "$p99" --argjson mean "$mean" --argjson max "$max" \
    --argjson counts "$counts_json" --argjson per "$frames" \
    '{stream: $stream, detector: $detector, frames: $frames, fps: $fps,
      latency_ms: {median: $median, p99: $p99, mean: $mean, max: $max},
      faces: {frames_counted: ($counts | length), total: ($counts | add // 0),
              per_frame_mean: (if ($counts | length) > 0 then (($counts | add) / ($counts | length) * 100 | round / 100) else 0 end),
              per_frame_min: ($counts | min), per_frame_max: ($counts | max),
              frames_with_faces: ([$counts[] | select(. > 0)] | length)}}
     + (if $stream == "photos" then
          {per_photo: [range(0; ($counts | length) / $per) as $i | $counts[$i * $per:($i + 1) * $per] | [min, max]]}
        else {} end)'
}

streams=(photos)
video_note=
if [ -f "$video" ]; then
  streams+=(video)
else
  video_note="video stream SKIPPED: $video not found (it is eval-only data under ../shared; nothing was copied)"
  echo "bench-gst: $video_note" >&2
fi
detectors=(face-full face-short facedetect)

results=()
for s in "${streams[@]}"; do
  for d in "${detectors[@]}"; do
    echo "bench-gst: running $s / $d ..." >&2
    run_one "$s" "$d"
    results+=("$(stats "$s" "$d")")
  done
done
all=$(printf '%s\n' "${results[@]}" | jq -s -c '.')

# --- report ------------------------------------------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
gstver=$(gst-launch-1.0 --version | awk 'NR == 2 { print $2 }')
opencvver=$(dpkg-query -W -f='${Version}' gstreamer1.0-opencv 2>/dev/null || echo '?')
echo
echo "Vigil GStreamer benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
echo "machine: nproc=$(nproc), CPU: $cpu"
echo "GStreamer $gstver, gstreamer1.0-opencv $opencvver"
echo "photos: ${#photos[@]} photos x $frames frames, 1920x1080 NV12 (letterboxed); video: $video (768x576), first $video_frames frames"
[ -n "$video_note" ] && echo "NOTE: $video_note"
echo "fps: whole pipeline, sync=false, from the detector's first to last output buffer; latency: the detector element's"
echo "per-buffer processing time (latency tracer, flags=element); facedetect pipelines include a videoconvert to RGB."
echo
printf '%-7s %-25s %6s %8s %9s %9s %9s  %s\n' stream element/model frames fps 'lat med' 'lat p99' 'lat mean' 'faces per frame: mean [min-max], frames with >=1 face'
jq -r '.[] | [.stream, (if .detector == "facedetect" then "facedetect (OpenCV Haar)" else "vigildetect " + .detector end),
              .frames, .fps, .latency_ms.median, .latency_ms.p99, .latency_ms.mean,
              "\(.faces.per_frame_mean) [\(.faces.per_frame_min)-\(.faces.per_frame_max)], \(.faces.frames_with_faces)/\(.faces.frames_counted)"] | @tsv' <<<"$all" |
  while IFS=$'\t' read -r st el fr fp me p9 mn fc; do
    printf '%-7s %-25s %6s %8.2f %6.2f ms %6.2f ms %6.2f ms  %s\n' "$st" "$el" "$fr" "$fp" "$me" "$p9" "$mn" "$fc"
  done
echo
echo "faces per photo (photos stream; a range a-b means the count varied between the frames of that photo):"
printf '%-27s' 'photo'
for i in "${!photos[@]}"; do printf '%9s' "sample$((i + 1))"; done
printf '%9s\n' total
printf '%-27s' 'MediaPipe golden (face-full)'
for g in "${golden[@]}"; do printf '%9s' "$g"; done
printf '%9s\n' "$(IFS=+; echo $((${golden[*]})))"
jq -r '.[] | select(.stream == "photos") |
       [(if .detector == "facedetect" then "facedetect (OpenCV Haar)" else "vigildetect " + .detector end)]
       + [.per_photo[] | if .[0] == .[1] then "\(.[0])" else "\(.[0])-\(.[1])" end]
       + ["\([.per_photo[][0]] | add)"] | @tsv' <<<"$all" |
  while IFS=$'\t' read -r -a row; do
    printf '%-27s' "${row[0]}"
    printf '%9s' "${row[@]:1}"
    printf '\n'
  done

if [ -n "$json_out" ]; then
  jq -n --argjson results "$all" --arg date "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" --arg cpu "$cpu" \
    --argjson nproc "$(nproc)" --arg gst "$gstver" --argjson per "$frames" --argjson vf "$video_frames" \
    --arg note "$video_note" --argjson golden "$(printf '%s\n' "${golden[@]}" | jq -s -c '.')" \
    '{date: $date, nproc: $nproc, cpu: $cpu, gstreamer: $gst, frames_per_photo: $per, video_frames: $vf,
      video_skipped: (if $note == "" then null else $note end), golden_face_full_per_photo: $golden,
      results: $results}' >"$json_out"
  echo
  echo "JSON written to $json_out"
fi
