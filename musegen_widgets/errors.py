"""The one exception family of the course.

Every problem caused by input (an unreadable MIDI file, a token outside the vocabulary, a corrupt cache)
raises :class:`MusegenError` with a message that says what was wrong, with which input, and what to do.
Catching it is always safe: nothing has been half-written when it is raised.
"""

from __future__ import annotations

import os

__all__ = ["MusegenError"]


class MusegenError(ValueError):
    """A problem with the learner's input, a file, or a cache.

    Taught in chapter 00, section 7 (bring your own music).

    Parameters
    ----------
    message
        What went wrong and, where useful, what to do about it.
    path
        The file concerned, if any; it is named at the start of the message.

    Examples
    --------
    >>> str(MusegenError("no notes found", path="tune.mid"))
    'tune.mid: no notes found'
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        super().__init__(message if self.path is None else f"{self.path}: {message}")
