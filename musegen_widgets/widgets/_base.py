"""What the course's widgets share: the Explorer base class (guarded refresh, debouncing, seeds), error messages,
uploaded files."""

from __future__ import annotations

import asyncio
import html
import io
import tempfile
import threading
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from .. import encoding
from ..errors import MusegenError


def error_html(error: Exception) -> str:
    """An exception as a red message for a widget (the text escaped: it may quote a user's file)."""
    text = str(error) if isinstance(error, MusegenError) else f"{type(error).__name__}: {error}"
    return f'<span style="color:#b00020">{html.escape(text)}</span>'


def debounced(callback, delay: float, timer):
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


def figure_png(figure) -> bytes:
    """A matplotlib figure as the PNG bytes an ``Image`` widget shows."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def uploaded_tokens(upload: dict) -> np.ndarray:
    """Melody tokens of a file from a ``FileUpload``; errors name the file as the learner knows it."""
    name = Path(upload["name"]).name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(upload["content"]))
        try:
            return encoding.encode_melody(path)
        except MusegenError as error:
            raise MusegenError(str(error).replace(str(path), name)) from None


class Explorer(widgets.VBox):
    """What the slider widgets share: a message line, a guarded :meth:`refresh`, debounced slider moves, and a
    seed that wraps around.

    Taught in chapter 01, section 7 (sampling), where :class:`SamplerWidget` is the first of them. A subclass
    sets ``self.debounce``, ``self.message`` (an ``HTML`` widget) and, for :meth:`_next_seed`, ``self.seed`` (an
    ``IntSlider``), and
    writes :meth:`show`; an exception in :meth:`show` becomes the message, and the last music stays.
    """

    _timer = None

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
        self._timer = debounced(self.refresh, self.debounce, self._timer)

    def _next_seed(self, _button=None) -> None:
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # observed: shows the next one
