"""The melody VAE of chapter 02: MusicVAE's recipe for two-bar melodies, small enough for a laptop CPU.

A two-bar melody (:data:`SEGMENT_STEPS` = 32 sixteenth steps of melody tokens, see
:mod:`musegen_widgets.encoding`) is read by a bidirectional LSTM **encoder** into the mean ``mu`` and log
variance ``logvar`` of a diagonal Gaussian ``q(z | x)`` over a small latent vector ``z``. An LSTM
**decoder** starts from a state computed from ``z``, sees ``z`` again at every step beside the previous
token (teacher forcing in training: the true previous token), and gives the logits of each token.

Training maximises the evidence lower bound, with two of MusicVAE's knobs (Roberts et al. 2018):

.. math::

    \\mathcal{L} = \\mathbb{E}_{q(z|x)}[\\log p(x|z)] - \\beta \\sum_j \\max(\\mathrm{KL}_j, \\lambda)

where ``KL_j`` is the batch-mean KL divergence of latent dimension ``j`` from the ``N(0, 1)`` prior,
``beta`` is annealed from 0 over the first ``anneal_steps`` updates, and ``lambda`` (``free_bits``, in
nats per dimension) is information each dimension may carry for free. With ``beta = 1`` and
``free_bits = 0`` this is exactly the ELBO; chapter 02 shows what that does to this model (the posterior
collapses) and why the knobs cure it.

:class:`MelodyVAE` also decodes in numpy (``decode``), so that a slider in
:class:`~musegen_widgets.widgets.LatentExplorer` gets a new melody in a few milliseconds.

**Training.** :func:`load_segments` cuts the chorale melodies, in every key, into two-bar segments;
:func:`train_melody_vae` trains on them with Keras's ``fit`` and the recipes ``melody_vae`` and
``melody_vae_collapsed`` (:mod:`~musegen_widgets.models.recipes`), and saves the run as the course's loop
does (:func:`~musegen_widgets.training.save_run`).
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
from keras import layers, ops

from .. import data
from ..encoding import HOLD, REST, VOCAB_SIZE, is_note
from ..errors import MusegenError
from ..numerics import draw_from_logits, log_softmax, lstm_step
from ..training import learning_rate_schedule, n_batches, recipe_settings, save_run
from .melody_inputs import as_numpy
from .recipes import RECIPES
from .tracking import TrackedModel

__all__ = [
    "MelodyVAE",
    "SEGMENT_STEPS",
    "segments",
    "with_sounding",
    "load_segments",
    "check_segments",
    "latent_path",
    "kl_per_dimension",
    "attribute_vector",
    "train_melody_vae",
]

SEGMENT_STEPS = 32
"""Two 4/4 bars of sixteenth steps: the length of every segment the VAE encodes and decodes."""

START = VOCAB_SIZE
"""The decoder's input before the first step (a token that no melody contains)."""


def segments(melodies, hop: int = 16) -> np.ndarray:
    """All two-bar segments of 4/4 melodies that start on a bar line: an int array ``(n, 32)``.

    Taught in chapter 02, section 5 (a MusicVAE for two-bar melodies).

    A segment that starts in the middle of a held note starts with that note instead (its first token
    would otherwise be a ``HOLD`` of a note it does not contain); segments of only rests are left out.

    >>> from musegen_widgets.encoding import pitch_to_token
    >>> melody = np.array([pitch_to_token(60)] + [HOLD] * 47)
    >>> cut = segments([melody])
    >>> cut.shape, int(cut[1, 0]) == pitch_to_token(60)
    ((2, 32), True)
    """
    cut = data.excerpts(with_sounding(melodies), steps=SEGMENT_STEPS, hop=hop)
    tokens = cut[..., 0].astype(np.int32)
    tokens[:, 0] = cut[:, 0, 1]
    return tokens.reshape(-1, SEGMENT_STEPS)


