"""Open a page in a real headless Chromium and report what it loaded.

The page is copied with a small checking script put first in its head (the
page itself has no script): it records load errors of any element and
console errors, and once the page has loaded, how many images there are,
how many decoded, and which resources were fetched. Chromium prints the
resulting DOM (``--dump-dom``), from which the record is read back.

Without Chromium the caller skips — except in CI (CI=true), where a missing
browser fails the test: ``.ci/run`` installs Debian's ``chromium``.

``playwright_chromium()`` drives that same Chromium with Playwright for Python
(the ``[test]`` extra pins it to the release that bundles the same Chromium
major version); Playwright never downloads a browser here. Without Playwright
the caller skips, except in CI, where it fails.
"""

import contextlib
import html
import json
import os
import re
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) {
  var t = e.target || {};
  window.__problems.push("error: " + (e.message || t.src || t.href || t.tagName));
}, true);
var _err = console.error;
console.error = function () {
  window.__problems.push("console.error: " + Array.prototype.join.call(arguments, " "));
  _err.apply(console, arguments);
};
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var r = {images: imgs.length,
           decoded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
           sizes: imgs.map(function (i) { return [i.naturalWidth, i.naturalHeight]; }),
           fetched: performance.getEntriesByType("resource").map(function (e) { return e.name; }),
           problems: window.__problems,
           text: document.body.innerText.length};
  var pre = document.createElement("pre");
  pre.id = "browser-check";
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail("CI=true but no Chromium is installed: .ci/run must install Debian's chromium")
    pytest.skip("no Chromium on this machine (the browser check runs in CI)")


@contextlib.contextmanager
def playwright_chromium():
    """The machine's Chromium, headless, driven by Playwright: ``with playwright_chromium() as b:``."""
    exe = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but Playwright is not installed: pip install -e '.[test]'")
        pytest.skip("Playwright for Python is not installed (pip install -e '.[test]'); the browser test runs in CI")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True,
                                     args=[f for f in _flags() if f != "--headless"])
        try:
            yield browser
        finally:
            browser.close()


def _flags():
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", "--hide-scrollbars"]


def open_page(page, workdir) -> dict:
    """Load ``page`` (an HTML file) in headless Chromium; return the probe's record."""
    exe = chromium()
    with open(page, encoding="utf-8") as f:
        text = f.read()
    probed = os.path.join(workdir, "probed.html")
    with open(probed, "w", encoding="utf-8") as f:
        f.write(text.replace("<head>", "<head>" + _PROBE, 1))
    r = subprocess.run([exe, *_flags(), "--virtual-time-budget=10000", "--dump-dom",
                        "file://" + os.path.abspath(probed)],
                       capture_output=True, text=True, timeout=120, check=False)
    m = re.search(r'<pre id="browser-check">(.*?)</pre>', r.stdout, re.DOTALL)
    assert m, f"Chromium did not load the page (exit {r.returncode}): {r.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))
