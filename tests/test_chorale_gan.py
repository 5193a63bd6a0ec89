"""The chorale GAN of chapter 03: latents, binarisation, the voice-wise latents, training, loading, bad input."""

from pathlib import Path

from musegen_widgets import data, files, metrics
from musegen_widgets.errors import MusegenError
from musegen_widgets.models.chorale_gan import PITCHES, STEPS, VOICES

import numpy as np
import pytest

SHIPPED_DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from musegen_widgets import train

    folder = tmp_path_factory.mktemp("gan_data")
    for name in (data.CACHE_NAME, files.MANIFEST_NAME):
        (folder / name).write_bytes((SHIPPED_DATA / name).read_bytes())
    return folder, train.train_chorale_gan(fast=True, folder=folder)


def test_training_writes_weights_history_and_quality(trained):
    folder, result = trained
    for suffix in (".weights.h5", ".history.json", ".curve.png"):
        assert (folder / f"chorale_gan{suffix}").exists()
    history = result["history"]
    assert len(history["wasserstein"]) == len(history["quality"]["empty_bars"]) == 2
    assert set(result["quality"]) >= {"empty_bars", "tonal_distance", "voice_range"}


def test_generate_is_repeatable_and_decodes_three_ways(trained):
    from musegen_widgets.models.chorale_gan import smoothest_notes

    model = trained[1]["model"]
    rolls = model.generate(3, seed=4)
    assert rolls.shape == (3, VOICES, STEPS, PITCHES) and rolls.dtype == bool
    assert np.array_equal(rolls, model.generate(3, seed=4))
    probabilities = model.probabilities(3, seed=4)
    assert (probabilities.sum(axis=-1) <= 1 + 1e-5).all()  # pitches share one softmax with a rest
    assert np.array_equal(rolls, smoothest_notes(probabilities, 2.0))  # the default: smoothed, 2 nats
    assert np.array_equal(model.generate(3, seed=4, notes="threshold", threshold=0.01), probabilities > 0.01)
    sampled = model.generate(200, seed=1, notes="sampled")
    assert (sampled.sum(axis=-1) <= 1).all()  # one pitch or a rest per voice and step
    # sampling follows the probabilities: the share of steps with a note matches their total mass
    mass = model.probabilities(200, seed=1).sum(axis=-1).mean()
    assert abs(sampled.any(axis=-1).mean() - mass) < 0.02


def test_a_voice_latent_changes_only_that_voice(trained):
    model = trained[1]["model"]
    rng = np.random.default_rng(0)
    shared, voices = (
        rng.standard_normal(model.shared_latent),
        rng.standard_normal((VOICES, model.voice_latent)),
    )
    before = model.probabilities(1, shared_z=shared, voice_z=voices)
    moved = voices.copy()
    moved[2] += 3.0
    after = model.probabilities(1, shared_z=shared, voice_z=moved)
    changed = np.abs(after - before).max(axis=(0, 2, 3))
    assert changed[2] > 1e-4 and (changed[[0, 1, 3]] < 1e-6).all()


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"n": 0}, "positive whole number"),
        ({"seed": -1}, "non-negative"),
        ({"seed": 1.5}, "non-negative"),
        ({"threshold": 1.5}, "between 0 and 1"),
        ({"threshold": "high"}, "between 0 and 1"),
        ({"notes": "binary"}, "notes must be"),
        ({"change_cost": -1.0}, "change_cost"),
        ({"shared_z": np.zeros(3)}, "shared_z must have shape"),
        ({"voice_z": np.zeros((3, 4))}, "voice_z must have shape"),
        ({"shared_z": np.full(8, np.nan)}, "NaN"),
    ],
)
def test_bad_arguments_are_named(trained, arguments, problem):
    with pytest.raises(MusegenError, match=problem):
        trained[1]["model"].generate(**arguments)


