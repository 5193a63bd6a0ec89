"""Voice-leading checks of four-voice writing, from the definitions of a harmony textbook (chapter 06).

The music is S-A-T-B cells ``(steps, 4)`` (:func:`~musegen_widgets.encoding.encode_satb` reshaped), top
voice first. A *chord* is a step where some voice changes (a new pitch, or silence), together with what
every voice sounds then; a *motion* of two voices goes from one chord to the next, both voices sounding in
both, at least one of them moving.

- **Parallel fifths / octaves**: both voices move in the same direction and are a perfect fifth apart
  (7 semitones, modulo an octave, whichever voice is on top) before and after; for octaves, 0 modulo 12
  (unisons included). Counted per 100 motions of two voices.
- **Voice crossing**: a lower voice sounds above a higher one (alto above soprano, ...). Per 100 chords.
- **Spacing**: soprano and alto, or alto and tenor, more than an octave apart (tenor and bass may be).
  Per 100 chords.
- **Out of range**: a note outside its voice's :data:`VOICE_RANGES`. Per 100 notes.

>>> cells = np.array([[41, 37, 30, 25], [43, 39, 32, 27]])  # E4 C4 F3 C3, all up a tone
>>> counts = voice_leading_counts(cells)
>>> counts["parallel fifths"], counts["parallel octaves"], counts["motions"]
(1, 1, 6)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..encoding import PIANOROLL_LOW, SATB_SILENCE
from ..errors import MusegenError

__all__ = ["VOICE_RANGES", "RATES", "parallels", "voice_leading_counts", "voice_leading"]

VOICE_RANGES = ((60, 79), (55, 74), (48, 67), (40, 60))
"""Textbook ranges (MIDI) of soprano C4-G5, alto G3-D5, tenor C3-G4 and bass E2-C4 (as in Aldwell and
Schachter's *Harmony and Voice Leading*); Bach's own voices step outside them now and then."""

RATES = {
    "parallel fifths": ("parallel fifths", "motions"),
    "parallel octaves": ("parallel octaves", "motions"),
    "voice crossings": ("crossings", "chords"),
    "spacing over an octave": ("wide spacings", "chords"),
    "out of range": ("out of range", "notes"),
}
"""Name of a rate -> (the count, per 100 of which unit), as :func:`voice_leading` reports them."""


def _chords(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The steps where some voice changes, and the MIDI pitches ``(chords, 4)`` there (-1 for silence)."""
    pitches = np.where(cells == SATB_SILENCE, -1, cells - 1 + PIANOROLL_LOW)
    changes = np.ones(len(pitches), dtype=bool)
    changes[1:] = (pitches[1:] != pitches[:-1]).any(axis=1)
    return np.flatnonzero(changes), pitches[changes]


def _check_cells(cells) -> np.ndarray:
    cells = np.asarray(cells)
    if cells.ndim != 2 or cells.shape[1] != 4:
        raise MusegenError(f"voice leading needs S-A-T-B cells of shape (steps, 4), got {cells.shape}")
    return cells


def _motions(chords: np.ndarray):
    """For each pair of voices ``(upper, lower)``: which chord-to-chord motions move it, and which of those
    are parallel fifths and parallel octaves (boolean arrays over the ``len(chords) - 1`` motions)."""
    before, after = chords[:-1], chords[1:]
    for upper in range(4):
        for lower in range(upper + 1, 4):
            sounding = (before[:, [upper, lower]] >= 0).all(axis=1) & (after[:, [upper, lower]] >= 0).all(
                axis=1
            )
            step_upper, step_lower = after[:, upper] - before[:, upper], after[:, lower] - before[:, lower]
            moving = sounding & ((step_upper != 0) | (step_lower != 0))
            similar = moving & (np.sign(step_upper) == np.sign(step_lower)) & (step_upper != 0)
            # the interval between the two voices' pitches, whichever is on top: a crossed fourth (alto a
            # fourth above the soprano) is a fourth, not the fifth that (upper - lower) % 12 would make of it
            interval_before = np.abs(before[:, upper] - before[:, lower]) % 12
            interval_after = np.abs(after[:, upper] - after[:, lower]) % 12
            fifths, octaves = (similar & (interval_before == i) & (interval_after == i) for i in (7, 0))
            yield upper, lower, moving, fifths, octaves


def parallels(cells) -> np.ndarray:
    """Where the parallel fifths and octaves of a passage are: one row ``(step_before, step_after, upper,
    lower, interval)`` each, ``interval`` 7 for a fifth and 0 for an octave, voices numbered from the soprano.

    Taught in chapter 06, section 6 (judging harmonisations), and used by :func:`~musegen_widgets.infilling.
    resample` to redraw notes that make them.

    >>> parallels(np.array([[41, 37, 30, 25], [43, 39, 32, 27]])).tolist()  # E4 C4 F3 C3 up a tone: A-T, A-B
    [[0, 1, 1, 2, 7], [0, 1, 1, 3, 0]]
    """
    steps, chords = _chords(_check_cells(cells))
    rows = []
    for upper, lower, _, fifths, octaves in _motions(chords):
        for interval, found in ((7, fifths), (0, octaves)):
            for motion in np.flatnonzero(found):
                rows.append((steps[motion], steps[motion + 1], upper, lower, interval))
    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 5)


