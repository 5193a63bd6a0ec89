"""``GanExplorer``: the chorale GAN's seed, shared and per-voice latents, binarisation (chapter 03)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..errors import MusegenError
from ._base import Explorer
from .score_view import ScoreView

__all__ = ["GanExplorer"]


class GanExplorer(Explorer):
    """Play with the chorale GAN's latents: a seed, the shared latent and each voice's own, the binarisation.

    Taught in chapter 03, section 7 (the explorer).

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
    """

    VOICE_NAMES = ("soprano", "alto", "tenor", "bass")

    def __init__(self, model):
        self.model = model
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
        self.new_button.on_click(self._next_seed)
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

    def show(self) -> None:
        """Generate the passage for the current settings and show it."""
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
            raise MusegenError("no notes with these settings: lower the threshold, or choose sampled notes")
        self.view.update(roll, title=self._title(), time_signature="4/4")
        self.roll = roll

    def __repr__(self) -> str:
        return f"GanExplorer({self._title()})"
