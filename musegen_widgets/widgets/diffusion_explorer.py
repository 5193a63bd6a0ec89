"""``DiffusionExplorer``: an 8-bar melody emerging from noise, step by step; guidance; infilling (chapter 08)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import diffusion, encoding
from ..errors import MusegenError
from ._base import Explorer
from .score_view import ScoreView

__all__ = ["DiffusionExplorer"]

_SEGMENT_NAMES = ("bars 1-2", "bars 3-4", "bars 5-6", "bars 7-8")


class DiffusionExplorer(Explorer):
    """Watch chapter 08's latent diffusion model write an 8-bar melody, and ask it for more or fewer notes,
    or to redraw some bars and keep the others.

    Taught in chapter 08, section 13 (the explorer).

    "seed" draws the starting noise, "steps" sets how many DDIM steps sampling takes, and the "step" slider
    shows the melody as the model sees it after that many of them: its guess of the clean codes
    (:meth:`~musegen_widgets.models.melody_diffusion.MelodyDiffusion.denoised_codes`), decoded by the VAE.
    With a ``guided`` model (``melody_diffusion_density``), "ask for" picks a note-density label and
    "guidance" the scale of classifier-free guidance (0: the label is ignored; 1: the conditional model).
    In "infill" mode, the melody shown when the mode was chosen is kept where its bars are ticked, and the
    others are redrawn by RePaint with "tries" resamplings per step ("tries" 1: the replacement method);
    "seed" draws other fillings. "New sample" moves to the next seed. A whole sampling run is computed when a
    setting other than "step" changes; moving "step" only decodes.

    Parameters
    ----------
    model
        The unconditional :class:`~musegen_widgets.models.melody_diffusion.MelodyDiffusion` (``melody_diffusion``).
    vae
        The :class:`~musegen_widgets.models.melody_vae.MelodyVAE` whose codes it samples (``melody_vae``).
    guided
        Optional: the same kind of model trained with note-density labels (``melody_diffusion_density``).
    """

    def __init__(self, model, vae, guided=None):
        if model.classes:
            raise MusegenError("model must be the unconditional one; pass the labelled one as guided")
        if guided is not None and not guided.classes:
            raise MusegenError("guided must be a model trained with labels (melody_diffusion_density)")
        from ..models.melody_diffusion import DENSITY_LABELS  # keras: imported with the models, not before

        self.model, self.vae, self.guided = model, vae, guided
        style = {"description_width": "80px"}
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed", style=style)
        self.steps = widgets.Dropdown(options=[5, 10, 20, 50], value=20, description="steps", style=style)
        self.step = widgets.IntSlider(20, min=0, max=20, description="step", style=style)
        self.label = widgets.Dropdown(
            options=[("anything", None)] + [(name, i) for i, name in enumerate(DENSITY_LABELS)],
            value=None,
            description="ask for",
            style=style,
            disabled=guided is None,
        )
        self.guidance = widgets.FloatSlider(
            2.0, min=0.0, max=8.0, step=0.5, description="guidance", style=style, disabled=guided is None
        )
        self.mode = widgets.ToggleButtons(
            options=["generate", "infill"],
            value="generate",
            description="mode",
            style=style,
            tooltips=["sample all eight bars", "keep the ticked bars of the melody shown, redraw the others"],
        )
        self.keep = [
            widgets.Checkbox(value=name in ("bars 1-2", "bars 7-8"), description=f"keep {name}", indent=False)
            for name in _SEGMENT_NAMES
        ]
        self.tries = widgets.IntSlider(3, min=1, max=10, description="tries", style=style)
        self.infill_box = widgets.VBox([widgets.HBox(self.keep), self.tries], layout={"display": "none"})
        self.new_button = widgets.Button(description="New sample", icon="refresh", button_style="primary")
        self.message = widgets.HTML()
        self.view = ScoreView(None)
        self.codes: np.ndarray | None = None  # the melody shown, as codes (what infill mode keeps)
        self.kept_codes: np.ndarray | None = None
        self._path: np.ndarray | None = None
        self._path_key = None
        self.refresh()
        for control in (self.seed, self.steps, self.label, self.guidance, self.step, self.tries, *self.keep):
            control.observe(self._changed, names="value")
        self.mode.observe(self._mode_changed, names="value")
        self.new_button.on_click(self._next_seed)
        controls = widgets.HBox(
            [
                widgets.VBox([self.seed, self.steps, self.step, self.new_button]),
                widgets.VBox([self.label, self.guidance, self.mode]),
            ]
        )
        super().__init__([controls, self.infill_box, self.message, self.view])

    # ------------------------------------------------------------------------------------------ sampling

    def _settings(self) -> tuple:
        keep = tuple(box.value for box in self.keep) if self.mode.value == "infill" else None
        label = self.label.value if self.guided is not None else None
        return (self.seed.value, self.steps.value, label, self.guidance.value, keep, self.tries.value)

    def path(self) -> np.ndarray:
        """The codes after every step of the run the settings ask for, ``(steps + 1, 1, 4, latent)``."""
        key = self._settings()
        if key != self._path_key:
            seed, steps, label, guidance, keep, tries = key
            if keep is not None:
                if self.kept_codes is None:
                    raise MusegenError("no melody to keep yet")
                if all(keep):
                    raise MusegenError("every bar is kept: untick the bars to redraw")
                _, self._path = self.model.infill_codes(
                    self.kept_codes, keep, steps=steps, resample=tries, seed=seed, return_path=True
                )
            else:
                model = self.model if label is None else self.guided
                _, self._path = model.sample_codes(
                    1, steps=steps, seed=seed, label=label, guidance=guidance, return_path=True
                )
            self._path_key = key
        return self._path

    def show(self) -> None:
        """Sample (or reuse the run) for the current settings and show the melody at the chosen step."""
        steps = self.steps.value
        if self.step.max != steps:  # more or fewer steps: show the end of the new run
            with self.step.hold_trait_notifications():
                self.step.max = steps
                self.step.value = steps
        path = self.path()
        index = self.step.value
        at = [*diffusion.sampling_steps(self.model.schedule, steps), 0][
            index
        ]  # path[index] is x at this step
        label, guidance = self._settings()[2:4]
        if self.mode.value == "infill" or label is None:
            clean = self.model.denoised_codes(path[index], at)
        else:
            clean = self.guided.denoised_codes(path[index], at, label=label, guidance=guidance)
        from ..models.melody_diffusion import decode_codes

        melody = decode_codes(self.vae, clean)[0]
        if not encoding.is_note(melody).any():
            raise MusegenError("the model's guess has no notes at this step: move the step slider on")
        self.view.update(
            encoding.decode_melody(melody), title=self._title(index, steps), time_signature="4/4"
        )
        if self.mode.value == "generate":
            self.codes = clean  # what "infill" keeps

    def _title(self, index: int, steps: int) -> str:
        what = f"seed {self.seed.value}, step {index} of {steps}"
        if self.mode.value == "infill":
            kept = [name for name, box in zip(_SEGMENT_NAMES, self.keep) if box.value]
            return (
                what + f", infilling, kept {', '.join(kept) or 'nothing'}, {self.tries.value} tries per step"
            )
        if self.guided is not None and self.label.value is not None:
            from ..models.melody_diffusion import DENSITY_LABELS

            return (
                what + f", asked for {DENSITY_LABELS[self.label.value]} at guidance {self.guidance.value:g}"
            )
        return what

    def _mode_changed(self, change=None) -> None:
        infill = self.mode.value == "infill"
        if infill:
            self.kept_codes = self.codes
        self.infill_box.layout.display = None if infill else "none"
        self.label.disabled = self.guidance.disabled = infill or self.guided is None
        self._changed()

    def __repr__(self) -> str:
        return f"DiffusionExplorer({self._title(self.step.value, self.steps.value)})"
