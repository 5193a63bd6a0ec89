"""Notebook widgets of the course (``ScoreView`` is taught in chapter 00, ``SamplerWidget`` in 01).

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

__all__ = ["ScoreView", "SamplerWidget"]


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
            text = str(error) if isinstance(error, MusegenError) else f"{type(error).__name__}: {error}"
            self.message.value = f'<span style="color:#b00020">{html.escape(text)}</span>'

    def _changed(self, change: dict) -> None:
        if self.debounce <= 0:
            self.refresh()
            return
        if self._timer is not None:
            self._timer.cancel()
        from IPython import get_ipython

        if getattr(get_ipython(), "kernel", None) is not None:
            # In a kernel, run later on its own event loop: widget updates sent from another thread may
            # never reach the browser.
            self._timer = asyncio.get_running_loop().call_later(self.debounce, self.refresh)
        else:  # a script or a test, with no kernel loop to run it: a timer thread does it
            self._timer = threading.Timer(self.debounce, self.refresh)
            self._timer.start()

    def _resample(self, _button) -> None:
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # observed: resamples

    def _uploaded_file(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        name = Path(upload["name"]).name
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / name
                path.write_bytes(bytes(upload["content"]))
                tokens = encoding.encode(path)
        except MusegenError as error:
            message = str(error).replace(str(Path(folder) / name), name)
            self.message.value = f'<span style="color:#b00020">{html.escape(message)}</span>'
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
