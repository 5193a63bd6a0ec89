import hashlib
import json
import shutil

import numpy as np
import pytest

from musegen_widgets import data, encoding
from musegen_widgets.errors import MusegenError


def test_splits_are_disjoint_cover_all_and_are_about_80_10_10():
    ids = {split: data.chorale_ids(split) for split in data.SPLITS}
    everything = data.chorale_ids("all")
    assert sorted(sum(ids.values(), [])) == sorted(everything)
    assert len(set(everything)) == len(everything) > 300
    for split, share in [("train", 0.8), ("valid", 0.1), ("test", 0.1)]:
        assert abs(len(ids[split]) / len(everything) - share) < 0.03


def test_split_depends_only_on_the_chorale():
    for corpus_id in data.chorale_ids("test"):
        assert int(hashlib.sha256(corpus_id.encode()).hexdigest(), 16) % 10 == 0


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
    with pytest.raises(MusegenError, match="outside"):
        data.transpose_melody(low, -1)


def test_windows():
    batch = data.windows(data.load_melodies("train"), length=64, hop=32)
    assert batch.shape[1] == 64 and batch.shape[0] > 1000
    with pytest.raises(MusegenError, match="at least"):
        data.windows([np.arange(3)], length=4)
    with pytest.raises(MusegenError, match="positive"):
        data.windows([np.arange(3)], length=0)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    for name in (data.CACHE_NAME, data.MANIFEST_NAME):
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
    (data_copy / data.MANIFEST_NAME).write_text("{not json")
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
    manifest = json.loads((data_copy / data.MANIFEST_NAME).read_text())
    assert manifest[data.CACHE_NAME]["sha256"] == hashlib.sha256(shipped).hexdigest()
