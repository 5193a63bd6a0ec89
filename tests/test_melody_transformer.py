from musegen_widgets import data, efficiency, encoding, sampling
from musegen_widgets.models import MelodyTransformer

import keras
import numpy as np
import pytest


@pytest.fixture(scope="module")
def small():
    keras.utils.set_random_seed(3)
    model = MelodyTransformer(embedding=16, n_layers=2, heads=2, feed_forward=32, max_distance=24)
    model(model.example_input())
    return model


def test_logits_have_the_course_shape_and_never_look_ahead(small):
    melody = data.load_melodies("test")[0][:60]
    logits = np.asarray(small(melody[None]))
    assert logits.shape == (1, 60, encoding.VOCAB_SIZE)
    changed = melody.copy()
    changed[30] = encoding.REST if melody[30] != encoding.REST else encoding.pitch_to_token(60)
    moved = np.abs(np.asarray(small(changed[None])) - logits).max(axis=2)[0] > 1e-6
    assert not moved[:30].any() and moved[30:].all()  # attention reaches every later step


def test_the_stepper_with_its_cache_computes_what_the_model_computes(small):
    melody = data.load_melodies("test")[1][:70]  # longer than max_distance: clipped distances too
    expected = np.asarray(small(melody[None]))[0]
    stepper = small.stepper()
    stepped = np.array([stepper.feed(int(token)) for token in melody])
    np.testing.assert_allclose(stepped, expected, atol=1e-4)
    assert len(sampling.sample(small, steps=40, seed=0)) == 40


def test_without_its_cache_the_stepper_writes_the_same_melody_with_more_work(small):
    uncached = efficiency.WithoutCache(small)
    assert (sampling.sample(uncached, steps=30, seed=5) == sampling.sample(small, steps=30, seed=5)).all()
    calls = []
    original = small.stepper

    def counting_stepper():
        stepper = original()
        feed = stepper.feed
        stepper.feed = lambda token: (calls.append(token), feed(token))[1]
        return stepper

    small.stepper = counting_stepper
    try:
        sampling.sample(uncached, steps=10, seed=0)
    finally:
        del small.stepper
    assert len(calls) == 10 * 11 // 2  # every prefix again: 1 + 2 + ... + 10 positions


def test_a_few_steps_of_training_lower_the_loss():
    keras.utils.set_random_seed(4)
    model = MelodyTransformer(
        embedding=16, n_layers=1, heads=2, feed_forward=32, max_distance=16, dropout=0.0
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    tokens = np.stack([m[:65] for m in data.load_melodies("train")[:16]])
    losses = [float(model.train_on_batch(tokens[:, :-1], tokens[:, 1:])) for _ in range(30)]
    assert losses[-1] < 0.8 * losses[0]


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        MelodyTransformer(embedding=10, heads=4)
