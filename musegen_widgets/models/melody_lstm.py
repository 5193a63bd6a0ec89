"""The melody LSTM of chapter 01: next-token logits for melody tokens, with the position in the bar.

Contract shared by every sequence model of the course: ``model(tokens)``, with int tokens
``(batch, time)`` exactly as :func:`musegen_widgets.data.load_melodies` returns them (step 0 on a
downbeat), gives next-token logits ``(batch, time, vocab)``: ``logits[:, t]`` scores token ``t + 1``.

The model derives the musical state it needs from the tokens and the step index itself, and adds an
embedding of each part to the token's embedding:

* where in the bar the *predicted* step falls, in 4/4 (``(t + 1) % 16``) and in 3/4 (``(t + 1) % 12``);
* what sounds now: the last note-on or ``REST`` token at or before ``t`` (a ``HOLD`` does not say);
* how long it has sounded: steps since that event, up to 31.

An LSTM could learn to count ``HOLD`` tokens and remember the pitch of the last onset by itself, but on
300 chorales it learns that slowly; handing it the state it would otherwise have to reconstruct lets its
capacity go to the music.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..encoding import HOLD, VOCAB_SIZE

__all__ = ["MelodyLSTM", "LSTMStepper", "MAX_DURATION"]

MAX_DURATION = 31
"""Steps since the last event are counted up to this (a held whole note and then some)."""


@keras.saving.register_keras_serializable(package="musegen")
class MelodyLSTM(keras.Model):
    """Token and bar-position embeddings, stacked LSTMs, and a linear read-out to the vocabulary.

    Parameters
    ----------
    units
        LSTM units per layer.
    n_layers
        Number of stacked LSTM layers.
    embedding
        Size of the token embedding (the two position embeddings have the same size).
    dropout
        Dropout on the inputs of every LSTM layer and of the read-out, during training only.
    vocab_size
        Number of tokens.
    """

    def __init__(self, units=256, n_layers=2, embedding=64, dropout=0.3, vocab_size=VOCAB_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.units, self.n_layers, self.embedding_size = units, n_layers, embedding
        self.dropout_rate, self.vocab_size = dropout, vocab_size
        self.token_embedding = layers.Embedding(vocab_size, embedding, name="token_embedding")
        self.bar16_embedding = layers.Embedding(16, embedding, name="position_in_4_4_bar")
        self.bar12_embedding = layers.Embedding(12, embedding, name="position_in_3_4_bar")
        self.sounding_embedding = layers.Embedding(vocab_size, embedding, name="sounding_token")
        self.duration_embedding = layers.Embedding(MAX_DURATION + 1, embedding, name="steps_since_event")
        self.lstms = [layers.LSTM(units, return_sequences=True, name=f"lstm_{i}") for i in range(n_layers)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(n_layers + 1)]
        self.readout = layers.Dense(vocab_size, name="readout")

    def call(self, tokens, training=False):
        import tensorflow as tf

        tokens = ops.cast(tokens, "int32")
        steps = ops.arange(ops.shape(tokens)[1], dtype="int32")
        next_step = steps + 1
        # index of the last event (note-on or REST) at or before each step: a running maximum over time
        event_index = ops.where(tokens != HOLD, steps[None], 0)
        last_event = ops.transpose(tf.scan(tf.maximum, ops.transpose(event_index)))
        sounding = ops.take_along_axis(tokens, last_event, axis=1)
        duration = ops.minimum(steps[None] - last_event, MAX_DURATION)
        x = (
            self.token_embedding(tokens)
            + self.bar16_embedding(next_step % 16)[None]
            + self.bar12_embedding(next_step % 12)[None]
            + self.sounding_embedding(sounding)
            + self.duration_embedding(duration)
        )
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

    It computes exactly what :meth:`MelodyLSTM.call` computes at that step (tested to 1e-4), without
    TensorFlow's per-call overhead: a 256-step sample takes milliseconds.
    """

    def __init__(self, model: MelodyLSTM):
        as_numpy = lambda variable: np.asarray(ops.convert_to_numpy(variable), dtype=np.float32)  # noqa: E731
        self.token_embedding = as_numpy(model.token_embedding.embeddings)
        self.bar16 = as_numpy(model.bar16_embedding.embeddings)
        self.bar12 = as_numpy(model.bar12_embedding.embeddings)
        self.sounding_embedding = as_numpy(model.sounding_embedding.embeddings)
        self.duration_embedding = as_numpy(model.duration_embedding.embeddings)
        self.sounding, self.duration = HOLD, 0
        self.cells = [
            (as_numpy(lstm.cell.kernel), as_numpy(lstm.cell.recurrent_kernel), as_numpy(lstm.cell.bias))
            for lstm in model.lstms
        ]
        self.readout = (as_numpy(model.readout.kernel), as_numpy(model.readout.bias))
        self.state = [
            (np.zeros(model.units, np.float32), np.zeros(model.units, np.float32)) for _ in model.lstms
        ]
        self.step = 0

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the logits for the next one."""
        if token != HOLD or self.step == 0:
            self.sounding, self.duration = token, 0
        else:
            self.duration = min(self.duration + 1, MAX_DURATION)
        self.step += 1
        x = (
            self.token_embedding[token]
            + self.bar16[self.step % 16]
            + self.bar12[self.step % 12]
            + self.sounding_embedding[self.sounding]
            + self.duration_embedding[self.duration]
        )
        for i, (kernel, recurrent, bias) in enumerate(self.cells):
            h, c = self.state[i]
            z = x @ kernel + h @ recurrent + bias
            gate_in, gate_forget, candidate, gate_out = np.split(z, 4)
            c = _sigmoid(gate_forget) * c + _sigmoid(gate_in) * np.tanh(candidate)
            h = _sigmoid(gate_out) * np.tanh(c)
            self.state[i] = (h, c)
            x = h
        return x @ self.readout[0] + self.readout[1]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
