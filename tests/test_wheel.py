"""The package installs like a package: its sdist and wheel build, and the wheel, installed in a fresh virtual
environment outside the repository, shows a chorale, samples the melody Transformer and harmonises a melody
with the weights it ships (no checkout, no network at run time, no rebuilt cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

# Run by the wheel's own Python in an empty folder: everything it uses must come from the installed wheel.
SMOKE = r"""
import json, sys
from pathlib import Path

import musegen_widgets
from musegen_widgets import data, encoding, files, infilling, sampling
from musegen_widgets.models import load_pretrained
from musegen_widgets.widgets import ScoreView

prefix = Path(sys.prefix).resolve()
package = Path(musegen_widgets.__file__).resolve()
folder = files.data_dir().resolve()
chorale = data.load_pieces("test")[0]
view = ScoreView(chorale, title="A chorale")
page = view.static_html()
melody = sampling.sample(load_pretrained("melody_transformer"), steps=64, seed=0, primer=encoding.parse_melody("G4q A4q B4q"))
soprano = encoding.parse_melody("G4q A4q B4q D5q | C5h B4h")
chorus = infilling.harmonise(soprano, steps=8, seed=0)
print(json.dumps({
    "package_in_prefix": prefix in package.parents,
    "data_in_prefix": prefix in folder.parents,
    "data_files": sorted(path.name for path in folder.iterdir()),
    "score_image": page.count("data:image/svg+xml;base64,"),
    "sound": page.count("data:audio/mpeg;base64,"),
    "melody_steps": len(melody),
    "melody_notes": int(encoding.is_note(melody).sum()),
    "voices": len(chorus.voices),
    "soprano_kept": sorted(map(tuple, chorus.voices[0].tolist())) == sorted(map(tuple, soprano.voices[0].tolist())),
}))
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def test_the_wheel_holds_the_package_its_weights_and_the_save_hook_and_no_course_tools(dist):
    (wheel,) = dist.glob("musegen_widgets-*.whl")
    (sdist,) = dist.glob("musegen_widgets-*.tar.gz")
    assert wheel.stat().st_size < 100e6  # PyPI's default limit per file
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(name for name in names if name.endswith(".dist-info/METADATA"))).decode()
    shipped = {name.rsplit("/", 1)[-1] for name in names if "/data/share/musegen-widgets/data/" in name}
    manifest = json.loads((ROOT / "data" / "MANIFEST.json").read_text())
    assert set(manifest) <= shipped and "MANIFEST.json" in shipped
    assert any(name.endswith("etc/jupyter/jupyter_server_config.d/musegen_widgets.json") for name in names)
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    always = [line for line in requires if "extra ==" not in line]
    for tool in ("jupyterlab", "pytest", "nbval", "playwright", "ruff", "sphinx", "ai-edge-litert"):
        assert not any(line.split()[1].lower().startswith(tool) for line in always), tool
    assert "Requires-Python: <3.14,>=3.11" in metadata or "Requires-Python: >=3.11,<3.14" in metadata
    assert "License-Expression: MIT" in metadata
    assert (
        sdist.stat().st_size > 0.5 * wheel.stat().st_size
    )  # the sdist carries the data the wheel is built from


def _interpreter(version: str) -> str | None:
    """A CPython of this version installed beside the one running the tests (pyenv's, or on the PATH)."""
    import shutil

    found = shutil.which(f"python{version}")
    for candidate in [found, *sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))]:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return str(candidate)
    return None


# CI checks the wheel on the Python that runs the tests; MUSEGEN_ALL_PYTHONS=1 also on the other supported
# ones found here (about a minute each)
OTHER_PYTHONS = ["3.12", "3.13"] if os.environ.get("MUSEGEN_ALL_PYTHONS") == "1" else []


@pytest.mark.parametrize("version", [None, *OTHER_PYTHONS], ids=lambda v: v or "this-python")
def test_the_wheel_installed_outside_the_repository_shows_samples_and_harmonises(dist, tmp_path, version):
    (wheel,) = dist.glob("musegen_widgets-*.whl")
    python = sys.executable if version is None else _interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} here")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # --no-compile: pip would byte-compile every module of every dependency (15 s of TensorFlow's alone, here);
    # what the smoke test imports is compiled when it is imported
    install = [str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True
    )
    installed = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert "musegen-widgets" in installed and not installed & {"jupyterlab", "pytest", "nbval", "playwright"}

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSEGEN", "PYTHONPATH", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [str(python), "-c", SMOKE], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["package_in_prefix"] and report["data_in_prefix"]
    assert "chorales.npz" in report["data_files"] and "melody_transformer.weights.h5" in report["data_files"]
    assert report["score_image"] == 1 and report["sound"] == 1
    assert report["melody_steps"] == 64 and report["melody_notes"] > 3
    assert report["voices"] == 4 and report["soprano_kept"]
    assert list(work.iterdir()) == []  # it wrote nothing where it ran (and so rebuilt no cache)
    with open(venv / "share" / "musegen-widgets" / "data" / "MANIFEST.json", "rb") as manifest:
        assert json.load(manifest) == json.loads((ROOT / "data" / "MANIFEST.json").read_text())
    config = venv / "etc" / "jupyter" / "jupyter_server_config.d" / "musegen_widgets.json"
    assert "musegen_widgets.saving.pre_save_hook" in config.read_text()


def test_pip_refuses_an_unsupported_python_with_a_plain_message(dist, tmp_path):
    python = _interpreter("3.10")  # below the range, as 3.14 is above it: the same check
    if python is None:
        pytest.skip("no Python 3.10 here")
    (wheel,) = dist.glob("musegen_widgets-*.whl")
    subprocess.run([python, "-m", "venv", str(tmp_path / "venv")], check=True)
    result = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "requires a different Python" in result.stderr and "<3.14,>=3.11" in result.stderr
