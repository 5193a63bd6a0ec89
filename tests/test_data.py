import hashlib
import json
import shutil

from musegen_widgets import data, encoding, files, metrics
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest


def test_splits_are_disjoint_cover_all_and_are_about_80_10_10():
    ids = {split: data.chorale_ids(split) for split in data.SPLITS}
    everything = data.chorale_ids("all")
    assert sorted(sum(ids.values(), [])) == sorted(everything)
    assert len(set(everything)) == len(everything) > 300
    for split, share in [("train", 0.8), ("valid", 0.1), ("test", 0.1)]:
        assert abs(len(ids[split]) / len(everything) - share) < 0.03


def _split_record() -> dict:
    return json.loads((data.data_dir() / files.MANIFEST_NAME).read_text())[data.CACHE_NAME]["split"]


def test_a_tune_never_straddles_two_splits():
    split_of = {cid: split for split in data.SPLITS for cid in data.chorale_ids(split)}
    groups = data.tune_groups("all")
    assert sorted(cid for group in groups for cid in group) == sorted(split_of)
    assert all(len({split_of[cid] for cid in group}) == 1 for group in groups)
    shared = [group for group in groups if len(group) > 1]
    assert len(shared) > 30  # the corpus holds many tunes harmonised more than once
    assert shared == _split_record()["shared_tunes"]  # documented in the manifest


def test_held_out_sopranos_share_no_more_with_training_than_chance():
    record = _split_record()
    train = data.load_melodies("train")
    held_out = data.load_melodies("valid") + data.load_melodies("test")
    for key, rhythm in (("intervals_and_lengths", True), ("intervals", False)):
        chance = record[key]["longest_chance_run"]
        assert record[key]["threshold_notes"] == chance + 1
        assert metrics.shared_runs(train, held_out, rhythm=rhythm).max() <= chance
    # the split by chorale path fails the same check: whole tunes sit on both sides
    by_path = {s: data.load_melodies_split_by_path(s) for s in data.SPLITS}
    leaked = metrics.longest_copied_run(
        reference=by_path["train"], samples=by_path["valid"] + by_path["test"]
    )
    assert (leaked >= record["intervals_and_lengths"]["threshold_notes"]).sum() > 10


def test_the_chance_level_comes_from_retrogrades():
    melodies = data.load_melodies("all")[:40]
    _, evidence = data.shared_tunes(melodies)
    backwards = [data.retrograde(m) for m in melodies]
    chance = metrics.shared_runs(melodies, backwards)
    np.fill_diagonal(chance, 0)
    assert evidence["intervals_and_lengths"]["longest_chance_run"] == chance.max()


def test_retrograde_reverses_notes_and_keeps_their_lengths():
    melody = data.load_melodies("test")[0]
    assert melody[0] != encoding.HOLD and np.array_equal(data.retrograde(data.retrograde(melody)), melody)
    forward, backward = metrics.note_events(melody), metrics.note_events(data.retrograde(melody))
    assert [length for _, length in backward] == [length for _, length in forward][::-1]
    assert [i for i, _ in backward[1:]] == [-i for i, _ in forward[1:]][::-1]


def test_split_groups_keeps_groups_whole_and_near_the_shares():
    groups = [[f"big{i}" for i in range(9)]] + [[f"c{i}"] for i in range(91)]
    split = data.split_groups(groups)
    assert len({split[cid] for cid in groups[0]}) == 1
    counts = {name: list(split.values()).count(name) for name in data.SPLITS}
    assert abs(counts["train"] - 80) <= 9 and abs(counts["valid"] - 10) <= 9 and abs(counts["test"] - 10) <= 9
    assert split == data.split_groups(groups[::-1])  # the order given does not matter


def test_melodies_split_by_path_follow_the_hash_rule():
    everything = dict(zip(data.chorale_ids("all"), data.load_melodies("all")))
    test = data.load_melodies_split_by_path("test")
    expected = [m for c, m in everything.items() if data.split_by_path(c) == "test"]
    assert len(test) == len(expected) > 0
    assert all(np.array_equal(a, b) for a, b in zip(test, expected))
    with pytest.raises(MusegenError, match="split must be one of"):
        data.load_melodies_split_by_path("all")


