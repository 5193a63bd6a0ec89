"""n-gram (Markov) models of melody tokens: the yardstick every neural model must beat (chapter 01).

An order-``n`` model predicts a token from the ``n - 1`` tokens before it. Counts alone give zero
probability to anything unseen, so the estimate is smoothed by interpolating with shorter contexts. With
``c(h)`` the count of context ``h``, ``c(h, w)`` the count of ``w`` after it, ``t(h)`` the number of
distinct tokens seen after it and ``h'`` the context without its oldest token:

* **Witten-Bell**: ``P(w|h) = (c(h, w) + t(h) P(w|h')) / (c(h) + t(h))``. A context seen often with few
  different continuations trusts its own counts; a rare or varied one leans on the shorter context.
* **interpolated Kneser-Ney** (the default, usually the stronger):
  ``P(w|h) = max(c(h, w) - D, 0) / c(h) + D t(h) / c(h) · P(w|h')``, where every *shorter* context counts
  not how often ``w`` followed it but after how many different tokens (its *continuation* count): a token
  that is frequent only in one fixed phrase should not get much weight when that phrase is absent. The
  discount is ``D = n1 / (n1 + 2 n2)`` per context length, from the numbers of counts equal to 1 and 2.

Both end in the uniform distribution over the vocabulary, so nothing gets probability zero.

One model of order ``max_order`` holds the counts of every shorter context too, so ``nll(..., order=k)``
evaluates every order up to it from a single fit, and setting :attr:`NGramModel.order` makes it predict and
sample as a model of that order. :data:`ORDERS` are the orders chapter 01 tries on the valid split, and
:func:`fit_yardstick` builds the model chapter 01 ends with (chapter 04 compares it with every other source).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from .encoding import VOCAB_SIZE
from .errors import MusegenError

__all__ = ["NGramModel", "ORDERS", "fit_yardstick"]

ORDERS = (1, 2, 4, 6, 8, 10, 12, 14, 16)
"""The orders chapter 01 compares on the valid split; the best one is the course's n-gram yardstick."""

_START = -1  # pads the context before the first token


