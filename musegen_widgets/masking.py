"""Orderless NADE's random masks: which cells of a chorale an infilling model is asked to fill (chapter 06).

A mask has the shape of the cells it covers and is ``True`` where a cell is hidden. Drawing the number of
hidden cells ``k`` uniformly from ``1..n`` and then which ``k`` cells uniformly (:func:`orderless_mask`)
is the same as hiding everything from position ``d`` on of a random ordering of the cells (Uria et al.
2014). The infilling model trains on such masks
(:func:`~musegen_widgets.models.chorale_infill.infill_batches`), and its likelihood is estimated by
averaging over them (:func:`~musegen_widgets.metrics.infill_nll`): both take them from here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["orderless_mask"]


def orderless_mask(candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random mask of orderless NADE: ``k`` of the ``n`` candidate cells hidden, ``k`` uniform in 1..n.

    Taught in chapter 06, section 2 (one network for every question). Hiding the cells that come from
    position ``d`` on of a random ordering of the candidates gives exactly this distribution, which is why
    the training loss averaged over such masks estimates the likelihood under random orderings.
    """
    candidates = np.asarray(candidates, dtype=bool)
    cells = np.flatnonzero(candidates)
    mask = np.zeros(candidates.shape, dtype=bool)
    if len(cells):
        hidden = rng.permutation(cells)[: rng.integers(1, len(cells) + 1)]
        mask.flat[hidden] = True
    return mask
