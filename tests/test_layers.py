"""Layers: float64 gradient checks, the Keras surface, the book's aliases, both backends."""
import json

import numpy as np
import pytest

import cnet
from cnet import backend, initializers
from cnet import layers as L

BACKENDS = ("c", "numpy")


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- gradient checks ----------------------------------------------------------------------

GRAD_CASES = [
    ("dense_linear", lambda: L.Dense(4), (3, 5)),
    ("dense_relu", lambda: L.Dense(4, activation="relu"), (3, 5)),
    ("dense_sigmoid", lambda: L.Dense(4, activation="sigmoid"), (3, 5)),
    ("dense_tanh", lambda: L.Dense(4, activation="tanh"), (3, 5)),
    ("dense_softmax", lambda: L.Dense(4, activation="softmax"), (3, 5)),
    ("dense_nobias_3d", lambda: L.Dense(3, use_bias=False), (2, 2, 3)),
    ("dense_relu_3d", lambda: L.Dense(4, activation="relu"), (2, 3, 5)),
    ("dense_softmax_4d", lambda: L.Dense(4, activation="softmax"), (2, 3, 2, 5)),
    ("affine_flatten", lambda: L.Affine(_x(12, 3, seed=1), _x(3, seed=2)), (2, 2, 2, 3)),
    ("conv_valid", lambda: L.Conv2D(3, 3), (2, 2, 5, 5)),
    ("conv_same", lambda: L.Conv2D(3, 3, padding="same", activation="relu"), (2, 2, 5, 5)),
    ("conv_same_strided_odd_pad", lambda: L.Conv2D(2, 3, strides=2, padding="same"), (2, 2, 6, 6)),
    ("conv_strided_rect", lambda: L.Conv2D(2, (2, 3), strides=(2, 1)), (1, 3, 5, 6)),
    ("conv_1x1", lambda: L.Conv2D(2, 1, activation="tanh"), (2, 3, 3, 3)),
    ("bn_2d", lambda: L.BatchNormalization(), (6, 4)),
    ("bn_4d", lambda: L.BatchNormalization(), (3, 2, 3, 3)),
    ("bn_no_scale_center", lambda: L.BatchNormalization(center=False, scale=False), (5, 3)),
    ("maxpool", lambda: L.MaxPooling2D(), (2, 2, 4, 4)),
    ("maxpool_same_odd", lambda: L.MaxPooling2D(padding="same"), (2, 2, 5, 5)),
    ("maxpool_overlap", lambda: L.MaxPooling2D(3, strides=2), (1, 2, 7, 7)),
    ("avgpool", lambda: L.AveragePooling2D(), (2, 2, 4, 4)),
    ("avgpool_same", lambda: L.AveragePooling2D(3, strides=1, padding="same"), (2, 2, 4, 4)),
    ("flatten", lambda: L.Flatten(), (2, 2, 3, 3)),
    ("reshape", lambda: L.Reshape((3, -1)), (2, 6)),
    ("dropout", lambda: L.Dropout(0.4, seed=3), (4, 6)),
    ("relu", lambda: L.ReLU(), (4, 6)),
    ("softmax", lambda: L.Softmax(), (4, 6)),
    ("activation_sigmoid", lambda: L.Activation("sigmoid"), (4, 6)),
    ("input_layer", lambda: L.InputLayer(input_shape=(6,)), (4, 6)),
]


