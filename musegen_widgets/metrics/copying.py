"""Copy detection: the longest runs of notes melodies share (chapters 00 and 04)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encoding import FIRST_PITCH_TOKEN, HOLD
from ..errors import MusegenError

__all__ = ["note_events", "shared_runs", "longest_copied_run"]


def note_events(tokens) -> list[tuple[int, int]]:
    """A melody as notes, each ``(interval from the previous note in semitones, length in steps)``.

    Taught in chapter 04, section 6 (does the model copy?).

    Rests end a note and are otherwise skipped; the first note's interval is 0. Intervals rather than
    pitches make a copy in another key a copy too.

    >>> from musegen_widgets.encoding import pitch_to_token
    >>> note_events([pitch_to_token(60), HOLD, pitch_to_token(62), 1, pitch_to_token(59)])
    [(0, 2), (2, 1), (-3, 1)]
    """
    tokens = np.asarray(tokens)
    events, previous = [], None
    for step in np.flatnonzero(tokens != HOLD):
        if tokens[step] >= FIRST_PITCH_TOKEN:
            length = 1
            while step + length < len(tokens) and tokens[step + length] == HOLD:
                length += 1
            pitch = int(tokens[step])
            events.append((0 if previous is None else pitch - previous, length))
            previous = pitch
    return events


def shared_runs(reference: Sequence, melodies: Sequence, *, rhythm: bool = True) -> np.ndarray:
    """The longest run of notes each melody of ``reference`` shares with each of ``melodies``: a
    ``(len(reference), len(melodies))`` integer array.

    Taught in chapter 00, section 3 (the Bach chorales).

    A run of *k* notes is shared when the *k - 1* intervals between them agree and, with ``rhythm``, so do
    their *k* lengths (:func:`note_events`): a transposed copy counts. Without ``rhythm`` only the intervals
    are compared, which finds one tune in two meters. This is the longest common *substring* of notes, not
    the longest common subsequence: a subsequence may skip notes, so any two melodies in one key share long
    ones, while a contiguous run is what copying looks like. Chapter 00 splits the chorales by tune with it;
    chapter 04 detects copying. A shared run is the same seen from either side, so swapping the arguments
    transposes the array; the reference comes first, as in every comparison of the package
    (:func:`~musegen_widgets.metrics.compare_sets`, :func:`~musegen_widgets.metrics.compare_multitrack`).

    >>> from musegen_widgets.encoding import pitch_to_token as t
    >>> tune = [t(60), t(62), t(64), t(65), t(67)]
    >>> shared_runs([tune], [[t(50), t(52), t(54), t(49)], [t(70)]]).tolist()  # up a tone twice
    [[3, 1]]
    """
    reference_events = [np.array(note_events(m), dtype=np.int64).reshape(-1, 2) for m in reference]
    events = [np.array(note_events(m), dtype=np.int64).reshape(-1, 2) for m in melodies]
    result = np.zeros((len(reference_events), len(events)), dtype=np.int64)
    if not any(len(e) for e in reference_events):
        return result
    # every reference melody in one row, each followed by a separator that matches nothing
    separator = np.array([[10_000, -1]])
    row = np.concatenate([part for e in reference_events for part in (e, separator)])
    owner = np.repeat(np.arange(len(reference_events)), [len(e) + 1 for e in reference_events])
    for j, melody in enumerate(events):
        run = np.zeros(len(row), dtype=np.int64)
        best = np.zeros(len(row), dtype=np.int64)
        for interval, length in melody:
            same_length = row[:, 1] == length if rhythm else row[:, 1] >= 0
            extends = same_length & (row[:, 0] == interval)
            # a run's first note has no note before it in the run: its interval is not compared
            run = np.where(extends, np.concatenate([[0], run[:-1]]) + 1, same_length.astype(np.int64))
            np.maximum(best, run, out=best)
        np.maximum.at(result[:, j], owner, best)
    return result


def longest_copied_run(reference: Sequence, samples: Sequence) -> np.ndarray:
    """For each of ``samples``, the most notes in a row (intervals and lengths) found, in a row, in some
    melody of ``reference`` (the corpus a model learned from, say).

    Taught in chapter 00, section 3 (the Bach chorales).

    The column maxima of :func:`shared_runs`; chapter 04's copy detection. The reference comes first, as in
    every comparison of the package: ``longest_copied_run(reference=train_melodies, samples=generated)``
    says which is which.

    >>> from musegen_widgets.encoding import pitch_to_token as t
    >>> tune = [t(60), t(62), t(64), t(65), t(67)]
    >>> longest_copied_run([tune], [[t(50), t(52), t(54), t(49)], [t(70)]]).tolist()  # up a tone twice
    [3, 1]
    """
    if len(samples) == 0 or len(reference) == 0:
        raise MusegenError("copy detection needs at least one sample and one reference melody")
    return shared_runs(reference, samples).max(axis=0)
