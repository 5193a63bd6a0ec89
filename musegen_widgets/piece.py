"""Notes on the 16th-note grid: the :class:`Piece` every other form of music converts through (chapter 00).

Everything in the course works on a 16th-note grid: ``STEPS_PER_QUARTER = 4`` steps per quarter note
(chapter 00, section 2), and step 0 is always a downbeat (a pickup bar is padded with silence at the front),
so that ``step % piece.steps_per_bar`` is the position in the bar.

A :class:`Piece` is a few voices, each an integer array of notes ``(pitch, start, end)`` in grid steps, plus
the time signature (section 4). Beside it lives what is about notes rather than arrays: the names and
frequencies of pitches (:func:`pitch_name`, :func:`midi_to_hz`, section 1), a melody typed as text
(:func:`parse_melody`, chapter 06) and the cutting of a voice into tied chords for notation
(:func:`chord_segments`). The arrays the models read are in :mod:`musegen_widgets.encoding`, which
re-exports all of this; files and music21 streams are read by :mod:`musegen_widgets.music21_reading`.

Examples
--------
>>> piece = parse_melody("G4q A4e B4e | C5h")  # a two-beat pickup: it starts at step 8 of 16
>>> piece.voices[0].tolist(), piece.steps_per_bar, pitch_name(72)
([[67, 8, 12], [69, 12, 14], [71, 14, 16], [72, 16, 24]], 16, 'C5')
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
    "Piece",
    "MusicLike",
    "midi_to_hz",
    "pitch_name",
    "parse_melody",
    "chord_segments",
]

STEPS_PER_QUARTER = 4
"""Grid resolution: a step is a 16th note."""
MAX_STEPS = 16 * 1024
"""Longest piece accepted (1,024 bars of 4/4): longer input is almost surely a broken file."""

MusicLike = Union["Piece", np.ndarray, Sequence[int], str, os.PathLike]
"""What every function that takes music accepts, under the one name ``music``: a :class:`Piece`, melody
tokens, a piano roll or frames (arrays), a music21 stream, or the path of a MIDI or MusicXML file. Each
becomes a :class:`Piece` through :func:`~musegen_widgets.encoding.to_piece`."""


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

    def first_bars(self, bars: int) -> Piece:
        """The piece's first ``bars`` bars (counted from step 0, a pickup's padded bar included): the notes
        that start in them, cut at the last bar line.

        Taught in chapter 06, section 6 (judging harmonisations), which measures eight bars of each chorale.

        >>> Piece(([[60, 0, 12], [62, 12, 24]],)).first_bars(1).voices[0].tolist()
        [[60, 0, 12], [62, 12, 16]]
        """
        end = bars * self.steps_per_bar
        voices = []
        for notes in self.voices:
            kept = np.array(notes[notes[:, 1] < end])
            kept[:, 2] = np.minimum(kept[:, 2], end)
            voices.append(kept)
        return Piece(tuple(voices), self.time_signature, title=self.title, length=min(end, self.n_steps))

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


# ----------------------------------------------------------------------------------------- notation


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
