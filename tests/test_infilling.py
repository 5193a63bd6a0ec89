from musegen_widgets import data, encoding, infill_cells, infilling, masking, metrics
from musegen_widgets.errors import MusegenError
from musegen_widgets.infill_cells import CELL_VOCAB_SIZE, HOLD, sounding
from musegen_widgets.models import ChoraleInfill, chorale_infill
from musegen_widgets.numerics import log_softmax

import keras
import numpy as np
import pytest


@pytest.fixture(scope="module")
def chorale():
    return infill_cells.encode(data.load_pieces("test")[0])


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    return ChoraleInfill(channels=16, dilations=[1, 2, 4])


def test_the_numpy_forward_pass_computes_what_the_model_computes(chorale, model):
    mask = np.random.default_rng(0).random((2, 48, 4)) < 0.4
    tokens = np.stack([chorale[:48], chorale[48:96]])
    expected = log_softmax(np.asarray(model([tokens, mask.astype(np.float32)]), dtype=np.float64))
    np.testing.assert_allclose(model.forward()(tokens, mask), expected, atol=1e-5)


def test_a_hidden_cell_tells_the_model_nothing(chorale, model):
    mask = np.zeros((64, 4), bool)
    mask[10:20, 1:] = True
    changed = chorale[:64].copy()
    changed[mask] = 5
    forward = model.forward()
    np.testing.assert_array_equal(forward(changed, mask), forward(chorale[:64], mask))
    changed[0, 0] += 1  # a given cell does change the answer
    assert not np.array_equal(forward(changed, mask), forward(chorale[:64], mask))


def test_predictions_see_context_steps_each_way_and_no_further(model):
    assert model.context == 7
    cells = np.full((40, 4), 30)
    mask = np.zeros((40, 4), bool)
    forward = model.forward()
    base = forward(cells, mask)[20]
    for step, seen in ((20 - 7, True), (20 + 7, True), (20 - 8, False), (20 + 8, False)):
        moved = cells.copy()
        moved[step, 2] = 40
        assert (not np.allclose(forward(moved, mask)[20], base)) == seen, step


def test_orderless_masks_hide_between_one_and_all_candidates():
    rng = np.random.default_rng(1)
    candidates = np.zeros((10, 4), bool)
    candidates[:, 1:] = True
    sizes = []
    for _ in range(400):
        mask = masking.orderless_mask(candidates, rng)
        assert not (mask & ~candidates).any()
        sizes.append(int(mask.sum()))
    assert min(sizes) == 1 and max(sizes) == 30
    assert abs(np.mean(sizes) - 15.5) < 1.5  # uniform on 1..30
    assert not masking.orderless_mask(np.zeros((3, 4), bool), rng).any()


def test_the_masking_schedule_is_coconets():
    p = infilling.masking_schedule(100)
    assert p[0] == pytest.approx(0.9) and p[-1] == pytest.approx(0.1)
    assert p[35] == pytest.approx(0.9 - 0.8 * 35 / 70)
    assert (p[70:] == pytest.approx(0.1)) and (np.diff(p) <= 0).all()
    with pytest.raises(MusegenError, match="Gibbs steps"):
        infilling.masking_schedule(0)
    with pytest.raises(MusegenError, match="p_min"):
        infilling.masking_schedule(5, p_min=0.95)


@pytest.mark.parametrize("method", infilling.METHODS)
def test_resampling_keeps_every_given_cell(chorale, model, method):
    cells = chorale[:32]
    hidden = np.zeros(cells.shape, bool)
    hidden[8:16, 1:] = True
    steps = 5 if method == "gibbs" else None
    written = infilling.resample(model, cells, hidden, method=method, steps=steps, seed=0)
    np.testing.assert_array_equal(written[~hidden], cells[~hidden])
    assert written.min() >= 0 and written.max() < CELL_VOCAB_SIZE
    again = infilling.resample(model, cells, hidden, method=method, steps=steps, seed=0)
    np.testing.assert_array_equal(written, again)


