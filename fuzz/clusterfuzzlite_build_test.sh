#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh as ClusterFuzzLite would (clang, ASan,
# libFuzzer, the standard variables) and checks what lands in $OUT: every
# target, runnable over its seed corpus, with its seed zip and dictionary.
set -u
src="$(pwd)"
out="${TEST_TMPDIR:-$(mktemp -d)}/out"
export CC=clang CXX=clang++ OUT="$out" SRC_DIR="$src"
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
if ! bash .clusterfuzzlite/build.sh; then
  echo "FAIL: build.sh failed"; exit 1
fi
fail=0
mapfile -t targets < fuzz/targets.txt
for t in "${targets[@]}"; do
  [ -x "$out/$t" ] || { echo "FAIL: no $out/$t"; fail=1; continue; }
  n=$(/usr/bin/python3 -c "import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$out/${t}_seed_corpus.zip" 2>/dev/null || echo 0)
  [ "$n" -gt 0 ] || { echo "FAIL: $t seed corpus zip is missing or empty"; fail=1; }
  if [ -f "fuzz/$t.dict" ] && [ ! -f "$out/$t.dict" ]; then
    echo "FAIL: $t.dict not copied"; fail=1
  fi
  seeds="$(mktemp -d)"
  /usr/bin/python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$out/${t}_seed_corpus.zip" "$seeds"
  if ! timeout 300 "$out/$t" -runs=0 "$seeds" > "$seeds.log" 2>&1; then
    echo "FAIL: $t does not run over its seeds:"; tail -20 "$seeds.log"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "PASS: ${#targets[@]} targets built by .clusterfuzzlite/build.sh"
exit "$fail"
