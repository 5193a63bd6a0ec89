"""Chapter 07's tools: int8 weights, magnitude pruning, distillation targets, and what a model costs."""

import json
import subprocess
import sys

from musegen_widgets import compression, data, distillation, efficiency, models, train
from musegen_widgets.encoding import VOCAB_SIZE
from musegen_widgets.errors import MusegenError
from musegen_widgets.metrics import sequence_nll
from musegen_widgets.models import melody_training
from musegen_widgets.numerics import log_softmax

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=st.floats(-8, 8, width=32))
)
def test_int8_is_within_half_a_step_of_each_channels_grid(weights):
    q = compression.quantize_int8(weights)
    assert q.values.dtype == np.int8 and q.values.shape == weights.shape
    assert np.abs(q.values).max() <= 127
    assert np.all(np.abs(q.dequantize() - weights) <= q.scales / 2 + 1e-7)
    assert np.all(q.dequantize()[weights == 0] == 0)  # symmetric: zeros stay zeros
    largest = np.abs(weights).max(axis=0)
    assert np.allclose(q.scales[largest > 0], largest[largest > 0] / 127)


def test_int8_weights_store_a_byte_each_plus_a_scale_per_channel():
    weights = np.random.default_rng(0).normal(size=(3, 64, 128)).astype(np.float32)
    q = compression.quantize_int8(weights)
    assert q.scales.shape == (128,)
    assert q.nbytes == weights.size + 4 * 128
    with pytest.raises(MusegenError, match="finite"):
        compression.quantize_int8(np.array([[1.0, np.nan]]))


@pytest.mark.parametrize("name", ["melody_lstm", "melody_tcn", "melody_transformer"])
def test_int8_weights_of_the_shipped_models_meet_the_bar(name):
    """Issue 19's bar: at least 3.5x fewer bytes, NLL within 0.01 nats per step of the float model."""
    model = models.load_pretrained(name)
    weights = model.get_weights()
    test = data.load_melodies("test")
    float_nll = sequence_nll(model, test)
    quantized = compression.quantize_weights(weights)
    assert [isinstance(q, compression.Int8Weights) for q in quantized] == [w.ndim >= 2 for w in weights]
    model.set_weights(compression.dequantize_weights(quantized))
    assert compression.weight_bytes(weights) >= 3.5 * compression.weight_bytes(quantized)
    assert abs(sequence_nll(model, test) - float_nll) <= 0.01


def test_magnitude_masks_remove_the_smallest_fraction_of_each_matrix():
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=(10, 20)), rng.normal(size=20), rng.normal(size=(3, 4, 5))]
    masks = compression.magnitude_masks(weights, 0.7)
    assert masks[1] is None
    for w, mask in zip(weights, masks):
        if mask is None:
            continue
        assert mask.shape == w.shape and int((mask == 0).sum()) == round(0.7 * w.size)
        assert np.abs(w[mask == 0]).max() <= np.abs(w[mask == 1]).min()
    pruned = [w * m if m is not None else w for w, m in zip(weights, masks)]
    assert compression.sparsity(pruned) == pytest.approx(0.7, abs=0.01)
    assert compression.sparsity(weights) == 0
    for bad in (1.0, -0.1, "half"):
        with pytest.raises(MusegenError, match="fraction"):
            compression.magnitude_masks(weights, bad)


def test_fine_tuning_keeps_the_pruned_weights_at_zero_and_lowers_the_loss():
    import keras

    keras.utils.set_random_seed(0)
    model = models.MelodyTCN(channels=8, kernel_size=2, dilations=[1, 2], dropout=0.0)
    model(model.example_input())
    masks = compression.magnitude_masks(model.get_weights(), 0.5)
    model.set_weights([w * m if m is not None else w for w, m in zip(model.get_weights(), masks)])
    losses = compression.fine_tune(model, masks=masks, epochs=2, peak=1e-2, fast=True)
    assert losses[1] < losses[0]
    for w, m in zip(model.get_weights(), masks):
        if m is not None:
            assert np.all(w[m == 0] == 0)
    assert compression.sparsity(model.get_weights()) == pytest.approx(0.5, abs=0.01)


