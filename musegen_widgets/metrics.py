"""Numbers that judge a model (chapter 01 introduces the first; chapter 04 gathers them all).

Likelihood
    :func:`sequence_nll` is the held-out negative log-likelihood of a sequence model, scored exactly as the
    course reports it: over whole chorales from their first step, each token from the second on predicted
    from every token before it, averaged over tokens, in nats. ``exp`` of it is the perplexity.
    :func:`frame_nll` is the same for next-frame (polyphonic) models, per frame.

Features of a piece (Yang & Lerch 2020, "On the evaluation of generative models in music")
    :func:`piece_features` computes, for any piece, melody or file: pitch count, pitch-class histogram and
    transition matrix, pitch range, average pitch interval, average inter-onset interval, note-length
    histogram and transition matrix, plus scale consistency and note density. :func:`features` stacks them
    for a set of pieces.

Comparing two sets (the same paper's method)
    For one feature, the *intra-set* distances are the distances between every two pieces of one set; the
    *inter-set* distances, between every piece of one set and every piece of the other.
    :func:`compare_sets` smooths each distance distribution with a Gaussian kernel density estimate and
    reports the **overlapping area** (OA, 1 = indistinguishable) and the **KL divergence** of the inter-set
    distribution from the reference set's intra-set distribution.

Four voices (MuseGAN, Dong et al. 2018)
    :func:`multitrack_metrics` gives, per voice, the share of empty bars, the pitch classes used per bar, the
    share of qualified (not too short) notes and the polyphonicity, and the tonal distance between every two
    voices; :func:`compare_multitrack` sets a generated set beside a reference, entry by entry.

Copying and listening
    :func:`shared_runs` and :func:`longest_copied_run` find the longest runs of notes melodies share (chapters
    00 and 04);
    :func:`binomial_test` and :func:`binomial_interval` judge a blind listening test's answers,
    :func:`holm` adjusts its p-values for several sources at once, and :func:`binomial_power` and
    :func:`trials_for_power` say how many trials it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoding import FRAME_HIGH, FRAME_LOW, HOLD, PIANOROLL_LOW, STEPS_PER_QUARTER, to_piece
from .errors import MusegenError

__all__ = [
    "sequence_nll",
    "frame_nll",
    "log_softmax",
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
    "VOICE_PAIRS",
    "TONAL_MATRIX",
    "empty_bars",
    "used_pitch_classes",
    "qualified_notes",
    "polyphonicity",
    "tonal_centroids",
    "tonal_distance",
    "multitrack_metrics",
    "voice_range_share",
    "compare_multitrack",
    "note_events",
    "shared_runs",
    "longest_copied_run",
    "binomial_test",
    "binomial_interval",
    "binomial_power",
    "trials_for_power",
    "holm",
]


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
    return float(total / count)


def frame_nll(model, sequences: Sequence[np.ndarray], batch_size: int = 32) -> float:
    """Mean NLL in nats per frame of a next-frame model on whole chorales, as the JSB Chorales table reports.

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
    order = np.argsort([len(s) for s in sequences])
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = [sequences[i] for i in order[start : start + batch_size]]
        length = max(len(s) for s in batch)
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


# ------------------------------------------------------------------ features of one piece

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

    Parameters
    ----------
    source
        Anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames, a
        :class:`~musegen_widgets.encoding.Piece`, a stream or a file.

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

    >>> intra_set_distances([0.0, 1.0, 3.0]).tolist()
    [1.0, 3.0, 2.0]
    """
    flat = _flat(values)
    if len(flat) < 2:
        raise MusegenError("a set needs at least two pieces to have distances within it")
    return _pairwise(flat, flat)[np.triu_indices(len(flat), k=1)]


def inter_set_distances(values, other_values) -> np.ndarray:
    """Euclidean distances from every piece of one set to every piece of another, for one feature.

    >>> inter_set_distances([0.0, 1.0], [3.0]).tolist()
    [3.0, 2.0]
    """
    a, b = _flat(values), _flat(other_values)
    if a.shape[1] != b.shape[1]:
        raise MusegenError(f"the two sets have features of different sizes ({a.shape[1]} and {b.shape[1]})")
    return _pairwise(a, b).ravel()


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Euclidean distances between the rows of ``a`` and of ``b``, without an (n, m, d) array."""
    if a.shape[1] == 1:
        return np.abs(a[:, 0, None] - b[None, :, 0])
    squared = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _bandwidth(samples: np.ndarray) -> float:
    """Scott's rule, ``std * n ** (-1 / 5)``; for samples that are all equal, 1 % of their size (or 0.01)."""
    spread = samples.std(ddof=1) if len(samples) > 1 else 0.0
    if spread > 0:
        return float(spread * len(samples) ** (-1 / 5))
    return 0.01 * max(1.0, float(np.abs(samples).max()))


