#!/usr/bin/env bash
# `bazel run //reports:compare -- BASE.json NEW.json [--json=DIFF.json]`:
# runs reports/compare.py on Debian's python3, from the caller's folder.
ws="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "${BUILD_WORKING_DIRECTORY:-$ws}" || exit 2
args=()
for a in "$@"; do
  case "$a" in --json=*) args+=(--json "${a#*=}") ;; *) args+=("$a") ;; esac
done
exec /usr/bin/python3 "$ws/reports/compare.py" "${args[@]}"
