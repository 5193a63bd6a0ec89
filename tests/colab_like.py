"""The course's package beside Colab's own packages, checked by hand (not part of CI: it installs TensorFlow
2.20 into a new environment, a few minutes).

Colab cannot be reached from here. This makes the nearest thing: a virtual environment with Colab's Python
and its versions of the packages the course shares with it (as ``googlecolab/backend-info``'s
``pip-freeze.txt`` listed them in August 2026: Python 3.13, TensorFlow 2.20.0, Keras 3.13.2, ipywidgets
7.7.1, numpy 2.1.3, matplotlib 3.10.0, music21 9.9.2), installs the course as each chapter's set-up cell
does (the wheel with ``--no-deps``, then ``colab.setup_requirements()``), and, with a stand-in
``google.colab`` module loaded, builds every widget, displays one as IPython would, loads and samples the
models, and harmonises a melody. It prints what it found; the README records the last run.

    .venv/bin/python tests/colab_like.py [PYTHON]   # PYTHON: a CPython 3.13 (default: python3.13 or pyenv's)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLAB = [
    "tensorflow==2.20.0",
    "keras==3.13.2",
    "ipywidgets==7.7.1",
    "numpy==2.1.3",
    "matplotlib==3.10.0",
    "soundfile==0.14.0",
    "filelock==3.32.3",
    "h5py==3.16.0",
    "ipykernel==6.17.1",
    "music21==9.9.2",
]

CHECK = r"""
import sys, tempfile, types
import google.protobuf, google  # the namespace package that Colab's own module lives in
google.colab = types.ModuleType("google.colab")
sys.modules["google.colab"] = google.colab  # a stand-in: this kernel "is on Colab"

import ipywidgets, keras, music21, numpy, tensorflow
print("versions: Python", sys.version.split()[0], "TensorFlow", tensorflow.__version__, "Keras", keras.__version__,
      "ipywidgets", ipywidgets.__version__, "numpy", numpy.__version__, "music21", music21.__version__)
from musegen_widgets import data, efficiency, encoding, files, infilling, sampling
from musegen_widgets.models import load_pretrained
from musegen_widgets.widgets import (AttentionExplorer, DiffusionExplorer, GanExplorer, HarmoniseWidget,
                                     LatentExplorer, ListeningTest, SamplerWidget, ScoreTabs, ScoreView)
print("data:", files.data_dir())
melody = data.load_melodies("test")[0]
makers = {
    "ScoreView": lambda: ScoreView(data.load_pieces("test")[0], title="A chorale"),
    "ScoreTabs": lambda: ScoreTabs({"a": melody, "b": data.load_melodies("test")[1]}),
    "SamplerWidget": lambda: SamplerWidget(load_pretrained("melody_lstm")),
    "LatentExplorer": lambda: LatentExplorer(load_pretrained("melody_vae")),
    "GanExplorer": lambda: GanExplorer(load_pretrained("chorale_gan")),
    "AttentionExplorer": lambda: AttentionExplorer(load_pretrained("melody_transformer"), melody[:128]),
    "HarmoniseWidget": lambda: HarmoniseWidget(load_pretrained("chorale_infill"), max_bars=2),
    "DiffusionExplorer": lambda: DiffusionExplorer(load_pretrained("melody_diffusion"), load_pretrained("melody_vae")),
    "ListeningTest": lambda: ListeningTest({"real": [melody[:64]], "model": [melody[64:128]]}, folder=tempfile.mkdtemp()),
}
failed = 0
for name, make in makers.items():
    try:
        page = make()._repr_mimebundle_()["text/html"]
        print(f"{name}: scores {page.count('data:image/svg+xml')}, sounds {page.count('<audio')}, note {'On Colab' in page}")
    except Exception as error:
        failed += 1
        print(f"{name}: FAILED {type(error).__name__}: {error}")
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
published = []
InteractiveShell.instance().display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
display(ScoreView(melody[:64], title="shown"))
print("displayed as:", [sorted(bundle) for bundle in published])
tokens = sampling.sample(load_pretrained("melody_transformer"), steps=64, seed=1)
print("melody Transformer: 64 steps,", int(encoding.is_note(tokens).sum()), "notes")
chorus = infilling.harmonise(encoding.parse_melody("G4q A4q B4q D5q | C5h B4h"), steps=8, seed=0)
print("harmonised:", len(chorus.voices), "voices; LiteRT:", efficiency.litert_available())
sys.exit(failed)
"""


def _python(argument: str | None) -> str:
    candidates = [
        argument,
        shutil.which("python3.13"),
        *map(str, Path.home().glob(".pyenv/versions/3.13.*/bin/python3.13")),
    ]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    sys.exit("no CPython 3.13 found: pass one")


def main() -> int:
    python = _python(sys.argv[1] if len(sys.argv) > 1 else None)
    folder = Path(tempfile.mkdtemp(prefix="musegen-colab-like-"))
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", folder, ROOT], check=True, capture_output=True
    )
    (wheel,) = folder.glob("*.whl")
    subprocess.run([python, "-m", "venv", folder / "venv"], check=True)
    pip = [folder / "venv" / "bin" / "python", "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *COLAB], check=True)
    # what each chapter's set-up cell runs (the wheel stands in for the repository's address)
    subprocess.run([*pip, "--no-deps", wheel], check=True)
    requirements = subprocess.run(
        [
            folder / "venv" / "bin" / "python",
            "-c",
            "from musegen_widgets import colab; print('\\n'.join(colab.setup_requirements()))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    subprocess.run([*pip, *requirements], check=True)
    work = folder / "run"
    work.mkdir()
    return subprocess.run([folder / "venv" / "bin" / "python", "-c", CHECK], cwd=work).returncode


if __name__ == "__main__":
    sys.exit(main())
