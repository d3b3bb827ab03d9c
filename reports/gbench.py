"""Reading Google Benchmark JSON output (the --benchmark_format=json shape).

A file holds "context" (machine, build, the suite's custom keys: kernel,
cpu_model, compiler, build_mode, commit) and "benchmarks": one entry per
repetition ("run_type": "iteration") and, with --benchmark_repetitions, the
aggregates ("run_type": "aggregate", "aggregate_name": mean, median, stddev,
cv). load() groups the repetitions by run name, so statistics can be taken
over them.
"""
import json
import math
import os
import statistics


class InputError(Exception):
    """A file that cannot be used; the message names the file and why."""


class Benchmark:
    def __init__(self, name):
        self.name = name
        self.samples = []      # real_time of each repetition, in ns
        self.counters = []     # each repetition's user counters
        self.labels = []       # each repetition's label (an encoded histogram)

    def median(self, key="real_time"):
        values = self.values(key)
        return statistics.median(values) if values else None

    def values(self, key="real_time"):
        if key == "real_time":
            return list(self.samples)
        return [c[key] for c in self.counters if key in c]

    def params(self):
        """name/key:value parts as a dict, e.g. {'strategy': 'futex'}."""
        out = {}
        for part in self.name.split("/")[1:]:
            if ":" in part:
                k, v = part.split(":", 1)
                out[k] = v
        return out

    @property
    def family(self):
        return self.name.split("/")[0]


_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_NOT_COUNTERS = {"name", "family_index", "per_family_instance_index", "run_name",
                 "run_type", "repetitions", "repetition_index", "threads", "iterations",
                 "real_time", "cpu_time", "time_unit", "aggregate_name",
                 "aggregate_unit", "error_occurred", "error_message", "label"}


# Google Benchmark writes a few hundred KiB per run; far larger is not its
# output, and would be read whole.
MAX_INPUT_BYTES = 256 << 20


def _finite_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def load(path):
    """Returns (context dict, {run_name: Benchmark}) or raises InputError."""
    if not os.path.exists(path):
        raise InputError("%s: no such file" % path)
    if not os.path.isfile(path):
        raise InputError("%s: not a regular file" % path)
    size = os.path.getsize(path)
    if size > MAX_INPUT_BYTES:
        raise InputError("%s: %d bytes, larger than benchmark output may be (%d)"
                         % (path, size, MAX_INPUT_BYTES))
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError) as e:
        raise InputError("%s: cannot be read (%s)" % (path, e))
    except json.JSONDecodeError as e:
        raise InputError("%s: not JSON (%s)" % (path, e))
    except RecursionError:
        raise InputError("%s: not JSON this tool reads (nested too deeply)" % path)
    if (not isinstance(data, dict) or not isinstance(data.get("context"), dict)
            or not isinstance(data.get("benchmarks"), list)):
        raise InputError("%s: not Google Benchmark output (no context and benchmarks)"
                         % path)
    runs = {}
    for entry in data["benchmarks"]:
        if not isinstance(entry, dict) or "name" not in entry or "real_time" not in entry:
            raise InputError("%s: a benchmark entry lacks name or real_time" % path)
        if not isinstance(entry["name"], str) or not isinstance(
                entry.get("run_name", ""), str):
            raise InputError("%s: a benchmark name is not a string: %r"
                             % (path, entry["name"]))
        if not _finite_number(entry["real_time"]) or entry["real_time"] < 0:
            raise InputError("%s: %s: real_time is not a time: %r"
                             % (path, entry["name"], entry["real_time"]))
        if entry.get("run_type", "iteration") != "iteration" or entry.get("error_occurred"):
            continue
        run_name = entry.get("run_name", entry["name"])
        b = runs.setdefault(run_name, Benchmark(run_name))
        scale = _UNIT_NS.get(entry.get("time_unit", "ns"))
        if scale is None:
            raise InputError("%s: unknown time_unit %r" % (path, entry.get("time_unit")))
        b.samples.append(float(entry["real_time"]) * scale)
        b.counters.append({k: v for k, v in entry.items()
                           if k not in _NOT_COUNTERS and _finite_number(v)})
        if isinstance(entry.get("label"), str):
            b.labels.append(entry["label"])
    if not runs:
        raise InputError("%s: holds no benchmark results" % path)
    return data["context"], runs
