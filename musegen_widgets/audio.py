"""Hearing music in a notebook: a small numpy synthesizer (chapter 00).

music21 plays MIDI in a notebook through a JavaScript player and a SoundFont fetched from the web, so
offline or on Binder nothing sounds. Here every note is synthesized in numpy from its frequency
``440 * 2 ** ((pitch - 69) / 12)`` (:func:`musegen_widgets.piece.midi_to_hz`): a few harmonics read
from a band-limited wavetable, shaped by an attack-decay-release envelope so that notes start and stop
without clicks. Voices are mixed and the mix is normalised below full scale, so nothing clips.

A note of the same pitch and length sounds the same every time, so rendered notes are cached: a chorale
synthesizes hundreds of times faster than it plays (see ``benchmarks/README.md``).

A SoundFont is never required, but one sounds better. If you have an ``.sf2``/``.sf3`` file and the optional
package tinysoundfont (``pip install --no-deps tinysoundfont``; without ``--no-deps`` pip also builds PyAudio,
which we do not need), pass ``soundfont=PATH`` or set the environment variable ``MUSEGEN_SOUNDFONT`` (in a
notebook: ``%env MUSEGEN_SOUNDFONT=PATH``), and every player of the course, ``ScoreView``'s included, sings
the voices with its General MIDI choir (or its first instrument).
"""

from __future__ import annotations

import functools
import io
import os
import wave
from pathlib import Path

import numpy as np

from .encoding import to_piece
from .errors import MusegenError
from .piece import STEPS_PER_QUARTER, MusicLike, midi_to_hz

__all__ = [
    "SAMPLE_RATE",
    "MAX_SECONDS",
    "HARMONICS",
    "SOUNDFONT_VARIABLE",
    "synthesize",
    "wav_bytes",
    "mp3_bytes",
    "wav_from_samples",
    "mp3_from_samples",
    "player",
]

SAMPLE_RATE = 22050
"""Samples per second: enough for the chorales' range with their harmonics, and small inline."""
MAX_SECONDS = 600
"""Longest sound :func:`synthesize` makes (ten minutes: about 50 MB of samples; a chorale lasts one or two)."""
HARMONICS = (1.0, 0.45, 0.25, 0.12, 0.06, 0.03)
"""Amplitude of harmonics 1, 2, 3, ...: a soft, organ-like tone."""
_TABLE_SIZE = 4096
_ATTACK = 0.012  # seconds
_DECAY = 0.35  # seconds for the level to fall towards the sustain level
_SUSTAIN = 0.55
_RELEASE = 0.06  # seconds after the note's end
_PEAK = 0.89  # normalise the mix to this, comfortably below clipping
SOUNDFONT_VARIABLE = "MUSEGEN_SOUNDFONT"
"""The environment variable that names a SoundFont file to play with instead of the numpy synthesizer."""
_CHOIR = 52  # General MIDI program 53, "Choir Aahs" (numbered from 0 here)
_SOUNDFONT_RELEASE = 0.5  # seconds after the last note: SoundFont instruments ring longer