def voice_leading_counts(cells) -> dict[str, int]:
    """The counts behind the voice-leading rates of one passage: a dict of whole numbers.

    Taught in chapter 06, section 6 (judging harmonisations). Keys: ``parallel fifths``, ``parallel
    octaves``, ``motions`` (of two voices), ``crossings`` and ``wide spacings`` (chords with any),
    ``chords``, ``out of range`` and ``notes``.
    """
    cells = _check_cells(cells)
    _, chords = _chords(cells)
    counts = {"parallel fifths": 0, "parallel octaves": 0, "motions": 0}
    for _, _, moving, fifths, octaves in _motions(chords):
        counts["parallel fifths"] += int(fifths.sum())
        counts["parallel octaves"] += int(octaves.sum())
        counts["motions"] += int(moving.sum())
    sounding = chords >= 0
    crossed = np.zeros(len(chords), dtype=bool)
    for upper in range(3):
        both = sounding[:, upper] & sounding[:, upper + 1]
        crossed |= both & (chords[:, upper] < chords[:, upper + 1])
    wide = np.zeros(len(chords), dtype=bool)
    for upper in range(2):  # soprano-alto and alto-tenor
        both = sounding[:, upper] & sounding[:, upper + 1]
        wide |= both & (chords[:, upper] - chords[:, upper + 1] > 12)
    counts.update(crossings=int(crossed.sum()), **{"wide spacings": int(wide.sum())}, chords=len(chords))
    # notes: a new pitch in a voice (a held note counts once)
    pitches = np.where(cells == SATB_SILENCE, -1, cells - 1 + PIANOROLL_LOW)
    onsets = np.ones(pitches.shape, dtype=bool)
    onsets[1:] = pitches[1:] != pitches[:-1]
    notes = onsets & (pitches >= 0)
    low, high = np.array(VOICE_RANGES).T
    counts["out of range"] = int((notes & ((pitches < low) | (pitches > high))).sum())
    counts["notes"] = int(notes.sum())
    return counts


def voice_leading(passages: Iterable) -> dict[str, float]:
    """Voice-leading rates of a set of passages, pooled (total count per 100 of its unit): see :data:`RATES`.

    Taught in chapter 06, section 6 (judging harmonisations).
    """
    totals: dict[str, int] = {}
    for cells in passages:
        for name, value in voice_leading_counts(cells).items():
            totals[name] = totals.get(name, 0) + value
    if not totals:
        raise MusegenError("no passage to judge")
    return {
        name: 100.0 * totals[count] / totals[unit] if totals[unit] else float("nan")
        for name, (count, unit) in RATES.items()
    }
