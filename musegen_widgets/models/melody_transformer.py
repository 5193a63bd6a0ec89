"""A decoder-only melody Transformer with relative attention, after Music Transformer (chapter 05).

Same contract as the LSTM and the TCN of chapter 01: ``model(tokens)`` with int tokens ``(batch, time)``
gives next-token logits ``(batch, time, vocab)``, from the same inputs (:mod:`.melody_inputs`), and
``model.stepper()`` samples one token at a time in numpy, here with a cache of every layer's keys and values
so that a new token costs one row of attention, not a re-run over the prefix.

Each block is pre-norm (Xiong et al. 2020): ``x + attention(norm(x))``, then ``x + feed_forward(norm(x))``.
The attention logits of a head are ``(q_i · k_j + q_i · e_{i-j}) / √d`` with a learned ``e`` per distance
(Shaw et al. 2018), computed with Music Transformer's skewing (Huang et al. 2018;
:func:`musegen_widgets.attention.relative_logits_skewed` is the numpy version); distances from
``max_distance - 1`` on share one vector.

**Training.** :func:`~musegen_widgets.models.melody_training.train_melody_model` trains the recipe
``melody_transformer`` (and chapter 07's ``melody_transformer_small`` and ``_distilled``) of :mod:`~musegen_widgets.models.recipes` on whole melodies in every key
(:func:`~musegen_widgets.models.melody_training.melody_batches`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..attention import relative_table
from ..encoding import VOCAB_SIZE
from .melody_inputs import MelodyModel, StepInputs, as_numpy

__all__ = ["MelodyTransformer", "DecoderBlocks", "TransformerStepper"]


class DecoderBlocks:
    """The layers every Transformer of the course shares: ``n_layers`` pre-norm blocks of causal
    self-attention and a feed-forward layer, then a norm and a linear read-out to the vocabulary.

    Taught in chapter 05, section 4 (a melody Transformer). A mixin for a ``keras.Model`` that defines
    ``embed(tokens)``; with ``relative`` the attention logits get the relative term (Shaw et al. 2018)
    through Music Transformer's skewing, without it the model relies on positions added by ``embed``.
    """

    def _make_blocks(self, embedding, n_layers, heads, feed_forward, max_distance, dropout, vocab_size):
        if embedding % heads:
            raise ValueError(f"embedding {embedding} is not divisible into {heads} heads")
        self.n_layers, self.heads, self.feed_forward_size = n_layers, heads, feed_forward
        self.max_distance, self.dropout_rate = max_distance, dropout
        self.head_size = embedding // heads
        self.attention_norms = [
            layers.LayerNormalization(name=f"attention_norm_{i}") for i in range(n_layers)
        ]
        self.projections = [layers.Dense(3 * embedding, name=f"query_key_value_{i}") for i in range(n_layers)]
        self.attention_outputs = [
            layers.Dense(embedding, name=f"attention_output_{i}") for i in range(n_layers)
        ]
        self.feed_norms = [layers.LayerNormalization(name=f"feed_forward_norm_{i}") for i in range(n_layers)]
        self.hidden = [
            layers.Dense(feed_forward, activation="relu", name=f"hidden_{i}") for i in range(n_layers)
        ]
        self.back = [layers.Dense(embedding, name=f"feed_forward_output_{i}") for i in range(n_layers)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(3 * n_layers)]
        self.final_norm = layers.LayerNormalization(name="final_norm")
        self.readout = layers.Dense(vocab_size, name="readout")

    def _make_relative_tables(self):
        # one table of distance vectors per block and head: (heads, max_distance, head_size), the last row distance 0
        self.relative = [
            self.add_weight(
                shape=(self.heads, self.max_distance, self.head_size),
                initializer=keras.initializers.RandomNormal(stddev=self.head_size**-0.5),
                name=f"relative_{i}",
            )
            for i in range(self.n_layers)
        ]

    def _attention(self, i: int, x, training: bool):
        """Block ``i``'s attention: its output ``(batch, L, embedding)`` and weights ``(batch, heads, L, L)``."""
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.projections[i](x), (batch, length, 3, self.heads, self.head_size))
        q, k, v = (ops.transpose(qkv[:, :, n], (0, 2, 1, 3)) for n in range(3))  # (batch, heads, L, d)
        logits = ops.einsum("bhld,bhmd->bhlm", q, k)
        if self.relative_attention:
            # the vectors for distances L-1 .. 0 (rows of the table from max_distance - L, clipped at the farthest)
            rows = ops.maximum(ops.arange(length) + (self.max_distance - length), 0)
            table = ops.take(self.relative[i], rows, axis=1)  # (heads, L, d)
            by_distance = ops.einsum("bhld,hrd->bhlr", q, table)
            padded = ops.pad(by_distance, [[0, 0], [0, 0], [0, 0], [1, 0]])
            logits = logits + ops.reshape(padded, (batch, self.heads, length + 1, length))[:, :, 1:]
        causal = ops.tril(ops.ones((length, length), dtype="bool"))
        logits = ops.where(causal[None, None], logits / np.sqrt(self.head_size), -1e9)
        weights = ops.softmax(logits, axis=-1)
        dropped = self.dropouts[3 * i](weights, training=training)
        mixed = ops.transpose(ops.einsum("bhlm,bhmd->bhld", dropped, v), (0, 2, 1, 3))
        output = self.attention_outputs[i](ops.reshape(mixed, (batch, length, self.heads * self.head_size)))
        return output, weights

    def _forward(self, tokens, training: bool):
        """The next-token logits, and every block's attention weights ``(batch, heads, L, L)``."""
        x, maps = self.embed(tokens), []
        for i in range(self.n_layers):
            attended, weights = self._attention(i, self.attention_norms[i](x), training)
            maps.append(weights)
            x = x + self.dropouts[3 * i + 1](attended, training=training)
            hidden = self.back[i](self.hidden[i](self.feed_norms[i](x)))
            x = x + self.dropouts[3 * i + 2](hidden, training=training)
        return self.readout(self.final_norm(x)), maps

    def call(self, tokens, training=False):
        return self._forward(tokens, training)[0]

    def attention_weights(self, tokens) -> np.ndarray:
        """Every block's and head's attention over one sequence: ``(n_layers, heads, L, L)``, rows summing to 1.

        Taught in chapter 05, section 6 (what the heads look at).
        """
        _, maps = self._forward(np.asarray(tokens, dtype=np.int32)[None], False)
        return np.stack([as_numpy(weights)[0] for weights in maps])

    def _block_config(self) -> dict:
        return {
            "embedding": self.embedding_size,
            "n_layers": self.n_layers,
            "heads": self.heads,
            "feed_forward": self.feed_forward_size,
            "max_distance": self.max_distance,
            "dropout": self.dropout_rate,
            "vocab_size": self.vocab_size,
        }