def test_the_teachers_distributions_are_what_it_predicts_at_each_step():
    teacher = models.load_pretrained("melody_transformer")
    melodies = data.load_melodies("valid")[:3]
    soft = distillation.teacher_distributions(teacher, melodies)
    for melody, distribution in zip(melodies, soft):
        assert distribution.shape == (len(melody) - 1, VOCAB_SIZE)
        assert np.allclose(distribution.sum(axis=1), 1, atol=1e-5)
    # the same NLL as the teacher's own scoring of these melodies
    nll = -np.mean(np.concatenate([np.log(d[np.arange(len(m) - 1), m[1:]]) for m, d in zip(melodies, soft)]))
    assert nll == pytest.approx(sequence_nll(teacher, melodies), abs=1e-4)
    x, y, w = melody_training.melody_batches(melodies, batch_size=4, seed=0, soft_targets=soft)[0]
    assert y.shape == (*x.shape, VOCAB_SIZE)
    assert np.allclose(y[w > 0].sum(axis=1), 1, atol=1e-5)


def test_multiply_adds_of_a_transformer_step_grow_with_the_cache():
    model = models.MelodyTransformer(embedding=8, n_layers=2, heads=2, feed_forward=16, max_distance=16)
    model(model.example_input())
    matrices = 2 * (8 * 24 + 8 * 8 + 8 * 16 + 16 * 8) + 8 * VOCAB_SIZE
    # relative attention: query-key, query-distance and value mixing, 8 each per cached step and block
    assert efficiency.multiply_adds_per_step(model, steps=9) == matrices + 2 * 3 * 8 * 5


def test_generation_latency_times_the_stepper_and_keras():
    model = models.MelodyLSTM(units=8, n_layers=1, embedding=4)
    model(model.example_input())
    timing = efficiency.generation_latency(model, steps=16, repeats=1)
    assert set(timing) == {"numpy_step", "numpy_sample", "keras_step", "keras_sample"}
    assert all(seconds > 0 for seconds in timing.values())
    assert timing["numpy_sample"] > timing["numpy_step"]
    with pytest.raises(MusegenError, match="steps"):
        efficiency.generation_latency(model, steps=1)


@pytest.mark.skipif(
    not efficiency.litert_available(), reason="LiteRT (the optional ai-edge-litert) is missing"
)
def test_the_lstm_step_on_litert_computes_what_the_numpy_stepper_computes():
    model = models.load_pretrained("melody_lstm")
    melody = data.load_melodies("test")[0][:40]
    reference = model.stepper()
    expected = np.array([reference.feed(int(t)) for t in melody])
    exact = efficiency.litert_lstm_step(model, int8=False)
    assert np.allclose([exact.feed(int(t)) for t in melody], expected, atol=1e-4)
    small = efficiency.litert_lstm_step(model, int8=True)
    logits = np.array([small.feed(int(t)) for t in melody])
    assert not np.allclose(logits, expected, atol=1e-4)  # int8 weights: not the same numbers ...
    assert np.abs(logits - expected).max() < 0.5  # ... but close
    assert exact.model_bytes >= 3.5 * small.model_bytes
    with pytest.raises(MusegenError, match="MelodyLSTM"):
        efficiency.litert_lstm_step(models.load_pretrained("melody_tcn"), int8=True)


def test_without_litert_the_chapter_is_told_what_is_missing_and_how_to_install_it(monkeypatch):
    # as where ai-edge-litert is not installed: a None in sys.modules makes its import fail
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert efficiency.litert_available() is False
    model = models.MelodyLSTM(units=8, n_layers=1, embedding=4)
    model(model.example_input())
    with pytest.raises(MusegenError, match="ai-edge-litert") as raised:
        efficiency.litert_lstm_step(model, int8=True)
    message = str(raised.value)
    assert "chapter 07" in message and "optional" in message and "skips" in message
    assert 'pip install "musegen-widgets[litert]"' in message and "pip install ai-edge-litert" in message
    with pytest.raises(MusegenError, match="ai-edge-litert"):
        efficiency.LiteRTStepper(model, b"")


