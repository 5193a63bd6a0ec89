"""What the course's widgets share: the Explorer base class (guarded refresh, latest-wins slider moves, seeds),
error messages, uploaded files."""

from __future__ import annotations

import asyncio
import html
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import ipywidgets as widgets
import numpy as np

from .. import colab, encoding
from ..errors import MusegenError

T = TypeVar("T")


def error_html(error: Exception) -> str:
    """An exception as a red message for a widget (the text escaped: it may quote a user's file)."""
    text = str(error) if isinstance(error, MusegenError) else f"{type(error).__name__}: {error}"
    return f'<span style="color:#b00020">{html.escape(text)}</span>'


class StaticFallback:
    """Mixed into a widget: its display also carries :meth:`static_html`, the music as plain HTML.

    Taught in chapter 00, section 4 (seeing and hearing a chorale). A frontend with a kernel shows the live
    widget; a saved notebook opened without one (a notebook viewer, ``jupyter nbconvert --to html``) has no
    widget state to draw it from, and shows the HTML instead: the engraved score and a player with the
    sound inside the page.
    """

    def static_html(self) -> str:
        """The HTML shown where the widget cannot be (empty: nothing)."""
        return ""

    def _repr_mimebundle_(self, **kwargs):
        live = getattr(super(), "_repr_mimebundle_", None)  # ipywidgets 8; 7 displays itself (below)
        bundle = live(**kwargs) if live is not None else {"text/plain": repr(self)}
        static = self.static_html()
        if static:
            bundle["text/html"] = static
            if not colab.live_widgets():  # Colab may draw nothing of a widget: show the music, say why
                bundle = {
                    "text/html": static + COLAB_NOTE,
                    "text/plain": bundle.get("text/plain", repr(self)),
                }
        return bundle

    if hasattr(widgets.Widget, "_ipython_display_"):  # ipywidgets 7, which Colab has (7.7.1 in 2026)

        def _ipython_display_(self, **kwargs):
            """ipywidgets 7 displays a widget itself rather than through ``_repr_mimebundle_``: on Colab
            show the music (unless the live widget is asked for), elsewhere the widget as ipywidgets 7 does."""
            if colab.live_widgets():
                return super()._ipython_display_(**kwargs)
            from IPython.display import display

            display(self._repr_mimebundle_(), raw=True)


COLAB_NOTE = (
    '<p style="color:#555;font-size:90%">On Colab the course shows its widgets\' music without their controls '
    "(Colab's support for ipywidgets 8 is incomplete): open this notebook in JupyterLab or on Binder to use them, "
    "or set <code>MUSEGEN_LIVE_WIDGETS=1</code> to try them here.</p>"
)
"""Said under a widget's music on Colab, where its controls are not shown (:func:`musegen_widgets.colab.live_widgets`)."""

STATIC_NOTE = (
    '<p style="color:#555;font-size:90%">Saved music, shown without a kernel: run the notebook to move the '
    "controls.</p>"
)
"""Said under the saved music of a widget with controls, where they cannot work."""


def run_soon(callback) -> None:
    """Run ``callback`` at the next turn of the running event loop, or at once where none runs.

    In a kernel, a widget's change handler runs inside the kernel's event loop, and a callback scheduled
    with ``call_soon`` runs after the messages that are already waiting (more slider moves, typically). In a
    script or a test there is no loop, and the callback runs before this returns.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
    else:
        loop.call_soon(callback)


def figure_png(figure) -> bytes:
    """A matplotlib figure as the PNG bytes an ``Image`` widget shows."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def read_upload(upload: dict, read: Callable[[Path], T]) -> T:
    """``read(path)`` of a file from a ``FileUpload``, written under its own name (readers go by its suffix)
    to a temporary folder that is gone afterwards; errors name the file as the learner knows it, not the
    temporary path."""
    name = Path(upload["name"]).name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(upload["content"]))
        try:
            return read(path)
        except MusegenError as error:
            raise MusegenError(str(error).replace(str(path), name)) from None


def uploaded_tokens(upload: dict) -> np.ndarray:
    """Melody tokens of a file from a ``FileUpload`` (its top voice); errors name the file as the learner
    knows it."""
    return read_upload(upload, encoding.encode_melody)


class Explorer(StaticFallback, widgets.VBox):
    """What the slider widgets share: a message line, a guarded :meth:`refresh`, "latest wins" for slider moves,
    and a seed that wraps around.

    Taught in chapter 01, section 7 (sampling), where :class:`SamplerWidget` is the first of them. A subclass
    sets ``self.message`` (an ``HTML`` widget) and, for :meth:`_next_seed`, ``self.seed`` (an ``IntSlider``),
    observes its controls with :meth:`_changed` and writes :meth:`show`; an exception in :meth:`show` becomes
    the message, and the last music stays.

    **Latest wins.** A move starts a refresh at once. Moves that arrive while one is under way (a drag sends
    many) wait in the kernel's queue; they schedule a single refresh between them, which reads the settings as
    they are by then. So a drag never builds a backlog, and the music shown is always that of the last value.
    """

    _scheduled = False  # a refresh is scheduled and has not started yet

    def static_html(self) -> str:
        """The music shown (``self.view``, a :class:`ScoreView`) as plain HTML, for where no kernel runs."""
        view = getattr(self, "view", None)
        music = view.static_html() if view is not None else ""
        return music + STATIC_NOTE if music else ""

    def show(self) -> None:
        """Compute the music for the current settings and show it (raise to explain what is wrong)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Show the music for the current settings; a problem becomes the message, the last music stays."""
        try:
            self.show()
            self.message.value = ""
        except Exception as error:  # shown in the widget: a callback's exception would only reach the log
            self.message.value = error_html(error)

    def _changed(self, change=None) -> None:
        if not self._scheduled:
            self._scheduled = True
            run_soon(self._refresh_scheduled)

    def _refresh_scheduled(self) -> None:
        self._scheduled = False  # a move from now on needs a refresh of its own
        self.refresh()

    def _next_seed(self, _button=None) -> None:
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # observed: shows the next one
