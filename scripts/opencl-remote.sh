#!/usr/bin/env bash
# Runs on a machine with an OpenCL GPU, from a bundle made by scripts/opencl-bundle.sh inside a copy of the
# checkout: every OpenCL test (test_opencl, test_opencl_dmabuf, the GStreamer element test) on that driver, the
# CPU kernel sets against the C reference (on a CPU with AVX-512 that set too), `auto`'s decision, and the
# benchmarks: bench_opencl (per-kernel device times, launches) and `vigil bench` for cpu/opencl, with ONNX
# Runtime (Python package) beside the CPU backend when the machine has it. Logs go to OUT (default /tmp/vigil-gpu).
# The OpenCL driver: $OCL_ICD_VENDORS when set; else NVIDIA's libnvidia-opencl.so.1 when it is installed
# without an ICD file (as in containers), else the system's /etc/OpenCL/vendors.
# --cpu: only the CPU steps (the kernel sets and quantized kernels against the C reference, coco-ssd bit-exact
# with TFLite, bench_q8 per CPU feature set), no OpenCL.
# Usage: bash BUNDLE/opencl-remote.sh [--cpu] [OUT]
set -uo pipefail
G=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$G/.." && pwd)
cpu_only=0
[ "${1:-}" = --cpu ] && { cpu_only=1; shift; }
O=${1:-${OUT:-/tmp/vigil-gpu}}
mkdir -p "$O" /tmp/vigil-gpu-xdg
export LD_LIBRARY_PATH="$G/lib" VIGIL_TEST_DATA="$R/tests/data" VIGIL_TEST_TMP=/tmp CK_DEFAULT_TIMEOUT=600
export XDG_CACHE_HOME=/tmp/vigil-gpu-xdg
if [ -z "${OCL_ICD_VENDORS:-}" ]; then
	nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / {print $NF; exit}')
	[ -n "$nv" ] || nv=$(find /usr/lib /usr/lib64 /usr/local -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
	if [ -n "$nv" ]; then
		mkdir -p /tmp/vigil-gpu-icd
		echo "$nv" >/tmp/vigil-gpu-icd/nvidia.icd
		export OCL_ICD_VENDORS=/tmp/vigil-gpu-icd
	fi
fi
echo "OpenCL ICDs: ${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"
quiet="program for\|DMABUF import: the device\|frame path: host copy"
step() { echo; echo "=== $1"; }
{
	grep -m1 "model name" /proc/cpuinfo
	grep -m1 -o -w -E "avx512(f|bw|vl|dq|_vnni|vnni)" /proc/cpuinfo | sort -u | tr '\n' ' '
	step "CPU kernel sets"
	for i in 1 2 3; do timeout 200 "$G/bin/test_kernel_sets" 2>&1 | grep -E "seed|Checks|:F:|:E:"; done
	step "CPU quantized kernels"
	for i in 1 2; do timeout 300 "$G/bin/test_q8_simd" 2>&1 | grep -E "seed|q8 |Checks|:F:|:E:"; done
	VIGIL_SHARED="$G/shared" timeout 300 "$G/bin/test_quant" 2>&1 | grep -E "Checks|:F:|:E:"
	timeout 300 "$G/bin/test_prep_kernels" 2>&1 | grep -E "seed|Checks|:F:|:E:|kernels"
	# one core, so that the feature sets are compared on the same one (the machine is shared)
	pin=""
	command -v taskset >/dev/null && pin="taskset -c 3"
	step "bench_q8 coco-ssd per operator (best kernels)"
	VIGIL_DEBUG=cpu:4 $pin timeout 120 "$G/bin/bench_q8" -n 100 2>&1
	for rep in 1 2; do
		for dis in "" avx512vnni avx512 "avx512,avx2"; do
			step "bench_q8 coco-ssd, VIGIL_CPU_DISABLE=${dis:-(none)}"
			VIGIL_CPU_DISABLE=$dis $pin timeout 120 "$G/bin/bench_q8" -n 100 2>&1 | tail -4
		done
	done
	step "bench_preprocess"
	$pin timeout 120 "$G/bin/bench_preprocess" 2>&1
} 2>&1 | tee "$O/cpu.txt"
[ $cpu_only = 1 ] && exit 0
{
	step "test_opencl"
	VIGIL_DEBUG=opencl:3 timeout 300 "$G/bin/test_opencl" 2>&1 | grep -v "$quiet"
	step "test_opencl_q8"
	VIGIL_SHARED="$G/shared" VIGIL_DEBUG=opencl:3 timeout 300 "$G/bin/test_opencl_q8" 2>&1 | grep -v "$quiet"
	step "test_opencl_dmabuf"
	VIGIL_DEBUG=opencl:3 timeout 200 "$G/bin/test_opencl_dmabuf" 2>&1 | grep -v "$quiet"
	step "test_gst_opencl"
	GST_PLUGIN_SYSTEM_PATH="$G/gst" GST_PLUGIN_PATH="$G/gst" GST_REGISTRY=/tmp/vigil-gpu-gstreg.bin \
		GST_REGISTRY_FORK=no timeout 300 "$G/bin/test_gst_opencl" 2>&1 | tail -12
} 2>&1 | tee "$O/tests.txt" | grep -E "===|Checks|:F:|:E:|parity|equal"
{
	step "auto"
	for m in face-short face-full coco-ssd; do
		VIGIL_DEBUG=opencl:3 timeout 120 "$G/bin/vigil" bench --backend auto -m "$m" -n 20 -w 2 2>&1 |
			grep "backend auto"
	done
	for m in face-short face-full; do
		onnx="$G/onnx/face_detection_${m#face-}_range.onnx"
		step "$m"
		timeout 120 "$G/bin/bench_opencl" "$m" 300
		for rep in 1 2; do
			for b in cpu opencl; do
				timeout 120 "$G/bin/vigil" bench --backend $b -m "$m" -n 300 -w 30 --json
				echo
			done
			if [ -f "$onnx" ] && python3 -c 'import onnxruntime' 2>/dev/null; then
				timeout 120 python3 "$G/bench-ort.py" "$onnx" 1 300 30
			else
				echo "no ONNX Runtime here (python3 onnxruntime) or no $onnx: the CPU comparison is not run"
			fi
		done
	done
	step "coco-ssd"
	for rep in 1 2; do
		for b in cpu opencl; do
			timeout 120 "$G/bin/vigil" bench --backend $b -m coco-ssd -n 300 -w 30 --json
			echo
		done
	done
} 2>&1 | tee "$O/bench.txt" | grep -E "===|backend auto|OpenCL median|launches per frame|median_ms"
