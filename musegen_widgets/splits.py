"""Splitting the Bach chorales into ``train``, ``valid`` and ``test``: by tune (chapter 00, section 3).

Bach harmonised many hymn tunes more than once, and the corpus keeps each harmonisation as its own chorale,
so a split by chorale puts the same soprano melody in ``train`` and in ``test``: a model that memorises tunes
then scores well on held-out music it has already seen. Two chorales share a tune when their sopranos share a
run of notes longer than any run a soprano shares with another soprano played backwards
(:func:`shared_tunes`, :func:`retrograde`; by intervals and lengths, and by intervals alone to find one tune
in two meters); chorales linked by such runs form one group, and whole groups go to ``train``, ``valid`` or
``test`` (about 80/10/10, :func:`split_groups`). :func:`musegen_widgets.data.build` stores each chorale's
split in the cache and records the groups, the thresholds and the reason in ``data/MANIFEST.json``.
:func:`split_by_path`, the earlier split by a hash of each chorale's corpus path, is kept for chapter 04's
lesson of what a leaky split rewards. Neither is the 229/76/77 split of the JSB Chorales benchmark
(Boulanger-Lewandowski et al., 2012), which was made from a different MIDI collection, so likelihoods here
are close to that table but not strictly comparable.

:mod:`musegen_widgets.data` re-exports the public names, so ``data.shared_tunes`` and the like work too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .encoding import HOLD

__all__ = [
    "SPLITS",
    "SPLIT_SHARES",
    "split_by_path",
    "retrograde",
    "shared_tunes",
    "split_groups",
]


SPLITS = ("train", "valid", "test")
"""The names of the three splits, in this order."""
SPLIT_SHARES = {"train": 0.8, "valid": 0.1, "test": 0.1}
"""The share of the chorales each split aims at (:func:`split_groups`)."""


def split_by_path(corpus_id: str) -> str:
    """The course's first split, by chorale: ``test`` when the SHA-256 of the corpus path is 0 modulo 10,
    ``valid`` when 1, else ``train``. It leaks tunes from ``train`` into ``test``; chapter 04 shows what that
    rewards. The course's split is by tune (:func:`~musegen_widgets.data.chorale_ids`).

    Taught in chapter 00, section 3 (the Bach chorales).

    >>> split_by_path("bach/bwv269")
    'train'
    """
    bucket = int(hashlib.sha256(corpus_id.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def retrograde(tokens: np.ndarray) -> np.ndarray:
    """A melody played backwards: its notes and rests in reverse order, each as long as before.

    Taught in chapter 00, section 3 (the Bach chorales).

    Its intervals are the original's, negated and reversed: a melody with the same steps, leaps and rhythms
    as a chorale, but not its tune. :func:`shared_tunes` measures what unrelated melodies share with it.

    >>> from musegen_widgets.encoding import pitch_to_token as t, HOLD
    >>> retrograde(np.array([t(60), HOLD, t(62), t(64)])).tolist() == [t(64), t(62), t(60), HOLD]
    True
    """
    tokens = np.asarray(tokens)
    return np.concatenate(np.split(tokens, np.flatnonzero(tokens != HOLD))[::-1])


def _components(n: int, linked: np.ndarray) -> list[list[int]]:
    """Connected components of ``n`` items joined by the ``True`` entries of a square matrix, each sorted."""
    root = list(range(n))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(*np.nonzero(linked)):
        root[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def shared_tunes(melodies: Sequence[np.ndarray]) -> tuple[list[list[int]], dict]:
    """Group melodies that share a tune: a run of notes longer than chance allows links two of them.

    Taught in chapter 00, section 3 (the Bach chorales).

    Chance is measured, not assumed: every melody is compared with every other melody played backwards
    (:func:`retrograde`), which has the same steps, leaps and note lengths but is no hymn tune, and the
    longest run any such pair shares sets the bar. Two melodies are linked when they share a run one note
    longer than that, by intervals and lengths, or, comparing intervals alone (one tune in two meters),
    one note longer than chance by intervals; groups are the chains of links.

    Returns
    -------
    groups
        Lists of indices into ``melodies``, one list per tune, sorted.
    evidence
        The thresholds and the chance levels they come from (``{"intervals_and_lengths": {...}, "intervals":
        {...}}``).
    """
    from .metrics.copying import shared_runs

    backwards = [retrograde(m) for m in melodies]
    off_diagonal = ~np.eye(len(melodies), dtype=bool)
    linked = np.zeros_like(off_diagonal)
    evidence = {}
    for key, rhythm in (("intervals_and_lengths", True), ("intervals", False)):
        chance = shared_runs(melodies, backwards, rhythm=rhythm)
        threshold = int(chance[off_diagonal].max()) + 1
        tune_pairs = (shared_runs(melodies, melodies, rhythm=rhythm) >= threshold) & off_diagonal
        linked |= tune_pairs
        evidence[key] = {
            "threshold_notes": threshold,
            "longest_chance_run": threshold - 1,
            "pairs_compared_with_retrogrades": int(off_diagonal.sum()),
            "linked_pairs": int(tune_pairs.sum() // 2),
        }
    return _components(len(melodies), linked), evidence


def split_groups(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Assign whole groups of corpus ids to ``train``, ``valid`` and ``test``, about 80/10/10 of the chorales.

    Taught in chapter 00, section 3 (the Bach chorales).

    Groups are taken in the order of the SHA-256 of their first id, and each goes to the split furthest
    below its share (:data:`SPLIT_SHARES`) of the chorales placed so far, itself included: deterministic,
    and close to the shares however large the groups.

    >>> split = split_groups([[f"c{i}"] for i in range(20)])
    >>> [list(split.values()).count(name) for name in SPLITS]
    [16, 2, 2]
    """
    order = sorted(groups, key=lambda group: hashlib.sha256(min(group).encode()).hexdigest())
    counts = dict.fromkeys(SPLIT_SHARES, 0)
    split = {}
    for group in order:
        placed = sum(counts.values()) + len(group)
        chosen = max(SPLIT_SHARES, key=lambda name: SPLIT_SHARES[name] * placed - counts[name])
        counts[chosen] += len(group)
        split.update(dict.fromkeys(group, chosen))
    return split
