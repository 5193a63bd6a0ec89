"""The infilling model of chapter 06: Coconet's idea (Huang et al. 2017, "Counterpoint by Convolution") on a
laptop's budget.

A chorale is a grid of *cells*, one per voice and 16th step (:mod:`~musegen_widgets.infill_cells`): the pitch of a
note that *starts* there, a hold of the note before, or silence. Some cells are given, the others hidden by a *mask*
(1 = hidden). The model sees the given cells and the mask and answers, for every cell at once, a softmax
over what it holds. Trained on random masks of every size (orderless NADE, Uria et al. 2014), one network
serves every question: the alto, tenor and bass of a given soprano, the bass alone, bars 3-4 of all voices,
or one cell given all the others (what Gibbs sampling asks).

**Architecture.** Coconet convolves over time *and pitch* (64 layers of 128 filters of 3 x 3 on the piano
rolls of the four voices and their masks), which builds transposition into the network. On two CPU cores
that is too slow to train and to sample from in a second, so this model convolves over *time* only: at each
step the four voices' one-hot cells (zeroed where hidden), the four mask bits and the step's place in its beat
(one of four 16ths: passages start on a beat, as every piece of the course starts on a downbeat) are one
input vector;
then residual blocks of a non-causal dilated convolution (it looks ``d`` steps back *and* ahead, unlike
chapter 01's causal TCN), a ReLU and a 1 x 1 convolution, each block after a layer norm; and a read-out of
four softmaxes per step. Transposing the training data into every key gives what pitch convolutions would
build in. A stack with dilations ``d_1 .. d_L`` sees ``(kernel_size - 1) * sum(d)`` steps on each side.

**Training.** :func:`infill_batches` cuts the chorales, in random keys, into passages of
:data:`INFILL_WINDOW` steps and hides a random mask of each (:func:`~musegen_widgets.masking.orderless_mask`
most of the time); :func:`train_chorale_infill` trains on them with the course's loop
(:mod:`~musegen_widgets.training`) and the recipe ``RECIPES["chorale_infill"]``
(:mod:`~musegen_widgets.models.recipes`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import layers, ops

from .. import data
from ..encoding import SATB_SILENCE
from ..errors import MusegenError
from ..infill_cells import CELL_VOCAB_SIZE, HOLD, STEPS_PER_BEAT, encode
from ..masking import orderless_mask
from ..metrics import infill_nll
from ..numerics import log_softmax
from ..training import fit, learning_rate_schedule, recipe_settings, save_run, sequence_result, strategy_scope
from .melody_inputs import as_numpy
from .recipes import RECIPES

__all__ = [
    "ChoraleInfill",
    "VOICES",
    "InfillForward",
    "INFILL_WINDOW",
    "infill_batches",
    "train_chorale_infill",
]

VOICES = 4


@keras.saving.register_keras_serializable(package="musegen")
class ChoraleInfill(keras.Model):
    """Given some cells of a four-voice chorale and a mask of the hidden ones, logits for every cell.

    Taught in chapter 06, section 2 (one network for every question).

    Call it on ``[cells, mask]``: ``cells`` ``(batch, steps, 4)`` (:func:`~musegen_widgets.infill_cells.encode`; what a hidden cell holds
    is ignored, and step 0 is on a beat), ``mask`` ``(batch, steps, 4)`` with 1 where a cell is hidden. It
    returns logits ``(batch, steps, 4, vocab_size)``.

    Parameters
    ----------
    channels
        Width of every block.
    kernel_size
        Taps of each convolution (odd: as many steps back as ahead).
    dilations
        One residual block per entry, with that dilation.
    dropout
        Dropout on each block's output, during training only.
    vocab_size
        Classes of a cell (silence, the pitches of the piano roll, :data:`~musegen_widgets.infill_cells.HOLD`).
    """

    def __init__(
        self,
        channels=128,
        kernel_size=3,
        dilations=(1, 2, 4, 8, 16, 1, 2, 4, 8, 16),
        dropout=0.1,
        vocab_size=CELL_VOCAB_SIZE,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (as many steps back as ahead), not {kernel_size}")
        self.channels, self.kernel_size, self.dilations = channels, kernel_size, tuple(dilations)
        self.dropout_rate, self.vocab_size = dropout, vocab_size
        self.cells = layers.Dense(channels, name="cells")
        self.norms = [
            layers.LayerNormalization(epsilon=1e-5, name=f"norm_{i}") for i in range(len(dilations))
        ]
        self.convolutions = [
            layers.Conv1D(channels, kernel_size, dilation_rate=d, padding="same", name=f"dilated_{i}")
            for i, d in enumerate(self.dilations)
        ]
        self.mixes = [layers.Dense(channels, name=f"mix_{i}") for i in range(len(self.dilations))]
        self.dropouts = [layers.Dropout(dropout) for _ in self.dilations]
        self.final_norm = layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.readout = layers.Dense(VOICES * vocab_size, name="readout")

    @property
    def context(self) -> int:
        """Steps on each side that a prediction can see."""
        return (self.kernel_size - 1) // 2 * int(sum(self.dilations))

    @staticmethod
    def example_input() -> list[np.ndarray]:
        """A short input of the right kind (to build the layers before loading weights)."""
        return [np.zeros((1, 8, VOICES), np.int32), np.ones((1, 8, VOICES), np.float32)]

    def call(self, inputs, training=False):
        tokens, mask = inputs
        mask = ops.cast(mask, "float32")
        cells = ops.one_hot(ops.cast(tokens, "int32"), self.vocab_size) * (1.0 - mask)[..., None]
        steps = ops.shape(tokens)[1]
        beat = ops.one_hot(ops.arange(steps) % STEPS_PER_BEAT, STEPS_PER_BEAT)  # each step's 16th in its beat
        beat = ops.broadcast_to(beat[None], (ops.shape(tokens)[0], steps, STEPS_PER_BEAT))
        x = self.cells(
            ops.concatenate([ops.reshape(cells, (-1, steps, VOICES * self.vocab_size)), mask, beat], -1)
        )
        for norm, convolution, mix, dropout in zip(self.norms, self.convolutions, self.mixes, self.dropouts):
            x = x + dropout(mix(ops.relu(convolution(norm(x)))), training=training)
        logits = self.readout(self.final_norm(x))
        return ops.reshape(logits, (-1, steps, VOICES, self.vocab_size))

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "kernel_size": self.kernel_size,
            "dilations": list(self.dilations),
            "dropout": self.dropout_rate,
            "vocab_size": self.vocab_size,
        }

    def forward(self) -> InfillForward:
        """The same computation in numpy, for sampling loops that call it many times (:class:`InfillForward`)."""
        if not self.built:  # a new model has no weights until it first runs
            self(self.example_input())
        return InfillForward(self)


class InfillForward:
    """:class:`ChoraleInfill`'s forward pass in numpy: ``forward(tokens, mask)`` -> log-probabilities.

    Taught in chapter 06, section 3 (sampling). Gibbs sampling calls the network dozens of times on one
    small input, where Keras's per-call overhead would cost more than the arithmetic; this holds the weights
    as arrays and computes the same thing (checked equal in the tests).
    """

    def __init__(self, model: ChoraleInfill):
        self.vocab_size, self.kernel_size = model.vocab_size, model.kernel_size
        self.cells = (as_numpy(model.cells.kernel), as_numpy(model.cells.bias))
        self.blocks = [
            (
                (as_numpy(norm.gamma), as_numpy(norm.beta), norm.epsilon),
                as_numpy(convolution.kernel),  # (kernel_size, channels, channels)
                as_numpy(convolution.bias),
                as_numpy(mix.kernel),
                as_numpy(mix.bias),
                d,
            )
            for norm, convolution, mix, d in zip(
                model.norms, model.convolutions, model.mixes, model.dilations
            )
        ]
        self.final_norm = (
            as_numpy(model.final_norm.gamma),
            as_numpy(model.final_norm.beta),
            model.final_norm.epsilon,
        )
        self.readout = (as_numpy(model.readout.kernel), as_numpy(model.readout.bias))

    @staticmethod
    def _layer_norm(x: np.ndarray, norm) -> np.ndarray:
        gamma, beta, epsilon = norm
        centred = x - x.mean(axis=-1, keepdims=True)
        return centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + epsilon) * gamma + beta

    def __call__(self, tokens, mask) -> np.ndarray:
        """Log-probabilities ``(..., steps, 4, vocab_size)`` for cells and mask ``(..., steps, 4)``."""
        tokens, mask = np.asarray(tokens), np.asarray(mask, dtype=np.float32)
        batch_shape, steps = tokens.shape[:-2], tokens.shape[-2]
        tokens, mask = tokens.reshape(-1, steps, VOICES), mask.reshape(-1, steps, VOICES)
        kernel, bias = self.cells
        # the one-hot input times the first dense layer is a lookup of the kernel's rows, one per voice
        rows = kernel[: VOICES * self.vocab_size].reshape(VOICES, self.vocab_size, -1)
        given = rows[np.arange(VOICES), tokens] * (1.0 - mask)[..., None]  # (batch, steps, 4, channels)
        mask_rows, beat_rows = np.split(kernel[VOICES * self.vocab_size :], [VOICES])
        beat = beat_rows[np.arange(steps) % STEPS_PER_BEAT]  # the one-hot place in the beat, looked up
        x = given.sum(axis=-2) + mask @ mask_rows + beat + bias
        half = (self.kernel_size - 1) // 2
        for norm, conv_kernel, conv_bias, mix_kernel, mix_bias, d in self.blocks:
            h = self._layer_norm(x, norm)
            padded = np.pad(h, ((0, 0), (half * d, half * d), (0, 0)))
            # tap i reads the input (i - half) * d steps away: behind for i < half, ahead for i > half
            z = conv_bias + sum(
                padded[:, i * d : i * d + steps] @ conv_kernel[i] for i in range(self.kernel_size)
            )
            x = x + np.maximum(z, 0.0) @ mix_kernel + mix_bias
        logits = self._layer_norm(x, self.final_norm) @ self.readout[0] + self.readout[1]
        return log_softmax(logits.reshape(*batch_shape, steps, VOICES, self.vocab_size))


# ------------------------------------------------------------------------------------------ training


INFILL_WINDOW = 128
"""Steps per training passage of the infilling model: eight bars of 4/4."""


def _training_mask(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One training mask over the ``real`` (not padding) cells of a passage: half of the time orderless NADE's
    over every cell; a quarter, orderless over alto, tenor and bass under a given soprano (what
    :func:`~musegen_widgets.infilling.harmonise` asks); a quarter, a few whole voices over a span of steps
    (what erasing in the widget asks)."""
    kind = rng.random()
    if kind < 0.5:
        return orderless_mask(real, rng)
    if kind < 0.75:
        under_soprano = real.copy()
        under_soprano[:, 0] = False
        return orderless_mask(under_soprano, rng)
    steps = int(real[:, 0].sum())
    start = int(rng.integers(0, steps))
    end = int(rng.integers(start + 1, steps + 1))
    voices = rng.permutation(4)[: rng.integers(1, 5)]
    mask = np.zeros_like(real)
    mask[start:end, voices] = True
    return mask & real


