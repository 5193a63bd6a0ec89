"""Seeing music in a notebook: engraved scores and piano rolls (chapter 00).

music21's own ``show()`` needs MuseScore for a score, which a notebook on Binder does not have. Here
:func:`score_svg` engraves with verovio, a C++ engraver that ships as a Python wheel, and returns SVG text
that a notebook shows inline. To stay fast it does not go through MusicXML: it writes the notes as Humdrum
``**kern`` (one text line per time slice), which verovio reads in a few milliseconds and beams itself.

:func:`pianoroll` draws the same inputs as a matplotlib piano roll, one colour per voice.

Both accept anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames,
a music21 stream, a MIDI or MusicXML path, or a :class:`~musegen_widgets.encoding.Piece`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .encoding import Piece, _segments, to_piece
from .errors import MusegenError

__all__ = ["score_svg", "pianoroll", "to_kern", "VOICE_COLOURS", "VOICE_NAMES"]

VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
VOICE_COLOURS = ("#d1495b", "#edae49", "#00798c", "#30638e")

# 16th-step lengths that one written note can have, longest first, with their **kern duration.
_KERN_LENGTHS = {
    24: "1.",
    16: "1",
    14: "2..",
    12: "2.",
    8: "2",
    7: "4..",
    6: "4.",
    4: "4",
    3: "8.",
    2: "8",
    1: "16",
}
_SHARP_ORDER = "fcgdaeb"
_FLAT_ORDER = "beadgcf"
_SHARP_NAMES = ("c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b")
_FLAT_NAMES = ("c", "d-", "d", "e-", "e", "f", "g-", "g", "a-", "a", "b-", "b")
_MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)


def _key_fifths(piece: Piece) -> int:
    """The key signature (-6 flats .. +6 sharps) whose scale holds the most note-time of the piece."""
    weights = np.zeros(12)
    for notes in piece.voices:
        np.add.at(weights, notes[:, 0] % 12, notes[:, 2] - notes[:, 1])
    best, best_score = 0, -1.0
    for fifths in sorted(range(-6, 7), key=abs):  # ties go to the simpler signature
        score = weights[np.roll(_MAJOR_SCALE, (7 * fifths) % 12)].sum()
        if score > best_score + 1e-9:
            best, best_score = fifths, score
    return best


def _kern_pitch(pitch: int, fifths: int) -> str:
    name = (_SHARP_NAMES if fifths >= 0 else _FLAT_NAMES)[pitch % 12]
    octave = pitch // 12 - 1
    letter, accidental = name[0], name[1:]
    return (letter * (octave - 3) if octave >= 4 else letter.upper() * (4 - octave)) + accidental


def _pieces(length: int) -> list[int]:
    """Split a length in steps into written note lengths, longest first."""
    out = []
    while length:
        step = next(k for k in _KERN_LENGTHS if k <= length)
        out.append(step)
        length -= step
    return out


def _clef(notes: np.ndarray, name: str = "") -> str:
    if name:
        return {"Soprano": "*clefG2", "Alto": "*clefG2", "Tenor": "*clefGv2", "Bass": "*clefF4"}[name]
    mean = notes[:, 0].mean() if len(notes) else 67
    return "*clefG2" if mean >= 59 else "*clefGv2" if mean >= 50 else "*clefF4"


def _voice_events(notes: np.ndarray, n_steps: int, bar: int, fifths: int, skip: int = 0) -> dict[int, str]:
    """Kern tokens of one voice by onset step, from step ``skip`` (earlier silence is dropped) to the end.

    Raises :class:`MusegenError` if the tokens would not fill the voice without gap or overlap: verovio
    aborts the whole process (and with it a notebook's kernel) on such a spine instead of reporting it.
    """
    events, covered = {}, skip
    for start, end, chord in _segments(notes, n_steps, bar):
        if end <= skip:
            continue
        start = max(start, skip)  # only silence lies before skip: it is the earliest note in any voice
        if start != covered:
            raise MusegenError(f"internal error: a voice's notation has a gap at step {covered}")
        covered = end
        lengths = _pieces(end - start)
        at = start
        for i, length in enumerate(lengths):
            duration = _KERN_LENGTHS[length]
            if not chord:
                events[at] = f"{duration}r"
            else:
                tokens = []
                for pitch, tie_in, tie_out in chord:
                    tied_in, tied_out = tie_in or i > 0, tie_out or i < len(lengths) - 1
                    prefix = "[" if tied_out and not tied_in else ""
                    suffix = "_" if tied_in and tied_out else "]" if tied_in else ""
                    tokens.append(f"{prefix}{duration}{_kern_pitch(pitch, fifths)}{suffix}")
                events[at] = " ".join(tokens)
            at += length
    return events


def to_kern(x: Any, time_signature: str | None = None) -> str:
    """Humdrum ``**kern`` text of a piece, one spine per voice, ready for verovio.

    A silence at the start of the first bar in every voice is dropped, so a padded pickup is engraved as
    a pickup bar.

    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> print(to_kern(np.array([pitch_to_token(60)] + [HOLD] * 3)))  # doctest: +NORMALIZE_WHITESPACE
    !!!filter: autobeam
    **kern
    *clefG2
    *k[]
    *M4/4
    4c
    ==
    *-
    """
    piece = to_piece(x, time_signature)
    voices = [v for v in piece.voices] or [np.zeros((0, 3), np.int64)]
    n_steps, bar = piece.n_steps, piece.steps_per_bar
    if piece.n_notes == 0:
        raise MusegenError("there are no notes to engrave")
    fifths = _key_fifths(piece)
    starts = [int(v[:, 1].min()) for v in voices if len(v)]
    skip = min(min(starts), bar) if starts else 0
    skip = skip if skip < bar else 0
    # Humdrum lists spines from the lowest staff to the highest.
    spines = [_voice_events(v, n_steps, bar, fifths, skip) for v in reversed(voices)]
    signature = "".join(c + "#" for c in _SHARP_ORDER[: max(fifths, 0)])
    signature += "".join(c + "-" for c in _FLAT_ORDER[: max(-fifths, 0)])
    numerator, denominator = piece.time_signature.split("/")

    def line(tokens: list[str]) -> str:
        return "\t".join(tokens)

    n = len(spines)
    names = VOICE_NAMES if n == 4 else [""] * n
    lines = ["!!!filter: autobeam", line(["**kern"] * n)]
    if n == 4:
        lines.append(line([f'*I"{name}' for name in reversed(names)]))
    if n > 1:
        lines.append(line([f"*staff{n - i}" for i in range(n)]))
    lines += [
        line([_clef(v, name) for v, name in zip(reversed(voices), reversed(names))]),
        line([f"*k[{signature}]"] * n),
        line([f"*M{numerator}/{denominator}"] * n),
    ]
    for t in sorted({t for spine in spines for t in spine if t >= skip}):
        if t % bar == 0 and t > skip:  # every bar start is an event in every voice (see _segments)
            lines.append(line([f"={t // bar + (0 if skip else 1)}"] * n))
        lines.append(line([spine.get(t, ".") for spine in spines]))
    lines.append(line(["=="] * n))
    lines.append(line(["*-"] * n))
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def _toolkit():
    import verovio

    verovio.enableLog(verovio.LOG_OFF)  # its warnings go to C-level stderr, which notebook tests would see
    return verovio.toolkit()


def score_svg(x: Any, width: int = 2000, scale: int = 40, time_signature: str | None = None) -> str:
    """An engraved score as SVG text, via verovio (no MuseScore or LilyPond needed).

    Parameters
    ----------
    x
        Melody tokens, a piano roll, frames, a music21 stream, a MIDI/MusicXML path, or a ``Piece``.
    width
        Page width in verovio units (tenths of a millimetre at scale 100); systems break to fit.
    scale
        Size of the engraving in percent.
    time_signature
        For arrays, which carry none.

    Returns
    -------
    str
        One ``<svg>`` element holding all systems; its element ids are stable for the same input.

    Examples
    --------
    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> svg = score_svg(np.array([pitch_to_token(67), HOLD, HOLD, HOLD]))
    >>> svg.startswith("<svg") and svg == score_svg(np.array([pitch_to_token(67), HOLD, HOLD, HOLD]))
    True
    """
    kern = to_kern(x, time_signature)
    toolkit = _toolkit()
    toolkit.setOptions(
        {
            "pageWidth": width,
            "pageHeight": 60000,
            "adjustPageHeight": True,
            "scale": scale,
            "breaks": "auto",
            "header": "none",
            "footer": "none",
            "xmlIdChecksum": True,
            "svgViewBox": True,
            "svgRemoveXlink": True,
        }
    )
    if not toolkit.loadData(kern):
        raise MusegenError("verovio could not engrave this music")
    svg = toolkit.renderToSVG(1)
    # let the score shrink to the width of the notebook, keeping its proportions
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


def pianoroll(x: Any, time_signature: str | None = None, ax=None):
    """A piano-roll plot: time in bars across, pitch up, one colour per voice.

    Parameters
    ----------
    x
        Anything :func:`score_svg` accepts.
    ax
        A matplotlib axes to draw into; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    piece = to_piece(x, time_signature)
    if ax is None:
        figure = Figure(figsize=(10, 3.2), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    bar = piece.steps_per_bar
    for voice, notes in enumerate(piece.voices):
        boxes = [Rectangle((st / bar, p - 0.4), (e - st) / bar, 0.8) for p, st, e in notes.tolist()]
        ax.add_collection(PatchCollection(boxes, facecolor=VOICE_COLOURS[voice % 4], linewidth=0))
    pitches = np.concatenate([v[:, 0] for v in piece.voices if len(v)] or [np.array([60])])
    ax.set_xlim(0, max(piece.n_steps, 1) / bar)
    ax.set_ylim(pitches.min() - 2, pitches.max() + 2)
    ax.set_xlabel("bar")
    ax.set_ylabel("MIDI pitch")
    ax.grid(axis="x", alpha=0.3)
    if len(piece.voices) > 1:
        names = (
            VOICE_NAMES if len(piece.voices) == 4 else [f"voice {i + 1}" for i in range(len(piece.voices))]
        )
        ax.legend(
            handles=[Patch(color=VOICE_COLOURS[i % 4], label=names[i]) for i in range(len(piece.voices))],
            loc="upper right",
            fontsize="small",
            ncols=len(piece.voices),
        )
    if piece.title:
        ax.set_title(piece.title)
    return figure
