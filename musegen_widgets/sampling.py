"""Writing new melodies with a trained sequence model (chapter 01).

Every sequence model of the course offers ``model.stepper()``: an object whose ``feed(token)`` takes the
next token and returns the logits for the one after, carrying the model's state (an LSTM's ``h`` and
``c``, an n-gram's context) from step to step. Sampling is then incremental: one cheap step per token,
instead of re-running the model over the whole prefix for every new token (see the benchmark).

How the next token is drawn from the logits ``z``:

* **temperature** ``T``: ``softmax(z / T)``; below 1 sharpens the distribution (safer, duller), above 1
  flattens it (bolder, more mistakes). ``T = 0`` is greedy decoding (the most likely token), as in every
  sampler of the course; the default is 1, the model's own distribution.
* **top-k**: keep only the ``k`` most probable tokens, renormalised.
* **top-p** (nucleus): keep the smallest set of most probable tokens whose total probability reaches ``p``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import encoding
from .errors import MusegenError
from .numerics import draw, draw_from_logits, log_softmax, one_blas_thread, sigmoid
from .piece import MAX_STEPS

__all__ = [
    "sample",
    "sample_with_probabilities",
    "sample_frames",
    "sample_satb",
    "filter_distribution",
    "check_settings",
]


def check_settings(
    temperature: float, top_k: int | None = None, top_p: float | None = None, steps: int | None = None
) -> None:
    """Raise :class:`MusegenError` naming the first setting that cannot be used.

    Taught in chapter 01, section 7 (sampling).
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise MusegenError(f"temperature must be 0 (greedy) or a finite number above it, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise MusegenError(f"top-k must be a whole number of at least 1, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise MusegenError(f"top-p must be in (0, 1], got {top_p!r}")
    if steps is not None and (not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS):
        raise MusegenError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")


def filter_distribution(
    logits: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """The probabilities the sampler draws from: tempered, then cut to the top-k and the top-p nucleus.

    Taught in chapter 01, section 7 (sampling). Temperature 0 puts all the probability on the most likely
    token (greedy decoding).

    >>> p = filter_distribution(np.log(np.array([0.5, 0.3, 0.15, 0.05])), top_p=0.8)
    >>> np.round(p, 3).tolist()
    [0.625, 0.375, 0.0, 0.0]
    >>> filter_distribution(np.log(np.array([0.2, 0.5, 0.3])), temperature=0).tolist()
    [0.0, 1.0, 0.0]
    """
    check_settings(temperature, top_k, top_p)
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return _greedy(logits)
    return _cut(np.exp(log_softmax(logits / temperature)), top_k, top_p)


def _greedy(logits: np.ndarray) -> np.ndarray:
    """All the probability on the most likely token."""
    p = np.zeros(len(logits))
    p[logits.argmax()] = 1.0
    return p


def _cut(p: np.ndarray, top_k: int | None, top_p: float | None) -> np.ndarray:
    """``p`` cut to its top-k and its top-p nucleus (in place), renormalised."""
    if top_k is not None and top_k < len(p):
        p[np.argsort(p)[: len(p) - top_k]] = 0.0
    if top_p is not None and top_p < 1:
        order = np.argsort(p)[::-1]
        cumulative = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cumulative, top_p * cumulative[-1])) + 1]
        mask = np.zeros_like(p, dtype=bool)
        mask[keep] = True
        p[~mask] = 0.0
    return p / p.sum()


def _primer_tokens(primer: Any) -> np.ndarray:
    if primer is None:
        return np.array([encoding.REST])  # start from silence on a downbeat
    if isinstance(primer, np.ndarray | list | tuple) and np.asarray(primer).ndim == 1:
        return encoding.check_tokens(np.asarray(primer))
    return encoding.encode_melody(primer)  # a file, a stream or a Piece: its top voice


