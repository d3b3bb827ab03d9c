#!/usr/bin/python3
"""Continuous fuzzing: `bazel run //fuzz:continuous -- --minutes=N [--targets=a,b]`.

Builds every target with --config=fuzz (clang, libFuzzer, ASan, UBSan), gives
each its share of the time in fork mode (a crash does not stop the run),
merges new coverage back into corpus/<target>/ minimized (-merge=1), and
keeps each crash once per distinct stack under fuzz/crashes/<target>/<id>/
with a minimized reproducer and its stack. (Once fixed, a reproducer moves
to corpus/<target>/crashes/, which the regression tests replay.) Prints a
progress line every few seconds and a summary at the end, also written as
JSON to fuzz-out/summary.json.

Exit codes: 0 no new crash; 1 a new crash was found (or a fuzzer could not
run); 2 bad arguments.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

# The one list of fuzz targets (fuzz/targets.txt), beside this file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets.txt")) as _f:
    TARGETS = [line.strip() for line in _f if line.strip()]
STAT = re.compile(r"cov: (\d+) ft: (\d+).*?exec/s:? (\d+)")
FRAME = re.compile(r"#\d+ 0x[0-9a-f]+ in (\S+)")


class UsageError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="continuous", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", required=True, help="total fuzzing time, > 0")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets")
    p.add_argument("--out", default="fuzz-out", help="work folder (relative to the workspace)")

    def fail(message):
        raise UsageError(message)

    p.error = fail
    args = p.parse_args(argv)
    try:
        args.minutes = float(args.minutes)
    except ValueError:
        raise UsageError("--minutes=%s: accepts a number of minutes > 0" % args.minutes)
    if not args.minutes > 0 or args.minutes > 7 * 24 * 60:
        raise UsageError("--minutes=%s: accepts a number of minutes > 0 (at most a week)" % args.minutes)
    targets = args.targets.split(",")
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or len(set(targets)) != len(targets):
        raise UsageError("--targets=%s: accepts a comma-separated subset of %s, each once"
                         % (args.targets, ",".join(TARGETS)))
    if not args.out or "\0" in args.out:
        raise UsageError("--out=%s: accepts a folder path" % args.out)
    args.targets = targets
    return args


def count_files(folder):
    return sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0


def stack_id(stack_text):
    frames = [f for f in FRAME.findall(stack_text)
              if not f.startswith(("__sanitizer", "__asan", "__ubsan", "fuzzer::", "abort",
                                   "raise", "__GI_", "std::"))]
    key = "|".join(frames[:4]) or stack_text[-400:]
    return hashlib.sha1(key.encode()).hexdigest()[:12], frames[:4]


def run_target(ws, binary, target, seconds, work, progress):
    corpus = os.path.join(ws, "corpus", target)
    live = os.path.join(work, target, "corpus")
    artifacts = os.path.join(work, target, "artifacts") + "/"
    shutil.rmtree(os.path.join(work, target), ignore_errors=True)
    os.makedirs(live)
    os.makedirs(artifacts)
    before = count_files(corpus)
    cmd = [binary, "-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1",
           "-max_total_time=%d" % max(1, int(seconds)), "-timeout=25",
           "-artifact_prefix=" + artifacts, "-print_final_stats=1", live, corpus]
    dictionary = os.path.join(ws, "fuzz", target + ".dict")
    if os.path.exists(dictionary):
        cmd.insert(1, "-dict=" + dictionary)
    log_path = os.path.join(work, target, "fuzz.log")
    stats = {"cov": 0, "ft": 0, "exec_per_s": 0}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        start = time.time()
        while proc.poll() is None:
            time.sleep(1)
            with open(log_path, errors="replace") as f:
                for m in STAT.finditer(f.read()):
                    stats = {"cov": int(m.group(1)), "ft": int(m.group(2)),
                             "exec_per_s": int(m.group(3))}
            progress(target, time.time() - start, seconds, stats, count_files(artifacts))
    # Merge what the run found into the seed corpus, minimized.
    subprocess.run([binary, "-merge=1", corpus, live], cwd=work,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = count_files(corpus)
    crashes_new, crashes_known = 0, 0
    for name in sorted(os.listdir(artifacts)):
        path = os.path.join(artifacts, name)
        minimized = path + ".min"
        subprocess.run([binary, "-minimize_crash=1", "-runs=2000",
                        "-exact_artifact_path=" + minimized, path], cwd=work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        if not os.path.exists(minimized):
            minimized = path
        rerun = subprocess.run([binary, minimized], cwd=work, capture_output=True,
                               text=True, errors="replace", timeout=120)
        ident, frames = stack_id(rerun.stderr)
        keep = os.path.join(ws, "fuzz", "crashes", target, ident)
        if os.path.isdir(keep) or os.path.isdir(os.path.join(corpus, "crashes", ident)):
            crashes_known += 1
            continue
        crashes_new += 1
        os.makedirs(keep)
        shutil.copy(minimized, os.path.join(keep, "reproducer"))
        with open(os.path.join(keep, "stack.txt"), "w") as f:
            f.write(rerun.stderr)
    return {"target": target, "seconds": round(seconds, 1), **stats,
            "corpus_before": before, "corpus_after": after,
            "crashes_new": crashes_new, "crashes_known": crashes_known}


def main(argv):
    try:
        args = parse_args(argv)
    except UsageError as e:
        print("continuous: %s" % e, file=sys.stderr)
        return 2
    ws = os.environ.get("BUILD_WORKSPACE_DIRECTORY", os.getcwd())
    work = os.path.join(ws, args.out)
    try:
        os.makedirs(work, exist_ok=True)
        probe = os.path.join(work, ".writable")
        open(probe, "w").close()
        os.remove(probe)
    except OSError as e:
        print("continuous: --out=%s: cannot write there (%s)" % (args.out, e.strerror),
              file=sys.stderr)
        return 2
    labels = ["//fuzz:" + t for t in args.targets]
    print("continuous: building %s with --config=fuzz" % " ".join(args.targets), flush=True)
    build = subprocess.run(["bazel", "build", "--config=fuzz"] + labels, cwd=ws)
    if build.returncode != 0:
        print("continuous: the fuzz build failed", file=sys.stderr)
        return 1
    bin_dir = subprocess.run(["bazel", "info", "--config=fuzz", "bazel-bin"], cwd=ws,
                             capture_output=True, text=True).stdout.strip()
    share = args.minutes * 60 / len(args.targets)
    results = []

    def progress(target, elapsed, total, stats, crashes):
        if int(elapsed) % 5 == 0:
            print("[%d/%d %s] %3.0f/%.0f s  cov %d  ft %d  exec/s %d  crash files %d"
                  % (len(results) + 1, len(args.targets), target, elapsed, total,
                     stats["cov"], stats["ft"], stats["exec_per_s"], crashes), flush=True)

    for target in args.targets:
        results.append(run_target(ws, os.path.join(bin_dir, "fuzz", target), target,
                                  share, work, progress))
    print("\n%-14s %8s %8s %8s %8s %14s %10s" % ("target", "exec/s", "cov", "ft", "seconds",
                                               "corpus", "crashes"))
    for r in results:
        print("%-14s %8d %8d %8d %8.0f %6d -> %-5d %4d new %d known"
              % (r["target"], r["exec_per_s"], r["cov"], r["ft"], r["seconds"],
                 r["corpus_before"], r["corpus_after"], r["crashes_new"], r["crashes_known"]))
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump({"minutes": args.minutes, "targets": results}, f, indent=2)
    print("summary: %s" % os.path.join(work, "summary.json"))
    return 1 if any(r["crashes_new"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
