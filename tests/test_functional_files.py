"""Configs, JSON, clones and files of functional and Sequential models, and the files cnet wrote before
functional models."""
import json
import os

import numpy as np
import pytest

import cnet
from cnet.layers import Concatenate, Dense, Dropout, Input
from cnet.models import Model, Sequential, clone_model, load_model, model_from_config, model_from_json
from test_functional import _dag, _dag_data, _two_heads, _two_heads_data
from test_saving import _rewrite

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _siamese():
    cnet.set_seed(6)
    a, b = Input(shape=(4,), name="a"), Input(shape=(4,), name="b")
    shared = Dense(3, activation="relu", name="shared")
    h = Concatenate(name="cat")([shared(a), Dropout(0.2, seed=1, name="drop")(shared(b))])
    return Model([a, b], Dense(2, activation="softmax", name="head")(h), name="siamese")


def _sequential():
    cnet.set_seed(7)
    return Sequential([Dense(6, activation="relu", input_shape=(5,), name="h"), Dropout(0.3, seed=2),
                       Dense(3, activation="softmax", name="o")], name="seq")


def _inputs(model, n=5, seed=0):
    rng = np.random.default_rng(seed)
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    x = [rng.normal(size=(n,) + s).astype(model.dtype) for s in shapes]
    return x if len(x) > 1 else x[0]


def _same_outputs(a, b, x):
    pa, pb = a.predict(x), b.predict(x)
    for u, v in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
        np.testing.assert_array_equal(u, v)


MODELS = {"dag": lambda: _dag(dtype="float32"), "two_heads": _two_heads, "siamese": _siamese,
          "sequential": _sequential}


@pytest.mark.parametrize("which", sorted(MODELS))
def test_config_json_and_clone_round_trips(which):
    model = MODELS[which]()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    x = _inputs(model)
    for rebuilt in (type(model).from_config(config), model_from_json(model.to_json()),
                    model_from_config({"class_name": type(model).__name__, "config": config}), clone_model(model)):
        assert type(rebuilt) is type(model) and rebuilt.get_config() == config
        assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
        assert all(a is not b for a, b in zip(rebuilt.layers, model.layers))
        rebuilt.set_weights(model.get_weights())
        _same_outputs(rebuilt, model, x)
    clone = clone_model(model)                   # new weights, as Keras
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    assert clone._heads is None


def test_functional_config_is_keras_2s_layout():
    config = _siamese().get_config()
    assert config["name"] == "siamese" and config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["head", 0, 0]]
    layers = {spec["name"]: spec for spec in config["layers"]}
    assert layers["a"]["class_name"] == "InputLayer" and layers["a"]["inbound_nodes"] == []
    assert layers["shared"]["inbound_nodes"] == [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]
    assert layers["cat"]["inbound_nodes"] == [[["shared", 0, 0, {}], ["drop", 0, 0, {}]]]
    assert layers["drop"]["inbound_nodes"] == [[["shared", 1, 0, {}]]]


@pytest.mark.parametrize("change, match", [
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(0, "nope"), "no layer named 'nope'"),
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(1, 5), r"\('a', 5\)"),
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(3, {"training": True}), "call arguments"),
    (lambda c: c.__setitem__("output_layers", []), "non-empty 'output_layers'"),
    (lambda c: c.__setitem__("input_layers", [["shared", 0, 0]]), "not an InputLayer"),
    (lambda c: c["layers"][2].__setitem__("inbound_nodes", []), "'shared' is not connected"),
    (lambda c: c["layers"][2].__setitem__("class_name", "os.system"), "unknown layer class 'os.system'"),
    (lambda c: c["layers"][3]["inbound_nodes"][0][0].__setitem__(0, "drop"), r"takes \[\('drop', 1\)\]"),
])
def test_malformed_functional_configs_are_refused(change, match):
    config = _siamese().get_config()
    change(config)
    with pytest.raises(ValueError, match=match):
        Model.from_config(config)


@pytest.mark.parametrize("which", sorted(MODELS))
def test_save_and_load_resume_bit_for_bit(which, tmp_path):
    """A model saved after an epoch and loaded continues as the model that was never saved: weights,
    compile configuration (per output losses, weights, metrics), optimizer and training state."""
    model = MODELS[which]()
    x = _inputs(model, 24, seed=1)
    rng = np.random.default_rng(2)
    if which == "two_heads":
        x, y = _two_heads_data(24)
        model.compile("adam", {"cls": "sparse_categorical_crossentropy", "reg": "mse"}, loss_weights=[1, 0.3],
                      metrics={"cls": ["acc"], "reg": ["mae"]})
    elif which == "dag":
        x, y = _dag_data(24)
        x = [a.astype(np.float32) for a in x]
        model.compile("adam", ["sparse_categorical_crossentropy", "mse"], metrics=["accuracy"])
    else:
        y = rng.integers(0, model.output_shape[-1], 24)
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, seed=3)
    path = str(tmp_path / "m.cnet.npz")
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    assert loaded.metrics_names == model.metrics_names
    _same_outputs(loaded, model, x)
    h1 = model.fit(x, y, batch_size=8, epochs=2, initial_epoch=1, verbose=0)
    h2 = loaded.fit(x, y, batch_size=8, epochs=2, initial_epoch=loaded.training_state["epoch"], verbose=0)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save_weights(str(tmp_path / "w.npz"))
    fresh = MODELS[which]()
    fresh.load_weights(str(tmp_path / "w.npz"))
    _same_outputs(fresh, model, x)


