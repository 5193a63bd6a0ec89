"""Chapter 05's figures: the Transformer's key/value-cache sampler against the same numpy stepper re-run over
the prefix (and one compiled Keras call), the SamplerWidget with it, and the held-out NLLs the shipped runs recorded beside the LSTM's and TCN's.

    .venv/bin/python benchmarks/bench_transformer.py
"""

from __future__ import annotations

from bench_sampling import cache_against_recomputing, sampler_latency
from bench_spine import report


def main() -> None:
    from musegen_widgets import models

    model = models.load_pretrained("melody_transformer")
    cache_against_recomputing(model, "Transformer", "target <= 100 ms")
    sampler_latency(model, "SamplerWidget with the Transformer")


def likelihoods() -> None:
    """The test NLLs the shipped runs recorded (``data/MANIFEST.json``), and their training times."""
    from musegen_widgets import files

    manifest = files.read_manifest()
    recorded = {
        name: manifest[f"{name}.weights.h5"] for name in ("melody_lstm", "melody_tcn", "melody_transformer")
    }
    best_other = min(recorded["melody_lstm"]["test_nll"], recorded["melody_tcn"]["test_nll"])
    for name, entry in recorded.items():
        target = f"target <= {best_other:.3f}" if name == "melody_transformer" else ""
        report(f"{name}: test NLL, whole chorales", entry["test_nll"], "nats/step", target)
    for name in ("melody_transformer", "chorale_transformer", "chorale_transformer_absolute"):
        entry = manifest[f"{name}.weights.h5"]
        report(
            f"training of the shipped weights, `{entry['built_by']}`",
            entry["train_seconds"] / 60,
            "min",
            "target <= 30 min",
        )
    relative = manifest["chorale_transformer.weights.h5"]["test_nll"]
    absolute = manifest["chorale_transformer_absolute.weights.h5"]["test_nll"]
    report("four voices S-A-T-B, absolute (sinusoidal) positions: test NLL", absolute, "nats/token")
    report(
        "four voices S-A-T-B, relative attention: test NLL",
        relative,
        "nats/token",
        f"target <= {absolute:.3f}",
    )


if __name__ == "__main__":
    main()
    likelihoods()
