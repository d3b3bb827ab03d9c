#!/usr/bin/python3
"""Compare benchmark runs: `bazel run //reports:compare -- BASE.json NEW.json`.

In the manner of Google Benchmark's compare.py, and taking whatever it
writes: for each benchmark both runs have, the change of the median real
time (new - old) / |old| and of the median CPU time; with at least 9
repetitions on both sides a two-sided Mann-Whitney U test says whether the
change is significant (alpha 0.05), with fewer it says so plainly; then the
geometric mean of new/old over all common benchmarks. Every change carries
a percentile-bootstrap 95% interval (2000 resamples of each side's median)
and the count of each side's outliers (Tukey's fences; none dropped).

What else Google Benchmark writes is compared too:
  - files written with --benchmark_report_aggregates_only (no
    repetitions): the median aggregates are compared, and Welch's t-test
    and interval on the means (from mean, stddev and repetitions);
  - complexity fits (`_BigO`, `_RMS`): the fitted coefficient's change, and
    "complexity changed" when the order differs;
  - runs that reported an error: listed with their message, never counted;
  - user counters: every common counter's change in --json; the text shows
    those named by --counters (default p99_ns, requests_per_s).

Modes, as compare.py's:
  BASE NEW                               benchmarks: two runs
  RUN RUN --filter-base=A --filter-new=B filters: two filters of one run
  BASE NEW --filter-base=A --filter-new=B benchmarksfiltered
A filter is a regular expression; the benchmarks it matches are kept and
the matched text is replaced by `*`, so that `strategy:futex` against
`strategy:eventfd` lines up RoundTrip/*/topology:kernel on both sides.

Significant regressions print red and improvements green (on a terminal,
or --color). --json writes the diff machine-readably; --html writes it as
one self-contained page (the table, a chart of every change with its
interval, both runs' latency distributions overlaid, the contexts side by
side). --aa treats the two runs as the same binary run twice and reports
the machine's noise floor per family (the largest |change| seen);
--noise=FILE (an --aa --json output) then makes every change within its
family's floor "no change", whatever its p-value. A warning line leads the
output when the two runs' machine fingerprints differ (naming the fields:
CPU model, CPUs, memory, kernel, hypervisor, KVM module, mitigations,
governor).

Exit codes: 0 compared (whatever the verdict), 1 a significant regression
with --fail-on-regression, 2 bad arguments or input (one line, nothing
written).
"""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbench  # noqa: E402
import stats  # noqa: E402

ALPHA = 0.05
RED, GREEN, RESET = "\033[31m", "\033[32m", "\033[0m"
CONTEXT_KEYS = ["host_name", "cpu_model", "cpus_online", "cpus_usable", "memory", "kernel",
                "hypervisor", "kvm", "mitigations", "governor", "machine_fingerprint",
                "compiler", "build_mode", "commit", "date"]
# The fields a machine fingerprint is made of (bench/internal/machine_fingerprint.h).
MACHINE_KEYS = ["cpu_model", "cpus_online", "cpus_usable", "memory", "kernel", "hypervisor",
                "kvm", "mitigations", "governor"]


def machine_differences(base_ctx, new_ctx):
    """The machine fields in which two runs differ; [] when they match or a
    run has no fingerprint (older runs: nothing to compare)."""
    if "machine_fingerprint" not in base_ctx or "machine_fingerprint" not in new_ctx:
        return []
    if base_ctx["machine_fingerprint"] == new_ctx["machine_fingerprint"]:
        return []
    return [k for k in MACHINE_KEYS if base_ctx.get(k) != new_ctx.get(k)] or ["fingerprint"]


def family_of(name):
    return name.split("/")[0]


DEFAULT_COUNTERS = ("p99_ns", "requests_per_s")


def select(runs, pattern, where):
    """The runs whose name `pattern` matches, keyed by the name with the
    match replaced by `*` (compare.py's filters); raises InputError."""
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise gbench.InputError("%s=%s: not a regular expression (%s)" % (where, pattern, e))
    out = {}
    for name, b in runs.items():
        m = rx.search(name)
        if not m:
            continue
        aligned = name[:m.start()] + "*" + name[m.end():]
        if aligned in out:
            raise gbench.InputError("%s=%s: %s and %s become the same name %s"
                                    % (where, pattern, out[aligned].name, name, aligned))
        out[aligned] = b
    if not out:
        raise gbench.InputError("%s=%s: matches no benchmark" % (where, pattern))
    return out


def _counter_changes(old, new):
    out = {}
    for key in sorted(set(old.counter_names()) & set(new.counter_names())):
        o, n = old.median(key), new.median(key)
        if o is None or n is None:
            continue
        out[key] = {"old": o, "new": n,
                    "change": stats.relative_change(o, n) if o else None,
                    "higher_is_better": key.endswith("_per_s")}
    return out


