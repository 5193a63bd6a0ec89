"""Each chapter with a widget, opened and run in a real JupyterLab page: the widgets really update."""

from __future__ import annotations

import json

from musegen_widgets import music21_io

import pytest
from conftest import ROOT

pytestmark = pytest.mark.browser

AUDIO_DURATION = """audio => new Promise(resolve => {
    if (audio.readyState >= 1) resolve(audio.duration);
    else { audio.onloadedmetadata = () => resolve(audio.duration); audio.load(); }
})"""


CELLS_DONE = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
    return prompts.length > 0 && prompts.every(text => /\\[\\d+\\]/.test(text));
}"""


CELLS_DONE_THROUGH = """last => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
        .slice(0, last + 1)
        .filter(cell => cell.classList.contains('jp-CodeCell'))
        .map(cell => cell.querySelector('.jp-InputArea-prompt').textContent);
    return prompts.length > 0 && prompts.every(text => /\\[\\d+\\]/.test(text));
}"""


def open_and_run_all(page, lab_url: str, notebook: str, artifacts, *, through: str | None = None) -> None:
    """Open a chapter, run its cells, and wait until every code cell run shows its execution count.

    With ``through``, the text of the cell that shows the chapter's widget, only the cells up to and including
    it run ("Run All Above" the cell after it): what follows the widget is the notebook test's to check, and
    running it here again would only double the time.

    Run All marks every code cell as queued (``[*]``) at once, so counting finished prompts is a signal that
    cannot fire early, unlike the kernel's status, which flickers to "Idle" between cells. (``textContent``,
    not ``innerText``: JupyterLab skips rendering off-screen cells, whose ``innerText`` is then empty.)
    """
    # ?reset: a new empty workspace, so that a notebook left open by an earlier test cannot take the focus
    page.goto(f"{lab_url}/lab/tree/notebooks/{notebook}?reset")
    try:
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        kernel_idle = (
            "() => [...document.querySelectorAll('.jp-StatusBar-Widget')]"
            ".some(e => e.textContent.includes('Idle'))"
        )
        page.wait_for_function(kernel_idle, timeout=90_000)
        last = None
        if through is not None:
            # from the file: JupyterLab renders the code of off-screen cells only when they scroll into view
            cells = json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]
            last = next(i for i, cell in enumerate(cells) if through in "".join(cell["source"]))
            page.locator(".jp-Notebook .jp-Cell").nth(last + 1).locator(".jp-InputPrompt").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click(timeout=10_000)
        command = "run-all" if through is None else "run-all-above"
        page.locator(
            f"li[data-command='runmenu:{command}'], li[data-command='notebook:{command}']"
        ).first.click(timeout=10_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
            ".some(e => e.textContent.includes('*'))",
            timeout=30_000,
        )
        if through is None:
            page.wait_for_function(CELLS_DONE, timeout=600_000, polling=1000)
        else:
            page.wait_for_function(CELLS_DONE_THROUGH, arg=last, timeout=600_000, polling=1000)
    except Exception:
        page.screenshot(path=str(artifacts / f"{notebook}-failed.png"))
        raise
    # JupyterLab renders exceptions as stderr output
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [text for text in stderr.all_inner_texts() if "Error" in text]
    assert tracebacks == []


def score_and_audio(view) -> tuple[str, str]:
    svg = view.locator(".widget-html svg").first.inner_html()
    audio = view.locator("audio").first.get_attribute("src")
    return svg, audio


def settle(page, element) -> None:
    """Wait until ``element``'s ``src`` (an audio player's, an image's) has not changed for a second: every move
    made so far is shown.

    With "latest wins", moves made while the kernel is busy end in one more refresh, of the last value, after
    the first one; a check that snapshots the view in between would see a new score beside the old sound.
    """
    page.evaluate(
        """element => new Promise(resolve => {
            const done = () => { observer.disconnect(); resolve(); };
            let timer = setTimeout(done, 1000);
            const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, 1000); });
            observer.observe(element, {attributes: true, attributeFilter: ['src']});
        })""",
        element.element_handle(),
    )


def new_sound(page, view, action) -> tuple[tuple[str, str], tuple[str, str]]:
    """Score and audio of ``view`` before and after ``action``, once the view has settled and its player has a
    new ``src``."""
    settle(page, view.locator("audio").first)
    before = score_and_audio(view)
    action()
    page.wait_for_function(
        "([view, old]) => view.querySelector('audio').src !== old",
        arg=[view.element_handle(), before[1]],
        timeout=60_000,
    )
    return before, score_and_audio(view)


def slider_latencies(page, handle, audio, *, moves: int, key: str, name: str, artifacts) -> list[float]:
    """Milliseconds from each key press on a slider ``handle`` to the next new ``src`` of the ``audio`` element,
    measured by the page's own clock (a capture-phase keydown listener and a MutationObserver), one move at a
    time with a pause between. Written to ``test-artifacts/latency-NAME.json``; benchmarks/README.md records
    them (a timing is no assertion)."""
    settle(page, audio)
    page.evaluate(
        """audio => {
            window.musegenMoves = []; window.musegenShown = [];
            document.addEventListener('keydown', () => window.musegenMoves.push(performance.now()), true);
            new MutationObserver(() => window.musegenShown.push(performance.now()))
                .observe(audio, {attributes: true, attributeFilter: ['src']});
        }""",
        audio.element_handle(),
    )
    handle.focus()
    for move in range(1, moves + 1):
        page.keyboard.press(key)
        page.wait_for_function("n => window.musegenShown.length >= n", arg=move, timeout=30_000)
        page.wait_for_timeout(150)  # a learner's pause between two moves
    pressed, shown = page.evaluate("[window.musegenMoves, window.musegenShown]")
    assert len(pressed) == len(shown) == moves  # one new sound per move, none lost, none extra
    latencies = [after - before for before, after in zip(pressed, shown)]
    (artifacts / f"latency-{name}.json").write_text(json.dumps({"milliseconds": latencies}))
    return latencies


def test_chapter_00_score_view(page, lab_url, artifacts, tmp_path):
    open_and_run_all(page, lab_url, "00_music_as_data.ipynb", artifacts)
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
    open_and_run_all(page, lab_url, "01_rnns_and_lstms.ipynb", artifacts, through="SamplerWidget(lstm)")
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
    open_and_run_all(page, lab_url, "02_variational_autoencoders.ipynb", artifacts)
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
    open_and_run_all(page, lab_url, "03_gans.ipynb", artifacts)
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


def test_chapter_04_listening_test(page, lab_url, artifacts):
    open_and_run_all(page, lab_url, "04_judging_generated_music.ipynb", artifacts)
    test = page.locator(".widget-vbox:has-text('Reveal results')").first
    test.scroll_into_view_if_needed()
    assert test.locator("audio").count() == 2
    assert "trial 1 of 300" in test.text_content()  # 50 trials for each of 6 sources, planned by power
    test.locator("button:has-text('Excerpt 1')").click()
    page.wait_for_function(
        "box => box.textContent.includes('trial 2 of 300')", arg=test.element_handle(), timeout=30_000
    )
    test.locator("button:has-text('Reveal results')").click()
    page.wait_for_function(
        "box => box.querySelector('table') !== null", arg=test.element_handle(), timeout=30_000
    )
    test.screenshot(path=str(artifacts / "04_listening_test.png"))
    # the four-voice test: passages of held-out Bach, the GAN and the harmonisations, its own answers file
    four_voices = page.locator(".widget-vbox:has-text('Which passage did Bach write?')").last
    four_voices.scroll_into_view_if_needed()
    assert "trial 1 of 84" in four_voices.text_content()  # 42 trials for each of 2 sources
    assert four_voices.locator("audio").first.evaluate(AUDIO_DURATION) > 2  # two bars of four voices
    four_voices.locator("button:has-text('Excerpt 2')").click()
    page.wait_for_function(
        "box => box.textContent.includes('trial 2 of 84')", arg=four_voices.element_handle(), timeout=30_000
    )
    four_voices.screenshot(path=str(artifacts / "04_listening_test_four_voices.png"))
    assert page.console_errors == []


def test_chapter_05_attention_explorer(page, lab_url, artifacts):
    open_and_run_all(
        page, lab_url, "05_transformers.ipynb", artifacts, through="explorer = AttentionExplorer("
    )
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
    open_and_run_all(
        page, lab_url, "06_harmonisation.ipynb", artifacts, through="HarmoniseWidget(infill_model)"
    )
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
