"""Benchmarks of the course spine: import time, score rendering, synthesis, ScoreView, cache rebuild.

Run from the repository's folder with the course's environment::

    .venv/bin/python benchmarks/bench_spine.py            # everything (about a minute on 2 cores)
    .venv/bin/python benchmarks/bench_spine.py --quick    # skip the cache rebuild

It prints one line per figure, with its target; copy them into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


ROWS: list[dict] = []
"""Every figure reported in this run, for ``python -m benchmarks`` to write into the README's table."""


def report(name: str, value: float, unit: str, target: str = "") -> None:
    """Print one figure; ``target`` reads like ``"target <= 50 ms"`` or ``"target >= 200x"``."""
    met = ""
    if target.startswith("target"):
        _, op, bound = target.split()[:3]
        number = float(re.match(r"[\d.]+", bound.replace(",", "")).group())
        met = "yes" if (value <= number if op == "<=" else value >= number) else "no"
    ROWS.append(
        {"figure": name, "value": value, "unit": unit, "target": target.removeprefix("target "), "met": met}
    )
    print(f"{name:58s} {value:10.2f} {unit:6s} {target}")


def median_seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_import() -> None:
    def run(code: str) -> float:
        return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True), 7)

    bare = run("pass")
    package = run("import musegen_widgets")
    widgets = run("import musegen_widgets.widgets")
    report(
        "import musegen_widgets (beyond a bare interpreter)",
        (package - bare) * 1000,
        "ms",
        "target <= 500 ms",
    )
    report("import musegen_widgets.widgets (ipywidgets included)", (widgets - bare) * 1000, "ms")


def bench_render() -> None:
    from musegen_widgets import data, music21_io, render

    import music21
    import verovio

    melodies = [m[: 8 * 16] for m in data.load_melodies("test")]
    render.score_svg(melodies[0])  # load verovio's fonts once
    melody_ms = statistics.median(median_seconds(lambda m=m: render.score_svg(m), 3) for m in melodies) * 1000
    report("melody, 8 bars -> SVG (median over test chorales)", melody_ms, "ms", "target <= 50 ms")

    pieces = data.load_pieces("test")
    chorale_times = [median_seconds(lambda p=p: render.score_svg(p), 5) * 1000 for p in pieces]
    report(
        "four-voice chorale -> SVG (median over test chorales)",
        statistics.median(chorale_times),
        "ms",
        "target <= 150 ms",
    )
    longest = max(range(len(pieces)), key=lambda i: pieces[i].n_steps)
    report(
        f"four-voice chorale -> SVG (longest: {pieces[longest].n_steps // 16} bars, {pieces[longest].n_notes} notes)",
        chorale_times[longest],
        "ms",
        "target <= 150 ms",
    )
    report("four-voice chorale -> SVG (slowest test chorale)", max(chorale_times), "ms", "target <= 150 ms")

    # The route we avoid: music21 -> MusicXML -> verovio.
    toolkit = verovio.toolkit()
    verovio.enableLog(verovio.LOG_OFF)

    def via_musicxml(piece):
        xml = music21.musicxml.m21ToXml.GeneralObjectExporter().parse(music21_io.to_stream(piece)).decode()
        toolkit.loadData(xml)
        return toolkit.renderToSVG(1)

    musicxml_ms = (
        statistics.median(median_seconds(lambda p=p: via_musicxml(p), 1) for p in pieces[:10]) * 1000
    )
    report("four-voice chorale via music21 MusicXML -> SVG (for comparison)", musicxml_ms, "ms")
    report(
        "speed-up of the MEI route over MusicXML", musicxml_ms / statistics.median(chorale_times[:10]), "x"
    )


def bench_synth() -> None:
    from musegen_widgets import audio, data

    pieces = data.load_pieces("test")
    seconds_of_audio = sum(len(audio.synthesize(p)) for p in pieces) / audio.SAMPLE_RATE
    audio._note.cache_clear()
    start = time.perf_counter()
    for piece in pieces:
        audio.synthesize(piece)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for piece in pieces:
        audio.synthesize(piece)
    warm = time.perf_counter() - start
    report(
        "synth real-time factor, four voices, empty note cache",
        seconds_of_audio / cold,
        "x",
        "target >= 200x",
    )
    report(
        "synth real-time factor, four voices, warm note cache", seconds_of_audio / warm, "x", "target >= 200x"
    )
    wav_ms = statistics.median(median_seconds(lambda p=p: audio.wav_bytes(p), 3) for p in pieces) * 1000
    report("chorale -> WAV bytes (median)", wav_ms, "ms")


def bench_score_view() -> None:
    from musegen_widgets import data, music21_io
    from musegen_widgets.widgets import ScoreView

    pieces = data.load_pieces("test")
    view = ScoreView(pieces[0])
    update_ms = statistics.median(median_seconds(lambda p=p: view.update(p), 1) for p in pieces) * 1000
    report("ScoreView.update(chorale): score + audio (median)", update_ms, "ms", "target <= 100 ms")
    downloads = []
    for piece in pieces[:10]:
        view.update(piece)
        downloads.append(median_seconds(view.make_downloads, 1))
    downloads_ms = statistics.median(downloads) * 1000
    report("ScoreView.make_downloads(chorale), when asked (median)", downloads_ms, "ms")
    midi_ms = (
        statistics.median(median_seconds(lambda p=p: music21_io.midi_bytes(p), 1) for p in pieces[:10]) * 1000
    )
    xml_ms = (
        statistics.median(median_seconds(lambda p=p: music21_io.musicxml_bytes(p), 1) for p in pieces[:10])
        * 1000
    )
    report("  of which MIDI bytes via music21 (median)", midi_ms, "ms")
    report("  of which MusicXML bytes via music21 (median)", xml_ms, "ms")


def bench_rebuild() -> None:
    from musegen_widgets import data

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        data.build(folder, progress=False)
        seconds = time.perf_counter() - start
        identical = (Path(folder) / data.CACHE_NAME).read_bytes() == (
            data.data_dir() / data.CACHE_NAME
        ).read_bytes()
    report("chorale cache rebuild (2 processes)", seconds, "s")
    report("rebuild byte-identical to the shipped cache (1 = yes)", float(identical), "", "target >= 1")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the cache rebuild")
    quick = parser.parse_args().quick
    bench_import()
    bench_render()
    bench_synth()
    bench_score_view()
    if not quick:
        bench_rebuild()