def infill_batches(
    chorales, window: int, seed: int, *, copies: int = 1, batch_size: int = 32
) -> list[tuple[list[np.ndarray], np.ndarray, np.ndarray]]:
    """One epoch of the infilling model's training passages, each with a random mask to fill.

    Taught in chapter 06, section 2 (one network for every question).

    Each chorale (cells ``(steps, 4)``, :func:`~musegen_widgets.infill_cells.encode`) is taken ``copies`` times, each time in a random key
    of :data:`~musegen_widgets.data.ALL_KEYS` and cut into passages of ``window`` steps from a random beat
    (``window`` a whole number of beats, so that every passage starts on one).
    Every passage gets a mask (``_training_mask``); the weight of a hidden cell is ``n / k`` for ``k`` hidden
    of the passage's ``n`` cells, so that every passage counts alike and the weighted loss is the mean NLL
    of hidden cells. Batches are ``([tokens, mask], tokens, weight)``.
    """
    if window % STEPS_PER_BEAT:
        raise MusegenError(f"window must be a whole number of beats ({STEPS_PER_BEAT} steps), not {window}")
    rng = np.random.default_rng(seed)
    cut = []
    for _ in range(copies):
        for cells in chorales:
            shift = int(rng.choice(data.ALL_KEYS))
            moved = np.where((cells != SATB_SILENCE) & (cells != HOLD), cells + shift, cells)
            beats = max(1, min(window, len(cells) - window) // STEPS_PER_BEAT)
            start = STEPS_PER_BEAT * int(rng.integers(0, beats))
            cut.extend(moved[first : first + window] for first in range(start, len(moved), window))
            if start:  # the steps before the random start, so that every step is seen
                cut.append(moved[:start])
    order = rng.permutation(len(cut))
    batches = []
    for begin in range(0, len(order), batch_size):
        chosen = [cut[i] for i in order[begin : begin + batch_size]]
        tokens = np.full((len(chosen), window, 4), SATB_SILENCE, dtype=np.int32)  # padding: never scored
        real = np.zeros(tokens.shape, dtype=bool)
        for row, passage in enumerate(chosen):
            tokens[row, : len(passage)] = passage
            real[row, : len(passage)] = True
        masks = np.stack([_training_mask(r, rng) for r in real])
        hidden = masks.sum(axis=(1, 2), keepdims=True)
        weights = np.where(masks, real.sum(axis=(1, 2), keepdims=True) / np.maximum(hidden, 1), 0.0)
        batches.append(([tokens, masks.astype(np.float32)], tokens, weights.astype(np.float32)))
    return batches


def train_chorale_infill(
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill` to fill hidden cells of chorales.

    Taught in chapter 06, section 2 (one network for every question).

    Each epoch sees every training chorale in four random keys, as passages of :data:`INFILL_WINDOW` steps
    with random masks (:func:`infill_batches`); the schedule and early stopping are those of
    :func:`~musegen_widgets.models.melody_training.train_melody_model`. The valid and test scores are :func:`~musegen_widgets.metrics.infill_nll`
    on whole chorales, in nats per cell.
    """
    epochs, config = recipe_settings(RECIPES["chorale_infill"], fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    train, valid = ([encode(p) for p in data.load_pieces(s)] for s in ("train", "valid"))
    window, copies = (32, 1) if fast else (INFILL_WINDOW, 4)
    if fast:
        train, valid = train[:8], valid[:4]
    steps_per_epoch = len(infill_batches(train, window, seed, copies=copies))
    with strategy_scope(strategy):
        model = ChoraleInfill(**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=2e-3),
                weight_decay=1e-4,
                clipnorm=1.0,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=not fast,
        )
    history, seconds = fit(
        model,
        lambda epoch: infill_batches(train, window, seed + epoch, copies=copies),
        lambda: infill_nll(model, valid, seed=seed),
        epochs,
        unit="nats per cell",
        patience=5,
    )
    test = [encode(p) for p in data.load_pieces("test")]
    test_nll = infill_nll(model, test, seed=seed)
    result = sequence_result(model, config, history, test_nll, seconds)
    save_run("chorale_infill", result, folder, fast=fast)
    return result
