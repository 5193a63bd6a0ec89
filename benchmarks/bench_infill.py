"""Chapter 06's figures: how long harmonising eight bars takes (blocked Gibbs and ancestral sampling), the
voice leading of the harmonised test sopranos beside Bach's, and the shipped run's scores.

    .venv/bin/python benchmarks/bench_infill.py
"""

from __future__ import annotations

from bench_spine import median_seconds, report

EIGHT_BARS = 8 * 16


def main() -> None:
    from musegen_widgets import data, encoding, infilling, models

    model = models.load_pretrained("chorale_infill")
    soprano = encoding.Piece((data.load_pieces("test", meter="4/4")[0].voices[0],))
    melody = encoding.Piece((soprano.voices[0][soprano.voices[0][:, 1] < EIGHT_BARS],), length=EIGHT_BARS)
    infilling.harmonise(melody, model=model, steps=2, seed=0)  # warm up
    gibbs = median_seconds(lambda: infilling.harmonise(melody, model=model, seed=0), 7)
    report(
        f"harmonise 8 bars: blocked Gibbs, {infilling.DEFAULT_GIBBS_STEPS} rounds (numpy)",
        gibbs * 1000,
        "ms",
        "target <= 1000 ms",
    )
    ancestral = median_seconds(
        lambda: infilling.harmonise(melody, model=model, method="ancestral", seed=0), 3
    )
    report("harmonise 8 bars: ancestral, one pass per cell (384 passes)", ancestral * 1000, "ms")
    widget_update(model)
    beside_a_busy_process(model, melody)


def widget_update(model) -> None:
    """HarmoniseWidget on its first chorale's eight bars: a seed change -> Gibbs, score, audio."""
    import statistics
    import time

    from musegen_widgets.widgets import HarmoniseWidget

    widget = HarmoniseWidget(model)
    times = []
    for seed in range(1, 8):
        start = time.perf_counter()
        widget.seed.value = seed
        times.append(time.perf_counter() - start)
    report(
        "HarmoniseWidget, 8 bars: seed -> new four voices shown (median of 7)",
        statistics.median(times) * 1000,
        "ms",
        "target <= 1500 ms",
    )


BUSY = """
import time, numpy as np
a = np.random.default_rng(0).random((600, 600))
while True:
    a @ a
"""


def beside_a_busy_process(model, melody) -> None:
    """Harmonising 8 bars while a second process multiplies matrices on two threads (a classmate's kernel on
    the same machine): the sampler as shipped (numpy's BLAS on one thread, ``numerics.one_blas_thread``)
    and the same sampler on BLAS's default threads (one per core)."""
    import contextlib
    import os
    import statistics
    import subprocess
    import sys
    import time

    from musegen_widgets import infilling

    def timed(runs: int = 12) -> tuple[float, float]:
        times = []
        for seed in range(runs):
            start = time.perf_counter()
            infilling.harmonise(melody, model=model, seed=seed)
            times.append(time.perf_counter() - start)
        return statistics.median(times), max(times)

    alone = timed()
    busy = subprocess.Popen([sys.executable, "-c", BUSY], env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    try:
        time.sleep(2)
        shipped = timed()
        one_thread = infilling.one_blas_thread
        infilling.one_blas_thread = contextlib.nullcontext  # BLAS's default: a thread per core
        try:
            default_threads = timed()
        finally:
            infilling.one_blas_thread = one_thread
    finally:
        busy.kill()
    report("harmonise 8 bars alone (median of 12)", alone[0] * 1000, "ms", "target <= 1000 ms")
    for name, (median, worst) in (
        ("one BLAS thread, as shipped", shipped),
        ("BLAS's default threads", default_threads),
    ):
        report(
            f"harmonise 8 bars beside a busy 2-thread process, {name} (median of 12; slowest {worst * 1000:,.0f} ms)",
            median * 1000,
            "ms",
            "target <= 1000 ms",
        )


def quality() -> None:
    """Voice leading of the harmonised held-out sopranos against the real held-out chorales (4/4)."""
    from musegen_widgets import data, encoding, files, generators, metrics

    held_out = [piece for split in ("valid", "test") for piece in data.load_pieces(split, meter="4/4")]
    real = [encoding.encode_satb(p).reshape(-1, 4) for p in held_out]
    harmonised = [encoding.encode_satb(p).reshape(-1, 4) for p in generators.harmonised_held_out_chorales()]
    bach, ours = metrics.voice_leading(real), metrics.voice_leading(harmonised)
    for name in ("parallel fifths", "parallel octaves", "voice crossings"):
        unit = metrics.RATES[name][1]
        report(f"Bach's held-out chorales: {name}", bach[name], f"/100 {unit}")
        report(
            f"held-out sopranos harmonised: {name}",
            ours[name],
            f"/100 {unit}",
            f"target <= {2 * bach[name]:.2f}",
        )
    entry = files.read_manifest()["chorale_infill.weights.h5"]
    report("chorale_infill: test NLL by orderless NADE", entry["test_nll"], "nats/cell")
    report(
        f"training of the shipped weights, `{entry['built_by']}`",
        entry["train_seconds"] / 60,
        "min",
        "target <= 30 min",
    )


if __name__ == "__main__":
    main()
    quality()
