#!/usr/bin/python3
"""Executions per second of every fuzz target, measured one after another.

usage: fuzz/throughput.py [--seconds=20] [--targets=a,b] [--bin-dir=DIR]
           [--corpus-root=corpus]

Each target's libFuzzer binary (bazel build --config=fuzz //fuzz:all puts
them in bazel-bin/fuzz/) runs for --seconds from a scratch copy of its
committed corpus, with its dictionary, one target at a time so they do not
share the cores; the figure is libFuzzer's own counter
(stat::average_exec_per_sec, loading the corpus included). Prints a
Markdown table: target, executions per second, executions, finding.

Exit codes: 0 measured, nothing found; 1 a target crashed or its oracle
failed (the table says which); 2 a bad flag or a missing binary or corpus
(one line says which).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def fail(message):
    print("throughput.py: " + message, file=sys.stderr)
    sys.exit(2)


def targets_listed():
    with open(os.path.join(HERE, "targets.txt")) as f:
        return [line.strip() for line in f if line.strip()]


def parse_stats(output):
    """libFuzzer's -print_final_stats lines -> {name: int}."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^stat::(\w+):\s+(\d+)\s*$", output, re.M)}


def finding(output):
    """The first line of a finding (an oracle's FUZZ_CHECK or a sanitizer's
    report), or ''."""
    for line in output.splitlines():
        if "FUZZ_CHECK failed" in line or "ERROR: AddressSanitizer" in line \
                or "runtime error:" in line or "ERROR: libFuzzer" in line:
            return line.strip()
    return ""


def copy_corpus(source, dest):
    """Every file under source (crashes/ included), flattened."""
    for folder, _, files in os.walk(source):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), source)
            shutil.copy(os.path.join(folder, name),
                        os.path.join(dest, rel.replace(os.sep, "_")))


def measure(binary, corpus, dictionary, seconds):
    with tempfile.TemporaryDirectory() as work:
        scratch = os.path.join(work, "corpus")
        os.mkdir(scratch)
        copy_corpus(corpus, scratch)
        command = [binary, scratch, "-max_total_time=%d" % seconds,
                   "-print_final_stats=1", "-artifact_prefix=" + work + "/"]
        if dictionary:
            command.append("-dict=" + dictionary)
        r = subprocess.run(command, capture_output=True, text=True, cwd=work,
                           timeout=seconds * 5 + 120)
    out = r.stdout + r.stderr
    return parse_stats(out), (finding(out) if r.returncode != 0 else "")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--targets", default="")
    p.add_argument("--bin-dir", default=os.path.join(ROOT, "bazel-bin", "fuzz"))
    p.add_argument("--corpus-root", default=os.path.join(ROOT, "corpus"))
    args = p.parse_args()
    if args.seconds < 1:
        fail("--seconds: a whole number of seconds, at least 1")
    known = targets_listed()
    chosen = [t for t in args.targets.split(",") if t] or known
    for t in chosen:
        if t not in known:
            fail("--targets: no target '%s' (fuzz/targets.txt lists %s)"
                 % (t, ", ".join(known)))
        if not os.access(os.path.join(args.bin_dir, t), os.X_OK):
            fail("--bin-dir: no %s binary in %s (bazel build --config=fuzz "
                 "//fuzz:all)" % (t, args.bin_dir))
        if not os.path.isdir(os.path.join(args.corpus_root, t)):
            fail("--corpus-root: no folder %s" % os.path.join(args.corpus_root, t))
    print("| target | executions/s | executions | finding |")
    print("|---|---:|---:|---|")
    found = False
    for t in chosen:
        dictionary = os.path.join(HERE, t + ".dict")
        stats, what = measure(os.path.join(args.bin_dir, t),
                              os.path.join(args.corpus_root, t),
                              dictionary if os.path.isfile(dictionary) else "",
                              args.seconds)
        if "average_exec_per_sec" not in stats:
            fail("--bin-dir: %s printed no libFuzzer statistics: is it the "
                 "regression driver? (bazel build --config=fuzz //fuzz:all)"
                 % os.path.join(args.bin_dir, t))
        found |= bool(what)
        print("| `%s` | %s | %s | %s |" % (
            t, "{:,}".format(stats.get("average_exec_per_sec", 0)),
            "{:,}".format(stats.get("number_of_executed_units", 0)),
            what or "none"), flush=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
