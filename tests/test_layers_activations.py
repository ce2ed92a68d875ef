"""Keras 2's activations beyond relu/sigmoid/tanh/softmax (elu, selu, softplus, softsign, hard_sigmoid, swish,
gelu, leaky_relu) as functions and as layer activations, and the advanced activation layers (LeakyReLU, PReLU,
ELU, ThresholdedReLU, Keras's ReLU options): values against their definitions, float64 gradient checks,
config, Sequential/functional models, saving."""
import json
import math

import numpy as np
import pytest

import cnet
from cnet import activations
from cnet import layers as L
from cnet.models import Model, Sequential, load_model


@pytest.fixture(params=("c", "numpy"))
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * 2


_erf = np.vectorize(math.erf)
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
DEFINITIONS = {   # Keras 2's definitions, written independently of cnet.reference
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(x) - 1)),
    "softplus": lambda x: np.log(1 + np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
}


@pytest.mark.parametrize("name", list(DEFINITIONS))
def test_activation_functions_follow_keras_definitions(name, backend_name):
    x = _x(5, 7)
    fn = activations.get(name)
    assert fn is getattr(activations, name) and activations.serialize(fn) == name
    np.testing.assert_allclose(fn(x), DEFINITIONS[name](x), rtol=1e-12, atol=1e-14)
    assert fn(x.astype(np.float32)).dtype == np.float32


def test_activation_function_options(backend_name):
    x = _x(4, 9)
    np.testing.assert_allclose(activations.elu(x, alpha=0.5), np.where(x > 0, x, 0.5 * (np.exp(x) - 1)))
    np.testing.assert_allclose(activations.relu(x, alpha=0.1, max_value=1.5),
                               np.where(x > 0, np.minimum(x, 1.5), 0.1 * x))
    np.testing.assert_allclose(activations.relu(x, threshold=0.5), np.where(x > 0.5, x, 0))
    np.testing.assert_allclose(activations.leaky_relu(x, alpha=0.01), np.where(x > 0, x, 0.01 * x))
    c = np.sqrt(2 / np.pi)
    np.testing.assert_allclose(activations.gelu(x, approximate=True),
                               0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))), rtol=1e-9, atol=1e-14)
    with pytest.raises(ValueError, match="unknown activation 'eluu'"):
        activations.get("eluu")


ACT_NAMES = list(DEFINITIONS)


@pytest.mark.parametrize("name", ACT_NAMES)
def test_layers_with_the_activation_gradcheck(name, backend_name):
    assert max(cnet.gradcheck(L.Dense(4, activation=name), _x(3, 5)).values()) < 1e-6
    assert max(cnet.gradcheck(L.Conv2D(2, 3, activation=name), _x(2, 2, 5, 5)).values()) < 1e-6
    assert cnet.gradcheck(L.Activation(name), _x(3, 6))["x"] < 1e-6


