#!/usr/bin/python3
"""How fast a fuzz target finds faults planted in the request life cycle.

usage: fuzz/fault_hunt.py --tree=DIR [--target=dispatch_ops] [--seconds=60]
           [--faults=a,b] [--corpus=DIR] [--label=NAME] [--csv=OUT.csv]

Each fault below is one edit of the model, the way a real bug comes in
(who may complete what, what a clear or a destroy leaves behind, when a
client's pending bit changes relative to COMPLETE). For each, the script
copies the source tree DIR (any commit: its model, its target, its corpus),
applies the edit, builds the target with libFuzzer, ASan and UBSan (clang,
no Bazel), replays the target's committed corpus and fuzzes from it for up
to --seconds, and prints one CSV line: the fault, whether it was found,
after how many seconds and executions, and the first line of the oracle's
report. Run it on two commits to compare their fuzzers on the same faults.

Exit codes: 0 done (found or not); 2 a bad flag, folder, or a fault whose
edit no longer applies to the tree (one line says which).
"""
import argparse
import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import clang_build

# name -> (file, text, replacement): each is one plausible bug.
FAULTS = {
    # [notify-finish] a completion is not checked against its holder: the
    # device model's finish completes an in-process client's request.
    "complete_unheld": (
        "core/hsm/internal/completer.cc",
        "if ((before & Bit(vcpu)) == 0) {",
        "if (false) {"),
    # [destroy] the destroyed client's request is not given to the default
    # client: PROCESSING, held by no one, its vCPU waits for ever.
    "destroy_drops": (
        "core/hsm/internal/client_service.cc",
        "vm.default_client->pending.fetch_or(Bit(vcpu),",
        "vm.default_client->pending.fetch_or(0u,"),
    # [clear] the clear leaves what the default client holds.
    "clear_leaves_default": (
        "core/hsm/hsm.cc",
        "if (ctx_->completer.CompleteRequest(vm, *vm.default_client, vcpu)",
        "if (false && ctx_->completer.CompleteRequest(vm, *vm.default_client, vcpu)"),
    # [complete] the client keeps its pending bit after COMPLETE.
    "bit_outlives_complete": (
        "core/hsm/internal/completer.cc",
        "client.pending.fetch_and(~Bit(vcpu), std::memory_order_acq_rel);",
        "client.pending.load(std::memory_order_acquire);"),
    # [kernel-handled] the direct topology's lock-free claim takes a slot
    # without checking that it is marked the kernel's: on a fresh page, or
    # one the device model lost, ACRN's device model sees an in-process
    # client's request as its own. Only the production routing (header
    # bit 2) takes that path.
    "claim_unmarked": (
        "core/hsm/internal/direct_claimer.cc",
        "  if (LoadKernelHandledAcquire(req) != 1) return false;",
        "  (void)LoadKernelHandledAcquire(req);"),
    # [kernel-handled] a client's own scan marks and claims a PENDING slot
    # not marked the kernel's, which the rules leave to the default client:
    # beside the default client's lock-free claim, that mark can land after
    # the default client has claimed and unmarked the slot, and hide its
    # request from ACRN's device model.
    "shared_scan_marks": (
        "core/hsm/internal/direct_claimer.cc",
        "if (!claimer.is_default && pass == Pass::kShared && vm.default_client) {",
        "if (false) {"),
    # [kernel-handled] the default client's claim leaves a slot it does not
    # own unmarked: its owner's own scan leaves it to the default client
    # again and again, and only a pass for every client serves it.
    "default_leaves_unmarked": (
        "core/hsm/internal/direct_claimer.cc",
        "if (LoadKernelHandledAcquire(req) == 1) return;",
        "if (LoadKernelHandledAcquire(req) != 7) return;"),
}

FLAGS = ["-O1", "-g", "-fsanitize=fuzzer-no-link,address,undefined"]
LINK_FLAGS = ["-fsanitize=fuzzer,address,undefined", "-fsanitize-link-c++-runtime"]


