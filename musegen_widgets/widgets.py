"""Notebook widgets of the course, each taught in a chapter.

==================  ==============================================================  =======
widget              what it does                                                    chapter
==================  ==============================================================  =======
``ScoreView``       score, sound, piano roll and downloads of any music                00
``SamplerWidget``   sliders that make a melody model write                             01
``LatentExplorer``  interpolation, prior samples and attribute vectors of the VAE      02
``GanExplorer``     the chorale GAN's seed, shared and per-voice latents, binarisation 03
``ListeningTest``   a blind listening test, answers saved as given, binomial test      04
==================  ==============================================================  =======

They are plain ipywidgets, with no JupyterLab extension to build, so they work in JupyterLab,
Notebook 7, VS Code and on Binder. Scores are verovio SVG (:mod:`musegen_widgets.render`), sound is
synthesized in numpy (:mod:`musegen_widgets.audio`); nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from . import audio, encoding, render
from .errors import MusegenError

__all__ = ["ScoreView", "SamplerWidget", "LatentExplorer", "ListeningTest", "GanExplorer"]


# white like paper (also in dark themes), as wide as the notebook, long scores scroll
_SCORE_STYLE = "background:white;max-height:520px;overflow-y:auto;overflow-x:hidden"


def _download_link(data: bytes, filename: str, mime: str, label: str) -> str:
    payload = base64.b64encode(data).decode("ascii")
    return (
        f'<a download="{html.escape(filename)}" href="data:{mime};base64,{payload}" '
        'style="margin-right:1.2em" class="musegen-download">'
        f"&#x2B07; {html.escape(label)}</a>"
    )


def _downloads_html(piece: encoding.Piece, title: str, tempo: float) -> str:
    filename = _safe_filename(title)
    try:
        midi, musicxml = encoding.midi_bytes(piece, tempo), encoding.musicxml_bytes(piece)
    except Exception as error:  # music21 cannot write some odd notation; the score and sound still work
        return f"<i>no downloads for this music ({html.escape(type(error).__name__)}: {html.escape(str(error))})</i>"
    links = _download_link(midi, f"{filename}.mid", "audio/midi", "MIDI")
    return links + _download_link(
        musicxml, f"{filename}.musicxml", "application/vnd.recordare.musicxml+xml", "MusicXML"
    )


def _safe_filename(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._") or "music"
    return stem[:60]


def _pianoroll_png(piece: encoding.Piece) -> bytes:
    buffer = io.BytesIO()
    render.pianoroll(piece).savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class ScoreView(widgets.VBox):
    """Score, sound, piano roll and downloads of a piece, in one widget.

    Shows the engraved score (SVG), an audio player, a toggle for the piano roll, and download links for
    MIDI and MusicXML. :meth:`update` shows other music in the same view, which is what the sampling
    widgets of later chapters do.

    Parameters
    ----------
    x
        Anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames, a
        music21 stream, a MIDI or MusicXML path, or a ``Piece``; ``None`` for an empty view that
        :meth:`update` fills later.
    title
        Shown above the score (escaped: it may come from a user's file). Default: the piece's own title.
    tempo
        Playback tempo in quarter notes per minute.
    time_signature
        For arrays, which carry none.

    Raises
    ------
    MusegenError
        If ``x`` is not music the course can show; the message says why.
    """

    def __init__(
        self, x: Any, title: str | None = None, tempo: float = 90.0, time_signature: str | None = None
    ):
        self._title = widgets.HTML()
        self._score = widgets.HTML(layout=widgets.Layout(width="100%", overflow="auto"))
        self._audio = widgets.Audio(format="wav", autoplay=False, loop=False)
        self._roll_button = widgets.ToggleButton(value=False, description="Piano roll", icon="bars")
        self._downloads = widgets.HTML()
        self._roll = widgets.Image(format="png", layout=widgets.Layout(display="none", max_width="100%"))
        self._roll_button.observe(self._toggle_roll, names="value")
        controls = widgets.HBox(
            [self._audio, self._roll_button, self._downloads], layout=widgets.Layout(align_items="center")
        )
        super().__init__([self._title, controls, self._score, self._roll])
        self.tempo = tempo
        self.piece: encoding.Piece | None = None
        if x is not None:
            self.update(x, title, time_signature)

    def update(self, x: Any, title: str | None = None, time_signature: str | None = None) -> None:
        """Show other music. On bad input, raise :class:`MusegenError` and keep showing the old music."""
        piece = encoding.to_piece(x, time_signature)
        if piece.n_notes == 0:
            raise MusegenError("there are no notes to show")
        title = piece.title if title is None else title
        svg = render.score_svg(piece)
        wav = audio.wav_bytes(piece, self.tempo)
        # score and sound computed: now swap them in, so a failure above leaves the old view intact
        self.piece = piece
        self._title.value = f"<b>{html.escape(title)}</b>" if title else ""
        self._score.value = f'<div style="{_SCORE_STYLE}">{svg}</div>'
        self._audio.value = wav
        self._roll.value = _pianoroll_png(piece) if self._roll_button.value else b""
        # The files for download take music21 longer to write than score and sound together, so they come
        # last: the score and the player are already on screen while they are made.
        self._downloads.value = _downloads_html(piece, title, self.tempo)

    def _toggle_roll(self, change: dict) -> None:
        if change["new"] and self.piece is not None:
            self._roll.value = _pianoroll_png(self.piece)
        self._roll.layout.display = None if change["new"] else "none"

    def __repr__(self) -> str:  # the default would print the whole SVG
        return f"ScoreView({self.piece!r})"


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
        f'background:white">{bars}<polyline points="{points}" fill="none" stroke="#30638e" '
        'stroke-width="1.5"/></svg>'
    )


def _error_html(error: Exception) -> str:
    """An exception as a red message for a widget (the text escaped: it may quote a user's file)."""
    text = str(error) if isinstance(error, MusegenError) else f"{type(error).__name__}: {error}"
    return f'<span style="color:#b00020">{html.escape(text)}</span>'


def _debounced(callback, delay: float, timer):
    """Run ``callback`` once ``delay`` seconds pass with no new call; returns the timer to pass next time."""
    if delay <= 0:
        callback()
        return None
    if timer is not None:
        timer.cancel()
    from IPython import get_ipython

    if getattr(get_ipython(), "kernel", None) is not None:
        # In a kernel, run later on its own event loop: widget updates sent from another thread may
        # never reach the browser.
        return asyncio.get_running_loop().call_later(delay, callback)
    timer = threading.Timer(delay, callback)  # a script or a test, with no kernel loop: a timer thread
    timer.start()
    return timer


def _uploaded_tokens(upload: dict) -> np.ndarray:
    """Melody tokens of a file from a ``FileUpload``; errors name the file as the learner knows it."""
    name = Path(upload["name"]).name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(upload["content"]))
        try:
            return encoding.encode(path)
        except MusegenError as error:
            raise MusegenError(str(error).replace(str(path), name)) from None


class SamplerWidget(widgets.VBox):
    """Sliders that make a melody model write, and a :class:`ScoreView` that shows and plays the result.

    Temperature, the top-k / top-p cut, the length in bars and the seed are sliders; the primer (the music
    the model continues) is a test-split chorale's opening or an uploaded MIDI/MusicXML file; "Resample"
    draws with a new seed. Slider changes are debounced, so dragging resamples once, when the slider rests.
    A bad setting or file, or a sample with no notes, shows a message and leaves the last melody in place.
    The first primer is the opening of the first test chorale.

    Parameters
    ----------
    model
        A course sequence model with ``stepper()`` (see :mod:`musegen_widgets.sampling`).
    primer_bars
        How many bars of the chosen chorale or file the model continues.
    debounce
        Seconds a slider must rest before a new sample is drawn; 0 resamples at once.
    """

    def __init__(self, model, primer_bars: int = 2, debounce: float = 0.25):
        from . import data

        self.model, self.primer_bars, self.debounce = model, primer_bars, debounce
        self._chorales = dict(zip(data.chorale_ids("test"), data.load_melodies("test")))
        self._uploaded: np.ndarray | None = None
        self._timer = None
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
        self.resample_button.on_click(self._resample)
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
        from . import sampling

        primer = self._primer_tokens()
        steps = 16 * self.bars.value - (1 if primer is None else len(primer))  # no primer: one REST
        tokens, probabilities = sampling.sample_with_probabilities(
            self.model,
            steps=max(steps, 16),
            temperature=self.temperature.value,
            top_k=self.top_k.value if self.cut.value == "top-k" else None,
            top_p=self.top_p.value if self.cut.value == "top-p" else None,
            seed=self.seed.value,
            primer=primer,
        )
        self.tokens = tokens
        self.probabilities.value = _probability_strip(probabilities)
        if not (tokens >= 2).any():  # HOLD and REST only
            raise MusegenError(
                f"with these settings (seed {self.seed.value}) the model wrote only rests: "
                "try another seed, a higher temperature or a primer"
            )
        return tokens

    def refresh(self) -> None:
        """Draw a new sample with the current settings and show it; problems become a message."""
        try:
            self.view.update(self._sample(), title=self._title())
            self.message.value = ""
        except Exception as error:  # shown in the widget: a callback's exception would only reach the log
            self.message.value = _error_html(error)

    def _changed(self, change: dict) -> None:
        self._timer = _debounced(self.refresh, self.debounce, self._timer)

    def _resample(self, _button) -> None:
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # observed: resamples

    def _uploaded_file(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        try:
            tokens = _uploaded_tokens(files[0])
        except MusegenError as error:
            self.message.value = _error_html(error)
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
        '<text x="{}" y="{}" font-size="12" font-weight="bold" fill="#30638e">{}</text>'.format(*xy(p), label)
        for p, label in ((path[0], "A"), (path[-1], "B"))
    )
    here = '<circle cx="{}" cy="{}" r="5" fill="#d1495b"/>'.format(*xy(current))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'style="background:white;border:1px solid #ddd">{dots}'
        f'<polyline points="{line}" fill="none" stroke="#30638e" stroke-width="1.5"/>{ends}{here}'
        '<text x="4" y="12" font-size="10" fill="#666">test-set codes, first two principal components</text>'
        "</svg>"
    )


