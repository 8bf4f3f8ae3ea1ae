#!/usr/bin/env bash
# Installs what Vigil needs to build and test on Debian bookworm (run as root or with sudo).
# Idempotent: packages already present are left alone, and apt is only called when something is missing.
set -euo pipefail

PKGS=(
  # build
  gcc clang meson ninja-build pkg-config
  # libvigil: image I/O and JSON
  libturbojpeg0-dev libpng-dev libjansson-dev
  # GStreamer plugin (vigildetect, vigiloverlay, vigilmetapublish) and the elements the main job and tests use
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
  # the Python pad-probe example (scripts/examples/probe.py), run by the tests
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  # OpenCL backend: ICD loader + headers to build, PoCL (a CPU OpenCL device) to test, clinfo to look
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
  # tests: Check, sanitizer and libFuzzer runtimes, formatting, python3 for JSON checks
  check libclang-rt-14-dev clang-format python3 file
  # vigil eval: GMarkup (VOC/dlib XML ground truth), appsink, the MPEG-4 decoder for PETS09's vtest.avi, and
  # scripts/plot-eval.py
  libglib2.0-dev gstreamer1.0-libav python3-matplotlib
  # V4L2 capture: headers, v4l-utils, and the vivid VM of scripts/vm-test.sh (QEMU, a static busybox)
  libv4l-dev v4l-utils qemu-system-x86 busybox-static
  # aarch64 cross build run under qemu (scripts/cross/aarch64-linux-gnu.ini): compiler, emulator, and the
  # arm64 multiarch libraries the library, CLI (glib: vigil eval) and Check tests link
  gcc-aarch64-linux-gnu qemu-user
  libturbojpeg0-dev:arm64 libpng-dev:arm64 libjansson-dev:arm64 check:arm64 libglib2.0-dev:arm64
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The VM's kernel: Debian's linux-image-amd64 fetched with apt-get download and unpacked under build-vm/ (never
# installed into /boot). Runs after the package step so it also works on a machine that had nothing yet.
fetch_vm_kernel() {
  bash "$(dirname "$0")/vm-test.sh" --fetch-only >/dev/null
}

if [ "${#missing[@]}" -eq 0 ]; then
  fetch_vm_kernel
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# the :arm64 packages need the architecture known to dpkg (apt-get update below then fetches its lists)
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fetch_vm_kernel