LAYER_CASES = [
    ("leaky_relu", lambda: L.LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x)),
    ("leaky_relu_01", lambda: L.LeakyReLU(alpha=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("elu", lambda: L.ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    ("thresholded", lambda: L.ThresholdedReLU(theta=0.5), lambda x: np.where(x > 0.5, x, 0)),
    ("relu", lambda: L.ReLU(), lambda x: np.maximum(x, 0)),
    ("relu6", lambda: L.ReLU(max_value=1.0), lambda x: np.clip(x, 0, 1.0)),
    ("relu_all", lambda: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
     lambda x: np.where(x > 0.5, np.minimum(x, 2.0), 0.1 * (x - 0.5))),
    ("prelu", lambda: L.PReLU(alpha_initializer=cnet.initializers.Constant(0.25)),
     lambda x: np.where(x > 0, x, 0.25 * x)),
]


@pytest.mark.parametrize("name,make,definition", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_activation_layers_values_and_gradients(name, make, definition, backend_name):
    x = _x(4, 3, 5)
    layer = make()
    y = layer(x)
    if definition is not None:
        np.testing.assert_allclose(y, definition(x), rtol=1e-6, atol=1e-7)
    errors = cnet.gradcheck(make(), x)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("shared_axes,alpha_shape", [(None, (3, 4, 5)), ([2, 3], (3, 1, 1)), (1, (1, 4, 5))])
def test_prelu_shared_axes_and_gradient(shared_axes, alpha_shape, backend_name):
    x = _x(6, 3, 4, 5)
    layer = L.PReLU(shared_axes=shared_axes)
    layer.build(x.shape[1:], np.float64)
    assert layer.params["alpha"].shape == alpha_shape and layer.count_params() == math.prod(alpha_shape)
    alpha = np.random.default_rng(1).uniform(-0.5, 0.5, alpha_shape)
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, alpha * x))
    errors = cnet.gradcheck(layer, x)
    assert set(errors) == {"alpha", "x"} and max(errors.values()) < 1e-6, errors


def test_initializer_configs_are_kept_as_objects():
    """Keras's {'class_name', 'config'} initializers (as Keras 2.2 files hold them) serialize back."""
    spec = {"class_name": "Constant", "config": {"value": 0.25}}
    p = L.PReLU(alpha_initializer=spec)
    p.build((3,))
    np.testing.assert_array_equal(p.params["alpha"], 0.25)
    assert p.get_config()["alpha_initializer"]["class_name"] == "Constant"
    d = L.Dense(2, kernel_initializer={"class_name": "Zeros", "config": {}})
    assert L.Dense.from_config(d.get_config()).get_config() == d.get_config()
    s = L.SeparableConv2D(2, 3, depthwise_initializer={"class_name": "Ones", "config": {}})
    assert s.get_config()["depthwise_initializer"] == {"class_name": "Ones", "config": {}}


def test_activation_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="ReLU: negative_slope must be >= 0"):
        L.ReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="max_value .* must be >= threshold"):
        L.ReLU(max_value=1.0, threshold=2.0)
    with pytest.raises(TypeError, match="LeakyReLU: alpha must be a finite number"):
        L.LeakyReLU(alpha="x")
    with pytest.raises(NotImplementedError, match="alpha_regularizer is not supported"):
        L.PReLU(alpha_regularizer="l2")
    with pytest.raises(ValueError, match="shared_axes .* do not fit"):
        L.PReLU(shared_axes=[4]).build((3, 4))


@pytest.mark.parametrize("layer", [L.LeakyReLU(0.2), L.ELU(0.5), L.ThresholdedReLU(0.3), L.PReLU(shared_axes=[1]),
                                   L.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.0), L.ReLU()],
                         ids=lambda layer: type(layer).__name__)
def test_activation_layers_config_roundtrip(layer):
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is type(layer) and clone.get_config() == config


def _blobs(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_sequential_and_functional_train_save_and_load(tmp_path):
    x, y = _blobs()
    cnet.set_seed(0)
    seq = Sequential([L.Dense(8, activation="selu", input_shape=(6,)), L.PReLU(), L.Dense(8, activation="gelu"),
                      L.LeakyReLU(), L.Dense(8, activation="swish"), L.ELU(), L.Dense(2, activation="softmax")])
    seq.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    seq.fit(x, y, epochs=2, batch_size=16, verbose=0)
    seq.save(str(tmp_path / "s.cnet"))
    back = load_model(str(tmp_path / "s.cnet"))
    np.testing.assert_array_equal(back.predict(x), seq.predict(x))
    cnet.set_seed(0)
    inp = L.Input(shape=(6,))
    h = L.Dense(8, activation="selu")(inp)
    h = L.PReLU()(h)
    h = L.Dense(8, activation="gelu")(h)
    h = L.LeakyReLU()(h)
    h = L.Dense(8, activation="swish")(h)
    h = L.ELU()(h)
    fun = Model(inp, L.Dense(2, activation="softmax")(h))
    fun.compile("adam", "sparse_categorical_crossentropy")
    fun.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.testing.assert_allclose(fun.predict(x), seq.predict(x), rtol=1e-5, atol=1e-6)
    fun.save(str(tmp_path / "f.cnet"))
    np.testing.assert_array_equal(load_model(str(tmp_path / "f.cnet")).predict(x), fun.predict(x))
