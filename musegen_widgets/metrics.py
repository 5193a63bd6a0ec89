"""Numbers that judge a model (chapter 01 introduces the first; chapter 04 gathers them all).

:func:`sequence_nll` is the held-out negative log-likelihood of a sequence model, scored exactly as the
course reports it: over whole chorales from their first step, each token from the second on predicted from
every token before it, averaged over tokens, in nats. ``exp`` of it is the perplexity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoding import HOLD
from .errors import MusegenError

__all__ = ["sequence_nll", "log_softmax"]


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(logits))``, computed stably.

    >>> np.round(np.exp(log_softmax(np.array([0.0, np.log(3.0)]))), 3).tolist()
    [0.25, 0.75]
    """
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sequence_nll(model, sequences: Sequence[np.ndarray], batch_size: int = 32) -> float:
    """Mean NLL in nats per token of ``model`` on whole sequences (tokens 1..T-1, each given all before).

    Parameters
    ----------
    model
        Any course sequence model: ``model(tokens)`` with ``(batch, time)`` ints gives ``(batch, time,
        vocab)`` next-token logits.
    sequences
        1-D token arrays, each starting on a downbeat, as :func:`musegen_widgets.data.load_melodies` gives.
    """
    sequences = [np.asarray(s) for s in sequences if len(s) > 1]
    if not sequences:
        raise MusegenError("no sequence has two or more tokens to score")
    order = np.argsort([len(s) for s in sequences])
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = [sequences[i] for i in order[start : start + batch_size]]
        length = max(len(s) for s in batch)
        tokens = np.full((len(batch), length), HOLD, dtype=np.int32)
        for row, sequence in enumerate(batch):
            tokens[row, : len(sequence)] = sequence
        log_p = log_softmax(np.asarray(model(tokens[:, :-1]), dtype=np.float64))
        chosen = np.take_along_axis(log_p, tokens[:, 1:, None].astype(np.int64), axis=2)[..., 0]
        for row, sequence in enumerate(batch):
            total -= chosen[row, : len(sequence) - 1].sum()
            count += len(sequence) - 1
    return total / count