def _significance(row, old, new, floor):
    """Fills u, p_value, significant, verdict (and the interval for runs
    that kept only aggregates)."""
    row.update({"u": None, "p_value": None, "significant": False, "test": None})
    if old.samples and new.samples:
        if min(len(old.samples), len(new.samples)) < stats.MIN_REPETITIONS_FOR_U_TEST:
            row["verdict"] = ("fewer than %d repetitions: no significance test"
                              % stats.MIN_REPETITIONS_FOR_U_TEST)
            return
        row["u"], row["p_value"] = stats.mann_whitney_u(old.samples, new.samples)
        row["test"] = "Mann-Whitney U"
    else:
        a, b = old.aggregates, new.aggregates
        try:
            welch = stats.welch_change(
                a["mean"]["real_time"], a["stddev"]["real_time"], a["mean"]["repetitions"],
                b["mean"]["real_time"], b["stddev"]["real_time"], b["mean"]["repetitions"])
        except KeyError:
            welch = None
        if welch is None:
            row["verdict"] = "aggregates only, without mean, stddev and 2+ repetitions: no test"
            return
        row["p_value"], (row["change_ci_low"], row["change_ci_high"]) = welch
        row["interval_method"] = stats.WELCH_METHOD
        row["test"] = "Welch t"
    significant = row["p_value"] < ALPHA
    row["verdict"] = (("regression" if row["change"] > 0 else "improvement")
                      if significant else "no significant change")
    if significant and floor is not None and abs(row["change"]) <= floor:
        significant = False
        row["verdict"] = "no change (within the noise floor, %.1f%%)" % (100 * floor)
    row["significant"] = significant


def _error_row(name, old, new):
    """A row for a benchmark that failed on a side, or None."""
    failed = [(side, b) for side, b in (("base", old), ("new", new))
              if b.errors and b.median() is None]
    if not failed:
        return None
    return {"name": name, "old_median_ns": old.median(), "new_median_ns": new.median(),
            "change": None, "significant": False, "p_value": None, "u": None,
            "errors": {side: b.errors for side, b in (("base", old), ("new", new)) if b.errors},
            "verdict": "; ".join("error in %s: %s" % (side, b.errors[0]) for side, b in failed)}


def compare(base_runs, new_runs, noise=None):
    """Rows per common benchmark. `noise` maps a family to its A/A noise
    floor (a relative change): a change within it is "no change" whatever
    its p-value."""
    rows = []
    for name in [n for n in base_runs if n in new_runs]:
        old, new = base_runs[name], new_runs[name]
        error = _error_row(name, old, new)
        if error:
            rows.append(error)
            continue
        old_med, new_med = old.median(), new.median()
        if old_med is None or new_med is None:
            continue  # a complexity fit alone: compare_fits()
        row = {"name": name, "old_median_ns": old_med, "new_median_ns": new_med,
               "change": stats.relative_change(old_med, new_med),
               "old_cpu_ns": old.median("cpu_time"), "new_cpu_ns": new.median("cpu_time"),
               "old_repetitions": len(old.samples), "new_repetitions": len(new.samples),
               "aggregates_only": old.aggregates_only or new.aggregates_only,
               "old_outliers": stats.classify_outliers(old.samples),
               "new_outliers": stats.classify_outliers(new.samples),
               "counters": _counter_changes(old, new)}
        row["cpu_change"] = (stats.relative_change(row["old_cpu_ns"], row["new_cpu_ns"])
                             if row["old_cpu_ns"] and row["new_cpu_ns"] is not None else None)
        if len(old.samples) >= 2 and len(new.samples) >= 2:  # one sample: no interval
            lo, hi = stats.bootstrap_change_ci(old.samples, new.samples)
            row.update({"change_ci_low": lo, "change_ci_high": hi,
                        "interval_method": stats.BOOTSTRAP_METHOD})
        failed = len(old.errors) + len(new.errors)
        floor = (noise or {}).get(family_of(name))
        row["noise_floor"] = floor
        _significance(row, old, new, floor)
        if failed:
            row["verdict"] += "; %d repetition(s) reported an error" % failed
        rows.append(row)
    ratios = [r["new_median_ns"] / r["old_median_ns"] for r in rows
              if r["change"] is not None and r["old_median_ns"] and r["new_median_ns"]]
    return rows, (stats.geomean(ratios) if ratios else None)


def compare_fits(base_runs, new_runs):
    """Complexity fits both runs have: the order and the real-time
    coefficient's change."""
    fits = []
    for name in [n for n in base_runs if n in new_runs]:
        o, n = base_runs[name].complexity, new_runs[name].complexity
        if "big_o" not in o or "big_o" not in n:
            continue
        fits.append({"name": name, "old_big_o": o["big_o"], "new_big_o": n["big_o"],
                     "old_coefficient_ns": o["real_coefficient"],
                     "new_coefficient_ns": n["real_coefficient"],
                     "change": stats.relative_change(o["real_coefficient"],
                                                     n["real_coefficient"]),
                     "old_rms": o.get("rms"), "new_rms": n.get("rms"),
                     "verdict": ("complexity changed: O(%s) -> O(%s)" % (o["big_o"], n["big_o"])
                                 if o["big_o"] != n["big_o"] else "same order")})
    return fits


