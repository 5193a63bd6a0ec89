"""Structure over a whole melody (chapter 08): key finding, Gaussian overlaps, Mittal et al.'s self-similarity."""

from musegen_widgets import generators
from musegen_widgets.encoding import encode_melody, parse_melody
from musegen_widgets.errors import MusegenError
from musegen_widgets.metrics import structure

import numpy as np
import pytest


def test_the_key_finder_agrees_with_music21s_krumhansl_schmuckler():
    from musegen_widgets.encoding import decode_melody
    from musegen_widgets.music21_io import to_stream

    import music21

    melodies = generators.excerpts("test")[:40]
    agree = 0
    for melody in melodies:
        stream = to_stream(decode_melody(melody))
        theirs = music21.analysis.discrete.KrumhanslSchmuckler().getSolution(stream)
        ours = structure.estimate_key(melody)
        agree += ours == (theirs.tonic.pitchClass, theirs.mode)
    assert agree >= 0.9 * len(melodies), f"{agree} of {len(melodies)}"


def test_a_key_needs_notes_and_transposes_with_the_melody():
    scale = encode_melody(parse_melody("A3q B3q C4q D4q | E4q C4q A3h"))
    tonic, mode = structure.estimate_key(scale)
    up = encode_melody(parse_melody("B3q C#4q D4q E4q | F#4q D4q B3h"))
    assert structure.estimate_key(up) == ((tonic + 2) % 12, mode)
    with pytest.raises(MusegenError):
        structure.estimate_key(np.full(16, 1))


def test_related_keys_accepts_the_neighbours_and_refuses_a_far_key():
    c_major = "C4q E4q G4q C5q | G4q E4q C4h | D4q F4q G4q B4q | C5w"
    g_major = "G4q B4q D5q G4q | D5q B4q G4h | A4q C5q D5q F#4q | G4w"
    a_minor = "A4q C5q E5q A4q | E5q C5q A4h | B4q D5q E5q G#4q | A4w"
    f_sharp = "F#4q A#4q C#5q F#4q | C#5q A#4q F#4h | G#4q B4q C#5q E#4q | F#4w"
    for second in (c_major, g_major, a_minor):
        assert structure.related_keys(encode_melody(parse_melody(f"{c_major} | {second}")))
    assert not structure.related_keys(encode_melody(parse_melody(f"{c_major} | {f_sharp}")))


@pytest.mark.parametrize(
    "m1, v1, m2, v2", [(0, 1, 0, 1), (0, 1, 1.5, 1), (0, 1, 0.5, 4), (3, 0.2, 0, 2), (0, 1, 8, 1)]
)
def test_the_gaussian_overlap_is_the_integral_of_the_smaller_density(m1, v1, m2, v2):
    grid = np.linspace(-30, 30, 600_001)

    def density(mean, variance):
        return np.exp(-((grid - mean) ** 2) / (2 * variance)) / np.sqrt(2 * np.pi * variance)

    numeric = np.trapezoid(np.minimum(density(m1, v1), density(m2, v2)), grid)
    assert structure.gaussian_overlap(m1, v1, m2, v2) == pytest.approx(numeric, abs=1e-7)
    assert structure.gaussian_overlap(m2, v2, m1, v1) == pytest.approx(numeric, abs=1e-7)


def test_framewise_overlaps_of_a_repeated_phrase_are_one():
    phrase = "C4q D4q E4q F4q | G4h E4h"
    repeated = encode_melody(parse_melody(" | ".join([phrase] * 4)))
    pitch, duration = structure.framewise_overlaps(repeated)
    assert len(pitch) == len(duration) == 2
    np.testing.assert_allclose(pitch, 1.0)
    np.testing.assert_allclose(duration, 1.0)
    # a melody that leaps an octave up after four bars: the pitch frames no longer overlap fully
    leap = encode_melody(parse_melody(" | ".join([phrase] * 2 + ["C5q D5q E5q F5q | G5h E5h"] * 2)))
    assert structure.framewise_overlaps(leap)[0].min() < 0.5


def test_self_similarity_is_one_against_itself():
    real = generators.excerpts("valid")
    same = structure.self_similarity(real, real)
    assert all(value == pytest.approx(1.0) for value in same.values())


def test_bars_glued_from_different_chorales_keep_one_key_less_often_than_bach():
    real = generators.excerpts("valid", "test")
    rng = np.random.default_rng(0)
    halves = np.concatenate([melody.reshape(-1, 64) for melody in real])
    glued = [halves[rng.choice(len(halves), 2)].reshape(-1) for _ in range(len(real))]
    bach = [structure.halves_agreement(melody) for melody in real]
    mixed = [structure.halves_agreement(melody) for melody in glued]
    assert np.mean(bach) > np.mean(mixed) + 0.2
    assert np.mean([structure.related_keys(m) for m in real]) > np.mean(
        [structure.related_keys(m) for m in glued]
    )
    assert structure.halves_agreement(np.full(128, 1)) == 0.0
