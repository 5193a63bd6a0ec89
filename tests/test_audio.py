import io
import sys
import wave

from musegen_widgets import audio, data, encoding
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest
from samples import sine_soundfont


def test_a4_sounds_at_440_hz_for_the_right_time():
    samples = audio.synthesize(encoding.Piece(([[69, 0, 8]],)), tempo=120)  # two beats at 120 bpm: 1 s
    held = samples[: audio.SAMPLE_RATE]
    spectrum = np.abs(np.fft.rfft(held * np.hanning(len(held))))
    assert np.fft.rfftfreq(len(held), 1 / audio.SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(440, abs=1)
    assert len(samples) / audio.SAMPLE_RATE == pytest.approx(1.06, abs=0.01)  # 1 s and a 60 ms release
    assert np.abs(samples[-50:]).max() < 0.01  # the release fades to silence


def test_mix_is_normalised_without_clipping_or_clicks():
    samples = audio.synthesize(data.load_pieces("test")[0])
    assert samples.dtype == np.float32
    assert 0.85 < np.abs(samples).max() <= 0.89 + 1e-6
    assert abs(samples[0]) < 1e-3 and abs(samples[-1]) < 1e-3  # starts and ends at silence
    # no jump larger than the steepest slope of the highest harmonic a chorale can reach
    assert np.abs(np.diff(samples)).max() < 0.5


def test_rests_are_silent():
    tokens = np.array([encoding.REST] + [encoding.HOLD] * 7 + [encoding.pitch_to_token(60)] * 4)
    samples = audio.synthesize(tokens, tempo=60)
    assert np.abs(samples[: int(1.9 * audio.SAMPLE_RATE)]).max() == 0


def test_wav_bytes_are_a_valid_wav():
    piece = data.load_pieces("test")[0]
    with wave.open(io.BytesIO(audio.wav_bytes(piece, tempo=100))) as file:
        assert (
            file.getnchannels() == 1 and file.getsampwidth() == 2 and file.getframerate() == audio.SAMPLE_RATE
        )
        seconds = file.getnframes() / file.getframerate()
    assert seconds == pytest.approx(piece.n_steps / 4 * 60 / 100, abs=0.1)


def test_player_is_an_inline_audio_element():
    html = audio.player(np.array([encoding.pitch_to_token(60), encoding.HOLD]))._repr_html_()
    assert "<audio" in html and "base64" in html


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"tempo": 0}, "tempo"), ({"sample_rate": 100}, "sample rate")]
)
def test_bad_settings(kwargs, message):
    with pytest.raises(MusegenError, match=message):
        audio.synthesize(np.array([encoding.pitch_to_token(60)]), **kwargs)


def _loudest_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / audio.SAMPLE_RATE)[np.argmax(spectrum)])


def test_a_soundfont_plays_the_notes_when_given(sine_sf2):
    a4_then_rest_then_a3 = encoding.Piece(([[69, 0, 8], [57, 16, 24]],))  # at 120 bpm: 1 s, 1 s rest, 1 s
    sung = audio.synthesize(a4_then_rest_then_a3, tempo=120, soundfont=sine_sf2)
    synthesized = audio.synthesize(a4_then_rest_then_a3, tempo=120)
    rate = audio.SAMPLE_RATE
    assert abs(_loudest_frequency(sung[:rate]) - 441) < 2  # the SoundFont's sine, tuned to key 69
    assert abs(_loudest_frequency(sung[2 * rate : 3 * rate]) - 220.5) < 2
    assert np.abs(sung[int(1.2 * rate) : int(1.9 * rate)]).max() < 1e-3  # the rest is silent
    assert 0.88 < np.abs(sung).max() <= 0.89 + 1e-6  # normalised like the numpy mix

    # a pure sine has no second harmonic; the numpy synthesizer's tone does
    def second_harmonic_share(samples):
        spectrum = np.abs(np.fft.rfft(samples[:rate]))
        frequencies = np.fft.rfftfreq(rate, 1 / rate)
        return spectrum[np.abs(frequencies - 880) < 10].max() / spectrum.max()

    assert second_harmonic_share(sung) < 0.01 < 0.2 < second_harmonic_share(synthesized)


def test_the_environment_variable_names_the_soundfont_for_every_player(sine_sf2, monkeypatch):
    piece = encoding.Piece(([[69, 0, 4]], [[64, 0, 4]]))
    plain = audio.wav_bytes(piece)
    monkeypatch.setenv(audio.SOUNDFONT_VARIABLE, str(sine_sf2))
    assert audio.wav_bytes(piece) == audio.wav_bytes(piece, soundfont=sine_sf2) != plain


def test_unusable_soundfonts_are_named_and_left_alone(tmp_path, tinysoundfont, monkeypatch):
    piece = encoding.Piece(([[69, 0, 4]],))
    with pytest.raises(MusegenError, match=r"missing\.sf2: no such SoundFont file"):
        audio.synthesize(piece, soundfont=tmp_path / "missing.sf2")
    for content in (b"RIFF\x10\x00\x00\x00sfbkgarbage!", b"not a soundfont at all", sine_soundfont()[:3000]):
        broken = tmp_path / "broken.sf2"
        broken.write_bytes(content)
        with pytest.raises(MusegenError, match=r"broken\.sf2: not a SoundFont file"):
            audio.synthesize(piece, soundfont=broken)
        assert broken.read_bytes() == content
    monkeypatch.setenv(audio.SOUNDFONT_VARIABLE, str(tmp_path / "missing.sf2"))
    with pytest.raises(MusegenError, match="no such SoundFont file"):
        audio.wav_bytes(piece)


def test_a_soundfont_without_tinysoundfont_says_how_to_install_it(sine_sf2, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # what a fresh environment has
    audio._soundfont_synth.cache_clear()
    try:
        with pytest.raises(MusegenError, match=r"sine\.sf2: .*pip install --no-deps tinysoundfont"):
            audio.synthesize(encoding.Piece(([[69, 0, 4]],)), soundfont=sine_sf2)
    finally:
        audio._soundfont_synth.cache_clear()
