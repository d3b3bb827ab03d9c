#!/usr/bin/env bash
# The main job: `bazel run //reports:main [-- --quick]`.
# Runs the benchmark suite with repetitions (3; --quick: a representative
# subset) and writes the report under reports/out/ (ignored by git).
# --aa runs it twice and states the machine's noise floor per family.
# Each run is stored in the results history (reports/history.py; SQLite at
# reports/out/history.sqlite, or --history=PATH) and the trend page
# reports/out/trend.html is drawn from it.
# Exit codes: 0 report written; 1 the suite or the report failed; 2 bad
# arguments.
set -uo pipefail
ws="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
bench="$(pwd)/bench/ioreq_benchmark"
[ -x "$bench" ] || bench="$ws/bazel-bin/bench/ioreq_benchmark"
quick=()
reps=3
aa=0
history=""
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    --repetitions=*) reps="${arg#*=}" ;;
    --aa) aa=1 ;;
    --history=?*) history="${arg#*=}" ;;
    *) echo "main: unknown argument '$arg' (accepts --quick, --repetitions=N, --aa, --history=PATH)" >&2; exit 2 ;;
  esac
done
case "$reps" in
  ''|*[!0-9]*|????*) echo "main: --repetitions=$reps: accepts a count of 1 to 100" >&2; exit 2 ;;
esac
if [ "$reps" -lt 1 ] || [ "$reps" -gt 100 ]; then
  echo "main: --repetitions=$reps: accepts a count of 1 to 100" >&2; exit 2
fi
out="$ws/reports/out"
history="${history:-$out/history.sqlite}"
case "$history" in /*) ;; *) history="${BUILD_WORKING_DIRECTORY:-$PWD}/$history" ;; esac
if [ -e "$history" ] && [ ! -f "$history" ]; then
  echo "main: --history=$history: not a file" >&2; exit 2
fi
if [ ! -d "$(dirname "$history")" ] && [ "$history" != "$out/history.sqlite" ]; then
  echo "main: --history=$history: its folder does not exist" >&2; exit 2
fi
mkdir -p "$out"
stamp="$(date +%Y%m%d-%H%M%S)"
json="$out/bench-$stamp.json"
echo "main: running the benchmark suite, $reps repetition(s)${quick:+, quick}..."
if ! "$bench" "${quick[@]}" --benchmark_repetitions="$reps" \
     --benchmark_out="$json.tmp" --benchmark_out_format=json; then
  rm -f "$json.tmp"
  echo "main: the benchmark suite failed" >&2
  exit 1
fi
mv "$json.tmp" "$json"
cp "$json" "$out/latest.json"
noise=()
if [ "$aa" = 1 ]; then
  # A/A: the same binary again, compared with the first run; the noise
  # floor per family goes into the report (reports/compare.py --aa).
  echo "main: --aa: running the suite a second time for the noise floor..."
  if ! "$bench" "${quick[@]}" --benchmark_repetitions="$reps" \
       --benchmark_out="$json.aa" --benchmark_out_format=json >/dev/null; then
    rm -f "$json.aa"
    echo "main: the A/A run failed" >&2
    exit 1
  fi
  /usr/bin/python3 "$ws/reports/compare.py" --aa "$json" "$json.aa" \
      --json "$out/noise-$stamp.json" >/dev/null || exit 1
  noise=(--noise="$out/noise-$stamp.json")
fi
/usr/bin/python3 "$ws/reports/report.py" "$json" "$out" "${noise[@]}" || exit 1
echo "main: report written: $out/report.html (and report.md); raw results $json"
/usr/bin/python3 "$ws/reports/history.py" store "$json" --db="$history" || exit 1
# The trend of the unpinned round trips; a run with none of them has no trend.
/usr/bin/python3 "$ws/reports/history.py" trend --db="$history" --out="$out" ||
  echo "main: no trend page drawn (see above)" >&2
