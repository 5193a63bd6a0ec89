"""Train the course's models from the chorales and ship their weights: one command per model.

    python -m musegen_widgets.train melody_lstm           # under 30 minutes on 2 cores
    python -m musegen_widgets.train melody_tcn
    python -m musegen_widgets.train melody_lstm --fast    # a tiny model for a few steps (what CI runs)
    python -m musegen_widgets.train melody_lstm --strategy mirrored   # on every GPU (chapter 07)
    python -m musegen_widgets.train melody_tcn --prune 0.5 0.9        # prune and fine-tune (chapter 07)

Weights go to ``data/`` atomically, with their SHA-256, the command and the held-out scores in
``data/MANIFEST.json``; a loss-curve plot and the per-epoch history go beside them.

:data:`MODELS` names the function that trains each shipped model. Each lives with its model (how the
chorales become that model's training examples, and its training), and all share
:mod:`~musegen_widgets.training` (schedule, loop, saving); they are importable from here too (``train.train_melody_lstm(fast=True)``).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import sys
from pathlib import Path

import numpy as np

from . import distribute, files
from .compression import prune_and_fine_tune
from .errors import MusegenError
from .models.chorale_diffusion import train_chorale_diffusion
from .models.chorale_gan import train_chorale_gan
from .models.chorale_infill import train_chorale_infill
from .models.chorale_transformer import train_chorale_transformer
from .models.frames import train_frame_lstm
from .models.melody_diffusion import train_melody_diffusion
from .models.melody_training import (
    train_melody_lstm,
    train_melody_model,
    train_melody_tcn,
    train_melody_transformer,
)
from .models.melody_vae import train_melody_vae

__all__ = [
    "MODELS",
    "train_melody_model",
    "train_melody_lstm",
    "train_melody_tcn",
    "train_melody_transformer",
    "train_frame_lstm",
    "train_melody_vae",
    "train_chorale_diffusion",
    "train_chorale_gan",
    "train_chorale_transformer",
    "train_chorale_infill",
    "train_melody_diffusion",
]


MODELS = {
    "melody_lstm": train_melody_lstm,
    "melody_transformer_small": functools.partial(train_melody_model, "melody_transformer_small"),
    "melody_transformer_distilled": functools.partial(train_melody_model, "melody_transformer_distilled"),
    "melody_tcn": train_melody_tcn,
    "melody_transformer": train_melody_transformer,
    "frame_lstm": train_frame_lstm,
    "melody_vae": functools.partial(train_melody_vae, "melody_vae"),
    "melody_vae_collapsed": functools.partial(train_melody_vae, "melody_vae_collapsed"),
    "chorale_gan": train_chorale_gan,
    "chorale_diffusion": train_chorale_diffusion,
    "chorale_transformer": functools.partial(train_chorale_transformer, "chorale_transformer"),
    "chorale_transformer_absolute": functools.partial(
        train_chorale_transformer, "chorale_transformer_absolute"
    ),
    "chorale_infill": train_chorale_infill,
    "melody_diffusion": functools.partial(train_melody_diffusion, "melody_diffusion"),
    "melody_diffusion_density": functools.partial(train_melody_diffusion, "melody_diffusion_density"),
}
"""Name -> the function that trains it (``python -m musegen_widgets.train NAME``)."""


def _refuse_unless_it_takes(name: str, keyword: str, option: str, reason: str) -> None:
    """Raise unless the training function of ``name`` takes ``keyword``, which ``option`` sets."""
    try:
        inspect.signature(MODELS[name]).bind_partial(**{keyword: None})
    except TypeError:
        raise MusegenError(f"{name} {reason}: it has no {option}") from None


def _prune_command(arguments) -> int:
    _refuse_unless_it_takes(arguments.model, "augment", "--prune", "is not a melody model")
    if not all(0 <= fraction < 1 for fraction in arguments.prune):
        raise MusegenError(f"--prune takes fractions from 0 up to (not including) 1, got {arguments.prune}")
    sweep = prune_and_fine_tune(
        arguments.model, arguments.prune, epochs=arguments.epochs or 1, fast=arguments.fast
    )
    for fraction, pruned, fine_tuned in zip(sweep["fraction"], sweep["pruned"], sweep["fine_tuned"]):
        print(f"{fraction:4.0%} pruned: held-out NLL {pruned:.4f}, after fine-tuning {fine_tuned:.4f}")
    if arguments.output is not None:
        text = json.dumps(sweep, indent=1) + "\n"
        files.write_atomically(arguments.output / f"{arguments.model}.pruning.json", text.encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Train a model of the course and write its weights to data/."
    )
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--fast", action="store_true", help="a tiny model for a few steps; writes nothing")
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's own")
    parser.add_argument("--output", type=Path, default=None, help="where to write (default: data/)")
    parser.add_argument(
        "--strategy",
        choices=distribute.STRATEGIES,
        default=None,
        help="train under tf.distribute (see chapter 07)",
    )
    parser.add_argument(
        "--cpu-devices", type=int, default=None, help="with --strategy mirrored: split the CPU into N devices"
    )
    parser.add_argument(
        "--own-keys",
        action="store_true",
        help="melody models: the melodies in their own keys only, no transpositions (see chapter 07)",
    )
    parser.add_argument(
        "--prune",
        type=float,
        nargs="+",
        metavar="FRACTION",
        help="melody models: prune the shipped weights to each fraction and fine-tune (see chapter 07); "
        "with --output, writes NAME.pruning.json there",
    )
    arguments = parser.parse_args(argv)
    if arguments.output is not None:  # a folder that cannot be made fails now, not after the training
        try:
            arguments.output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MusegenError(f"cannot write there ({error.strerror})", arguments.output) from None
    if arguments.prune is not None:
        return _prune_command(arguments)
    settings = {"fast": arguments.fast, "epochs": arguments.epochs, "folder": arguments.output}
    if arguments.own_keys:
        _refuse_unless_it_takes(arguments.model, "augment", "--own-keys", "is not a melody model")
        settings["augment"] = False
    if arguments.strategy is not None:
        _refuse_unless_it_takes(
            arguments.model, "strategy", "--strategy", "trains with Keras's fit, not the course's loop"
        )
        # first: TensorFlow must not have set up its devices yet
        settings["strategy"] = distribute.make_strategy(arguments.strategy, cpu_devices=arguments.cpu_devices)
    elif arguments.cpu_devices is not None:
        raise MusegenError("--cpu-devices splits the CPU for --strategy mirrored; give both")
    result = MODELS[arguments.model](**settings)
    if "quality" in result:
        for name, row in result["quality"].items():
            within = row.get("within")
            print(
                f"{name:24s} generated {np.round(row['generated'], 3)}"
                + (
                    f" reference {np.round(row['reference'], 3)} within 20 %: {within}"
                    if within is not None
                    else ""
                )
            )
        print(f"{result['train_seconds'] / 60:.1f} min")
    elif "valid_loss" in result:
        print(f"valid loss {result['valid_loss']:.4f}; {result['train_seconds'] / 60:.1f} min")
    elif "test_nll" in result:
        print(
            f"best epoch {result['best_epoch']}: valid NLL {result['valid_nll']:.4f}, test NLL "
            f"{result['test_nll']:.4f} {result['unit']}; {result['train_seconds'] / 60:.1f} min"
        )
    else:
        print(
            f"test: teacher-forced accuracy {result['test_teacher_forced_accuracy']:.4f}, "
            f"greedy {result['test_greedy_accuracy']:.4f}, KL {result['test_kl']:.2f} nats, "
            f"{result['test_active_dimensions']} active dimensions; "
            f"{result['train_seconds'] / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MusegenError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
