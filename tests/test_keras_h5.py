"""Keras 2 HDF5 files (cnet.keras_h5): files written here with h5py from known arrays in Keras's layout, as
Keras 2.1, 2.2 and tf.keras write them (no TensorFlow needed), read into channels-first and channels-last
cnet models and compared with a NumPy implementation of the Keras model; cnet's own .h5 files read back and
checked against the same NumPy model (what Keras would compute from them); errors."""
import json
import os
import sys

import numpy as np
import pytest

import cnet
from cnet import backend as K
from cnet import layers as L
from cnet.models import Sequential, load_model

h5py = pytest.importorskip("h5py", reason="cnet[h5] (h5py) is not installed: the Keras HDF5 tests need it")

RNG = np.random.default_rng(7)
IN = (12, 12, 2)     # the Keras model's channels-last input


@pytest.fixture(autouse=True)
def _unset_image_data_format(monkeypatch):
    monkeypatch.setitem(K._settings, "image_data_format", None)


# ---- the Keras model: its arrays, its configs as Keras writes them, and its computation in NumPy ----

def keras_weights(seed=0):
    rng = np.random.default_rng(seed)
    n = rng.standard_normal
    return {
        "conv2d_1": [n((3, 3, 2, 4)) * 0.3, n(4) * 0.1],                # (kh, kw, C, filters)
        "conv2d_2": [n((3, 3, 4, 3)) * 0.3, n(3) * 0.1],
        "batch_normalization_1": [1 + 0.1 * n(3), 0.1 * n(3), 0.1 * n(3), 1 + rng.random(3)],
        "dense_1": [n((5 * 5 * 3, 6)) * 0.2, n(6) * 0.1],               # rows in (h, w, c) order
        "dense_2": [n((6, 3)) * 0.5, n(3) * 0.1],
    }


ORDER = ["conv2d_1", "conv2d_2", "batch_normalization_1", "activation_1", "max_pooling2d_1", "dropout_1",
         "flatten_1", "dense_1", "dense_2"]
WEIGHT_NAMES = {"conv2d_1": ["kernel", "bias"], "conv2d_2": ["kernel", "bias"], "dense_1": ["kernel", "bias"],
                "dense_2": ["kernel", "bias"],
                "batch_normalization_1": ["gamma", "beta", "moving_mean", "moving_variance"]}


def keras_layer_configs(flavour="2.2"):
    glorot = ({"class_name": "GlorotUniform", "config": {"seed": None}} if flavour == "tf" else
              {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
                                                           "distribution": "uniform", "seed": None}})
    zeros = {"class_name": "Zeros", "config": {}}
    none = dict(kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                bias_constraint=None)
    conv = dict(strides=[1, 1], data_format="channels_last", dilation_rate=[1, 1], use_bias=True,
                kernel_initializer=glorot, bias_initializer=zeros, **none)
    first = {} if flavour == "tf" else {"batch_input_shape": [None, *IN], "dtype": "float32"}
    specs = [
        ("Conv2D", dict(name="conv2d_1", trainable=True, filters=4, kernel_size=[3, 3], padding="valid",
                        activation="relu", **first, **conv)),
        ("Conv2D", dict(name="conv2d_2", trainable=True, filters=3, kernel_size=[3, 3], padding="same",
                        activation="linear", **conv)),
        ("BatchNormalization", dict(name="batch_normalization_1", trainable=True, axis=[3] if flavour == "tf" else -1,
                                    momentum=0.99, epsilon=0.001, center=True, scale=True,
                                    beta_initializer=zeros, gamma_initializer={"class_name": "Ones", "config": {}},
                                    moving_mean_initializer=zeros,
                                    moving_variance_initializer={"class_name": "Ones", "config": {}},
                                    beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                                    gamma_constraint=None)),
        ("Activation", dict(name="activation_1", trainable=True, activation="relu")),
        ("MaxPooling2D", dict(name="max_pooling2d_1", trainable=True, pool_size=[2, 2], padding="valid",
                              strides=[2, 2], data_format="channels_last")),
        ("Dropout", dict(name="dropout_1", trainable=True, rate=0.25, noise_shape=None, seed=None)),
        ("Flatten", dict(name="flatten_1", trainable=True, **({"data_format": "channels_last"}
                                                             if flavour != "2.1" else {}))),
        ("Dense", dict(name="dense_1", trainable=True, units=6, activation="relu", use_bias=True,
                       kernel_initializer=glorot, bias_initializer=zeros, **none)),
        ("Dense", dict(name="dense_2", trainable=True, units=3, activation="softmax", use_bias=True,
                       kernel_initializer=glorot, bias_initializer=zeros, **none)),
    ]
    layers = [{"class_name": c, "config": cfg} for c, cfg in specs]
    if flavour == "tf":
        layers.insert(0, {"class_name": "InputLayer", "config": {"batch_input_shape": [None, *IN],
                                                                 "dtype": "float32", "sparse": False,
                                                                 "ragged": False, "name": "conv2d_1_input"}})
    if flavour == "2.1":
        return {"class_name": "Sequential", "config": layers}
    return {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}


