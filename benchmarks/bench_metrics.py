"""Chapter 04's metrics at scale: Yang & Lerch's features of 1,000 pieces, and two sets of 1,000 compared.

.venv/bin/python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import time

import numpy as np
from bench_spine import report


def main() -> None:
    from musegen_widgets import data, metrics

    # 1,000 eight-bar melodies: windows of the training chorales in all keys
    melodies = data.augmented(data.load_melodies("train"))
    pieces = [melody[:128] for melody in melodies if (melody[:128] >= 2).any()][:1000]
    others = [melody[128:256] for melody in melodies if (melody[128:256] >= 2).sum() > 1][:1000]
    start = time.perf_counter()
    reference = metrics.features(pieces)
    report("features of 1,000 eight-bar melodies (all 10 features)", time.perf_counter() - start, "s")
    generated = metrics.features(others)
    start = time.perf_counter()
    metrics.compare_sets(reference, generated)
    report(
        "comparing two sets of 1,000 (intra/inter distances, KDE, OA, KL for 10 features)",
        time.perf_counter() - start,
        "s",
    )
    start = time.perf_counter()
    metrics.compare_sets(pieces, others)
    report(
        "all metrics for 1,000 pieces: features of both sets and their comparison",
        time.perf_counter() - start,
        "s",
        "target <= 2 s",
    )
    assert np.isfinite(reference["pitch_range"]).all()

    # MuseGAN's metrics on 1,000 two-bar four-voice passages (what chapter 03 scores a GAN on)
    rolls = np.stack(
        [
            roll[:, s : s + 32]
            for roll in data.load_pianorolls("train")
            for s in range(0, roll.shape[1] - 31, 16)
        ][:1000]
    )
    start = time.perf_counter()
    metrics.multitrack_metrics(rolls)
    report(
        "MuseGAN metrics (EB, UPC, QN, PP, TD) for 1,000 two-bar four-voice rolls",
        time.perf_counter() - start,
        "s",
        "target <= 2 s",
    )


if __name__ == "__main__":
    main()
