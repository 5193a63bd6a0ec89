"""The course on Colab, tested here with a stand-in ``google.colab`` module (Colab itself cannot be reached
from CI): each chapter's set-up cell and link come from the one repository address, the cell installs the
course without touching Colab's own packages, and the widgets show their saved music there."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

from musegen_widgets import colab, encoding
from musegen_widgets.widgets import ScoreView

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _setup_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(cell for cell in cells if cell["cell_type"] == "code")["source"])


@pytest.fixture
def on_colab(monkeypatch):
    """A stand-in for Colab: its ``google.colab`` module is loaded."""
    # only google.colab: "google" is also the namespace package of google.protobuf, which TensorFlow imports
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("MUSEGEN_LIVE_WIDGETS", raising=False)


def test_the_address_is_the_projects_one():
    text = (ROOT / "pyproject.toml").read_text()
    assert f'Repository = "{colab.repository()}"' in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name[:2])
def test_each_chapter_has_its_set_up_cell_and_link_from_the_one_address(path):
    cells = json.loads(path.read_text())["cells"]
    assert _setup_source(path) == colab.setup_cell()
    assert f"({colab.colab_url(path.name)})" in "".join(cells[0]["source"])


def test_the_readme_links_each_chapter_on_colab():
    readme = (ROOT / "README.md").read_text()
    assert all(colab.colab_url(path.name) in readme for path in NOTEBOOKS)


def _run_setup_cell(monkeypatch) -> list[list[str]]:
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: commands.append(list(command)))
    exec(_setup_source(NOTEBOOKS[0]), {})
    return commands


def test_the_set_up_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert _run_setup_cell(monkeypatch) == []


def test_on_colab_the_set_up_cell_installs_the_course_beside_colabs_own_packages(on_colab, monkeypatch):
    commands = _run_setup_cell(monkeypatch)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    assert commands == [
        [*pip, "--no-deps", f"musegen-widgets @ git+{colab.repository()}"],
        [*pip, *colab.setup_requirements()],
    ]
    installed = {colab._name(requirement) for requirement in commands[1][len(pip) :]}
    # nothing Colab brings is replaced; everything else the package needs is installed
    assert installed.isdisjoint(colab.COLAB_PROVIDES)
    from importlib.metadata import requires

    runtime = {colab._name(r) for r in requires("musegen-widgets") if "extra ==" not in r}
    assert runtime <= installed | set(colab.COLAB_PROVIDES)
    assert {"music21", "verovio"} <= installed


def test_on_colab_a_widget_shows_its_music_and_says_where_its_controls_work(on_colab, monkeypatch):
    view = ScoreView(encoding.parse_melody("C4q D4q E4h"), title="Three notes")
    bundle = view._repr_mimebundle_()
    assert WIDGET_VIEW not in bundle
    assert 'class="musegen-static"' in bundle["text/html"] and "On Colab" in bundle["text/html"]
    monkeypatch.setenv("MUSEGEN_LIVE_WIDGETS", "1")
    assert WIDGET_VIEW in view._repr_mimebundle_()


def test_off_colab_a_widget_is_live_with_its_music_beside_it():
    bundle = ScoreView(encoding.parse_melody("C4q D4q E4h"))._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "On Colab" not in bundle["text/html"]
