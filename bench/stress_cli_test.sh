#!/usr/bin/env bash
# The stress command's exit codes: 0 clean run, 2 for every kind of bad flag.
set -u
stress="$1"
fail=0

expect() {  # expect CODE ARGS...
  local want="$1"; shift
  local err
  err=$("$stress" "$@" 2>&1 >/dev/null)
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: stress $* exited $got, want $want ($err)"; fail=1
  elif [ "$want" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" != 1 ]; then
    echo "FAIL: stress $* printed more than one line: $err"; fail=1
  fi
}

expect 0 --requests=300
expect 0 --requests=300 --polling --vcpus=3 --vms=2
expect 0 --help
for bad in --vcpus=0 --vcpus=17 --vcpus=abc --vcpus= --requests=-1 \
           --requests=0 --requests=1x --requests=99999999999999999999 \
           --strategy=nope --vms=0 --vms=65 --clients=0 --seconds=-1 \
           --seconds=nan --polling=maybe --json=2 --seed=-1 --timeout_ms=0 \
           --no_such_flag --vcpus stray_argument; do
  expect 2 "$bad"
done

json=$("$stress" --requests=500 --json)
for key in strategy vms vcpus clients issued completed lost duplicated \
           wrong_value p50_ns p99_ns p999_ns max_ns requests_per_s \
           cpu_ns_per_request; do
  case "$json" in
    *"\"$key\": "*) ;;
    *) echo "FAIL: --json lacks $key: $json"; fail=1 ;;
  esac
done
if command -v /usr/bin/python3 >/dev/null; then
  printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["issued"]==500 and d["lost"]==0, d' \
    || { echo "FAIL: --json is not valid JSON: $json"; fail=1; }
fi
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
