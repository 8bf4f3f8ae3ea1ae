#!/usr/bin/env bash
# Verifies vigildetect's GstAnalytics metadata (GstAnalyticsODMtd, GstAnalyticsTrackingMtd) against a
# GStreamer >= 1.24 installed in PREFIX. Not part of CI: CI has Debian bookworm's GStreamer 1.22, which has no
# analytics library, so there the code and its tests are compiled out (meson's summary line "GstAnalytics
# meta" says so). scripts/build-gst-minimal.sh builds a suitable PREFIX from a GStreamer source checkout.
#
# Usage: scripts/check-gst-analytics.sh PREFIX [BUILD_DIR [MESON_SETUP_ARGS...]]
#   PREFIX     a GStreamer >= 1.24 install prefix holding lib/pkgconfig/gstreamer-analytics-1.0.pc,
#              gstreamer-check-1.0 and the plugins the tests use (coreelements, coretracers, app, videotestsrc,
#              videoconvertscale, jpeg, imagefreeze; playback and typefindfunctions for python_probe)
#   BUILD_DIR  this project's build directory against it (default build-gst-analytics; set up when missing)
#   MESON_SETUP_ARGS  more options for meson setup, e.g. an ASan/UBSan build:
#              CC=clang scripts/check-gst-analytics.sh PREFIX build-gst-analytics-asan \
#                -Db_sanitize=address,undefined -Db_lundef=false
#
# It configures the project with -Dgst-analytics=enabled against PREFIX only (PKG_CONFIG_PATH, and at run time
# LD_LIBRARY_PATH, GST_PLUGIN_SYSTEM_PATH, GST_PLUGIN_SCANNER: no plugin of the system's GStreamer is loaded),
# checks that the plugin links PREFIX's libgstanalytics, that gst-inspect-1.0 of PREFIX loads it, and runs the
# GStreamer suites: gst_detect, gst_metapublish, gst_overlay, gst_analytics (pad probes reading every ODMtd
# and comparing it with the ROI metas; TrackingMtd relations) and, in builds without sanitizers, python_probe.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '/^# Usage:/,/^# *-Db_sanitize/p' "$0" | sed 's/^# \{0,1\}//'; }
if [ $# -lt 1 ]; then
  echo "error: no GStreamer >= 1.24 prefix given (Debian bookworm's GStreamer is 1.22 and has no analytics" \
    "library; build one with scripts/build-gst-minimal.sh)" >&2
  usage >&2
  exit 2
fi
case "$1" in -h | --help) usage; exit 0 ;; esac
prefix=$(cd "$1" && pwd)
build_dir=${2:-build-gst-analytics}
shift $(($# < 2 ? $# : 2))

libdir=
for d in lib lib64 lib/x86_64-linux-gnu lib/aarch64-linux-gnu; do
  if [ -f "$prefix/$d/pkgconfig/gstreamer-analytics-1.0.pc" ]; then
    libdir=$prefix/$d
    break
  fi
done
if [ -z "$libdir" ]; then
  echo "error: $prefix has no lib/pkgconfig/gstreamer-analytics-1.0.pc: not a GStreamer >= 1.24 prefix with" \
    "the analytics library (gst-plugins-bad)" >&2
  exit 1
fi
export PKG_CONFIG_PATH=$libdir/pkgconfig
version=$(pkg-config --modversion gstreamer-analytics-1.0)
if ! pkg-config --atleast-version=1.24 gstreamer-analytics-1.0; then
  echo "error: $prefix has gstreamer-analytics-1.0 $version, 1.24 or newer is needed" >&2
  exit 1
fi
for m in gstreamer-1.0 gstreamer-video-1.0 gstreamer-check-1.0 gstreamer-app-1.0; do
  if [ "$(pkg-config --modversion $m 2>/dev/null)" != "$(pkg-config --modversion gstreamer-1.0)" ]; then
    echo "error: $m missing from $prefix or of another version than gstreamer-1.0" >&2
    exit 1
  fi
done
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GST_PLUGIN_SYSTEM_PATH=$libdir/gstreamer-1.0
scanner=$(pkg-config --variable=pluginscannerdir gstreamer-1.0 2>/dev/null || true)
if [ -x "$scanner/gst-plugin-scanner" ]; then
  export GST_PLUGIN_SCANNER=$scanner/gst-plugin-scanner
fi
echo "== GStreamer $(pkg-config --modversion gstreamer-1.0), gstreamer-analytics-1.0 $version in $prefix"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -f "$build_dir/build.ninja" ]; then
  setup=(meson setup --reconfigure "$build_dir" -Dgst-analytics=enabled "$@")
else
  setup=(meson setup "$build_dir" -Dgst-analytics=enabled "$@")
fi
if ! "${setup[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
summary=$(grep -a 'GstAnalytics meta' "$log" | tail -1 | sed 's/^ *//')
echo "== meson summary: $summary"
case "$summary" in *": yes"*) ;; *)
  echo "error: the build in $build_dir does not build GstAnalytics support" >&2
  exit 1
  ;;
esac
meson compile -C "$build_dir"

plugin=$build_dir/gst-plugin/libgstvigil.so
linked=$(ldd "$plugin" | sed -n 's/.*libgstanalytics-1.0.so.0 => \([^ ]*\).*/\1/p')
echo "== $plugin uses $linked"
case "$linked" in "$libdir"/*) ;; *)
  echo "error: the plugin does not use $libdir's libgstanalytics-1.0" >&2
  exit 1
  ;;
esac
inspect=$prefix/bin/gst-inspect-1.0
sanitize=$(meson introspect "$build_dir" --buildoptions | /usr/bin/python3 -c \
  'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"][0])')
# an uninstrumented gst-inspect-1.0 cannot load a sanitizer-instrumented plugin
if [ -x "$inspect" ] && [ "$sanitize" = none ]; then
  GST_REGISTRY=$build_dir/registry-check.bin GST_PLUGIN_PATH=$build_dir/gst-plugin "$inspect" vigil |
    grep -E '^ *(Version|vigil[a-z]+:)' || {
    echo "error: $inspect cannot load the vigil plugin" >&2
    exit 1
  }
fi

echo "== GStreamer suites against $prefix"
suites=(gst_detect gst_metapublish gst_overlay gst_analytics)
if meson test -C "$build_dir" --list 2>/dev/null | grep -qx python_probe; then
  suites+=(python_probe)
fi
meson test -C "$build_dir" --print-errorlogs "${suites[@]}"
