"""Writing new melodies with a trained sequence model (chapter 01).

Every sequence model of the course offers ``model.stepper()``: an object whose ``feed(token)`` takes the
next token and returns the logits for the one after, carrying the model's state (an LSTM's ``h`` and
``c``, an n-gram's context) from step to step. Sampling is then incremental: one cheap step per token,
instead of re-running the model over the whole prefix for every new token (see the benchmark).

How the next token is drawn from the logits ``z``:

* **temperature** ``T``: ``softmax(z / T)``; below 1 sharpens the distribution (safer, duller), above 1
  flattens it (bolder, more mistakes). ``T -> 0`` is greedy decoding.
* **top-k**: keep only the ``k`` most probable tokens, renormalised.
* **top-p** (nucleus): keep the smallest set of most probable tokens whose total probability reaches ``p``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import encoding
from .errors import MusegenError
from .metrics import log_softmax

__all__ = ["sample", "sample_with_probabilities", "sample_frames", "filter_distribution", "check_settings"]


def check_settings(
    temperature: float, top_k: int | None, top_p: float | None, steps: int | None = None
) -> None:
    """Raise :class:`MusegenError` naming the first setting that cannot be used."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise MusegenError(f"temperature must be a finite number above 0, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise MusegenError(f"top-k must be a whole number of at least 1, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise MusegenError(f"top-p must be in (0, 1], got {top_p!r}")
    if steps is not None and (
        not isinstance(steps, (int, np.integer)) or not 1 <= steps <= encoding.MAX_STEPS
    ):
        raise MusegenError(f"steps must be a whole number from 1 to {encoding.MAX_STEPS}, got {steps!r}")


def filter_distribution(
    logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """The probabilities the sampler draws from: tempered, then cut to the top-k and the top-p nucleus.

    >>> p = filter_distribution(np.log(np.array([0.5, 0.3, 0.15, 0.05])), top_p=0.8)
    >>> np.round(p, 3).tolist()
    [0.625, 0.375, 0.0, 0.0]
    """
    check_settings(temperature, top_k, top_p)
    p = np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature))
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
        return encoding._check_tokens(np.asarray(primer))
    return encoding.encode(primer)  # a file, a stream or a Piece: its top voice


def sample_with_probabilities(
    model,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    primer: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`sample`, and also the probability the model gave each generated token (before the
    temperature and cuts), for plotting how sure it was."""
    check_settings(temperature, top_k, top_p, steps)
    primer = _primer_tokens(primer)
    if len(primer) + steps > encoding.MAX_STEPS:
        raise MusegenError(f"primer and steps together exceed {encoding.MAX_STEPS} steps")
    rng = np.random.default_rng(seed)
    stepper = model.stepper()
    for token in primer[:-1]:
        stepper.feed(int(token))
    logits = stepper.feed(int(primer[-1]))
    tokens, probabilities = list(primer), []
    for _ in range(steps):
        p = filter_distribution(logits, temperature, top_k, top_p)
        token = int(rng.choice(len(p), p=p))
        probabilities.append(float(np.exp(log_softmax(np.asarray(logits, dtype=np.float64))[token])))
        tokens.append(token)
        logits = stepper.feed(token)
    return np.array(tokens, dtype=np.int64), np.array(probabilities)


def sample(
    model,
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    primer: Any = None,
) -> np.ndarray:
    """Melody tokens written by ``model``, one step at a time.

    Parameters
    ----------
    model
        A course sequence model (``model.stepper()``), such as ``load_pretrained("melody_lstm")`` or an
        :class:`~musegen_widgets.ngram.NGramModel`.
    steps
        How many 16th steps to write after the primer.
    temperature, top_k, top_p
        How the next token is drawn (see the module's docs).
    seed
        Makes the sample repeatable.
    primer
        Tokens to continue (step 0 must be a downbeat), or a MIDI/MusicXML path, stream or ``Piece`` whose
        top voice is used. Default: a single ``REST``.

    Returns
    -------
    numpy.ndarray
        The primer followed by ``steps`` new tokens.
    """
    return sample_with_probabilities(model, steps, temperature, top_k, top_p, seed, primer)[0]


def sample_frames(model, n_frames: int, seed: int | None = None, primer: Any = None) -> np.ndarray:
    """JSB-style frames written by a next-frame model: each key drawn from its own Bernoulli.

    The model is re-run over the whole prefix for each frame (a chorale has only a few dozen frames).

    Parameters
    ----------
    model
        A next-frame model: ``model(frames)`` gives per-key logits (:mod:`musegen_widgets.models.frames`).
    n_frames
        How many quarter-note frames to write after the primer.
    seed
        Makes the sample repeatable.
    primer
        ``(quarters, 88)`` frames to continue; default: start from silence.

    Returns
    -------
    numpy.ndarray
        Boolean ``(len(primer) + n_frames, 88)`` frames, the primer first.
    """
    width = encoding.FRAME_HIGH - encoding.FRAME_LOW + 1
    if not isinstance(n_frames, (int, np.integer)) or not 1 <= n_frames <= encoding.MAX_STEPS // 4:
        raise MusegenError(
            f"n_frames must be a whole number from 1 to {encoding.MAX_STEPS // 4}, got {n_frames!r}"
        )
    primer = np.zeros((0, width), bool) if primer is None else np.asarray(primer, dtype=bool)
    if primer.ndim != 2 or primer.shape[1] != width:
        raise MusegenError(f"the primer must be frames of shape (quarters, {width}), got {primer.shape}")
    rng = np.random.default_rng(seed)
    frames = np.concatenate([np.zeros((1, width), bool), primer])  # the silence before the piece
    for _ in range(n_frames):
        logits = np.asarray(model(frames[None].astype(np.float32)), dtype=np.float64)[0, -1]
        probability = 1.0 / (1.0 + np.exp(-logits))
        frames = np.concatenate([frames, (rng.random(width) < probability)[None]])
    return frames[1:]
