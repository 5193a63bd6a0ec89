"""How music becomes arrays, and back (taught in chapter 00, "Music as data").

Everything here works on a 16th-note grid: ``STEPS_PER_QUARTER = 4`` steps per quarter note, and step 0 is
always a downbeat (a pickup bar is padded with silence at the front), so that ``step % piece.steps_per_bar``
is the position in the bar.

The common currency is :class:`Piece`: a few voices, each an integer array of notes ``(pitch, start, end)``
in grid steps, plus the time signature. Every other form converts to and from it:

* **melody tokens** (:func:`encode_melody`, :func:`decode_melody`): the top voice as events, like Magenta's
  MelodyRNN.
  ``HOLD`` continues what sounds, ``REST`` starts a silence, and one note-on token per MIDI pitch from
  ``MIN_PITCH`` to ``MAX_PITCH``. A silence is one ``REST`` followed by ``HOLD`` tokens.
* **piano roll** (:func:`encode_pianoroll`, :func:`decode_pianoroll`): boolean ``(voice, step, pitch)``.
  It cannot tell a held note from a repeated one.
* **JSB-style frames** (:func:`encode_frames`, :func:`decode_frames`): the set of sounding pitches at each
  quarter note, voices merged, over the 88 piano keys. It loses rhythm finer than a quarter and the voices.
* **S-A-T-B tokens** (:func:`encode_satb`, :func:`decode_satb`): four voices serialised per 16th step,
  soprano, alto, tenor, bass, one pitch-or-silence token each, as in Music Transformer's JSB Chorales
  experiment. Like the piano roll, it cannot tell a held note from a repeated one.
* **anything else** (:func:`to_piece`): a music21 stream, or a MIDI or MusicXML file.

Where each part lives: this module holds the arrays above and :func:`to_piece`. :class:`Piece`, the grid
(``STEPS_PER_QUARTER``, ``MAX_STEPS``), pitch names and frequencies (:func:`pitch_name`, :func:`midi_to_hz`),
melodies typed as text (:func:`parse_melody`) and :func:`chord_segments` are about notes rather than arrays
and live in :mod:`musegen_widgets.piece`; files and streams are read by :mod:`musegen_widgets.music21_reading`
and written by :mod:`musegen_widgets.music21_io`. This module re-exports what :mod:`~musegen_widgets.piece`
defines, so that ``encoding.Piece`` and ``encoding.parse_melody`` are at hand beside the arrays, as the
notebooks use them.

Examples
--------
>>> tokens = np.array([pitch_to_token(67), HOLD, HOLD, HOLD, pitch_to_token(69), HOLD, REST, HOLD])
>>> piece = to_piece(tokens)
>>> piece.voices[0].tolist()
[[67, 0, 4], [69, 4, 6]]
>>> bool((encode_melody(piece) == tokens).all())
True
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import music21_reading
from .errors import MusegenError
from .piece import (
    MAX_STEPS,
    STEPS_PER_QUARTER,
    MusicLike,
    Piece,
    chord_segments,
    midi_to_hz,
    parse_melody,
    pitch_name,
)

__all__ = [
    "STEPS_PER_QUARTER",
    "MAX_STEPS",
    "HOLD",
    "REST",
    "MIN_PITCH",
    "MAX_PITCH",
    "FIRST_PITCH_TOKEN",
    "VOCAB_SIZE",
    "PIANOROLL_LOW",
    "PIANOROLL_HIGH",
    "FRAME_LOW",
    "FRAME_HIGH",
    "Piece",
    "MusicLike",
    "pitch_to_token",
    "token_to_pitch",
    "is_note",
    "token_name",
    "pitch_name",
    "parse_melody",
    "midi_to_hz",
    "check_tokens",
    "encode_melody",
    "decode_melody",
    "encode_pianoroll",
    "decode_pianoroll",
    "encode_frames",
    "decode_frames",
    "SATB_SILENCE",
    "SATB_VOCAB_SIZE",
    "encode_satb",
    "decode_satb",
    "chord_segments",
    "to_piece",
]
HOLD = 0
"""Melody token: keep sounding what sounds now (a note, or a silence)."""
REST = 1
"""Melody token: start a silence."""
MIN_PITCH = 48
"""Lowest melody pitch with a note-on token (C3): chorale sopranos go down to A3 (57)."""
MAX_PITCH = 95
"""Highest melody pitch with a note-on token (B6): chorale sopranos go up to A5 (81)."""
FIRST_PITCH_TOKEN = 2
"""The note-on token of ``MIN_PITCH``; every token from it up starts a note (:func:`is_note`)."""
VOCAB_SIZE = FIRST_PITCH_TOKEN + MAX_PITCH - MIN_PITCH + 1
"""Number of melody tokens: ``HOLD``, ``REST`` and one per pitch."""

PIANOROLL_LOW = 24
"""MIDI pitch of piano-roll column 0 (C1); basses go down to C2 (36), transposed a tritone lower still fits."""
PIANOROLL_HIGH = 95
"""MIDI pitch of the last piano-roll column (B6)."""
FRAME_LOW = 21
"""MIDI pitch of frame column 0 (A0), as in the JSB Chorales benchmark's 88 piano keys."""
FRAME_HIGH = 108
"""MIDI pitch of the last frame column (C8)."""


