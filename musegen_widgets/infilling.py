"""Harmonising a melody and rewriting any part of a chorale with an infilling model (chapter 06).

A four-voice passage is a grid of cells ``(steps, 4)``, one per voice and 16th step, each the pitch of a note
that starts there, a hold of the note before, or silence (:func:`~musegen_widgets.infill_cells.encode`), and a
*mask* of the same shape says which cells are hidden (``True``) and so to be written. :func:`harmonise` hides
alto, tenor and bass under a given soprano; :func:`infill` hides whatever the caller says. Both sample from
:class:`~musegen_widgets.models.chorale_infill.ChoraleInfill` in one of two ways:

- ``"ancestral"``: one hidden cell at a time, in a random order, each drawn from the model given the
  given cells and those drawn so far: one network pass per hidden cell;
- ``"gibbs"``: blocked Gibbs sampling with annealed masking (Yao et al. 2014; Coconet, Huang et al. 2017):
  draw every hidden cell at once, then ``steps`` times hide a random share ``p`` of them again and redraw
  those from the model given the rest, with ``p`` falling from ``p_max`` to ``p_min``
  (:func:`masking_schedule`). Early rounds rewrite most of the harmony at once, late ones polish single
  notes: a few dozen passes, however long the passage.

The model learns Bach's style from examples, not his rules, and its drafts hold many times as many
parallel fifths and octaves as Bach's chorales (chapter 06, section 6, measures the ratio). With
``avoid_parallels`` (the default) the sampler then enforces the rule: :func:`remove_parallels` redraws each
written note that makes a parallel, from the model's own probabilities restricted to the values that make
fewer.

>>> masking_schedule(10)[[0, 3, 9]].round(3).tolist()
[0.9, 0.557, 0.1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import encoding
from .errors import MusegenError
from .infill_cells import CELL_VOCAB_SIZE, HOLD, decode, encode, sounding
from .numerics import draw_from_logits, one_blas_thread
from .piece import MusicLike, Piece, pitch_name

__all__ = [
    "SOPRANO_RANGE",
    "METHODS",
    "DEFAULT_TEMPERATURE",
    "DEFAULT_GIBBS_STEPS",
    "masking_schedule",
    "soprano_tokens",
    "resample",
    "remove_parallels",
    "harmonise",
    "infill",
]

SOPRANO_RANGE = (55, 84)
"""Lowest and highest MIDI pitch (G3, C6) :func:`harmonise` accepts in a melody. Bach's sopranos sing
57-81 (A3-A5) in the course's training split, which the model also saw in every key within a tritone."""

METHODS = ("gibbs", "ancestral")
"""How :func:`resample` draws the hidden cells."""

DEFAULT_TEMPERATURE = 1.1
"""Temperature of :func:`harmonise` and :func:`infill` when not given. At 1, the model's own distribution,
the lower voices have about half as many notes off the eighth-note grid and one 16th long as Bach's (the
network makes his passing 16ths rarer than they are); 1.1 brings both near his, for a few more pitch classes
per bar. Chapter 06, section 6, measures all three; 1.1 was chosen on those held-out numbers."""

DEFAULT_GIBBS_STEPS = 64
"""Rounds of blocked Gibbs sampling when ``steps`` is not given (chapter 06 measures the likelihood of the
result against the number of rounds)."""


def masking_schedule(steps: int, *, p_max: float = 0.9, p_min: float = 0.1, alpha: float = 0.7) -> np.ndarray:
    """Coconet's annealed masking probabilities ``p_i = max(p_min, p_max - (p_max - p_min) i / (alpha N))``.

    Taught in chapter 06, section 3 (sampling). Round ``i`` of ``N = steps`` hides each hidden cell again
    with probability ``p_i``: from ``p_max`` the share falls linearly and reaches ``p_min`` after a share
    ``alpha`` of the rounds, where it stays.
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise MusegenError(f"Gibbs steps must be a whole number of at least 1, got {steps!r}")
    if not (0 < p_min <= p_max <= 1 and 0 < alpha <= 1):
        raise MusegenError(
            f"need 0 < p_min <= p_max <= 1 and 0 < alpha <= 1, got p_min={p_min}, p_max={p_max}, alpha={alpha}"
        )
    i = np.arange(steps)
    return np.maximum(p_min, p_max - (p_max - p_min) * i / (alpha * steps))


def _forward(model):
    """The numpy forward pass of ``model`` (default: the shipped ``chorale_infill``)."""
    if model is None:
        from .models import load_pretrained

        model = load_pretrained("chorale_infill")
    return model.forward()


def _cells_and_hidden(cells: Any, hidden: Any) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``cells`` as integers and ``hidden`` as booleans, both checked to be ``(steps, 4)``."""
    cells = np.array(cells, dtype=np.int64)
    hidden = np.asarray(hidden, dtype=bool)
    if cells.ndim != 2 or cells.shape[1] != 4 or hidden.shape != cells.shape:
        raise MusegenError(f"cells and hidden must both be (steps, 4), got {cells.shape} and {hidden.shape}")
    return cells, hidden


