"""The infilling model of chapter 06: Coconet's idea (Huang et al. 2017, "Counterpoint by Convolution") on a
laptop's budget.

A chorale is a grid of *cells*, one per voice and 16th step, each holding a pitch or silence (the tokens of
:func:`~musegen_widgets.encoding.encode_satb`, reshaped to ``(steps, 4)``). Some cells are given, the
others hidden by a *mask* (1 = hidden). The model sees the given cells and the mask and answers, for every
cell at once, a softmax over what it holds. Trained on random masks of every size (orderless NADE, Uria et
al. 2014), one network serves every question: the alto, tenor and bass of a given soprano, the bass alone,
bars 3-4 of all voices, or one cell given all the others (what Gibbs sampling asks).

**Architecture.** Coconet convolves over time *and pitch* (64 layers of 128 filters of 3 x 3 on the piano
rolls of the four voices and their masks), which builds transposition into the network. On two CPU cores
that is too slow to train and to sample from in a second, so this model convolves over *time* only: at each
step the four voices' one-hot cells (zeroed where hidden) and the four mask bits are one input vector;
then residual blocks of a non-causal dilated convolution (it looks ``d`` steps back *and* ahead, unlike
chapter 01's causal TCN), a ReLU and a 1 x 1 convolution, each block after a layer norm; and a read-out of
four softmaxes per step. Transposing the training data into every key gives what pitch convolutions would
build in. A stack with dilations ``d_1 .. d_L`` sees ``(kernel_size - 1) * sum(d)`` steps on each side.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..encoding import SATB_VOCAB_SIZE
from ..numerics import log_softmax
from .melody_inputs import as_numpy

__all__ = ["ChoraleInfill", "VOICES", "InfillForward"]

VOICES = 4


@keras.saving.register_keras_serializable(package="musegen")
class ChoraleInfill(keras.Model):
    """Given some cells of a four-voice chorale and a mask of the hidden ones, logits for every cell.

    Taught in chapter 06, section 2 (one network for every question).

    Call it on ``[tokens, mask]``: ``tokens`` ``(batch, steps, 4)`` S-A-T-B tokens (what a hidden cell holds
    is ignored), ``mask`` ``(batch, steps, 4)`` with 1 where a cell is hidden. It returns logits
    ``(batch, steps, 4, vocab_size)``.

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
        Classes of a cell (silence and the pitches of the piano roll).
    """

    def __init__(
        self,
        channels=128,
        kernel_size=3,
        dilations=(1, 2, 4, 8, 16, 1, 2, 4, 8, 16),
        dropout=0.1,
        vocab_size=SATB_VOCAB_SIZE,
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
        x = self.cells(ops.concatenate([ops.reshape(cells, (-1, steps, VOICES * self.vocab_size)), mask], -1))
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
        """Log-probabilities ``(..., steps, 4, vocab_size)`` for tokens and mask ``(..., steps, 4)``."""
        tokens, mask = np.asarray(tokens), np.asarray(mask, dtype=np.float32)
        batch_shape, steps = tokens.shape[:-2], tokens.shape[-2]
        tokens, mask = tokens.reshape(-1, steps, VOICES), mask.reshape(-1, steps, VOICES)
        kernel, bias = self.cells
        # the one-hot input times the first dense layer is a lookup of the kernel's rows, one per voice
        rows = kernel[: VOICES * self.vocab_size].reshape(VOICES, self.vocab_size, -1)
        given = rows[np.arange(VOICES), tokens] * (1.0 - mask)[..., None]  # (batch, steps, 4, channels)
        x = given.sum(axis=-2) + mask @ kernel[VOICES * self.vocab_size :] + bias
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
