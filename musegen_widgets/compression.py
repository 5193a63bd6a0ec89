"""Smaller models: int8 weights and magnitude pruning (chapter 07).

**int8 weights, per-channel symmetric.** Each output channel ``c`` of a weight matrix (a column of a dense
kernel, an output channel of a convolution) gets its own scale ``s_c = max |w[..., c]| / 127``, and each
weight is stored as the integer ``q = round(w / s_c)`` in ``[-127, 127]``: one byte instead of four, plus
one float per channel. Reading it back gives ``q * s_c``, within ``s_c / 2`` of the original. *Symmetric*:
zero stays exactly zero (no offset), which keeps pruned weights pruned. *Per-channel*: one large weight
only coarsens its own column's grid. Biases and normalisation vectors are few and stay float32.

**Magnitude pruning.** Set the smallest ``sparsity`` fraction of each weight matrix to zero (by absolute
value), then fine-tune with the zeros held (Han et al. 2015; Zhu & Gupta 2017, "To prune or not to prune"):
:func:`fine_tune`, and :func:`prune_and_fine_tune` for a sweep of fractions.
The zeros save nothing on dense kernels: a matrix product multiplies them all the same.

>>> import numpy as np
>>> w = np.array([[0.5, -2.0], [-1.0, 1.0]], dtype=np.float32)
>>> q = quantize_int8(w)
>>> q.values
array([[  64, -127],
       [-127,   64]], dtype=int8)
>>> bool(np.abs(q.dequantize() - w).max() <= q.scales.max() / 2)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import data
from .errors import MusegenError

__all__ = [
    "Int8Weights",
    "quantize_int8",
    "quantize_weights",
    "dequantize_weights",
    "weight_bytes",
    "magnitude_masks",
    "sparsity",
    "fine_tune",
    "prune_and_fine_tune",
]


@dataclass(frozen=True)
class Int8Weights:
    """A weight array stored as int8 with one float32 scale per output channel (the last axis).

    Taught in chapter 07, section 2 (int8 weights).
    """

    values: np.ndarray
    scales: np.ndarray

    def dequantize(self) -> np.ndarray:
        """The float32 weights these stand for: ``values * scales``."""
        return self.values.astype(np.float32) * self.scales

    @property
    def nbytes(self) -> int:
        """Bytes of the integers and the scales."""
        return self.values.nbytes + self.scales.nbytes

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape


def quantize_int8(weights: np.ndarray) -> Int8Weights:
    """Per-channel symmetric int8 quantisation of a weight array, one scale per index of its last axis.

    Taught in chapter 07, section 2 (int8 weights).

    A channel of zeros gets scale 1 (its integers are all 0).
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim < 1 or not np.all(np.isfinite(weights)):
        raise MusegenError("int8 quantisation needs an array of finite weights")
    largest = np.abs(weights).reshape(-1, weights.shape[-1]).max(axis=0)
    scales = np.where(largest > 0, largest / 127, 1.0).astype(np.float32)
    values = np.clip(np.rint(weights / scales), -127, 127).astype(np.int8)
    return Int8Weights(values, scales)


def quantize_weights(weights: list[np.ndarray]) -> list[Int8Weights | np.ndarray]:
    """A model's weights (``model.get_weights()``) with every matrix and kernel (2 or more axes) in int8;
    vectors (biases, normalisation) kept as they are.

    Taught in chapter 07, section 2 (int8 weights).
    """
    return [quantize_int8(w) if np.ndim(w) >= 2 else np.asarray(w) for w in weights]


def dequantize_weights(weights: list[Int8Weights | np.ndarray]) -> list[np.ndarray]:
    """Float32 weights for ``model.set_weights``: what a model computes with int8 storage.

    Taught in chapter 07, section 2 (int8 weights).
    """
    return [w.dequantize() if isinstance(w, Int8Weights) else w for w in weights]


def weight_bytes(weights: list[Int8Weights | np.ndarray]) -> int:
    """Bytes to store ``weights`` (float32 arrays or :class:`Int8Weights`), without any file format.

    Taught in chapter 07, section 1 (what each model costs).
    """
    return int(sum(w.nbytes for w in weights))


def magnitude_masks(weights: list[np.ndarray], fraction: float) -> list[np.ndarray | None]:
    """For each matrix or kernel of ``weights``, a 0/1 mask that zeroes its ``fraction`` smallest weights
    by absolute value; ``None`` for vectors (biases, normalisation), which are never pruned.

    Taught in chapter 07, section 3 (pruning).

    Each matrix loses the same fraction (layer-wise pruning), so no layer is emptied. Multiply the weights
    by their masks after every update of fine-tuning to keep the zeros.
    """
    if not (isinstance(fraction, (int, float)) and 0 <= fraction < 1):
        raise MusegenError(f"the fraction to prune must be at least 0 and below 1, got {fraction!r}")
    masks: list[np.ndarray | None] = []
    for w in weights:
        if np.ndim(w) < 2:
            masks.append(None)
            continue
        pruned = int(round(fraction * w.size))
        mask = np.ones(w.size, dtype=np.float32)
        # ties broken by position: exactly `pruned` zeros
        mask[np.argsort(np.abs(w).ravel(), kind="stable")[:pruned]] = 0
        masks.append(mask.reshape(w.shape))
    return masks