def _attr(value, flavour):
    # Keras 2 writes bytes (h5py 3 reads them back as str); tf.keras >= 2.5 writes str
    return value if flavour == "tf" else value.encode("utf-8")


def write_keras_file(path, weights, flavour="2.2", whole=True, layer_names=ORDER, backend="tensorflow",
                     keras_version=None, config=None):
    version = keras_version or {"2.1": "2.1.6", "2.2": "2.2.4", "tf": "2.4.0"}[flavour]
    with h5py.File(path, "w") as f:
        if whole:
            f.attrs["keras_version"] = _attr(version, flavour)
            f.attrs["backend"] = _attr(backend, flavour)
            f.attrs["model_config"] = _attr(json.dumps(config or keras_layer_configs(flavour)), flavour)
            g = f.create_group("model_weights")
        else:
            g = f
        g.attrs["layer_names"] = [n.encode("utf-8") for n in layer_names]
        if keras_version != "":
            g.attrs["keras_version"] = _attr(version, flavour)
        g.attrs["backend"] = _attr(backend, flavour)
        for name in layer_names:
            lg = g.create_group(name)
            names = [f"{name}/{w}:0" for w in WEIGHT_NAMES.get(name, [])]
            lg.attrs["weight_names"] = [n.encode("utf-8") for n in names]
            for wname, value in zip(names, weights.get(name, [])):
                lg.create_dataset(wname, data=np.asarray(value, np.float32))
    return path


