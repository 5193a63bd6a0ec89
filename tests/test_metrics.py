"""The metrics of chapter 04 (Yang & Lerch's features and set comparison), checked on hand-computed cases."""

import inspect

from musegen_widgets import data, encoding, metrics
from musegen_widgets.encoding import HOLD, REST, VOCAB_SIZE, Piece, pitch_to_token
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest


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
    # the binned densities behind OA agree with the exact kernel densities
    grid = np.linspace(-6, 8, 4001)
    exact = np.minimum(metrics.kernel_density(a, grid), metrics.kernel_density(b, grid))
    assert metrics.overlapping_area(a, b) == pytest.approx(np.trapezoid(exact, grid), abs=2e-3)
    # identical values (all distances zero) still give a proper density
    assert metrics.overlapping_area(np.zeros(50), np.zeros(60)) == pytest.approx(1.0, abs=1e-3)


def test_equal_pieces_are_exactly_zero_apart():
    # |a|^2 + |b|^2 - 2 a.b cancels: for this row it leaves 1.2e-7 (on an AVX-512 CPU), and a KL that
    # depends on it
    row = np.random.default_rng(0).random(144)
    assert metrics.intra_set_distances(np.stack([row, row])).tolist() == [0.0]
    assert metrics.inter_set_distances(np.stack([row]), np.stack([row, row + 1])).tolist() == [0.0, 12.0]


def test_kl_is_accurate_where_the_other_density_is_tiny():
    # Two sets 26 bandwidths apart: q at p's samples is about 1e-150 of its peak. An FFT convolution gets
    # such values to 1e-16 of the peak only (noise, or 0), so the KL came out as whatever the rounding was.
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 200), rng.normal(12, 1, 200)
    grid = np.linspace(a.min() - 8, b.max() + 8, 20001)
    p, q = metrics.kernel_density(a, grid), metrics.kernel_density(b, grid)
    p, q = p / np.trapezoid(p, grid), q / np.trapezoid(q, grid)
    exact = np.trapezoid(p * (np.log(p + 1e-300) - np.log(q + 1e-300)), grid)
    assert 50 < exact < 690
    assert metrics.kl_divergence(a, b) == pytest.approx(exact, rel=0.02)


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


def test_the_generated_sets_own_distances_catch_a_generator_without_variety():
    real = metrics.features(data.load_melodies("valid"))
    test = metrics.features(data.load_melodies("test"))
    # a "generator" that writes the reference's average piece every time, feature by feature
    average = {
        name: np.repeat(real[name].mean(axis=0, keepdims=True), 50, axis=0) for name in metrics.FEATURES
    }
    average["voices"] = np.ones(50, int)
    dull, like = metrics.compare_sets(real, average), metrics.compare_sets(real, test)
    for name in ("pitch_range", "average_pitch_interval", "note_density"):
        assert dull[name]["overlapping_area"] > 0.5  # the reference's side alone is fooled
        assert dull[name]["generated_overlapping_area"] < 0.2  # its own distances are all zero
        assert like[name]["generated_overlapping_area"] > 0.6


# ------------------------------------------------------------------ MuseGAN's multi-track metrics


def hand_made_rolls() -> np.ndarray:
    """Two bars, four voices. Soprano: a C major triad held through bar 1, bar 2 empty. Alto: in bar 1 a G
    for 8 steps and an E for one step; in bar 2 a C for 16 steps. Tenor: C in bar 1. Bass: silent."""
    roll = np.zeros((4, 32, 72), bool)
    c4, e4, g4 = (p - encoding.PIANOROLL_LOW for p in (60, 64, 67))
    roll[0, :16, [c4, e4, g4]] = True
    roll[1, :8, g4] = True
    roll[1, 10, e4] = True
    roll[1, 16:, c4] = True
    roll[2, :16, c4 - 12] = True
    return roll


def test_multitrack_metrics_on_a_hand_made_example():
    roll = hand_made_rolls()
    assert metrics.empty_bars(roll).tolist() == [0.5, 0.0, 0.5, 1.0]
    upc = metrics.used_pitch_classes(roll)
    assert upc[:3].tolist() == [3.0, 1.5, 1.0] and np.isnan(upc[3])  # alto: {G, E} then {C}
    qn = metrics.qualified_notes(roll)
    assert qn[:3].tolist() == [1.0, 2 / 3, 1.0] and np.isnan(qn[3])  # the one-step E is not qualified
    assert metrics.qualified_notes(roll, min_steps=9).tolist()[:3] == [1.0, 1 / 3, 1.0]
    assert metrics.polyphonicity(roll).tolist() == [0.5, 0.0, 0.0, 0.0]  # the triad, half the time
    # merged, bar 1 sounds C, E, G (soprano) and C3 (tenor): 16 steps of 32 with 3 pitches or more
    assert metrics.polyphonicity(roll.any(axis=0, keepdims=True)).tolist() == [0.5]
    # a set of two copies has the same rates
    assert np.allclose(metrics.empty_bars(np.stack([roll, roll])), metrics.empty_bars(roll))