def test_an_ensemble_averages_its_members_probabilities():
    melodies = data.load_melodies("valid")[:3]
    members = [models.load_pretrained("melody_transformer"), models.load_pretrained("melody_tcn")]
    ensemble = models.Ensemble(members)
    assert ensemble.count_params() == sum(m.count_params() for m in members)
    tokens = np.stack([m[:64] for m in melodies]).astype(np.int32)
    probabilities = np.exp(ensemble(tokens))
    each = [np.exp(log_softmax(np.asarray(m(tokens), dtype=np.float64))) for m in members]
    assert np.allclose(probabilities, (each[0] + each[1]) / 2, atol=1e-6)
    assert np.allclose(probabilities.sum(axis=-1), 1, atol=1e-6)
    # log is concave: a mixture's surprise is at most its members' average surprise
    scores = [sequence_nll(m, melodies) for m in members]
    assert sequence_nll(ensemble, melodies) <= np.mean(scores)
    with pytest.raises(MusegenError, match="at least one member"):
        models.Ensemble([])


def test_the_ensembles_stepper_gives_what_the_ensemble_gives_at_each_step():
    ensemble = models.Ensemble(
        [models.load_pretrained("melody_transformer"), models.load_pretrained("melody_tcn")]
    )
    melody = data.load_melodies("valid")[0][:48]
    stepper = ensemble.stepper()
    stepped = np.array([stepper.feed(int(t)) for t in melody])
    assert np.allclose(stepped, ensemble(melody[None].astype(np.int32))[0], atol=1e-4)


def test_the_transfer_set_is_the_teachers_own_melodies_one_per_melody():
    teacher = models.load_pretrained("melody_tcn")
    melodies = [m[:40] for m in data.load_melodies("valid")[:3]]
    written = distillation.transfer_melodies(teacher, melodies, seed=1)
    assert [len(w) for w in written] == [len(m) for m in melodies]
    assert [w[0] for w in written] == [m[0] for m in melodies]
    assert not any(np.array_equal(w, m) for w, m in zip(written, melodies))  # its own, not Bach's
    assert all(
        np.array_equal(a, b)
        for a, b in zip(written, distillation.transfer_melodies(teacher, melodies, seed=1))
    )
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(written, distillation.transfer_melodies(teacher, melodies, seed=2))
    )


def test_a_distilled_student_learns_on_the_transfer_set_and_writes_into_a_new_folder(tmp_path):
    folder = tmp_path / "new" / "runs"
    result = train.train_melody_model("melody_transformer_distilled", fast=True, folder=folder)
    assert result["history"]["valid_nll"][-1] < result["history"]["valid_nll"][0]
    assert (folder / "melody_transformer_distilled.weights.h5").exists()


def test_the_pruning_sweep_runs_in_a_process_of_its_own_and_writes_its_results(tmp_path):
    command = [sys.executable, "-m", "musegen_widgets.train", "melody_tcn", "--prune", "0.5", "--fast"]
    folder = tmp_path / "new" / "folder"  # made, as the output of any training is
    done = subprocess.run([*command, "--output", str(folder)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "50% pruned: held-out NLL" in done.stdout
    sweep = json.loads((folder / "melody_tcn.pruning.json").read_text())
    assert sweep["fraction"] == [0.5]
    assert sweep["sparsity"][0] == pytest.approx(0.5, abs=0.01)
    assert sweep["pruned"][0] > 0 and sweep["fine_tuned"][0] > 0
    # a refusal from the command line: exit code 1 and the message, no traceback
    refused = subprocess.run(
        [sys.executable, "-m", "musegen_widgets.train", "melody_tcn", "--prune", "1.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "up to" in refused.stderr and "Traceback" not in refused.stderr
    (tmp_path / "file").write_text("not a folder")
    for bad, message in [
        (["chorale_gan", "--prune", "0.5"], "no --prune"),
        (["melody_tcn", "--fast", "--output", str(tmp_path / "file")], "cannot write there"),
    ]:
        with pytest.raises(MusegenError, match=message):
            train.main(bad)
