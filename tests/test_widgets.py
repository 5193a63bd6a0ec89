import base64
import re

import ipywidgets
import numpy as np
import pytest
from samples import GOOD_TOKENS

from musegen_widgets import data, encoding
from musegen_widgets.errors import MusegenError
from musegen_widgets.widgets import ScoreView


def downloads(view: ScoreView) -> dict[str, bytes]:
    links = re.findall(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', view._downloads.value)
    return {name: base64.b64decode(payload) for name, payload in links}


def test_score_view_shows_score_audio_and_downloads(tmp_path):
    piece = data.load_pieces("test")[0]
    view = ScoreView(piece)
    assert isinstance(view, ipywidgets.VBox)
    assert "<svg" in view._score.value and piece.title in view._title.value
    assert view._audio.value[:4] == b"RIFF"
    files = downloads(view)
    name = piece.title.replace("/", "_")
    assert files[f"{name}.mid"][:4] == b"MThd"
    assert b"<score-partwise" in files[f"{name}.musicxml"]
    midi = tmp_path / "d.mid"
    midi.write_bytes(files[f"{name}.mid"])
    assert encoding.read(midi) == piece
    assert "ScoreView(Piece(4 voices" in repr(view)


def test_update_swaps_everything_and_bad_input_keeps_the_old_view():
    view = ScoreView(GOOD_TOKENS, title="first")
    before = (view._score.value, view._audio.value, view._downloads.value)
    with pytest.raises(MusegenError):
        view.update(np.array([0, 1, 999]))
    assert (view._score.value, view._audio.value, view._downloads.value) == before
    view.update(data.load_melodies("test")[0], title="second")
    assert view._score.value != before[0] and view._audio.value != before[1]
    assert "second" in view._title.value


def test_titles_from_files_are_escaped(tmp_path):
    view = ScoreView(GOOD_TOKENS, title='<img src=x onerror="alert(1)">')
    assert "<img" not in view._title.value and "&lt;img" in view._title.value
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in downloads(view))


def test_piano_roll_toggle():
    view = ScoreView(GOOD_TOKENS)
    assert view._roll.layout.display == "none" and view._roll.value == b""
    view._roll_button.value = True
    assert view._roll.value[:8] == b"\x89PNG\r\n\x1a\n" and view._roll.layout.display is None
    view.update(data.load_melodies("test")[0])
    assert view._roll.value[:4] == b"\x89PNG"  # stays open and follows the music
