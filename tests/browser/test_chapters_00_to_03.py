"""Chapters 00-03, each with a widget, opened and run in a real JupyterLab page: the widgets really update."""

from __future__ import annotations

from musegen_widgets import music21_io

import pytest
from lab import (
    AUDIO_DURATION,
    new_sound,
    open_cells_and_run,
    score_and_audio,
    slider_latencies,
)

pytestmark = pytest.mark.browser


def test_chapter_00_score_view(page, lab_url, artifacts, tmp_path):
    keep = ('chorale = data.load_pieces("test")[0]\nScoreView(chorale)', "test_chorales = dict(zip(")
    open_cells_and_run(page, lab_url, "00_music_as_data.ipynb", artifacts, keep=keep)
    views = page.locator(".widget-vbox:has(audio)")
    first = views.first
    first.scroll_into_view_if_needed()
    first.screenshot(path=str(artifacts / "00_score_view.png"))

    # an engraved score, and a playable sound
    assert first.locator(".widget-html svg").count() >= 1
    assert first.locator(".widget-html svg g.measure").count() > 10
    duration = first.locator("audio").first.evaluate(AUDIO_DURATION)
    assert duration > 10  # a chorale lasts well over ten seconds at 90 quarter notes per minute

    # the piano-roll toggle shows a picture
    first.locator("button:has-text('Piano roll')").click()
    roll = first.locator("img").first
    page.wait_for_function("img => img.naturalWidth > 0", arg=roll.element_handle(), timeout=30_000)
    first.screenshot(path=str(artifacts / "00_score_view_pianoroll.png"))

    # downloads, made when asked, give files that read back as the same music
    first.locator("button:has-text('Downloads')").click()
    pieces = []
    for label, suffix in [("MIDI", ".mid"), ("MusicXML", ".musicxml")]:
        with page.expect_download() as download:
            first.locator(f"a.musegen-download:has-text('{label}')").click()
        path = tmp_path / f"download{suffix}"
        download.value.save_as(path)
        assert download.value.suggested_filename.endswith(suffix)
        pieces.append(music21_io.read(path))
    assert pieces[0] == pieces[1] and pieces[0].n_notes > 100

    # the chorale menu drives a view: the score and the sound change
    picker_view = page.locator(".jp-CodeCell:has(.jp-OutputArea select)").first  # the menu, then its view
    picker_view.scroll_into_view_if_needed()
    view = picker_view.locator(".widget-vbox:has(audio)").first
    before = score_and_audio(view)
    options = picker_view.locator("select option").all_inner_texts()
    picker_view.locator("select").select_option(options[3])
    page.wait_for_function(
        "([view, old]) => view.querySelector('audio').src !== old",
        arg=[view.element_handle(), before[1]],
        timeout=60_000,
    )
    after = score_and_audio(view)
    assert after[0] != before[0] and after[1] != before[1]
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 5
    picker_view.screenshot(path=str(artifacts / "00_chorale_picker.png"))

    assert page.console_errors == []


def test_chapter_01_sampler_widget(page, lab_url, artifacts):
    keep = ('lstm = models.load_pretrained("melody_lstm")', "SamplerWidget(lstm)")
    open_cells_and_run(page, lab_url, "01_rnns_and_lstms.ipynb", artifacts, keep=keep)
    sampler = page.locator(".widget-vbox:has(.widget-upload)").first
    sampler.scroll_into_view_if_needed()
    view = sampler.locator(".widget-vbox:has(audio)").first
    sampler.screenshot(path=str(artifacts / "01_sampler.png"))
    assert view.locator(".widget-html svg g.measure").count() >= 8
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 5

    def changes(action) -> None:
        before, after = new_sound(page, view, action)
        assert after[0] != before[0] and after[1] != before[1]

    # move a slider with the keyboard, as a learner can: the melody is resampled
    seed_handle = sampler.locator(".widget-slider:has-text('seed') .noUi-handle").first
    changes(
        lambda: (seed_handle.focus(), page.keyboard.press("ArrowRight"), page.keyboard.press("ArrowRight"))
    )
    # a small temperature change with the same seed can draw the very same melody: move it a long way
    temperature_handle = sampler.locator(".widget-slider:has-text('temperature') .noUi-handle").first
    changes(lambda: (temperature_handle.focus(), *(page.keyboard.press("ArrowLeft") for _ in range(12))))
    changes(lambda: sampler.locator("button:has-text('Resample')").click())
    assert sampler.locator("svg polyline").count() == 1  # the probability strip
    # slider -> new sound, twenty single moves of the seed (each one a new melody)
    slider_latencies(
        page,
        seed_handle,
        view.locator("audio").first,
        moves=20,
        key="ArrowRight",
        name="01-sampler",
        artifacts=artifacts,
    )
    sampler.screenshot(path=str(artifacts / "01_sampler_after_changes.png"))
    assert page.console_errors == []


def test_chapter_02_latent_explorer(page, lab_url, artifacts):
    keep = ('vae = models.load_pretrained("melody_vae")', "LatentExplorer(vae)")
    open_cells_and_run(page, lab_url, "02_variational_autoencoders.ipynb", artifacts, keep=keep)
    explorer = page.locator(".widget-vbox:has(.widget-upload):has-text('Sample prior')").first
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".widget-vbox:has(audio)").first
    explorer.screenshot(path=str(artifacts / "02_latent_explorer.png"))
    assert view.locator(".widget-html svg g.measure").count() >= 2
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 3  # two bars at 90 quarters a minute
    assert explorer.locator("svg circle").count() > 100  # the map of the test codes

    def changes(action) -> None:
        before, after = new_sound(page, view, action)
        assert after[1] != before[1]

    # walk from A to B with the keyboard: the endpoint B is a different melody
    alpha_handle = explorer.locator(".widget-slider:has-text('alpha') .noUi-handle").first
    changes(lambda: (alpha_handle.focus(), *(page.keyboard.press("ArrowRight") for _ in range(10))))
    changes(lambda: explorer.locator("button:has-text('Sample prior')").click())
    explorer.screenshot(path=str(artifacts / "02_latent_explorer_after_changes.png"))
    assert page.console_errors == []


def test_chapter_03_gan_explorer(page, lab_url, artifacts):
    keep = ('gan = models.load_pretrained("chorale_gan")', "GanExplorer(gan)")
    open_cells_and_run(page, lab_url, "03_gans.ipynb", artifacts, keep=keep)
    explorer = page.locator(".widget-vbox:has-text('New sample'):has-text('move bass')").first
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".widget-vbox:has(audio)").first
    explorer.screenshot(path=str(artifacts / "03_gan_explorer.png"))
    assert view.locator(".widget-html svg g.measure").count() >= 2

    new_sound(page, view, lambda: explorer.locator("button:has-text('New sample')").click())
    bass_handle = explorer.locator(".widget-slider:has-text('move bass') .noUi-handle").first
    new_sound(
        page, view, lambda: (bass_handle.focus(), *(page.keyboard.press("ArrowRight") for _ in range(20)))
    )
    explorer.screenshot(path=str(artifacts / "03_gan_explorer_after_changes.png"))
    assert page.console_errors == []
