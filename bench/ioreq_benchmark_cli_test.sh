#!/usr/bin/env bash
# The benchmark binary's exit codes: 2 and one line for every bad flag
# (checked before Google Benchmark's lenient parser), 0 for a listing.
set -u
bench="$1"

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
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
