"""Held-out likelihood: the negative log-likelihood of sequence and next-frame models (chapter 01)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encoding import FRAME_HIGH, FRAME_LOW, HOLD
from ..errors import MusegenError
from ..numerics import log_softmax

__all__ = ["sequence_nll", "frame_nll"]

PAIRS_PER_BATCH = 2**20
""":func:`sequence_nll` scores at most this many rows times length squared at once (a Transformer's
attention over four voices in windows of 1,024 tokens would otherwise take gigabytes)."""


def _batches(sequences: list[np.ndarray], batch_size: int):
    """The sequences in batches of similar length, longest first, each holding at most ``batch_size`` of
    them and at most :data:`PAIRS_PER_BATCH` rows times length squared (a Transformer's ``L x L``
    attention stays small)."""
    order = np.argsort([len(s) for s in sequences])[::-1]
    start = 0
    while start < len(order):
        rows = max(1, min(batch_size, PAIRS_PER_BATCH // len(sequences[order[start]]) ** 2))
        yield [sequences[i] for i in order[start : start + rows]]
        start += rows


def sequence_nll(
    model, sequences: Sequence[np.ndarray], *, batch_size: int = 32, window: int | None = None
) -> float:
    """Mean NLL in nats per token of ``model`` on whole sequences (tokens 1..T-1, each given all before).

    Taught in chapter 01, section 5 (training); ``window`` in chapter 05, section 5 (four voices).

    Parameters
    ----------
    model
        Any course sequence model: ``model(tokens)`` with ``(batch, time)`` ints gives ``(batch, time,
        vocab)`` next-token logits.
    sequences
        1-D token arrays, each starting on a downbeat, as :func:`musegen_widgets.data.load_melodies` gives.
    batch_size
        At most this many sequences at once (fewer for long ones: see :data:`PAIRS_PER_BATCH`).
    window
        If given, each sequence is scored in consecutive windows of ``window`` predictions, each token given
        only the tokens of its window before it (for models trained on windows of that length).
    """
    if window is not None:
        if not (isinstance(window, (int, np.integer)) and window >= 1):
            raise MusegenError(f"window must be a whole number of at least 1, got {window!r}")
        sequences = [
            s[start : start + window + 1] for s in sequences for start in range(0, len(s) - 1, window)
        ]
    sequences = [np.asarray(s) for s in sequences if len(s) > 1]
    if not sequences:
        raise MusegenError("no sequence has two or more tokens to score")
    total, count = 0.0, 0
    for batch in _batches(sequences, batch_size):
        length = len(batch[0])
        tokens = np.full((len(batch), length), HOLD, dtype=np.int32)
        for row, sequence in enumerate(batch):
            tokens[row, : len(sequence)] = sequence
        log_p = log_softmax(np.asarray(model(tokens[:, :-1]), dtype=np.float64))
        chosen = np.take_along_axis(log_p, tokens[:, 1:, None].astype(np.int64), axis=2)[..., 0]
        for row, sequence in enumerate(batch):
            total -= chosen[row, : len(sequence) - 1].sum()
            count += len(sequence) - 1
    return float(total / count)


def frame_nll(model, sequences: Sequence[np.ndarray], *, batch_size: int = 32) -> float:
    """Mean NLL in nats per frame of a next-frame model on whole chorales, as the JSB Chorales table reports.

    Taught in chapter 01, section 8 (polyphony).

    Each frame's NLL is the sum over the 88 keys of the binary cross-entropy of the model's Bernoulli for
    that key; the first frame of a chorale is predicted from an empty frame (silence before it).

    Parameters
    ----------
    model
        ``model(frames)`` with ``(batch, time, 88)`` frames gives ``(batch, time, 88)`` logits for the next
        frame (see :mod:`musegen_widgets.models.frames`).
    sequences
        ``(quarters, 88)`` arrays, as :func:`musegen_widgets.data.load_frames` gives.

    >>> class Coin:  # every key a fair coin: log 2 nats per key
    ...     def __call__(self, frames):
    ...         return np.zeros(np.shape(frames))
    >>> round(frame_nll(Coin(), [np.zeros((3, 88))]) / float(np.log(2)), 6)
    88.0
    """
    width = FRAME_HIGH - FRAME_LOW + 1
    sequences = [np.asarray(s, dtype=np.float32) for s in sequences if len(s) > 0]
    if not sequences:
        raise MusegenError("no sequence has a frame to score")
    if any(s.ndim != 2 or s.shape[1] != width for s in sequences):
        raise MusegenError(f"frames must be arrays of shape (quarters, {width})")
    total, count = 0.0, 0
    for batch in _batches(sequences, batch_size):
        length = len(batch[0])
        frames = np.zeros((len(batch), length + 1, width), dtype=np.float32)  # frame 0 is the silence
        for row, sequence in enumerate(batch):
            frames[row, 1 : len(sequence) + 1] = sequence
        logits = np.asarray(model(frames[:, :-1]), dtype=np.float64)
        targets = frames[:, 1:]
        # -log Bernoulli(y; sigmoid(z)) = softplus(z) - y z
        nll = (np.logaddexp(0.0, logits) - targets * logits).sum(axis=2)
        for row, sequence in enumerate(batch):
            total += nll[row, : len(sequence)].sum()
            count += len(sequence)
    return float(total / count)
