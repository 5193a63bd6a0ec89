"""``LatentExplorer``: interpolation, prior samples and attribute vectors of the melody VAE (chapter 02)."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import numpy as np

from .. import encoding
from ..errors import MusegenError
from ..render import PALETTE
from ._base import Explorer, error_html, uploaded_tokens
from .score_view import ScoreView

__all__ = ["LatentExplorer"]


def _map_svg(background: np.ndarray, path: np.ndarray, current: np.ndarray, size: int = 240) -> str:
    """A small SVG scatter: the test set's codes (grey), the path A->B, and the current code (red)."""
    everything = np.vstack([background, path, current[None]])
    low, high = everything.min(axis=0), everything.max(axis=0)
    scale = (size - 20) / np.maximum(high - low, 1e-9)

    def xy(point):
        x, y = 10 + (point - low) * scale
        return f"{x:.1f}", f"{size - y:.1f}"

    dots = "".join('<circle cx="{}" cy="{}" r="1.6" fill="#bbb"/>'.format(*xy(p)) for p in background)
    line = " ".join(",".join(xy(p)) for p in path)
    ends = "".join(
        '<text x="{}" y="{}" font-size="12" font-weight="bold" fill="{}">{}</text>'.format(
            *xy(p), PALETTE[0], label
        )
        for p, label in ((path[0], "A"), (path[-1], "B"))
    )
    here = '<circle cx="{}" cy="{}" r="5" fill="{}"/>'.format(*xy(current), PALETTE[3])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'style="background:white;border:1px solid #ddd">{dots}'
        f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>{ends}{here}'
        '<text x="4" y="12" font-size="10" fill="#666">test-set codes, first two principal components</text>'
        "</svg>"
    )


