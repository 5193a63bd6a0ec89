from musegen_widgets import encoding, sampling
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
