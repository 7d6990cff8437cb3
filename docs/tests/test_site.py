"""The built site in a real browser: Debian's Chromium, headless, via selenium.

`make docs-test` runs this after `make docs`; it is not part of `make test`
(the suite's `testpaths` is `tests/`). It serves ``docs/_build/html`` on
localhost, opens the home page, one API page and one lesson page, and checks
that each renders (a title, an article with text, the navigation), that every
image has loaded (``naturalWidth > 0``), that the maths is typeset by the
local MathJax, that every link to another page of the site points at a file
that exists, and that the browser's console shows no error (a missing file,
a blocked request to the network, a script error).

Selenium drives Chromium through chromedriver, and Debian ships the two as a
matched pair (``apt-get install chromium chromium-driver``); nothing is
downloaded. Set ``DOCS_SCREENSHOTS=DIR`` to save a PNG of each page.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import shutil
import tempfile
import threading
import urllib.parse

import pytest

SITE = pathlib.Path(
    os.environ.get(
        "DOCS_HTML", pathlib.Path(__file__).resolve().parents[1] / "_build" / "html"
    )
)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

# (page, text its article must contain, whether it must show typeset maths)
PAGES = [
    ("index.html", "GradientTransformation", True),
    ("api/optimizers.html", "scale_by_adam", False),
    ("lessons/02_momentum.html", "momentum", False),
    ("lessons/08_beyond_adam.html", "schedule-free", False),
    ("claims/quasi_newton.html", "L-BFGS", False),
]

# Chromium without a network, a profile or background services.
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]


def _have_browser() -> bool:
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


pytestmark = pytest.mark.skipif(
    not _have_browser(),
    reason=f"no Chromium: {CHROMIUM} and {CHROMEDRIVER} are needed "
    "(apt-get install -y chromium chromium-driver)",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make docs` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager: no downloads
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="docs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition: str, timeout: float = 30.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition))


IMAGES_DONE = """
return Array.from(document.images).every(img => img.complete);
"""

BROKEN_IMAGES = """
return Array.from(document.images)
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => img.currentSrc || img.src);
"""

MATH_DONE = """
return !window.MathJax || !MathJax.startup || !MathJax.startup.promise
  || document.querySelectorAll('mjx-container').length > 0;
"""


@pytest.mark.parametrize("page, text, maths", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(server, browser, page, text, maths):
    browser.get_log("browser")  # drop what earlier pages left
    browser.get(f"{server}/{page}")
    _wait(browser, "return document.readyState === 'complete';")
    # Lazy images load only when scrolled to: bring each one into view.
    browser.execute_script(
        "document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; "
        "i.scrollIntoView(); });"
    )
    _wait(browser, IMAGES_DONE)
    if maths:
        _wait(browser, MATH_DONE)
    browser.execute_script("window.scrollTo(0, 0);")

    shots = os.environ.get("DOCS_SCREENSHOTS")
    if shots:
        pathlib.Path(shots).mkdir(parents=True, exist_ok=True)
        name = page.replace("/", "_").replace(".html", ".png")
        browser.save_screenshot(str(pathlib.Path(shots) / name))

    # It rendered: a title, an article with the expected text, the navigation.
    assert browser.title.strip(), f"{page}: no title"
    article = browser.execute_script(
        "const a = document.querySelector('article'); return a ? a.innerText : '';"
    )
    assert len(article) > 200, f"{page}: the article is (nearly) empty"
    assert text in article, f"{page}: the article does not mention {text!r}"
    nav = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.href);"
    )
    for section in ("lessons/index.html", "claims/index.html", "api/index.html"):
        assert any(href.split("#")[0].endswith(section) for href in nav), (
            f"{page}: the navigation has no link to {section}"
        )

    # Every image loaded.
    assert browser.execute_script("return document.images.length;") >= (
        1 if "lessons/" in page else 0
    ), f"{page}: a lesson page without a single plot"
    broken = browser.execute_script(BROKEN_IMAGES)
    assert not broken, f"{page}: images that did not load: {broken}"

    # The maths is typeset (MathJax is served from _static, no network).
    if maths:
        typeset = browser.execute_script(
            "return document.querySelectorAll('mjx-container').length;"
        )
        assert typeset > 0, f"{page}: MathJax typeset nothing"
        assert "\\frac" not in article, f"{page}: raw LaTeX left in the page"

    # Every link to another page of the site resolves to a file.
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"
    )
    missing = []
    for href in links:
        url = urllib.parse.urlsplit(href)
        if not href.startswith(server) or not url.path.endswith(".html"):
            continue
        if not (SITE / urllib.parse.unquote(url.path).lstrip("/")).exists():
            missing.append(href)
    assert not missing, f"{page}: links to pages that do not exist: {missing}"

    # The console shows no errors.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors: {errors}"
