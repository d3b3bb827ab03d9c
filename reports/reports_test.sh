#!/usr/bin/env bash
# Runs a Python unit-test module of reports/ (reports_test by default) on
# Debian's python3: reports_test.sh [MODULE].
cd "$(dirname "$0")" 2>/dev/null || true
cd "${TEST_SRCDIR:-..}/${TEST_WORKSPACE:-ioreq_harness}/reports" 2>/dev/null || cd reports
export MPLCONFIGDIR="${TEST_TMPDIR:-/tmp}/mpl"
exec /usr/bin/python3 -m unittest -v "${1:-reports_test}"
