"""Optimizers: trajectories on a quadratic against the formulas, Keras defaults and names, the book's API."""
import math

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import optimizers as O

A = np.array([1.0, 4.0, 0.5])          # f(p) = 0.5 * sum(A * p**2), gradient A * p
P0 = np.array([1.0, -2.0, 3.0])
STEPS = 4


@pytest.fixture(params=("c", "numpy"))
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _run(opt, steps=STEPS):
    params = {"p": P0.copy()}
    path = []
    for _ in range(steps):
        opt.update(params, {"p": A * params["p"]})
        path.append(params["p"].copy())
    return np.array(path)


def _expected(rule, steps=STEPS):
    p = P0.copy()
    s1 = np.zeros_like(p)
    s2 = np.zeros_like(p)
    path = []
    for t in range(1, steps + 1):
        g = A * p
        p, s1, s2 = rule(p, g, s1, s2, t)
        path.append(p.copy())
    return np.array(path)


def sgd(lr, decay=0.0):
    return lambda p, g, s1, s2, t: (p - lr / (1 + decay * (t - 1)) * g, s1, s2)


def momentum(lr, m):
    def rule(p, g, v, s2, t):
        v = m * v - lr * g
        return p + v, v, s2
    return rule


def nesterov(lr, m):
    def rule(p, g, v, s2, t):
        v = m * v - lr * g
        return p + m * v - lr * g, v, s2
    return rule


def rmsprop(lr, rho, eps):
    def rule(p, g, h, s2, t):
        h = rho * h + (1 - rho) * g * g
        return p - lr * g / (np.sqrt(h) + eps), h, s2
    return rule


def adagrad(lr, eps):
    def rule(p, g, h, s2, t):
        h = h + g * g
        return p - lr * g / (np.sqrt(h) + eps), h, s2
    return rule


def adadelta(lr, rho, eps):
    def rule(p, g, h, d, t):
        h = rho * h + (1 - rho) * g * g
        upd = g * np.sqrt(d + eps) / np.sqrt(h + eps)
        d = rho * d + (1 - rho) * upd * upd
        return p - lr * upd, h, d
    return rule


def adam(lr, b1, b2, eps):
    def rule(p, g, m, v, t):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return p - lr_t * m / (np.sqrt(v) + eps), m, v
    return rule


CASES = [
    ("sgd", lambda: O.SGD(learning_rate=0.1), sgd(0.1)),
    ("sgd_decay", lambda: O.SGD(0.1, decay=0.5), sgd(0.1, decay=0.5)),
    ("sgd_momentum", lambda: O.SGD(0.05, momentum=0.9), momentum(0.05, 0.9)),
    ("sgd_nesterov", lambda: O.SGD(0.05, momentum=0.8, nesterov=True), nesterov(0.05, 0.8)),
    ("rmsprop", lambda: O.RMSprop(0.01, rho=0.8, epsilon=1e-6), rmsprop(0.01, 0.8, 1e-6)),
    ("adagrad", lambda: O.Adagrad(0.3, epsilon=1e-6), adagrad(0.3, 1e-6)),
    ("adadelta", lambda: O.Adadelta(1.0, rho=0.9, epsilon=1e-6), adadelta(1.0, 0.9, 1e-6)),
    ("adam", lambda: O.Adam(0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-6), adam(0.1, 0.8, 0.99, 1e-6)),
    ("book_momentum", lambda: O.Momentum(lr=0.05), momentum(0.05, 0.9)),
    ("book_nesterov", lambda: O.Nesterov(lr=0.05), nesterov(0.05, 0.9)),
    ("book_adagrad", lambda: O.AdaGrad(lr=0.3), adagrad(0.3, 1e-7)),
    ("book_rmsprop", lambda: O.RMSprop(lr=0.01, decay_rate=0.99), rmsprop(0.01, 0.99, 1e-7)),
    ("book_adam", lambda: O.Adam(lr=0.1, beta1=0.8, beta2=0.99), adam(0.1, 0.8, 0.99, 1e-7)),
]


