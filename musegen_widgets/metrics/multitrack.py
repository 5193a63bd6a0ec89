"""MuseGAN's multi-track metrics of four-voice piano rolls (Dong et al. 2018; chapters 03 and 04)."""

from __future__ import annotations

import numpy as np

from ..encoding import PIANOROLL_LOW
from ..errors import MusegenError

__all__ = [
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
]


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


def empty_bars(rolls, *, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of bars with no note, per voice (MuseGAN's EB).

    Taught in chapter 04, section 7 (four voices).

    >>> roll = np.zeros((2, 32, 72), bool); roll[0, :16, 36] = True
    >>> empty_bars(roll).tolist()
    [0.5, 1.0]
    """
    bars = _rolls(rolls, steps_per_bar)
    return (~bars.any(axis=(3, 4))).mean(axis=(0, 2))


def used_pitch_classes(rolls, *, steps_per_bar: int = 16, lowest_pitch: int = PIANOROLL_LOW) -> np.ndarray:
    """Mean number of pitch classes used in a bar, over the bars with notes, per voice (MuseGAN's UPC).

    Taught in chapter 04, section 7 (four voices).

    A voice with no note in any bar gets NaN.
    """
    chroma = _bar_chroma(_rolls(rolls, steps_per_bar), lowest_pitch)
    used = (chroma > 0).sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(used > 0, used, 0).sum(axis=(0, 2)) / (used > 0).sum(axis=(0, 2))


def qualified_notes(rolls, *, min_steps: int = 2, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of notes lasting at least ``min_steps``, per voice (MuseGAN's QN); NaN for a voice with none.

    Taught in chapter 04, section 7 (four voices).

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


def polyphonicity(rolls, *, min_pitches: int = 3, steps_per_bar: int = 16) -> np.ndarray:
    """Fraction of time steps with at least ``min_pitches`` pitches sounding, per voice (MuseGAN's PP).

    Taught in chapter 04, section 7 (four voices).

    MuseGAN's "more than two pitches" is the default. A chorale voice sings one pitch at a time, so its value
    is 0; pass the voices merged, ``rolls.any(axis=1, keepdims=True)``, for the texture as a whole.
    """
    bars = _rolls(rolls, steps_per_bar)
    return (bars.sum(axis=-1) >= min_pitches).mean(axis=(0, 2, 3))


def tonal_centroids(chroma) -> np.ndarray:
    """Tonal centroids (6-D) of chroma vectors ``(..., 12)``, each normalised to sum to 1 first.

    Taught in chapter 04, section 7 (four voices).

    >>> tonal_centroids(np.eye(12)[0]).tolist()  # C alone
    [0.0, 1.0, 0.0, 1.0, 0.0, 0.5]
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    total = chroma.sum(axis=-1, keepdims=True)
    return (chroma / np.where(total > 0, total, 1.0)) @ TONAL_MATRIX.T


def tonal_distance(rolls, *, steps_per_bar: int = 16, lowest_pitch: int = PIANOROLL_LOW) -> np.ndarray:
    """Mean distance between the bar-wise tonal centroids of two voices, for each of :data:`VOICE_PAIRS` (TD).

    Taught in chapter 04, section 7 (four voices).

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


def multitrack_metrics(rolls, *, steps_per_bar: int = 16) -> dict[str, np.ndarray]:
    """All of MuseGAN's metrics for a set of four-voice piano rolls: one array per metric, per voice or pair.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    Keys: ``empty_bars``, ``used_pitch_classes``, ``qualified_notes``, ``polyphonicity`` (per voice),
    ``texture_polyphonicity`` (the voices merged) and ``tonal_distance`` (per pair of :data:`VOICE_PAIRS`).
    """
    array = np.asarray(rolls, dtype=bool)
    merged = array.any(axis=-3, keepdims=True)
    return {
        "empty_bars": empty_bars(array, steps_per_bar=steps_per_bar),
        "used_pitch_classes": used_pitch_classes(array, steps_per_bar=steps_per_bar),
        "qualified_notes": qualified_notes(array, steps_per_bar=steps_per_bar),
        "polyphonicity": polyphonicity(array, steps_per_bar=steps_per_bar),
        "texture_polyphonicity": polyphonicity(merged, steps_per_bar=steps_per_bar),
        "tonal_distance": tonal_distance(array, steps_per_bar=steps_per_bar),
    }


def voice_range_share(reference_rolls, rolls) -> np.ndarray:
    """Per voice, the share of sounding note-steps of ``rolls`` inside that voice's pitch range in ``reference_rolls``.

    Taught in chapter 04, section 7 (four voices).

    >>> reference = np.zeros((1, 4, 16, 72), bool); reference[0, :, :, 30:40] = True
    >>> rolls = np.zeros((1, 4, 16, 72), bool); rolls[0, 0, :8, 35] = True; rolls[0, 0, 8:, 50] = True
    >>> voice_range_share(reference, rolls)[0]
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


def compare_multitrack(reference_rolls, rolls, *, tolerance: float = 0.2) -> dict[str, dict]:
    """MuseGAN's metrics of generated rolls next to a reference's, with whether each is within ``tolerance``.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

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
    table["voice_range"] = {"generated": voice_range_share(reference_rolls, rolls)}
    return table
