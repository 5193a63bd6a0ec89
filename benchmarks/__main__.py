"""Run every benchmark and rewrite the results table in benchmarks/README.md.

    .venv/bin/python -m benchmarks           # spine figures, every notebook's memory and time
    .venv/bin/python -m benchmarks --ci      # also time the README's test command in a fresh clone

The table between the ``results`` markers of the README is replaced; the notes around it are kept.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_bad_files  # noqa: E402
import bench_diffusion  # noqa: E402
import bench_efficiency  # noqa: E402
import bench_gan  # noqa: E402
import bench_infill  # noqa: E402
import bench_metrics  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_sampling  # noqa: E402
import bench_spine  # noqa: E402
import bench_transformer  # noqa: E402
import bench_vae  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def time_ci() -> None:
    """The README's test command, as CI runs it: a fresh clone, a new environment, every test. Its output
    goes to ``musegen-ci.log`` in the temporary folder, which a failure names."""
    log = Path(tempfile.gettempdir()) / "musegen-ci.log"
    with tempfile.TemporaryDirectory() as folder:
        clone = Path(folder) / "musegen"
        subprocess.run(["git", "clone", "-q", str(bench_spine.ROOT), str(clone)], check=True)
        start = time.perf_counter()
        with open(log, "wb") as output:
            returncode = subprocess.run(
                ["bash", ".ci/run"], cwd=clone, stdout=output, stderr=subprocess.STDOUT
            ).returncode
        if returncode:
            sys.exit(f".ci/run failed in a fresh clone (exit {returncode}); its output: {log}")
        bench_spine.report(
            "CI: .ci/run in a fresh clone, set-up included",
            (time.perf_counter() - start) / 60,
            "min",
            "target <= 20 min",
        )


def table(rows: list[dict]) -> str:
    import music21
    import numpy
    import verovio

    lines = [
        f"Last written by `python -m benchmarks` on {datetime.date.today()} on this project's machine "
        f"({platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, verovio {verovio.toolkit().getVersion()}, music21 {music21.__version__}).",
        "",
        "| figure | measured | target | met? |",
        "|---|---|---|---|",
    ]
    for row in rows:
        magnitude = abs(row["value"])
        value = (
            f"{row['value']:,.3f}"
            if magnitude < 10
            else f"{row['value']:,.1f}"
            if magnitude < 1e5
            else f"{row['value']:,.0f}"
        )
        lines.append(f"| {row['figure']} | {value} {row['unit']} | {row['target']} | {row['met']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and rewrite benchmarks/README.md.")
    parser.add_argument("--ci", action="store_true", help="also time .ci/run in a fresh clone (minutes)")
    arguments = parser.parse_args()
    bench_spine.bench_import()
    bench_spine.bench_render()
    bench_spine.bench_synth()
    bench_spine.bench_score_view()
    bench_spine.bench_rebuild()
    bench_sampling.main()
    bench_sampling.training()
    bench_transformer.main()
    bench_transformer.likelihoods()
    bench_infill.main()
    bench_infill.quality()
    bench_vae.main()
    bench_gan.main()
    bench_diffusion.main()
    bench_metrics.main()
    bench_bad_files.main()
    bench_efficiency.main()
    bench_notebooks.main()
    write_table()  # before the slow CI run, so that a failure there loses none of the figures
    if arguments.ci:
        time_ci()
        write_table()


def write_table() -> None:
    text = README.read_text()
    before, rest = text.split(START)
    _, after = rest.split(END)
    README.write_text(f"{before}{START}\n{table(bench_spine.ROWS)}\n{END}{after}")
    print(f"wrote {README}")


main()
