"""Training past one device: the course's training loop under ``tf.distribute`` (chapter 07).

Data parallelism in one sentence: every device (a *replica*) holds a copy of the model, takes its own share
of each batch, computes the gradient of its share, and the replicas add their gradients (an *all-reduce*)
before each applies the same update, so the copies stay identical. Two strategies cover the cases:

``"mirrored"``
    :class:`tf.distribute.MirroredStrategy`: the GPUs of one machine (or, to try it on a laptop, its CPU
    split into logical devices with ``cpu_devices``).
``"multiworker"``
    :class:`tf.distribute.MultiWorkerMirroredStrategy`: several machines (*workers*), each running the same
    command; the environment variable ``TF_CONFIG`` (:func:`worker_config`) tells each worker the addresses
    of all and which one it is. Worker 0, the *chief*, writes the weights.

The *global batch* (32 melodies in the course) is what one update sees, whatever the number of replicas:
:func:`replica_batches` gives each replica ``32 / n`` of them. Keras divides each replica's loss by ``n``
and the all-reduce sums the gradients, so the update equals one device's on the whole batch (tested to
float tolerance). With more devices one usually raises the global batch to keep each busy, and the
learning rate with it (Goyal et al. 2017, "Accurate, large minibatch SGD": linearly, after a warm-up).

    python -m musegen_widgets.train melody_lstm --strategy mirrored                    # all local GPUs
    python -m musegen_widgets.train melody_lstm --strategy mirrored --cpu-devices 2    # try it on a CPU
    TF_CONFIG='...' python -m musegen_widgets.train melody_lstm --strategy multiworker  # on each worker
"""

from __future__ import annotations

import json
import os

import numpy as np

from .errors import MusegenError

__all__ = ["STRATEGIES", "make_strategy", "replica_batches", "is_chief", "worker_config"]

STRATEGIES = ("mirrored", "multiworker")
"""The strategies the course's training accepts (``--strategy``)."""


def make_strategy(name: str, *, cpu_devices: int | None = None):
    """A ``tf.distribute`` strategy by name; create it before any other TensorFlow work.

    Taught in chapter 07, section 6 (scaling up).

    Parameters
    ----------
    name
        ``"mirrored"`` (every GPU of this machine; its CPU if it has none) or ``"multiworker"`` (the
        workers that ``TF_CONFIG`` lists).
    cpu_devices
        Split this machine's CPU into this many logical devices and mirror over them (``"mirrored"``
        only): the same code path as several GPUs, to learn and test it without one.

    Raises
    ------
    MusegenError
        For an unknown name, a bad ``cpu_devices``, or ``"multiworker"`` without a valid ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise MusegenError(f"no strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if cpu_devices is not None and (
        name != "mirrored" or not isinstance(cpu_devices, (int, np.integer)) or not 1 <= cpu_devices <= 64
    ):
        raise MusegenError(
            f"cpu_devices must be a whole number from 1 to 64, with the mirrored strategy; got {cpu_devices!r}"
        )
    import tensorflow as tf

    if name == "multiworker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_devices is not None:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * int(cpu_devices)
            )
        except RuntimeError:  # TensorFlow has already set up its devices: it cannot split them any more
            raise MusegenError(
                "the CPU can be split into logical devices only before TensorFlow first runs: "
                "restart the kernel and make the strategy first"
            ) from None
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(int(cpu_devices))])
    return tf.distribute.MirroredStrategy()


def _check_tf_config() -> dict:
    """``TF_CONFIG`` read and checked: a cluster with workers, and this task among them."""
    text = os.environ.get("TF_CONFIG", "")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        index = config["task"]["index"]
        if config["task"]["type"] not in ("worker", "chief") or not workers:
            raise ValueError
        if config["task"]["type"] == "worker" and not 0 <= index < len(workers):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise MusegenError(
            "the multiworker strategy needs TF_CONFIG set to the cluster's workers and this one's index, "
            f"as musegen_widgets.distribute.worker_config writes it; got {text[:200]!r}"
        ) from None
    return config


def worker_config(addresses: list[str], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of workers at ``addresses`` (``"host:port"``).

    Taught in chapter 07, section 6 (scaling up).

    >>> worker_config(["10.0.0.1:12345", "10.0.0.2:12345"], 1)
    '{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 1}}'
    """
    if not 0 <= index < len(addresses):
        raise MusegenError(f"worker index {index} is not one of the {len(addresses)} addresses")
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def is_chief() -> bool:
    """Whether this process writes the results: true unless ``TF_CONFIG`` makes it a worker other than 0.

    Taught in chapter 07, section 6 (scaling up).
    """
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        return True
    task = json.loads(text).get("task", {})
    return task.get("type") == "chief" or (task.get("type") == "worker" and task.get("index") == 0)


def replica_batches(strategy, x, y, weights):
    """One global batch split into equal shares, one per replica, as a distributed value that
    ``strategy.run`` (and Keras's train function) hands out: ``(x, y, weights)`` of each share.

    Taught in chapter 07, section 6 (scaling up).

    Every worker builds the same global batch (the course's batches come from a seeded shuffle) and keeps
    the shares of its own replicas. ``x`` may be a list of arrays (the infilling model's tokens and mask).
    A batch whose rows do not divide evenly is padded with copies of its first row, weighted 0, so that every
    replica computes over as many rows as the others (and the real rows reweighted to keep the update).
    """
    replicas = strategy.num_replicas_in_sync
    rows = len(weights)
    padded = -(-rows // replicas) * replicas

    def pad(a):
        return np.concatenate([a, np.repeat(a[:1], padded - rows, axis=0)]) if padded != rows else a

    x, y = _map(pad, x), pad(y)
    # Keras averages each replica's loss over all its positions: the weightless rows would dilute the
    # mean, so the real ones weigh padded / rows more (the update is then the unpadded batch's)
    weights = pad(weights) * np.float32(padded / rows)
    weights[rows:] = 0
    share = padded // replicas

    def local_share(context):
        rows = slice(context.replica_id_in_sync_group * share, (context.replica_id_in_sync_group + 1) * share)
        return _map(lambda a: a[rows], x), y[rows], weights[rows]

    return strategy.experimental_distribute_values_from_function(local_share)


def _map(function, x):
    """``function`` of an array, or of each array of a list."""
    return [function(a) for a in x] if isinstance(x, (list, tuple)) else function(x)