def kernel_density(samples, grid) -> np.ndarray:
    """Gaussian kernel density estimate of 1-D ``samples`` at the points ``grid``, bandwidth by Scott's rule.

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

    Samples are binned on the grid and the bins convolved with the kernel (by FFT), so that half a million
    distances cost milliseconds rather than a matrix of samples by grid points.
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
        offsets = np.arange(-points + 1, points) * step
        kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2) / (bandwidth * np.sqrt(2 * np.pi))
        size = 2 * points - 1 + points
        full = np.fft.irfft(np.fft.rfft(counts, size) * np.fft.rfft(kernel, size), size)
        densities.append(np.maximum(full[points - 1 : 2 * points - 1], 0.0) / len(samples))
    return grid, densities[0], densities[1]


def overlapping_area(a, b) -> float:
    """Area under the smaller of the two kernel density estimates: 1 for equal distributions, 0 for disjoint.

    >>> round(overlapping_area(np.arange(100.0), np.arange(100.0)), 3)
    1.0
    >>> overlapping_area([0.0, 0.1, 0.2], [100.0, 100.1, 100.2]) < 1e-6
    True
    """
    return _overlap_and_divergence(*_densities(a, b))[0]


def kl_divergence(p_samples, q_samples) -> float:
    """KL divergence ``KL(p || q)`` in nats between the kernel density estimates of two samples.

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


# ------------------------------------------------------------------ MuseGAN's multi-track metrics

VOICE_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
"""The voice pairs :func:`tonal_distance` reports, in order: SA, ST, SB, AT, AB, TB."""

_TONAL_ANGLES = np.array(
    [7 * np.pi / 6, 7 * np.pi / 6, 3 * np.pi / 2, 3 * np.pi / 2, 2 * np.pi / 3, 2 * np.pi / 3]
)
_TONAL_RADII = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
TONAL_MATRIX = _TONAL_RADII[:, None] * np.where(
    np.arange(6)[:, None] % 2 == 0,
    np.sin(np.arange(12)[None, :] * _TONAL_ANGLES[:, None]),
    np.cos(np.arange(12)[None, :] * _TONAL_ANGLES[:, None]),
)
"""Harte, Sandler & Gasser's (2006) 6 x 12 map from a chroma vector to the tonal centroid: the circle of
fifths, of minor thirds and of major thirds (radii 1, 1, 0.5), each as a sine and a cosine."""


