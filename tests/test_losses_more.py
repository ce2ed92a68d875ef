"""Keras 2's regression, margin and divergence losses (mae, mape, msle, hinge, squared_hinge, kld, logcosh,
huber), 1-D targets against one output unit, and the metrics top_k_categorical_accuracy,
sparse_top_k_categorical_accuracy, mae and the losses as metrics (keras.metrics)."""
import functools

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import losses, metrics
from cnet.models import Sequential, load_model

EPS = 1e-7


def _pair(shape=(5, 3), seed=0, positive=False):
    rng = np.random.default_rng(seed)
    t, p = rng.standard_normal(shape), rng.standard_normal(shape)
    if positive:
        t, p = np.abs(t) + 0.1, np.abs(p) + 0.1
    return t, p


# Keras 2's definitions, written again here (per sample: the mean or sum over the last axis)
DEFS = {
    "mean_absolute_error": lambda t, p: np.abs(p - t).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: ((np.log(np.maximum(p, EPS) + 1)
                                                     - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
    "kullback_leibler_divergence": lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1)
                                                                              / np.clip(p, EPS, 1))).sum(-1),
    "logcosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "huber_loss": lambda t, p: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1),
}
ALIASES = {"mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "msle": "mean_squared_logarithmic_error", "kld": "kullback_leibler_divergence", "huber": "huber_loss"}


def _data(name):
    if name == "kullback_leibler_divergence":
        rng = np.random.default_rng(3)
        t, p = rng.dirichlet(np.ones(4), 6), rng.dirichlet(np.ones(4), 6)
        return t, p
    if name in ("hinge", "squared_hinge"):
        t, p = _pair((6, 4))
        return np.sign(t), p
    return _pair((6, 4), positive=name == "mean_squared_logarithmic_error")


@pytest.mark.parametrize("name", list(DEFS))
def test_loss_functions_follow_keras(name):
    t, p = _data(name)
    fn = getattr(losses, "huber" if name == "huber_loss" else name)
    np.testing.assert_allclose(fn(t, p), DEFS[name](t, p), rtol=1e-10)
    assert fn(t, p.astype(np.float32)).dtype == np.float32
    obj = losses.get(name)
    assert obj.forward(p, t) == pytest.approx(DEFS[name](t, p).mean(), rel=1e-10)
    np.testing.assert_allclose(obj(t, p), DEFS[name](t, p), rtol=1e-10)


@pytest.mark.parametrize("alias,name", list(ALIASES.items()))
def test_aliases(alias, name):
    assert type(losses.get(alias)) is type(losses.get(name))
    if alias != "huber":
        assert getattr(losses, alias) is getattr(losses, name)


@pytest.mark.parametrize("name", list(DEFS))
def test_loss_gradients_by_finite_differences(name):
    t, p = _data(name)
    obj = losses.get(name)
    obj.forward(p, t)
    g = obj.backward()
    assert g.shape == p.shape and g.dtype == p.dtype
    h = 1e-6
    num = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        a, b = p.copy(), p.copy()
        a[i] += h
        b[i] -= h
        num[i] = (losses.get(name).forward(a, t) - losses.get(name).forward(b, t)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_hinge_takes_0_1_labels_and_huber_delta():
    t, p = np.array([[0.0], [1.0], [1.0]]), np.array([[0.3], [0.2], [2.0]])
    np.testing.assert_allclose(losses.hinge(t, p), [1.3, 0.8, 0.0])
    x = np.array([[0.5, 3.0]])
    np.testing.assert_allclose(losses.huber(np.zeros_like(x), x, delta=2.0), [(0.125 + 2 * (3 - 1)) / 2])
    h = losses.Huber(delta=2.0)
    assert h.name == "huber_loss(delta=2.0)" and losses.get(h.name).delta == 2.0
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match="from_logits=True is not supported"):
        losses.get("mae").forward(x, x, from_logits=True)
    with pytest.raises(ValueError, match=r"targets have shape \(2,\) but predictions have shape \(1, 2\)"):
        losses.get("logcosh").forward(x, np.zeros(2))


def _binary(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] - x[:, 1] > 0).astype(np.float32)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", "mae", "hinge", "squared_hinge", "logcosh",
                                  "huber_loss", "msle"])
