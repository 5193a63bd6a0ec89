"""Chapter 08's DiffusionExplorer, opened and run in a real JupyterLab page: the melody really changes."""

from __future__ import annotations

import pytest
from lab import AUDIO_DURATION, new_sound, open_cells_and_run

pytestmark = pytest.mark.browser


def test_chapter_08_diffusion_explorer(page, lab_url, artifacts):
    keep = (
        'vae = models.load_pretrained("melody_vae")',
        'diffuser = models.load_pretrained("melody_diffusion")',
        'guided = models.load_pretrained("melody_diffusion_density")',
        "DiffusionExplorer(diffuser, vae, guided)",
    )
    open_cells_and_run(page, lab_url, "08_diffusion.ipynb", artifacts, keep=keep)
    explorer = page.locator(".widget-vbox:has-text('New sample'):has-text('guidance')").first
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".widget-vbox:has(audio)").first
    assert view.locator(".widget-html svg g.measure").count() >= 8  # eight bars, engraved
    assert view.locator("audio").first.evaluate(AUDIO_DURATION) > 5
    assert "step 20 of 20" in view.text_content()
    explorer.screenshot(path=str(artifacts / "08_diffusion_explorer.png"))

    def redraws(action) -> None:
        before, after = new_sound(page, view, action)
        assert after[1] != before[1]

    # back along the denoising steps with the keyboard: the model's early guess is another melody
    step_handle = explorer.locator(".widget-slider:has-text('step') .noUi-handle").first
    redraws(lambda: (step_handle.focus(), *(page.keyboard.press("ArrowLeft") for _ in range(18))))
    # moves made during a refresh fold into one more (latest wins): wait for the last value's melody
    page.wait_for_function(
        "view => view.textContent.includes('step 2 of 20')", arg=view.element_handle(), timeout=60_000
    )
    redraws(lambda: explorer.locator("button:has-text('New sample')").click())
    # infill: keep bars 1-2 and 7-8 of what is shown, redraw the rest
    redraws(lambda: explorer.locator("button:has-text('infill')").click())
    page.wait_for_function(
        "view => view.textContent.includes('infilling')", arg=view.element_handle(), timeout=60_000
    )
    explorer.screenshot(path=str(artifacts / "08_diffusion_explorer_infill.png"))
    assert page.console_errors == []
