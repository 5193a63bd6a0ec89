"""The course on Google Colab: its address, each chapter's "Open in Colab" link and set-up cell, and how the
widgets show there.

Taught in chapter 00, section 4 (seeing and hearing a chorale). Colab brings its own TensorFlow, numpy, matplotlib
and ipywidgets; the first code cell of every chapter installs the course beside them (``pip install
--no-deps`` of this package, from the repository, and the pure-Python packages Colab lacks), so that nothing
of Colab's is replaced. Elsewhere that cell does nothing.

Colab's support for ipywidgets 8 is incomplete (googlecolab/colabtools issues 3020, 3105 and 4525): a
widget that Colab cannot draw shows nothing at all. So on Colab the course's widgets show their saved music
(score and sound, the same HTML a notebook viewer shows) and say where their controls work; set
``MUSEGEN_LIVE_WIDGETS=1`` to try the live widgets there anyway.

The repository's public address lives in one place, ``[project.urls] Repository`` in ``pyproject.toml``;
``python -m musegen_widgets.colab NOTEBOOK ...`` writes the links and set-up cells from it, and a test checks
that every chapter, the README and the website agree with it.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys

__all__ = [
    "COLAB_PROVIDES",
    "colab_url",
    "live_widgets",
    "on_colab",
    "repository",
    "setup_cell",
    "setup_requirements",
]

DISTRIBUTION = "musegen-widgets"
COLAB_PROVIDES = (
    "numpy",
    "matplotlib",
    "ipywidgets",
    "soundfile",
    "filelock",
    "threadpoolctl",  # scikit-learn's
    "tensorflow",
    "tensorflow-cpu",
)
"""Runtime dependencies that Colab's own image has: the set-up cell leaves them as Colab has them."""

SETUP_MARK = "# Set-up on Colab"
BADGE_MARK = "https://colab.research.google.com/"


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab (its ``google.colab`` module is loaded).

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    return "google.colab" in sys.modules


def live_widgets() -> bool:
    """Whether the course's widgets show their controls: everywhere but on Colab, unless
    ``MUSEGEN_LIVE_WIDGETS=1`` asks for them there too.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    return not on_colab() or os.environ.get("MUSEGEN_LIVE_WIDGETS") == "1"


def repository() -> str:
    """The repository's public address, as ``pyproject.toml`` gives it (``[project.urls] Repository``).

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    >>> repository().startswith("https://github.com/")
    True
    """
    for entry in importlib.metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip().rstrip("/")
    raise LookupError(f"{DISTRIBUTION}'s metadata names no Repository URL")


def colab_url(notebook: str) -> str:
    """The address that opens ``notebook`` (a file of ``notebooks/``) on Colab, from the main branch.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    >>> colab_url("00_music_as_data.ipynb").startswith("https://colab.research.google.com/github/")
    True
    """
    owner_and_name = repository().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/main/notebooks/{notebook}"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0].strip().lower()


def setup_requirements() -> list[str]:
    """The package's runtime requirements that Colab lacks, and chapter 07's optional LiteRT, as
    ``pyproject.toml`` states them (for Colab's platform, Linux).

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    requirements = []
    for requirement in importlib.metadata.requires(DISTRIBUTION) or []:
        # chapter 07's optional LiteRT runtime too: Colab is Linux, which it has wheels for
        if ("extra ==" in requirement and 'extra == "litert"' not in requirement) or _name(
            requirement
        ) in COLAB_PROVIDES:
            continue
        requirements.append(requirement.split(";")[0].strip())
    return requirements


def setup_cell() -> str:
    """The source of each chapter's first code cell: on Colab it installs the course, elsewhere nothing.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    extras = ", ".join(f'"{requirement}"' for requirement in setup_requirements())
    return (
        f"{SETUP_MARK}: install the course beside Colab's own TensorFlow and ipywidgets (elsewhere the README's\n"
        "# command has installed everything, and this cell does nothing)\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    course = "{repository()}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", "-q"]\n'
        '    subprocess.run([*pip, "--no-deps", f"musegen-widgets @ git+{course}"], check=True)\n'
        f"    subprocess.run([*pip, {extras}], check=True)"
    )


def badge(notebook: str) -> str:
    """The "Open in Colab" link of a chapter, as Markdown: words, not Colab's badge picture, which every reader
    of the notebook would load from the network."""
    return f"**[Open this chapter in Colab]({colab_url(notebook)})**"


def write_links(path) -> bool:
    """Give the notebook at ``path`` its set-up cell and its badge (under the title), made from
    :func:`repository`; return whether the file changed."""
    import json
    from pathlib import Path

    from .files import write_atomically

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    cells = notebook["cells"]
    source = setup_cell()
    setup = next(
        (
            cell
            for cell in cells
            if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(SETUP_MARK)
        ),
        None,
    )
    if setup is None:
        first_code = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")
        setup = {
            "cell_type": "code",
            "execution_count": None,
            "id": "colab-setup",
            "metadata": {},
            "outputs": [],
        }
        cells.insert(first_code, setup)
    setup.setdefault("id", "colab-setup")  # nbformat 4.5 names every cell
    setup["source"] = source.splitlines(keepends=True)
    title = cells[0]
    lines = "".join(title["source"]).split("\n")
    if BADGE_MARK in "".join(lines[2:3]):
        del lines[1:3]  # the old badge and the blank line before it
    lines[1:1] = ["", badge(path.name)]
    title["source"] = "\n".join(lines).splitlines(keepends=True)
    out = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if out == text:
        return False
    write_atomically(path, out.encode("utf-8"))
    return True


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(argument, "written" if write_links(argument) else "unchanged")