class NGramModel:
    """A smoothed n-gram model over melody tokens (interpolated Kneser-Ney or Witten-Bell).

    Taught in chapter 01, section 2 (the yardstick).

    Parameters
    ----------
    max_order
        Largest order ``n`` (context of ``n - 1`` tokens) that :meth:`fit` counts.
    smoothing
        ``"kneser-ney"`` or ``"witten-bell"``.
    vocab_size
        Number of tokens.

    Attributes
    ----------
    order
        The order the model predicts with (calling it, :meth:`distribution`, :meth:`nll`, :meth:`stepper`):
        ``max_order`` unless set to a smaller one after fitting, such as the best order on held-out data.

    Examples
    --------
    >>> model = NGramModel(max_order=2).fit([np.array([2, 0, 3, 0, 2, 0, 3, 0])])
    >>> p = model.distribution([2])  # after token 2 always came 0
    >>> bool(p.argmax() == 0), bool(np.isclose(p.sum(), 1.0))
    (True, True)
    """

    def __init__(self, max_order: int = 8, smoothing: str = "kneser-ney", vocab_size: int = VOCAB_SIZE):
        if not 1 <= max_order <= 32:
            raise MusegenError(f"order must be between 1 and 32, got {max_order}")
        if smoothing not in ("kneser-ney", "witten-bell"):
            raise MusegenError(f"smoothing must be 'kneser-ney' or 'witten-bell', not {smoothing!r}")
        self.max_order, self.smoothing, self.vocab_size = max_order, smoothing, vocab_size
        self.order = max_order
        self._tables: dict[tuple, tuple[tuple[int, ...], tuple[int, ...], int, int]] = {}
        self._continuation: dict[tuple, tuple[tuple[int, ...], tuple[int, ...], int, int]] = {}
        self._discounts: dict[tuple[bool, int], float] = {}

    def fit(self, sequences: Iterable[Sequence[int]]) -> NGramModel:
        """Count every context of length ``0 .. max_order - 1`` in the sequences; returns ``self``."""
        k = self.max_order - 1
        padded = [[_START] * k + [int(t) for t in sequence] for sequence in sequences]
        # One context length at a time, longest first, each turned into compact tables before the next is
        # counted: at order 16 on the augmented chorales there are about a million contexts, and holding every
        # length's count dicts at once took twice the memory of the finished model. The continuation counts
        # of length L (how many distinct tokens precede each context-token pair) come from the counts of
        # length L + 1, so they are made while those are still there.
        self._tables, self._continuation = {}, {}
        for length in range(k, -1, -1):
            counts: dict[tuple, dict[int, int]] = defaultdict(dict)
            for tokens in padded:
                for i in range(k, len(tokens)):
                    following = counts[tuple(tokens[i - length : i])]
                    following[tokens[i]] = following.get(tokens[i], 0) + 1
            continuation: dict[tuple, dict[int, int]] = defaultdict(dict)
            while counts:
                context, following = counts.popitem()
                if context:
                    before = continuation[context[1:]]
                    for token in following:  # one more distinct token before context[1:]
                        before[token] = before.get(token, 0) + 1
                self._tables[context] = _table(following)
            while continuation:
                context, following = continuation.popitem()
                self._continuation[context] = _table(following)
        for is_continuation, tables in ((False, self._tables), (True, self._continuation)):
            ones, twos = defaultdict(int), defaultdict(int)
            for context, (_, counts, _, _) in tables.items():
                ones[len(context)] += counts.count(1)
                twos[len(context)] += counts.count(2)
            for length in range(self.max_order):
                n1, n2 = ones[length], twos[length]
                self._discounts[is_continuation, length] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
        return self

    @property
    def order(self) -> int:
        return self._order

    @order.setter
    def order(self, value: int) -> None:
        if not (isinstance(value, int | np.integer) and 1 <= value <= self.max_order):
            raise MusegenError(f"order must be a whole number between 1 and {self.max_order}, got {value!r}")
        self._order = int(value)

    def distribution(self, context: Sequence[int], order: int | None = None) -> np.ndarray:
        """``P(· | context)`` over the vocabulary, from the last ``order - 1`` tokens of the context
        (default :attr:`order`)."""
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for (tokens, counts, total, types), discount in self._backoff(context, order):
            tokens, counts = list(tokens), np.array(counts, dtype=np.float64)
            if self.smoothing == "witten-bell":
                smoothed = types * p
                smoothed[tokens] += counts
                p = smoothed / (total + types)
            else:
                smoothed = (discount * types / total) * p
                smoothed[tokens] += np.maximum(counts - discount, 0.0) / total
                p = smoothed
        return p

    def _backoff(self, context: Sequence[int], order: int | None):
        """The tables that give ``P(· | context)``, shortest context first: ``(table, discount)`` for each
        length of context that was seen in training (a longer one that was never seen cannot have been
        seen either), the table of counts or of continuation counts as the smoothing asks."""
        order = self.order if order is None else order
        if not 1 <= order <= self.max_order:
            raise MusegenError(f"order must be between 1 and {self.max_order}, got {order}")
        if not self._tables:
            raise MusegenError("the model has not been fitted")
        history = [_START] * (order - 1) + [int(t) for t in context]
        history = history[len(history) - (order - 1) :] if order > 1 else []
        for length in range(order):
            lower = self.smoothing == "kneser-ney" and length < order - 1
            table = (self._continuation if lower else self._tables).get(
                tuple(history[len(history) - length :]) if length else ()
            )
            if table is None:
                return
            yield table, self._discounts[lower, length]

    def _probability(self, context: Sequence[int], token: int, order: int | None) -> float:
        """``distribution(context, order)[token]``, computed for that one token only (the same operations in
        the same order, so the same number): what :meth:`nll` needs, several times faster."""
        p = 1.0 / self.vocab_size
        for (tokens, counts, total, types), discount in self._backoff(context, order):
            count = float(counts[tokens.index(token)]) if token in tokens else 0.0
            if self.smoothing == "witten-bell":
                p = (types * p + count) / (total + types)
            else:
                p = (discount * types / total) * p + max(count - discount, 0.0) / total
        return p

    def nll(self, sequences: Iterable[Sequence[int]], order: int | None = None, skip_first: int = 1) -> float:
        """Mean negative log-likelihood in nats per token over the sequences.

        Parameters
        ----------
        skip_first
            Tokens at the start of each sequence that are given but not predicted. The default of 1 matches
            how the neural models of the course are scored: each token from the second on, given all before.
        """
        total, count = 0.0, 0
        for sequence in sequences:
            sequence = [int(t) for t in sequence]
            for i in range(skip_first, len(sequence)):
                context = sequence[max(0, i - self.max_order + 1) : i]
                total -= math.log(self._probability(context, sequence[i], order))
                count += 1
        if count == 0:
            raise MusegenError("no tokens to score")
        return total / count

    def __call__(self, tokens) -> np.ndarray:
        """Next-token log-probabilities ``(batch, time, vocab)`` for int tokens ``(batch, time)``: the same
        contract as the course's neural models, so the same scoring and sampling code serves both."""
        tokens = np.asarray(tokens)
        out = np.empty((*tokens.shape, self.vocab_size))
        for row, sequence in enumerate(tokens.tolist()):
            for t in range(len(sequence)):
                context = sequence[max(0, t + 2 - self.max_order) : t + 1]
                out[row, t] = np.log(self.distribution(context))
        return out

    def stepper(self) -> _NGramStepper:
        """An incremental sampler's view: ``feed(token)`` returns log-probabilities of the next token."""
        return _NGramStepper(self)


def _table(following: dict[int, int]) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """Tokens seen after a context, their counts, the total and the number of distinct tokens.

    Plain tuples of small ints, not numpy arrays: a model of order 16 has about a million contexts, and two
    arrays per context would cost several hundred bytes each in object overhead alone.
    """
    return tuple(following), tuple(following.values()), sum(following.values()), len(following)


class _NGramStepper:
    def __init__(self, model: NGramModel):
        self.model, self.context = model, []

    def feed(self, token: int) -> np.ndarray:
        keep = self.model.max_order - 1
        self.context = (self.context + [int(token)])[-keep:] if keep else []
        return np.log(self.model.distribution(self.context))


def fit_yardstick(train: Sequence[np.ndarray], valid: Sequence[np.ndarray]) -> NGramModel:
    """Chapter 01's yardstick: Kneser-Ney fitted to every key of the ``train`` melodies, set to the order of
    :data:`ORDERS` with the lowest NLL on the ``valid`` melodies (about ten seconds on 2 cores).

    Taught in chapter 01, section 2 (the yardstick).
    """
    from .data import augmented

    model = NGramModel(max_order=max(ORDERS)).fit(augmented(train))
    model.order = min(ORDERS, key=lambda order: model.nll(valid, order))
    return model
