#!/usr/bin/env bash
# fetch_kernel.sh [CACHE]: prints the path of Debian's cloud kernel
# (linux-image-cloud-amd64), fetching it on first use: `apt-get download`
# of the versioned package it depends on, unpacked with dpkg-deb into CACHE
# (default $IOREQ_LINUX_CACHE, else ~/.cache/ioreq-harness/linux). Nothing is
# installed: the host's own kernel is never touched. Exit 1, one line on
# stderr, when apt cannot fetch it.
set -euo pipefail
cache="${1:-${IOREQ_LINUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ioreq-harness/linux}}"
found() { ls "$cache"/boot/vmlinuz-* 2>/dev/null | head -1; }
if [ -n "$(found)" ]; then found; exit 0; fi
fail() { echo "fetch_kernel: $*" >&2; exit 1; }
mkdir -p "$cache" || fail "cannot create $cache"
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || fail "apt knows no linux-image-cloud-amd64 (apt-get update first?)"
tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
  fail "apt-get download $pkg failed (no Debian mirror reachable?)"
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' ||
  fail "$pkg holds no /boot/vmlinuz-*"
mkdir -p "$cache/boot"
mv "$tmp"/boot/vmlinuz-* "$cache/boot/"
found
