from musegen_widgets import data, encoding, files, metrics, sampling
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest

SHIPPED_DATA = data.data_dir()


@pytest.fixture(scope="module")
def small_lstm():
    from musegen_widgets.models.melody_lstm import MelodyLSTM

    import keras

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
    assert len(tokens) == 32 and tokens.max() < encoding.VOCAB_SIZE


def test_training_runs_and_writes_checked_weights(tmp_path, monkeypatch):
    from musegen_widgets import models, train

    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(tmp_path))
    for name in (data.CACHE_NAME, files.MANIFEST_NAME):
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


# ------------------------------------------------------------------ the dilated-convolution melody model


@pytest.fixture(scope="module")
def small_tcn():
    from musegen_widgets.models import MelodyTCN

    import keras

    keras.utils.set_random_seed(4)
    model = MelodyTCN(channels=12, kernel_size=3, dilations=(1, 2, 4, 8))
    model(np.zeros((1, 4), dtype=np.int32))
    return model


def test_tcn_contract_and_receptive_field(small_tcn):
    melody = data.load_melodies("test")[0][:80]
    logits = np.asarray(small_tcn(melody[None]))
    assert logits.shape == (1, 80, encoding.VOCAB_SIZE)
    assert small_tcn.receptive_field == 1 + 2 * (1 + 2 + 4 + 8) == 31
    # causal: a changed token moves its own prediction and none before it
    changed = melody.copy()
    changed[20] = encoding.REST if melody[20] != encoding.REST else encoding.pitch_to_token(60)
    moved = np.abs(np.asarray(small_tcn(changed[None])) - logits).max(axis=2)[0] > 1e-6
    assert not moved[:20].any() and moved[20]


def test_tcn_window_is_the_receptive_field():
    from musegen_widgets.models import MelodyTCN

    import keras

    keras.utils.set_random_seed(5)
    model = MelodyTCN(channels=8, kernel_size=2, dilations=(1, 2, 4))
    assert model.receptive_field == 1 + 1 * (1 + 2 + 4)
    # a note on every step: each step's inputs depend on its own token only (no HOLD carries a note on)
    tokens = np.array([encoding.pitch_to_token(60 + step % 12) for step in range(48)])
    before = np.asarray(model(tokens[None]))[0, 40]
    seen = []
    for step in range(41):
        changed = tokens.copy()
        changed[step] = encoding.pitch_to_token(80)
        if np.abs(np.asarray(model(changed[None]))[0, 40] - before).max() > 1e-7:
            seen.append(step)
    assert seen == list(range(40 - model.receptive_field + 1, 41))


def test_tcn_stepper_computes_what_the_keras_model_computes(small_tcn):
    melody = data.load_melodies("test")[1][:90]
    expected = np.asarray(small_tcn(melody[None]))[0]
    stepper = small_tcn.stepper()
    stepped = np.array([stepper.feed(int(t)) for t in melody])
    assert np.allclose(stepped, expected, atol=1e-4)
    assert len(sampling.sample(small_tcn, steps=20, seed=1)) == 20


# ------------------------------------------------------------------ polyphony: next-frame models


def test_independent_frames_learns_key_frequencies():
    from musegen_widgets.models import IndependentFrames

    frames = np.zeros((4, 88), bool)
    frames[:3, 39] = True  # middle C in three frames of four
    model = IndependentFrames(pseudo_count=1.0).fit([frames])
    p = 1 / (1 + np.exp(-model(np.zeros((1, 2, 88)))))
    on = 4 / 6  # middle C: (3 + 1) / (4 + 2)
    off = 1 / 6  # each of the other 87 keys: (0 + 1) / (4 + 2)
    assert p.shape == (1, 2, 88) and np.isclose(p[0, 0, 39], on) and np.isclose(p[0, 1, 40], off)
    # hand-computed NLL of one frame with only middle C sounding
    expected = -np.log(on) - 87 * np.log(1 - off)
    assert np.isclose(metrics.frame_nll(model, [frames[:1]]), expected)
    with pytest.raises(MusegenError, match="columns"):
        IndependentFrames().fit([np.zeros((3, 12))])
    with pytest.raises(MusegenError, match="fit"):
        IndependentFrames()(frames)


def test_frame_lstm_contract_and_sampling():
    from musegen_widgets.models import FrameLSTM

    import keras

    keras.utils.set_random_seed(6)
    model = FrameLSTM(units=8, n_layers=1)
    frames = data.load_frames("test")[0][:12].astype(np.float32)
    logits = np.asarray(model(frames[None]))
    assert logits.shape == (1, 12, 88)
    changed = frames.copy()
    changed[6] = 0
    assert np.allclose(np.asarray(model(changed[None]))[0, :6], logits[0, :6], atol=1e-6)
    nll = metrics.frame_nll(model, [frames])
    assert 88 * 0.3 < nll < 88 * 1.0  # an untrained model is near a fair coin per key (log 2 = 0.69)
    first = sampling.sample_frames(model, steps=7, seed=2, primer=frames[:3])
    assert first.shape == (7, 88) and first.dtype == bool and (first[:3] == frames[:3].astype(bool)).all()
    assert (sampling.sample_frames(model, steps=7, seed=2, primer=frames[:3]) == first).all()
    assert sampling.sample_frames(model, steps=5, seed=2).shape == (5, 88)  # no primer: all new
    with pytest.raises(MusegenError, match="above the primer"):
        sampling.sample_frames(model, steps=3, primer=frames[:3])
    with pytest.raises(MusegenError, match="primer"):
        sampling.sample_frames(model, steps=4, primer=np.zeros((2, 12)))
    with pytest.raises(MusegenError, match="shape"):
        metrics.frame_nll(model, [np.zeros((3, 12))])


def test_transpositions_of_frames_stay_on_the_keyboard():
    frames = np.zeros((2, 88), bool)
    frames[0, 0] = frames[1, 85] = True  # A0 and the third-highest key
    shifted = data.transpositions(frames)
    assert len(shifted) == 3  # only shifts 0, +1, +2 keep both keys on the keyboard
    assert all(s.sum() == 2 for s in shifted)


@pytest.mark.parametrize(
    "name",
    ["melody_tcn", "frame_lstm", "melody_transformer", "chorale_transformer_absolute", "chorale_infill"],
)
def test_other_models_train_and_load(tmp_path, monkeypatch, name):
    from musegen_widgets import models, train

    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(tmp_path))
    for filename in (data.CACHE_NAME, files.MANIFEST_NAME):
        (tmp_path / filename).write_bytes((SHIPPED_DATA / filename).read_bytes())
    result = train.MODELS[name](fast=True, folder=tmp_path)
    assert result["history"]["valid_nll"][-1] < result["history"]["valid_nll"][0]
    model = models.load_pretrained(name)
    assert type(model).__name__ == models.PRETRAINED[name]
    assert (tmp_path / f"{name}.curve.png").exists()
