"""Weights stored in 16 bits for inference (Layer/Model.set_weight_dtype, the book networks'
set_weight_dtype): the kernels compute bit for bit what they compute with full-precision weights equal
to the 16-bit values (every SIMD path, 1/2/3/7 threads, float32 and float64 layers, float16 and
bfloat16), half the memory, get/set_weights and saving, training refused until widened back, and clear
errors for what cannot be honoured."""
import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import models
from cnet.book import DeepConvNet, SimpleConvNet
from cnet.layers import _half
from helpers import run_c

FORMATS = ("float16", "bfloat16")


def _model(dtype, channels_last=False):
    shape = (9, 8, 3) if channels_last else (3, 9, 8)
    fmt = "channels_last" if channels_last else "channels_first"
    return models.Sequential([
        L.Conv2D(5, 3, padding="same", activation="relu", input_shape=shape, data_format=fmt),
        L.BatchNormalization(axis=-1 if channels_last else 1),
        L.MaxPooling2D(2, data_format=fmt), L.Conv2D(7, (2, 3), data_format=fmt), L.Flatten(),
        L.Dense(11, activation="relu"), L.Dense(4, activation="softmax")], dtype=dtype, seed=3)


def _rounded(w, fmt):
    """w rounded to fmt by the reference, back in w's dtype."""
    if fmt == "float16":
        return w.astype(np.float16).astype(w.dtype)
    w32 = cnet.reference.cast_to_float32(cnet.reference.cast_from_float32(w.astype(np.float32), fmt), fmt)
    return w32.astype(w.dtype)


@pytest.mark.parametrize("threads", (1, 2, 3, 7))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
@pytest.mark.parametrize("fmt", FORMATS)
def test_stored_weights_compute_what_full_precision_weights_compute(simd, fmt, dtype, threads):
    half, full = _model(dtype), _model(dtype)
    rng = np.random.default_rng(0)
    weights = [np.abs(w + rng.standard_normal(w.shape).astype(dtype) * 0.1) if i == 5     # a variance
               else w + rng.standard_normal(w.shape).astype(dtype) * 0.1 for i, w in enumerate(half.get_weights())]
    half.set_weights(weights)
    half.set_weight_dtype(fmt)
    # float32 weights: the reference's rounding; float64 (dyadic + 0.1 noise) rounded the same way
    full.set_weights([_rounded(w, fmt) if i not in (4, 5) else w           # BN running stats stay
                      for i, w in enumerate(weights)])
    x = rng.standard_normal((6, 3, 9, 8)).astype(dtype)
    got = run_c(half.predict, x, threads=threads)
    want = run_c(full.predict, x, threads=threads)
    assert got.dtype == dtype and np.isfinite(got).all()
    np.testing.assert_array_equal(got, want)
    assert [w.dtype for w in half.get_weights()] == [np.dtype(dtype)] * len(weights)
    for a, b in zip(half.get_weights(), full.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
def test_channels_last_and_memory(fmt):
    m = _model(np.float32, channels_last=True)
    x = np.random.default_rng(1).standard_normal((4, 9, 8, 3)).astype(np.float32)
    before = sum(p.nbytes for p in m.params.values())
    ref = _model(np.float32, channels_last=True)
    m.set_weights([w + 0.25 for w in m.get_weights()])          # nonzero biases
    ref.set_weights([_rounded(w, fmt) if i not in (4, 5) else w for i, w in enumerate(m.get_weights())])
    m.set_weight_dtype(fmt)
    assert sum(p.nbytes for p in m.params.values()) * 2 == before
    assert {p.dtype for p in m.params.values()} == {np.dtype(np.float16 if fmt == "float16" else np.uint16)}
    assert {layer.weight_dtype for layer in m.layers if layer.params} == {fmt}
    assert all(not layer.grads for layer in m.layers)          # no float32 gradients kept either
    np.testing.assert_array_equal(m.predict(x), ref.predict(x))


def test_training_refused_then_restored(tmp_path):
    m = _model(np.float32)
    m.compile("sgd", "categorical_crossentropy")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 3, 9, 8)).astype(np.float32), np.eye(4, dtype=np.float32)[rng.integers(0, 4, 8)]
    m.set_weight_dtype("float16")
    m.evaluate(x, y, verbose=0)                                 # inference works
    with pytest.raises(RuntimeError, match="stored in float16 for inference.*set_weight_dtype\\(None\\)"):
        m.fit(x, y, epochs=1, verbose=0)
    # saving writes the values computed with; loading them into a float32 model gives the same outputs
    m.save(tmp_path / "m.cnet")
    loaded = models.load_model(tmp_path / "m.cnet")
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
    m.set_weight_dtype(None)
    assert {p.dtype for p in m.params.values()} == {np.dtype(np.float32)}
    m.fit(x, y, epochs=1, verbose=0, batch_size=4)              # trains again