def test_temperature_zero_picks_the_likeliest_values(chorale, model):
    cells = chorale[:24]
    hidden = np.zeros(cells.shape, bool)
    hidden[5, 3] = True
    best = model.forward()(cells, hidden)[5, 3].argmax()
    written = infilling.resample(model, cells, hidden, method="ancestral", temperature=0)
    assert written[5, 3] == best


def test_resample_refuses_what_it_cannot_do(chorale, model):
    cells = chorale[:16]
    hidden = np.ones(cells.shape, bool)
    with pytest.raises(MusegenError, match="nothing is hidden"):
        infilling.resample(model, cells, ~hidden)
    with pytest.raises(MusegenError, match="method"):
        infilling.resample(model, cells, hidden, method="beam")
    with pytest.raises(MusegenError, match=r"\(steps, 4\)"):
        infilling.resample(model, cells[:, :3], hidden[:, :3])
    with pytest.raises(MusegenError, match="leave steps unset"):
        infilling.resample(model, cells, hidden, method="ancestral", steps=3)
    with pytest.raises(MusegenError, match="temperature"):
        infilling.resample(model, cells, hidden, temperature=-1)


def test_harmonise_keeps_the_melody_and_writes_three_voices(model):
    melody = encoding.Piece(([[67, 0, 4], [69, 4, 8], [71, 8, 16]],), title="<b>mine</b>")
    piece = infilling.harmonise(melody, model=model, steps=3, seed=1)
    assert len(piece.voices) == 4 and piece.n_steps == 16
    assert piece.voices[0].tolist() == melody.voices[0].tolist()
    assert piece.title == "<b>mine</b>"  # kept as given; escaped where shown


def test_harmonise_refuses_melodies_it_cannot_sing(model):
    with pytest.raises(MusegenError, match="no notes"):
        infilling.harmonise(encoding.Piece(((),), length=16), model=model)
    with pytest.raises(MusegenError, match=r"transpose it by \+5 semitones"):
        infilling.harmonise(encoding.Piece(([[50, 0, 4]],)), model=model)
    with pytest.raises(MusegenError, match="wider than a soprano"):
        infilling.harmonise(encoding.Piece(([[50, 0, 4], [90, 4, 8]],)), model=model)


def test_infill_rewrites_only_the_hidden_cells(chorale, model):
    piece = infill_cells.decode(chorale[:32])
    hidden = np.zeros((32, 4), bool)
    hidden[16:, 3] = True
    result = infill_cells.encode(infilling.infill(piece, hidden, model=model, steps=3, seed=0))
    np.testing.assert_array_equal(result[~hidden], chorale[:32][~hidden])
    with pytest.raises(MusegenError, match="mask must be"):
        infilling.infill(piece, hidden[:8], model=model)


def test_infill_nll_of_a_uniform_model_is_log_of_the_classes(chorale):
    class Uniform:
        def forward(self):
            return lambda tokens, mask: np.full((*np.shape(mask), 74), -np.log(74.0))

    assert metrics.infill_nll(Uniform(), [chorale]) == pytest.approx(np.log(74.0))
    with pytest.raises(MusegenError, match="no chorale"):
        metrics.infill_nll(Uniform(), [])


def test_infill_nll_rewards_a_model_that_knows_the_hidden_cells(chorale):
    class Knows:  # puts probability 1/2 on the true value of every cell
        def forward(self):
            def log_p(tokens, mask):
                p = np.full((*np.shape(mask), 74), 0.5 / 73)
                np.put_along_axis(p, np.asarray(tokens)[..., None], 0.5, axis=-1)
                return np.log(p)

            return log_p

    assert metrics.infill_nll(Knows(), [chorale]) == pytest.approx(np.log(2.0))


