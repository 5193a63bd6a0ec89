import re
from xml.etree import ElementTree

from musegen_widgets import data, encoding, music21_io, render
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from samples import GOOD_TOKENS

MEI = "{http://www.music-encoding.org/ns/mei}"


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
    xml = music21_io.write_musicxml(piece, tmp_path / "c.musicxml")
    for x in (
        piece,
        music21_io.to_stream(piece),
        encoding.encode_pianoroll(piece),
        xml,
        good_midi,
        encoding.encode_frames(piece),
        GOOD_TOKENS,
        music21.corpus.parse("bach/bwv269"),
    ):
        svg = render.score_svg(x)
        assert measures(svg) >= 1 and "<path" in svg


def mei_measures(mei: str) -> list[ElementTree.Element]:
    return ElementTree.fromstring(mei).findall(f".//{MEI}measure")


def test_chorale_has_four_staves_and_the_right_meter():
    piece = data.load_pieces("test")[0]
    root = ElementTree.fromstring(render.to_mei(piece))
    labels = [label.text for label in root.iter(f"{MEI}label")]
    assert labels == list(render.VOICE_NAMES)
    count, unit = piece.time_signature.split("/")
    assert root.find(f".//{MEI}meterSig").attrib == {"count": count, "unit": unit}
    svg = render.score_svg(piece)
    bars = -(-piece.n_steps // piece.steps_per_bar)
    assert measures(svg) in (bars, bars + 1)
    assert len(re.findall(r'class="staff"', svg)) == 4 * measures(svg)


def notes_of(mei: str) -> list[dict[str, str]]:
    """The attributes of every note, in order, with the bar it is in."""
    out = []
    for measure in mei_measures(mei):
        for note in measure.iter(f"{MEI}note"):
            out.append(dict(note.attrib, bar=measure.get("n")))
    return out


def test_long_notes_are_tied_across_barlines():
    piece = encoding.Piece(([[60, 12, 20]],))
    tied = [(note["bar"], note["dur"], note.get("tie")) for note in notes_of(render.to_mei(piece))]
    assert tied == [("0", "4", "i"), ("1", "4", "t")]  # the opening silence makes a pickup bar


def test_key_signature_follows_the_notes():
    d_major = encoding.Piece(([[62, 0, 4], [66, 4, 8], [69, 8, 12], [73, 12, 16]],))
    f_major = encoding.Piece(([[65, 0, 4], [70, 4, 8], [72, 8, 16]],))
    key = ElementTree.fromstring(render.to_mei(d_major)).find(f".//{MEI}keySig")
    assert key.get("sig") == "2s"
    assert ElementTree.fromstring(render.to_mei(f_major)).find(f".//{MEI}keySig").get("sig") == "1f"
    # notes in the key carry their alteration silently; a flat key spells with flats
    assert [(n["pname"], n.get("accid.ges"), n.get("accid")) for n in notes_of(render.to_mei(f_major))] == [
        ("f", None, None),
        ("b", "f", None),
        ("c", None, None),
    ]


def test_accidentals_are_printed_once_per_bar_and_not_on_tied_notes():
    # F#, F#, F (natural), F# in bar 1, then F# tied into bar 2 and F# again there; a low F and C make it C major
    notes = [
        [66, 0, 2],
        [66, 2, 4],
        [65, 4, 6],
        [66, 6, 8],
        [60, 8, 14],
        [66, 14, 18],
        [66, 18, 20],
        [60, 20, 32],
    ]
    notes += [[60, 32, 48], [64, 48, 56], [67, 56, 64]]
    c_major = encoding.Piece((notes, [[53, 0, 32], [48, 32, 64]]))
    mei = render.to_mei(c_major)
    assert ElementTree.fromstring(mei).find(f".//{MEI}keySig").get("sig") == "0"
    shown = [
        (n["bar"], n.get("accid"), n.get("tie"))
        for n in notes_of(mei)
        if (n["pname"], n["oct"]) == ("f", "4")
    ]
    assert shown == [
        ("1", "s", None),
        ("1", None, None),
        ("1", "n", None),
        ("1", "s", None),
        ("1", None, "i"),
        ("2", None, "t"),
        ("2", "s", None),  # a tie does not carry the sharp on to a new note in the next bar
    ]
    tied_over = [n for n in notes_of(mei) if n.get("tie") == "t" and n["oct"] == "4"]
    assert [(n["pname"], n.get("accid.ges")) for n in tied_over] == [
        ("f", "s")
    ]  # sounding F sharp, unprinted


def test_a_chord_with_two_notes_on_one_line_signs_both():
    c_major = encoding.Piece(([[60, 0, 16], [65, 4, 8], [66, 4, 8], [64, 8, 16]],))
    chord = [(n["pname"], n.get("accid")) for n in notes_of(render.to_mei(c_major)) if n["pname"] == "f"]
    assert chord == [("f", "n"), ("f", "s")]


def test_eighths_are_beamed_by_beat():
    # a quarter, two eighths, four sixteenths, an eighth and an eighth rest
    notes = [
        [60, 0, 4],
        [62, 4, 6],
        [64, 6, 8],
        [65, 8, 9],
        [67, 9, 10],
        [69, 10, 11],
        [71, 11, 12],
        [72, 12, 14],
    ]
    mei = render.to_mei(encoding.Piece((notes,)))
    beams = ElementTree.fromstring(mei).findall(f".//{MEI}beam")
    assert [len(beam) for beam in beams] == [2, 4]
    assert render.score_svg(encoding.Piece((notes,))).count('class="beam"') == 2


def test_nothing_to_engrave():
    with pytest.raises(MusegenError, match="no notes"):
        render.score_svg(np.array([encoding.REST, encoding.HOLD]))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"width": 50}, "page width"),
        ({"width": 2000.5}, "page width"),
        ({"scale": 0}, "scale"),
        ({"scale": 5000}, "scale"),
    ],
)
def test_page_settings_verovio_would_silently_change_are_refused(settings, message):
    with pytest.raises(MusegenError, match=message):
        render.score_svg(GOOD_TOKENS, **settings)


