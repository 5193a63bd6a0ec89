"""What every training of the course shares: the schedule, the loop of the sequence models, saving, curves.

Each model's own module says how the chorales become its training examples and holds its training
function (for example :func:`~musegen_widgets.models.chorale_infill.train_chorale_infill`). The sequence
models train with this module's loop (:func:`fit`); the VAE and the GAN with Keras's ``fit`` and their own
``train_step``; all of them take their schedule, settings and saving from here:

* :func:`learning_rate_schedule`: a warm-up over the first epoch, then a cosine down to 2 % of the peak;
* :func:`fit`: epoch by epoch, keeping the weights of the epoch best on the valid split (early stopping);
  :func:`train_on_batch` is one update, shared among replicas under a ``tf.distribute`` strategy
  (:mod:`~musegen_widgets.distribute`, chapter 07);
* :func:`save_run`: the weights (without the optimizer's state, :func:`drop_optimizer_state`) with their
  SHA-256 in ``data/MANIFEST.json``, the per-epoch history and a plot of the curves;
  :func:`read_history` and :func:`plot_history` read and draw them.

``python -m musegen_widgets.train NAME`` (:mod:`~musegen_widgets.train`) trains a shipped model by name.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import weakref
from pathlib import Path

import numpy as np

from . import distribute, files
from .errors import MusegenError

__all__ = [
    "similar_lengths",
    "n_batches",
    "recipe_settings",
    "learning_rate_schedule",
    "fit",
    "train_on_batch",
    "strategy_scope",
    "sequence_result",
    "save_run",
    "drop_optimizer_state",
    "read_history",
    "plot_history",
]


def similar_lengths(sequences, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The indices of ``sequences`` in groups of ``batch_size`` of similar length (ties broken at random).

    Taught in chapter 05, section 4 (a melody Transformer), whose training batches whole melodies by length:
    batches of similar length waste little on padding.
    """
    order = np.argsort([len(s) + rng.random() for s in sequences])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def n_batches(sequences, batch_size: int) -> int:
    """How many batches of ``batch_size`` the ``sequences`` make (the last one may be short).

    Taught in chapter 01, section 5 (training).
    """
    return -(-len(sequences) // batch_size)


def recipe_settings(recipe, *, fast: bool, epochs: int | None, config: dict | None) -> tuple[int, dict]:
    """The epochs and the model configuration of a run of ``recipe``: the tiny ones for ``fast``, unless given.

    Taught in chapter 01, section 5 (training). ``recipe`` is a :class:`~musegen_widgets.models.Recipe`.
    """
    if fast:
        return 2 if epochs is None else epochs, config or recipe.fast_config
    return recipe.epochs if epochs is None else epochs, config or recipe.config


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


def fit(
    model, epoch_batches, score_valid, epochs: int, unit: str, loss_scale: float = 1.0, patience: int = 3
) -> tuple[dict, float]:
    """Train epoch by epoch with a progress bar; keep the weights of the epoch best on the valid split.

    Taught in chapter 01, section 5 (training); the loop is open in chapter 07, section 6.

    ``epoch_batches(epoch)`` gives one epoch's ``(x, y, weights)`` batches and ``score_valid()`` the valid
    NLL; training stops after ``patience`` epochs without a better one. Returns the history (``epoch``,
    ``train_loss``, ``valid_nll``, ``seconds``, ``best_epoch``, ``unit``) and the seconds it took.

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
            losses.append(loss_scale * train_on_batch(model, x, y, w) * w.size / w.sum())
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


def train_on_batch(model, x, y, weights) -> float:
    """One update on one global batch; Keras's training loss (mean over every position, padding included).

    Taught in chapter 07, section 6 (data parallelism).

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


def strategy_scope(strategy):
    """Where a model is built and compiled: inside the strategy's scope, if there is one.

    Taught in chapter 07, section 6 (data parallelism).
    """
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def sequence_result(model, config: dict, history: dict, test_nll: float, seconds: float) -> dict:
    """The result of a sequence model's run of :func:`fit`: what :func:`save_run` writes, and the model.

    Taught in chapter 01, section 5 (training).
    """
    best = history["best_epoch"]
    return {
        "config": config,
        "best_epoch": best,
        "valid_nll": history["valid_nll"][best - 1],
        "test_nll": test_nll,
        "train_seconds": seconds,
        "unit": history["unit"],
        "history": history,
        "model": model,
    }


def save_run(name: str, result: dict, folder: str | os.PathLike | None, *, fast: bool = False) -> None:
    """Write a run: its weights with their manifest entry, its history, and a plot of its curves.

    Taught in chapter 01, section 5 (training).

    Into ``folder`` if one is given; else into ``data/`` (the shipped weights), except for a ``fast`` run,
    which writes nothing. Under the multiworker strategy only worker 0 writes.
    """
    if folder is None and not fast:
        folder = files.data_dir()
    if folder is None or not distribute.is_chief():
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
        Where to draw: one matplotlib axes for a sequence model or a diffusion model, three for a VAE (reconstruction, KL,
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
    if panels == 1 and "val_loss" in history:  # a diffusion model's plain loss (chapter 08)
        axes[0].plot(epochs, history["loss"], marker="o", label="train (all keys)")
        axes[0].plot(epochs, history["val_loss"], marker="o", label="valid (a fresh draw of steps and noise)")
        axes[0].set(xlabel="epoch", ylabel="plain loss (squared error of the noise)", title=name)
    elif panels == 1:
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
