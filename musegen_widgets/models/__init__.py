"""The course's trained models, and the shipped weights that load by default (chapters 01-08).

``load_pretrained(name)`` builds the model and loads ``data/NAME.weights.h5`` after checking its SHA-256
against ``data/MANIFEST.json``. TensorFlow is imported here, not when the package is.

==================  =====================================================  ==========
name                model                                                  chapter
==================  =====================================================  ==========
``melody_lstm``     :class:`~musegen_widgets.models.melody_lstm.MelodyLSTM`  01
``melody_tcn``      :class:`~musegen_widgets.models.melody_tcn.MelodyTCN`    01
``melody_transformer``  :class:`~musegen_widgets.models.melody_transformer.MelodyTransformer`  05
``melody_transformer_small``  the same, a fifth of the size                       07
``melody_transformer_distilled``  the small one, trained on the ensemble of the Transformer and the TCN  07
``frame_lstm``      :class:`~musegen_widgets.models.frames.FrameLSTM`        01
``melody_vae``      :class:`~musegen_widgets.models.melody_vae.MelodyVAE`    02
``melody_vae_collapsed``  the same VAE trained on the plain ELBO (collapsed)  02
``chorale_gan``     :class:`~musegen_widgets.models.chorale_gan.ChoraleGAN`  03
``chorale_transformer``  :class:`~musegen_widgets.models.chorale_transformer.ChoraleTransformer`  05
``chorale_transformer_absolute``  the same with sinusoidal absolute positions  05
``chorale_infill``  :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill`  06
``melody_diffusion``  :class:`~musegen_widgets.models.melody_diffusion.MelodyDiffusion` (over ``melody_vae``'s codes)  08
``melody_diffusion_density``  the same, told a note-density label (classifier-free guidance)  08
``chorale_diffusion``  :class:`~musegen_widgets.models.chorale_diffusion.ChoraleDiffusion` (four-voice passages)  08
==================  =====================================================  ==========

The model classes are importable from here (``models.MelodyLSTM``) and are loaded on first use;
:class:`~musegen_widgets.models.ensemble.Ensemble` averages the distributions of several (chapter 07).

Reproduce a model's weights with ``python -m musegen_widgets.train NAME``.
"""

from __future__ import annotations

import importlib

from .. import files
from ..errors import MusegenError
from .recipes import RECIPES, Recipe

__all__ = [
    "load_pretrained",
    "Recipe",
    "RECIPES",
    "PRETRAINED",
    "MelodyLSTM",
    "MelodyTCN",
    "MelodyTransformer",
    "ChoraleTransformer",
    "FrameLSTM",
    "IndependentFrames",
    "MelodyVAE",
    "ChoraleGAN",
    "ChoraleInfill",
    "MelodyDiffusion",
    "ChoraleDiffusion",
    "Ensemble",
]

PRETRAINED = {name: recipe.model_class for name, recipe in RECIPES.items()}
"""Shipped weights: name -> model class."""

_MODULES = {
    "MelodyLSTM": ".melody_lstm",
    "MelodyTCN": ".melody_tcn",
    "MelodyTransformer": ".melody_transformer",
    "ChoraleTransformer": ".chorale_transformer",
    "FrameLSTM": ".frames",
    "IndependentFrames": ".frames",
    "MelodyVAE": ".melody_vae",
    "ChoraleGAN": ".chorale_gan",
    "ChoraleInfill": ".chorale_infill",
    "MelodyDiffusion": ".melody_diffusion",
    "ChoraleDiffusion": ".chorale_diffusion",
    "Ensemble": ".ensemble",
}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_pretrained(name: str):
    """The trained model ``name``, with its shipped weights checked and loaded.

    Taught in chapter 01, section 5 (training).

    Raises
    ------
    MusegenError
        For an unknown name, or missing or corrupt weights (the message says how to rebuild them).
    """
    if name not in PRETRAINED:
        raise MusegenError(f"no pretrained model {name!r}; the course has {', '.join(PRETRAINED)}")
    path = files.data_dir() / f"{name}.weights.h5"
    rebuild = f"rebuild them with `python -m musegen_widgets.train {name}`"
    entry = files.checked_entry(path, "the weights", rebuild)
    model = __getattr__(PRETRAINED[name])(**entry["config"])
    # build the layers before loading: one short input of the model's kind
    model(model.example_input())
    try:
        model.load_weights(path)
    except Exception as error:  # h5py and Keras raise many types for a damaged file
        raise MusegenError(
            f"the weights cannot be loaded ({type(error).__name__}: {error}); {rebuild}", path
        ) from None
    return model
