"""Chapters 04-06, each with a widget, opened and run in a real JupyterLab page: the widgets really update."""

from __future__ import annotations

import pytest
from lab import AUDIO_DURATION, new_sound, open_cells_and_run, score_and_audio, settle

pytestmark = pytest.mark.browser


def test_chapter_04_listening_test(page, lab_url, artifacts):
    # the samples, the sources and the two tests: the likelihoods and tables before them are the notebook test's
    keep = (
        "samples = {name: generate(N_SAMPLES",
        "listening_sources = {",
        "ListeningTest(\n    listening_sources",
    )
    smaller = {  # ten excerpts a source, not 100 (and 100 of Bach's training melodies, not 1,000)
        "N_SAMPLES = 100": "N_SAMPLES = 10",
        '"Bach, training split"](\n    1000, seed=0': '"Bach, training split"](\n    100, seed=0',
        "name: generate(100, seed=0)": "name: generate(10, seed=0)",
    }
    open_cells_and_run(
        page,
        lab_url,
        "04_judging_generated_music.ipynb",
        artifacts,
        keep=(*keep, "four_voice_sources = {"),
        smaller=smaller,
    )
    test = page.locator(".widget-vbox:has-text('Reveal results')").first
    test.scroll_into_view_if_needed()
    assert test.locator("audio").count() == 2
    assert "trial 1 of 371" in test.text_content()  # 53 trials for each of 7 sources, planned by power
    test.locator("button:has-text('Excerpt 1')").click()
    page.wait_for_function(
        "box => box.textContent.includes('trial 2 of 371')", arg=test.element_handle(), timeout=30_000
    )
    test.locator("button:has-text('Reveal results')").click()
    page.wait_for_function(
        "box => box.querySelector('table') !== null", arg=test.element_handle(), timeout=30_000
    )
    test.screenshot(path=str(artifacts / "04_listening_test.png"))
    # the four-voice test: passages of held-out Bach, the GAN and the harmonisations, its own answers file
    four_voices = page.locator(".widget-vbox:has-text('Which passage did Bach write?')").last
    four_voices.scroll_into_view_if_needed()
    assert "trial 1 of 129" in four_voices.text_content()  # 43 trials for each of 3 sources
    assert four_voices.locator("audio").first.evaluate(AUDIO_DURATION) > 2  # two bars of four voices
    four_voices.locator("button:has-text('Excerpt 2')").click()
    page.wait_for_function(
        "box => box.textContent.includes('trial 2 of 129')", arg=four_voices.element_handle(), timeout=30_000
    )
    four_voices.screenshot(path=str(artifacts / "04_listening_test_four_voices.png"))
    assert page.console_errors == []


def test_chapter_05_attention_explorer(page, lab_url, artifacts):
    keep = (
        "train_melodies, test_melodies = data.load_melodies",
        'transformer = models.load_pretrained("melody_transformer")',
        "by_distance = np.zeros(",  # picks the block and head the explorer opens on
        "explorer = AttentionExplorer(",
    )
    open_cells_and_run(page, lab_url, "05_transformers.ipynb", artifacts, keep=keep)
    explorer = page.locator(".widget-vbox:has(.widget-dropdown):has-text('mean of heads')").first
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".widget-vbox:has(audio)").first
    assert view.locator(".widget-html svg g.measure").count() >= 8  # the held-out chorale, engraved
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 5
    picture = explorer.locator("img").last
    page.wait_for_function("img => img.naturalWidth > 0", arg=picture.element_handle(), timeout=30_000)
    explorer.screenshot(path=str(artifacts / "05_attention_explorer.png"))

    def redraws(action) -> None:
        settle(page, picture)
        before = picture.get_attribute("src")
        action()
        page.wait_for_function(
            "([img, old]) => img.src !== old && img.naturalWidth > 0",
            arg=[picture.element_handle(), before],
            timeout=60_000,
        )

    step_handle = explorer.locator(".widget-slider:has-text('step') .noUi-handle").first
    redraws(lambda: (step_handle.focus(), *(page.keyboard.press("ArrowLeft") for _ in range(5))))
    head_menu = explorer.locator(".widget-dropdown:has-text('head') select").first
    redraws(lambda: head_menu.select_option(label="mean of heads"))
    block_menu = explorer.locator(".widget-dropdown:has-text('block') select").first
    current = block_menu.evaluate("select => select.selectedIndex")
    assert block_menu.locator("option").count() >= 2
    redraws(lambda: block_menu.select_option(index=1 if current == 0 else 0))  # another block than shown
    explorer.screenshot(path=str(artifacts / "05_attention_explorer_after_changes.png"))
    assert page.console_errors == []


def test_chapter_06_harmonise_widget(page, lab_url, artifacts):
    keep = ("test_cells = [infill_cells.encode(", 'infill_model = models.load_pretrained("chorale_infill")')
    open_cells_and_run(page, lab_url, "06_harmonisation.ipynb", artifacts, keep=(*keep, "HarmoniseWidget("))
    widget = page.locator(".widget-vbox:has-text('Gibbs rounds'):has(.widget-upload)").first
    widget.scroll_into_view_if_needed()
    view = widget.locator(".widget-vbox:has(audio)").first
    assert view.locator(".widget-html svg g.measure").count() >= 8  # eight bars of four voices
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 5
    widget.screenshot(path=str(artifacts / "06_harmonise_widget.png"))

    def changes(action) -> None:
        before, after = new_sound(page, view, action)
        assert after[0] != before[0]

    changes(lambda: widget.locator("button:has-text('Resample')").click())
    # a typed melody, then a malformed one: a message, and the music stays
    text = widget.locator(".widget-text input").first
    changes(lambda: (text.fill("C5q B4q A4h | G4q A4q B4h | C5w"), text.press("Enter")))
    shown = score_and_audio(view)
    text.fill("C5q B4q <b>X</b>")
    text.press("Enter")
    page.wait_for_function(
        "box => box.textContent.includes('is neither a note')", arg=widget.element_handle(), timeout=30_000
    )
    assert widget.locator("b:has-text('X')").count() == 0  # the user's text is escaped, not markup
    assert score_and_audio(view) == shown
    widget.screenshot(path=str(artifacts / "06_harmonise_widget_after_changes.png"))
    assert page.console_errors == []