def sample_with_probabilities(
    model,
    *,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    primer: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`sample`, and also the probability the model gave each new token (before the temperature
    and cuts), for plotting how sure it was: one per token after the primer.

    Taught in chapter 01, section 7 (sampling).
    """
    return _write(model, steps, temperature, top_k, top_p, seed, primer, keep_probabilities=True)


def sample(
    model,
    *,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    primer: Any = None,
) -> np.ndarray:
    """A melody of exactly ``steps`` tokens: the primer, then tokens written by ``model`` one at a time.

    Taught in chapter 01, section 7 (sampling).

    Parameters
    ----------
    model
        A course sequence model (``model.stepper()``), such as ``load_pretrained("melody_lstm")`` or an
        :class:`~musegen_widgets.ngram.NGramModel`.
    steps
        The length of the melody in 16th steps, primer included (``16 * bars`` for whole 4/4 bars).
    temperature, top_k, top_p
        How the next token is drawn (see the module's docs); temperature 0 is greedy.
    seed
        Makes the sample repeatable.
    primer
        Tokens to continue (step 0 must be a downbeat), or a MIDI/MusicXML path, stream or ``Piece`` whose
        top voice is used. Default: a single ``REST``, the silence on the first downbeat that the model
        starts from.

    Returns
    -------
    numpy.ndarray
        ``steps`` tokens: the primer followed by ``steps - len(primer)`` new ones.

    >>> from musegen_widgets.ngram import NGramModel
    >>> model = NGramModel(max_order=2).fit([[1, 2, 0, 0, 3, 0]])
    >>> len(sample(model, steps=16, seed=0))
    16
    """
    return _write(model, steps, temperature, top_k, top_p, seed, primer, keep_probabilities=False)[0]


def _write(
    model, steps, temperature, top_k, top_p, seed, primer, *, keep_probabilities: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The loop of :func:`sample` and :func:`sample_with_probabilities`: the settings checked once, then per
    step one softmax of the logits (two at a temperature other than 0 and 1 when the model's own probabilities
    are kept: the tempered distribution is another one), a draw and one step of the model (the last one
    too: :class:`~musegen_widgets.efficiency.WithoutCache` counts every token's position)."""
    check_settings(temperature, top_k, top_p, steps)
    primer = _primer_tokens(primer)
    if steps <= len(primer):
        raise MusegenError(
            f"steps is the length of the melody, primer included: ask for more than the primer's {len(primer)}"
        )
    with one_blas_thread():  # small products, step after step (numerics.one_blas_thread says why)
        rng = np.random.default_rng(seed)
        stepper = model.stepper()
        for token in primer[:-1]:
            stepper.feed(int(token))
        logits = stepper.feed(int(primer[-1]))
        tokens, probabilities = list(primer), []
        for _ in range(steps - len(primer)):
            logits = np.asarray(logits, dtype=np.float64)
            own = np.exp(log_softmax(logits)) if keep_probabilities or temperature == 1 else None
            if temperature == 0:
                p = _greedy(logits)
            elif temperature == 1:  # the tempered distribution is the model's own (logits / 1 is the logits)
                p = _cut(own.copy(), top_k, top_p)
            else:
                p = _cut(np.exp(log_softmax(logits / temperature)), top_k, top_p)
            token = int(draw(p, rng))
            if keep_probabilities:
                probabilities.append(float(own[token]))
            tokens.append(token)
            logits = stepper.feed(token)
        return np.array(tokens, dtype=np.int64), np.array(probabilities)


def sample_frames(model, *, steps: int, seed: int | None = None, primer: Any = None) -> np.ndarray:
    """JSB-style frames written by a next-frame model, each key drawn from its own Bernoulli: exactly
    ``steps`` quarter-note frames, the primer first.

    Taught in chapter 01, section 8 (polyphony). The model is re-run for each frame over all ``steps``
    frames, those not written yet left silent: it is causal, so they change nothing before them (a chorale
    has only a few dozen frames).

    Parameters
    ----------
    model
        A next-frame model: ``model(frames)`` gives per-key logits (:mod:`musegen_widgets.models.frames`).
    steps
        How many quarter-note frames, primer included.
    seed
        Makes the sample repeatable.
    primer
        ``(quarters, 88)`` frames to continue; default: start from the silence before a piece.

    Returns
    -------
    numpy.ndarray
        Boolean ``(steps, 88)`` frames.
    """
    width = encoding.FRAME_HIGH - encoding.FRAME_LOW + 1
    primer = np.zeros((0, width), bool) if primer is None else np.asarray(primer, dtype=bool)
    if primer.ndim != 2 or primer.shape[1] != width:
        raise MusegenError(f"the primer must be frames of shape (quarters, {width}), got {primer.shape}")
    if not isinstance(steps, (int, np.integer)) or not len(primer) < steps <= MAX_STEPS // 4:
        raise MusegenError(
            f"steps must be a whole number above the primer's {len(primer)} frames and at most "
            f"{MAX_STEPS // 4}, got {steps!r}"
        )
    rng = np.random.default_rng(seed)
    frames = np.zeros((1, steps + 1, width), np.float32)  # the silence before the piece, then the frames
    frames[0, 1 : len(primer) + 1] = primer
    # Keras's compiled predict runs one traced graph; calling the model runs its ops one by one, 30x slower
    predict = getattr(model, "predict_on_batch", model)
    for t in range(len(primer), steps):
        logits = np.asarray(predict(frames), dtype=np.float64)[0, t]
        frames[0, t + 1] = rng.random(width) < sigmoid(logits)
    return frames[0, 1:].astype(bool)


def sample_satb(
    model, *, steps: int, temperature: float = 1.0, seed: int | None = None, primer: Any = None
) -> np.ndarray:
    """Four voices of exactly ``steps`` 16th steps (``4 * steps`` S-A-T-B tokens), primer included, written
    by a four-voice model one token at a time.

    Taught in chapter 05, section 5 (four voices).

    Parameters
    ----------
    model
        A model over :func:`~musegen_widgets.encoding.encode_satb` tokens with ``stepper()``, such as
        ``load_pretrained("chorale_transformer")``.
    steps, temperature, seed
        As for :func:`sample`.
    primer
        S-A-T-B tokens, or music of four voices, to continue. Default: one step of silence in every voice.
    """
    check_settings(temperature, steps=steps)
    if primer is None:
        tokens = [encoding.SATB_SILENCE] * 4
    elif isinstance(primer, np.ndarray) and primer.ndim == 1:
        tokens = [int(t) for t in primer]
    else:
        tokens = [int(t) for t in encoding.encode_satb(primer)]
    if len(tokens) % 4 or not tokens:
        raise MusegenError(f"an S-A-T-B primer has four tokens per step, got {len(tokens)}")
    if 4 * steps <= len(tokens):
        raise MusegenError(
            f"steps is the length of the music, primer included: ask for more than the primer's {len(tokens) // 4}"
        )
    rng = np.random.default_rng(seed)
    stepper = model.stepper()
    for token in tokens[:-1]:
        stepper.feed(token)
    logits = stepper.feed(tokens[-1])
    while len(tokens) < 4 * steps:
        tokens.append(int(draw_from_logits(logits, temperature, rng)))
        if len(tokens) < 4 * steps:
            logits = stepper.feed(tokens[-1])
    return np.array(tokens, dtype=np.int64)
