#!/usr/bin/env bash
# Bad input to the fuzzing tools gets exit code 2 and one line, never a
# crash or a hang: the regression driver's corpus paths and files, and the
# continuous runner's flags. (Flags are checked before anything is built.)
set -u
driver="$1"
runner="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"

source "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-ioreq_harness}/tools/testing/expect_exit.sh"

# --- the regression driver: corpus paths and files
mkdir -p "$tmp/empty_dir" "$tmp/good"
printf '\x01\xf8\x0c\x00\x00\x04' > "$tmp/good/one"
: > "$tmp/good/zero_bytes"          # an empty input is valid
truncate -s 2M "$tmp/huge"          # sparse: no disk used
mkfifo "$tmp/fifo"
expect 0 "$driver" "$tmp/good"
expect 0 "$driver" "$tmp/good/zero_bytes"
expect 2 "$driver"                              # no path
expect 2 "$driver" "$tmp/missing"
expect 2 "$driver" "$tmp/empty_dir"             # an empty corpus tests nothing
expect 2 "$driver" "$tmp/huge"
expect 2 "$driver" "$tmp/fifo"                  # would block if opened
expect 2 "$driver" /dev/null
expect 2 "$driver" "$tmp/good" "$tmp/missing"   # one bad path fails the run
mkdir -p "$tmp/mixed" && cp "$tmp/good/one" "$tmp/mixed/" && truncate -s 2M "$tmp/mixed/big"
expect 2 "$driver" "$tmp/mixed"

# --- the continuous runner's flags
py=/usr/bin/python3
for bad in "" --minutes=0 --minutes=-1 --minutes=abc --minutes=nan \
           --minutes=inf --minutes=99999999 --minutes= "--minutes=1 --targets=nope" \
           "--minutes=1 --targets=" "--minutes=1 --targets=cf8cfc,cf8cfc" \
           "--minutes=1 --targets=cf8cfc," "--minutes=1 --out=" \
           "--minutes=1 --no_such_flag" "--minutes=1 stray"; do
  # shellcheck disable=SC2086
  expect 2 "$py" "$runner" $bad
done
touch "$tmp/a_file"
expect 2 env BUILD_WORKSPACE_DIRECTORY="$tmp" "$py" "$runner" --minutes=1 --out=a_file/sub

[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
