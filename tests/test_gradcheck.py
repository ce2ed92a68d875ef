"""cnet.gradcheck on layers and on networks with the book's interface."""
import numpy as np
import pytest

import cnet
from cnet import initializers
from cnet import layers as L


class BookNet:
    """A two-layer net in the book's style: params, loss(x, t), gradient(x, t)."""

    def __init__(self, rng, dropout=False):
        self.params = {"W1": rng.standard_normal((4, 5)), "b1": rng.standard_normal(5),
                       "W2": rng.standard_normal((5, 3)), "b2": rng.standard_normal(3)}
        self.layers = [L.Affine(self.params["W1"], self.params["b1"]), L.Sigmoid()]
        if dropout:
            self.layers.append(L.Dropout(0.5, seed=1))
        self.layers.append(L.Affine(self.params["W2"], self.params["b2"]))
        self.last = L.SoftmaxWithLoss()

    def loss(self, x, t):
        for layer in self.layers:
            x = layer.forward(x, True)
        return self.last.forward(x, t)

    def gradient(self, x, t):
        self.loss(x, t)
        d = self.last.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)
        a, b = self.layers[0], self.layers[-1]
        return {"W1": a.dW, "b1": a.db, "W2": b.dW, "b2": b.db}


@pytest.mark.parametrize("backend_name", ["c", "numpy"])
@pytest.mark.parametrize("dropout", [False, True])
def test_book_network(backend_name, dropout):
    rng = np.random.default_rng(0)
    net = BookNet(rng, dropout)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    with cnet.use_backend(backend_name):
        before = {k: v.copy() for k, v in net.params.items()}
        errors = cnet.gradcheck(net, x, t)
    assert set(errors) == {"W1", "b1", "W2", "b2"}
    assert max(errors.values()) < 1e-6, errors
    for k in before:                                   # parameters restored
        np.testing.assert_array_equal(net.params[k], before[k])


def test_float32_network_warns():
    rng = np.random.default_rng(2)
    net = BookNet(rng)
    for k in net.params:
        net.params[k] = net.params[k].astype(np.float32)
    net.layers[0].W, net.layers[0].b = net.params["W1"], net.params["b1"]
    net.layers[-1].W, net.layers[-1].b = net.params["W2"], net.params["b2"]
    with pytest.warns(UserWarning, match="float64"):
        cnet.gradcheck(net, rng.standard_normal((3, 4)), rng.integers(0, 3, 3), keys=["b2"])


def test_model_with_loss_and_grads():
    rng = np.random.default_rng(1)
    net = BookNet(rng)

    class Model:
        params = net.params

        def loss_and_grads(self, x, y):
            return net.loss(x, y), net.gradient(x, y)

    x, t = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    errors = cnet.gradcheck(Model(), x, t)
    assert max(errors.values()) < 1e-6


def test_detects_a_wrong_gradient():
    class Broken(L.Dense):
        def _backward(self, dout):
            dx = super()._backward(dout)
            self.grads["W"] *= 1.01
            return dx

    errors = cnet.gradcheck(Broken(3), np.random.default_rng(0).standard_normal((4, 2)))
    assert errors["W"] > 1e-3 and errors["b"] < 1e-6


@pytest.mark.parametrize("shape", [(3, 5), (3, 4, 5)])
def test_layer_with_regularizers(shape):
    """A layer's gradients include its regularizers' penalties; so does the function checked (it did not:
    a right layer showed errors of ~1e-3)."""
    x = np.random.default_rng(0).standard_normal(shape)
    layer = L.Dense(6, activation="tanh", kernel_regularizer="l1_l2", bias_initializer="ones",
                    bias_regularizer="l2", activity_regularizer="l1")
    assert max(cnet.gradcheck(layer, x).values()) < 1e-6


def test_sampling_keys_and_errors():
    errors = cnet.gradcheck(L.Conv2D(2, 3), np.random.default_rng(0).standard_normal((2, 1, 5, 5)),
                            keys=["W"], max_elements=5)
    assert list(errors) == ["W"] and errors["W"] < 1e-6
    with pytest.raises(TypeError, match="Layer or a network"):
        cnet.gradcheck(object(), np.zeros((1, 1)))


def test_initializers_surface():
    initializers.set_seed(0)
    a = initializers.get("he_normal")((100, 50))
    assert a.dtype == np.float32 and abs(a.std() - np.sqrt(2 / 100)) < 0.02
    assert np.all(initializers.get("zeros")((2,)) == 0) and np.all(initializers.get("ones")((2,)) == 1)
    assert initializers.get(0.01)((1000,)).std() == pytest.approx(0.01, rel=0.1)
    assert initializers.get("normal", weight_init_std=0.1)((1000,)).std() == pytest.approx(0.1, rel=0.1)
    assert initializers.get("he")((400, 10)).std() == pytest.approx(np.sqrt(2 / 400), rel=0.1)
    assert initializers.get("xavier")((400, 10)).std() == pytest.approx(np.sqrt(1 / 400), rel=0.1)
    assert initializers.compute_fans((8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="known"):
        initializers.get("glorot_uniformm")


def test_backend_module():
    b = cnet.backend
    assert (b.image_data_format(), b.floatx(), b.epsilon()) == ("channels_first", "float32", 1e-7)
    b.set_floatx("float64")
    try:
        assert L.Dense(2).build((3,)) == (2,) and L.Dense(2, name="x64").build((3,)) == (2,)
        d = L.Dense(2)
        d.build((3,))
        assert d.dtype == np.float64
        # a Keras program that calls set_floatx('float64') gets a float64 model, weights and outputs
        m = cnet.models.Sequential([L.Dense(2, input_shape=(3,))])
        assert m.dtype == np.float64 and all(w.dtype == np.float64 for w in m.get_weights())
        assert m.predict(np.ones((1, 3), np.float32)).dtype == np.float64
        assert cnet.models.Sequential(dtype="float32").dtype == np.float32
    finally:
        b.set_floatx("float32")
    with pytest.raises(ValueError):
        b.set_floatx("float16")