def test_pretrained_loads_the_same_generator(trained, monkeypatch):
    from musegen_widgets import models

    folder, result = trained
    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(folder))
    model = models.load_pretrained("chorale_gan")
    assert np.allclose(model.probabilities(2, seed=0), result["model"].probabilities(2, seed=0), atol=1e-5)


def test_transpositions_stay_in_range_and_keep_the_music():
    rolls = np.zeros((1, VOICES, STEPS, PITCHES), bool)
    rolls[0, 0, :, 70] = True  # near the top
    moved = data.augmented(rolls)
    assert len(moved) == 8  # down 6 .. up 1
    assert all(m.sum() == rolls.sum() for m in moved)
    assert [int(m[0, 0].argmax()) for m in moved] == list(range(64, 72))


def test_compare_multitrack_marks_what_is_within_tolerance():
    from musegen_widgets.models.chorale_gan import roll_excerpts

    real = roll_excerpts("test")
    table = metrics.compare_multitrack(real, real)
    assert all(np.all(row["within"]) for name, row in table.items() if name != "voice_range")
    assert np.allclose(table["voice_range"]["generated"], 1.0)
    shifted = np.roll(real, 12, axis=-1)  # an octave up: out of every voice's range in part
    assert (metrics.voice_range_share(real, shifted) < 0.95).any()


def test_gan_explorer_moves_one_voice_and_keeps_working(trained):
    from musegen_widgets.widgets import GanExplorer

    model = trained[1]["model"]
    explorer = GanExplorer(model)
    assert explorer.notes.value == "smoothed"  # what generate() gives by default
    explorer.notes.value = (
        "sampled"  # the tiny fast-mode model passes no threshold: it is unsure of everything
    )
    assert explorer.message.value == "" and (explorer.roll.sum(axis=-1) <= 1).all()
    before = model.probabilities(1, seed=0, shared_z=explorer.latents()[0], voice_z=explorer.latents()[1])
    explorer.moves["tenor"].value = 2.5
    after = model.probabilities(1, seed=0, shared_z=explorer.latents()[0], voice_z=explorer.latents()[1])
    changed = np.abs(after - before).max(axis=(0, 2, 3))
    assert changed[2] > 0 and (changed[[0, 1, 3]] == 0).all()
    shown = explorer.roll.copy()
    explorer.notes.value = "threshold"
    explorer.threshold.value = 0.95  # nothing passes: a message, the last passage stays
    assert "no notes with these settings" in explorer.message.value and np.array_equal(explorer.roll, shown)
    explorer.notes.value = "smoothed"
    shared_z, voice_z = explorer.latents()
    expected = model.generate(1, shared_z=shared_z, voice_z=voice_z)[0]  # what the explorer should show
    if expected.any():
        assert explorer.message.value == "" and np.array_equal(explorer.roll, expected)
    else:  # the tiny model may smooth everything away: then it says so and keeps the last passage
        assert "no notes" in explorer.message.value and np.array_equal(explorer.roll, shown)
    explorer.new_button.click()
    assert explorer.seed.value == 1 and "seed 1" in repr(explorer)


def test_smoothest_notes_hold_through_flickers_and_follow_real_changes(trained):
    from musegen_widgets.models.chorale_gan import smoothest_notes

    p = np.zeros((8, PITCHES))
    p[:4, 30], p[4:, 35] = 0.8, 0.8  # a real change at step 4
    p[2, 31], p[2, 30] = 0.6, 0.3  # a one-step flicker
    line = smoothest_notes(p, 2.0)
    assert line[:4, 30].all() and line[4:, 35].all() and line.sum() == 8
    assert smoothest_notes(p, 0.0)[2, 31]  # no cost: the flicker is taken
    # no cost: each voice and step takes its most likely class, the rest included
    model = trained[1]["model"]
    p = model.probabilities(3, seed=2)
    classes = np.concatenate([1 - p.sum(axis=-1, keepdims=True), p], axis=-1).argmax(axis=-1)
    assert np.array_equal(
        model.generate(3, seed=2, change_cost=0.0), np.arange(1, PITCHES + 1) == classes[..., None]
    )
