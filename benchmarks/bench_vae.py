"""Chapter 02's figures: the LatentExplorer's slider-to-sound latency, decoding speed, and what the VAE's
training run recorded (time, test accuracy, KL, active dimensions).

    .venv/bin/python benchmarks/bench_vae.py
"""

from __future__ import annotations

import statistics
import time

from bench_spine import median_seconds, report


def main() -> None:
    from musegen_widgets import audio, files, models, render
    from musegen_widgets.widgets import LatentExplorer

    import numpy as np

    vae = models.load_pretrained("melody_vae")
    codes = np.random.default_rng(0).standard_normal((64, vae.latent))
    vae.decode(codes[:1])  # warm up
    report(
        "VAE: greedy decode of one two-bar code (numpy)",
        median_seconds(lambda: vae.decode(codes[:1]), 21) * 1000,
        "ms",
    )
    report(
        "VAE: greedy decode of 64 codes at once (numpy)",
        median_seconds(lambda: vae.decode(codes), 7) * 1000,
        "ms",
    )

    # Slider to sound: decode the code, engrave, synthesize (what the learner waits for); then the widget's
    # whole refresh, the latent map included (downloads are made only when asked).
    explorer = LatentExplorer(vae)
    ready, everything = [], []
    for step in range(11):
        explorer.alpha.unobserve_all()
        explorer.alpha.value = step / 10
        start = time.perf_counter()
        tokens = vae.decode(explorer.code())[0]
        render.score_svg(tokens, time_signature="4/4")
        audio.wav_bytes(tokens, time_signature="4/4")
        ready.append(time.perf_counter() - start)
        start = time.perf_counter()
        explorer.refresh()
        everything.append(time.perf_counter() - start)
    report(
        "LatentExplorer: slider -> decode + score + audio ready (median)",
        statistics.median(ready) * 1000,
        "ms",
        "target <= 150 ms",
    )
    report(
        "LatentExplorer: slider -> the whole refresh, map included (median)",
        statistics.median(everything) * 1000,
        "ms",
        "target <= 150 ms",
    )

    manifest = files.read_manifest()
    for name in ("melody_vae", "melody_vae_collapsed"):
        entry = manifest[f"{name}.weights.h5"]
        report(f"training, `{entry['built_by']}`", entry["train_seconds"] / 60, "min")
        bar = name == "melody_vae"
        report(
            f"  {name}: test teacher-forced accuracy",
            entry["test_teacher_forced_accuracy"],
            "",
            "target >= 0.95" if bar else "",
        )
        report(f"  {name}: test greedy accuracy", entry["test_greedy_accuracy"], "")
        report(f"  {name}: test KL", entry["test_kl"], "nats/segment")
        report(
            f"  {name}: active latent dimensions (variance of the posterior mean > 0.01)",
            entry["test_active_dimensions"],
            "of 32",
            "target >= 8" if bar else "",
        )


if __name__ == "__main__":
    main()
