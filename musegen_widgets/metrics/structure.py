"""Structure over a whole melody: does it keep one key, and do its parts relate as a composer's do?

Taught in chapter 08, section 10 (structure over eight bars). A model that writes two bars at a time with no
plan (the VAE's prior, chapter 02) can make every two bars plausible and the eight bars aimless; these numbers
look at the melody as a whole.

``estimate_key``
    The Krumhansl-Schmuckler key-finding algorithm: correlate the melody's duration-weighted pitch-class
    histogram with Krumhansl and Kessler's major and minor key profiles in all 12 rotations, take the best.
``related_keys``, ``halves_agreement``
    Whether a melody's two halves (the first and the last four bars) get the same or a closely related key
    (relative, dominant or subdominant); the correlation of the two halves' pitch-class histograms (the same
    evidence, without the decision, so less noisy).
``framewise_overlaps``, ``self_similarity``
    Mittal et al. (2021)'s framewise self-similarity: Gaussians fitted to the pitches (and to the note
    durations) of 4-bar frames every 2 bars, the overlapping area of each frame's Gaussian with the next's;
    *consistency* and *variance* compare the mean and the variance of those overlaps with a reference set's.
"""

from __future__ import annotations

import math

import numpy as np

from ..encoding import decode_melody
from ..errors import MusegenError

__all__ = [
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
    "estimate_key",
    "related_keys",
    "halves_agreement",
    "pitch_class_agreement",
    "seam_leaps",
    "gaussian_overlap",
    "framewise_overlaps",
    "self_similarity",
]

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
"""Krumhansl and Kessler's (1982) probe-tone ratings of the 12 pitch classes in a major key, tonic first."""

MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
"""The same in a minor key."""

_STEPS_PER_BAR = 16


def _pitch_class_weights(tokens) -> np.ndarray:
    """How many 16th steps each pitch class sounds in a melody of tokens, ``(12,)``."""
    weights = np.zeros(12)
    for pitch, start, end in decode_melody(np.asarray(tokens)).voices[0]:
        weights[pitch % 12] += end - start
    return weights


def estimate_key(tokens) -> tuple[int, str]:
    """The key of a melody by the Krumhansl-Schmuckler algorithm: ``(tonic pitch class, "major" or "minor")``.

    Taught in chapter 08, section 10 (structure over eight bars). music21's ``KrumhanslSchmuckler`` uses the
    same profiles (a test compares the two).

    >>> from musegen_widgets.encoding import parse_melody, encode_melody
    >>> estimate_key(encode_melody(parse_melody("C4q E4q G4q C5q | F4q A4q G4h")))
    (0, 'major')
    """
    weights = _pitch_class_weights(tokens)
    if not weights.any():
        raise MusegenError("a melody without notes has no key")
    best, key = -np.inf, (0, "major")
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            correlation = np.corrcoef(weights, np.roll(profile, tonic))[0, 1]
            if correlation > best:
                best, key = correlation, (tonic, mode)
    return key


def related_keys(tokens) -> bool:
    """Whether the two halves of a melody (by steps) get the same or a closely related :func:`estimate_key`.

    Taught in chapter 08, section 10 (structure over eight bars). Closely related: the same key, its relative
    (C major and A minor), or the key a fifth above or below in the same mode (C major and G or F major), the
    keys a chorale phrase moves to and back from. A half without notes counts as unrelated.

    >>> from musegen_widgets.encoding import parse_melody, encode_melody
    >>> related_keys(encode_melody(parse_melody("C4q E4q G4q C5q | G4q E4q C4h | D4q B3q G3h | G3w")))
    True
    """
    tokens = np.asarray(tokens)
    half = len(tokens) // 2
    try:
        (first, first_mode), (second, second_mode) = (
            estimate_key(tokens[:half]),
            estimate_key(_from_onset(tokens[half:])),
        )
    except MusegenError:
        return False
    if first_mode == second_mode:
        return (second - first) % 12 in (0, 5, 7)
    major, minor = (first, second) if first_mode == "major" else (second, first)
    return (major - minor) % 12 == 3


def halves_agreement(tokens) -> float:
    """The correlation of the duration-weighted pitch-class histograms of a melody's two halves (by steps).

    Taught in chapter 08, section 10 (structure over eight bars). 1 when both halves use the pitch classes
    in the same proportions; near 0 or below when they share little. A half without notes gives 0.
    """
    tokens = np.asarray(tokens)
    half = len(tokens) // 2
    return pitch_class_agreement(tokens[:half], tokens[half:])


def pitch_class_agreement(first, second) -> float:
    """The correlation of the duration-weighted pitch-class histograms of two stretches of melody.

    Taught in chapter 08, section 11 (does an infilled middle keep to its beginning and end?);
    :func:`halves_agreement` (section 10) is this for a melody's two halves. ``second`` starts at its first onset (a hold before it belongs to a note it does
    not contain). 0 when either has no notes.
    """
    first = _pitch_class_weights(np.asarray(first))
    second = _pitch_class_weights(_from_onset(np.asarray(second)))
    if first.std() == 0 or second.std() == 0:
        return 0.0
    return float(np.corrcoef(first, second)[0, 1])


def seam_leaps(tokens, seams) -> np.ndarray:
    """At each seam (a step), the leap in semitones from the last pitch before it to the first note from it on.

    Taught in chapter 08, section 11 (infilling): where filled bars meet kept ones, a good filling moves
    on as the music around it does, mostly by step. NaN where there is no note on one side.

    >>> from musegen_widgets.encoding import HOLD, pitch_to_token
    >>> seam_leaps([pitch_to_token(60), HOLD, pitch_to_token(67), HOLD], [2]).tolist()
    [7.0]
    """
    from ..encoding import is_note, token_to_pitch

    tokens = np.asarray(tokens)
    onsets = np.flatnonzero(is_note(tokens))
    leaps = []
    for seam in seams:
        before, after = onsets[onsets < seam], onsets[onsets >= seam]
        if len(before) and len(after):
            leaps.append(abs(int(token_to_pitch(tokens[after[0]])) - int(token_to_pitch(tokens[before[-1]]))))
        else:
            leaps.append(np.nan)
    return np.array(leaps, dtype=float)


