"""The course's training loop under tf.distribute, on this CPU: two logical devices, and two worker processes.

TensorFlow splits a CPU into logical devices, and joins a cluster, only before it first runs: each case
runs in a fresh Python process.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

from musegen_widgets import distribute, files, train
from musegen_widgets.errors import MusegenError

import pytest

FIRST_STEP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from musegen_widgets import data, distribute, models, training
    from musegen_widgets.models import melody_training

    strategy = distribute.make_strategy("mirrored", cpu_devices=2)  # before any other TensorFlow work
    import keras

    def updated(scope, x, y, w):
        keras.utils.set_random_seed(0)
        with scope:
            model = models.MelodyLSTM(units=16, n_layers=1, embedding=8, dropout=0.0)
            model.compile(optimizer=keras.optimizers.SGD(1.0),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model(x[:1])
        before = [v.copy() for v in model.get_weights()]
        loss = training.train_on_batch(model, x, y, w)
        return loss, [a - b for a, b in zip(model.get_weights(), before)], model.distribute_strategy

    import contextlib
    results = {}
    for rows in map(int, sys.argv[1:]):  # one process for every batch size: TensorFlow starts once
        melodies = data.load_melodies("train")[:rows]
        x, y, w = melody_training.melody_batches(melodies, batch_size=rows, seed=0)[0]
        w[0, 5:] = 0  # uneven weights: a replica's share must not change what a row counts
        one_loss, one, one_strategy = updated(contextlib.nullcontext(), x, y, w)
        two_loss, two, two_strategy = updated(strategy.scope(), x, y, w)
        shares = strategy.experimental_local_results(distribute.replica_batches(strategy, x, y, w))
        results[rows] = {
            "share_rows": [len(share[0]) for share in shares],
            "replicas": [one_strategy.num_replicas_in_sync, two_strategy.num_replicas_in_sync],
            "largest_update": float(max(np.abs(u).max() for u in one)),
            "largest_difference": float(max(np.abs(a - b).max() for a, b in zip(one, two))),
            "losses": [one_loss, two_loss],
        }
    print(json.dumps(results))
    """
)


def _python(*arguments, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_two_logical_devices_make_the_same_first_update_as_one():
    done = _python("-c", FIRST_STEP, "8", "7")  # an even batch and an odd one
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(results) == ["7", "8"]
    for rows, result in results.items():
        assert result["replicas"] == [1, 2]
        assert result["share_rows"] == [(int(rows) + 1) // 2] * 2  # each replica computes half of the batch
        assert result["largest_update"] > 1e-3  # the step moved the weights
        assert result["largest_difference"] < 1e-6 * max(1.0, result["largest_update"]) * 100
        assert result["losses"][0] == pytest.approx(result["losses"][1], rel=1e-5)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_this_machine_train_together_and_write_one_set_of_weights(tmp_path):
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = [
        "-m", "musegen_widgets.train", "melody_lstm", "--fast", "--epochs", "1",
        "--strategy", "multiworker", "--output", str(tmp_path),
    ]  # fmt: skip
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": distribute.worker_config(addresses, index)}
        workers.append(
            subprocess.Popen(
                [sys.executable, *command],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    # both workers ended with the same model: the same valid NLL, printed by each
    scores = [next(line for line in out.splitlines() if line.startswith("best epoch")) for out, _ in outputs]
    assert scores[0].split(";")[0] == scores[1].split(";")[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".h5") == ["melody_lstm.weights.h5"]
    manifest = files.read_manifest(tmp_path)
    assert list(manifest) == ["melody_lstm.weights.h5"]


def test_the_strategies_refuse_what_they_cannot_do(monkeypatch):
    with pytest.raises(MusegenError, match="no strategy 'tpu'"):
        distribute.make_strategy("tpu")
    with pytest.raises(MusegenError, match="cpu_devices"):
        distribute.make_strategy("multiworker", cpu_devices=2)
    with pytest.raises(MusegenError, match="cpu_devices"):
        distribute.make_strategy("mirrored", cpu_devices=0)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(MusegenError, match="TF_CONFIG"):
        distribute.make_strategy("multiworker")
    with pytest.raises(MusegenError, match="worker index 2"):
        distribute.worker_config(["a:1", "b:2"], 2)


def test_only_worker_0_writes(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", distribute.worker_config(["a:1", "b:2"], 0))
    assert distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", distribute.worker_config(["a:1", "b:2"], 1))
    assert not distribute.is_chief()


def test_the_command_line_refuses_a_strategy_for_models_trained_by_fit():
    # before any training or device set-up (tests/test_compression.py runs a refusal in a process of its own)
    with pytest.raises(MusegenError, match="has no --strategy"):
        train.main(["melody_vae", "--fast", "--strategy", "mirrored"])


def test_the_command_line_refuses_own_keys_for_models_that_are_not_melody_models():
    with pytest.raises(MusegenError, match="has no --own-keys"):
        train.main(["chorale_gan", "--fast", "--own-keys"])
