"""What every page of reports/ is made of: matplotlib figures as PNG bytes,
the HdrHistogram percentile-distribution chart, and self-contained HTML
(one file, charts embedded as data URIs, no script, no external resource).

Example:
    fig, ax = plt.subplots()
    ...
    png = page.figure_png(fig)
    text = page.html("Title", ["<h2>A chart</h2>", page.img("A chart", png),
                               page.table(["name", "µs"], [["futex", "2.1"]])])
"""
import base64
import html as _html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
         ".wide{overflow-x:auto}table{border-collapse:collapse;margin:1em 0;font-size:12px}"
         "td{white-space:nowrap}td small{color:#666}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
         "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
         "img{max-width:100%}.verdict li{margin:.3em 0}"
         "tr.regression td{background:#fde0dc}tr.improvement td{background:#dff3e0}"
         "tr.differs td{background:#fff3cd}.warning{background:#fff3cd;padding:.5em 1em;"
         "border-left:4px solid #e0a800}.flag{color:#b00020;font-weight:bold}"
         ".grid{display:flex;flex-wrap:wrap;gap:8px}.grid figure{margin:0;width:540px}"
         "figcaption{font-size:12px;word-break:break-all}")


def figure_png(fig):
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def escape(text):
    return _html.escape(str(text))


def _cell(text):
    """A cell; an estimate written "value [low, high]" shows its interval
    small, under the value."""
    text = str(text)
    if text.endswith("]") and " [" in text:
        value, interval = text.split(" [", 1)
        return "%s<br><small>[%s</small>" % (escape(value), escape(interval))
    return escape(text)


def table(head, rows, row_classes=None):
    """An HTML table, scrolling sideways when wider than the page;
    row_classes[i] (optional) styles row i."""
    row_classes = row_classes or [""] * len(rows)
    return ("<div class='wide'><table><tr>" +
            "".join("<th>%s</th>" % escape(h) for h in head) + "</tr>" +
            "".join("<tr%s>" % (" class='%s'" % c if c else "") +
                    "".join("<td>%s</td>" % _cell(x) for x in r) + "</tr>"
                    for r, c in zip(rows, row_classes)) + "</table></div>")


def img(alt, png):
    return "<img alt='%s' src='data:image/png;base64,%s'>" % (
        escape(alt), base64.b64encode(png).decode())


def html(title, body_parts):
    return "\n".join(["<!doctype html><html><head><meta charset='utf-8'>",
                      "<title>%s</title><style>%s</style></head><body>" % (escape(title), STYLE),
                      "<h1>%s</h1>" % escape(title)] + list(body_parts) + ["</body></html>"])


PERCENTILE_TICKS = [50, 90, 99, 99.9, 99.99, 99.999]


def chart_distribution(series, size=(9, 4.5)):
    """HdrHistogram's picture: latency against percentile on a 1/(1 - p)
    axis, one line per (label, histogram.Histogram, matplotlib style)."""
    fig, ax = plt.subplots(figsize=size)
    top = 0
    for label, h, style in series:
        pts = [(p, v) for p, v in h.distribution() if p < 100]
        xs = [1 / (1 - p / 100) for p, _ in pts] + [1 / (1 - 99.9999 / 100)]
        ys = [v / 1e3 for _, v in pts] + [h.max / 1e3]
        top = max(top, xs[-1])
        ax.plot(xs, ys, style, label=label, linewidth=1.2, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1 / (1 - p / 100) for p in PERCENTILE_TICKS] + [top])
    ax.set_xticklabels(["%g%%" % p for p in PERCENTILE_TICKS] + ["max"], fontsize=7)
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (µs, log)")
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    return figure_png(fig)
