# tools/testing/expect_exit.sh: sourced by the command-line tests.
#
#   expect CODE COMMAND [ARGS...]
# runs COMMAND (60 s at most), and records a failure in $fail unless it
# exits CODE; for CODE 2 (the user asked wrongly) it must also print exactly
# one line on stderr. Example:
#   source "$TEST_SRCDIR/$TEST_WORKSPACE/tools/testing/expect_exit.sh"
#   expect 2 "$stress" --vcpus=0
#   [ "$fail" = 0 ] && echo PASS; exit "$fail"
fail=0

expect() {
  local want="$1"; shift
  local err got
  err=$(timeout 60 "$@" 2>&1 >/dev/null)
  got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $* exited $got, want $want ($err)"; fail=1
  elif [ "$want" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" != 1 ]; then
    echo "FAIL: $* printed more than one line: $err"; fail=1
  fi
}
