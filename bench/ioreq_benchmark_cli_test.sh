#!/usr/bin/env bash
# The benchmark binary's exit codes: 2 and one line for every bad flag
# (checked before Google Benchmark's lenient parser), 0 for a listing; and
# on a kernel that refuses io_uring, the io_uring families say why and the
# run goes on.
set -u
bench="$1"
without_io_uring="$2"  # PROGRAM ARGS... on a kernel that refuses io_uring

source "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-ioreq_harness}/tools/testing/expect_exit.sh"

for bad in --benchmark_repetitions=-3 --benchmark_repetitions=abc \
           --benchmark_repetitions=99999999999 --benchmark_repetitions= \
           "--benchmark_filter=[" --benchmark_filter --benchmark_min_time=-1 \
           --benchmark_min_time=x --benchmark_format=xml \
           --benchmark_out_format=yaml --benchmark_out=/nonexistent/dir/o.json \
           --benchmark_color=maybe --benchmark_time_unit=years \
           --benchmark_list_tests=2 --benchmark_context=oops --v=abc \
           --no_such_flag stray --quick=1; do
  expect 2 "$bench" "$bad"
done

list=$("$bench" --quick --benchmark_list_tests 2>/dev/null)
[ $? = 0 ] || { echo "FAIL: --benchmark_list_tests did not exit 0"; fail=1; }
case "$list" in
  *HistogramRecord*) ;;
  *) echo "FAIL: the listing lacks HistogramRecord: $list"; fail=1 ;;
esac
# Without io_uring: each family that needs it reports the kernel's refusal
# (error_occurred), the others run, and the run exits 0.
out="${TEST_TMPDIR:-/tmp}/without_io_uring.json"
"$without_io_uring" "$bench" --benchmark_out="$out" --benchmark_min_time=0.01 \
  --benchmark_filter='^(Primitive/impl:(raw|doorbell)/primitive:(uring_msg|futex)/real|RoundTrip/strategy:(uring_eventfd|futex)/topology:direct/completion:notify/min)' \
  >/dev/null 2>&1
[ $? = 0 ] || { echo "FAIL: the run without io_uring did not exit 0"; fail=1; }
/usr/bin/python3 - "$out" <<'PY' || fail=1
import json, sys
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
refused = "io_uring is not available: io_uring_setup failed: Operation not permitted"
want = {
    "Primitive/impl:raw/primitive:uring_msg/real_time": refused,
    "Primitive/impl:raw/primitive:futex/real_time": None,
    "Primitive/impl:doorbell/primitive:uring_msg/real_time": refused,
    "Primitive/impl:doorbell/primitive:futex/real_time": None,
    "RoundTrip/strategy:uring_eventfd/topology:direct/completion:notify/min_time:0.300/real_time": refused,
    "RoundTrip/strategy:futex/topology:direct/completion:notify/min_time:0.300/real_time": None,
}
for name, error in want.items():
    run = runs.get(name)
    if run is None:
        sys.exit("FAIL: without io_uring, %s did not run" % name)
    if error is None and (run.get("error_occurred") or run["iterations"] < 1):
        sys.exit("FAIL: without io_uring, %s failed: %s" % (name, run))
    if error is not None and run.get("error_message") != error:
        sys.exit("FAIL: without io_uring, %s: %s" % (name, run.get("error_message")))
PY

[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
