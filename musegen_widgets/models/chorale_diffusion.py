"""Chapter 08's diffusion model of two-bar four-voice passages: the GAN's data, the GAN's piano roll, diffused.

Chapter 03's GAN (:mod:`~musegen_widgets.models.chorale_gan`) writes passages as boolean piano rolls ``(4
voices, 32 sixteenth steps, 72 pitches)``. :class:`ChoraleDiffusion` learns the same rolls, cut the same way
(:func:`~musegen_widgets.models.chorale_gan.roll_excerpts`, every bar line, every key), as images: each cell
is ``+1`` where a voice sounds that pitch and ``-1`` elsewhere, as Ho et al. scale images to ``[-1, 1]`` and
Polyffusion (Min et al. 2023) diffuses piano rolls. The network is a stack of dilated 1-D convolutions over
time (the four voices' 288 cells of one step side by side, like the GAN's critic), told the step in every
block. A sample is read back as a roll by :func:`image_to_roll`: in each voice at each step, the highest
cell if it is above 0 (one note per voice, as the GAN's softmax writes), else a rest.

**Training.** :func:`train_chorale_diffusion` runs the recipe ``chorale_diffusion``
(``python -m musegen_widgets.train chorale_diffusion``): the network predicts the clean roll, each voice's
rest or pitch at each step, with a cross-entropy loss (:class:`ChoraleDiffusion`); its noise guess follows.
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
from keras import layers, ops

from .. import diffusion, metrics
from ..errors import MusegenError
from ..training import learning_rate_schedule, n_batches, recipe_settings, save_run
from .chorale_gan import PITCHES, STEPS, VOICES, quality_lists, roll_excerpts, training_passages
from .denoising import DenoisingModel, step_embedding
from .recipes import RECIPES

__all__ = ["ChoraleDiffusion", "roll_to_image", "image_to_roll", "train_chorale_diffusion"]


def roll_to_image(rolls) -> np.ndarray:
    """Boolean piano rolls ``(..., 4, 32, 72)`` -> the diffusion's numbers: ``+1`` where a note sounds, ``-1``.

    Taught in chapter 08, section 12 (four voices against the GAN).
    """
    return np.where(np.asarray(rolls, dtype=bool), 1.0, -1.0).astype(np.float32)


def image_to_roll(images) -> np.ndarray:
    """The diffusion's numbers ``(..., 4, 32, 72)`` -> boolean rolls: per voice and step, the highest cell if > 0.

    Taught in chapter 08, section 12 (four voices against the GAN).

    >>> image = -np.ones((4, 32, 72)); image[0, :, 40] = 0.3; image[0, :, 41] = 0.9
    >>> roll = image_to_roll(image); int(roll[0, 0].argmax()), int(roll.sum()), bool(roll[1:].any())
    (41, 32, False)
    """
    images = np.asarray(images)
    highest = images.argmax(axis=-1)
    return (np.arange(images.shape[-1]) == highest[..., None]) & (images.max(axis=-1, keepdims=True) > 0)


@keras.saving.register_keras_serializable(package="musegen")
class ChoraleDiffusion(DenoisingModel):
    """A denoiser for two-bar four-voice piano rolls that predicts the data: dilated convolutions over time.

    Taught in chapter 08, section 12 (four voices against the GAN).

    For every voice at every step the network gives a distribution over a rest and the 72 pitches
    (:meth:`probabilities`), trained with their cross-entropy, the loss of Dieleman et al.'s (2022)
    continuous diffusion for categorical data. Its guess of the clean image is that distribution's mean,
    ``x0_hat = 2 p(pitch) - 1`` in every cell, which can never leave ``[-1, 1]``, and its noise guess
    (``call``, what every sampler asks for) follows from it as in section 5:
    ``(x_t - sqrt(alpha_bar_t) x0_hat) / sqrt(1 - alpha_bar_t)``. (A first version predicted the noise
    directly, through 128 channels, and could not: 288 numbers of noise per step do not pass through 128.)

    Parameters
    ----------
    width
        Channels of every block.
    blocks
        Residual blocks; block ``i`` looks ``2 ** (i % 4)`` steps apart (1, 2, 4, 8, 1, ...).
    steps
        ``T`` of the linear schedule.
    """

    BATCH = 100
    """Passages :meth:`generate` samples at once."""

    def __init__(self, width=128, blocks=8, steps=1000, **kwargs):
        super().__init__(**kwargs)
        self.width, self.n_blocks = width, blocks
        self.inputs_layer = layers.Dense(width, name="inputs")
        self.step_layers = [
            layers.Dense(width, activation="silu", name="step"),
            layers.Dense(width, name="step_out"),
        ]
        self.norms = [layers.LayerNormalization(name=f"norm_{i}") for i in range(blocks)]
        self.convolutions = [
            layers.Conv1D(
                width, 3, padding="same", dilation_rate=2 ** (i % 4), activation="silu", name=f"conv_{i}"
            )
            for i in range(blocks)
        ]
        self.back = [layers.Dense(width, name=f"back_{i}") for i in range(blocks)]
        self.readout = layers.Dense(VOICES * (PITCHES + 1), kernel_initializer="zeros", name="readout")
        self.start_denoising(steps)
        self._alpha_bar = ops.convert_to_tensor(self.schedule.alpha_bar(np.arange(steps + 1)), "float32")

    def prepare(self, rolls):
        """Boolean rolls (as training data come) -> ``+1`` / ``-1`` images."""
        return 2.0 * ops.cast(rolls, "float32") - 1.0

    def logits(self, x_t, t):
        """``x_t`` ``(batch, 4, 32, 72)`` at steps ``t`` -> logits of a rest and the 72 pitches ``(batch, 4, 32, 73)``."""
        step = self.step_layers[1](self.step_layers[0](step_embedding(t, 128)))[:, None, :]
        frames = ops.reshape(ops.transpose(x_t, (0, 2, 1, 3)), (-1, STEPS, VOICES * PITCHES))
        h = self.inputs_layer(frames)
        for norm, convolution, back in zip(self.norms, self.convolutions, self.back):
            h = h + back(convolution(norm(h) + step))
        logits = ops.reshape(self.readout(h), (-1, STEPS, VOICES, PITCHES + 1))
        return ops.transpose(logits, (0, 2, 1, 3))

    def call(self, inputs):
        """``(x_t, t)`` with ``x_t`` ``(batch, 4, 32, 72)`` -> the predicted noise, same shape."""
        x_t, t = ops.cast(inputs[0], "float32"), inputs[1]
        x0_hat = 2.0 * ops.softmax(self.logits(x_t, t), axis=-1)[..., 1:] - 1.0
        alpha_bar = ops.reshape(ops.take(self._alpha_bar, t), (-1, 1, 1, 1))
        return (x_t - ops.sqrt(alpha_bar) * x0_hat) / ops.sqrt(1.0 - alpha_bar)

    def loss_terms(self, x, labels=None):
        """Cross-entropy of each voice's rest-or-pitch at each step, given the roll noised at a random step."""
        x0 = self.prepare(x)
        batch = ops.shape(x0)[0]
        t = keras.random.randint((batch,), 1, self.steps + 1, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        alpha_bar = ops.reshape(ops.take(self._alpha_bar, t), (-1, 1, 1, 1))
        x_t = ops.sqrt(alpha_bar) * x0 + ops.sqrt(1 - alpha_bar) * noise
        rolls = ops.cast(x, "float32")
        rest = ops.maximum(1.0 - ops.sum(rolls, axis=-1, keepdims=True), 0.0)
        target = ops.concatenate([rest, rolls], axis=-1)
        target = target / ops.sum(target, axis=-1, keepdims=True)  # a few cells of Bach's hold two pitches
        loss = keras.losses.categorical_crossentropy(target, self.logits(x_t, t), from_logits=True)
        return {"loss": ops.mean(loss)}

    def probabilities(self, x_t: np.ndarray, t: int) -> np.ndarray:
        """Each voice's distribution over a rest and the 72 pitches at each step, given ``x_t``: ``(n, 4, 32, 73)``."""
        logits = self.logits(
            ops.convert_to_tensor(np.asarray(x_t, np.float32)), ops.full((len(x_t),), t, "int32")
        )
        return np.asarray(ops.convert_to_numpy(ops.softmax(logits, axis=-1)), np.float64)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "blocks": self.n_blocks}

    def example_input(self):
        """One passage and one step, to build the layers before weights are loaded."""
        return (np.zeros((1, VOICES, STEPS, PITCHES), np.float32), np.ones((1,), np.int32))

    def generate(
        self, n: int = 1, *, steps: int | None = 50, seed: int = 0, return_images: bool = False
    ) -> np.ndarray:
        """``n`` passages ``(n, 4, 32, 72)`` (boolean): DDIM over ``steps`` steps (``None``: DDPM), read back.

        With ``return_images``, the sampled numbers themselves, before :func:`image_to_roll`. Passages are
        drawn :attr:`BATCH` at a time, the ``k``-th batch from seed ``seed + k`` (a thousand at once would
        hold about a gigabyte of float64 images and their temporaries).
        """
        if n < 1:
            raise MusegenError(f"the number of passages must be at least 1, got {n}")
        images = [
            diffusion.sample(
                self.predict_noise,
                (min(self.BATCH, n - start), VOICES, STEPS, PITCHES),
                self.schedule,
                steps=steps,
                seed=seed + k,
            )
            for k, start in enumerate(range(0, n, self.BATCH))
        ]
        images = np.concatenate(images)
        return images if return_images else image_to_roll(images)


