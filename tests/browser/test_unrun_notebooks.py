"""Each chapter opened as a learner first meets it, before any cell runs: in JupyterLab as a fresh clone
(untrusted, its HTML sanitised), in JupyterLab trusted (as after a learner ran and saved it), and in
Notebook 7. Every saved musical example must show an engraved score and a player with a sound, with no
stray SVG text, no ``<IPython.core.display.SVG object>`` and no widget error in their place.

A second test runs a cell with a ``ScoreView``, saves, stops the kernel and reopens the notebook: with the
course's pre-save hook (``musegen_widgets.saving``) the music shows; without it (the control) JupyterLab
shows "model not found", so the first check can fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, TOKEN, jupyter_server
from test_static_viewers import audio_durations, musical_examples

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
HOOK = "--ContentsManager.pre_save_hook=musegen_widgets.saving.pre_save_hook"
# What stands in for music where a renderer failed: the text of a dropped <svg>, an undisplayable object,
# a widget with no model.
BROKEN = (
    "Engraved by Verovio",
    "IPython.core.display.SVG object",
    "Error displaying widget",
    "model not found",
)

# Every output drawn, also far below the window (JupyterLab and Notebook 7 draw only what is on screen by
# default), so that each can be checked without scrolling.
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}

MUSIC = """() => Promise.all([...document.querySelectorAll('.jp-OutputArea-output .musegen-static')].map(async block => {
    const img = block.querySelector('img');
    const audio = block.querySelector('audio');
    let width = 0;
    if (img) { try { await img.decode(); } catch (e) {} width = img.naturalWidth; }
    const duration = audio ? await new Promise(resolve => {
        if (audio.readyState >= 1) resolve(audio.duration);
        else {
            audio.onloadedmetadata = () => resolve(audio.duration);
            audio.onerror = () => resolve(-1);
            audio.load();
        }
    }) : 0;
    return {width, duration, alt: img ? img.alt : '', label: audio ? (audio.getAttribute('aria-label') || audio.title) : ''};
}))"""


LISTENING = audio_durations(".jp-OutputArea-output .musegen-listening audio")


def saved_music(name: str) -> tuple[int, int]:
    """(musical examples, listening tests' questions) saved in a chapter's outputs."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    pages = [
        "".join(output.get("data", {}).get("text/html", ""))
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    ]
    return musical_examples(notebook)[0], sum("A blind listening test of" in page for page in pages)


def _folder(trusted: bool) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="musegen-unrun-"))
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    for name, settings in SETTINGS.items():
        path = folder / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    if trusted:  # signed in this server's own database, as JupyterLab signs a notebook its user saved
        subprocess.run(
            [sys.executable, "-m", "jupyter", "trust", *sorted((folder / "notebooks").glob("*.ipynb"))],
            check=True,
            capture_output=True,
            env={**_env(folder)},
        )
    return folder


def _env(folder: Path) -> dict[str, str]:
    import os

    # a data folder of its own: the notebooks' signatures (trust) are kept there
    return {**os.environ, "JUPYTER_DATA_DIR": str(folder / "jupyter-data")}


@pytest.fixture(scope="module")
def untrusted_url():
    folder = _folder(trusted=False)
    with jupyter_server(folder, args=(HOOK,), env=_env(folder)) as url:
        yield url


@pytest.fixture(scope="module")
def trusted_url():
    folder = _folder(trusted=True)
    with jupyter_server(folder, env=_env(folder)) as url:
        yield url


def _logged_in(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/api/status?token={TOKEN}")  # a login cookie for this server, kept by the context
    page.close()
    return context


@pytest.fixture(scope="module")
def untrusted(browser, untrusted_url):
    context = _logged_in(browser, untrusted_url)
    yield context, untrusted_url
    context.close()


@pytest.fixture(scope="module")
def trusted(browser, trusted_url):
    context = _logged_in(browser, trusted_url)
    yield context, trusted_url
    context.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def _open(context, url: str, path: str):
    page = context.new_page()
    page.goto(f"{url}{path}{'?reset' if path.startswith('/lab') else ''}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    # every markdown cell and output drawn: the last cell's prompt or content exists
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= n",
        arg=len(json.loads((ROOT / "notebooks" / path.rsplit("/", 1)[-1]).read_text())["cells"]),
        timeout=60_000,
    )
    return page


def _check_music(page, name: str, artifacts, label: str) -> None:
    examples, questions = saved_music(name)
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-OutputArea-output .musegen-static').length >= n",
            arg=examples,
            timeout=60_000,
        )
        music = page.evaluate(MUSIC)
        outputs = " ".join(page.locator(".jp-OutputArea-output").all_text_contents())
        assert len(music) == examples > 0
        assert all(item["width"] > 0 for item in music), [item["width"] for item in music]
        assert all(item["duration"] > 0 for item in music), [item["duration"] for item in music]
        assert all(item["alt"].startswith("Score") and item["label"] for item in music)
        assert outputs.count("A blind listening test of") == questions
        trial = page.evaluate(LISTENING)  # each listening test's first trial: two sounds
        assert len(trial) == 2 * questions and all(duration > 0 for duration in trial), trial
        assert [text for text in BROKEN if text in outputs] == []
    except Exception:
        page.screenshot(path=str(artifacts / f"unrun-{label}-{name}.png"), full_page=True)
        raise


