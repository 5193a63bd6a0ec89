from musegen_widgets import data, encoding, infill_cells
from musegen_widgets.errors import MusegenError
from musegen_widgets.infill_cells import HOLD
from musegen_widgets.piece import Piece

import numpy as np
import pytest


@pytest.mark.parametrize("split", ["valid", "test"])
def test_cells_read_back_to_the_same_chorales(split):
    for piece in data.load_pieces(split)[:10]:
        grid = infill_cells.encode(piece)
        again = infill_cells.decode(grid, time_signature=piece.time_signature)
        assert np.array_equal(infill_cells.encode(again), grid)
        # what sounds is what the S-A-T-B tokens say, step by step
        np.testing.assert_array_equal(infill_cells.sounding(grid), encoding.encode_satb(piece).reshape(-1, 4))


def test_a_held_note_and_a_repeated_one_differ():
    held = Piece(([[60, 0, 4]],) * 4)
    repeated = Piece(([[60, 0, 2], [60, 2, 4]],) * 4)
    assert infill_cells.encode(held)[:, 0].tolist() == [37, HOLD, HOLD, HOLD]
    assert infill_cells.encode(repeated)[:, 0].tolist() == [37, HOLD, 37, HOLD]
    assert infill_cells.decode(infill_cells.encode(repeated)).voices[0].tolist() == [[60, 0, 2], [60, 2, 4]]


def test_a_hold_after_silence_is_silence():
    grid = np.array([[HOLD, 0, 0, 0], [37, 0, 0, 0], [HOLD, 0, 0, 0], [0, 0, 0, 0], [HOLD, 0, 0, 0]])
    assert infill_cells.sounding(grid)[:, 0].tolist() == [0, 37, 37, 0, 0]
    assert infill_cells.decode(grid).voices[0].tolist() == [[60, 1, 3]]


def test_cells_refuse_what_they_cannot_be():
    with pytest.raises(MusegenError, match="exactly four voices"):
        infill_cells.encode(Piece(([[60, 0, 4]],)))
    with pytest.raises(MusegenError, match=r"\(steps, 4\)"):
        infill_cells.decode(np.zeros((4, 3), int))
    with pytest.raises(MusegenError, match="from 0 to 73"):
        infill_cells.decode(np.full((4, 4), 74))