def test_a_sequential_file_keeps_its_format(tmp_path):
    model = _sequential()
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    path = str(tmp_path / "s.npz")
    model.save(path)
    with np.load(path) as f:
        header = json.loads(f["__model__.json"].decode("utf-8"))
    assert header["model"]["class_name"] == "Sequential"
    assert sorted(header["model"]["config"]) == ["dtype", "input_shape", "layers", "name"]
    assert header["compile"] == {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                                 "optimizer": header["compile"]["optimizer"]}
    assert [entry["key"] for entry in header["weights"][0]] == ["layers/0/0", "layers/0/1"]


def test_a_sequential_compiled_before_it_was_built_saves_its_loss_weight(tmp_path):
    model = Sequential([Dense(3, activation="softmax", name="last")])
    model.compile("sgd", "categorical_crossentropy", loss_weights=[0.5])
    x, y = np.ones((4, 2), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    model.train_on_batch(x, y)
    plain = cnet.losses.categorical_crossentropy(y, model.predict(x)).mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.5 * plain, rel=1e-5)
    model.save(str(tmp_path / "s.npz"))
    loaded = load_model(str(tmp_path / "s.npz"))
    assert loaded._heads.config()["loss_weights"] == {"last": 0.5}
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("conv_engine", ["im2col"], indirect=True)
def test_a_file_written_before_functional_models_loads_and_resumes(conv_engine):
    """tests/data/main_sequential.cnet.npz was written by cnet's main branch before this engine
    (tests/data/make_main_sequential.py): it loads, predicts and resumes training as it did. On the
    convolution engine of then (im2col): its conv bias gets a near-zero gradient (batch norm after the
    pooling, batches of 4), which Adam turns into a full step, so the direct engine's other summation
    order moves that one weight by 2 % after an epoch."""
    expected = np.load(os.path.join(DATA, "main_sequential_expected.npz"))
    model = load_model(os.path.join(DATA, "main_sequential.cnet.npz"))
    assert isinstance(model, Sequential) and model.name == "main_file" and model.training_state["epoch"] == 2
    np.testing.assert_allclose(model.predict(expected["x"]), expected["probs"], rtol=1e-5, atol=1e-7)
    h = model.fit(expected["x"], expected["y"], batch_size=4, epochs=3, initial_epoch=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], expected["loss_epoch_3"], rtol=1e-5)
    np.testing.assert_allclose(np.concatenate([w.ravel() for w in model.get_weights()]),
                               expected["weights_after_epoch_3"], rtol=1e-4, atol=1e-6)


def _saved(tmp_path, model):
    path = str(tmp_path / "f.npz")
    model.save(path)
    return path


def test_a_functional_file_is_checked_before_anything_is_allocated(tmp_path):
    path = _saved(tmp_path, _siamese())
    huge = str(tmp_path / "huge.npz")
    _rewrite(path, huge, header=lambda h: h["model"]["config"]["layers"][0]["config"].__setitem__(
        "input_shape", [1 << 14, 1 << 13]))
    with pytest.raises(ValueError, match=r"huge.npz: input 'a' has shape \(16384, 8192\), more than 67108864"):
        load_model(huge)
    wide = str(tmp_path / "wide.npz")
    _rewrite(path, wide, header=lambda h: h["model"]["config"]["layers"][2]["config"].__setitem__("units", 5))
    with pytest.raises(ValueError, match=r"wide.npz: array 'layers/2/0' \(layer 2 'shared', weight 0 W\) has "
                                         r"shape \(4, 3\), expected \(4, 5\)"):
        load_model(wide)
    other = str(tmp_path / "other.npz")
    _rewrite(path, other, header=lambda h: h["model"].__setitem__("class_name", "Subclassed"))
    with pytest.raises(ValueError, match="unknown model class 'Subclassed'"):
        load_model(other)


def test_custom_objects_and_bad_json_are_refused():
    with pytest.raises(ValueError, match="custom_objects is not supported"):
        model_from_json(_siamese().to_json(), custom_objects={"X": object})
    with pytest.raises(ValueError, match="not JSON"):
        model_from_json("{nope")
    with pytest.raises(ValueError, match="unknown model class 'Graph'"):
        model_from_config({"class_name": "Graph", "config": {}})
