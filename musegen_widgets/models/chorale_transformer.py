"""A Transformer over the four voices serialised S-A-T-B per 16th step, with relative or absolute positions
(chapter 05, section 5).

This is the set-up of Music Transformer's JSB Chorales experiment (Huang et al. 2018, section 4.1): the
tokens of :func:`musegen_widgets.encoding.encode_satb`, four per step, each predicted from all before it.
``positions="relative"`` is Music Transformer (relative attention, as in
:class:`~musegen_widgets.models.melody_transformer.MelodyTransformer`); ``positions="absolute"`` is the
baseline of Vaswani et al. 2017, sinusoidal positions added to the input and plain attention. Both add a
learned vector for the voice a token belongs to (its index modulo 4), so that a window cut anywhere still
says which voice comes next.

**Training.** :func:`satb_windows` cuts each chorale, in a random key, into windows of
:data:`CHORALE_WINDOW` tokens; :func:`train_chorale_transformer` trains on them with the course's loop
(:mod:`~musegen_widgets.training`) and the recipes ``chorale_transformer`` and
``chorale_transformer_absolute`` (:mod:`~musegen_widgets.models.recipes`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import layers, ops

from .. import data
from ..attention import sinusoidal_positions
from ..encoding import SATB_SILENCE, SATB_VOCAB_SIZE, encode_satb
from ..errors import MusegenError
from ..metrics import sequence_nll
from ..training import fit, learning_rate_schedule, recipe_settings, save_run, sequence_result, strategy_scope
from .melody_inputs import as_numpy
from .melody_transformer import DecoderBlocks, TransformerStepper
from .recipes import RECIPES

__all__ = ["ChoraleTransformer", "POSITIONS", "CHORALE_WINDOW", "satb_windows", "train_chorale_transformer"]

POSITIONS = ("relative", "absolute")
"""How a :class:`ChoraleTransformer` knows where a token is."""


@keras.saving.register_keras_serializable(package="musegen")
class ChoraleTransformer(DecoderBlocks, keras.Model):
    """Token and voice embeddings, the course's decoder blocks, and a read-out over S-A-T-B tokens.

    Taught in chapter 05, section 5 (four voices).

    Parameters
    ----------
    positions
        ``"relative"`` (Music Transformer) or ``"absolute"`` (sinusoidal, the original Transformer).
    embedding, n_layers, heads, feed_forward, max_distance, dropout, vocab_size
        As for :class:`~musegen_widgets.models.melody_transformer.MelodyTransformer`; ``max_distance`` is
        unused with absolute positions.
    """

    def __init__(
        self,
        embedding=64,
        n_layers=3,
        heads=4,
        feed_forward=256,
        max_distance=256,
        dropout=0.1,
        positions="relative",
        vocab_size=SATB_VOCAB_SIZE,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {', '.join(POSITIONS)}, not {positions!r}")
        self.positions, self.relative_attention = positions, positions == "relative"
        self.embedding_size, self.vocab_size = embedding, vocab_size
        self.token_embedding = layers.Embedding(vocab_size, embedding, name="token_embedding")
        self.voice_embedding = layers.Embedding(4, embedding, name="voice_embedding")
        self._make_blocks(embedding, n_layers, heads, feed_forward, max_distance, dropout, vocab_size)

    def build(self, input_shape):
        if self.relative_attention:
            self._make_relative_tables()
        super().build(input_shape)

    @staticmethod
    def example_input() -> np.ndarray:
        """Four steps of silence, to build the layers before weights are loaded."""
        return np.full((1, 16), SATB_SILENCE, np.int32)

    def embed(self, tokens):
        """``(batch, time)`` tokens -> their embedding plus their voice's (plus sinusoids if absolute)."""
        tokens = ops.cast(tokens, "int32")
        steps = ops.arange(ops.shape(tokens)[1], dtype="int32")
        x = self.token_embedding(tokens) + self.voice_embedding(steps % 4)[None]
        if not self.relative_attention:
            # sinusoidal_positions in Keras ops, for any length the model is given
            rates = 10000.0 ** (-np.arange(0, self.embedding_size, 2) / self.embedding_size)
            angles = ops.cast(steps, "float32")[:, None] * ops.convert_to_tensor(rates[None], "float32")
            table = ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1)
            x = x + ops.reshape(table, (ops.shape(tokens)[1], self.embedding_size))[None]
        return x

    def get_config(self):
        return {**super().get_config(), **self._block_config(), "positions": self.positions}

    def stepper(self) -> TransformerStepper:
        """An incremental sampler's view of the model: ``feed(token)`` returns the next logits."""
        return TransformerStepper(self, _ChoraleStepInputs(self))


