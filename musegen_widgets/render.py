"""Seeing music in a notebook: engraved scores and piano rolls (chapter 00).

music21's own ``show()`` needs MuseScore for a score, which a notebook on Binder does not have. Here
:func:`score_svg` engraves with verovio, a C++ engraver that ships as a Python wheel, and returns SVG text
that a notebook shows inline. To stay fast it does not go through MusicXML or Humdrum: :func:`to_mei` writes
the notes as MEI, the encoding verovio lays out natively, with spelling, accidentals, ties, beams and
system breaks already decided (see ``benchmarks/README.md`` for what each route costs).

:func:`pianoroll` draws the same inputs as a matplotlib piano roll, one colour per voice;
:func:`attention_pianoroll` shades a melody's notes by the attention one step of a Transformer gives them.

Both accept anything :func:`musegen_widgets.encoding.to_piece` accepts: melody tokens, a piano roll, frames,
a music21 stream, a MIDI or MusicXML path, or a :class:`~musegen_widgets.piece.Piece`.
"""

from __future__ import annotations

import base64
import functools
import html

import numpy as np

from .encoding import to_piece
from .errors import MusegenError
from .piece import MusicLike, Piece, chord_segments

__all__ = [
    "score_svg",
    "score_image",
    "score_description",
    "pianoroll",
    "attention_pianoroll",
    "to_mei",
    "PALETTE",
    "VOICE_COLOURS",
    "VOICE_NAMES",
]

VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
"""Okabe and Ito's eight colours (blue, orange, bluish green, vermillion, reddish purple, sky blue, black,
yellow), which readers with any common colour-vision deficiency can tell apart: every chapter's figures
cycle through them (``plt.rcParams["axes.prop_cycle"] = plt.cycler(color=render.PALETTE)``)."""
VOICE_COLOURS = (PALETTE[3], PALETTE[1], PALETTE[2], PALETTE[0])
"""Soprano, alto, tenor, bass: vermillion, orange, bluish green and blue of :data:`PALETTE`."""

# 16th-step lengths that one written note can have, longest first, with their duration and dots.
_WRITTEN_LENGTHS = {
    24: ("1", 1),
    16: ("1", 0),
    14: ("2", 2),
    12: ("2", 1),
    8: ("2", 0),
    7: ("4", 2),
    6: ("4", 1),
    4: ("4", 0),
    3: ("8", 1),
    2: ("8", 0),
    1: ("16", 0),
}
_SHARP_ORDER = "fcgdaeb"
_FLAT_ORDER = "beadgcf"
_LINE_OF_FIFTHS = "fcgdaeb"  # the natural notes at positions -1..5 of the line of fifths (C at 0)


