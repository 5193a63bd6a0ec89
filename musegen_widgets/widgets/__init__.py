"""Notebook widgets of the course, each taught in a chapter.

==================  ==============================================================  =======
widget              what it does                                                    chapter
==================  ==============================================================  =======
``ScoreView``       score, sound, piano roll and downloads of any music                00
``ScoreTabs``       several ScoreViews side by side, one a tab                         04
``SamplerWidget``   sliders that make a melody model write                             01
``LatentExplorer``  interpolation, prior samples and attribute vectors of the VAE      02
``GanExplorer``     the chorale GAN's seed, shared and per-voice latents, binarisation 03
``ListeningTest``   a blind listening test, answers saved as given, binomial test      04
``AttentionExplorer``  which earlier notes a Transformer's head attends to, step by step  05
``HarmoniseWidget``  a melody harmonised in four voices; erase any voices and bars, rewrite   06
``DiffusionExplorer``  an 8-bar melody emerging from noise; guidance; keep some bars, redraw others  08
==================  ==============================================================  =======

They are plain ipywidgets, with no JupyterLab extension to build, so they work in JupyterLab,
Notebook 7, VS Code and on Binder. Scores are verovio SVG (:mod:`musegen_widgets.render`), sound is
synthesized in numpy (:mod:`musegen_widgets.audio`); nothing is fetched from the network. Each also
leaves its music in the saved notebook as plain HTML (score, and sound as MP3), which notebook viewers show
where no kernel runs (``StaticFallback`` in ``_base``).
"""

from .attention_explorer import AttentionExplorer
from .diffusion_explorer import DiffusionExplorer
from .gan_explorer import GanExplorer
from .harmonise import HarmoniseWidget
from .latent_explorer import LatentExplorer
from .listening_test import ListeningTest
from .sampler import SamplerWidget
from .score_view import ScoreTabs, ScoreView

__all__ = [
    "ScoreView",
    "ScoreTabs",
    "SamplerWidget",
    "LatentExplorer",
    "ListeningTest",
    "GanExplorer",
    "AttentionExplorer",
    "HarmoniseWidget",
    "DiffusionExplorer",
]
