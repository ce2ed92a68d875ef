"""keras.regularizers (cnet.regularizers): l1, l2, l1_l2 on Dense and Conv2D kernels, biases and activities;
the penalties in the model's loss (training and evaluation) and their gradients in the weights' gradients."""
import json

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import regularizers
from cnet.models import Model, Sequential, load_model


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_penalties_gradients_and_names():
    w = _x(4, 3)
    reg = regularizers.l1_l2(l1=0.1, l2=0.2)
    assert reg(w) == pytest.approx(0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum())
    np.testing.assert_allclose(reg.gradient(w), 0.1 * np.sign(w) + 0.4 * w)
    assert regularizers.l1(0.3).get_config() == {"l1": 0.3, "l2": 0.0}
    assert regularizers.l2().get_config() == {"l1": 0.0, "l2": 0.01}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.get(None) is None
    spec = regularizers.serialize(regularizers.L1L2(l2=0.5))
    assert spec == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}}
    assert regularizers.get(json.loads(json.dumps(spec))).get_config() == {"l1": 0.0, "l2": 0.5}
    keras = cnet
    assert keras.regularizers.l2 is regularizers.l2 and "regularizers" in cnet.__all__
    with pytest.raises(ValueError, match="unknown regularizer 'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="no gradient"):
        regularizers.get(lambda w: 0.0)
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        regularizers.l2(-1)


def _model(dtype="float64", **regs):
    cnet.set_seed(1)
    return Sequential([L.Conv2D(2, 3, input_shape=(1, 5, 5), activation="tanh", **regs), L.Flatten(),
                       L.Dense(4, activation="swish", **regs), L.Dense(3, activation="softmax", **{
                           k: v for k, v in regs.items() if k != "activity_regularizer"})], dtype=dtype)


REG_SETS = {
    "kernel_l2": dict(kernel_regularizer=regularizers.l2(0.05)),
    "kernel_l1_bias_l2": dict(kernel_regularizer=regularizers.l1(0.02), bias_regularizer=regularizers.l2(0.3)),
    "activity_l1_l2": dict(activity_regularizer=regularizers.l1_l2(0.01, 0.02)),
}


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name", list(REG_SETS))
def test_model_loss_includes_penalties_and_gradients_match(backend, name):
    x, y = _x(6, 1, 5, 5), np.arange(6) % 3
    with cnet.use_backend(backend):
        model, plain = _model(**REG_SETS[name]), _model()
        for m in (model, plain):
            m.compile("sgd", "sparse_categorical_crossentropy")
        penalty = model.loss(x, y) - plain.loss(x, y)
        expected = sum(layer.regularization_loss() for layer in model.layers)
        assert penalty > 0 and penalty == pytest.approx(expected, rel=1e-10)
        if "activity" not in name:
            w = model.layers[0].params["W"]
            assert model.layers[0].regularization_loss() == pytest.approx(
                REG_SETS[name]["kernel_regularizer"](w) + (
                    REG_SETS[name].get("bias_regularizer") or (lambda b: 0))(model.layers[0].params["b"]))
        assert model.evaluate(x, y, verbose=0) == pytest.approx(model.loss(x, y), rel=1e-9)
        errors = cnet.gradcheck(model, x, y)
        assert max(errors.values()) < 1e-6, errors


def test_activity_penalty_is_a_mean_over_the_batch():
    d = L.Dense(3, activity_regularizer=regularizers.l2(0.5), kernel_initializer="ones")
    x = np.ones((4, 2))
    y = d(x)
    assert d.regularization_loss() == pytest.approx(0.5 * (y ** 2).sum() / 4)


def test_training_with_l2_shrinks_weights_and_reports_penalised_loss():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 2, 64)
    norms = []
    for reg in (None, "l2"):
        cnet.set_seed(0)
        m = Sequential([L.Dense(16, activation="relu", input_shape=(6,), kernel_regularizer=reg),
                        L.Dense(2, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy")
        h = m.fit(x, y, epochs=3, batch_size=16, verbose=0)
        norms.append(float((m.layers[0].params["W"] ** 2).sum()))
        assert np.isfinite(h.history["loss"]).all()
    assert norms[1] < norms[0]


def test_regularizers_in_config_files_and_functional(tmp_path):
    cnet.set_seed(0)
    inp = L.Input(shape=(1, 6, 6))
    h = L.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer=regularizers.l1(0.1),
                 activity_regularizer=regularizers.l1_l2(0.01, 0.01))(inp)
    h = L.Flatten()(h)
    out = L.Dense(2, activation="softmax", kernel_regularizer=regularizers.l1(0.001))(h)
    model = Model(inp, out)
    model.compile("sgd", "categorical_crossentropy")
    x, y = _x(4, 1, 6, 6).astype(np.float32), np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    cfg = model.layers[1].get_config()
    assert cfg["kernel_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}
    model.save(str(tmp_path / "m.cnet"))
    back = load_model(str(tmp_path / "m.cnet"))
    assert back.layers[1].get_config() == cfg
    assert back.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    with pytest.raises(NotImplementedError, match="activity_regularizer with activation='softmax'"):
        L.Dense(2, activation="softmax", activity_regularizer="l2")
    with pytest.raises(NotImplementedError, match="kernel_constraint is not supported"):
        L.Dense(2, kernel_constraint="max_norm")
