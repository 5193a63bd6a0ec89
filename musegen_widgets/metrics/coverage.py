"""Fidelity and diversity of a generated set against a real one: precision, recall, density and coverage.

Taught in chapter 08, section 12 (four voices against the GAN). A GAN can write convincing music and still
write only a few kinds of it (*mode collapse*); an average over samples (chapter 04's overlapping areas,
MuseGAN's metrics) cannot tell. These four numbers can, because they ask about each sample and about each
real piece:

- **precision** (Kynkäänniemi et al. 2019): the share of generated pieces that fall inside the real set's
  *manifold*, the union of balls around every real piece reaching to its ``k``-th nearest real neighbour;
- **recall** (same paper): the share of real pieces inside the generated set's manifold, built the same way;
- **density** (Naeem et al. 2020): how many real balls contain each generated piece, over ``k``, averaged
  (about 1 when the two sets are alike; an outlier real piece's big ball counts once, not for everything);
- **coverage** (same paper): the share of real pieces whose ball holds at least one generated piece. For two
  sets drawn from the same distribution with ``M = N`` and ``k = 5``, Naeem et al.'s Lemma 2 expects about
  0.97.

Each piece is a vector of chapter 04's features (:func:`feature_vectors`): each feature divided by its spread
over a reference set (a histogram as a whole, by the square root of its bins' summed variances), so that
each of the eight features weighs about the same. (Scaling each *number* by its own spread instead would let
a bin Bach almost never uses, such as notes of three sixteenths, dominate every distance.) The reference
implementation (Naeem et al.'s ``prdc``, MIT) compares distances with ``<``; here ``<=``, so that a generated
piece identical to a real one counts as inside its ball even where the ball's radius is 0 (repeated pieces,
features that take few values).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MusegenError
from .yang_lerch import features

__all__ = ["VECTOR_FEATURES", "feature_vectors", "precision_recall_density_coverage"]

VECTOR_FEATURES = (
    "pitch_count",
    "pitch_class_histogram",
    "pitch_range",
    "average_pitch_interval",
    "average_inter_onset_interval",
    "note_length_histogram",
    "scale_consistency",
    "note_density",
)
"""Chapter 04's features that make a piece's vector: the scalars and the two histograms (30 numbers)."""


def feature_vectors(
    pieces: Sequence, reference: Sequence | None = None, *, names: Sequence[str] = VECTOR_FEATURES
) -> np.ndarray:
    """Each piece as one vector of the features ``names`` (all :data:`VECTOR_FEATURES`: ``(n, 30)``), each scaled by its spread.

    Taught in chapter 08, section 12 (four voices against the GAN). A feature's spread is its standard
    deviation over ``reference`` (default: ``pieces`` themselves); a histogram's, the square root of the
    sum of its bins' variances. Compare sets scaled by one reference.
    """
    unknown = [name for name in names if name not in VECTOR_FEATURES]
    if unknown or not names:
        raise MusegenError(f"names must be some of {', '.join(VECTOR_FEATURES)}; got {list(names)!r}")
    table = features(pieces)
    spread_of = table if reference is None else features(reference)
    parts = []
    for name in names:
        values = np.asarray(table[name], np.float64).reshape(len(pieces), -1)
        spread = np.sqrt(
            np.asarray(spread_of[name], np.float64).reshape(len(spread_of[name]), -1).var(axis=0).sum()
        )
        parts.append(values / spread if spread > 0 else np.zeros_like(values))
    return np.concatenate(parts, axis=1)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def precision_recall_density_coverage(real, generated, *, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``generated`` against ``real`` (vectors ``(n, d)``).

    Taught in chapter 08, section 12 (four voices against the GAN). Distances are Euclidean between the
    vectors as given (scale them first: :func:`feature_vectors`).

    >>> real = np.random.default_rng(0).standard_normal((400, 2))
    >>> half = real[real[:, 0] > 0] + 0.01  # only one half of the real set: precise, covers half of it
    >>> scores = precision_recall_density_coverage(real, half)
    >>> scores["precision"] > 0.9, 0.4 < scores["coverage"] < 0.6
    (True, True)
    """
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise MusegenError(f"both sets must be vectors of one size, got {real.shape} and {generated.shape}")
    if not 1 <= k < min(len(real), len(generated)):
        raise MusegenError(
            f"k must be at least 1 and below both sets' sizes, got {k} for {len(real)} and {len(generated)}"
        )
    # radius: the distance to the k-th nearest neighbour other than the piece itself (column 0 after sorting)
    real_radii = np.sort(_distances(real, real), axis=1)[:, k]
    generated_radii = np.sort(_distances(generated, generated), axis=1)[:, k]
    between = _distances(real, generated)  # (real, generated)
    inside_real = between <= real_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((between <= generated_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((between.min(axis=1) <= real_radii).mean()),
    }
