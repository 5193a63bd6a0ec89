"""Precision, recall, density and coverage (chapter 08): against their definitions and on known cases."""

from musegen_widgets import data, metrics
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest


def _reference(real, fake, k):
    """Naeem et al.'s ``prdc`` (strict ``<``), written out with explicit loops over pieces."""

    def radii(points):
        return np.array([np.sort(np.linalg.norm(points - p, axis=1))[k] for p in points])

    r_real, r_fake = radii(real), radii(fake)
    d = np.linalg.norm(real[:, None] - fake[None], axis=2)
    return {
        "precision": np.mean([any(d[i, j] < r_real[i] for i in range(len(real))) for j in range(len(fake))]),
        "recall": np.mean([any(d[i, j] < r_fake[j] for j in range(len(fake))) for i in range(len(real))]),
        "density": np.mean(
            [sum(d[i, j] < r_real[i] for i in range(len(real))) / k for j in range(len(fake))]
        ),
        "coverage": np.mean([d[i].min() < r_real[i] for i in range(len(real))]),
    }


def test_the_four_numbers_agree_with_the_reference_definitions_on_continuous_data():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((60, 3)), rng.standard_normal((50, 3)) * 1.5 + 0.5
    expected = _reference(real, fake, 4)
    got = metrics.precision_recall_density_coverage(real, fake, k=4)
    assert got == pytest.approx(expected)


def test_a_collapsed_generator_is_precise_and_covers_little():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((300, 4))
    alike = metrics.precision_recall_density_coverage(real, rng.standard_normal((300, 4)))
    collapsed = metrics.precision_recall_density_coverage(real, real[:10].repeat(30, axis=0) + 1e-3)
    assert alike["coverage"] > 0.9 and alike["recall"] > 0.9 and 0.7 < alike["density"] < 1.3
    assert collapsed["precision"] == 1.0 and collapsed["coverage"] < 0.25 and collapsed["recall"] < 0.05


def test_feature_vectors_of_melodies_and_errors():
    melodies = data.load_melodies("test")[:5]
    vectors = metrics.feature_vectors(melodies)
    assert vectors.shape == (5, 30) and np.all(np.isfinite(vectors))
    table = metrics.features(melodies)
    histogram = table["pitch_class_histogram"]  # scaled as a whole: the bins keep their proportions
    spread = np.sqrt(histogram.var(axis=0).sum())
    np.testing.assert_allclose(vectors[:, 1:13], histogram / spread)
    np.testing.assert_allclose(vectors[:, 0], table["pitch_count"] / table["pitch_count"].std())
    scaled_by_others = metrics.feature_vectors(melodies, reference=data.load_melodies("valid")[:20])
    assert not np.allclose(scaled_by_others, vectors)
    pitch_count = metrics.feature_vectors(melodies, names=["pitch_count"])
    np.testing.assert_allclose(pitch_count[:, 0], vectors[:, 0])
    with pytest.raises(MusegenError, match="names must be"):
        metrics.feature_vectors(melodies, names=["loudness"])
    with pytest.raises(MusegenError, match="k must"):
        metrics.precision_recall_density_coverage(vectors, vectors, k=5)
    with pytest.raises(MusegenError, match="one size"):
        metrics.precision_recall_density_coverage(vectors, vectors[:, :3])
