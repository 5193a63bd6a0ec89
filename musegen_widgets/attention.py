"""Attention from scratch in numpy: the arithmetic of a Transformer, one function per idea (chapter 05).

``scaled_dot_product_attention``
    ``softmax(q kᵀ / √d + bias)`` over the keys a mask allows, times the values; returns the weights too.
``causal_mask``
    Step ``i`` may look at steps ``0 .. i`` only: what makes a Transformer a left-to-right model.
``multi_head_attention``
    Several attentions side by side on learned projections, with the weights of ``keras.layers.MultiHeadAttention``
    (so the chapter can check this function against Keras with copied weights).
``relative_logits_naive``, ``relative_logits_skewed``
    Relative attention (Shaw et al. 2018): a learned vector per distance ``i - j``, dotted with the query, is
    added to the logits. The naive way gathers an ``L × L × d`` tensor of embeddings; Music Transformer's
    "skewing" (Huang et al. 2018) gets the same numbers from one ``L × L`` product by padding a column,
    reshaping and dropping a row, in ``O(L d)`` memory instead of ``O(L² d)``.
``sinusoidal_positions``
    The original Transformer's absolute positions (Vaswani et al. 2017): ``sin`` and ``cos`` of the step
    at geometrically spaced frequencies, added to each step's input.
``relative_table``
    The embeddings for distances ``L - 1 .. 0`` from a table of ``max_distance`` of them; farther distances
    share the farthest one (clipping, as Shaw et al. do).

Shapes put heads first and the time axis next to last: queries ``(..., L, d)``, keys ``(..., L, d)``.
"""

from __future__ import annotations

import numpy as np

from .errors import MusegenError
from .numerics import log_softmax

__all__ = [
    "causal_mask",
    "scaled_dot_product_attention",
    "multi_head_attention",
    "sinusoidal_positions",
    "relative_table",
    "relative_logits_naive",
    "relative_logits_skewed",
]


