"""``SamplerWidget``: sliders that make a melody model write (chapter 01)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import encoding
from ..errors import MusegenError
from ..render import PALETTE
from ._base import Explorer, error_html, uploaded_tokens
from .score_view import ScoreView

__all__ = ["SamplerWidget"]


def _probability_strip(probabilities: np.ndarray, steps_per_bar: int = 16) -> str:
    """A small SVG line of the probability the model gave each sampled token, with bar lines."""
    if len(probabilities) == 0:
        return ""
    width, height = 800, 70
    x = np.linspace(0, width, len(probabilities))
    y = height - 4 - (height - 8) * np.clip(probabilities, 0, 1)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    bars = "".join(
        f'<line x1="{a:.1f}" x2="{a:.1f}" y1="0" y2="{height}" stroke="#ddd"/>' for a in x[::steps_per_bar]
    )
    return (
        '<div style="font-size:smaller;color:#555">probability the model gave each sampled token '
        f"(mean {probabilities.mean():.2f}; low points are surprises)</div>"
        f'<svg viewBox="0 0 {width} {height}" style="width:100%;max-width:{width}px;height:{height}px;'
        f'background:white">{bars}<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" '
        'stroke-width="1.5"/></svg>'
    )


class SamplerWidget(Explorer):
    """Sliders that make a melody model write, and a :class:`ScoreView` that shows and plays the result.

    Taught in chapter 01, section 7 (sampling).

    Temperature, the top-k / top-p cut, the length in bars and the seed are sliders; the primer (the music
    the model continues) is a test-split chorale's opening or an uploaded MIDI/MusicXML file; "Resample"
    draws with a new seed. A slider move resamples at once; moves made meanwhile are folded into one more sample
    of the last value (see :class:`Explorer`).
    A bad setting or file, or a sample with no notes, shows a message and leaves the last melody in place.
    The first primer is the opening of the first test chorale.

    Parameters
    ----------
    model
        A course sequence model with ``stepper()`` (see :mod:`musegen_widgets.sampling`).
    primer_bars
        How many bars of the chosen chorale or file the model continues.
    """

    def __init__(self, model, primer_bars: int = 2):
        from .. import data

        self.model, self.primer_bars = model, primer_bars
        self._chorales = dict(zip(data.chorale_ids("test"), data.load_melodies("test")))
        self._uploaded: np.ndarray | None = None
        style = {"description_width": "90px"}
        self.temperature = widgets.FloatSlider(
            1.0, min=0.1, max=2.0, step=0.05, description="temperature", style=style
        )
        self.cut = widgets.ToggleButtons(
            options=["none", "top-k", "top-p"], value="top-p", description="cut", style=style
        )
        self.top_k = widgets.IntSlider(10, min=1, max=40, description="top-k", style=style)
        self.top_p = widgets.FloatSlider(0.95, min=0.05, max=1.0, step=0.01, description="top-p", style=style)
        self.bars = widgets.IntSlider(8, min=1, max=32, description="bars", style=style)
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed", style=style)
        self.primer = widgets.Dropdown(
            options=["(silence)", *self._chorales],
            value=next(iter(self._chorales)),
            description="primer",
            style=style,
        )
        self.upload = widgets.FileUpload(
            accept=".mid,.midi,.xml,.musicxml,.mxl", multiple=False, description="Upload primer"
        )
        self.resample_button = widgets.Button(description="Resample", icon="refresh", button_style="primary")
        self.message = widgets.HTML()
        self.probabilities = widgets.HTML()
        self.tokens: np.ndarray | None = None
        self.view = ScoreView(None)
        self.refresh()
        for control in (
            self.temperature,
            self.cut,
            self.top_k,
            self.top_p,
            self.bars,
            self.seed,
            self.primer,
        ):
            control.observe(self._changed, names="value")
        self.upload.observe(self._uploaded_file, names="value")
        self.resample_button.on_click(self._next_seed)
        controls = widgets.HBox(
            [
                widgets.VBox([self.temperature, self.cut, self.top_k, self.top_p]),
                widgets.VBox(
                    [self.bars, self.seed, self.primer, widgets.HBox([self.upload, self.resample_button])]
                ),
            ]
        )
        super().__init__([controls, self.message, self.view, self.probabilities])

    def _primer_tokens(self) -> np.ndarray | None:
        source = (
            self._uploaded
            if self.primer.value == "(uploaded file)"
            else self._chorales.get(self.primer.value)
        )
        return None if source is None else source[: 16 * self.primer_bars]

    def _title(self) -> str:
        return f"seed {self.seed.value}, temperature {self.temperature.value:.2f}, primer {self.primer.value}"

    def _sample(self) -> np.ndarray:
        from .. import sampling

        primer = self._primer_tokens()
        at_least = 1 if primer is None else len(primer)  # no primer: the model starts from one REST
        tokens, probabilities = sampling.sample_with_probabilities(
            self.model,
            steps=max(16 * self.bars.value, at_least + 16),  # a bar more than the primer, at least
            temperature=self.temperature.value,
            top_k=self.top_k.value if self.cut.value == "top-k" else None,
            top_p=self.top_p.value if self.cut.value == "top-p" else None,
            seed=self.seed.value,
            primer=primer,
        )
        self.tokens = tokens
        self.probabilities.value = _probability_strip(probabilities)
        if not encoding.is_note(tokens).any():  # HOLD and REST only
            raise MusegenError(
                f"with these settings (seed {self.seed.value}) the model wrote only rests: "
                "try another seed, a higher temperature or a primer"
            )
        return tokens

    def show(self) -> None:
        """Draw a new sample with the current settings and show it."""
        self.view.update(self._sample(), title=self._title())

    def _uploaded_file(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        try:
            tokens = uploaded_tokens(files[0])
        except MusegenError as error:
            self.message.value = error_html(error)
            return
        self._uploaded = tokens
        if "(uploaded file)" not in self.primer.options:
            self.primer.options = [*self.primer.options, "(uploaded file)"]
        if self.primer.value == "(uploaded file)":
            self.refresh()
        else:
            self.primer.value = "(uploaded file)"  # observed: resamples

    def __repr__(self) -> str:
        return f"SamplerWidget({self._title()})"
