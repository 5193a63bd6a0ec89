"""The course without a kernel: each saved notebook, turned into HTML by nbconvert as notebook viewers do,
shows every musical example as an engraved score and a player whose sound Chromium can play."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
BUDGET = 3_000_000  # bytes a saved notebook may take, its sounds and scores included
WIDGET = "application/vnd.jupyter.widget-view+json"
COURSE_WIDGETS = (
    "ScoreView",
    "ScoreTabs",
    "SamplerWidget",
    "LatentExplorer",
    "GanExplorer",
    "AttentionExplorer",
    "HarmoniseWidget",
    "ListeningTest",
)

AUDIO_DURATIONS = """() => Promise.all([...document.querySelectorAll('.musegen-static audio')].map(audio =>
    new Promise(resolve => {
        if (audio.readyState >= 1) resolve(audio.duration);
        else {
            audio.onloadedmetadata = () => resolve(audio.duration);
            audio.onerror = () => resolve(-1);
            audio.load();
        }
    })))"""


def musical_examples(notebook: dict) -> int:
    """Pieces of music saved with the notebook's widgets (a ``ScoreTabs`` saves one a tab)."""
    return sum(
        "".join(output["data"].get("text/html", "")).count('class="musegen-static"')
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if WIDGET in output.get("data", {})
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_saved_notebook_shows_and_plays_its_music_without_a_kernel(browser, tmp_path, name):
    from nbconvert import HTMLExporter

    path = ROOT / "notebooks" / name
    assert path.stat().st_size <= BUDGET, f"{name}: {path.stat().st_size:,} bytes"
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"]  # no widget state: viewers fall back to the saved HTML
    widget_outputs = [  # the course's widgets (a plain ipywidgets control has no music to save)
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if WIDGET in output.get("data", {})
        and "".join(output["data"].get("text/plain", "")).startswith(COURSE_WIDGETS)
    ]
    assert widget_outputs and all("text/html" in output["data"] for output in widget_outputs)
    expected = musical_examples(notebook)

    body, _ = HTMLExporter().from_filename(str(path))
    page_path = tmp_path / f"{path.stem}.html"
    page_path.write_text(body)
    page = browser.new_page()
    try:
        # nothing from the network: the page's own scripts from CDNs are refused, as offline
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
            ),
        )
        page.goto(page_path.as_uri())
        blocks = page.locator(".musegen-static")
        assert blocks.count() == expected > 0
        for index in range(expected):
            assert blocks.nth(index).locator("svg").count() >= 1
        durations = page.evaluate(AUDIO_DURATIONS)
        assert len(durations) == expected and all(duration > 0 for duration in durations), durations
    finally:
        page.close()
