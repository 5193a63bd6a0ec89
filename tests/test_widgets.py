import base64
import re
from fractions import Fraction

from musegen_widgets import audio, data, encoding, metrics, music21_io
from musegen_widgets.errors import MusegenError
from musegen_widgets.widgets import ScoreView

import ipywidgets
import numpy as np
import pytest
from samples import GOOD_TOKENS, upload


def downloads(view: ScoreView) -> dict[str, bytes]:
    view.make_downloads()
    links = re.findall(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', view.downloads.value)
    return {name: base64.b64decode(payload) for name, payload in links}


def test_score_view_shows_score_audio_and_downloads(tmp_path):
    piece = data.load_pieces("test")[0]
    view = ScoreView(piece)
    assert isinstance(view, ipywidgets.VBox)
    assert "<svg" in view.score.value and piece.title in view.heading.value
    assert view.player.value[:4] == b"RIFF"
    files = downloads(view)
    name = piece.title.replace("/", "_")
    assert files[f"{name}.mid"][:4] == b"MThd"
    assert b"<score-partwise" in files[f"{name}.musicxml"]
    midi = tmp_path / "d.mid"
    midi.write_bytes(files[f"{name}.mid"])
    assert music21_io.read(midi) == piece
    assert "ScoreView(Piece(4 voices" in repr(view)


def test_static_html_holds_the_score_and_a_playable_sound_of_what_is_shown():
    import io

    import soundfile

    view = ScoreView(GOOD_TOKENS, title="<b>first</b>")
    page = view.static_html()
    assert "&lt;b&gt;first" in page and "<svg" not in page  # a sanitiser drops inline SVG; an <img> stays
    image = re.search(r'<img alt="([^"]+)"[^>]* src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert (
        image.group(1).startswith("Score") and base64.b64decode(image.group(2)).decode() in view.score.value
    )
    mp3 = base64.b64decode(re.search(r'src="data:audio/mpeg;base64,([^"]+)"', page).group(1))
    sound, rate = soundfile.read(io.BytesIO(mp3))
    wav, wav_rate = soundfile.read(io.BytesIO(view.player.value))
    assert rate == wav_rate and abs(len(sound) - len(wav)) < 0.05 * rate  # the same length, within 50 ms
    assert len(mp3) < len(view.player.value) / 4
    view.update(data.load_melodies("test")[0], title="second")
    assert "second" in view.static_html() and ScoreView(None).static_html() == ""


def test_static_html_encodes_the_sound_update_synthesized_without_synthesizing_again(monkeypatch):
    from musegen_widgets import audio

    synthesized = []
    synthesize = audio.synthesize
    monkeypatch.setattr(audio, "synthesize", lambda *a, **k: synthesized.append(a) or synthesize(*a, **k))
    view = ScoreView(GOOD_TOKENS, title="first")
    assert len(synthesized) == 1  # the player's sound
    pages = [view.static_html(), view.static_html()]
    assert len(synthesized) == 1  # and no other, however often the page is made
    sounds = [
        base64.b64decode(re.search(r'src="data:audio/mpeg;base64,([^"]+)"', page).group(1)) for page in pages
    ]
    monkeypatch.undo()
    assert sounds[0] == sounds[1] == audio.mp3_bytes(GOOD_TOKENS)  # the MP3 of that very sound
    view.update(data.load_melodies("test")[0], title="second")
    page = view.static_html()
    assert base64.b64decode(
        re.search(r'src="data:audio/mpeg;base64,([^"]+)"', page).group(1)
    ) == audio.mp3_bytes(data.load_melodies("test")[0])  # the new music's, not the old


def test_every_widget_display_carries_its_music_for_viewers_without_a_kernel(infill_model, tmp_path):
    from musegen_widgets.widgets import HarmoniseWidget, ListeningTest, ScoreTabs

    def html_of(widget):
        bundle = widget._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget where a kernel runs
        return bundle["text/html"]

    view = ScoreView(GOOD_TOKENS, title="solo")
    assert html_of(view) == view.static_html()
    harmoniser = HarmoniseWidget(infill_model, max_bars=2)
    page = html_of(harmoniser)
    assert page.startswith(harmoniser.view.static_html()) and "run the notebook" in page
    tabs = ScoreTabs({"one": GOOD_TOKENS, "<two>": data.load_melodies("test")[0]}, titles={"one": "first"})
    assert tabs.get_title(1) == "<two>" and "first" in tabs.children[0].heading.value
    page = html_of(tabs)
    assert page.count("musegen-static") == 2 and page.count("<audio") == 2 and "&lt;two&gt;" in page
    listening = ListeningTest(
        {"real": [GOOD_TOKENS], "model": [data.load_melodies("test")[0]]}, folder=tmp_path
    )
    page = html_of(
        listening
    )  # the first trial's two sounds, unlabelled, and no score (it would help tell them)
    assert page.count("<audio") == 2 and "<img" not in page and "Run the notebook" in page
    text = re.sub(r'base64,[^"]+"', "", page)
    assert "real" not in text and "model" not in text
    first = [listening.plan[0][side] for side in ("left", "right")]
    saved = [base64.b64decode(sound) for sound in re.findall(r'base64,([^"]+)"', page)]
    from musegen_widgets.widgets.listening_test import _from_first_note

    assert saved == [
        audio.mp3_bytes(_from_first_note(listening.sources[name][index])) for name, index in first
    ]
    assert "text/html" not in ScoreView(None)._repr_mimebundle_()
    with pytest.raises(MusegenError, match="at least one piece"):
        ScoreTabs({})


def test_downloads_are_made_when_asked_and_follow_the_music():
    view = ScoreView(GOOD_TOKENS, title="first")
    assert view.downloads.value == "" and view.download_button.layout.display is None
    view.download_button.click()
    assert "first.mid" in view.downloads.value and view.download_button.layout.display == "none"
    view.update(data.load_melodies("test")[0], title="second")  # the old files would be the wrong music
    assert view.downloads.value == "" and view.download_button.layout.display is None
    assert "second.musicxml" in downloads(view)


def test_update_swaps_everything_and_bad_input_keeps_the_old_view():
    view = ScoreView(GOOD_TOKENS, title="first")
    before = (view.score.value, view.player.value, view.downloads.value)
    with pytest.raises(MusegenError):
        view.update(np.array([0, 1, 999]))
    assert (view.score.value, view.player.value, view.downloads.value) == before
    view.update(data.load_melodies("test")[0], title="second")
    assert view.score.value != before[0] and view.player.value != before[1]
    assert "second" in view.heading.value


def test_titles_from_files_are_escaped(tmp_path):
    view = ScoreView(GOOD_TOKENS, title='<img src=x onerror="alert(1)">')
    assert "<img" not in view.heading.value and "&lt;img" in view.heading.value
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in downloads(view))