def test_split_by_path_is_the_old_hash_rule():
    for corpus_id in data.chorale_ids("all")[:50]:
        bucket = int(hashlib.sha256(corpus_id.encode()).hexdigest(), 16) % 10
        assert data.split_by_path(corpus_id) == {0: "test", 1: "valid"}.get(bucket, "train")


def test_unknown_split():
    with pytest.raises(MusegenError, match="split must be one of"):
        data.load_melodies("validation")


def test_every_representation_has_one_item_per_chorale():
    for split in data.SPLITS:
        n = len(data.chorale_ids(split))
        assert (
            len(data.load_melodies(split))
            == len(data.load_pianorolls(split))
            == len(data.load_frames(split))
            == n
        )
        assert len(data.time_signatures(split)) == n


def test_melodies_are_soprano_tokens_starting_on_a_downbeat():
    melodies = data.load_melodies("all")
    pieces = data.load_pieces("all")
    for melody, piece in zip(melodies, pieces):
        assert melody.dtype == np.int64 and melody.ndim == 1
        assert melody.min() >= 0 and melody.max() < encoding.VOCAB_SIZE
        first_note = np.flatnonzero(melody >= 2)[0]
        assert first_note == piece.voices[0][:, 1].min()
        assert first_note < piece.steps_per_bar  # a pickup never fills a whole bar
    # the corpus has many chorales with a pickup, all padded to a downbeat with one REST then HOLDs
    padded = [m for m in melodies if m[0] == encoding.REST]
    assert len(padded) > 100
    assert all((m[1 : np.flatnonzero(m >= 2)[0]] == encoding.HOLD).all() for m in padded)


def test_cache_matches_a_fresh_parse_of_the_corpus():
    import music21

    for corpus_id, piece in list(zip(data.chorale_ids("valid"), data.load_pieces("valid")))[:3]:
        assert encoding.to_piece(music21.corpus.parse(corpus_id)) == piece


def test_pianorolls_and_frames_shapes():
    roll = data.load_pianorolls("test")[0]
    assert roll.dtype == bool and roll.shape[0] == 4
    assert roll.shape[2] == encoding.PIANOROLL_HIGH - encoding.PIANOROLL_LOW + 1
    # SATB: each voice sings one pitch at a time, and the soprano sits above the bass on average
    assert roll.sum(axis=2).max() == 1
    heights = [np.nonzero(voice)[1].mean() for voice in roll]
    assert heights[0] > heights[3]
    frames = data.load_frames("test")
    assert all(f.shape[1] == 88 and f[0].any() for f in frames)
    voices_per_frame = np.concatenate([f.sum(axis=1) for f in frames])
    assert (voices_per_frame > 4).mean() < 0.01  # four voices, but now and then one divides


def test_transpositions_cover_all_keys_in_range():
    melody = data.load_melodies("train")[0]
    shifted = data.transpositions(melody)
    assert len(shifted) == 12
    assert len({tuple(s) for s in shifted}) == 12
    for s in shifted:
        assert ((s >= 2) == (melody >= 2)).all()
    low = np.array([encoding.pitch_to_token(encoding.MIN_PITCH), encoding.HOLD])
    assert len(data.transpositions(low)) == 6  # only upwards fits
    assert data.transpositions(np.array([encoding.REST, encoding.REST])) == []  # nothing to move
    with pytest.raises(MusegenError, match="outside"):
        data.transpose_melody(low, -1)


