"""data_format='channels_last': every image layer equals its channels-first self on transposed data
(outputs, input gradients, weight gradients), float64 gradient checks, the data format flowing through a
model, the copies it makes, set_image_data_format, and a channels-last model equal to the channels-first
one with the Dense rows after Flatten reordered."""
import numpy as np
import pytest

import cnet
from cnet import backend as K
from cnet import layers as L
from cnet.layers.base import _is_cl_view
from cnet.models import Sequential


@pytest.fixture(autouse=True)
def _unset_image_data_format(monkeypatch):
    monkeypatch.setitem(K._settings, "image_data_format", None)


@pytest.fixture(params=("c", "numpy"))
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _nhwc(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


PAIRS = [   # (name, make(data_format), channels-first input shape)
    ("conv_valid", lambda f: L.Conv2D(3, 3, data_format=f), (2, 2, 5, 5)),
    ("conv_same_relu", lambda f: L.Conv2D(3, 3, padding="same", activation="relu", data_format=f), (2, 3, 5, 5)),
    ("conv_same_strided_odd_pad", lambda f: L.Conv2D(2, 3, strides=2, padding="same", data_format=f), (2, 2, 6, 6)),
    ("conv_rect_nobias", lambda f: L.Conv2D(2, (2, 3), strides=(2, 1), use_bias=False, data_format=f),
     (1, 3, 5, 6)),
    ("conv_softmax", lambda f: L.Conv2D(4, 1, activation="softmax", data_format=f), (2, 3, 3, 4)),
    ("maxpool", lambda f: L.MaxPooling2D(data_format=f), (2, 2, 4, 4)),
    ("maxpool_same_odd", lambda f: L.MaxPooling2D(padding="same", data_format=f), (2, 3, 5, 5)),
    ("avgpool_same", lambda f: L.AveragePooling2D(3, strides=1, padding="same", data_format=f), (2, 2, 4, 5)),
    ("batchnorm", lambda f: L.BatchNormalization(axis=1 if f == "channels_first" else -1), (4, 3, 3, 2)),
]


@pytest.mark.parametrize("name,make,shape", PAIRS, ids=[p[0] for p in PAIRS])
def test_channels_last_layer_equals_channels_first(name, make, shape, backend_name):
    x = _x(*shape)
    cf, cl = make("channels_first"), make("channels_last")
    cf.build(shape[1:], np.float64)
    cl.build(_nhwc(x).shape[1:], np.float64)
    assert cl.output_shape == tuple(np.transpose(np.empty((1,) + cf.output_shape), (0, 2, 3, 1)).shape[1:])
    cl.set_weights(cf.get_weights())          # the same weights in both data formats
    y_cf, y_cl = cf.forward(x), cl.forward(_nhwc(x))
    assert y_cl.shape == (shape[0],) + cl.output_shape
    np.testing.assert_array_equal(y_cl, y_cf.transpose(0, 2, 3, 1))
    r = _x(*y_cf.shape, seed=1)
    dx_cf, dx_cl = cf.backward(r), cl.backward(_nhwc(r))
    np.testing.assert_array_equal(dx_cl, dx_cf.transpose(0, 2, 3, 1))
    for key in cf.grads:
        np.testing.assert_array_equal(cl.grads[key], cf.grads[key], err_msg=key)
    np.testing.assert_array_equal(cl.forward(_nhwc(x), train=False), cf.forward(x, train=False).transpose(0, 2, 3, 1))


@pytest.mark.parametrize("name,make,shape", PAIRS, ids=[p[0] for p in PAIRS])
def test_channels_last_gradients_float64(name, make, shape):
    errors = cnet.gradcheck(make("channels_last"), _nhwc(_x(*shape)))
    for key, err in errors.items():
        assert err < 1e-6, f"{name}: relative error of {key} is {err:.2e}"


@pytest.mark.parametrize("make", [lambda: L.Dropout(0.5, seed=3), lambda: L.Activation("relu"), lambda: L.ReLU(),
                                  lambda: L.Activation("tanh")], ids=["dropout", "activation", "relu", "tanh"])
def test_elementwise_layers_keep_the_channels_first_data_of_a_view(make):
    """They run on the channels-first data behind the view (a Dropout mask too: the same as in the
    channels-first model), and give a view again."""
    x = _x(2, 3, 4, 5)
    view = x.transpose(0, 2, 3, 1)                  # what a channels-last layer gives
    a, b = make(), make()
    y_view, y_cf = a.forward(view), b.forward(x)
    assert _is_cl_view(y_view)                       # no copy into channels-last order
    np.testing.assert_array_equal(y_view, y_cf.transpose(0, 2, 3, 1))
    r = _x(2, 3, 4, 5, seed=1)
    np.testing.assert_array_equal(a.backward(_nhwc(r)), b.backward(r).transpose(0, 2, 3, 1))


def test_softmax_activation_on_channels_last_images_is_over_the_channels():
    x = _x(2, 3, 4, 5).transpose(0, 2, 3, 1)
    y = L.Activation("softmax").forward(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=-1, keepdims=True), rtol=1e-12)


