"""The chorale GAN of chapter 03: MuseGAN's "hybrid" generator and a WGAN-GP critic, for two-bar SATB passages.

A passage is a boolean piano roll ``(4 voices, 32 sixteenth steps, 72 pitches)`` (pitch columns
``PIANOROLL_LOW``..``PIANOROLL_HIGH`` of :mod:`musegen_widgets.encoding`), as
:func:`roll_excerpts` cuts them from the chorales.

**Generator.** Every voice is written from two latent vectors: a *shared* one, the same for all four voices
(what the passage is: its harmony and motion), and a *private* one per voice (how that voice moves). One
network with a learned embedding of the voice writes each voice: latents -> dense -> four time steps ->
three transposed 1-D convolutions over time (4 -> 8 -> 16 -> 32 steps) -> at each step, one softmax over a
rest and the 72 pitches. (MuseGAN gives every pitch its own sigmoid; a chorale voice sings one note at a
time, and building that in spares the GAN from learning it. Gulrajani et al. trained their WGAN-GP
character-level language model with softmax outputs in the same way.) The critic sees the 72 pitch
probabilities, where a real passage has 0 and 1. Changing one voice's private latent changes only that
voice, which is what :class:`~musegen_widgets.widgets.GanExplorer` lets a learner hear.

**Critic.** The four voices side by side at each step (4 x 72 values) -> 1-D convolutions over time with
leaky ReLUs -> one score, unbounded: a WGAN critic estimates the Wasserstein-1 distance, it does not
classify. Training (``train_step``) follows Gulrajani et al. (2017): ``critic_steps`` critic updates per
generator update, the critic's loss ``E[D(fake)] - E[D(real)] + gp_weight * E[(||grad D(mix)|| - 1)^2]``
on random mixes of real and fake passages, the generator's loss ``-E[D(fake)]``; two Adam optimizers.
:func:`train_chorale_gan` runs it on passages at every bar line, in every key, with the recipe
``RECIPES["chorale_gan"]`` (:mod:`~musegen_widgets.models.recipes`), and saves the run as the course's loop
does (:func:`~musegen_widgets.training.save_run`).
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
from keras import layers, ops

from .. import data, metrics
from ..encoding import PIANOROLL_HIGH, PIANOROLL_LOW
from ..errors import MusegenError
from ..training import recipe_settings, save_run
from .recipes import RECIPES
from .tracking import TrackedModel

__all__ = [
    "ChoraleGAN",
    "VOICES",
    "STEPS",
    "PITCHES",
    "smoothest_notes",
    "roll_excerpts",
    "training_passages",
    "quality_lists",
    "train_chorale_gan",
]

VOICES, STEPS, PITCHES = 4, 32, PIANOROLL_HIGH - PIANOROLL_LOW + 1


def smoothest_notes(probabilities, change_cost: float) -> np.ndarray:
    """Per voice, the rest-or-pitch sequence that maximises ``sum_t log p_t(c_t) - change_cost * changes``.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    ``probabilities`` are a generator's ``(..., steps, 72)`` pitch probabilities (the rest has what is left);
    the result is a boolean roll of the same shape with at most one pitch per step. Viterbi decoding over
    the 73 classes: at each step a class either stays, or is reached from the best class so far at the cost.

    >>> p = np.zeros((6, 72)); p[:, 10] = [0.9, 0.4, 0.9, 0.9, 0.9, 0.9]; p[1, 11] = 0.5  # one flicker
    >>> np.flatnonzero(smoothest_notes(p, 0.0)[:, 11]).tolist(), smoothest_notes(p, 2.0)[:, 10].all()
    ([1], np.True_)
    """
    if not (isinstance(change_cost, (int, float)) and change_cost >= 0):
        raise MusegenError(f"change_cost must be a non-negative number of nats, got {change_cost!r}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    rest = np.clip(1.0 - probabilities.sum(axis=-1, keepdims=True), 0.0, 1.0)
    log_p = np.log(np.maximum(np.concatenate([rest, probabilities], axis=-1), 1e-9))
    steps, classes = log_p.shape[-2], log_p.shape[-1]
    score = log_p[..., 0, :].copy()
    came_from = np.zeros(log_p.shape, dtype=np.int8)  # 73 classes: a byte each, not eight
    for t in range(1, steps):
        best = score.argmax(axis=-1)[..., None]
        switch = np.take_along_axis(score, best, axis=-1) - change_cost
        came_from[..., t, :] = np.where(score >= switch, np.arange(classes), best)
        score = np.maximum(score, switch) + log_p[..., t, :]
    path = np.zeros(log_p.shape[:-1], dtype=np.int64)
    path[..., -1] = score.argmax(axis=-1)
    for t in range(steps - 1, 0, -1):
        path[..., t - 1] = np.take_along_axis(came_from[..., t, :], path[..., t, None], axis=-1)[..., 0]
    return np.arange(1, classes) == path[..., None]


@keras.saving.register_keras_serializable(package="musegen")
class ChoraleGAN(TrackedModel):
    """Generator and critic of a WGAN-GP for two-bar four-voice passages.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    Parameters
    ----------
    shared_latent, voice_latent
        Sizes of the shared latent vector and of each voice's private one.
    channels
        Width of the networks (the generator's first convolution has this many channels).
    gp_weight
        Weight of the gradient penalty (10 in the WGAN-GP paper).
    critic_steps
        Critic updates per generator update (5 in the paper).
    learning_rate
        Of both Adam optimizers (beta_1 0.5, beta_2 0.9; the WGAN-GP paper uses beta_1 0), unless
        :meth:`compile` is given others.
    """

    def __init__(
        self,
        shared_latent=32,
        voice_latent=16,
        channels=128,
        gp_weight=10.0,
        critic_steps=5,
        learning_rate=1e-4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.learning_rate = learning_rate
        self.shared_latent, self.voice_latent, self.channels = shared_latent, voice_latent, channels
        self.gp_weight, self.critic_steps = gp_weight, critic_steps
        self.voice_embedding = layers.Embedding(VOICES, 8, name="voice_embedding")
        self.generator_layers = [
            layers.Dense(4 * 2 * channels, name="g_dense"),
            layers.Reshape((4, 2 * channels)),
            layers.BatchNormalization(name="g_norm_0"),
            layers.ReLU(),
            layers.Conv1DTranspose(channels, 4, strides=2, padding="same", name="g_up_8"),
            layers.BatchNormalization(name="g_norm_1"),
            layers.ReLU(),
            layers.Conv1DTranspose(channels, 4, strides=2, padding="same", name="g_up_16"),
            layers.BatchNormalization(name="g_norm_2"),
            layers.ReLU(),
            layers.Conv1DTranspose(channels // 2, 4, strides=2, padding="same", name="g_up_32"),
            layers.BatchNormalization(name="g_norm_3"),
            layers.ReLU(),
            layers.Conv1D(PITCHES + 1, 1, name="g_rest_and_pitches"),
        ]
        self.critic_layers = [
            layers.Conv1D(channels, 3, padding="same", name="c_conv_32"),
            layers.LeakyReLU(0.2),
            layers.Conv1D(channels, 4, strides=2, padding="same", name="c_conv_16"),
            layers.LeakyReLU(0.2),
            layers.Conv1D(2 * channels, 4, strides=2, padding="same", name="c_conv_8"),
            layers.LeakyReLU(0.2),
            layers.Conv1D(2 * channels, 4, strides=2, padding="same", name="c_conv_4"),
            layers.LeakyReLU(0.2),
            layers.Flatten(),
            layers.Dense(1, name="c_score"),
        ]
        self.start_tracking(("critic_loss", "wasserstein", "gradient_penalty", "generator_loss"))
        self.seed_generator = keras.random.SeedGenerator(0)

    # ---------------------------------------------------------------------------------- the two networks

    def generator_probabilities(self, shared_z, voice_z, training=False):
        """``(batch, shared)`` and ``(batch, 4, voice)`` latents -> note probabilities ``(batch, 4, 32, 72)``."""
        batch = ops.shape(shared_z)[0]
        voices = ops.broadcast_to(self.voice_embedding(ops.arange(VOICES))[None], (batch, VOICES, 8))
        shared = ops.broadcast_to(shared_z[:, None, :], (batch, VOICES, self.shared_latent))
        x = ops.reshape(ops.concatenate([shared, voice_z, voices], axis=-1), (batch * VOICES, -1))
        for layer in self.generator_layers:
            x = layer(x, training=training) if isinstance(layer, layers.BatchNormalization) else layer(x)
        # one softmax per voice and step over a rest and the pitches; the rest's share is silence
        probabilities = ops.softmax(x, axis=-1)[..., 1:]
        return ops.reshape(probabilities, (batch, VOICES, STEPS, PITCHES))

    def critic(self, rolls):
        """Piano rolls ``(batch, 4, 32, 72)`` (probabilities or 0/1) -> one unbounded score each ``(batch,)``."""
        x = ops.reshape(
            ops.transpose(ops.cast(rolls, "float32"), (0, 2, 1, 3)), (-1, STEPS, VOICES * PITCHES)
        )
        for layer in self.critic_layers:
            x = layer(x)
        return x[:, 0]

    def call(self, rolls, training=False):
        return self.critic(rolls)

    def latents(self, batch: int):
        """Latent vectors drawn from ``N(0, I)`` inside the graph: shared ``(batch, S)``, voice ``(batch, 4, V)``."""
        shared = keras.random.normal((batch, self.shared_latent), seed=self.seed_generator)
        voice = keras.random.normal((batch, VOICES, self.voice_latent), seed=self.seed_generator)
        return shared, voice

    # ---------------------------------------------------------------------------------- training

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs):
        super().compile(**kwargs)
        rate = self.learning_rate
        self.generator_optimizer = generator_optimizer or keras.optimizers.Adam(rate, beta_1=0.5, beta_2=0.9)
        self.critic_optimizer = critic_optimizer or keras.optimizers.Adam(rate, beta_1=0.5, beta_2=0.9)
        # variables may not be created inside the traced train_step: build both networks and optimizers now
        self(self.example_input())
        self.critic_optimizer.build(self._critic_weights())
        self.generator_optimizer.build(self._generator_weights())

    def _critic_weights(self) -> list:
        return [w for layer in self.critic_layers for w in layer.trainable_weights]

    def _generator_weights(self) -> list:
        layers_ = [self.voice_embedding, *self.generator_layers]
        return [w for layer in layers_ for w in layer.trainable_weights]

    def train_step(self, batch):
        import tensorflow as tf

        real = ops.cast(batch[0] if isinstance(batch, tuple) else batch, "float32")
        size = ops.shape(real)[0]
        critic_weights, generator_weights = self._critic_weights(), self._generator_weights()
        for _ in range(self.critic_steps):
            fake = self.generator_probabilities(*self.latents(size), training=True)
            mix = ops.reshape(keras.random.uniform((size,), seed=self.seed_generator), (-1, 1, 1, 1))
            mixed = mix * real + (1 - mix) * fake
            with tf.GradientTape() as tape:
                with tf.GradientTape() as inner:
                    inner.watch(mixed)
                    mixed_score = self.critic(mixed)
                slopes = inner.gradient(mixed_score, mixed)
                norms = ops.sqrt(ops.sum(ops.square(slopes), axis=(1, 2, 3)) + 1e-12)
                penalty = ops.mean(ops.square(norms - 1.0))
                distance = ops.mean(self.critic(real)) - ops.mean(self.critic(fake))
                critic_loss = -distance + self.gp_weight * penalty
            self.critic_optimizer.apply(tape.gradient(critic_loss, critic_weights), critic_weights)
        with tf.GradientTape() as tape:
            generator_loss = -ops.mean(
                self.critic(self.generator_probabilities(*self.latents(size), training=True))
            )
        self.generator_optimizer.apply(tape.gradient(generator_loss, generator_weights), generator_weights)
        return self.track(
            {
                "critic_loss": critic_loss,
                "wasserstein": distance,
                "gradient_penalty": penalty,
                "generator_loss": generator_loss,
            }
        )

    def get_config(self):
        return {
            **super().get_config(),
            "shared_latent": self.shared_latent,
            "voice_latent": self.voice_latent,
            "channels": self.channels,
            "gp_weight": self.gp_weight,
            "critic_steps": self.critic_steps,
            "learning_rate": self.learning_rate,
        }

    def example_input(self) -> np.ndarray:
        """Builds every layer (critic and generator) before weights are loaded; returns one silent roll."""
        self.generator_probabilities(
            ops.zeros((1, self.shared_latent)), ops.zeros((1, VOICES, self.voice_latent))
        )
        return np.zeros((1, VOICES, STEPS, PITCHES), np.float32)

    # ---------------------------------------------------------------------------------- the public API

    def generate(
        self,
        n: int = 1,
        *,
        seed: int | None = None,
        shared_z=None,
        voice_z=None,
        notes: str = "smoothed",
        threshold: float = 0.5,
        change_cost: float = 2.0,
    ) -> np.ndarray:
        """``n`` two-bar four-voice passages as boolean piano rolls ``(n, 4, 32, 72)``.

        Parameters
        ----------
        n
            How many passages.
        seed
            Seeds the latents that are not given (and the draws of ``notes="sampled"``).
        shared_z
            The shared latent, ``(shared,)`` for all passages or ``(n, shared)``; default drawn from N(0, I).
        voice_z
            The voices' private latents, ``(4, voice)`` or ``(n, 4, voice)``; default drawn from N(0, I).
        notes
            How probabilities become notes (chapter 03). ``"smoothed"``: each voice's most likely sequence of
            pitches and rests when every change (of pitch, or between note and rest) costs ``change_cost``
            nats (:func:`smoothest_notes`, Viterbi decoding; 2 nats keep the generator's one-step flickers
            from breaking held notes). ``"threshold"``: a note sounds where its probability is above
            ``threshold`` (from 0.5 up, a voice sounds at most one pitch at a time). ``"sampled"``: each
            voice's pitch (or rest) at each step drawn from the probabilities.
        threshold
            In (0, 1), for ``notes="threshold"``.
        change_cost
            Non-negative nats, for ``notes="smoothed"``; 0 is the most likely class at each step.
        """
        if notes not in ("smoothed", "threshold", "sampled"):
            raise MusegenError(f"notes must be 'smoothed', 'threshold' or 'sampled', not {notes!r}")
        if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
            raise MusegenError(f"threshold must be a number between 0 and 1, got {threshold!r}")
        if not (isinstance(change_cost, (int, float)) and change_cost >= 0):
            raise MusegenError(f"change_cost must be a non-negative number of nats, got {change_cost!r}")
        probabilities = self.probabilities(n, seed=seed, shared_z=shared_z, voice_z=voice_z)
        if (
            notes == "smoothed"
        ):  # 256 passages at a time: Viterbi's tables are several times the probabilities
            return np.concatenate(
                [smoothest_notes(probabilities[i : i + 256], change_cost) for i in range(0, n, 256)]
            )
        if notes == "sampled":
            rng = np.random.default_rng(None if seed is None else seed + 1)
            # the rest's probability is what the pitches leave; draw one class per voice and step
            cumulative = np.cumsum(probabilities, axis=-1)
            drawn = (cumulative < rng.random((*probabilities.shape[:-1], 1))).sum(axis=-1)
            return np.arange(PITCHES) == drawn[..., None]  # drawn == PITCHES: the rest, no pitch
        return probabilities > threshold

    def probabilities(
        self, n: int = 1, *, seed: int | None = None, shared_z=None, voice_z=None
    ) -> np.ndarray:
        """The generator's note probabilities ``(n, 4, 32, 72)`` for the latents (see :meth:`generate`)."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise MusegenError(f"n must be a positive whole number, got {n!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise MusegenError(f"seed must be a non-negative whole number or None, got {seed!r}")
        rng = np.random.default_rng(seed)
        shared = self._latent(shared_z, (n, self.shared_latent), "shared_z", rng)
        voice = self._latent(voice_z, (n, VOICES, self.voice_latent), "voice_z", rng)
        # 256 passages at a time: the generator's activations for a thousand at once take hundreds of MB
        return np.concatenate(
            [
                ops.convert_to_numpy(
                    self.generator_probabilities(
                        ops.convert_to_tensor(shared[start : start + 256]),
                        ops.convert_to_tensor(voice[start : start + 256]),
                    )
                )
                for start in range(0, n, 256)
            ]
        )

    @staticmethod
    def _latent(value, shape: tuple[int, ...], name: str, rng: np.random.Generator) -> np.ndarray:
        draw = rng.standard_normal(shape).astype(np.float32)  # drawn even when given: seeds stay aligned
        if value is None:
            return draw
        array = np.asarray(value, dtype=np.float32)
        if array.shape == shape[1:]:
            array = np.broadcast_to(array, shape)
        if array.shape != shape:
            raise MusegenError(f"{name} must have shape {shape[1:]} or {shape}, got {np.shape(value)}")
        if not np.isfinite(array).all():
            raise MusegenError(f"{name} holds NaN or infinity")
        return np.ascontiguousarray(array)


# ------------------------------------------------------------------------------------------ training


def roll_excerpts(*splits: str, hop: int = STEPS) -> np.ndarray:
    """Two-bar four-voice piano rolls of the splits' 4/4 chorales, one every ``hop`` steps: ``(n, 4, 32, 72)``.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    The default hop gives non-overlapping passages (what chapter 04 compares); the GAN trains on one at
    every bar line (``hop=16``). Passages without a note are left out.
    """
    rolls = [
        data.excerpts(data.load_pianorolls(split, meter="4/4"), steps=STEPS, hop=hop) for split in splits
    ]
    return np.concatenate(rolls)


def training_passages(*, fast: bool = False, seed: int = 0) -> np.ndarray:
    """The training split's passages at every bar line, in every key, shuffled: ``(n, 4, 32, 72)``.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales); chapter 08's diffusion model trains on
    the same. In fast mode, 256 of them, without building all of them first (hundreds of MB).
    """
    rolls = roll_excerpts("train", hop=16)
    if fast:
        rolls = rolls[:32]
    rolls = data.augmented(rolls)
    if fast:
        rolls = rolls[:256]
    return rolls[np.random.default_rng(seed).permutation(len(rolls))]


def quality_lists(table: dict) -> dict:
    """A :func:`~musegen_widgets.metrics.compare_multitrack` table with lists for arrays, as a manifest keeps it.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).
    """
    return {
        name: {key: np.asarray(value).tolist() for key, value in row.items()} for name, row in table.items()
    }


def train_chorale_gan(
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train :class:`~musegen_widgets.models.chorale_gan.ChoraleGAN` (WGAN-GP) on two-bar passages, every key.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    After each epoch, 500 passages are generated and MuseGAN's metrics recorded, so the history shows the
    music improving beside the critic's estimate of the Wasserstein distance. At the end, 1,000 passages
    are compared with the test split (:func:`~musegen_widgets.metrics.compare_multitrack`).
    """
    keras.utils.set_random_seed(seed)
    epochs, config = recipe_settings(RECIPES["chorale_gan"], fast=fast, epochs=epochs, config=config)
    rolls = training_passages(fast=fast, seed=seed)
    model = ChoraleGAN(**config)
    # XLA compiles the train step (Keras's default): worth it for the full run, but the compile alone takes
    # about 650 MB, too much beside a notebook for a tiny run of seconds (measured 2026-12-03)
    model.compile(jit_compile=not fast)
    quality = {name: [] for name in ("empty_bars", "used_pitch_classes", "qualified_notes", "tonal_distance")}

    class RecordQuality(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            table = metrics.multitrack_metrics(model.generate(100 if fast else 500, seed=epoch))
            for name in quality:
                known = table[name][np.isfinite(table[name])]  # NaN: no notes to measure
                quality[name].append(float(known.mean()) if len(known) else float("nan"))
            print(
                "  samples: "
                + ", ".join(f"{name.replace('_', ' ')} {values[-1]:.3f}" for name, values in quality.items())
            )

    start = time.perf_counter()
    fitted = model.fit(
        rolls.astype(np.float32),
        batch_size=64,
        epochs=epochs,
        shuffle=True,
        callbacks=[RecordQuality()],
        verbose=2 if fast else 1,
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    history["quality"] = quality
    test = roll_excerpts("test")
    table = metrics.compare_multitrack(test, model.generate(1000, seed=12345))
    result = {
        "config": config,
        "train_seconds": seconds,
        "quality": quality_lists(table),
        "history": history,
        "model": model,
    }
    save_run("chorale_gan", result, folder, fast=fast)
    return result