class _ChoraleStepInputs:
    """:meth:`ChoraleTransformer.embed` one token at a time."""

    def __init__(self, model: ChoraleTransformer):
        self.tokens = as_numpy(model.token_embedding.embeddings)
        self.voices = as_numpy(model.voice_embedding.embeddings)
        self.absolute, self.width, self.step = not model.relative_attention, model.embedding_size, 0

    def feed(self, token: int) -> np.ndarray:
        x = self.tokens[token] + self.voices[self.step % 4]
        if self.absolute:
            x = x + sinusoidal_positions(1, self.width, start=self.step)[0]
        self.step += 1
        return x


# ------------------------------------------------------------------------------------------ training


CHORALE_WINDOW = 256
"""Tokens per training window of the four-voice Transformers: 64 sixteenth steps, four bars of 4/4."""


def satb_windows(chorales, window: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One epoch of four-voice training windows: each chorale in a random key, cut from a random step.

    Taught in chapter 05, section 5 (four voices).

    Every chorale is transposed by a random shift of :data:`~musegen_widgets.data.ALL_KEYS`, cut into
    windows of ``window + 1`` tokens starting at a random step (so that windows begin anywhere in the bar),
    and batched by 32: inputs, next-token targets and a 0/1 weight per token (0 on the padding of a short
    last window).
    """
    rng = np.random.default_rng(seed)
    cut = []
    for tokens in chorales:
        shift = int(rng.choice(data.ALL_KEYS))
        moved = np.where(tokens != SATB_SILENCE, tokens + shift, SATB_SILENCE)
        start = 4 * int(rng.integers(0, max(1, min(window, len(tokens) - window) // 4)))
        for first in range(start, len(moved) - 4, window):
            cut.append(moved[first : first + window + 1])
    order = rng.permutation(len(cut))
    batches = []
    for begin in range(0, len(order), 32):
        chosen = [cut[i] for i in order[begin : begin + 32]]
        tokens = np.full((len(chosen), window + 1), SATB_SILENCE, dtype=np.int32)
        weights = np.zeros((len(chosen), window), dtype=np.float32)
        for row, piece in enumerate(chosen):
            tokens[row, : len(piece)] = piece
            weights[row, : len(piece) - 1] = 1.0
        batches.append((tokens[:, :-1], tokens[:, 1:], weights))
    return batches


def train_chorale_transformer(
    name: str = "chorale_transformer",
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train a :class:`~musegen_widgets.models.chorale_transformer.ChoraleTransformer` on the chorales
    serialised S-A-T-B, in windows of :data:`CHORALE_WINDOW` tokens: ``chorale_transformer`` (relative
    attention) or ``chorale_transformer_absolute`` (sinusoidal positions).

    Taught in chapter 05, section 5 (four voices).

    Each epoch sees every training chorale once, in a random key (:func:`satb_windows`); the schedule and
    early stopping are those of :func:`~musegen_widgets.models.melody_training.train_melody_model`, and the NLL is per token, scored in windows of
    the training length (:func:`~musegen_widgets.metrics.sequence_nll` with ``window``).
    """
    if RECIPES[name].model_class != "ChoraleTransformer":
        raise MusegenError(
            f"{name} is not a four-voice Transformer (its recipe builds {RECIPES[name].model_class})"
        )
    epochs, config = recipe_settings(RECIPES[name], fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    train = [encode_satb(piece) for piece in data.load_pieces("train")]
    valid = [encode_satb(piece) for piece in data.load_pieces("valid")]
    window = 32 if fast else CHORALE_WINDOW
    if fast:
        train, valid = train[:8], valid[:4]
    steps_per_epoch = len(satb_windows(train, window, seed))
    with strategy_scope(strategy):
        model = ChoraleTransformer(**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs), weight_decay=1e-4, clipnorm=1.0
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=not fast,  # XLA pays off for a real run; for a tiny one its compile costs more memory than it saves time
        )
    history, seconds = fit(
        model,
        lambda epoch: satb_windows(train, window, seed=seed + epoch),
        lambda: sequence_nll(model, valid, window=window),
        epochs,
        unit="nats per token",
        patience=5,
    )
    test = [encode_satb(piece) for piece in data.load_pieces("test")]
    test_nll = sequence_nll(model, test, window=window)
    result = sequence_result(model, config, history, test_nll, seconds)
    save_run(name, result, folder, fast=fast)
    return result
