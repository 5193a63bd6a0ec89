"""A WaveNet-style melody model for chapter 01: stacked dilated causal convolutions instead of recurrence.

Same contract and inputs as :class:`~musegen_widgets.models.melody_lstm.MelodyLSTM` (see
:mod:`musegen_widgets.models.melody_inputs`). Each block is WaveNet's gated residual unit:

.. math::

    z = \\tanh(W_f * x) \\odot \\sigma(W_g * x), \\qquad x \\leftarrow x + W_r z, \\qquad
    s \\leftarrow s + W_s z

where ``*`` is a causal convolution with kernel size ``K`` and dilation ``d`` (output ``t`` sees inputs
``t, t - d, ..., t - (K - 1) d``). The skip sum ``s`` goes through ReLU, a dense layer and the read-out.
A stack with dilations ``d_1 .. d_L`` sees :func:`receptive_field` ``= 1 + (K - 1) sum d_l`` steps: nothing
before that window can change a prediction, unlike an LSTM's unbounded (if fading) memory.

WaveNet itself (van den Oord et al., 2016) models *audio samples*, 16,000 or more per second, with this
architecture; here the same idea models 16th-note tokens.

**Training.** :func:`~musegen_widgets.models.melody_training.train_melody_model` trains the recipe
``melody_tcn`` of :mod:`~musegen_widgets.models.recipes` on whole melodies in every key
(:func:`~musegen_widgets.models.melody_training.melody_batches`).
"""

from __future__ import annotations

from collections import deque

import keras
import numpy as np
from keras import layers, ops

from ..encoding import VOCAB_SIZE
from ..numerics import sigmoid
from .melody_inputs import MelodyModel, StepInputs, as_numpy

__all__ = ["MelodyTCN", "TCNStepper", "receptive_field"]


def receptive_field(kernel_size: int, dilations) -> int:
    """Steps a stack of causal convolutions sees: ``1 + (kernel_size - 1) * sum(dilations)``.

    Taught in chapter 01, section 6 (without recurrence).

    >>> receptive_field(2, [1, 2, 4, 8])
    16
    """
    return 1 + (kernel_size - 1) * int(sum(dilations))


@keras.saving.register_keras_serializable(package="musegen")
class MelodyTCN(MelodyModel):
    """Gated residual blocks of dilated causal convolutions with skip connections (WaveNet's design).

    Taught in chapter 01, section 6 (without recurrence).

    Parameters
    ----------
    channels
        Width of every block (and of the input embeddings).
    kernel_size
        Taps of each convolution.
    dilations
        One block per entry, with that dilation.
    dropout
        Dropout on each block's input and before the read-out, during training only.
    vocab_size
        Number of tokens.
    """

    def __init__(
        self,
        channels=128,
        kernel_size=3,
        dilations=(1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32),
        dropout=0.2,
        vocab_size=VOCAB_SIZE,
        **kwargs,
    ):
        super().__init__(embedding=channels, vocab_size=vocab_size, **kwargs)
        self.channels, self.kernel_size, self.dilations = channels, kernel_size, tuple(dilations)
        self.dropout_rate = dropout
        # filter and gate convolutions in one layer (twice the channels), split after
        self.convolutions = [
            layers.Conv1D(2 * channels, kernel_size, dilation_rate=d, padding="causal", name=f"dilated_{i}")
            for i, d in enumerate(self.dilations)
        ]
        # the last block's output only feeds the skip sum
        self.residuals = [
            layers.Dense(channels, name=f"residual_{i}") for i in range(len(self.dilations) - 1)
        ]
        self.skips = [layers.Dense(channels, name=f"skip_{i}") for i in range(len(self.dilations))]
        self.dropouts = [layers.Dropout(dropout) for _ in range(len(self.dilations) + 1)]
        self.hidden = layers.Dense(channels, activation="relu", name="hidden")
        self.readout = layers.Dense(vocab_size, name="readout")

    @property
    def receptive_field(self) -> int:
        """How many steps (the current one included) a prediction can see."""
        return receptive_field(self.kernel_size, self.dilations)

    def call(self, tokens, training=False):
        x = self.embed(tokens)
        skip = 0.0
        for i, (convolution, to_skip) in enumerate(zip(self.convolutions, self.skips)):
            filter_, gate = ops.split(convolution(self.dropouts[i](x, training=training)), 2, axis=-1)
            z = ops.tanh(filter_) * ops.sigmoid(gate)
            skip = skip + to_skip(z)
            if i < len(self.residuals):
                x = x + self.residuals[i](z)
        return self.readout(self.dropouts[-1](self.hidden(ops.relu(skip)), training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "kernel_size": self.kernel_size,
            "dilations": list(self.dilations),
            "dropout": self.dropout_rate,
            "vocab_size": self.vocab_size,
        }

    def stepper(self) -> TCNStepper:
        """An incremental sampler's view of the model: ``feed(token)`` returns the next logits."""
        return TCNStepper(self)


class TCNStepper:
    """The TCN one step at a time: each block keeps a queue of its recent inputs (fast WaveNet generation).

    Taught in chapter 01, section 6 (without recurrence).

    A new step needs, per block, only the inputs ``d`` and ``2d`` ... steps back, which the queue holds, so
    a step costs the same however long the melody is, instead of re-running every convolution over the
    whole receptive field (Paine et al., 2016, "Fast WaveNet generation algorithm").
    """

    def __init__(self, model: MelodyTCN):
        self.inputs = StepInputs(model)
        self.kernel_size, self.channels = model.kernel_size, model.channels
        # the last block has no residual projection: its output only feeds the skip sum
        residuals = [(as_numpy(r.kernel), as_numpy(r.bias)) for r in model.residuals] + [(None, None)]
        self.blocks = [
            (
                as_numpy(convolution.kernel),  # (kernel_size, channels, 2 * channels)
                as_numpy(convolution.bias),
                *residual,
                as_numpy(to_skip.kernel),
                as_numpy(to_skip.bias),
                dilation,
            )
            for convolution, residual, to_skip, dilation in zip(
                model.convolutions, residuals, model.skips, model.dilations
            )
        ]
        zero = np.zeros(model.channels, np.float32)  # causal padding: zeros before the first step
        self.queues = [deque([zero] * ((model.kernel_size - 1) * d + 1)) for d in model.dilations]
        self.hidden = (as_numpy(model.hidden.kernel), as_numpy(model.hidden.bias))
        self.readout = (as_numpy(model.readout.kernel), as_numpy(model.readout.bias))

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the logits for the next one."""
        x = self.inputs.feed(token)
        skip = 0.0
        K, C = self.kernel_size, self.channels
        for queue, (kernel, bias, w_res, b_res, w_skip, b_skip, d) in zip(self.queues, self.blocks):
            queue.append(x)
            queue.popleft()
            # tap i of a causal convolution reads the input (K - 1 - i) * d steps back
            z = bias + sum(queue[-1 - (K - 1 - i) * d] @ kernel[i] for i in range(K))
            z = np.tanh(z[:C]) * sigmoid(z[C:])
            skip = skip + z @ w_skip + b_skip
            if w_res is not None:
                x = x + z @ w_res + b_res
        hidden = np.maximum(np.maximum(skip, 0.0) @ self.hidden[0] + self.hidden[1], 0.0)
        return hidden @ self.readout[0] + self.readout[1]