@pytest.mark.parametrize("name,make,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_float64(name, make, shape, backend_name):
    errors = cnet.gradcheck(make(), _x(*shape))
    assert "x" in errors
    for key, err in errors.items():
        assert err < 1e-6, f"{name} [{backend_name}]: relative error of {key} is {err:.2e}"


def test_gradcheck_of_float32_layer_leaves_it_alone():
    layer = L.Dense(3)
    layer.build((4,))
    w = layer.params["W"]
    errors = cnet.gradcheck(layer, _x(2, 4))
    assert max(errors.values()) < 1e-6
    assert layer.params["W"] is w and w.dtype == np.float32


# ---- the layer interface ------------------------------------------------------------------

def test_dense_defaults_and_interface():
    d = L.Dense(10)
    assert d.activation is cnet.activations.linear and d.use_bias
    assert d.kernel_initializer == "glorot_uniform" and d.bias_initializer == "zeros"
    assert not d.built and d.trainable and d.params == {} and d.state == {}
    assert d.build((784,)) == (10,)
    assert d.built and d.input_shape == (784,) and d.output_shape == (10,)
    assert d.dtype == np.float32 and d.params["W"].shape == (784, 10) and d.params["b"].shape == (10,)
    assert set(d.grads) == {"W", "b"} and d.grads["W"].shape == (784, 10)
    assert d.count_params() == 7850
    assert d.build((784,)) == (10,)   # idempotent
    w = d.params["W"]
    assert d.params["W"] is w


def test_grads_are_overwritten_in_place(backend_name):
    d = L.Dense(3)
    x = _x(4, 5).astype(np.float32)
    y = d.forward(x)
    gw = d.grads["W"]
    d.backward(np.ones_like(y))
    first = gw.copy()
    d.forward(x)
    d.backward(np.ones_like(y))
    assert d.grads["W"] is gw
    np.testing.assert_allclose(gw, first, rtol=1e-6)   # not accumulated


def test_conv_and_pool_defaults():
    c = L.Conv2D(32, 3)
    assert (c.filters, c.kernel_size, c.strides, c.padding, c.use_bias) == (32, (3, 3), (1, 1), "valid", True)
    assert c.activation is cnet.activations.linear and c.kernel_initializer == "glorot_uniform"
    assert c.build((1, 28, 28)) == (32, 26, 26) and c.params["W"].shape == (32, 1, 3, 3)
    p = L.MaxPooling2D()
    assert (p.pool_size, p.strides, p.padding) == ((2, 2), (2, 2), "valid")
    assert p.build((32, 26, 26)) == (32, 13, 13)
    assert L.AveragePooling2D(3).strides == (3, 3)


@pytest.mark.parametrize("make,message", [
    (lambda: L.Dense(3.9), "units must be an integer, got 3.9"),
    (lambda: L.Dense("3"), "units must be an integer"),
    (lambda: L.Dense(True), "units must be an integer, got True"),
    (lambda: L.Dense(0), "positive integer"),
    (lambda: L.Conv2D(3.5, 3), "filters must be an integer"),
    (lambda: L.Conv2D(8, 2.5), "kernel_size must be an integer"),
    (lambda: L.Conv2D(8, (3, 1.5)), "kernel_size must be an integer"),
    (lambda: L.Conv2D(8, 3, strides=1.5), "strides must be an integer"),
    (lambda: L.MaxPooling2D(2.5), "pool_size must be an integer"),
    (lambda: L.Dense(2, input_shape=(7.5,)), "input_shape must be an integer"),
])
def test_sizes_are_integers_never_truncated(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()
    # integral values of other types are fine (28 / 2 is 14.0)
    assert L.Dense(4.0).units == 4 and L.Dense(np.int64(4)).units == 4
    assert L.Conv2D(8, (3, 3.0)).kernel_size == (3, 3)


def test_default_names_and_clear_session():
    backend.clear_session()
    assert [L.Dense(1).name, L.Dense(1).name, L.Conv2D(1, 1).name] == ["dense", "dense_1", "conv2d"]
    assert L.MaxPooling2D().name == "max_pooling2d"
    assert L.Dense(1, name="out").name == "out"
    backend.clear_session()
    assert L.Dense(1).name == "dense"


def test_declared_input_shape():
    assert L.Dense(5, input_shape=(7,)).input_shape == (7,)
    assert L.Dense(5, input_dim=7).input_shape == (7,)
    d = L.Dense(5, input_dim=7)
    with pytest.raises(ValueError, match="declared"):
        d.build((8,))


def test_get_set_weights_roundtrip_and_errors():
    d = L.Dense(3)
    d.build((4,))
    kernel, bias = d.get_weights()
    assert kernel.shape == (4, 3) and bias.shape == (3,)
    kernel[:] = 1.0
    assert not np.all(d.params["W"] == 1.0)     # copies
    w_array = d.params["W"]
    d.set_weights([np.full((4, 3), 2.0), np.arange(3.0)])
    assert d.params["W"] is w_array and np.all(w_array == 2.0)
    np.testing.assert_array_equal(d.get_weights()[1], [0, 1, 2])
    with pytest.raises(ValueError, match="expects 2 arrays"):
        d.set_weights([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3, 4\)"):
        d.set_weights([np.zeros((3, 4)), np.zeros(3)])
    nb = L.Dense(3, use_bias=False)
    nb.build((4,))
    assert len(nb.get_weights()) == 1
    with pytest.raises(ValueError, match="build"):
        L.Dense(2).set_weights([np.zeros((1, 2)), np.zeros(2)])


def test_batchnorm_weights_order_and_state():
    bn = L.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (None, 0.99, 1e-3, True, True)
    bn.build((3, 4, 4))
    assert bn.axis == 1     # channels-first images: the channel axis
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    w = bn.get_weights()
    assert [a.shape for a in w] == [(3,)] * 4
    np.testing.assert_array_equal(w[0], 1)
    np.testing.assert_array_equal(w[3], 1)
    assert list(bn.params) == names[:2] and list(bn.state) == names[2:]
    assert bn.count_params() == 12


def test_batchnorm_moving_statistics_and_inference(backend_name):
    bn = L.BatchNormalization(momentum=0.5)
    x = _x(8, 3, 2, 2).astype(np.float32) * 2 + 1
    bn.forward(x, train=True)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.state["moving_mean"], 0.5 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.state["moving_variance"], 0.5 + 0.5 * var, rtol=1e-4)
    y = bn.forward(x, train=False)
    expect = (x - bn.state["moving_mean"][None, :, None, None]) / np.sqrt(
        bn.state["moving_variance"][None, :, None, None] + 1e-3)
    np.testing.assert_allclose(y, expect, rtol=1e-4, atol=1e-5)


def test_batchnorm_axis_errors():
    with pytest.raises(ValueError, match=r"axis=2 is not supported.*axis=-1 for \(N, H, W, C\)"):
        L.BatchNormalization(axis=2).build((3, 4, 4))
    with pytest.raises(ValueError, match="axis=2"):
        L.BatchNormalization(axis=2).build((5,))
    assert L.BatchNormalization(axis=-1).build((3, 4, 5)) == (3, 4, 5)   # channels-last: 5 channels
    L.BatchNormalization(axis=-1).build((5,))


@pytest.mark.parametrize("layer", [
    L.Dense(4, activation="relu", use_bias=False, kernel_initializer="he_normal", input_shape=(3,)),
    L.Conv2D(8, (3, 5), strides=2, padding="same", activation="softmax", name="c"),
    L.MaxPooling2D(3, strides=1, padding="same"), L.AveragePooling2D((2, 3)), L.Flatten(),
    L.Reshape((2, -1)), L.Dropout(0.25, seed=7), L.Activation("tanh"), L.ReLU(), L.Softmax(axis=1),
    L.InputLayer(input_shape=(1, 28, 28)), L.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False),
], ids=lambda layer: type(layer).__name__)
def test_config_roundtrip(layer):
    config = layer.get_config()
    text = json.dumps(config)                       # JSON-serializable
    assert config["name"] == layer.name
    clone = L.get(type(layer).__name__).from_config(json.loads(text))
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    spec = L.serialize(layer)
    assert L.deserialize(json.loads(json.dumps(spec))).get_config() == config


def test_registry():
    assert L.get("Dense") is L.Dense and L.LAYERS["MaxPooling2D"] is L.MaxPooling2D
    assert L.get("Affine") is L.Affine
    with pytest.raises(ValueError, match="known"):
        L.get("Dense2")


@pytest.mark.parametrize("size,k,s,expected", [(28, 3, 1, 28), (28, 5, 1, 28), (28, 3, 2, 14),
                                                (7, 3, 2, 4), (8, 2, 1, 8), (5, 4, 3, 2)])
def test_same_padding_output_shape(size, k, s, expected, backend_name):
    conv = L.Conv2D(2, k, strides=s, padding="same")
    assert conv.compute_output_shape((1, size, size)) == (2, expected, expected)
    y = conv.forward(np.ones((1, 1, size, size), np.float32))
    assert y.shape == (1, 2, expected, expected)
    pool = L.MaxPooling2D(k, strides=s, padding="same")
    assert pool.forward(np.ones((1, 1, size, size), np.float32)).shape == (1, 1, expected, expected)


def test_same_padding_puts_the_extra_row_at_the_bottom(backend_name):
    # 6 -> 3 with k=3, s=2: total pad 1, all of it at the bottom/right (TF's rule).
    x = _x(1, 1, 6, 6)
    conv = L.Conv2D(1, 3, strides=2, padding="same", use_bias=False, dtype=np.float64)
    y = conv.forward(x)
    w = conv.params["W"][0, 0]
    xp = np.pad(x[0, 0], ((0, 1), (0, 1)))
    expect = np.array([[np.sum(xp[2 * i:2 * i + 3, 2 * j:2 * j + 3] * w) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(y[0, 0], expect, rtol=1e-12)


def test_average_pooling_same_excludes_padding(backend_name):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    y = L.AveragePooling2D(3, strides=1, padding="same").forward(x)
    assert y.shape == (1, 1, 4, 4)
    assert y[0, 0, 0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))
    assert y[0, 0, 1, 1] == pytest.approx(np.mean(x[0, 0, :3, :3]))


def test_data_format_errors(monkeypatch):
    monkeypatch.setitem(backend._settings, "image_data_format", None)
    assert L.Conv2D(8, 3, data_format="channels_last").data_format == "channels_last"
    with pytest.raises(ValueError, match="data_format must be 'channels_first' or 'channels_last'"):
        L.Conv2D(8, 3, data_format="NHWC")
    conv = L.Conv2D(8, 3, input_shape=(1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*transpose\(0, 3, 1, 2\)"):
        conv.forward(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="channels-last"):
        L.Conv2D(8, 3, data_format="channels_first").forward(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match=r"x\[:, None\]"):
        L.Conv2D(8, 3).forward(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"x\[\.\.\., None\]"):
        L.Conv2D(8, 3, data_format="channels_last").forward(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"looks channels-first .*x.transpose\(0, 2, 3, 1\)"):
        L.Conv2D(8, 3, data_format="channels_last", input_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="data_format must be"):
        backend.set_image_data_format("channels_middle")
    assert backend.image_data_format() == "channels_first"
    backend.set_image_data_format("channels_first")   # said explicitly: (28, 28, 1) is not guessed
    with pytest.raises(ValueError, match=r"channels-last.*\(1, 28, 28\)"):
        L.Conv2D(8, 3, input_shape=(28, 28, 1))


def test_input_cast_and_shape_error():
    d = L.Dense(2)
    y = d.forward(np.ones((3, 4), np.uint8))
    assert y.dtype == np.float32
    assert d.forward(np.ones((3, 4))).dtype == np.float32          # float64 input cast
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\).*\(3, 2, 2\)"):
        d.forward(np.ones((3, 2, 2), np.float32))   # Dense is not flattening (Keras: the last axis)
    a = L.Affine(np.ones((4, 2), np.float32), np.zeros(2, np.float32))
    assert a.forward(np.ones((3, 2, 2), np.float32)).shape == (3, 2)   # the book's Affine flattens
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\).*\(3, 5\)"):
        d.forward(np.ones((3, 5), np.float32))
    f64 = L.Flatten().forward(np.ones((2, 3, 2)))
    assert f64.dtype == np.float64                                   # weightless layers pass floats through


def test_backward_needs_training_forward():
    d = L.Dense(2)
    d.forward(np.ones((3, 4), np.float32), train=False)
    with pytest.raises(RuntimeError, match="train=True"):
        d.backward(np.ones((3, 2), np.float32))


def test_build_float64():
    conv = L.Conv2D(2, 3)
    assert conv.build((1, 5, 5), dtype=np.float64) == (2, 3, 3)
    assert conv.params["W"].dtype == np.float64 and conv.grads["W"].dtype == np.float64
    conv.build((1, 5, 5), dtype=np.float32)
    assert conv.params["W"].dtype == np.float32


def test_glorot_uniform_fans_and_seed():
    initializers.set_seed(123)
    a = L.Conv2D(16, 5)
    a.build((3, 10, 10))
    initializers.set_seed(123)
    b = L.Conv2D(16, 5)
    b.build((3, 10, 10))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    limit = np.sqrt(6.0 / (3 * 25 + 16 * 25))
    w = a.params["W"]
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    np.testing.assert_array_equal(a.params["b"], 0)


def test_logits_path_skips_softmax(backend_name):
    d = L.Dense(4, activation="softmax", dtype=np.float64)
    x = _x(3, 5)
    p = d.forward(x)
    z = d.forward(x, logits=True)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(1, keepdims=True), rtol=1e-12)
    g = _x(3, 4, seed=1)
    dx = d.backward(g)
    np.testing.assert_allclose(d.grads["W"], x.T @ g, rtol=1e-12)
    assert dx.shape == x.shape


def test_dropout_determinism_and_inference():
    x = np.ones((64, 50), np.float32)
    masks = {}
    for name in BACKENDS:
        with cnet.use_backend(name):
            layer = L.Dropout(0.3, seed=42)
            masks[name] = [layer.forward(x), layer.forward(x)]
    np.testing.assert_array_equal(masks["c"][0], masks["numpy"][0])
    np.testing.assert_array_equal(masks["c"][1], masks["numpy"][1])
    assert not np.array_equal(masks["c"][0], masks["c"][1])      # a new mask every step
    y = masks["c"][0]
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    assert 0.2 < np.mean(y == 0) < 0.4
    layer = L.Dropout(0.3)
    assert layer.forward(x, train=False) is x
    assert layer.forward(x, train_flg=False) is x


def test_dropout_mask_independent_of_threads():
    x = np.ones((32, 300), np.float32)
    previous = cnet.get_num_threads()
    try:
        out = []
        for n in (1, 2, 3):
            cnet.set_num_threads(n)
            out.append(L.Dropout(0.5, seed=9).forward(x))
    finally:
        cnet.set_num_threads(previous)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


def test_dropout_default_seed_follows_cnet_seed():
    x = np.ones((8, 8), np.float32)
    cnet.set_seed(5)
    a = L.Dropout(0.5).forward(x)
    cnet.set_seed(5)
    b = L.Dropout(0.5).forward(x)
    np.testing.assert_array_equal(a, b)


def test_flatten_reshape_shapes():
    assert L.Flatten().build((3, 4, 5)) == (60,)
    assert L.Reshape((-1, 4)).build((2, 6)) == (3, 4)
    with pytest.raises(ValueError, match="cannot reshape"):
        L.Reshape((5,)).build((2, 3))


def test_trainable_flag_and_unknown_kwargs():
    assert L.Dense(2, trainable=False).trainable is False
    assert L.Dense(2, batch_input_shape=(None, 3)).input_shape == (3,)
    for kwargs in ({"batch_input_shape": (32, 3)}, {"input_shape": (3,), "batch_size": 32}):   # was dropped
        with pytest.raises(ValueError, match=r"fixed batch size \(32\) is not supported"):
            L.Dense(2, **kwargs)
    with pytest.raises(ValueError, match=r"InputLayer: a fixed batch size \(8\)"):
        L.InputLayer(input_shape=(3,), batch_size=8)
    with pytest.raises(TypeError, match="unexpected"):
        L.Dense(2, units2=3)
    with pytest.raises(ValueError, match="unknown activation"):
        L.Dense(2, activation="swish2")


# ---- the book's layers --------------------------------------------------------------------

def test_book_affine_shares_arrays(backend_name):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 3)), "b": np.zeros(3)}
    aff = L.Affine(params["W"], params["b"])
    x = rng.standard_normal((2, 2, 2))
    y = aff.forward(x)
    np.testing.assert_allclose(y, x.reshape(2, -1) @ params["W"], rtol=1e-12)
    dx = aff.backward(np.ones((2, 3)))
    assert dx.shape == x.shape and aff.dW.shape == (4, 3) and aff.db.shape == (3,)
    params["W"] -= 1.0                              # an optimizer updating the network's dict in place
    assert aff.W is params["W"]
    np.testing.assert_allclose(aff.forward(x), x.reshape(2, -1) @ params["W"], rtol=1e-12)
    aff.W = np.zeros((4, 3))
    assert np.all(aff.forward(x) == 0)