@keras.saving.register_keras_serializable(package="musegen")
class MelodyTransformer(DecoderBlocks, MelodyModel):
    """Embeddings, ``n_layers`` pre-norm blocks of causal relative self-attention and a feed-forward layer,
    and a linear read-out to the vocabulary.

    Taught in chapter 05, section 4 (a melody Transformer), on the relative attention of section 2.

    Parameters
    ----------
    embedding
        Width of every step's vector (the model dimension), split evenly between the heads.
    n_layers, heads
        Blocks, and attention heads per block.
    feed_forward
        Width of each block's hidden feed-forward layer.
    max_distance
        Distances with a vector of their own; farther ones share the last.
    dropout
        On the attention weights and on each block's two outputs, during training only.
    vocab_size
        Number of tokens.
    """

    relative_attention = True

    def __init__(
        self,
        embedding=128,
        n_layers=4,
        heads=4,
        feed_forward=512,
        max_distance=256,
        dropout=0.1,
        vocab_size=VOCAB_SIZE,
        **kwargs,
    ):
        super().__init__(embedding=embedding, vocab_size=vocab_size, **kwargs)
        self._make_blocks(embedding, n_layers, heads, feed_forward, max_distance, dropout, vocab_size)

    def build(self, input_shape):
        self._make_relative_tables()
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), **self._block_config()}

    def stepper(self) -> TransformerStepper:
        """An incremental sampler's view of the model: ``feed(token)`` returns the next logits."""
        return TransformerStepper(self, StepInputs(self))