def test_flatten_orders():
    x = _x(2, 3, 4, 5)                                # channels-first (C, H, W) = (3, 4, 5)
    np.testing.assert_array_equal(L.Flatten().forward(x), x.reshape(2, -1))
    np.testing.assert_array_equal(L.Flatten().forward(x.transpose(0, 2, 3, 1)),         # a channels-last input
                                  x.transpose(0, 2, 3, 1).reshape(2, -1))
    tf_order = L.Flatten(data_format="channels_first")   # tf.keras: channels-first images in (H, W, C) order
    y = tf_order.forward(x)
    np.testing.assert_array_equal(y, x.transpose(0, 2, 3, 1).reshape(2, -1))
    r = _x(*y.shape, seed=1)
    np.testing.assert_array_equal(tf_order.backward(r), r.reshape(2, 4, 5, 3).transpose(0, 3, 1, 2))
    assert L.Flatten.from_config(tf_order.get_config()).data_format == "channels_first"
    assert "data_format" not in L.Flatten().get_config()


def _convnet(data_format, seed=1):
    cnet.set_seed(seed)
    kw = {} if data_format is None else {"data_format": data_format}
    shape = (3, 10, 10) if data_format == "channels_first" else (10, 10, 3)
    return Sequential([L.Conv2D(4, 3, activation="relu", input_shape=shape, **kw), L.BatchNormalization(),
                       L.Activation("relu"), L.Conv2D(5, 3, padding="same", **kw), L.MaxPooling2D(**kw),
                       L.Dropout(0.3, seed=3), L.Flatten(), L.Dense(3, activation="softmax")], dtype="float64")


def _dense_rows_to_channels_last(w, chw):
    c, h, wd = chw
    return w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(c * h * wd, -1)


