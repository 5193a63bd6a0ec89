"""Chapter 08's latent diffusion model of melodies: its windows, its codes, its training and its samples."""

from musegen_widgets import data, files, models
from musegen_widgets.encoding import HOLD, REST, is_note, pitch_to_token
from musegen_widgets.errors import MusegenError
from musegen_widgets.models import melody_diffusion
from musegen_widgets.models.melody_diffusion import (
    MelodyDiffusion,
    decode_codes,
    encode_windows,
    latent_windows,
)

import numpy as np
import pytest


def test_windows_are_eight_bars_in_four_segments_each_starting_with_what_sounds():
    melody = np.array([pitch_to_token(60)] + [HOLD] * 40 + [pitch_to_token(62)] + [HOLD] * 118)
    windows = latent_windows([melody])
    assert windows.shape == (3, 4, 32)  # 160 steps: windows at steps 0, 16 and 32
    # apart from each segment's first token, a window is the melody itself
    np.testing.assert_array_equal(windows[1][:, 1:], melody[16:144].reshape(4, 32)[:, 1:])
    # the second segment of the first window starts in the middle of the first note: it starts with that note
    assert windows[0, 1, 0] == pitch_to_token(60) and melody[32] == HOLD
    assert windows[0, 2, 0] == pitch_to_token(62)
    # a window with a segment of rests only is left out
    rests = np.concatenate([melody[:64], np.full(64, REST)])
    assert len(latent_windows([rests])) == 0


def test_the_chorale_windows_give_codes_the_vae_decodes_back():
    vae = models.load_pretrained("melody_vae")
    windows = latent_windows(data.load_melodies("valid", meter="4/4"), hop=128)[:12]
    codes = encode_windows(vae, windows)
    assert codes.shape == (len(windows), 4, vae.latent) and codes.dtype == np.float32
    back = decode_codes(vae, codes)
    assert back.shape == (len(windows), 128)
    assert (back == windows.reshape(len(windows), -1)).mean() > 0.9  # chapter 02's VAE reconstructs well


def test_standardising_is_undone_and_the_step_changes_the_guess():
    model = MelodyDiffusion(latent=8, width=16, blocks=1)
    model(model.example_input())
    model.code_mean.assign(np.arange(8, dtype=np.float32))
    model.code_std.assign(np.full(8, 2.0, np.float32))
    codes = np.random.default_rng(0).standard_normal((3, 4, 8)).astype(np.float32)
    np.testing.assert_allclose(model.unstandardise(model.standardise(codes)), codes, atol=1e-6)
    # the readout starts at zero: give it weights, then two steps must give two guesses
    model.readout.kernel.assign(np.random.default_rng(1).standard_normal(model.readout.kernel.shape) * 0.1)
    x = model.standardise(codes)
    assert not np.allclose(model.predict_noise(x, 10), model.predict_noise(x, 900))
    assert model.predict_noise(x, 10).shape == (3, 4, 8)
    with pytest.raises(MusegenError):
        model.sample_codes(0)


def test_the_fast_training_runs_learns_and_writes_nothing():
    folder = files.data_dir()
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    result = melody_diffusion.train_melody_diffusion(fast=True)
    history = result["history"]
    assert len(history["loss"]) == 2 and history["loss"][-1] < 1.0  # the plain loss starts at 1 (noise alone)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before


def test_the_shipped_model_writes_seeded_melodies_of_eight_bars():
    model = models.load_pretrained("melody_diffusion")
    vae = models.load_pretrained("melody_vae")
    first = model.generate(vae, 3, steps=10, seed=4)
    assert first.shape == (3, 128)
    np.testing.assert_array_equal(first, model.generate(vae, 3, steps=10, seed=4))
    assert not np.array_equal(first, model.generate(vae, 3, steps=10, seed=5))
    assert all(is_note(melody).sum() >= 2 for melody in first)
    codes, path = model.sample_codes(2, steps=10, seed=0, return_path=True)
    assert path.shape == (11, 2, 4, vae.latent) and np.allclose(path[-1], codes)


def _labelled_model() -> MelodyDiffusion:
    model = MelodyDiffusion(latent=8, width=16, blocks=1, classes=3, condition_dropout=0.2)
    model(model.example_input())
    rng = np.random.default_rng(1)
    model.readout.kernel.assign(rng.standard_normal(model.readout.kernel.shape) * 0.1)
    model.label_embedding.embeddings.assign(rng.standard_normal(model.label_embedding.embeddings.shape))
    return model


def test_guidance_is_the_unconditional_guess_moved_toward_the_conditional_one():
    model = _labelled_model()
    x = np.random.default_rng(0).standard_normal((5, 4, 8))
    unconditional = model.predict_noise(x, 300)  # no label: the null label
    conditional = model.predict_noise(x, 300, label=2)
    assert not np.allclose(unconditional, conditional)
    assert not np.allclose(conditional, model.predict_noise(x, 300, label=0))
    np.testing.assert_allclose(model.predict_noise(x, 300, label=2, guidance=0.0), unconditional, atol=1e-6)
    guided = model.predict_noise(x, 300, label=2, guidance=3.0)
    np.testing.assert_allclose(guided, unconditional + 3.0 * (conditional - unconditional), atol=1e-5)
    with pytest.raises(MusegenError, match="label"):
        model.predict_noise(x, 300, label=3)
    with pytest.raises(MusegenError, match="without labels"):
        MelodyDiffusion(latent=8, width=16, blocks=1).predict_noise(x, 300, label=0)
    with pytest.raises(MusegenError, match="condition_dropout"):
        MelodyDiffusion(latent=8, width=16, blocks=1, classes=3)


def test_density_labels_cut_the_training_windows_into_thirds():
    low, high = melody_diffusion.density_thresholds()
    assert low < high
    windows = latent_windows(data.load_melodies("train", meter="4/4"))
    shares = np.bincount(melody_diffusion.density_labels(windows), minlength=3) / len(windows)
    assert np.all(np.abs(shares - 1 / 3) < 0.05)
    melody = np.array([pitch_to_token(60), HOLD] * 64)  # 64 notes in 8 bars: as busy as it gets
    assert melody_diffusion.density_labels(melody[None]).tolist() == [2]


def test_infilling_keeps_the_kept_codes_and_redraws_the_others():
    model = models.load_pretrained("melody_diffusion")
    codes = model.sample_codes(2, steps=10, seed=0)
    filled = model.infill_codes(codes, [True, False, False, True], steps=10, resample=2, seed=3)
    np.testing.assert_allclose(filled[:, [0, 3]], codes[:, [0, 3]], atol=1e-5)
    assert not np.allclose(filled[:, 1:3], codes[:, 1:3], atol=0.1)
    with pytest.raises(MusegenError, match="one flag per code"):
        model.infill_codes(codes, [True, False])


def test_the_labelled_fast_training_runs_and_writes_nothing():
    folder = files.data_dir()
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    result = melody_diffusion.train_melody_diffusion("melody_diffusion_density", fast=True)
    assert result["model"].classes == 3 and len(result["history"]["val_loss"]) == 2
    assert result["model"].sample_codes(2, steps=3, label=1, guidance=2.0).shape[:2] == (2, 4)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before
