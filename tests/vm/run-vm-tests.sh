#!/bin/sh
# Runs inside the vivid VM (scripts/vm-test.sh), chrooted into the host root, cwd = the source tree.
# Every check appends "PASS name" or "FAIL name: why" to $VIGIL_VM_OUT/results; the host counts them.
# vivid is loaded with three capture-only devices: /dev/video0 single-planar, /dev/video1 multi-planar,
# /dev/video2 single-planar (all dma-contig).
# Arguments: names of the checks to run (default: all), e.g. `capture-suite` for a sanitizer build.
set -u
ONLY="$*"
OUT=${VIGIL_VM_OUT:?not inside scripts/vm-test.sh}
BUILD=${VIGIL_BUILD:?}
RESULTS="$OUT/results"
rc=0

pass() { echo "PASS $1" >>"$RESULTS"; echo "vm: PASS $1"; }
fail() {
	echo "FAIL $1: $2" >>"$RESULTS"
	echo "vm: FAIL $1: $2"
	rc=1
}
# run NAME TIMEOUT CMD...: PASS when CMD exits 0 within TIMEOUT seconds; its output goes to the console.
run() {
	name=$1
	t=$2
	shift 2
	case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	start=$(date +%s.%N)
	timeout -k 3 "$t" "$@" >/tmp/out.$$ 2>&1
	r=$?
	end=$(date +%s.%N)
	sed "s/^/  [$name] /" /tmp/out.$$ | tail -n 40
	secs=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')
	if [ $r -eq 0 ]; then
		pass "$name (${secs}s)"
	elif [ $r -eq 124 ]; then
		fail "$name" "timed out after ${t}s"
	else
		fail "$name" "exit $r"
	fi
}

for d in /dev/video0 /dev/video1 /dev/video2; do
	[ -c $d ] || fail "vivid" "$d missing (vivid did not load as expected)"
done

# The kernel driver streams: sanity check with v4l-utils before our own code.
run v4l2-ctl-stream 60 v4l2-ctl -d /dev/video0 --set-fmt-video=width=640,height=480,pixelformat=NV12 \
	--stream-mmap --stream-count=10

if [ -x "$BUILD/tests/test_capture" ]; then
	run capture-suite 240 env CK_DEFAULT_TIMEOUT=240 VIGIL_TEST_DATA="$PWD/tests/data" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$BUILD/tests/test_capture"
else
	fail capture-suite "$BUILD/tests/test_capture not built"
fi

# The registry scanned on the host (scripts/vm-test.sh) spares a slow plugin scan under TCG. Inference runs on every
# 25th frame with the short-range model (TCG is ~20x slower than the host); every frame is mapped and gets the meta.
if [ -x "$BUILD/tests/vm/gst_dmabuf_probe" ]; then
	[ -f "$OUT/gst-registry.bin" ] && cp "$OUT/gst-registry.bin" /tmp/gst-registry.bin
	run gst-dmabuf-vigildetect 150 env GST_PLUGIN_PATH="$BUILD/gst-plugin" GST_REGISTRY=/tmp/gst-registry.bin \
		"$BUILD/tests/vm/gst_dmabuf_probe" /dev/video0 100 "model=face-short inference-interval=25"
else
	fail gst-dmabuf-vigildetect "$BUILD/tests/vm/gst_dmabuf_probe not built"
fi

# V4L2 dmabufs into the OpenCL backend (PoCL: no import extension, so the copy path, logged once) against the
# CPU backend on the same frames. Caches in the VM's writable /tmp (PoCL compiles under TCG: slow the first time).
if [ -x "$BUILD/tests/vm/capture_opencl" ]; then
	run capture-opencl 300 sh -c 'VIGIL_DEBUG=opencl:3 XDG_CACHE_HOME=/tmp/vigil-xdg POCL_CACHE_DIR=/tmp/pocl-cache \
		POCL_DEVICES=basic "$1/tests/vm/capture_opencl" /dev/video0 4 2>/tmp/clog; r=$?; cat /tmp/clog
		n=$(grep -c "frame path:" /tmp/clog); c=$(grep -c "frame path: DMABUF frames are copied" /tmp/clog)
		echo "frame path lines: $n (DMABUF copied: $c)"; [ $r -eq 0 ] && [ "$n" -eq 1 ] && [ "$c" -eq 1 ]' sh "$BUILD"
else
	fail capture-opencl "$BUILD/tests/vm/capture_opencl not built"
fi

if [ -x "$BUILD/pipeline/vigil" ]; then
	run vigil-run 120 sh tests/vm/vigil-run.sh "$BUILD/pipeline/vigil"
else
	fail vigil-run "$BUILD/pipeline/vigil not built"
fi

exit $rc