def test_book_convolution_pooling_relu(backend_name):
    rng = np.random.default_rng(0)
    W, b = 0.01 * rng.standard_normal((30, 1, 5, 5)), np.zeros(30)
    conv = L.Convolution(W, b, stride=1, pad=0)
    pool = L.Pooling(pool_h=2, pool_w=2, stride=2)
    relu = L.Relu()
    x = rng.standard_normal((2, 1, 28, 28))
    h = pool.forward(relu.forward(conv.forward(x)))
    assert h.shape == (2, 30, 12, 12) and h.dtype == np.float64
    dx = conv.backward(relu.backward(pool.backward(np.ones_like(h))))
    assert dx.shape == x.shape and conv.dW.shape == W.shape and conv.db.shape == (30,)
    padded = L.Convolution(W, b, stride=1, pad=2)
    assert padded.forward(x).shape == (2, 30, 28, 28)


def test_book_sigmoid_and_softmax_with_loss(backend_name):
    x = _x(4, 3)
    s = L.Sigmoid()
    np.testing.assert_allclose(s.forward(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    last = L.SoftmaxWithLoss()
    t = np.array([0, 2, 1, 2])
    loss = last.forward(x, t)
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(4), t])), rel=1e-12)
    np.testing.assert_allclose(last.y, p, rtol=1e-12)
    onehot = np.eye(3)[t]
    np.testing.assert_allclose(last.backward(), (p - onehot) / 4, rtol=1e-12, atol=1e-15)
    assert last.forward(x, onehot) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(last.backward(), (p - onehot) / 4, rtol=1e-12, atol=1e-15)


