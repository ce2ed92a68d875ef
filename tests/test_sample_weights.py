"""sample_weight and class_weight: Keras 2's weighted loss (sum_n w[n] loss[n] / the number of nonzero
w[n]) and its gradient against a direct NumPy computation for every loss (the fused softmax cross-entropy
weighted inside its op), in fit, train_on_batch, test_on_batch, evaluate and validation data;
weighted_metrics; refusals."""
import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import losses
from cnet.models import Sequential

RNG = np.random.default_rng(0)
N, C = 12, 4
W = np.array([0.5, 0, 2, 1, 1, 0, 3, 0.25, 1, 1, 2, 0.5])
NONZERO = np.count_nonzero(W)


@pytest.fixture(params=("c", "numpy"))
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _numeric_grad(f, y, eps=1e-6):
    g = np.zeros_like(y)
    for i in np.ndindex(y.shape):
        old = y[i]
        y[i] = old + eps
        up = f(y)
        y[i] = old - eps
        down = f(y)
        y[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def _cases():
    logits = RNG.standard_normal((N, C))
    labels = RNG.integers(0, C, N)
    onehot = np.eye(C)[labels]
    probs = _softmax(RNG.standard_normal((N, C)))
    sig = 1 / (1 + np.exp(-RNG.standard_normal((N, 3))))
    bits = (RNG.random((N, 3)) > 0.5).astype(np.float64)
    reg, target = RNG.standard_normal((N, 3)), RNG.standard_normal((N, 3))
    return {
        # name: (loss, y_pred, y_true, from_logits, per-sample losses of y_pred)
        "fused_sparse": (losses.SparseCategoricalCrossentropy(), logits, labels, True,
                         lambda z: -np.log(_softmax(z)[np.arange(N), labels])),
        "fused_categorical": (losses.CategoricalCrossentropy(), logits, onehot, True,
                              lambda z: -(onehot * np.log(_softmax(z))).sum(axis=1)),
        "softmax_crossentropy": (losses.SoftmaxCrossEntropy(), logits, labels, True,
                                 lambda z: -np.log(_softmax(z)[np.arange(N), labels])),
        "categorical_probs": (losses.CategoricalCrossentropy(), probs, onehot, None,
                              lambda p: -(onehot * np.log(p / p.sum(axis=1, keepdims=True))).sum(axis=1)),
        "binary": (losses.BinaryCrossentropy(), sig, bits, None,
                   lambda p: -(bits * np.log(p) + (1 - bits) * np.log(1 - p)).mean(axis=1)),
        "mse": (losses.MeanSquaredError(), reg, target, None, lambda y: ((y - target) ** 2).mean(axis=1)),
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_weighted_loss_and_gradient_against_numpy(name, backend_name):
    loss, y_pred, y_true, from_logits, rows = _cases()[name]

    def keras(y):
        return (W * rows(y)).sum() / NONZERO
    value = loss.weighted_forward(y_pred.copy(), y_true, W, from_logits=from_logits)
    assert value == pytest.approx(keras(y_pred), rel=1e-12)
    grad = loss.weighted_backward()
    np.testing.assert_allclose(grad, _numeric_grad(keras, y_pred.copy()), rtol=1e-6, atol=1e-9)
    # weights of ones: the unweighted loss and gradient
    assert loss.weighted_forward(y_pred, y_true, np.ones(N), from_logits=from_logits) == \
        pytest.approx(loss.forward(y_pred, y_true, from_logits=from_logits), rel=1e-12)
    np.testing.assert_allclose(loss.weighted_backward(), loss.backward(), rtol=1e-12, atol=1e-15)


def test_all_zero_weights_give_zero_and_weights_are_checked():
    loss = losses.SparseCategoricalCrossentropy()
    logits, labels = RNG.standard_normal((3, 4)), np.array([0, 1, 3])
    assert loss.weighted_forward(logits, labels, np.zeros(3), from_logits=True) == 0.0
    assert not loss.weighted_backward().any()
    for bad, match in ((np.ones(2), r"shape \(3,\)"), (np.array([1.0, np.inf, 1.0]), "finite")):
        with pytest.raises(ValueError, match=match):
            loss.weighted_forward(logits, labels, bad, from_logits=True)
    custom = type("Custom", (losses.Loss,), {"forward": lambda self, y, t, from_logits=None: 0.0})()
    with pytest.raises(NotImplementedError, match="per-sample losses"):
        custom.weighted_forward(logits, labels, np.ones(3))


def _model(dtype="float64", loss="sparse_categorical_crossentropy", **compile_kwargs):
    cnet.set_seed(3)
    model = Sequential([L.Dense(C, activation="softmax", input_shape=(5,))], dtype=dtype)
    model.compile(cnet.optimizers.SGD(0.5), loss, **compile_kwargs)
    return model


def test_train_on_batch_step_is_the_weighted_gradient(backend_name):
    """One SGD step with sample weights moves the weights by -lr * the gradient of Keras's weighted loss,
    computed here in NumPy (softmax regression)."""
    x = RNG.standard_normal((N, 5))
    y = RNG.integers(0, C, N)
    model = _model()
    Wt, b = (a.copy() for a in model.get_weights())
    loss = model.train_on_batch(x, y, sample_weight=W)
    p = _softmax(x @ Wt + b)
    want = (W * -np.log(p[np.arange(N), y])).sum() / NONZERO
    d = W[:, None] * (p - np.eye(C)[y]) / NONZERO
    assert loss == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(model.get_weights()[0], Wt - 0.5 * x.T @ d, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], b - 0.5 * d.sum(axis=0), rtol=1e-12)
    assert model.test_on_batch(x, y, sample_weight=W) == pytest.approx(
        (W * -np.log(_softmax(x @ model.get_weights()[0] + model.get_weights()[1])[np.arange(N), y])).sum()
        / NONZERO, rel=1e-12)


def test_class_weight_is_the_sample_weight_of_each_class():
    x = RNG.standard_normal((40, 5)).astype(np.float32)
    y = RNG.integers(0, C, 40)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5, 3: 2}
    per_sample = np.array([class_weight[c] for c in y])
    for target in (y, np.eye(C)[y]):                 # class indices or one-hot rows (argmax)
        loss = "sparse_categorical_crossentropy" if target.ndim == 1 else "categorical_crossentropy"
        a, b = _model("float32", loss), _model("float32", loss)
        a.fit(x, target, batch_size=8, epochs=2, verbose=0, seed=1, class_weight=class_weight)
        b.fit(x, target, batch_size=8, epochs=2, verbose=0, seed=1, sample_weight=per_sample)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)
    c, d = _model("float32"), _model("float32")
    c.train_on_batch(x, y, class_weight=class_weight)
    d.train_on_batch(x, y, sample_weight=per_sample)
    np.testing.assert_array_equal(c.get_weights()[0], d.get_weights()[0])


