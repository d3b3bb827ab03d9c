#!/usr/bin/env bash
# Runs fuzz/continuous.py on Debian's python3 (see that file).
here="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
exec /usr/bin/python3 "$here/fuzz/continuous.py" "$@"
