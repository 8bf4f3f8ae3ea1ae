#!/usr/bin/env bash
# Fails when any C file differs from what clang-format (the repo's .clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "needs clang-format: $f" >&2
    bad=1
  fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find pipeline models accel tests -name '*.[ch]')
[ "$bad" -eq 0 ] && echo "clang-format: all files clean"
exit "$bad"