def _norm(layer) -> tuple[np.ndarray, np.ndarray, float]:
    return as_numpy(layer.gamma), as_numpy(layer.beta), float(layer.epsilon)


def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
    gamma, beta, epsilon = norm
    centred = x - x.sum() / x.size  # one vector: sums and a dot product beat numpy's mean and var here
    return centred * (gamma / np.sqrt(centred @ centred / x.size + epsilon)) + beta


class TransformerStepper:
    """The Transformer one step at a time in numpy, with a key/value cache per block.

    Taught in chapter 05, section 4 (a melody Transformer). ``inputs.feed(token)`` gives the step's input
    vector (the model's ``embed`` one step at a time). Step ``t`` computes its query, key and value, appends the
    key and value to the cache, and attends over the ``t + 1`` cached ones: the same numbers as
    the model's ``call`` at that step (tested to 1e-4), in time proportional to ``t``.
    """

    def __init__(self, model: DecoderBlocks, inputs):
        self.model, self.inputs = model, inputs
        self.weights = [
            {
                "qkv": (as_numpy(model.projections[i].kernel), as_numpy(model.projections[i].bias)),
                "out": (
                    as_numpy(model.attention_outputs[i].kernel),
                    as_numpy(model.attention_outputs[i].bias),
                ),
                "hidden": (as_numpy(model.hidden[i].kernel), as_numpy(model.hidden[i].bias)),
                "back": (as_numpy(model.back[i].kernel), as_numpy(model.back[i].bias)),
                "relative": as_numpy(model.relative[i]) if model.relative_attention else None,
                "attention_norm": _norm(model.attention_norms[i]),
                "feed_norm": _norm(model.feed_norms[i]),
            }
            for i in range(model.n_layers)
        ]
        self.final_norm = _norm(model.final_norm)
        self.readout = (as_numpy(model.readout.kernel), as_numpy(model.readout.bias))
        # the caches, with room to grow: keys and values of block i at steps 0 .. steps - 1
        self.steps, self.scale = 0, 1.0 / np.sqrt(model.head_size)
        self._keys = [
            np.zeros((model.heads, 256, model.head_size), np.float32) for _ in range(model.n_layers)
        ]
        self._values = [np.zeros_like(k) for k in self._keys]

    @property
    def keys(self) -> list[np.ndarray]:
        """Each block's cached keys, ``(heads, steps, head_size)``."""
        return [k[:, : self.steps] for k in self._keys]

    @property
    def values(self) -> list[np.ndarray]:
        """Each block's cached values, ``(heads, steps, head_size)``."""
        return [v[:, : self.steps] for v in self._values]

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the logits for the next one."""
        model, x = self.model, self.inputs.feed(token)
        if self.steps == self._keys[0].shape[1]:  # full: twice the room
            self._keys = [np.concatenate([k, np.zeros_like(k)], axis=1) for k in self._keys]
            self._values = [np.concatenate([v, np.zeros_like(v)], axis=1) for v in self._values]
        now, self.steps = self.steps, self.steps + 1
        for i, w in enumerate(self.weights):
            h = _layer_norm(x, w["attention_norm"])
            q, k, v = (h @ w["qkv"][0] + w["qkv"][1]).reshape(3, model.heads, 1, model.head_size)
            self._keys[i][:, now] = k[:, 0]
            self._values[i][:, now] = v[:, 0]
            keys, values = self._keys[i][:, : self.steps], self._values[i][:, : self.steps]
            logits = q @ keys.transpose(0, 2, 1)
            if w["relative"] is not None:
                table = relative_table(w["relative"], self.steps)  # distances steps - 1 .. 0, as the keys
                logits = logits + q @ table.transpose(0, 2, 1)
            logits *= self.scale
            weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            mixed = (weights @ values).reshape(-1)
            x = x + mixed @ w["out"][0] + w["out"][1]
            hidden = np.maximum(_layer_norm(x, w["feed_norm"]) @ w["hidden"][0] + w["hidden"][1], 0.0)
            x = x + hidden @ w["back"][0] + w["back"][1]
        return _layer_norm(x, self.final_norm) @ self.readout[0] + self.readout[1]
