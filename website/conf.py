"""Sphinx configuration of the course website: every chapter, rendered from its stored outputs.

Build it with ``python website/build.py`` (sphinx-build into website/_build/html, warnings as errors).
No kernel runs at build time, and the built site loads nothing from the network: MathJax 3 is copied into
it from the ``django-static-mathjax`` package (a plain copy of MathJax, no Django needed), the theme's
fonts and scripts are its own files, and no ipywidgets manager is loaded (the course saves no widget
state; each widget's saved HTML, an engraved score and an MP3 player, is shown instead).
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path

from nbformat.validator import MissingIDFieldWarning

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The chapters stay in notebooks/: Sphinx reads them through a link website/notebooks -> ../notebooks
# (made here, so that ``python -m sphinx`` alone also works; git ignores it). The README's chapter table,
# included in index.md, links notebooks/NN_*.ipynb, which then resolve to the chapter pages.
_link = HERE / "notebooks"
if not _link.exists():
    if _link.is_symlink():  # a dangling link
        _link.unlink()
    try:
        os.symlink(os.path.relpath(ROOT / "notebooks", HERE), _link, target_is_directory=True)
    except FileExistsError:  # another build made it just now
        pass

# A cell without an id (as a notebook written by an older tool may have) gets one from nbformat in memory as it
# reads, with a warning each time: not the site's concern.
warnings.filterwarnings("ignore", category=MissingIDFieldWarning)

project = "musegen"
author = "the musegen authors"
copyright = "the musegen authors, MIT licence"
html_title = "musegen — how neural networks generate music"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "notebooks/.ipynb_checkpoints", "notebooks/figures"]

# ------------------------------------------------------------------ the notebooks: stored outputs only
nb_execution_mode = "off"
# A saved widget output holds both the live view (useless without a kernel and widget state) and its
# text/html fallback, the score and the player: the site shows the fallback, never a broken widget.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}  # never the ipywidgets HTML manager or require.js from a CDN
nb_output_stderr = "remove"  # TensorFlow's INFO lines, not course content
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# ------------------------------------------------------------------ math, served by the site itself
MATHJAX_FILES = (
    "tex-chtml.js",
    "input/tex/extensions",
    "input/mml.js",
    "input/mml",
    "output/chtml",
    "ui",
    "a11y",
    "sre",
)


def _mathjax_dir() -> Path:
    import mathjax  # django-static-mathjax: MathJax 3.2.2's files

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


mathjax_path = "mathjax/tex-chtml.js"  # relative: _static/mathjax/tex-chtml.js of the built site


def _copy_mathjax(app, exception) -> None:
    """Copy the parts of MathJax that the pages load: the combined TeX + CHTML component, its fonts, the
    extensions that TeX autoloads, and what the math menu's accessibility options load (MathML input, the
    explorer and the speech rule engine's maps, which it would otherwise fetch from a CDN): 7 MB, not the
    35 MB of MathJax's other combined components and sources."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = _mathjax_dir(), Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)


# ------------------------------------------------------------------ the README's chapter table
CHAPTER_LINK = re.compile(r"\[([^\]`<>]+)\]\(notebooks/(\d\d_\w+)\.ipynb\)")


def _link_chapters(app, path, docname, content) -> None:
    """In the README's text that index.md includes, turn each link to a notebook into a link to its page.

    A Markdown link to a file is resolved through the file's real path, and the chapters' real path lies
    outside the site's source (website/notebooks is a link to them), so the links become {doc} roles.
    """
    if Path(path).name == "README.md":
        content[0] = CHAPTER_LINK.sub(r"{doc}`\1 </notebooks/\2>`", content[0])


# ------------------------------------------------------------------ nothing from the network
def _no_remote_images(app, doctree) -> None:
    """A picture from another site would be loaded from the network
    by every reader: the site shows its alt text instead, still inside its link."""
    from docutils import nodes

    for image in list(doctree.findall(nodes.image)):
        if re.match(r"(?i)https?:|//", image.get("uri", "")):
            text = image.get("alt") or "link"
            image.replace_self(nodes.inline(text, text, classes=["remote-image"]))


def setup(app):
    _mathjax_dir()  # fail early, with an ImportError naming the package, when it is missing
    app.connect("include-read", _link_chapters)
    app.connect("doctree-read", _no_remote_images)
    app.connect("build-finished", _copy_mathjax)


# ------------------------------------------------------------------ the theme
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["musegen.css"]
html_copy_source = False  # the .ipynb files are on GitHub; copying them would double the site's size
html_show_sourcelink = False
html_last_updated_fmt = None
# light unless the reader picks dark (an empty default makes the theme log an error on a first visit)
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": "https://github.com/musegen-course/musegen",
    "repository_branch": "main",
    "path_to_docs": "",  # a chapter's page notebooks/NN_x is notebooks/NN_x.ipynb in the repository
    "use_repository_button": True,
    # links (no scripts) that open the page's notebook on Colab or Binder, where the widgets run
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "use_download_button": False,  # it would offer the page's source, which is not copied
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "article_header_end": ["article-header-buttons.html"],
}