def test_book_batchnorm_and_dropout():
    gamma, beta = np.ones(5), np.zeros(5)
    bn = L.BatchNormalization(gamma, beta)
    assert bn.momentum == 0.9 and bn.gamma is gamma
    x = _x(8, 5)
    y = bn.forward(x, True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    assert bn.running_mean.shape == (5,)
    bn.backward(np.ones_like(y))
    assert bn.dgamma.shape == (5,) and bn.dbeta.shape == (5,)
    flat = L.BatchNormalization(np.ones(12), np.zeros(12))     # per element of (3, 2, 2) images
    assert flat.forward(_x(4, 3, 2, 2), True).shape == (4, 3, 2, 2)
    assert cnet.gradcheck(L.BatchNormalization(np.ones(12), np.zeros(12)), _x(4, 3, 2, 2))["x"] < 1e-6
    drop = L.Dropout(dropout_ratio=0.5)
    assert drop.rate == 0.5 and np.allclose(drop.forward(x, False), x * 0.5)  # the book scales at inference


def test_activation_callables(backend_name):
    d = L.Dense(3, activation=cnet.activations.tanh)
    assert d.get_config()["activation"] == "tanh"
    assert cnet.gradcheck(d, _x(2, 4))["W"] < 1e-6

    def cube(x):
        return x ** 3
    cube.backward = lambda dy, y: dy * 3 * np.cbrt(y) ** 2
    assert cnet.gradcheck(L.Dense(3, activation=cube), _x(2, 4))["W"] < 1e-6
    with pytest.raises(ValueError, match="no derivative"):
        L.Dense(3, activation=lambda x: x)
    x = _x(3, 4)
    np.testing.assert_allclose(cnet.activations.softmax(x).sum(-1), 1.0)
    np.testing.assert_array_equal(cnet.activations.relu(x), np.maximum(x, 0))
    assert cnet.activations.get(None) is cnet.activations.linear


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_book_dropout_scales_at_inference(backend):
    from cnet.layers import Dropout
    x = np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32)
    with cnet.use_backend(backend):
        book = Dropout(dropout_ratio=0.3, seed=5)
        keras = Dropout(0.3, seed=5)
        assert book.scale_at_inference and not keras.scale_at_inference
        np.testing.assert_allclose(book.forward(x, train=False), x * np.float32(0.7), rtol=1e-7)
        np.testing.assert_array_equal(keras.forward(x, train=False), x)
        yb, yk = book.forward(x, train=True), keras.forward(x, train=True)
        kept = yk != 0
        np.testing.assert_allclose(yb[kept], x[kept], rtol=1e-6)      # kept elements pass unscaled
        assert np.all(yb[~kept] == 0)
        dout = np.ones_like(x)
        np.testing.assert_allclose(book.backward(dout), kept.astype(np.float32), rtol=1e-6)
        assert Dropout.from_config(book.get_config()).scale_at_inference


