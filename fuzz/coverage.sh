#!/usr/bin/env bash
# fuzz/coverage.sh: line and branch coverage of core/ reached by the fuzz
# corpora (corpus/<target>/, or the folders given as CORPUS_ROOT/<target>).
#
# usage: fuzz/coverage.sh [CORPUS_ROOT]
# Builds every fuzz target with clang source-based coverage around the
# regression driver, replays each corpus once, merges the profiles and
# prints llvm-cov's report for core/ (a TOTAL line last).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-corpus}"
llvm_cov="$(command -v llvm-cov-14 || command -v llvm-cov)"
llvm_profdata="$(command -v llvm-profdata-14 || command -v llvm-profdata)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(-O1 -std=c++17 -I. -fprofile-instr-generate -fcoverage-mapping)
core=($(find core -name "*.cc" ! -name "*_test.cc" | sort))
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
