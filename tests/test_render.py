import re

import numpy as np
import pytest
from matplotlib.figure import Figure
from samples import GOOD_TOKENS

from musegen_widgets import data, encoding, render
from musegen_widgets.errors import MusegenError


def measures(svg: str) -> int:
    return len(re.findall(r'class="measure"', svg))


def test_melody_svg_has_one_measure_per_bar_and_stable_ids():
    melody = data.load_melodies("test")[1][: 8 * 16]
    svg = render.score_svg(melody)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg == render.score_svg(melody)
    assert melody[0] == encoding.REST  # this chorale has a pickup: engraved as a short first bar
    assert measures(svg) == 8


def test_all_inputs_render(good_midi, tmp_path):
    import music21

    piece = data.load_pieces("test")[0]
    xml = encoding.write_musicxml(piece, tmp_path / "c.musicxml")
    for x in (
        piece,
        encoding.to_stream(piece),
        encoding.encode_pianoroll(piece),
        xml,
        good_midi,
        encoding.encode_frames(piece),
        GOOD_TOKENS,
        music21.corpus.parse("bach/bwv269"),
    ):
        svg = render.score_svg(x)
        assert measures(svg) >= 1 and "<path" in svg


def test_chorale_has_four_staves_and_the_right_meter():
    piece = data.load_pieces("test")[0]
    kern = render.to_kern(piece)
    assert kern.splitlines()[1].split("\t") == ["**kern"] * 4
    assert f"*M{piece.time_signature}" in kern
    svg = render.score_svg(piece)
    bars = -(-piece.n_steps // piece.steps_per_bar)
    assert measures(svg) in (bars, bars + 1)
    assert len(re.findall(r'class="staff"', svg)) == 4 * measures(svg)


def test_long_notes_are_tied_across_barlines():
    piece = encoding.Piece(([[60, 12, 20]],))
    kern = render.to_kern(piece)
    assert "[4c" in kern and "4c]" in kern


def test_key_signature_follows_the_notes():
    d_major = encoding.Piece(([[62, 0, 4], [66, 4, 8], [69, 8, 12], [73, 12, 16]],))
    assert "*k[f#c#]" in render.to_kern(d_major)
    assert "*k[b-]" in render.to_kern(encoding.Piece(([[65, 0, 4], [70, 4, 8], [72, 8, 16]],)))


def test_nothing_to_engrave():
    with pytest.raises(MusegenError, match="no notes"):
        render.score_svg(np.array([encoding.REST, encoding.HOLD]))


def test_pianoroll_draws_every_note_in_its_voice_colour():
    piece = data.load_pieces("test")[0]
    figure = render.pianoroll(piece)
    assert isinstance(figure, Figure)
    collections = figure.axes[0].collections
    assert [len(c.get_paths()) for c in collections] == [len(v) for v in piece.voices]
    assert figure.axes[0].get_legend() is not None


def _spine_durations_per_bar(kern: str) -> list[list[float]]:
    """Sum of written durations (in quarters) of each spine between barlines, from the kern text."""
    rows = [line.split("\t") for line in kern.splitlines() if line and not line.startswith(("!", "*"))]
    totals, bars = [0.0] * len(rows[0]), []
    for row in rows:
        if row[0].startswith("="):
            bars.append(totals)
            totals = [0.0] * len(row)
            continue
        for spine, token in enumerate(row):
            if token != ".":
                first = token.split()[0].strip("[]_")
                number, dots = re.match(r"(\d+)(\.*)", first).groups()
                value = 4 / int(number)
                totals[spine] += value * (2 - 0.5 ** len(dots))
    return bars


@pytest.mark.parametrize("seed", range(6))
def test_voices_that_enter_late_or_never_still_fill_every_bar(seed):
    # what a GAN writes: voices starting at different steps, silent bars, short fragments
    rng = np.random.default_rng(seed)
    roll = np.zeros((4, 64, 72), bool)
    for voice in range(4):
        if voice == seed % 4:
            continue  # one voice never sounds
        for step in range(int(rng.integers(1, 20)), 64):
            if rng.random() < 0.6:
                roll[voice, step, int(rng.integers(20, 50))] = True
    kern = render.to_kern(roll, time_signature="4/4")
    bars = _spine_durations_per_bar(kern)
    assert len({len(set(totals)) for totals in bars}) == 1 and all(len(set(t)) == 1 for t in bars)
    assert all(totals[0] == 4.0 for totals in bars[1:])  # every full bar: four quarters in every voice
    assert render.score_svg(roll, time_signature="4/4").count('class="measure"') >= 4
