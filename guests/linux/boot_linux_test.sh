#!/usr/bin/env bash
# boot_linux_test.sh: the boot_linux command end to end.
#   - bad flags and files: exit 2 and one line, before any VM exists;
#   - where KVM is usable: Debian's cloud kernel (fetch_kernel.sh; cached in
#     /var/tmp/ioreq-harness-linux between runs) boots on the project's
#     hypervisor and HSM. With hardware virtualization the init runs and
#     lists the PCI functions Linux enumerated through 0xCF8/0xCFC, and the
#     machine resets. On a kvm_pvm host the command skips in one line, and
#     --on_pvm shows the kernel's decompressor reading the command line the
#     loader passed and printing through the 16550 behind the HSM (it
#     stops later, where the host's emulator lacks instructions).
# Skips (exit 0, saying why) where /dev/kvm is unusable.
set -uo pipefail
cd "${TEST_SRCDIR:-..}/${TEST_WORKSPACE:-ioreq_harness}" 2>/dev/null || true
bin=guests/linux/boot_linux_bin
initrd=guests/linux/initramfs.cpio
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

expect_usage() {  # expect_usage WHAT ARGS...: exit 2, one line on stderr
  local what="$1"; shift
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" = 2 ] || fail "$what: exit $rc, not 2"
  [ "$(wc -l <"$tmp/err")" = 1 ] || fail "$what: stderr is not one line: $(cat "$tmp/err")"
}
printf 'not a kernel at all\n%.0s' {1..200} >"$tmp/text"
expect_usage "no kernel" --initrd="$initrd"
expect_usage "missing kernel" --kernel=/nonexistent --initrd="$initrd"
expect_usage "text as kernel" --kernel="$tmp/text" --initrd="$initrd"
grep -q "not a Linux kernel image" "$tmp/err" || fail "text as kernel: $(cat "$tmp/err")"
expect_usage "seconds" --kernel="$tmp/text" --initrd="$initrd" --seconds=0
expect_usage "memory" --kernel="$tmp/text" --initrd="$initrd" --memory_mib=64
expect_usage "strategy" --kernel="$tmp/text" --initrd="$initrd" --strategy=carrier_pigeon
expect_usage "stray" --kernel="$tmp/text" --initrd="$initrd" stray

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "SKIP: /dev/kvm is not usable here"; exit "$((failures > 0))"
fi
export IOREQ_LINUX_CACHE="${IOREQ_LINUX_CACHE:-/var/tmp/ioreq-harness-linux}"
mkdir -p "$IOREQ_LINUX_CACHE" 2>/dev/null || IOREQ_LINUX_CACHE="$tmp/linux"
kernel=$(guests/linux/fetch_kernel.sh) || { fail "fetch_kernel.sh could not fetch the kernel"; exit 1; }
echo "kernel: $kernel"

if [ -e /sys/module/kvm_pvm ]; then
  "$bin" --kernel="$kernel" --initrd="$initrd" >"$tmp/out" 2>&1
  rc=$?
  [ "$rc" = 0 ] || fail "pvm skip: exit $rc: $(cat "$tmp/out")"
  [ "$(grep -c '^boot_linux: skipped: this host.s KVM is kvm_pvm' "$tmp/out")" = 1 ] ||
    fail "pvm skip: no skip line: $(cat "$tmp/out")"
  # The decompressor's first line: it read 'nokaslr' from the command line
  # the zero page points at, and printed through the 16550 behind the HSM.
  "$bin" --kernel="$kernel" --initrd="$initrd" --on_pvm --seconds=240 \
    --until="KASLR disabled" >"$tmp/out" 2>&1
  rc=$?
  cat "$tmp/out"
  [ "$rc" = 0 ] || fail "--on_pvm: exit $rc"
  grep -q "^| KASLR disabled: 'nokaslr' on cmdline.$" "$tmp/out" ||
    fail "--on_pvm: the decompressor's line did not come through the 16550"
  grep -q 'stopped at the line holding "KASLR disabled"' "$tmp/out" ||
    fail "--on_pvm: the run did not stop at --until's line"
else
  "$bin" --kernel="$kernel" --initrd="$initrd" --seconds=600 >"$tmp/out" 2>&1
  rc=$?
  cat "$tmp/out"
  [ "$rc" = 0 ] || fail "boot: exit $rc"
  grep -q "^| ioreq-init: pci 0000:00:00.0 vendor 0x8086 device 0x1237 class 0x060000$" \
    "$tmp/out" || fail "boot: the init did not list the host bridge"
  grep -q "^| ioreq-init: done$" "$tmp/out" || fail "boot: the init did not finish"
fi
[ "$failures" = 0 ] && echo "PASS"
exit "$((failures > 0))"
