"""Reading and writing MIDI and MusicXML through music21 (chapter 00, section 7: bring your own music).

Every file the course reads becomes a :class:`~musegen_widgets.encoding.Piece` through :func:`read`, and
every file it writes comes from one through :func:`to_stream`. music21 is imported only here, and only when
one of these functions runs.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from .encoding import STEPS_PER_QUARTER, MusicLike, Piece, chord_segments, to_piece
from .errors import MusegenError
from .files import write_atomically

__all__ = [
    "read",
    "stream_to_piece",
    "to_stream",
    "midi_bytes",
    "musicxml_bytes",
    "write_midi",
    "write_musicxml",
]

_MIDI_SUFFIXES = {".mid", ".midi"}
_MUSICXML_SUFFIXES = {".xml", ".musicxml", ".mxl"}


def read(path: str | os.PathLike, *, on_grid: bool = False) -> Piece:
    """Read a MIDI or MusicXML file into a :class:`Piece`.

    Taught in chapter 00, section 7 (bring your own music). Notes off the 16th-note grid (triplets, say)
    are moved to the nearest step, unless ``on_grid``: then they are an error (chapter 06's harmoniser,
    whose model knows only the grid, asks for that).

    Raises
    ------
    MusegenError
        If the file is missing, empty, truncated, not music, or has no notes; the message names the file.
    """
    import music21

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _MIDI_SUFFIXES | _MUSICXML_SUFFIXES:
        raise MusegenError(
            "only MIDI (.mid, .midi) and MusicXML (.xml, .musicxml, .mxl) files are read", path
        )
    if not path.is_file():
        raise MusegenError("no such file", path)
    if path.stat().st_size == 0:
        raise MusegenError("the file is empty", path)
    if suffix in _MIDI_SUFFIXES and path.read_bytes()[:4] != b"MThd":
        raise MusegenError("not a MIDI file (it does not start with 'MThd')", path)
    try:
        stream = music21.converter.parse(path, format="midi" if suffix in _MIDI_SUFFIXES else "musicxml")
        piece = stream_to_piece(stream, on_grid=on_grid)
    except MusegenError as error:
        raise MusegenError(str(error), path) from None
    except Exception as error:  # music21 raises many types for broken files
        raise MusegenError(
            f"cannot be read as {'MIDI' if suffix in _MIDI_SUFFIXES else 'MusicXML'} "
            f"({type(error).__name__}: {error})",
            path,
        ) from None
    if piece.n_notes == 0:
        raise MusegenError("the file has no notes", path)
    title = stream.metadata.title if stream.metadata is not None and stream.metadata.title else path.stem
    return Piece(piece.voices, piece.time_signature, title, piece.length)


def _pickup_quarters(part) -> Fraction:
    """Quarter notes missing from an incomplete first bar (a pickup), to pad at the front."""
    measures = part.getElementsByClass("Measure")
    if not measures:
        return Fraction(0)
    first = measures[0]
    if first.paddingLeft:
        return Fraction(first.paddingLeft)
    missing = Fraction(first.barDuration.quarterLength) - Fraction(first.duration.quarterLength)
    return missing if first.number == 0 and missing > 0 else Fraction(0)


def stream_to_piece(stream, *, on_grid: bool = False) -> Piece:
    """The notes of a music21 stream on the 16th grid: one voice per part, a pickup padded to a full bar.

    Taught in chapter 00, section 7 (bring your own music). With ``on_grid``, a note that starts or ends off
    the grid raises :class:`MusegenError` instead of moving to the nearest step.
    """
    import music21

    signatures = list(stream.recurse().getElementsByClass(music21.meter.TimeSignature))
    time_signature = signatures[0].ratioString if signatures else "4/4"
    parts = list(stream.getElementsByClass(music21.stream.Part)) or [stream]
    pad = _pickup_quarters(parts[0]) if parts else Fraction(0)
    voices = []
    for part in parts:
        notes = []
        for element in part.stripTies(inPlace=False).flatten().notes:
            length = Fraction(element.duration.quarterLength)
            if element.duration.isGrace or length == 0:
                continue
            onset = pad + Fraction(element.offset)
            if on_grid and (
                (onset * STEPS_PER_QUARTER).denominator != 1 or (length * STEPS_PER_QUARTER).denominator != 1
            ):
                raise MusegenError(
                    f"the note {element.pitches[0].nameWithOctave if element.pitches else ''} at quarter note "
                    f"{float(onset - pad):g} is off the 16th-note grid (a triplet or a finer rhythm): quantise the "
                    "file to sixteenths in your notation program, or type the melody instead"
                )
            start = round(onset * STEPS_PER_QUARTER)
            end = max(round((onset + length) * STEPS_PER_QUARTER), start + 1)
            for pitch in element.pitches:
                notes.append((pitch.midi, start, end))
        voices.append(
            np.array(sorted(notes, key=lambda n: (n[1], n[0], n[2])), dtype=np.int64).reshape(-1, 3)
        )
    voices = [v for v in voices if len(v)] or voices[:1]
    length = round((pad + Fraction(stream.highestTime)) * STEPS_PER_QUARTER)
    return Piece(tuple(voices), time_signature, length=length)


def to_stream(music: MusicLike, *, time_signature: str | None = None):
    """A music21 score (one part per voice, with measures) for anything :func:`to_piece` accepts.

    Taught in chapter 00, section 7 (bring your own music).
    """
    import music21

    piece = to_piece(music, time_signature=time_signature)
    score = music21.stream.Score()
    if piece.title:
        score.insert(0, music21.metadata.Metadata(title=piece.title))
    for notes in piece.voices:
        part = music21.stream.Part()
        part.insert(0, music21.meter.TimeSignature(piece.time_signature))
        for start, end, chord in chord_segments(notes, piece.n_steps, piece.steps_per_bar):
            length = Fraction(end - start, STEPS_PER_QUARTER)
            if not chord:
                element = music21.note.Rest(quarterLength=length)
            else:
                element = (
                    music21.note.Note(chord[0][0], quarterLength=length)
                    if len(chord) == 1
                    else music21.chord.Chord([p for p, _, _ in chord], quarterLength=length)
                )
                tie_in = any(t for _, t, _ in chord)
                tie_out = any(t for _, _, t in chord)
                if tie_in or tie_out:
                    kind = "continue" if tie_in and tie_out else ("stop" if tie_in else "start")
                    element.tie = music21.tie.Tie(kind)
            part.insert(Fraction(start, STEPS_PER_QUARTER), element)
        score.insert(0, part)
    score.makeNotation(inPlace=True)
    return score


def midi_bytes(music: MusicLike, *, time_signature: str | None = None, tempo: float = 90.0) -> bytes:
    """A standard MIDI file (bytes) for anything :func:`~musegen_widgets.encoding.to_piece` accepts, at
    ``tempo`` quarter notes per minute; ``time_signature`` for arrays, which carry none (default 4/4).

    Taught in chapter 00, section 7 (bring your own music).
    """
    import music21

    score = to_stream(music, time_signature=time_signature)
    score.parts[0].insert(0, music21.tempo.MetronomeMark(number=tempo))
    return music21.midi.translate.streamToMidiFile(score).writestr()


def musicxml_bytes(music: MusicLike, *, time_signature: str | None = None) -> bytes:
    """A MusicXML document (bytes) for anything :func:`~musegen_widgets.encoding.to_piece` accepts;
    ``time_signature`` as in :func:`midi_bytes`.

    Taught in chapter 00, section 7 (bring your own music).
    """
    import music21

    return music21.musicxml.m21ToXml.GeneralObjectExporter().parse(
        to_stream(music, time_signature=time_signature)
    )


def write_midi(
    music: MusicLike, path: str | os.PathLike, *, time_signature: str | None = None, tempo: float = 90.0
) -> Path:
    """Write a MIDI file atomically (to a temporary file, then renamed); returns the path.

    Taught in chapter 00, section 7 (bring your own music).
    """
    return write_atomically(path, midi_bytes(music, time_signature=time_signature, tempo=tempo))


def write_musicxml(music: MusicLike, path: str | os.PathLike, *, time_signature: str | None = None) -> Path:
    """Write a MusicXML file atomically (to a temporary file, then renamed); returns the path.

    Taught in chapter 00, section 7 (bring your own music).
    """
    return write_atomically(path, musicxml_bytes(music, time_signature=time_signature))
