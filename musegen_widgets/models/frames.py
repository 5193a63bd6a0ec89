"""Polyphony in chapter 01: next-frame models over JSB-style frames, one Bernoulli per piano key.

A frame is the set of pitches sounding at a quarter note, all four voices, as 88 zeros and ones
(:func:`musegen_widgets.encoding.encode_frames`). The models here share one contract: ``model(frames)``
with ``(batch, time, 88)`` frames gives ``(batch, time, 88)`` logits, where ``logits[:, t, k]`` is the
log-odds that key ``k`` sounds in frame ``t + 1``. Given the past, the keys are independent Bernoullis, so
the NLL of a frame is a sum of 88 binary cross-entropies
(:func:`musegen_widgets.metrics.frame_nll` scores whole chorales, the first frame given silence).
That is the setting of the published JSB Chorales results, and of their weakness: the keys of one
chord are drawn independently, so a model cannot say "C and E together, or neither".

**Training.** :func:`frame_batches` batches whole chorales of frames; :func:`train_frame_lstm` trains the
LSTM on them, in every key, with the course's loop (:mod:`~musegen_widgets.training`) and the recipe
``RECIPES["frame_lstm"]`` (:mod:`~musegen_widgets.models.recipes`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

from .. import data
from ..encoding import FRAME_HIGH, FRAME_LOW
from ..errors import MusegenError
from ..metrics import frame_nll
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
from .recipes import RECIPES

__all__ = ["N_PITCHES", "IndependentFrames", "FrameLSTM", "frame_batches", "train_frame_lstm"]

N_PITCHES = FRAME_HIGH - FRAME_LOW + 1
"""Keys of a frame (A0 to C8)."""


class IndependentFrames:
    """The baseline: every key sounds with its own training-set frequency, whatever came before.

    Taught in chapter 01, section 8 (polyphony).

    Parameters
    ----------
    pseudo_count
        Added to the on and off counts of every key, so that a key never seen sounding is not impossible.
    """

    def __init__(self, pseudo_count: float = 1.0):
        self.pseudo_count = pseudo_count
        self.logits = None

    def fit(self, sequences: Sequence[np.ndarray]) -> IndependentFrames:
        """Count how often each key sounds over all frames of ``sequences``."""
        frames = np.concatenate([np.asarray(s, dtype=np.float64) for s in sequences])
        if frames.ndim != 2 or frames.shape[1] != N_PITCHES:
            raise MusegenError(f"frames must have {N_PITCHES} columns, got shape {frames.shape}")
        on = frames.sum(axis=0) + self.pseudo_count
        off = len(frames) - frames.sum(axis=0) + self.pseudo_count
        self.logits = np.log(on / off)
        return self

    def __call__(self, frames) -> np.ndarray:
        if self.logits is None:
            raise MusegenError("fit the model before scoring with it")
        frames = np.asarray(frames)
        return np.broadcast_to(self.logits, frames.shape[:-1] + (N_PITCHES,))


@keras.saving.register_keras_serializable(package="musegen")
class FrameLSTM(keras.Model):
    """Stacked LSTMs over frames and a dense read-out of 88 logits (one Bernoulli per key).

    Taught in chapter 01, section 8 (polyphony).

    Parameters
    ----------
    units
        LSTM units per layer.
    n_layers
        Number of stacked LSTM layers.
    dropout
        Dropout on the inputs of every LSTM layer and of the read-out, during training only.
    """

    def __init__(self, units=192, n_layers=2, dropout=0.3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.n_layers, self.dropout_rate, self.n_pitches = units, n_layers, dropout, N_PITCHES
        self.lstms = [layers.LSTM(units, return_sequences=True, name=f"lstm_{i}") for i in range(n_layers)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(n_layers + 1)]
        self.readout = layers.Dense(N_PITCHES, name="readout")

    def call(self, frames, training=False):
        x = keras.ops.cast(frames, "float32")
        for dropout, lstm in zip(self.dropouts, self.lstms):
            x = lstm(dropout(x, training=training))
        return self.readout(self.dropouts[-1](x, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "n_layers": self.n_layers,
            "dropout": self.dropout_rate,
        }

    @staticmethod
    def example_input() -> np.ndarray:
        """A few silent frames, to build the layers before weights are loaded."""
        return np.zeros((1, 4, N_PITCHES), np.float32)


# ------------------------------------------------------------------------------------------ training


def frame_batches(sequences, batch_size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whole chorales of frames in batches: inputs (silence, then frames 0..T-2), targets, step weights.

    Taught in chapter 01, section 8 (polyphony).
    """
    rng = np.random.default_rng(seed)
    batches = []
    for indices in similar_lengths(sequences, batch_size, rng):
        chosen = [sequences[i] for i in indices]
        length = -(-max(len(s) for s in chosen) // 16) * 16
        frames = np.zeros((len(chosen), length + 1, chosen[0].shape[1]), dtype=np.float32)
        weights = np.zeros((len(chosen), length), dtype=np.float32)
        for row, sequence in enumerate(chosen):
            frames[row, 1 : len(sequence) + 1] = sequence
            weights[row, : len(sequence)] = 1.0
        batches.append((frames[:, :-1], frames[:, 1:], weights))
    rng.shuffle(batches)
    return batches


def train_frame_lstm(
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train :class:`~musegen_widgets.models.frames.FrameLSTM` on JSB-style frames, all 12 transpositions.

    Taught in chapter 01, section 8 (polyphony).
    """
    keras.utils.set_random_seed(seed)
    epochs, config = recipe_settings(RECIPES["frame_lstm"], fast=fast, epochs=epochs, config=config)
    train, valid = data.load_frames("train"), data.load_frames("valid")
    if fast:
        train, valid = train[:8], valid[:4]
    augmented = data.augmented(train)
    steps_per_epoch = n_batches(augmented, batch_size=32)
    with strategy_scope(strategy):
        model = FrameLSTM(**config)
        model(np.zeros((1, 2, model.n_pitches), np.float32))
        # start from the independent baseline: each key's read-out bias at the log-odds of its frequency
        # (from zero, the first thousand updates would go to learning that most keys are silent)
        model.readout.bias.assign(IndependentFrames().fit(augmented).logits.astype(np.float32))
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=3e-3), clipnorm=1.0
            ),
            # Keras averages over the 88 keys; the NLL per frame is their sum
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
        )
    history, seconds = fit(
        model,
        lambda epoch: frame_batches(augmented, batch_size=32, seed=seed + epoch),
        lambda: frame_nll(model, valid),
        epochs,
        unit="nats per frame",
        loss_scale=model.n_pitches,
    )
    test_nll = frame_nll(model, data.load_frames("test"))
    result = sequence_result(model, config, history, test_nll, seconds)
    save_run("frame_lstm", result, folder, fast=fast)
    return result
