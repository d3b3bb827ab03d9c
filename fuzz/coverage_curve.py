#!/usr/bin/python3
"""Coverage of the HSM over a fuzzing campaign's time, from its corpus.

usage: fuzz/coverage_curve.py --tree=DIR --target=NAME --corpus=DIR
           --start=EPOCH [--seconds=30,60,...] [--files=REGEX] [--label=NAME]
           [--csv=OUT.csv]

libFuzzer writes each input that adds coverage into its corpus folder as it
finds it, so the files' modification times say what the corpus held at any
moment. This builds TARGET from the source tree DIR (any commit: the model
and the target as they were) with clang source-based coverage around the
regression driver, replays the corpus as it stood at each point in time,
and prints one CSV line per point: seconds, inputs, and the line and branch
coverage of the files matching --files (default: core/hsm/, the rules the
fuzzer is for). Two campaigns of different commits, measured this way,
compare the model's coverage and nothing of the harnesses.
fuzz/plot_curves.py draws the CSVs.

Exit codes: 0 done; 2 a bad flag or folder (one line says which).
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import clang_build

LLVM_COV = shutil.which("llvm-cov-14") or shutil.which("llvm-cov") or "llvm-cov"
LLVM_PROFDATA = (shutil.which("llvm-profdata-14") or shutil.which("llvm-profdata")
                 or "llvm-profdata")
FLAGS = ["-O1", "-fprofile-instr-generate", "-fcoverage-mapping"]


def fail(message):
    print("coverage_curve: " + message, file=sys.stderr)
    sys.exit(2)


def build(tree, target, work):
    """The target's coverage binary, from the tree's own sources."""
    try:
        objects = clang_build.compile_all(
            tree, clang_build.sources(tree, target, "fuzz/regression_driver.cc"),
            work, FLAGS)
        return clang_build.link(tree, objects, FLAGS, os.path.join(work, target))
    except clang_build.BuildError as e:
        fail(str(e))


def coverage_at(binary, tree, inputs, work, files):
    folder = tempfile.mkdtemp(dir=work)
    for path in inputs:
        os.link(path, os.path.join(folder, os.path.basename(path)))
    raw = os.path.join(work, "run.profraw")
    subprocess.run([binary, folder], env=dict(os.environ, LLVM_PROFILE_FILE=raw),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = os.path.join(work, "run.profdata")
    subprocess.run([LLVM_PROFDATA, "merge", "-sparse", raw, "-o", data], check=True)
    out = subprocess.run([LLVM_COV, "export", "-summary-only",
                          "-instr-profile=" + data, binary],
                         check=True, capture_output=True, text=True).stdout
    lines = [0, 0]
    branches = [0, 0]
    for f in json.loads(out)["data"][0]["files"]:
        name = os.path.relpath(f["filename"], tree)
        if not re.search(files, name):
            continue
        s = f["summary"]
        lines[0] += s["lines"]["covered"]
        lines[1] += s["lines"]["count"]
        branches[0] += s["branches"]["covered"]
        branches[1] += s["branches"]["count"]
    shutil.rmtree(folder)
    return lines, branches


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--start", required=True, type=float)
    p.add_argument("--seconds", default="10,30,60,120,180,300,420,600")
    p.add_argument("--files", default=r"^core/hsm/(?!testing/)")
    p.add_argument("--label", default="")
    p.add_argument("--csv")
    a = p.parse_args()
    if not os.path.isfile(os.path.join(a.tree, "fuzz", a.target + "_fuzzer.cc")):
        fail("--tree: %s has no fuzz/%s_fuzzer.cc" % (a.tree, a.target))
    if not os.path.isdir(a.corpus):
        fail("--corpus: %s is not a folder" % a.corpus)
    try:
        points = [int(s) for s in a.seconds.split(",")]
    except ValueError:
        fail("--seconds takes a comma-separated list of whole seconds")
    tree = os.path.abspath(a.tree)
    files = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus))
    work = tempfile.mkdtemp()
    try:
        binary = build(tree, a.target, work)
        text = io.StringIO()
        rows = csv.writer(text, lineterminator="\n")
        rows.writerow(["label", "seconds", "inputs", "lines_covered", "lines",
                       "branches_covered", "branches"])
        for t in points:
            inputs = [f for f in files if os.path.getmtime(f) <= a.start + t]
            (lc, ln), (bc, bn) = coverage_at(binary, tree, inputs, work, a.files)
            rows.writerow([a.label, t, len(inputs), lc, ln, bc, bn])
            print(text.getvalue().splitlines()[-1], flush=True)
        if a.csv:
            with open(a.csv, "w") as out:
                out.write(text.getvalue())
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
