"""Chapter 07's figures: what int8 weights save in bytes and cost in NLL, what they buy in time on numpy and on
LiteRT, a generated step with and without a cache, and a dense product with 90 % zeros.

    .venv/bin/python benchmarks/bench_efficiency.py
"""

from __future__ import annotations

import time

import numpy as np
from bench_spine import report

MELODY_MODELS = [
    "melody_lstm",
    "melody_tcn",
    "melody_transformer",
    "melody_transformer_small",
    "melody_transformer_distilled",
]


def _per_call(function, n: int) -> float:
    function()
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n


def main() -> None:
    from musegen_widgets import compression, data, efficiency, encoding, files, models
    from musegen_widgets.metrics import sequence_nll

    test = data.load_melodies("test")
    for name in ["melody_lstm", "melody_tcn", "melody_transformer"]:
        model = models.load_pretrained(name)
        weights = model.get_weights()
        float_nll = sequence_nll(model, test)
        quantized = compression.quantize_weights(weights)
        model.set_weights(compression.dequantize_weights(quantized))
        report(
            f"{name}: bytes float32 / int8",
            compression.weight_bytes(weights) / compression.weight_bytes(quantized),
            "x",
            "target >= 3.5x",
        )
        report(
            f"{name}: NLL change with int8 weights",
            abs(sequence_nll(model, test) - float_nll),
            "nats",
            "target <= 0.01 nats",
        )
    for name in MELODY_MODELS:
        timing = efficiency.generation_latency(models.load_pretrained(name), steps=256, repeats=5)
        report(f"{name}: 256-step sample, numpy stepper", timing["numpy_sample"] * 1e3, "ms")
        report(f"{name}: 256-step sample, Keras without a cache", timing["keras_sample"], "s")
    manifest = files.read_manifest()
    students = ["melody_transformer_small", "melody_transformer_distilled"]
    nll = {name: manifest[f"{name}.weights.h5"]["test_nll"] for name in students}
    recipe = models.RECIPES["melody_transformer_distilled"]
    teacher = models.Ensemble([models.load_pretrained(name) for name in recipe.teachers])
    teacher_nll = sequence_nll(teacher, test)
    report("distillation: the teacher (ensemble), held-out NLL", teacher_nll, "nats")
    report(
        "distillation: share of the student-teacher gap closed",
        (nll["melody_transformer_small"] - nll["melody_transformer_distilled"])
        / (nll["melody_transformer_small"] - teacher_nll)
        * 100,
        "%",
        "target >= 50 %",
    )
    lstm = models.load_pretrained("melody_lstm")
    steppers = {"numpy float32": lstm.stepper()}
    steppers["LiteRT float32"] = efficiency.litert_lstm_step(lstm, int8=False)
    steppers["LiteRT int8"] = efficiency.litert_lstm_step(lstm, int8=True)
    for label, stepper in steppers.items():
        report(
            f"melody LSTM, one step, {label}",
            _per_call(lambda s=stepper: s.feed(encoding.HOLD), 3000) * 1e6,
            "us",
        )
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(1024, 320)).astype(np.float32)
    pruned = weight * compression.magnitude_masks([weight], 0.9)[0]
    x = rng.normal(size=320).astype(np.float32)
    report(
        "dense product: 90 % zeros / no zeros (time)",
        _per_call(lambda: pruned @ x, 20000) / _per_call(lambda: weight @ x, 20000),
        "x",
    )


if __name__ == "__main__":
    main()
