#!/usr/bin/python3
"""Looking at a page the way a reader does: headless Chromium renders it,
and what rendered is checked.

check(page) loads a copy of `page` with a probe (a script that records
script errors, console errors and resources that failed to load, and
every image's decoded size and place), takes a screenshot of the whole
page, and returns what it found: a page passes when there is no error, no
broken image, and every image's region of the screenshot has ink (not a
blank or one-colour rectangle). The page itself holds no script; only the
copy does.

usage: browser.py PAGE.html [--screenshot=OUT.png] [--height=PIXELS]
  exit 0 the page rendered whole; 1 it did not (each problem a line);
  2 bad arguments, or no Chromium (./setup.sh installs Debian's).

Example:
    result = browser.check("reports/out/report.html", "/tmp/shot.png")
    assert not result.problems, result.problems
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHROMIUM = ["chromium", "chromium-browser", "google-chrome"]
WIDTH = 1280
MAX_HEIGHT = 30000
# A rendered chart: at least this share of its pixels differ from its most
# common colour (the background).
MIN_INK = 0.01

PROBE = """<script>
window.__problems = [];
addEventListener('error', function (e) {
  var t = e.target;
  __problems.push(t && t !== window && (t.src || t.href)
      ? 'failed to load: ' + String(t.src || t.href).slice(0, 80)
      : 'script error: ' + e.message);
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    __problems.push('console error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (i) {
    var r = i.getBoundingClientRect();
    return {alt: i.alt, complete: i.complete, natural: [i.naturalWidth, i.naturalHeight],
            box: [r.left + scrollX, r.top + scrollY, r.width, r.height]};
  });
  var pre = document.createElement('pre');
  pre.id = 'ioreq-probe';
  pre.style.display = 'none';
  pre.textContent = JSON.stringify({problems: __problems, images: images,
                                    height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script>"""


class BrowserError(Exception):
    """No browser, or it did not answer."""


class Result:
    def __init__(self):
        self.problems = []   # one line each
        self.images = []     # what the probe saw
        self.height = 0


def find_chromium():
    for name in CHROMIUM:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("no Chromium found (%s); ./setup.sh installs Debian's chromium"
                       % ", ".join(CHROMIUM))


def _run(chromium, profile, args, timeout=120):
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1",
           "--user-data-dir=" + profile] + args
    env = dict(os.environ, HOME=profile)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BrowserError("Chromium did not finish within %d s" % timeout)


def _probe(dom):
    m = re.search(r'<pre id="ioreq-probe"[^>]*>(.*?)</pre>', dom, re.S)
    if not m:
        return None
    return json.loads(html.unescape(m.group(1)))


def ink(pixels, box):
    """The share of the pixels in `box` (x, y, w, h) that differ from the
    region's most common colour."""
    import numpy as np
    x, y, w, h = (int(round(v)) for v in box)
    region = pixels[max(y, 0):y + h, max(x, 0):x + w, :3]
    if region.size == 0:
        return 0.0
    if region.dtype != np.uint8:
        region = (region * 255).astype(np.uint8)
    packed = (region[..., 0].astype(np.int32) << 16 | region[..., 1].astype(np.int32) << 8
              | region[..., 2]).ravel()
    _, counts = np.unique(packed, return_counts=True)
    return 1.0 - counts.max() / float(len(packed))


def check(page, screenshot=None, height=None):
    """Renders `page` and returns a Result; the screenshot (the whole page,
    or its first `height` pixels) is written to `screenshot` if given."""
    chromium = find_chromium()
    work = tempfile.mkdtemp(prefix="ioreq-browser-")
    try:
        with open(page, encoding="utf-8") as f:
            text = f.read()
        probed = os.path.join(work, "page.html")
        with open(probed, "w", encoding="utf-8") as f:
            # The probe first, so it hears every error of what follows.
            f.write(re.sub(r"(<head[^>]*>)", r"\1" + PROBE.replace("\\", "\\\\"), text,
                           count=1) if "<head" in text else PROBE + text)
        url = "file://" + probed
        result = Result()
        proc = _run(chromium, os.path.join(work, "profile"),
                    ["--virtual-time-budget=10000", "--window-size=%d,1000" % WIDTH,
                     "--dump-dom", url])
        data = _probe(proc.stdout)
        if data is None:
            raise BrowserError("Chromium rendered no page (exit %d): %s"
                               % (proc.returncode, proc.stderr.strip()[-200:]))
        result.problems += data["problems"]
        result.images = data["images"]
        result.height = data["height"]
        shot = screenshot or os.path.join(work, "shot.png")
        tall = min(height or result.height, MAX_HEIGHT)
        proc = _run(chromium, os.path.join(work, "profile"),
                    ["--virtual-time-budget=10000", "--screenshot=" + shot,
                     "--window-size=%d,%d" % (WIDTH, tall), url])
        if not os.path.exists(shot):
            raise BrowserError("Chromium wrote no screenshot (exit %d): %s"
                               % (proc.returncode, proc.stderr.strip()[-200:]))
        import matplotlib.image
        pixels = matplotlib.image.imread(shot)
        if ink(pixels, (0, 0, pixels.shape[1], pixels.shape[0])) == 0:
            result.problems.append("the page rendered blank")
        for i in result.images:
            name = i["alt"][:60] or "an image"
            if not i["complete"] or i["natural"][0] == 0:
                result.problems.append("broken image: %s" % name)
                continue
            x, y, w, h = i["box"]
            if w < 50 or h < 50:
                result.problems.append("image %s is drawn %dx%d px" % (name, w, h))
                continue
            if y + h > tall:
                continue  # below the screenshot asked for
            share = ink(pixels, i["box"])
            if share < MIN_INK:
                result.problems.append("image %s rendered blank (%.2f%% ink)"
                                       % (name, 100 * share))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    page, screenshot, height = None, None, None
    for a in argv:
        if a.startswith("--screenshot="):
            screenshot = a.split("=", 1)[1]
        elif a.startswith("--height="):
            try:
                height = int(a.split("=", 1)[1])
                if not 100 <= height <= MAX_HEIGHT:
                    raise ValueError
            except ValueError:
                print("browser: --height=%s: accepts 100 to %d pixels"
                      % (a.split("=", 1)[1], MAX_HEIGHT), file=sys.stderr)
                return 2
        elif page is None and not a.startswith("--"):
            page = a
        else:
            print("browser: usage: browser.py PAGE.html [--screenshot=OUT.png] "
                  "[--height=PIXELS]", file=sys.stderr)
            return 2
    if page is None or not os.path.isfile(page):
        print("browser: %s: no such page" % page, file=sys.stderr)
        return 2
    try:
        result = check(page, screenshot, height)
    except BrowserError as e:
        print("browser: %s" % e, file=sys.stderr)
        return 2
    for p in result.problems:
        print("browser: %s: %s" % (page, p))
    print("browser: %s: %d images, %d px tall, %s" % (
        page, len(result.images), result.height,
        "rendered whole" if not result.problems else "%d problem(s)" % len(result.problems)))
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