def _scalar_splitmix64(z):
    """splitmix64's next() on Python ints (the formula of cnet.reference.rng)."""
    mask = (1 << 64) - 1
    z = (z + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


@pytest.mark.parametrize("seed", [0, 7, 2 ** 63 - 1, -1])
def test_dropout_mask_seed_is_splitmix64_of_seed_and_step(seed):
    """Dropout derives the seed of step k's mask as splitmix64(splitmix64(seed) ^ k) with the counter RNG
    of cnet.reference.rng: the masks (and checkpoints' dropout streams) stay what they were."""
    from cnet import reference
    from cnet.reference import rng
    state = seed & ((1 << 64) - 1)   # the scalar form of the reference's counter RNG is its element 0
    assert rng.splitmix64(seed) == _scalar_splitmix64(state)
    assert (rng.splitmix64(seed) >> 40) * 2.0 ** -24 == reference.counter_uniform(1, state)[0]
    x = np.ones((6, 50), np.float64)
    layer = L.Dropout(0.4, seed=seed)
    for step in range(3):
        derived = _scalar_splitmix64(_scalar_splitmix64(seed & ((1 << 64) - 1)) ^ step)
        expected = reference.dropout_forward(x, 0.4, derived)[0]
        np.testing.assert_array_equal(layer.forward(x, train=True), expected)


@pytest.mark.parametrize("activation", [None, "relu", "softmax", "tanh"])
def test_dense_on_more_than_two_axes_acts_on_the_last_axis(activation, backend_name):
    """Keras: Dense maps (N, ..., d) to (N, ..., units) with W (d, units), the same on every position."""
    x = _x(3, 4, 2, 5).astype(np.float32)
    d = L.Dense(6, activation=activation, input_shape=(4, 2, 5))
    assert d.build((4, 2, 5)) == (4, 2, 6) and d.params["W"].shape == (5, 6) and d.count_params() == 36
    y = d.forward(x)
    rows = L.Dense(6, activation=activation)
    rows.build((5,))
    rows.set_weights(d.get_weights())
    np.testing.assert_allclose(y, rows.forward(x.reshape(-1, 5)).reshape(3, 4, 2, 6), rtol=1e-6, atol=1e-7)
    dx = d.backward(np.ones_like(y))
    assert dx.shape == x.shape
    rows.backward(np.ones((24, 6), np.float32))
    np.testing.assert_allclose(d.grads["W"], rows.grads["W"], rtol=1e-5, atol=1e-6)
    model = cnet.models.Sequential([L.Dense(6, activation=activation, input_shape=(4, 5)), L.Flatten(),
                                    L.Dense(2, activation="softmax")])
    assert model.output_shape == (2,) and model.layers[0].output_shape == (4, 6)
    assert model.predict(x[:, :, 0]).shape == (3, 2)
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = model.evaluate(x[:, :, 0], np.array([0, 1, 0]), verbose=0)
    for _ in range(3):   # training steps with the layers' workspaces
        model.train_on_batch(x[:, :, 0], np.array([0, 1, 0]))
    assert model.evaluate(x[:, :, 0], np.array([0, 1, 0]), verbose=0) < before


def test_frozen_layers_and_models_do_not_change():
    """layer.trainable = False: its weights stay, a BatchNormalization's moving statistics too (Keras 2 runs
    no update of a frozen layer); model.trainable = False freezes every layer (tf.keras), True unfreezes."""
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 4)) * 3, rng.random((16, 2))
    model = cnet.models.Sequential([L.Dense(3, input_shape=(4,)), L.BatchNormalization(), L.Dense(2)])
    model.layers[0].trainable = model.layers[1].trainable = False
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    after = model.get_weights()
    assert [np.array_equal(a, b) for a, b in zip(before, after)] == [True] * 6 + [False, False]
    model.trainable = False
    assert model.trainable is False and not any(layer.trainable for layer in model.layers)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.trainable = True
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not any(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_weights_lists_follow_trainable():
    """Keras's weights, trainable_weights and non_trainable_weights: the arrays themselves, frozen or not."""
    model = cnet.models.Sequential([L.Dense(3, input_shape=(4,)), L.BatchNormalization(), L.Dense(2)])
    dense, bn, _ = model.layers
    assert [w.shape for w in bn.trainable_weights] == [(3,), (3,)] and len(bn.non_trainable_weights) == 2
    assert dense.weights[0] is dense.params["W"] and len(model.weights) == 8
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (6, 2)
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (4, 4)
    assert sum(w.size for w in model.weights) == model.count_params()
