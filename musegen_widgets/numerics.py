"""The few numeric pieces that models, samplers and metrics share, written once (chapter 01).

``log_softmax``
    ``log(softmax(z))`` without overflow: how every likelihood of the course is computed.
``sigmoid``
    The logistic function without overflow warnings (LSTM gates, the frame model's keys).
``lstm_step``, ``lstm_gates``
    One step of a Keras LSTM layer in numpy, so that samplers run one token at a time in milliseconds.
``draw``, ``draw_from_logits``
    One token per row of a distribution; temperature 0 is greedy (the most likely token) everywhere.
``one_blas_thread``
    Where the samplers run: numpy's matrix products on one thread.

Every function works on the last axis and accepts a single row or a batch of rows.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import MusegenError

__all__ = ["log_softmax", "sigmoid", "lstm_step", "lstm_gates", "draw", "draw_from_logits", "one_blas_thread"]


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(logits))``, computed stably (the largest logit is subtracted first).

    Taught in chapter 01, section 1 (what the model is scored on).

    >>> np.round(np.exp(log_softmax(np.array([0.0, np.log(3.0)]))), 3).tolist()
    [0.25, 0.75]
    """
    logits = np.asarray(logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))``, written with ``tanh`` so that it never overflows.

    Taught in chapter 01, section 4 (LSTM).

    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


def lstm_step(
    x: np.ndarray, h: np.ndarray, c: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One step of an LSTM with Keras's weights and gate order (input, forget, candidate, output).

    Taught in chapter 01, section 4 (LSTM).

    Parameters
    ----------
    x
        The input at this step, ``(features,)`` or ``(batch, features)``.
    h, c
        The hidden and cell state after the previous step, ``(units,)`` or ``(batch, units)``.
    kernel, recurrent, bias
        ``keras.layers.LSTM``'s ``cell.kernel`` ``(features, 4 units)``, ``cell.recurrent_kernel``
        ``(units, 4 units)`` and ``cell.bias`` ``(4 units,)``, as numpy arrays.

    Returns
    -------
    tuple of numpy.ndarray
        The new ``(h, c)``.
    """
    return lstm_gates(x @ kernel + h @ recurrent + bias, c)


def lstm_gates(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The second half of :func:`lstm_step`: from the pre-activations ``z = x W + h U + b`` ``(..., 4 units)``
    and the cell state, the new ``(h, c)``. A stepper that computes ``z`` its own faster way (one fused
    matrix-vector product) shares the gates with everyone else.

    Taught in chapter 01, section 4 (LSTM).
    """
    if z.shape[-1] % 4:
        raise MusegenError(f"LSTM pre-activations come in four equal parts, got {z.shape[-1]} columns")
    units = z.shape[-1] // 4  # four views of z (what np.split gives, without its cost in every step)
    gate_in, gate_forget, candidate, gate_out = (z[..., k * units : (k + 1) * units] for k in range(4))
    c = sigmoid(gate_forget) * c + sigmoid(gate_in) * np.tanh(candidate)
    return sigmoid(gate_out) * np.tanh(c), c


def draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probabilities`` (the last axis), drawn with one uniform number per row.

    The same draw as ``rng.choice(len(p), p=p)`` for a single row, and the same random numbers used.

    Taught in chapter 01, section 7 (sampling).

    >>> int(draw(np.array([0.0, 1.0, 0.0]), np.random.default_rng(0)))
    1
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    cumulative /= cumulative[..., -1:]
    uniform = rng.random(cumulative.shape[:-1] + (1,))
    return (cumulative > uniform).argmax(axis=-1)


def draw_from_logits(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``logits``, from ``softmax(logits / temperature)``; temperature 0 is greedy.

    Taught in chapter 01, section 7 (sampling).

    >>> draw_from_logits(np.array([[0.0, 2.0], [3.0, 1.0]]), 0, np.random.default_rng(0)).tolist()
    [1, 0]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1)
    return draw(np.exp(log_softmax(logits / temperature)), rng)


@functools.cache
def _blas_pools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A ``with`` block in which numpy's BLAS (OpenBLAS) computes on one thread.

    Taught in chapter 06, section 3 (sampling). A sampler multiplies small matrices step after step, where
    a second thread gains a little alone (harmonising eight bars: about 0.35 s against 0.46 s); and beside
    another busy process (a second kernel, a classmate's on one JupyterHub) each of BLAS's threads spins
    waiting for a core the other holds, which made the same harmonisation take 2.5 s (up to 7 s) instead of
    0.76 s (``benchmarks/README.md``). The results came out the same numbers (harmonisations of six seeds
    and a melody sample compared bit for bit): OpenBLAS's threads split a product's output, not its sums.

    >>> with one_blas_thread():
    ...     float((np.ones((2, 3)) @ np.ones(3)).sum())
    6.0
    """
    return _blas_pools().limit(limits=1, user_api="blas")
