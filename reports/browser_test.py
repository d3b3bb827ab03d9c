"""Every page reports/ writes, rendered by headless Chromium and looked at:
each chart drawn (an image region with ink), no broken image, no script
or console error; and the checker itself finds each planted fault.
Screenshots go to $TEST_UNDECLARED_OUTPUTS_DIR when Bazel gives one."""
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import browser  # noqa: E402
import report  # noqa: E402

FIXTURE = os.path.join(HERE, "testdata", "suite_3reps.json")
FIXTURE_HIST = os.path.join(HERE, "testdata", "histograms_2reps.json")
FIXTURE_KVM = os.path.join(HERE, "testdata", "kvm_1rep.json")


def png(draw):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4, 3))
    draw(fig, ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


class BrowserCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.shots = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", self.tmp)
        self.env = dict(os.environ, MPLCONFIGDIR=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def look(self, page, name):
        """Checks `page` renders whole; returns the Result."""
        result = browser.check(page, os.path.join(self.shots, name + ".png"))
        self.assertEqual(result.problems, [], page)
        with open(page) as f:
            self.assertEqual(len(result.images), f.read().count("<img"), page)
        self.assertTrue(result.images, page)
        return result

    def run_tool(self, script, *args):
        proc = subprocess.run([sys.executable, os.path.join(HERE, script)] + list(args),
                              capture_output=True, text=True, env=self.env, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)


class PagesRenderTest(BrowserCase):
    def test_the_report_renders_every_chart(self):
        for name, fixture in (("report", FIXTURE), ("report_distributions", FIXTURE_HIST),
                              ("report_trapped", FIXTURE_KVM)):
            with self.subTest(name):
                out = os.path.join(self.tmp, name)
                self.assertEqual(report.main([fixture, out]), 0)
                self.look(os.path.join(out, "report.html"), name)

    def test_the_comparison_page_renders_every_chart(self):
        page = os.path.join(self.tmp, "compare.html")
        self.run_tool("compare.py", FIXTURE_HIST, FIXTURE_HIST, "--html", page)
        result = self.look(page, "compare")
        # The change chart and an overlay per benchmark with histograms.
        self.assertGreaterEqual(len(result.images), 2)

    def test_the_trend_page_renders_every_chart(self):
        db = os.path.join(self.tmp, "history.sqlite")
        runs = []
        for i in range(4):
            with open(FIXTURE) as f:
                run = json.load(f)
            run["context"].update(commit="c%d" % i, date="2026-11-2%dT10:00:00+00:00" % i,
                                  machine_fingerprint="0123456789abcdef")
            for e in run["benchmarks"]:
                e["real_time"] *= 1 + 0.01 * i
            runs.append(os.path.join(self.tmp, "run%d.json" % i))
            with open(runs[-1], "w") as f:
                json.dump(run, f)
        self.run_tool("history.py", "store", *runs, "--db=%s" % db)
        self.run_tool("history.py", "trend", "--db=%s" % db, "--out=%s" % self.tmp)
        self.look(os.path.join(self.tmp, "trend.html"), "trend")


class CheckerFindsFaultsTest(BrowserCase):
    """Each fault planted in an otherwise good page is found."""

    def page(self, body):
        path = os.path.join(self.tmp, "planted.html")
        good = png(lambda fig, ax: ax.plot([1, 2, 3], [3, 1, 2]))
        with open(path, "w") as f:
            f.write("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                    "<img alt='good' src='data:image/png;base64,%s'>%s</body></html>"
                    % (good, body))
        return browser.check(path).problems

    def test_a_good_page_passes(self):
        self.assertEqual(self.page(""), [])

    def test_a_broken_image(self):
        problems = self.page("<img alt='broken' src='data:image/png;base64,AAAA'>")
        self.assertIn("broken image: broken", problems)

    def test_a_missing_image_file(self):
        problems = self.page("<img alt='missing' src='no-such-chart.png'>")
        self.assertIn("broken image: missing", problems)
        self.assertTrue(any(p.startswith("failed to load: file://") for p in problems),
                        problems)

    def test_a_blank_chart(self):
        blank = png(lambda fig, ax: ax.axis("off"))
        problems = self.page("<img alt='blank' src='data:image/png;base64,%s'>" % blank)
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith("image blank rendered blank"), problems)

    def test_a_script_error_and_a_console_error(self):
        problems = self.page("<script>console.error('chart failed'); noSuchFunction();"
                             "</script>")
        self.assertIn("console error: chart failed", problems)
        self.assertTrue(any(p.startswith("script error:") and "noSuchFunction" in p
                            for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
