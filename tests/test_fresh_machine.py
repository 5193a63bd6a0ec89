"""The README's set-up command works in an empty folder, with nothing from this checkout but its commits.

CI itself runs the README's *test* command in a fresh clone; this test does the same for the *lab*
command: it clones the repository, runs the command exactly as the README shows it (a JupyterLab config
in a private JUPYTER_CONFIG_DIR only picks the port and token and stops a browser from opening), waits
until JupyterLab answers over HTTP and serves chapter 00, and stops it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from test_project import readme_commands

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    folder = tmp_path_factory.mktemp("fresh") / "musegen"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    return folder


def test_readme_lab_command_starts_jupyterlab_on_chapter_00(clone, tmp_path):
    lab_command = readme_commands()[0]
    port, token = free_port(), "fresh-machine"
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(
        f"c.ServerApp.port = {port}\nc.ServerApp.ip = '127.0.0.1'\nc.ServerApp.open_browser = False\n"
        f"c.ServerApp.allow_root = True\nc.IdentityProvider.token = '{token}'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "JUPYTER", "MUSEGEN"))}
    env["JUPYTER_CONFIG_DIR"] = str(config)
    log = tmp_path / "lab.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", lab_command],
            cwd=clone,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20 * 60  # creating the environment installs everything
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                assert process.poll() is None, f"the lab command stopped early:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, "JupyterLab did not answer within 20 minutes"
                time.sleep(2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=30) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
        # given a notebook, JupyterLab serves its folder, notebooks/, and opens the notebook
        url = f"http://127.0.0.1:{port}/api/contents/00_music_as_data.ipynb?token={token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            notebook = json.load(response)
        assert notebook["content"]["cells"][0]["source"].startswith("# 00 · Music as data")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    # The learner's environment holds the course as a package, with its data and its save hook, and no test
    # tools (the test command installs those)
    code = (
        "import importlib.util, json, sys; import musegen_widgets; from musegen_widgets import files; "
        "print(json.dumps([musegen_widgets.__file__, str(files.data_dir()), "
        "[m for m in ('pytest', 'nbval', 'playwright', 'ruff') if importlib.util.find_spec(m)]]))"
    )
    report = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert report.returncode == 0, report.stderr[-3000:]
    package, data_dir, tools = json.loads(report.stdout)
    venv = (clone / ".venv").resolve()
    assert Path(package).resolve().is_relative_to(venv) and Path(data_dir).resolve().is_relative_to(venv)
    assert tools == []
    assert (venv / "etc/jupyter/jupyter_server_config.d/musegen_widgets.json").exists()
