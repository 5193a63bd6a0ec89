"""Held-out likelihood: the negative log-likelihood of sequence and next-frame models (chapter 01)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encoding import FRAME_HIGH, FRAME_LOW, HOLD
from ..errors import MusegenError
from ..masking import orderless_mask
from ..numerics import log_softmax

__all__ = ["sequence_nll", "sequence_nlls", "bootstrap_interval", "frame_nll", "infill_nll"]

PAIRS_PER_BATCH = 2**20
""":func:`sequence_nll` scores at most this many rows times length squared at once (a Transformer's
attention over four voices in windows of 1,024 tokens would otherwise take gigabytes)."""


def _batches(sequences: list, batch_size: int, length=len):
    """The sequences in batches of similar ``length``, longest first, each holding at most ``batch_size`` of
    them and at most :data:`PAIRS_PER_BATCH` rows times length squared (a Transformer's ``L x L``
    attention stays small)."""
    order = np.argsort([length(s) for s in sequences])[::-1]
    start = 0
    while start < len(order):
        rows = max(1, min(batch_size, PAIRS_PER_BATCH // length(sequences[order[start]]) ** 2))
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
    totals, counts = sequence_nlls(model, sequences, batch_size=batch_size, window=window)
    return float(totals.sum() / counts.sum())


def sequence_nlls(
    model, sequences: Sequence[np.ndarray], *, batch_size: int = 32, window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence: the summed NLL in nats of its tokens 1..T-1, and how many tokens that is.

    Taught in chapter 05, section 4 (comparing models with an interval). :func:`sequence_nll` is
    ``totals.sum() / counts.sum()``; kept per piece, the two arrays let :func:`bootstrap_interval` resample
    the pieces. Arguments as :func:`sequence_nll`'s; with ``window`` a sequence's windows add up to its own
    entry. Sequences of fewer than two tokens score 0 nats over 0 tokens.
    """
    if window is not None:
        if not (isinstance(window, (int, np.integer)) and window >= 1):
            raise MusegenError(f"window must be a whole number of at least 1, got {window!r}")
    pieces = [
        (index, np.asarray(s[start : start + window + 1]) if window else np.asarray(s))
        for index, s in enumerate(sequences)
        for start in (range(0, len(s) - 1, window) if window else [0])
    ]
    pieces = [(index, s) for index, s in pieces if len(s) > 1]
    if not pieces:
        raise MusegenError("no sequence has two or more tokens to score")
    totals, counts = np.zeros(len(sequences)), np.zeros(len(sequences), dtype=np.int64)
    for batch in _batches(pieces, batch_size, length=lambda piece: len(piece[1])):
        length = len(batch[0][1])
        tokens = np.full((len(batch), length), HOLD, dtype=np.int32)
        for row, (_, sequence) in enumerate(batch):
            tokens[row, : len(sequence)] = sequence
        log_p = log_softmax(np.asarray(model(tokens[:, :-1]), dtype=np.float64))
        chosen = np.take_along_axis(log_p, tokens[:, 1:, None].astype(np.int64), axis=2)[..., 0]
        for row, (index, sequence) in enumerate(batch):
            totals[index] -= chosen[row, : len(sequence) - 1].sum()
            counts[index] += len(sequence) - 1
    return totals, counts


def bootstrap_interval(
    statistic, n_pieces: int, *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A percentile bootstrap interval of ``statistic(indices)`` over the pieces, resampled with replacement.

    Taught in chapter 05, section 4 (comparing models with an interval). ``statistic`` takes an array of
    ``n_pieces`` indices (some repeated) and returns a number, e.g. the difference of two models' NLL per
    token on those pieces. Pieces, not tokens, are resampled: the tokens of one chorale are not independent
    draws, and a new test set would be new chorales.

    >>> values = np.arange(100.0)
    >>> low, high = bootstrap_interval(lambda i: values[i].mean(), 100)
    >>> bool(low < 49.5 < high), bool(high - low < 15)
    (True, True)
    """
    if not (isinstance(n_pieces, (int, np.integer)) and n_pieces >= 2):
        raise MusegenError(f"a bootstrap needs at least two pieces, got {n_pieces!r}")
    if not 0 < level < 1:
        raise MusegenError(f"level must be between 0 and 1, got {level!r}")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n_pieces, n_pieces)) for _ in range(resamples)])
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


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


def infill_nll(
    model,
    chorales: Sequence[np.ndarray],
    *,
    hidden: Sequence[np.ndarray] | None = None,
    samples: int = 8,
    seed: int = 0,
) -> float:
    """Mean NLL in nats per cell (one voice at one 16th step) of an infilling model, by orderless NADE.

    Taught in chapter 06, section 2 (one network for every question).

    An infilling model gives ``p(cell | the given cells)`` for any set of given cells, so every ordering
    ``o`` of a chorale's ``D`` cells defines a likelihood ``log p(x | o) = sum_d log p(x_{o_d} | x_{o_<d})``.
    Coconet (Huang et al. 2017, after Uria et al. 2014) reports the average over random orderings. This
    estimates it without ``D`` passes per ordering: a random ``d`` and the cells from ``o_d`` on hidden
    (:func:`~musegen_widgets.masking.orderless_mask`), the mean NLL of the hidden cells is an unbiased
    estimate of ``-log p(x | o) / D``; ``samples`` masks per chorale, one network pass each.

    Every cell is predicted from cells before *and after* it in time, so this is not the causal NLL of
    chapter 01 (and counts cells of four voices, not 88 binary keys).

    Parameters
    ----------
    model
        A :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill`.
    chorales
        The model's cells ``(steps, 4)`` per chorale (:func:`~musegen_widgets.infill_cells.encode`).
    hidden
        Per chorale, a boolean ``(steps, 4)`` of the cells to score, the others always given: the NLL of
        alto, tenor and bass given the soprano, say. Default: every cell.
    samples
        Random masks per chorale.
    seed
        Seed of the masks.
    """
    chorales = [np.asarray(c) for c in chorales]
    if any(c.ndim != 2 or c.shape[1] != 4 for c in chorales):
        raise MusegenError("chorales must be cells of shape (steps, 4)")
    if hidden is None:
        hidden = [np.ones(c.shape, bool) for c in chorales]
    hidden = [np.asarray(h, dtype=bool) for h in hidden]
    if len(hidden) != len(chorales) or any(h.shape != c.shape for h, c in zip(hidden, chorales)):
        raise MusegenError("hidden must hold one boolean array per chorale, of the chorale's shape")
    if not any(h.any() for h in hidden):
        raise MusegenError("no chorale has a cell to score")
    if not (isinstance(samples, (int, np.integer)) and samples >= 1):
        raise MusegenError(f"samples must be a whole number of at least 1, got {samples!r}")
    forward, rng = model.forward(), np.random.default_rng(seed)
    total, count = 0.0, 0
    for cells, candidates in zip(chorales, hidden):
        if not candidates.any():
            continue
        masks = np.stack([orderless_mask(candidates, rng) for _ in range(samples)])
        log_p = forward(np.broadcast_to(cells, masks.shape), masks)
        chosen = np.take_along_axis(log_p, np.broadcast_to(cells, masks.shape)[..., None], axis=-1)[..., 0]
        per_cell = -(chosen * masks).sum(axis=(1, 2)) / masks.sum(axis=(1, 2))  # one estimate per mask
        total += candidates.sum() * per_cell.mean()
        count += candidates.sum()
    return float(total / count)
