"""Chapter 04's registry of melody sources: every entry gives melodies of the same length, repeatably."""

import numpy as np
import pytest

from musegen_widgets import generators
from musegen_widgets.errors import MusegenError


@pytest.mark.parametrize("name", sorted(generators.GENERATORS))
def test_every_source_gives_repeatable_eight_bar_melodies_with_notes(name):
    melodies = generators.GENERATORS[name](3, seed=5)
    assert len(melodies) == 3
    for melody in melodies:
        assert melody.shape == (generators.STEPS,) and (melody >= 2).sum() >= 2
    again = generators.GENERATORS[name](3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(melodies, again))


def test_draw_skips_silence_and_gives_up_clearly():
    silent, tune = np.ones(8, int), np.array([20, 0, 21, 0])
    assert len(generators.draw(lambda s: tune if s % 2 else silent, 3, seed=0)) == 3
    with pytest.raises(MusegenError, match="only 0 of 6 samples"):
        generators.draw(lambda s: silent, 2, seed=0)


@pytest.mark.parametrize("name", sorted(generators.ROLL_GENERATORS))
def test_every_four_voice_source_gives_repeatable_two_bar_rolls(name):
    rolls = generators.ROLL_GENERATORS[name](4, seed=2)
    assert rolls.shape == (4, 4, 16 * generators.ROLL_BARS, 72) and rolls.dtype == bool
    assert rolls.any(axis=(1, 2, 3)).all()
    assert np.array_equal(rolls, generators.ROLL_GENERATORS[name](4, seed=2))
