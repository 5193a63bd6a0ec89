"""Saving notebooks so that their music shows wherever they are opened, with or without a kernel.

Taught in chapter 00, section 4 (seeing and hearing a chorale). Every widget of the course displays two
things at once: the live widget (``application/vnd.jupyter.widget-view+json``, which only a running kernel
can draw) and its music as plain HTML (``text/html``: the score as an ``<img>``, the sound in an
``<audio>`` player; :class:`~musegen_widgets.widgets.score_view.ScoreView`'s ``static_html``). A frontend
draws the live view whenever it is allowed to: JupyterLab does so for a notebook it trusts (one you ran and
saved yourself), and then, reopened without a kernel, shows "Error displaying widget: model not found" in
place of the music. So the course saves notebooks without the live view of its own widgets: opened again,
a notebook shows the saved music until its cell runs again, which draws the live widget anew.

Two ways in:

- JupyterLab and Notebook 7 call :func:`pre_save_hook` on every save (installed with the package, in
  ``etc/jupyter/jupyter_server_config.d/musegen_widgets.json``);
- ``python -m musegen_widgets.saving NOTEBOOK ...`` does the same to saved files (the course's stored
  notebooks, after ``jupyter nbconvert --execute``).

Widgets of other libraries, and the course's widgets that save no music, keep their live view.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .files import write_atomically

__all__ = ["drop_live_views", "pre_save_hook", "STATIC_MARKS"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_MARKS = ('class="musegen-static"', 'class="musegen-listening"')
"""What marks the HTML of the course's saved music: a score and its sound (every ``static_html`` with a
score), or a listening test's first trial."""


def drop_live_views(notebook: dict) -> int:
    """Remove the live-widget view from every output that also carries the course's saved music.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    Parameters
    ----------
    notebook
        A notebook as a dict (nbformat 4), changed in place.

    Returns
    -------
    int
        How many views were removed.

    >>> output = {"output_type": "display_data", "metadata": {},
    ...           "data": {WIDGET_VIEW: {"model_id": "1"}, "text/plain": "ScoreView(...)",
    ...                    "text/html": '<div class="musegen-static">...</div>'}}
    >>> notebook = {"cells": [{"cell_type": "code", "outputs": [output]}]}
    >>> drop_live_views(notebook), sorted(output["data"])
    (1, ['text/html', 'text/plain'])
    """
    removed = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            html_text = data.get("text/html", "")
            html_text = "".join(html_text) if isinstance(html_text, list) else html_text
            if WIDGET_VIEW in data and any(mark in html_text for mark in STATIC_MARKS):
                del data[WIDGET_VIEW]
                removed += 1
    return removed


def pre_save_hook(model: dict, **kwargs) -> None:
    """A Jupyter server ``ContentsManager.pre_save_hook``: saves a notebook without its live views of the
    course's widgets (:func:`drop_live_views`); other files are left alone.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        drop_live_views(model["content"])


def main(argv: list[str] | None = None) -> int:
    """``python -m musegen_widgets.saving NOTEBOOK ...``: drop the live views from saved notebooks."""
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m musegen_widgets.saving NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for path in paths:
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        removed = drop_live_views(notebook)
        if removed:
            out = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
            write_atomically(path, out.encode("utf-8"))
        print(f"{path}: {removed} live view{'' if removed == 1 else 's'} removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
