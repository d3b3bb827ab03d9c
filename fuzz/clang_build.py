"""Builds a fuzz target straight from a source tree with clang, as
fuzz/coverage.sh and .clusterfuzzlite/build.sh do (no Bazel), for the
measurement tools that must build any commit: fault_hunt.py and
coverage_curve.py.

Example:
    objects = clang_build.compile_all(tree, clang_build.sources(tree, "dispatch_ops"),
                                      objdir, ["-O1", "-fsanitize=fuzzer-no-link"])
    clang_build.link(tree, objects, ["-fsanitize=fuzzer"], "out/dispatch_ops")
"""
import glob
import os
import re
import shutil
import subprocess

CLANG = shutil.which("clang++") or "clang++"


class BuildError(Exception):
    pass


def sources(tree, target, driver=None):
    """The model (core/, no tests, no benchmarks), the input formats and
    their mutator, the target, and `driver` (e.g. fuzz/regression_driver.cc) if given."""
    found = sorted(p for p in glob.glob(os.path.join(tree, "core", "**", "*.cc"),
                                        recursive=True)
                   if not p.endswith(("_test.cc", "_benchmark.cc")))
    found += sorted(glob.glob(os.path.join(tree, "fuzz", "*_format.cc")))
    found += glob.glob(os.path.join(tree, "fuzz", "record_stream.cc"))
    if driver:
        found.append(os.path.join(tree, driver))
    return found + [os.path.join(tree, "fuzz", target + "_fuzzer.cc")]


def object_for(tree, source, objdir):
    return os.path.join(objdir, os.path.relpath(source, tree).replace("/", "_") + ".o")


def compile_one(tree, source, obj, flags):
    """Starts compiling `source` (headers from `tree`); returns the process."""
    return subprocess.Popen([CLANG] + flags + ["-std=c++17", "-I", tree, "-c", source,
                                               "-o", obj])


def compile_all(tree, files, objdir, flags):
    """Objects for `files`, as many at once as there are CPUs."""
    procs, objects = [], []
    for src in files:
        objects.append(object_for(tree, src, objdir))
        procs.append(compile_one(tree, src, objects[-1], flags))
        while len(procs) >= (os.cpu_count() or 1):
            if procs.pop(0).wait() != 0:
                raise BuildError("compiling failed in " + tree)
    for p in procs:
        if p.wait() != 0:
            raise BuildError("compiling failed in " + tree)
    return objects


def link(tree, objects, flags, out):
    """Links with the system libraries the tree's fuzz/link_libs.sh names."""
    with open(os.path.join(tree, "fuzz", "link_libs.sh")) as f:
        libs = re.findall(r"-l\w+", f.read())
    if subprocess.run([CLANG] + flags + objects + libs + ["-o", out]).returncode:
        raise BuildError("linking failed in " + tree)
    return out