def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` booleans: row ``i`` is True for the steps ``j <= i`` it may attend to.

    Taught in chapter 05, section 1 (attention from scratch).

    >>> causal_mask(3).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    return np.tril(np.ones((length, length), dtype=bool))


def scaled_dot_product_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(q kᵀ / √d + bias) v`` with masked-out keys given zero weight; returns ``(output, weights)``.

    Taught in chapter 05, section 1 (attention from scratch).

    Parameters
    ----------
    q, k, v
        Queries ``(..., Lq, d)``, keys ``(..., Lk, d)`` and values ``(..., Lk, dv)``.
    mask
        Booleans broadcastable to ``(..., Lq, Lk)``: True where a query may attend to a key (such as
        :func:`causal_mask`). Every query must be allowed at least one key.
    bias
        Added to the scaled logits (relative attention's position term, :func:`relative_logits_skewed`).

    >>> q = k = np.eye(2)[None]; v = np.array([[[1.0], [3.0]]])
    >>> out, w = scaled_dot_product_attention(q, k, v, mask=causal_mask(2))
    >>> out[0, :, 0].round(3).tolist(), w[0, 0].tolist()
    ([1.0, 2.34], [1.0, 0.0])
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if bias is not None:
        logits = logits + bias
    if mask is not None:
        mask = np.broadcast_to(mask, logits.shape)
        if not mask.any(axis=-1).all():
            raise MusegenError("every query needs at least one key the mask allows")
        logits = np.where(mask, logits, -np.inf)
    weights = np.exp(log_softmax(logits))
    return weights @ v, weights


def multi_head_attention(
    x: np.ndarray,
    weights: list[np.ndarray],
    *,
    heads: int,
    mask: np.ndarray | None = None,
    context: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head attention of ``x`` ``(L, D)`` to ``context`` (default ``x``: self-attention); returns the
    output ``(L, D)`` and the weights ``(heads, L, Lk)``.

    Taught in chapter 05, section 1 (attention from scratch).

    Parameters
    ----------
    weights
        ``keras.layers.MultiHeadAttention``'s eight arrays in its order: query kernel ``(D, heads, d)`` and
        bias ``(heads, d)``, key kernel and bias, value kernel and bias, output kernel ``(heads, d, D)`` and
        bias ``(D,)`` (``[w.numpy() for w in layer.weights]``).
    heads
        How many heads.
    mask, bias
        As in :func:`scaled_dot_product_attention`, for every head.
    """
    wq, bq, wk, bk, wv, bv, wo, bo = (np.asarray(w, dtype=np.float64) for w in weights)
    if wq.shape[1] != heads:
        raise MusegenError(f"the query kernel has {wq.shape[1]} heads, not {heads}")
    x = np.asarray(x, dtype=np.float64)
    context = x if context is None else np.asarray(context, dtype=np.float64)
    # (L, D) x (D, heads, d) -> (heads, L, d): one projection per head
    q = np.einsum("ld,dhk->hlk", x, wq) + bq[:, None]
    k = np.einsum("ld,dhk->hlk", context, wk) + bk[:, None]
    v = np.einsum("ld,dhk->hlk", context, wv) + bv[:, None]
    out, attention = scaled_dot_product_attention(q, k, v, mask=mask, bias=bias)
    return np.einsum("hlk,hkd->ld", out, wo) + bo, attention


def sinusoidal_positions(length: int, width: int, *, start: int = 0) -> np.ndarray:
    """``(length, width)`` absolute positions of steps ``start .. start + length - 1``:
    ``PE[t, 2i] = sin(t / 10000^(2i / width))`` and ``PE[t, 2i + 1] = cos(t / 10000^(2i / width))``
    (Vaswani et al. 2017, section 3.5).

    Taught in chapter 05, section 2 (positions).

    >>> sinusoidal_positions(2, 4).astype(float).round(3).tolist()
    [[0.0, 1.0, 0.0, 1.0], [0.841, 0.54, 0.01, 1.0]]
    """
    if width % 2:
        raise MusegenError(f"sinusoidal positions need an even width, got {width}")
    angles = np.arange(start, start + length)[:, None] / 10000.0 ** (np.arange(0, width, 2) / width)[None]
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(length, width).astype(np.float32)


def relative_table(table: np.ndarray, length: int) -> np.ndarray:
    """The relative embeddings for distances ``length - 1, ..., 1, 0`` (in that order), from ``table``
    ``(..., max_distance, d)`` whose last row is distance 0; distances of ``max_distance`` or more share the
    farthest row.

    Taught in chapter 05, section 2 (positions).

    >>> relative_table(np.arange(3.0)[:, None], 5)[:, 0].tolist()  # rows for distances 2, 1, 0
    [0.0, 0.0, 0.0, 1.0, 2.0]
    """
    table = np.asarray(table)
    max_distance = table.shape[-2]
    if length <= max_distance:
        return table[..., max_distance - length :, :]
    farthest = np.repeat(table[..., :1, :], length - max_distance, axis=-2)
    return np.concatenate([farthest, table], axis=-2)


def relative_logits_naive(q: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """``S[..., i, j] = q[..., i, :] · E[distance i - j]`` for ``j <= i`` (0 above the diagonal), by gathering
    an ``(L, L, d)`` tensor of embeddings: clear, and ``L²d`` numbers in memory.

    Taught in chapter 05, section 2 (positions).

    Parameters
    ----------
    q
        Queries ``(..., L, d)``.
    relative
        Embeddings for distances ``L - 1 .. 0`` (``(..., L, d)``, :func:`relative_table`).
    """
    q, relative = np.asarray(q), np.asarray(relative)
    length = q.shape[-2]
    i, j = np.indices((length, length))
    row = np.clip(length - 1 - (i - j), 0, length - 1)  # distance i - j sits at row L - 1 - (i - j)
    gathered = relative[..., row, :]  # (..., L, L, d): the embedding of every pair's distance
    logits = np.einsum("...id,...ijd->...ij", q, gathered)
    return np.where(j <= i, logits, 0.0)


def relative_logits_skewed(q: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """The same as :func:`relative_logits_naive` from one ``(L, L)`` product ``q Eᵀ``, skewed into place:
    pad a column of zeros on the left, reshape ``(L, L + 1)`` to ``(L + 1, L)``, drop the first row
    (Huang et al. 2018, section 3.4.1). Above the diagonal the numbers are meaningless; a causal mask hides them.

    Taught in chapter 05, section 2 (positions).

    >>> rng = np.random.default_rng(0); q, e = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    >>> bool(np.allclose(np.tril(relative_logits_skewed(q, e)), relative_logits_naive(q, e)))
    True
    """
    q, relative = np.asarray(q), np.asarray(relative)
    length = q.shape[-2]
    by_distance = q @ np.swapaxes(relative, -1, -2)  # (..., L, L): column r is distance L - 1 - r
    padded = np.concatenate([np.zeros((*by_distance.shape[:-1], 1)), by_distance], axis=-1)
    skewed = padded.reshape(*by_distance.shape[:-2], length + 1, length)
    return skewed[..., 1:, :]
