#!/usr/bin/python3
"""Compare two benchmark runs: `bazel run //reports:compare -- BASE.json NEW.json`.

In the manner of Google Benchmark's compare.py: for each benchmark both runs
have, the change of the median real time (new - old) / |old|; with at least
9 repetitions on both sides a two-sided Mann-Whitney U test says whether the
change is significant (alpha 0.05), with fewer it says so plainly; then the
geometric mean of new/old over all common benchmarks. Significant
regressions print red and improvements green (on a terminal, or --color).
--json writes the diff machine-readably. Every change carries a
percentile-bootstrap 95% interval (2000 resamples of each side's median)
and the count of each side's outliers (Tukey's fences; none dropped).
--aa treats the two runs as the same binary run twice and reports the
machine's noise floor per family (the largest |change| seen); --noise=FILE
(an --aa --json output) then makes every change within its family's floor
"no change", whatever its p-value. The contexts of both runs are shown,
so runs from different machines can be compared knowingly, and a warning
line leads the output when the two runs' machine fingerprints differ
(naming the fields: CPU model, CPUs, memory, kernel, hypervisor, KVM
module, mitigations, governor).

Exit codes: 0 compared (whatever the verdict), 1 a significant regression
with --fail-on-regression, 2 bad arguments or input (one line, nothing
written).
"""
import argparse
import json
import os
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


def compare(base_runs, new_runs, noise=None):
    """Rows per common benchmark. `noise` maps a family to its A/A noise
    floor (a relative change): a change within it is "no change" whatever
    its p-value."""
    names = [n for n in base_runs if n in new_runs]
    rows = []
    for name in names:
        old, new = base_runs[name], new_runs[name]
        old_med, new_med = old.median(), new.median()
        row = {"name": name, "old_median_ns": old_med, "new_median_ns": new_med,
               "change": stats.relative_change(old_med, new_med),
               "old_repetitions": len(old.samples), "new_repetitions": len(new.samples),
               "old_outliers": stats.classify_outliers(old.samples),
               "new_outliers": stats.classify_outliers(new.samples)}
        if old.samples and new.samples:
            lo, hi = stats.bootstrap_change_ci(old.samples, new.samples)
            row.update({"change_ci_low": lo, "change_ci_high": hi})
        floor = (noise or {}).get(family_of(name))
        row["noise_floor"] = floor
        if min(len(old.samples), len(new.samples)) >= stats.MIN_REPETITIONS_FOR_U_TEST:
            u, p = stats.mann_whitney_u(old.samples, new.samples)
            significant = p < ALPHA
            verdict = (("regression" if row["change"] > 0 else "improvement")
                       if significant else "no significant change")
            if significant and floor is not None and abs(row["change"]) <= floor:
                significant = False
                verdict = "no change (within the noise floor, %.1f%%)" % (100 * floor)
            row.update({"u": u, "p_value": p, "significant": significant,
                        "verdict": verdict})
        else:
            row.update({"u": None, "p_value": None, "significant": False,
                        "verdict": "fewer than %d repetitions: no significance test"
                                   % stats.MIN_REPETITIONS_FOR_U_TEST})
        rows.append(row)
    ratios = [r["new_median_ns"] / r["old_median_ns"] for r in rows
              if r["old_median_ns"] and r["new_median_ns"]]
    return rows, (stats.geomean(ratios) if ratios else None)


def render(rows, geo, base_ctx, new_ctx, color):
    out = []
    differ = machine_differences(base_ctx, new_ctx)
    if differ:
        out.append("WARNING: the two runs come from different machines (%s differ): "
                   "a ratio measured on one need not hold on the other." % ", ".join(differ))
        out.append("")
    out.append("%-14s %-34s %-34s" % ("context", "base", "new"))
    for k in CONTEXT_KEYS:
        out.append("%-14s %-34s %-34s" % (k, str(base_ctx.get(k, "-"))[:34],
                                           str(new_ctx.get(k, "-"))[:34]))
    out.append("")
    width = max([len(r["name"]) for r in rows] + [9])
    out.append("%-*s %12s %12s %9s %19s %9s %9s  %s" % (
        width, "benchmark", "old (ns)", "new (ns)", "change", "95% interval", "p",
        "outliers", "verdict"))
    for r in rows:
        p = "%.4f" % r["p_value"] if r["p_value"] is not None else "-"
        ci = ("[%+.1f%%, %+.1f%%]" % (100 * r["change_ci_low"], 100 * r["change_ci_high"])
              if r.get("change_ci_low") is not None else "-")
        outliers = sum(r["old_outliers"].values()) + sum(r["new_outliers"].values())
        line = "%-*s %12.1f %12.1f %+8.1f%% %19s %9s %9d  %s" % (
            width, r["name"], r["old_median_ns"], r["new_median_ns"], 100 * r["change"],
            ci, p, outliers, r["verdict"])
        if color and r["significant"]:
            line = (RED if r["change"] > 0 else GREEN) + line + RESET
        out.append(line)
    out.append("")
    out.append("interval: %s of the change; outliers: Tukey's fences "
               "(mild beyond 1.5 IQR, severe beyond 3), counted, never dropped."
               % stats.BOOTSTRAP_METHOD)
    out.append("geometric mean of new/old over %d benchmarks: %s" % (
        len(rows), "%.4f (%+.1f%%)" % (geo, 100 * (geo - 1)) if geo else "n/a"))
    return "\n".join(out)


def noise_floors(rows):
    """Per family, from an A/A comparison's rows: the largest |change|."""
    by_family = {}
    for r in rows:
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


def main(argv):
    p = _Parser(prog="compare", description="compare two Google Benchmark JSON runs")
    p.add_argument("base")
    p.add_argument("new")
    p.add_argument("--json", help="write the diff as JSON to this file")
    p.add_argument("--color", action="store_true", help="colour even when not a terminal")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a benchmark regressed significantly")
    p.add_argument("--aa", action="store_true",
                   help="the two runs are the same binary run twice: print (and with "
                        "--json write) the noise floor per family")
    p.add_argument("--noise", help="an --aa --json file: changes within a family's "
                                   "noise floor are no change")
    args = p.parse_args(argv)
    if args.aa and args.noise:
        print("compare: --aa and --noise: pick one (--aa measures the noise)",
              file=sys.stderr)
        return 2
    try:
        base_ctx, base_runs = gbench.load(args.base)
        new_ctx, new_runs = gbench.load(args.new)
        noise = load_noise(args.noise) if args.noise else None
    except gbench.InputError as e:
        print("compare: %s" % e, file=sys.stderr)
        return 2
    rows, geo = compare(base_runs, new_runs, noise)
    if not rows:
        print("compare: %s and %s have no benchmark in common" % (args.base, args.new),
              file=sys.stderr)
        return 2
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        print("compare: --json=%s: its folder does not exist" % args.json, file=sys.stderr)
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
    print(render(rows, geo, base_ctx, new_ctx, args.color or sys.stdout.isatty()))
    if args.json:
        write_atomically(args.json, json.dumps(
            {"base": args.base, "new": args.new, "base_context": base_ctx,
             "new_context": new_ctx,
             "machine_differences": machine_differences(base_ctx, new_ctx),
             "geomean_ratio": geo, "interval_method": stats.BOOTSTRAP_METHOD,
             "noise_floor": noise, "benchmarks": rows}, indent=2))
    regressed = any(r["significant"] and r["change"] > 0 for r in rows)
    return 1 if (regressed and args.fail_on_regression) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
