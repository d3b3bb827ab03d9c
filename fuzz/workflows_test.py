#!/usr/bin/python3
"""The ClusterFuzzLite workflows in .github/workflows/ are valid and say what
docs/fuzzing.md says they do: each parses as YAML, runs on the events
ClusterFuzzLite's guide gives its mode, builds with build_fuzzers@v1 for
c++ and runs with run_fuzzers@v1 in the right mode; the build they all call
(.clusterfuzzlite/: Dockerfile, build.sh, project.yaml) is present and
consistent. (fuzz:clusterfuzzlite_build_test runs that build.sh.)"""
import os
import re
import sys
import unittest

import yaml

ROOT = os.path.join(os.environ.get("TEST_SRCDIR", ""), os.environ.get("TEST_WORKSPACE", ""))
if not os.path.isdir(os.path.join(ROOT, ".github")):
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
BUILD = "google/clusterfuzzlite/actions/build_fuzzers@v1"
RUN = "google/clusterfuzzlite/actions/run_fuzzers@v1"


def load(name):
    with open(os.path.join(WORKFLOWS, name)) as f:
        doc = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as the boolean True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc):
    return [(job, s) for job, j in doc["jobs"].items() for s in j["steps"]]


class WorkflowsTest(unittest.TestCase):
    def check(self, name, events, modes, upload=False):
        doc = load(name)
        self.assertTrue(doc.get("name"), name)
        self.assertEqual(set(doc["on"]) - {"workflow_dispatch"}, set(events), name)
        self.assertIn(doc.get("permissions"), ("read-all", {"contents": "read"}), name)
        found = []
        for job, step in steps(doc):
            uses = step.get("uses")
            with_ = step.get("with", {})
            if uses == BUILD:
                self.assertEqual(with_.get("language"), "c++", (name, job))
                if upload:
                    self.assertTrue(with_.get("upload-build"), name)
            elif uses == RUN:
                self.assertIsInstance(with_.get("fuzz-seconds"), int, (name, job))
                self.assertGreater(with_["fuzz-seconds"], 0)
                self.assertIn("secrets.GITHUB_TOKEN", with_.get("github-token", ""))
                found.append(with_.get("mode"))
            else:
                self.fail("%s: unknown step %r" % (name, uses))
        self.assertEqual(sorted(found), sorted(modes), name)
        for job, j in doc["jobs"].items():
            self.assertEqual(j["runs-on"], "ubuntu-latest", (name, job))
            uses = [s.get("uses") for s in j["steps"]]
            self.assertEqual(uses[0], BUILD, (name, job, "builds first"))
            sanitizers = j.get("strategy", {}).get("matrix", {}).get("sanitizer")
            for s in j["steps"]:
                if sanitizers is not None:
                    self.assertEqual(s["with"].get("sanitizer"), "${{ matrix.sanitizer }}")
        return doc

    def test_pull_requests_fuzz_the_change(self):
        doc = self.check("cflite_pr.yml", ["pull_request"], ["code-change"])
        self.assertEqual(doc["jobs"]["PR"]["strategy"]["matrix"]["sanitizer"],
                         ["address", "undefined"])

    def test_main_is_built_for_comparison(self):
        doc = self.check("cflite_build.yml", ["push"], [], upload=True)
        self.assertEqual(doc["on"]["push"]["branches"], ["main"])

    def test_batch_fuzzing_runs_on_a_schedule(self):
        doc = self.check("cflite_batch.yml", ["schedule"], ["batch"])
        self.assertTrue(re.fullmatch(r"[\d/*]+ [\d/*]+ \* \* \*", doc["on"]["schedule"][0]["cron"]))

    def test_cron_prunes_and_reports_coverage(self):
        doc = self.check("cflite_cron.yml", ["schedule"], ["prune", "coverage"])
        cov = [s for _, s in steps(doc) if s.get("with", {}).get("mode") == "coverage"][0]
        self.assertEqual(cov["with"]["sanitizer"], "coverage")

    def test_every_workflow_is_checked(self):
        self.assertEqual(sorted(os.listdir(WORKFLOWS)),
                         ["cflite_batch.yml", "cflite_build.yml", "cflite_cron.yml",
                          "cflite_pr.yml"])

    def test_the_build_they_call_is_consistent(self):
        cfl = os.path.join(ROOT, ".clusterfuzzlite")
        with open(os.path.join(cfl, "project.yaml")) as f:
            self.assertEqual(yaml.safe_load(f), {"language": "c++"})
        with open(os.path.join(cfl, "Dockerfile")) as f:
            docker = f.read()
        self.assertRegex(docker, r"(?m)^FROM gcr\.io/oss-fuzz-base/base-builder")
        self.assertIn("COPY .clusterfuzzlite/build.sh $SRC/", docker)
        self.assertTrue(os.access(os.path.join(cfl, "build.sh"), os.X_OK))


if __name__ == "__main__":
    sys.argv[1:1] = ["-v"]
    unittest.main()
