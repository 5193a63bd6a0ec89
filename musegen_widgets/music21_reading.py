"""Reading MIDI and MusicXML files through music21, safely (chapter 00, section 7: bring your own music).

Every file the course reads becomes a :class:`~musegen_widgets.piece.Piece` through :func:`read`, and every
music21 stream through :func:`stream_to_piece`. A learner's file may be anything, so before music21 sees it
its bytes are checked, in milliseconds: a MIDI file's tracks, notes and length are counted from its bytes,
and a MusicXML file's notes (an ``.mxl`` is unpacked first, within :data:`MAX_FILE_BYTES`); a file over a
limit (:data:`MAX_FILE_BYTES`, :data:`MAX_FILE_NOTES`, :data:`MAX_TRACKS`,
:data:`~musegen_widgets.piece.MAX_STEPS`) is refused with a message that names it and the limit, instead of
music21 taking minutes over it. music21 is imported only when one of these functions runs.
:mod:`musegen_widgets.music21_io` writes files, and re-exports what this module defines.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import MusegenError
from .piece import MAX_STEPS, STEPS_PER_QUARTER, Piece

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FILE_NOTES",
    "MAX_TRACKS",
    "read",
    "stream_to_piece",
]

_MIDI_SUFFIXES = {".mid", ".midi"}
_MUSICXML_SUFFIXES = {".xml", ".musicxml", ".mxl"}

MAX_FILE_BYTES = 4_000_000
"""Largest file :func:`read` opens (and, for ``.mxl``, largest unpacked score): a chorale is 5-50 kB."""
MAX_FILE_NOTES = 10_000
"""Most notes :func:`read` accepts in a file (a chorale has about 600). music21 takes about 5 s to read this
many and grows faster than the count, so more is refused before it starts."""
MAX_TRACKS = 64
"""Most tracks (MIDI) :func:`read` accepts in a file: each becomes a voice, and a staff of the score."""

_SHORTEN = "keep fewer bars or voices in your notation program and export again"


def read(path: str | os.PathLike, *, on_grid: bool = False) -> Piece:
    """Read a MIDI or MusicXML file into a :class:`Piece`.

    Taught in chapter 00, section 7 (bring your own music). Notes off the 16th-note grid (triplets, say)
    are moved to the nearest step, unless ``on_grid``: then they are an error (chapter 06's harmoniser,
    whose model knows only the grid, asks for that).

    Raises
    ------
    MusegenError
        If the file is missing, a folder, empty, truncated, not music or has no notes, or if it is larger
        than :data:`MAX_FILE_BYTES`, has more notes than :data:`MAX_FILE_NOTES`, more tracks than
        :data:`MAX_TRACKS` or lasts longer than :data:`~musegen_widgets.piece.MAX_STEPS`: refused before
        music21 reads it, in milliseconds. The message names the file, and the limit.
    """
    import music21

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _MIDI_SUFFIXES | _MUSICXML_SUFFIXES:
        raise MusegenError(
            "only MIDI (.mid, .midi) and MusicXML (.xml, .musicxml, .mxl) files are read", path
        )
    data = _read_bytes(path)
    if suffix in _MIDI_SUFFIXES:
        _check_midi(data, path)
    else:
        data = _check_musicxml(data, path, packed=suffix == ".mxl")
    try:
        if suffix in _MIDI_SUFFIXES:
            stream = music21.midi.translate.midiStringToStream(data)
        else:
            stream = music21.converter.parseData(data, format="musicxml")
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


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, read once (a file that grows meanwhile is read as it was, up to the limit)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MusegenError("no such file", path) from None
    except OSError as error:  # a symbolic link to itself, a folder without permission, ...
        raise MusegenError(f"cannot be opened ({error.strerror or error})", path) from None
    if stat.S_ISDIR(info.st_mode):
        raise MusegenError("is a folder, not a file: choose a MIDI or MusicXML file in it", path)
    if not stat.S_ISREG(info.st_mode):
        raise MusegenError("is not a regular file (a pipe or a device?): save the music to a file", path)
    if info.st_size == 0:
        raise MusegenError("the file is empty", path)
    too_big = f"the file is larger than the {MAX_FILE_BYTES:,} bytes the course reads: {_SHORTEN}"
    if info.st_size > MAX_FILE_BYTES:
        raise MusegenError(too_big, path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise MusegenError(f"cannot be read ({error.strerror or error})", path) from None
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise MusegenError(too_big, path)
    if not data:
        raise MusegenError("the file is empty", path)
    return data


def _variable_length(data: bytes, i: int) -> tuple[int, int]:
    """The MIDI variable-length number at ``data[i]`` (7 bits a byte, high bit set on all but the last), and
    the position after it."""
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i


def _midi_summary(data: bytes) -> tuple[int, int, int, int]:
    """Tracks, notes (note-ons), the longest track in ticks and the ticks per quarter note of a standard
    MIDI file, from its bytes without music21 (which takes minutes over some files that this reads in
    milliseconds). Raises ``ValueError`` where the bytes are not a MIDI file's."""
    if data[:4] != b"MThd" or len(data) < 14:
        raise ValueError("no MIDI header")
    division = int.from_bytes(data[12:14], "big")
    if division & 0x8000:
        raise ValueError("SMPTE time (frames per second, not ticks per quarter note) is not supported")
    position, tracks, notes, longest = 8 + int.from_bytes(data[4:8], "big"), 0, 0, 0
    while position + 8 <= len(data):
        kind, size = data[position : position + 4], int.from_bytes(data[position + 4 : position + 8], "big")
        position += 8
        end = position + size
        if end > len(data):
            raise ValueError("a track is cut short")
        if kind == b"MTrk":
            tracks += 1
            ticks, running, i = 0, 0, position
            while i < end:
                delta, i = _variable_length(data, i)
                ticks += delta
                status = data[i]
                if status < 0x80:  # running status: the last status again, this byte is data
                    status = running
                else:
                    i += 1
                if status in (0xFF, 0xF0, 0xF7):  # meta or system exclusive: skip its length
                    if status == 0xFF:
                        i += 1
                    length, i = _variable_length(data, i)
                    i += length
                    continue
                running = status
                if status & 0xF0 == 0x90 and data[i + 1] > 0:
                    notes += 1
                i += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
            longest = max(longest, ticks)
        position = end
    return tracks, notes, longest, division


