"""``HarmoniseWidget``: a melody from the corpus, a text or a file, and the infilling model writes the other
voices; erase any voices and bars and write them again (chapter 06)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..errors import MusegenError
from ..infill_cells import decode, encode
from ..infilling import DEFAULT_TEMPERATURE
from ..piece import Piece, parse_melody
from ._base import Explorer, error_html, read_upload
from .score_view import ScoreView

__all__ = ["HarmoniseWidget"]

TYPED, UPLOADED = "(typed melody)", "(uploaded file)"
VOICE_NAMES = ("S", "A", "T", "B")


class HarmoniseWidget(Explorer):
    """Harmonise a melody, then erase and rewrite any voices over any bars, with a :class:`ScoreView`.

    Taught in chapter 06, section 4 (harmonise your own melody).

    The *melody* is a test-split chorale (its soprano, with Bach's own lower voices kept until erased), a
    typed one (:func:`~musegen_widgets.piece.parse_melody`, such as ``C4q D4q E4h | F4w``) or the top
    voice of an uploaded MIDI or MusicXML file (all its voices, if it has four). The voice buttons and the
    bar range say which cells to *write*: by default alto, tenor and bass over every bar, which harmonises
    the melody. Each change writes them again from the kept music
    (:func:`~musegen_widgets.infilling.infill`), with the temperature, the seed and the rounds of Gibbs
    sampling; "Keep" makes what is shown the music the next change starts from, so a learner can rewrite
    bars 3-4 of the bass under a harmony the model wrote. The check box switches off the rule the sampler
    adds to the model (:func:`~musegen_widgets.infilling.remove_parallels`), to hear the model alone. A malformed text, a melody out of the soprano's
    range or a bad file shows a message and the last music stays.

    Parameters
    ----------
    model
        A :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill` (default: the shipped one).
    max_bars
        The widget works on at most this many bars from the start of the melody.
    """

    def __init__(self, model=None, *, max_bars: int = 8):
        from .. import data, models

        self.model = model if model is not None else models.load_pretrained("chorale_infill")
        self.max_bars = max_bars
        self._chorales = {
            name: piece
            for name, piece in zip(data.chorale_ids("test"), data.load_pieces("test"))
            if piece.time_signature == "4/4"
        }
        style = {"description_width": "90px"}
        self.melody = widgets.Dropdown(
            options=[*self._chorales, TYPED],
            value=next(iter(self._chorales)),
            description="melody",
            style=style,
        )
        self.text = widgets.Text(
            value="E4q E4q F4q G4q | G4q F4q E4q D4q | C4q C4q D4q E4q | E4q. D4e D4h",
            placeholder="C4q D4q E4h | F4w",
            description="type it",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="640px"),
        )
        self.upload = widgets.FileUpload(
            accept=".mid,.midi,.xml,.musicxml,.mxl", multiple=False, description="Upload melody"
        )
        self.voices = [
            widgets.ToggleButton(
                value=index > 0,
                description=name,
                tooltip=f"write the {name} voice",
                layout=widgets.Layout(width="42px"),
            )
            for index, name in enumerate(VOICE_NAMES)
        ]
        self.bars = widgets.IntRangeSlider(
            value=(1, max_bars), min=1, max=max_bars, description="bars", style=style
        )
        self.temperature = widgets.FloatSlider(
            DEFAULT_TEMPERATURE, min=0.0, max=1.5, step=0.05, description="temperature", style=style
        )
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed", style=style)
        self.rounds = widgets.IntSlider(64, min=4, max=256, description="Gibbs rounds", style=style)
        self.avoid_parallels = widgets.Checkbox(
            True,
            description="then undo parallel 5ths and 8ves",
            tooltip="redraw written notes that make parallel fifths or octaves (chapter 06, section 7)",
            indent=False,
        )
        self.keep_button = widgets.Button(
            description="Keep", icon="check", tooltip="start the next change from this"
        )
        self.resample_button = widgets.Button(description="Resample", icon="refresh", button_style="primary")
        self.message = widgets.HTML()
        self.view = ScoreView(None)
        self._uploaded: Piece | None = None
        self._quiet = False
        self.kept = self._melody_cells()
        self.cells: np.ndarray | None = None
        self.refresh()
        for control in (
            self.bars,
            self.temperature,
            self.seed,
            self.rounds,
            self.avoid_parallels,
            *self.voices,
        ):
            control.observe(self._changed, names="value")
        self.melody.observe(self._new_melody, names="value")
        self.text.observe(self._typed, names="value")
        self.upload.observe(self._uploaded_file, names="value")
        self.keep_button.on_click(self._keep)
        self.resample_button.on_click(self._next_seed)
        controls = widgets.VBox(
            [
                widgets.HBox([self.melody, self.upload]),
                self.text,
                widgets.HBox(
                    [widgets.Label("write", layout=widgets.Layout(width="94px")), *self.voices, self.bars]
                ),
                widgets.HBox([self.temperature, self.seed, self.avoid_parallels]),
                widgets.HBox([self.rounds, self.keep_button, self.resample_button]),
            ]
        )
        super().__init__([controls, self.message, self.view])

    # ------------------------------------------------------------------ the music to start from

    def _melody_piece(self) -> Piece:
        if self.melody.value == TYPED:
            return parse_melody(self.text.value)
        if self.melody.value == UPLOADED:
            return self._uploaded
        return self._chorales[self.melody.value]

    def _melody_cells(self) -> np.ndarray:
        """Cells ``(steps, 4)`` of the chosen melody's first bars: its soprano checked for range, and its
        lower voices where it has four (silence otherwise)."""
        from ..infilling import soprano_tokens

        piece = self._melody_piece()
        if piece.time_signature != "4/4":
            raise MusegenError(
                f"the model was trained on 4/4 chorales; this melody is in {piece.time_signature}"
            )
        soprano, _ = soprano_tokens(piece)
        cells = np.zeros((len(soprano), 4), dtype=np.int64)
        cells[:, 0] = soprano
        if len(piece.voices) == 4:
            cells[:, 1:] = encode(piece)[: len(soprano), 1:]
        return cells[: 16 * self.max_bars]

    def _hidden(self) -> np.ndarray:
        hidden = np.zeros(self.kept.shape, dtype=bool)
        first, last = self.bars.value
        for voice, button in enumerate(self.voices):
            if button.value:
                hidden[16 * (first - 1) : 16 * last, voice] = True
        return hidden

    # ------------------------------------------------------------------ showing

    def _title(self) -> str:
        written = "".join(name for name, button in zip(VOICE_NAMES, self.voices) if button.value) or "nothing"
        first, last = self.bars.value
        return (
            f"{self.melody.value}: {written} written in bars {first}-{last}, temperature "
            f"{self.temperature.value:.2f}, seed {self.seed.value}"
        )

    def show(self) -> None:
        """Write the chosen cells with the current settings and show the result."""
        from ..infilling import resample

        hidden = self._hidden()
        if not hidden.any():
            raise MusegenError("choose at least one voice and a bar of the melody to write")
        cells = resample(
            self.model,
            self.kept,
            hidden,
            steps=self.rounds.value,
            temperature=self.temperature.value,
            seed=self.seed.value,
            avoid_parallels=self.avoid_parallels.value,
        )
        self.view.update(decode(cells), title=self._title())
        self.cells = cells

    def _set_melody(self) -> None:
        """Start from the chosen melody's own music; the bar range spans it."""
        try:
            kept = self._melody_cells()
        except MusegenError as error:
            self.message.value = error_html(error)
            return
        self.kept = kept
        bars = max(1, -(-len(kept) // 16))
        self._quiet = True  # the range follows the melody without writing the music twice
        try:
            self.bars.max = bars
            self.bars.value = (1, bars)
        finally:
            self._quiet = False
        self.refresh()

    def _changed(self, change=None) -> None:
        if not self._quiet:
            super()._changed(change)

    def _new_melody(self, _change=None) -> None:
        self._set_melody()

    def _typed(self, _change=None) -> None:
        if self.melody.value == TYPED:
            self._set_melody()
        else:
            self.melody.value = TYPED  # observed: sets the melody

    def _uploaded_file(self, change: dict) -> None:
        from .. import music21_reading

        files = change["new"]
        if not files:
            return
        try:  # all its voices, on the 16th-note grid the model writes on
            self._uploaded = read_upload(files[0], lambda path: music21_reading.read(path, on_grid=True))
        except MusegenError as error:
            self.message.value = error_html(error)
            return
        if UPLOADED not in self.melody.options:
            self.melody.options = [*self.melody.options, UPLOADED]
        if self.melody.value == UPLOADED:
            self._set_melody()
        else:
            self.melody.value = UPLOADED

    def _keep(self, _button=None) -> None:
        if self.cells is not None:
            self.kept = self.cells.copy()

    def __repr__(self) -> str:
        return f"HarmoniseWidget({self._title()})"