def _pct(v):
    return "-" if v is None else "%+.1f%%" % (100 * v)


def _tail(text, width):
    """`text` in at most `width` characters, keeping its end (a path's file
    name and the filter after it)."""
    return text if len(text) <= width else "..." + text[len(text) - width + 3:]


def _ns(v):
    return "-" if v is None else "%.1f" % v


def render(rows, geo, base_ctx, new_ctx, color, fits=(), counters=DEFAULT_COUNTERS,
           titles=("base", "new")):
    out = []
    differ = machine_differences(base_ctx, new_ctx)
    if differ:
        out.append("WARNING: the two runs come from different machines (%s differ): "
                   "a ratio measured on one need not hold on the other." % ", ".join(differ))
        out.append("")
    out.append("%-14s %-34s %-34s" % ("context", _tail(titles[0], 34), _tail(titles[1], 34)))
    for k in CONTEXT_KEYS:
        out.append("%-14s %-34s %-34s" % (k, str(base_ctx.get(k, "-"))[:34],
                                           str(new_ctx.get(k, "-"))[:34]))
    out.append("")
    width = max([len(r["name"]) for r in rows] + [9])
    out.append("%-*s %12s %12s %9s %19s %9s %9s %9s  %s" % (
        width, "benchmark", "old (ns)", "new (ns)", "change", "95% interval", "cpu",
        "p", "outliers", "verdict"))
    for r in rows:
        p = "%.4f" % r["p_value"] if r["p_value"] is not None else "-"
        ci = ("[%+.1f%%, %+.1f%%]" % (100 * r["change_ci_low"], 100 * r["change_ci_high"])
              if r.get("change_ci_low") is not None else "-")
        outliers = sum(r.get("old_outliers", {}).values()) + sum(
            r.get("new_outliers", {}).values())
        line = "%-*s %12s %12s %9s %19s %9s %9s %9d  %s" % (
            width, r["name"], _ns(r["old_median_ns"]), _ns(r["new_median_ns"]),
            _pct(r["change"]), ci, _pct(r.get("cpu_change")), p, outliers, r["verdict"])
        if color and r["significant"]:
            line = (RED if r["change"] > 0 else GREEN) + line + RESET
        out.append(line)
    shown = [(r["name"], k, c) for r in rows for k, c in sorted(r.get("counters", {}).items())
             if counters == "all" or k in counters]
    if shown:
        out += ["", "user counters (median over the repetitions):",
                "%-*s %-22s %14s %14s %9s" % (width, "benchmark", "counter", "old", "new",
                                              "change")]
        for name, k, c in shown:
            out.append("%-*s %-22s %14.4g %14.4g %9s%s" % (
                width, name, k, c["old"], c["new"], _pct(c["change"]),
                "  (higher is better)" if c["higher_is_better"] else ""))
    if fits:
        out += ["", "complexity fits (the real-time coefficient):",
                "%-*s %8s %8s %14s %14s %9s  %s" % (width, "benchmark", "old", "new",
                                                     "old coef (ns)", "new coef (ns)",
                                                     "change", "verdict")]
        for f in fits:
            out.append("%-*s %8s %8s %14.4g %14.4g %9s  %s" % (
                width, f["name"], f["old_big_o"], f["new_big_o"], f["old_coefficient_ns"],
                f["new_coefficient_ns"], _pct(f["change"]), f["verdict"]))
    out.append("")
    out.append("interval: %s of the change (aggregates-only runs: %s); outliers: Tukey's "
               "fences (mild beyond 1.5 IQR, severe beyond 3), counted, never dropped."
               % (stats.BOOTSTRAP_METHOD, stats.WELCH_METHOD))
    out.append("geometric mean of new/old over %d benchmarks: %s" % (
        len([r for r in rows if r["change"] is not None]),
        "%.4f (%+.1f%%)" % (geo, 100 * (geo - 1)) if geo else "n/a"))
    return "\n".join(out)


def noise_floors(rows):
    """Per family, from an A/A comparison's rows: the largest |change|."""
    by_family = {}
    for r in [r for r in rows if r["change"] is not None]:
        by_family.setdefault(family_of(r["name"]), []).append(r["change"])
    return {f: stats.noise_floor(c) for f, c in sorted(by_family.items())}


