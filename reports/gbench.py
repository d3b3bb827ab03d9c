"""Reading Google Benchmark JSON output (the --benchmark_format=json shape).

A file holds "context" (machine, build, the suite's custom keys: kernel,
cpu_model, compiler, build_mode, commit) and "benchmarks": one entry per
repetition ("run_type": "iteration") and, with --benchmark_repetitions, the
aggregates ("run_type": "aggregate", "aggregate_name": mean, median, stddev,
cv). load() groups the repetitions by run name, so statistics can be taken
over them, and keeps whatever else Google Benchmark writes:
  - the aggregates (all a file holds under
    --benchmark_report_aggregates_only), by aggregate name;
  - complexity fits: the `_BigO` entry (big_o, real_coefficient,
    cpu_coefficient; no real_time) and the `_RMS` entry (rms);
  - runs that reported an error (error_occurred, error_message): kept as
    errors, never as samples;
  - CPU time beside real time, and each repetition's user counters.

Example:
    ctx, runs = gbench.load("bench.json")
    for name, b in runs.items():
        print(name, b.median(), b.median("cpu_time"), b.errors, b.complexity)
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
        self.cpu_samples = []  # cpu_time of each repetition, in ns
        self.counters = []     # each repetition's user counters
        self.labels = []       # each repetition's label (an encoded histogram)
        # aggregate name (mean, median, stddev, cv, ...) -> {"real_time",
        # "cpu_time" (ns; cv as a fraction), "repetitions", user counters}
        self.aggregates = {}
        self.errors = []       # error_message of each repetition that failed
        self.complexity = {}   # big_o, real_coefficient, cpu_coefficient, rms

    def median(self, key="real_time"):
        """The median over the repetitions; for a run that has only
        aggregates, the `median` aggregate (else the `mean`)."""
        values = self.values(key)
        if values:
            return statistics.median(values)
        for name in ("median", "mean"):
            v = self.aggregates.get(name, {}).get(key)
            if v is not None:
                return v
        return None

    def values(self, key="real_time"):
        if key == "real_time":
            return list(self.samples)
        if key == "cpu_time":
            return list(self.cpu_samples)
        return [c[key] for c in self.counters if key in c]

    @property
    def aggregates_only(self):
        """True when the file holds this run's aggregates but no repetition
        (--benchmark_report_aggregates_only)."""
        return not self.samples and bool(self.aggregates)

    def counter_names(self):
        names = set()
        for c in self.counters:
            names.update(c)
        if not self.counters:
            for a in self.aggregates.values():
                names.update(k for k in a if k not in ("real_time", "cpu_time",
                                                      "repetitions"))
        return sorted(names)

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
        _read_entry(path, entry, runs)
    if not runs:
        raise InputError("%s: holds no benchmark results" % path)
    return data["context"], runs


def _time(path, entry, key, scale):
    v = entry.get(key)
    if not _finite_number(v) or v < 0:
        raise InputError("%s: %s: %s is not a time: %r" % (path, entry["name"], key, v))
    return float(v) * scale


def _read_entry(path, entry, runs):
    """Adds one entry of "benchmarks" to `runs`; raises InputError."""
    if not isinstance(entry, dict) or "name" not in entry:
        raise InputError("%s: a benchmark entry lacks a name" % path)
    if not isinstance(entry["name"], str) or not isinstance(entry.get("run_name", ""), str):
        raise InputError("%s: a benchmark name is not a string: %r" % (path, entry["name"]))
    run_name = entry.get("run_name", entry["name"])
    scale = _UNIT_NS.get(entry.get("time_unit", "ns"))
    if scale is None:
        raise InputError("%s: %s: unknown time_unit %r"
                         % (path, entry["name"], entry.get("time_unit")))
    kind = entry.get("aggregate_name") if entry.get("run_type") == "aggregate" else None
    if kind in ("BigO", "RMS") or "big_o" in entry or "rms" in entry:
        b = runs.setdefault(run_name, Benchmark(run_name))
        if "rms" in entry:
            if not _finite_number(entry["rms"]):
                raise InputError("%s: %s: rms is not a number" % (path, entry["name"]))
            b.complexity["rms"] = float(entry["rms"])
        else:
            for key in ("real_coefficient", "cpu_coefficient"):
                if not _finite_number(entry.get(key)):
                    raise InputError("%s: %s: %s is not a number"
                                     % (path, entry["name"], key))
                b.complexity[key] = float(entry[key]) * scale
            b.complexity["big_o"] = str(entry.get("big_o", "?"))
        return
    if entry.get("error_occurred"):
        b = runs.setdefault(run_name, Benchmark(run_name))
        b.errors.append(str(entry.get("error_message", "an error")))
        return
    if "real_time" not in entry:
        raise InputError("%s: %s: lacks real_time" % (path, entry["name"]))
    real = _time(path, entry, "real_time", scale)
    cpu = _time(path, entry, "cpu_time", scale) if "cpu_time" in entry else None
    counters = {k: v for k, v in entry.items() if k not in _NOT_COUNTERS and _finite_number(v)}
    b = runs.setdefault(run_name, Benchmark(run_name))
    if entry.get("run_type", "iteration") == "iteration":
        b.samples.append(real)
        if cpu is not None:
            b.cpu_samples.append(cpu)
        b.counters.append(counters)
        if isinstance(entry.get("label"), str):
            b.labels.append(entry["label"])
        return
    if kind is None:
        raise InputError("%s: %s: an aggregate without aggregate_name" % (path, entry["name"]))
    # A percentage aggregate (cv) is a fraction, not a time.
    unit = 1.0 / scale if entry.get("aggregate_unit") == "percentage" else 1.0
    aggregate = dict(counters, real_time=real * unit)
    if cpu is not None:
        aggregate["cpu_time"] = cpu * unit
    if _finite_number(entry.get("repetitions")):
        aggregate["repetitions"] = int(entry["repetitions"])
    b.aggregates[str(kind)] = aggregate
