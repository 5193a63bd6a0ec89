"""The melody VAE of chapter 02: segments, the latent path, the KL, the numpy decoder, training and loading."""

from pathlib import Path

from musegen_widgets import data, files, music21_io
from musegen_widgets.encoding import HOLD, REST, VOCAB_SIZE, pitch_to_token
from musegen_widgets.errors import MusegenError
from musegen_widgets.models.melody_vae import (
    SEGMENT_STEPS,
    attribute_vector,
    check_segments,
    kl_per_dimension,
    latent_path,
    load_segments,
    segments,
)

import numpy as np
import pytest
from samples import upload

SHIPPED_DATA = Path(__file__).resolve().parents[1] / "data"
C4, D4 = pitch_to_token(60), pitch_to_token(62)


def test_segments_start_on_bar_lines_and_hold_nothing_they_do_not_contain():
    melody = np.array([REST] * 16 + [C4] + [HOLD] * 23 + [D4] + [HOLD] * 23)  # 64 steps, 4 bars
    cut = segments([melody])
    assert cut.shape == (3, SEGMENT_STEPS)
    assert cut[0].tolist() == melody[:32].tolist()
    assert cut[1, 0] == C4 and cut[1, 1:].tolist() == melody[17:48].tolist()  # starts inside the C4
    assert cut[2, 0] == C4  # bar 3 starts while the C4 still sounds
    assert segments([np.array([REST] * 40)]).shape == (0, SEGMENT_STEPS)  # rests only: left out
    assert segments([np.array([C4] * 20)]).shape == (0, SEGMENT_STEPS)  # shorter than two bars


def test_every_shipped_segment_is_valid():
    test = load_segments("test")
    assert len(test) > 200
    assert check_segments(test).shape == test.shape


@pytest.mark.parametrize(
    "tokens, problem",
    [
        ([C4] * 16, "two-bar segments of 32"),
        ([REST] * 32, "rests only"),
        ([C4] + [HOLD] * 30 + [VOCAB_SIZE], "tokens must lie in"),
        ([HOLD] * 31 + [C4], "not HOLD"),
        (np.full(32, 2.5), "integers"),
        (np.zeros((0, 32), int), "two-bar segments"),
    ],
)
def test_bad_segments_are_named(tokens, problem):
    with pytest.raises(MusegenError, match=problem):
        check_segments(tokens)


def test_latent_path_ends_at_both_codes_and_slerp_keeps_the_radius():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    for method in ("slerp", "lerp"):
        path = latent_path(a, b, steps=7, method=method)
        assert path.shape == (7, 64) and np.allclose(path[0], a) and np.allclose(path[-1], b)
    norms = np.linalg.norm(latent_path(a, b, steps=7, method="slerp"), axis=1)
    assert np.allclose(norms, np.linspace(np.linalg.norm(a), np.linalg.norm(b), 7))
    # the straight line's midpoint is much closer to the origin than any typical code
    assert np.linalg.norm(latent_path(a, b, steps=3, method="lerp")[1]) < 0.8 * min(
        np.linalg.norm(a), np.linalg.norm(b)
    )


@pytest.mark.parametrize(
    "a, b, steps, method, problem",
    [
        ([0.0, 1.0], [1.0, 0.0, 0.0], 3, "slerp", "one length"),
        ([np.nan, 1.0], [1.0, 0.0], 3, "slerp", "NaN"),
        ([0.0, 1.0], [1.0, 0.0], 1, "slerp", "at least 2"),
        ([0.0, 1.0], [1.0, 0.0], 3, "cubic", "'slerp' or 'lerp'"),
    ],
)
def test_bad_paths_are_named(a, b, steps, method, problem):
    with pytest.raises(MusegenError, match=problem):
        latent_path(np.array(a), np.array(b), steps=steps, method=method)