class LatentExplorer(widgets.VBox):
    """Walk the melody VAE's latent space: interpolate between two melodies, sample the prior, add attributes.

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
    debounce
        Seconds a slider must rest before the melody is decoded again; 0 decodes at once.
    """

    PATH_STEPS = 11  # alpha in steps of 0.1

    def __init__(self, model, debounce: float = 0.15):
        from . import data
        from .models.melody_vae import attribute_vector, segments

        self.model, self.debounce, self._timer = model, debounce, None
        self._segments = {
            cid: segments([melody])
            for cid, melody, meter in zip(
                data.chorale_ids("test"), data.load_melodies("test"), data.time_signatures("test")
            )
            if meter == "4/4"
        }
        self._segments = {cid: cut for cid, cut in self._segments.items() if len(cut)}
        test = np.concatenate(list(self._segments.values()))
        codes, _ = model.encode(test)
        self._center = codes.mean(axis=0)
        self._axes = np.linalg.svd(codes - self._center, full_matrices=False)[2][:2]
        self._background = (codes - self._center) @ self._axes.T
        notes = test >= 2
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
        from .models.melody_vae import latent_path

        return latent_path(self.codes["A"], self.codes["B"], self.PATH_STEPS, self.method.value)

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

    def refresh(self) -> None:
        """Decode the current code and show it; problems become a message and the last melody stays."""
        try:
            code = self.code()
            tokens = self.model.decode(code, temperature=self.temperature.value, seed=self.seed.value)[0]
            if not (tokens >= 2).any():
                raise MusegenError("this code decodes to rests only: move a slider or raise the temperature")
            self.view.update(tokens, title=self._title(), time_signature="4/4")
            self.tokens = tokens
            project = lambda z: (np.atleast_2d(z) - self._center) @ self._axes.T  # noqa: E731
            self.map.value = _map_svg(self._background, project(self.path()), project(code)[0])
            self.message.value = ""
        except Exception as error:  # shown in the widget: a callback's exception would only reach the log
            self.message.value = _error_html(error)

    # ------------------------------------------------------------------------------------ callbacks

    def _changed(self, change=None) -> None:
        self._timer = _debounced(self.refresh, self.debounce, self._timer)

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
            self.message.value = _error_html(error)
            return
        self._back_to_path()

    def _sample_prior(self, _button=None) -> None:
        rng = np.random.default_rng(self.seed.value)
        self._prior_code = rng.standard_normal(self.model.latent)
        self.seed.unobserve(self._changed, names="value")
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # the next press draws another
        self.seed.observe(self._changed, names="value")
        self.refresh()

    def _uploaded_file(self, end: str, change: dict) -> None:
        from .models.melody_vae import segments

        if not change["new"]:
            return
        try:
            tokens = _uploaded_tokens(change["new"][0])
            cut = segments([tokens])
            if len(cut) == 0:
                raise MusegenError(
                    f"{Path(change['new'][0]['name']).name}: no two bars with notes (the VAE reads two bars)"
                )
        except MusegenError as error:
            self.message.value = _error_html(error)
            return
        self._uploaded[end] = cut[0]
        self._endpoint_changed(end)

    def __repr__(self) -> str:
        return f"LatentExplorer({self._title()})"


