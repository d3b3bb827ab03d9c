#!/usr/bin/python3
"""tools/planted_faults without Bazel inside Bazel: every fault's edit still
applies to the tree (so the catalogue plants what it says), bad flags exit 2
with one line, and the runner, given a stand-in for bazel, reports a fault
caught or survived from the tests' exit and puts every file back."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
if not os.path.isfile(os.path.join(ROOT, "tools", "planted_faults", "plant.py")):
    ROOT = os.path.dirname(os.path.dirname(HERE))
PLANT = os.path.join(ROOT, "tools", "planted_faults", "plant.py")
SWEEP = os.path.join(ROOT, "tools", "planted_faults", "sweep.py")
sys.path.insert(0, os.path.dirname(PLANT))

import catalogue  # noqa: E402
import sweep  # noqa: E402

PYTHON = "/usr/bin/python3"


def run(*args):
    return subprocess.run([PYTHON, PLANT] + list(args), capture_output=True, text=True)


class CatalogueTest(unittest.TestCase):
    def test_every_edit_applies_to_the_tree_once(self):
        for f in catalogue.FAULTS:
            with open(os.path.join(ROOT, f["file"])) as fh:
                self.assertEqual(fh.read().count(f["old"]), 1, "%s: %s" % (f["name"], f["file"]))
            self.assertNotEqual(f["old"], f["new"], f["name"])
        r = run("--tree=" + ROOT, "--check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_names_are_unique_and_every_fault_names_its_tests(self):
        names = [f["name"] for f in catalogue.FAULTS]
        self.assertEqual(len(names), len(set(names)))
        for f in catalogue.FAULTS:
            self.assertTrue(f["tests"], f["name"])
            self.assertTrue(all(t.startswith("//") for t in f["tests"]), f["name"])
            self.assertTrue(f["rule"], f["name"])


class FlagsTest(unittest.TestCase):
    def test_bad_flags_exit_2_with_one_line(self):
        for args in (["--faults=nonesuch"], ["--nonesuch"], ["--tree=/nonexistent", "--check"]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
            self.assertEqual(r.stdout, "", args)

    def test_an_edit_that_no_longer_applies_is_named(self):
        fault = catalogue.FAULTS[0]
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, os.path.dirname(fault["file"])))
            with open(os.path.join(d, fault["file"]), "w") as fh:
                fh.write("rewritten since\n")
            r = run("--tree=" + d, "--faults=" + fault["name"], "--check")
        self.assertEqual(r.returncode, 2)
        self.assertIn(fault["name"], r.stderr)
        self.assertIn("no longer applies", r.stderr)


class RunnerTest(unittest.TestCase):
    """A git tree holding the files of two faults, and a stand-in for bazel
    that fails (exit 3, a FAILED line) when the first fault's new text (one
    line found nowhere else in its file) is in that file: the first is
    caught, the second survives."""

    def setUp(self):
        self.tree = tempfile.mkdtemp()
        by_name = {f["name"]: f for f in catalogue.FAULTS}
        self.caught = by_name["client_name_off_by_one"]
        self.survivor = by_name["spinners_in_the_kernel_topology"]
        for f in (self.caught, self.survivor):
            dest = os.path.join(self.tree, f["file"])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(os.path.join(ROOT, f["file"]), dest)
        fake = os.path.join(self.tree, "fake_bazel.sh")
        with open(fake, "w") as fh:
            fh.write("#!/bin/bash\n"
                     "if [ -n \"$(cat %s)\" ] && grep -qF -- \"$(cat %s)\" %s; then\n"
                     "  echo '//core/hsm:hsm_test   FAILED in 0.1s'; exit 3\n"
                     "fi\n"
                     "echo '//core/hsm:hsm_test   PASSED in 0.1s'; exit 0\n"
                     % (self._write("new.txt", self._first_line(self.caught["new"])),
                        os.path.join(self.tree, "new.txt"),
                        os.path.join(self.tree, self.caught["file"])))
        os.chmod(fake, 0o755)
        self.fake = fake
        git = ["git", "-C", self.tree, "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", "init", "-q", self.tree], check=True)
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-qm", "tree"], check=True)

    def tearDown(self):
        shutil.rmtree(self.tree)

    def _write(self, name, text):
        with open(os.path.join(self.tree, name), "w") as fh:
            fh.write(text)
        return os.path.join(self.tree, name)

    @staticmethod
    def _first_line(text):
        lines = [l for l in text.splitlines() if l.strip()]
        return lines[0] if lines else ""

    def contents(self):
        out = {}
        for f in (self.caught, self.survivor):
            with open(os.path.join(self.tree, f["file"])) as fh:
                out[f["file"]] = fh.read()
        return out

    def test_caught_survived_and_every_file_put_back(self):
        before = self.contents()
        r = run("--tree=" + self.tree, "--bazel=" + self.fake,
                "--faults=%s,%s" % (self.caught["name"], self.survivor["name"]))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # one survived
        lines = r.stdout.splitlines()
        self.assertIn("caught by //core/hsm:hsm_test", lines[0])
        self.assertIn("SURVIVED", lines[1])
        self.assertIn("2 planted: 1 caught, 1 survived", lines[-1])
        self.assertEqual(self.contents(), before)

    def test_a_file_with_changes_of_its_own_is_refused(self):
        path = os.path.join(self.tree, self.caught["file"])
        with open(path, "a") as fh:
            fh.write("\n// mine\n")
        r = run("--tree=" + self.tree, "--bazel=" + self.fake, "--faults=" + self.caught["name"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("changes of its own", r.stderr)
        with open(path) as fh:
            self.assertTrue(fh.read().endswith("// mine\n"))


CPP = """// if (a < b) { a comment is not code
std::vector<int> v;
if (a < b) {
  s = "x == y";
  return a && !b;
}
x = 7;
/* a < b
   c == d */
