#!/usr/bin/env bash
# `bazel run //guests/linux:boot_linux -- [flags]`: boots Debian's cloud
# kernel (fetched on first use by fetch_kernel.sh; --kernel=PATH for
# another) with the initramfs built from init.c. Flags: boot_linux.cc.
set -uo pipefail
here="$(pwd)/guests/linux"
ws="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "$0")/../.." && pwd)}"
[ -x "$here/boot_linux_bin" ] || here="$ws/bazel-bin/guests/linux"
args=()
kernel=""
initrd="$here/initramfs.cpio"
for a in "$@"; do
  case "$a" in
    --kernel=*) kernel="${a#*=}" ;;
    --initrd=*) initrd="${a#*=}" ;;
    *) args+=("$a") ;;
  esac
done
if [ -z "$kernel" ]; then
  kernel=$("$here/fetch_kernel.sh") || exit 1
fi
cd "${BUILD_WORKING_DIRECTORY:-$PWD}" || exit 2
exec "$here/boot_linux_bin" --kernel="$kernel" --initrd="$initrd" "${args[@]}"
