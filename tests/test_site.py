"""The documentation site: built strictly, then every page loaded in a real headless Chromium.

Runs when mkdocs (the ``docs`` extra), Playwright's Python package and a Chromium executable are
present (Debian's ``chromium``; or set ``FASTINIT_CHROMIUM``); skips otherwise.  A page fails on a
console error, an uncaught exception, a failed or non-local request, an HTTP error, or an image that
did not load.  Screenshots of the home, API and diagnostics pages go to ``FASTINIT_SITE_SCREENSHOTS``
(``nox -s docs`` sets it) or to pytest's temporary directory.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.site

# Chromium as root in a container, on a machine whose network is closed: no sandbox, no GPU, and
# none of the background connections that would fail (and be reported) on every start.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = {"index.html": "home.png", "api/index.html": "api.png", "diagnostics/index.html": "diagnostics.png"}
# Images a page must load: document images, and the pictures the site's CSS uses.
BROKEN_IMAGES_JS = "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"


def _chromium() -> str | None:
    return os.environ.get("FASTINIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium executable (apt-get install chromium, or set FASTINIT_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


def _pages(site: Path) -> list[str]:
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("index.html"))
    assert "index.html" in pages and "api/index.html" in pages
    return pages


def test_site_builds_with_every_page(site):
    pages = _pages(site)
    for expected in ("stream-spec/index.html", "diagnostics/index.html", "initializers/he/index.html"):
        assert expected in pages
    api = (site / "api" / "index.html").read_text()
    assert "<math" in api, "the docstrings' .. math:: blocks were not rendered"
    assert ".. math::" not in api and ":func:`" not in api


def test_every_page_loads_cleanly_in_chromium(site, server, browser, tmp_path):
    shots = Path(os.environ.get("FASTINIT_SITE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    current = {"url": ""}

    def note(what: str) -> None:
        problems.append(f"{current['url']}: {what}")

    page.on("console", lambda m: m.type == "error" and note(f"console error: {m.text}"))
    page.on("pageerror", lambda e: note(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: note(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and note(f"HTTP {r.status}: {r.url}"))
    page.on("request", lambda r: r.url.startswith(server) or r.url.startswith("data:")
            or note(f"non-local request: {r.url}"))
    for rel in _pages(site):
        current["url"] = rel
        page.goto(server + rel.removesuffix("index.html"), wait_until="networkidle")
        broken = page.evaluate(BROKEN_IMAGES_JS)
        if broken:
            note(f"images did not load: {broken}")
        if rel in SCREENSHOTS:
            page.screenshot(path=str(shots / SCREENSHOTS[rel]), full_page=False)
    page.close()
    assert not problems, "\n".join(problems)
    for name in SCREENSHOTS.values():
        assert (shots / name).stat().st_size > 10_000
