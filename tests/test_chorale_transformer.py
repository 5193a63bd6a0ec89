from musegen_widgets import attention, data, encoding, metrics
from musegen_widgets.errors import MusegenError
from musegen_widgets.models import ChoraleTransformer, chorale_transformer

import keras
import numpy as np
import pytest


@pytest.fixture(scope="module")
def chorale():
    return data.load_pieces("test")[0]


def test_satb_tokens_serialise_the_four_voices_step_by_step(chorale):
    tokens = encoding.encode_satb(chorale)
    assert len(tokens) == 4 * chorale.n_steps
    assert tokens.min() >= 0 and tokens.max() < encoding.SATB_VOCAB_SIZE
    back = encoding.decode_satb(tokens, time_signature=chorale.time_signature)
    assert np.array_equal(encoding.encode_satb(back), tokens)  # the same music, repeated notes merged
    soprano = tokens[0::4]
    sounding = soprano != encoding.SATB_SILENCE
    top = encoding.encode_pianoroll(chorale)[0].argmax(axis=1) + encoding.PIANOROLL_LOW
    assert (soprano[sounding] - 1 + encoding.PIANOROLL_LOW == top[sounding]).all()


def test_satb_tokens_refuse_music_they_cannot_hold():
    with pytest.raises(MusegenError, match="exactly four voices"):
        encoding.encode_satb(encoding.Piece(([[60, 0, 4]],)))
    with pytest.raises(MusegenError, match="outside 24-95"):
        encoding.encode_satb(encoding.Piece(([[100, 0, 4]], [[60, 0, 4]], [[55, 0, 4]], [[48, 0, 4]])))
    with pytest.raises(MusegenError, match="from 0 to"):
        encoding.decode_satb([0, 1, 2, encoding.SATB_VOCAB_SIZE])


@pytest.mark.parametrize("positions", ["relative", "absolute"])
def test_the_stepper_computes_what_the_model_computes(chorale, positions):
    keras.utils.set_random_seed(5)
    model = ChoraleTransformer(
        embedding=16, n_layers=2, heads=2, feed_forward=32, max_distance=24, positions=positions
    )
    tokens = encoding.encode_satb(chorale)[40:120]  # longer than max_distance
    expected = np.asarray(model(tokens[None]))[0]
    stepper = model.stepper()
    np.testing.assert_allclose([stepper.feed(int(t)) for t in tokens], expected, atol=1e-4)
    maps = model.attention_weights(tokens[:30])
    assert maps.shape == (2, 2, 30, 30)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    assert np.abs(np.triu(maps, 1)).max() < 1e-6  # nothing from the future


def test_absolute_positions_are_the_sinusoids_and_relative_ones_add_none(chorale):
    absolute = ChoraleTransformer(embedding=16, n_layers=1, heads=2, feed_forward=32, positions="absolute")
    relative = ChoraleTransformer(embedding=16, n_layers=1, heads=2, feed_forward=32, positions="relative")
    silence = np.zeros((1, 40), np.int32)
    for model in (absolute, relative):
        model(silence)
    voice = np.asarray(absolute.voice_embedding.embeddings)[np.arange(40) % 4]
    base = np.asarray(absolute.token_embedding.embeddings)[0] + voice
    np.testing.assert_allclose(
        np.asarray(absolute.embed(silence))[0] - base, attention.sinusoidal_positions(40, 16), atol=1e-5
    )
    assert len(relative.relative) == 1 and not hasattr(absolute, "relative")
    with pytest.raises(ValueError, match="relative, absolute"):
        ChoraleTransformer(positions="learned")


def test_training_windows_cover_every_chorale_in_some_key():
    chorales = [encoding.encode_satb(p) for p in data.load_pieces("valid")[:5]]
    batches = chorale_transformer.satb_windows(chorales, window=64, seed=0)
    inputs, targets, weights = batches[0]
    assert inputs.shape[1] == targets.shape[1] == weights.shape[1] == 64
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    covered = sum(w.sum() for _, _, w in batches)
    assert sum(len(c) for c in chorales) - 5 * 64 <= covered <= sum(len(c) for c in chorales)
    again = chorale_transformer.satb_windows(chorales, window=64, seed=0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again))


def test_windowed_nll_scores_each_window_on_its_own():
    class CountsFromTheWindowStart:  # predicts token (t + 1) % 4 at position t of what it is given
        def __call__(self, tokens):
            length = np.shape(tokens)[1]
            logits = np.where(np.eye(4)[(np.arange(length) + 1) % 4] > 0, 10.0, 0.0)
            return np.broadcast_to(logits, (*np.shape(tokens), 4))

    sequences = [np.arange(10) % 4, np.arange(7) % 4]
    whole = metrics.sequence_nll(CountsFromTheWindowStart(), sequences)
    in_fours = metrics.sequence_nll(CountsFromTheWindowStart(), sequences, window=4)
    in_threes = metrics.sequence_nll(CountsFromTheWindowStart(), sequences, window=3)
    assert whole == pytest.approx(in_fours) and whole < 0.01 < in_threes  # windows from 3 restart the count
    with pytest.raises(MusegenError, match="window"):
        metrics.sequence_nll(CountsFromTheWindowStart(), sequences, window=0)


def test_sample_satb_continues_a_primer_to_exactly_the_steps_asked(chorale):
    from musegen_widgets import sampling

    keras.utils.set_random_seed(6)
    model = ChoraleTransformer(embedding=16, n_layers=1, heads=2, feed_forward=32, max_distance=32)
    model(model.example_input())
    primer = encoding.encode_satb(chorale)[:64]
    tokens = sampling.sample_satb(model, steps=24, seed=3, primer=primer)
    assert len(tokens) == 96 and np.array_equal(tokens[:64], primer)
    assert np.array_equal(tokens, sampling.sample_satb(model, steps=24, seed=3, primer=primer))
    assert not np.array_equal(tokens, sampling.sample_satb(model, steps=24, seed=4, primer=primer))
    assert len(sampling.sample_satb(model, steps=5)) == 20  # from silence
    assert encoding.decode_satb(tokens).n_steps == 24
    with pytest.raises(MusegenError, match="more than the primer's 16"):
        sampling.sample_satb(model, steps=16, primer=primer)
    with pytest.raises(MusegenError, match="four tokens per step"):
        sampling.sample_satb(model, steps=8, primer=np.array([1, 2, 3]))
