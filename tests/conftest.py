"""Shared fixtures: a small corpus of broken files made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musegen_widgets import encoding

GOOD_TOKENS = np.array(
    [encoding.REST, encoding.HOLD, encoding.HOLD, encoding.HOLD]
    + [encoding.pitch_to_token(67)]
    + [encoding.HOLD] * 3
    + [encoding.pitch_to_token(69), encoding.HOLD, encoding.pitch_to_token(71), encoding.HOLD]
    + [encoding.pitch_to_token(72)]
    + [encoding.HOLD] * 3
)


@pytest.fixture
def good_midi(tmp_path: Path) -> Path:
    return encoding.write_midi(GOOD_TOKENS, tmp_path / "good.mid")


@pytest.fixture
def bad_files(tmp_path: Path, good_midi: Path) -> dict[str, Path]:
    """Files a learner might really upload, each broken in its own way."""
    files = {
        "empty.mid": b"",
        "truncated.mid": good_midi.read_bytes()[:30],
        "not_midi.mid": b"This is a text file that someone renamed.\n" * 3,
        "malformed.musicxml": b"<?xml version='1.0'?><score-partwise><part-list><score-part id='P1'>",
        "no_notes.musicxml": encoding.musicxml_bytes(GOOD_TOKENS)
        .replace(b"<note", b"<!--note")
        .replace(b"</note>", b"</note-->"),
        "picture.png": b"\x89PNG\r\n\x1a\n",
    }
    files["absurd.mid"] = _midi_with_a_note_at(quarter=5000)  # a stray note two hours in
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    return paths


def _midi_with_a_note_at(quarter: float) -> bytes:
    import music21

    part = music21.stream.Part()
    part.insert(0, music21.note.Note("C4", quarterLength=1))
    part.insert(quarter, music21.note.Note("D4", quarterLength=1))
    return music21.midi.translate.streamToMidiFile(part).writestr()
