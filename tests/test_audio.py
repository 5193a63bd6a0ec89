import io
import wave

import numpy as np
import pytest

from musegen_widgets import audio, data, encoding
from musegen_widgets.errors import MusegenError


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
