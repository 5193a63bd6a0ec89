"""An ensemble of sequence models: the average of their next-token distributions.

Taught in chapter 07, section 4 (distillation), where the ensemble of the melody Transformer and the melody
TCN is the teacher of a model a tenth of its size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MusegenError
from ..numerics import log_softmax


class Ensemble:
    """Several models that predict together: ``p(v) = mean_m p_m(v)`` at every step.

    Taught in chapter 07, section 4 (distillation).

    Called like any course sequence model, ``ensemble(tokens)`` with ``(batch, time)`` ints gives ``(batch,
    time, vocab)`` logits, here the log of the averaged probabilities, so :func:`~musegen_widgets.metrics.sequence_nll`
    and :func:`~musegen_widgets.train.teacher_distributions` take it as they take one model. Averaging
    probabilities (not logits) makes a mixture: its surprise at a token is never more than the members'
    average surprise (the logarithm is concave), and is often less than the best member's, because the
    members' mistakes differ.

    Parameters
    ----------
    members
        Models over the same vocabulary.
    """

    def __init__(self, members: Sequence) -> None:
        if len(members) < 1:
            raise MusegenError("an ensemble needs at least one member")
        self.members = list(members)

    def __call__(self, tokens) -> np.ndarray:
        probabilities = [np.exp(log_softmax(np.asarray(m(tokens), dtype=np.float64))) for m in self.members]
        return np.log(np.mean(probabilities, axis=0))

    def count_params(self) -> int:
        """The parameters of all members together (what the ensemble costs at every step)."""
        return sum(m.count_params() for m in self.members)
