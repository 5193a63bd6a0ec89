"""Train the course's models from the chorales and ship their weights: one command per model.

    python -m musegen_widgets.train melody_lstm           # under 30 minutes on 2 cores
    python -m musegen_widgets.train melody_tcn
    python -m musegen_widgets.train melody_lstm --fast    # a tiny model for a few steps (what CI runs)
    python -m musegen_widgets.train melody_lstm --strategy mirrored   # on every GPU (chapter 07)

Weights go to ``data/`` atomically, with their SHA-256, the command and the held-out scores in
``data/MANIFEST.json``; a loss-curve plot and the per-epoch history go beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import io
import json
import os
import sys
import time
import weakref
from pathlib import Path

import numpy as np

from . import data, distribute, files
from .encoding import HOLD, VOCAB_SIZE
from .errors import MusegenError

__all__ = [
    "melody_batches",
    "drop_optimizer_state",
    "teacher_distributions",
    "transfer_melodies",
    "fine_tune",
    "prune_and_fine_tune",
    "train_melody_model",
    "train_melody_lstm",
    "train_melody_tcn",
    "train_melody_transformer",
    "train_frame_lstm",
    "train_melody_vae",
    "train_chorale_gan",
    "train_chorale_transformer",
    "satb_windows",
    "train_chorale_infill",
    "infill_batches",
    "learning_rate_schedule",
    "read_history",
    "plot_history",
    "MODELS",
]


def melody_batches(
    melodies, batch_size: int, seed: int, *, soft_targets=None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whole melodies in batches of similar length: inputs, next-token targets, and a 0/1 weight per step.

    Taught in chapter 01, section 5 (training); ``soft_targets`` in chapter 07, section 4 (distillation).

    Training on whole chorales from their first step, with padding masked out, matches how the model is
    scored (every token given all before it), unlike fixed windows that start mid-piece with no context.
    With ``soft_targets`` (one ``(len(melody) - 1, vocab)`` array of probabilities per melody), the targets
    are those distributions instead of the next tokens, ``(batch, time, vocab)``.
    """
    rng = np.random.default_rng(seed)
    batches = []
    for chosen in _similar_lengths(melodies, batch_size, rng):
        # a few fixed lengths: each new input shape costs TensorFlow a second or more to trace
        length = -(-max(len(melodies[i]) for i in chosen) // 64) * 64 + 1
        tokens = np.full((len(chosen), length), HOLD, dtype=np.int32)
        weights = np.zeros((len(chosen), length - 1), dtype=np.float32)
        for row, i in enumerate(chosen):
            tokens[row, : len(melodies[i])] = melodies[i]
            weights[row, : len(melodies[i]) - 1] = 1.0
        targets = tokens[:, 1:]
        if soft_targets is not None:
            targets = np.zeros((len(chosen), length - 1, soft_targets[0].shape[-1]), dtype=np.float32)
            targets[..., 0] = 1.0  # padding: any distribution (its weight is 0)
            for row, i in enumerate(chosen):
                targets[row, : len(melodies[i]) - 1] = soft_targets[i]
        batches.append((tokens[:, :-1], targets, weights))
    rng.shuffle(batches)
    return batches


def _similar_lengths(sequences, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The indices of ``sequences`` in groups of ``batch_size`` of similar length (ties broken at random)."""
    order = np.argsort([len(s) + rng.random() for s in sequences])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _n_batches(sequences, batch_size: int) -> int:
    return -(-len(sequences) // batch_size)


def _write_weights(model, name: str, folder: Path, record: dict) -> Path:
    """Save weights to ``folder/name.weights.h5`` atomically, without the optimizer's state, and record them
    in the manifest."""
    final = folder / f"{name}.weights.h5"
    temporary = folder / f".{name}.tmp.weights.h5"  # Keras insists on the suffix
    stripped = folder / f".{name}.stripped.h5"
    try:
        model.save_weights(temporary)
        drop_optimizer_state(temporary, stripped)
        os.replace(stripped, final)
    finally:
        temporary.unlink(missing_ok=True)
        stripped.unlink(missing_ok=True)
    files.record_in_manifest(final, record)
    return final


def drop_optimizer_state(source: Path, target: Path) -> None:
    """Copy a Keras ``.weights.h5`` file without its ``optimizer`` group.

    Taught in chapter 07, section 1 (what every shipped model costs). Keras saves a compiled model's
    optimizer with its weights (Adam keeps two moments per weight, twice the weights again), which only a
    training that resumes needs; the shipped files hold the weights alone, which is all that loading a model
    needs.
    """
    import h5py

    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        for key, value in old.attrs.items():
            new.attrs[key] = value
        for key in old:
            if key != "optimizer" and not key.endswith("_optimizer"):  # a GAN has one per network
                old.copy(old[key], new, name=key)


def train_melody_model(
    name: str = "melody_lstm",
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
    augment: bool = True,
) -> dict:
    """Train ``melody_lstm``, ``melody_tcn`` or ``melody_transformer`` (:data:`~musegen_widgets.models.RECIPES`) on melody tokens in
    every key.

    Taught in chapter 01, section 5 (training).

    The learning rate warms up over the first epoch, then follows a cosine down to 2 % of its peak by the
    last epoch. Early stopping keeps the weights with the best NLL on the valid split; the test split is
    scored once, at the end. In ``fast`` mode a tiny model trains on a few melodies for two short epochs
    and nothing is written unless ``folder`` is given.

    ``augment=False`` trains on the melodies in their own keys only (chapter 07, section 5, measures what
    the transpositions are worth) and writes only to a ``folder`` given; a recipe with ``teachers`` trains
    on their averaged distributions mixed with the token that came, the teachers' share ``teacher_weight``,
    and with ``transfer_set`` also on melodies the teachers write themselves (:func:`teacher_distributions`,
    :func:`transfer_melodies`, chapter 07, section 4); under a ``strategy`` each batch is shared among
    its replicas (:mod:`~musegen_widgets.distribute`, chapter 07, section 6).
    """
    import keras

    from . import models
    from .metrics import sequence_nll

    recipe, epochs, config = _settings(name, fast, epochs, config)
    keras.utils.set_random_seed(seed)
    train = data.load_melodies("train")
    valid = data.load_melodies("valid")
    if fast:
        train, valid = train[:8], valid[:4]
    augmented = data.augmented(train) if augment else list(train)
    soft_targets = None
    if recipe.teachers:
        teacher = models.Ensemble([models.load_pretrained(t) for t in recipe.teachers])
        soft_targets = [
            recipe.teacher_weight * p
            + (1 - recipe.teacher_weight) * np.eye(VOCAB_SIZE, dtype=np.float32)[m[1:]]
            for p, m in zip(teacher_distributions(teacher, augmented), augmented)
        ]
        if recipe.transfer_set:
            chosen = np.random.default_rng(seed).choice(
                len(augmented), round(recipe.transfer_set * len(augmented)), replace=False
            )
            transfer = transfer_melodies(teacher, [augmented[i] for i in sorted(chosen)], seed=seed)
            augmented = augmented + transfer  # Bach's melodies, then the teachers' own
            soft_targets += teacher_distributions(teacher, transfer)
    steps_per_epoch = _n_batches(augmented, batch_size=32)
    with _scope(strategy):
        model = getattr(models, recipe.model_class)(**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs), weight_decay=1e-4, clipnorm=1.0
            ),
            loss=(
                keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                if soft_targets is None
                else keras.losses.CategoricalCrossentropy(from_logits=True)
            ),
            jit_compile=not fast,  # XLA pays off for a real run; for a tiny one its compile costs more memory than it saves time
        )
    history, seconds = _fit(
        model,
        lambda epoch: melody_batches(augmented, batch_size=32, seed=seed + epoch, soft_targets=soft_targets),
        lambda: sequence_nll(model, valid),
        epochs,
        unit="nats per 16th step",
    )
    test_nll = sequence_nll(model, data.load_melodies("test"))
    # a run off the recipe (own keys only) never replaces the shipped weights unless sent there
    return _finish(name, model, config, history, test_nll, seconds, _destination(folder, fast or not augment))


def teacher_distributions(teacher, melodies, *, batch_size: int = 16) -> list[np.ndarray]:
    """The teacher's next-token distribution at every step of every melody: the targets of distillation.

    Taught in chapter 07, section 4 (distillation).

    ``teacher`` is any course sequence model, or a :class:`~musegen_widgets.models.ensemble.Ensemble` of
    them. Returns one ``(len(melody) - 1, vocab)`` float32 array per melody: row ``t`` is the
    probability of each token at step ``t + 1`` given steps ``0..t``, as :func:`melody_batches` takes them
    in ``soft_targets``. Trained on these instead of the one token that came, the student learns from every
    alternative the teacher thought likely (Hinton et al. 2015, "Distilling the knowledge in a neural
    network", at temperature 1).
    """
    from .numerics import log_softmax

    distributions: list[np.ndarray] = [np.empty(0)] * len(melodies)
    for chosen in _similar_lengths(melodies, batch_size, np.random.default_rng(0)):
        length = -(-max(len(melodies[i]) for i in chosen) // 64) * 64
        tokens = np.full((len(chosen), length), HOLD, dtype=np.int32)
        for row, i in enumerate(chosen):
            tokens[row, : len(melodies[i])] = melodies[i]
        # causal: the padding after a melody changes none of its own predictions
        logits = np.asarray(teacher(tokens), dtype=np.float64)
        for row, i in enumerate(chosen):
            distributions[i] = np.exp(log_softmax(logits[row, : len(melodies[i]) - 1])).astype(np.float32)
    return distributions


def transfer_melodies(teacher, melodies, *, seed: int = 0) -> list[np.ndarray]:
    """Melodies the teacher writes itself, one per melody of ``melodies``: the same first token, the same length.

    Taught in chapter 07, section 4 (distillation).

    On the melodies it was trained on, a teacher is surer than it has any right to be (it has seen them),
    so its distributions there say little more than the tokens that came. On melodies of its own it
    shows what it really believes at every step: labelled by :func:`teacher_distributions`, they are the
    *transfer set* of Bucilă, Caruana & Niculescu-Mizil (2006, "Model compression"), who taught a small
    network an ensemble this way. ``teacher`` needs a ``stepper()`` (any course melody model, or a
    :class:`~musegen_widgets.models.ensemble.Ensemble`).
    """
    import keras

    from .sampling import sample

    progress = keras.utils.Progbar(len(melodies), unit_name="melody")
    written = []
    for i, melody in enumerate(melodies):
        written.append(sample(teacher, steps=len(melody), seed=seed * 1_000_003 + i, primer=melody[:1]))
        progress.add(1)
    return written


def fine_tune(
    model, *, masks=None, epochs: int = 1, peak: float = 2e-4, fast: bool = False, seed: int = 0
) -> list[float]:
    """Train a trained melody model further on the training melodies in every key, holding the weights that
    ``masks`` zero at zero; returns the training loss of each epoch.

    Taught in chapter 07, section 3 (pruning).

    Parameters
    ----------
    model
        A melody model (``load_pretrained("melody_tcn")``), changed in place.
    masks
        One 0/1 array or ``None`` per weight of ``model.get_weights()``
        (:func:`~musegen_widgets.compression.magnitude_masks`): after every update each masked weight is
        multiplied by its mask again, so pruned weights stay zero.
    epochs, peak
        How long, and the learning rate at the start, from which a cosine takes it down to 2 % of it by the
        end: no warm-up, and a peak 25 times smaller than a training's from scratch, so as not to undo what
        the model knows.
    fast
        A few melodies only (CI's fast mode).
    """
    import keras

    train = data.load_melodies("train")
    if fast:
        train = train[:8]
    augmented = data.augmented(train)
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=keras.optimizers.schedules.CosineDecay(
                peak, decay_steps=epochs * _n_batches(augmented, 32), alpha=0.02
            ),
            weight_decay=1e-4,
            clipnorm=1.0,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,  # an XLA compile per batch shape costs more memory than one epoch saves in time
    )
    held = [(v, m) for v, m in zip(model.weights, masks or []) if m is not None]
    losses = []
    for epoch in range(epochs):
        batches = melody_batches(augmented, batch_size=32, seed=seed + epoch)
        progress = keras.utils.Progbar(len(batches), stateful_metrics=["loss"])
        epoch_losses = []
        for x, y, w in batches:
            epoch_losses.append(_train_on_batch(model, x, y, w) * w.size / w.sum())
            for variable, mask in held:
                variable.assign(variable.numpy() * mask)
            progress.add(1, values=[("loss", np.mean(epoch_losses[-20:]))])
        losses.append(float(np.mean(epoch_losses)))
    return losses


def prune_and_fine_tune(
    name: str, fractions, *, epochs: int = 1, fast: bool = False, seed: int = 0
) -> dict[str, list[float]]:
    """Prune a shipped melody model to each fraction of its weights, fine-tune it, and score it before and after.

    Taught in chapter 07, section 3 (pruning).

    For each fraction (from the same dense weights each time): :func:`~musegen_widgets.compression.magnitude_masks`
    zeroes that fraction of every matrix, the held-out NLL is measured, :func:`fine_tune` trains the rest
    for ``epochs``, and the held-out NLL is measured again. Returns lists under ``fraction``, ``pruned``,
    ``fine_tuned`` (nats per step) and ``sparsity`` (the share of zeros among all matrix weights).
    ``python -m musegen_widgets.train NAME --prune 0.5 0.9`` runs it in a process of its own (the chapter
    does: TensorFlow keeps the graphs of a training in the memory of the process that ran it).
    """
    from . import compression, models
    from .metrics import sequence_nll

    model = models.load_pretrained(name)
    dense = model.get_weights()
    test = data.load_melodies("test")
    sweep: dict[str, list[float]] = {"fraction": [], "pruned": [], "fine_tuned": [], "sparsity": []}
    for fraction in fractions:
        masks = compression.magnitude_masks(dense, fraction)
        model.set_weights([w * m if m is not None else w for w, m in zip(dense, masks)])
        sweep["fraction"].append(float(fraction))
        sweep["pruned"].append(sequence_nll(model, test))
        fine_tune(model, masks=masks, epochs=epochs, fast=fast, seed=seed)
        sweep["fine_tuned"].append(sequence_nll(model, test))
        sweep["sparsity"].append(compression.sparsity(model.get_weights()))
    return sweep


def frame_batches(sequences, batch_size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whole chorales of frames in batches: inputs (silence, then frames 0..T-2), targets, step weights."""
    rng = np.random.default_rng(seed)
    batches = []
    for indices in _similar_lengths(sequences, batch_size, rng):
        chosen = [sequences[i] for i in indices]
        length = -(-max(len(s) for s in chosen) // 16) * 16
        frames = np.zeros((len(chosen), length + 1, chosen[0].shape[1]), dtype=np.float32)
        weights = np.zeros((len(chosen), length), dtype=np.float32)
        for row, sequence in enumerate(chosen):
            frames[row, 1 : len(sequence) + 1] = sequence
            weights[row, : len(sequence)] = 1.0
        batches.append((frames[:, :-1], frames[:, 1:], weights))
    rng.shuffle(batches)
    return batches


def train_frame_lstm(
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train :class:`~musegen_widgets.models.frames.FrameLSTM` on JSB-style frames, all 12 transpositions.

    Taught in chapter 01, section 8 (polyphony).
    """
    import keras

    from .metrics import frame_nll
    from .models.frames import FrameLSTM, IndependentFrames

    keras.utils.set_random_seed(seed)
    _, epochs, config = _settings("frame_lstm", fast, epochs, config)
    train, valid = data.load_frames("train"), data.load_frames("valid")
    if fast:
        train, valid = train[:8], valid[:4]
    augmented = data.augmented(train)
    steps_per_epoch = _n_batches(augmented, batch_size=32)
    with _scope(strategy):
        model = FrameLSTM(**config)
        model(np.zeros((1, 2, model.n_pitches), np.float32))
        # start from the independent baseline: each key's read-out bias at the log-odds of its frequency
        # (from zero, the first thousand updates would go to learning that most keys are silent)
        model.readout.bias.assign(IndependentFrames().fit(augmented).logits.astype(np.float32))
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=3e-3), clipnorm=1.0
            ),
            # Keras averages over the 88 keys; the NLL per frame is their sum
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
        )
    history, seconds = _fit(
        model,
        lambda epoch: frame_batches(augmented, batch_size=32, seed=seed + epoch),
        lambda: frame_nll(model, valid),
        epochs,
        unit="nats per frame",
        loss_scale=model.n_pitches,
    )
    test_nll = frame_nll(model, data.load_frames("test"))
    return _finish("frame_lstm", model, config, history, test_nll, seconds, _destination(folder, fast))


def train_melody_vae(
    name: str = "melody_vae",
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train a :class:`~musegen_widgets.models.melody_vae.MelodyVAE` on two-bar segments, every key.

    Taught in chapter 02, section 6 (training).

    Keras's ``fit`` runs the model's own ``train_step`` (reconstruction + beta x KL with free bits);
    the learning rate warms up, then follows a cosine. No early stopping: while beta is annealed the
    loss of one epoch is not comparable with the next; every epoch's reconstruction, KL and accuracy on
    the valid split go into the history.
    """
    import keras

    from .models.melody_vae import MelodyVAE, load_segments

    _, epochs, config = _settings(name, fast, epochs, config)
    keras.utils.set_random_seed(seed)
    train, valid = load_segments("train", augment=True), load_segments("valid")
    if fast:
        train, valid = train[:512], valid[:64]
    rng = np.random.default_rng(seed)
    model = MelodyVAE(**config)
    batch_size = 128
    steps_per_epoch = _n_batches(train, batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=2e-3), clipnorm=1.0
        )
    )
    start = time.perf_counter()
    fitted = model.fit(
        train[rng.permutation(len(train))],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(valid,),
        shuffle=True,
        verbose=2 if fast else 1,
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    scores = model.scores(load_segments("test"))
    result = {
        "config": config,
        "train_seconds": seconds,
        **{f"test_{key}": value for key, value in scores.items()},
        "history": history,
        "model": model,
    }
    _save(name, result, _destination(folder, fast))
    return result


def train_chorale_gan(
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
) -> dict:
    """Train :class:`~musegen_widgets.models.chorale_gan.ChoraleGAN` (WGAN-GP) on two-bar passages, every key.

    Taught in chapter 03, section 6 (a GAN for four-voice chorales).

    After each epoch, 500 passages are generated and MuseGAN's metrics recorded, so the history shows the
    music improving beside the critic's estimate of the Wasserstein distance. At the end, 1,000 passages
    are compared with the test split (:func:`~musegen_widgets.metrics.compare_multitrack`).
    """
    import keras

    from . import metrics
    from .generators import roll_excerpts
    from .models.chorale_gan import ChoraleGAN

    keras.utils.set_random_seed(seed)
    _, epochs, config = _settings("chorale_gan", fast, epochs, config)
    rolls = roll_excerpts("train", hop=16)
    if fast:  # a few dozen passages in every key, without building all of them first (hundreds of MB)
        rolls = rolls[:32]
    rolls = data.augmented(rolls)
    if fast:
        rolls = rolls[:256]
    rolls = rolls[np.random.default_rng(seed).permutation(len(rolls))]
    model = ChoraleGAN(**config)
    # XLA compiles the train step (Keras's default): worth it for the full run, but the compile alone takes
    # about 650 MB, too much beside a notebook for a tiny run of seconds (measured 2026-12-03)
    model.compile(jit_compile=not fast)
    quality = {name: [] for name in ("empty_bars", "used_pitch_classes", "qualified_notes", "tonal_distance")}

    class RecordQuality(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            table = metrics.multitrack_metrics(model.generate(100 if fast else 500, seed=epoch))
            for name in quality:
                known = table[name][np.isfinite(table[name])]  # NaN: no notes to measure
                quality[name].append(float(known.mean()) if len(known) else float("nan"))
            print(
                "  samples: "
                + ", ".join(f"{name.replace('_', ' ')} {values[-1]:.3f}" for name, values in quality.items())
            )

    start = time.perf_counter()
    fitted = model.fit(
        rolls.astype(np.float32),
        batch_size=64,
        epochs=epochs,
        shuffle=True,
        callbacks=[RecordQuality()],
        verbose=2 if fast else 1,
    )
    seconds = time.perf_counter() - start
    history = {"epoch": list(range(1, epochs + 1)), "seconds": seconds}
    history.update({key: [float(v) for v in values] for key, values in fitted.history.items()})
    history["quality"] = quality
    test = roll_excerpts("test")
    table = metrics.compare_multitrack(test, model.generate(1000, seed=12345))
    result = {
        "config": config,
        "train_seconds": seconds,
        "quality": {
            name: {key: np.asarray(value).tolist() for key, value in row.items()}
            for name, row in table.items()
        },
        "history": history,
        "model": model,
    }
    _save("chorale_gan", result, _destination(folder, fast))
    return result


CHORALE_WINDOW = 256
"""Tokens per training window of the four-voice Transformers: 64 sixteenth steps, four bars of 4/4."""


def satb_windows(chorales, window: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One epoch of four-voice training windows: each chorale in a random key, cut from a random step.

    Taught in chapter 05, section 5 (four voices).

    Every chorale is transposed by a random shift of :data:`~musegen_widgets.data.ALL_KEYS`, cut into
    windows of ``window + 1`` tokens starting at a random step (so that windows begin anywhere in the bar),
    and batched by 32: inputs, next-token targets and a 0/1 weight per token (0 on the padding of a short
    last window).
    """
    from .encoding import SATB_SILENCE

    rng = np.random.default_rng(seed)
    cut = []
    for tokens in chorales:
        shift = int(rng.choice(data.ALL_KEYS))
        moved = np.where(tokens != SATB_SILENCE, tokens + shift, SATB_SILENCE)
        start = 4 * int(rng.integers(0, max(1, min(window, len(tokens) - window) // 4)))
        for first in range(start, len(moved) - 4, window):
            cut.append(moved[first : first + window + 1])
    order = rng.permutation(len(cut))
    batches = []
    for begin in range(0, len(order), 32):
        chosen = [cut[i] for i in order[begin : begin + 32]]
        tokens = np.full((len(chosen), window + 1), SATB_SILENCE, dtype=np.int32)
        weights = np.zeros((len(chosen), window), dtype=np.float32)
        for row, piece in enumerate(chosen):
            tokens[row, : len(piece)] = piece
            weights[row, : len(piece) - 1] = 1.0
        batches.append((tokens[:, :-1], tokens[:, 1:], weights))
    return batches


def train_chorale_transformer(
    name: str = "chorale_transformer",
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train a :class:`~musegen_widgets.models.chorale_transformer.ChoraleTransformer` on the chorales
    serialised S-A-T-B, in windows of :data:`CHORALE_WINDOW` tokens: ``chorale_transformer`` (relative
    attention) or ``chorale_transformer_absolute`` (sinusoidal positions).

    Taught in chapter 05, section 5 (four voices).

    Each epoch sees every training chorale once, in a random key (:func:`satb_windows`); the schedule and
    early stopping are those of :func:`train_melody_model`, and the NLL is per token, scored in windows of
    the training length (:func:`~musegen_widgets.metrics.sequence_nll` with ``window``).
    """
    import keras

    from . import models
    from .encoding import encode_satb
    from .metrics import sequence_nll

    recipe, epochs, config = _settings(name, fast, epochs, config)
    keras.utils.set_random_seed(seed)
    train = [encode_satb(piece) for piece in data.load_pieces("train")]
    valid = [encode_satb(piece) for piece in data.load_pieces("valid")]
    window = 32 if fast else CHORALE_WINDOW
    if fast:
        train, valid = train[:8], valid[:4]
    steps_per_epoch = len(satb_windows(train, window, seed))
    with _scope(strategy):
        model = getattr(models, recipe.model_class)(**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs), weight_decay=1e-4, clipnorm=1.0
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=not fast,  # XLA pays off for a real run; for a tiny one its compile costs more memory than it saves time
        )
    history, seconds = _fit(
        model,
        lambda epoch: satb_windows(train, window, seed=seed + epoch),
        lambda: sequence_nll(model, valid, window=window),
        epochs,
        unit="nats per token",
        patience=5,
    )
    test = [encode_satb(piece) for piece in data.load_pieces("test")]
    test_nll = sequence_nll(model, test, window=window)
    return _finish(name, model, config, history, test_nll, seconds, _destination(folder, fast))


INFILL_WINDOW = 128
"""Steps per training passage of the infilling model: eight bars of 4/4."""


def _infill_mask(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One training mask over the ``real`` (not padding) cells of a passage: half of the time orderless NADE's
    over every cell; a quarter, orderless over alto, tenor and bass under a given soprano (what
    :func:`~musegen_widgets.infilling.harmonise` asks); a quarter, a few whole voices over a span of steps
    (what erasing in the widget asks)."""
    from .infilling import orderless_mask

    kind = rng.random()
    if kind < 0.5:
        return orderless_mask(real, rng)
    if kind < 0.75:
        under_soprano = real.copy()
        under_soprano[:, 0] = False
        return orderless_mask(under_soprano, rng)
    steps = int(real[:, 0].sum())
    start = int(rng.integers(0, steps))
    end = int(rng.integers(start + 1, steps + 1))
    voices = rng.permutation(4)[: rng.integers(1, 5)]
    mask = np.zeros_like(real)
    mask[start:end, voices] = True
    return mask & real


def infill_batches(
    chorales, window: int, seed: int, *, copies: int = 1, batch_size: int = 32
) -> list[tuple[list[np.ndarray], np.ndarray, np.ndarray]]:
    """One epoch of the infilling model's training passages, each with a random mask to fill.

    Taught in chapter 06, section 2 (one network for every question).

    Each chorale (S-A-T-B tokens ``(steps, 4)``) is taken ``copies`` times, each time in a random key of
    :data:`~musegen_widgets.data.ALL_KEYS` and cut into passages of ``window`` steps from a random step.
    Every passage gets a mask (``_infill_mask``); the weight of a hidden cell is ``n / k`` for ``k`` hidden
    of the passage's ``n`` cells, so that every passage counts alike and the weighted loss is the mean NLL
    of hidden cells. Batches are ``([tokens, mask], tokens, weight)``.
    """
    from .encoding import SATB_SILENCE

    rng = np.random.default_rng(seed)
    cut = []
    for _ in range(copies):
        for cells in chorales:
            shift = int(rng.choice(data.ALL_KEYS))
            moved = np.where(cells != SATB_SILENCE, cells + shift, SATB_SILENCE)
            start = int(rng.integers(0, max(1, min(window, len(cells) - window))))
            cut.extend(moved[first : first + window] for first in range(start, len(moved), window))
            if start:  # the steps before the random start, so that every step is seen
                cut.append(moved[:start])
    order = rng.permutation(len(cut))
    batches = []
    for begin in range(0, len(order), batch_size):
        chosen = [cut[i] for i in order[begin : begin + batch_size]]
        tokens = np.full((len(chosen), window, 4), SATB_SILENCE, dtype=np.int32)
        real = np.zeros(tokens.shape, dtype=bool)
        for row, passage in enumerate(chosen):
            tokens[row, : len(passage)] = passage
            real[row, : len(passage)] = True
        masks = np.stack([_infill_mask(r, rng) for r in real])
        hidden = masks.sum(axis=(1, 2), keepdims=True)
        weights = np.where(masks, real.sum(axis=(1, 2), keepdims=True) / np.maximum(hidden, 1), 0.0)
        batches.append(([tokens, masks.astype(np.float32)], tokens, weights.astype(np.float32)))
    return batches


def train_chorale_infill(
    *,
    fast: bool = False,
    folder: Path | None = None,
    epochs: int | None = None,
    config: dict | None = None,
    seed: int = 0,
    strategy=None,
) -> dict:
    """Train :class:`~musegen_widgets.models.chorale_infill.ChoraleInfill` to fill hidden cells of chorales.

    Taught in chapter 06, section 2 (one network for every question).

    Each epoch sees every training chorale in four random keys, as passages of :data:`INFILL_WINDOW` steps
    with random masks (:func:`infill_batches`); the schedule and early stopping are those of
    :func:`train_melody_model`. The valid and test scores are :func:`~musegen_widgets.metrics.infill_nll`
    on whole chorales, in nats per cell.
    """
    import keras

    from .encoding import encode_satb
    from .metrics import infill_nll
    from .models.chorale_infill import ChoraleInfill

    _, epochs, config = _settings("chorale_infill", fast, epochs, config)
    keras.utils.set_random_seed(seed)
    train, valid = ([encode_satb(p).reshape(-1, 4) for p in data.load_pieces(s)] for s in ("train", "valid"))
    window, copies = (32, 1) if fast else (INFILL_WINDOW, 4)
    if fast:
        train, valid = train[:8], valid[:4]
    steps_per_epoch = len(infill_batches(train, window, seed, copies=copies))
    with _scope(strategy):
        model = ChoraleInfill(**config)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate_schedule(steps_per_epoch, epochs, peak=2e-3),
                weight_decay=1e-4,
                clipnorm=1.0,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=not fast,
        )
    history, seconds = _fit(
        model,
        lambda epoch: infill_batches(train, window, seed + epoch, copies=copies),
        lambda: infill_nll(model, valid, seed=seed),
        epochs,
        unit="nats per cell",
        patience=5,
    )
    test = [encode_satb(p).reshape(-1, 4) for p in data.load_pieces("test")]
    test_nll = infill_nll(model, test, seed=seed)
    return _finish("chorale_infill", model, config, history, test_nll, seconds, _destination(folder, fast))


def _destination(folder: Path | None, fast: bool) -> Path | None:
    """Where a run writes: the folder asked for; else nothing for a fast run, and ``data/`` for a real one."""
    if folder is not None:
        return Path(folder)
    return None if fast else files.data_dir()


def learning_rate_schedule(steps_per_epoch: int, epochs: int, peak: float = 5e-3):
    """The learning rate of every course training: a linear warm-up from ``peak / 25`` to ``peak`` over the
    first epoch, then a cosine down to 2 % of the peak by the last epoch (a Keras schedule: call it with a
    step number).

    Taught in chapter 05, section 4 (a melody Transformer), whose attention needs the warm-up most: with
    Adam's running averages still empty, large early updates can push the softmax of attention into
    saturation, where its gradients vanish (Vaswani et al. 2017, section 5.3; Xiong et al. 2020).
    """
    import keras

    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 25,
        warmup_target=peak,
        warmup_steps=steps_per_epoch,
        decay_steps=max(1, (epochs - 1) * steps_per_epoch),
        alpha=0.02,
    )


def _fit(
    model, epoch_batches, score_valid, epochs: int, unit: str, loss_scale: float = 1.0, patience: int = 3
) -> tuple[dict, float]:
    """Train epoch by epoch with a progress bar; keep the weights of the epoch best on the valid split.

    ``loss_scale`` turns Keras's training loss into the ``unit`` of the valid NLL (for frames, Keras
    averages over the 88 keys where the NLL per frame sums them), so both curves share one axis.
    """
    import keras

    history = {"epoch": [], "train_loss": [], "valid_nll": [], "seconds": []}
    best = {"valid_nll": np.inf, "weights": None, "epoch": -1}
    start = time.perf_counter()
    for epoch in range(epochs):
        batches = epoch_batches(epoch)
        progress = keras.utils.Progbar(len(batches), stateful_metrics=["loss"])
        losses = []
        for x, y, w in batches:
            # Keras averages over every position, padding included: rescale to the mean over real ones
            losses.append(loss_scale * _train_on_batch(model, x, y, w) * w.size / w.sum())
            progress.add(1, values=[("loss", np.mean(losses[-20:]))])
        valid_nll = score_valid()
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(float(np.mean(losses)))
        history["valid_nll"].append(valid_nll)
        history["seconds"].append(time.perf_counter() - start)
        print(
            f"epoch {epoch + 1}: train loss {np.mean(losses):.4f}, valid NLL {valid_nll:.4f} {unit}",
            flush=True,
        )
        if valid_nll < best["valid_nll"]:
            best = {"valid_nll": valid_nll, "weights": model.get_weights(), "epoch": epoch + 1}
        elif epoch + 1 - best["epoch"] >= patience:
            print(f"no improvement for {patience} epochs: stopping, keeping epoch {best['epoch']}")
            break
    model.set_weights(best["weights"])
    history["best_epoch"] = best["epoch"]
    history["unit"] = unit
    return history, time.perf_counter() - start


def _train_on_batch(model, x, y, weights) -> float:
    """One update on one global batch; Keras's training loss (mean over every position, padding included).

    Under a ``tf.distribute`` strategy of several replicas (chapter 07, section 6), each replica takes its
    share of the batch (:func:`~musegen_widgets.distribute.replica_batches`) and runs Keras's own
    ``train_step`` on it; the optimizer adds the replicas' gradients. (``train_on_batch`` would hand every
    replica the whole batch: the same update, at ``n`` times the work.)
    """
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync == 1:
        return float(model.train_on_batch(x, y, sample_weight=weights))
    from .distribute import replica_batches

    if model not in _DISTRIBUTED_STEPS:
        import tensorflow as tf

        model._maybe_symbolic_build(data_batch=(x, y, weights))  # what train_on_batch does first

        # without XLA: Keras's jit-compiled step does not take the multiworker all-reduce
        @tf.function(reduce_retracing=True)
        def step(batch):
            logs = strategy.run(model.train_step, args=(batch,))
            return strategy.reduce("MEAN", logs["loss"], axis=None)

        _DISTRIBUTED_STEPS[model] = step
    model.reset_metrics()  # the loss of this batch alone
    return float(_DISTRIBUTED_STEPS[model](replica_batches(strategy, x, y, weights)))


_DISTRIBUTED_STEPS = weakref.WeakKeyDictionary()
"""Model -> its distributed train step (traced once per input shape)."""


def _scope(strategy):
    """Where a model is built and compiled: inside the strategy's scope, if there is one."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def _finish(name: str, model, config: dict, history: dict, test_nll: float, seconds: float, folder) -> dict:
    """The training result of a sequence model; with a ``folder``, saved there (:func:`_save`)."""
    best = history["best_epoch"]
    result = {
        "config": config,
        "best_epoch": best,
        "valid_nll": history["valid_nll"][best - 1],
        "test_nll": test_nll,
        "train_seconds": seconds,
        "unit": history["unit"],
        "history": history,
        "model": model,
    }
    _save(name, result, folder)
    return result


def train_melody_lstm(**settings) -> dict:
    """:func:`train_melody_model` for the melody LSTM of chapter 01 (the same keyword arguments).

    Taught in chapter 01, section 5 (training).
    """
    return train_melody_model("melody_lstm", **settings)


def train_melody_tcn(**settings) -> dict:
    """:func:`train_melody_model` for the dilated-convolution melody model of chapter 01.

    Taught in chapter 01, section 6 (without recurrence).
    """
    return train_melody_model("melody_tcn", **settings)


def train_melody_transformer(**settings) -> dict:
    """:func:`train_melody_model` for the relative-attention melody Transformer of chapter 05.

    Taught in chapter 05, section 4 (a melody Transformer).
    """
    return train_melody_model("melody_transformer", **settings)


def _settings(name: str, fast: bool, epochs: int | None, config: dict | None):
    """The recipe of ``name``, and the epochs and configuration of this run: the tiny ones for ``fast``."""
    from .models import RECIPES

    recipe = RECIPES[name]
    if fast:
        return recipe, 2 if epochs is None else epochs, config or recipe.fast_config
    return recipe, recipe.epochs if epochs is None else epochs, config or recipe.config


def _save(name: str, result: dict, folder: Path | None) -> None:
    """Write a run into ``folder`` (if any): weights with their manifest entry, history, and curve plot."""
    if folder is None or not distribute.is_chief():  # under the multiworker strategy, worker 0 writes
        return
    import keras
    from matplotlib.figure import Figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)  # a run of an hour is not lost to a missing folder
    record = {key: value for key, value in result.items() if key not in ("history", "model", "unit")}
    record["built_by"] = f"python -m musegen_widgets.train {name}"
    record["keras"] = keras.__version__
    _write_weights(result["model"], name, folder, record)
    history = json.dumps(result["history"], indent=1) + "\n"
    files.write_atomically(folder / f"{name}.history.json", history.encode())
    panels = _panels(result["history"])
    figure = Figure(figsize=_figure_size(panels), layout="constrained")
    plot_history(name, figure.subplots(1, panels), history=result["history"])
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=90)
    files.write_atomically(folder / f"{name}.curve.png", png.getvalue())


def read_history(name: str, folder: str | os.PathLike | None = None) -> dict:
    """The per-epoch history a training run wrote beside its weights (``data/NAME.history.json``).

    Taught in chapter 01, section 5 (training).
    """
    path = Path(folder if folder is not None else files.data_dir()) / f"{name}.history.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MusegenError(
            f"no training history; train it with `python -m musegen_widgets.train {name}`", path
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MusegenError(f"the history is not valid JSON ({error}); retrain or delete it", path) from None


def _panels(history: dict) -> int:
    return 3 if "reconstruction" in history else 2 if "wasserstein" in history else 1


def _figure_size(panels: int) -> tuple[float, float]:
    return 4 + 2.5 * panels, 3.2


def plot_history(name: str, ax=None, *, history: dict | None = None):
    """Draw a training run's curves; returns the axes (a sequence of them for the VAE and the GAN).

    Taught in chapter 01, section 5 (training).

    Parameters
    ----------
    name
        The model (``"melody_lstm"``, ``"melody_vae"``, ...): its history is read with :func:`read_history`.
    ax
        Where to draw: one matplotlib axes for a sequence model, three for a VAE (reconstruction, KL,
        accuracy), two for the GAN (the critic, the samples' MuseGAN metrics); default: a new figure.
    history
        A run's ``result["history"]`` instead of the shipped one (a run of your own).
    """
    history = read_history(name) if history is None else history
    panels = _panels(history)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(1, panels, figsize=_figure_size(panels), layout="constrained")
    axes = [ax] if panels == 1 and not isinstance(ax, (list, tuple, np.ndarray)) else list(np.ravel(ax))
    if len(axes) != panels:
        raise MusegenError(f"the history of {name} needs {panels} axes to draw on, got {len(axes)}")
    epochs = history["epoch"]
    if panels == 1:
        axes[0].plot(epochs, history["train_loss"], marker="o", label="train (all keys, with dropout)")
        axes[0].plot(epochs, history["valid_nll"], marker="o", label="valid (whole chorales)")
        axes[0].set(xlabel="epoch", ylabel=history["unit"], title=name)
    elif panels == 3:
        for axis, key, label in zip(
            axes,
            ("reconstruction", "kl", "accuracy"),
            ("reconstruction (nats / segment)", "KL (nats / segment)", "teacher-forced accuracy"),
        ):
            axis.plot(epochs, history[key], marker="o", label="train (z sampled)")
            axis.plot(epochs, history[f"val_{key}"], marker="o", label="valid (z = mu)")
            axis.set(xlabel="epoch", title=label)
        if "beta" in history:
            axes[1].plot(
                epochs, np.array(history["beta"]) * 100, color="grey", linestyle=":", label="beta x 100"
            )
    else:
        axes[0].plot(epochs, history["wasserstein"], marker="o", label="critic: E[f(real)] − E[f(fake)]")
        axes[0].plot(epochs, history["gradient_penalty"], marker="o", label="gradient penalty")
        axes[0].set(xlabel="epoch", title="the critic's estimate of the distance")
        for metric, values in history["quality"].items():
            axes[1].plot(epochs, values, marker="o", label=metric.replace("_", " "))
        axes[1].set(xlabel="epoch", title="MuseGAN metrics of the samples, mean over voices")
    for axis in axes[:2]:
        axis.legend(fontsize="small")
    return axes[0] if panels == 1 else axes


MODELS = {
    "melody_lstm": train_melody_lstm,
    "melody_transformer_small": functools.partial(train_melody_model, "melody_transformer_small"),
    "melody_transformer_distilled": functools.partial(train_melody_model, "melody_transformer_distilled"),
    "melody_tcn": train_melody_tcn,
    "melody_transformer": train_melody_transformer,
    "frame_lstm": train_frame_lstm,
    "melody_vae": functools.partial(train_melody_vae, "melody_vae"),
    "melody_vae_collapsed": functools.partial(train_melody_vae, "melody_vae_collapsed"),
    "chorale_gan": train_chorale_gan,
    "chorale_transformer": functools.partial(train_chorale_transformer, "chorale_transformer"),
    "chorale_transformer_absolute": functools.partial(
        train_chorale_transformer, "chorale_transformer_absolute"
    ),
    "chorale_infill": train_chorale_infill,
}
"""Name -> the function that trains it (``python -m musegen_widgets.train NAME``)."""


def _refuse_unless_it_takes(name: str, keyword: str, option: str, reason: str) -> None:
    """Raise unless the training function of ``name`` takes ``keyword``, which ``option`` sets."""
    try:
        inspect.signature(MODELS[name]).bind_partial(**{keyword: None})
    except TypeError:
        raise MusegenError(f"{name} {reason}: it has no {option}") from None


def _prune_command(arguments) -> int:
    _refuse_unless_it_takes(arguments.model, "augment", "--prune", "is not a melody model")
    if not all(0 <= fraction < 1 for fraction in arguments.prune):
        raise MusegenError(f"--prune takes fractions from 0 up to (not including) 1, got {arguments.prune}")
    sweep = prune_and_fine_tune(
        arguments.model, arguments.prune, epochs=arguments.epochs or 1, fast=arguments.fast
    )
    for fraction, pruned, fine_tuned in zip(sweep["fraction"], sweep["pruned"], sweep["fine_tuned"]):
        print(f"{fraction:4.0%} pruned: held-out NLL {pruned:.4f}, after fine-tuning {fine_tuned:.4f}")
    if arguments.output is not None:
        text = json.dumps(sweep, indent=1) + "\n"
        files.write_atomically(arguments.output / f"{arguments.model}.pruning.json", text.encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Train a model of the course and write its weights to data/."
    )
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--fast", action="store_true", help="a tiny model for a few steps; writes nothing")
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's own")
    parser.add_argument("--output", type=Path, default=None, help="where to write (default: data/)")
    parser.add_argument(
        "--strategy",
        choices=distribute.STRATEGIES,
        default=None,
        help="train under tf.distribute (see chapter 07)",
    )
    parser.add_argument(
        "--cpu-devices", type=int, default=None, help="with --strategy mirrored: split the CPU into N devices"
    )
    parser.add_argument(
        "--own-keys",
        action="store_true",
        help="melody models: the melodies in their own keys only, no transpositions (see chapter 07)",
    )
    parser.add_argument(
        "--prune",
        type=float,
        nargs="+",
        metavar="FRACTION",
        help="melody models: prune the shipped weights to each fraction and fine-tune (see chapter 07); "
        "with --output, writes NAME.pruning.json there",
    )
    arguments = parser.parse_args(argv)
    if arguments.output is not None:  # a folder that cannot be made fails now, not after the training
        try:
            arguments.output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MusegenError(f"cannot write there ({error.strerror})", arguments.output) from None
    if arguments.prune is not None:
        return _prune_command(arguments)
    settings = {"fast": arguments.fast, "epochs": arguments.epochs, "folder": arguments.output}
    if arguments.own_keys:
        _refuse_unless_it_takes(arguments.model, "augment", "--own-keys", "is not a melody model")
        settings["augment"] = False
    if arguments.strategy is not None:
        _refuse_unless_it_takes(
            arguments.model, "strategy", "--strategy", "trains with Keras's fit, not the course's loop"
        )
        # first: TensorFlow must not have set up its devices yet
        settings["strategy"] = distribute.make_strategy(arguments.strategy, cpu_devices=arguments.cpu_devices)
    elif arguments.cpu_devices is not None:
        raise MusegenError("--cpu-devices splits the CPU for --strategy mirrored; give both")
    result = MODELS[arguments.model](**settings)
    if "quality" in result:
        for name, row in result["quality"].items():
            within = row.get("within")
            print(
                f"{name:24s} generated {np.round(row['generated'], 3)}"
                + (
                    f" reference {np.round(row['reference'], 3)} within 20 %: {within}"
                    if within is not None
                    else ""
                )
            )
        print(f"{result['train_seconds'] / 60:.1f} min")
    elif "test_nll" in result:
        print(
            f"best epoch {result['best_epoch']}: valid NLL {result['valid_nll']:.4f}, test NLL "
            f"{result['test_nll']:.4f} {result['unit']}; {result['train_seconds'] / 60:.1f} min"
        )
    else:
        print(
            f"test: teacher-forced accuracy {result['test_teacher_forced_accuracy']:.4f}, "
            f"greedy {result['test_greedy_accuracy']:.4f}, KL {result['test_kl']:.2f} nats, "
            f"{result['test_active_dimensions']} active dimensions; "
            f"{result['train_seconds'] / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MusegenError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
