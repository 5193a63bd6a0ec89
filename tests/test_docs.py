"""Every public function and class says where the course teaches it, as d2l's helpers do, and the place exists."""

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import musegen_widgets

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BACK_LINK = re.compile(r"Taught in chapter (\d\d), section (\d+)")


def _sections() -> dict[str, set[str]]:
    """Chapter number -> the numbers of its ``## N`` sections."""
    sections = {}
    for notebook in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        numbers = set()
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                numbers |= set(re.findall(r"^## (\d+)[ .]", "".join(cell["source"]), flags=re.MULTILINE))
        sections[notebook.name[:2]] = numbers
    return sections


def _public_definitions() -> list[tuple[str, object]]:
    """(qualified name, object) of every function and class a module of the package defines and exports."""
    names = ["musegen_widgets"] + [
        m.name for m in pkgutil.walk_packages(musegen_widgets.__path__, "musegen_widgets.")
    ]
    found = []
    for name in names:
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", []):
            obj = getattr(module, public)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == name:
                found.append((f"{name}.{public}", obj))
    return found


def test_every_public_function_and_class_links_to_an_existing_section():
    sections = _sections()
    definitions = _public_definitions()
    assert len(definitions) > 100  # the walk found the package, subpackages included
    unlinked, dangling = [], []
    for name, obj in definitions:
        link = BACK_LINK.search(inspect.getdoc(obj) or "")
        if link is None:
            unlinked.append(name)
        elif link.group(2) not in sections.get(link.group(1), set()):
            dangling.append(f"{name}: chapter {link.group(1)} has no section {link.group(2)}")
    assert unlinked == [], "no 'Taught in chapter NN, section S' line"
    assert dangling == []


def test_the_section_finder_sees_every_chapter():
    sections = _sections()
    assert {"00", "01", "02", "03", "04"} <= set(sections)
    assert all(len(numbers) >= 2 for numbers in sections.values())
