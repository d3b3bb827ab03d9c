#!/usr/bin/python3
"""Plants each fault of catalogue.py, one at a time, and runs its tests.

usage: tools/planted_faults/plant.py [--tree=DIR] [--faults=a,b]
           [--everything] [--check] [--list] [--bazel=CMD] [--json=OUT]

For each fault the script edits one file of the tree in place, runs
`bazel test -c opt` on the fault's test targets (with --everything: every
test but the fuzz package's, which fuzz/fault_hunt.py covers), puts the file
back, and prints one line: the fault, "caught" with the targets that failed,
or "SURVIVED". A fault marked equivalent is planted too; its catch is not
expected and its survival is not a failure. The file is put back on every
exit, an interrupt included; the script refuses to start on a tree where
any file it would edit has changes of its own.

--check plants nothing: it says whether every edit still applies (its text
occurs once in its file), which the tree's own test checks on every run.

Exit codes: 0 every fault that can be caught was caught (or --check and
--list found nothing wrong); 1 a fault survived; 2 a bad flag, an unknown
fault, an edit that no longer applies, or a file with changes of its own
(one line says which).

Example:
  tools/planted_faults/plant.py --faults=ioeventfd_read_keeps_slot_value
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import catalogue  # noqa: E402

# Every test but the fuzz package's (minutes of clang builds; its oracles
# have their own planted faults in fuzz/fault_hunt.py).
EVERYTHING = ["//...", "-//fuzz/..."]


class UsageError(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(add_help=True)
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(HERE)))
    parser.add_argument("--faults", default="")
    parser.add_argument("--everything", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--bazel", default="bazel")
    parser.add_argument("--json", default="")
    parser.error = lambda message: (_ for _ in ()).throw(UsageError(message))
    return parser.parse_args(argv)


def select(names):
    by_name = {f["name"]: f for f in catalogue.FAULTS}
    if not names:
        return list(catalogue.FAULTS)
    chosen = []
    for name in names.split(","):
        if name not in by_name:
            raise UsageError("--faults: no fault named %r (--list names them)" % name)
        chosen.append(by_name[name])
    return chosen


def check_applies(tree, faults):
    """Raises UsageError naming the first fault whose edit does not apply."""
    for f in faults:
        path = os.path.join(tree, f["file"])
        if not os.path.isfile(path):
            raise UsageError("--tree=%s: fault %s: no file %s" % (tree, f["name"], f["file"]))
        with open(path) as fh:
            n = fh.read().count(f["old"])
        if n != 1 or f["old"] == f["new"]:
            raise UsageError("--tree=%s: fault %s no longer applies to %s (its text occurs "
                             "%d times)" % (tree, f["name"], f["file"], n))


def check_clean(tree, faults):
    files = sorted({f["file"] for f in faults})
    r = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--"] + files,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise UsageError("--tree=%s: not a git work tree (the script puts files back "
                         "from their text, and refuses a tree it cannot check)" % tree)
    if r.stdout.strip():
        raise UsageError("--tree=%s: %s has changes of its own; commit or stash them"
                         % (tree, r.stdout.split()[-1]))


def failed_targets(output):
    out = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("//") and parts[1] in (
                "FAILED", "TIMEOUT", "NO", "INCOMPLETE"):
            out.append(parts[0])
    return out


def plant_one(tree, fault, targets, bazel, bazel_flags=()):
    path = os.path.join(tree, fault["file"])
    with open(path) as fh:
        original = fh.read()

    def put_back(*_):
        with open(path, "w") as fh:
            fh.write(original)

    previous = {s: signal.signal(s, lambda *a: (put_back(), sys.exit(130)))
                for s in (signal.SIGINT, signal.SIGTERM)}
    start = time.time()
    try:
        with open(path, "w") as fh:
            fh.write(original.replace(fault["old"], fault["new"], 1))
        r = subprocess.run(bazel.split() + ["test", "-c", "opt", "--test_output=summary"]
                           + list(bazel_flags) + ["--"] + targets,
                           cwd=tree, capture_output=True, text=True)
    finally:
        put_back()
        for s, handler in previous.items():
            signal.signal(s, handler)
    failed = failed_targets(r.stdout + r.stderr)
    # 3: some test failed. 1 and others: the build broke, which a plant
    # must not do (the edit would be a compile error, not a bug).
    if r.returncode not in (0, 3) or (r.returncode == 3 and not failed):
        return {"name": fault["name"], "outcome": "error", "seconds": time.time() - start,
                "detail": (r.stderr.strip().splitlines() or ["bazel exit %d" % r.returncode])[-1]}
    return {"name": fault["name"], "outcome": "caught" if failed else "survived",
            "failed": failed, "seconds": time.time() - start}


def main(argv):
    try:
        args = parse_args(argv)
        faults = select(args.faults)
        if args.list:
            for f in faults:
                print("%-40s %s%s" % (f["name"], f["rule"],
                                      " (equivalent)" if f["equivalent"] else ""))
            return 0
        check_applies(args.tree, faults)
        if args.check:
            print("%d faults, every edit applies once" % len(faults))
            return 0
        check_clean(args.tree, faults)
    except UsageError as e:
        print("plant.py: %s" % e, file=sys.stderr)
        return 2
    results = []
    for f in faults:
        res = plant_one(args.tree, f, EVERYTHING if args.everything else f["tests"], args.bazel)
        res["equivalent"] = f["equivalent"]
        results.append(res)
        if res["outcome"] == "caught":
            line = "caught by " + ", ".join(res["failed"])
        elif res["outcome"] == "survived":
            line = "survived (equivalent: %s)" % f["equivalent"] if f["equivalent"] else "SURVIVED"
        else:
            line = "ERROR: " + res["detail"]
        print("%-40s %s  [%.0f s]" % (f["name"], line, res["seconds"]), flush=True)
    bad = [r for r in results
           if r["outcome"] == "error" or (r["outcome"] == "survived" and not r["equivalent"])]
    caught = sum(r["outcome"] == "caught" for r in results)
    print("%d planted: %d caught, %d survived that a test should catch, %d equivalent"
          % (len(results), caught, len(bad), sum(bool(r["equivalent"]) for r in results)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
