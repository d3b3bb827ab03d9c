#!/usr/bin/python3
"""Draws fuzz/coverage_curve.py's CSVs: branch coverage over time, one line
per label (campaign).

usage: fuzz/plot_curves.py OUT.png A.csv [B.csv ...] [--title=TEXT]
Exit codes: 0 drawn; 2 a bad argument or file (one line says which).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    title = "Branch coverage of core/hsm/ over a campaign"
    args = []
    for a in argv:
        if a.startswith("--title="):
            title = a[len("--title="):]
        elif a.startswith("-"):
            print("plot_curves: unknown flag %s (accepts --title=)" % a, file=sys.stderr)
            return 2
        else:
            args.append(a)
    if len(args) < 2 or not args[0].endswith(".png"):
        print("plot_curves: usage: OUT.png A.csv [B.csv ...]", file=sys.stderr)
        return 2
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for path in args[1:]:
        try:
            rows = list(csv.DictReader(open(path)))
        except OSError as e:
            print("plot_curves: %s: %s" % (path, e.strerror), file=sys.stderr)
            return 2
        if not rows or "branches_covered" not in rows[0]:
            print("plot_curves: %s: not a coverage_curve.py CSV" % path, file=sys.stderr)
            return 2
        xs = [int(r["seconds"]) for r in rows]
        ys = [100.0 * int(r["branches_covered"]) / max(1, int(r["branches"])) for r in rows]
        ax.plot(xs, ys, marker="o", label=rows[0]["label"] or path)
    ax.set_xlabel("seconds of fuzzing")
    ax.set_ylabel("branches covered (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
