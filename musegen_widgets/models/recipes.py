"""How each shipped model is built and trained: its class, its size, a tiny version for CI, its epochs.

Taught in chapter 01, section 5 (training). One table for the whole course, so that the models' sizes can
be compared side by side; each model's training function (in its own module) and
``python -m musegen_widgets.train NAME`` read it. :mod:`musegen_widgets.models` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Recipe", "RECIPES"]


@dataclass(frozen=True)
class Recipe:
    """How a shipped model is built and trained: its class, its settings, a tiny version for CI, its epochs.

    Taught in chapter 01, section 5 (training). ``python -m musegen_widgets.train NAME`` reads
    :data:`RECIPES`; a learner who wants other settings passes ``config=`` to the training function.
    """

    model_class: str
    config: dict
    fast_config: dict
    epochs: int
    teachers: tuple[str, ...] = ()
    """Shipped models whose averaged next-token distributions are the training targets (distillation,
    chapter 07)."""
    teacher_weight: float = 1.0
    """The teachers' share of each target; the rest is the token that came (Hinton et al. 2015's weighted
    sum of the two cross-entropies)."""
    transfer_set: float = 0.0
    """How many melodies the teachers write themselves, per training melody (0.25: one for every fourth),
    learnt with their distributions alone as the targets (a transfer set, Bucilă et al. 2006; chapter 07)."""


_VAE_SIZES = {"latent": 32, "encoder_units": 128, "decoder_units": 256, "embedding": 64}
_VAE_FAST_SIZES = {"latent": 8, "encoder_units": 16, "decoder_units": 16, "embedding": 8}
_VAE_CURED = {"beta": 0.2, "free_bits": 0.25}  # beta < 1 and free bits keep the latent in use
_PLAIN_ELBO = {"beta": 1.0, "free_bits": 0.0, "anneal_steps": 0}  # for chapter 02's collapsed twin

_SMALL_TRANSFORMER = {
    "embedding": 48,
    "n_layers": 2,
    "heads": 4,
    "feed_forward": 192,
    "max_distance": 256,
    "dropout": 0.1,
}
_SMALL_TRANSFORMER_FAST = {
    "embedding": 16,
    "n_layers": 1,
    "heads": 2,
    "feed_forward": 32,
    "max_distance": 32,
    "dropout": 0.1,
}

_SATB_SIZES = {
    "embedding": 64,
    "n_layers": 3,
    "heads": 4,
    "feed_forward": 256,
    "max_distance": 256,
    "dropout": 0.1,
}
_SATB_FAST_SIZES = {
    "embedding": 16,
    "n_layers": 1,
    "heads": 2,
    "feed_forward": 32,
    "max_distance": 32,
    "dropout": 0.1,
}

RECIPES = {
    "melody_lstm": Recipe(
        "MelodyLSTM",
        {"units": 256, "n_layers": 2, "embedding": 64, "dropout": 0.15},
        {"units": 16, "n_layers": 1, "embedding": 8, "dropout": 0.15},
        18,
    ),
    "melody_tcn": Recipe(
        "MelodyTCN",
        {"channels": 64, "kernel_size": 3, "dilations": [1, 2, 4, 8, 16, 32] * 2, "dropout": 0.2},
        {"channels": 8, "kernel_size": 2, "dilations": [1, 2], "dropout": 0.2},
        16,
    ),
    "melody_transformer": Recipe(
        "MelodyTransformer",
        {
            "embedding": 96,
            "n_layers": 3,
            "heads": 4,
            "feed_forward": 384,
            "max_distance": 256,
            "dropout": 0.1,
        },
        {"embedding": 16, "n_layers": 1, "heads": 2, "feed_forward": 32, "max_distance": 32, "dropout": 0.1},
        10,
    ),
    # chapter 07's students: a fifth of the Transformer's size, trained alone and on the distributions of
    # the ensemble of the two best melody models
    # (the same number of updates: the distilled one's epochs hold a quarter more melodies, the teachers'
    # own, so it takes 16 epochs to the other's 20)
    "melody_transformer_small": Recipe("MelodyTransformer", _SMALL_TRANSFORMER, _SMALL_TRANSFORMER_FAST, 20),
    "melody_transformer_distilled": Recipe(
        "MelodyTransformer",
        _SMALL_TRANSFORMER,
        _SMALL_TRANSFORMER_FAST,
        16,
        teachers=("melody_transformer", "melody_tcn"),
        teacher_weight=0.5,
        transfer_set=0.25,
    ),
    "frame_lstm": Recipe(
        "FrameLSTM",
        {"units": 192, "n_layers": 2, "dropout": 0.3},
        {"units": 16, "n_layers": 1, "dropout": 0.3},
        20,
    ),
    "melody_vae": Recipe(
        "MelodyVAE",
        {**_VAE_SIZES, **_VAE_CURED, "anneal_steps": 2000},
        {**_VAE_FAST_SIZES, **_VAE_CURED, "anneal_steps": 10},
        12,
    ),
    "melody_vae_collapsed": Recipe(
        "MelodyVAE", {**_VAE_SIZES, **_PLAIN_ELBO}, {**_VAE_FAST_SIZES, **_PLAIN_ELBO}, 6
    ),
    "chorale_transformer": Recipe(
        "ChoraleTransformer",
        {**_SATB_SIZES, "positions": "relative"},
        {**_SATB_FAST_SIZES, "positions": "relative"},
        40,
    ),
    "chorale_transformer_absolute": Recipe(
        "ChoraleTransformer",
        {**_SATB_SIZES, "positions": "absolute"},
        {**_SATB_FAST_SIZES, "positions": "absolute"},
        40,
    ),
    "chorale_infill": Recipe(
        "ChoraleInfill",
        {"channels": 192, "kernel_size": 3, "dilations": [1, 2, 4, 8, 16] * 2, "dropout": 0.1},
        {"channels": 16, "kernel_size": 3, "dilations": [1, 2], "dropout": 0.1},
        24,
    ),
    "melody_diffusion": Recipe(
        "MelodyDiffusion",
        {"width": 512, "blocks": 4, "steps": 1000},
        {"width": 32, "blocks": 1, "steps": 1000},
        150,
    ),
    "melody_diffusion_density": Recipe(
        "MelodyDiffusion",
        {"width": 512, "blocks": 4, "steps": 1000, "classes": 3, "condition_dropout": 0.2},
        {"width": 32, "blocks": 1, "steps": 1000, "classes": 3, "condition_dropout": 0.2},
        150,
    ),
    "chorale_diffusion": Recipe(
        "ChoraleDiffusion",
        {"width": 128, "blocks": 8, "steps": 1000},
        {"width": 16, "blocks": 2, "steps": 1000},
        9,
    ),
    "chorale_gan": Recipe(
        "ChoraleGAN",
        {
            "shared_latent": 32,
            "voice_latent": 16,
            "channels": 64,
            "gp_weight": 10.0,
            "critic_steps": 5,
            "learning_rate": 5e-4,
        },
        {"shared_latent": 8, "voice_latent": 4, "channels": 8, "gp_weight": 10.0, "critic_steps": 2},
        10,
    ),
}
"""Every shipped model: name -> :class:`Recipe`."""