_ANSWER_COLUMNS = [
    "trial",
    "question",
    "left_source",
    "left_index",
    "right_source",
    "right_index",
    "answer",
    "chosen_source",
    "answered_at",
]


class ListeningTest(widgets.VBox):
    """A blind listening test: pairs of excerpts, one real and one generated, in random order, unlabelled.

    Each trial plays two excerpts, one from the ``reference`` source and one from another source (the
    sources take turns), left and right at random, and asks ``question``. Each answer is written to a CSV
    file in ``folder`` the moment it is given (the whole file replaced atomically), so a kernel restart
    loses nothing: a new ``ListeningTest`` with the same sources, seed and folder continues where the last
    one stopped. A file there that is not this test's is reported and left as it is. "Reveal results" (or
    the last answer) shows, per source, how often its excerpt was chosen, with an exact binomial test
    against guessing, its p-value adjusted for all the sources by Holm's method, and a 95 % Clopper-Pearson
    interval (:func:`~musegen_widgets.metrics.binomial_test`, :func:`~musegen_widgets.metrics.holm`).

    Parameters
    ----------
    sources
        Name -> list of excerpts (anything :class:`ScoreView` plays), at least two sources.
    folder
        Where the answers file goes.
    reference
        The real music's source name (default: the first).
    question
        Asked at every trial; an answer picks the excerpt that fits it.
    trials
        Number of trials.
    seed
        Fixes the pairs and their order (and so which file rows belong to this test).
    filename
        Name of the answers file in ``folder``.

    Raises
    ------
    MusegenError
        For fewer than two sources, an empty source, or an answers file that is not this test's.
    """

    def __init__(
        self,
        sources: dict[str, list],
        folder: str | Path = ".",
        reference: str | None = None,
        question: str = "Which excerpt did Bach write?",
        trials: int = 12,
        seed: int = 0,
        filename: str = "listening_test.csv",
    ):
        if len(sources) < 2 or any(len(excerpts) == 0 for excerpts in sources.values()):
            raise MusegenError("a listening test needs at least two sources, each with an excerpt")
        self.sources, self.question = sources, question
        self.reference = reference if reference is not None else next(iter(sources))
        if self.reference not in sources:
            raise MusegenError(f"the reference {self.reference!r} is not one of the sources")
        self.path = Path(folder) / filename
        self.plan = self._plan(trials, seed)
        self.answers = self._read_answers()  # raises for a foreign or corrupt file, before any widget exists
        self._left, self._right = (widgets.Audio(format="wav", autoplay=False, loop=False) for _ in range(2))
        self._buttons = [
            widgets.Button(description=f"Excerpt {side}", button_style="info", icon="check")
            for side in (1, 2)
        ]
        self._buttons[0].on_click(lambda _button: self.answer("left"))
        self._buttons[1].on_click(lambda _button: self.answer("right"))
        self._reveal = widgets.Button(description="Reveal results", icon="eye")
        self._reveal.on_click(lambda _button: self.reveal())
        self.progress = widgets.HTML()
        self.message = widgets.HTML()
        self.results_html = widgets.HTML()
        excerpt_boxes = [
            widgets.VBox([widgets.HTML(f"<b>Excerpt {side}</b>"), player, button])
            for side, player, button in zip((1, 2), (self._left, self._right), self._buttons)
        ]
        super().__init__(
            [
                widgets.HTML(f"<b>{html.escape(question)}</b>"),
                self.progress,
                widgets.HBox(excerpt_boxes),
                self._reveal,
                self.message,
                self.results_html,
            ]
        )
        self._show_trial()

    def _plan(self, trials: int, seed: int) -> list[dict]:
        rng = np.random.default_rng(seed)
        others = [name for name in self.sources if name != self.reference]
        plan = []
        for trial in range(trials):
            other = others[trial % len(others)]
            pair = [
                (self.reference, int(rng.integers(len(self.sources[self.reference])))),
                (other, int(rng.integers(len(self.sources[other])))),
            ]
            if rng.random() < 0.5:
                pair.reverse()
            plan.append({"left": pair[0], "right": pair[1]})
        return plan

    def _expected_row(self, trial: int) -> dict[str, str]:
        (left, left_index), (right, right_index) = self.plan[trial]["left"], self.plan[trial]["right"]
        return {
            "trial": str(trial + 1),
            "question": self.question,
            "left_source": left,
            "left_index": str(left_index),
            "right_source": right,
            "right_index": str(right_index),
        }

    def _read_answers(self) -> list[dict[str, str]]:
        import csv

        if not self.path.exists():
            return []
        leave = "it was left as it is: move it, or give the test another folder or filename"
        try:
            table = list(csv.reader(io.StringIO(self.path.read_text(encoding="utf-8"))))
        except (UnicodeDecodeError, csv.Error) as error:
            raise MusegenError(
                f"this is not a listening-test answers file ({error}); {leave}", self.path
            ) from None
        header = table[0] if table else None
        if header != _ANSWER_COLUMNS:
            raise MusegenError(
                f"this is not a listening-test answers file (its columns are {header}); {leave}", self.path
            )
        rows = [dict(zip(header, values)) for values in table[1:] if values]
        if len(rows) > len(self.plan):
            raise MusegenError(
                f"it holds {len(rows)} answers for a test of {len(self.plan)} trials; {leave}", self.path
            )
        for trial, row in enumerate(rows):
            expected = self._expected_row(trial)
            if any(row.get(key) != value for key, value in expected.items()) or row.get("answer") not in (
                "left",
                "right",
            ):
                raise MusegenError(
                    f"row {trial + 2} is not an answer to this test (other sources, seed or question); {leave}",
                    self.path,
                )
        return rows

    def _write_answers(self) -> None:
        import csv

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_ANSWER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.answers)
        encoding._write_atomically(self.path, buffer.getvalue().encode("utf-8"))

    def _show_trial(self) -> None:
        done = len(self.answers)
        self.progress.value = f"trial {min(done + 1, len(self.plan))} of {len(self.plan)} ({done} answered)"
        finished = done >= len(self.plan)
        for button in self._buttons:
            button.disabled = finished
        if finished:
            self.reveal()
            return
        for player, side in ((self._left, "left"), (self._right, "right")):
            name, index = self.plan[done][side]
            player.value = audio.wav_bytes(self.sources[name][index])

    def answer(self, side: str) -> None:
        """Record the answer to the current trial (``"left"`` or ``"right"``) and go on to the next."""
        import datetime

        if side not in ("left", "right"):
            raise MusegenError(f"an answer is 'left' or 'right', not {side!r}")
        trial = len(self.answers)
        if trial >= len(self.plan):
            self.message.value = "the test is finished: every trial has an answer"
            return
        row = {
            **self._expected_row(trial),
            "answer": side,
            "chosen_source": self.plan[trial][side][0],
            "answered_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        try:
            self.answers.append(row)
            self._write_answers()
        except OSError as error:
            self.answers.pop()
            self.message.value = _error_html(
                MusegenError(f"the answer could not be saved ({error})", self.path)
            )
            return
        self.message.value = ""
        self._show_trial()

    def results(self) -> dict[str, dict[str, float]]:
        """Per generated source: trials, times its excerpt was chosen, that rate, its 95 % interval, p-value,
        and the p-value adjusted by Holm's method for testing every source that has answers
        (``p_holm``: compare this one with 0.05)."""
        from . import metrics

        table = {}
        for name in self.sources:
            if name == self.reference:
                continue
            rows = [row for row in self.answers if name in (row["left_source"], row["right_source"])]
            chosen = sum(row["chosen_source"] == name for row in rows)
            if rows:
                low, high = metrics.binomial_interval(chosen, len(rows))
                p_value = metrics.binomial_test(chosen, len(rows))
            else:
                low = high = p_value = float("nan")
            table[name] = {
                "trials": len(rows),
                "chosen": chosen,
                "rate": chosen / len(rows) if rows else float("nan"),
                "low": low,
                "high": high,
                "p_value": p_value,
            }
        answered = [name for name, row in table.items() if row["trials"]]
        adjusted = dict(zip(answered, metrics.holm([table[name]["p_value"] for name in answered])))
        for name, row in table.items():
            row["p_holm"] = float(adjusted.get(name, float("nan")))
        return table

    def reveal(self) -> None:
        """Show the results table (what the answers so far say)."""
        lines = [
            "<table><tr><th>generated source</th><th>trials</th><th>its excerpt chosen</th>"
            "<th>95 % interval</th><th>p (vs guessing)</th><th>p, Holm-adjusted</th></tr>"
        ]
        for name, row in self.results().items():
            if row["trials"]:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>{row['trials']}</td><td>{row['chosen']} "
                    f"({row['rate']:.0%})</td><td>{row['low']:.0%} - {row['high']:.0%}</td>"
                    f"<td>{row['p_value']:.3f}</td><td>{row['p_holm']:.3f}</td></tr>"
                )
            else:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>0</td><td colspan=4>no answers yet</td></tr>"
                )
        lines.append("</table>")
        self.results_html.value = "".join(lines) + (
            f"<p>Chosen means picked as the answer to &ldquo;{html.escape(self.question)}&rdquo;. "
            "A source the listener cannot tell from the real music is chosen about half the time "
            "(p large). With several sources, read the Holm-adjusted p: below 0.05 says the listener's "
            "choices for that source were not guesses, with a 5 % chance of any false alarm over all of them.</p>"
        )

    def __repr__(self) -> str:
        return f"ListeningTest({len(self.answers)} of {len(self.plan)} answered, {self.path})"