def keras_predict(x, w, padding2="same"):
    """The Keras model computed with NumPy: x (N, H, W, C)."""
    def conv(x, k, b, padding):
        kh, kw = k.shape[:2]
        if padding == "same":
            x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
        oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
        out = sum(np.einsum("nhwc,cf->nhwf", x[:, i:i + oh, j:j + ow], k[i, j]) for i in range(kh) for j in range(kw))
        return out + b
    relu = lambda z: np.maximum(z, 0)   # noqa: E731
    y = relu(conv(x, *w["conv2d_1"], "valid"))
    y = conv(y, *w["conv2d_2"], padding2)
    gamma, beta, mean, var = w["batch_normalization_1"]
    y = relu((y - mean) / np.sqrt(var + 1e-3) * gamma + beta)
    n, h, wd, c = y.shape
    y = y[:, :h // 2 * 2, :wd // 2 * 2].reshape(n, h // 2, 2, wd // 2, 2, c).max(axis=(2, 4))
    y = relu(y.reshape(n, -1) @ w["dense_1"][0] + w["dense_1"][1])
    z = y @ w["dense_2"][0] + w["dense_2"][1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cnet_model(data_format):
    kw = {"data_format": data_format}
    shape = IN if data_format == "channels_last" else (IN[2], IN[0], IN[1])
    return Sequential([L.Conv2D(4, 3, activation="relu", input_shape=shape, name="conv2d_1", **kw),
                       L.Conv2D(3, 3, padding="same", name="conv2d_2", **kw),
                       L.BatchNormalization(name="batch_normalization_1"), L.Activation("relu", name="activation_1"),
                       L.MaxPooling2D(name="max_pooling2d_1", **kw), L.Dropout(0.25, name="dropout_1"),
                       L.Flatten(name="flatten_1"), L.Dense(6, activation="relu", name="dense_1"),
                       L.Dense(3, activation="softmax", name="dense_2")], dtype="float64")


def _x(n=5):
    return RNG.standard_normal((n,) + IN)


def _cf(x):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _for(data_format, x):
    """Channels-last images x as the model of that data format takes them."""
    return x if data_format == "channels_last" else _cf(x)


# ---- reading Keras's files -------------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["2.1", "2.2", "tf"])
@pytest.mark.parametrize("whole", [True, False], ids=["model_file", "weights_file"])
def test_keras_file_into_cnet_models(tmp_path, flavour, whole):
    w = keras_weights()
    path = write_keras_file(tmp_path / "k.h5", w, flavour, whole=whole)
    x = _x()
    expected = keras_predict(x, {k: [np.float32(a) for a in v] for k, v in w.items()})
    for data_format in ("channels_first", "channels_last"):
        model = cnet_model(data_format)
        model.load_weights(str(path))
        np.testing.assert_allclose(model.predict(_for(data_format, x)), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=data_format)


@pytest.mark.parametrize("flavour", ["2.1", "2.2", "tf"])
def test_load_model_builds_the_keras_model(tmp_path, flavour):
    w = keras_weights()
    path = write_keras_file(tmp_path / "k.hdf5", w, flavour)
    model = load_model(path)
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "Conv2D", "BatchNormalization",
                                                                "Activation", "MaxPooling2D", "Dropout", "Flatten",
                                                                "Dense", "Dense"]
    assert model.input_shape == IN and model.layers[0].data_format == "channels_last"
    assert model.layers[2].axis in (-1, 3) and model.layers[0].get_weights()[0].shape == (4, 2, 3, 3)
    x = _x()
    np.testing.assert_allclose(model.predict(x), keras_predict(x, w), rtol=1e-5, atol=1e-6)
    assert model.optimizer is None       # no training_config in the file


def test_training_config_compiles(tmp_path):
    path = write_keras_file(tmp_path / "k.h5", keras_weights())
    training = {"optimizer_config": {"class_name": "Adam", "config": {"lr": 0.002, "beta_1": 0.9, "beta_2": 0.999,
                                                                     "decay": 0.0, "epsilon": 1e-7,
                                                                     "amsgrad": False}},
                "loss": "categorical_crossentropy", "metrics": ["accuracy"], "sample_weight_mode": None,
                "loss_weights": None}
    with h5py.File(path, "a") as f:
        f.attrs["training_config"] = json.dumps(training).encode()
    model = load_model(path)
    assert type(model.optimizer).__name__ == "Adam" and model.optimizer.learning_rate == pytest.approx(0.002)
    assert model.metrics_names == ["loss", "accuracy"]
    x, y = _x(4), np.eye(3)[[0, 1, 2, 0]]
    model.fit(x, y, epochs=1, verbose=0)
    assert load_model(path, compile=False).optimizer is None
    training["optimizer_config"]["config"]["amsgrad"] = True
    with h5py.File(path, "a") as f:
        f.attrs["training_config"] = json.dumps(training).encode()
    with pytest.raises(ValueError, match=r"amsgrad=True is not supported.*compile=False"):
        load_model(path)
    training["optimizer_config"] = {"class_name": "Nadam", "config": {"lr": 0.001, "clipvalue": 0.5,
                                                                      "schedule_decay": 0.004}}
    with h5py.File(path, "a") as f:
        f.attrs["training_config"] = json.dumps(training).encode()
    opt = load_model(path).optimizer
    assert type(opt).__name__ == "Nadam" and opt.clipvalue == 0.5 and opt.lr == 0.001
    training["optimizer_config"]["config"]["clipnorm"] = 1.0       # per array in tf.keras, joint before
    with h5py.File(path, "a") as f:
        f.attrs["training_config"] = json.dumps(training).encode()
    with pytest.raises(ValueError, match=r"clipnorm=1.0 is not supported"):
        load_model(path)


def test_by_name(tmp_path):
    w = keras_weights()
    path = write_keras_file(tmp_path / "k.h5", w, whole=False)
    model = cnet_model("channels_first")
    model.layers[0].name = "other"           # not in the file: keeps its weights
    before = model.layers[0].get_weights()
    model.load_weights(path, by_name=True)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], before[0])
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], w["conv2d_2"][0].astype(np.float32)
                                  .transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(model.get_layer("batch_normalization_1").get_weights()[3],
                                  w["batch_normalization_1"][3].astype(np.float32))
    with pytest.raises(ValueError, match="holds weights for 5 layers but the model has 4"):
        cnet_model("channels_first").__class__([L.Dense(3, input_shape=(4,)), L.Dense(3), L.Dense(3),
                                                L.Dense(3)]).load_weights(path)


