"""Chapter 03's figures: the GanExplorer's slider-to-sound latency, generation speed, and the quality table
of the shipped chorale GAN (1,000 passages against the test split, MuseGAN's metrics per voice).

    .venv/bin/python benchmarks/bench_gan.py
"""

from __future__ import annotations

import statistics
import time

from bench_spine import median_seconds, report


def main() -> None:
    from musegen_widgets import audio, files, models, render
    from musegen_widgets.widgets import GanExplorer

    import numpy as np

    gan = models.load_pretrained("chorale_gan")
    gan.generate(1, seed=0)  # warm up
    report("GAN: one two-bar passage", median_seconds(lambda: gan.generate(1, seed=0), 21) * 1000, "ms")
    report("GAN: 1,000 passages", median_seconds(lambda: gan.generate(1000, seed=0), 3), "s")

    explorer = GanExplorer(gan)
    ready, everything = [], []
    for step in range(12):
        explorer.moves["tenor"].unobserve_all()
        explorer.moves["tenor"].value = -3 + step * 0.5
        start = time.perf_counter()
        shared, voices = explorer.latents()
        roll = gan.generate(1, seed=explorer.seed.value, shared_z=shared, voice_z=voices)[0]
        render.score_svg(roll, time_signature="4/4")
        audio.wav_bytes(roll, time_signature="4/4")
        ready.append(time.perf_counter() - start)
        start = time.perf_counter()
        explorer.refresh()
        everything.append(time.perf_counter() - start)
    report(
        "GanExplorer: slider -> passage + score + audio ready (median)",
        statistics.median(ready) * 1000,
        "ms",
        "target <= 150 ms",
    )
    report(
        "GanExplorer: slider -> the whole refresh (median)",
        statistics.median(everything) * 1000,
        "ms",
    )

    entry = files.read_manifest()["chorale_gan.weights.h5"]
    report(f"training, `{entry['built_by']}`", entry["train_seconds"] / 60, "min")
    voices = "SATB"
    pairs = ["SA", "ST", "SB", "AT", "AB", "TB"]
    for name, row in entry["quality"].items():
        labels = pairs if name == "tonal_distance" else ["all"] if name == "texture_polyphonicity" else voices
        for label, index in zip(labels, range(len(row["generated"]))):
            generated = row["generated"][index]
            if name == "voice_range":
                report(
                    f"  GAN {name.replace('_', ' ')}, {label}: share of notes inside",
                    generated,
                    "",
                    "target >= 0.95",
                )
                continue
            real = row["reference"][index]
            report(
                f"  GAN {name.replace('_', ' ')}, {label} (real {real:.3f})",
                abs(generated - real) / abs(real) if real else float(generated != 0),
                "relative gap",
                "target <= 0.2",
            )
    assert np.isfinite(entry["train_seconds"])


if __name__ == "__main__":
    main()
