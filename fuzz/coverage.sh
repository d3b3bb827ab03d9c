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
core=($(ls core/*.cc core/devices/*.cc core/notify/*.cc | grep -v _test.cc))
targets=(slot_decode range_map cf8cfc ioeventfd dispatch_ops concurrent)
libs=(-labsl_status -labsl_statusor -labsl_cord -labsl_cordz_info
      -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle
      -labsl_strerror -labsl_str_format_internal -labsl_strings
      -labsl_strings_internal -labsl_int128 -labsl_time -labsl_time_zone
      -labsl_civil_time -labsl_raw_hash_set -labsl_hash -labsl_city
      -labsl_low_level_hash -labsl_hashtablez_sampler -labsl_synchronization
      -labsl_graphcycles_internal -labsl_stacktrace -labsl_symbolize
      -labsl_malloc_internal -labsl_base -labsl_raw_logging_internal
      -labsl_log_severity -labsl_spinlock_wait -labsl_throw_delegate
      -luring -lpthread)
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
    "${objects[@]}" "${libs[@]}" -o "$work/$t"
  LLVM_PROFILE_FILE="$work/$t.profraw" "$work/$t" "$root/$t" > /dev/null
  bins+=(-object "$work/$t")
done
"$llvm_profdata" merge -sparse "$work"/*.profraw -o "$work/all.profdata"
"$llvm_cov" report -instr-profile="$work/all.profdata" "${bins[@]:1}" -object "$work/${targets[0]}" \
  "${core[@]}"
