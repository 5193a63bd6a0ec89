"""Numbers that judge a model (chapter 01 introduces the first; chapter 04 gathers them all).

One module per kind of evidence, every name importable from ``musegen_widgets.metrics``:
``likelihood``, ``yang_lerch`` (features and set comparison), ``multitrack``, ``voice_leading``, ``rhythm``,
``structure``, ``coverage``, ``copying``, ``listening``.

Likelihood
    :func:`sequence_nll` is the held-out negative log-likelihood of a sequence model, scored exactly as the
    course reports it: over whole chorales from their first step, each token from the second on predicted
    from every token before it, averaged over tokens, in nats. ``exp`` of it is the perplexity.
    :func:`frame_nll` is the same for next-frame (polyphonic) models, per frame. :func:`infill_nll` scores
    chapter 06's infilling model by orderless NADE (every cell given some before and after it: not causal).
    :func:`sequence_nlls` keeps the nats and tokens of each piece, and :func:`bootstrap_interval` resamples
    the pieces, so that two models' difference comes with an interval (chapter 05).

Features of a piece (Yang & Lerch 2020, "On the evaluation of generative models in music")
    :func:`piece_features` computes, for any piece, melody or file: pitch count, pitch-class histogram and
    transition matrix, pitch range, average pitch interval, average inter-onset interval, note-length
    histogram and transition matrix, plus scale consistency and note density. :func:`features` stacks them
    for a set of pieces.

Comparing two sets (the same paper's method)
    For one feature, the *intra-set* distances are the distances between every two pieces of one set; the
    *inter-set* distances, between every piece of one set and every piece of the other.
    :func:`compare_sets` smooths each distance distribution with a Gaussian kernel density estimate and
    reports the **overlapping area** (OA, 1 = indistinguishable) and the **KL divergence** of the inter-set
    distribution from the reference set's intra-set distribution.

Four voices (MuseGAN, Dong et al. 2018)
    :func:`multitrack_metrics` gives, per voice, the share of empty bars, the pitch classes used per bar, the
    share of qualified (not too short) notes and the polyphonicity, and the tonal distance between every two
    voices; :func:`compare_multitrack` sets a generated set beside a reference, entry by entry.

Voice leading (chapter 06)
    :func:`voice_leading` gives a set of four-voice passages' parallel fifths and octaves per 100 motions of
    two voices, voice crossings and too-wide spacings per 100 chords, and notes out of range per 100 notes.

Structure over a whole melody (chapter 08)
    :func:`estimate_key` (Krumhansl-Schmuckler), :func:`related_keys` and :func:`halves_agreement` (do a
    melody's two halves keep to one key and its neighbours?), and Mittal et al.'s framewise :func:`self_similarity` of pitch and duration
    (:func:`framewise_overlaps`, :func:`gaussian_overlap`).

Fidelity and diversity (chapter 08)
    :func:`precision_recall_density_coverage` asks how many generated pieces look real and how much of the
    real set the generated one covers (mode collapse shows as low recall and coverage), on
    :func:`feature_vectors` (chapter 04's features as one vector per piece).

Copying and listening
    :func:`shared_runs` and :func:`longest_copied_run` find the longest runs of notes melodies share (chapters
    00 and 04);
    :func:`binomial_test` and :func:`binomial_interval` judge a blind listening test's answers,
    :func:`holm` adjusts its p-values for several sources at once, and :func:`binomial_power` and
    :func:`trials_for_power` say how many trials it needs; :func:`fleiss_kappa` says how much a class of
    listeners agree.

Every comparison takes the reference first: ``compare_sets(reference, generated)``,
``compare_multitrack(reference_rolls, rolls)``, ``shared_runs(reference, melodies)``,
``longest_copied_run(reference, samples)``.
"""

from .copying import longest_copied_run, note_events, shared_runs
from .coverage import VECTOR_FEATURES, feature_vectors, precision_recall_density_coverage
from .likelihood import bootstrap_interval, frame_nll, infill_nll, sequence_nll, sequence_nlls
from .listening import binomial_interval, binomial_power, binomial_test, fleiss_kappa, holm, trials_for_power
from .multitrack import (
    TONAL_MATRIX,
    VOICE_PAIRS,
    compare_multitrack,
    empty_bars,
    multitrack_metrics,
    polyphonicity,
    qualified_notes,
    tonal_centroids,
    tonal_distance,
    used_pitch_classes,
    voice_range_share,
)
from .rhythm import LOWER_VOICES, onset_positions, rhythm_shares
from .structure import (
    estimate_key,
    framewise_overlaps,
    gaussian_overlap,
    halves_agreement,
    pitch_class_agreement,
    related_keys,
    seam_leaps,
    self_similarity,
)
from .voice_leading import RATES, VOICE_RANGES, parallels, voice_leading, voice_leading_counts
from .yang_lerch import (
    FEATURES,
    NOTE_LENGTHS,
    compare_sets,
    features,
    inter_set_distances,
    intra_set_distances,
    kernel_density,
    kl_divergence,
    overlapping_area,
    piece_features,
)

__all__ = [
    "VECTOR_FEATURES",
    "feature_vectors",
    "precision_recall_density_coverage",
    "sequence_nll",
    "sequence_nlls",
    "bootstrap_interval",
    "frame_nll",
    "infill_nll",
    "voice_leading",
    "voice_leading_counts",
    "parallels",
    "VOICE_RANGES",
    "LOWER_VOICES",
    "onset_positions",
    "rhythm_shares",
    "estimate_key",
    "related_keys",
    "halves_agreement",
    "pitch_class_agreement",
    "seam_leaps",
    "gaussian_overlap",
    "framewise_overlaps",
    "self_similarity",
    "RATES",
    "FEATURES",
    "NOTE_LENGTHS",
    "piece_features",
    "features",
    "intra_set_distances",
    "inter_set_distances",
    "kernel_density",
    "overlapping_area",
    "kl_divergence",
    "compare_sets",
    "VOICE_PAIRS",
    "TONAL_MATRIX",
    "empty_bars",
    "used_pitch_classes",
    "qualified_notes",
    "polyphonicity",
    "tonal_centroids",
    "tonal_distance",
    "multitrack_metrics",
    "voice_range_share",
    "compare_multitrack",
    "note_events",
    "shared_runs",
    "longest_copied_run",
    "binomial_test",
    "binomial_interval",
    "holm",
    "binomial_power",
    "trials_for_power",
    "fleiss_kappa",
]
