"""The project's own set-up files agree with each other (README, CI, pyproject, environment.yml, binder/)."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("python3 -m venv")]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one_verbatim():
    commands = readme_commands()
    assert len(commands) == 2
    lab, tests = commands
    assert "jupyter lab notebooks/00_music_as_data.ipynb" in lab
    assert "pytest --nbval" in tests and "MUSEGEN_FAST=1" in tests and "--nbval-lax" not in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[ci.index("# test command:") + 1] == tests
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111
    assert lab.split(" && ")[0] == tests.split(" && ")[0] == "python3 -m venv .venv"  # the same environment
    # a learner gets the course as a package (with its save hook), not the test tools; the tests an editable one
    assert lab.split(" && ")[1] == '.venv/bin/pip install -q ".[lab]"'
    assert tests.split(" && ")[1] == '.venv/bin/pip install -q -e ".[dev]"'


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=;\[ ]", requirement)[0] for requirement in requirements}


def test_pyproject_is_the_single_source_of_dependencies():
    project = pyproject()["project"]
    runtime, extras = _names(project["dependencies"]), project["optional-dependencies"]
    # the package needs what it imports; the course, the tests and the tools are extras
    assert {
        "ipywidgets",
        "tensorflow-cpu",
        "tensorflow",
        "music21",
        "verovio",
        "matplotlib",
        "numpy",
    } <= runtime
    assert not runtime & {"jupyterlab", "notebook", "pytest", "nbval", "playwright", "ruff", "ai-edge-litert"}
    assert {"jupyterlab", "notebook", "musegen-widgets"} <= _names(extras["lab"])
    assert {"pytest", "nbval", "pytest-xdist", "playwright", "build"} <= _names(extras["test"])
    assert "musegen-widgets[test]" in extras["dev"] and "ruff" in _names(extras["dev"])
    assert any("tensorflow-cpu" in d and "sys_platform == 'linux'" in d for d in project["dependencies"])


def test_environment_files_install_the_package_from_pyproject():
    python = re.search(r"(\d+\.\d+)", pyproject()["project"]["requires-python"]).group(1)
    top = yaml.safe_load((ROOT / "environment.yml").read_text())
    binder = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert f"python={python}" in top["dependencies"] and f"python={python}" in binder["dependencies"]
    pip = [d for d in top["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert pip == [".[lab]"]  # nothing listed twice: the dependencies come from pyproject
    assert not [d for d in binder["dependencies"] if isinstance(d, dict)]  # no pip list to drift
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert 'pip install --no-cache-dir ".[lab]"' in post_build  # a package install: its save hook too
    assert "/lab/tree/notebooks/00_music_as_data.ipynb" in post_build
    assert (ROOT / "notebooks" / "00_music_as_data.ipynb").exists()
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, musegen_widgets, musegen_widgets.encoding, musegen_widgets.data; "
        "print([m for m in ('tensorflow', 'keras', 'music21', 'verovio', 'matplotlib') if m in sys.modules])"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "[]\n"
    )


def test_notebooks_are_stored_with_outputs_and_ignored_outputs_say_why():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert any(c["outputs"] for c in cells), f"{path.name} is stored without outputs"
        for cell in cells:
            assert cell["execution_count"] is not None, f"{path.name} has a cell that was not run"
            if "nbval-ignore-output" in cell["metadata"].get("tags", []):
                assert "".join(cell["source"]).startswith("# nbval-ignore-output: "), (
                    f"{path.name}: an ignored output must say why in its first line"
                )
        counts = [c["execution_count"] for c in cells]
        assert counts == list(range(1, len(cells) + 1)), (
            f"{path.name} was not saved after restart-and-run-all"
        )


def test_the_package_says_the_version_pyproject_gives():
    import musegen_widgets

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert musegen_widgets.__version__ == project["version"]


def test_the_readme_module_table_names_every_module_of_the_package():
    table = set(re.findall(r"^\| `(\w+)` \|", (ROOT / "README.md").read_text(), flags=re.M))
    package = ROOT / "musegen_widgets"
    modules = {p.stem for p in package.glob("*.py") if not p.name.startswith("_")}
    modules |= {
        p.name for p in package.iterdir() if (p / "__init__.py").exists() and p.name != "jupyter_config"
    }
    assert modules - table == set()
