"""The metrics of chapter 04 (Yang & Lerch's features and set comparison), checked on hand-computed cases."""

import numpy as np
import pytest

from musegen_widgets import data, metrics
from musegen_widgets.encoding import HOLD, REST, Piece, pitch_to_token
from musegen_widgets.errors import MusegenError


def scale_melody():
    """C D E F G as 8th notes, then a dotted-8th A and a 16th B: seven notes within one 4/4 bar."""
    notes = [[60, 0, 2], [62, 2, 4], [64, 4, 6], [65, 6, 8], [67, 8, 10], [69, 10, 13], [71, 13, 14]]
    return Piece((notes,))


def test_features_of_a_hand_made_melody():
    f = metrics.piece_features(scale_melody())
    assert f["pitch_count"] == 7 and f["pitch_range"] == 11
    assert f["average_pitch_interval"] == pytest.approx((2 + 2 + 1 + 2 + 2 + 2) / 6)
    assert f["average_inter_onset_interval"] == pytest.approx((2 + 2 + 2 + 2 + 2 + 3) / 6 / 4)
    expected_histogram = np.zeros(12)
    expected_histogram[[0, 2, 4, 5, 7, 9, 11]] = 1 / 7
    assert np.allclose(f["pitch_class_histogram"], expected_histogram)
    # classes of NOTE_LENGTHS: 8th = 3, dotted 8th = 7, 16th = 4
    assert np.allclose(f["note_length_histogram"][[3, 7, 4]], [5 / 7, 1 / 7, 1 / 7])
    transitions = f["pitch_class_transitions"]
    assert transitions.sum() == pytest.approx(1) and transitions[0, 2] == pytest.approx(1 / 6)
    assert f["note_length_transitions"][3, 3] == pytest.approx(4 / 6)
    assert f["scale_consistency"] == 1.0  # all in C major
    assert f["note_density"] == pytest.approx(7 / 1)  # seven notes, in one bar (14 steps, rounded up to 1)


def test_scale_consistency_counts_notes_outside_every_major_scale():
    chromatic = Piece(([[60 + i, 2 * i, 2 * i + 2] for i in range(12)],))
    # the best major scale holds 7 of the 12 pitch classes
    assert metrics.piece_features(chromatic)["scale_consistency"] == pytest.approx(7 / 12)


def test_features_accept_tokens_and_stack_for_sets():
    tokens = np.array([REST, HOLD, HOLD, HOLD, pitch_to_token(60), HOLD, pitch_to_token(64), HOLD])
    f = metrics.features([tokens, scale_melody()])
    assert f["pitch_count"].tolist() == [2, 7]
    assert f["pitch_class_transitions"].shape == (2, 12, 12)
    with pytest.raises(MusegenError, match="empty"):
        metrics.features([])
    with pytest.raises(MusegenError, match="piece 1 .*no notes"):
        metrics.features([tokens, np.array([REST, HOLD, HOLD])])


def test_distances_and_their_comparison_by_hand():
    assert metrics.intra_set_distances([[0, 0], [3, 4], [0, 4]]).tolist() == [5.0, 4.0, 3.0]
    assert sorted(metrics.inter_set_distances([0.0, 10.0], [1.0, 2.0]).tolist()) == [1.0, 2.0, 8.0, 9.0]
    with pytest.raises(MusegenError, match="two pieces"):
        metrics.intra_set_distances([1.0])
    with pytest.raises(MusegenError, match="different sizes"):
        metrics.inter_set_distances(np.zeros((2, 12)), np.zeros((2, 3)))


def test_kernel_density_integrates_to_one_and_matches_a_gaussian():
    narrow = np.linspace(-0.1, 0.1, 2001)
    density = metrics.kernel_density([0.0], narrow)  # one sample: a narrow bump of bandwidth 0.01
    assert np.trapezoid(density, narrow) == pytest.approx(1.0, abs=1e-6)
    grid = np.linspace(-10, 10, 2001)
    samples = np.random.default_rng(0).normal(size=4000)
    estimate = metrics.kernel_density(samples, grid)
    assert np.trapezoid(estimate, grid) == pytest.approx(1.0, abs=1e-3)
    assert np.abs(estimate - np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi)).max() < 0.03


def test_overlap_and_kl_of_two_gaussians_match_closed_forms():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 4000), rng.normal(1, 1, 4000)
    # two unit Gaussians one standard deviation apart: OA = 2 Phi(-1/2), KL = 1/2
    assert metrics.overlapping_area(a, b) == pytest.approx(0.617, abs=0.03)
    assert metrics.kl_divergence(a, b) == pytest.approx(0.5, abs=0.06)
    assert metrics.overlapping_area(a, a) == pytest.approx(1.0)
    # the binned estimate used for OA and KL agrees with the exact one
    grid = np.linspace(-4, 5, 301)
    exact = metrics.kernel_density(a, grid)
    binned_grid, binned, _ = metrics._densities(a, b)
    assert np.abs(np.interp(grid, binned_grid, binned) - exact).max() < 1e-3
    # identical values (all distances zero) still give a proper density
    assert metrics.overlapping_area(np.zeros(50), np.zeros(60)) == pytest.approx(1.0, abs=1e-3)


def test_compare_sets_tells_a_copy_from_noise():
    real = data.load_melodies("valid")
    test = data.load_melodies("test")
    rng = np.random.default_rng(2)
    noise = [
        np.where(rng.random(256) < 0.3, rng.integers(2, 50, 256), HOLD).astype(np.int64) for _ in range(20)
    ]
    for n in noise:
        n[0] = pitch_to_token(60)
    like = metrics.compare_sets(real, test)
    unlike = metrics.compare_sets(real, noise)
    for name in ("pitch_class_histogram", "pitch_range", "scale_consistency"):
        assert like[name]["overlapping_area"] > unlike[name]["overlapping_area"]
        assert like[name]["kl_divergence"] < unlike[name]["kl_divergence"]
    assert set(like) == set(metrics.FEATURES)
