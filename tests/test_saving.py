"""Notebooks are saved without the live views of the course's widgets (musegen_widgets.saving)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from musegen_widgets import encoding, saving
from musegen_widgets.widgets import ScoreView

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _notebook(*outputs) -> dict:
    return {
        "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": list(outputs)}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _display(bundle: dict) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": bundle}


def test_the_live_view_goes_and_the_music_stays():
    ours = ScoreView(encoding.parse_melody("C4q D4q E4h"))._repr_mimebundle_()
    other = {WIDGET_VIEW: {"model_id": "x"}, "text/plain": "IntSlider(value=3)"}
    notebook = _notebook(_display(dict(ours)), _display(dict(other)))
    assert saving.drop_live_views(notebook) == 1
    first, second = notebook["cells"][0]["outputs"]
    assert WIDGET_VIEW not in first["data"] and first["data"]["text/html"] == ours["text/html"]
    assert second["data"] == other  # another library's widget keeps its view
    assert saving.drop_live_views(notebook) == 0


def test_the_pre_save_hook_changes_notebooks_only():
    bundle = ScoreView(encoding.parse_melody("C4q"))._repr_mimebundle_()
    model = {"type": "notebook", "content": _notebook(_display(dict(bundle)))}
    saving.pre_save_hook(model, path="x.ipynb", contents_manager=None)
    assert WIDGET_VIEW not in model["content"]["cells"][0]["outputs"][0]["data"]
    text = {"type": "file", "content": "musegen-static " + WIDGET_VIEW}
    saving.pre_save_hook(text, path="x.txt")
    assert text["content"] == "musegen-static " + WIDGET_VIEW


def test_the_command_rewrites_saved_notebooks(tmp_path):
    bundle = ScoreView(encoding.parse_melody("C4q"))._repr_mimebundle_()
    path = tmp_path / "saved.ipynb"
    path.write_text(json.dumps(_notebook(_display(dict(bundle)))))
    result = subprocess.run(
        [sys.executable, "-m", "musegen_widgets.saving", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 live view removed" in result.stdout
    assert WIDGET_VIEW not in path.read_text()


def test_the_stored_chapters_carry_no_live_view_of_the_course_widgets():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        assert saving.drop_live_views(notebook) == 0, path.name
