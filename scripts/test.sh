#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, then
#   1. gcc build + every Check suite, the CLI test and the C API example (meson test),
#   1b. the V4L2 capture tests inside a QEMU VM running Debian's kernel with the vivid driver (scripts/vm-test.sh),
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer, same suites,
#   3. clang-format check of every C source,
#   4. libFuzzer on the model reader and the image decoders (FUZZ_SECONDS each, default 60 / 20),
#   5. aarch64 cross build (scripts/cross/aarch64-linux-gnu.ini) and the engine suites under qemu-aarch64.
# Usage: scripts/test.sh [--fuzz-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=60
while [ $# -gt 0 ]; do
  case "$1" in
    --fuzz-seconds) FUZZ_SECONDS="$2"; shift 2 ;;
    *) echo "usage: $0 [--fuzz-seconds N]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

# Eval-only data (PETS09 video and frames, not redistributed) lives in ../shared next to the checkout. CI has it
# and the tests that read it fail without it; a user's machine may not: then they are reported skipped.
if [ ! -d ../shared/data ]; then
  if [ "${CI:-}" = true ]; then
    echo "test: ../shared/data (eval-only data) is missing: the tests that read it will fail" >&2
  else
    export VIGIL_EVAL_DATA=optional
    echo "NOTE: ../shared/data (eval-only PETS09 data, not redistributed with Vigil) is not next to this checkout:" \
      "the checks that read it are skipped (CI runs them)."
  fi
fi

passed=0
failed=0
skipped=0
count_results() { # build dir
  local log="$1/meson-logs/testlog.json"
  local p s a
  p=$(grep -c '"result": "OK"' "$log" || true)
  s=$(grep -c '"result": "SKIP"' "$log" || true)
  a=$(grep -c '"result": ' "$log" || true)
  passed=$((passed + p))
  skipped=$((skipped + s))
  failed=$((failed + a - p - s))
}

step() { printf '\n=== %s ===\n' "$*"; }

step "build and test (gcc)"
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build
meson test -C build --print-errorlogs || true
count_results build

step "V4L2 capture against the vivid driver in a QEMU VM (gcc build)"
if bash scripts/vm-test.sh --build build --timeout 360; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

step "build and test (clang, ASan + UBSan)"
[ -f build-asan/build.ninja ] || CC=clang meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debugoptimized >/dev/null
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --timeout-multiplier 3 || true
count_results build-asan

step "clang-format"
if bash scripts/check-format.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

step "fuzz (${FUZZ_SECONDS}s model reader, $((FUZZ_SECONDS / 3))s image decoders, flexbuffers options)"
if bash scripts/fuzz.sh --seconds "$FUZZ_SECONDS"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

step "aarch64 cross build + tests under qemu"
# Emulation is ~10-50x slower: the suites that exercise the kernels and the engine on aarch64 code run here
# (kernel_sets: NEON and C against the reference; parity: the face models against the TFLite tensors with
# NEON, 1/2/4 threads, and with VIGIL_FORCE_C=1; golden detections; prep_kernels: the NEON preprocessing rows
# against the C reference; q8_simd: the NEON quantized kernels against the C reference; quant: coco-ssd bit-exact
# with TFLite on the NEON quantized kernels, the GEMM's dot-product ones (qemu -cpu max has ARMv8.2's SDOT/UDOT;
# VIGIL_TEST_REQUIRE_DOTPROD makes their absence a failure) and, as quant_armv80, the ARMv8.0 ones a Cortex-A53
# runs); the pixel-format, image-file and allocation suites are architecture-neutral and run natively above.
[ -f build-aarch64/build.ninja ] || meson setup build-aarch64 --cross-file scripts/cross/aarch64-linux-gnu.ini \
  -Dgstreamer=disabled >/dev/null
if meson compile -C build-aarch64 && file -L build-aarch64/tests/test_kernels | grep -q 'ARM aarch64'; then
  VIGIL_TEST_REQUIRE_DOTPROD=1 meson test -C build-aarch64 --print-errorlogs --timeout-multiplier 3 kernels \
    kernel_sets prep_kernels postprocess parity parity_force_c golden example_api q8_simd quant quant_armv80 || true
  count_results build-aarch64
else
  echo "aarch64 cross build failed (or did not produce aarch64 binaries)" >&2
  failed=$((failed + 1))
fi

echo
if [ "$skipped" -gt 0 ]; then
  echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
else
  echo "tests: ${passed} passed, ${failed} failed"
fi
[ "$failed" -eq 0 ]
