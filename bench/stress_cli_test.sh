#!/usr/bin/env bash
# The stress command's exit codes: 0 clean run, 2 for every kind of bad flag.
set -u
stress="$1"
without_io_uring="$2"  # PROGRAM ARGS... on a kernel that refuses io_uring

source "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-ioreq_harness}/tools/testing/expect_exit.sh"

expect 0 "$stress" --requests=300
expect 0 "$stress" --requests=300 --polling --vcpus=3 --vms=2
expect 0 "$stress" --requests=300 --pin=same-core
expect 0 "$stress" --requests=300 --pin=cross-core --topology=direct
expect 0 "$stress" --requests=2000 --vcpus=4 --service_poll_us=20
expect 0 "$stress" --requests=2000 --vcpus=4 --service_poll_us=20 --topology=direct --faults=all
expect 0 "$stress" --help
for bad in --vcpus=0 --vcpus=17 --vcpus=abc --vcpus= --requests=-1 \
           --requests=0 --requests=1x --requests=99999999999999999999 \
           --strategy=nope --vms=0 --vms=65 --clients=0 --seconds=-1 \
           --seconds=nan --polling=maybe --json=2 --seed=-1 --timeout_ms=0 \
           --no_such_flag --vcpus stray_argument \
           --faults=nope --faults=stall,stall --faults=stall, --faults=ALL \
           --garbage_per_s=0 --garbage_per_s=-5 --garbage_per_s=1e99 \
           --garbage_per_s=nan --garbage_per_s=x --stall_every=0 \
           --stall_every=99999999999 --stall_us=0 --stall_us=2000000 \
           --destroy_every=-1 --clear_every_ms=0 --pause_every_ms=0 \
           --pause_us=0 --drop_every=0 --drop_every=abc --wedge_ms=0 \
           --progress_s=-1 --progress_s=99999 --soak=maybe --rescan=2 \
           --watchdog_s=-1 --watchdog_s=99999999 --rate=-1 \
           --service_poll_us=-1 --service_poll_us=1001 --service_poll_us=x \
           --hypervisor=qemu --hypervisor= --pin=bogus --pin=0/99999 --pin=0 \
           --pin= --profile=ACRN --profile= --profile=acrn,hardened \
           --plant=nope --plant= --plant=wrong_read,lost_write \
           --doorbell=eventfd --doorbell= "--hypervisor=kvm --doorbell=posted"; do
  # shellcheck disable=SC2086  # one case is two flags
  expect 2 "$stress" $bad
done

# Faults: each alone, and all of them in a soak, end clean (exit 0).
for f in garbage stall destroy clear pause drop; do
  expect 0 "$stress" --requests=2000 --vcpus=3 --vms=2 --faults=$f
done
expect 0 "$stress" --soak --seconds=2 --vcpus=3 --vms=2 --topology=direct
soak_err=$("$stress" --soak --seconds=2.5 --progress_s=1 --vms=2 2>&1 >/dev/null)
case "$soak_err" in
  *"] issued "*"injected garbage "*) ;;
  *) echo "FAIL: --soak printed no progress line: $soak_err"; fail=1 ;;
esac
# The acrn profile: clean with every fault ACRN survives (--faults=all
# means those under acrn); a lost notification hangs ACRN's vCPU (exit 1).
expect 0 "$stress" --profile=acrn --seconds=2 --faults=all --vcpus=3 --vms=2
expect 0 "$stress" --profile=acrn --requests=2000 --polling --topology=direct
expect 1 "$stress" --profile=acrn --requests=300 --faults=drop --drop_every=1 --timeout_ms=200
expect 0 "$stress" --doorbell=posted --seconds=2 --faults=all --vcpus=3 --vms=2
expect 0 "$stress" --profile=acrn --doorbell=posted --seconds=2 --faults=all --topology=direct
acrn_json=$("$stress" --profile=acrn --requests=300 --json)
case "$acrn_json" in
  *'"profile": "acrn"'*'"ok": true}') ;;
  *) echo "FAIL: --profile=acrn --json: $acrn_json"; fail=1 ;;
