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
* **anything else** (:func:`to_piece`): a music21 stream, or a MIDI or MusicXML file, read by
  :mod:`musegen_widgets.music21_io`, which also writes them.

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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Union

import numpy as np

from .errors import MusegenError

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

STEPS_PER_QUARTER = 4
"""Grid resolution: a step is a 16th note."""
MAX_STEPS = 16 * 1024
"""Longest piece accepted (1,024 bars of 4/4): longer input is almost surely a broken file."""

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

MusicLike = Union["Piece", np.ndarray, Sequence[int], str, os.PathLike]
"""What every function that takes music accepts, under the one name ``music``: a :class:`Piece`, melody
tokens, a piano roll or frames (arrays), a music21 stream, or the path of a MIDI or MusicXML file. Each
becomes a :class:`Piece` through :func:`to_piece`."""


@dataclass(frozen=True)
class Piece:
    """Notes of a few voices on the 16th-note grid; the form every other one converts through.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    Parameters
    ----------
    voices
        One integer array of shape ``(n_notes, 3)`` per voice, top voice first; columns are MIDI pitch,
        start step and end step (exclusive). Step 0 is a downbeat.
    time_signature
        Such as ``"4/4"`` or ``"3/4"``.
    title
        Shown above scores; may come from a user's file (escape it before it goes into HTML).
    length
        Length in steps, when a silence follows the last note; never shorter than the notes.
    """

    voices: tuple[np.ndarray, ...]
    time_signature: str = "4/4"
    title: str = field(default="", compare=False)
    length: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        voices = tuple(np.asarray(v, dtype=np.int64).reshape(-1, 3) for v in self.voices)
        for notes in voices:
            if len(notes) and (
                (notes[:, 0] < 0).any() or (notes[:, 0] > 127).any() or (notes[:, 1] < 0).any()
            ):
                raise MusegenError("a note has a pitch outside MIDI's 0-127 or a negative start")
            if len(notes) and (notes[:, 2] <= notes[:, 1]).any():
                raise MusegenError("a note ends before it starts")
        object.__setattr__(self, "voices", voices)
        _steps_per_bar(self.time_signature)  # validates
        if self.n_steps > MAX_STEPS:
            raise MusegenError(
                f"{self.n_steps} sixteenth steps is longer than the {MAX_STEPS} the course accepts"
            )

    @property
    def steps_per_bar(self) -> int:
        """Grid steps in one bar (16 for 4/4, 12 for 3/4)."""
        return _steps_per_bar(self.time_signature)

    @property
    def n_steps(self) -> int:
        """Length in steps: the end of the last note, or ``length`` if a silence follows it."""
        return max([self.length] + [int(v[:, 2].max()) for v in self.voices if len(v)])

    @property
    def n_notes(self) -> int:
        """Number of notes in all voices."""
        return sum(len(v) for v in self.voices)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Piece):
            return NotImplemented
        return (
            self.time_signature == other.time_signature
            and len(self.voices) == len(other.voices)
            and all(np.array_equal(_sorted(a), _sorted(b)) for a, b in zip(self.voices, other.voices))
        )

    def __repr__(self) -> str:
        return (
            f"Piece({len(self.voices)} voice{'' if len(self.voices) == 1 else 's'}, {self.n_notes} notes, {self.n_steps} steps, "
            f"{self.time_signature})"
        )


def _sorted(notes: np.ndarray) -> np.ndarray:
    return notes[np.lexsort((notes[:, 0], notes[:, 1]))] if len(notes) else notes


def _steps_per_bar(time_signature: str) -> int:
    try:
        numerator, denominator = (int(x) for x in time_signature.split("/"))
        steps = Fraction(numerator * 4 * STEPS_PER_QUARTER, denominator)
    except (ValueError, ZeroDivisionError, AttributeError):
        raise MusegenError(f"time signature {time_signature!r} is not of the form '3/4'") from None
    if steps.denominator != 1 or not 0 < steps <= 64:
        raise MusegenError(f"time signature {time_signature!r} does not fit the 16th-note grid")
    return int(steps)


# --------------------------------------------------------------------------------------------- pitches


def midi_to_hz(pitch: Any) -> Any:
    """Frequency of a MIDI pitch in equal temperament: ``440 * 2 ** ((pitch - 69) / 12)``.

    Taught in chapter 00, section 1 (pitch).

    >>> midi_to_hz(69), round(midi_to_hz(60), 2)
    (440.0, 261.63)
    """
    hz = 440.0 * 2.0 ** ((np.asarray(pitch, dtype=float) - 69) / 12)
    return hz if np.ndim(pitch) else float(hz)


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


def pitch_name(pitch: int) -> str:
    """The name of a MIDI pitch with sharps, octaves numbered as in scientific pitch notation (60 is C4).

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    >>> pitch_name(60), pitch_name(37)
    ('C4', 'C#2')
    """
    return ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"][pitch % 12] + str(
        pitch // 12 - 1
    )


