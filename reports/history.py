#!/usr/bin/python3
"""Results over time: every main-job run kept in SQLite, and its trend.

usage:
  history.py store RUN.json [RUN.json ...] [--db=PATH]
  history.py trend [--db=PATH] [--filter=REGEX] [--metric=NAME] [--out=DIR]
                   [--fail-on-regression]

`store` keeps a Google Benchmark run whole: its commit, machine fingerprint
(and the fields it is made of), time, context, and per benchmark the
median (real time and CPU time) with its 95% bootstrap interval, the
medians of its user counters, and the merged latency histogram. One
transaction per run: a run is stored whole or not at all; a run already
stored (the same file content) is not stored twice. `//reports:main`
stores each of its runs.

`trend` draws, per chosen benchmark, its median over the stored runs (one
line per machine, each point with its interval) and the stored latency
distributions of the newest runs overlaid, into OUT/trend.html (one
self-contained page) and OUT/trend.md, and judges the newest run of each
machine against that machine's earlier runs: the history's band is the
earlier medians' median ± max(3 × 1.4826 × MAD, the earlier runs' mean
interval half-width), taken on the logarithms (a robust ±3σ in ratio,
never narrower than one run's own uncertainty, never below zero); a newest median above the band is a regression (below it
for a rate, a counter named *_per_s), and fewer than MIN_HISTORY earlier
runs is said plainly, never judged.

The database is `reports/out/history.sqlite` unless --db says otherwise.
A file that is not SQLite, an SQLite file that is not this project's
history, or one of another schema version is one line on stderr and exit
2; so are bad flags and a run file that is not Google Benchmark output.

Exit codes: 0 done; 1 a regression with --fail-on-regression; 2 bad
arguments, database or input.

Example:
    history.py store reports/out/bench-20261126-120551.json
    history.py trend --filter='RoundTrip/strategy:futex' --out=reports/out
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import re
import sqlite3
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbench  # noqa: E402
import histogram  # noqa: E402
import stats  # noqa: E402

SCHEMA_VERSION = 1
MIN_HISTORY = 3  # earlier runs on a machine before its newest is judged
MAX_CHARTS = 24
MACHINE_FIELDS = ["cpu_model", "cpus_online", "cpus_usable", "memory", "kernel",
                  "hypervisor", "kvm", "mitigations", "governor"]
SCHEMA = """
CREATE TABLE ioreq_history (schema_version INTEGER NOT NULL);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  commit_id TEXT NOT NULL,
  machine TEXT NOT NULL,          -- the machine fingerprint
  machine_fields TEXT NOT NULL,   -- JSON: the fields it is made of
  time TEXT NOT NULL,             -- ISO 8601, the run's date
  source TEXT NOT NULL,           -- the file it was stored from
  content_sha256 TEXT NOT NULL UNIQUE,
  context TEXT NOT NULL           -- JSON: the run's whole context
);
CREATE TABLE estimates (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  family TEXT NOT NULL,
  repetitions INTEGER NOT NULL,
  median_ns REAL,
  ci_low_ns REAL,
  ci_high_ns REAL,
  cpu_median_ns REAL,
  counters TEXT NOT NULL,         -- JSON: {counter: [median, low, high]}
  histogram TEXT,                 -- lh1 text of every repetition merged
  PRIMARY KEY (run_id, name)
);
"""


class HistoryError(Exception):
    """A database, flag or file this tool cannot use; one line."""


# ------------------------------------------------------------- database

def open_db(path, create):
    """A connection to the history at `path`, created when `create` and the
    file is missing or empty; raises HistoryError."""
    if os.path.exists(path) and not os.path.isfile(path):
        raise HistoryError("--db=%s: not a regular file" % path)
    missing = not os.path.exists(path) or os.path.getsize(path) == 0
    if missing and not create:
        raise HistoryError("--db=%s: no history there (reports:main stores one per run)" % path)
    if missing and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise HistoryError("--db=%s: its folder does not exist" % path)
    try:
        con = sqlite3.connect(path)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise HistoryError("--db=%s: not an SQLite database (%s)" % (path, e))
    if not tables:
        with con:
            con.executescript(SCHEMA)
            con.execute("INSERT INTO ioreq_history VALUES (?)", (SCHEMA_VERSION,))
        return con
    if "ioreq_history" not in tables:
        con.close()
        raise HistoryError("--db=%s: an SQLite database, but not this project's history "
                           "(no ioreq_history table)" % path)
    try:
        version = con.execute("SELECT schema_version FROM ioreq_history").fetchone()
    except sqlite3.DatabaseError as e:
        raise HistoryError("--db=%s: a damaged history (%s)" % (path, e))
    if version is None or version[0] != SCHEMA_VERSION:
        con.close()
        raise HistoryError("--db=%s: history schema version %s; this tool reads %d"
                           % (path, version[0] if version else "none", SCHEMA_VERSION))
    return con


# ---------------------------------------------------------------- store

def _estimate(values):
    """(median, low, high) of repetitions; no interval for one."""
    if not values:
        return None, None, None
    if len(values) == 1:
        return values[0], None, None
    low, high = stats.bootstrap_median_ci(values)
    return statistics.median(values), low, high


def estimates_of(runs):
    """One row per benchmark with an estimate (errors and complexity fits
    alone have none)."""
    rows = []
    for name, b in sorted(runs.items()):
        median, low, high = _estimate(b.samples)
        if median is None:
            median = b.median()
            if median is None:
                continue
        counters = {k: list(_estimate(b.values(k))) for k in b.counter_names()}
        counters = {k: v if v[0] is not None else [b.median(k), None, None]
                    for k, v in counters.items()}
        h = histogram.merged(b.labels)
        rows.append((name, b.family, len(b.samples), median, low, high, b.median("cpu_time"),
                     json.dumps(counters), histogram.encode(h) if h else None))
    return rows


def _insert_estimates(con, run_id, rows):
    con.executemany("INSERT INTO estimates VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(run_id,) + r for r in rows])


def store(con, path):
    """Stores the run in `path` in one transaction; returns its id, or None
    when that content is stored already. Raises gbench.InputError."""
    ctx, runs = gbench.load(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if con.execute("SELECT 1 FROM runs WHERE content_sha256=?", (digest,)).fetchone():
        return None
    fields = {k: ctx.get(k) for k in MACHINE_FIELDS}
    machine = str(ctx.get("machine_fingerprint") or "unfingerprinted")
    when = str(ctx.get("date") or datetime.datetime.fromtimestamp(
        os.path.getmtime(path), datetime.timezone.utc).isoformat(timespec="seconds"))
    rows = estimates_of(runs)
    with con:  # one transaction: the run and all its estimates, or nothing
        cur = con.execute(
            "INSERT INTO runs (commit_id, machine, machine_fields, time, source, "
            "content_sha256, context) VALUES (?,?,?,?,?,?,?)",
            (str(ctx.get("commit") or "unknown"), machine, json.dumps(fields), when,
             os.path.abspath(path), digest, json.dumps(ctx)))
        _insert_estimates(con, cur.lastrowid, rows)
    return cur.lastrowid


# ---------------------------------------------------------------- trend

def band(earlier):
    """The history's band from earlier points [(median, low, high)]:
    (center, lower, upper), or None with fewer than MIN_HISTORY points.
    Latencies and rates vary by factors, so the band is taken on their
    logarithms (always positive, as wide below as above in ratio); a
    history holding a value <= 0 is taken as it is."""
    if len(earlier) < MIN_HISTORY:
        return None
    positive = all(m > 0 and (lo is None or lo > 0) for m, lo, _ in earlier)
    f, inverse = (math.log, math.exp) if positive else (float, float)
    medians = [f(m) for m, _, _ in earlier]
    center = statistics.median(medians)
    mad = statistics.median(abs(m - center) for m in medians)
    halves = [(f(h) - f(lo)) / 2 for _, lo, h in earlier if lo is not None and h is not None]
    width = max(3 * 1.4826 * mad, statistics.mean(halves) if halves else 0.0)
    return inverse(center), inverse(center - width), inverse(center + width)


def judge(points, higher_is_better):
    """Verdict of the newest of `points` [(median, low, high)] against
    the ones before it: (verdict, band)."""
    b = band(points[:-1])
    if b is None:
        return ("%d earlier run(s); %d needed to judge" % (len(points) - 1, MIN_HISTORY), None)
    newest = points[-1][0]
    worse = newest < b[1] if higher_is_better else newest > b[2]
    better = newest > b[2] if higher_is_better else newest < b[1]
    return ("regression" if worse else "improvement" if better else "within the band"), b


def series(con, pattern, metric):
    """{benchmark: {machine: [(time, commit, median, low, high,
    histogram text or None)]}} in time order, for the benchmarks `pattern`
    matches."""
    rx = re.compile(pattern)
    out = {}
    query = ("SELECT e.name, r.machine, r.time, r.commit_id, e.median_ns, e.ci_low_ns, "
             "e.ci_high_ns, e.counters, e.histogram FROM estimates e "
             "JOIN runs r ON r.id = e.run_id "
             "ORDER BY r.time, r.id")
    for name, machine, when, commit, median, low, high, counters, hist in con.execute(query):
        if not rx.search(name):
            continue
        if metric != "real_time":
            value = json.loads(counters).get(metric)
            if not value or value[0] is None:
                continue
            median, low, high = value
        out.setdefault(name, {}).setdefault(machine, []).append(
            (when, commit, median, low, high, hist))
    return out


def verdicts(data, metric):
    higher = metric.endswith("_per_s")
    rows = []
    for name in sorted(data):
        for machine, pts in sorted(data[name].items()):
            verdict, b = judge([p[2:5] for p in pts], higher)
            rows.append({"name": name, "machine": machine, "runs": len(pts),
                         "newest": pts[-1][2], "commit": pts[-1][1], "band": b,
                         "verdict": verdict})
    return rows


def chart(name, machines, verdict_rows, metric):
    import matplotlib.pyplot as plt
    import page
    scale, unit = (1e3, "µs") if metric == "real_time" or metric.endswith("_ns") else (1, "")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    # One x axis for every machine: the runs in time order.
    order = sorted({(p[0], p[1]) for pts in machines.values() for p in pts})
    x_of = {run: i for i, run in enumerate(order)}
    for machine, pts in sorted(machines.items()):
        xs = [x_of[(p[0], p[1])] for p in pts]
        ys = [p[2] / scale for p in pts]
        lows = [(p[2] - p[3]) / scale if p[3] is not None else 0 for p in pts]
        highs = [(p[4] - p[2]) / scale if p[4] is not None else 0 for p in pts]
        ax.errorbar(xs, ys, yerr=[lows, highs], marker="o", markersize=3, capsize=2,
                    linewidth=1, label="machine %s" % machine[:8])
        row = [r for r in verdict_rows if r["name"] == name and r["machine"] == machine][0]
        if row["band"]:
            _, lo, hi = row["band"]
            ax.fill_between([xs[0], xs[-1]], lo / scale, hi / scale, color="#cccccc",
                            alpha=0.4, zorder=0)
            if row["verdict"] in ("regression", "improvement"):
                ax.plot([xs[-1]], [ys[-1]], "o", markersize=9, fillstyle="none",
                        color="#c0392b" if row["verdict"] == "regression" else "#27ae60")
    ax.set_xticks(list(range(len(order))))
    ax.set_xticklabels([commit[:7] for _, commit in order], fontsize=6, rotation=45)
    ax.set_ylabel("%s%s" % ("median " if metric == "real_time" else metric + " ",
                            "(%s)" % unit if unit else ""))
    ax.set_xlabel("run (commit), oldest first")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    return page.figure_png(fig)


DISTRIBUTION_RUNS = 4


def chart_distributions(machines):
    """The stored latency histograms of the newest DISTRIBUTION_RUNS runs
    of the machine with the newest run, overlaid (newest solid); None when
    fewer than one run kept a histogram."""
    import page
    newest = max(machines.items(), key=lambda kv: kv[1][-1][0])[1]
    series = []
    for when, commit, _, _, _, text in newest[-DISTRIBUTION_RUNS:]:
        h = histogram.decode(text) if text else None
        if h and h.count:
            series.append((h, "%s %s" % (commit[:7], when[:16])))
    if not series:
        return None
    styles = [":", "-.", "--", "-"][-len(series):]
    return page.chart_distribution([(label, h, style) for (h, label), style
                                    in zip(series, styles)], size=(6, 3.2))


def write_trend(con, pattern, metric, out_dir):
    """Writes trend.html and trend.md; returns the verdict rows."""
    import page
    data = series(con, pattern, metric)
    if not data:
        raise HistoryError("--filter=%s: no stored benchmark matches (metric %s)"
                           % (pattern, metric))
    rows = verdicts(data, metric)
    names = sorted(data, key=lambda n: (not any(r["name"] == n and r["verdict"] ==
                                                "regression" for r in rows), n))[:MAX_CHARTS]
    runs, machines = con.execute("SELECT COUNT(*), COUNT(DISTINCT machine) FROM runs").fetchone()
    method = ("band: the earlier runs' median ± max(3 × 1.4826 × MAD, their mean interval "
              "half-width), on the logarithms; judged from %d earlier runs on the same "
              "machine" % MIN_HISTORY)
    table_rows = [[r["name"], r["machine"][:16], str(r["runs"]), r["commit"][:10],
                   "%.4g" % r["newest"],
                   "[%.4g, %.4g]" % r["band"][1:] if r["band"] else "-", r["verdict"]]
                  for r in rows]
    head = ["benchmark", "machine", "runs", "newest commit", "newest " + metric, "band",
            "verdict"]
    regressions = [r for r in rows if r["verdict"] == "regression"]
    parts = ["<p>%d runs on %d machine(s); %d benchmark(s) match <code>%s</code>, metric %s. "
             "%s.</p>" % (runs, machines, len(data), page.escape(pattern), page.escape(metric),
                          page.escape(method))]
    if regressions:
        parts.append("<p class='flag'>Regression: %s</p>" % page.escape(
            ", ".join("%s (machine %s)" % (r["name"], r["machine"][:8]) for r in regressions)))
    parts.append("<h2>Verdicts</h2>")
    parts.append(page.table(head, table_rows,
                            ["regression" if r["verdict"] == "regression" else
                             "improvement" if r["verdict"] == "improvement" else ""
                             for r in rows]))
    parts.append("<h2>Trends</h2>")
    if len(data) > MAX_CHARTS:
        parts.append("<p>The first %d of %d (regressions first); narrow --filter for "
                     "the others.</p>" % (MAX_CHARTS, len(data)))
    pngs = {}
    figures = []
    for i, name in enumerate(names):
        pngs["trend-%02d.png" % i] = chart(name, data[name], rows, metric)
        figures.append("<figure>%s<figcaption>%s</figcaption></figure>"
                       % (page.img(name, pngs["trend-%02d.png" % i]), page.escape(name)))
        dist = chart_distributions(data[name])
        if dist:
            pngs["trend-%02d-distribution.png" % i] = dist
            figures.append("<figure>%s<figcaption>%s: latency distribution of the newest "
                           "runs</figcaption></figure>"
                           % (page.img(name + " distribution", dist), page.escape(name)))
    parts.append("<div class='grid'>%s</div>" % "".join(figures))
    md = ["# ioreq-harness results over time", "",
          "%d runs on %d machine(s), metric %s; %s." % (runs, machines, metric, method), "",
          "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in table_rows]
    md += [""] + ["![%s](%s)" % (name, png_name) for i, name in enumerate(names)
                  for png_name in ("trend-%02d.png" % i, "trend-%02d-distribution.png" % i)
                  if png_name in pngs]
    files = {"trend.html": page.html("ioreq-harness results over time", parts).encode(),
             "trend.md": ("\n".join(md) + "\n").encode()}
    files.update(pngs)
    import report
    report.write_all(out_dir, files)
    for stale in os.listdir(out_dir):  # charts of an earlier, wider trend
        if re.fullmatch(r"trend-\d+(-distribution)?\.png", stale) and stale not in files:
            os.unlink(os.path.join(out_dir, stale))
    return rows


# ------------------------------------------------------------ commands

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise HistoryError(message)


def default_db():
    ws = os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(ws, "reports", "out", "history.sqlite")


def main(argv):
    p = _Parser(prog="history", description="benchmark results over time")
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("store", help="store runs")
    s.add_argument("runs", nargs="+")
    t = sub.add_parser("trend", help="draw the trend and judge the newest runs")
    t.add_argument("--filter", default="RoundTrip/.*completion:notify/min_time",
                   help="regex over benchmark names")
    t.add_argument("--metric", default="real_time",
                   help="real_time or a user counter (p50_ns, requests_per_s, ...)")
    t.add_argument("--out", help="folder for trend.html and trend.md (default: beside --db)")
    t.add_argument("--fail-on-regression", action="store_true")
    for q in (s, t):
        q.error = p.error
        q.add_argument("--db", default=None, help="the SQLite history (default "
                                                  "reports/out/history.sqlite)")
    try:
        args = p.parse_args(argv)
        if args.command is None:
            raise HistoryError("a command: store RUN.json... or trend")
        db = args.db or default_db()
        if args.command == "store":
            con = open_db(db, create=True)
            for path in args.runs:
                try:
                    run_id = store(con, path)
                except gbench.InputError as e:
                    raise HistoryError(str(e))
                print("history: %s %s" % (path, "stored as run %d" % run_id if run_id
                                          else "is stored already"))
            return 0
        try:
            re.compile(args.filter)
        except re.error as e:
            raise HistoryError("--filter=%s: not a regular expression (%s)" % (args.filter, e))
        if not re.fullmatch(r"[A-Za-z0-9_]+", args.metric):
            raise HistoryError("--metric=%s: accepts real_time or a counter name" % args.metric)
        out = args.out or os.path.dirname(os.path.abspath(db))
        if not os.path.isdir(out) and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
            raise HistoryError("--out=%s: neither it nor its parent is a folder" % out)
        con = open_db(db, create=False)
        rows = write_trend(con, args.filter, args.metric, out)
    except HistoryError as e:
        print("history: %s" % e, file=sys.stderr)
        return 2
    flagged = [r for r in rows if r["verdict"] in ("regression", "improvement")]
    for r in flagged:
        print("history: %s: %s on machine %s (newest %.4g, band [%.4g, %.4g])"
              % (r["verdict"], r["name"], r["machine"][:16], r["newest"], r["band"][1],
                 r["band"][2]))
    print("history: %d benchmark(s) judged, %d regression(s); %s"
          % (len(rows), sum(r["verdict"] == "regression" for r in rows),
             os.path.join(out, "trend.html")))
    regressed = any(r["verdict"] == "regression" for r in rows)
    return 1 if regressed and args.fail_on_regression else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
