"""The course website (website/, built by ``python website/build.py``), opened in Chromium with the network
cut off: every request that does not go to the local server is refused, as it would fail offline.

The site is built once into a temporary folder, exactly as CI and the Pages workflow build it, and served
by a local HTTP server. Each chapter page must show every musical example the notebook saved (a score and a
sound that plays), typeset its math with the MathJax that the site carries, link to its neighbours, and log
no error.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin, urlparse

import pytest
from conftest import ROOT
from test_static_viewers import AUDIO_DURATIONS, musical_examples

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
LOCAL_HOSTS = ("127.0.0.1", "localhost")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A browser that stops reading (a media element that has what it needs) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The site, built by the build command, served on a free local port: yields its base URL."""
    folder = tmp_path_factory.mktemp("website") / "html"
    build = subprocess.run(
        [sys.executable, str(ROOT / "website" / "build.py"), "--output", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline_page(browser):
    """A page in a fresh context that refuses every request outside this machine, and collects errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors, page.refused = [], []

    def route(route):
        url = route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.refused.append(url)
            route.abort()

    context.route("**/*", route)
    page.on(
        "console",
        lambda m: page.errors.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "response", lambda r: page.errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None
    )
    yield page
    context.close()


def status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def wait_for_math(page) -> None:
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15_000
    )
    page.evaluate("() => MathJax.startup.promise")


def test_the_front_page_is_the_readme_chapter_table_with_a_page_per_chapter(site, offline_page):
    page = offline_page
    page.goto(site)
    table = page.locator("article table")
    assert table.count() == 1
    links = table.first.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    hrefs = [href for href in links if not href.startswith("https://")]
    assert hrefs == [f"notebooks/{stem}.html" for stem in NOTEBOOKS]
    from musegen_widgets import colab

    assert [href for href in links if href.startswith("https://")] == [
        colab.colab_url(f"{stem}.ipynb") for stem in NOTEBOOKS
    ]  # each chapter's "run it on Colab" link
    for href in hrefs:
        assert status(urljoin(site, href)) == 200
    # the navigation lists every chapter too, in order
    navigation = page.locator("nav.bd-docs-nav a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert [href for href in navigation if href.startswith("notebooks/")] == hrefs
    wait_for_math(page)  # the table's own math ($\sqrt d$ in chapter 05's row)
    assert page.locator("article mjx-container").count() >= 1
    assert page.errors == [] and page.refused == []


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_a_chapter_page_shows_its_music_and_math_offline(site, offline_page, stem):
    page = offline_page
    page.goto(urljoin(site, f"notebooks/{stem}.html"))
    page.wait_for_load_state("load")
    wait_for_math(page)

    # math: every formula typeset by MathJax 3 (CHTML), none an error
    math = page.locator("article .math")
    assert math.count() >= 1
    assert page.locator("article .math mjx-container").count() == math.count()
    assert page.locator("article mjx-merror").count() == 0

    # music: as many examples as the notebook saved, each with a score that shows and a sound that plays
    expected, sounds = musical_examples(json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text()))
    blocks = page.locator(".musegen-static")
    assert blocks.count() == expected > 0
    visible_scores = page.evaluate(
        """async () => Promise.all([...document.querySelectorAll('.musegen-static')].map(async block => {
            const scores = [...block.querySelectorAll('svg, img')];
            await Promise.all(scores.filter(s => s.tagName === 'IMG').map(img => img.decode().catch(() => null)));
            return scores.some(s => s.tagName === 'IMG'
                ? s.naturalWidth > 0 && s.getBoundingClientRect().width > 0
                : s.getBoundingClientRect().width > 0 && s.getBoundingClientRect().height > 0);
        }))"""
    )
    assert visible_scores == [True] * expected
    durations = page.evaluate(AUDIO_DURATIONS)
    assert len(durations) == sounds >= expected and all(duration > 0 for duration in durations), durations
    assert page.locator("script[type='application/vnd.jupyter.widget-view+json']").count() == 0
    # and every other picture (the plots) is there
    broken = page.evaluate(
        "() => [...document.querySelectorAll('article img')].filter(img => !(img.naturalWidth > 0))"
        ".map(img => img.src.slice(0, 80))"
    )
    assert broken == []

    # links: the previous and next chapters, and every page the navigation names, answer
    index = NOTEBOOKS.index(stem)
    following = page.locator(".prev-next-area a.right-next")
    if index + 1 < len(NOTEBOOKS):
        assert following.get_attribute("href") == f"{NOTEBOOKS[index + 1]}.html"
    else:
        assert following.count() == 0
    previous = page.locator(".prev-next-area a.left-prev").get_attribute("href")
    assert previous == (f"{NOTEBOOKS[index - 1]}.html" if index else "../index.html")
    links = page.locator("nav.bd-docs-nav a, .prev-next-area a").evaluate_all(
        "links => links.map(a => a.href)"
    )
    local = {link.split("#")[0] for link in links if urlparse(link).hostname in LOCAL_HOSTS}
    assert len(local) >= len(NOTEBOOKS)
    assert all(status(link) == 200 for link in local)

    assert page.errors == [], page.errors
    assert page.refused == [], page.refused


def test_the_search_box_finds_a_chapter(site, offline_page):
    page = offline_page
    page.goto(site)
    page.locator(".search-button-field").first.click()
    box = page.locator("#pst-search-dialog input[name='q']")
    box.fill("reparameterisation")
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q=reparameterisation"))
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=30_000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("notebooks/02_variational_autoencoders.html" in href for href in hrefs), hrefs
    assert page.errors == [] and page.refused == []