def test_piano_roll_toggle():
    view = ScoreView(GOOD_TOKENS)
    assert view.roll_image.layout.display == "none" and view.roll_image.value == b""
    view.roll_button.value = True
    assert view.roll_image.value[:8] == b"\x89PNG\r\n\x1a\n" and view.roll_image.layout.display is None
    view.update(data.load_melodies("test")[0])
    assert view.roll_image.value[:4] == b"\x89PNG"  # stays open and follows the music


@pytest.fixture(scope="module")
def ngram():
    from musegen_widgets.ngram import NGramModel

    return NGramModel(max_order=6).fit(data.load_melodies("train"))


def test_sampler_widget_resamples_on_every_control(ngram):
    from musegen_widgets.widgets import SamplerWidget

    sampler = SamplerWidget(ngram)
    assert len(sampler.tokens) == 16 * sampler.bars.value
    assert "<svg" in sampler.view.score.value and "<polyline" in sampler.probabilities.value
    seen = {sampler.view.player.value}
    for control, value in [
        (sampler.temperature, 1.5),
        (sampler.cut, "top-k"),
        (sampler.top_k, 3),
        (sampler.seed, 5),
        (sampler.bars, 4),
    ]:
        control.value = value
        assert sampler.view.player.value not in seen, f"{control.description} did not resample"
        seen.add(sampler.view.player.value)
    assert len(sampler.tokens) == 64
    sampler.resample_button.click()
    assert sampler.seed.value == 6 and sampler.view.player.value not in seen