def test_weights_of_ones_train_exactly_as_no_weights():
    x = RNG.standard_normal((40, 5)).astype(np.float32)
    y = RNG.integers(0, C, 40)
    a, b = _model("float32"), _model("float32")
    a.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=1)
    b.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=1, sample_weight=np.ones(40))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_evaluate_weighs_each_batch_as_keras():
    """Keras: each batch's weighted loss (normalized by its nonzero weights), averaged over the batches
    with their sizes as weights; metrics unweighted, weighted_metrics weighted."""
    x = RNG.standard_normal((N, 5))
    y = RNG.integers(0, C, N)
    model = _model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    p = model.predict(x)
    rows = -np.log(p[np.arange(N), y])
    right = (p.argmax(axis=1) == y).astype(float)
    want_loss = want_wacc = 0.0
    for s in (slice(0, 5), slice(5, 10), slice(10, 12)):
        w, n = W[s], len(W[s])
        want_loss += (w * rows[s]).sum() / np.count_nonzero(w) * n
        want_wacc += (w * right[s]).sum() / np.count_nonzero(w) * n
    got = model.evaluate(x, y, batch_size=5, verbose=0, sample_weight=W, return_dict=True)
    assert got["loss"] == pytest.approx(want_loss / N, rel=1e-12)
    assert got["accuracy"] == pytest.approx(right.mean(), rel=1e-12)
    assert got["weighted_accuracy"] == pytest.approx(want_wacc / N, rel=1e-12)
    h = model.fit(x, y, batch_size=5, epochs=1, verbose=0, validation_data=(x, y, W))
    assert set(h.history) == {"loss", "accuracy", "weighted_accuracy", "val_loss", "val_accuracy",
                              "val_weighted_accuracy"}


