# SPDX-License-Identifier: Apache-2.0
# Shared set-up of the end-to-end CLI tests that make their inputs with GStreamer (test_eval_cli.sh,
# test_run_video.sh). Sourced (POSIX sh) after VIGIL=$1 and HARNESS_TAG (the temporary directory's name) are set.
# Provides: D (tests/data), T (a temporary directory removed at exit), the passed/failed counters, ok NAME,
# not_ok NAME (shows $T/err), and run ARGS... (runs vigil, stdout to $T/out, stderr to $T/err, status in $rc).

if [ -z "$VIGIL" ] || [ ! -x "$VIGIL" ] || [ -z "$VIGIL_TEST_DATA" ]; then
	echo "usage: VIGIL_TEST_DATA=tests/data $0 /path/to/vigil" >&2
	exit 2
fi
for t in gst-launch-1.0 python3; do
	if ! command -v "$t" >/dev/null; then
		echo "$t is missing (scripts/setup.sh installs it)" >&2
		exit 1
	fi
done

D=$VIGIL_TEST_DATA
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-$HARNESS_TAG-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	[ -s "$T/err" ] && sed 's/^/    /' "$T/err" | head -n 20
}
run() {
	"$VIGIL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
