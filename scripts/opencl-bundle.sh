#!/usr/bin/env bash
# Packs what scripts/opencl-remote.sh needs to run Vigil's OpenCL tests and benchmarks on another x86-64 Linux
# machine that has an OpenCL driver (a GPU box) but no build tools or Debian packages: the test and bench
# binaries of BUILD (with the CPU kernel tests, for the target's CPU features), the GStreamer plugin, the shared libraries they use beyond glibc, the GStreamer plugins the
# OpenCL element test needs, the ONNX copies of the face models, and the remote script itself.
# Run it from a checkout (the remote script reads tests/data from the checkout it runs in).
# Usage: scripts/opencl-bundle.sh [BUILD] [OUTDIR]     (defaults: build, .gpu)
# Then on the target, in a copy of the checkout holding OUTDIR:  bash OUTDIR/opencl-remote.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-.gpu}
onnx_dir=../shared/models/mediapipe_face_onnx
meson compile -C "$build" >/dev/null
cpu_bins="test_kernel_sets test_q8_simd test_quant test_prep_kernels bench_q8 bench_preprocess"
for f in tests/test_opencl tests/test_opencl_dmabuf tests/test_opencl_q8 tests/bench_opencl $(printf "tests/%s " $cpu_bins) pipeline/vigil \
	tests/gst/test_gst_opencl gst-plugin/libgstvigil.so pipeline/libvigil.so.0; do
	[ -e "$build/$f" ] || { echo "opencl-bundle: $build/$f is missing (an OpenCL and GStreamer build is needed)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/gst" "$out/onnx"
cp "$build"/tests/{test_opencl,test_opencl_dmabuf,test_opencl_q8,bench_opencl} "$build/pipeline/vigil" \
	"$build/tests/gst/test_gst_opencl" "$out/bin/"
for b in $cpu_bins; do cp "$build/tests/$b" "$out/bin/"; done
cp "$build/gst-plugin/libgstvigil.so" "$out/gst/"
gst=$(pkg-config --variable=pluginsdir gstreamer-1.0)
for p in coreelements app jpeg videoconvertscale videotestsrc; do cp "$gst/libgst$p.so" "$out/gst/"; done
cp -L "$build/pipeline/libvigil.so.0" "$out/lib/"
strip "$out"/bin/* "$out"/gst/libgstvigil.so "$out/lib/libvigil.so.0"
# every library the binaries and plugins load, except glibc's own (the target's are used)
for b in "$out"/bin/* "$out"/gst/*.so; do LD_LIBRARY_PATH="$out/lib" ldd "$b"; done | awk '/=> \// {print $3}' | sort -u |
	grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | while read -r l; do
	[ -e "$out/lib/$(basename "$l")" ] || cp -L "$l" "$out/lib/"
done
cp "$onnx_dir"/face_detection_{short,full}_range.onnx "$out/onnx/" 2>/dev/null ||
	echo "opencl-bundle: no $onnx_dir: the ONNX Runtime comparison will be skipped there" >&2
# the eval-only COCO SSD sets test_opencl_q8 and test_quant read from ../shared (PETS09 frames: never committed)
mkdir -p "$out/shared/data/reference_tensors/ssd_mobilenet_v1_quant_coco"
cp ../shared/data/reference_tensors/ssd_mobilenet_v1_quant_coco/vtest_frame0*.bin \
	"$out/shared/data/reference_tensors/ssd_mobilenet_v1_quant_coco/" 2>/dev/null ||
	echo "opencl-bundle: no ../shared: test_opencl_q8 and test_quant will miss the PETS09 sets there" >&2
cp scripts/opencl-remote.sh scripts/bench-ort.py "$out/"
echo "opencl-bundle: $out ($(du -sh "$out" | cut -f1))"
