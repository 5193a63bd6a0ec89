"""How the melody models learn (chapters 01, 05 and 07): whole melodies in every key, batched by length.

:func:`melody_batches` turns melody tokens into training batches: whole chorale melodies from their first
step, in groups of similar length, padding masked out; :func:`train_melody_model` trains any melody recipe
of :mod:`~musegen_widgets.models.recipes` on them with the course's loop (:mod:`~musegen_widgets.training`):
:class:`~musegen_widgets.models.melody_lstm.MelodyLSTM` and
:class:`~musegen_widgets.models.melody_tcn.MelodyTCN` (chapter 01),
:class:`~musegen_widgets.models.melody_transformer.MelodyTransformer` (chapter 05) and chapter 07's small
and distilled Transformers, whose targets are the teachers' distributions
(:mod:`~musegen_widgets.distillation`).
"""

from __future__ import annotations

import os

import keras
import numpy as np

from .. import data
from ..distillation import teacher_distributions, transfer_melodies
from ..encoding import HOLD, VOCAB_SIZE
from ..errors import MusegenError
from ..metrics import sequence_nll
from ..training import (
    fit,
    learning_rate_schedule,
    n_batches,
    recipe_settings,
    save_run,
    sequence_result,
    similar_lengths,
    strategy_scope,
)
from . import load_pretrained
from .ensemble import Ensemble
from .melody_lstm import MelodyLSTM
from .melody_tcn import MelodyTCN
from .melody_transformer import MelodyTransformer
from .recipes import RECIPES

__all__ = [
    "MELODY_MODELS",
    "melody_batches",
    "train_melody_model",
    "train_melody_lstm",
    "train_melody_tcn",
    "train_melody_transformer",
]

MELODY_MODELS = {"MelodyLSTM": MelodyLSTM, "MelodyTCN": MelodyTCN, "MelodyTransformer": MelodyTransformer}
"""The melody model classes a recipe may name."""


