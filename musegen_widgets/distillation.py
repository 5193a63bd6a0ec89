"""Distillation (chapter 07): a small model trained on a big one's distributions instead of the tokens alone.

:func:`teacher_distributions` gives the teacher's next-token distribution at every step of every melody,
the *soft targets* (Hinton et al. 2015); :func:`transfer_melodies` has the teacher write melodies of its own,
a *transfer set* (Bucilă et al. 2006). :func:`~musegen_widgets.models.melody_training.train_melody_model`
trains a recipe with ``teachers`` on both.
"""

from __future__ import annotations

import keras
import numpy as np

from .encoding import HOLD
from .numerics import log_softmax
from .sampling import sample
from .training import similar_lengths

__all__ = ["teacher_distributions", "transfer_melodies"]


def teacher_distributions(teacher, melodies, *, batch_size: int = 16) -> list[np.ndarray]:
    """The teacher's next-token distribution at every step of every melody: the targets of distillation.

    Taught in chapter 07, section 4 (distillation).

    ``teacher`` is any course sequence model, or a :class:`~musegen_widgets.models.ensemble.Ensemble` of
    them. Returns one ``(len(melody) - 1, vocab)`` float32 array per melody: row ``t`` is the
    probability of each token at step ``t + 1`` given steps ``0..t``, as :func:`~musegen_widgets.models.melody_training.melody_batches` takes them
    in ``soft_targets``. Trained on these instead of the one token that came, the student learns from every
    alternative the teacher thought likely (Hinton et al. 2015, "Distilling the knowledge in a neural
    network", at temperature 1).
    """
    distributions: list[np.ndarray] = [np.empty(0)] * len(melodies)
    for chosen in similar_lengths(melodies, batch_size, np.random.default_rng(0)):
        length = -(-max(len(melodies[i]) for i in chosen) // 64) * 64
        tokens = np.full((len(chosen), length), HOLD, dtype=np.int32)
        for row, i in enumerate(chosen):
            tokens[row, : len(melodies[i])] = melodies[i]
        # causal: the padding after a melody changes none of its own predictions
        logits = np.asarray(teacher(tokens), dtype=np.float64)
        for row, i in enumerate(chosen):
            distributions[i] = np.exp(log_softmax(logits[row, : len(melodies[i]) - 1])).astype(np.float32)
    return distributions


def transfer_melodies(teacher, melodies, *, seed: int = 0) -> list[np.ndarray]:
    """Melodies the teacher writes itself, one per melody of ``melodies``: the same first token, the same length.

    Taught in chapter 07, section 4 (distillation).

    On the melodies it was trained on, a teacher is surer than it has any right to be (it has seen them),
    so its distributions there say little more than the tokens that came. On melodies of its own it
    shows what it really believes at every step: labelled by :func:`teacher_distributions`, they are the
    *transfer set* of Bucilă, Caruana & Niculescu-Mizil (2006, "Model compression"), who taught a small
    network an ensemble this way. ``teacher`` needs a ``stepper()`` (any course melody model, or a
    :class:`~musegen_widgets.models.ensemble.Ensemble`).
    """
    progress = keras.utils.Progbar(len(melodies), unit_name="melody")
    written = []
    for i, melody in enumerate(melodies):
        written.append(sample(teacher, steps=len(melody), seed=seed * 1_000_003 + i, primer=melody[:1]))
        progress.add(1)
    return written