def test_theano_kernels_are_flipped(tmp_path):
    w = keras_weights()
    flipped = {k: [a.copy() for a in v] for k, v in w.items()}
    for name in ("conv2d_1", "conv2d_2"):
        flipped[name][0] = flipped[name][0][::-1, ::-1]
    path = write_keras_file(tmp_path / "th.h5", flipped, backend="theano")
    model = cnet_model("channels_last")
    model.load_weights(path)
    x = _x()
    np.testing.assert_allclose(model.predict(x), keras_predict(x, w), rtol=1e-5, atol=1e-6)


def keras_functional_config(flavour="2.2"):
    """The same model as Keras 2's functional Model: an InputLayer, then each layer called on the previous."""
    layers = [spec for spec in keras_layer_configs("tf" if flavour == "tf" else "2.2")["config"]["layers"]
              if spec["class_name"] != "InputLayer"]
    layers[0]["config"].pop("batch_input_shape", None)
    out = [{"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [],
            "config": {"batch_input_shape": [None, *IN], "dtype": "float32", "sparse": False, "name": "input_1"}}]
    previous = "input_1"
    for spec in layers:
        name = spec["config"]["name"]
        out.append(dict(spec, name=name, inbound_nodes=[[[previous, 0, 0, {}]]]))
        previous = name
    return {"class_name": "Model" if flavour != "tf" else "Functional",
            "config": {"name": "model_1", "layers": out, "input_layers": [["input_1", 0, 0]],
                       "output_layers": [[previous, 0, 0]]}}


@pytest.mark.parametrize("flavour", ["2.2", "tf"])
def test_keras_functional_model_file(tmp_path, flavour):
    w = keras_weights()
    path = write_keras_file(tmp_path / "f.h5", w, flavour, config=keras_functional_config(flavour),
                            layer_names=["input_1"] + ORDER)
    model = load_model(path)
    assert type(model).__name__ == "Model" and model.layers[0].name == "input_1"
    x = _x()
    np.testing.assert_allclose(model.predict(x), keras_predict(x, w), rtol=1e-5, atol=1e-6)
    cf = cnet_model("channels_first")
    cf.load_weights(path)                               # a functional file into a Sequential: in order
    np.testing.assert_allclose(cf.predict(_cf(x)), keras_predict(x, w), rtol=1e-5, atol=1e-6)


