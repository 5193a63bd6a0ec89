"""Chapter 08's four-voice diffusion model: the roll as an image, its training and its passages."""

from musegen_widgets import diffusion, files
from musegen_widgets.errors import MusegenError
from musegen_widgets.models import chorale_diffusion
from musegen_widgets.models.chorale_diffusion import ChoraleDiffusion, image_to_roll, roll_to_image
from musegen_widgets.models.chorale_gan import roll_excerpts

import numpy as np
import pytest


def test_a_roll_becomes_an_image_and_back():
    rolls = roll_excerpts("test")[:20]
    images = roll_to_image(rolls)
    assert set(np.unique(images)) == {-1.0, 1.0}
    np.testing.assert_array_equal(image_to_roll(images), rolls)
    noisy = images + np.random.default_rng(0).normal(0, 0.3, images.shape)
    assert (image_to_roll(noisy) == rolls).mean() > 0.99  # one note per voice and step, read back
    assert image_to_roll(noisy).sum(axis=-1).max() <= 1


def test_the_network_predicts_noise_of_the_roll_shape_and_the_step_matters():
    model = ChoraleDiffusion(width=16, blocks=2)
    model(model.example_input())
    model.readout.kernel.assign(np.random.default_rng(1).standard_normal(model.readout.kernel.shape) * 0.1)
    x = np.random.default_rng(0).standard_normal((2, 4, 32, 72))
    assert model.predict_noise(x, 5).shape == (2, 4, 32, 72)
    assert not np.allclose(model.predict_noise(x, 5), model.predict_noise(x, 900))
    # a voice's noise depends on the other voices: change the bass, the soprano's guess moves
    moved = x.copy()
    moved[:, 3] += 1.0
    assert not np.allclose(model.predict_noise(x, 5)[:, 0], model.predict_noise(moved, 5)[:, 0])
    # the noise guess is the one the predicted data imply (section 5): x0_hat = 2 p(pitch) - 1, in [-1, 1]
    x0_hat = 2 * model.probabilities(x, 5)[..., 1:] - 1
    np.testing.assert_allclose(
        diffusion.x0_from_noise(x, 5, model.predict_noise(x, 5), model.schedule), x0_hat, atol=1e-4
    )
    np.testing.assert_allclose(model.probabilities(x, 5).sum(axis=-1), 1.0, atol=1e-5)
    with pytest.raises(MusegenError):
        model.generate(0)


def test_the_fast_training_runs_learns_and_writes_nothing():
    folder = files.data_dir()
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    result = chorale_diffusion.train_chorale_diffusion(fast=True)
    loss = result["history"]["loss"]
    assert len(loss) == 2 and loss[-1] < loss[0] < np.log(73)  # below a uniform guess over rest and pitches
    assert set(result["quality"]) >= {"empty_bars", "qualified_notes", "tonal_distance"}
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before
