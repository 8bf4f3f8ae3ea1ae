#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-ssd speed in one invocation: `vigil bench` (AVX2 on 1 and 2 threads, the C reference with VIGIL_FORCE_C=1),
# tests/bench_q8 (per-operator kernels, multiply-adds and CPU time; the vpmaddwd bound) and, with --tflite, the
# TFLite WASM interpreter (npm @tensorflow/tfjs-tflite, installed under the build directory; needs network once).
# A tool, not part of CI. Usage: scripts/bench-q8.sh [--tflite] [BUILD_DIR] (default build); N=100 iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
tflite=0
if [ "${1:-}" = --tflite ]; then
	tflite=1
	shift
fi
build=${1:-build}
n=${N:-100}
vigil=$build/pipeline/vigil
[ -x "$vigil" ] && [ -x "$build/tests/bench_q8" ] || {
	echo "bench-q8: build first (meson compile -C $build)" >&2
	exit 1
}
run() {
	echo "\$ $*"
	"$@"
	echo
}
run "$vigil" bench --model coco-ssd --iterations "$n" --warmup 10
run "$vigil" bench --model coco-ssd --iterations "$n" --warmup 10 --threads 2
run env VIGIL_FORCE_C=1 "$vigil" bench --model coco-ssd --iterations $((n / 5 > 0 ? n / 5 : 1)) --warmup 2
run "$build/tests/bench_q8" -n "$n"
run "$build/tests/bench_q8" -q -n "$n" -T 2
run env VIGIL_FORCE_C=1 "$build/tests/bench_q8" -q -n $((n / 5 > 0 ? n / 5 : 1))
if [ $tflite = 1 ]; then
	dir=$build/tflite-wasm
	if [ ! -d "$dir/node_modules/@tensorflow/tfjs-tflite" ]; then
		mkdir -p "$dir"
		npm install --silent --no-audit --no-fund --prefix "$dir" @tensorflow/tfjs-tflite@0.0.1-alpha.10 \
			@tensorflow/tfjs-core@4.9.0 @tensorflow/tfjs-backend-cpu@4.22.0 >/dev/null
	fi
	run env NODE_PATH="$dir/node_modules" node scripts/tflite-wasm-bench.js models/coco_ssd_mobilenet_v1_quant.tflite "$n" 10
fi
