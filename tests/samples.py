"""Small musical examples shared by the tests."""

import datetime

from musegen_widgets import encoding

import numpy as np

GOOD_TOKENS = np.array(
    [encoding.REST, encoding.HOLD, encoding.HOLD, encoding.HOLD]
    + [encoding.pitch_to_token(67)]
    + [encoding.HOLD] * 3
    + [encoding.pitch_to_token(69), encoding.HOLD, encoding.pitch_to_token(71), encoding.HOLD]
    + [encoding.pitch_to_token(72)]
    + [encoding.HOLD] * 3
)


def upload(name: str, content: bytes) -> dict:
    """What ipywidgets' FileUpload holds after a user picks a file."""
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }


def sine_soundfont(sample_rate: int = 44100, frequency: float = 441.0) -> bytes:
    """A minimal SoundFont 2 file: one looped sine wave as preset 0, recorded as MIDI key 69 (A4).

    441 Hz at 44.1 kHz is exactly 100 samples a period, so the loop is seamless; the sample is thus 4 cents
    sharp of A4, which is fine for telling a SoundFont's sound from the numpy synthesizer's.
    """
    import struct

    samples = np.round(20000 * np.sin(2 * np.pi * frequency * np.arange(4000) / sample_rate)).astype("<i2")
    sample_data = samples.tobytes() + bytes(2 * 46)  # the format asks for 46 zero samples after each sample

    def chunk(tag: bytes, data: bytes) -> bytes:
        return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")

    def riff_list(kind: bytes, *chunks: bytes) -> bytes:
        return chunk(b"LIST", kind + b"".join(chunks))

    def name(text: str) -> bytes:
        return text.encode().ljust(20, b"\0")

    info = riff_list(
        b"INFO",
        chunk(b"ifil", struct.pack("<HH", 2, 1)),
        chunk(b"isng", b"EMU8000\0"),
        chunk(b"INAM", b"sine\0\0"),
    )
    sdta = riff_list(b"sdta", chunk(b"smpl", sample_data))
    phdr = struct.pack("<20sHHHIII", name("Sine"), 0, 0, 0, 0, 0, 0) + struct.pack(
        "<20sHHHIII", name("EOP"), 0, 0, 1, 0, 0, 0
    )
    pbag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0)
    pmod = bytes(10)
    pgen = struct.pack("<HH", 41, 0) + bytes(4)  # instrument 0
    inst = struct.pack("<20sH", name("Sine"), 0) + struct.pack("<20sH", name("EOI"), 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 2, 0)
    imod = bytes(10)
    igen = struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) + bytes(4)  # loop continuously; sample 0
    shdr = struct.pack(
        "<20sIIIIIBbHH", name("sine"), 0, len(samples), 100, len(samples) - 100, sample_rate, 69, 0, 0, 1
    )
    shdr += struct.pack("<20sIIIIIBbHH", name("EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    pdta = riff_list(
        b"pdta",
        chunk(b"phdr", phdr),
        chunk(b"pbag", pbag),
        chunk(b"pmod", pmod),
        chunk(b"pgen", pgen),
        chunk(b"inst", inst),
        chunk(b"ibag", ibag),
        chunk(b"imod", imod),
        chunk(b"igen", igen),
        chunk(b"shdr", shdr),
    )
    body = b"sfbk" + info + sdta + pdta
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ------------------------------------------------------------------ files too big, too long or too odd to read


def _vlq(number: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, high bit set on all but the last)."""
    out = [number & 0x7F]
    number >>= 7
    while number:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    return bytes(reversed(out))


def midi_file(tracks: list[bytes], ticks_per_quarter: int = 480) -> bytes:
    """A type-1 standard MIDI file of the given track bodies (an end-of-track event is added to each)."""
    import struct

    chunks = b"".join(
        b"MTrk" + struct.pack(">I", len(body) + 4) + body + b"\x00\xff\x2f\x00" for body in tracks
    )
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), ticks_per_quarter) + chunks


def midi_notes(pitches, *, quarter: int = 480, gap: int = 0) -> bytes:
    """A track body of quarter notes, one after another, with ``gap`` ticks of silence before each."""
    return b"".join(
        _vlq(gap) + bytes([0x90, pitch, 64]) + _vlq(quarter) + bytes([0x80, pitch, 64]) for pitch in pitches
    )


def oversized_music(folder) -> dict[str, tuple[object, str]]:
    """Files that would make music21 or the synthesizer run for minutes, or that are not files at all:
    name -> (path, what the error says). Shared by the tests and ``benchmarks/bench_bad_files.py``."""
    import os
    import struct
    from pathlib import Path

    from musegen_widgets import music21_io

    folder = Path(folder)
    cases = {
        # one note, then one 16 hours later (the largest delta time a MIDI file can hold, 2**28 - 1 ticks)
        "delta_time_of_hours.mid": (
            midi_file([midi_notes([60]) + midi_notes([62], gap=2**28 - 1)]),
            "delta time",
        ),
        # a tempo of one quarter note per 16.8 s (the slowest MIDI can say) over two notes: the course plays
        # at its own tempo, so this reads, and fast
        "absurd_tempo.mid": (
            midi_file([b"\x00\xff\x51\x03\xff\xff\xff" + midi_notes([60, 62])]),
            None,
        ),
        "thousands_of_tracks.mid": (
            midi_file([midi_notes([60])] * 5000),
            f"5,000 tracks, more than the {music21_io.MAX_TRACKS}",
        ),
        "too_many_notes.mid": (
            midi_file([midi_notes([48 + i % 24 for i in range(music21_io.MAX_FILE_NOTES + 1)], quarter=1)]),
            f"more than the {music21_io.MAX_FILE_NOTES:,}",
        ),
        "smpte_time.mid": (
            midi_file([midi_notes([60])])[:12]
            + struct.pack(">h", -25 * 256 + 40)
            + midi_file([midi_notes([60])])[14:],
            "SMPTE",
        ),
        "huge.mid": (b"MThd" + bytes(music21_io.MAX_FILE_BYTES), "larger than the 4,000,000 bytes"),
        "too_many_notes.musicxml": (
            b"<?xml version='1.0'?><score-partwise>"
            + b"<note></note>" * (music21_io.MAX_FILE_NOTES + 1)
            + b"</score-partwise>",
            f"more than the {music21_io.MAX_FILE_NOTES:,}",
        ),
    }
    made = {}
    for name, (content, message) in cases.items():
        (folder / name).write_bytes(content)
        made[name] = (folder / name, message)
    (folder / "a_folder.mid").mkdir()
    made["a_folder.mid"] = (folder / "a_folder.mid", "is a folder")
    os.symlink(folder / "loop_b.mid", folder / "loop_a.mid")
    os.symlink(folder / "loop_a.mid", folder / "loop_b.mid")
    made["loop_a.mid"] = (folder / "loop_a.mid", "cannot be opened")
    os.mkfifo(folder / "pipe.mid")
    made["pipe.mid"] = (folder / "pipe.mid", "not a regular file")
    (folder / "zero.mid").write_bytes(b"")
    made["zero.mid"] = (folder / "zero.mid", "empty")
    return made
