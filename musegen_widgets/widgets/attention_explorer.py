"""``AttentionExplorer``: which earlier notes a Transformer's head looks at, step by step (chapter 05)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import encoding, render
from ..errors import MusegenError
from ..piece import STEPS_PER_QUARTER
from ._base import Explorer, figure_png
from .score_view import ScoreView

__all__ = ["AttentionExplorer"]

ALL_HEADS = -1
"""The head menu's value for the mean over a block's heads."""


class AttentionExplorer(Explorer):
    """Pick a block, a head and a step of a melody: see which earlier notes that step attends to.

    Taught in chapter 05, section 6 (what the heads look at).

    The melody is engraved and playable at the top (a :class:`ScoreView`); below it, its piano roll with
    every note shaded by the attention the chosen step gives it (:func:`musegen_widgets.render.attention_pianoroll`).
    The weights of every block and head are computed once, when the widget is made.

    Parameters
    ----------
    model
        A course Transformer with ``attention_weights(tokens)``, such as
        ``load_pretrained("melody_transformer")``.
    melody
        Melody tokens (or anything :func:`musegen_widgets.encoding.encode_melody` takes). Default: the first
        test-split chorale.
    title
        Shown above the score.
    """

    def __init__(self, model, melody=None, *, title: str | None = None):
        from .. import data

        if not hasattr(model, "attention_weights"):
            raise MusegenError(f"{type(model).__name__} has no attention to show: pass a course Transformer")
        if melody is None:
            melody, title = data.load_melodies("test")[0], title or data.chorale_ids("test")[0]
        tokens = melody if isinstance(melody, np.ndarray) else encoding.encode_melody(melody)
        self.tokens = encoding.check_tokens(tokens)
        self.maps = model.attention_weights(self.tokens)  # (blocks, heads, steps, steps)
        blocks, heads, steps, _ = self.maps.shape
        style = {"description_width": "60px"}
        self.block = widgets.Dropdown(
            options=[(f"block {i + 1}", i) for i in range(blocks)],
            value=blocks - 1,
            description="block",
            style=style,
        )
        self.head = widgets.Dropdown(
            options=[(f"head {i + 1}", i) for i in range(heads)] + [("mean of heads", ALL_HEADS)],
            value=0,
            description="head",
            style=style,
        )
        self.step = widgets.IntSlider(
            min(steps - 1, 4 * STEPS_PER_QUARTER * 4 - 1),
            min=0,
            max=steps - 1,
            description="step",
            style=style,
            layout=widgets.Layout(width="60%"),
        )
        self.message = widgets.HTML()
        self.picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.view = ScoreView(self.tokens, title=title)
        for control in (self.block, self.head, self.step):
            control.observe(self._changed, names="value")
        controls = widgets.HBox([self.block, self.head, self.step])
        super().__init__([self.view, controls, self.message, self.picture])
        self.refresh()

    def weights(self) -> np.ndarray:
        """The chosen step's attention over every step, for the chosen block and head (or their mean)."""
        rows = self.maps[self.block.value, :, self.step.value]
        return rows.mean(axis=0) if self.head.value == ALL_HEADS else rows[self.head.value]

    def show(self) -> None:
        self.picture.value = figure_png(
            render.attention_pianoroll(self.tokens, self.weights(), self.step.value)
        )

    def __repr__(self) -> str:
        return f"AttentionExplorer({len(self.tokens)} steps, {self.maps.shape[0]} blocks x {self.maps.shape[1]} heads)"
