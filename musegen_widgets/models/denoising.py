"""What every diffusion model of chapter 08 shares: the plain loss, the step embedding, guidance.

Taught in chapter 08, section 9 (a latent diffusion model of melodies). A subclass of :class:`DenoisingModel`
builds a network ``call((x_t, t))`` (or ``call((x_t, t, label))`` when it has ``classes``) that predicts the
noise in ``x_t``; this class trains it with Ho et al.'s plain loss over a linear schedule
(:func:`~musegen_widgets.diffusion.linear_schedule`) and answers :meth:`DenoisingModel.predict_noise` in numpy,
the callable every sampler of :mod:`musegen_widgets.diffusion` takes.

**Classifier-free guidance** (Ho and Salimans 2022). A model with ``classes`` learns ``classes + 1`` labels:
the real ones, and a *null* label (number ``classes``) that replaces the real one in a random
``condition_dropout`` share of training examples, so that one network learns both the conditional noise
``eps(x_t, c)`` and the unconditional ``eps(x_t)``. Sampling with the guided noise ``eps(x_t) + s (eps(x_t, c)
- eps(x_t))`` (:meth:`DenoisingModel.predict_noise` with ``guidance=s``) moves each step further toward the
label than the conditional model alone: ``s = 0`` ignores the label, ``s = 1`` is the plain conditional
model, ``s > 1`` is guidance (Ho and Salimans write ``w = s - 1``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .. import diffusion
from ..errors import MusegenError
from .melody_inputs import as_numpy
from .tracking import TrackedModel

__all__ = ["DenoisingModel", "step_embedding"]


def step_embedding(t, size: int):
    """Sines and cosines of the step at geometrically spaced frequencies, ``(batch, size)``.

    Taught in chapter 08, section 9 (a latent diffusion model of melodies): the transformer's positional
    encoding (chapter 05), with the step in place of the position.
    """
    frequencies = ops.exp(-np.log(1000.0) * ops.arange(size // 2, dtype="float32") / (size // 2))
    angles = ops.cast(t, "float32")[:, None] * frequencies[None]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=1)


class DenoisingModel(TrackedModel):
    """A noise predictor trained with the plain loss, optionally told a label (for guidance).

    Taught in chapter 08, section 9 (a latent diffusion model of melodies). Subclasses call
    :meth:`start_denoising` in ``__init__`` and may override :meth:`prepare` (training data -> the numbers the
    diffusion runs on).
    """

    def start_denoising(self, steps: int, classes: int = 0, condition_dropout: float = 0.0) -> None:
        """The linear schedule of ``steps`` steps, the label set and the loss tracker."""
        if classes and not 0 < condition_dropout < 1:
            raise MusegenError(
                f"a model with labels needs a condition_dropout between 0 and 1, got {condition_dropout}"
            )
        self.steps, self.classes, self.condition_dropout = steps, classes, condition_dropout
        self.schedule = diffusion.linear_schedule(steps)
        self.seed_generator = keras.random.SeedGenerator(0)
        self.start_tracking(("loss",))

    def prepare(self, x):
        """Training data -> the clean ``x_0`` of the diffusion (here: as they come, in float32)."""
        return ops.cast(x, "float32")

    def loss_terms(self, x, labels=None):
        """Ho et al.'s plain loss on a batch: a step and a noise per example (and the null label for some)."""
        x0 = self.prepare(x)
        batch = ops.shape(x0)[0]
        t = keras.random.randint((batch,), 1, self.steps + 1, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        alpha_bar = ops.take(
            ops.convert_to_tensor(self.schedule.alpha_bar(np.arange(self.steps + 1)), "float32"), t
        )
        alpha_bar = ops.reshape(alpha_bar, (-1,) + (1,) * (len(x0.shape) - 1))
        x_t = ops.sqrt(alpha_bar) * x0 + ops.sqrt(1 - alpha_bar) * noise
        if self.classes:
            dropped = keras.random.uniform((batch,), seed=self.seed_generator) < self.condition_dropout
            labels = ops.where(dropped, self.classes, ops.cast(labels, "int32"))
            guess = self((x_t, t, labels))
        else:
            guess = self((x_t, t))
        return {"loss": ops.mean(ops.square(guess - noise))}

    def train_step(self, batch):
        import tensorflow as tf

        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x, labels)
        self.optimizer.apply(tape.gradient(terms["loss"], self.trainable_weights), self.trainable_weights)
        return self.track(terms)

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        return self.track(self.loss_terms(x, labels))

    def predict_noise(self, x_t: np.ndarray, t: int, label: int | None = None, guidance: float = 1.0):
        """The network's noise guess for ``x_t`` ``(n, ...)`` at step ``t``, in numpy (float64).

        Taught in chapter 08, section 9 (a latent diffusion model of melodies) and section 11 (guidance).

        Parameters
        ----------
        label
            For a model with ``classes``: the label asked for (``None``: the null label, unconditional).
        guidance
            The guidance scale ``s`` with a label: ``eps(x_t) + s (eps(x_t, label) - eps(x_t))``.
        """
        if not hasattr(self, "_compiled_call"):
            import tensorflow as tf

            self._compiled_call = tf.function(lambda *inputs: self(inputs), reduce_retracing=True)
        x = np.asarray(x_t, np.float32)
        steps = np.full((len(x),), t, np.int32)
        if not self.classes:
            if label is not None:
                raise MusegenError("this model was trained without labels: pass no label")
            return as_numpy(self._compiled_call(x, steps)).astype(np.float64)
        if label is not None and not 0 <= label < self.classes:
            raise MusegenError(f"label must be one of 0..{self.classes - 1} (or None), got {label!r}")
        if label is None or guidance == 1.0:
            labels = np.full((len(x),), self.classes if label is None else label, np.int32)
            return as_numpy(self._compiled_call(x, steps, labels)).astype(np.float64)
        both = np.concatenate([np.full(len(x), label), np.full(len(x), self.classes)]).astype(np.int32)
        guesses = as_numpy(
            self._compiled_call(np.concatenate([x, x]), np.concatenate([steps, steps]), both)
        ).astype(np.float64)
        conditional, unconditional = guesses[: len(x)], guesses[len(x) :]
        return unconditional + guidance * (conditional - unconditional)

    def get_config(self):
        config = {**super().get_config(), "steps": self.steps}
        if self.classes:
            config.update(classes=self.classes, condition_dropout=self.condition_dropout)
        return config