def test_sampler_widget_primer_from_the_corpus_and_from_an_upload(ngram, good_midi, bad_files):
    from musegen_widgets.widgets import SamplerWidget

    sampler = SamplerWidget(ngram, primer_bars=1)
    chorale = sampler.primer.options[1]
    sampler.primer.value = chorale
    assert np.array_equal(sampler.tokens[:16], data.load_melodies("test")[0][:16])

    before = sampler.view.player.value
    sampler.upload.value = (upload("notes.mid", bad_files["not_midi.mid"].read_bytes()),)
    assert "notes.mid: not a MIDI file" in sampler.message.value and sampler.view.player.value == before

    sampler.upload.value = (upload("tune.mid", good_midi.read_bytes()),)
    assert sampler.primer.value == "(uploaded file)" and sampler.message.value == ""
    assert np.array_equal(sampler.tokens[:16], GOOD_TOKENS[:16])


def test_slider_moves_made_while_busy_fold_into_one_refresh_of_the_last_value(ngram):
    """Latest wins, in an event loop as in a kernel: a move refreshes at once; moves that queue up while the
    kernel is busy give one more refresh, of the last value, not one each."""
    import asyncio

    from musegen_widgets.widgets import SamplerWidget

    sampler = SamplerWidget(ngram)
    shown = []
    original = sampler.refresh
    sampler.refresh = lambda: (shown.append(sampler.temperature.value), original())

    async def drag():
        sampler.temperature.value = 0.5
        await asyncio.sleep(0)  # the loop's next turn
        assert shown == [0.5]
        for value in (0.6, 0.7, 0.8, 0.9):  # arrive before the loop turns, as queued messages do
            sampler.temperature.value = value
        await asyncio.sleep(0)

    asyncio.run(drag())
    assert shown == [0.5, 0.9]
    assert "temperature 0.90" in sampler.view.heading.value


def test_sampler_widget_shows_bad_settings_as_a_message(ngram):
    from musegen_widgets.widgets import SamplerWidget

    sampler = SamplerWidget(ngram)
    before = sampler.view.player.value
    sampler.model = None  # a broken model: the widget must not take the kernel down with it
    sampler.seed.value = 3
    assert sampler.message.value and sampler.view.player.value == before


def test_sampler_widget_survives_a_model_that_writes_only_rests():
    from musegen_widgets.widgets import SamplerWidget

    class Silent:
        def stepper(self):
            return self

        def feed(self, token):
            logits = np.full(encoding.VOCAB_SIZE, -30.0)
            logits[encoding.HOLD] = 0.0
            return logits

    sampler = SamplerWidget(Silent())
    assert sampler.view.player.value  # the primer's notes are shown and played
    sampler.primer.value = "(silence)"
    assert "only rests" in sampler.message.value and sampler.view.piece is not None


class _LooksBack:
    """A stand-in Transformer: block 0 attends to the step before, block 1 to step 0 (two heads each)."""

    def attention_weights(self, tokens):
        steps = len(tokens)
        maps = np.zeros((2, 2, steps, steps))
        maps[0, :, np.arange(steps), np.maximum(np.arange(steps) - 1, 0)] = 1.0
        maps[1, :, :, 0] = 1.0
        return maps


def test_attention_explorer_draws_the_chosen_block_head_and_step():
    from musegen_widgets.widgets import AttentionExplorer

    explorer = AttentionExplorer(_LooksBack(), GOOD_TOKENS)
    assert explorer.picture.value[:4] == b"\x89PNG" and "<svg" in explorer.view.score.value
    explorer.block.value, explorer.step.value = 0, 5
    assert np.flatnonzero(explorer.weights()).tolist() == [4]
    first = explorer.picture.value
    explorer.block.value = 1
    assert np.flatnonzero(explorer.weights()).tolist() == [0] and explorer.picture.value != first
    explorer.head.value = -1  # the mean of the heads
    assert explorer.weights()[0] == pytest.approx(1.0)
    with pytest.raises(MusegenError, match="no attention"):
        AttentionExplorer(object(), GOOD_TOKENS)