def test_channels_last_model_equals_channels_first_model(backend_name):
    cf, cl = _convnet("channels_first"), _convnet("channels_last")
    assert [getattr(layer, "data_format", None) for layer in cl.layers] == \
        ["channels_last", None, None, "channels_last", "channels_last", None, None, None]
    assert cl.layers[1].axis == -1 and cf.layers[1].axis == 1
    assert [layer.output_shape for layer in cl.layers] == [(8, 8, 4), (8, 8, 4), (8, 8, 4), (8, 8, 5), (4, 4, 5),
                                                          (4, 4, 5), (80,), (3,)]
    weights = cf.get_weights()
    weights[-2] = _dense_rows_to_channels_last(weights[-2], cf.layers[4].output_shape)
    cl.set_weights(weights)      # conv kernels are (filters, C, kh, kw) in both data formats
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 10, 10))
    y = np.eye(3)[rng.integers(0, 3, 6)]
    np.testing.assert_allclose(cl.predict(_nhwc(x)), cf.predict(x), rtol=1e-12, atol=1e-15)
    for m in (cf, cl):
        m.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    for _ in range(2):
        np.testing.assert_allclose(cl.train_on_batch(_nhwc(x), y), cf.train_on_batch(x, y), rtol=1e-12)
    for a, b in zip(cl.get_weights()[:-2], cf.get_weights()[:-2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    h_cl = cl.fit(_nhwc(x), y, batch_size=3, epochs=2, verbose=0, seed=5).history
    h_cf = cf.fit(x, y, batch_size=3, epochs=2, verbose=0, seed=5).history
    np.testing.assert_allclose(h_cl["loss"], h_cf["loss"], rtol=1e-10)


def test_channels_last_model_gradients_float64():
    model = _convnet(None)          # (10, 10, 3) read as channels-last: every image layer follows
    assert model.layers[0].data_format == "channels_last"
    model.compile("sgd", "categorical_crossentropy")
    x = _x(4, 10, 10, 3)
    y = np.eye(3)[[0, 1, 2, 1]]
    model.fit(x, y, epochs=1, verbose=0)        # BatchNormalization's moving averages move: no matter
    grads = model.gradient(x, y)

    class Net:                                  # gradcheck's book interface over the model
        params = model.params

        @staticmethod
        def loss(a, t):
            return model.loss(a, t)

        @staticmethod
        def gradient(a, t):
            return model.gradient(a, t)
    errors = cnet.gradcheck(Net, x, y, max_elements=20)
    assert set(errors) == set(grads)
    assert max(errors.values()) < 1e-6, errors


def test_copies_in_a_channels_last_model(monkeypatch):
    """Between channels-last layers the data stays channels-first: the only copies in channels-last order
    are the model's input (none for one channel) and where Flatten reads the last view."""
    model = Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)), L.Conv2D(4, 3),
                        L.Activation("relu"), L.MaxPooling2D(), L.Dropout(0.25, seed=1), L.Flatten(),
                        L.Dense(2)])
    copies = []
    real = np.ascontiguousarray

    def counting(a, *args, **kwargs):
        a = np.asarray(a)
        if a.ndim == 4 and not a.flags.c_contiguous:
            copies.append(a.shape)
        return real(a, *args, **kwargs)

    from cnet.layers import base
    monkeypatch.setattr(base.np, "ascontiguousarray", counting)
    outputs = []
    x = _x(3, 12, 12, 1).astype(np.float32)
    for layer in model.layers:
        x = layer.forward(x)
        outputs.append(x)
    assert copies == []
    assert all(_is_cl_view(y) for y in outputs[:5])
    dout = np.ones_like(outputs[-1])
    for layer in reversed(model.layers):
        dout = layer.backward(dout)
    assert copies == [(3, 4, 4, 4)]    # Flatten's gradient, channels-last, back to channels-first once


def test_an_unset_data_format_follows_the_model():
    m = Sequential([L.Conv2D(4, 3, input_shape=(28, 28, 1)), L.MaxPooling2D(), L.BatchNormalization(),
                    L.Conv2D(2, 3), L.Flatten(), L.Dense(3)])
    assert [getattr(layer, "data_format", None) for layer in m.layers[:4]] == \
        ["channels_last", "channels_last", None, "channels_last"]
    assert m.layers[2].axis == -1 and m.output_shape == (3,) and m.layers[3].output_shape == (11, 11, 2)
    cf = Sequential([L.Conv2D(4, 3, input_shape=(1, 28, 28)), L.MaxPooling2D(), L.BatchNormalization()])
    assert [cf.layers[0].data_format, cf.layers[1].data_format, cf.layers[2].axis] == \
        ["channels_first", "channels_first", 1]
    # an image layer after a Reshape reads the shape it gets; one given data_format keeps it
    m = Sequential([L.Reshape((28, 28, 1), input_shape=(784,)), L.Conv2D(2, 3),
                    L.MaxPooling2D(data_format="channels_first")])   # (26, 26, 2) read as C, H, W
    assert m.layers[1].data_format == "channels_last" and m.layers[2].output_shape == (26, 13, 1)
    lines = []
    Sequential([L.Conv2D(4, 3, input_shape=(28, 28, 1))]).summary(print_fn=lines.append)
    assert any("(None, 26, 26, 4)" in line for line in lines)


