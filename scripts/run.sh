#!/usr/bin/env bash
# The main job: install what is missing, build, and detect faces. With no arguments it runs on the
# bundled sample photos (tests/data/faces), writes annotated copies to out/ and prints one JSON detection
# record per photo. Arguments are passed to `vigil detect` instead (e.g. scripts/run.sh --model face-short a.jpg).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

if [ $# -gt 0 ]; then
  exec ./build/pipeline/vigil detect "$@"
fi
mkdir -p out
./build/pipeline/vigil detect --json --draw out tests/data/faces/sample*.jpg
echo "annotated photos written to out/ ($(ls out/*.jpg | wc -l) files)" >&2
