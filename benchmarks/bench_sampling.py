"""Chapter 01's figures: incremental sampling against a naive prefix re-run, the SamplerWidget's
slider-to-sound latency, and what the training runs of the shipped models recorded.

    .venv/bin/python benchmarks/bench_sampling.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from bench_spine import median_seconds, report


def cache_against_recomputing(model, label: str, target: str) -> None:
    """A 256-step sample with the numpy stepper, keeping its state (an LSTM's h and c, a TCN's queues, a
    Transformer's keys and values) and re-running it over the whole prefix for every token
    (:class:`~musegen_widgets.efficiency.WithoutCache`): one engine, with and without the trick; and, for
    comparison, one call of the Keras model compiled once for 256 tokens (what each step of a sampler without
    a cache would cost in Keras)."""
    from musegen_widgets import efficiency, sampling

    sampling.sample(model, steps=8, seed=0)  # warm up
    kept = median_seconds(lambda: sampling.sample(model, steps=256, seed=0), 7)
    recomputed = median_seconds(lambda: sampling.sample(efficiency.WithoutCache(model), steps=256, seed=0), 1)
    keras_call = efficiency.generation_latency(model, steps=256, repeats=5)["keras_step"]
    report(f"{label} 256-step sample, numpy stepper keeping its state", kept * 1000, "ms", target)
    report(f"{label} 256-step sample, the same stepper re-run over the prefix", recomputed * 1000, "ms")
    report(f"{label}: speed-up of keeping the state (same engine)", recomputed / kept, "x", "target >= 10x")
    report(f"{label}: one compiled Keras call over 256 tokens", keras_call * 1000, "ms")


def main() -> None:
    from musegen_widgets import models, sampling

    model = models.load_pretrained("melody_lstm")
    cache_against_recomputing(model, "LSTM", "target <= 35 ms")

    tcn = models.load_pretrained("melody_tcn")
    sampling.sample(tcn, steps=8, seed=0)
    report(
        "256-step sample, incremental (numpy TCN stepper, a queue per block)",
        median_seconds(lambda: sampling.sample(tcn, steps=256, seed=0), 7) * 1000,
        "ms",
    )

    sampler_latency(model, "SamplerWidget")


def sampler_latency(model, name: str) -> None:
    """Slider to sound, 8 bars: the sample, score and audio alone, and the widget's whole refresh (with the
    probability strip; the MIDI/MusicXML downloads are made only when asked). The sample is the call the
    widget makes, :func:`~musegen_widgets.sampling.sample_with_probabilities` with the widget's settings and
    primer (checked: the widget shows the same melody)."""
    from musegen_widgets import audio, data, render, sampling
    from musegen_widgets.widgets import SamplerWidget

    widget = SamplerWidget(model)
    widget.bars.value = 8
    widget.seed.unobserve_all()  # each seed is shown by the timed refresh below, not by the slider's handler
    assert widget.cut.value == "top-p"  # the widget's default cut, as in the settings below
    chorales = dict(zip(data.chorale_ids("test"), data.load_melodies("test")))
    settings = {
        "steps": 16 * widget.bars.value,
        "temperature": widget.temperature.value,
        "top_p": widget.top_p.value,
        "primer": chorales[widget.primer.value][: 16 * widget.primer_bars],
    }
    ready, everything = [], []
    for seed in range(1, 21):
        start = time.perf_counter()
        tokens, _ = sampling.sample_with_probabilities(model, seed=seed, **settings)
        render.score_svg(tokens)
        audio.wav_bytes(tokens)
        ready.append(time.perf_counter() - start)
        widget.seed.value = seed
        start = time.perf_counter()
        widget.refresh()
        everything.append(time.perf_counter() - start)
        assert np.array_equal(widget.tokens, tokens), "the widget shows another melody than the one timed"
    report(
        f"{name}, 8 bars: slider -> sample + score + audio ready (median)",
        statistics.median(ready) * 1000,
        "ms",
        "target <= 100 ms",
    )
    report(
        f"{name}, 8 bars: slider -> the whole refresh (median)",
        statistics.median(everything) * 1000,
        "ms",
    )


def training() -> None:
    """What the training commands recorded beside the shipped weights (``data/MANIFEST.json``, histories)."""
    import json

    from musegen_widgets import data, files, generators

    folder = data.data_dir()
    manifest = files.read_manifest(folder)
    # The shipped runs' own times, as their training command recorded them; runs that shared the cores with
    # other trainings took longer than alone (the notes below give a melody LSTM run timed alone).
    for name in ("melody_lstm", "melody_tcn", "frame_lstm"):
        entry = manifest[f"{name}.weights.h5"]
        history = json.loads((folder / f"{name}.history.json").read_text())
        report(
            f"training of the shipped weights, `{entry['built_by']}` ({len(history['epoch'])} epochs)",
            entry["train_seconds"] / 60,
            "min",
        )
        per_epoch = np.diff([0.0, *history["seconds"]])
        report(f"  {name}: seconds per epoch (median, validation included)", float(np.median(per_epoch)), "s")
    yardstick = generators.yardstick()  # chapter 01's n-gram, order chosen on valid
    valid_nll = yardstick.nll(data.load_melodies("valid"))
    test_nll = yardstick.nll(data.load_melodies("test"))
    for name in ("melody_lstm", "melody_tcn"):
        history = json.loads((folder / f"{name}.history.json").read_text())
        reached = [e for e, nll in zip(history["epoch"], history["valid_nll"]) if nll < valid_nll]
        seconds = history["seconds"][history["epoch"].index(reached[0])] if reached else float("nan")
        report(
            f"{name}: time to beat the Kneser-Ney {yardstick.order}-gram on valid ({valid_nll:.3f} nats)",
            seconds / 60,
            "min",
        )
        report(
            f"{name}: test NLL, whole chorales",
            manifest[f"{name}.weights.h5"]["test_nll"],
            "nats/step",
            f"target <= {test_nll:.3f}",
        )
    report(
        "frame_lstm: test NLL, whole chorales", manifest["frame_lstm.weights.h5"]["test_nll"], "nats/frame"
    )


if __name__ == "__main__":
    main()
    training()