def _check_midi(data: bytes, path: Path) -> None:
    """Refuse, before music21 reads it, a MIDI file too long, too full or with too many tracks."""
    if data[:4] != b"MThd":
        raise MusegenError("not a MIDI file (it does not start with 'MThd')", path)
    try:
        tracks, notes, ticks, per_quarter = _midi_summary(data)
    except (ValueError, IndexError) as error:
        raise MusegenError(f"cannot be read as MIDI ({error or 'cut short'})", path) from None
    if tracks > MAX_TRACKS:
        raise MusegenError(
            f"{tracks:,} tracks, more than the {MAX_TRACKS} the course reads: {_SHORTEN}", path
        )
    if notes > MAX_FILE_NOTES:
        raise MusegenError(
            f"{notes:,} notes, more than the {MAX_FILE_NOTES:,} the course reads: {_SHORTEN}", path
        )
    steps = ticks * STEPS_PER_QUARTER // max(per_quarter, 1)
    if steps > MAX_STEPS:
        raise MusegenError(
            f"its last event comes {ticks / max(per_quarter, 1):,.0f} quarter notes in ({steps:,} sixteenth "
            f"steps), longer than the {MAX_STEPS:,} the course accepts: a stray event far after the music "
            f"(an absurd delta time) is the usual cause; {_SHORTEN}",
            path,
        )


def _check_musicxml(data: bytes, path: Path, *, packed: bool) -> bytes:
    """The score's XML (unpacked from an ``.mxl``), refused if too large or too full for music21."""
    if packed:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                scores = [
                    entry
                    for entry in archive.infolist()
                    if entry.filename.lower().endswith((".xml", ".musicxml"))
                    and not entry.filename.startswith("META-INF")
                ]
                if not scores:
                    raise MusegenError("the .mxl archive holds no MusicXML score", path)
                if scores[0].file_size > MAX_FILE_BYTES:
                    raise MusegenError(
                        f"its score unpacks to {scores[0].file_size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                        f"the course reads: {_SHORTEN}",
                        path,
                    )
                data = archive.read(scores[0])
        except (zipfile.BadZipFile, OSError) as error:
            raise MusegenError(f"cannot be read as a packed MusicXML (.mxl) file ({error})", path) from None
    notes = data.count(b"<note>") + data.count(b"<note ")
    if notes > MAX_FILE_NOTES:
        raise MusegenError(
            f"{notes:,} notes, more than the {MAX_FILE_NOTES:,} the course reads: {_SHORTEN}", path
        )
    return data


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
