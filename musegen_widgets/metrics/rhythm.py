"""The rhythm of written voices: where in the bar their notes start, and how many last a single 16th (chapter 06).

A four-voice model that writes on the 16th-note grid can make its lower voices flicker: a note held for a
quarter broken by one 16th of another pitch, so that notes start off the eighth-note grid and last a
single 16th. Bach's alto, tenor and bass rarely do (they move in quarters and eighths, and in 16ths in
passing). Two shares say how often, over the notes of the chosen voices of a set of pieces:

- **odd onsets**: notes that start on an odd 16th step of the bar (off the eighth-note grid);
- **one-16th notes**: notes one 16th long.

Repeated notes count as separate notes where the piece has them (Bach's do; a model whose cells cannot
tell a held note from a repeated one has none).

>>> from musegen_widgets.piece import Piece
>>> alto = np.array([[60, 0, 4], [62, 4, 7], [64, 7, 8]])  # a quarter, a dotted eighth, a 16th on step 7
>>> shares = rhythm_shares([Piece((alto,))], voices=(0,))
>>> shares["odd onsets"], shares["one-16th notes"], shares["notes"]
(0.3333333333333333, 0.3333333333333333, 3)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import MusegenError
from ..piece import Piece

__all__ = ["LOWER_VOICES", "onset_positions", "rhythm_shares"]

LOWER_VOICES = (1, 2, 3)
"""Alto, tenor and bass: the voices a harmonisation writes under a given soprano."""


def _notes(pieces: Iterable[Piece], voices: Iterable[int]) -> list[tuple[np.ndarray, int]]:
    """Each chosen voice's notes ``(n, 3)`` with the steps per bar of its piece."""
    found = []
    for piece in pieces:
        if not isinstance(piece, Piece):
            raise MusegenError(f"rhythm shares need Piece objects, got a {type(piece).__name__}")
        for voice in voices:
            if voice < len(piece.voices) and len(piece.voices[voice]):
                found.append((np.asarray(piece.voices[voice]), piece.steps_per_bar))
    return found


def onset_positions(pieces: Iterable[Piece], *, voices: Iterable[int] = LOWER_VOICES) -> np.ndarray:
    """The position in its bar, in 16th steps from the downbeat, of every note start of the ``voices``.

    Taught in chapter 06, section 6 (judging harmonisations): the histogram of these positions is the
    picture of where a voice's notes begin.
    """
    voices = tuple(voices)
    found = [notes[:, 1] % bar for notes, bar in _notes(pieces, voices)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def rhythm_shares(pieces: Iterable[Piece], *, voices: Iterable[int] = LOWER_VOICES) -> dict[str, float]:
    """The share of the ``voices``' notes that start on an odd 16th step, and that last one 16th.

    Taught in chapter 06, section 6 (judging harmonisations).

    Returns
    -------
    dict
        ``"odd onsets"`` and ``"one-16th notes"`` (shares from 0 to 1) and ``"notes"`` (how many).

    Raises
    ------
    MusegenError
        If the voices have no notes at all.
    """
    voices = tuple(voices)
    notes = [n for n, _ in _notes(pieces, voices)]
    if not notes:
        raise MusegenError(f"voices {voices} have no notes to measure")
    notes = np.concatenate(notes)
    return {
        "odd onsets": float(np.mean(notes[:, 1] % 2 == 1)),
        "one-16th notes": float(np.mean(notes[:, 2] - notes[:, 1] == 1)),
        "notes": len(notes),
    }
