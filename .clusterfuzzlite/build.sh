#!/bin/bash
# ClusterFuzzLite / OSS-Fuzz build: every fuzz target of fuzz/ from the
# standard variables $CC, $CXX, $CFLAGS, $CXXFLAGS and $LIB_FUZZING_ENGINE
# into $OUT, with <target>_seed_corpus.zip and <target>.dict beside each.
# Bazel is not needed here: the sources are compiled directly, and the
# system's Abseil and liburing are linked. Any libFuzzer-compatible engine
# works: fuzz/afl.sh runs it with AFL++'s compiler and driver.
set -euo pipefail
src="${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$src"
: "${OUT:?set OUT}" "${CXX:?set CXX}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}"
CXXFLAGS="${CXXFLAGS:-}"
mkdir -p "$OUT"
obj="$(mktemp -d)"
trap 'rm -rf "$obj"' EXIT

mapfile -t targets < fuzz/targets.txt  # the one list of fuzz targets
# TARGETS="a b" builds only those (fuzz/afl.sh builds the one it runs).
if [ -n "${TARGETS:-}" ]; then read -r -a targets <<<"$TARGETS"; fi
core=($(find core -name "*.cc" ! -name "*_test.cc" ! -name "*_benchmark.cc" | sort) fuzz/*_format.cc fuzz/record_stream.cc)  # + input formats
source fuzz/link_libs.sh

compile() {  # compile SOURCE: one object per source, in parallel below
  $CXX $CXXFLAGS -std=c++17 -I. -c "$1" -o "$obj/$(echo "$1" | tr / _).o"
}
export -f compile
export CXX CXXFLAGS obj
sources=("${core[@]}")
for t in "${targets[@]}"; do sources+=("fuzz/${t}_fuzzer.cc"); done
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} bash -c 'compile {}'

core_objs=()
for f in "${core[@]}"; do core_objs+=("$obj/$(echo "$f" | tr / _).o"); done
for t in "${targets[@]}"; do
  $CXX $CXXFLAGS "$obj/fuzz_${t}_fuzzer.cc.o" "${core_objs[@]}" \
    $LIB_FUZZING_ENGINE "${link_libs[@]}" -o "$OUT/$t"
  python3 - "corpus/$t" "$OUT/${t}_seed_corpus.zip" <<'PY'
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            z.write(path, os.path.relpath(path, root).replace(os.sep, "_"))
PY
  if [ -f "fuzz/$t.dict" ]; then cp "fuzz/$t.dict" "$OUT/$t.dict"; fi
done
echo "built ${#targets[@]} fuzz targets into $OUT"
