#!/usr/bin/env bash
# fuzz/afl.sh TARGET [--seconds=N] [--out=DIR]: a campaign with AFL++ on one
# fuzz target, built as OSS-Fuzz builds for AFL++: .clusterfuzzlite/build.sh
# with CXX=afl-clang-fast++ and AFL++'s libFuzzer-compatible driver
# (libAFLDriver.a) as $LIB_FUZZING_ENGINE, AddressSanitizer on. Seeds are
# corpus/TARGET/ (flattened), the dictionary fuzz/TARGET.dict where there is
# one; findings land in DIR (default a fresh folder under /tmp, printed).
# Debian's afl++ package provides the tools (setup.sh installs it).
#
# Exit codes: 0 the campaign ran and found no crash; 1 it found crashes
# (listed) or AFL++ failed; 2 bad arguments.
set -uo pipefail
cd "$(dirname "$0")/.."
usage() { echo "afl: $1 (usage: fuzz/afl.sh TARGET [--seconds=N] [--out=DIR])" >&2; exit 2; }
target="" seconds=60 out=""
for a in "$@"; do
  case "$a" in
    --seconds=*) seconds="${a#*=}" ;;
    --out=*) out="${a#*=}" ;;
    -*) usage "unknown flag $a" ;;
    *) [ -z "$target" ] || usage "one target only"; target="$a" ;;
  esac
done
[ -n "$target" ] || usage "which target? one of: $(tr '\n' ' ' < fuzz/targets.txt)"
grep -qx "$target" fuzz/targets.txt || usage "$target: not a target (fuzz/targets.txt lists them)"
case "$seconds" in ''|*[!0-9]*) usage "--seconds=$seconds: accepts 1 to 86400" ;; esac
{ [ "$seconds" -ge 1 ] && [ "$seconds" -le 86400 ]; } || usage "--seconds=$seconds: accepts 1 to 86400"
command -v afl-fuzz >/dev/null && command -v afl-clang-fast++ >/dev/null ||
  usage "AFL++ is not installed (./setup.sh installs Debian's afl++)"
driver=$(ls /usr/lib/afl/libAFLDriver.a /usr/local/lib/afl/libAFLDriver.a 2>/dev/null | head -1)
[ -n "$driver" ] || usage "AFL++'s libAFLDriver.a is missing"
out="${out:-$(mktemp -d /tmp/afl-"$target"-XXXXXX)}"
mkdir -p "$out" || usage "--out=$out: cannot be created"

build="$out/build"
echo "afl: building $target with afl-clang-fast++ into $build"
if ! CC=afl-clang-fast CXX=afl-clang-fast++ OUT="$build" TARGETS="$target" AFL_QUIET=1 \
     AFL_USE_ASAN=1 CXXFLAGS="-O1 -gline-tables-only" LIB_FUZZING_ENGINE="$driver" \
     bash .clusterfuzzlite/build.sh >"$out/build.log" 2>&1; then
  echo "afl: the build failed:" >&2; tail -20 "$out/build.log" >&2; exit 1
fi
seeds="$out/seeds"
mkdir -p "$seeds"
find -L "corpus/$target" -type f -size -1000k | while read -r f; do
  cp "$f" "$seeds/$(echo "${f#corpus/$target/}" | tr / _)"
done
dict=()
[ -f "fuzz/$target.dict" ] && dict=(-x "fuzz/$target.dict")
echo "afl: fuzzing $target for $seconds s ($(ls "$seeds" | wc -l) seeds); findings in $out/findings"
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 \
  afl-fuzz -i "$seeds" -o "$out/findings" "${dict[@]}" -V "$seconds" -m none -t 5000 \
  -- "$build/$target" >"$out/afl.log" 2>&1
rc=$?
stats="$out/findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "afl: afl-fuzz did not run (exit $rc):" >&2; tail -20 "$out/afl.log" >&2; exit 1
fi
field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(ls "$out/findings/default/crashes" 2>/dev/null | grep -cv '^README' || true)
echo "afl: $target: $(field execs_done) executions ($(field execs_per_sec)/s), corpus $(field corpus_count), edges $(field edges_found), $crashes crash(es)"
if [ "$crashes" -gt 0 ]; then
  ls "$out/findings/default/crashes" | grep -v '^README' | sed "s|^|afl: crash: $out/findings/default/crashes/|"
  exit 1
fi
exit 0
