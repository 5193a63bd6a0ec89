from musegen_widgets import attention
from musegen_widgets.errors import MusegenError

import keras
import numpy as np
import pytest


def test_attention_weights_are_a_distribution_over_the_allowed_keys():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6, 2))
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask=attention.causal_mask(6))
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    assert (weights[:, np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0).all()  # no peeking ahead
    np.testing.assert_allclose(out[:, 0], v[:, 0])  # the first step sees only itself
    expected = np.exp(q[1, 3] @ k[1, :4].T / 2) / np.exp(q[1, 3] @ k[1, :4].T / 2).sum()
    np.testing.assert_allclose(weights[1, 3, :4], expected)
    with pytest.raises(MusegenError, match="at least one key"):
        attention.scaled_dot_product_attention(q, k, v, mask=np.zeros((6, 6), bool))


def test_multi_head_attention_is_what_keras_computes_with_the_same_weights():
    layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4)
    x = np.random.default_rng(1).normal(size=(1, 7, 10)).astype("float32")
    expected, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    ours, weights = attention.multi_head_attention(
        x[0], [w.numpy() for w in layer.weights], heads=3, mask=attention.causal_mask(7)
    )
    np.testing.assert_allclose(ours, np.asarray(expected)[0], atol=1e-5)
    np.testing.assert_allclose(weights, np.asarray(scores)[0], atol=1e-6)
    with pytest.raises(MusegenError, match="heads"):
        attention.multi_head_attention(x[0], [w.numpy() for w in layer.weights], heads=2)


@pytest.mark.parametrize("length", [1, 2, 9, 33])
def test_skewing_gives_the_naive_relative_logits(length):
    rng = np.random.default_rng(length)
    q = rng.normal(size=(2, length, 5))
    table = attention.relative_table(rng.normal(size=(2, 16, 5)), length)
    naive = attention.relative_logits_naive(q, table)
    skewed = attention.relative_logits_skewed(q, table)
    below = np.tril(np.ones((length, length), bool))
    np.testing.assert_allclose(skewed[..., below], naive[..., below])
    if length > 7:  # one pair by the definition: query 7 against the embedding of distance 7 - 3 = 4
        assert np.isclose(naive[1, 7, 3], q[1, 7] @ table[1, length - 1 - 4])


def test_relative_table_clips_distances_beyond_the_table():
    table = np.arange(4.0)[:, None] * np.ones((1, 2))  # rows: distances 3, 2, 1, 0
    assert attention.relative_table(table, 2)[:, 0].tolist() == [2.0, 3.0]
    assert attention.relative_table(table, 6)[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
