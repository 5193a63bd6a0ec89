"""Chapter 08's figures: the DiffusionExplorer's answer times, and sampling speed of the diffusion models
against the GAN (the same two-bar four-voice passages).

    .venv/bin/python benchmarks/bench_diffusion.py
"""

from __future__ import annotations

import statistics
import time

from bench_spine import median_seconds, report


def main() -> None:
    from musegen_widgets import files, models
    from musegen_widgets.widgets import DiffusionExplorer

    melody, vae = models.load_pretrained("melody_diffusion"), models.load_pretrained("melody_vae")
    guided = models.load_pretrained("melody_diffusion_density")
    explorer = DiffusionExplorer(melody, vae, guided)

    def answer(change) -> float:
        start = time.perf_counter()
        change()
        explorer.refresh()  # what a slider move runs (in a kernel: at the next turn of the loop)
        return time.perf_counter() - start

    for control in (explorer.seed, explorer.step, explorer.label, explorer.guidance, explorer.tries):
        control.unobserve_all()
    step_moves = [answer(lambda v=v: setattr(explorer.step, "value", v)) for v in range(0, 21, 2)]
    seeds = [answer(lambda s=s: setattr(explorer.seed, "value", s)) for s in range(1, 12)]
    explorer.label.value = 2
    guided_seeds = [answer(lambda s=s: setattr(explorer.seed, "value", s)) for s in range(12, 23)]
    explorer.label.value = None
    explorer.mode.value = "infill"
    infills = [answer(lambda s=s: setattr(explorer.seed, "value", s)) for s in range(23, 34)]
    for name, times in (
        ("DiffusionExplorer: step slider (decode only)", step_moves),
        ("DiffusionExplorer: new seed, 20 DDIM steps", seeds),
        ("DiffusionExplorer: new seed, guided (two passes a step)", guided_seeds),
        ("DiffusionExplorer: infill, 20 steps x 3 tries", infills),
    ):
        report(f"{name} (median)", statistics.median(times) * 1000, "ms", "target <= 500 ms")

    choir, gan = models.load_pretrained("chorale_diffusion"), models.load_pretrained("chorale_gan")
    choir.generate(1, steps=2, seed=0)
    gan.generate(1, seed=0)
    report("four voices, GAN: one passage", median_seconds(lambda: gan.generate(1, seed=0), 11) * 1000, "ms")
    for steps in (10, 50):
        report(
            f"four voices, diffusion DDIM {steps}: one passage",
            median_seconds(lambda s=steps: choir.generate(1, steps=s, seed=0), 5) * 1000,
            "ms",
        )
    report("four voices, GAN: 1,000 passages", median_seconds(lambda: gan.generate(1000, seed=0), 3), "s")
    report(
        "four voices, diffusion DDIM 50: 1,000 passages",
        median_seconds(lambda: choir.generate(1000, steps=50, seed=0), 1),
        "s",
    )
    for name in ("melody_diffusion", "melody_diffusion_density", "chorale_diffusion", "chorale_gan"):
        entry = files.read_manifest()[f"{name}.weights.h5"]
        report(f"training, `{entry['built_by']}`", entry["train_seconds"] / 60, "min")


if __name__ == "__main__":
    main()
