"""What the course's widgets share: error messages, debouncing, uploaded files."""

from __future__ import annotations

import asyncio
import html
import tempfile
import threading
from pathlib import Path

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