@pytest.mark.parametrize("name,make,rule", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_formulas(name, make, rule, backend_name):
    opt = make()
    np.testing.assert_allclose(_run(opt), _expected(rule), rtol=1e-12, atol=1e-14)
    assert opt.iterations == STEPS


def test_float32_parameters(backend_name):
    opt = O.Adam(0.1)
    params = {"p": P0.astype(np.float32)}
    p_id = id(params["p"])
    for _ in range(3):
        opt.update(params, {"p": (A * params["p"]).astype(np.float32)})
    assert id(params["p"]) == p_id and params["p"].dtype == np.float32
    np.testing.assert_allclose(params["p"], _expected(adam(0.1, 0.9, 0.999, 1e-7), 3)[-1], rtol=1e-5)


def test_keras_defaults():
    assert O.SGD().get_config() == {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False,
                                    "decay": 0.0, "weight_decay": 0.0}
    r = O.RMSprop()
    assert (r.lr, r.rho, r.epsilon) == (0.001, 0.9, 1e-7)
    a = O.Adagrad()
    assert (a.lr, a.epsilon) == (0.01, 1e-7)
    d = O.Adadelta()
    assert (d.lr, d.rho, d.epsilon) == (1.0, 0.95, 1e-7)
    adam_ = O.Adam()
    assert (adam_.lr, adam_.beta_1, adam_.beta_2, adam_.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    m = O.Momentum()
    assert (m.lr, m.momentum) == (0.01, 0.9)


def test_lr_alias():
    for cls in (O.SGD, O.RMSprop, O.Adagrad, O.Adadelta, O.Adam):
        opt = cls(lr=0.123)
        assert opt.lr == opt.learning_rate == 0.123
        opt.lr = 0.5
        assert opt.learning_rate == 0.5
    assert O.Adam(beta1=0.5, beta2=0.6).get_config()["beta_1"] == 0.5


def test_get_and_config_roundtrip():
    assert isinstance(O.get("ADAM"), O.Adam) and isinstance(O.get("sgd"), O.SGD)
    assert isinstance(O.get("RMSprop"), O.RMSprop) and isinstance(O.get("adadelta"), O.Adadelta)
    opt = O.SGD(0.2, momentum=0.5)
    assert O.get(opt) is opt
    clone = O.get(O.serialize(opt))
    assert type(clone) is O.SGD and clone.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="known"):
        O.get("adamw2")


def test_state_roundtrip_continues_the_trajectory(backend_name):
    full = _run(O.Adam(0.1), steps=4)
    opt = O.Adam(0.1)
    params = {"p": P0.copy()}
    for _ in range(2):
        opt.update(params, {"p": A * params["p"]})
    state = opt.get_state()
    assert state["iterations"] == 2 and set(state) == {"iterations", "m:p", "v:p"}
    resumed = O.Adam(0.1)
    resumed.set_state(state)
    for _ in range(2):
        resumed.update(params, {"p": A * params["p"]})
    np.testing.assert_allclose(params["p"], full[-1], rtol=1e-12)
    with pytest.raises(ValueError, match="unexpected entry"):
        resumed.set_state({"iterations": 1, "q:p": np.zeros(3)})


def test_missing_gradient_message():
    with pytest.raises(KeyError, match="no gradient for parameter 'W1'"):
        O.SGD().update({"W1": np.zeros(2)}, {"W2": np.zeros(2)})


@pytest.mark.parametrize("make", [lambda: O.SGD(lr=0.5), lambda: O.Momentum(lr=0.1),
                                  lambda: O.Adam(lr=0.05)], ids=["SGD", "Momentum", "Adam"])
def test_book_two_layer_net_trains(make, backend_name):
    """A two-layer net written the book's way: params dict shared with Affine layers, update(params, grads)."""
    rng = np.random.default_rng(0)
    n, d, h, k = 120, 4, 16, 3
    centers = rng.standard_normal((k, d)) * 3
    t = rng.integers(0, k, n)
    x = centers[t] + rng.standard_normal((n, d))

    params = {"W1": 0.1 * rng.standard_normal((d, h)), "b1": np.zeros(h),
              "W2": 0.1 * rng.standard_normal((h, k)), "b2": np.zeros(k)}
    layers = [L.Affine(params["W1"], params["b1"]), L.Relu(), L.Affine(params["W2"], params["b2"])]
    last = L.SoftmaxWithLoss()

    def loss():
        y = x
        for layer in layers:
            y = layer.forward(y)
        return last.forward(y, t)

    def gradient():
        loss()
        dout = last.backward(1)
        for layer in reversed(layers):
            dout = layer.backward(dout)
        return {"W1": layers[0].dW, "b1": layers[0].db, "W2": layers[2].dW, "b2": layers[2].db}

    opt = make()
    first = loss()
    for _ in range(60):
        opt.update(params, gradient())
    final = loss()
    assert final < 0.3 * first, (first, final)
    assert layers[0].W is params["W1"]