def _rolls(rolls, steps_per_bar: int) -> np.ndarray:
    """A set of piano rolls as a boolean array ``(n, voices, bars, steps_per_bar, pitches)``."""
    array = np.asarray(rolls)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] == 0 or array.shape[1] == 0:
        raise MusegenError(
            f"expected piano rolls (n, voices, steps, pitches) or one (voices, steps, pitches); got {array.shape}"
        )
    if array.shape[2] % steps_per_bar:
        raise MusegenError(f"{array.shape[2]} steps are not whole bars of {steps_per_bar}")
    n, voices, steps, pitches = array.shape
    return array.astype(bool).reshape(n, voices, steps // steps_per_bar, steps_per_bar, pitches)


def _bar_chroma(rolls: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Sounding steps per pitch class in each bar: ``(n, voices, bars, 12)``."""
    per_pitch = rolls.sum(axis=3)
    classes = (np.arange(per_pitch.shape[-1]) + lowest_pitch) % 12
    chroma = np.zeros((*per_pitch.shape[:3], 12))
    for pitch_class in range(12):
        chroma[..., pitch_class] = per_pitch[..., classes == pitch_class].sum(axis=-1)
    return chroma


def empty_bars(rolls, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of bars with no note, per voice (MuseGAN's EB).

    >>> roll = np.zeros((2, 32, 72), bool); roll[0, :16, 36] = True
    >>> empty_bars(roll).tolist()
    [0.5, 1.0]
    """
    bars = _rolls(rolls, steps_per_bar)
    return (~bars.any(axis=(3, 4))).mean(axis=(0, 2))


def used_pitch_classes(rolls, steps_per_bar: int = 16, lowest_pitch: int = PIANOROLL_LOW) -> np.ndarray:
    """Mean number of pitch classes used in a bar, over the bars with notes, per voice (MuseGAN's UPC).

    A voice with no note in any bar gets NaN.
    """
    chroma = _bar_chroma(_rolls(rolls, steps_per_bar), lowest_pitch)
    used = (chroma > 0).sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(used > 0, used, 0).sum(axis=(0, 2)) / (used > 0).sum(axis=(0, 2))


def qualified_notes(rolls, min_steps: int = 2, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of notes lasting at least ``min_steps``, per voice (MuseGAN's QN); NaN for a voice with none.

    A note is a run of sounding steps of one pitch. MuseGAN counts a note "qualified" from 3 of its 96 steps a
    bar (a 32nd note); on this course's grid of 16 steps a bar every note lasts a 16th or more, so the default
    asks for an 8th: the fragments a GAN writes are one-step notes.
    """
    bars = _rolls(rolls, steps_per_bar)
    n, voices, n_bars, _, pitches = bars.shape
    # time last and a silent step after each sequence, so that runs end inside their own sequence
    sounding = bars.reshape(n, voices, -1, pitches).transpose(0, 1, 3, 2)
    padded = np.concatenate([sounding, np.zeros((*sounding.shape[:3], 1), bool)], axis=-1)
    before = np.concatenate([np.zeros((*sounding.shape[:3], 1), bool), padded[..., :-1]], axis=-1)
    onsets = np.flatnonzero(padded & ~before)
    ends = np.flatnonzero(before & ~padded)
    lengths = ends - onsets
    voice = onsets // (pitches * padded.shape[-1]) % voices
    notes = np.bincount(voice, minlength=voices)
    with np.errstate(invalid="ignore"):
        return np.bincount(voice, weights=lengths >= min_steps, minlength=voices) / notes


def polyphonicity(rolls, min_pitches: int = 3, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of time steps with at least ``min_pitches`` pitches sounding, per voice (MuseGAN's PP).

    MuseGAN's "more than two pitches" is the default. A chorale voice sings one pitch at a time, so its value
    is 0; pass the voices merged, ``rolls.any(axis=1, keepdims=True)``, for the texture as a whole.
    """
    bars = _rolls(rolls, steps_per_bar)
    return (bars.sum(axis=-1) >= min_pitches).mean(axis=(0, 2, 3))


def tonal_centroids(chroma) -> np.ndarray:
    """Tonal centroids (6-D) of chroma vectors ``(..., 12)``, each normalised to sum to 1 first.

    >>> tonal_centroids(np.eye(12)[0]).tolist()  # C alone
    [0.0, 1.0, 0.0, 1.0, 0.0, 0.5]
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    total = chroma.sum(axis=-1, keepdims=True)
    return (chroma / np.where(total > 0, total, 1.0)) @ TONAL_MATRIX.T


def tonal_distance(rolls, steps_per_bar: int = 16, lowest_pitch: int = PIANOROLL_LOW) -> np.ndarray:
    """Mean distance between the bar-wise tonal centroids of two voices, for each of :data:`VOICE_PAIRS` (TD).

    Bars where either voice is silent are left out; a pair that never sounds together gets NaN. Small
    values mean the two voices agree harmonically (MuseGAN's inter-track tonal distance).
    """
    chroma = _bar_chroma(_rolls(rolls, steps_per_bar), lowest_pitch)
    if chroma.shape[1] < 4:
        raise MusegenError(f"tonal distance is reported for four voices, got {chroma.shape[1]}")
    centroids = tonal_centroids(chroma)
    sounding = chroma.sum(axis=-1) > 0
    result = []
    for a, b in VOICE_PAIRS:
        both = sounding[:, a] & sounding[:, b]
        distances = np.linalg.norm(centroids[:, a] - centroids[:, b], axis=-1)
        result.append(distances[both].mean() if both.any() else np.nan)
    return np.array(result)


def multitrack_metrics(rolls, steps_per_bar: int = 16) -> dict[str, np.ndarray]:
    """All of MuseGAN's metrics for a set of four-voice piano rolls: one array per metric, per voice or pair.

    Keys: ``empty_bars``, ``used_pitch_classes``, ``qualified_notes``, ``polyphonicity`` (per voice),
    ``texture_polyphonicity`` (the voices merged) and ``tonal_distance`` (per pair of :data:`VOICE_PAIRS`).
    """
    array = np.asarray(rolls, dtype=bool)
    merged = array.any(axis=-3, keepdims=True)
    return {
        "empty_bars": empty_bars(array, steps_per_bar),
        "used_pitch_classes": used_pitch_classes(array, steps_per_bar),
        "qualified_notes": qualified_notes(array, steps_per_bar=steps_per_bar),
        "polyphonicity": polyphonicity(array, steps_per_bar=steps_per_bar),
        "texture_polyphonicity": polyphonicity(merged, steps_per_bar=steps_per_bar),
        "tonal_distance": tonal_distance(array, steps_per_bar),
    }


def voice_range_share(rolls, reference_rolls) -> np.ndarray:
    """Per voice, the share of sounding notes-steps of ``rolls`` inside that voice's pitch range in the reference.

    >>> reference = np.zeros((1, 4, 16, 72), bool); reference[0, :, :, 30:40] = True
    >>> rolls = np.zeros((1, 4, 16, 72), bool); rolls[0, 0, :8, 35] = True; rolls[0, 0, 8:, 50] = True
    >>> voice_range_share(rolls, reference)[0]
    np.float64(0.5)
    """
    rolls, reference = np.asarray(rolls, bool), np.asarray(reference_rolls, bool)
    if rolls.shape[1] != reference.shape[1] or rolls.shape[-1] != reference.shape[-1]:
        raise MusegenError(
            f"the two sets have different voices or pitches: {rolls.shape} and {reference.shape}"
        )
    shares = []
    for voice in range(rolls.shape[1]):
        used = np.flatnonzero(reference[:, voice].any(axis=(0, 1)))
        per_pitch = rolls[:, voice].sum(axis=(0, 1))
        inside = per_pitch[used.min() : used.max() + 1].sum() if len(used) else 0
        shares.append(inside / per_pitch.sum() if per_pitch.sum() else np.nan)
    return np.array(shares)


def compare_multitrack(reference_rolls, rolls, tolerance: float = 0.2) -> dict[str, dict]:
    """MuseGAN's metrics of generated rolls next to a reference's, with whether each is within ``tolerance``.

    For each metric of :func:`multitrack_metrics`: ``reference`` and ``generated`` values (per voice or pair)
    and ``within``: ``|generated - reference| <= tolerance * |reference|`` per entry. (A reference value of 0,
    such as a chorale voice's polyphonicity, is then met only by 0.) Also ``voice_range``: the share of
    generated notes inside each voice's reference range (:func:`voice_range_share`).
    """
    reference = multitrack_metrics(reference_rolls)
    generated = multitrack_metrics(rolls)
    table = {
        name: {
            "reference": reference[name],
            "generated": generated[name],
            "within": np.abs(generated[name] - reference[name]) <= tolerance * np.abs(reference[name]),
        }
        for name in reference
    }
    table["voice_range"] = {"generated": voice_range_share(rolls, reference_rolls)}
    return table


# ------------------------------------------------------------------ copy detection


def note_events(tokens) -> list[tuple[int, int]]:
    """A melody as notes, each ``(interval from the previous note in semitones, length in steps)``.

    Rests end a note and are otherwise skipped; the first note's interval is 0. Intervals rather than
    pitches make a copy in another key a copy too.

    >>> from musegen_widgets.encoding import pitch_to_token
    >>> note_events([pitch_to_token(60), HOLD, pitch_to_token(62), 1, pitch_to_token(59)])
    [(0, 2), (2, 1), (-3, 1)]
    """
    tokens = np.asarray(tokens)
    events, previous = [], None
    for step in np.flatnonzero(tokens != HOLD):
        if tokens[step] >= 2:
            length = 1
            while step + length < len(tokens) and tokens[step + length] == HOLD:
                length += 1
            pitch = int(tokens[step])
            events.append((0 if previous is None else pitch - previous, length))
            previous = pitch
    return events


def shared_runs(melodies: Sequence, others: Sequence, rhythm: bool = True) -> np.ndarray:
    """The longest run of notes each melody shares with each of ``others``: an ``(n, m)`` integer array.

    A run of *k* notes is shared when the *k - 1* intervals between them agree and, with ``rhythm``, so do
    their *k* lengths (:func:`note_events`): a transposed copy counts. Without ``rhythm`` only the intervals
    are compared, which finds one tune in two meters. This is the longest common *substring* of notes, not
    the longest common subsequence: a subsequence may skip notes, so any two melodies in one key share long
    ones, while a contiguous run is what copying looks like. Chapter 00 splits the chorales by tune with it;
    chapter 04 detects copying.

    >>> from musegen_widgets.encoding import pitch_to_token as t
    >>> tune = [t(60), t(62), t(64), t(65), t(67)]
    >>> shared_runs([[t(50), t(52), t(54), t(49)], [t(70)]], [tune]).tolist()  # up a tone twice
    [[3], [1]]
    """
    events = [np.array(note_events(m), dtype=np.int64).reshape(-1, 2) for m in melodies]
    other_events = [np.array(note_events(m), dtype=np.int64).reshape(-1, 2) for m in others]
    result = np.zeros((len(events), len(other_events)), dtype=np.int64)
    if not any(len(e) for e in other_events):
        return result
    # every other melody in one row, each followed by a separator that matches nothing
    separator = np.array([[10_000, -1]])
    row = np.concatenate([part for e in other_events for part in (e, separator)])
    owner = np.repeat(np.arange(len(other_events)), [len(e) + 1 for e in other_events])
    for i, melody in enumerate(events):
        run = np.zeros(len(row), dtype=np.int64)
        best = np.zeros(len(row), dtype=np.int64)
        for interval, length in melody:
            same_length = row[:, 1] == length if rhythm else row[:, 1] >= 0
            extends = same_length & (row[:, 0] == interval)
            # a run's first note has no note before it in the run: its interval is not compared
            run = np.where(extends, np.concatenate([[0], run[:-1]]) + 1, same_length.astype(np.int64))
            np.maximum(best, run, out=best)
        np.maximum.at(result[i], owner, best)
    return result


def longest_copied_run(samples: Sequence, corpus: Sequence) -> np.ndarray:
    """For each sample, the most notes in a row (intervals and lengths) found, in a row, in some melody of ``corpus``.

    The row maxima of :func:`shared_runs`; chapter 04's copy detection.

    >>> from musegen_widgets.encoding import pitch_to_token as t
    >>> tune = [t(60), t(62), t(64), t(65), t(67)]
    >>> longest_copied_run([[t(50), t(52), t(54), t(49)], [t(70)]], [tune]).tolist()  # up a tone twice
    [3, 1]
    """
    if len(samples) == 0 or len(corpus) == 0:
        raise MusegenError("copy detection needs at least one sample and one corpus melody")
    return shared_runs(samples, corpus).max(axis=1)


# ------------------------------------------------------------------ listening tests


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    from math import comb

    return np.array([comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)])


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` trials if each succeeds with probability ``p``.

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

    >>> round(binomial_power(12, 0.25), 3), round(binomial_power(60, 0.25), 3)  # 12: reject at k <= 2
    (0.391, 0.97)
    """
    rejected = [binomial_test(k, n) < alpha for k in range(n + 1)]
    return float(_binomial_pmf(n, p)[rejected].sum())


def trials_for_power(p: float, alpha: float = 0.05, power: float = 0.8, most: int = 1000) -> int:
    """The fewest trials from which :func:`binomial_power` stays at or above ``power`` (for ``p`` and ``alpha``).

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