def test_infill_batches_weigh_every_passage_alike():
    chorales = [np.full((100, 4), 30), np.full((50, 4), 40)]  # no silence: padding is the only silence
    batches = chorale_infill.infill_batches(chorales, 32, seed=0, batch_size=4)
    steps = 0
    for (tokens, mask), targets, weights in batches:
        assert tokens.shape[1:] == (32, 4) and np.array_equal(tokens, targets)
        assert ((weights > 0) == (mask > 0)).all()
        real = tokens != encoding.SATB_SILENCE
        assert not (mask.astype(bool) & ~real).any()  # padding is never to be filled
        np.testing.assert_allclose(weights.sum(axis=(1, 2)), real.sum(axis=(1, 2)), rtol=1e-5)
        steps += real[:, :, 0].sum()
    assert steps == 150  # every step of both chorales, once


def test_a_melody_can_be_typed():
    piece = encoding.parse_melody("C4q D4q E4h | F#4q. Bb3e rh")
    assert piece.voices[0].tolist() == [[60, 0, 4], [62, 4, 8], [64, 8, 16], [66, 16, 22], [58, 22, 24]]
    assert piece.n_steps == 32  # the closing rest counts
    pickup = encoding.parse_melody("G4q | C5h", time_signature="3/4")
    assert pickup.voices[0].tolist() == [[67, 8, 12], [72, 12, 20]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("C4q H4q", "word 2, 'H4q', is neither a note"),
        ("C4q <script>", "word 2"),
        ("C4s.", "off the 16th-note grid"),
        ("rq rh", "no notes"),
        ("", "no notes"),
        ("C4q | D4q E4q | F4w", "bar 2 lasts 2 quarter notes; a bar of 4/4 has 4"),
        ("C4w C4q | D4w", "bar 1 lasts 5 quarter notes"),
        ("A9q", "outside MIDI"),
    ],
)
def test_a_malformed_melody_says_what_is_wrong(text, message):
    with pytest.raises(MusegenError, match=message):
        encoding.parse_melody(text)


def test_infill_nll_can_score_some_cells_given_the_others(chorale):
    class KnowsTheSoprano:  # sure of the soprano, uniform elsewhere
        def forward(self):
            def log_p(tokens, mask):
                p = np.full((*np.shape(mask), 74), 1 / 74)
                p[..., 0, :] = 0.0
                np.put_along_axis(p[..., 0, :], np.asarray(tokens)[..., 0, None], 1.0, axis=-1)
                return np.log(np.maximum(p, 1e-300))

            return log_p

    under_soprano = np.ones(chorale.shape, bool)
    under_soprano[:, 0] = False
    model = KnowsTheSoprano()
    assert metrics.infill_nll(model, [chorale], hidden=[under_soprano]) == pytest.approx(np.log(74.0))
    assert metrics.infill_nll(model, [chorale], hidden=[~under_soprano]) == pytest.approx(0.0)
    with pytest.raises(MusegenError, match="one boolean array per chorale"):
        metrics.infill_nll(model, [chorale], hidden=[under_soprano[:5]])


class ParallelWriter:
    """A model sure that alto, tenor and bass double the soprano a fifth, an octave and two octaves below,
    note for note (all else at 20 nats less): every draft is parallels throughout."""

    def forward(self):
        def log_p(tokens, mask):
            tokens = np.asarray(tokens)
            out = np.full((*tokens.shape, CELL_VOCAB_SIZE), -20.0)
            soprano = tokens[..., 0, None]
            for voice, below in ((1, 7), (2, 12), (3, 24)):
                target = np.where(soprano == HOLD, HOLD, soprano - below)
                np.put_along_axis(out[..., voice, :], target, 0.0, axis=-1)
            return log_softmax(out)

        return log_p


def rising_soprano(steps=32):
    cells = np.zeros((steps, 4), dtype=np.int64)
    cells[:, 0] = HOLD
    cells[::4, 0] = 40 + np.arange(0, steps, 4) // 4 % 5  # a new note every quarter, up and up again
    return cells


