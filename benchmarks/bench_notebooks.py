"""Every notebook run top to bottom in normal mode (shipped weights, not CI's fast mode): wall time and
the kernel's peak memory, which must stay below 1.2 GB so that the course fits Binder (it kills at 2 GB).

    .venv/bin/python benchmarks/bench_notebooks.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from bench_spine import ROOT, report


def run_notebook(notebook: Path) -> tuple[float, float]:
    """Execute a notebook with nbconvert; return wall seconds and the kernel's peak RSS in MB."""
    env = {k: v for k, v in os.environ.items() if k != "MUSEGEN_FAST"}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--ExecutePreprocessor.timeout=3600",
                "--output-dir",
                folder,
                str(notebook),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        parent = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                for child in parent.children(recursive=True):
                    if "ipykernel" in " ".join(child.cmdline()):
                        peak = max(peak, child.memory_info().rss)
            except psutil.Error:
                pass  # a process ended between listing and reading it
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if process.returncode:
            raise RuntimeError(f"{notebook.name} failed:\n{process.stderr.read().decode()[-2000:]}")
    return seconds, peak / 2**20


def main() -> None:
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        seconds, peak_mb = run_notebook(notebook)
        report(f"{notebook.stem}: kernel peak RSS, normal mode", peak_mb, "MB", "target <= 1200 MB")
        report(f"{notebook.stem}: wall time, normal mode", seconds, "s")


if __name__ == "__main__":
    main()
