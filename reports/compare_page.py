"""The comparison as one self-contained HTML page (`compare --html=FILE`).

It holds what the text holds and what text cannot show: a chart of every
change with its 95% interval (the noise floor shaded where one was given),
the latency distributions of both runs overlaid for the benchmarks that
carry histograms (reports/histogram.py), the user counters and complexity
fits, and the two contexts side by side with the differing fields marked.

Example:
    rows, geo = compare.compare(base_runs, new_runs)
    text = compare_page.build(rows, geo, [], base_ctx, new_ctx, base_runs, new_runs,
                              ["base.json", "new.json"])
"""
import matplotlib.pyplot as plt

import compare
import histogram
import page
import stats

MAX_CHANGES_CHARTED = 60
MAX_DISTRIBUTIONS = 12


def _verdict_class(r):
    if not r["significant"]:
        return ""
    return "regression" if r["change"] > 0 else "improvement"


def chart_changes(rows, noise):
    """One line per benchmark: the change of the median and its interval,
    red for a significant regression, green for an improvement; the
    family's noise floor shaded around zero when known."""
    rows = [r for r in rows if r["change"] is not None]
    rows = sorted(rows, key=lambda r: -abs(r["change"]))[:MAX_CHANGES_CHARTED]
    rows.sort(key=lambda r: r["name"])
    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.22 * len(rows)))
    for y, r in enumerate(rows):
        colour = {"regression": "#c0392b", "improvement": "#27ae60"}.get(_verdict_class(r),
                                                                          "#555555")
        lo, hi = r.get("change_ci_low"), r.get("change_ci_high")
        if lo is not None:
            ax.plot([100 * lo, 100 * hi], [y, y], color=colour, linewidth=1.5)
        ax.plot([100 * r["change"]], [y], "o", color=colour, markersize=4)
        floor = (noise or {}).get(compare.family_of(r["name"]))
        if floor:
            ax.fill_betweenx([y - 0.4, y + 0.4], -100 * floor, 100 * floor,
                             color="#dddddd", zorder=0)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(list(range(len(rows))))
    ax.set_yticklabels([r["name"] for r in rows], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("change of the median, new against base (%), with its 95% interval")
    ax.grid(axis="x", alpha=0.3)
    return page.figure_png(fig)


def chart_overlay(name, old, new, titles):
    return page.chart_distribution([("base: " + titles[0], old, "--"),
                                    ("new: " + titles[1], new, "-")], size=(6, 3.2))


def _distributions(rows, base_runs, new_runs, titles):
    """(name, png) for the benchmarks with histograms on both sides, the
    largest |change| first."""
    out = []
    for r in sorted([r for r in rows if r["change"] is not None],
                    key=lambda r: -abs(r["change"])):
        old = histogram.merged(base_runs[r["name"]].labels)
        new = histogram.merged(new_runs[r["name"]].labels)
        if old and new and old.count and new.count:
            out.append((r["name"], chart_overlay(r["name"], old, new, titles)))
        if len(out) == MAX_DISTRIBUTIONS:
            break
    return out


def build(rows, geo, fits, base_ctx, new_ctx, base_runs, new_runs, titles, noise=None):
    """The page's text."""
    e = page.escape
    parts = []
    differ = compare.machine_differences(base_ctx, new_ctx)
    if differ:
        parts.append("<p class='warning'>The two runs come from different machines (%s "
                     "differ): a ratio measured on one need not hold on the other.</p>"
                     % e(", ".join(differ)))
    changed = [r for r in rows if r["change"] is not None]
    regressions = sum(1 for r in changed if _verdict_class(r) == "regression")
    improvements = sum(1 for r in changed if _verdict_class(r) == "improvement")
    parts.append("<p>Base <code>%s</code>, new <code>%s</code>. %d benchmarks compared: "
                 "%d significant regressions, %d significant improvements; geometric mean "
                 "of new/old %s.</p>" % (e(titles[0]), e(titles[1]), len(changed), regressions,
                                        improvements,
                                        "%.4f" % geo if geo else "n/a"))
    parts.append("<p>Intervals: %s (runs with aggregates only: %s). A change inside its "
                 "family's A/A noise floor is no change%s. Outliers: Tukey's fences, "
                 "counted, never dropped.</p>"
                 % (e(stats.BOOTSTRAP_METHOD), e(stats.WELCH_METHOD),
                    "" if noise else " (no noise file was given)"))
    if changed:
        parts.append("<h2>Changes and their intervals</h2>")
        if len(changed) > MAX_CHANGES_CHARTED:
            parts.append("<p>The %d largest changes of %d; the table has all.</p>"
                         % (MAX_CHANGES_CHARTED, len(changed)))
        parts.append(page.img("changes and their intervals", chart_changes(rows, noise)))
    parts.append("<h2>Every benchmark</h2>")
    parts.append(page.table(
        ["benchmark", "old ns", "new ns", "change", "95% interval", "CPU change", "p",
         "outliers", "verdict"],
        [[r["name"], compare._ns(r["old_median_ns"]), compare._ns(r["new_median_ns"]),
          compare._pct(r["change"]),
          ("[%s, %s]" % (compare._pct(r["change_ci_low"]), compare._pct(r["change_ci_high"]))
           if r.get("change_ci_low") is not None else "-"),
          compare._pct(r.get("cpu_change")),
          "%.4f" % r["p_value"] if r["p_value"] is not None else "-",
          str(sum(r.get("old_outliers", {}).values()) + sum(r.get("new_outliers", {}).values())),
          r["verdict"]] for r in rows],
        [_verdict_class(r) for r in rows]))
    dists = _distributions(rows, base_runs, new_runs, titles)
    if dists:
        parts.append("<h2>Latency distributions, both runs overlaid</h2>")
        parts.append("<p>Every request of every repetition (HdrHistogram's percentile "
                     "plot); the %d benchmarks with histograms and the largest changes.</p>"
                     % len(dists))
        parts.append("<div class='grid'>" + "".join(
            "<figure>%s<figcaption>%s</figcaption></figure>" % (page.img(name, png), e(name))
            for name, png in dists) + "</div>")
    counters = [[r["name"], k, "%.4g" % c["old"], "%.4g" % c["new"], compare._pct(c["change"]),
                 "higher" if c["higher_is_better"] else "lower"]
                for r in rows for k, c in sorted(r.get("counters", {}).items())
                if k in compare.DEFAULT_COUNTERS]
    if counters:
        parts.append("<h2>User counters</h2>")
        parts.append(page.table(["benchmark", "counter", "old", "new", "change", "better"],
                                counters))
    if fits:
        parts.append("<h2>Complexity fits</h2>")
        parts.append(page.table(
            ["benchmark", "old order", "new order", "old coefficient ns",
             "new coefficient ns", "change", "verdict"],
            [[f["name"], f["old_big_o"], f["new_big_o"], "%.4g" % f["old_coefficient_ns"],
              "%.4g" % f["new_coefficient_ns"], compare._pct(f["change"]), f["verdict"]]
             for f in fits]))
    keys = [k for k in compare.CONTEXT_KEYS if k in base_ctx or k in new_ctx]
    parts.append("<h2>Contexts</h2>")
    parts.append(page.table(["", "base", "new"],
                            [[k, str(base_ctx.get(k, "-")), str(new_ctx.get(k, "-"))]
                             for k in keys],
                            ["differs" if base_ctx.get(k) != new_ctx.get(k) else ""
                             for k in keys]))
    return page.html("ioreq-harness comparison", parts)
