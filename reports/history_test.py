"""Tests of reports/history.py: the SQLite results history and its trend."""
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gbench  # noqa: E402
import history  # noqa: E402

# 3 repetitions of the suite's main families, with a machine fingerprint
# added per test; RoundTrip benchmarks carry histograms in the fixture below.
FIXTURE = os.path.join(HERE, "testdata", "suite_3reps.json")
FIXTURE_HIST = os.path.join(HERE, "testdata", "histograms_2reps.json")
FILTER = "RoundTrip/strategy:futex/topology:kernel/completion:notify"


class HistoryCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.db = os.path.join(self.tmp, "history.sqlite")
        self.env = dict(os.environ, MPLCONFIGDIR=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_history(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "history.py")] + list(args),
                              capture_output=True, text=True, env=self.env, timeout=120)

    def write_run(self, name, commit, date, scale=1.0, machine="0123456789abcdef",
                  source=FIXTURE):
        """A copy of `source` as run `commit` on `machine`, real times and
        latency counters multiplied by `scale`."""
        with open(source) as f:
            run = json.load(f)
        run["context"].update(commit=commit, date=date, machine_fingerprint=machine,
                              cpu_model="AMD EPYC")
        for e in run["benchmarks"]:
            if e.get("run_type") == "iteration":
                e["real_time"] *= scale
                for k in ("p50_ns", "p99_ns"):
                    if k in e:
                        e[k] *= scale
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(run, f)
        return path

    def store_history(self, scales, machine="0123456789abcdef"):
        paths = [self.write_run("run%d-%s.json" % (i, machine[:4]), "c%d" % i,
                                "2026-11-%02dT10:00:00+00:00" % (10 + i), s, machine)
                 for i, s in enumerate(scales)]
        proc = self.run_history("store", *paths, "--db=%s" % self.db)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return paths


