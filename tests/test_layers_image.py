"""Image layers without weights and noise layers: GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D,
Cropping2D, UpSampling2D, SpatialDropout2D, GaussianNoise, GaussianDropout -- values against NumPy written
here, gradients, channels-last equal to channels-first, config, models and files."""
import json

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet.models import Model, Sequential, load_model


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


CASES = [   # name, make(data_format), numpy definition on channels-first x
    ("gap", lambda df: L.GlobalAveragePooling2D(data_format=df), lambda x: x.mean(axis=(2, 3))),
    ("gmp", lambda df: L.GlobalMaxPooling2D(data_format=df), lambda x: x.max(axis=(2, 3))),
    ("zeropad", lambda df: L.ZeroPadding2D(((1, 2), (0, 3)), data_format=df),
     lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2), (0, 3)))),
    ("zeropad_int", lambda df: L.ZeroPadding2D(2, data_format=df),
     lambda x: np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))),
    ("crop", lambda df: L.Cropping2D(((1, 0), (2, 1)), data_format=df), lambda x: x[:, :, 1:, 2:-1]),
    ("crop_pair", lambda df: L.Cropping2D((1, 2), data_format=df), lambda x: x[:, :, 1:-1, 2:-2]),
    ("upsample", lambda df: L.UpSampling2D((2, 3), data_format=df), lambda x: x.repeat(2, axis=2).repeat(3, axis=3)),
    ("upsample_int", lambda df: L.UpSampling2D(2, data_format=df), lambda x: x.repeat(2, axis=2).repeat(2, axis=3)),
]


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name,make,definition", CASES, ids=[c[0] for c in CASES])
def test_values_gradients_and_channels_last(name, make, definition, backend):
    x = _x(2, 3, 5, 6)
    with cnet.use_backend(backend):
        cf = make("channels_first")
        y = cf.forward(x)
        np.testing.assert_array_equal(y, definition(x))
        assert cf.output_shape == y.shape[1:]
        assert cnet.gradcheck(make("channels_first"), x)["x"] < 1e-7
        cl = make("channels_last")
        y_cl = cl.forward(_nhwc(x))
        np.testing.assert_array_equal(y_cl, y if y.ndim == 2 else y.transpose(0, 2, 3, 1))
        r = _x(*y.shape, seed=1)
        dx_cf = cf.backward(r)
        dx_cl = cl.backward(r if r.ndim == 2 else _nhwc(r))
        np.testing.assert_allclose(dx_cl, dx_cf.transpose(0, 2, 3, 1), rtol=1e-12)
        assert cnet.gradcheck(make("channels_last"), _nhwc(x))["x"] < 1e-7


def test_global_max_pooling_shares_the_gradient_of_ties():
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 0, :] = 1.0
    layer = L.GlobalMaxPooling2D()
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.array([[4.0]])), [[[[2.0, 2.0], [0.0, 0.0]]]])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="padding must be >= 0"):
        L.ZeroPadding2D(-1)
    with pytest.raises(ValueError, match="leaves"):
        L.Cropping2D(3).build((1, 5, 5))
    with pytest.raises(NotImplementedError, match="interpolation='bilinear' is not supported"):
        L.UpSampling2D(interpolation="bilinear")
    with pytest.raises(ValueError, match="expects images"):
        L.GlobalAveragePooling2D().build((5, 5))
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        L.GaussianDropout(1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.GlobalMaxPooling2D(keepdims=True)


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((8, 6, 4, 4))
    for df, xin in (("channels_first", x), ("channels_last", _nhwc(x))):
        layer = L.SpatialDropout2D(0.5, seed=3, data_format=df)
        y = layer.forward(xin, train=True)
        planes = y if df == "channels_first" else y.transpose(0, 3, 1, 2)
        per_plane = planes.reshape(8, 6, -1)
        assert np.all((per_plane == 0).all(axis=2) | (per_plane == 2.0).all(axis=2))
        assert 0 < (per_plane[:, :, 0] == 0).mean() < 1
        np.testing.assert_array_equal(layer.backward(np.ones_like(xin)), y)
        np.testing.assert_array_equal(layer.forward(xin, train=False), xin)
    with cnet.layers.frozen_dropout():
        assert cnet.gradcheck(L.SpatialDropout2D(0.3, seed=1), _x(3, 4, 3, 3))["x"] < 1e-7


def test_gaussian_noise_and_dropout():
    cnet.set_seed(0)
    x = np.full((2000, 50), 2.0)
    noisy = L.GaussianNoise(0.5).forward(x, train=True)
    assert abs(noisy.std() - 0.5) < 0.01 and abs(noisy.mean() - 2.0) < 0.01
    dropped = L.GaussianDropout(0.2).forward(x, train=True)
    assert abs(dropped.mean() - 2.0) < 0.01 and abs(dropped.std() - 2.0 * np.sqrt(0.25)) < 0.01
    for make in (lambda: L.GaussianNoise(0.5), lambda: L.GaussianDropout(0.2)):
        np.testing.assert_array_equal(make().forward(x[:3], train=False), x[:3])
        assert cnet.gradcheck(make(), _x(3, 4))["x"] < 1e-7
    cnet.set_seed(5)
    a = L.GaussianNoise(1.0).forward(x[:2], train=True)
    cnet.set_seed(5)
    np.testing.assert_array_equal(L.GaussianNoise(1.0).forward(x[:2], train=True), a)


ALL = [L.GlobalAveragePooling2D(), L.GlobalMaxPooling2D(data_format="channels_last"), L.ZeroPadding2D((1, 2)),
       L.Cropping2D(((1, 0), (0, 1))), L.UpSampling2D((1, 2)), L.SpatialDropout2D(0.25, seed=2),
       L.GaussianNoise(0.3), L.GaussianDropout(0.1), L.GlobalAvgPool2D(), L.GlobalMaxPool2D()]


@pytest.mark.parametrize("layer", ALL, ids=lambda layer: type(layer).__name__)
def test_config_roundtrip(layer):
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is type(layer) and clone.get_config() == config


@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
def test_in_sequential_and_functional_models_with_files(tmp_path, df):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 1, 8, 8)).astype(np.float32)
    if df == "channels_last":
        x = _nhwc(x)
    y = rng.integers(0, 3, 24)
    shape = x.shape[1:]

    def stack():
        return [L.ZeroPadding2D(1, data_format=df), L.Conv2D(4, 3, data_format=df, activation="relu"),
                L.UpSampling2D(2, data_format=df), L.Cropping2D(2, data_format=df),
                L.SpatialDropout2D(0.2, seed=1, data_format=df), L.GaussianNoise(0.1),
                L.GaussianDropout(0.1), L.GlobalAveragePooling2D(data_format=df), L.Dense(3, activation="softmax")]
    cnet.set_seed(0)
    seq = Sequential([L.InputLayer(input_shape=shape)] + stack())
    cnet.set_seed(0)
    inp = L.Input(shape=shape)
    h = inp
    for layer in stack():
        h = layer(h)
    fun = Model(inp, h)
    for m in (seq, fun):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        cnet.set_seed(1)
        m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_allclose(seq.predict(x), fun.predict(x), rtol=1e-5, atol=1e-6)
    for i, m in enumerate((seq, fun)):
        m.save(str(tmp_path / f"m{i}.cnet"))
        np.testing.assert_array_equal(load_model(str(tmp_path / f"m{i}.cnet")).predict(x), m.predict(x))
    gmp = Sequential([L.Conv2D(2, 3, input_shape=shape, data_format=df), L.GlobalMaxPooling2D(data_format=df)])
    assert gmp.predict(x).shape == (24, 2)
