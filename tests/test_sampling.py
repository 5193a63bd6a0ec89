from musegen_widgets import encoding, numerics, sampling
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest
from samples import GOOD_TOKENS


class FixedModel:
    """A model whose next-token distribution is always the same: sampling statistics can be checked."""

    def __init__(self, probabilities):
        self.logits = np.log(np.asarray(probabilities, dtype=float))

    def stepper(self):
        model = self

        class Stepper:
            fed: list = []

            def feed(self, token):
                self.fed.append(token)
                return model.logits

        return Stepper()


def test_filter_distribution_temperature_top_k_top_p():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    assert np.allclose(sampling.filter_distribution(logits), [0.5, 0.3, 0.15, 0.05])
    hot = sampling.filter_distribution(logits, temperature=2.0)
    assert np.allclose(hot, np.sqrt([0.5, 0.3, 0.15, 0.05]) / np.sqrt([0.5, 0.3, 0.15, 0.05]).sum())
    assert sampling.filter_distribution(logits, temperature=0.01)[0] > 0.999
    assert np.allclose(sampling.filter_distribution(logits, top_k=2), [0.5 / 0.8, 0.3 / 0.8, 0, 0])
    assert np.allclose(sampling.filter_distribution(logits, top_p=0.5), [1, 0, 0, 0])
    assert np.allclose(sampling.filter_distribution(logits, top_p=0.9), np.array([0.5, 0.3, 0.15, 0]) / 0.95)


class ChangingModel:
    """Float32 logits that change with every token fed (as a network's do), the same for the same tokens."""

    def __init__(self, vocabulary=12):
        self.table = np.random.default_rng(5).normal(0, 2, (vocabulary, vocabulary)).astype(np.float32)

    def stepper(self):
        table = self.table

        class Stepper:
            steps = 0

            def feed(self, token):
                self.steps += 1
                return table[token] * np.float32(1 + 0.1 * (self.steps % 3))

        return Stepper()


@pytest.mark.parametrize(
    "settings",
    [{}, {"temperature": 0.7}, {"temperature": 1.3, "top_k": 4}, {"top_p": 0.8}, {"temperature": 0}],
)
def test_the_sampler_draws_what_filter_distribution_gives_bit_for_bit(settings, monkeypatch):
    # the textbook loop, one public function per step: the sampler's own loop (which checks the settings once
    # and computes a softmax once per step) must draw from the same distributions, to the last bit, with the
    # same random numbers
    model = ChangingModel()
    rng, stepper = np.random.default_rng(3), model.stepper()
    logits, tokens, probabilities, distributions = stepper.feed(0), [0], [], []
    for _ in range(59):
        distributions.append(sampling.filter_distribution(logits, **settings))
        token = int(numerics.draw(distributions[-1], rng))
        probabilities.append(float(np.exp(numerics.log_softmax(np.asarray(logits, dtype=np.float64)))[token]))
        tokens.append(token)
        logits = stepper.feed(token)
    drawn_from = []
    monkeypatch.setattr(
        sampling, "draw", lambda p, rng: (drawn_from.append(p.copy()), numerics.draw(p, rng))[1]
    )
    drawn, own = sampling.sample_with_probabilities(model, steps=60, seed=3, primer=[0], **settings)
    assert drawn.tolist() == tokens and own.tobytes() == np.array(probabilities).tobytes()
    assert np.array(drawn_from).tobytes() == np.array(distributions).tobytes()
    drawn_from.clear()
    assert sampling.sample(model, steps=60, seed=3, primer=[0], **settings).tolist() == tokens
    assert np.array(drawn_from).tobytes() == np.array(distributions).tobytes()


def test_sampling_follows_the_distribution():
    model = FixedModel([0.7, 0.2, 0.1])
    tokens = sampling.sample(model, steps=4001, seed=0, primer=[2])
    counts = np.bincount(tokens[1:], minlength=3) / 4000
    assert np.allclose(counts, [0.7, 0.2, 0.1], atol=0.03)
    assert set(sampling.sample(model, steps=200, seed=0, top_k=1, primer=[2])[1:]) == {0}
    assert set(sampling.sample(model, steps=200, seed=0, temperature=0, primer=[2])[1:]) == {0}  # greedy


def test_seed_repeats_and_primer_is_kept():
    model = FixedModel(np.full(encoding.VOCAB_SIZE, 1 / encoding.VOCAB_SIZE))
    a = sampling.sample(model, steps=30, seed=7, primer=GOOD_TOKENS)
    assert np.array_equal(a, sampling.sample(model, steps=30, seed=7, primer=GOOD_TOKENS))
    assert not np.array_equal(a, sampling.sample(model, steps=30, seed=8, primer=GOOD_TOKENS))
    assert np.array_equal(a[: len(GOOD_TOKENS)], GOOD_TOKENS) and len(a) == 30
    tokens, probabilities = sampling.sample_with_probabilities(model, steps=5, seed=1)
    assert tokens[0] == encoding.REST and len(tokens) == 5
    assert len(probabilities) == 4 and np.allclose(probabilities, 1 / encoding.VOCAB_SIZE)
    with pytest.raises(MusegenError, match="primer included"):
        sampling.sample(model, steps=len(GOOD_TOKENS), primer=GOOD_TOKENS)


def test_primer_from_a_file(good_midi):
    model = FixedModel(np.full(encoding.VOCAB_SIZE, 1 / encoding.VOCAB_SIZE))
    assert np.array_equal(
        sampling.sample(model, steps=len(GOOD_TOKENS) + 3, seed=0, primer=good_midi)[: len(GOOD_TOKENS)],
        GOOD_TOKENS,
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": -1}, "temperature"),
        ({"top_k": 0}, "top-k"),
        ({"top_k": 2.5}, "top-k"),
        ({"top_p": 0}, "top-p"),
        ({"top_p": 1.5}, "top-p"),
        ({"steps": 0}, "steps"),
        ({"primer": []}, "no tokens"),
        ({"primer": [encoding.VOCAB_SIZE]}, "outside the vocabulary"),
    ],
)
def test_bad_settings_raise_project_errors(settings, message):
    model = FixedModel([0.5, 0.5])
    arguments = {"steps": 4, **settings}
    with pytest.raises(MusegenError, match=message):
        sampling.sample(model, **arguments)


def test_bad_primer_file(bad_files):
    with pytest.raises(MusegenError, match="not a MIDI file"):
        sampling.sample(FixedModel([0.5, 0.5]), steps=4, primer=bad_files["not_midi.mid"])