class StoreTest(HistoryCase):
    def test_a_run_is_stored_whole_with_estimates_and_histograms(self):
        path = self.write_run("a.json", "abc1234", "2026-11-20T10:00:00+00:00",
                              source=FIXTURE_HIST)
        con = history.open_db(self.db, create=True)
        run_id = history.store(con, path)
        self.assertIsNotNone(run_id)
        commit, machine, fields = con.execute(
            "SELECT commit_id, machine, machine_fields FROM runs").fetchone()
        self.assertEqual((commit, machine), ("abc1234", "0123456789abcdef"))
        self.assertEqual(json.loads(fields)["cpu_model"], "AMD EPYC")
        _, runs = gbench.load(path)
        stored = {r[0]: r for r in con.execute(
            "SELECT name, repetitions, median_ns, ci_low_ns, ci_high_ns, counters, histogram "
            "FROM estimates")}
        self.assertEqual(set(stored), set(runs))
        for name, b in runs.items():
            _, reps, median, low, high, counters, hist = stored[name]
            self.assertEqual(reps, len(b.samples))
            self.assertAlmostEqual(median, b.median())
            self.assertLessEqual(low, median)
            self.assertGreaterEqual(high, median)
            self.assertIn("p50_ns", json.loads(counters))
            if b.labels:
                self.assertTrue(hist.startswith("lh1:"), name)
        # The same content again is not a second run.
        self.assertIsNone(history.store(con, path))
        self.assertEqual(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0], 1)

    def test_a_failed_store_leaves_nothing(self):
        path = self.write_run("a.json", "abc", "2026-11-20T10:00:00+00:00")
        con = history.open_db(self.db, create=True)

        def half_then_fail(con, run_id, rows):  # half the rows, then a failure
            con.executemany("INSERT INTO estimates VALUES (?,?,?,?,?,?,?,?,?,?)",
                            [(run_id,) + r for r in rows[:len(rows) // 2]])
            raise sqlite3.OperationalError("disk I/O error")

        with mock.patch.object(history, "_insert_estimates", half_then_fail):
            with self.assertRaises(sqlite3.OperationalError):
                history.store(con, path)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0], 0)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM estimates").fetchone()[0], 0)
        self.assertIsNotNone(history.store(con, path))  # and the next try works

    def test_bad_and_foreign_databases_are_one_line_and_exit_2(self):
        text = os.path.join(self.tmp, "text.sqlite")
        with open(text, "w") as f:
            f.write("not a database at all, but long enough to have a header" * 4)
        foreign = os.path.join(self.tmp, "foreign.sqlite")
        con = sqlite3.connect(foreign)
        con.execute("CREATE TABLE users (name TEXT)")
        con.commit()
        con.close()
        future = os.path.join(self.tmp, "future.sqlite")
        con = sqlite3.connect(future)
        con.execute("CREATE TABLE ioreq_history (schema_version INTEGER)")
        con.execute("INSERT INTO ioreq_history VALUES (99)")
        con.commit()
        con.close()
        run = self.write_run("a.json", "abc", "2026-11-20T10:00:00+00:00")
        missing = os.path.join(self.tmp, "no", "h.sqlite")
        for db, on_store, on_trend in (
                (text, "not an SQLite database", "not an SQLite database"),
                (foreign, "not this project's", "not this project's"),
                (future, "schema version 99", "schema version 99"),
                (self.tmp, "not a regular file", "not a regular file"),
                (missing, "folder does not exist", "no history there")):
            for command, expect in ((["store", run], on_store), (["trend"], on_trend)):
                with self.subTest(db=db, command=command[0]):
                    proc = self.run_history(*command, "--db=%s" % db)
                    self.assertEqual(proc.returncode, 2)
                    self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
                    self.assertIn(expect, proc.stderr)
        # The foreign file was not touched.
        con = sqlite3.connect(foreign)
        self.assertEqual([r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")], ["users"])

    def test_bad_runs_and_flags_are_one_line_and_exit_2(self):
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write("{oops")
        self.store_history([1.0])
        for args in (["store", bad], ["store"], [], ["trend", "--filter=("],
                     ["trend", "--filter=NoSuchFamily"], ["trend", "--metric=a b"],
                     ["trend", "--nope"], ["frobnicate"],
                     ["trend", "--out=/nonexistent/dir/x"]):
            with self.subTest(args):
                proc = self.run_history(*args, "--db=%s" % self.db)
                self.assertEqual(proc.returncode, 2, proc.stdout)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        # Nothing was added by the failed store.
        con = history.open_db(self.db, create=False)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0], 1)


class TrendTest(HistoryCase):
    def test_band_of_known_values(self):
        # Medians 100, 102, 98, 101, 99, on the logarithms: center log 100;
        # |log(m / 100)| = 0, .0198, .0202, .00995, .01005, so the MAD is
        # .01005 and the band 100 * exp(+-3 * 1.4826 * .01005) (the
        # intervals, +-.005 in log, are narrower).
        pts = [(m, m - 0.5, m + 0.5) for m in (100, 102, 98, 101, 99)]
        center, low, high = history.band(pts)
        mad = math.log(100 / 99)
        self.assertAlmostEqual(center, 100)
        self.assertAlmostEqual(low, 100 * math.exp(-3 * 1.4826 * mad))
        self.assertAlmostEqual(high, 100 * math.exp(3 * 1.4826 * mad))
        self.assertAlmostEqual(low, 95.63, places=2)
        # A history spread over factors never gives a band below zero.
        _, low, _ = history.band([(m, None, None) for m in (1000, 9000, 2000, 30000)])
        self.assertGreater(low, 0)
        # Identical medians: the runs' own interval keeps the band open.
        center, low, high = history.band([(100, 90, 110)] * 3)
        self.assertAlmostEqual(low, 100 * math.sqrt(90 / 110))
        self.assertAlmostEqual(high, 100 * math.sqrt(110 / 90))
        self.assertIsNone(history.band(pts[:history.MIN_HISTORY - 1]))
        self.assertEqual(history.judge(pts + [(110, 109, 111)], False)[0], "regression")
        self.assertEqual(history.judge(pts + [(103, 102, 104)], False)[0], "within the band")
        self.assertEqual(history.judge(pts + [(90, 89, 91)], False)[0], "improvement")
        # For a rate, lower is the regression.
        self.assertEqual(history.judge(pts + [(90, 89, 91)], True)[0], "regression")

    def test_the_newest_run_outside_the_band_is_a_regression(self):
        self.store_history([1.0, 1.02, 0.98, 1.01, 1.6])
        out = os.path.join(self.tmp, "page")
        proc = self.run_history("trend", "--db=%s" % self.db, "--filter=%s" % FILTER,
                                "--out=%s" % out, "--fail-on-regression")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("regression: RoundTrip/strategy:futex/topology:kernel", proc.stdout)
        with open(os.path.join(out, "trend.html")) as f:
            page = f.read()
        self.assertIn("class='flag'", page)
        self.assertIn("data:image/png;base64,", page)
        with open(os.path.join(out, "trend.md")) as f:
            md = f.read()
        self.assertIn("| regression |", md)
        self.assertIn("5 runs on 1 machine(s)", md)
        # Without the flag it is reported, not failed.
        proc = self.run_history("trend", "--db=%s" % self.db, "--filter=%s" % FILTER,
                                "--out=%s" % out)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_steady_runs_pass_and_machines_are_judged_apart(self):
        self.store_history([1.0, 1.02, 0.98, 1.01, 1.0])
        # A slower machine's runs are its own series, not a regression of the first.
        self.store_history([3.0, 3.1], machine="fedcba9876543210")
        out = os.path.join(self.tmp, "page")
        proc = self.run_history("trend", "--db=%s" % self.db, "--filter=%s" % FILTER,
                                "--out=%s" % out, "--fail-on-regression")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("0 regression(s)", proc.stdout)
        with open(os.path.join(out, "trend.md")) as f:
            md = f.read()
        self.assertIn("1 earlier run(s); 3 needed to judge", md)
        self.assertIn("within the band", md)

    def test_stored_histograms_are_drawn_as_distributions(self):
        paths = [self.write_run("h%d.json" % i, "c%d" % i, "2026-11-2%dT10:00:00+00:00" % i,
                                1 + 0.01 * i, source=FIXTURE_HIST) for i in range(2)]
        self.assertEqual(self.run_history("store", *paths, "--db=%s" % self.db).returncode, 0)
        out = os.path.join(self.tmp, "page")
        proc = self.run_history("trend", "--db=%s" % self.db, "--out=%s" % out,
                                "--filter=RoundTrip/strategy:futex")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "trend.html")) as f:
            self.assertIn("latency distribution of the newest runs", f.read())
        self.assertTrue(any(n.endswith("-distribution.png") for n in os.listdir(out)))

    def test_a_counter_is_a_metric_and_a_rate_is_judged_upside_down(self):
        self.store_history([1.0, 1.0, 1.0, 1.0])
        proc = self.run_history("trend", "--db=%s" % self.db, "--filter=%s" % FILTER,
                                "--metric=p50_ns", "--out=%s" % self.tmp)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(self.tmp, "trend.md")) as f:
            self.assertIn("newest p50_ns", f.read())


if __name__ == "__main__":
    unittest.main()