def test_tonal_distance_follows_harmony():
    assert metrics.tonal_centroids(np.eye(12)[7]).round(6).tolist() == [
        round(v, 6)
        for v in (
            np.sin(7 * 7 * np.pi / 6),
            np.cos(7 * 7 * np.pi / 6),
            1.0,
            0.0,
            0.5 * np.sin(14 * np.pi / 3),
            0.5 * np.cos(14 * np.pi / 3),
        )
    ]  # G: 7 steps round each circle
    roll = hand_made_rolls()
    distance = metrics.tonal_distance(roll)
    assert distance.shape == (6,)
    pairs = dict(zip(metrics.VOICE_PAIRS, distance))
    # bar 1 only (the soprano is silent in bar 2); soprano C-E-G against tenor C
    triad = metrics.tonal_centroids(np.bincount([0, 4, 7], minlength=12))
    assert np.isclose(pairs[(0, 2)], np.linalg.norm(triad - metrics.tonal_centroids(np.eye(12)[0])))
    assert np.isnan(pairs[(0, 3)])  # the bass never sounds
    # a fifth is closer than a tritone
    c, g, f_sharp = (metrics.tonal_centroids(np.eye(12)[k]) for k in (0, 7, 6))
    assert np.linalg.norm(c - g) < np.linalg.norm(c - f_sharp)


def test_multitrack_metrics_of_the_chorales_and_bad_input():
    rolls = np.stack([roll[:, :32] for roll in data.load_pianorolls("test") if roll.shape[1] >= 32])
    table = metrics.multitrack_metrics(rolls)
    assert (table["empty_bars"] < 0.1).all() and (table["polyphonicity"] == 0).all()  # one pitch per voice
    assert (table["texture_polyphonicity"] > 0.5).all() and (table["qualified_notes"] > 0.8).all()
    assert set(table) == {
        "empty_bars",
        "used_pitch_classes",
        "qualified_notes",
        "polyphonicity",
        "texture_polyphonicity",
        "tonal_distance",
    }
    with pytest.raises(MusegenError, match="whole bars"):
        metrics.empty_bars(np.zeros((4, 20, 72), bool))
    with pytest.raises(MusegenError, match="expected piano rolls"):
        metrics.empty_bars(np.zeros((5, 72), bool))
    with pytest.raises(MusegenError, match="four voices"):
        metrics.tonal_distance(np.zeros((2, 32, 72), bool))


def test_copy_detection_finds_copies_in_any_key_and_only_contiguous_ones():
    corpus = data.load_melodies("train")[:20]
    piece = corpus[3][:128]
    n_notes = len(metrics.note_events(piece))
    moved = data.transpose_melody(piece, 2)
    # a copy, transposed: every note of it is a run in the corpus
    assert metrics.longest_copied_run(corpus, [piece, moved]).tolist() == [n_notes, n_notes]
    # every other note of the copy: a long common subsequence, but short contiguous runs
    events = metrics.note_events(piece)
    pitches = np.cumsum([interval for interval, _ in events]) + next(t for t in piece if t >= 2)
    thinned = np.concatenate([[pitch] + [HOLD] * 3 for pitch in pitches[::2]])
    assert metrics.longest_copied_run(reference=corpus, samples=[thinned])[0] < n_notes // 3
    with pytest.raises(MusegenError, match="at least one sample"):
        metrics.longest_copied_run(corpus, [])


def test_comparisons_take_the_reference_first():
    # one value per sample, however many reference melodies: the reference is the first argument
    corpus = data.load_melodies("train")[:20]
    samples = [corpus[3], data.transpose_melody(corpus[5], -3), corpus[7]]  # whole, one transposed
    runs = metrics.longest_copied_run(corpus, samples)
    assert runs.shape == (3,) and runs.tolist() == [len(metrics.note_events(m)) for m in samples]
    # shared_runs: one row per reference melody, one column per melody; a shared run is the same from either side
    table = metrics.shared_runs(corpus, samples)
    assert table.shape == (20, 3) and np.array_equal(table, metrics.shared_runs(samples, corpus).T)
    assert table.max(axis=0).tolist() == runs.tolist() and table[3, 0] == runs[0]
    # the names say which is which
    names = {
        function: list(inspect.signature(function).parameters)[:2]
        for function in (metrics.longest_copied_run, metrics.shared_runs, metrics.compare_sets)
    }
    assert names[metrics.longest_copied_run] == ["reference", "samples"]
    assert [first for first, _ in names.values()] == ["reference"] * 3
    assert list(inspect.signature(metrics.compare_multitrack).parameters)[:2] == ["reference_rolls", "rolls"]