# ------------------------------------------------------------------------------------- pitch tokens


def pitch_to_token(pitch: int) -> int:
    """The note-on token of a MIDI pitch.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> pitch_to_token(MIN_PITCH), pitch_to_token(60)
    (2, 14)
    """
    if not MIN_PITCH <= pitch <= MAX_PITCH:
        raise MusegenError(
            f"pitch {pitch} is outside the melody range {MIN_PITCH}-{MAX_PITCH}; transpose the melody"
        )
    return int(pitch) - MIN_PITCH + FIRST_PITCH_TOKEN


def token_to_pitch(token: int) -> int:
    """The MIDI pitch of a note-on token.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> token_to_pitch(14)
    60
    """
    if not FIRST_PITCH_TOKEN <= token < VOCAB_SIZE:
        raise MusegenError(f"token {token} is not a note-on token ({FIRST_PITCH_TOKEN}-{VOCAB_SIZE - 1})")
    return int(token) - FIRST_PITCH_TOKEN + MIN_PITCH


def is_note(tokens: Any) -> Any:
    """Whether each token starts a note (not ``HOLD``, not ``REST``): ``tokens >= FIRST_PITCH_TOKEN``.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> is_note(np.array([HOLD, REST, pitch_to_token(60)])).tolist()
    [False, False, True]
    """
    return np.asarray(tokens) >= FIRST_PITCH_TOKEN


def token_name(token: int) -> str:
    """A readable name: ``'HOLD'``, ``'REST'`` or a pitch such as ``'C4'``.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> [token_name(t) for t in (HOLD, REST, pitch_to_token(61))]
    ['HOLD', 'REST', 'C#4']
    """
    if token == HOLD:
        return "HOLD"
    if token == REST:
        return "REST"
    return pitch_name(token_to_pitch(token))


# ----------------------------------------------------------------------------------- melody tokens


