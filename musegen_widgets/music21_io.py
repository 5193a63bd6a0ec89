"""Writing MIDI and MusicXML through music21 (chapter 00, section 7: bring your own music).

Every file the course writes comes from a :class:`~musegen_widgets.piece.Piece` through :func:`to_stream`,
so the writers take anything :func:`~musegen_widgets.encoding.to_piece` accepts (melody tokens, a piano
roll, a file). Reading is in :mod:`musegen_widgets.music21_reading`; its :func:`read`,
:func:`stream_to_piece` and file limits are re-exported here, so that one module reads and writes
(``music21_io.read(path)``). music21 is imported only when one of these functions runs.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from .encoding import to_piece
from .files import write_atomically
from .music21_reading import MAX_FILE_BYTES, MAX_FILE_NOTES, MAX_TRACKS, read, stream_to_piece
from .piece import STEPS_PER_QUARTER, MusicLike, chord_segments

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FILE_NOTES",
    "MAX_TRACKS",
    "read",
    "stream_to_piece",
    "to_stream",
    "midi_bytes",
    "musicxml_bytes",
    "write_midi",
    "write_musicxml",
]


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
