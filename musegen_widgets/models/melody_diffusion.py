"""Chapter 08's latent diffusion model of 8-bar melodies: diffusion over the melody VAE's two-bar codes.

Mittal et al. (2021) generate long melodies without an autoregressive model: a pretrained MusicVAE encodes
every two bars into a latent code, a diffusion model learns the distribution of *sequences* of those codes,
and the VAE decodes each code of a sample back into two bars. Here the VAE is chapter 02's
(:mod:`~musegen_widgets.models.melody_vae`, 32 numbers per two bars) and a sequence is :data:`SEGMENTS` = 4
codes: 8 bars, the length chapter 04 compares every melody model at.

:func:`latent_windows` cuts the 4/4 chorale melodies into 8-bar windows, one starting on every bar line, and
each window into four two-bar segments (as :func:`~musegen_widgets.models.melody_vae.segments` does);
:func:`encode_windows` turns them into the VAE's posterior means, ``(n, 4, 32)``. :class:`MelodyDiffusion`
holds the standardisation of those codes (the mean and standard deviation of each of the 32 numbers over the
training windows, stored with the weights) and a network that predicts the noise of a noised, standardised
sequence; its ``train_step`` is Ho et al.'s plain loss over their linear schedule
(:func:`~musegen_widgets.diffusion.linear_schedule`). Not the cosine one: its last steps, with ``beta_t``
clipped at 0.999, divide a network's noise error by ``sqrt(1 - beta_t)``, about 0.03, and the samples blow up
(chapter 08, section 9, shows the factor). :meth:`MelodyDiffusion.generate` samples codes with
:func:`~musegen_widgets.diffusion.sample` and decodes them.

**Training.** :func:`train_melody_diffusion` encodes the training chorales in every key with the shipped VAE
and trains the recipe ``melody_diffusion`` (``python -m musegen_widgets.train melody_diffusion``).
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
from keras import layers, ops

from .. import data, diffusion
from ..encoding import is_note
from ..errors import MusegenError
from ..training import learning_rate_schedule, n_batches, recipe_settings, save_run
from .melody_inputs import as_numpy
from .melody_vae import SEGMENT_STEPS, with_sounding
from .recipes import RECIPES
from .tracking import TrackedModel

__all__ = [
    "MelodyDiffusion",
    "SEGMENTS",
    "WINDOW_STEPS",
    "latent_windows",
    "encode_windows",
    "decode_codes",
    "train_melody_diffusion",
]

SEGMENTS = 4
"""Two-bar codes in one sequence: 8 bars."""

WINDOW_STEPS = SEGMENTS * SEGMENT_STEPS


def latent_windows(melodies, *, hop: int = 16) -> np.ndarray:
    """8-bar windows of 4/4 melodies, one starting every ``hop`` steps, cut into two-bar segments: ``(n, 4, 32)``.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies). A segment that starts in the
    middle of a held note starts with that note instead (as the VAE's own segments do); windows with a
    segment of rests only are left out (the VAE never saw one).

    >>> from musegen_widgets.encoding import HOLD, pitch_to_token
    >>> melody = np.array([pitch_to_token(60)] + [HOLD] * 143)
    >>> cut = latent_windows([melody])
    >>> cut.shape, bool((cut[:, :, 0] == pitch_to_token(60)).all())
    ((2, 4, 32), True)
    """
    cut = data.excerpts(with_sounding(melodies), steps=WINDOW_STEPS, hop=hop)
    windows = cut[..., 0].astype(np.int32).reshape(-1, SEGMENTS, SEGMENT_STEPS)
    windows[:, :, 0] = cut[:, ::SEGMENT_STEPS, 1]
    return windows[is_note(windows).any(axis=2).all(axis=1)]


def encode_windows(vae, windows: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
    """The VAE's posterior means of every segment of ``windows`` ``(n, 4, 32)``: codes ``(n, 4, latent)``.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies).
    """
    flat = np.asarray(windows).reshape(-1, SEGMENT_STEPS)
    means = [vae.encode(flat[start : start + batch_size])[0] for start in range(0, len(flat), batch_size)]
    return np.concatenate(means).reshape(len(windows), SEGMENTS, -1).astype(np.float32)


def _step_embedding(t, size: int):
    """Sines and cosines of the step at geometrically spaced frequencies, ``(batch, size)``."""
    frequencies = ops.exp(-np.log(1000.0) * ops.arange(size // 2, dtype="float32") / (size // 2))
    angles = ops.cast(t, "float32")[:, None] * frequencies[None]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=1)


@keras.saving.register_keras_serializable(package="musegen")
class MelodyDiffusion(TrackedModel):
    """A noise predictor for sequences of VAE codes: residual dense blocks told the step, and the codes' scale.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies).

    The network sees a whole noised sequence at once (flattened, ``4 x 32`` numbers) and the step ``t``
    (a sinusoidal embedding, added in every block), and predicts the noise of every number.

    Parameters
    ----------
    latent
        Numbers per code (the VAE's latent size).
    width
        Units of each residual block.
    blocks
        Number of residual blocks.
    steps
        ``T`` of the linear schedule.
    """

    def __init__(self, latent=32, width=512, blocks=4, steps=1000, **kwargs):
        super().__init__(**kwargs)
        self.latent, self.width, self.n_blocks, self.steps = latent, width, blocks, steps
        self.schedule = diffusion.linear_schedule(steps)
        self.code_mean = self.add_weight(
            shape=(latent,), initializer="zeros", trainable=False, name="code_mean"
        )
        self.code_std = self.add_weight(shape=(latent,), initializer="ones", trainable=False, name="code_std")
        self.inputs_layer = layers.Dense(width, name="inputs")
        self.step_layers = [
            layers.Dense(width, activation="silu", name="step"),
            layers.Dense(width, name="step_out"),
        ]
        self.norms = [layers.LayerNormalization(name=f"norm_{i}") for i in range(blocks)]
        self.hidden = [layers.Dense(width, activation="silu", name=f"hidden_{i}") for i in range(blocks)]
        self.back = [layers.Dense(width, name=f"back_{i}") for i in range(blocks)]
        self.readout = layers.Dense(SEGMENTS * latent, kernel_initializer="zeros", name="readout")
        self.seed_generator = keras.random.SeedGenerator(0)
        self.start_tracking(("loss",))

    def call(self, inputs):
        """``(x_t, t)`` with ``x_t`` ``(batch, 4, latent)`` standardised and ``t`` ``(batch,)`` -> noise."""
        x_t, t = inputs
        step = self.step_layers[1](self.step_layers[0](_step_embedding(t, 128)))
        h = self.inputs_layer(ops.reshape(x_t, (-1, SEGMENTS * self.latent)))
        for norm, hidden, back in zip(self.norms, self.hidden, self.back):
            h = h + back(hidden(norm(h) + step))
        return ops.reshape(self.readout(h), (-1, SEGMENTS, self.latent))

    def loss_terms(self, codes):
        """Ho et al.'s plain loss on a batch of standardised codes: a step and a noise per sequence."""
        batch = ops.shape(codes)[0]
        t = keras.random.randint((batch,), 1, self.steps + 1, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(codes), seed=self.seed_generator)
        alpha_bar = ops.take(
            ops.convert_to_tensor(self.schedule.alpha_bar(np.arange(self.steps + 1)), "float32"), t
        )
        alpha_bar = alpha_bar[:, None, None]
        guess = self((ops.sqrt(alpha_bar) * codes + ops.sqrt(1 - alpha_bar) * noise, t))
        return {"loss": ops.mean(ops.square(guess - noise))}

    def train_step(self, batch):
        import tensorflow as tf

        codes = batch[0] if isinstance(batch, tuple) else batch
        with tf.GradientTape() as tape:
            terms = self.loss_terms(codes)
        self.optimizer.apply(tape.gradient(terms["loss"], self.trainable_weights), self.trainable_weights)
        return self.track(terms)

    def test_step(self, batch):
        codes = batch[0] if isinstance(batch, tuple) else batch
        return self.track(self.loss_terms(codes))

    def get_config(self):
        return {
            **super().get_config(),
            "latent": self.latent,
            "width": self.width,
            "blocks": self.n_blocks,
            "steps": self.steps,
        }

    def example_input(self):
        """One sequence and one step, to build the layers before weights are loaded."""
        return (np.zeros((1, SEGMENTS, self.latent), np.float32), np.ones((1,), np.int32))

    # ---------------------------------------------------------------------------------- the public API

    def standardise(self, codes) -> np.ndarray:
        """VAE codes ``(..., latent)`` -> the numbers the diffusion runs on (each of mean 0, variance 1 in training)."""
        return (np.asarray(codes, np.float32) - as_numpy(self.code_mean)) / as_numpy(self.code_std)

    def unstandardise(self, x) -> np.ndarray:
        """The inverse of :meth:`standardise`."""
        return np.asarray(x, np.float32) * as_numpy(self.code_std) + as_numpy(self.code_mean)

    def predict_noise(self, x_t: np.ndarray, t: int) -> np.ndarray:
        """The network's noise guess for standardised ``x_t`` ``(n, 4, latent)`` at step ``t``, in numpy."""
        if not hasattr(self, "_compiled_call"):
            import tensorflow as tf

            self._compiled_call = tf.function(lambda x, s: self((x, s)), reduce_retracing=True)
        x = ops.convert_to_tensor(np.asarray(x_t, np.float32))
        guess = self._compiled_call(x, ops.full((len(x_t),), t, dtype="int32"))
        return as_numpy(guess).astype(np.float64)

    def sample_codes(self, n: int = 1, *, steps: int | None = 50, seed: int = 0, return_path: bool = False):
        """``n`` sequences of VAE codes ``(n, 4, latent)``: DDIM over ``steps`` steps, or DDPM with ``None``."""
        if n < 1:
            raise MusegenError(f"the number of samples must be at least 1, got {n}")
        out = diffusion.sample(
            self.predict_noise,
            (n, SEGMENTS, self.latent),
            self.schedule,
            steps=steps,
            seed=seed,
            return_path=return_path,
        )
        if return_path:
            return self.unstandardise(out[0]), self.unstandardise(out[1])
        return self.unstandardise(out)

    def generate(
        self, vae, n: int = 1, *, steps: int | None = 50, seed: int = 0, temperature: float = 0.0
    ) -> np.ndarray:
        """``n`` melodies of 8 bars, ``(n, 128)`` tokens: codes sampled, each decoded by ``vae`` at ``temperature``."""
        codes = self.sample_codes(n, steps=steps, seed=seed)
        return decode_codes(vae, codes, temperature=temperature, seed=seed)


def decode_codes(vae, codes, *, temperature: float = 0.0, seed: int = 0) -> np.ndarray:
    """VAE codes ``(n, 4, latent)`` -> melodies ``(n, 128)``: each two-bar code decoded, the four in a row.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies).
    """
    codes = np.asarray(codes, np.float32)
    segments = vae.decode(codes.reshape(-1, codes.shape[-1]), temperature=temperature, seed=seed)
    return segments.reshape(len(codes), WINDOW_STEPS)


def train_melody_diffusion(
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train :class:`MelodyDiffusion` on the shipped VAE's codes of 8-bar windows of the chorales, every key.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies).

    The codes are the posterior means of the shipped ``melody_vae`` (in fast mode, of a freshly trained
    tiny one); the model stores their mean and standard deviation per number, computed on the training
    windows. Keras's ``fit`` runs the plain loss; every epoch's loss on the valid split's windows (their own
    keys, a fresh draw of steps and noise each epoch) goes into the history.
    """
    from . import load_pretrained
    from .melody_vae import train_melody_vae

    epochs, config = recipe_settings(RECIPES["melody_diffusion"], fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    if fast:
        vae = train_melody_vae(fast=True)["model"]
        melodies = data.load_melodies("train", meter="4/4")[:20]
    else:
        vae = load_pretrained("melody_vae")
        melodies = data.load_melodies("train", meter="4/4")
    train = encode_windows(vae, latent_windows(data.augmented(melodies)))
    valid = encode_windows(
        vae, latent_windows(data.load_melodies("valid", meter="4/4")[: 20 if fast else None])
    )
    model = MelodyDiffusion(**{**config, "latent": train.shape[-1]})
    model(model.example_input())
    model.code_mean.assign(train.reshape(-1, train.shape[-1]).mean(axis=0))
    model.code_std.assign(train.reshape(-1, train.shape[-1]).std(axis=0) + 1e-6)
    train, valid = model.standardise(train), model.standardise(valid)
    batch_size = 256
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate_schedule(n_batches(train, batch_size), epochs, peak=1e-3)
        )
    )
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    fitted = model.fit(
        train[rng.permutation(len(train))],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(valid,),
        shuffle=True,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    result = {
        "config": config,
        "train_seconds": seconds,
        "train_windows": int(len(train)),
        "valid_loss": history["val_loss"][-1],
        "history": history,
        "model": model,
    }
    save_run("melody_diffusion", result, folder, fast=fast)
    return result
