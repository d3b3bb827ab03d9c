#!/usr/bin/env bash
# setup.sh: install, once and only what is missing, every Debian package the
# project needs. Safe to run again: with everything present it installs
# nothing and takes a second. Needs root (or sudo) only when something is
# missing. Nothing comes from outside Debian's package archive.
set -euo pipefail

packages=(
  bazel-bootstrap      # Bazel 4.2.3, WORKSPACE mode, offline
  g++                  # the default toolchain (gcc 12), ASan/UBSan/TSan
  libabsl-dev          # Abseil 20220623
  liburing-dev         # liburing 2.3
  libbenchmark-dev     # Google Benchmark 1.7.1
  libgtest-dev         # GoogleTest 1.12
  clang                # clang 14, for --config=fuzz (libFuzzer)
  libclang-rt-14-dev   # libFuzzer and the sanitizer runtimes for clang
  python3              # /usr/bin/python3 for the reports and test scripts
  python3-matplotlib   # the report's charts
  python3-scipy        # the comparison's Mann-Whitney U test
  python3-numpy
  llvm                 # llvm-cov / llvm-profdata for fuzz/coverage.sh
  binutils             # ld, objcopy, nm: the KVM guests (guests/BUILD)
  chromium             # headless, renders the report pages (reports:browser_test)
  afl++                # AFL++ 4.04c: fuzz/afl.sh, a second fuzzing engine
  python3-yaml         # fuzz:workflows_test parses the ClusterFuzzLite workflows
  git                  # tools/planted_faults: plant.py checks the files it edits
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "setup.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done" >&2