_NOTE_TEXT = re.compile(
    r"^(?:(?P<letter>[A-Ga-g])(?P<accidental>#|b)?(?P<octave>-?\d)|(?P<rest>[Rr]))(?P<length>[whqes])(?P<dot>\.?)$"
)
_LENGTHS = {"w": 16, "h": 8, "q": 4, "e": 2, "s": 1}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_melody(text: str, *, time_signature: str = "4/4") -> Piece:
    """A one-voice :class:`Piece` from a short text such as ``"C4q D4q E4h | F#4q. G4e A4h"``.

    Taught in chapter 06, section 4 (harmonise your own melody).

    Each note is a pitch in scientific notation (``C4`` is middle C; ``#`` sharp, ``b`` flat) and a length:
    ``w`` whole, ``h`` half, ``q`` quarter, ``e`` eighth, ``s`` sixteenth, with ``.`` for a dotted one; ``r``
    and a length is a rest. ``|`` marks a bar line: every bar must then be full, but for a shorter first bar
    (a pickup, padded with silence in front so that step 0 stays a downbeat) and a shorter last one.

    >>> parse_melody("G4e A4e | B4q. C5e D5h").voices[0].tolist()
    [[67, 12, 14], [69, 14, 16], [71, 16, 22], [72, 22, 24], [74, 24, 32]]

    Raises
    ------
    MusegenError
        Naming the first word that is not a note or a rest, or the first bar of the wrong length.
    """
    bar = _steps_per_bar(time_signature)
    bars, notes = [[]], []
    for number, word in enumerate(text.split(), start=1):
        if word == "|":
            bars.append([])
            continue
        match = _NOTE_TEXT.match(word)
        if match is None:
            raise MusegenError(
                f"word {number}, {word[:20]!r}, is neither a note (a pitch such as C4, F#4 or Bb3, then a length "
                "w, h, q, e or s, with . for dotted: C4q, F#4h.) nor a rest (r and a length: rq)"
            )
        length = _LENGTHS[match["length"]] * (3 if match["dot"] else 2) // 2
        if match["dot"] and match["length"] == "s":
            raise MusegenError(f"word {number}, {word!r}: a dotted sixteenth is off the 16th-note grid")
        pitch = None
        if not match["rest"]:
            step = _LETTERS[match["letter"].upper()] + {"#": 1, "b": -1, None: 0}[match["accidental"]]
            pitch = 12 * (int(match["octave"]) + 1) + step
            if not 0 <= pitch <= 127:
                raise MusegenError(f"word {number}, {word!r}, is outside MIDI's pitches")
        bars[-1].append((pitch, length))
    bars = [b for b in bars if b] if len(bars) > 1 else bars
    if not any(pitch is not None for b in bars for pitch, _ in b):
        raise MusegenError("the text has no notes: write notes such as C4q D4q E4h")
    if len(bars) > 1:
        for index, content in enumerate(bars):
            total = sum(length for _, length in content)
            short_ok = index in (0, len(bars) - 1) and total < bar
            if total != bar and not short_ok:
                raise MusegenError(
                    f"bar {index + 1} lasts {Fraction(total, STEPS_PER_QUARTER)} quarter notes; a bar of "
                    f"{time_signature} has {Fraction(bar, STEPS_PER_QUARTER)}"
                )
    first = sum(length for _, length in bars[0])
    step = bar - first if len(bars) > 1 and first < bar else 0  # a pickup starts late in its bar
    for content in bars:
        for pitch, length in content:
            if pitch is not None:
                notes.append((pitch, step, step + length))
            step += length
    return Piece((np.array(notes, dtype=np.int64),), time_signature, length=step)


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


# ------------------------------------------------------------------------ notation, and any input


def chord_segments(notes: np.ndarray, n_steps: int, bar: int | None) -> list[tuple[int, int, list]]:
    """Cut a voice where anything changes (and at barlines): ``(start, end, [(pitch, tie_in, tie_out)])``.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    This makes any voice, even one with overlapping notes, a sequence of chords and rests tied together,
    which both music notation and Humdrum need.
    """
    sounding = np.zeros((n_steps + 1, 128), dtype=bool)
    onset = np.zeros((n_steps + 1, 128), dtype=bool)
    for pitch, start, end in notes:
        sounding[start:end, pitch] = True
        onset[start, pitch] = True
    change = np.zeros(n_steps, dtype=bool)
    change[0] = True
    change[1:] = (sounding[1:n_steps] != sounding[: n_steps - 1]).any(axis=1) | onset[1:n_steps].any(axis=1)
    if bar:
        change[::bar] = True
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n_steps)
    segments = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        chord = [
            (
                int(p),
                bool(start > 0 and sounding[start - 1, p] and not onset[start, p]),
                bool(sounding[end, p] and not onset[end, p]),
            )
            for p in np.flatnonzero(sounding[start])
        ]
        segments.append((start, end, chord))
    return segments


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
        from .music21_io import read

        return read(music)
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
        from .music21_io import stream_to_piece

        return stream_to_piece(music)
    raise MusegenError(f"cannot make music from a {type(music).__name__}")