def with_sounding(melodies) -> list[np.ndarray]:
    """Each melody ``(steps,)`` beside the token sounding at each step, ``(steps, 2)``: the token a segment
    starting there begins with (the note a ``HOLD`` continues, or ``REST``).

    Taught in chapter 02, section 5 (a MusicVAE for two-bar melodies).

    >>> from musegen_widgets.encoding import pitch_to_token
    >>> with_sounding([[pitch_to_token(60), HOLD]])[0][:, 1].tolist() == [pitch_to_token(60)] * 2
    True
    """
    paired = []
    for melody in melodies:
        melody = np.asarray(melody)
        last_event = np.maximum.accumulate(np.where(melody != HOLD, np.arange(len(melody)), -1))
        sounding = np.where(last_event >= 0, melody[np.maximum(last_event, 0)], REST)
        paired.append(np.stack([melody, sounding], axis=1))
    return paired


def load_segments(split: str = "train", augment: bool = False) -> np.ndarray:
    """The two-bar :func:`segments` of a split's 4/4 chorales; with ``augment``, in every key that fits.

    Taught in chapter 02, section 5 (a MusicVAE for two-bar melodies).

    >>> load_segments("test").shape[1]
    32
    """
    cut = segments(data.load_melodies(split, meter="4/4"))
    return data.augmented(cut) if augment else cut


def attribute_vector(mu, values) -> np.ndarray:
    """MusicVAE's attribute vector: the mean code of the top quartile of ``values`` minus the bottom's.

    Taught in chapter 02, section 8 (walking the latent space).

    ``mu`` holds one code per segment ``(n, latent)``, ``values`` one number per segment (say its note
    density); adding the vector to a code moves the melody towards more of that attribute.

    >>> attribute_vector(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 1, 2, 3]).tolist()
    [3.0]
    """
    mu, values = np.asarray(mu, np.float64), np.asarray(values, np.float64)
    if len(mu) != len(values) or len(mu) < 4:
        raise MusegenError(
            f"need one value per code and at least 4 codes, got {len(mu)} codes, {len(values)} values"
        )
    low, high = np.quantile(values, [0.25, 0.75])
    return mu[values >= high].mean(axis=0) - mu[values <= low].mean(axis=0)


