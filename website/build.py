"""Build the course website: ``python website/build.py`` writes it to website/_build/html.

The pages are the stored notebooks with their outputs (no kernel runs): Sphinx with MyST-NB and the Sphinx
Book Theme, configured in website/conf.py. Warnings are errors, so that a broken link or include fails the
build. Serve the folder (``python -m http.server -d website/_build/html``) or publish it as it is; opened
as files, the pages work too, but search cannot fetch the excerpts of its results. ``--output DIR`` builds
elsewhere (the browser test does); further arguments go to sphinx-build (``-E`` rereads every notebook).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sphinx.cmd.build import build_main

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "_build" / "html", help="the site's folder")
    args, sphinx_args = parser.parse_known_args(argv)
    doctrees = args.output.parent / f"{args.output.name}.doctrees"  # Sphinx's cache, not published
    return build_main(
        [
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-q",
            "-d",
            str(doctrees),
            str(HERE),
            str(args.output),
            *sphinx_args,
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