def test_attention_pianoroll_shades_the_notes_a_step_attends_to():
    from musegen_widgets import render

    tokens = np.array([encoding.pitch_to_token(p) for p in (60, 62, 64, 65)])
    figure = render.attention_pianoroll(tokens, [0.0, 0.9, 0.1, 0.0], 2)
    shades = figure.axes[0].collections[0].get_facecolors()
    assert shades[1][1] < shades[2][1] < shades[0][1]  # more attention, a deeper red (less green)
    with pytest.raises(MusegenError, match="one weight per step"):
        render.attention_pianoroll(tokens, [1.0], 0)


@pytest.fixture(scope="module")
def infill_model():
    from musegen_widgets.models import ChoraleInfill

    import keras

    keras.utils.set_random_seed(0)
    return ChoraleInfill(channels=8, dilations=[1, 2])


def _cells(widget):
    return encoding.encode_satb(widget.view.piece).reshape(-1, 4)


def test_harmonise_widget_writes_alto_tenor_and_bass_under_the_melody(infill_model):
    from musegen_widgets.widgets import HarmoniseWidget

    widget = HarmoniseWidget(infill_model, max_bars=4)
    chorale = data.load_pieces("test", meter="4/4")[0]
    real = encoding.encode_satb(chorale).reshape(-1, 4)[:64]
    assert widget.message.value == "" and len(widget.view.piece.voices) == 4
    cells = _cells(widget)
    assert np.array_equal(cells[:, 0], real[:, 0])  # the soprano is Bach's
    assert not np.array_equal(cells[:, 1:], real[:, 1:])  # the rest is written
    seen = widget.view.player.value
    widget.seed.value = 1
    assert widget.view.player.value != seen and "seed 1" in widget.view.heading.value

    # rewrite the bass of bar 2 only, over Bach's other voices
    widget.voices[1].value = widget.voices[2].value = False
    widget.bars.value = (2, 2)
    cells = _cells(widget)
    keep = np.ones(real.shape, bool)
    keep[16:32, 3] = False
    assert np.array_equal(cells[keep], real[keep])


def test_harmonise_widget_can_let_the_model_alone_write_parallels(infill_model):
    from musegen_widgets.widgets import HarmoniseWidget

    widget = HarmoniseWidget(infill_model, max_bars=4)
    assert widget.avoid_parallels.value and len(metrics.parallels(_cells(widget))) == 0
    widget.temperature.value = 1.5  # an untrained model's wild drafts, with parallels to undo
    found = []
    for seed in range(1, 6):
        widget.seed.value = seed
        with_rule = len(metrics.parallels(_cells(widget)))
        widget.avoid_parallels.value = False
        found.append((with_rule, len(metrics.parallels(_cells(widget)))))
        widget.avoid_parallels.value = True
    assert all(with_rule == 0 for with_rule, _ in found) and sum(alone for _, alone in found) > 0


def test_harmonise_widget_keep_starts_the_next_change_from_what_is_shown(infill_model):
    from musegen_widgets.widgets import HarmoniseWidget

    widget = HarmoniseWidget(infill_model, max_bars=2)
    widget.keep_button.click()
    kept = _cells(widget)
    widget.voices[1].value = widget.voices[2].value = False  # now only the bass, in bar 1
    widget.bars.value = (1, 1)
    cells = _cells(widget)
    assert np.array_equal(cells[:, :3], kept[:, :3]) and np.array_equal(cells[16:], kept[16:])


