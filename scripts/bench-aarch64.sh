#!/usr/bin/env bash
# Instructions per frame on aarch64 code, for three kernel sets: the C reference (VIGIL_FORCE_C=1), NEON on
# ARMv8.0 as a Cortex-A53 runs it (VIGIL_CPU_DISABLE=dotprod), and NEON with the ARMv8.2 dot product (the quantized
# GEMM's SDOT/UDOT kernels; qemu -cpu max has it; the float models run the same kernels as on ARMv8.0).
# Timings under emulation mean nothing, so this counts the guest instructions qemu-aarch64 executes, with
# the TCG plugin scripts/qemu/insn_count.c (built here for the host; Debian's qemu-user supports plugins
# but ships none). `vigil bench` runs the whole detect path on its synthetic 1920x1080 NV12 frame
# (preprocess, inference, postprocess); a run with 1 warm-up + 1 timed call is subtracted from one with
# 1 + (1 + K) calls, so model loading, weight packing and start-up cancel out and what is left, divided
# by K, is one frame. The plugin attributes instructions to functions, so the kernel families are shown
# apart. The counts are deterministic for a given build (one thread).
#
# Usage: scripts/bench-aarch64.sh [--frames K] [--build-dir DIR] [--models "face-short face-full"]
#   --frames K       frames counted (default 2)
#   --build-dir DIR  aarch64 release build (default build-aarch64-release; set up and built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

frames=2
build_dir=build-aarch64-release
models="face-short face-full"
usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames=${2:?--frames needs a number}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --models) models=${2:?--models needs names}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$frames" in '' | *[!0-9]* | 0) echo "bench-aarch64: --frames must be a positive integer" >&2; exit 2 ;; esac
for tool in aarch64-linux-gnu-gcc qemu-aarch64 gcc python3; do
  command -v "$tool" >/dev/null || { echo "bench-aarch64: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done

if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" --cross-file scripts/cross/aarch64-linux-gnu.ini -Dgstreamer=disabled -Dtests=disabled \
    -Dbuildtype=release >/dev/null
fi
meson compile -C "$build_dir" pipeline/vigil:executable >/dev/null
file -L "$build_dir/pipeline/vigil" | grep -q 'ARM aarch64' || { echo "bench-aarch64: $build_dir/pipeline/vigil is not aarch64" >&2; exit 1; }
plugin="$build_dir/insn_count.so"
gcc -O2 -Wall -Wextra -Wno-unused-parameter -shared -fPIC -o "$plugin" scripts/qemu/insn_count.c -lpthread

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-insn-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# count MODEL SET TIMED: per-function counts of one run into $tmp/MODEL.SET.TIMED
count() {
  local env=()
  case "$2" in
    c) env=(VIGIL_FORCE_C=1) ;;
    neon) env=(VIGIL_CPU_DISABLE=dotprod) ;;
    dotprod) env=() ;;
  esac
  env "${env[@]}" qemu-aarch64 -L / -cpu max -plugin "$plugin,out=$tmp/$1.$2.$3" "$build_dir/pipeline/vigil" bench \
    --model "$1" --warmup 1 --iterations "$3" --threads 1 --json >/dev/null
}

echo "aarch64 instructions per frame (qemu-aarch64 $(qemu-aarch64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'), $(aarch64-linux-gnu-gcc -dumpfullversion), $build_dir, 1920x1080 NV12 -> detections, 1 thread, $frames frames)"
for m in $models; do
  for set in dotprod neon c; do
    count "$m" "$set" 1
    count "$m" "$set" $((1 + frames))
  done
done

python3 - "$tmp" "$frames" $models <<'PY'
import sys

tmp, frames, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
# kernel families by function-name prefix: the float kernels, and the quantized ones (optimised and reference)
families = {
    "conv2d": ["vigil_f32_conv2d__", "vigil_q8_conv_gemm__", "vigil_q8_gemm_micro__", "vigil_q8_pack_rows__",
               "pack_rows_dot", "vigil_u8_conv2d__", "vigil_i8_conv2d__"],
    "dwconv2d": ["vigil_f32_dwconv2d__", "vigil_q8_dwconv", "vigil_q8_dw_pixel__", "vigil_u8_dwconv2d",
                 "vigil_i8_dwconv2d"],
}
for f in ["maxpool2d", "add", "clamp", "resize_bilinear"]:
    families[f] = [f"vigil_f32_{f}__"]


def read(path):
    counts = {}
    for line in open(path):
        name, n = line.rsplit(" ", 1)
        counts[name] = counts.get(name, 0) + int(n)
    return counts


def per_frame(model, kset):
    a, b = read(f"{tmp}/{model}.{kset}.1"), read(f"{tmp}/{model}.{kset}.{1 + frames}")
    d = {k: (b.get(k, 0) - a.get(k, 0)) / frames for k in set(a) | set(b)}
    out = {"total": d.pop("total")}
    for f, prefixes in families.items():
        out[f] = sum(v for k, v in d.items() if any(k.startswith(p) for p in prefixes))
    out["other"] = out["total"] - sum(out[f] for f in families)
    return out


cols = ["total"] + list(families) + ["other"]
print()
print(f"{'model':<11} {'kernels':<10}" + "".join(f" {c:>15}" for c in cols))
for m in models:
    r = {k: per_frame(m, k) for k in ("dotprod", "neon", "c")}
    for name in ("dotprod", "neon", "c"):
        print(f"{m:<11} {name:<10}" + "".join(f" {r[name][k] / 1e6:14.2f}M" for k in cols))
    for num, den in (("c", "neon"), ("neon", "dotprod")):
        print(f"{m:<11} {num + '/' + den:<10}" +
              "".join(f" {r[num][k] / r[den][k]:14.2f}x" if r[den][k] else f" {'-':>15}" for k in cols))
PY