@functools.lru_cache(maxsize=128)
def _wavetable(pitch: int, sample_rate: int) -> np.ndarray:
    """One period of the tone, with only the harmonics below the Nyquist frequency (no aliasing)."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = np.zeros(_TABLE_SIZE)
    for k, amplitude in enumerate(HARMONICS, start=1):
        if k * midi_to_hz(pitch) < sample_rate / 2:
            table += amplitude * np.sin(2 * np.pi * k * phase)
    return table / np.abs(table).max()


@functools.lru_cache(maxsize=4096)
def _note(pitch: int, n_samples: int, sample_rate: int) -> np.ndarray:
    """One note, ``n_samples`` long plus its release tail; read-only because it is shared."""
    total = n_samples + int(_RELEASE * sample_rate)
    t = np.arange(total) / sample_rate
    index = (t * (midi_to_hz(pitch) * _TABLE_SIZE)).astype(np.int64) % _TABLE_SIZE
    envelope = _SUSTAIN + (1 - _SUSTAIN) * np.exp(-t / _DECAY)
    envelope *= np.minimum(t / _ATTACK, 1.0)
    held = n_samples / sample_rate
    envelope[n_samples:] *= np.maximum(1 - (t[n_samples:] - held) / _RELEASE, 0.0)
    # a quieter, brighter top and a softer bass, as a choir would balance them
    loudness = 1.0 - 0.006 * abs(pitch - 64)
    note = (_wavetable(pitch, sample_rate)[index] * envelope * loudness).astype(np.float32)
    note.flags.writeable = False
    return note


def synthesize(
    music: MusicLike,
    *,
    time_signature: str | None = None,
    tempo: float = 90.0,
    sample_rate: int = SAMPLE_RATE,
    soundfont: str | os.PathLike | None = None,
) -> np.ndarray:
    """The sound of a piece as float32 samples in [-1, 1].

    Taught in chapter 00, section 1 (pitch).

    Parameters
    ----------
    music
        Anything :func:`musegen_widgets.encoding.to_piece` accepts (tokens, roll, frames, stream, file).
    tempo
        Quarter notes per minute.
    sample_rate
        Samples per second.
    time_signature
        For arrays, which carry none.
    soundfont
        A SoundFont file to play with (needs tinysoundfont). ``None``: the file named by the environment
        variable ``MUSEGEN_SOUNDFONT`` if it is set, else the numpy synthesizer.

    Raises
    ------
    MusegenError
        For a tempo or sample rate out of range, music that would sound longer than :data:`MAX_SECONDS`
        (before any sound is made), and for a SoundFont that is missing, unreadable, has no
        instrument, or cannot be played because tinysoundfont is not installed; the message names the file.

    Examples
    --------
    >>> from musegen_widgets.encoding import Piece
    >>> samples = synthesize(Piece(([[69, 0, 4]],)), tempo=60)  # one quarter note: one second
    >>> len(samples) / SAMPLE_RATE > 1.0, float(np.abs(samples).max()) <= 0.89 + 1e-6
    (True, True)
    """
    if not 10 <= tempo <= 400:
        raise MusegenError(f"tempo {tempo} is not between 10 and 400 quarter notes per minute")
    if not 8000 <= sample_rate <= 96000:
        raise MusegenError(f"sample rate {sample_rate} is not between 8000 and 96000")
    if soundfont is None:
        soundfont = os.environ.get(SOUNDFONT_VARIABLE) or None
    piece = to_piece(music, time_signature=time_signature)
    seconds_per_step = 60.0 / tempo / STEPS_PER_QUARTER
    if piece.n_steps * seconds_per_step > MAX_SECONDS:
        raise MusegenError(
            f"{piece.title or 'the music'} would sound for {piece.n_steps * seconds_per_step / 60:,.1f} minutes at "
            f"{tempo:g} quarter notes per minute, longer than the {MAX_SECONDS // 60} the course plays: play a "
            f"part of it (a Piece's notes before step {int(MAX_SECONDS / seconds_per_step)}) or a faster tempo"
        )
    release = _RELEASE if soundfont is None else _SOUNDFONT_RELEASE
    length = int(round(piece.n_steps * seconds_per_step * sample_rate)) + int(release * sample_rate) + 1
    if soundfont is not None:
        mix = _play_soundfont(piece, Path(soundfont), seconds_per_step, sample_rate, length)
    else:
        mix = np.zeros(length, dtype=np.float32)
        for notes in piece.voices:
            for pitch, start, end in notes.tolist():
                first = int(round(start * seconds_per_step * sample_rate))
                last = int(round(end * seconds_per_step * sample_rate))
                sound = _note(pitch, last - first, sample_rate)
                mix[first : first + len(sound)] += sound
    peak = float(np.abs(mix).max())
    if peak > 0:
        mix *= _PEAK / peak
    return mix


@functools.lru_cache(maxsize=2)
def _soundfont_synth(path: str, modified: float, sample_rate: int):
    """A tinysoundfont synthesizer with the SoundFont loaded, and the preset to play (cached per file)."""
    try:
        import tinysoundfont
    except ImportError:
        raise MusegenError(
            "playing a SoundFont needs the optional package tinysoundfont (pip install --no-deps tinysoundfont)",
            path,
        ) from None
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    try:
        soundfont_id = synth.sfload(path)
    except Exception:  # tinysoundfont reports any unreadable file with its own exception, naming no cause
        raise MusegenError("not a SoundFont file that tinysoundfont can read", path) from None
    presets = [_CHOIR] + [p for p in range(128) if p != _CHOIR]
    for preset in presets:
        try:
            if synth.sfpreset_name(soundfont_id, 0, preset) is not None:
                return synth, soundfont_id, preset
        except RuntimeError:
            continue
    raise MusegenError("the SoundFont has no instrument in bank 0", path)


def _play_soundfont(piece, path: Path, seconds_per_step: float, sample_rate: int, length: int) -> np.ndarray:
    """Play every voice on its own channel, one event after another, mixed to mono."""
    if not path.is_file():
        raise MusegenError("no such SoundFont file", path)
    if len(piece.voices) > 16:
        raise MusegenError(f"a SoundFont plays at most 16 voices, this piece has {len(piece.voices)}", path)
    synth, soundfont_id, preset = _soundfont_synth(str(path), path.stat().st_mtime, sample_rate)
    events = []  # (sample, 0 = off before 1 = on, channel, pitch)
    for channel, notes in enumerate(piece.voices):
        synth.program_select(channel, soundfont_id, 0, preset)
        for pitch, start, end in notes.tolist():
            events.append((int(round(start * seconds_per_step * sample_rate)), 1, channel, pitch))
            events.append((int(round(end * seconds_per_step * sample_rate)), 0, channel, pitch))
    events.append((length, 0, 0, -1))  # the end of the release
    mix = np.zeros(length, dtype=np.float32)
    position = 0
    try:
        for sample, on, channel, pitch in sorted(events):
            if sample > position:
                stereo = np.frombuffer(synth.generate(sample - position), dtype=np.float32)
                mix[position:sample] = stereo.reshape(-1, 2).mean(axis=1)
                position = sample
            if pitch < 0:
                break
            if on:
                synth.noteon(channel, pitch, 90)
            else:
                synth.noteoff(channel, pitch)
    finally:
        synth.sounds_off()  # the synthesizer is cached: leave nothing sounding for the next piece
    return mix


def wav_bytes(
    music: MusicLike,
    *,
    time_signature: str | None = None,
    tempo: float = 90.0,
    sample_rate: int = SAMPLE_RATE,
    soundfont: str | os.PathLike | None = None,
) -> bytes:
    """A mono 16-bit WAV file (bytes) of :func:`synthesize`'s output, for players and downloads.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    >>> from musegen_widgets.encoding import Piece
    >>> wav_bytes(Piece(([[60, 0, 4]],)))[:4]
    b'RIFF'
    """
    samples = synthesize(
        music, time_signature=time_signature, tempo=tempo, sample_rate=sample_rate, soundfont=soundfont
    )
    return wav_from_samples(samples, sample_rate)


def wav_from_samples(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit WAV file (bytes) of samples in [-1, 1], such as :func:`synthesize` makes: what
    :func:`wav_bytes` does after the synthesis, for sound already synthesized.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    >>> wav_from_samples(np.zeros(100, np.float32))[:4]
    b'RIFF'
    """
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(np.round(samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def mp3_bytes(
    music: MusicLike,
    *,
    time_signature: str | None = None,
    tempo: float = 90.0,
    soundfont: str | os.PathLike | None = None,
) -> bytes:
    """An MP3 file (bytes) of :func:`synthesize`'s output: about 25 kbit/s, a tenth of :func:`wav_bytes`, for
    sound that is saved in a notebook and played without a kernel.

    Taught in chapter 00, section 4 (seeing and hearing a chorale). Encoded by libsndfile's LAME (the
    ``soundfile`` package), variable bit rate at compression level 0.7; every browser plays it.

    >>> from musegen_widgets.encoding import Piece
    >>> mp3_bytes(Piece(([[60, 0, 4]],)))[:2].hex()  # an MPEG-2 layer III frame (22,050 Hz)
    'fff3'
    """
    return mp3_from_samples(
        synthesize(music, time_signature=time_signature, tempo=tempo, soundfont=soundfont)
    )


def mp3_from_samples(samples: np.ndarray) -> bytes:
    """An MP3 file (bytes) of samples in [-1, 1] at :data:`SAMPLE_RATE`, such as :func:`synthesize` makes:
    what :func:`mp3_bytes` does after the synthesis, for sound already synthesized.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    >>> mp3_from_samples(np.zeros(2205, np.float32))[:2].hex()
    'fff3'
    """
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(
        buffer, samples, SAMPLE_RATE, format="MP3", subtype="MPEG_LAYER_III", compression_level=0.7
    )
    return buffer.getvalue()


def player(
    music: MusicLike,
    *,
    time_signature: str | None = None,
    tempo: float = 90.0,
    soundfont: str | os.PathLike | None = None,
):
    """An inline audio player (``IPython.display.Audio``) for a piece; works offline and on Binder.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).
    """
    from IPython.display import Audio

    wav = wav_bytes(music, time_signature=time_signature, tempo=tempo, soundfont=soundfont)
    return Audio(data=wav, rate=SAMPLE_RATE)
