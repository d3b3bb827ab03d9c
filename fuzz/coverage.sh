#!/usr/bin/env bash
# fuzz/coverage.sh: line and branch coverage of core/ reached by the fuzz
# corpora (corpus/<target>/, or the folders given as CORPUS_ROOT/<target>).
#
# usage: fuzz/coverage.sh [CORPUS_ROOT] [--unreached]
# Builds every fuzz target with clang source-based coverage around the
# regression driver, replays each corpus once, merges the profiles and
# prints llvm-cov's report for core/, one line per file (a TOTAL line
# last). --unreached then lists every branch of the router, the registry
# and the completer that the corpora never took one way, as
# FILE:LINE: the source line, and which side (True or False) was never
# taken (docs/fuzzing.md gives the reason for each).
set -euo pipefail
cd "$(dirname "$0")/.."
root=corpus
unreached=0
for a in "$@"; do
  case "$a" in
    --unreached) unreached=1 ;;
    -*) echo "coverage: unknown flag $a (accepts --unreached)" >&2; exit 2 ;;
    *) root="$a" ;;
  esac
done
llvm_cov="$(command -v llvm-cov-14 || command -v llvm-cov)"
llvm_profdata="$(command -v llvm-profdata-14 || command -v llvm-profdata)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(-O1 -std=c++17 -I. -fprofile-instr-generate -fcoverage-mapping)
core=($(find core -name "*.cc" ! -name "*_test.cc" ! -name "*_benchmark.cc" | sort) fuzz/*_format.cc fuzz/record_stream.cc)  # + input formats
mapfile -t targets < fuzz/targets.txt  # the one list of fuzz targets
source fuzz/link_libs.sh
sources=("${core[@]}" fuzz/regression_driver.cc)
for t in "${targets[@]}"; do sources+=("fuzz/${t}_fuzzer.cc"); done
export work
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} sh -c \
  'clang++ '"${flags[*]}"' -c {} -o "$work/$(echo {} | tr / _).o"'
objects=()
for f in "${core[@]}"; do objects+=("$work/$(echo "$f" | tr / _).o"); done
bins=()
for t in "${targets[@]}"; do
  clang++ "${flags[@]}" "$work/fuzz_${t}_fuzzer.cc.o" "$work/fuzz_regression_driver.cc.o" \
    "${objects[@]}" "${link_libs[@]}" -o "$work/$t"
  LLVM_PROFILE_FILE="$work/$t.profraw" "$work/$t" "$root/$t" > /dev/null
  bins+=(-object "$work/$t")
done
"$llvm_profdata" merge -sparse "$work"/*.profraw -o "$work/all.profdata"
"$llvm_cov" report -instr-profile="$work/all.profdata" "${bins[@]:1}" -object "$work/${targets[0]}" \
  "${core[@]}"
if [ "$unreached" = 1 ]; then
  echo
  echo "Branches never taken one way (router, registry, completer):"
  for f in core/hsm/internal/router.cc core/hsm/internal/registry.cc \
           core/hsm/internal/completer.cc; do
    "$llvm_cov" show -instr-profile="$work/all.profdata" "${bins[@]:1}" \
      -object "$work/${targets[0]}" -show-branches=count -use-color=false "$f" |
      awk -v file="$f" '
        /^ *[0-9]+\|/ { split($0, p, "|"); line = p[1] + 0; text = p[3]; next }
        /Branch \(/ && (/True: 0,/ || /False: 0\]/) {
          side = /True: 0,/ ? "True" : "False"
          gsub(/^[ \t]+/, "", text)
          printf "%s:%d: never %s: %s\n", file, line, side, text
        }'
  done
fi