def test_excerpts_cut_every_kind_of_music_and_leave_out_silence():
    batch = data.excerpts(data.load_melodies("train"), steps=64, hop=32)
    assert batch.shape[1] == 64 and batch.shape[0] > 1000
    rests = np.full(8, encoding.REST)
    assert data.excerpts([np.arange(3)], steps=4).shape == (0, 4)  # too short: none
    assert data.excerpts([rests], steps=4).shape == (0, 4)  # only rests: none
    note = np.array([encoding.pitch_to_token(60)] + [encoding.HOLD] * 3)
    assert data.excerpts([np.concatenate([note, rests])], steps=4).tolist() == [note.tolist()]
    rolls = data.excerpts(data.load_pianorolls("test")[:2], steps=32)
    assert rolls.shape[1:] == (4, 32, encoding.PIANOROLL_HIGH - encoding.PIANOROLL_LOW + 1)
    assert data.excerpts([np.zeros((4, 40, 72), bool)], steps=32).shape == (0, 4, 32, 72)
    frames = data.excerpts(data.load_frames("test")[:2], steps=8, hop=4)
    assert frames.shape[1:] == (8, 88) and frames.any(axis=(1, 2)).all()
    with pytest.raises(MusegenError, match="positive"):
        data.excerpts([np.arange(3)], steps=0)


def test_load_with_a_meter_keeps_only_that_meter():
    meters = data.time_signatures("train")
    four = data.load_melodies("train", meter="4/4")
    assert len(four) == meters.count("4/4") > 0 and len(four) < len(meters)
    assert {p.time_signature for p in data.load_pieces("train", meter="3/4")} == {"3/4"}
    assert len(data.load_pianorolls("valid", meter="4/4")) == data.time_signatures("valid").count("4/4")


def test_augmented_gives_every_key_of_every_piece_in_order():
    melodies = data.load_melodies("test")[:3]
    augmented = data.augmented(melodies)
    expected = [moved for melody in melodies for moved in data.transpositions(melody)]
    assert len(augmented) == len(expected) > 30
    assert all(np.array_equal(a, b) for a, b in zip(augmented, expected))
    rolls = data.excerpts(data.load_pianorolls("test")[:2], steps=32)
    stacked = data.augmented(rolls)
    assert isinstance(stacked, np.ndarray) and stacked.dtype == bool
    assert np.array_equal(stacked, np.stack([m for roll in rolls for m in data.transpositions(roll)]))
    with pytest.raises(MusegenError, match="no piece has notes"):
        data.augmented(np.zeros((2, 4, 32, 72), bool))


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    for name in (data.CACHE_NAME, files.MANIFEST_NAME):
        shutil.copy(data.data_dir() / name, tmp_path / name)
    monkeypatch.setenv("MUSEGEN_DATA_DIR", str(tmp_path))
    return tmp_path


def test_verify_names_the_problem(data_copy):
    assert data.verify() == data_copy / data.CACHE_NAME
    cache = data_copy / data.CACHE_NAME
    corrupted = bytearray(cache.read_bytes())
    corrupted[1000] ^= 0xFF
    cache.write_bytes(bytes(corrupted))
    with pytest.raises(MusegenError, match="corrupt") as raised:
        data.verify()
    assert str(cache) in str(raised.value) and "python -m musegen_widgets.data build" in str(raised.value)
    cache.unlink()
    with pytest.raises(MusegenError, match="missing"):
        data.verify()
    (data_copy / files.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(MusegenError, match="not valid JSON"):
        data.verify()


@pytest.mark.slow
def test_a_corrupt_cache_is_reported_and_rebuilt_byte_identically(data_copy):
    shipped = (data_copy / data.CACHE_NAME).read_bytes()
    (data_copy / data.CACHE_NAME).write_bytes(shipped[: len(shipped) // 2])  # truncated
    with pytest.warns(UserWarning, match="corrupt.*Rebuilding"):
        ids = data.chorale_ids("all")
    assert (data_copy / data.CACHE_NAME).read_bytes() == shipped
    assert ids == json.loads(json.dumps(ids)) and len(ids) > 300
    assert not [p for p in data_copy.iterdir() if p.name.startswith(".")]  # no temporary files left
    manifest = json.loads((data_copy / files.MANIFEST_NAME).read_text())
    assert manifest[data.CACHE_NAME]["sha256"] == hashlib.sha256(shipped).hexdigest()