def _spelling(fifths: int) -> tuple[tuple[str, int], ...]:
    """(letter, alteration) of each pitch class in a key signature of ``fifths`` (sharps > 0, flats < 0).

    A note of the signature's scale is spelled by it. Any other takes, of its two spellings with one sharp or
    flat, the one nearer on the line of fifths (..., Bb, F, C, G, D, A, E, B, F#, C#, G#, ...; Temperley,
    *The Cognition of Basic Musical Structures*, 2001) to the keys the signature names, a point one fifth
    sharpwards of the middle of its scale: so the raised sixth and seventh of the minor key and the leading
    notes of its dominant come out as sharps or naturals (F# and C# under two flats, G minor; G# and D#
    with none, A minor), and the major key's lowered seventh as a flat (Bb with none).

    >>> ["".join((letter.upper(), {1: "#", -1: "b", 0: ""}[alter])) for letter, alter in _spelling(-2)]
    ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
    """
    centre = fifths + 3
    spelled = []
    for pitch_class in range(12):
        base = (
            7 * pitch_class
        ) % 12  # a position of this pitch class on the line of fifths (7 * 7 = 1 mod 12)
        candidates = [base + 12 * shift for shift in (-2, -1, 0, 1) if -8 <= base + 12 * shift <= 12]
        position = min(candidates, key=lambda p: (abs(p - centre), -p))  # a tie goes to the sharp side
        spelled.append((_LINE_OF_FIFTHS[(position + 1) % 7], (position + 1) // 7))
    return tuple(spelled)


_SPELLINGS = {fifths: _spelling(fifths) for fifths in range(-7, 8)}
_NATURAL_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {1: "s", -1: "f", 0: "n"}
_CLEFS = {
    "G": 'shape="G" line="2"',
    "G8": 'shape="G" line="2" dis="8" dis.place="below"',
    "F": 'shape="F" line="4"',
}
_MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)

# A model of how wide verovio engraves a bar, in its internal units (ten per unit of page width), used to
# cast off systems here: verovio's own cast-off ("breaks": "auto") lays the score out twice. A bar is a
# fixed part plus a part per time slice (an onset in any voice); every system opens with a clef and the key
# signature, the first one also with the time signature and, in four-voice scores, the voice names.
# Fitted to verovio 6.4's unjustified bar widths of the training chorales; tests/test_render.py checks that
# no system of a test chorale or melody comes out squeezed or half empty.
_BAR_WIDTH, _SLICE_WIDTH = 1700, 250
_CLEF_WIDTH, _ACCIDENTAL_WIDTH, _METER_WIDTH, _NAMES_WIDTH = 200, 220, 200, 1700
_PAGE_MARGINS = 1000
_SAFETY = 0.97  # plan for 3 % less than the line: bars of 16ths and leaps can run wider than the fit says


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


def _pieces(length: int) -> list[int]:
    """Split a length in steps into written note lengths, longest first."""
    out = []
    while length:
        step = next(k for k in _WRITTEN_LENGTHS if k <= length)
        out.append(step)
        length -= step
    return out


def _clef(notes: np.ndarray, name: str = "") -> str:
    if name:
        return {"Soprano": "G", "Alto": "G", "Tenor": "G8", "Bass": "F"}[name]
    mean = notes[:, 0].mean() if len(notes) else 67
    return "G" if mean >= 59 else "G8" if mean >= 50 else "F"


# one written note, chord or rest: (onset step, length in steps, [(pitch, tie)] or [] for a rest), where
# tie is "" (none), "i" (tied to the next), "m" (both ways) or "t" (tied from the previous)
Event = tuple[int, int, list[tuple[int, str]]]


def _voice_events(notes: np.ndarray, n_steps: int, bar: int, skip: int = 0) -> list[list[Event]]:
    """The written notes of one voice, bar by bar, from step ``skip`` (earlier silence is dropped) to the end.

    Raises :class:`MusegenError` if they would not fill the voice without gap or overlap: verovio aborts
    the whole process (and with it a notebook's kernel) on some inconsistent scores instead of reporting them.
    """
    bars: list[list[Event]] = [[] for _ in range(-(-n_steps // bar))]
    covered = skip
    for start, end, chord in chord_segments(notes, n_steps, bar):
        if end <= skip:
            continue
        start = max(start, skip)  # only silence lies before skip: it is the earliest note in any voice
        if start != covered:
            raise MusegenError(f"internal error: a voice's notation has a gap at step {covered}")
        covered = end
        lengths = _pieces(end - start)
        at = start
        for i, length in enumerate(lengths):
            written = []
            for pitch, tie_in, tie_out in chord:
                tied_in, tied_out = tie_in or i > 0, tie_out or i < len(lengths) - 1
                written.append(
                    (pitch, "m" if tied_in and tied_out else "t" if tied_in else "i" if tied_out else "")
                )
            bars[start // bar].append((at, length, written))
            at += length
    return bars


def _beat_steps(time_signature: str) -> int:
    """How many 16th steps one beam may span: a quarter, or a dotted quarter in compound meters."""
    numerator, denominator = (int(part) for part in time_signature.split("/"))
    return 6 if denominator == 8 and numerator % 3 == 0 else 4


def _key_alterations(fifths: int) -> dict[str, int]:
    """The alteration the key signature gives each letter: +1 sharp, -1 flat, 0 natural."""
    in_key = dict.fromkeys("abcdefg", 0)
    for letter in _SHARP_ORDER[: max(fifths, 0)]:
        in_key[letter] = 1
    for letter in _FLAT_ORDER[: max(-fifths, 0)]:
        in_key[letter] = -1
    return in_key


def _pickup_steps(piece: Piece) -> int:
    """The silence before the earliest note of any voice, if shorter than a bar: it is not engraved, so the
    first bar becomes a pickup bar. 0 when the music starts on the downbeat or after a whole bar of rest."""
    earliest = min(int(notes[:, 1].min()) for notes in piece.voices if len(notes))
    return earliest if earliest < piece.steps_per_bar else 0


def _place(pitch: int, spelling) -> tuple[str, int]:
    """A pitch's letter and octave as spelled (B#3 is MIDI 60, Cb5 is MIDI 71)."""
    letter, alteration = spelling[pitch % 12]
    return letter, (pitch - alteration - _NATURAL_PITCH_CLASS[letter]) // 12 - 1


def _layer_mei(events: list[Event], fifths: int, in_key: dict[str, int], beat: int) -> str:
    """The MEI of one voice in one bar: notes spelled in the key, accidentals shown as a score shows them
    (once per bar and octave, not on a tied-over note), eighths and shorter beamed by beat."""
    spelling = _SPELLINGS[fifths]
    shown: dict[tuple[str, int], int] = {}  # alterations written earlier in this bar
    elements = []
    for _, length, chord in events:
        duration, dots = _WRITTEN_LENGTHS[length]
        timing = f'dur="{duration}"' + (f' dots="{dots}"' if dots else "")
        if not chord:
            elements.append(f"<rest {timing}/>")
            continue
        notes = []
        places = [_place(pitch, spelling) for pitch, _ in chord]
        for pitch, tie in chord:
            letter, alteration = spelling[pitch % 12]
            octave = _place(pitch, spelling)[1]
            current = shown.get((letter, octave), in_key[letter])
            if tie in ("m", "t"):  # a tied-over note shows no accidental: it holds the pitch it began with
                accidental = f' accid.ges="{_ACCIDENTALS[alteration]}"' if alteration or current else ""
            elif alteration != current or places.count((letter, octave)) > 1:  # F and F# at once: sign both
                accidental = f' accid="{_ACCIDENTALS[alteration]}"'
                shown[letter, octave] = alteration
            else:
                accidental = f' accid.ges="{_ACCIDENTALS[alteration]}"' if alteration else ""
            tied = f' tie="{tie}"' if tie else ""
            notes.append(f'<note pname="{letter}" oct="{octave}"{accidental}{tied}')
        if len(notes) == 1:
            elements.append(f"{notes[0]} {timing}/>")
        else:
            elements.append(f"<chord {timing}>" + "".join(note + "/>" for note in notes) + "</chord>")
    # beam runs of two or more notes shorter than a quarter that lie within one beat
    groups = [
        (start // beat if chord and length < 4 and (start + length - 1) // beat == start // beat else None)
        for start, length, chord in events
    ]
    out, i = [], 0
    while i < len(elements):
        j = i + 1
        while groups[i] is not None and j < len(elements) and groups[j] == groups[i]:
            j += 1
        run = "".join(elements[i:j])
        out.append(f"<beam>{run}</beam>" if j - i > 1 else run)
        i = j
    return "".join(out)


def _system_starts(slices: list[int], line_width: int, accidentals: int, names_width: int) -> set[int]:
    """Indices of the bars that begin a new system, for the fewest and most even systems that fit.

    Minimises the sum of squared unused widths over all systems (the last one included, so that no
    system is left with a lone bar): fewer systems leave less unused width in total, even ones less squared.
    A bar too wide for any system gets one of its own.
    """
    widths = [_BAR_WIDTH + _SLICE_WIDTH * k for k in slices]
    opening = _CLEF_WIDTH + _ACCIDENTAL_WIDTH * accidentals
    n = len(widths)
    best = [0.0] + [float("inf")] * n  # best[j]: the cost of setting bars 0 .. j-1
    previous = [0] * (n + 1)
    for j in range(1, n + 1):
        used = 0
        for i in range(j - 1, -1, -1):  # a system holding bars i .. j-1
            used += widths[i]
            slack = line_width - opening - (_METER_WIDTH + names_width if i == 0 else 0) - used
            if slack < 0 and i < j - 1:
                break
            cost = best[i] + max(slack, 0) ** 2
            if cost < best[j]:
                best[j], previous[j] = cost, i
    starts, j = set(), n
    while j:
        j = previous[j]
        starts.add(j)
    return starts - {0}


def to_mei(music: MusicLike, *, time_signature: str | None = None, width: int | None = None) -> str:
    """MEI text of a piece, one staff per voice, ready for verovio.

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    MEI is the encoding verovio lays out natively: it reads it several times faster than Humdrum or
    MusicXML, because the notation is explicit. So this function decides what a reader of a score expects
    to be decided for them: spelling in the key, which accidentals to print, ties across barlines and
    beats, beams, and (given a page ``width`` in verovio units, as in :func:`score_svg`) where each system
    of the score begins. A silence at the start of the first bar in every voice is dropped, so a padded
    pickup is engraved as a pickup bar.

    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> mei = to_mei(np.array([pitch_to_token(61)] + [HOLD] * 3))  # one C sharp: D major's key signature
    >>> '<keySig sig="2s"/>' in mei and '<note pname="c" oct="4" accid.ges="s" dur="4"/>' in mei
    True
    """
    piece = to_piece(music, time_signature=time_signature)
    if piece.n_notes == 0:
        raise MusegenError("there are no notes to engrave")
    voices, n_steps, bar = piece.voices, piece.n_steps, piece.steps_per_bar
    fifths = _key_fifths(piece)
    in_key = _key_alterations(fifths)
    skip = _pickup_steps(piece)
    staves = [_voice_events(v, n_steps, bar, skip) for v in voices]
    n_bars = len(staves[0])
    names = VOICE_NAMES if len(voices) == 4 else [""] * len(voices)
    beat = _beat_steps(piece.time_signature)
    numerator, denominator = piece.time_signature.split("/")
    signature = f"{abs(fifths)}{'s' if fifths > 0 else 'f'}" if fifths else "0"
    group = ' symbol="bracket"' if len(voices) > 1 else ""

    staff_defs = "".join(
        f'<staffDef n="{n + 1}" lines="5">'
        + (f"<label>{name}</label>" if name else "")
        + f"<clef {_CLEFS[_clef(notes, name)]}/></staffDef>"
        for n, (notes, name) in enumerate(zip(voices, names))
    )
    if width is None:
        system_starts = set()
    else:
        slices = [len({start for staff in staves for start, _, _ in staff[i]}) for i in range(n_bars)]
        names_width = _NAMES_WIDTH if len(voices) == 4 else 0
        line_width = int(_SAFETY * (10 * width - _PAGE_MARGINS))
        system_starts = _system_starts(slices, line_width, abs(fifths), names_width)
    measures = []
    for i in range(n_bars):
        if i in system_starts:
            measures.append("<sb/>")
        number = i + (0 if skip else 1)
        attributes = f' n="{number}"' + (' metcon="false"' if i == 0 and skip else "")
        attributes += ' right="end"' if i == n_bars - 1 else ""
        content = "".join(
            f'<staff n="{n + 1}"><layer n="1">{_layer_mei(staff[i], fifths, in_key, beat)}</layer></staff>'
            for n, staff in enumerate(staves)
        )
        measures.append(f"<measure{attributes}>{content}</measure>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0"><music><body><mdiv><score>'
        f'<scoreDef><keySig sig="{signature}"/><meterSig count="{numerator}" unit="{denominator}"/>'
        f"<staffGrp{group}>{staff_defs}</staffGrp></scoreDef>"
        f"<section>{''.join(measures)}</section></score></mdiv></body></music></mei>"
    )


@functools.lru_cache(maxsize=1)
def _toolkit():
    import verovio

    verovio.enableLog(verovio.LOG_OFF)  # its warnings go to C-level stderr, which notebook tests would see
    return verovio.toolkit()


def score_svg(
    music: MusicLike, *, time_signature: str | None = None, width: int = 2000, scale: int = 40
) -> str:
    """An engraved score as SVG text, via verovio (no MuseScore or LilyPond needed).

    Taught in chapter 00, section 4 (seeing and hearing a chorale).

    Parameters
    ----------
    music
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

    Raises
    ------
    MusegenError
        For music with no notes, or a width or scale outside verovio's range (which it would silently
        change).

    Examples
    --------
    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> svg = score_svg(np.array([pitch_to_token(67), HOLD, HOLD, HOLD]))
    >>> svg.startswith("<svg") and svg == score_svg(np.array([pitch_to_token(67), HOLD, HOLD, HOLD]))
    True
    """
    if not (isinstance(width, (int, np.integer)) and 100 <= width <= 100_000):
        raise MusegenError(f"page width must be a whole number from 100 to 100000, got {width!r}")
    if not (isinstance(scale, (int, np.integer)) and 1 <= scale <= 1000):
        raise MusegenError(f"scale must be a whole number of percent from 1 to 1000, got {scale!r}")
    mei = to_mei(music, time_signature=time_signature, width=width)
    toolkit = _toolkit()
    toolkit.setOptions(
        {
            "pageWidth": width,
            "pageHeight": 60000,
            "adjustPageHeight": True,
            "scale": scale,
            "breaks": "encoded",  # where to_mei put them
            "header": "none",
            "footer": "none",
            "xmlIdChecksum": True,
            "svgViewBox": True,
            "svgRemoveXlink": True,
            "svgFormatRaw": True,  # no indentation: half the size in a saved notebook
        }
    )
    if not toolkit.loadData(mei):
        raise MusegenError("verovio could not engrave this music")
    svg = toolkit.renderToSVG(1)
    # let the score shrink to the width of the notebook, keeping its proportions
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


_MAJOR_KEYS = ("G♭", "D♭", "A♭", "E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯")  # -6 .. +6 fifths
_MINOR_KEYS = ("E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯", "C♯", "G♯", "D♯")


def score_description(music: MusicLike, *, time_signature: str | None = None) -> str:
    """A score in words: the text alternative of its picture, for a screen reader or where images are off.

    Taught in chapter 00, section 4 (seeing and hearing a chorale). Names the title, the voices, the number
    of bars (a pickup apart, as musicians count them: the pickup and a short last bar make one) and the
    meter, and the key signature the engraving uses (with the major and minor key it belongs to: which one
    the music is in, the signature alone does not say).

    >>> from musegen_widgets.encoding import Piece
    >>> score_description(Piece((np.array([[67, 0, 16], [66, 16, 32]]),), title="Two notes"))
    'Score: Two notes. One voice, 2 bars of 4/4, key signature with 1 sharp (G major or E minor).'
    """
    piece = to_piece(music, time_signature=time_signature)
    fifths = _key_fifths(piece)
    count = abs(fifths)
    signature = (
        "no sharps or flats"
        if fifths == 0
        else f"{count} {'sharp' if fifths > 0 else 'flat'}{'' if count == 1 else 's'}"
    )
    n_voices = len(piece.voices)
    voices = (
        "One voice"
        if n_voices == 1
        else f"{n_voices} voices ({', '.join(name.lower() for name in VOICE_NAMES)})"
        if n_voices == 4
        else f"{n_voices} voices"
    )
    bars = to_mei(piece).count("<measure ")  # as engraved
    pickup = _pickup_steps(piece) > 0  # engraved as a short bar of its own, which the count leaves out
    length = f"{'a pickup and ' if pickup else ''}{bars - pickup} bar{'' if bars - pickup == 1 else 's'}"
    title = f"Score: {piece.title}." if piece.title else "Score."
    return (
        f"{title} {voices}, {length} of {piece.time_signature}, key signature with "
        f"{signature} ({_MAJOR_KEYS[fifths + 6]} major or {_MINOR_KEYS[fifths + 6]} minor)."
    )


def score_image(svg: str, *, description: str) -> str:
    """An engraved score (``svg``, from :func:`score_svg`) as an ``<img>`` element whose source is the SVG
    itself, as a data URI, with ``description`` as its text alternative.

    Taught in chapter 00, section 4 (seeing and hearing a chorale). This is how a saved notebook keeps its
    scores visible wherever it is opened: JupyterLab and Notebook 7 sanitise the HTML of a notebook they do
    not trust (a fresh clone is one), and their sanitiser drops inline ``<svg>`` but keeps ``<img>`` with a
    ``data:`` source; nbconvert, nbviewer and the course's website show it too. Unlike a PNG, the picture
    is the exact engraving (so a notebook test can compare it) and stays sharp at any zoom.

    >>> score_image('<svg xmlns="http://www.w3.org/2000/svg"/>', description='A "test"')
    '<img alt="A &quot;test&quot;" style="max-width:100%;height:auto" src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="/>'
    """
    payload = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img alt="{html.escape(description)}" style="max-width:100%;height:auto" '
        f'src="data:image/svg+xml;base64,{payload}"/>'
    )


def pianoroll(music: MusicLike, *, time_signature: str | None = None, ax=None):
    """A piano-roll plot: time in bars across, pitch up, one colour per voice.

    Taught in chapter 00, section 5 (three ways to write music as numbers).

    Parameters
    ----------
    music
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

    piece = to_piece(music, time_signature=time_signature)
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


def attention_pianoroll(music: MusicLike, weights, step: int, *, time_signature: str | None = None):
    """A melody's piano roll with every note shaded by the attention that step ``step`` gives it, and the
    weight on each step below.

    Taught in chapter 05, section 6 (what the heads look at).

    Parameters
    ----------
    music
        Anything :func:`score_svg` accepts; its top voice is drawn.
    weights
        The attention of step ``step`` over every step, ``(n_steps,)`` (a row of
        ``model.attention_weights(tokens)``); a note receives the sum over the steps it sounds.
    step
        The step whose attention is drawn, marked by a line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    piece = to_piece(music, time_signature=time_signature)
    weights = np.asarray(weights, dtype=float).reshape(-1)
    if len(weights) < piece.n_steps or not 0 <= step < len(weights):
        raise MusegenError(
            f"need one weight per step ({piece.n_steps}) and a step inside them, got {len(weights)} and {step}"
        )
    notes = piece.voices[0] if piece.voices else np.zeros((0, 3), np.int64)
    received = np.array([weights[start:end].sum() for _, start, end in notes])
    bar = piece.steps_per_bar
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    roll, strip = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    shades = colormaps["Reds"](0.12 + 0.88 * received / max(received.max(initial=0), 1e-9))
    boxes = [Rectangle((st / bar, p - 0.4), (e - st) / bar, 0.8) for p, st, e in notes.tolist()]
    roll.add_collection(PatchCollection(boxes, facecolor=shades, edgecolor="#888", linewidth=0.5))
    pitches = notes[:, 0] if len(notes) else np.array([60])
    roll.set_ylim(pitches.min() - 2, pitches.max() + 2)
    roll.set_ylabel("MIDI pitch")
    for ax in (roll, strip):
        ax.axvline((step + 0.5) / bar, color="#0072B2", linewidth=1.5)
        ax.grid(axis="x", alpha=0.3)
    strip.bar((np.arange(len(weights)) + 0.5) / bar, weights, width=1 / bar, color="#D55E00")
    strip.set_xlim(0, max(piece.n_steps, 1) / bar)
    strip.set(xlabel="bar", ylabel="weight")
    roll.set_title(f"where step {step} looks (blue line): darker notes get more attention")
    return figure