def test_set_weights_rounds_to_the_stored_format():
    layer = L.Dense(3)
    layer.build((4,), dtype=np.float32)
    layer.set_weight_dtype("bfloat16")
    w = np.full((4, 3), 1 + 2 ** -8 + 2 ** -20, np.float32)
    layer.set_weights([w, np.zeros(3, np.float32)])
    np.testing.assert_array_equal(layer.get_weights()[0], np.full((4, 3), 1 + 2 ** -7, np.float32))
    assert layer.params["W"].dtype == np.uint16


def test_float64_to_bfloat16_is_rounded_once():
    """1 + 2^-8 + 2^-30 is just above a bfloat16 tie: rounded via float32 (a tie there) it would go to 1."""
    layer = L.Dense(1)
    layer.build((2,), dtype=np.float64)
    layer.set_weights([np.array([[1 + 2 ** -8 + 2 ** -30], [-(1 + 2 ** -8 - 2 ** -30)]]), np.zeros(1)])
    layer.set_weight_dtype("bfloat16")
    np.testing.assert_array_equal(layer.get_weights()[0], [[1 + 2 ** -7], [-1.0]])
    layer.set_weight_dtype("float16")       # from the bfloat16 values now held
    assert layer.params["W"].dtype == np.float16


@pytest.mark.parametrize("bad", ["int8", "float8", np.int16, "half16", 16, "uint16"])
def test_bad_weight_dtypes_raise_and_change_nothing(bad):
    m = _model(np.float32)
    before = [p.dtype for p in m.params.values()]
    with pytest.raises(ValueError, match="set_weight_dtype.*expected 'float16' or 'bfloat16'"):
        m.set_weight_dtype(bad)
    assert [p.dtype for p in m.params.values()] == before


def test_unbuilt_layer_and_model_raise():
    with pytest.raises(ValueError, match="no weights yet"):
        L.Dense(3).set_weight_dtype("float16")
    with pytest.raises(ValueError, match="before it is built"):
        models.Sequential([L.Dense(3)]).set_weight_dtype("float16")
    L.ReLU().set_weight_dtype("float16")                        # no parameters: nothing to store


@pytest.mark.parametrize("fmt", FORMATS)
def test_book_network_equals_the_books_hand_rounding(fmt, tmp_path):
    """Chapter 8 rounds the float64 params to float16 in place (param[...] = param.astype(np.float16));
    set_weight_dtype stores them in 16 bits and computes the same scores, bit for bit."""
    np.random.seed(0)
    net = SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0,
                                                            "stride": 1}, hidden_size=6, weight_init_std=0.3)
    np.random.seed(0)
    book = SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0,
                                                             "stride": 1}, hidden_size=6, weight_init_std=0.3)
    for param in book.params.values():
        param[...] = _rounded(param, fmt)
    x = np.random.default_rng(3).standard_normal((5, 1, 10, 10))
    full_bytes = sum(p.nbytes for p in net.params.values())
    net.set_weight_dtype(fmt)
    assert sum(p.nbytes for p in net.params.values()) * 4 == full_bytes       # float64 -> 16 bits
    assert all(net.params[k] is layer.params[n] for k, layer, n in net._owners)
    np.testing.assert_array_equal(net.predict(x), book.predict(x))
    with pytest.raises(RuntimeError, match="for inference"):
        net.gradient(x, np.arange(5) % 10)
    net.save_params(tmp_path / "p.npz")
    other = SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0,
                                                              "stride": 1}, hidden_size=6)
    other.load_params(tmp_path / "p.npz")
    np.testing.assert_array_equal(other.predict(x), book.predict(x))
    net.load_params(tmp_path / "p.npz")                       # into 16-bit storage: rounded again
    assert net.params["W1"].dtype == (np.float16 if fmt == "float16" else np.uint16)
    np.testing.assert_array_equal(net.predict(x), book.predict(x))
    net.set_weight_dtype(None)
    assert net.params["W1"].dtype == np.float64 and net.gradient(x, np.arange(5) % 10)["W1"].shape == (4, 1, 3, 3)