def test_pianoroll_draws_every_note_in_its_voice_colour():
    piece = data.load_pieces("test")[0]
    figure = render.pianoroll(piece)
    assert isinstance(figure, Figure)
    collections = figure.axes[0].collections
    assert [len(c.get_paths()) for c in collections] == [len(v) for v in piece.voices]
    assert figure.axes[0].get_legend() is not None


def _staff_durations_per_bar(mei: str) -> list[list[float]]:
    """Sum of written durations (in quarters) of each staff in each measure, from the MEI text."""
    bars = []
    for measure in mei_measures(mei):
        totals = []
        for staff in measure.findall(f"{MEI}staff"):
            layer = staff.find(f"{MEI}layer")
            events = [
                e for e in layer.iter() if e.get("dur")
            ]  # notes of a chord carry no duration of their own
            totals.append(sum(4 / int(e.get("dur")) * (2 - 0.5 ** int(e.get("dots", 0))) for e in events))
        bars.append(totals)
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
    bars = _staff_durations_per_bar(render.to_mei(roll, time_signature="4/4"))
    assert len({len(set(totals)) for totals in bars}) == 1 and all(len(set(t)) == 1 for t in bars)
    assert all(totals[0] == 4.0 for totals in bars[1:])  # every full bar: four quarters in every voice
    assert render.score_svg(roll, time_signature="4/4").count('class="measure"') >= 4


def _systems(svg: str) -> list[list[int]]:
    """The width of each measure (its staff lines' length), system by system."""
    systems = []
    for system in svg.split('class="system"')[1:]:
        lines = (
            re.search(r'<path d="M(\d+) (\d+) L(\d+) \2"', m) for m in system.split('class="measure"')[1:]
        )
        systems.append([int(line.group(3)) - int(line.group(1)) for line in lines])
    return systems


