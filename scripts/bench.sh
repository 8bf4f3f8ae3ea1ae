#!/usr/bin/env bash
# Vigil against ONNX Runtime, in one invocation on this machine: face-short and face-full at 1 and 2 threads.
#   Vigil:        `vigil bench --json` on a 1920x1080 NV12 frame; its "inference" stage (the library's own
#                 timing of the model run) is compared; preprocess and postprocess are shown beside it.
#   ONNX Runtime: npm onnxruntime-node (CPU execution provider, all graph optimisations, sequential,
#                 intra-op threads = N), session.run() on the same weights converted to ONNX
#                 (../shared/models/mediapipe_face_onnx), timed around the call in node (scripts/bench-ort.js).
# For each model and thread count the two run back to back, so both see the same machine state; sub-ms
# timings on a shared VM are noisy, so compare the ratio within one run.
#
# Usage: scripts/bench.sh [--iterations K] [--json FILE] [--build-dir DIR]
#   --iterations K   timed runs per measurement (default 300; 30 warm-up runs come first)
#   --json FILE      also write every measurement as a JSON array
#   --build-dir DIR  release build of vigil (default build-bench; set up and built here when missing)
# onnxruntime-node is installed once into build-ort/ (ignored by git) with ONNXRUNTIME_NODE_INSTALL=skip: the
# package ships its CPU library, and its post-install download cannot work offline.
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=300
json_out=
build_dir=build-bench
ort_dir=build-ort
onnx_dir=../shared/models/mediapipe_face_onnx

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations=${2:?--iterations needs a number}; shift 2 ;;
    --json) json_out=${2:?--json needs a file}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$iterations" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --iterations must be a positive integer" >&2; exit 2; }
# --- what is needed, and the Debian package that provides it ---------------------------------------------------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_cmd node nodejs
need_cmd npm npm
need_cmd jq jq
need_cmd meson meson
need_cmd ninja ninja-build
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "bench: missing Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
for m in short full; do
  [ -f "$onnx_dir/face_detection_${m}_range.onnx" ] || {
    echo "bench: $onnx_dir/face_detection_${m}_range.onnx is missing (the ONNX copies of the face models)" >&2
    exit 1
  }
done

if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" -Dbuildtype=release -Dgstreamer=disabled -Dtests=disabled >/dev/null
fi
meson compile -C "$build_dir" >/dev/null
vigil="$build_dir/pipeline/vigil"

if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
  echo "bench: installing onnxruntime-node into $ort_dir/" >&2
  mkdir -p "$ort_dir"
  [ -f "$ort_dir/package.json" ] || echo '{"private": true}' >"$ort_dir/package.json"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error onnxruntime-node >/dev/null)
fi
export NODE_PATH="$PWD/$ort_dir/node_modules"

results=()
printf '%-10s %7s %7s | %7s %8s %8s %8s | %8s %8s %8s | %6s %6s\n' model threads kernels "pre" "infer" "p99" \
  "min" "ORT" "ORT p99" "ORT min" "ratio" "(min)"
for model in face-short face-full; do
  onnx="$onnx_dir/face_detection_${model#face-}_range.onnx"
  for threads in 1 2; do
    v=$("$vigil" bench --model "$model" --threads "$threads" --iterations "$iterations" --warmup 30 --json)
    o=$(node scripts/bench-ort.js "$onnx" "$threads" "$iterations" 30)
    ratio=$(jq -rn --argjson v "$v" --argjson o "$o" '$v.median_ms / $o.median_ms | . * 100 | round / 100')
    ratio_min=$(jq -rn --argjson v "$v" --argjson o "$o" '$v.min_ms / $o.min_ms | . * 100 | round / 100')
    printf '%-10s %7s %7s | %7.3f %8.3f %8.3f %8.3f | %8.3f %8.3f %8.3f | %6.2f %6.2f\n' "$model" "$threads" \
      "$(jq -r .kernels <<<"$v")" "$(jq -r .stages.preprocess.median_ms <<<"$v")" "$(jq -r .median_ms <<<"$v")" \
      "$(jq -r .p99_ms <<<"$v")" "$(jq -r .min_ms <<<"$v")" "$(jq -r .median_ms <<<"$o")" \
      "$(jq -r .p99_ms <<<"$o")" "$(jq -r .min_ms <<<"$o")" "$ratio" "$ratio_min"
    results+=("$(jq -cn --argjson v "$v" --argjson o "$o" --argjson r "$ratio" \
      --argjson rm "$ratio_min" '{model: $v.model, threads: $v.threads, vigil: $v, onnxruntime: $o,
        ratio_median: $r, ratio_min: $rm}')")
  done
done
echo "times in ms; pre = Vigil preprocess of a 1920x1080 NV12 frame (median); infer/ORT = inference median"
echo "ratio = Vigil inference median / ONNX Runtime median, (min) the same for minima (lower is better)"
echo "machine: $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
if [ -n "$json_out" ]; then
  printf '%s\n' "${results[@]}" | jq -s . >"$json_out"
  echo "bench: wrote $json_out" >&2
fi