def sparsity(weights: list[np.ndarray]) -> float:
    """The fraction of zeros among the weights of the matrices and kernels (vectors left out).

    Taught in chapter 07, section 3 (pruning).
    """
    matrices = [np.asarray(w) for w in weights if np.ndim(w) >= 2]
    total = sum(w.size for w in matrices)
    return float(sum(np.count_nonzero(w == 0) for w in matrices) / total) if total else 0.0


# ------------------------------------------------------------------------------- pruning, then training


def fine_tune(
    model, *, masks=None, epochs: int = 1, peak: float = 2e-4, fast: bool = False, seed: int = 0
) -> list[float]:
    """Train a trained melody model further on the training melodies in every key, holding the weights that
    ``masks`` zero at zero; returns the training loss of each epoch.

    Taught in chapter 07, section 3 (pruning).

    Parameters
    ----------
    model
        A melody model (``load_pretrained("melody_tcn")``), changed in place.
    masks
        One 0/1 array or ``None`` per weight of ``model.get_weights()``
        (:func:`magnitude_masks`): after every update each masked weight is
        multiplied by its mask again, so pruned weights stay zero.
    epochs, peak
        How long, and the learning rate at the start, from which a cosine takes it down to 2 % of it by the
        end: no warm-up, and a peak 25 times smaller than a training's from scratch, so as not to undo what
        the model knows.
    fast
        A few melodies only (CI's fast mode).
    """
    import keras  # here, not above: quantising needs numpy alone

    from .models.melody_training import melody_batches
    from .training import n_batches, train_on_batch

    train = data.load_melodies("train")
    if fast:
        train = train[:8]
    augmented = data.augmented(train)
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=keras.optimizers.schedules.CosineDecay(
                peak, decay_steps=epochs * n_batches(augmented, 32), alpha=0.02
            ),
            weight_decay=1e-4,
            clipnorm=1.0,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,  # an XLA compile per batch shape costs more memory than one epoch saves in time
    )
    held = [(v, m) for v, m in zip(model.weights, masks or []) if m is not None]
    losses = []
    for epoch in range(epochs):
        batches = melody_batches(augmented, batch_size=32, seed=seed + epoch)
        progress = keras.utils.Progbar(len(batches), stateful_metrics=["loss"])
        epoch_losses = []
        for x, y, w in batches:
            epoch_losses.append(train_on_batch(model, x, y, w) * w.size / w.sum())
            for variable, mask in held:
                variable.assign(variable.numpy() * mask)
            progress.add(1, values=[("loss", np.mean(epoch_losses[-20:]))])
        losses.append(float(np.mean(epoch_losses)))
    return losses


def prune_and_fine_tune(
    name: str, fractions, *, epochs: int = 1, fast: bool = False, seed: int = 0
) -> dict[str, list[float]]:
    """Prune a shipped melody model to each fraction of its weights, fine-tune it, and score it before and after.

    Taught in chapter 07, section 3 (pruning).

    For each fraction (from the same dense weights each time): :func:`magnitude_masks`
    zeroes that fraction of every matrix, the held-out NLL is measured, :func:`fine_tune` trains the rest
    for ``epochs``, and the held-out NLL is measured again. Returns lists under ``fraction``, ``pruned``,
    ``fine_tuned`` (nats per step) and ``sparsity`` (the share of zeros among all matrix weights).
    ``python -m musegen_widgets.train NAME --prune 0.5 0.9`` runs it in a process of its own (the chapter
    does: TensorFlow keeps the graphs of a training in the memory of the process that ran it).
    """
    from .metrics import sequence_nll
    from .models import load_pretrained

    model = load_pretrained(name)
    dense = model.get_weights()
    test = data.load_melodies("test")
    sweep: dict[str, list[float]] = {"fraction": [], "pruned": [], "fine_tuned": [], "sparsity": []}
    for fraction in fractions:
        masks = magnitude_masks(dense, fraction)
        model.set_weights([w * m if m is not None else w for w, m in zip(dense, masks)])
        sweep["fraction"].append(float(fraction))
        sweep["pruned"].append(sequence_nll(model, test))
        fine_tune(model, masks=masks, epochs=epochs, fast=fast, seed=seed)
        sweep["fine_tuned"].append(sequence_nll(model, test))
        sweep["sparsity"].append(sparsity(model.get_weights()))
    return sweep