def test_systems_are_cast_off_evenly_without_squeezing():
    # to_mei decides the systems from a model of bar widths; check it against verovio's own unjustified
    # widths for every test chorale, whole melody and 8-bar melody: on a page wide enough for one system,
    # which is the last one and so is not stretched, every bar has its natural width
    melodies = data.load_melodies("test")
    for x in data.load_pianorolls("test") + melodies + [m[: 8 * 16] for m in melodies]:
        (natural,) = _systems(render.score_svg(x, width=100_000))
        systems = _systems(render.score_svg(x))
        counts = [len(system) for system in systems]
        assert sum(counts) == len(natural)
        assert min(counts) >= max(counts) // 2  # no lone bar left on the last line
        first = 0
        for system in systems[:-1]:  # the last system is not stretched to the page width
            bars = range(first + 1, first + len(system))  # the first bar of a system also holds its clef
            assert sum(system[1:]) >= 0.9 * sum(natural[i] for i in bars)  # at most 10 % tighter than natural
            first += len(system)


@st.composite
def pieces(draw):
    """Random notation problems: up to four voices of notes that may overlap (chords), start late, leave
    gaps, cross barlines and beats, in simple and compound meters."""
    meter = draw(st.sampled_from(["4/4", "3/4", "3/2", "2/2", "6/8", "5/4"]))
    voices = []
    for _ in range(draw(st.integers(1, 4))):
        notes = []
        for _ in range(draw(st.integers(0, 12))):
            start = draw(st.integers(0, 80))
            notes.append([draw(st.integers(36, 90)), start, start + draw(st.integers(1, 30))])
        voices.append(notes)
    if not any(voices):
        voices[0].append([60, 0, 4])
    return encoding.Piece(tuple(voices), time_signature=meter)


@settings(max_examples=60, deadline=None)
@given(pieces())
def test_any_piece_is_written_as_well_formed_bars_and_engraved(piece):
    mei = render.to_mei(piece, width=2000)
    bar = piece.steps_per_bar / 4  # in quarters
    bars = _staff_durations_per_bar(mei)
    assert len({len(totals) for totals in bars}) == 1  # every measure has every staff
    assert all(len(set(totals)) == 1 for totals in bars)  # ... and they all last as long
    assert all(totals[0] == bar for totals in bars[1:-1])  # whole bars between a pickup and the end
    assert 0 < bars[-1][0] <= bar
    measures = len(mei_measures(mei))
    assert render.score_svg(piece).count('class="measure"') == measures


def _pitches_as_read(mei: str) -> list[list[int]]:
    """The pitch of every note struck, staff by staff, as a reader of the printed score gets it: a printed
    accidental holds for the rest of the bar in its octave, anything else follows the key signature, and a
    tied-over note is no new note (it must continue a note of the same letter and octave, whose pitch it
    keeps; a tie that ends nowhere fails)."""
    root = ElementTree.fromstring(mei)
    sig = root.find(f".//{MEI}keySig").get("sig")
    count = int(sig[:-1]) if sig != "0" else 0
    in_key = dict.fromkeys("abcdefg", 0)
    for letter in ("fcgdaeb" if sig.endswith("s") else "beadgcf")[:count]:
        in_key[letter] = 1 if sig.endswith("s") else -1
    alteration_of = {"s": 1, "f": -1, "n": 0}
    letters = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
    staves: dict[str, list[int]] = {}
    tied: dict[tuple[str, str, int], list[int]] = {}  # alterations carried by ties, in chord order
    for measure in root.iter(f"{MEI}measure"):
        for staff in measure.findall(f"{MEI}staff"):
            shown: dict[tuple[str, int], int] = {}
            read = staves.setdefault(staff.get("n"), [])
            for note in staff.iter(f"{MEI}note"):
                letter, octave = note.get("pname"), int(note.get("oct"))
                if note.get("accid"):
                    alteration = shown[letter, octave] = alteration_of[note.get("accid")]
                elif note.get("tie") in ("m", "t"):  # the reader follows the tie to the note it comes from
                    alteration = tied[staff.get("n"), letter, octave].pop(0)
                else:
                    alteration = shown.get((letter, octave), in_key[letter])
                if note.get("tie") in ("i", "m"):
                    tied.setdefault((staff.get("n"), letter, octave), []).append(alteration)
                if note.get("tie") not in ("m", "t"):
                    read.append(12 * (octave + 1) + letters[letter] + alteration)
    assert not any(tied.values()), "a tie that ends nowhere"
    return [staves[n] for n in sorted(staves, key=int)]


