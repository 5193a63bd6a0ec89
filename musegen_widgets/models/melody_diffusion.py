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

import functools
import os
import time

import keras
import numpy as np
from keras import layers, ops

from .. import data, diffusion
from ..encoding import is_note
from ..errors import MusegenError
from ..training import learning_rate_schedule, n_batches, recipe_settings, save_run
from .denoising import DenoisingModel, step_embedding
from .melody_inputs import as_numpy
from .melody_vae import SEGMENT_STEPS, with_sounding
from .recipes import RECIPES

__all__ = [
    "MelodyDiffusion",
    "SEGMENTS",
    "WINDOW_STEPS",
    "latent_windows",
    "encode_windows",
    "decode_codes",
    "DENSITY_LABELS",
    "density_thresholds",
    "density_labels",
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


@keras.saving.register_keras_serializable(package="musegen")
class MelodyDiffusion(DenoisingModel):
    """A noise predictor for sequences of VAE codes: residual dense blocks told the step, and the codes' scale.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies), and with labels in section 11
    (classifier-free guidance).

    The network sees a whole noised sequence at once (flattened, ``4 x 32`` numbers) and the step ``t``
    (a sinusoidal embedding, added in every block), and predicts the noise of every number. With
    ``classes``, a learned embedding of the label (or of the null label) is added to the step's.

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
    classes
        Labels the model is told (0: none); see :class:`~musegen_widgets.models.denoising.DenoisingModel`.
    condition_dropout
        With ``classes``: the share of training examples shown the null label instead of their own.
    """

    def __init__(
        self, latent=32, width=512, blocks=4, steps=1000, classes=0, condition_dropout=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.latent, self.width, self.n_blocks = latent, width, blocks
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
        if classes:
            self.label_embedding = layers.Embedding(classes + 1, width, name="label")
        self.start_denoising(steps, classes, condition_dropout)

    def call(self, inputs):
        """``(x_t, t)`` (or ``(x_t, t, label)``) with ``x_t`` ``(batch, 4, latent)`` standardised -> noise."""
        x_t, t = inputs[0], inputs[1]
        step = self.step_layers[1](self.step_layers[0](step_embedding(t, 128)))
        if self.classes:
            step = step + self.label_embedding(inputs[2])
        h = self.inputs_layer(ops.reshape(x_t, (-1, SEGMENTS * self.latent)))
        for norm, hidden, back in zip(self.norms, self.hidden, self.back):
            h = h + back(hidden(norm(h) + step))
        return ops.reshape(self.readout(h), (-1, SEGMENTS, self.latent))

    def get_config(self):
        return {**super().get_config(), "latent": self.latent, "width": self.width, "blocks": self.n_blocks}

    def example_input(self):
        """One sequence and one step (and label), to build the layers before weights are loaded."""
        example = (np.zeros((1, SEGMENTS, self.latent), np.float32), np.ones((1,), np.int32))
        return (*example, np.zeros((1,), np.int32)) if self.classes else example

    # ---------------------------------------------------------------------------------- the public API

    def standardise(self, codes) -> np.ndarray:
        """VAE codes ``(..., latent)`` -> the numbers the diffusion runs on (each of mean 0, variance 1 in training)."""
        return (np.asarray(codes, np.float32) - as_numpy(self.code_mean)) / as_numpy(self.code_std)

    def unstandardise(self, x) -> np.ndarray:
        """The inverse of :meth:`standardise`."""
        return np.asarray(x, np.float32) * as_numpy(self.code_std) + as_numpy(self.code_mean)

    def sample_codes(
        self,
        n: int = 1,
        *,
        steps: int | None = 50,
        seed: int = 0,
        label: int | None = None,
        guidance: float = 1.0,
        return_path: bool = False,
    ):
        """``n`` sequences of VAE codes ``(n, 4, latent)``: DDIM over ``steps`` steps, or DDPM with ``None``.

        A model with labels samples toward ``label`` at guidance scale ``guidance``
        (:meth:`~musegen_widgets.models.denoising.DenoisingModel.predict_noise`; taught in chapter 08, section 11).
        """
        if n < 1:
            raise MusegenError(f"the number of samples must be at least 1, got {n}")
        out = diffusion.sample(
            self._predictor(label, guidance),
            (n, SEGMENTS, self.latent),
            self.schedule,
            steps=steps,
            seed=seed,
            return_path=return_path,
        )
        if return_path:
            return self.unstandardise(out[0]), self.unstandardise(out[1])
        return self.unstandardise(out)

    def infill_codes(
        self,
        codes,
        keep,
        *,
        steps: int | None = 100,
        resample: int = 1,
        seed: int = 0,
        return_path: bool = False,
    ):
        """Redraw the codes ``keep`` leaves out of ``codes`` ``(n, 4, latent)``, given the kept ones.

        Taught in chapter 08, section 11 (infilling). ``keep`` holds one boolean per two-bar code (shape ``(4,)``
        or ``(n, 4)``); :func:`~musegen_widgets.diffusion.inpaint` does the work: ``resample=1`` is the
        replacement method, more is RePaint.
        """
        codes = np.asarray(codes, np.float32)
        keep = np.asarray(keep, dtype=bool)
        if keep.shape[-1] != SEGMENTS or codes.shape[1:] != (SEGMENTS, self.latent):
            raise MusegenError(
                f"codes must be (n, {SEGMENTS}, {self.latent}) and keep one flag per code, "
                f"got {codes.shape} and {keep.shape}"
            )
        out = diffusion.inpaint(
            self._predictor(None, 1.0),
            self.standardise(codes),
            keep[..., None],
            self.schedule,
            steps=steps,
            resample=resample,
            seed=seed,
            return_path=return_path,
        )
        if return_path:
            return self.unstandardise(out[0]), self.unstandardise(out[1])
        return self.unstandardise(out)

    def denoised_codes(
        self, codes_t, t: int, *, label: int | None = None, guidance: float = 1.0
    ) -> np.ndarray:
        """The model's guess of the clean codes behind noised codes ``codes_t`` ``(n, 4, latent)`` at step ``t``.

        Taught in chapter 08, section 9: ``x0_hat`` of :func:`~musegen_widgets.diffusion.x0_from_noise`, what a
        melody "looks like" at each step of sampling (``t = 0``: the codes themselves).
        """
        if t == 0:
            return np.asarray(codes_t, np.float32)
        x_t = self.standardise(codes_t)
        guess = self._predictor(label, guidance)(x_t, t)
        return self.unstandardise(diffusion.x0_from_noise(x_t, t, guess, self.schedule))

    def _predictor(self, label, guidance):
        if label is None and guidance == 1.0:
            return self.predict_noise
        return lambda x, t: self.predict_noise(x, t, label, guidance)

    def generate(
        self,
        vae,
        n: int = 1,
        *,
        steps: int | None = 50,
        seed: int = 0,
        temperature: float = 0.0,
        label: int | None = None,
        guidance: float = 1.0,
    ) -> np.ndarray:
        """``n`` melodies of 8 bars, ``(n, 128)`` tokens: codes sampled, each decoded by ``vae`` at ``temperature``."""
        codes = self.sample_codes(n, steps=steps, seed=seed, label=label, guidance=guidance)
        return decode_codes(vae, codes, temperature=temperature, seed=seed)


DENSITY_LABELS = ("fewer notes", "middling", "more notes")
"""The three labels of ``melody_diffusion_density``: thirds of the training windows by their number of notes."""


@functools.lru_cache(maxsize=1)
def density_thresholds() -> tuple[int, int]:
    """Numbers of notes that cut the training split's 8-bar windows (own keys) into thirds.

    Taught in chapter 08, section 11 (classifier-free guidance). A window with fewer notes than the first
    is ``fewer notes`` (label 0), fewer than the second ``middling`` (1), else ``more notes`` (2).
    """
    counts = is_note(latent_windows(data.load_melodies("train", meter="4/4"))).sum(axis=(1, 2))
    low, high = np.quantile(counts, [1 / 3, 2 / 3])
    return int(np.ceil(low)), int(np.ceil(high))


def density_labels(melodies) -> np.ndarray:
    """The note-density label (0, 1, 2) of each melody ``(n, steps)`` or window ``(n, 4, 32)``.

    Taught in chapter 08, section 11 (classifier-free guidance).
    """
    melodies = np.asarray(melodies)
    counts = is_note(melodies.reshape(len(melodies), -1)).sum(axis=1)
    return np.searchsorted(np.asarray(density_thresholds()), counts, side="right")


def decode_codes(vae, codes, *, temperature: float = 0.0, seed: int = 0) -> np.ndarray:
    """VAE codes ``(n, 4, latent)`` -> melodies ``(n, 128)``: each two-bar code decoded, the four in a row.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies).
    """
    codes = np.asarray(codes, np.float32)
    segments = vae.decode(codes.reshape(-1, codes.shape[-1]), temperature=temperature, seed=seed)
    return segments.reshape(len(codes), WINDOW_STEPS)


def train_melody_diffusion(
    name: str = "melody_diffusion",
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
    keys, a fresh draw of steps and noise each epoch) goes into the history. A recipe with ``classes``
    (``melody_diffusion_density``) trains on each window's :func:`density_labels`, the null label in place
    of a random ``condition_dropout`` share.
    """
    from . import load_pretrained
    from .melody_vae import train_melody_vae

    epochs, config = recipe_settings(RECIPES[name], fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    if fast:
        vae = train_melody_vae(fast=True)["model"]
        melodies = data.load_melodies("train", meter="4/4")[:20]
    else:
        vae = load_pretrained("melody_vae")
        melodies = data.load_melodies("train", meter="4/4")
    train_windows = latent_windows(data.augmented(melodies))
    valid_windows = latent_windows(data.load_melodies("valid", meter="4/4")[: 20 if fast else None])
    train, valid = encode_windows(vae, train_windows), encode_windows(vae, valid_windows)
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
    order = np.random.default_rng(seed).permutation(len(train))
    labels = (density_labels(train_windows), density_labels(valid_windows)) if model.classes else (None, None)
    start = time.perf_counter()
    fitted = model.fit(
        train[order],
        None if labels[0] is None else labels[0][order],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(valid,) if labels[1] is None else (valid, labels[1]),
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
    save_run(name, result, folder, fast=fast)
    return result
