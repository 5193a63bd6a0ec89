import json

from musegen_widgets import files
from musegen_widgets.errors import MusegenError

import pytest


def test_write_atomically_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    path = files.write_atomically(tmp_path / "a.bin", b"old")
    files.write_atomically(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_an_interrupted_write_keeps_the_old_file(tmp_path):
    path = files.write_atomically(tmp_path / "a.bin", b"old")
    with pytest.raises(TypeError):
        files.write_atomically(path, object())  # not bytes: the write fails after the temporary exists
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_record_in_manifest_keeps_other_entries_and_checked_entry_returns_it(tmp_path):
    first = files.write_atomically(tmp_path / "first.npz", b"1")
    second = files.write_atomically(tmp_path / "second.npz", b"2")
    files.record_in_manifest(first, {"built_by": "one"})
    files.record_in_manifest(second, {"built_by": "two"})
    manifest = files.read_manifest(tmp_path)
    assert sorted(manifest) == ["first.npz", "second.npz"]
    assert manifest["first.npz"]["sha256"] == files.sha256(first) != files.sha256(second)
    assert files.checked_entry(second, "the thing", "rebuild it")["built_by"] == "two"


def test_checked_entry_names_the_file_and_the_problem(tmp_path):
    path = files.write_atomically(tmp_path / "w.h5", b"weights")
    with pytest.raises(MusegenError, match="the weights is not in the manifest; retrain") as raised:
        files.checked_entry(path, "the weights", "retrain")
    assert "MANIFEST.json" in str(raised.value)
    files.record_in_manifest(path, {})
    path.write_bytes(b"weightz")
    with pytest.raises(MusegenError, match="corrupt") as raised:
        files.checked_entry(path, "the weights", "retrain")
    assert str(path) in str(raised.value)
    path.unlink()
    with pytest.raises(MusegenError, match="missing"):
        files.checked_entry(path, "the weights", "retrain")


def test_read_manifest_of_a_folder_without_one_is_empty_and_bad_json_is_named(tmp_path):
    assert files.read_manifest(tmp_path) == {}
    (tmp_path / files.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(MusegenError, match="not valid JSON") as raised:
        files.read_manifest(tmp_path)
    assert files.MANIFEST_NAME in str(raised.value)


def test_the_shipped_manifest_records_every_shipped_file():
    manifest = files.read_manifest()
    assert "chorales.npz" in manifest and "melody_lstm.weights.h5" in manifest
    for name, entry in manifest.items():
        assert entry["sha256"] == files.sha256(files.data_dir() / name), name
    json.dumps(manifest)  # plain JSON all through