def test_deep_convnet_float32_with_float16_weights():
    net = DeepConvNet(dtype="float32")
    x = np.random.default_rng(4).standard_normal((3, 1, 28, 28)).astype(np.float32)
    ref = DeepConvNet(dtype="float32")
    for key in ref.params:
        ref.params[key][...] = net.params[key].astype(np.float16)
    net.set_weight_dtype("float16")
    np.testing.assert_array_equal(net.predict(x), ref.predict(x))
    with pytest.raises(ValueError, match="expected 'float16' or 'bfloat16'"):
        net.set_weight_dtype("int8")
    assert _half.resolve(net.layers[0], "float32") is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_cnet_nets_networks(fmt, tmp_path):
    from cnet import nets
    net = nets.SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0,
                                                                 "stride": 1}, hidden_size=5, weight_init_std=0.3)
    x = np.random.default_rng(5).standard_normal((4, 1, 10, 10)).astype(np.float32)
    ref = nets.SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0,
                                                                 "stride": 1}, hidden_size=5, weight_init_std=0.3)
    for key in ref.params:
        ref.params[key][...] = _rounded(net.params[key] + 0.5, fmt)
        net.params[key][...] = net.params[key] + 0.5
    net.set_weight_dtype(fmt)
    assert all(p.itemsize == 2 for p in net.params.values())
    np.testing.assert_array_equal(net.predict(x), ref.predict(x))
    net.save_params(tmp_path / "p.npz")
    other = nets.SimpleConvNet(input_dim=(1, 10, 10), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0,
                                                                   "stride": 1}, hidden_size=5, weight_init_std=0.3)
    other.load_params(tmp_path / "p.npz")
    np.testing.assert_array_equal(other.predict(x), ref.predict(x))
    net.load_params(tmp_path / "p.npz")
    np.testing.assert_array_equal(net.predict(x), ref.predict(x))
    with pytest.raises(RuntimeError, match="for inference"):
        net.gradient(x, np.arange(4))
    net.set_weight_dtype(None)
    assert net.gradient(x, np.arange(4))["W1"].dtype == np.float32


@pytest.mark.parametrize("fmt", FORMATS)
def test_rebinding_a_stored_weight_rounds_it(fmt):
    """Book style: layer.W = array, or params[key] = array in a network whose params sync to its layers."""
    from cnet import nets
    layer = L.Affine(np.ones((3, 2)), np.zeros(2))
    layer.forward(np.ones((1, 3)))
    layer.set_weight_dtype(fmt)
    layer.W = np.full((3, 2), 1 + 2 ** -8 + 2 ** -20)
    assert layer.params["W"].dtype == (np.float16 if fmt == "float16" else np.uint16)
    want = 1 + 2 ** -8 + 2 ** -20 if fmt == "float16" else 1 + 2 ** -7
    np.testing.assert_allclose(layer.get_weights()[0], np.float64(np.float16(want)) if fmt == "float16" else want)
    net = nets.SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 3, "pad": 0,
                                                               "stride": 1}, hidden_size=3)
    net.set_weight_dtype(fmt)
    net.params["W3"] = np.full(net.params["W3"].shape, 0.5 + 2 ** -9 + 2 ** -20, np.float32)
    x = np.ones((2, 1, 8, 8), np.float32)
    net.predict(x)
    assert net.params["W3"].dtype == (np.float16 if fmt == "float16" else np.uint16)
    got = net.model.get_layer(net.layers["Affine2"].name).get_weights()[0]
    want = np.float32(np.float16(0.5 + 2 ** -9 + 2 ** -20)) if fmt == "float16" else np.float32(0.5 + 2 ** -8)
    np.testing.assert_array_equal(got, np.full(got.shape, want))