def test_weighted_metrics_survive_save_and_load(tmp_path):
    model = _model(metrics=["accuracy"], weighted_metrics=["accuracy", "acc"])
    model.fit(RNG.standard_normal((8, 5)), RNG.integers(0, C, 8), verbose=0)
    model.save(str(tmp_path / "m.npz"))
    loaded = cnet.models.load_model(str(tmp_path / "m.npz"))
    assert loaded.metrics_names == ["loss", "accuracy", "weighted_accuracy", "weighted_acc"]


def test_weight_arguments_are_checked():
    x = RNG.standard_normal((N, 5))
    y = RNG.integers(0, C, N)
    model = _model()
    cases = [
        (dict(sample_weight=W, class_weight={0: 1}), "give sample_weight or class_weight, not both"),
        (dict(sample_weight=W[:5]), r"one real number per sample, shape \(12,\)"),
        (dict(sample_weight=np.where(W > 1, np.nan, W)), "finite"),
        (dict(class_weight={0: 1.0, 1: 1.0}), r"the classes \[2, 3\] have none"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, verbose=0, **kwargs)
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        model.fit(x, y, verbose=0, class_weight="balanced")
    with pytest.raises(NotImplementedError, match="sample_weight_mode is not supported by cnet .got 'temporal'"):
        model.compile("sgd", "mse", sample_weight_mode="temporal")
    with pytest.raises(NotImplementedError, match="target_tensors is not supported"):
        model.compile("sgd", "mse", target_tensors=[None])
    with pytest.raises(ValueError, match="shape"):
        model.evaluate(x, y, verbose=0, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="validation_data: the sample weights must be finite"):
        model.fit(x, y, verbose=0, validation_data=(x, y, np.full(N, np.inf)))


def test_several_outputs_weigh_each_output():
    """A two-output functional model: per-output sample and class weights, each output's Keras loss."""
    from test_functional import _two_heads, _two_heads_data
    x, y = _two_heads_data(n=10)
    w_cls, w_reg = np.linspace(0, 2, 10), np.linspace(1, 3, 10)
    model = _two_heads()
    model.compile("sgd", {"cls": "sparse_categorical_crossentropy", "reg": "mse"}, loss_weights={"reg": 0.5},
                  weighted_metrics={"cls": ["accuracy"]})
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_weighted_accuracy"]
    probs, reg = model.predict(x)
    ce = -np.log(probs[np.arange(10), y[0]].astype(np.float64))
    se = ((reg[:, 0].astype(np.float64) - y[1][:, 0]) ** 2)
    want_cls, want_reg = (w_cls * ce).sum() / 9, (w_reg * se).sum() / 10
    right = (probs.argmax(axis=1) == y[0]).astype(float)
    for weights in ([w_cls, w_reg], {"cls": w_cls, "reg": w_reg}):
        loss, cls_loss, reg_loss, wacc = model.test_on_batch(x, y, sample_weight=weights)
        assert (cls_loss, reg_loss) == pytest.approx((want_cls, want_reg), rel=1e-5)
        assert loss == pytest.approx(want_cls + 0.5 * want_reg, rel=1e-5)
        assert wacc == pytest.approx((w_cls * right).sum() / 9)
    only = model.evaluate(x, y, verbose=0, sample_weight={"cls": w_cls}, batch_size=10)
    assert only[1:3] == pytest.approx([want_cls, se.mean()], rel=1e-5)   # reg: unweighted
    cw = {"cls": {0: 2.0, 1: 0.5, 2: 1.0}}
    per_sample = np.array([cw["cls"][c] for c in y[0]])
    a, b = _two_heads(), _two_heads()
    for m in (a, b):
        m.compile("sgd", {"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    a.fit(x, y, batch_size=5, epochs=1, verbose=0, seed=2, class_weight=cw)
    b.fit(x, y, batch_size=5, epochs=1, verbose=0, seed=2, sample_weight={"cls": per_sample})
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(TypeError, match="the model has 2 outputs"):
        model.fit(x, y, verbose=0, sample_weight=w_cls)
    with pytest.raises(ValueError, match=r"names \['nope'\], which are not outputs"):
        model.fit(x, y, verbose=0, sample_weight={"nope": w_cls, "cls": w_cls})
