from musegen_widgets import data, encoding, sampling
from musegen_widgets.errors import MusegenError
from musegen_widgets.ngram import NGramModel

import numpy as np
import pytest


def test_witten_bell_by_hand():
    # after "2" the training data continued with 0 twice and 3 once: c(h)=3, t(h)=2
    model = NGramModel(max_order=2, smoothing="witten-bell", vocab_size=4).fit([[2, 0, 2, 0, 2, 3]])
    unigram = NGramModel(max_order=1, smoothing="witten-bell", vocab_size=4).fit([[2, 0, 2, 0, 2, 3]])
    # the unigram: counts 0:2, 2:3, 3:1 (n=6, t=3) interpolated with uniform 1/4
    expected_unigram = (np.array([2, 0, 3, 1]) + 3 * 0.25) / (6 + 3)
    assert np.allclose(unigram.distribution([]), expected_unigram)
    expected = (np.array([2, 0, 0, 1]) + 2 * expected_unigram) / (3 + 2)
    assert np.allclose(model.distribution([2]), expected)
    assert np.allclose(model.distribution([2], order=1), expected_unigram)


def test_kneser_ney_by_hand():
    model = NGramModel(max_order=2, vocab_size=4).fit([[2, 0, 2, 0, 2, 3]])
    # continuation counts of the empty context: 2 follows two distinct tokens (the start and 0), 0 and 3 one
    continuation = np.array([1, 0, 2, 1])
    d0 = 2 / (2 + 2 * 1)  # continuation counts equal to 1: two; equal to 2: one
    p0 = np.maximum(continuation - d0, 0) / 4 + d0 * 3 / 4 * 0.25
    assert np.allclose(p0.sum(), 1) and np.allclose(p0, [0.21875, 0.09375, 0.46875, 0.21875])
    # after "2": raw counts 0:2, 3:1; raw bigram counts overall are 1, 2, 2, 1, so D = 2 / (2 + 4)
    d1 = 1 / 3
    expected = np.maximum(np.array([2, 0, 0, 1]) - d1, 0) / 3 + d1 * 2 / 3 * p0
    assert np.allclose(model.distribution([2]), expected)
    # order 1 uses the raw unigram counts (3 of "2", 2 of "0", 1 of "3"), not the continuation counts
    d_raw = 1 / (1 + 2 * 1)
    unigram = np.maximum(np.array([2, 0, 3, 1]) - d_raw, 0) / 6 + d_raw * 3 / 6 * 0.25
    assert np.allclose(model.distribution([2], order=1), unigram)


def test_distributions_sum_to_one_and_unseen_contexts_back_off():
    model = NGramModel(max_order=4).fit(data.load_melodies("train")[:20])
    witten_bell = NGramModel(max_order=4, smoothing="witten-bell").fit(data.load_melodies("train")[:20])
    for context in ([], [5], [encoding.HOLD] * 3, [40, 41, 42]):
        for p in (model.distribution(context), witten_bell.distribution(context)):
            assert np.isclose(p.sum(), 1.0) and (p > 0).all()


def test_higher_orders_fit_training_data_better():
    train = data.load_melodies("train")[:40]
    model = NGramModel(max_order=6).fit(train)
    nlls = [model.nll(train, order) for order in range(1, 7)]
    assert all(a > b for a, b in zip(nlls, nlls[1:]))


def test_call_matches_the_stepper_and_the_scoring():
    from musegen_widgets.metrics import sequence_nll

    train, test = data.load_melodies("train")[:30], data.load_melodies("test")[:3]
    model = NGramModel(max_order=5).fit(train)
    melody = test[0][:40]
    logits = model(melody[None, :-1])[0]
    stepper = model.stepper()
    stepped = np.array([stepper.feed(t) for t in melody[:-1]])
    assert np.allclose(logits, stepped)
    assert np.isclose(sequence_nll(model, test), model.nll(test))


@pytest.mark.parametrize("smoothing", ["kneser-ney", "witten-bell"])
def test_nll_scores_each_token_by_its_probability_in_the_distribution(smoothing):
    # nll computes each token's probability alone; it must be the very number distribution() gives it
    train, test = data.load_melodies("train")[:30], data.load_melodies("test")[:2]
    model = NGramModel(max_order=5, smoothing=smoothing).fit(train)
    for order in (1, 3, 5):
        by_distribution = [
            -np.log(model.distribution(melody[max(0, i - 4) : i], order)[melody[i]])
            for melody in test
            for i in range(1, len(melody))
        ]
        assert model.nll(test, order) == pytest.approx(np.mean(by_distribution), rel=1e-12)


def test_samples_are_valid_melodies():
    model = NGramModel(max_order=8).fit(data.load_melodies("train"))
    tokens = sampling.sample(model, steps=64, seed=1)
    assert len(tokens) == 64 and tokens.min() >= 0 and tokens.max() < encoding.VOCAB_SIZE
    assert np.array_equal(tokens, sampling.sample(model, steps=64, seed=1))


def test_bad_orders_and_smoothing():
    with pytest.raises(MusegenError, match="smoothing"):
        NGramModel(3, smoothing="laplace")
    with pytest.raises(MusegenError, match="order"):
        NGramModel(max_order=0)
    with pytest.raises(MusegenError, match="not been fitted"):
        NGramModel(3).distribution([1])
    with pytest.raises(MusegenError, match="order"):
        NGramModel(3).fit([[1, 2, 3]]).distribution([1], order=4)


def test_a_fitted_model_predicts_and_samples_at_the_order_it_is_set_to():
    melodies = data.load_melodies("train")[:30]
    model = NGramModel(max_order=6).fit(melodies)
    test = data.load_melodies("test")[:3]
    sixth = model.nll(test)
    model.order = 3
    assert model.nll(test) == model.nll(test, order=3) != sixth
    context = test[0][:10].tolist()
    assert np.allclose(np.exp(model(np.array([context]))[0, -1]), model.distribution(context, order=3))
    stepper = model.stepper()
    for token in context:
        fed = stepper.feed(token)
    assert np.allclose(np.exp(fed), model.distribution(context, order=3))
    assert len(sampling.sample(model, steps=16, seed=0)) == 16
    for bad in (0, 7, 2.5):
        with pytest.raises(MusegenError, match="order must be"):
            model.order = bad
