import json

from musegen_widgets import files, models, train, training
from musegen_widgets.errors import MusegenError

import matplotlib
import pytest

matplotlib.use("Agg")


def test_every_shipped_model_has_a_recipe_the_manifest_agrees_with():
    manifest = files.read_manifest()
    assert set(models.RECIPES) == set(train.MODELS) == set(models.PRETRAINED)
    for name, recipe in models.RECIPES.items():
        entry = manifest[f"{name}.weights.h5"]
        assert entry["config"] == json.loads(json.dumps(recipe.config)), name  # what the shipped run used
        assert entry["built_by"] == f"python -m musegen_widgets.train {name}"
        assert recipe.epochs >= len(training.read_history(name)["epoch"]) >= 1


@pytest.mark.parametrize(
    ("name", "panels"),
    [("melody_lstm", 1), ("frame_lstm", 1), ("melody_vae", 3), ("chorale_gan", 2), ("melody_diffusion", 1)],
)
def test_plot_history_draws_each_kind_of_run(name, panels):
    drawn = training.plot_history(name)
    axes = [drawn] if panels == 1 else drawn
    assert len(axes) == panels
    epochs = len(training.read_history(name)["epoch"])
    assert all(len(line.get_xdata()) == epochs for axis in axes for line in axis.get_lines()[:2])
    matplotlib.pyplot.close("all")


def test_plot_history_of_a_run_of_your_own_on_your_axes():
    history = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "valid_nll": [0.9, 0.7], "unit": "nats"}
    figure, ax = matplotlib.pyplot.subplots()
    assert training.plot_history("mine", ax, history=history) is ax
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[1.0, 0.5], [0.9, 0.7]]
    with pytest.raises(MusegenError, match="needs 3 axes"):
        training.plot_history("melody_vae", ax)
    matplotlib.pyplot.close("all")


def test_read_history_names_a_missing_or_broken_file(tmp_path):
    with pytest.raises(MusegenError, match="no training history") as raised:
        training.read_history("melody_lstm", tmp_path)
    assert "melody_lstm.history.json" in str(raised.value)
    (tmp_path / "melody_lstm.history.json").write_text("{oops")
    with pytest.raises(MusegenError, match="not valid JSON"):
        training.read_history("melody_lstm", tmp_path)


def test_weights_saved_without_the_optimizer_load_to_the_same_model(tmp_path):
    import h5py
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)  # Adam now has moments to save
    model.save_weights(tmp_path / "full.weights.h5")
    training.drop_optimizer_state(tmp_path / "full.weights.h5", tmp_path / "lean.weights.h5")
    with h5py.File(tmp_path / "full.weights.h5") as full, h5py.File(tmp_path / "lean.weights.h5") as lean:
        assert "optimizer" in full and "optimizer" not in lean and set(lean) == set(full) - {"optimizer"}
    assert (tmp_path / "lean.weights.h5").stat().st_size < (tmp_path / "full.weights.h5").stat().st_size
    again = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    again.load_weights(tmp_path / "lean.weights.h5")
    for mine, theirs in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_every_shipped_weights_file_holds_no_optimizer_state():
    import h5py

    shipped = sorted(files.data_dir().glob("*.weights.h5"))
    assert len(shipped) >= 10
    for path in shipped:
        with h5py.File(path) as weights:
            assert not [key for key in weights if "optimizer" in key], path.name