def render_noise(floors, base, new):
    out = ["A/A: %s against %s, the same binary twice; the noise floor per family is "
           "the largest |change of the median| between them." % (base, new), "",
           "%-20s %12s" % ("family", "noise floor")]
    for family, floor in floors.items():
        out.append("%-20s %11.1f%%" % (family, 100 * floor))
    return "\n".join(out)


def load_noise(path):
    """{family: floor} from a --aa --json file; raises gbench.InputError."""
    try:
        with open(path) as f:
            data = json.load(f)
        floors = data["noise_floor"]
        if not isinstance(floors, dict) or not all(
                isinstance(v, (int, float)) and v >= 0 for v in floors.values()):
            raise ValueError("noise_floor must map families to non-negative numbers")
        return {str(k): float(v) for k, v in floors.items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise gbench.InputError("--noise=%s: not an A/A noise file (%s)" % (path, e))


def write_atomically(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print("compare: %s" % message, file=sys.stderr)
        sys.exit(2)


def _counters_arg(text):
    if text in ("all", "none"):
        return text if text == "all" else ()
    names = tuple(n for n in text.split(",") if n)
    if not names or not all(re.fullmatch(r"[A-Za-z0-9_.]+", n) for n in names):
        raise argparse.ArgumentTypeError("accepts all, none or counter names separated by "
                                         "commas")
    return names


def main(argv):
    p = _Parser(prog="compare", description="compare Google Benchmark JSON runs")
    p.add_argument("base")
    p.add_argument("new")
    p.add_argument("--json", help="write the diff as JSON to this file")
    p.add_argument("--html", help="write the diff as one self-contained HTML page")
    p.add_argument("--color", action="store_true", help="colour even when not a terminal")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a benchmark regressed significantly")
    p.add_argument("--aa", action="store_true",
                   help="the two runs are the same binary run twice: print (and with "
                        "--json write) the noise floor per family")
    p.add_argument("--noise", help="an --aa --json file: changes within a family's "
                                   "noise floor are no change")
    p.add_argument("--filter-base", help="regex: compare only the base benchmarks it "
                                         "matches, the match replaced by *")
    p.add_argument("--filter-new", help="regex: the same for the new run")
    p.add_argument("--counters", type=_counters_arg, default=DEFAULT_COUNTERS,
                   help="user counters the text shows: all, none or a,b,c "
                        "(default p99_ns,requests_per_s; --json has all)")
    args = p.parse_args(argv)
    if args.aa and args.noise:
        print("compare: --aa and --noise: pick one (--aa measures the noise)",
              file=sys.stderr)
        return 2
    for flag, path in (("--json", args.json), ("--html", args.html)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            print("compare: %s=%s: its folder does not exist" % (flag, path), file=sys.stderr)
            return 2
    try:
        base_ctx, base_runs = gbench.load(args.base)
        new_ctx, new_runs = gbench.load(args.new)
        titles = [args.base, args.new]
        if args.filter_base is not None:
            base_runs = select(base_runs, args.filter_base, "--filter-base")
            titles[0] += " [%s]" % args.filter_base
        if args.filter_new is not None:
            new_runs = select(new_runs, args.filter_new, "--filter-new")
            titles[1] += " [%s]" % args.filter_new
        noise = load_noise(args.noise) if args.noise else None
    except gbench.InputError as e:
        print("compare: %s" % e, file=sys.stderr)
        return 2
    rows, geo = compare(base_runs, new_runs, noise)
    fits = compare_fits(base_runs, new_runs)
    if not rows and not fits:
        print("compare: %s and %s have no benchmark in common" % tuple(titles),
              file=sys.stderr)
        return 2
    if args.aa:
        floors = noise_floors(rows)
        print(render_noise(floors, args.base, args.new))
        if args.json:
            write_atomically(args.json, json.dumps(
                {"base": args.base, "new": args.new, "method": "A/A: largest |change| "
                 "of the median per family", "noise_floor": floors,
                 "machine_differences": machine_differences(base_ctx, new_ctx)}, indent=2))
        return 0
    print(render(rows, geo, base_ctx, new_ctx, args.color or sys.stdout.isatty(), fits,
                 args.counters, titles))
    if args.json:
        write_atomically(args.json, json.dumps(
            {"base": titles[0], "new": titles[1], "base_context": base_ctx,
             "new_context": new_ctx,
             "machine_differences": machine_differences(base_ctx, new_ctx),
             "geomean_ratio": geo, "interval_method": stats.BOOTSTRAP_METHOD,
             "noise_floor": noise, "benchmarks": rows, "complexity": fits}, indent=2))
    if args.html:
        import compare_page  # noqa: E402 (matplotlib only when a page is asked for)
        write_atomically(args.html, compare_page.build(
            rows, geo, fits, base_ctx, new_ctx, base_runs, new_runs, titles, noise))
    regressed = any(r["significant"] and r["change"] > 0 for r in rows)
    return 1 if (regressed and args.fail_on_regression) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
