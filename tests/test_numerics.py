import warnings

from musegen_widgets import numerics
from musegen_widgets.errors import MusegenError

import keras
import numpy as np
import pytest


def test_log_softmax_is_exact_and_survives_huge_logits():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0]])
    expected = np.log(np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum())
    np.testing.assert_allclose(numerics.log_softmax(logits), [expected, expected])
    np.testing.assert_allclose(numerics.log_softmax(logits.T, axis=0), np.stack([expected, expected]).T)


def test_sigmoid_matches_the_formula_without_overflow_warnings():
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(numerics.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=0, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numerics.sigmoid(np.array([-1e4, 1e4])).tolist() == [0.0, 1.0]


def test_lstm_step_computes_what_keras_computes():
    layer = keras.layers.LSTM(5, return_sequences=True, return_state=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    outputs, *_ = layer(x)
    kernel, recurrent, bias = (np.asarray(w) for w in layer.weights)
    h = c = np.zeros((2, 5), np.float32)
    for t in range(3):
        h, c = numerics.lstm_step(x[:, t], h, c, kernel, recurrent, bias)
        np.testing.assert_allclose(h, np.asarray(outputs)[:, t], atol=1e-5)
    h1, c1 = numerics.lstm_step(x[0, 0], np.zeros(5), np.zeros(5), kernel, recurrent, bias)  # one row
    np.testing.assert_allclose(h1, np.asarray(outputs)[0, 0], atol=1e-5)


def test_draw_is_rng_choice_with_the_same_random_numbers():
    probabilities = np.random.default_rng(1).dirichlet(np.ones(30), size=500)
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    drawn = [int(numerics.draw(p, ours)) for p in probabilities]
    assert drawn == [int(theirs.choice(30, p=p)) for p in probabilities]
    batch = numerics.draw(probabilities, np.random.default_rng(7))
    assert batch.shape == (500,) and set(batch.tolist()) <= set(range(30))


def test_draw_from_logits_is_greedy_at_temperature_0_and_follows_the_softmax_above():
    logits = np.log(np.array([[0.7, 0.2, 0.1]] * 20000))
    assert numerics.draw_from_logits(logits, 0, np.random.default_rng(0)).tolist() == [0] * 20000
    counts = np.bincount(numerics.draw_from_logits(logits, 1.0, np.random.default_rng(0)), minlength=3)
    np.testing.assert_allclose(counts / counts.sum(), [0.7, 0.2, 0.1], atol=0.01)
    hot = np.bincount(numerics.draw_from_logits(logits, 100.0, np.random.default_rng(0)), minlength=3)
    np.testing.assert_allclose(hot / hot.sum(), [1 / 3] * 3, atol=0.02)


def test_lstm_gates_refuse_pre_activations_not_in_four_parts():
    with pytest.raises(MusegenError, match="four equal parts, got 6"):
        numerics.lstm_gates(np.zeros(6), np.zeros(1))


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_one_blas_thread_holds_inside_its_block_only():
    before = _blas_threads()
    with numerics.one_blas_thread():
        inside = _blas_threads()
    assert inside and set(inside) == {1}
    assert _blas_threads() == before


def test_the_samplers_run_on_one_blas_thread():
    from musegen_widgets import sampling

    seen = []

    class Stepper:
        def feed(self, token):
            seen.append(_blas_threads())
            return np.zeros(8)

    class Model:
        def stepper(self):
            return Stepper()

    sampling.sample(Model(), steps=4, seed=0)
    assert seen and all(set(threads) == {1} for threads in seen)


def test_the_infilling_sampler_runs_on_one_blas_thread():
    from musegen_widgets import infill_cells, infilling

    seen = []

    class Model:
        def forward(self):
            def forward(cells, mask):
                seen.append(_blas_threads())
                values = infill_cells.CELL_VOCAB_SIZE
                return np.log(np.full((*np.shape(cells), values), 1 / values))

            return forward

    hidden = np.zeros((8, 4), dtype=bool)
    hidden[:, 1:] = True
    infilling.resample(Model(), np.full((8, 4), 30), hidden, steps=2, seed=0, avoid_parallels=False)
    assert seen and all(set(threads) == {1} for threads in seen)
