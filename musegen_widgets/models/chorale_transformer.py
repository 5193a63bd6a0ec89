"""A Transformer over the four voices serialised S-A-T-B per 16th step, with relative or absolute positions
(chapter 05, section 5).

This is the set-up of Music Transformer's JSB Chorales experiment (Huang et al. 2018, section 4.1): the
tokens of :func:`musegen_widgets.encoding.encode_satb`, four per step, each predicted from all before it.
``positions="relative"`` is Music Transformer (relative attention, as in
:class:`~musegen_widgets.models.melody_transformer.MelodyTransformer`); ``positions="absolute"`` is the
baseline of Vaswani et al. 2017, sinusoidal positions added to the input and plain attention. Both add a
learned vector for the voice a token belongs to (its index modulo 4), so that a window cut anywhere still
says which voice comes next.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..attention import sinusoidal_positions
from ..encoding import SATB_SILENCE, SATB_VOCAB_SIZE
from .melody_inputs import as_numpy
from .melody_transformer import DecoderBlocks, TransformerStepper

__all__ = ["ChoraleTransformer", "POSITIONS"]

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
