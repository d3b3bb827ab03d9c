#!/usr/bin/env bash
# `bazel run //reports:history -- trend|store ...`: runs reports/history.py
# on Debian's python3, from the caller's folder.
ws="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "${BUILD_WORKING_DIRECTORY:-$ws}" || exit 2
export MPLCONFIGDIR="${MPLCONFIGDIR:-${TMPDIR:-/tmp}/ioreq-mpl}"
exec /usr/bin/python3 "$ws/reports/history.py" "$@"
