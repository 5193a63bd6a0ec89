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
    "DiffusionExplorer",
)


def audio_durations(selector: str) -> str:
    """JavaScript that resolves to the duration of each ``<audio>`` the CSS ``selector`` finds, once the
    browser has read the sound's header (-1 for a sound it cannot decode)."""
    return f"""() => Promise.all([...document.querySelectorAll('{selector}')].map(audio =>
    new Promise(resolve => {{
        if (audio.readyState >= 1) resolve(audio.duration);
        else {{
            audio.onloadedmetadata = () => resolve(audio.duration);
            audio.onerror = () => resolve(-1);
            audio.load();
        }}
    }})))"""


AUDIO_DURATIONS = audio_durations(".musegen-static audio, .musegen-listening audio")
SCORE_WIDTHS = """() => Promise.all([...document.querySelectorAll('.musegen-static img')].map(async img => {
    try { await img.decode(); } catch (e) {}
    return img.alt.startsWith('Score') ? img.naturalWidth : -1;
}))"""


def course_widget_outputs(notebook: dict) -> list[dict]:
    """The saved displays of the course's widgets (a plain ipywidgets control has no music to save)."""
    return [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "".join(output.get("data", {}).get("text/plain", "")).startswith(COURSE_WIDGETS)
    ]


def musical_examples(notebook: dict) -> tuple[int, int]:
    """Pieces of music saved with the notebook's widgets (a ``ScoreTabs`` saves one a tab), and sounds
    (those, and a listening test's first trial's two)."""
    pages = ["".join(output["data"].get("text/html", "")) for output in course_widget_outputs(notebook)]
    scores = sum(page.count('class="musegen-static"') for page in pages)
    return scores, sum(page.count("<audio") for page in pages)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_saved_notebook_shows_and_plays_its_music_without_a_kernel(browser, tmp_path, name):
    from nbconvert import HTMLExporter

    path = ROOT / "notebooks" / name
    assert path.stat().st_size <= BUDGET, f"{name}: {path.stat().st_size:,} bytes"
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"]  # no widget state: viewers fall back to the saved HTML
    widget_outputs = course_widget_outputs(notebook)
    assert widget_outputs and all("text/html" in output["data"] for output in widget_outputs)
    # saved without their live views: reopened without a kernel, a trusted notebook draws the saved music
    assert not [output for output in widget_outputs if WIDGET in output["data"]]
    expected, sounds = musical_examples(notebook)

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
        widths = page.evaluate(SCORE_WIDTHS)  # each score an image that decodes, with its text alternative
        assert len(widths) == expected and all(width > 0 for width in widths), widths
        durations = page.evaluate(AUDIO_DURATIONS)
        assert len(durations) == sounds >= expected and all(duration > 0 for duration in durations), durations
    finally:
        page.close()
