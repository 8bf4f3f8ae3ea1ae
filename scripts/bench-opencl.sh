#!/usr/bin/env bash
# OpenCL backend against the CPU backend on this machine, for face-short and face-full:
#   1. tests/bench_opencl: whole-model medians/p99 (input tensor in, raw outputs out), OpenCL per-kernel device
#      times (profiling events) beside the CPU operators, kernel launches per inference;
#   2. `vigil bench --backend cpu|opencl`: the whole 1920x1080 NV12 frame -> detections call, with the bytes
#      uploaded and read back per frame.
# The device is $VIGIL_CL_DEVICE (default: the first GPU, else any: PoCL's CPU device on a machine without a GPU,
# where OpenCL is expected to lose to the CPU backend running on the same cores; the counts are what carry over).
# The OpenCL program cache goes to the build dir's tests/opencl-cache unless XDG_CACHE_HOME is set.
# Usage: scripts/bench-opencl.sh [--iterations N] [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=50
build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--iterations N] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done

[ -f "$build_dir/build.ninja" ] || meson setup "$build_dir" >/dev/null
meson compile -C "$build_dir" >/dev/null
if [ ! -x "$build_dir/tests/bench_opencl" ]; then
  echo "bench-opencl: $build_dir has no OpenCL backend (install ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd:" \
    "scripts/setup.sh)" >&2
  exit 1
fi
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$PWD/$build_dir/tests/opencl-cache}"
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$XDG_CACHE_HOME/pocl}"
mkdir -p "$POCL_CACHE_DIR"

for model in face-short face-full; do
  echo "=== $model: kernels and whole model ==="
  "$build_dir/tests/bench_opencl" "$model" "$iterations"
  echo
  for backend in cpu opencl; do
    echo "=== $model: vigil bench --backend $backend (1920x1080 NV12 frame -> detections) ==="
    "$build_dir/pipeline/vigil" bench --backend "$backend" -m "$model" -n "$iterations" -w 5
    echo
  done
done