def fail(message):
    print("fault_hunt: " + message, file=sys.stderr)
    sys.exit(2)


def hunt(binary, corpus, dict_file, seconds, work):
    runs = os.path.join(work, "corpus")
    shutil.rmtree(runs, ignore_errors=True)
    shutil.copytree(corpus, runs)
    cmd = [binary, "-max_total_time=%d" % seconds, "-print_final_stats=1",
           "-artifact_prefix=" + work + "/", runs]
    if os.path.exists(dict_file):
        cmd.insert(1, "-dict=" + dict_file)
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True).stderr
    elapsed = time.monotonic() - start
    found = "deadly signal" in out or "ERROR: " in out
    execs = re.findall(r"^#(\d+)", out, re.M)
    report = ""
    for line in out.splitlines():
        if line.startswith("  ") and ("after " in line or "FUZZ_CHECK" in line):
            report = line.strip()
            break
        if line.startswith("FUZZ_CHECK") or "ERROR: AddressSanitizer" in line:
            report = line.strip()
    return found, elapsed, int(execs[-1]) if execs else 0, report


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", required=True)
    p.add_argument("--target", default="dispatch_ops")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--faults", default=",".join(FAULTS))
    p.add_argument("--corpus")
    p.add_argument("--label", default="")
    p.add_argument("--csv")
    a = p.parse_args()
    tree = os.path.abspath(a.tree)
    if not os.path.isfile(os.path.join(tree, "fuzz", a.target + "_fuzzer.cc")):
        fail("--tree: %s has no fuzz/%s_fuzzer.cc" % (a.tree, a.target))
    corpus = a.corpus or os.path.join(tree, "corpus", a.target)
    if not os.path.isdir(corpus):
        fail("--corpus: %s is not a folder" % corpus)
    names = [f for f in a.faults.split(",") if f]
    for f in names:
        if f not in FAULTS:
            fail("--faults: no fault %r (known: %s)" % (f, ", ".join(FAULTS)))
    work = tempfile.mkdtemp()
    table = io.StringIO()
    rows = csv.writer(table, lineterminator="\n")
    rows.writerow(["label", "fault", "found", "seconds", "executions", "report"])
    try:
        objdir = os.path.join(work, "obj")
        os.makedirs(objdir)
        objects = clang_build.compile_all(
            tree, clang_build.sources(tree, a.target), objdir, FLAGS)
        for name in names:
            path, old, new = FAULTS[name]
            text = open(os.path.join(tree, path)).read()
            if old not in text:
                fail("fault %s: %s no longer has %r" % (name, path, old))
            planted = os.path.join(work, "planted")
            shutil.rmtree(planted, ignore_errors=True)
            os.makedirs(os.path.join(planted, os.path.dirname(path)))
            # The edited file, compiled against the tree's headers.
            src = os.path.join(planted, path)
            with open(src, "w") as out:
                out.write(text.replace(old, new, 1))
            obj = os.path.join(work, "planted.o")
            if clang_build.compile_one(tree, src, obj, FLAGS).wait():
                fail("fault %s does not compile" % name)
            mine = clang_build.object_for(tree, os.path.join(tree, path), objdir)
            binary = clang_build.link(tree, [obj if o == mine else o for o in objects],
                                      LINK_FLAGS, os.path.join(work, "fuzzer_" + name))
            found, elapsed, execs, report = hunt(
                binary, corpus, os.path.join(tree, "fuzz", a.target + ".dict"),
                a.seconds, work)
            rows.writerow([a.label, name, "yes" if found else "no",
                           "%.1f" % (elapsed if found else a.seconds), execs,
                           report[:200]])
            print(table.getvalue().splitlines()[-1], flush=True)
        if a.csv:
            with open(a.csv, "w") as out:
                out.write(table.getvalue())
    except clang_build.BuildError as e:
        fail(str(e))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