def test_note_events_split_at_rests_and_holds():
    c4, d4 = pitch_to_token(60), pitch_to_token(62)
    assert metrics.note_events([REST, c4, HOLD, HOLD, REST, d4, HOLD]) == [(0, 3), (2, 2)]
    assert metrics.note_events([REST, HOLD]) == []


def test_sets_of_different_representations_are_not_compared():
    melodies = data.load_melodies("test")[:5]
    rolls = [roll[:, :64] for roll in data.load_pianorolls("test")[:5]]
    with pytest.raises(MusegenError, match="different representations"):
        metrics.compare_sets(melodies, rolls)
    with pytest.raises(MusegenError, match="different representations"):
        metrics.compare_sets(melodies, [*melodies[:3], *rolls[:2]])  # a mixed set
    assert metrics.features(melodies)["voices"].tolist() == [1] * 5


def test_holm_adjusts_in_steps_and_never_rejects_less_than_bonferroni():
    p = np.array([0.004, 0.03, 0.012, 0.5, 0.02])
    adjusted = metrics.holm(p)
    assert adjusted.tolist() == pytest.approx([0.02, 0.06, 0.048, 0.5, 0.06])
    assert (adjusted <= np.minimum(1, 5 * p)).all() and (adjusted >= p).all()
    with pytest.raises(MusegenError, match="p-values"):
        metrics.holm([0.2, 1.5])


def test_power_matches_simulated_experiments_and_the_planned_trials_reach_it():
    rng = np.random.default_rng(0)
    n, rate, alpha = 40, 0.3, 0.05
    simulated = np.mean([metrics.binomial_test(k, n) < alpha for k in rng.binomial(n, rate, 4000)])
    assert abs(simulated - metrics.binomial_power(n, rate, alpha)) < 0.03
    needed = metrics.trials_for_power(rate, alpha=alpha, power=0.8)
    assert metrics.binomial_power(needed, rate, alpha) >= 0.8 > metrics.binomial_power(12, rate, alpha)
    assert all(metrics.binomial_power(m, rate, alpha) >= 0.8 for m in range(needed, needed + 10))
    with pytest.raises(MusegenError, match="other than 0.5"):
        metrics.trials_for_power(0.5)


def test_per_piece_nlls_add_up_to_the_mean_and_resample_into_an_interval():
    class Uniform:  # every token equally likely: log(vocabulary) nats each
        def __call__(self, tokens):
            return np.zeros((*np.shape(tokens), VOCAB_SIZE), dtype=np.float32)

    melodies = data.load_melodies("test")[:6]
    totals, counts = metrics.sequence_nlls(Uniform(), melodies)
    assert counts.tolist() == [len(m) - 1 for m in melodies]
    np.testing.assert_allclose(totals, counts * np.log(VOCAB_SIZE))
    windowed = metrics.sequence_nlls(Uniform(), melodies, window=64)[1]
    assert windowed.tolist() == counts.tolist()  # each token scored once, in its window
    assert metrics.sequence_nll(Uniform(), melodies) == pytest.approx(np.log(VOCAB_SIZE))
    # a difference of exactly 0.1 nats per token on every piece: an interval of width 0 around it
    low, high = metrics.bootstrap_interval(lambda i: 0.1 * counts[i].sum() / counts[i].sum(), len(counts))
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)
    # noisy pieces: the interval is wider with fewer of them, and covers the mean it was drawn around
    rng = np.random.default_rng(0)
    few, many = rng.normal(1.0, 1.0, 20), rng.normal(1.0, 1.0, 2000)
    narrow, wide = (metrics.bootstrap_interval(lambda i, v=v: v[i].mean(), len(v)) for v in (many, few))
    assert narrow[0] < 1.0 < narrow[1] and wide[1] - wide[0] > 5 * (narrow[1] - narrow[0])
    with pytest.raises(MusegenError, match="two pieces"):
        metrics.bootstrap_interval(lambda i: 0.0, 1)