def test_harmonise_widget_takes_a_typed_melody_and_explains_a_bad_one(infill_model):
    from musegen_widgets.widgets import HarmoniseWidget

    widget = HarmoniseWidget(infill_model)
    widget.text.value = "C5q B4q A4h | G4w"
    assert widget.melody.value == "(typed melody)" and widget.message.value == ""
    soprano = sorted(widget.view.piece.voices[0].tolist(), key=lambda note: note[1])
    assert soprano == [[72, 0, 4], [71, 4, 8], [69, 8, 16], [67, 16, 32]]
    assert widget.bars.max == 2 and widget.bars.value == (1, 2)
    shown = widget.view.player.value
    for text, message in [
        ("C5q <b>x</b>", "word 2, &#x27;&lt;b&gt;x&lt;/b&gt;&#x27;, is neither a note"),  # escaped
        ("C2q D2q", "transpose it by"),
        ("rw", "no notes"),
    ]:
        widget.text.value = text
        assert message in widget.message.value and widget.view.player.value == shown
    for button in widget.voices:
        button.value = False
    assert "choose at least one voice" in widget.message.value


def test_harmonise_widget_reads_an_uploaded_melody_on_the_grid_only(infill_model, good_midi, tmp_path):
    import tempfile

    from musegen_widgets.widgets import HarmoniseWidget

    import music21

    widget = HarmoniseWidget(infill_model)
    widget.upload.value = (upload("tune.mid", good_midi.read_bytes()),)
    assert widget.melody.value == "(uploaded file)" and widget.message.value == ""
    triplets = music21.stream.Part([music21.note.Note("C5", quarterLength=Fraction(1, 3)) for _ in range(6)])
    path = tmp_path / "triplets.musicxml"
    triplets.write("musicxml", fp=path)
    shown = widget.view.player.value
    widget.upload.value = (upload("triplets.musicxml", path.read_bytes()),)
    assert "triplets.musicxml" in widget.message.value and "off the 16th-note grid" in widget.message.value
    assert tempfile.gettempdir() not in widget.message.value  # named as the learner knows it
    assert widget.view.player.value == shown


def test_diffusion_explorer_steps_guidance_and_infilling():
    from musegen_widgets import models
    from musegen_widgets.models.melody_diffusion import decode_codes, density_labels
    from musegen_widgets.widgets import DiffusionExplorer

    model, vae = models.load_pretrained("melody_diffusion"), models.load_pretrained("melody_vae")
    guided = models.load_pretrained("melody_diffusion_density")
    explorer = DiffusionExplorer(model, vae, guided)
    assert explorer.message.value == "" and explorer.view.title == "seed 0, step 20 of 20"
    final = explorer.view.piece
    explorer.step.value = 2  # early: the model's first guesses, another melody
    assert explorer.view.title == "seed 0, step 2 of 20" and explorer.view.piece != final
    explorer.step.value = 20
    assert explorer.view.piece == final  # the run is kept: back at the end, the same melody
    explorer.steps.value = 10
    assert explorer.step.max == 10 and explorer.view.title == "seed 0, step 10 of 10"
    # ask for more notes, strongly: more notes than asking for fewer
    explorer.guidance.value = 4.0
    explorer.label.value = 2
    busy = explorer.codes
    explorer.label.value = 0
    sparse = explorer.codes
    counts = density_labels(decode_codes(vae, np.concatenate([busy, sparse])))
    assert counts.tolist() == [2, 0] and "asked for fewer notes" in explorer.view.title
    # infill: the kept bars stay as they were, the others are redrawn; the guidance controls rest
    explorer.label.value = None
    shown = explorer.codes
    explorer.mode.value = "infill"
    assert explorer.label.disabled and "infilling" in explorer.view.title
    filled = explorer.path()[-1]
    np.testing.assert_allclose(filled[0, [0, 3]], shown[0, [0, 3]], atol=1e-5)
    assert not np.allclose(filled[0, 1:3], shown[0, 1:3], atol=0.1)
    for box in explorer.keep:
        box.value = True
    assert "every bar is kept" in explorer.message.value
    assert "run the notebook" in explorer._repr_mimebundle_()["text/html"]
    with pytest.raises(MusegenError, match="unconditional"):
        DiffusionExplorer(guided, vae)
    plain = DiffusionExplorer(model, vae)
    assert plain.label.disabled and plain.guidance.disabled