# Where each chapter is opened: every chapter in JupyterLab as a fresh clone (untrusted). A trusted notebook's
# saved music is the same HTML drawn without the sanitiser, and Notebook 7 draws outputs with JupyterLab's own
# renderers and sanitiser: there two chapters stand for all, the first and the one with listening tests and
# tabs of scores (the learner's run-save-reopen test below covers trust as well).
VIEWS = (
    [("lab-untrusted", "untrusted", "/lab/tree/notebooks", name) for name in NOTEBOOKS]
    + [("lab-trusted", "trusted", "/lab/tree/notebooks", name) for name in (NOTEBOOKS[0], NOTEBOOKS[4])]
    + [("notebook7", "untrusted", "/notebooks/notebooks", name) for name in (NOTEBOOKS[0], NOTEBOOKS[4])]
)


@pytest.mark.parametrize(
    "label, server, folder, name", VIEWS, ids=[f"{view[0]}-{view[3][:2]}" for view in VIEWS]
)
def test_every_saved_score_and_sound_shows_before_any_cell_runs(
    request, label, server, folder, name, artifacts
):
    context, url = request.getfixturevalue(server)
    page = _open(context, url, f"{folder}/{name}")
    _check_music(page, name, artifacts, label)
    page.close()


def _run_save_and_reopen(context, url: str, folder_name: str) -> tuple[dict, str]:
    """Run a one-cell notebook that shows a ScoreView, save it, stop its kernel, reopen it; return the saved
    file and the reopened page's output text."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": "from musegen_widgets import encoding\nfrom musegen_widgets.widgets import ScoreView\n\n"
                "ScoreView(encoding.parse_melody('C4q D4q E4q F4q | G4w'), title='Five notes')",
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    request = urllib.request.Request(
        f"{url}/api/contents/{folder_name}.ipynb?token={TOKEN}",
        data=json.dumps({"type": "notebook", "content": notebook}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30)
    page = context.new_page()
    page.goto(f"{url}/lab?token={TOKEN}")
    page.goto(f"{url}/lab/tree/{folder_name}.ipynb?reset")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-Widget')].some(e => e.textContent.includes('Idle'))",
        timeout=90_000,
    )
    page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".jp-OutputArea-output .widget-vbox audio", timeout=120_000)  # the live widget
    page.keyboard.press("Control+s")
    page.wait_for_timeout(2000)
    with urllib.request.urlopen(
        f"{url}/api/contents/{folder_name}.ipynb?token={TOKEN}", timeout=30
    ) as answer:
        saved = json.loads(answer.read())["content"]
    with urllib.request.urlopen(f"{url}/api/kernels?token={TOKEN}", timeout=30) as answer:
        kernels = json.loads(answer.read())
    for kernel in kernels:  # reopened "without a kernel"
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE"),
            timeout=30,
        )
    page.close()
    page = context.new_page()
    page.goto(f"{url}/lab/tree/{folder_name}.ipynb?reset")
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=90_000)
    page.wait_for_timeout(3000)  # a widget view that cannot find its model says so within this time
    text = " ".join(page.locator(".jp-OutputArea-output").all_text_contents())
    images = page.evaluate(
        "[...document.querySelectorAll('.jp-OutputArea-output .musegen-static img')].length"
    )
    page.close()
    return saved, text if images else text + " (no score image)"


def test_a_notebook_saved_by_a_learner_shows_its_music_when_reopened_without_a_kernel(
    context, untrusted_url, trusted_url
):
    saved, text = _run_save_and_reopen(context, untrusted_url, "learner")
    data = saved["cells"][0]["outputs"][0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data and "musegen-static" in data["text/html"]
    assert [broken for broken in BROKEN if broken in text] == [] and "(no score image)" not in text

    # the control: a server without the course's hook saves the live view, which then has no model to draw
    saved, text = _run_save_and_reopen(context, trusted_url, "learner-without-hook")
    assert "application/vnd.jupyter.widget-view+json" in saved["cells"][0]["outputs"][0]["data"]
    assert "model not found" in text
