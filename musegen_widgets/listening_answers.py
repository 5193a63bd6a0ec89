"""Where a blind listening test keeps its answers: a CSV file per listener, written under a lock (chapter 04).

:class:`~musegen_widgets.widgets.ListeningTest` plays the excerpts and asks; this module keeps what the
listeners answer, so that nothing is lost and nothing is mixed up:

* **One file per listener.** An answer is a row of :data:`ANSWER_COLUMNS` (which trial, the question, the
  two excerpts played, the answer, the source it picked, when). One listener's rows go to ``filename`` in the
  test's folder; in a class that shares a folder, each listener's to a file of their own
  (:func:`answers_path`, with the name made safe for a file name by :func:`listener_name`).
* **Checked when read.** :func:`read_answers` reads a file only if every row answers *this* test: the same
  trials in the same order (the rows a test expects, ``trials``). A file that is something else is reported,
  naming it, and left as it is.
* **Written whole, under a lock.** :func:`record_answer` reads the file, checks that the answer is to its
  next trial, and replaces the whole file atomically (:func:`~musegen_widgets.files.write_atomically`), all
  while holding the file's lock (:func:`locked`): two tabs or kernels answering at once as the same listener
  lose nothing, and neither answers a trial twice.
* **Pooled for a class.** :func:`pool_answers` reads every listener's file of one test in the folder
  (:func:`listener_files`) and names the files it could not read.

>>> listener_name("Ada Lovelace"), answers_path("class", "listening_test.csv", "Ada-Lovelace").as_posix()
('Ada-Lovelace', 'class/listening_test.Ada-Lovelace.csv')
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import MusegenError
from .files import write_atomically

__all__ = [
    "ANSWER_COLUMNS",
    "LOCK_TIMEOUT",
    "listener_name",
    "answers_path",
    "listener_files",
    "read_answers",
    "record_answer",
    "pool_answers",
    "locked",
]

ANSWER_COLUMNS = [
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
"""The columns of an answers file, in order: the trial (from 1), the question, the source and excerpt number
played left and right, the answer (``left`` or ``right``), the source it picked, and when (UTC, ISO 8601).
A test's ``trials`` give each trial's first six."""

LOCK_TIMEOUT = 60.0
"""Seconds :func:`locked` waits for a file's lock before it gives up (it is held for the milliseconds of one
read and write)."""

_LEAVE = "it was left as it is: move it, or give the test another folder or filename"


def listener_name(name: str) -> str:
    """A listener's name as it goes into a file name: letters, digits, ``-`` and ``_`` kept, every other run
    of characters one ``-``, at most 40 characters.

    Taught in chapter 04, section 8 (a blind listening test).

    Raises
    ------
    MusegenError
        For a name with no letter or digit.

    >>> listener_name("Zoë O'Brien / 2b")
    'Zo-O-Brien-2b'
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")[:40].strip("-")
    if not cleaned:
        raise MusegenError(f"a listener's name needs a letter or a digit, got {name!r}")
    return cleaned


def answers_path(folder: str | os.PathLike, filename: str, listener: str | None = None) -> Path:
    """The answers file of one listener: ``filename`` in ``folder``, or for a ``listener`` (a name from
    :func:`listener_name`) the name put before the file's suffix.

    Taught in chapter 04, section 8 (a blind listening test).

    >>> answers_path(".", "listening_test.csv").name, answers_path(".", "listening_test.csv", "Ada").name
    ('listening_test.csv', 'listening_test.Ada.csv')
    """
    if listener is None:
        return Path(folder) / filename
    name = Path(filename)
    return Path(folder) / f"{name.stem}.{listener}{name.suffix}"


def listener_files(folder: str | os.PathLike, filename: str) -> dict[str, Path]:
    """Every listener's answers file of one test in ``folder`` (the files :func:`answers_path` names for
    ``filename``), by listener name, in the order of their names.

    Taught in chapter 04, section 8 (a blind listening test).
    """
    name = Path(filename)
    pattern = re.compile(re.escape(name.stem) + r"\.([A-Za-z0-9_-]+)" + re.escape(name.suffix) + "$")
    found = {}
    for path in sorted(Path(folder).glob(f"{glob.escape(name.stem)}.*{glob.escape(name.suffix)}")):
        match = pattern.match(path.name)
        if match:
            found[match.group(1)] = path
    return found