def test_set_image_data_format(monkeypatch):
    K.set_image_data_format("channels_last")
    assert K.image_data_format() == "channels_last" and K.image_dim_ordering() == "tf"
    conv, pool, bn = L.Conv2D(2, 3), L.MaxPooling2D(), L.BatchNormalization()
    assert (conv.data_format, pool.data_format) == ("channels_last", "channels_last")
    bn.build((5, 5, 4))
    assert bn.axis == -1 and bn.weight_shapes((5, 5, 4))[0] == ("gamma", (4,))
    assert conv.compute_output_shape((6, 6, 3)) == (4, 4, 2)
    assert L.Conv2D(2, 3, data_format="channels_first").data_format == "channels_first"
    K.set_image_dim_ordering("th")
    assert K.image_data_format() == "channels_first" and L.Conv2D(2, 3).data_format == "channels_first"
    with pytest.raises(ValueError, match="'th' or 'tf'"):
        K.set_image_dim_ordering("nchw")
    assert K.backend() == "cnet"


def test_save_and_load_a_channels_last_model(tmp_path):
    model = _convnet(None)
    model.compile("adam", "categorical_crossentropy")
    x = _x(4, 10, 10, 3)
    model.save(tmp_path / "m.cnet")
    loaded = cnet.models.load_model(tmp_path / "m.cnet")
    assert loaded.layers[0].data_format == "channels_last" and loaded.layers[1].axis == -1
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_configs_of_before_data_format_are_channels_first():
    K.set_image_data_format("channels_last")
    config = L.Conv2D(4, 3).get_config()
    assert config["data_format"] == "channels_last"
    del config["data_format"]          # a file written before cnet had data_format
    assert L.Conv2D.from_config(config).data_format == "channels_first"
    pool = L.MaxPooling2D.get_config(L.MaxPooling2D(data_format=None))
    assert pool["data_format"] == "channels_last" and L.MaxPooling2D.from_config(pool).data_format == "channels_last"
    K._settings["image_data_format"] = None
    unresolved = L.Conv2D(4, 3).get_config()          # left to the model: stays so through a config
    assert unresolved["data_format"] is None and L.Conv2D.from_config(unresolved).data_format is None


def test_data_formats_flow_through_a_functional_model():
    inputs = L.Input(shape=(12, 12, 1))                 # read channels-last: every image layer follows
    a = L.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    b = L.BatchNormalization()(L.Conv2D(3, 1)(inputs))
    merged = L.Concatenate()([a, b])                    # axis -1: the channels of channels-last images
    out = L.Dense(2)(L.Flatten()(L.MaxPooling2D()(merged)))
    model = cnet.models.Model(inputs, out)
    assert a.data_format == merged.data_format == "channels_last" and a.shape == (None, 12, 12, 3)
    assert [layer.data_format for layer in model.layers if isinstance(layer, (L.Conv2D, L.MaxPooling2D))] == \
        ["channels_last"] * 3
    assert b.layer.axis == -1 and merged.shape == (None, 12, 12, 6)
    x = _x(2, 12, 12, 1)
    cf_in = L.Input(shape=(1, 12, 12))
    a2 = L.Conv2D(3, 3, padding="same", activation="relu")(cf_in)
    b2 = L.BatchNormalization()(L.Conv2D(3, 1)(cf_in))
    cf = cnet.models.Model(cf_in, L.Dense(2)(L.Flatten()(L.MaxPooling2D()(L.Concatenate(axis=1)([a2, b2])))))
    weights = model.get_weights()
    weights[-2] = weights[-2].reshape(6, 6, 6, 2).transpose(2, 0, 1, 3).reshape(216, 2)   # (h, w, c) -> (c, h, w)
    cf.set_weights(weights)
    np.testing.assert_allclose(model.predict(x), cf.predict(x.transpose(0, 3, 1, 2)), rtol=1e-5, atol=1e-6)