def test_closed_form_kl_matches_monte_carlo():
    rng = np.random.default_rng(1)
    mu, logvar = np.array([[0.7, -1.2, 0.0]]), np.array([[-0.5, 0.3, -2.0]])
    sigma = np.exp(0.5 * logvar[0])
    z = mu[0] + sigma * rng.standard_normal((400_000, 3))
    # log q(z) - log p(z), per dimension, averaged over draws from q
    log_ratio = -0.5 * ((z - mu[0]) / sigma) ** 2 - np.log(sigma) + 0.5 * z**2
    assert np.allclose(kl_per_dimension(mu, logvar), log_ratio.mean(axis=0), atol=0.01)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny VAE trained in fast mode and written to a data folder of its own."""
    from musegen_widgets import train

    folder = tmp_path_factory.mktemp("vae_data")
    for name in (data.CACHE_NAME, files.MANIFEST_NAME):
        (folder / name).write_bytes((SHIPPED_DATA / name).read_bytes())
    return folder, train.train_melody_vae("melody_vae", fast=True, folder=folder)


def test_training_writes_weights_history_and_scores(trained):
    folder, result = trained
    for suffix in (".weights.h5", ".history.json", ".curve.png"):
        assert (folder / f"melody_vae{suffix}").exists()
    history = result["history"]
    assert history["val_reconstruction"][-1] < history["val_reconstruction"][0]  # it learns
    assert 0 <= result["test_greedy_accuracy"] <= 1 and result["test_kl"] >= 0
    assert 0 <= result["test_active_dimensions"] <= result["config"]["latent"]


def test_active_dimensions_are_those_whose_posterior_mean_varies_across_melodies(trained):
    from musegen_widgets.models.melody_vae import load_segments

    model = trained[1]["model"]
    segments = load_segments("test")[:200]
    mu, _ = model.encode(segments)
    variance = mu.var(axis=0)
    assert model.scores(segments)["active_dimensions"] == int((variance > 0.01).sum())
    # an encoder that gives every melody the same mean has no active dimension, whatever its KL
    kernel = model.to_posterior.kernel
    kept = np.array(kernel)
    kernel.assign(np.zeros_like(kept))
    try:
        constant = model.scores(segments)
    finally:
        kernel.assign(kept)
    assert constant["active_dimensions"] == 0 and constant["kl"] > 0


def test_numpy_decoder_computes_what_the_keras_decoder_computes(trained):
    model = trained[1]["model"]
    z = np.random.default_rng(2).standard_normal((5, model.latent)).astype(np.float32)
    greedy = model.decode(z)
    assert greedy.shape == (5, SEGMENT_STEPS) and (greedy[:, 0] != HOLD).all()
    logits = np.array(model.decoder_logits(z, greedy))
    logits[:, 0, HOLD] = -np.inf
    assert (
        logits.argmax(axis=-1) == greedy
    ).all()  # each greedy token is Keras's argmax given the ones before
    sampled = model.decode(z, temperature=1.0, seed=3)
    assert (sampled == model.decode(z, temperature=1.0, seed=3)).all()
    assert sampled.min() >= 0 and sampled.max() < VOCAB_SIZE


def test_encode_interpolate_and_sample(trained):
    model = trained[1]["model"]
    a, b = segments(data.load_melodies("test")[:1])[:2]
    mu, logvar = model.encode(np.stack([a, b]))
    assert mu.shape == logvar.shape == (2, model.latent)
    path = model.interpolate(a, b, steps=4)
    assert path.shape == (4, SEGMENT_STEPS)
    assert (path[0] == model.decode(mu[0])[0]).all() and (path[-1] == model.decode(mu[1])[0]).all()
    assert model.sample_prior(3, seed=0).shape == (3, SEGMENT_STEPS)
    assert (model.sample_prior(3, seed=0) == model.sample_prior(3, seed=0)).all()


@pytest.mark.parametrize(
    "z, temperature, problem",
    [
        (np.zeros(3), 0.0, "must have"),
        (np.full(8, np.nan), 0.0, "NaN"),
        (np.zeros(8), -1.0, "temperature"),
    ],
)
def test_bad_latents_are_named(trained, z, temperature, problem):
    model = trained[1]["model"]
    with pytest.raises(MusegenError, match=problem):
        model.decode(z, temperature=temperature)


def test_pretrained_loads_and_corrupt_weights_are_reported(trained, monkeypatch):
    from musegen_widgets import models

    folder, result = trained
    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(folder))
    model = models.load_pretrained("melody_vae")
    segment = segments(data.load_melodies("test")[:1])[:1]
    assert np.allclose(model.encode(segment)[0], result["model"].encode(segment)[0], atol=1e-5)
    weights = folder / "melody_vae.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-100] + b"x" * 100)
    with pytest.raises(MusegenError, match="corrupt") as raised:
        models.load_pretrained("melody_vae")
    assert str(weights) in str(raised.value)


# ------------------------------------------------------------------ the widget


def test_attribute_vector_points_from_low_to_high():
    codes = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    assert attribute_vector(codes, [10, 20, 30, 40, 50]).tolist() == [3.0, 0.0]  # (3 + 4) / 2 - (0 + 1) / 2
    with pytest.raises(MusegenError, match="one value per code"):
        attribute_vector(codes, [1, 2])


def test_latent_explorer_interpolates_samples_and_keeps_working(trained):
    from musegen_widgets.widgets import LatentExplorer

    model = trained[1]["model"]
    explorer = LatentExplorer(model)
    assert explorer.view.piece is not None and explorer.map.value.startswith("<svg")
    assert explorer.message.value == ""
    explorer.alpha.value = 1.0
    assert (explorer.code() == explorer.path()[-1]).all()
    assert np.allclose(explorer.path()[-1], explorer.codes["B"])
    explorer.prior_button.click()
    prior = explorer.code()
    assert not np.allclose(prior, explorer.path()[-1])
    explorer.attribute_sliders["note density"].value = 1.0
    assert np.allclose(explorer.code(), prior + explorer.attributes["note density"])
    explorer.alpha.value = 0.5  # back on the path
    assert np.allclose(explorer.code(), explorer.path()[5] + explorer.attributes["note density"])

    shown = explorer.tokens.copy()
    explorer.upload["A"].value = (upload("<i>tune&.mid", b"not a midi file"),)
    assert "&lt;i&gt;tune&amp;.mid: not a MIDI file" in explorer.message.value  # named, and escaped
    assert (explorer.tokens == shown).all()
    short = music21_io.midi_bytes(np.array([pitch_to_token(60)] + [HOLD] * 15))
    explorer.upload["B"].value = (upload("short.mid", short),)
    assert "no two bars" in explorer.message.value
    good = music21_io.midi_bytes(np.array(([pitch_to_token(67)] + [HOLD] * 3) * 8))
    explorer.upload["B"].value = (upload("good.mid", good),)
    assert explorer.message.value == ""
    assert np.allclose(
        explorer.codes["B"], model.encode(np.array(([pitch_to_token(67)] + [HOLD] * 3) * 8))[0][0]
    )


def test_scores_agree_with_the_training_loss(trained):
    model = trained[1]["model"]
    test = load_segments("test")[:300]
    scores = model.scores(test, batch_size=128)  # more than one batch
    terms = model.terms(test)
    assert np.isclose(scores["reconstruction"], float(terms["reconstruction"]), rtol=1e-4)
    assert np.isclose(scores["kl"], float(terms["kl"]), rtol=1e-4)
    assert np.isclose(scores["teacher_forced_accuracy"], float(terms["accuracy"]), atol=1e-6)
    assert scores["greedy_accuracy"] == (model.decode(model.encode(test)[0]) == test).mean()


def test_the_elbo_draws_z_from_the_posterior(trained):
    model = trained[1]["model"]
    test = load_segments("test")[:40]
    scores = model.scores(test, draws=4, seed=1)
    assert scores["negative_elbo"] == pytest.approx(scores["sampled_reconstruction"] + scores["kl"])
    assert model.scores(test, draws=4, seed=1) == scores  # seeded: repeatable
    # by hand: z = mu + sigma * epsilon with the same generator, the decoder's NLL averaged over the draws
    mu, logvar = model.encode(test)
    rng, nats = np.random.default_rng(1), 0.0
    for _ in range(4):
        z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape).astype(mu.dtype)
        logits = np.asarray(model.decoder_logits(z, test.astype(np.int32)), dtype=np.float64)
        log_p = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
        nats -= np.take_along_axis(log_p, test[..., None], axis=-1).sum() / 4
    assert scores["sampled_reconstruction"] == pytest.approx(nats / len(test), rel=1e-4)
    # z = mu is no draw of q: with any spread left in the posterior the two reconstructions differ
    assert scores["sampled_reconstruction"] != pytest.approx(scores["reconstruction"], rel=1e-3)
    with pytest.raises(MusegenError, match="draws"):
        model.scores(test, draws=0)