def check_tokens(tokens: Any) -> np.ndarray:
    """Melody tokens as a 1-D ``int64`` array, after checking them; :class:`MusegenError` says what is wrong.

    Taught in chapter 00, section 5 (melody tokens).

    >>> check_tokens([REST, pitch_to_token(60), HOLD]).tolist() == [REST, pitch_to_token(60), HOLD]
    True
    """
    tokens = np.asarray(tokens)
    if tokens.size == 0:
        raise MusegenError("the melody has no tokens")
    if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise MusegenError(f"melody tokens must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
    if len(tokens) > MAX_STEPS:
        raise MusegenError(f"{len(tokens)} tokens is longer than the {MAX_STEPS} the course accepts")
    bad = (tokens < 0) | (tokens >= VOCAB_SIZE)
    if bad.any():
        raise MusegenError(
            f"token {tokens[bad][0]} at step {np.flatnonzero(bad)[0]} is outside the vocabulary 0-{VOCAB_SIZE - 1}"
        )
    return tokens.astype(np.int64)


def _skyline(notes: np.ndarray, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The top line: the highest sounding pitch per step (-1 for silence), and whether it starts there."""
    sounding = np.full(n_steps, -1)
    note_id = np.full(n_steps, -1)
    for i in np.argsort(notes[:, 0], kind="stable"):  # higher notes written last win
        pitch, start, end = notes[i]
        sounding[start:end] = pitch
        note_id[start:end] = i
    onset = (sounding >= 0) & (note_id != np.concatenate([[-1], note_id[:-1]]))
    return sounding, onset


def encode_melody(music: MusicLike) -> np.ndarray:
    """Melody tokens of the top voice of a piece, file or music21 stream.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    Parameters
    ----------
    music
        Anything :func:`to_piece` accepts. Where the top voice has chords, their highest note is kept.

    Returns
    -------
    numpy.ndarray
        1-D ``int64`` tokens, one per 16th step, starting on a downbeat.

    Raises
    ------
    MusegenError
        If there are no notes, or a pitch is outside ``MIN_PITCH``-``MAX_PITCH``.
    """
    piece = to_piece(music)
    notes = piece.voices[0] if piece.voices else np.zeros((0, 3), np.int64)
    if len(notes) == 0:
        raise MusegenError("the top voice has no notes to encode")
    sounding, onset = _skyline(notes, piece.n_steps)
    out_of_range = (sounding >= 0) & ((sounding < MIN_PITCH) | (sounding > MAX_PITCH))
    if out_of_range.any():
        step = int(np.flatnonzero(out_of_range)[0])
        raise MusegenError(
            f"pitch {sounding[step]} at step {step} is outside the melody range {MIN_PITCH}-{MAX_PITCH}; "
            "transpose it into range first"
        )
    previous = np.concatenate([[0], sounding[:-1]])
    tokens = np.full(piece.n_steps, HOLD, dtype=np.int64)
    tokens[onset] = sounding[onset] - MIN_PITCH + FIRST_PITCH_TOKEN
    tokens[(sounding < 0) & (previous >= 0)] = REST
    return tokens


def decode_melody(tokens: Any, *, time_signature: str = "4/4") -> Piece:
    """A one-voice :class:`Piece` from melody tokens (the inverse of :func:`encode_melody`).

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> decode_melody(np.array([pitch_to_token(60), HOLD, REST, HOLD])).voices[0].tolist()
    [[60, 0, 2]]
    """
    tokens = check_tokens(tokens)
    events = np.flatnonzero(tokens != HOLD)
    ends = np.append(events[1:], len(tokens))
    notes = is_note(tokens[events])
    pitches = tokens[events][notes] - FIRST_PITCH_TOKEN + MIN_PITCH
    return Piece(
        (np.stack([pitches, events[notes], ends[notes]], axis=1),), time_signature, length=len(tokens)
    )


# ------------------------------------------------------------------------------- piano roll, frames


def encode_pianoroll(music: MusicLike) -> np.ndarray:
    """Boolean piano roll ``(voice, step, pitch)`` with pitch columns ``PIANOROLL_LOW``..``PIANOROLL_HIGH``.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> roll = encode_pianoroll(Piece(([[60, 0, 2]], [[48, 0, 4]])))
    >>> roll.shape, int(roll.sum())
    ((2, 4, 72), 6)
    """
    piece = to_piece(music)
    roll = np.zeros((len(piece.voices), piece.n_steps, PIANOROLL_HIGH - PIANOROLL_LOW + 1), dtype=bool)
    for voice, notes in enumerate(piece.voices):
        bad = (notes[:, 0] < PIANOROLL_LOW) | (notes[:, 0] > PIANOROLL_HIGH)
        if bad.any():
            raise MusegenError(
                f"pitch {notes[bad][0, 0]} in voice {voice} is outside the piano-roll range "
                f"{PIANOROLL_LOW}-{PIANOROLL_HIGH}"
            )
        for pitch, start, end in notes:
            roll[voice, start:end, pitch - PIANOROLL_LOW] = True
    return roll


def _runs(active: np.ndarray) -> np.ndarray:
    """Notes ``(column, start, end)`` from a boolean ``(step, column)`` array: one per run of True."""
    padded = np.pad(active.astype(np.int8), ((1, 1), (0, 0)))
    change = np.diff(padded, axis=0)
    start_step, start_col = np.nonzero(change.T == 1)[::-1]
    end_step, _ = np.nonzero(change.T == -1)[::-1]
    order = np.lexsort((start_step, start_col))
    notes = np.stack([start_col, start_step, end_step], axis=1)
    return notes[order] if len(notes) else np.zeros((0, 3), np.int64)


def decode_pianoroll(roll: Any, *, time_signature: str = "4/4") -> Piece:
    """A :class:`Piece` from a ``(voice, step, pitch)`` roll; each run of a pitch becomes one note.

    Taught in chapter 00, section 5 (three ways to write music as numbers).
    """
    roll = np.asarray(roll)
    width = PIANOROLL_HIGH - PIANOROLL_LOW + 1
    if roll.ndim != 3 or roll.shape[2] != width:
        raise MusegenError(f"a piano roll must have shape (voices, steps, {width}), got {roll.shape}")
    voices = []
    for voice_roll in roll.astype(bool):
        notes = _runs(voice_roll)
        notes[:, 0] += PIANOROLL_LOW
        voices.append(notes)
    return Piece(tuple(voices), time_signature, length=roll.shape[1])


def encode_frames(music: MusicLike) -> np.ndarray:
    """JSB-style frames: sounding pitches at each quarter note, all voices, as ``(quarter, 88)`` booleans.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    Frames start at the first quarter where something sounds (no padding for a pickup), as in the
    JSB Chorales benchmark; column 0 is ``FRAME_LOW`` (A0).

    >>> encode_frames(Piece(([[60, 0, 8]], [[48, 4, 8]])))[:, [48 - FRAME_LOW, 60 - FRAME_LOW]].tolist()
    [[False, True], [True, True]]
    """
    piece = to_piece(music)
    frames = np.zeros((-(-piece.n_steps // STEPS_PER_QUARTER), FRAME_HIGH - FRAME_LOW + 1), dtype=bool)
    for notes in piece.voices:
        if len(notes) and ((notes[:, 0] < FRAME_LOW) | (notes[:, 0] > FRAME_HIGH)).any():
            raise MusegenError(f"a pitch is outside the 88 piano keys {FRAME_LOW}-{FRAME_HIGH}")
        for pitch, start, end in notes:
            first = -(-start // STEPS_PER_QUARTER)  # quarters whose onset lies in [start, end)
            last = -(-end // STEPS_PER_QUARTER)
            frames[first:last, pitch - FRAME_LOW] = True
    sounding = np.flatnonzero(frames.any(axis=1))
    return frames[sounding[0] :] if len(sounding) else frames[:0]


def decode_frames(frames: Any, *, time_signature: str = "4/4", start: int = 0) -> Piece:
    """A :class:`Piece` from frames; the k-th highest pitch of each frame goes to voice k (top first).

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    Frames begin at the first quarter where something sounds, so a pickup's silence is gone and its first
    beat would land on a downbeat. ``start`` is the step of the music's first note (12 for a one-beat pickup in
    4/4), rounded up to a quarter as the frames were: it puts every frame back on its beat.

    >>> frames = encode_frames(Piece(([[67, 12, 16], [72, 16, 32]],)))  # a one-beat pickup
    >>> decode_frames(frames).voices[0][0].tolist(), decode_frames(frames, start=12).voices[0][0].tolist()
    ([67, 0, 4], [67, 12, 16])
    """
    if start < 0:
        raise MusegenError(f"start is a step, 0 or more, not {start}")
    offset = -(-start // STEPS_PER_QUARTER) * STEPS_PER_QUARTER
    frames = np.asarray(frames, dtype=bool)
    width = FRAME_HIGH - FRAME_LOW + 1
    if frames.ndim != 2 or frames.shape[1] != width:
        raise MusegenError(f"frames must have shape (quarters, {width}), got {frames.shape}")
    n_voices = max(1, int(frames.sum(axis=1).max(initial=0)))
    by_voice = np.zeros((n_voices, len(frames) * STEPS_PER_QUARTER, width), dtype=bool)
    for q, frame in enumerate(frames):
        for voice, column in enumerate(np.flatnonzero(frame)[::-1]):
            by_voice[voice, q * STEPS_PER_QUARTER : (q + 1) * STEPS_PER_QUARTER, column] = True
    voices = []
    for roll in by_voice:
        notes = _runs(roll)
        notes[:, 0] += FRAME_LOW
        notes[:, 1:] += offset
        voices.append(notes)
    return Piece(tuple(voices), time_signature, length=offset + len(frames) * STEPS_PER_QUARTER)


SATB_SILENCE = 0
"""S-A-T-B token: this voice is silent at this step; token ``1 + pitch - PIANOROLL_LOW`` sounds ``pitch``."""
SATB_VOCAB_SIZE = 1 + PIANOROLL_HIGH - PIANOROLL_LOW + 1
"""Silence, and one token per pitch of the piano roll's range."""


def encode_satb(music: MusicLike) -> np.ndarray:
    """Four voices serialised step by step: ``[S₀, A₀, T₀, B₀, S₁, A₁, ...]``, one token per voice and 16th.

    Taught in chapter 05, section 5 (four voices).

    Each token is the voice's sounding pitch (its highest, where it has a chord) or :data:`SATB_SILENCE`;
    a held note repeats its token at every step, as in the JSB data of Music Transformer (Huang et al.
    2018, section 4.1), so a held note and a repeated one look alike.

    >>> encode_satb(Piece(([[67, 0, 2]], [[64, 0, 1]], [[60, 0, 2]], [[48, 1, 2]]))).tolist()
    [44, 41, 37, 0, 44, 0, 37, 25]
    """
    piece = to_piece(music)
    if len(piece.voices) != 4:
        raise MusegenError(f"S-A-T-B tokens need exactly four voices, this music has {len(piece.voices)}")
    tokens = np.zeros((piece.n_steps, 4), dtype=np.int64)
    for voice, notes in enumerate(piece.voices):
        sounding, _ = _skyline(notes, piece.n_steps)
        bad = (sounding >= 0) & ((sounding < PIANOROLL_LOW) | (sounding > PIANOROLL_HIGH))
        if bad.any():
            raise MusegenError(
                f"pitch {sounding[bad][0]} in voice {voice} is outside {PIANOROLL_LOW}-{PIANOROLL_HIGH}"
            )
        tokens[:, voice] = np.where(sounding >= 0, 1 + sounding - PIANOROLL_LOW, SATB_SILENCE)
    return tokens.reshape(-1)


def decode_satb(tokens: Any, *, time_signature: str = "4/4") -> Piece:
    """A four-voice :class:`Piece` from S-A-T-B tokens; a run of one pitch in a voice becomes one note.

    Taught in chapter 05, section 5 (four voices). A trailing incomplete step is dropped.
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if len(tokens) and (tokens.min() < 0 or tokens.max() >= SATB_VOCAB_SIZE):
        raise MusegenError(f"S-A-T-B tokens must be from 0 to {SATB_VOCAB_SIZE - 1}")
    by_voice = tokens[: len(tokens) // 4 * 4].reshape(-1, 4).T
    voices = []
    for line in by_voice:
        columns = np.zeros((len(line), PIANOROLL_HIGH - PIANOROLL_LOW + 2), dtype=bool)
        columns[np.arange(len(line)), line] = True
        notes = _runs(columns[:, 1:])
        notes[:, 0] += PIANOROLL_LOW
        voices.append(notes)
    return Piece(tuple(voices), time_signature, length=by_voice.shape[1])


# ------------------------------------------------------------------------------------------ any input


def to_piece(music: MusicLike, *, time_signature: str | None = None) -> Piece:
    """Convert any musical input of the course to a :class:`Piece`.

    Taught in chapter 00, section 7 (bring your own music).

    Parameters
    ----------
    music
        A :class:`Piece`; melody tokens (1-D ints); a piano roll ``(voice, step, pitch)``; frames
        ``(quarter, 88)`` booleans; a batch of one melody ``(1, steps)`` or one roll ``(1, voices, steps,
        pitches)``, as the models return them; a music21 stream; or the path of a MIDI or MusicXML file.
    time_signature
        For arrays, which carry none (default ``"4/4"``).

    Raises
    ------
    MusegenError
        For anything else, or a file that cannot be read; the message names the file.
    """
    if isinstance(music, Piece):
        return music
    if isinstance(music, (str, os.PathLike)):
        return music21_reading.read(music)
    if isinstance(music, (np.ndarray, list, tuple)):
        array = np.asarray(music)
        meter = time_signature or "4/4"
        if array.ndim == 1:
            return decode_melody(array, time_signature=meter)
        if array.ndim == 2 and array.shape[1] == FRAME_HIGH - FRAME_LOW + 1:
            return decode_frames(array, time_signature=meter)
        if array.ndim == 3:
            return decode_pianoroll(array, time_signature=meter)
        if array.ndim in (2, 4):  # a batch of melodies or piano rolls, as the models return them
            if len(array) != 1:
                kind = "melodies" if array.ndim == 2 else "piano rolls"
                raise MusegenError(f"a batch of {len(array)} {kind} (shape {array.shape}): pick one with [0]")
            return to_piece(array[0], time_signature=time_signature)
        raise MusegenError(
            f"an array of shape {array.shape} is neither melody tokens (steps,), a piano roll "
            "(voices, steps, pitches) nor frames (quarters, 88)"
        )
    import music21

    if isinstance(music, music21.stream.Stream):
        return music21_reading.stream_to_piece(music)
    raise MusegenError(f"cannot make music from a {type(music).__name__}")