def test_functional_cnet_model_written_and_read(tmp_path):
    inputs = L.Input(shape=(IN[2], IN[0], IN[1]))                       # channels-first images
    a = L.Conv2D(4, 3, activation="relu", data_format="channels_first", name="ca")(inputs)
    b = L.Conv2D(4, 3, data_format="channels_first", name="cb")(inputs)
    merged = L.Concatenate(axis=1, name="cat")([a, b])                  # along the channels
    flat = L.Flatten(name="fl")(L.MaxPooling2D(data_format="channels_first", name="mp")(merged))
    outputs = L.Dense(3, activation="softmax", name="d")(flat)
    model = cnet.models.Model(inputs, outputs)
    x = _x()
    expected = model.predict(_cf(x))
    model.save(tmp_path / "f.h5")
    with h5py.File(tmp_path / "f.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
    specs = {spec["name"]: spec for spec in config["config"]["layers"]}
    assert config["class_name"] == "Model" and specs["cat"]["config"]["axis"] == 3
    assert specs[inputs.layer.name]["config"]["batch_input_shape"] == [None, *IN]
    assert specs["cat"]["inbound_nodes"] == [[["ca", 0, 0, {}], ["cb", 0, 0, {}]]]
    loaded = load_model(tmp_path / "f.h5")          # its channels-last twin
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-6, atol=1e-7)
    model.save_weights(tmp_path / "w.h5")
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([np.zeros_like(v) for v in layer.get_weights()])
    model.load_weights(tmp_path / "w.h5")
    np.testing.assert_allclose(model.predict(_cf(x)), expected, rtol=1e-12)


def test_channels_first_keras_21_model_flattens_channels_first(tmp_path):
    """A Keras 2.1 model written for Theano's channels_first flattens (C, H, W): no reordering then."""
    config = keras_layer_configs("2.1")
    for spec in config["config"]:
        if "data_format" in spec["config"]:
            spec["config"]["data_format"] = "channels_first"
        if spec["class_name"] == "BatchNormalization":
            spec["config"]["axis"] = 1
    spec0 = config["config"][0]["config"]
    spec0["batch_input_shape"] = [None, IN[2], IN[0], IN[1]]
    w = keras_weights()
    path = write_keras_file(tmp_path / "cf.h5", w, "2.1", config=config)
    model = load_model(path)
    assert model.layers[0].data_format == "channels_first"
    ref = cnet_model("channels_first")
    ref.load_weights(path)
    np.testing.assert_array_equal(ref.layers[-2].get_weights()[0], w["dense_1"][0].astype(np.float32))
    x = _cf(_x())
    np.testing.assert_allclose(model.predict(x), ref.predict(x), rtol=1e-6)


# ---- writing Keras's files --------------------------------------------------------------------------

def _trained(data_format):
    cnet.set_seed(3)
    model = cnet_model(data_format)
    model.compile("adam", "categorical_crossentropy")
    x = _x(8)
    model.fit(_for(data_format, x), np.eye(3)[RNG.integers(0, 3, 8)], epochs=2,
              verbose=0)
    return model