class GanExplorer(widgets.VBox):
    """Play with the chorale GAN's latents: a seed, the shared latent and each voice's own, the binarisation.

    The seed draws the latent vectors; each "move" slider then adds a multiple of a fixed random unit
    direction to the shared latent or to one voice's private latent, so that moving the tenor's slider
    changes the tenor and nothing else, while moving the shared one changes the whole passage. "notes"
    decides how probabilities become notes: each voice's smoothest likely line (Viterbi, 2 nats per change,
    the default of :meth:`~musegen_widgets.models.chorale_gan.ChoraleGAN.generate`), the threshold, or
    sampling. "New sample" moves to the next seed. Problems show a message and the last
    passage stays.

    Parameters
    ----------
    model
        A :class:`~musegen_widgets.models.chorale_gan.ChoraleGAN`.
    debounce
        Seconds a slider must rest before the passage is generated again; 0 generates at once.
    """

    VOICE_NAMES = ("soprano", "alto", "tenor", "bass")

    def __init__(self, model, debounce: float = 0.15):
        self.model, self.debounce, self._timer = model, debounce, None
        directions = np.random.default_rng(2024)
        self.directions = {"shared": directions.standard_normal(model.shared_latent)}
        for voice in self.VOICE_NAMES:
            self.directions[voice] = directions.standard_normal(model.voice_latent)
        self.directions = {name: d / np.linalg.norm(d) for name, d in self.directions.items()}
        style = {"description_width": "90px"}
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed", style=style)
        self.moves = {
            name: widgets.FloatSlider(
                0.0, min=-3.0, max=3.0, step=0.1, description=f"move {name}", style=style
            )
            for name in self.directions
        }
        self.threshold = widgets.FloatSlider(
            0.5, min=0.05, max=0.95, step=0.05, description="threshold", style=style
        )
        self.notes = widgets.ToggleButtons(
            options=["smoothed", "threshold", "sampled"],
            value="smoothed",
            description="notes",
            style=style,
            tooltips=[
                "each voice's most likely sequence when a change costs 2 nats (Viterbi)",
                "a pitch sounds where its probability passes the threshold",
                "each voice's pitch or rest drawn at every step",
            ],
        )
        self.new_button = widgets.Button(description="New sample", icon="refresh", button_style="primary")
        self.message = widgets.HTML()
        self.roll: np.ndarray | None = None
        self.view = ScoreView(None)
        self.refresh()
        for control in (self.seed, self.threshold, self.notes, *self.moves.values()):
            control.observe(self._changed, names="value")
        self.new_button.on_click(self._new_sample)
        controls = widgets.HBox(
            [
                widgets.VBox([self.seed, self.notes, self.threshold, self.new_button]),
                widgets.VBox(list(self.moves.values())),
            ]
        )
        super().__init__([controls, self.message, self.view])

    def latents(self) -> tuple[np.ndarray, np.ndarray]:
        """The shared ``(S,)`` and voice ``(4, V)`` latents shown now: the seed's, moved by the sliders."""
        rng = np.random.default_rng(self.seed.value)
        shared = (
            rng.standard_normal(self.model.shared_latent)
            + self.moves["shared"].value * self.directions["shared"]
        )
        voices = rng.standard_normal((4, self.model.voice_latent))
        for index, voice in enumerate(self.VOICE_NAMES):
            voices[index] += self.moves[voice].value * self.directions[voice]
        return shared, voices

    def _title(self) -> str:
        moved = ", ".join(
            f"{name} {slider.value:+.1f}" for name, slider in self.moves.items() if slider.value
        )
        how = (
            f"threshold {self.threshold.value:.2f}"
            if self.notes.value == "threshold"
            else f"notes {self.notes.value}"
        )
        return f"seed {self.seed.value}, {how}" + (f", moved: {moved}" if moved else "")

    def refresh(self) -> None:
        """Generate the passage for the current settings and show it; problems become a message."""
        try:
            shared, voices = self.latents()
            roll = self.model.generate(
                1,
                seed=self.seed.value,
                shared_z=shared,
                voice_z=voices,
                notes=self.notes.value,
                threshold=self.threshold.value,
            )[0]
            if not roll.any():
                raise MusegenError(
                    "no notes with these settings: lower the threshold, or choose sampled notes"
                )
            self.view.update(roll, title=self._title(), time_signature="4/4")
            self.roll = roll
            self.message.value = ""
        except Exception as error:  # shown in the widget: a callback's exception would only reach the log
            self.message.value = _error_html(error)

    def _changed(self, change=None) -> None:
        self._timer = _debounced(self.refresh, self.debounce, self._timer)

    def _new_sample(self, _button=None) -> None:
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # observed: regenerates

    def __repr__(self) -> str:
        return f"GanExplorer({self._title()})"
