"""``ScoreView``: the engraved score, the sound, a piano roll and downloads of any music (chapter 00)."""

from __future__ import annotations

import base64
import dataclasses
import html
import re

import ipywidgets as widgets

from .. import audio, encoding, music21_io, render
from ..errors import MusegenError
from ..piece import MusicLike, Piece
from ._base import StaticFallback, figure_png

__all__ = ["ScoreView", "ScoreTabs"]

# white like paper (also in dark themes), as wide as the notebook, long scores scroll
_SCORE_STYLE = "background:white;max-height:520px;overflow-y:auto;overflow-x:hidden"


def _download_link(data: bytes, filename: str, mime: str, label: str) -> str:
    payload = base64.b64encode(data).decode("ascii")
    return (
        f'<a download="{html.escape(filename)}" href="data:{mime};base64,{payload}" '
        'style="margin-right:1.2em" class="musegen-download">'
        f"&#x2B07; {html.escape(label)}</a>"
    )


def _downloads_html(piece: Piece, title: str, tempo: float) -> str:
    filename = _safe_filename(title)
    try:
        midi, musicxml = music21_io.midi_bytes(piece, tempo=tempo), music21_io.musicxml_bytes(piece)
    except Exception as error:  # music21 cannot write some odd notation; the score and sound still work
        return f"<i>no downloads for this music ({html.escape(type(error).__name__)}: {html.escape(str(error))})</i>"
    links = _download_link(midi, f"{filename}.mid", "audio/midi", "MIDI")
    return links + _download_link(
        musicxml, f"{filename}.musicxml", "application/vnd.recordare.musicxml+xml", "MusicXML"
    )