def _file_weights(path, group="model_weights"):
    out = {}
    with h5py.File(path, "r") as f:
        g = f[group] if group else f
        for name in g.attrs["layer_names"]:
            name = name.decode()
            names = [n.decode() for n in g[name].attrs["weight_names"]]
            if names:
                out[name] = [g[name][n][()] for n in names]
    return out


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_save_writes_the_keras_model(tmp_path, data_format):
    model = _trained(data_format)
    path = tmp_path / "m.h5"
    model.save(path)
    x = _x()
    expected = model.predict(_for(data_format, x))
    with h5py.File(path, "r") as f:
        assert f.attrs["keras_version"] == b"2.2.4" and f.attrs["backend"] == b"tensorflow"
        config = json.loads(f.attrs["model_config"])
        g = f["model_weights"]
        assert [n.decode() for n in g.attrs["layer_names"]] == ORDER
        assert list(g["conv2d_1"].attrs["weight_names"]) == [b"conv2d_1/kernel:0", b"conv2d_1/bias:0"]
        assert list(g["flatten_1"].attrs["weight_names"]) == []
        assert g["conv2d_1/conv2d_1/kernel:0"].shape == (3, 3, 2, 4)
    layers = config["config"]["layers"]
    assert config["class_name"] == "Sequential" and layers[0]["config"]["batch_input_shape"] == [None, *IN]
    assert [spec["class_name"] for spec in layers] == ["Conv2D", "Conv2D", "BatchNormalization", "Activation",
                                                       "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dense"]
    assert all(spec["config"]["data_format"] == "channels_last" for spec in layers if "data_format" in spec["config"])
    assert layers[2]["config"]["axis"] == -1
    # what Keras computes from the file is what the cnet model computes
    np.testing.assert_allclose(keras_predict(x, _file_weights(path)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(load_model(path).predict(x), expected, rtol=1e-6, atol=1e-7)   # channels-last


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_save_weights_round_trips(tmp_path, data_format):
    model = _trained(data_format)
    path = tmp_path / "w.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert "model_config" not in f.attrs and f.attrs["keras_version"] == b"2.2.4"
    x = _x()
    expected = model.predict(_for(data_format, x))
    np.testing.assert_allclose(keras_predict(x, _file_weights(path, group=None)), expected, rtol=1e-5, atol=1e-6)
    for other in ("channels_first", "channels_last"):
        fresh = cnet_model(other)
        fresh.load_weights(path)
        np.testing.assert_allclose(fresh.predict(_for(other, x)), expected, rtol=1e-12)
    same = cnet_model(data_format)
    same.load_weights(path)
    for a, b in zip(same.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_what_a_keras_file_cannot_express(tmp_path):
    padded = Sequential([L.Conv2D(2, 3, padding=1, input_shape=(1, 8, 8)), L.Flatten(), L.Dense(2)])
    with pytest.raises(NotImplementedError, match=r"padding=\(1, 1\).*save_weights"):
        padded.save(tmp_path / "p.h5")
    padded.save_weights(tmp_path / "p.h5")               # the weights alone are fine
    dense_on_images = Sequential([L.Conv2D(2, 3, input_shape=(1, 8, 8)), L.Dense(4)])
    with pytest.raises(NotImplementedError, match="Dense on channels-first images"):
        dense_on_images.save_weights(tmp_path / "d.h5")
    book = Sequential([L.Dense(3, input_shape=(4,)), L.Dropout(dropout_ratio=0.5)])
    with pytest.raises(NotImplementedError, match="scales at inference"):
        book.save(tmp_path / "b.h5")
    assert sorted(os.listdir(tmp_path)) == ["p.h5"]
    with pytest.raises(FileExistsError, match="overwrite=False"):
        padded.save_weights(tmp_path / "p.h5", overwrite=False)
    with pytest.raises(ValueError, match="not built"):
        Sequential([L.Dense(2)]).save(tmp_path / "u.h5")


def test_nan_weights_are_not_written(tmp_path):
    model = Sequential([L.Dense(2, input_shape=(3,))])
    w = model.get_weights()
    w[0][0, 0] = np.nan
    model.layers[0].params["W"][...] = w[0]
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.save_weights(tmp_path / "n.h5")
    assert not os.listdir(tmp_path)


# ---- bad files -----------------------------------------------------------------------------------------

def test_bad_keras_files(tmp_path):
    w = keras_weights()
    model = cnet_model("channels_last")
    k1 = write_keras_file(tmp_path / "k1.h5", w, whole=False, keras_version="")   # no keras_version: Keras 1
    with pytest.raises(ValueError, match="Keras 1 files are not supported"):
        model.load_weights(k1)
    bad = {k: [a.copy() for a in v] for k, v in w.items()}
    bad["dense_1"][0] = bad["dense_1"][0][:-1]
    with pytest.raises(ValueError, match=r"layer 'dense_1', weight 'dense_1/kernel:0' has shape \(74, 6\), "
                                         r"expected \(75, 6\)"):
        model.load_weights(write_keras_file(tmp_path / "s.h5", bad))
    bad = {k: [a.copy() for a in v] for k, v in w.items()}
    bad["dense_2"][1][0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.load_weights(write_keras_file(tmp_path / "n.h5", bad))
    missing = write_keras_file(tmp_path / "m.h5", w)
    with h5py.File(missing, "a") as f:
        del f["model_weights/dense_2/dense_2/bias:0"]
    with pytest.raises(ValueError, match="weight 'dense_2/bias:0' is missing"):
        model.load_weights(missing)
    odd = write_keras_file(tmp_path / "o.h5", w, config={"class_name": "Graph", "config": {"layers": []}})
    with pytest.raises(NotImplementedError, match="Keras Graph model"):
        load_model(odd)
    model.load_weights(odd)        # the weights load in order all the same
    broken = write_keras_file(tmp_path / "f.h5", w, config={"class_name": "Model", "config": {"layers": []}})
    with pytest.raises(ValueError, match=r"f.h5: a functional model config needs a non-empty 'input_layers'"):
        load_model(broken)
    config = keras_layer_configs()
    config["config"]["layers"][3] = {"class_name": "LSTM", "config": {"name": "activation_1", "units": 3}}
    with pytest.raises(NotImplementedError, match="Keras layer class 'LSTM' is not supported"):
        load_model(write_keras_file(tmp_path / "l.h5", w, config=config))
    config = keras_layer_configs()
    config["config"]["layers"][0]["config"]["kernel_constraint"] = {"class_name": "MaxNorm", "config": {}}
    with pytest.raises(NotImplementedError, match="layer 0 .*kernel_constraint is not supported"):
        load_model(write_keras_file(tmp_path / "r.h5", w, config=config))
    (tmp_path / "t.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        model.load_weights(tmp_path / "t.h5")
    os.mkfifo(tmp_path / "fifo.h5")
    with pytest.raises(ValueError, match="FIFO"):
        from cnet import keras_h5
        keras_h5.load_weights(model, tmp_path / "fifo.h5")


def test_unbuilt_model_and_cnet_files_named_h5(tmp_path):
    path = write_keras_file(tmp_path / "k.h5", keras_weights(), whole=False)
    model = Sequential([L.Conv2D(4, 3, activation="relu", data_format="channels_last"), L.Dense(2)])
    with pytest.raises(ValueError, match="not built.*input_shape"):
        model.load_weights(path)
    m = Sequential([L.Dense(2, input_shape=(3,))])
    m.save(tmp_path / "cnet.bin")
    os.replace(tmp_path / "cnet.bin", tmp_path / "old.h5")      # a cnet file of before, named .h5
    np.testing.assert_array_equal(load_model(tmp_path / "old.h5").get_weights()[0], m.get_weights()[0])


def test_without_h5py(tmp_path, monkeypatch):
    path = write_keras_file(tmp_path / "k.h5", keras_weights(), whole=False)
    monkeypatch.setitem(sys.modules, "h5py", None)
    model = cnet_model("channels_last")
    with pytest.raises(ImportError, match=r'pip install "cnet\[h5\]"'):
        model.load_weights(path)
    with pytest.raises(ImportError, match=r'pip install "cnet\[h5\]"'):
        model.save(tmp_path / "x.h5")
    with pytest.raises(ImportError, match=r'pip install "cnet\[h5\]"'):
        load_model(path)
    model.save(tmp_path / "x.cnet")          # cnet's own format needs no h5py


def test_a_small_file_declaring_a_large_model_allocates_nothing(tmp_path):
    n = 10 ** 6                      # a Dense of 10^12 weights: 4 TB if it were built
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "big", "units": n, "batch_input_shape": [None, n]}}]}}
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"big"]
        g.attrs["keras_version"] = b"2.2.4"
        lg = g.create_group("big")
        lg.attrs["weight_names"] = [b"big/kernel:0", b"big/bias:0"]
        lg.create_dataset("big/kernel:0", shape=(n, n), dtype="float32", chunks=(1000, 1000))   # nothing written
        lg.create_dataset("big/bias:0", shape=(n,), dtype="float32", chunks=(1000,))
    assert os.path.getsize(path) < 100000
    with pytest.raises(ValueError, match=r"'big/kernel:0' declares shape \(1000000, 1000000\).*but stores 0 bytes"):
        load_model(path)
    with h5py.File(path, "a") as f:
        del f["model_weights/big/big/kernel:0"]
        f["model_weights/big"].create_dataset("big/kernel:0", data=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"has shape \(3, 3\), the model_config says \(1000000, 1000000\)"):
        load_model(path)
    config["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 10 ** 9]
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match="would take inputs of shape"):
        load_model(path)
