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
