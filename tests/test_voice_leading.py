from musegen_widgets import data, encoding, metrics
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest


def cells(*chords):
    """S-A-T-B cells from chords of MIDI pitches (None: silence), one chord per step."""
    return np.array([[0 if p is None else 1 + p - encoding.PIANOROLL_LOW for p in chord] for chord in chords])


def test_parallel_fifths_and_octaves_need_both_voices_to_move_the_same_way():
    # soprano and bass a twelfth apart (a fifth modulo octaves), both up a tone: one parallel fifth
    assert metrics.voice_leading_counts(cells((67, 60, 55, 48), (69, 60, 55, 50)))["parallel fifths"] == 1
    # contrary motion into a fifth from a fifth is not parallel; nor is oblique motion
    contrary = metrics.voice_leading_counts(cells((67, 60, 55, 48), (67, 60, 55, 48 - 12)))
    assert contrary["parallel octaves"] == 0 and contrary["parallel fifths"] == 0
    oblique = metrics.voice_leading_counts(cells((67, 60, 55, 48), (67, 62, 55, 48)))
    assert oblique["parallel fifths"] == 0
    # octaves, compound included: soprano and tenor two octaves apart, both down a step
    octaves = metrics.voice_leading_counts(cells((72, 64, 48, 45), (71, 64, 47, 43)))
    assert octaves["parallel octaves"] == 1
    assert octaves["motions"] == 6  # the alto holds, but every pair has a voice that moves


def test_voice_leading_cases_by_hand():
    """A table of two-chord cases, each counted by hand: (chord before, chord after, fifths, octaves)."""
    cases = [
        # In each, two voices move and the other two hold (oblique motion: never parallel).
        # S C4 with A F4 above it (crossed: a fourth apart, not a fifth), both up a tone: no parallel
        ((60, 65, 52, 45), (62, 67, 52, 45), 0, 0),
        # crossed fifth (A G4 above S C4), both up a tone: a parallel fifth all the same
        ((60, 67, 52, 45), (62, 69, 52, 45), 1, 0),
        # compound fifth, S G4 over B C3 (a twelfth), both down a tone
        ((67, 64, 60, 48), (65, 64, 60, 46), 1, 0),
        # contrary motion from a fifth to a twelfth (S up, B down): not parallel
        ((67, 64, 62, 60), (69, 64, 62, 50), 0, 0),
        # octave to double octave by contrary motion (S up a fifth, B down a fourth): not parallel
        ((60, 55, 52, 48), (67, 55, 52, 43), 0, 0),
        # unison to unison, A and T both up a tone: a parallel octave (unisons count)
        ((72, 60, 60, 48), (72, 62, 62, 48), 0, 1),
        # a fourth between S and A, not crossed, both up a tone: neither
        ((65, 60, 55, 48), (67, 62, 55, 48), 0, 0),
    ]
    for before, after, fifths, octaves in cases:
        counts = metrics.voice_leading_counts(cells(before, after))
        assert (counts["parallel fifths"], counts["parallel octaves"]) == (fifths, octaves), (before, after)
        rows = metrics.parallels(cells(before, after))
        assert len(rows) == fifths + octaves


def test_a_held_chord_is_no_motion_and_a_silent_voice_breaks_its_pairs():
    held = metrics.voice_leading_counts(cells((67, 60, 55, 48), (67, 60, 55, 48), (69, 62, 57, 50)))
    assert held["chords"] == 2 and held["motions"] == 6
    # everything up a tone: S-A, S-B and T-B are fifths apart, S-T and A-B octaves
    assert held["parallel fifths"] == 3 and held["parallel octaves"] == 2
    silent = metrics.voice_leading_counts(cells((67, 60, 55, None), (69, 62, 57, None)))
    assert silent["motions"] == 3


def test_crossings_spacing_and_range():
    counts = metrics.voice_leading_counts(cells((60, 64, 55, 48), (79, 62, 55, 48), (60, 59, 55, 30)))
    assert counts["crossings"] == 1  # alto above soprano in the first chord
    assert counts["wide spacings"] == 1  # 79 over 62 in the second
    assert counts["out of range"] == 1 and counts["notes"] == 9  # the bass's 30; held notes count once


def test_rates_are_per_hundred_of_their_unit():
    rates = metrics.voice_leading([cells((67, 60, 55, 48), (69, 62, 57, 50))])
    assert rates["parallel fifths"] == pytest.approx(100 * 3 / 6)
    assert rates["voice crossings"] == 0.0
    assert set(rates) == set(metrics.RATES)
    with pytest.raises(MusegenError, match="no passage"):
        metrics.voice_leading([])
    with pytest.raises(MusegenError, match=r"\(steps, 4\)"):
        metrics.voice_leading_counts(np.zeros((3, 3), int))


def test_bach_avoids_parallels_and_crossings():
    chorales = [encoding.encode_satb(p).reshape(-1, 4) for p in data.load_pieces("test")]
    rates = metrics.voice_leading(chorales)
    assert rates["parallel fifths"] < 1.0 and rates["parallel octaves"] < 1.0
    assert rates["voice crossings"] < 5.0
    shuffled = [c[:, np.random.default_rng(0).permutation(4)] for c in chorales]
    assert metrics.voice_leading(shuffled)["voice crossings"] > 30.0