@settings(max_examples=60, deadline=None)
@given(pieces())
def test_a_reader_of_the_score_plays_the_right_pitches(piece):
    mei = render.to_mei(piece)
    # every note struck, in time order and a chord from the bottom up: each voice cut where anything changes
    # (encoding.chord_segments), a note struck where it does not continue from the step before
    struck = [
        [
            pitch
            for _, _, chord in encoding.chord_segments(notes, piece.n_steps, piece.steps_per_bar)
            for pitch, tied_in, _ in chord
            if not tied_in
        ]
        for notes in piece.voices
    ]
    assert _pitches_as_read(mei) == struck


def test_a_score_in_words_names_its_title_voices_bars_meter_and_key_signature():
    f_major = encoding.Piece(([[65, 0, 4], [70, 4, 8], [72, 8, 16], [65, 16, 32]],), title="In F")
    assert render.score_description(f_major) == (
        "Score: In F. One voice, 2 bars of 4/4, key signature with 1 flat (F major or D minor)."
    )
    melody = data.load_melodies("test")[1][: 8 * 16]  # a pickup, engraved as a bar of its own, and 7 bars
    words = render.score_description(melody)
    assert "One voice, a pickup and 7 bars of 4/4" in words and words.startswith("Score. ")
    three = encoding.Piece(tuple([[60 + 7 * k, 0, 48]] for k in range(3)), time_signature="3/4")
    assert render.score_description(three).startswith("Score. 3 voices, 4 bars of 3/4, ")  # 48 steps: 4 bars
    chorale = encoding.Piece(tuple([[pitch, 0, 16]] for pitch in (72, 67, 64, 48)), title="<Chorale>")
    assert render.score_description(chorale) == (
        "Score: <Chorale>. 4 voices (soprano, alto, tenor, bass), 1 bar of 4/4, key signature with no sharps "
        "or flats (C major or A minor)."
    )


def test_a_score_image_holds_the_exact_engraving_and_an_escaped_text_alternative():
    import base64
    import html

    svg = render.score_svg(GOOD_TOKENS)
    element = render.score_image(svg, description='Score: "<b>" & more')
    source = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', element).group(1)
    assert base64.b64decode(source).decode("utf-8") == svg
    alt = re.search(r'alt="([^"]*)"', element).group(1)
    assert "<" not in alt and '"' not in alt and html.unescape(alt) == 'Score: "<b>" & more'


@pytest.mark.parametrize(
    "corpus_id",
    ["bach/bwv328", "bach/bwv177.5", "bach/bwv297", "bach/bwv46.6", "bach/bwv336", "bach/bwv86.6"],
)
def test_chromatic_notes_are_spelled_as_bach_wrote_them(corpus_id):
    # chorales in flat, natural and sharp keys whose leading notes and borrowed notes a key-only spelling got
    # wrong (F# written Gb in G minor, C# as Db in D minor, E# as F): every note as music21 reads Bach's score
    import music21

    piece = data.load_pieces("all")[data.chorale_ids("all").index(corpus_id)]
    engraved = {}
    for staff in ElementTree.fromstring(render.to_mei(piece)).iter(f"{MEI}staff"):
        for note in staff.iter(f"{MEI}note"):
            if note.get("tie") not in ("m", "t"):
                sign = note.get("accid") or note.get("accid.ges") or "n"
                engraved.setdefault(int(staff.get("n")), []).append(
                    (note.get("pname"), {"s": 1, "f": -1, "n": 0}[sign], int(note.get("oct")))
                )
    score = music21.corpus.parse(corpus_id)
    for number, part in enumerate(score.parts, start=1):
        written = [
            (note.pitch.step.lower(), int(note.pitch.alter), note.pitch.octave)
            for note in part.recurse().notes
            if not note.duration.isGrace and (note.tie is None or note.tie.type == "start")
        ]
        assert engraved[number] == written, (corpus_id, number)