def check_segments(tokens) -> np.ndarray:
    """Melody segments as an int32 array ``(n, 32)``, or a :class:`MusegenError` that says what is wrong.

    Taught in chapter 02, section 5 (a MusicVAE for two-bar melodies).

    One segment ``(32,)`` or a batch ``(n, 32)``; each must start with a note or a rest, hold at least one
    note, and use only tokens of the melody vocabulary.
    """
    try:
        array = np.asarray(tokens)
    except (TypeError, ValueError) as error:
        raise MusegenError(f"a melody segment must be an array of tokens ({error})") from None
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != SEGMENT_STEPS or array.shape[0] == 0:
        raise MusegenError(
            f"the VAE reads two-bar segments of {SEGMENT_STEPS} sixteenth steps; got shape {np.shape(tokens)}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise MusegenError(f"melody tokens must be integers, got {array.dtype}")
    if array.min() < 0 or array.max() >= VOCAB_SIZE:
        raise MusegenError(
            f"tokens must lie in 0..{VOCAB_SIZE - 1} (pitches 48-95); got {array.min()}..{array.max()}"
        )
    if (array[:, 0] == HOLD).any():
        raise MusegenError("a segment must start with a note or a rest, not HOLD (it holds nothing)")
    if not is_note(array).any(axis=1).all():
        raise MusegenError("a segment of rests only has no melody to encode")
    return array.astype(np.int32)


def latent_path(z_start, z_end, *, steps: int, method: str = "slerp") -> np.ndarray:
    """``steps`` latent vectors from ``z_start`` to ``z_end``, both included: ``(steps, latent)``.

    Taught in chapter 02, section 8 (walking the latent space).

    ``"lerp"`` is the straight line. ``"slerp"`` moves along the great circle while interpolating the
    length: for Gaussian latents in many dimensions, nearly all prior mass lies near a sphere of radius
    ``sqrt(latent)``, and the midpoint of a straight line falls inside it, where the decoder saw no codes.

    >>> path = latent_path(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps=3)
    >>> np.round(np.linalg.norm(path, axis=1), 6).tolist()
    [1.0, 1.0, 1.0]
    >>> latent_path(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps=3, method="lerp")[1].tolist()
    [0.5, 0.5]
    """
    z_start, z_end = np.asarray(z_start, np.float64), np.asarray(z_end, np.float64)
    if z_start.shape != z_end.shape or z_start.ndim != 1:
        raise MusegenError(
            f"two latent vectors of one length are needed, got {z_start.shape} and {z_end.shape}"
        )
    if not (np.isfinite(z_start).all() and np.isfinite(z_end).all()):
        raise MusegenError("a latent vector holds NaN or infinity")
    if steps < 2:
        raise MusegenError(f"a path needs at least 2 steps, got {steps}")
    alpha = np.linspace(0.0, 1.0, steps)[:, None]
    if method == "lerp":
        return (1 - alpha) * z_start + alpha * z_end
    if method != "slerp":
        raise MusegenError(f"method must be 'slerp' or 'lerp', got {method!r}")
    norms = np.linalg.norm(z_start), np.linalg.norm(z_end)
    if min(norms) == 0:
        return (1 - alpha) * z_start + alpha * z_end
    cosine = np.clip(z_start @ z_end / (norms[0] * norms[1]), -1.0, 1.0)
    omega = np.arccos(cosine)
    if omega < 1e-6:  # (nearly) the same direction: slerp is lerp
        return (1 - alpha) * z_start + alpha * z_end
    directions = (
        np.sin((1 - alpha) * omega) * z_start / norms[0] + np.sin(alpha * omega) * z_end / norms[1]
    ) / np.sin(omega)
    return directions * ((1 - alpha) * norms[0] + alpha * norms[1])


def kl_per_dimension(mu, logvar) -> np.ndarray:
    """``KL(N(mu, exp(logvar)) || N(0, 1))`` per latent dimension, averaged over the batch, in nats.

    Taught in chapter 02, section 4 (the KL term in closed form).

    >>> kl_per_dimension(np.zeros((2, 3)), np.zeros((2, 3))).tolist()
    [0.0, 0.0, 0.0]
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return (0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar)).mean(axis=0)


@keras.saving.register_keras_serializable(package="musegen")
class MelodyVAE(TrackedModel):
    """Bidirectional LSTM encoder to ``(mu, logvar)``; LSTM decoder conditioned on ``z``.

    Taught in chapter 02, section 5 (a MusicVAE for two-bar melodies).

    Parameters
    ----------
    latent
        Size of ``z``.
    encoder_units, decoder_units
        LSTM units (the encoder has this many in each direction).
    embedding
        Size of the token (and decoder position) embeddings.
    beta
        Weight of the KL term once annealed (1: the ELBO itself).
    free_bits
        Nats per latent dimension that cost nothing (``lambda`` above; 0: none).
    anneal_steps
        Updates over which ``beta`` grows linearly from 0 (0: no annealing).
    """

    def __init__(
        self,
        latent=32,
        encoder_units=128,
        decoder_units=256,
        embedding=64,
        beta=0.2,
        free_bits=0.25,
        anneal_steps=1000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent, self.encoder_units, self.decoder_units = latent, encoder_units, decoder_units
        self.embedding_size, self.beta, self.free_bits, self.anneal_steps = (
            embedding,
            beta,
            free_bits,
            anneal_steps,
        )
        self.encoder_embedding = layers.Embedding(VOCAB_SIZE, embedding, name="encoder_embedding")
        self.encoder_rnn = layers.Bidirectional(layers.LSTM(encoder_units), name="encoder_lstm")
        self.to_posterior = layers.Dense(2 * latent, name="to_mu_logvar")
        self.decoder_embedding = layers.Embedding(VOCAB_SIZE + 1, embedding, name="decoder_embedding")
        self.position_embedding = layers.Embedding(SEGMENT_STEPS, embedding, name="position_embedding")
        self.to_state = layers.Dense(2 * decoder_units, activation="tanh", name="z_to_decoder_state")
        self.decoder_rnn = layers.LSTM(decoder_units, return_sequences=True, name="decoder_lstm")
        self.readout = layers.Dense(VOCAB_SIZE, name="readout")
        self.start_tracking(("loss", "reconstruction", "kl", "accuracy", "beta"))

    # ---------------------------------------------------------------------------------- Keras side

    def posterior(self, tokens):
        """``(batch, 32)`` tokens -> ``mu, logvar``, each ``(batch, latent)`` (Keras tensors)."""
        statistics = self.to_posterior(self.encoder_rnn(self.encoder_embedding(tokens)))
        return statistics[:, : self.latent], statistics[:, self.latent :]

    def decoder_logits(self, z, tokens):
        """Teacher-forced logits ``(batch, 32, vocab)`` of ``tokens`` given ``z``."""
        batch = ops.shape(tokens)[0]
        previous = ops.concatenate([ops.full((batch, 1), START, dtype="int32"), tokens[:, :-1]], axis=1)
        x = self.decoder_embedding(previous) + self.position_embedding(ops.arange(SEGMENT_STEPS))[None]
        x = ops.concatenate([x, ops.repeat(z[:, None, :], SEGMENT_STEPS, axis=1)], axis=-1)
        h, c = ops.split(self.to_state(z), 2, axis=-1)
        return self.readout(self.decoder_rnn(x, initial_state=[h, c]))

    def call(self, tokens, training=False):
        """``(logits, mu, logvar)``; in training ``z`` is sampled (reparameterised), else ``z = mu``."""
        tokens = ops.cast(tokens, "int32")
        mu, logvar = self.posterior(tokens)
        z = mu
        if training:
            z = mu + ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return self.decoder_logits(z, tokens), mu, logvar

    @property
    def seed_generator(self):
        if not hasattr(self, "_seed_generator"):
            self._seed_generator = keras.random.SeedGenerator(0)
        return self._seed_generator

    def terms(self, tokens, training=False) -> dict:
        """The loss and its parts for a batch: reconstruction (nats per segment), KL, accuracy, beta."""
        tokens = ops.cast(tokens, "int32")
        logits, mu, logvar = self(tokens, training=training)
        per_token = keras.losses.sparse_categorical_crossentropy(tokens, logits, from_logits=True)
        reconstruction = ops.mean(ops.sum(per_token, axis=1))
        kl_dims = ops.mean(0.5 * (ops.square(mu) + ops.exp(logvar) - 1.0 - logvar), axis=0)
        iterations = ops.cast(self.optimizer.iterations, "float32") if self.optimizer else 0.0
        beta = self.beta * (ops.minimum(1.0, iterations / self.anneal_steps) if self.anneal_steps else 1.0)
        penalty = ops.sum(ops.maximum(kl_dims, self.free_bits))
        accuracy = ops.mean(ops.cast(ops.argmax(logits, axis=-1) == tokens, "float32"))
        return {
            "loss": reconstruction + beta * penalty,
            "reconstruction": reconstruction,
            "kl": ops.sum(kl_dims),
            "accuracy": accuracy,
            "beta": ops.convert_to_tensor(beta, "float32"),
        }

    def train_step(self, batch):
        import tensorflow as tf

        tokens = batch[0] if isinstance(batch, tuple) else batch
        with tf.GradientTape() as tape:
            terms = self.terms(tokens, training=True)
        gradients = tape.gradient(terms["loss"], self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.track(terms)

    def test_step(self, batch):
        tokens = batch[0] if isinstance(batch, tuple) else batch
        return self.track(self.terms(tokens))

    def get_config(self):
        return {
            **super().get_config(),
            "latent": self.latent,
            "encoder_units": self.encoder_units,
            "decoder_units": self.decoder_units,
            "embedding": self.embedding_size,
            "beta": self.beta,
            "free_bits": self.free_bits,
            "anneal_steps": self.anneal_steps,
        }

    @staticmethod
    def example_input() -> np.ndarray:
        """One segment, to build the layers before weights are loaded."""
        return np.full((1, SEGMENT_STEPS), REST, np.int32)

    # ---------------------------------------------------------------------------------- the public API

    def encode(self, tokens) -> tuple[np.ndarray, np.ndarray]:
        """Segments ``(32,)`` or ``(n, 32)`` -> ``mu, logvar`` as numpy arrays ``(n, latent)``.

        Raises :class:`MusegenError` for a segment that is not two bars of melody (see
        :func:`check_segments`).
        """
        array = check_segments(tokens)
        mu, logvar = self.posterior(ops.convert_to_tensor(array))
        return as_numpy(mu), as_numpy(logvar)

    def decode(self, z, *, temperature: float = 0.0, seed: int | None = None) -> np.ndarray:
        """Latent vectors ``(latent,)`` or ``(n, latent)`` -> token segments ``(n, 32)``, in numpy.

        ``temperature`` 0 takes the most likely token at each step (greedy, deterministic); above 0 the
        token is drawn from the softmax of ``logits / temperature`` with a generator seeded by ``seed``.
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise MusegenError(f"latent vectors must have {self.latent} values, got shape {z.shape}")
        if not np.isfinite(z).all():
            raise MusegenError("a latent vector holds NaN or infinity: nothing to decode")
        if not (temperature >= 0 and np.isfinite(temperature)):
            raise MusegenError(f"temperature must be 0 (greedy) or positive, got {temperature}")
        weights = self._numpy_weights()
        rng = np.random.default_rng(seed)
        h, c = np.split(np.tanh(z @ weights["state_kernel"] + weights["state_bias"]), 2, axis=1)
        previous = np.full(len(z), START)
        tokens = np.zeros((len(z), SEGMENT_STEPS), np.int32)
        for t in range(SEGMENT_STEPS):
            x = np.concatenate([weights["embedding"][previous] + weights["position"][t], z], axis=1)
            h, c = lstm_step(x, h, c, weights["kernel"], weights["recurrent"], weights["bias"])
            logits = h @ weights["readout_kernel"] + weights["readout_bias"]
            if t == 0:
                logits[:, HOLD] = -np.inf  # a segment starts with a note or a rest
            chosen = draw_from_logits(logits, temperature, rng)
            tokens[:, t] = chosen
            previous = chosen
        return tokens

    def sample_prior(self, n: int = 1, *, temperature: float = 0.5, seed: int | None = None) -> np.ndarray:
        """``n`` new segments: ``z`` drawn from the prior ``N(0, I)``, decoded at ``temperature``."""
        if n < 1:
            raise MusegenError(f"the number of samples must be at least 1, got {n}")
        rng = np.random.default_rng(seed)
        return self.decode(
            rng.standard_normal((n, self.latent)), temperature=temperature, seed=rng.integers(2**31)
        )

    def interpolate(self, a, b, *, steps: int = 5, method: str = "slerp") -> np.ndarray:
        """Segments from ``a`` to ``b`` through latent space: ``(steps, 32)``, greedily decoded.

        ``a`` and ``b`` are token segments; their posterior means are joined by :func:`latent_path`.
        """
        mu, _ = self.encode(np.stack([check_segments(a)[0], check_segments(b)[0]]))
        return self.decode(latent_path(mu[0], mu[1], steps=steps, method=method))

    def scores(self, tokens, *, batch_size: int = 256, draws: int = 8, seed: int = 0) -> dict[str, float]:
        """How well the VAE reconstructs segments, and its ELBO (the numbers chapter 02 reports).

        Returns ``teacher_forced_accuracy`` (each token predicted from ``z = mu`` and the true tokens before
        it), ``greedy_accuracy`` (the segment decoded from ``z = mu`` alone, token by token),
        ``reconstruction`` (nats per segment with ``z = mu``), ``kl`` (nats per segment, summed over
        dimensions), ``active_dimensions`` (Burda et al. 2016's activity: dimensions along which the posterior
        mean varies across segments, with variance above 0.01; a dimension can have KL and still say the same
        for every melody), ``sampled_reconstruction`` (nats per segment with ``z`` drawn from ``q(z | x)``,
        ``draws`` times per segment, seeded by ``seed``: the expectation the ELBO takes) and
        ``negative_elbo`` (``sampled_reconstruction + kl``: the beta = 1 bound on ``-log p(x)``, per segment).
        ``z = mu`` is no sample of ``q``: reconstruction + KL with it is not the ELBO, and no bound.
        """
        if not (isinstance(draws, (int, np.integer)) and draws >= 1):
            raise MusegenError(f"draws must be a whole number of at least 1, got {draws!r}")
        array = check_segments(tokens)
        rng = np.random.default_rng(seed)
        correct, nats, sampled_nats, codes = 0.0, 0.0, 0.0, []
        for start in range(0, len(array), batch_size):
            batch = array[start : start + batch_size]
            logits, mu, logvar = (as_numpy(t) for t in self(batch))
            correct += (logits.argmax(axis=-1) == batch).sum()
            nats -= np.take_along_axis(log_softmax(logits), batch[..., None], axis=-1).sum()
            codes.append((mu, logvar))
            for _ in range(draws):  # z = mu + sigma * epsilon, as in training
                z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape).astype(mu.dtype)
                drawn = as_numpy(
                    self.decoder_logits(
                        ops.convert_to_tensor(z), ops.convert_to_tensor(batch.astype(np.int32))
                    )
                )
                sampled_nats -= (
                    np.take_along_axis(log_softmax(drawn), batch[..., None], axis=-1).sum() / draws
                )
        mu, logvar = (np.concatenate(parts) for parts in zip(*codes))
        kl_dims = kl_per_dimension(mu, logvar)
        return {
            "teacher_forced_accuracy": float(correct / array.size),
            "greedy_accuracy": float((self.decode(mu) == array).mean()),
            "reconstruction": float(nats / len(array)),
            "kl": float(kl_dims.sum()),
            "active_dimensions": int((mu.var(axis=0) > 0.01).sum()),
            "sampled_reconstruction": float(sampled_nats / len(array)),
            "negative_elbo": float(sampled_nats / len(array) + kl_dims.sum()),
        }

    def _numpy_weights(self) -> dict[str, np.ndarray]:
        """The decoder's weights as numpy arrays (read anew each call: about a millisecond)."""
        cell = self.decoder_rnn.cell
        return {
            "embedding": as_numpy(self.decoder_embedding.embeddings),
            "position": as_numpy(self.position_embedding.embeddings),
            "state_kernel": as_numpy(self.to_state.kernel),
            "state_bias": as_numpy(self.to_state.bias),
            "kernel": as_numpy(cell.kernel),
            "recurrent": as_numpy(cell.recurrent_kernel),
            "bias": as_numpy(cell.bias),
            "readout_kernel": as_numpy(self.readout.kernel),
            "readout_bias": as_numpy(self.readout.bias),
        }