esac
# Without the rescan, a lost notification strands its request: exit 1,
# and the watchdog bound is not needed for that (the vCPU's timeout is).
expect 1 "$stress" --requests=50 --faults=drop --drop_every=1 --norescan --timeout_ms=200
# A bug planted in the devices is the oracle's to report: exit 1, both ways.
expect 1 "$stress" --requests=2000 --plant=wrong_read
# ...each planted wrong answer once: the JSON's count of them is wrong_value.
if command -v /usr/bin/python3 >/dev/null; then
  "$stress" --requests=2000 --plant=wrong_read --json \
    | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["planted"] > 0 and d["wrong_value"] == d["planted"] and not d["ok"], d' \
    || { echo "FAIL: --plant=wrong_read --json: wrong_value is not the planted count"; fail=1; }
fi
expect 1 "$stress" --requests=2000 --plant=lost_write --topology=direct
expect 1 "$stress" --seconds=1 --plant=stray_finish
expect 0 "$stress" --requests=2000 --plant=none

# The KVM producer: a guest's mix, with every fault; or, where /dev/kvm is
# unusable, exit 2 with one line saying why.
if kvm_err=$("$stress" --hypervisor=kvm --requests=600 --vcpus=2 2>&1 >/dev/null); then
  expect 0 "$stress" --hypervisor=kvm --seconds=2 --faults=all --vcpus=3 --vms=2
  expect 0 "$stress" --hypervisor=kvm --soak --seconds=2 --topology=direct
  expect 2 "$stress" --hypervisor=kvm --clients=9
  expect 1 "$stress" --hypervisor=kvm --requests=2000 --plant=wrong_read
  expect 2 "$stress" --hypervisor=kvm --rate=10
  kvm_json=$("$stress" --hypervisor=kvm --requests=300 --json)
  case "$kvm_json" in
    *'"hypervisor": "kvm"'*'"ok": true}') ;;
    *) echo "FAIL: --hypervisor=kvm --json: $kvm_json"; fail=1 ;;
  esac
else
  case "$kvm_err" in
    *"--hypervisor=kvm: KVM unusable"*) echo "KVM unusable here: $kvm_err" ;;
    *) echo "FAIL: --hypervisor=kvm failed: $kvm_err"; fail=1 ;;
  esac
fi

# Where the kernel refuses io_uring (a container's seccomp profile,
# kernel.io_uring_disabled): a uring strategy is the user's to change, exit
# 2 with one line naming the flag and what this machine accepts; the other
# strategies run as before.
for strategy in uring uring_eventfd; do
  expect 2 "$without_io_uring" "$stress" --strategy=$strategy --requests=100
  err=$("$without_io_uring" "$stress" --strategy=$strategy --requests=100 2>&1 >/dev/null)
  case "$err" in
    "stress: --strategy=$strategy: io_uring is not available: io_uring_setup failed: Operation not permitted; this machine accepts spin, eventfd, futex, adaptive") ;;
    *) echo "FAIL: --strategy=$strategy without io_uring: $err"; fail=1 ;;
  esac
done
expect 0 "$without_io_uring" "$stress" --strategy=futex --requests=300 --faults=all
expect 0 "$without_io_uring" "$stress" --strategy=adaptive --requests=300 --topology=direct

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
  printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["issued"]==500 and d["lost"]==0 and "faults" not in d, d' \
    || { echo "FAIL: --json is not valid JSON: $json"; fail=1; }
  json=$("$stress" --requests=2000 --faults=all --vms=2 --json)
  printf '%s' "$json" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and sorted(d["faults"]) == sorted(
    ["garbage", "stall", "destroy", "clear", "pause", "drop"]), d
for name, t in d["faults"].items():
    assert set(t) == {"injected", "touched", "completed", "other_value",
                      "all_ones", "gave_up", "insert_refused"}, (name, t)
' || { echo "FAIL: --faults=all --json: $json"; fail=1; }
fi
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
