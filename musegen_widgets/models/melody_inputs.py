"""What every melody model of the course sees at each step: the token, and the musical state it implies.

The models of chapter 01 (:class:`~musegen_widgets.models.melody_lstm.MelodyLSTM` and
:class:`~musegen_widgets.models.melody_tcn.MelodyTCN`) share this input. From the tokens and the step
index alone (step 0 is a downbeat) they derive, and embed beside the token:

* where in the bar the *predicted* step falls, in 4/4 (``(t + 1) % 16``) and in 3/4 (``(t + 1) % 12``);
* what sounds now: the last note-on or ``REST`` token at or before ``t`` (a ``HOLD`` does not say);
* how long it has sounded: steps since that event, up to :data:`MAX_DURATION`.

A network could learn to count ``HOLD`` tokens and to remember the pitch of the last onset by itself, but
on 300 chorales it learns that slowly; handing it the state it would otherwise have to reconstruct lets
its capacity go to the music. The sum of the five embeddings is the network's input.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..encoding import HOLD, REST, VOCAB_SIZE

__all__ = ["MelodyModel", "StepInputs", "MAX_DURATION"]

MAX_DURATION = 31
"""Steps since the last event are counted up to this (a held whole note and then some)."""


class MelodyModel(keras.Model):
    """Base class: the five input embeddings, summed by :meth:`embed` (in Keras) or :class:`StepInputs`.

    Taught in chapter 01, section 5 (training).
    """

    def __init__(self, embedding: int, vocab_size: int = VOCAB_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.embedding_size, self.vocab_size = embedding, vocab_size
        self.token_embedding = layers.Embedding(vocab_size, embedding, name="token_embedding")
        self.bar16_embedding = layers.Embedding(16, embedding, name="position_in_4_4_bar")
        self.bar12_embedding = layers.Embedding(12, embedding, name="position_in_3_4_bar")
        self.sounding_embedding = layers.Embedding(vocab_size, embedding, name="sounding_token")
        self.duration_embedding = layers.Embedding(MAX_DURATION + 1, embedding, name="steps_since_event")

    @staticmethod
    def example_input() -> np.ndarray:
        """A bar of rests, to build the layers before weights are loaded."""
        return np.full((1, 16), REST, np.int32)

    def embed(self, tokens):
        """``(batch, time)`` tokens -> ``(batch, time, embedding)``: the summed input embeddings."""
        import tensorflow as tf

        tokens = ops.cast(tokens, "int32")
        steps = ops.arange(ops.shape(tokens)[1], dtype="int32")
        next_step = steps + 1
        # index of the last event (note-on or REST) at or before each step: a running maximum over time
        event_index = ops.where(tokens != HOLD, steps[None], 0)
        last_event = ops.transpose(tf.scan(tf.maximum, ops.transpose(event_index)))
        sounding = ops.take_along_axis(tokens, last_event, axis=1)
        duration = ops.minimum(steps[None] - last_event, MAX_DURATION)
        return (
            self.token_embedding(tokens)
            + self.bar16_embedding(next_step % 16)[None]
            + self.bar12_embedding(next_step % 12)[None]
            + self.sounding_embedding(sounding)
            + self.duration_embedding(duration)
        )


def as_numpy(variable) -> np.ndarray:
    """A Keras variable as a float32 numpy array."""
    return np.asarray(ops.convert_to_numpy(variable), dtype=np.float32)


class StepInputs:
    """:meth:`MelodyModel.embed` one step at a time, in numpy: ``feed(token)`` gives that step's input.

    Taught in chapter 01, section 5 (training).
    """

    def __init__(self, model: MelodyModel):
        self.tables = [
            as_numpy(embedding.embeddings)
            for embedding in (
                model.token_embedding,
                model.bar16_embedding,
                model.bar12_embedding,
                model.sounding_embedding,
                model.duration_embedding,
            )
        ]
        self.sounding, self.duration, self.step = HOLD, 0, 0

    def feed(self, token: int) -> np.ndarray:
        if token != HOLD or self.step == 0:
            self.sounding, self.duration = token, 0
        else:
            self.duration = min(self.duration + 1, MAX_DURATION)
        self.step += 1
        token_table, bar16, bar12, sounding_table, duration_table = self.tables
        return (
            token_table[token]
            + bar16[self.step % 16]
            + bar12[self.step % 12]
            + sounding_table[self.sounding]
            + duration_table[self.duration]
        )