def train_chorale_diffusion(
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train :class:`ChoraleDiffusion` on the GAN's training passages: every bar line, every key.

    Taught in chapter 08, section 12 (four voices against the GAN).

    The loss on the valid split's passages (their own keys) goes into the history; at the end, 1,000 passages
    (DDIM, 50 steps) are compared with the test split as the GAN's are
    (:func:`~musegen_widgets.metrics.compare_multitrack`).
    """
    keras.utils.set_random_seed(seed)
    epochs, config = recipe_settings(RECIPES["chorale_diffusion"], fast=fast, epochs=epochs, config=config)
    rolls = training_passages(fast=fast, seed=seed)
    valid = roll_excerpts("valid", hop=16)[: 64 if fast else None]
    model = ChoraleDiffusion(**config)
    batch_size = 64
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate_schedule(n_batches(rolls, batch_size), epochs, peak=1e-3)
        ),
        jit_compile=not fast,
    )
    start = time.perf_counter()
    fitted = model.fit(
        rolls, batch_size=batch_size, epochs=epochs, validation_data=(valid,), shuffle=True, verbose=2
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    table = metrics.compare_multitrack(
        roll_excerpts("test"), model.generate(50 if fast else 1000, seed=12345)
    )
    result = {
        "config": config,
        "train_seconds": seconds,
        "train_passages": int(len(rolls)),
        "valid_loss": history["val_loss"][-1],
        "quality": quality_lists(table),
        "history": history,
        "model": model,
    }
    save_run("chorale_diffusion", result, folder, fast=fast)
    return result
