"""The statistics of a blind listening test: binomial test and interval, Holm's correction, power, and the
agreement of several listeners (chapter 04)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MusegenError

__all__ = [
    "binomial_test",
    "binomial_interval",
    "holm",
    "binomial_power",
    "trials_for_power",
    "fleiss_kappa",
]


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    from math import comb

    return np.array([comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)])


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` trials if each succeeds with probability ``p``.

    Taught in chapter 04, section 8 (a blind listening test).

    Sums the probabilities of every outcome no more likely than the one observed (as ``scipy.stats.binomtest``
    does). In a listening test, ``k`` of ``n`` listeners picking the real excerpt, against guessing (0.5).

    >>> round(binomial_test(9, 10), 4)  # 2 x (10 + 1) / 1024
    0.0215
    >>> binomial_test(5, 10)
    1.0
    """
    if not 0 <= k <= n or n < 1:
        raise MusegenError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    pmf = _binomial_pmf(n, p)
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


def binomial_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) confidence interval for a success probability after ``k`` of ``n``.

    Taught in chapter 04, section 8 (a blind listening test).

    >>> [round(x, 4) for x in binomial_interval(0, 10)]
    [0.0, 0.3085]
    """
    if not 0 <= k <= n or n < 1:
        raise MusegenError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    tail = (1 - confidence) / 2

    def solve(probability_of_tail, increasing: bool) -> float:
        low, high = 0.0, 1.0
        for _ in range(60):  # bisection: the tail probability is monotone in p
            middle = (low + high) / 2
            if (probability_of_tail(middle) < tail) == increasing:
                low = middle
            else:
                high = middle
        return (low + high) / 2

    lower = 0.0 if k == 0 else solve(lambda p: _binomial_pmf(n, p)[k:].sum(), increasing=True)
    upper = 1.0 if k == n else solve(lambda p: _binomial_pmf(n, p)[: k + 1].sum(), increasing=False)
    return lower, upper


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values for testing several hypotheses at once.

    Taught in chapter 04, section 8 (a blind listening test).

    Sorted from smallest, the *i*-th of *m* p-values is multiplied by ``m - i`` (``i`` from 0), then made
    non-decreasing and capped at 1. Rejecting where the adjusted value is below alpha keeps the chance of
    any false rejection at most alpha, and rejects at least what Bonferroni (multiply all by *m*) rejects.
    A listening test with several generated sources is several tests (chapter 04).

    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or ((p < 0) | (p > 1)).any():
        raise MusegenError("Holm's adjustment needs a 1-D list of p-values between 0 and 1")
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    result = np.empty_like(p)
    result[order] = adjusted
    return result


def binomial_power(n: int, p: float, alpha: float = 0.05) -> float:
    """The chance that :func:`binomial_test` of ``n`` trials rejects guessing at level ``alpha``, when each
    trial succeeds with probability ``p``: the sum of the probabilities of the outcomes it rejects.

    Taught in chapter 04, section 8 (a blind listening test).

    >>> round(binomial_power(12, 0.25), 3), round(binomial_power(60, 0.25), 3)  # 12: reject at k <= 2
    (0.391, 0.97)
    """
    rejected = [binomial_test(k, n) < alpha for k in range(n + 1)]
    return float(_binomial_pmf(n, p)[rejected].sum())


def trials_for_power(p: float, alpha: float = 0.05, power: float = 0.8, most: int = 1000) -> int:
    """The fewest trials from which :func:`binomial_power` stays at or above ``power`` (for ``p`` and ``alpha``).

    Taught in chapter 04, section 8 (a blind listening test).

    The power of an exact test is not monotone in ``n`` (it saw-tooths), so this is the first ``n`` after
    which no smaller power follows within ten trials. Chapter 04 plans its listening test with it.

    >>> trials_for_power(0.25, alpha=0.01)
    47
    """
    if not (0 < p < 1 and p != 0.5 and 0 < alpha < 1 and 0 < power < 1):
        raise MusegenError(
            f"need 0 < p < 1 other than 0.5, and alpha and power in (0, 1); got {p}, {alpha}, {power}"
        )
    run = 0
    for n in range(1, most + 11):
        run = run + 1 if binomial_power(n, p, alpha) >= power else 0
        if run == 11:
            return n - 10
    raise MusegenError(f"more than {most} trials would be needed")


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa: how much several raters agree beyond chance, from ``counts`` ``(items, categories)``,
    each row the number of raters who put that item in each category (every row summing to the same number
    of raters, at least two).

    Taught in chapter 04, section 8 (a class listening test). With ``n`` raters, ``P_i = (sum_j n_ij^2 - n) /
    (n (n - 1))`` is the share of rater pairs that agree on item ``i``; chance agreement is ``P_e = sum_j p_j^2``
    with ``p_j`` the share of all ratings in category ``j``; ``kappa = (mean P_i - P_e) / (1 - P_e)``: 1 when
    all agree, about 0 for agreement at chance, below 0 for less. NaN when every rating is one category (no
    chance to disagree).

    >>> round(fleiss_kappa([[3, 0], [0, 3], [3, 0], [0, 3]]), 3)  # three listeners agree on every trial
    1.0
    >>> round(fleiss_kappa([[2, 1], [1, 2], [2, 1], [1, 2]]), 3)  # two of three agree each time
    -0.333
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or len(counts) == 0 or (counts < 0).any():
        raise MusegenError("Fleiss' kappa needs counts of shape (items, categories), none negative")
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise MusegenError("every item needs the same number of raters, at least two")
    n = raters[0]
    agreement = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    shares = counts.sum(axis=0) / counts.sum()
    chance = float((shares**2).sum())
    if chance == 1.0:
        return float("nan")
    return float((agreement.mean() - chance) / (1 - chance))