def test_the_sampler_undoes_every_parallel_it_wrote():
    cells, hidden = rising_soprano(), np.zeros((32, 4), bool)
    hidden[:, 1:] = True
    model = ParallelWriter()
    draft = infilling.resample(model, cells, hidden, steps=4, seed=0, avoid_parallels=False)
    assert len(metrics.parallels(sounding(draft))) > 20
    written = infilling.resample(model, cells, hidden, steps=4, seed=0)
    assert len(metrics.parallels(sounding(written))) == 0
    np.testing.assert_array_equal(written[:, 0], cells[:, 0])
    repaired = infilling.remove_parallels(model, draft, hidden, seed=0)
    assert len(metrics.parallels(sounding(repaired))) == 0
    np.testing.assert_array_equal(repaired[~hidden], draft[~hidden])


def test_parallels_between_given_notes_stay():
    cells = rising_soprano()
    cells[:, 1] = np.where(cells[:, 0] == HOLD, HOLD, cells[:, 0] - 12)  # the alto is given, in octaves
    hidden = np.zeros(cells.shape, bool)
    hidden[:, 2:] = True
    written = infilling.resample(ParallelWriter(), cells, hidden, steps=4, seed=0)
    found = metrics.parallels(sounding(written))
    assert len(found) > 0 and set(map(tuple, found[:, 2:4].tolist())) == {(0, 1)}


def test_remove_parallels_keeps_a_draft_without_parallels(chorale, model):
    hidden = np.zeros((64, 4), bool)
    hidden[:, 1:] = True
    bach = chorale[:64]
    assert len(metrics.parallels(sounding(bach))) == 0
    np.testing.assert_array_equal(infilling.remove_parallels(model, bach, hidden, seed=0), bach)
    with pytest.raises(MusegenError, match=r"\(steps, 4\)"):
        infilling.remove_parallels(model, bach[:, :3], hidden[:, :3])


def test_infill_batches_start_every_passage_on_a_beat():
    beats = np.tile(np.arange(10, 50, 10)[:, None], (30, 4))  # a cell's pitch rises through each beat
    for (tokens, _), _, _ in chorale_infill.infill_batches([beats, beats[:70]], 16, seed=1, copies=3):
        first = tokens[:, :2, 0]  # (transposed alike: the passage's key is random)
        assert (first[:, 1] - first[:, 0] == 10).all()
    with pytest.raises(MusegenError, match="whole number of beats"):
        chorale_infill.infill_batches([beats], 18, seed=0)


def test_the_model_knows_where_the_beat_falls(chorale, model):
    """The same cells one step later are a different question: the model is told each step's place."""
    hidden = np.zeros((33, 4), bool)
    hidden[16, 1] = True
    on_the_beat = model.forward()(chorale[:33], hidden)[16, 1]
    shifted = np.concatenate([chorale[:1], chorale[:33]])  # the same context, one 16th later
    one_later = model.forward()(shifted, np.roll(np.vstack([hidden, hidden[:1]]), 1, axis=0))[17, 1]
    assert np.abs(on_the_beat - one_later).max() > 1e-3


def test_a_harmonised_soprano_keeps_its_repeated_notes(model):
    repeated = encoding.Piece(([[67, 0, 4], [67, 4, 8], [69, 8, 16]],))
    piece = infilling.harmonise(repeated, model=model, steps=2, seed=0)
    assert piece.voices[0].tolist() == [[67, 0, 4], [67, 4, 8], [69, 8, 16]]


def test_under_a_sung_soprano_the_written_voices_never_rest():
    class LovesSilence:  # silence and holds likeliest everywhere
        def forward(self):
            def log_p(tokens, mask):
                out = np.full((*np.shape(tokens), CELL_VOCAB_SIZE), -20.0)
                out[..., 0] = out[..., HOLD] = 0.0
                return log_softmax(out)

            return log_p

    cells = np.zeros((16, 4), dtype=np.int64)
    cells[4:, 0] = HOLD
    cells[4, 0] = 40  # a rest of a beat, then a note held for three
    hidden = np.zeros(cells.shape, bool)
    hidden[:, 1:] = True
    for method in infilling.METHODS:
        written = sounding(infilling.resample(LovesSilence(), cells, hidden, method=method, seed=0))
        assert (written[4:, 1:] != 0).all()  # under the note, every voice sings
        assert (written[:4, 1:] == 0).all()  # under the rest, the model's silence stays
