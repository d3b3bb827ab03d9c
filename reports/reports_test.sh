#!/usr/bin/env bash
# Runs the Python unit tests of reports/ on Debian's python3.
cd "$(dirname "$0")" 2>/dev/null || true
cd "${TEST_SRCDIR:-..}/${TEST_WORKSPACE:-ioreq_harness}/reports" 2>/dev/null || cd reports
export MPLCONFIGDIR="${TEST_TMPDIR:-/tmp}/mpl"
exec /usr/bin/python3 -m unittest -v reports_test
