"""Features of a piece and the comparison of two sets, after Yang & Lerch 2020 (chapter 04)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encoding import to_piece
from ..errors import MusegenError
from ..piece import STEPS_PER_QUARTER

__all__ = [
    "FEATURES",
    "NOTE_LENGTHS",
    "piece_features",
    "features",
    "intra_set_distances",
    "inter_set_distances",
    "kernel_density",
    "overlapping_area",
    "kl_divergence",
    "compare_sets",
]


FEATURES = (
    "pitch_count",
    "pitch_class_histogram",
    "pitch_class_transitions",
    "pitch_range",
    "average_pitch_interval",
    "average_inter_onset_interval",
    "note_length_histogram",
    "note_length_transitions",
    "scale_consistency",
    "note_density",
)
"""The per-piece features, in the order :func:`piece_features` returns them."""

NOTE_LENGTHS = np.array([4, 2, 1, 1 / 2, 1 / 4, 3, 3 / 2, 3 / 4, 3 / 8, 4 / 3, 2 / 3, 1 / 3])
"""Yang & Lerch's 12 note-length classes, in quarter notes: whole, half, quarter, 8th, 16th; the dotted
half, quarter, 8th and 16th; the half, quarter and 8th triplet. A note counts in the nearest class."""

_MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])


def _notes(source) -> tuple[np.ndarray, int]:
    """All notes of a piece sorted by onset then pitch, and its steps per bar."""
    piece = to_piece(source)
    notes = [v for v in piece.voices if len(v)]
    if not notes:
        raise MusegenError("the piece has no notes, so it has no features")
    notes = np.concatenate(notes)
    return notes[np.lexsort((notes[:, 0], notes[:, 1]))], piece.steps_per_bar


def piece_features(source) -> dict[str, float | np.ndarray]:
    """The features of :data:`FEATURES` for one piece (all voices; consecutive means in onset order).

    Taught in chapter 04, section 4 (features of a piece).

    Parameters
    ----------
    source
        Anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames, a
        :class:`~musegen_widgets.piece.Piece`, a stream or a file.

    Returns
    -------
    dict
        Scalars, the 12-bin pitch-class and note-length histograms (summing to 1), and the 12 x 12
        pitch-class and note-length transition matrices (summing to 1, or all zero for a single note).
        Intervals are in semitones, inter-onset intervals in quarter notes, density in notes per bar.

    >>> from musegen_widgets.encoding import Piece
    >>> f = piece_features(Piece(([[60, 0, 4], [64, 4, 8], [67, 8, 16]],)))  # C E G: quarter, quarter, half
    >>> f["pitch_count"], f["pitch_range"], f["average_pitch_interval"], f["average_inter_onset_interval"]
    (3, 7, 3.5, 1.0)
    >>> f["note_length_histogram"][:3].tolist()  # whole, half, quarter
    [0.0, 0.3333333333333333, 0.6666666666666666]
    """
    notes, steps_per_bar = _notes(source)
    pitches, starts, ends = notes[:, 0], notes[:, 1], notes[:, 2]
    classes = pitches % 12
    lengths = np.abs((ends - starts)[:, None] / STEPS_PER_QUARTER - NOTE_LENGTHS[None, :]).argmin(axis=1)
    onsets = np.unique(starts)
    in_major = np.isin((classes[:, None] - np.arange(12)[None, :]) % 12, _MAJOR_SCALE)
    return {
        "pitch_count": int(len(np.unique(pitches))),
        "pitch_class_histogram": np.bincount(classes, minlength=12) / len(classes),
        "pitch_class_transitions": _transitions(classes),
        "pitch_range": int(pitches.max() - pitches.min()),
        "average_pitch_interval": float(np.abs(np.diff(pitches)).mean()) if len(pitches) > 1 else 0.0,
        "average_inter_onset_interval": float(np.diff(onsets).mean() / STEPS_PER_QUARTER)
        if len(onsets) > 1
        else 0.0,
        "note_length_histogram": np.bincount(lengths, minlength=12) / len(lengths),
        "note_length_transitions": _transitions(lengths),
        "scale_consistency": float(in_major.mean(axis=0).max()),
        "note_density": len(notes) / max(1.0, ends.max() / steps_per_bar),
    }


def _transitions(classes: np.ndarray) -> np.ndarray:
    """12 x 12 matrix of consecutive-class pairs, normalised to sum to 1."""
    matrix = np.zeros((12, 12))
    np.add.at(matrix, (classes[:-1], classes[1:]), 1.0)
    return matrix / max(1.0, matrix.sum())


def features(pieces: Sequence) -> dict[str, np.ndarray]:
    """:func:`piece_features` of every piece, stacked per feature: ``(n,)``, ``(n, 12)`` or ``(n, 12, 12)``.

    Taught in chapter 04, section 4 (features of a piece).

    Also ``voices``: each piece's number of voices, so that :func:`compare_sets` can refuse to compare a set
    of melodies with a set of four-voice pieces.

    Raises :class:`MusegenError` for an empty set or a piece without notes (naming which).
    """
    if len(pieces) == 0:
        raise MusegenError("the set of pieces is empty")
    rows, voices = [], []
    for index, piece in enumerate(pieces):
        try:
            piece = to_piece(piece)
            rows.append(piece_features(piece))
        except MusegenError as error:
            raise MusegenError(f"piece {index} of the set: {error}") from None
        voices.append(len(piece.voices))
    table = {name: np.array([row[name] for row in rows]) for name in FEATURES}
    table["voices"] = np.array(voices)
    return table


# ------------------------------------------------------------------ comparing sets


def _flat(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1)


def intra_set_distances(values) -> np.ndarray:
    """Euclidean distances between every two pieces of one set (each pair once), for one feature.

    Taught in chapter 04, section 5 (comparing sets).

    >>> intra_set_distances([0.0, 1.0, 3.0]).tolist()
    [1.0, 3.0, 2.0]
    """
    flat = _flat(values)
    if len(flat) < 2:
        raise MusegenError("a set needs at least two pieces to have distances within it")
    return _pairwise(flat, flat)[np.triu_indices(len(flat), k=1)]


def inter_set_distances(values, other_values) -> np.ndarray:
    """Euclidean distances from every piece of one set to every piece of another, for one feature.

    Taught in chapter 04, section 5 (comparing sets).

    >>> inter_set_distances([0.0, 1.0], [3.0]).tolist()
    [3.0, 2.0]
    """
    a, b = _flat(values), _flat(other_values)
    if a.shape[1] != b.shape[1]:
        raise MusegenError(f"the two sets have features of different sizes ({a.shape[1]} and {b.shape[1]})")
    return _pairwise(a, b).ravel()


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Euclidean distances between the rows of ``a`` and of ``b``, from their differences.

    Not from ``|a|^2 + |b|^2 - 2 a.b``: that shortcut cancels, so two equal pieces come out a few 1e-9 apart,
    by an amount that depends on the CPU's matrix product. Rows of ``a`` are taken in blocks, so that no
    array holds more than about a million differences.
    """
    if a.shape[1] == 1:
        return np.abs(a[:, 0, None] - b[None, :, 0])
    rows = max(1, 2**20 // (len(b) * a.shape[1]))
    return np.concatenate(
        [
            np.sqrt(((a[i : i + rows, None, :] - b[None, :, :]) ** 2).sum(axis=2))
            for i in range(0, len(a), rows)
        ]
    )


def _bandwidth(samples: np.ndarray) -> float:
    """Scott's rule, ``std * n ** (-1 / 5)``; for samples that are all equal, 1 % of their size (or 0.01)."""
    spread = samples.std(ddof=1) if len(samples) > 1 else 0.0
    if spread > 0:
        return float(spread * len(samples) ** (-1 / 5))
    return 0.01 * max(1.0, float(np.abs(samples).max()))


def kernel_density(samples, grid) -> np.ndarray:
    """Gaussian kernel density estimate of 1-D ``samples`` at the points ``grid``, bandwidth by Scott's rule.

    Taught in chapter 04, section 4 (features of a piece).

    The bandwidth is ``std * n ** (-1 / 5)``, as ``scipy.stats.gaussian_kde`` chooses it; samples that are
    all equal get 1 % of their magnitude instead of zero.

    >>> grid = np.linspace(-10, 10, 2001)
    >>> round(float(np.trapezoid(kernel_density([-1.0, 0.0, 2.0], grid), grid)), 4)
    1.0
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 1 or len(samples) == 0:
        raise MusegenError("a density needs a non-empty 1-D array of samples")
    bandwidth = _bandwidth(samples)
    z = (np.asarray(grid, dtype=np.float64)[:, None] - samples[None, :]) / bandwidth
    return np.exp(-0.5 * z**2).sum(axis=1) / (len(samples) * bandwidth * np.sqrt(2 * np.pi))


def _densities(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both kernel density estimates on one uniform grid fine enough for the narrower kernel.

    Samples are counted on the grid (a bin an eighth of the narrower bandwidth wide), and the counts
    convolved with each kernel by direct sums, so that half a million distances cost milliseconds rather than
    a matrix of samples by grid points. Direct sums, not an FFT: every term is positive, so each density is
    exact to rounding *relative to its own value*, far into the tails, where the KL divergence takes the log
    of it. An FFT's error is relative to the peak (about 1e-16 of it); a density that truly is 1e-30 there
    came out as rounding noise, or as 0, from CPU to CPU, and the KL with it (chapter 04 printed 0.038 on one
    machine and 0.049 on another). The kernel is cut where it underflows (37.5 bandwidths, ``exp(-703)``).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or len(a) == 0 or len(b) == 0:
        raise MusegenError("comparing distributions needs two non-empty 1-D arrays of samples")
    ha, hb = _bandwidth(a), _bandwidth(b)
    low = min(a.min(), b.min()) - 6 * max(ha, hb)
    high = max(a.max(), b.max()) + 6 * max(ha, hb)
    points = int(np.clip((high - low) / (min(ha, hb) / 8), 512, 2**15))
    grid = np.linspace(low, high, points)
    step = grid[1] - grid[0]
    densities = []
    for samples, bandwidth in ((a, ha), (b, hb)):
        counts = np.bincount(np.rint((samples - low) / step).astype(np.int64), minlength=points)[:points]
        reach = min(points - 1, int(np.ceil(37.5 * bandwidth / step)))
        offsets = np.arange(-reach, reach + 1) * step
        kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2) / (bandwidth * np.sqrt(2 * np.pi))
        occupied = np.flatnonzero(counts)
        density = np.zeros(points)
        for bin_, count in zip(occupied, counts[occupied]):  # one kernel per occupied bin, not per sample
            start, stop = max(0, bin_ - reach), min(points, bin_ + reach + 1)
            density[start:stop] += count * kernel[start - bin_ + reach : stop - bin_ + reach]
        densities.append(density / len(samples))
    return grid, densities[0], densities[1]


def overlapping_area(a, b) -> float:
    """Area under the smaller of the two kernel density estimates: 1 for equal distributions, 0 for disjoint.

    Taught in chapter 04, section 5 (comparing sets).

    >>> round(overlapping_area(np.arange(100.0), np.arange(100.0)), 3)
    1.0
    >>> overlapping_area([0.0, 0.1, 0.2], [100.0, 100.1, 100.2]) < 1e-6
    True
    """
    return _overlap_and_divergence(*_densities(a, b))[0]


def kl_divergence(p_samples, q_samples) -> float:
    """KL divergence ``KL(p || q)`` in nats between the kernel density estimates of two samples.

    Taught in chapter 04, section 5 (comparing sets).

    >>> round(kl_divergence(np.arange(100.0), np.arange(100.0)), 6)
    0.0
    """
    return _overlap_and_divergence(*_densities(p_samples, q_samples))[1]


def _overlap_and_divergence(grid: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    overlap = float(np.trapezoid(np.minimum(p, q), grid))
    p, q = p / np.trapezoid(p, grid), q / np.trapezoid(q, grid)
    tiny = 1e-300
    return overlap, float(np.trapezoid(p * (np.log(p + tiny) - np.log(q + tiny)), grid))


def compare_sets(reference: Sequence, generated: Sequence) -> dict[str, dict[str, float]]:
    """Yang & Lerch's comparison of a generated set with a reference set, feature by feature.

    Taught in chapter 04, section 5 (comparing sets).

    For each feature: the mean and standard deviation of the intra-set distances of both sets; the OA and
    KL divergence between the reference's intra-set distances and the inter-set distances
    (``overlapping_area``, ``kl_divergence``); and the same for the *generated* set's intra-set distances
    against the inter-set distances (``generated_overlapping_area``, ``generated_kl_divergence``), as mgeval
    reports both. A generated set that is like the reference has inter-set distances like either set's own:
    OA near 1, KL near 0. The first pair alone misses a set without variety: a generator that writes the
    reference's average piece every time has inter-set distances like the reference's own spread, while its
    own intra-set distances are all zero, which the second pair catches (chapter 04).

    Parameters
    ----------
    reference, generated
        Sets of pieces (anything :func:`piece_features` accepts), or dicts already made by :func:`features`.
    """
    reference = reference if isinstance(reference, dict) else features(reference)
    generated = generated if isinstance(generated, dict) else features(generated)
    kinds = [sorted(set(np.asarray(table.get("voices", [0])).tolist())) for table in (reference, generated)]
    if len(kinds[0]) > 1 or len(kinds[1]) > 1 or kinds[0] != kinds[1]:
        raise MusegenError(
            f"the sets hold different representations (pieces of {kinds[0]} and {kinds[1]} voices): "
            "compare melodies with melodies and four-voice music with four-voice music"
        )
    table = {}
    for name in FEATURES:
        intra_reference = intra_set_distances(reference[name])
        intra_generated = intra_set_distances(generated[name])
        inter = inter_set_distances(reference[name], generated[name])
        table[name] = {
            "reference_intra_mean": float(intra_reference.mean()),
            "reference_intra_std": float(intra_reference.std()),
            "generated_intra_mean": float(intra_generated.mean()),
            "generated_intra_std": float(intra_generated.std()),
        }
        overlap, divergence = _overlap_and_divergence(*_densities(intra_reference, inter))
        table[name].update(overlapping_area=overlap, kl_divergence=divergence)
        overlap, divergence = _overlap_and_divergence(*_densities(intra_generated, inter))
        table[name].update(generated_overlapping_area=overlap, generated_kl_divergence=divergence)
    return table