class LatentExplorer(Explorer):
    """Walk the melody VAE's latent space: interpolate between two melodies, sample the prior, add attributes.

    Taught in chapter 02, section 9 (the explorer).

    Melodies A and B are two-bar segments of test chorales (pick the chorale and which segment) or the first
    two bars of an uploaded MIDI/MusicXML file. The slider ``alpha`` moves along the path between their
    codes (``slerp`` or ``lerp``, see :func:`~musegen_widgets.models.melody_vae.latent_path`); "Sample
    prior" draws a code from ``N(0, I)`` instead, and moving ``alpha`` or changing A or B returns to the
    path. The attribute sliders add multiples of MusicVAE attribute vectors (note density, pitch height:
    top-quartile minus bottom-quartile mean code of the test segments). The code is decoded at
    ``temperature`` (0: the most likely melody) into a :class:`ScoreView`, beside a map of where the code
    lies among the test set's codes. Bad files or settings show a message; the last melody stays.

    Parameters
    ----------
    model
        A :class:`~musegen_widgets.models.melody_vae.MelodyVAE`.
    """

    PATH_STEPS = 11  # alpha in steps of 0.1

    def __init__(self, model):
        from .. import data
        from ..models.melody_vae import attribute_vector, segments

        self.model = model
        self._segments = {
            piece.title: segments([encoding.encode_melody(piece)])
            for piece in data.load_pieces("test", meter="4/4")
        }
        self._segments = {cid: cut for cid, cut in self._segments.items() if len(cut)}
        test = np.concatenate(list(self._segments.values()))
        codes, _ = model.encode(test)
        self._center = codes.mean(axis=0)
        self._axes = np.linalg.svd(codes - self._center, full_matrices=False)[2][:2]
        self._background = (codes - self._center) @ self._axes.T
        notes = encoding.is_note(test)
        pitches = np.where(notes, test, np.nan)
        self.attributes = {
            "note density": attribute_vector(codes, notes.sum(axis=1)),
            "pitch height": attribute_vector(codes, np.nanmean(pitches, axis=1)),
        }
        self._uploaded: dict[str, np.ndarray] = {}
        self._prior_code: np.ndarray | None = None
        self.codes: dict[str, np.ndarray] = {}
        self.tokens: np.ndarray | None = None
        style = {"description_width": "90px"}
        names = list(self._segments)
        self.chorale = {
            end: widgets.Dropdown(options=names, value=names[i], description=f"melody {end}", style=style)
            for i, end in enumerate("AB")
        }
        self.segment = {
            end: widgets.IntSlider(
                2 * i, min=0, max=len(self._segments[names[i]]) - 1, description="segment", style=style
            )
            for i, end in enumerate("AB")
        }
        self.upload = {
            end: widgets.FileUpload(
                accept=".mid,.midi,.xml,.musicxml,.mxl", multiple=False, description=f"Upload {end}"
            )
            for end in "AB"
        }
        self.alpha = widgets.FloatSlider(0.0, min=0.0, max=1.0, step=0.1, description="alpha", style=style)
        self.method = widgets.ToggleButtons(
            options=["slerp", "lerp"], value="slerp", description="path", style=style
        )
        self.temperature = widgets.FloatSlider(
            0.0, min=0.0, max=1.5, step=0.05, description="temperature", style=style
        )
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed", style=style)
        self.prior_button = widgets.Button(description="Sample prior", icon="random", button_style="primary")
        self.attribute_sliders = {
            name: widgets.FloatSlider(0.0, min=-2.0, max=2.0, step=0.1, description=name, style=style)
            for name in self.attributes
        }
        self.message = widgets.HTML()
        self.map = widgets.HTML()
        self.view = ScoreView(None)
        for end in "AB":
            self._encode(end)
            self.chorale[end].observe(lambda change, end=end: self._chorale_changed(end), names="value")
            self.segment[end].observe(lambda change, end=end: self._endpoint_changed(end), names="value")
            self.upload[end].observe(lambda change, end=end: self._uploaded_file(end, change), names="value")
        self.refresh()
        self.alpha.observe(self._back_to_path, names="value")
        for control in (self.method, self.temperature, self.seed, *self.attribute_sliders.values()):
            control.observe(self._changed, names="value")
        self.prior_button.on_click(self._sample_prior)
        ends = widgets.HBox(
            [widgets.VBox([self.chorale[end], self.segment[end], self.upload[end]]) for end in "AB"]
        )
        controls = widgets.HBox(
            [
                widgets.VBox([self.alpha, self.method, *self.attribute_sliders.values()]),
                widgets.VBox([self.temperature, self.seed, self.prior_button]),
            ]
        )
        super().__init__(
            [
                ends,
                controls,
                self.message,
                widgets.HBox([self.view, self.map], layout=widgets.Layout(align_items="flex-start")),
            ]
        )

    # ------------------------------------------------------------------------------------ the code

    def _encode(self, end: str) -> None:
        if end in self._uploaded:
            segment = self._uploaded[end]
        else:
            cut = self._segments[self.chorale[end].value]
            segment = cut[min(self.segment[end].value, len(cut) - 1)]
        self.codes[end] = self.model.encode(segment)[0][0]

    def path(self) -> np.ndarray:
        """The codes from A to B at alpha = 0, 0.1, ..., 1: ``(11, latent)``."""
        from ..models.melody_vae import latent_path

        return latent_path(self.codes["A"], self.codes["B"], steps=self.PATH_STEPS, method=self.method.value)

    def code(self) -> np.ndarray:
        """The code shown now: a point of the path (or a prior sample) plus the attribute vectors."""
        if self._prior_code is not None:
            base = self._prior_code
        else:
            base = self.path()[round(self.alpha.value * (self.PATH_STEPS - 1))]
        return base + sum(
            slider.value * self.attributes[name] for name, slider in self.attribute_sliders.items()
        )

    def _title(self) -> str:
        where = (
            "prior sample"
            if self._prior_code is not None
            else f"alpha {self.alpha.value:.1f} ({self.method.value})"
        )
        return f"{where}, temperature {self.temperature.value:.2f}"

    def show(self) -> None:
        """Decode the current code and show it, with its place on the latent map."""
        code = self.code()
        tokens = self.model.decode(code, temperature=self.temperature.value, seed=self.seed.value)[0]
        if not encoding.is_note(tokens).any():
            raise MusegenError("this code decodes to rests only: move a slider or raise the temperature")
        self.view.update(tokens, title=self._title(), time_signature="4/4")
        self.tokens = tokens
        project = lambda z: (np.atleast_2d(z) - self._center) @ self._axes.T  # noqa: E731
        self.map.value = _map_svg(self._background, project(self.path()), project(code)[0])

    # ------------------------------------------------------------------------------------ callbacks

    def _back_to_path(self, change=None) -> None:
        self._prior_code = None
        self._changed()

    def _chorale_changed(self, end: str) -> None:
        self._uploaded.pop(end, None)
        self.segment[end].max = len(self._segments[self.chorale[end].value]) - 1
        self._endpoint_changed(end)

    def _endpoint_changed(self, end: str) -> None:
        try:
            self._encode(end)
        except MusegenError as error:
            self.message.value = error_html(error)
            return
        self._back_to_path()

    def _sample_prior(self, _button=None) -> None:
        rng = np.random.default_rng(self.seed.value)
        self._prior_code = rng.standard_normal(self.model.latent)
        self.seed.unobserve(self._changed, names="value")
        self._next_seed()  # the next press draws another
        self.seed.observe(self._changed, names="value")
        self.refresh()

    def _uploaded_file(self, end: str, change: dict) -> None:
        from ..models.melody_vae import segments

        if not change["new"]:
            return
        try:
            tokens = uploaded_tokens(change["new"][0])
            cut = segments([tokens])
            if len(cut) == 0:
                raise MusegenError(
                    f"{Path(change['new'][0]['name']).name}: no two bars with notes (the VAE reads two bars)"
                )
        except MusegenError as error:
            self.message.value = error_html(error)
            return
        self._uploaded[end] = cut[0]
        self._endpoint_changed(end)

    def __repr__(self) -> str:
        return f"LatentExplorer({self._title()})"
