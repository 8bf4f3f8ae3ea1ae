#!/usr/bin/env bash
# libFuzzer runs over every parser: the TFLite model reader (SECONDS), the JPEG/PNG decoders (SECONDS/3), the
# MJPEG camera-frame path (SECONDS/6) and the FlexBuffers custom-options reader (SECONDS/4, at least 15 s).
# Usage: scripts/fuzz.sh [--seconds N]   (CI: 60; a soak: scripts/fuzz.sh --seconds 3600)
# Corpora grow under fuzz-corpus/ (git-ignored); crashes are written to fuzz-corpus/crashes/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_MODEL=60
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_MODEL="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
  esac
done
SECONDS_IMAGE=$((SECONDS_MODEL / 3))
[ "$SECONDS_IMAGE" -ge 1 ] || SECONDS_IMAGE=1
SECONDS_MJPEG=$((SECONDS_MODEL / 6))
[ "$SECONDS_MJPEG" -ge 1 ] || SECONDS_MJPEG=1
SECONDS_FLEX=$((SECONDS_MODEL / 4))
[ "$SECONDS_FLEX" -ge 15 ] || SECONDS_FLEX=15

[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzzing=true -Dbuildtype=debugoptimized >/dev/null
meson compile -C build-fuzz tests/fuzz/fuzz_model tests/fuzz/fuzz_image tests/fuzz/fuzz_mjpeg tests/fuzz/fuzz_flexbuf

mkdir -p fuzz-corpus/model fuzz-corpus/image fuzz-corpus/mjpeg fuzz-corpus/flexbuf fuzz-corpus/crashes
cp -n tests/data/mjpeg/*.jpg fuzz-corpus/mjpeg/ 2>/dev/null || true
cp -n tests/data/flexbuf/*.bin fuzz-corpus/flexbuf/ 2>/dev/null || true
cp -n models/*.tflite fuzz-corpus/model/ 2>/dev/null || true
cp -n tests/data/faces/sample2.jpg tests/data/golden/sq128/sample1_128.png tests/data/sergey/sergey.png \
  fuzz-corpus/image/ 2>/dev/null || true

run() { # target seconds corpus
  local log=fuzz-corpus/"$1".log rc=0
  echo "fuzz: $1 for $2 s"
  ./build-fuzz/tests/fuzz/"$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -max_len=4300000 \
    -artifact_prefix=fuzz-corpus/crashes/"$1"- -print_final_stats=1 "$3" >"$log" 2>&1 || rc=$?
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Done' "$log" || true
  [ "$rc" -eq 0 ] || tail -n 40 "$log" >&2
  return "$rc"
}

status=0
run fuzz_model "$SECONDS_MODEL" fuzz-corpus/model || status=1
run fuzz_image "$SECONDS_IMAGE" fuzz-corpus/image || status=1
run fuzz_mjpeg "$SECONDS_MJPEG" fuzz-corpus/mjpeg || status=1
run fuzz_flexbuf "$SECONDS_FLEX" fuzz-corpus/flexbuf || status=1
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED, reproducers in fuzz-corpus/crashes/" >&2
fi
exit "$status"