def melody_batches(
    melodies, batch_size: int, seed: int, *, soft_targets=None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whole melodies in batches of similar length: inputs, next-token targets, and a 0/1 weight per step.

    Taught in chapter 01, section 5 (training); ``soft_targets`` in chapter 07, section 4 (distillation).

    Training on whole chorales from their first step, with padding masked out, matches how the model is
    scored (every token given all before it), unlike fixed windows that start mid-piece with no context.
    With ``soft_targets`` (one ``(len(melody) - 1, vocab)`` array of probabilities per melody), the targets
    are those distributions instead of the next tokens, ``(batch, time, vocab)``.
    """
    rng = np.random.default_rng(seed)
    batches = []
    for chosen in similar_lengths(melodies, batch_size, rng):
        # a few fixed lengths: each new input shape costs TensorFlow a second or more to trace
        length = -(-max(len(melodies[i]) for i in chosen) // 64) * 64 + 1
        tokens = np.full((len(chosen), length), HOLD, dtype=np.int32)
        weights = np.zeros((len(chosen), length - 1), dtype=np.float32)
        for row, i in enumerate(chosen):
            tokens[row, : len(melodies[i])] = melodies[i]
            weights[row, : len(melodies[i]) - 1] = 1.0
        targets = tokens[:, 1:]
        if soft_targets is not None:
            targets = np.zeros((len(chosen), length - 1, soft_targets[0].shape[-1]), dtype=np.float32)
            targets[..., 0] = 1.0  # padding: any distribution (its weight is 0)
            for row, i in enumerate(chosen):
                targets[row, : len(melodies[i]) - 1] = soft_targets[i]
        batches.append((tokens[:, :-1], targets, weights))
    rng.shuffle(batches)
    return batches


def train_melody_model(
    name: str = "melody_lstm",
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
    augment: bool = True,
) -> dict:
    """Train ``melody_lstm``, ``melody_tcn`` or ``melody_transformer`` (:data:`~musegen_widgets.models.RECIPES`) on melody tokens in
    every key.

    Taught in chapter 01, section 5 (training).

    The learning rate warms up over the first epoch, then follows a cosine down to 2 % of its peak by the
    last epoch. Early stopping keeps the weights with the best NLL on the valid split; the test split is
    scored once, at the end. In ``fast`` mode a tiny model trains on a few melodies for two short epochs
    and nothing is written unless ``folder`` is given.

    ``augment=False`` trains on the melodies in their own keys only (chapter 07, section 5, measures what
    the transpositions are worth) and writes only to a ``folder`` given; a recipe with ``teachers`` trains
    on their averaged distributions mixed with the token that came, the teachers' share ``teacher_weight``,
    and with ``transfer_set`` also on melodies the teachers write themselves (:func:`~musegen_widgets.distillation.teacher_distributions`,
    :func:`~musegen_widgets.distillation.transfer_melodies`, chapter 07, section 4); under a ``strategy`` each batch is shared among
    its replicas (:mod:`~musegen_widgets.distribute`, chapter 07, section 6).
    """
    recipe = RECIPES[name]
    if recipe.model_class not in MELODY_MODELS:
        raise MusegenError(f"{name} is not a melody model (its recipe builds {recipe.model_class})")
    epochs, config = recipe_settings(recipe, fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    train = data.load_melodies("train")
    valid = data.load_melodies("valid")
    if fast:
        train, valid = train[:8], valid[:4]
    augmented = data.augmented(train) if augment else list(train)
    soft_targets = None
    if recipe.teachers:
        teacher = Ensemble([load_pretrained(t) for t in recipe.teachers])
        soft_targets = [
            recipe.teacher_weight * p
            + (1 - recipe.teacher_weight) * np.eye(VOCAB_SIZE, dtype=np.float32)[m[1:]]
            for p, m in zip(teacher_distributions(teacher, augmented), augmented)
        ]
        if recipe.transfer_set:
            chosen = np.random.default_rng(seed).choice(
                len(augmented), round(recipe.transfer_set * len(augmented)), replace=False
            )
            transfer = transfer_melodies(teacher, [augmented[i] for i in sorted(chosen)], seed=seed)
            augmented = augmented + transfer  # Bach's melodies, then the teachers' own
            soft_targets += teacher_distributions(teacher, transfer)
    steps_per_epoch = n_batches(augmented, batch_size=32)
    with strategy_scope(strategy):
        model = MELODY_MODELS[recipe.model_class](**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs), weight_decay=1e-4, clipnorm=1.0
            ),
            loss=(
                keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                if soft_targets is None
                else keras.losses.CategoricalCrossentropy(from_logits=True)
            ),
            jit_compile=not fast,  # XLA pays off for a real run; for a tiny one its compile costs more memory than it saves time
        )
    history, seconds = fit(
        model,
        lambda epoch: melody_batches(augmented, batch_size=32, seed=seed + epoch, soft_targets=soft_targets),
        lambda: sequence_nll(model, valid),
        epochs,
        unit="nats per 16th step",
    )
    test_nll = sequence_nll(model, data.load_melodies("test"))
    result = sequence_result(model, config, history, test_nll, seconds)
    # a run off the recipe (own keys only) never replaces the shipped weights unless sent there
    save_run(name, result, folder, fast=fast or not augment)
    return result


def train_melody_lstm(**settings) -> dict:
    """:func:`train_melody_model` for the melody LSTM of chapter 01 (the same keyword arguments).

    Taught in chapter 01, section 5 (training).
    """
    return train_melody_model("melody_lstm", **settings)


def train_melody_tcn(**settings) -> dict:
    """:func:`train_melody_model` for the dilated-convolution melody model of chapter 01.

    Taught in chapter 01, section 6 (without recurrence).
    """
    return train_melody_model("melody_tcn", **settings)


def train_melody_transformer(**settings) -> dict:
    """:func:`train_melody_model` for the relative-attention melody Transformer of chapter 05.

    Taught in chapter 05, section 4 (a melody Transformer).
    """
    return train_melody_model("melody_transformer", **settings)