def read_answers(path: str | os.PathLike, trials: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The answers in one listener's file, checked against the test: one dict per row (by column), the
    trials in order from the first; no file, no answers.

    Taught in chapter 04, section 8 (a blind listening test).

    Parameters
    ----------
    path
        The answers file.
    trials
        What each trial of the test puts in the first six of :data:`ANSWER_COLUMNS` (``trial``, ``question``,
        and the sources and excerpt numbers played), one mapping of strings per trial, in order.

    Raises
    ------
    MusegenError
        For a file that is not an answers file, holds more answers than the test has trials, or has a row
        that answers another test (other sources, seed or question) or gives no answer. The message names
        the file, which is left as it is.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        raise MusegenError(f"this is not a listening-test answers file ({error}); {_LEAVE}", path) from None
    header = table[0] if table else None
    if header != ANSWER_COLUMNS:
        raise MusegenError(
            f"this is not a listening-test answers file (its columns are {header}); {_LEAVE}", path
        )
    rows = [dict(zip(header, values)) for values in table[1:] if values]
    if len(rows) > len(trials):
        raise MusegenError(f"it holds {len(rows)} answers for a test of {len(trials)} trials; {_LEAVE}", path)
    for trial, row in enumerate(rows):
        if any(row.get(key) != value for key, value in trials[trial].items()) or row.get("answer") not in (
            "left",
            "right",
        ):
            raise MusegenError(
                f"row {trial + 2} is not an answer to this test (other sources, seed or question); {_LEAVE}",
                path,
            )
    return rows


def record_answer(
    path: str | os.PathLike, row: Mapping[str, str], trials: Sequence[Mapping[str, str]]
) -> tuple[bool, list[dict[str, str]]]:
    """Add ``row`` (one answer, every one of :data:`ANSWER_COLUMNS`) to the file, if its trial is the file's
    next one.

    Taught in chapter 04, section 8 (a blind listening test).

    The file is read, checked (:func:`read_answers`) and written again whole, atomically, while its lock is
    held (:func:`locked`), so that another tab or kernel answering as the same listener loses nothing: an
    answer to a trial the file already answers is not added.

    Returns
    -------
    tuple
        Whether the row was added, and the answers on file now.

    Raises
    ------
    MusegenError
        For a file that is not this test's (see :func:`read_answers`), or a lock not free within
        :data:`LOCK_TIMEOUT`.
    OSError
        If the file cannot be written.
    """
    path = Path(path)
    with locked(path):
        on_file = read_answers(path, trials)
        if len(on_file) != int(row["trial"]) - 1:
            return False, on_file
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ANSWER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([*on_file, row])
        write_atomically(path, buffer.getvalue().encode("utf-8"))
    return True, [*on_file, dict(row)]


def pool_answers(
    folder: str | os.PathLike, filename: str, trials: Sequence[Mapping[str, str]]
) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """Every listener's answers to one test in ``folder`` (:func:`listener_files`, each checked by
    :func:`read_answers`), by listener name, and the problems of the files that could not be read (each
    naming its file, which is left as it is).

    Taught in chapter 04, section 8 (a blind listening test).
    """
    answers, problems = {}, []
    for name, path in listener_files(folder, filename).items():
        try:
            answers[name] = read_answers(path, trials)
        except MusegenError as error:
            problems.append(str(error))
    return answers, problems


@contextlib.contextmanager
def locked(path: str | os.PathLike):
    """Hold an exclusive lock on ``path``'s lock file (``.name.lock`` beside it) while the block runs.

    Taught in chapter 04, section 8 (a blind listening test).

    The lock is :class:`filelock.FileLock`, the same on every system: ``flock`` on Linux and macOS,
    ``LockFileEx`` on Windows. Both are the operating system's locks on an open file, released by the system
    when the process holding one ends, however it ends, so a kernel that crashed or was killed mid-answer
    leaves no stale lock behind (the lock file may stay; it is not the lock). Only where the folder's file
    system has no such locks (some network shares) does a recent filelock fall back to the lock file's mere
    existence, which a killed process can leave behind (an older one raises an ``OSError``, which the
    listening test reports): hence a wait of at most :data:`LOCK_TIMEOUT`, after which the answer is refused
    with a message that names the lock file, instead of a kernel that hangs.

    Raises
    ------
    MusegenError
        If the lock is not free within :data:`LOCK_TIMEOUT`.
    """
    import filelock

    path = Path(path)
    lock_path = path.parent / f".{path.name}.lock"
    timeout = LOCK_TIMEOUT
    try:
        with filelock.FileLock(lock_path, timeout=timeout):
            yield
    except filelock.Timeout:
        raise MusegenError(
            f"the answers file stayed locked for {timeout:.0f} s (another tab or kernel is answering, "
            f"or one was stopped while it held {lock_path.name}); the answer was not saved: answer again, and "
            f"if this persists with no other tab open, delete {lock_path}",
            path,
        ) from None
