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
    and :func:`~musegen_widgets.distillation.teacher_distributions` take it as they take one model. Averaging
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
        return _log_mean_probability([m(tokens) for m in self.members])

    def count_params(self) -> int:
        """The parameters of all members together (what the ensemble costs at every step)."""
        return sum(m.count_params() for m in self.members)

    def stepper(self) -> EnsembleStepper:
        """The ensemble one step at a time: each member's own stepper, their probabilities averaged."""
        return EnsembleStepper([m.stepper() for m in self.members])


class EnsembleStepper:
    """Feeds every member's stepper the same token and averages their next-token probabilities.

    Taught in chapter 07, section 4: :func:`~musegen_widgets.sampling.sample` draws the ensemble's own
    melodies with it, the transfer set the student learns the ensemble's distributions on.
    """

    def __init__(self, steppers: Sequence) -> None:
        self.steppers = list(steppers)

    def feed(self, token: int) -> np.ndarray:
        """Take the token at the current step; return the log of the averaged probabilities of the next one."""
        return _log_mean_probability([s.feed(token) for s in self.steppers])


def _log_mean_probability(logits) -> np.ndarray:
    """The log of the average of the distributions that each member's ``logits`` give."""
    probabilities = [np.exp(log_softmax(np.asarray(x, dtype=np.float64))) for x in logits]
    return np.log(np.mean(probabilities, axis=0))
