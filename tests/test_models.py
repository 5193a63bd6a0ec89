import numpy as np
import pytest

from musegen_widgets import data, encoding, sampling
from musegen_widgets.errors import MusegenError

SHIPPED_DATA = data.data_dir()


@pytest.fixture(scope="module")
def small_lstm():
    import keras

    from musegen_widgets.models.melody_lstm import MelodyLSTM

    keras.utils.set_random_seed(3)
    model = MelodyLSTM(units=24, n_layers=2, embedding=8)
    model(np.zeros((1, 4), dtype=np.int32))
    return model


def test_contract_tokens_in_logits_out(small_lstm):
    melodies = data.load_melodies("test")[:2]
    batch = np.stack([m[:50] for m in melodies])
    logits = np.asarray(small_lstm(batch))
    assert logits.shape == (2, 50, encoding.VOCAB_SIZE)
    # causal: changing a later token leaves earlier logits unchanged
    changed = batch.copy()
    changed[:, 30] = encoding.REST
    assert np.allclose(np.asarray(small_lstm(changed))[:, :30], logits[:, :30], atol=1e-5)


def test_numpy_stepper_computes_what_the_keras_model_computes(small_lstm):
    melody = data.load_melodies("test")[0][:70]
    expected = np.asarray(small_lstm(melody[None]))[0]
    stepper = small_lstm.stepper()
    stepped = np.array([stepper.feed(int(t)) for t in melody])
    assert np.allclose(stepped, expected, atol=1e-4)


def test_position_in_the_bar_is_an_input(small_lstm):
    # the same tokens, one step later in the bar, are scored differently
    tokens = np.full((1, 20), encoding.HOLD, dtype=np.int32)
    tokens[0, 0] = encoding.pitch_to_token(67)
    shifted = np.roll(tokens, 1, axis=1)
    assert not np.allclose(
        np.asarray(small_lstm(tokens))[0, 1:], np.asarray(small_lstm(shifted))[0, :-1], atol=1e-4
    )


def test_sampling_from_the_lstm(small_lstm):
    tokens = sampling.sample(small_lstm, steps=32, seed=0, temperature=0.8, top_p=0.9)
    assert len(tokens) == 33 and tokens.max() < encoding.VOCAB_SIZE


def test_training_runs_and_writes_checked_weights(tmp_path, monkeypatch):
    from musegen_widgets import models, train

    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(tmp_path))
    for name in (data.CACHE_NAME, data.MANIFEST_NAME):
        (tmp_path / name).write_bytes((SHIPPED_DATA / name).read_bytes())
    result = train.train_melody_lstm(fast=True, folder=tmp_path)
    assert result["history"]["valid_nll"][-1] < result["history"]["valid_nll"][0]  # it learns
    assert (tmp_path / "melody_lstm.weights.h5").exists() and (tmp_path / "melody_lstm.curve.png").exists()
    model = models.load_pretrained("melody_lstm")
    melody = data.load_melodies("test")[0][:40]
    assert np.allclose(np.asarray(model(melody[None])), np.asarray(result["model"](melody[None])), atol=1e-5)
    weights = tmp_path / "melody_lstm.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-100] + b"x" * 100)
    with pytest.raises(MusegenError, match="corrupt") as raised:
        models.load_pretrained("melody_lstm")
    assert str(weights) in str(raised.value) and "python -m musegen_widgets.train melody_lstm" in str(
        raised.value
    )
    with pytest.raises(MusegenError, match="no pretrained model"):
        models.load_pretrained("melody_gpt")
