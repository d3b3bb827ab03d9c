#!/usr/bin/env bash
# The main job: `bazel run //reports:main [-- --quick]`.
# Runs the benchmark suite with repetitions (3; --quick: a representative
# subset) and writes the report under reports/out/ (ignored by git).
# --aa runs it twice and states the machine's noise floor per family.
# Exit codes: 0 report written; 1 the suite or the report failed; 2 bad
# arguments.
set -uo pipefail
ws="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/.." && pwd)}"
bench="$(pwd)/bench/ioreq_benchmark"
[ -x "$bench" ] || bench="$ws/bazel-bin/bench/ioreq_benchmark"
quick=()
reps=3
aa=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    --repetitions=*) reps="${arg#*=}" ;;
    --aa) aa=1 ;;
    *) echo "main: unknown argument '$arg' (accepts --quick, --repetitions=N, --aa)" >&2; exit 2 ;;
  esac
done
case "$reps" in
  ''|*[!0-9]*|????*) echo "main: --repetitions=$reps: accepts a count of 1 to 100" >&2; exit 2 ;;
esac
if [ "$reps" -lt 1 ] || [ "$reps" -gt 100 ]; then
  echo "main: --repetitions=$reps: accepts a count of 1 to 100" >&2; exit 2
fi
out="$ws/reports/out"
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
