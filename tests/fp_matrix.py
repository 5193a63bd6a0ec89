"""Run the notebooks' strict nbval tests under several floating-point set-ups of this CPU.

    .venv/bin/python tests/fp_matrix.py              # every set-up below, one after another
    .venv/bin/python tests/fp_matrix.py sse avx      # some of them

A stored output must come out the same on a teacher's CPU as on ours. The machines here cannot be other
CPUs, but each library that does floating-point arithmetic can be made to take another of its code paths, as
it would on an older or smaller CPU: numpy's OpenBLAS (``OPENBLAS_CORETYPE``), numpy's own SIMD loops
(``NPY_DISABLE_CPU_FEATURES``), TensorFlow's oneDNN (``ONEDNN_MAX_CPU_ISA``, ``TF_ENABLE_ONEDNN_OPTS=0``) and
the number of threads (Eigen, oneDNN and OpenBLAS split their sums by thread). Each set-up runs
``MUSEGEN_FAST=1 pytest --nbval notebooks`` (as CI does, on two workers) in a process of its own, and the
script prints one line per set-up and exits non-zero if any failed. Not part of CI (a run of the notebooks per
set-up, about 10 minutes each on 2 cores); the last results are in ``README.md``. Kernels *above* this CPU's
(AVX-512 where it has none, arm64) cannot be tried here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUPS: dict[str, dict[str, str]] = {
    "default": {},
    "sse": {  # an SSE4-only CPU (x86-64-v2): no AVX anywhere
        "OPENBLAS_CORETYPE": "Nehalem",
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
    },
    "avx": {  # AVX without AVX2 or AVX-512 (Sandy Bridge); numpy's loops at AVX2
        "OPENBLAS_CORETYPE": "Sandybridge",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL",
        "ONEDNN_MAX_CPU_ISA": "AVX",
    },
    "no-onednn-2-threads": {  # TensorFlow's own Eigen kernels; every library on two threads; OpenBLAS's oldest
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "OPENBLAS_CORETYPE": "Prescott",
        "OPENBLAS_NUM_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "TF_NUM_INTRAOP_THREADS": "2",
        "TF_NUM_INTEROP_THREADS": "2",
    },
}
"""Name -> the environment variables that make it (added to this process's environment)."""

ONE_THREAD = dict.fromkeys(
    ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"], "1"
)
"""What ``tests/conftest.py`` sets for a whole test run (which a run of ``notebooks`` alone does not load)."""


def run(name: str) -> dict:
    """One set-up: nbval over every notebook; its outcome, pytest's last line and the minutes it took."""
    env = {**os.environ, "MUSEGEN_FAST": "1", **ONE_THREAD, **SETUPS[name]}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-q", "notebooks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("FAILED")]
    return {
        "setup": name,
        "variables": SETUPS[name],
        "passed": result.returncode == 0,
        "summary": lines[-1] if lines else result.stderr[-300:],
        "failed": failed,
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(SETUPS))
    if unknown:
        print(f"unknown set-ups {unknown}; choose from {sorted(SETUPS)}")
        return 2
    results = []
    for name in names or list(SETUPS):
        results.append(run(name))
        outcome = results[-1]
        print(f"{name:22s} {'pass' if outcome['passed'] else 'FAIL'}  {outcome['summary']}", flush=True)
        for line in outcome["failed"]:
            print(f"    {line}")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "fp-matrix.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0 if all(outcome["passed"] for outcome in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