def _safe_filename(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._") or "music"
    return stem[:60]


def _pianoroll_png(piece: Piece) -> bytes:
    return figure_png(render.pianoroll(piece))


class ScoreView(StaticFallback, widgets.VBox):
    """Score, sound, piano roll and downloads of a piece, in one widget.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    Shows the engraved score (SVG), an audio player, a toggle for the piano roll, and a "Downloads" button
    that writes MIDI and MusicXML files of the music (:meth:`make_downloads`). :meth:`update` shows other
    music in the same view, which is what the sampling widgets of later chapters do; it leaves the files
    to be made when asked, since music21 takes longer to write them than score and sound take together.

    Parameters
    ----------
    music
        Anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames, a
        music21 stream, a MIDI or MusicXML path, or a ``Piece``; ``None`` for an empty view that
        :meth:`update` fills later.
    title
        Shown above the score (escaped: it may come from a user's file). Default: the piece's own title.
    tempo
        Playback tempo in quarter notes per minute.
    time_signature
        For arrays, which carry none.

    Attributes
    ----------
    piece
        The :class:`~musegen_widgets.piece.Piece` shown.
    description
        The score in words (:func:`~musegen_widgets.render.score_description`): its text alternative.
    heading, score, player, roll_button, roll_image, download_button, downloads
        The parts of the view (ipywidgets): the title, the engraved SVG, the audio player, the piano-roll
        toggle and its image, the button that makes the downloads and their links.

    Raises
    ------
    MusegenError
        If ``music`` is not music the course can show; the message says why.
    """

    def __init__(
        self,
        music: MusicLike | None = None,
        *,
        title: str | None = None,
        time_signature: str | None = None,
        tempo: float = 90.0,
    ):
        self.heading = widgets.HTML()
        self.score = widgets.HTML(layout=widgets.Layout(width="100%", overflow="auto"))
        self.player = widgets.Audio(format="wav", autoplay=False, loop=False)
        self.roll_button = widgets.ToggleButton(value=False, description="Piano roll", icon="bars")
        self.download_button = widgets.Button(
            description="Downloads", icon="download", tooltip="MIDI and MusicXML files of this music"
        )
        self.download_button.on_click(self.make_downloads)
        self.downloads = widgets.HTML()
        self.roll_image = widgets.Image(format="png", layout=widgets.Layout(display="none", max_width="100%"))
        self.roll_button.observe(self._toggle_roll, names="value")
        controls = widgets.HBox(
            [self.player, self.roll_button, self.download_button, self.downloads],
            layout=widgets.Layout(align_items="center"),
        )
        super().__init__([self.heading, controls, self.score, self.roll_image])
        self.tempo = tempo
        self.piece: Piece | None = None
        self.title = self.description = self._svg = ""
        self._samples, self._mp3 = None, None
        if music is not None:
            self.update(music, title=title, time_signature=time_signature)

    def update(
        self, music: MusicLike, *, title: str | None = None, time_signature: str | None = None
    ) -> None:
        """Show other music. On bad input, raise :class:`MusegenError` and keep showing the old music."""
        piece = encoding.to_piece(music, time_signature=time_signature)
        if piece.n_notes == 0:
            raise MusegenError("there are no notes to show")
        title = piece.title if title is None else title
        svg = render.score_svg(piece)
        samples = audio.synthesize(piece, tempo=self.tempo)
        wav = audio.wav_from_samples(samples)
        description = render.score_description(dataclasses.replace(piece, title=title))
        # score and sound computed: now swap them in, so a failure above leaves the old view intact
        self.piece, self.title, self._svg, self.description = piece, title, svg, description
        # the sound once synthesized: static_html encodes these samples as MP3 when first asked, then keeps
        # the MP3 (a tenth of their size) instead
        self._samples, self._mp3 = samples, None
        self.heading.value = f"<b>{html.escape(title)}</b>" if title else ""
        self.score.value = (
            f'<div role="img" aria-label="{html.escape(description)}" style="{_SCORE_STYLE}">{svg}</div>'
        )
        self.player.value = wav
        self.roll_image.value = _pianoroll_png(piece) if self.roll_button.value else b""
        self.downloads.value = ""  # the old music's files: made again when asked
        self.download_button.layout.display = None

    def make_downloads(self, _button=None) -> None:
        """Write MIDI and MusicXML files of the music shown and put their links in place of the button.

        Taught in chapter 00, section 4 (seeing and hearing a chorale). music21 takes a few hundred
        milliseconds for a chorale, more than engraving and synthesis together, so a view makes them only
        when asked, and a slider that changes the music is not kept waiting for files nobody wanted.
        """
        if self.piece is None:
            return
        self.downloads.value = _downloads_html(self.piece, self.title, self.tempo)
        self.download_button.layout.display = "none"

    def static_html(self) -> str:
        """The music shown as plain HTML, for where no kernel runs: the title, the engraved score (an ``<img>``
        of the SVG, :func:`~musegen_widgets.render.score_image`, which sanitised pages keep) and an audio
        player whose sound (MP3, :func:`~musegen_widgets.audio.mp3_from_samples` of the sound :meth:`update`
        synthesized: the music is not synthesized again) is inside the page; empty for an empty view.

        Taught in chapter 00, section 4 (seeing and hearing a chorale). A saved notebook keeps this beside the
        live widget, so a notebook viewer, which runs no kernel, still shows and plays the music.
        """
        if self.piece is None:
            return ""
        if self._mp3 is None:
            self._mp3, self._samples = audio.mp3_from_samples(self._samples), None
        sound = base64.b64encode(self._mp3).decode("ascii")
        label = html.escape(f"Sound of {self.title}" if self.title else "Sound of this music")
        score = render.score_image(self._svg, description=self.description)
        return (
            f'<div class="musegen-static">{self.heading.value}'
            f'<div><audio controls preload="metadata" aria-label="{label}" title="{label}" '
            f'src="data:audio/mpeg;base64,{sound}"></audio></div>'
            f'<div style="{_SCORE_STYLE}">{score}</div></div>'
        )

    def _toggle_roll(self, change: dict) -> None:
        if change["new"] and self.piece is not None:
            self.roll_image.value = _pianoroll_png(self.piece)
        self.roll_image.layout.display = None if change["new"] else "none"

    def __repr__(self) -> str:  # the default would print the whole SVG
        return f"ScoreView({self.piece!r})"


class ScoreTabs(StaticFallback, widgets.Tab):
    """Several pieces side by side, one :class:`ScoreView` a tab, to compare by eye and ear.

    Taught in chapter 04, section 3 (samples side by side). Without a kernel it shows every piece, one after
    another, under its tab's name.

    Parameters
    ----------
    music
        Tab name -> anything :class:`ScoreView` shows (or a :class:`ScoreView`).
    titles
        Tab name -> title above that score (default: the tab's name).
    """

    def __init__(self, music: dict[str, MusicLike], *, titles: dict[str, str] | None = None):
        if not music:
            raise MusegenError("ScoreTabs needs at least one piece")
        titles = titles or {}
        views = [
            item if isinstance(item, ScoreView) else ScoreView(item, title=titles.get(name, name))
            for name, item in music.items()
        ]
        super().__init__(children=views)
        self.names = list(music)
        for index, name in enumerate(self.names):
            self.set_title(index, name)

    def static_html(self) -> str:
        return "".join(
            f"<h4>{html.escape(name)}</h4>{view.static_html()}"
            for name, view in zip(self.names, self.children)
        )

    def __repr__(self) -> str:
        return f"ScoreTabs({', '.join(self.names)})"
