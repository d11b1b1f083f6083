"""The built documentation site renders in a real browser and documents every public name.

Run by `nox -s docs` after `mkdocs build --strict`, with LOOPAI_SITE_DIR set to
the built site.  The site is served on loopback and opened in headless
Chromium (Debian's ``chromium`` package): screenshots of the home page, a
guide and the API reference go to ``<site>/_screenshots/``, and the DOM after
JavaScript ran is checked for the title, the navigation, highlighted code and
the copy buttons the theme's script adds.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SITE = Path(os.environ.get("LOOPAI_SITE_DIR", "site")).resolve()
SCREENSHOTS = SITE / "_screenshots"
CHROMIUM_TIMEOUT = 90
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: name -> (path under the site, words the page title must contain, text the page must show)
PAGES = {
    "home": ("", "loopai", "One client for asyncio and trio"),
    "guide": ("guides/batch/", "Batch jobs", "stream_batch"),
    "reference": ("reference/loopai/", "loopai", "LoopaiClient"),
}

#: The public modules whose every `__all__` name must have a reference entry.
PUBLIC_MODULES = (
    "loopai",
    "loopai.models",
    "loopai.exceptions",
    "loopai.testing",
    "loopai.testing.strategies",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The built site served over HTTP on 127.0.0.1 from a background thread."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site in {SITE}: run `mkdocs build` first (nox -s docs does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile and no network of its own; its stdout."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run installs it)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    completed = subprocess.run(
        [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile}", *args,
        ],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_screenshot_is_taken(page: str, site_url: str, tmp_path: Path) -> None:
    """Chromium renders the page to a PNG in <site>/_screenshots/ that is more than a blank frame."""
    path, _, _ = PAGES[page]
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / f"{page}.png"
    shot.unlink(missing_ok=True)
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", site_url + path)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    # A blank or unstyled frame compresses to a few kilobytes; a rendered page does not.
    assert len(data) > 40_000


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders_after_javascript(page: str, site_url: str, tmp_path: Path) -> None:
    """After the theme's script ran: the title, the navigation, highlighted code and copy buttons."""
    path, title, text = PAGES[page]
    dom = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", site_url + path)
    assert f"<title>{title}" in dom
    assert 'class="js' in dom  # the theme's script ran
    assert 'class="md-nav' in dom
    for entry in ("Getting started", "Batch jobs", "Testing your code", "CLI", "Changelog"):
        assert entry in dom
    assert 'class="highlight' in dom
    assert '<span class="' in dom.split('class="highlight', 1)[1]  # tokens coloured by Pygments
    assert "md-code__button" in dom or "md-clipboard" in dom  # copy buttons are added by script
    assert text in dom


def _get(url: str) -> bytes:
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback http only
        assert response.status == 200
        return response.read()  # type: ignore[no-any-return]


def _search_index(site_url: str) -> dict[str, list[dict[str, str]]]:
    return json.loads(_get(site_url + "search/search_index.json"))  # type: ignore[no-any-return]


def test_search_index_loads_with_the_api(site_url: str) -> None:
    """The search index is served and finds the client's methods and the guides."""
    index = _search_index(site_url)
    locations = {doc["location"] for doc in index["docs"]}
    assert "reference/loopai/#loopai.LoopaiClient.stream_batch" in locations
    assert any(doc["location"].startswith("guides/batch/") for doc in index["docs"])
    assert any("max_retry_after" in doc["text"] for doc in index["docs"])
    home = _get(site_url).decode()
    worker = re.search(r"assets/javascripts/workers/search\.\w+\.min\.js", home)
    assert worker, "the page does not name the search worker"
    assert _get(site_url + worker[0])


def test_every_public_name_has_a_reference_entry(site_url: str) -> None:
    """Each name in the public modules' __all__ has an anchor in the API reference."""
    import importlib

    anchors = {doc["location"].partition("#")[2] for doc in _search_index(site_url)["docs"]}
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            homes = [f"{module_name}.{name}"]
            if module_name == "loopai":  # re-exports are documented where they live
                homes += [f"loopai.models.{name}", f"loopai.exceptions.{name}"]
            if not anchors.intersection(homes):
                missing.append(f"{module_name}.{name}")
    assert not missing, f"not in the API reference (docs/reference/*.md): {missing}"