# ------------------------------------------------------------------------------------------ training


def train_melody_vae(
    name: str = "melody_vae",
    *,
    fast: bool = False,
    folder: str | os.PathLike | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train a :class:`~musegen_widgets.models.melody_vae.MelodyVAE` on two-bar segments, every key.

    Taught in chapter 02, section 6 (training).

    Keras's ``fit`` runs the model's own ``train_step`` (reconstruction + beta x KL with free bits);
    the learning rate warms up, then follows a cosine. No early stopping: while beta is annealed the
    loss of one epoch is not comparable with the next; every epoch's reconstruction, KL and accuracy on
    the valid split go into the history.
    """
    epochs, config = recipe_settings(RECIPES[name], fast=fast, epochs=epochs, config=config)
    keras.utils.set_random_seed(seed)
    train, valid = load_segments("train", augment=True), load_segments("valid")
    if fast:
        train, valid = train[:512], valid[:64]
    rng = np.random.default_rng(seed)
    model = MelodyVAE(**config)
    batch_size = 128
    steps_per_epoch = n_batches(train, batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=2e-3), clipnorm=1.0
        )
    )
    start = time.perf_counter()
    fitted = model.fit(
        train[rng.permutation(len(train))],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(valid,),
        shuffle=True,
        verbose=2 if fast else 1,
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    scores = model.scores(load_segments("test"))
    result = {
        "config": config,
        "train_seconds": seconds,
        **{f"test_{key}": value for key, value in scores.items()},
        "history": history,
        "model": model,
    }
    save_run(name, result, folder, fast=fast)
    return result