def _from_onset(tokens: np.ndarray) -> np.ndarray:
    """A piece of melody cut mid-note starts with a rest instead of a hold of a note it does not contain."""
    from ..encoding import HOLD, REST

    tokens = tokens.copy()
    first = np.argmax(tokens != HOLD) if (tokens != HOLD).any() else len(tokens)
    tokens[:first] = REST
    return tokens


def gaussian_overlap(mean1: float, variance1: float, mean2: float, variance2: float) -> float:
    """The overlapping area of two Gaussian densities, ``∫ min(p, q)``: 1 for equal ones, near 0 for far ones.

    Taught in chapter 08, section 10 (structure over eight bars). Exact, from the one or two points where the
    densities cross (equal variances cross once, at the midpoint).

    >>> round(gaussian_overlap(0.0, 1.0, 0.0, 1.0), 6)
    1.0
    >>> round(gaussian_overlap(0.0, 1.0, 2.0, 1.0), 4)  # 2 Phi(-1)
    0.3173
    """
    m1, v1, m2, v2 = (float(value) for value in (mean1, variance1, mean2, variance2))
    s1, s2 = math.sqrt(v1), math.sqrt(v2)

    def cdf(x, m, s):
        return 0.5 * (1 + math.erf((x - m) / (s * math.sqrt(2))))

    if math.isclose(v1, v2, rel_tol=1e-9):
        crossing = (m1 + m2) / 2
        low, other = ((m1, s1), (m2, s2)) if m1 <= m2 else ((m2, s2), (m1, s1))
        return (1 - cdf(crossing, *low)) + cdf(crossing, *other)
    # log p1 = log p2 is a quadratic in x: a x^2 + b x + c = 0
    a = 1 / (2 * v2) - 1 / (2 * v1)
    b = m1 / v1 - m2 / v2
    c = m2**2 / (2 * v2) - m1**2 / (2 * v1) + math.log(s2 / s1)
    root = math.sqrt(b**2 - 4 * a * c)
    x1, x2 = sorted([(-b - root) / (2 * a), (-b + root) / (2 * a)])
    # the narrower density is the smaller one outside [x1, x2], the wider one inside
    (mn, sn), (mw, sw) = ((m1, s1), (m2, s2)) if s1 < s2 else ((m2, s2), (m1, s1))
    inside = cdf(x2, mw, sw) - cdf(x1, mw, sw)
    outside = cdf(x1, mn, sn) + 1 - cdf(x2, mn, sn)
    return inside + outside


def framewise_overlaps(tokens, *, frame_bars: int = 4, hop_bars: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Overlaps of each frame's pitch Gaussian with the next frame's, and the same for note durations.

    Taught in chapter 08, section 10 (structure over eight bars). A frame is ``frame_bars`` bars, one starts
    every ``hop_bars`` bars (8 bars: frames at bars 0, 2 and 4, two overlaps). A note belongs to the frame its
    start falls in. Every frame's variance is floored at 1 (a semitone, or a 16th step, squared), unlike Mittal
    et al.'s: a frame of equal notes (all quarters, say) would otherwise have a Gaussian of no width.

    Returns
    -------
    pitch, duration
        Each ``(frames - 1,)``.
    """
    notes = decode_melody(np.asarray(tokens)).voices[0]
    frame, hop = frame_bars * _STEPS_PER_BAR, hop_bars * _STEPS_PER_BAR
    stats = []
    for start in range(0, len(tokens) - frame + 1, hop):
        inside = notes[(notes[:, 1] >= start) & (notes[:, 1] < start + frame)]
        pitches, durations = inside[:, 0].astype(float), (inside[:, 2] - inside[:, 1]).astype(float)
        stats.append(
            [
                (values.mean() if len(values) else 0.0, max(values.var(), 1.0) if len(values) > 1 else 1.0)
                for values in (pitches, durations)
            ]
        )
    pitch = [gaussian_overlap(*a[0], *b[0]) for a, b in zip(stats, stats[1:])]
    duration = [gaussian_overlap(*a[1], *b[1]) for a, b in zip(stats, stats[1:])]
    return np.array(pitch), np.array(duration)


def self_similarity(melodies, reference) -> dict[str, float]:
    """Mittal et al.'s consistency and variance of pitch and duration, against ``reference`` melodies.

    Taught in chapter 08, section 10 (structure over eight bars). The overlaps of every melody of a set
    (:func:`framewise_overlaps`) are pooled; with ``mu`` and ``var`` their mean and variance, and the same of
    the reference's, *consistency* is ``max(0, 1 - |mu - mu_ref| / mu_ref)`` and *variance*
    ``max(0, 1 - |var - var_ref| / var_ref)``: 1 where the set's frames relate to each other as the
    reference's do.
    """

    def pooled(collection):
        pairs = [framewise_overlaps(melody) for melody in collection]
        return np.concatenate([p for p, _ in pairs]), np.concatenate([d for _, d in pairs])

    result = {}
    for name, generated, real in zip(("pitch", "duration"), pooled(melodies), pooled(reference)):
        result[f"{name} consistency"] = max(0.0, 1 - abs(generated.mean() - real.mean()) / real.mean())
        result[f"{name} variance"] = max(0.0, 1 - abs(generated.var() - real.var()) / real.var())
    return result
