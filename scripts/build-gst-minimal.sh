#!/usr/bin/env bash
# Builds a minimal GStreamer >= 1.24 (core, gst-plugins-base, three gst-plugins-good elements and the analytics
# library of gst-plugins-bad) into a private prefix, for scripts/check-gst-analytics.sh. Not part of CI (CI has
# Debian's GStreamer 1.22, which has no analytics library); nothing outside PREFIX and its build dir is touched.
#
# Usage: scripts/build-gst-minimal.sh SRC PREFIX
#   SRC     a GStreamer monorepo checkout at a 1.24.x (or newer) tag: the directory holding
#           subprojects/gstreamer, subprojects/gst-plugins-base, -good and -bad
#           (e.g. git clone https://gitlab.freedesktop.org/gstreamer/gstreamer && git -C gstreamer checkout 1.24.13)
#   PREFIX  where to install (e.g. /opt/gst-1.24); build dirs go to PREFIX.build
# Environment: MESON (default: meson) must be >= 1.1 for 1.24 (>= 1.4 for 1.26); Debian bookworm's meson is 1.0,
#   bookworm-backports has 1.7 (the project itself keeps building with 1.0). Needs flex and bison for core.
#   JOBS (default 2) parallel compile jobs.
#
# Only what the project's GStreamer tests use is enabled, everything else is disabled (-Dauto_features=disabled):
#   core:  gst-check library, core tracers (the leaks tracer), tools (gst-inspect-1.0, gst-launch-1.0)
#   base:  app (appsrc/appsink), videotestsrc, videoconvertscale (videoconvert), playback and typefind
#          (decodebin, for the README's Python probe example); the libraries (video, ...)
#   good:  jpeg (jpegdec), png (pngdec), imagefreeze
#   bad:   only the library gstreamer-analytics-1.0 is compiled and installed (no plugins)
set -euo pipefail

usage() { sed -n '/^# Usage:/,/^#   JOBS/p' "$0" | sed 's/^# \{0,1\}//'; }
if [ $# -ne 2 ]; then
  usage >&2
  exit 2
fi
src=$(cd "$1" && pwd)
prefix=$2
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
builddir=$prefix.build
meson=${MESON:-meson}
jobs=${JOBS:-2}
for m in gstreamer gst-plugins-base gst-plugins-good gst-plugins-bad; do
  if [ ! -f "$src/subprojects/$m/meson.build" ]; then
    echo "error: $src/subprojects/$m/meson.build not found: SRC must be a GStreamer monorepo checkout" >&2
    exit 1
  fi
done
need=$(sed -n "s/^ *meson_version *: *'>= *\([0-9.]*\)'.*/\1/p" "$src/subprojects/gstreamer/meson.build" | head -1)
have=$($meson --version)
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "error: this GStreamer needs meson >= $need, $meson is $have (set MESON=/path/to/newer/meson)" >&2
  exit 1
fi

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
common=(--prefix "$prefix" --libdir lib --buildtype release --wrap-mode nofallback -Dauto_features=disabled
  -Dexamples=disabled -Dtests=disabled -Dnls=disabled -Ddoc=disabled)

setup() { # module, options...
  local m=$1
  shift
  if [ -f "$builddir/$m/build.ninja" ]; then
    $meson configure "$builddir/$m" "$@"
  else
    $meson setup "$builddir/$m" "$src/subprojects/$m" "${common[@]}" "$@"
  fi
}

setup gstreamer -Dcheck=enabled -Dcoretracers=enabled -Dtools=enabled -Dbenchmarks=disabled \
  -Dptp-helper=disabled -Dbash-completion=disabled -Dlibunwind=disabled -Dlibdw=disabled -Dintrospection=disabled
$meson compile -C "$builddir/gstreamer" -j "$jobs"
$meson install -C "$builddir/gstreamer" --no-rebuild --quiet
setup gst-plugins-base -Dapp=enabled -Dvideotestsrc=enabled -Dvideoconvertscale=enabled -Dplayback=enabled \
  -Dtypefind=enabled -Dtools=disabled \
  -Dgl=disabled -Dorc=disabled -Dintrospection=disabled
$meson compile -C "$builddir/gst-plugins-base" -j "$jobs"
$meson install -C "$builddir/gst-plugins-base" --no-rebuild --quiet
setup gst-plugins-good -Djpeg=enabled -Dpng=enabled -Dimagefreeze=enabled -Dorc=disabled
$meson compile -C "$builddir/gst-plugins-good" -j "$jobs"
$meson install -C "$builddir/gst-plugins-good" --no-rebuild --quiet

# gst-plugins-bad: configure everything disabled, then compile and install the analytics library alone (a full
# install would compile the other unconditional libraries too)
setup gst-plugins-bad -Dorc=disabled -Dgpl=disabled -Dintrospection=disabled
bad=$builddir/gst-plugins-bad
$meson compile -C "$bad" -j "$jobs" gstanalytics-1.0
install -d "$prefix/lib" "$prefix/lib/pkgconfig" "$prefix/include/gstreamer-1.0/gst/analytics"
for f in "$bad"/gst-libs/gst/analytics/libgstanalytics-1.0.so*; do
  [ -d "$f" ] || cp -P "$f" "$prefix/lib/" # skip the object directory libgstanalytics-1.0.so.*.p
done
install -m 644 "$src"/subprojects/gst-plugins-bad/gst-libs/gst/analytics/*.h \
  "$prefix/include/gstreamer-1.0/gst/analytics/"
install -m 644 "$bad/meson-private/gstreamer-analytics-1.0.pc" "$prefix/lib/pkgconfig/"

echo "GStreamer $(PKG_CONFIG_PATH=$PKG_CONFIG_PATH pkg-config --modversion gstreamer-1.0) with" \
  "gstreamer-analytics-1.0 $(pkg-config --modversion gstreamer-analytics-1.0) installed in $prefix"