def test_one_unit_models_take_1d_targets(loss):
    x, y = _binary()
    cnet.set_seed(0)
    act = "tanh" if "hinge" in loss else "sigmoid"
    m = Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(1, activation=act)])
    m.compile("adam", loss, metrics=["accuracy", "mae"])
    h = m.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    y2 = y[:, None]
    cnet.set_seed(0)
    m2 = Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(1, activation=act)])
    m2.compile("adam", loss, metrics=["accuracy", "mae"])
    h2 = m2.fit(x, y2, epochs=3, batch_size=16, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h2.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(h.history["accuracy"], h2.history["accuracy"])


def test_metrics_module_top_k_and_losses_as_metrics(tmp_path):
    y_pred = np.array([[0.1, 0.5, 0.3, 0.1], [0.7, 0.05, 0.15, 0.1], [0.2, 0.25, 0.35, 0.2]])
    labels = np.array([2, 1, 0])
    onehot = np.eye(4)[labels]
    assert metrics.top_k_categorical_accuracy(onehot, y_pred, k=1) == pytest.approx(0.0)
    assert metrics.top_k_categorical_accuracy(onehot, y_pred, k=2) == pytest.approx(1 / 3)
    assert metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=3) == pytest.approx(2 / 3)  # a tie counts
    assert metrics.sparse_top_k_categorical_accuracy(labels[:, None], y_pred, k=2) == pytest.approx(1 / 3)
    assert metrics.mae(onehot, y_pred) == pytest.approx(np.abs(onehot - y_pred).mean())
    assert cnet.metrics is metrics and "metrics" in cnet.__all__
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metrics.top_k_categorical_accuracy(onehot, y_pred, k=0)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 5)).astype(np.float32), rng.integers(0, 4, 60)
    cnet.set_seed(0)
    m = Sequential([L.Dense(4, activation="softmax", input_shape=(5,))])
    top2 = functools.partial(metrics.sparse_top_k_categorical_accuracy, k=2)
    top2.__name__ = "top2"
    m.compile("sgd", "sparse_categorical_crossentropy",
              metrics=["accuracy", "sparse_top_k_categorical_accuracy", top2])
    assert m.metrics_names == ["loss", "accuracy", "sparse_top_k_categorical_accuracy", "top2"]
    loss, acc, top5, t2 = m.evaluate(x, y, verbose=0, batch_size=60)
    p = m.predict(x)
    assert top5 == 1.0 and t2 == pytest.approx(metrics.sparse_top_k_categorical_accuracy(y, p, k=2))
    assert t2 >= acc
    m2 = Sequential([L.Dense(1, input_shape=(5,))])
    m2.compile("sgd", losses.Huber(delta=0.5), metrics=["mape", "msle", "logcosh"])
    m2.fit(x, y.astype(np.float32), epochs=1, verbose=0)
    m2.save(str(tmp_path / "h.cnet"))
    back = load_model(str(tmp_path / "h.cnet"))
    assert back.loss_functions[0].delta == 0.5
    np.testing.assert_allclose(back.evaluate(x, y.astype(np.float32), verbose=0),
                               m2.evaluate(x, y.astype(np.float32), verbose=0), rtol=1e-6)


@pytest.mark.parametrize("name", ["mae", "logcosh", "kld", "huber_loss", "hinge"])
def test_sample_weights_with_the_new_losses(name):
    t, p = _data(ALIASES.get(name, name))
    w = np.array([0.0, 1.0, 2.0, 0.5, 0.0, 3.0])
    per_sample = DEFS[ALIASES.get(name, name)](t, p)
    obj = losses.get(name)
    assert obj.weighted_forward(p, t, w) == pytest.approx((w * per_sample).sum() / np.count_nonzero(w))
    g = obj.weighted_backward()
    h, num = 1e-6, np.zeros_like(p)
    for i in np.ndindex(p.shape):
        a, b = p.copy(), p.copy()
        a[i] += h
        b[i] -= h
        num[i] = (losses.get(name).weighted_forward(a, t, w) - losses.get(name).weighted_forward(b, t, w)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_weighted_top_k_metric_in_a_model():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((40, 5)).astype(np.float32), rng.integers(0, 4, 40)
    w = rng.uniform(0, 2, 40)
    cnet.set_seed(0)
    m = Sequential([L.Dense(4, activation="softmax", input_shape=(5,))])
    m.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["sparse_top_k_categorical_accuracy"])
    _, top = m.evaluate(x, y, sample_weight=w, batch_size=40, verbose=0)
    hit = (m.predict(x) > m.predict(x)[np.arange(40), y][:, None]).sum(axis=1) < 5
    assert top == pytest.approx((w * hit).sum() / np.count_nonzero(w))
    top2 = functools.partial(metrics.sparse_top_k_categorical_accuracy, k=2)
    top2.__name__ = "top2"
    m.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=[top2])
    _, t2 = m.evaluate(x, y, sample_weight=w, batch_size=40, verbose=0)
    p = m.predict(x)
    hit2 = (p > p[np.arange(40), y][:, None]).sum(axis=1) < 2
    assert t2 == pytest.approx((w * hit2).sum() / np.count_nonzero(w))
