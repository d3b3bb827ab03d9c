#!/usr/bin/python3
"""The fuzzing measurement tools (fault_hunt.py, coverage_curve.py,
plot_curves.py, throughput.py) without their minutes-long builds: every planted fault's
edit still applies to the tree it would be planted in (so the comparison
measures what it says), bad flags exit 2 with one line, and plot_curves
draws a PNG from a CSV in coverage_curve's format."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
if not os.path.isfile(os.path.join(ROOT, "fuzz", "fault_hunt.py")):
    ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "fuzz"))

import fault_hunt  # noqa: E402
import throughput  # noqa: E402

PYTHON = "/usr/bin/python3"


def run(script, *args):
    return subprocess.run([PYTHON, os.path.join(ROOT, "fuzz", script)] + list(args),
                          capture_output=True, text=True)


class FaultHuntTest(unittest.TestCase):
    def test_every_fault_applies_to_the_tree_once(self):
        for name, (path, old, new) in fault_hunt.FAULTS.items():
            with open(os.path.join(ROOT, path)) as f:
                text = f.read()
            self.assertEqual(text.count(old), 1, "%s: %s" % (name, path))
            self.assertNotEqual(old, new, name)

    def test_an_unknown_fault_is_refused(self):
        r = run("fault_hunt.py", "--tree=" + ROOT, "--faults=nonesuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--faults: no fault 'nonesuch'", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    def test_a_tree_without_the_target_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            r = run("fault_hunt.py", "--tree=" + d)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--tree:", r.stderr)


class CoverageCurveTest(unittest.TestCase):
    def test_bad_flags_exit_2(self):
        with tempfile.TemporaryDirectory() as d:
            r = run("coverage_curve.py", "--tree=" + ROOT, "--target=dispatch_ops",
                    "--corpus=" + os.path.join(d, "missing"), "--start=0")
            self.assertEqual(r.returncode, 2)
            self.assertIn("--corpus:", r.stderr)
            r = run("coverage_curve.py", "--tree=" + ROOT, "--target=dispatch_ops",
                    "--corpus=" + d, "--start=0", "--seconds=1,x")
            self.assertEqual(r.returncode, 2)
            self.assertIn("--seconds", r.stderr)


class PlotCurvesTest(unittest.TestCase):
    def test_draws_a_png(self):
        with tempfile.TemporaryDirectory() as d:
            csv_path = os.path.join(d, "a.csv")
            with open(csv_path, "w") as f:
                f.write("label,seconds,inputs,lines_covered,lines,branches_covered,branches\n"
                        '"a, b",10,5,10,20,3,10\n"a, b",60,9,12,20,5,10\n')
            png = os.path.join(d, "out.png")
            r = run("plot_curves.py", png, csv_path)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_a_file_of_another_shape_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            other = os.path.join(d, "other.csv")
            with open(other, "w") as f:
                f.write("x,y\n1,2\n")
            r = run("plot_curves.py", os.path.join(d, "o.png"), other)
            self.assertEqual(r.returncode, 2)
            self.assertIn("not a coverage_curve.py CSV", r.stderr)


class ThroughputTest(unittest.TestCase):
    OUTPUT = """INFO: Seed: 1
#16384\tpulse  cov: 193 ft: 1104 corp: 217/24Kb exec/s: 8192 rss: 439Mb
stat::number_of_executed_units: 428251
stat::average_exec_per_sec:     26765
stat::new_units_added:          12
"""

    def test_reads_libfuzzers_own_counters(self):
        stats = throughput.parse_stats(self.OUTPUT)
        self.assertEqual(stats["average_exec_per_sec"], 26765)
        self.assertEqual(stats["number_of_executed_units"], 428251)
        self.assertEqual(throughput.finding(self.OUTPUT), "")

    def test_names_the_first_line_of_a_finding(self):
        out = self.OUTPUT + ("FUZZ_CHECK failed at fuzz/x.cc:3: a == b\n"
                             "==1== ERROR: libFuzzer: deadly signal\n")
        self.assertEqual(throughput.finding(out),
                         "FUZZ_CHECK failed at fuzz/x.cc:3: a == b")

    def test_bad_flags_exit_2(self):
        r = run("throughput.py", "--targets=nonesuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--targets: no target 'nonesuch'", r.stderr)
        with tempfile.TemporaryDirectory() as d:
            r = run("throughput.py", "--targets=range_map", "--bin-dir=" + d)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--bin-dir: no range_map binary", r.stderr)
        r = run("throughput.py", "--seconds=0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--seconds", r.stderr)


if __name__ == "__main__":
    unittest.main()
