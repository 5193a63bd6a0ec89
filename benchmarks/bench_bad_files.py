"""How long the course takes to refuse a file it should not read: each file of the tests' corpus of files
too long, too full or not files at all (``tests/samples.py``, ``oversized_music``), read by
``music21_io.read``; and, for scale, what music21 itself takes on the smallest of them it would otherwise get.

    .venv/bin/python benchmarks/bench_bad_files.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench_spine import ROOT, report

sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    from musegen_widgets import music21_io
    from musegen_widgets.errors import MusegenError

    from samples import midi_file, midi_notes, oversized_music

    with tempfile.TemporaryDirectory() as folder:
        for name, (path, _) in oversized_music(folder).items():
            start = time.perf_counter()
            try:
                music21_io.read(path)
                outcome = "read"
            except MusegenError:
                outcome = "refused"
            report(
                f"bad file {name}: {outcome} after",
                (time.perf_counter() - start) * 1000,
                "ms",
                "target <= 2000 ms",
            )
        # what the note limit saves: music21 on a file of sixteenths just over it, without the course's check
        import music21

        data = midi_file(
            [midi_notes([48 + i % 24 for i in range(music21_io.MAX_FILE_NOTES + 1)], quarter=120)]
        )
        start = time.perf_counter()
        music21.midi.translate.midiStringToStream(data)
        report(
            f"music21 alone on {music21_io.MAX_FILE_NOTES + 1:,} notes (refused above)",
            time.perf_counter() - start,
            "s",
        )
        path = Path(folder) / "just_under.mid"
        path.write_bytes(
            midi_file([midi_notes([48 + i % 24 for i in range(music21_io.MAX_FILE_NOTES)], quarter=120)])
        )
        start = time.perf_counter()
        music21_io.read(path)
        report(
            f"read a file of {music21_io.MAX_FILE_NOTES:,} notes (the most accepted)",
            time.perf_counter() - start,
            "s",
        )


if __name__ == "__main__":
    main()
