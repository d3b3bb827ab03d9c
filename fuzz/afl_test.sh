#!/usr/bin/env bash
# fuzz/afl.sh end to end: AFL++ builds slot_decode through
# .clusterfuzzlite/build.sh (afl-clang-fast++, libAFLDriver.a, ASan) and
# fuzzes it for 15 s from its seeds; the campaign must execute, keep its
# seeds and find no crash. Bad arguments are exit 2 and one line.
set -u
fail=0
for bad in "" "no_such_target" "slot_decode --seconds=0" "slot_decode --seconds=x" \
           "slot_decode --frobnicate" "slot_decode cf8cfc"; do
  # shellcheck disable=SC2086
  fuzz/afl.sh $bad >/dev/null 2>"${TEST_TMPDIR:-/tmp}/err"
  rc=$?
  if [ "$rc" != 2 ] || [ "$(wc -l < "${TEST_TMPDIR:-/tmp}/err")" != 1 ]; then
    echo "FAIL: afl.sh $bad: exit $rc, stderr: $(cat "${TEST_TMPDIR:-/tmp}/err")"; fail=1
  fi
done
out="${TEST_TMPDIR:-$(mktemp -d)}/afl"
if ! fuzz/afl.sh slot_decode --seconds=15 --out="$out" | tee "$out.log"; then
  echo "FAIL: the campaign failed"; tail -30 "$out/afl.log" 2>/dev/null; exit 1
fi
stats="$out/findings/default/fuzzer_stats"
execs=$(awk -F' *: *' '$1 == "execs_done" { print $2 }' "$stats")
corpus=$(awk -F' *: *' '$1 == "corpus_count" { print $2 }' "$stats")
seeds=$(ls "$out/seeds" | wc -l)
[ "${execs:-0}" -gt 10000 ] || { echo "FAIL: only ${execs:-0} executions in 15 s"; fail=1; }
[ "${corpus:-0}" -ge 1 ] && [ "$seeds" -ge 1 ] || { echo "FAIL: corpus $corpus from $seeds seeds"; fail=1; }
[ "$fail" = 0 ] && echo "PASS: $execs executions, corpus $corpus from $seeds seeds"
exit "$fail"
