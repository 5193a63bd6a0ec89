"""The cells of chapter 06's infilling model: what each voice does at each 16th step, with held notes marked.

A four-voice passage is a grid ``(steps, 4)``, one cell per voice and 16th step. A cell holds the pitch token
of a note that *starts* there (the tokens of :func:`~musegen_widgets.encoding.encode_satb`), :data:`HOLD`
where the note before it goes on, or silence (0). This is DeepBach's encoding (Hadjeres, Pachet and Nielsen
2017, whose "__" symbol is our :data:`HOLD`): a held note and a repeated one differ, and a cell can say "the
same note goes on" without saying which pitch that is. The S-A-T-B tokens of chapter 05, like Coconet's piano
roll (Huang et al. 2017), repeat a held note's pitch in every cell; chapter 06, section 6, measures what that
did to the rhythm of an infilling model's lower voices, and why.

:func:`encode` writes the cells of four-voice music, :func:`decode` reads them back, and :func:`sounding`
gives the S-A-T-B tokens that sound (what the voice-leading checks read).

>>> from musegen_widgets.piece import Piece
>>> alto = [[64, 0, 2], [64, 2, 3]]  # E4 held for two 16ths, then repeated
>>> encode(Piece(([[67, 0, 3]], alto, [[60, 0, 3]], [[48, 0, 3]])))[:, 1].tolist()
[41, 73, 41]
"""

from __future__ import annotations

import numpy as np

from .encoding import PIANOROLL_LOW, SATB_SILENCE, SATB_VOCAB_SIZE, _skyline, to_piece
from .errors import MusegenError
from .piece import MusicLike, Piece

__all__ = ["HOLD", "CELL_VOCAB_SIZE", "STEPS_PER_BEAT", "encode", "decode", "sounding"]

VOICES = 4

HOLD = SATB_VOCAB_SIZE
"""The cell value that says "the note before goes on" (after the S-A-T-B tokens' silence and pitches)."""

CELL_VOCAB_SIZE = SATB_VOCAB_SIZE + 1
"""Values a cell can hold: silence, a pitch that starts a note, or :data:`HOLD`."""

STEPS_PER_BEAT = 4
"""16ths in a quarter-note beat: the model is told each step's place in its beat."""


def encode(music: MusicLike) -> np.ndarray:
    """The cells ``(steps, 4)`` of four-voice music: a note's pitch token where it starts, :data:`HOLD` where it
    goes on, silence (0) where the voice rests.

    Taught in chapter 06, section 2 (one network for every question). Pitch tokens are those of
    :func:`~musegen_widgets.encoding.encode_satb` (a voice's highest note where it has a chord).

    >>> encode(Piece(([[67, 0, 2]], [[64, 0, 1], [64, 1, 2]], [[60, 0, 2]], [[48, 1, 2]]))).tolist()
    [[44, 41, 37, 0], [73, 41, 73, 25]]
    """
    piece = to_piece(music)
    if len(piece.voices) != VOICES:
        raise MusegenError(f"infilling cells need exactly four voices, this music has {len(piece.voices)}")
    cells = np.zeros((piece.n_steps, VOICES), dtype=np.int64)
    for voice, notes in enumerate(piece.voices):
        pitch, onset = _skyline(np.asarray(notes, dtype=np.int64).reshape(-1, 3), piece.n_steps)
        tokens = np.where(pitch >= 0, 1 + pitch - PIANOROLL_LOW, SATB_SILENCE)
        if tokens.min(initial=0) < 0 or tokens.max(initial=0) >= SATB_VOCAB_SIZE:
            raise MusegenError(f"a pitch in voice {voice} is outside the piano roll's range")
        cells[:, voice] = np.where(onset | (pitch < 0), tokens, HOLD)
    return cells


def sounding(cells) -> np.ndarray:
    """The S-A-T-B tokens ``(steps, 4)`` that sound in ``cells``: each :data:`HOLD` replaced by the pitch it holds.

    Taught in chapter 06, section 2. A hold with no note before it (at the start, or after silence) sounds as
    silence. The result is what :mod:`~musegen_widgets.metrics.voice_leading` reads.

    >>> sounding([[44, 0], [HOLD, HOLD]]).tolist()
    [[44, 0], [44, 0]]
    """
    cells = np.asarray(cells, dtype=np.int64)
    out = cells.copy()
    for step in range(1, len(out)):
        held = out[step] == HOLD
        out[step, held] = out[step - 1, held]
    out[out == HOLD] = SATB_SILENCE  # held from nothing
    return out


def decode(cells, *, time_signature: str = "4/4", title: str = "") -> Piece:
    """A four-voice :class:`~musegen_widgets.piece.Piece` from cells ``(steps, 4)``: each pitch starts a note,
    which lasts through the :data:`HOLD` cells after it.

    Taught in chapter 06, section 2. The inverse of :func:`encode` for music of one note at a time per voice.

    >>> decode([[44, 41, 37, 0], [HOLD, 41, HOLD, 25]]).voices[1].tolist()
    [[64, 0, 1], [64, 1, 2]]
    """
    cells = np.asarray(cells, dtype=np.int64)
    if cells.ndim != 2 or cells.shape[1] != VOICES:
        raise MusegenError(f"infilling cells must be (steps, 4), got {cells.shape}")
    if len(cells) and (cells.min() < 0 or cells.max() >= CELL_VOCAB_SIZE):
        raise MusegenError(f"infilling cells must be from 0 to {CELL_VOCAB_SIZE - 1}")
    pitches = sounding(cells)
    voices = []
    for voice in range(VOICES):
        column, pitch = cells[:, voice], pitches[:, voice]
        starts = np.flatnonzero((column != HOLD) & (pitch != SATB_SILENCE))
        boundaries = np.append(np.flatnonzero(column != HOLD), len(column))
        ends = boundaries[np.searchsorted(boundaries, starts, side="right")]
        notes = [(int(pitch[s]) - 1 + PIANOROLL_LOW, int(s), int(e)) for s, e in zip(starts, ends)]
        voices.append(np.array(notes, dtype=np.int64).reshape(-1, 3))
    return Piece(tuple(voices), time_signature, title=title, length=len(cells))
