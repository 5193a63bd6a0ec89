"""Helpers of the browser tests that open a chapter in a real JupyterLab page, run it and drive its widgets.

The tests are split over two files, chapters 00-03 and 04-06, so that pytest's two workers share them (each
file stays on one worker, with a JupyterLab of its own).
"""

from __future__ import annotations

import json
import urllib.request

from conftest import ROOT, TOKEN

AUDIO_DURATION = """audio => new Promise(resolve => {
    if (audio.readyState >= 1) resolve(audio.duration);
    else { audio.onloadedmetadata = () => resolve(audio.duration); audio.load(); }
})"""


CELLS_DONE = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
    return prompts.length > 0 && prompts.every(text => /\\[\\d+\\]/.test(text));
}"""


def open_and_run_all(page, lab_url: str, notebook: str, artifacts) -> None:
    """Open a notebook, run its cells, and wait until every code cell shows its execution count.

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
        page.get_by_role("menuitem", name="Run", exact=True).click(timeout=10_000)
        page.locator("li[data-command='runmenu:run-all'], li[data-command='notebook:run-all']").first.click(
            timeout=10_000
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
            ".some(e => e.textContent.includes('*'))",
            timeout=30_000,
        )
        page.wait_for_function(CELLS_DONE, timeout=600_000, polling=1000)
    except Exception:
        page.screenshot(path=str(artifacts / f"{notebook}-failed.png"))
        raise
    # JupyterLab renders exceptions as stderr output
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [text for text in stderr.all_inner_texts() if "Error" in text]
    assert tracebacks == []


def open_cells_and_run(
    page,
    lab_url: str,
    notebook: str,
    artifacts,
    *,
    keep: tuple[str, ...],
    smaller: dict[str, str] | None = None,
) -> None:
    """Open a copy of a chapter that holds its set-up cells (the first two code cells: the Colab cell and the
    imports) and the code cells that contain one of ``keep``, in the chapter's order, and run it all.

    ``smaller`` replaces text in those cells, each key found once: fewer excerpts than the chapter draws, for
    a widget that works the same on fewer (the notebook test runs the chapter's own sizes).

    The chapter's other cells, which its notebook test runs and checks, would only double the time here (a
    chapter's likelihoods, tables and trainings before its widget). The copy is written through the server's
    contents API, beside the chapter.
    """
    chapter = json.loads((ROOT / "notebooks" / notebook).read_text())
    code = [cell for cell in chapter["cells"] if cell["cell_type"] == "code"]
    chosen = code[:2] + [cell for cell in code[2:] if any(mark in "".join(cell["source"]) for mark in keep)]
    assert len(chosen) == 2 + len(keep), "each mark names one cell of the chapter"
    for cell in chosen:
        cell["outputs"], cell["execution_count"] = [], None
    for text, replacement in (smaller or {}).items():
        (cell,) = [cell for cell in chosen if text in "".join(cell["source"])]
        cell["source"] = "".join(cell["source"]).replace(text, replacement)
    copy = dict(chapter, cells=chosen)
    name = notebook.replace(".ipynb", "-widgets.ipynb")
    request = urllib.request.Request(
        f"{lab_url}/api/contents/notebooks/{name}?token={TOKEN}",
        data=json.dumps({"type": "notebook", "format": "json", "content": copy}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()
    open_and_run_all(page, lab_url, name, artifacts)


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