if (a < b) return;
"""

PY = '''"""A docstring: a < b and c == d.

if x:
"""
if a < b:
    y = "p == q"
'''


class SweepTest(unittest.TestCase):
    def test_operators_are_turned_and_comments_strings_and_templates_left(self):
        got = {(n, rule, new.strip()) for n, rule, _, new in sweep.mutants(CPP)}
        self.assertEqual(got, {
            (3, "lt_to_le", "if (a <= b) {"),
            (3, "guard_never_true", "if (false) {"),
            (5, "and_to_or", "return a || !b;"),
            (5, "not_dropped", "return a && b;"),
            (7, "number_plus_one", "x = 8;"),
            (10, "lt_to_le", "if (a <= b) return;"),
            (10, "guard_never_true", "if (false) return;"),
        })

    def test_python_docstrings_are_left_alone(self):
        got = {(n, rule, new.strip()) for n, rule, _, new in sweep.mutants(PY, is_python=True)}
        self.assertEqual(got, {(5, "lt_to_le", "if a <= b:"),
                               (5, "guard_never_true", "if False:")})

    def test_a_faults_old_text_occurs_once(self):
        n, rule, old, new = [m for m in sweep.mutants(CPP) if m[0] == 10][0]
        fault = sweep.as_fault(CPP, "f.cc", n, rule, old, new)
        self.assertEqual(CPP.count(fault["old"]), 1)
        planted = CPP.replace(fault["old"], fault["new"], 1)
        self.assertIn("if (a <= b) return;", planted)
        self.assertIn("\nif (a < b) {\n", planted)  # line 3 untouched

    def test_bad_flags_exit_2_with_one_line(self):
        for args in (["core/abi/slot_decode.cc"], ["nonesuch.cc", "--list"],
                     ["core/abi/slot_decode.cc", "--tests=notalabel"],
                     ["core/abi/slot_decode.cc", "--list", "--lines=3"],
                     ["core/abi/slot_decode.cc", "--list", "--skip=/nonesuch.json"]):
            r = subprocess.run([PYTHON, SWEEP, "--tree=" + ROOT] + args,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))

    def test_a_sample_and_what_skipping_it_leaves_are_every_mutant_once(self):
        def listed(*flags):
            r = subprocess.run([PYTHON, SWEEP, "--tree=" + ROOT, "core/abi/slot_decode.cc",
                                "--list"] + list(flags), capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.splitlines()
        every = listed()
        sample = listed("--max=5", "--seed=3")
        self.assertEqual(len(sample), 5)
        self.assertEqual(sample, listed("--max=5", "--seed=3"))  # the same seed, the same sample
        # An earlier sweep's --json, as sweep.py writes it, names the sample.
        with open(os.path.join(ROOT, "core/abi/slot_decode.cc")) as fh:
            text = fh.read()
        chosen = [m for m in sweep.mutants(text)
                  if "%d  %s  ->  %s" % (m[0], m[2].strip(), m[3].strip()) in sample]
        done = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump([{"old": m[2].strip(), "new": m[3].strip(), "rule": m[1],
                    "line": m[0], "outcome": "caught"} for m in chosen], done)
        done.close()
        try:
            rest = listed("--skip=" + done.name)
        finally:
            os.unlink(done.name)
        self.assertEqual(len(rest), len(every) - 5)
        self.assertEqual(sorted(sample + rest), sorted(every))

    def test_a_line_that_occurs_twice_is_skipped_only_where_it_was_planted(self):
        text = "x = 1;\nif (a < b) return;\ny = 2;\nif (a < b) return;\n"
        found = [m for m in sweep.mutants(text) if m[1] == "lt_to_le"]
        self.assertEqual([m[0] for m in found], [2, 4])
        # Planted at line 5, before a line above it was taken out: now line 4.
        done = {("if (a < b) return;", "if (a <= b) return;", "lt_to_le"): [5]}
        self.assertEqual([m[0] for m in sweep.left_to_plant(found, done)], [2])

    def test_the_runner_reports_survivors_and_puts_the_file_back(self):
        tree = tempfile.mkdtemp()
        try:
            with open(os.path.join(tree, "f.cc"), "w") as fh:
                fh.write(CPP)
            fake = os.path.join(tree, "fake_bazel.sh")
            with open(fake, "w") as fh:  # the tests catch `<=` and nothing else
                fh.write("#!/bin/bash\n"
                         "if grep -q ' <= ' %s; then\n"
                         "  echo '//t:t   FAILED in 0.1s'; exit 3\nfi\nexit 0\n"
                         % os.path.join(tree, "f.cc"))
            os.chmod(fake, 0o755)
            git = ["git", "-C", tree, "-c", "user.name=t", "-c", "user.email=t@t"]
            subprocess.run(["git", "init", "-q", tree], check=True)
            subprocess.run(git + ["add", "-A"], check=True)
            subprocess.run(git + ["commit", "-qm", "tree"], check=True)
            r = subprocess.run([PYTHON, SWEEP, "f.cc", "--tree=" + tree, "--bazel=" + fake,
                                "--tests=//t:t"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            lines = r.stdout.splitlines()
            self.assertEqual(sum("caught by //t:t" in l for l in lines), 2)
            self.assertEqual(sum("SURVIVED" in l for l in lines), 5)
            self.assertIn("7 planted", lines[-1])
            with open(os.path.join(tree, "f.cc")) as fh:
                self.assertEqual(fh.read(), CPP)
        finally:
            shutil.rmtree(tree)


if __name__ == "__main__":
    unittest.main()
