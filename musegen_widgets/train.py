"""Train the course's models from the chorales and ship their weights: one command per model.

    python -m musegen_widgets.train melody_lstm           # about 15 minutes on 2 cores
    python -m musegen_widgets.train melody_lstm --fast    # a tiny model for a few steps (what CI runs)

Weights go to ``data/`` atomically, with their SHA-256, the command and the held-out scores in
``data/MANIFEST.json``; a loss-curve plot and the per-epoch history go beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import data
from .encoding import HOLD
from .errors import MusegenError

__all__ = ["melody_batches", "train_melody_lstm", "MODELS"]


def melody_batches(melodies, batch_size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whole melodies in batches of similar length: inputs, next-token targets, and a 0/1 weight per step.

    Training on whole chorales from their first step, with padding masked out, matches how the model is
    scored (every token given all before it), unlike fixed windows that start mid-piece with no context.
    """
    rng = np.random.default_rng(seed)
    order = np.argsort([len(m) + rng.random() for m in melodies])  # similar lengths, ties shuffled
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = [melodies[i] for i in order[start : start + batch_size]]
        # a few fixed lengths: each new input shape costs TensorFlow a second or more to trace
        length = -(-max(len(m) for m in chosen) // 64) * 64 + 1
        tokens = np.full((len(chosen), length), HOLD, dtype=np.int32)
        weights = np.zeros((len(chosen), length - 1), dtype=np.float32)
        for row, melody in enumerate(chosen):
            tokens[row, : len(melody)] = melody
            weights[row, : len(melody) - 1] = 1.0
        batches.append((tokens[:, :-1], tokens[:, 1:], weights))
    rng.shuffle(batches)
    return batches


def _write_weights(model, name: str, folder: Path, record: dict) -> Path:
    """Save weights to ``folder/name.weights.h5`` atomically and record them in the manifest."""
    final = folder / f"{name}.weights.h5"
    temporary = folder / f".{name}.tmp.weights.h5"  # Keras insists on the suffix
    model.save_weights(temporary)
    os.replace(temporary, final)
    data._record_in_manifest(
        folder, final.name, {"sha256": hashlib.sha256(final.read_bytes()).hexdigest(), **record}
    )
    return final


def train_melody_lstm(
    fast: bool = False, folder: Path | None = None, epochs: int = 40, seed: int = 0
) -> dict:
    """Train :class:`~musegen_widgets.models.melody_lstm.MelodyLSTM` with transposition augmentation.

    Early stopping keeps the weights with the best NLL on the valid split; the test split is scored once,
    at the end. In ``fast`` mode a tiny model trains on a few melodies for two short epochs and nothing
    is written unless ``folder`` is given.
    """
    import keras

    from .metrics import sequence_nll
    from .models.melody_lstm import MelodyLSTM

    keras.utils.set_random_seed(seed)
    train = data.load_melodies("train")
    valid = data.load_melodies("valid")
    if fast:
        train, valid, epochs = train[:8], valid[:4], 2
    augmented = [shifted for melody in train for shifted in data.transpositions(melody)]
    config = (
        {"units": 16, "n_layers": 1, "embedding": 8}
        if fast
        else {"units": 256, "n_layers": 2, "embedding": 64}
    )
    model = MelodyLSTM(**config, dropout=0.3)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=4e-3, weight_decay=1e-4, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = {"epoch": [], "train_loss": [], "valid_nll": [], "seconds": []}
    best = {"valid_nll": np.inf, "weights": None, "epoch": -1}
    patience, start = 3, time.perf_counter()
    for epoch in range(epochs):
        batches = melody_batches(augmented, batch_size=32, seed=seed + epoch)
        progress = keras.utils.Progbar(len(batches), stateful_metrics=["loss"])
        losses = []
        for x, y, w in batches:
            losses.append(float(model.train_on_batch(x, y, sample_weight=w)) * w.size / w.sum())
            progress.add(1, values=[("loss", np.mean(losses[-20:]))])
        valid_nll = sequence_nll(model, valid)
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(float(np.mean(losses)))
        history["valid_nll"].append(valid_nll)
        history["seconds"].append(time.perf_counter() - start)
        print(
            f"epoch {epoch + 1}: train loss {np.mean(losses):.4f}, valid NLL {valid_nll:.4f} nats/step",
            flush=True,
        )
        if valid_nll < best["valid_nll"]:
            best = {"valid_nll": valid_nll, "weights": model.get_weights(), "epoch": epoch + 1}
        elif epoch + 1 - best["epoch"] >= patience:
            print(f"no improvement for {patience} epochs: stopping, keeping epoch {best['epoch']}")
            break
    model.set_weights(best["weights"])
    result = {
        "config": config,
        "best_epoch": best["epoch"],
        "valid_nll": best["valid_nll"],
        "test_nll": sequence_nll(model, data.load_melodies("test")),
        "train_seconds": time.perf_counter() - start,
        "history": history,
        "model": model,
    }
    if folder is not None or not fast:
        folder = Path(folder) if folder is not None else data.data_dir()
        record = {
            key: result[key] for key in ("config", "best_epoch", "valid_nll", "test_nll", "train_seconds")
        }
        record["built_by"] = "python -m musegen_widgets.train melody_lstm"
        record["keras"] = keras.__version__
        _write_weights(model, "melody_lstm", folder, record)
        (folder / "melody_lstm.history.json").write_text(json.dumps(history, indent=1) + "\n")
        _plot_history(history, folder / "melody_lstm.curve.png")
    return result


def _plot_history(history: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(history["epoch"], history["train_loss"], marker="o", label="train (augmented, with dropout)")
    ax.plot(history["epoch"], history["valid_nll"], marker="o", label="valid (whole chorales)")
    ax.set(xlabel="epoch", ylabel="nats per 16th step", title="Melody LSTM")
    ax.legend()
    figure.savefig(path, dpi=90)


MODELS = {"melody_lstm": train_melody_lstm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Train a model of the course and write its weights to data/."
    )
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--fast", action="store_true", help="a tiny model for a few steps; writes nothing")
    parser.add_argument("--epochs", type=int, default=30)
    arguments = parser.parse_args(argv)
    result = MODELS[arguments.model](fast=arguments.fast, epochs=arguments.epochs)
    print(
        f"best epoch {result['best_epoch']}: valid NLL {result['valid_nll']:.4f}, test NLL "
        f"{result['test_nll']:.4f} nats per 16th step; {result['train_seconds'] / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MusegenError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
