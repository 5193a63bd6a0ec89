"""Shared fixtures: broken files made by the tests, and for tests/browser a real JupyterLab and Chromium.

Chromium comes from Debian's package (``apt-get install -y chromium``), installed here when missing and the
tests run as root on a Debian-like machine; Playwright never downloads a browser of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from musegen_widgets import music21_io

import pytest
from samples import GOOD_TOKENS, sine_soundfont

# One compute thread per process for the whole test run. It runs two pytest workers, each with a notebook
# kernel or a JupyterLab kernel and Chromium beside it, on two cores; with numpy's OpenBLAS and
# TensorFlow's thread pools at their default of one thread per core, each process's threads spin while
# they wait for a core the others hold (measured: chapter 06's nbval run took 86 s alone and over 9 min
# beside the browser tests). Set when pytest loads this file, before the workers start, so that they, the
# kernels they launch and the JupyterLab server inherit it; a learner's notebooks keep every core.
for _variable in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
):
    os.environ.setdefault(_variable, "1")


def pytest_collection_modifyitems(items):
    """The long files first: the notebooks, then the files with browser or slow tests, then the rest.

    The two workers take whole files (``--dist loadfile``) in this order (``--no-loadscope-reorder``; xdist's
    own order, by number of tests, put a one-test file of a minute last, where the other worker had nothing
    left to do): the many short files at the end fill in while the other worker finishes a long one.
    """

    def rank(item) -> int:
        if item.nodeid.startswith("notebooks/"):
            return 0
        return 1 if item.get_closest_marker("browser") or item.get_closest_marker("slow") else 2

    items.sort(key=rank)  # stable: the collection's order within each rank


@pytest.fixture
def good_midi(tmp_path: Path) -> Path:
    return music21_io.write_midi(GOOD_TOKENS, tmp_path / "good.mid")


@pytest.fixture
def bad_files(tmp_path: Path, good_midi: Path) -> dict[str, Path]:
    """Files a learner might really upload, each broken in its own way."""
    files = {
        "empty.mid": b"",
        "truncated.mid": good_midi.read_bytes()[:30],
        "not_midi.mid": b"This is a text file that someone renamed.\n" * 3,
        "malformed.musicxml": b"<?xml version='1.0'?><score-partwise><part-list><score-part id='P1'>",
        "no_notes.musicxml": music21_io.musicxml_bytes(GOOD_TOKENS)
        .replace(b"<note", b"<!--note")
        .replace(b"</note>", b"</note-->"),
        "picture.png": b"\x89PNG\r\n\x1a\n",
    }
    files["absurd.mid"] = _midi_with_a_note_at(quarter=5000)  # a stray note two hours in
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    return paths


def _midi_with_a_note_at(quarter: float) -> bytes:
    import music21

    part = music21.stream.Part()
    part.insert(0, music21.note.Note("C4", quarterLength=1))
    part.insert(quarter, music21.note.Note("D4", quarterLength=1))
    return music21.midi.translate.streamToMidiFile(part).writestr()


# ------------------------------------------------------------------ real JupyterLab and Chromium

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "musegen-browser-tests"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def tinysoundfont():
    """The optional SoundFont player, installed here when missing (as CI's clean environment has it).

    ``--no-deps``: tinysoundfont depends on PyAudio for live playback, which we do not use and which needs
    PortAudio's C headers to build.
    """
    try:
        import tinysoundfont
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "tinysoundfont==0.3.7"], check=True
        )
        import importlib

        importlib.invalidate_caches()
        import tinysoundfont
    return tinysoundfont


@pytest.fixture
def sine_sf2(tmp_path: Path, tinysoundfont) -> Path:
    path = tmp_path / "sine.sf2"
    path.write_bytes(sine_soundfont())
    return path


def _install_chromium() -> None:
    if CHROMIUM.exists():
        return
    if getattr(os, "geteuid", lambda: -1)() != 0 or shutil.which("apt-get") is None:  # none on Windows
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    assert CHROMIUM.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(folder: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    """A JupyterLab server (which also serves Notebook 7) on ``folder``, as a first-time user's: no saved
    settings or workspaces from earlier runs. Yields its URL; stopped, and ``folder`` removed, afterwards."""
    port = free_port()
    log = open(folder / "jupyter.log", "wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.news_url=",
            "--ServerApp.disable_check_xsrf=False",
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "MUSEGEN_FAST": "1",
            "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
            **(env or {}),
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError((folder / "jupyter.log").read_text()) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not answer within 60 s")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_url():
    """A JupyterLab server on a copy of notebooks/, so that autosave never touches the course."""
    folder = Path(tempfile.mkdtemp(prefix="musegen-lab-"))
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    with jupyter_server(folder) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    """Chromium, driven by Playwright, for one test file. Not for the whole session: while Playwright's sync
    API is open, an asyncio loop counts as running in the worker, and the widget tests that a worker runs
    after a browser file would see their refreshes scheduled on it (``run_soon``) instead of done at once."""
    _install_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab_url):
    """A fresh browser context (its own empty profile), with console errors collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{lab_url}/lab?token={TOKEN}")  # logs in: the server answers with a cookie
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            page.console_errors.append(f"HTTP {response.status} for {response.url}")
            if response.status >= 400
            else None
        ),
    )
    yield page
    context.close()
