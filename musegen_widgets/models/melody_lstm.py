"""The melody LSTM of chapter 01: next-token logits for melody tokens, with the position in the bar.

Contract shared by every sequence model of the course: ``model(tokens)``, with int tokens
``(batch, time)`` exactly as :func:`musegen_widgets.data.load_melodies` returns them (step 0 on a
downbeat), gives next-token logits ``(batch, time, vocab)``: ``logits[:, t]`` scores token ``t + 1``.
The inputs it derives from the tokens (position in the bar, what sounds, for how long) are described in
:mod:`musegen_widgets.models.melody_inputs`.

**Training.** :func:`~musegen_widgets.models.melody_training.train_melody_model` trains the recipe
``melody_lstm`` of :mod:`~musegen_widgets.models.recipes` on whole melodies in every key
(:func:`~musegen_widgets.models.melody_training.melody_batches`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..encoding import VOCAB_SIZE
from ..numerics import lstm_gates
from .melody_inputs import MAX_DURATION, MelodyModel, StepInputs, as_numpy

__all__ = ["MelodyLSTM", "LSTMStepper", "MAX_DURATION"]


@keras.saving.register_keras_serializable(package="musegen")
class MelodyLSTM(MelodyModel):
    """Token and bar-position embeddings, stacked LSTMs, and a linear read-out to the vocabulary.

    Taught in chapter 01, section 5 (training).

    Parameters
    ----------
    units
        LSTM units per layer.
    n_layers
        Number of stacked LSTM layers.
    embedding
        Size of the token embedding (the position and state embeddings have the same size).
    dropout
        Dropout on the inputs of every LSTM layer and of the read-out, during training only.
    vocab_size
        Number of tokens.
    """

    def __init__(self, units=256, n_layers=2, embedding=64, dropout=0.3, vocab_size=VOCAB_SIZE, **kwargs):
        super().__init__(embedding=embedding, vocab_size=vocab_size, **kwargs)
        self.units, self.n_layers, self.dropout_rate = units, n_layers, dropout
        self.lstms = [layers.LSTM(units, return_sequences=True, name=f"lstm_{i}") for i in range(n_layers)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(n_layers + 1)]
        self.readout = layers.Dense(vocab_size, name="readout")

    def call(self, tokens, training=False):
        x = self.embed(tokens)
        for dropout, lstm in zip(self.dropouts, self.lstms):
            x = lstm(dropout(x, training=training))
        return self.readout(self.dropouts[-1](x, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "n_layers": self.n_layers,
            "embedding": self.embedding_size,
            "dropout": self.dropout_rate,
            "vocab_size": self.vocab_size,
        }

    def stepper(self) -> LSTMStepper:
        """An incremental sampler's view of the model: ``feed(token)`` returns the next logits."""
        return LSTMStepper(self)


class LSTMStepper:
    """The model run one step at a time in numpy, its state ``(h, c)`` carried between calls.

    Taught in chapter 01, section 7 (sampling).

    It computes exactly what :meth:`MelodyLSTM.call` computes at that step (tested to 1e-4), without
    TensorFlow's per-call overhead: a 256-step sample takes milliseconds.
    """

    def __init__(self, model: MelodyLSTM):
        self.inputs = StepInputs(model)
        # x W + h U as one product with [W; U] transposed and contiguous: a third of the time of two products
        # for one step (numerics.lstm_step computes the same, readably)
        self.cells = [
            (
                np.ascontiguousarray(
                    np.vstack([as_numpy(lstm.cell.kernel), as_numpy(lstm.cell.recurrent_kernel)]).T
                ),
                as_numpy(lstm.cell.bias),
            )
            for lstm in model.lstms
        ]
        self.readout = (as_numpy(model.readout.kernel), as_numpy(model.readout.bias))
        self.state = [
            (np.zeros(model.units, np.float32), np.zeros(model.units, np.float32)) for _ in model.lstms
        ]

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the logits for the next one."""
        x = self.inputs.feed(token)
        for i, (stacked, bias) in enumerate(self.cells):
            h, c = self.state[i]
            self.state[i] = lstm_gates(stacked @ np.concatenate([x, h]) + bias, c)
            x = self.state[i][0]
        return x @ self.readout[0] + self.readout[1]
