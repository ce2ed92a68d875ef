"""Conv2D(dilation_rate), Conv2DTranspose, DepthwiseConv2D, SeparableConv2D: values against naive NumPy
loops written here (Keras's definitions, TensorFlow's 'same' padding), float64 gradient checks, both
backends, channels-last equal to channels-first, config, models and files."""
import json

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import regularizers
from cnet.models import Model, Sequential, load_model


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pad(x, k_eff, s, padding):
    if padding == "valid":
        return x
    (t, b), (le, r) = _same_pad(x.shape[2], k_eff[0], s[0]), _same_pad(x.shape[3], k_eff[1], s[1])
    return np.pad(x, ((0, 0), (0, 0), (t, b), (le, r)))


def naive_depthwise(x, dk, m, s, d, padding):
    """y[n, c*m + j] = sum_ab x[n, c, i*s + a*d, ...] dk[c*m + j, 0, a, b]."""
    kh, kw = dk.shape[2:]
    keff = ((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1)
    xp = _pad(x, keff, s, padding)
    n, c, h, w = xp.shape
    oh, ow = (h - keff[0]) // s[0] + 1, (w - keff[1]) // s[1] + 1
    y = np.zeros((n, c * m, oh, ow))
    for ch in range(c):
        for j in range(m):
            for a in range(kh):
                for b in range(kw):
                    patch = xp[:, ch, a * d[0]:a * d[0] + (oh - 1) * s[0] + 1:s[0],
                               b * d[1]:b * d[1] + (ow - 1) * s[1] + 1:s[1]]
                    y[:, ch * m + j] += patch * dk[ch * m + j, 0, a, b]
    return y


def naive_conv(x, w, b, s, d, padding):
    """Conv2D with dilation: every output channel a sum of depthwise convolutions."""
    k, c = w.shape[:2]
    per = naive_depthwise(x, w.transpose(1, 0, 2, 3).reshape(c * k, 1, *w.shape[2:]), k, s, d, padding)
    y = per.reshape(x.shape[0], c, k, *per.shape[2:]).sum(axis=1)
    return y + b[None, :, None, None]


def naive_transpose(x, w, b, s, padding, output_padding):
    """y_full[n, f, i*s + a, j*s + b] += x[n, c, i, j] W[c, f, a, b], then Keras's output size and
    TensorFlow's offset."""
    n, c, h, wd = x.shape
    f, kh, kw = w.shape[1:]
    full = np.zeros((n, f, (h - 1) * s[0] + kh, (wd - 1) * s[1] + kw))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * s[0]:i * s[0] + kh, j * s[1]:j * s[1] + kw] += np.einsum("nc,cfab->nfab", x[:, :, i, j], w)
    sizes, offs = [], []
    for ax, (size, k, st) in enumerate(zip((h, wd), (kh, kw), s)):
        if output_padding is None:
            out = size * st + max(k - st, 0) if padding == "valid" else size * st
        else:
            out = (size - 1) * st + k - 2 * (k // 2 if padding == "same" else 0) + output_padding[ax]
        sizes.append(out)
        offs.append(max(full.shape[2 + ax] - out, 0) // 2 if padding == "same" else 0)
    y = np.zeros((n, f) + tuple(sizes))
    mh, mw = min(full.shape[2] - offs[0], sizes[0]), min(full.shape[3] - offs[1], sizes[1])
    y[:, :, :mh, :mw] = full[:, :, offs[0]:offs[0] + mh, offs[1]:offs[1] + mw]
    return y + b[None, :, None, None]


CASES = [   # name, make(data_format), input shape (channels-first), reference(layer, x)
    ("dilated", lambda df: L.Conv2D(3, 3, dilation_rate=2, data_format=df), (2, 2, 9, 8),
     lambda l, x: naive_conv(x, l.params["W"], l.params["b"], (1, 1), (2, 2), "valid")),
    ("dilated_same_rect", lambda df: L.Conv2D(2, (2, 3), dilation_rate=(3, 2), padding="same", data_format=df),
     (2, 3, 7, 8), lambda l, x: naive_conv(x, l.params["W"], l.params["b"], (1, 1), (3, 2), "same")),
    ("transpose", lambda df: L.Conv2DTranspose(3, 3, data_format=df), (2, 2, 4, 5),
     lambda l, x: naive_transpose(x, l.params["W"], l.params["b"], (1, 1), "valid", None)),
    ("transpose_s2_same", lambda df: L.Conv2DTranspose(2, 3, strides=2, padding="same", data_format=df),
     (2, 3, 4, 3), lambda l, x: naive_transpose(x, l.params["W"], l.params["b"], (2, 2), "same", None)),
    ("transpose_k_lt_s", lambda df: L.Conv2DTranspose(2, 2, strides=3, data_format=df), (1, 2, 3, 3),
     lambda l, x: naive_transpose(x, l.params["W"], l.params["b"], (3, 3), "valid", None)),
    ("transpose_outpad", lambda df: L.Conv2DTranspose(2, (3, 4), strides=(2, 3), padding="same",
                                                      output_padding=(1, 2), data_format=df), (2, 2, 3, 4),
     lambda l, x: naive_transpose(x, l.params["W"], l.params["b"], (2, 3), "same", (1, 2))),
    ("depthwise", lambda df: L.DepthwiseConv2D(3, depth_multiplier=2, data_format=df), (2, 3, 6, 5),
     lambda l, x: naive_depthwise(x, l.params["depthwise_kernel"], 2, (1, 1), (1, 1), "valid")
     + l.params["b"][None, :, None, None]),
    ("depthwise_strided_same", lambda df: L.DepthwiseConv2D((3, 2), strides=2, padding="same", data_format=df),
     (2, 2, 7, 6), lambda l, x: naive_depthwise(x, l.params["depthwise_kernel"], 1, (2, 2), (1, 1), "same")
     + l.params["b"][None, :, None, None]),
    ("separable", lambda df: L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", data_format=df),
     (2, 3, 5, 6), lambda l, x: np.einsum("ncij,fc->nfij", naive_depthwise(
         x, l.params["depthwise_kernel"], 2, (1, 1), (1, 1), "same"), l.params["pointwise_kernel"][:, :, 0, 0])
     + l.params["b"][None, :, None, None]),
    ("separable_dilated", lambda df: L.SeparableConv2D(2, 2, dilation_rate=2, use_bias=False, data_format=df),
     (1, 2, 6, 6), lambda l, x: np.einsum("ncij,fc->nfij", naive_depthwise(
         x, l.params["depthwise_kernel"], 1, (1, 1), (2, 2), "valid"), l.params["pointwise_kernel"][:, :, 0, 0])),
]


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name,make,shape,reference", CASES, ids=[c[0] for c in CASES])
def test_against_naive_loops_and_gradients(name, make, shape, reference, backend):
    x = _x(*shape)
    with cnet.use_backend(backend):
        layer = make("channels_first")
        layer.build(shape[1:], np.float64)
        for k, v in layer.params.items():
            layer.params[k][...] = _x(*v.shape, seed=len(k))
        y = layer.forward(x)
        np.testing.assert_allclose(y, reference(layer, x), rtol=1e-10, atol=1e-12)
        assert layer.output_shape == y.shape[1:]
        errors = cnet.gradcheck(layer, x)
        assert max(errors.values()) < 1e-6, errors
        cl = make("channels_last")
        cl.build(_nhwc(x).shape[1:], np.float64)
        cl.set_weights(layer.get_weights())
        np.testing.assert_allclose(cl.forward(_nhwc(x)), y.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-13)
        assert max(cnet.gradcheck(cl, _nhwc(x)).values()) < 1e-6


def test_arguments_are_honoured_or_refused():
    with pytest.raises(ValueError, match="dilated convolution takes strides 1"):
        L.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(NotImplementedError, match="Conv2DTranspose: dilation_rate=2 is not supported"):
        L.Conv2DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match="output_padding .* smaller than the strides"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(NotImplementedError, match="pointwise_constraint is not supported"):
        L.SeparableConv2D(2, 3, pointwise_constraint="max_norm")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        L.DepthwiseConv2D(3, filters=4)
    assert L.Conv2D(2, 3).get_config()["dilation_rate"] == [1, 1]
    assert L.get("Deconvolution2D") is L.Conv2DTranspose
    assert cnet.layers.convolutional.SeparableConv2D is L.SeparableConv2D


def test_depthwise_initial_weights_follow_keras_fans():
    layer = L.DepthwiseConv2D(3, depth_multiplier=4, depthwise_initializer="glorot_uniform")
    layer.build((8, 20, 20))
    w = layer.params["depthwise_kernel"]
    assert w.shape == (32, 1, 3, 3)
    limit = np.sqrt(6 / (8 * 9 + 4 * 9))            # Keras: fan_in = C * kh * kw, fan_out = M * kh * kw
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit


def test_regularizers_of_the_depthwise_kernels():
    x = _x(2, 2, 5, 5)
    m = Sequential([L.SeparableConv2D(3, 3, depthwise_regularizer=regularizers.l2(0.1),
                                      pointwise_regularizer=regularizers.l1(0.05), bias_regularizer="l2",
                                      input_shape=(2, 5, 5)), L.Flatten(), L.Dense(2, activation="softmax")],
                   dtype="float64")
    m.compile("sgd", "sparse_categorical_crossentropy")
    layer = m.layers[0]
    expected = (0.1 * (layer.params["depthwise_kernel"] ** 2).sum()
                + 0.05 * np.abs(layer.params["pointwise_kernel"]).sum() + 0.01 * (layer.params["b"] ** 2).sum())
    assert layer.regularization_loss() == pytest.approx(expected)
    assert max(cnet.gradcheck(m, x, np.array([0, 1])).values()) < 1e-6


@pytest.mark.parametrize("layer", [L.Conv2D(2, 3, dilation_rate=(2, 1)), L.Conv2DTranspose(3, 2, strides=2,
                                   output_padding=1, kernel_regularizer="l2"), L.DepthwiseConv2D(3, depth_multiplier=2),
                                   L.SeparableConv2D(4, 3, padding="same", pointwise_regularizer="l1")],
                         ids=lambda layer: type(layer).__name__)
def test_config_roundtrip(layer):
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is type(layer) and clone.get_config() == config


@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
def test_an_autoencoder_trains_in_both_apis_and_saves(tmp_path, df):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    if df == "channels_last":
        x = _nhwc(x)

    def stack():
        return [L.SeparableConv2D(4, 3, padding="same", activation="relu", data_format=df),
                L.DepthwiseConv2D(3, strides=2, padding="same", data_format=df),
                L.Conv2D(4, 3, dilation_rate=2, padding="same", activation="elu", data_format=df),
                L.Conv2DTranspose(1, 3, strides=2, padding="same", data_format=df)]
    cnet.set_seed(0)
    seq = Sequential([L.InputLayer(input_shape=x.shape[1:])] + stack())
    cnet.set_seed(0)
    inp = L.Input(shape=x.shape[1:])
    h = inp
    for layer in stack():
        h = layer(h)
    fun = Model(inp, h)
    losses = []
    for m in (seq, fun):
        m.compile("adam", "mse")
        cnet.set_seed(1)
        losses.append(m.fit(x, x, epochs=3, batch_size=8, verbose=0).history["loss"])
    assert losses[0][-1] < losses[0][0]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    assert seq.predict(x).shape == x.shape
    for i, m in enumerate((seq, fun)):
        m.save(str(tmp_path / f"m{i}.cnet"))
        np.testing.assert_array_equal(load_model(str(tmp_path / f"m{i}.cnet")).predict(x), m.predict(x))