def _singing_under_the_soprano(cells: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """0 or -inf per cell and value ``(steps, 4, values)``: where the given soprano sings, a written alto,
    tenor or bass cell may not be silence, nor a hold where the soprano's note starts after a rest (which
    would hold nothing: silence). A voice under a sung melody sings too, as in every held-out chorale."""
    soprano = sounding(np.where(hidden, 0, cells))[:, 0]  # the given soprano's pitch at each step, 0 if none
    sings = ~hidden[:, 0] & (soprano != 0)
    after_a_rest = sings & (np.concatenate([[0], soprano[:-1]]) == 0)
    penalty = np.zeros((*cells.shape, CELL_VOCAB_SIZE))
    penalty[sings, 1:, 0] = -np.inf
    penalty[after_a_rest, 1:, HOLD] = -np.inf
    return penalty


def _draw(log_probabilities: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    flat = log_probabilities.reshape(-1, log_probabilities.shape[-1])
    return draw_from_logits(flat, temperature, rng).reshape(log_probabilities.shape[:-1])


def resample(
    model,
    cells: Any,
    hidden: Any,
    *,
    method: str = "gibbs",
    steps: int | None = None,
    temperature: float = 1.0,
    seed: int | None = None,
    avoid_parallels: bool = True,
) -> np.ndarray:
    """New values for the ``hidden`` cells of ``cells`` ``(steps, 4)``, the others kept: an array like ``cells``.

    Taught in chapter 06, section 3 (sampling).

    Where the soprano is given and sings, a written alto, tenor or bass cell is never silence, nor a hold
    that would hold nothing (where the soprano's note starts after a rest): a voice under a sung melody
    sings too, as in every held-out chorale. The model's other values keep their odds.

    Parameters
    ----------
    model
        A :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill`, or ``None`` for the shipped one.
    cells
        Cells ``(steps, 4)`` (:func:`~musegen_widgets.infill_cells.encode`), step 0 on a beat; what hidden cells hold
        is ignored.
    hidden
        Boolean ``(steps, 4)``: the cells to write.
    method
        ``"gibbs"`` (blocked, annealed; ``steps`` rounds, default :data:`DEFAULT_GIBBS_STEPS`) or
        ``"ancestral"`` (one cell per network pass; ``steps`` must be ``None``).
    temperature
        Each draw is from ``softmax(log p / temperature)``; 0 takes the likeliest value.
    seed
        Seed of the random draws (masks and values).
    avoid_parallels
        Then redraw the written notes that make parallel fifths or octaves (:func:`remove_parallels`).
    """
    from .sampling import check_settings

    check_settings(temperature)
    if method not in METHODS:
        raise MusegenError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    cells, hidden = _cells_and_hidden(cells, hidden)
    if not hidden.any():
        raise MusegenError("nothing is hidden: choose at least one voice and bar to write")
    if cells.min() < 0 or cells.max() >= CELL_VOCAB_SIZE:
        raise MusegenError(f"cells must be from 0 to {CELL_VOCAB_SIZE - 1}")
    if method == "ancestral" and steps is not None:
        raise MusegenError("ancestral sampling takes one pass per hidden cell: leave steps unset")
    forward, rng = _forward(model), np.random.default_rng(seed)
    rule = _singing_under_the_soprano(cells, hidden)
    with one_blas_thread():  # small products, pass after pass (numerics.one_blas_thread says why)
        if method == "ancestral":
            still_hidden = hidden.copy()
            for cell in rng.permutation(np.flatnonzero(hidden)):
                step, voice = divmod(int(cell), 4)
                log_p = forward(cells, still_hidden)[step, voice] + rule[step, voice]
                cells[step, voice] = _draw(log_p, temperature, rng)
                still_hidden[step, voice] = False
        else:
            schedule = masking_schedule(DEFAULT_GIBBS_STEPS if steps is None else steps)
            # every hidden cell at once, then the rounds
            cells[hidden] = _draw((forward(cells, hidden) + rule)[hidden], temperature, rng)
            for p in schedule:
                block = hidden & (rng.random(hidden.shape) < p)
                if block.any():
                    cells[block] = _draw((forward(cells, block) + rule)[block], temperature, rng)
        if avoid_parallels:
            _remove_parallels(forward, cells, hidden, rule, temperature, rng)
        return cells


_LIKELY = 10.0
"""A redrawn note first tries the values within this many nats of the likeliest one (all values after)."""


def _onset(cells: np.ndarray, step: int, voice: int) -> int:
    """The step where the note sounding in ``voice`` at ``step`` starts (back over its holds)."""
    while step > 0 and cells[step, voice] == HOLD:
        step -= 1
    return step


def _redraw_fewer_parallels(forward, cells, cell, rule, temperature, rng, margin) -> bool:
    """Redraw the note that starts at ``cell`` (its pitch; its holds follow it) from the model among the values
    within ``margin`` nats of its likeliest that make the fewest parallels in the passage, if that is fewer
    than now; whether it was redrawn."""
    from .metrics import parallels

    step, voice = cell
    alone = np.zeros(cells.shape, dtype=bool)
    alone[step, voice] = True
    log_p = forward(cells, alone)[step, voice] + rule[step, voice]
    log_p[HOLD] = -np.inf  # the note stays a note: a hold would join it to the one before
    values = np.flatnonzero(log_p > log_p.max() - margin)

    def count(value):
        trial = cells.copy()
        trial[step, voice] = value
        return len(parallels(sounding(trial)))

    counts = np.array([count(value) for value in values])
    if counts.min() >= len(parallels(sounding(cells))):
        return False
    allowed = values[counts == counts.min()]
    logits = np.full(log_p.shape, -np.inf)
    logits[allowed] = log_p[allowed]
    cells[step, voice] = draw_from_logits(logits[None], temperature, rng)[0]
    return True


def _remove_parallels(forward, cells, hidden, rule, temperature, rng) -> np.ndarray:
    from .metrics import parallels

    stuck: set[tuple[int, ...]] = set()
    while True:
        left = [tuple(row) for row in parallels(sounding(cells)).tolist() if tuple(row) not in stuck]
        if not left:
            return cells
        before, after, upper, lower, _ = found = left[rng.integers(len(left))]
        starts = {(_onset(cells, step, voice), voice) for step in (before, after) for voice in (upper, lower)}
        written = sorted(cell for cell in starts if hidden[cell])
        order = rng.permutation(len(written))
        if not any(
            _redraw_fewer_parallels(forward, cells, written[i], rule, temperature, rng, margin)
            for margin in (_LIKELY, np.inf)
            for i in order
        ):
            stuck.add(found)  # every value of every written note of it makes as many: a given one


def remove_parallels(model, cells: Any, hidden: Any, *, temperature: float = 1.0, seed: int | None = None):
    """``cells`` ``(steps, 4)`` with the ``hidden`` (written) notes that make parallel fifths or octaves
    redrawn: a new array.

    Taught in chapter 06, section 7 (a rule the model did not learn). While a parallel has a written note
    in it (in either voice, before or after the motion; a note is written when the cell it starts in is), one
    of them, chosen at random, gets a new pitch from the model given everything else (its holds kept), among the values that make the fewest parallels in the passage, if
    that is fewer than now: first among the values within 10 nats of the likeliest, then among all. A
    parallel no written note can undo (between given notes) stays. Each redraw removes at least one
    parallel, so it ends.

    The other parameters are those of :func:`resample`.
    """
    cells, hidden = _cells_and_hidden(cells, hidden)
    with one_blas_thread():
        rule = _singing_under_the_soprano(cells, hidden)
        return _remove_parallels(
            _forward(model), cells, hidden, rule, temperature, np.random.default_rng(seed)
        )


def soprano_tokens(melody: MusicLike) -> tuple[np.ndarray, str]:
    """The top voice of ``melody`` as one column of cells (:func:`~musegen_widgets.infill_cells.encode`), and its
    time signature.

    Taught in chapter 06, section 4 (harmonise your own melody).

    Raises
    ------
    MusegenError
        If the melody has no notes, or a note outside :data:`SOPRANO_RANGE` (the message says by how much
        to transpose it).
    """
    piece = encoding.to_piece(melody)
    if piece.n_notes == 0:
        raise MusegenError("the melody has no notes: give at least one note to harmonise")
    top = next(voice for voice in piece.voices if len(voice))
    low, high = int(top[:, 0].min()), int(top[:, 0].max())
    lowest, highest = SOPRANO_RANGE
    if low < lowest or high > highest:
        name = pitch_name
        if high - low > highest - lowest:
            advice = "its range is wider than a soprano's: shorten it or move part of it by an octave"
        else:
            shift = lowest - low if low < lowest else highest - high
            advice = f"transpose it by {shift:+d} semitones"
        raise MusegenError(
            f"the melody goes from {name(low)} to {name(high)}, outside the soprano's "
            f"{name(lowest)}-{name(highest)}: {advice}"
        )
    # the top voice alone in four: the cells' soprano column (the highest note of a chord)
    alone = Piece((top, (), (), ()), piece.time_signature, length=piece.n_steps)
    return encode(alone)[:, 0], piece.time_signature


def harmonise(
    soprano: MusicLike,
    *,
    model=None,
    method: str = "gibbs",
    steps: int | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    seed: int | None = None,
    avoid_parallels: bool = True,
) -> Piece:
    """Alto, tenor and bass under ``soprano``, written by the infilling model: a four-voice :class:`Piece`.

    Taught in chapter 06, section 4 (harmonise your own melody).

    ``soprano`` is anything :func:`~musegen_widgets.encoding.to_piece` takes (its top voice is the
    melody: a :class:`Piece`, melody tokens, a MIDI or MusicXML file); the other arguments are those of
    :func:`resample`.

    >>> from musegen_widgets import data
    >>> melody = data.load_pieces("test")[0].voices[0]
    >>> piece = harmonise(Piece((melody,)), steps=4, seed=0)
    >>> len(piece.voices), np.array_equal(piece.voices[0], melody)  # the soprano is the melody, note for note
    (4, True)
    """
    tokens, time_signature = soprano_tokens(soprano)
    cells = np.zeros((len(tokens), 4), dtype=np.int64)
    cells[:, 0] = tokens
    hidden = np.zeros(cells.shape, dtype=bool)
    hidden[:, 1:] = True
    written = resample(
        model,
        cells,
        hidden,
        method=method,
        steps=steps,
        temperature=temperature,
        seed=seed,
        avoid_parallels=avoid_parallels,
    )
    title = soprano.title if isinstance(soprano, Piece) else ""
    return decode(written, time_signature=time_signature, title=title)


def infill(
    music: MusicLike,
    hidden: Any,
    *,
    model=None,
    method: str = "gibbs",
    steps: int | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    seed: int | None = None,
    avoid_parallels: bool = True,
) -> Piece:
    """``music`` (four voices) with its ``hidden`` cells ``(steps, 4)`` rewritten: a :class:`Piece`.

    Taught in chapter 06, section 5 (erase and rewrite). The other arguments are those of :func:`resample`.
    """
    piece = encoding.to_piece(music)
    cells = encode(piece)
    hidden = np.asarray(hidden, dtype=bool)
    if hidden.shape != cells.shape:
        raise MusegenError(f"the mask must be (steps, 4) = {cells.shape} for this music, got {hidden.shape}")
    written = resample(
        model,
        cells,
        hidden,
        method=method,
        steps=steps,
        temperature=temperature,
        seed=seed,
        avoid_parallels=avoid_parallels,
    )
    return decode(written, time_signature=piece.time_signature, title=piece.title)
