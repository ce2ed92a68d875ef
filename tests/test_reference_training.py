"""Tests of the pure NumPy reference (cnet.reference), the oracle of the C kernel tests: the regularization
(dropout and its counter-based generator, batch normalization) and optim families, and float32 in ->
float32 out for every family (the others: test_reference.py). Gradients are checked against float64
central differences; optimizer steps against a scalar Python computation of the same formulas.
"""

import math

import numpy as np
import pytest

from cnet import reference as R
from helpers import assert_grad


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# dropout and its generator

MASK64 = (1 << 64) - 1


def scalar_counter_uniform(n, seed):
    """The generator's formula on Python ints masked to 64 bits."""
    out = []
    for i in range(n):
        z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z = z ^ (z >> 31)
        out.append((z >> 40) * 2.0 ** -24)
    return out


@pytest.mark.parametrize("seed", [42, 0, 1, MASK64, 0x123456789ABCDEF0])
def test_counter_uniform_matches_scalar_formula(seed):
    n = 4 if seed == 42 else 64
    u = R.counter_uniform(n, seed)
    assert u.dtype == np.float64 and u.shape == (n,)
    np.testing.assert_array_equal(u, scalar_counter_uniform(n, seed))


def test_counter_uniform_properties():
    u = R.counter_uniform(100_000, 7)
    assert np.all((u >= 0) & (u < 1))
    np.testing.assert_array_equal(u * 2 ** 24, np.floor(u * 2 ** 24))       # 24-bit values
    np.testing.assert_array_equal(u.astype(np.float32).astype(np.float64), u)  # exact in float32
    assert abs(u.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(R.counter_uniform(100_000, 7), u)         # deterministic
    np.testing.assert_array_equal(R.counter_uniform(10, 7), u[:10])         # a prefix of the stream
    assert not np.array_equal(R.counter_uniform(10, 8), u[:10])
    with pytest.raises(ValueError):
        R.counter_uniform(3, -1)
    with pytest.raises(ValueError):
        R.counter_uniform(3, 2 ** 64)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_mask(rate):
    mask = R.dropout_mask((100, 1000), rate, 123, np.float32)
    assert mask.dtype == np.float32 and mask.shape == (100, 1000)
    scale = np.float32(1 / (1 - rate))
    assert set(np.unique(mask)) <= {np.float32(0), scale}
    assert abs((mask != 0).mean() - (1 - rate)) < 0.01
    np.testing.assert_array_equal(mask, R.dropout_mask((100, 1000), rate, 123, np.float32))
    keep = R.counter_uniform(mask.size, 123).reshape(mask.shape) >= rate
    np.testing.assert_array_equal(mask != 0, keep)


def test_dropout_rate_edges():
    x = rng(16).standard_normal((3, 4))
    y, mask = R.dropout_forward(x, 0.0, 5)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    np.testing.assert_array_equal(y, x)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            R.dropout_forward(x, bad, 5)


def test_dropout_gradient():
    r = rng(17)
    x = r.standard_normal((4, 6))
    y, mask = R.dropout_forward(x, 0.4, 99)
    np.testing.assert_array_equal(y, x * mask)
    dy = r.standard_normal(y.shape)
    dx = R.dropout_backward(dy, mask)
    assert_grad(dx, lambda: np.sum(R.dropout_forward(x, 0.4, 99)[0] * dy), x)


# --------------------------------------------------------------------------------------------
# batch normalisation

@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 3, 2), (1, 3, 2, 3)])
def test_batchnorm_gradients(shape):
    r = rng(18)
    x = r.standard_normal(shape) * 2 + 1
    c = shape[1]
    gamma = r.uniform(0.5, 1.5, c)
    beta = r.standard_normal(c)
    y, mean, inv_std = R.batchnorm_forward(x, gamma, beta)
    dy = r.standard_normal(y.shape)
    dx, dgamma, dbeta = R.batchnorm_backward(dy, x, gamma, mean, inv_std)

    def f():
        return np.sum(R.batchnorm_forward(x, gamma, beta)[0] * dy)

    assert_grad(dx, f, x, name="dx")
    assert_grad(dgamma, f, gamma, name="dgamma")
    assert_grad(dbeta, f, beta, name="dbeta")


@pytest.mark.parametrize("shape", [(50, 4), (8, 3, 5, 4)])
def test_batchnorm_statistics_and_inference(shape):
    r = rng(19)
    x = r.standard_normal(shape) * 3 + 2
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    bshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    c = shape[1]
    gamma, beta = r.uniform(0.5, 1.5, c), r.standard_normal(c)
    eps = 1e-3
    y, mean, inv_std = R.batchnorm_forward(x, gamma, beta, eps)
    np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=1e-13)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(x.var(axis=axes) + eps), rtol=1e-13)
    xhat = (y - beta.reshape(bshape)) / gamma.reshape(bshape)
    np.testing.assert_allclose(xhat.mean(axis=axes), 0, atol=1e-12)
    # Inference with the batch statistics as running averages gives the training output.
    y_inf = R.batchnorm_inference(x, gamma, beta, mean, x.var(axis=axes), eps)
    np.testing.assert_allclose(y_inf, y, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        R.batchnorm_forward(x[0], gamma, beta)
    with pytest.raises(ValueError):
        R.batchnorm_forward(x, gamma[:-1], beta)


# --------------------------------------------------------------------------------------------
# optimizers: compare three steps with a scalar Python computation of the same formulas

LR, MOM, RHO, EPS, B1, B2 = 0.1, 0.9, 0.95, 1e-7, 0.9, 0.999


def _scalar_step(name, p, g, s, t):
    """One update of one scalar parameter p with state dict s (mutated); returns the new p."""
    if name == "sgd":
        return p - LR * g
    if name == "momentum":
        s["v"] = MOM * s["v"] - LR * g
        return p + s["v"]
    if name == "nesterov":
        s["v"] = MOM * s["v"] - LR * g
        return p + MOM * s["v"] - LR * g
    if name == "adagrad":
        s["h"] += g * g
        return p - LR * g / (math.sqrt(s["h"]) + EPS)
    if name == "rmsprop":
        s["h"] = RHO * s["h"] + (1 - RHO) * g * g
        return p - LR * g / (math.sqrt(s["h"]) + EPS)
    if name == "adam":
        lr_t = LR * math.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        s["m"] = B1 * s["m"] + (1 - B1) * g
        s["v"] = B2 * s["v"] + (1 - B2) * g * g
        return p - lr_t * s["m"] / (math.sqrt(s["v"]) + EPS)
    if name == "adadelta":
        s["h"] = RHO * s["h"] + (1 - RHO) * g * g
        upd = g * math.sqrt(s["d"] + EPS) / math.sqrt(s["h"] + EPS)
        s["d"] = RHO * s["d"] + (1 - RHO) * upd * upd
        return p - LR * upd
    raise KeyError(name)


STATE_NAMES = {"sgd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("h",),
               "rmsprop": ("h",), "adam": ("m", "v"), "adadelta": ("h", "d")}


def _array_step(name, p, g, state, t, wd, dtype=np.float64):
    kw = {"weight_decay": wd}
    if name == "sgd":
        R.sgd_update(p, g, LR, **kw)
    elif name == "momentum":
        R.momentum_update(p, g, state["v"], LR, MOM, **kw)
    elif name == "nesterov":
        R.nesterov_update(p, g, state["v"], LR, MOM, **kw)
    elif name == "adagrad":
        R.adagrad_update(p, g, state["h"], LR, EPS, **kw)
    elif name == "rmsprop":
        R.rmsprop_update(p, g, state["h"], LR, RHO, EPS, **kw)
    elif name == "adam":
        R.adam_update(p, g, state["m"], state["v"], LR, B1, B2, EPS, t, **kw)
    elif name == "adadelta":
        R.adadelta_update(p, g, state["h"], state["d"], LR, RHO, EPS, **kw)


@pytest.mark.parametrize("wd", [0.0, 0.01])
@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_optimizer_trajectory(name, wd):
    r = rng(20)
    p0 = r.standard_normal(5)
    grads = [r.standard_normal(5) for _ in range(3)]
    p = p0.copy()
    state = {k: np.zeros(5) for k in STATE_NAMES[name]}
    p_id = id(p)
    expected = []
    for e in range(5):
        pe, s = p0[e], {k: 0.0 for k in STATE_NAMES[name]}
        for t, g in enumerate(grads, start=1):
            pe = _scalar_step(name, pe, g[e] + wd * pe, s, t)
        expected.append(pe)
    for t, g in enumerate(grads, start=1):
        g_copy = g.copy()
        _array_step(name, p, g, state, t, wd)
        np.testing.assert_array_equal(g, g_copy)   # the gradient is not modified
    assert id(p) == p_id
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-15)


def test_adam_bias_correction_first_step():
    # At t=1 the corrected step is lr * g / (|g| + eps/sqrt(1-beta2)) ~ lr * sign(g).
    g = np.array([3.0, -0.02, 1e-3, -50.0])
    p = np.zeros(4)
    m, v = np.zeros(4), np.zeros(4)
    R.adam_update(p, g, m, v, 0.01, 0.9, 0.999, 1e-12, 1)
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-12)
    with pytest.raises(ValueError):
        R.adam_update(p, g, m, v, 0.01, 0.9, 0.999, 1e-7, 0)


def test_optimizer_argument_errors():
    p = np.zeros(3)
    with pytest.raises(ValueError):
        R.sgd_update(p, np.zeros(4), 0.1)
    with pytest.raises(ValueError):
        R.momentum_update(p, np.zeros(3), np.zeros(3, np.float32), 0.1, 0.9)
    with pytest.raises(TypeError):
        R.sgd_update([0.0, 0.0, 0.0], np.zeros(3), 0.1)


@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_optimizer_float32_in_place(name):
    r = rng(21)
    p64 = r.standard_normal(6)
    p = p64.astype(np.float32)
    g = r.standard_normal(6).astype(np.float32)
    state = {k: np.zeros(6, np.float32) for k in STATE_NAMES[name]}
    state64 = {k: np.zeros(6) for k in STATE_NAMES[name]}
    for t in (1, 2):
        _array_step(name, p, g, state, t, 0.01)
        _array_step(name, p64, g.astype(np.float64), state64, t, 0.01)
    assert p.dtype == np.float32 and all(a.dtype == np.float32 for a in state.values())
    np.testing.assert_allclose(p, p64, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------
# dtype preservation: float32 in -> float32 out for every function, close to the float64 result

def _dtype_cases():
    def conv(dt, r):
        x, w, b = r.standard_normal((2, 3, 6, 5)), r.standard_normal((4, 3, 3, 2)), r.standard_normal(4)
        x, w, b = x.astype(dt), w.astype(dt), b.astype(dt)
        y = R.conv2d_forward(x, w, b, 2, 1)
        return (y, *R.conv2d_backward(y, x, w, 2, 1))

    def cols(dt, r):
        x = r.standard_normal((2, 2, 5, 5)).astype(dt)
        col = R.im2col(x, 3, 3, 1, 1)
        return col, R.col2im(col, x.shape, 3, 3, 1, 1)

    def maxpool(dt, r):
        x = r.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6).astype(dt)
        y, am = R.maxpool2d_forward(x, 3, 3, 2, 1)
        return y, R.maxpool2d_backward(y, am, x.shape)

    def avgpool(dt, r):
        x = r.standard_normal((2, 3, 6, 6)).astype(dt)
        y = R.avgpool2d_forward(x, 3, 3, 2, 1)
        return y, R.avgpool2d_backward(y, x.shape, 3, 3, 2, 1)

    def affine(dt, r):
        x, w, b = r.standard_normal((3, 2, 2, 2)), r.standard_normal((8, 5)), r.standard_normal(5)
        x, w, b = x.astype(dt), w.astype(dt), b.astype(dt)
        y = R.affine_forward(x, w, b)
        return (y, *R.affine_backward(y, x, w))

    def activations(dt, r):
        x = r.standard_normal((4, 5)).astype(dt)
        dy = r.standard_normal((4, 5)).astype(dt)
        out = []
        for name in ("relu", "sigmoid", "tanh", "softmax"):
            y = getattr(R, f"{name}_forward")(x)
            out += [y, getattr(R, f"{name}_backward")(dy, y)]
        return tuple(out)

    def xent(dt, r):
        logits = r.standard_normal((4, 3)).astype(dt)
        labels = np.array([0, 2, 1, 2])
        _, probs = R.softmax_xent_forward(logits, labels)
        soft = r.uniform(0, 1, (4, 3))
        _, probs2 = R.softmax_xent_forward(logits, soft)
        return (probs, R.softmax_xent_backward(probs, labels),
                probs2, R.softmax_xent_backward(probs2, soft))

    def mse(dt, r):
        y, t = r.standard_normal((3, 4)).astype(dt), r.standard_normal((3, 4)).astype(dt)
        return (R.mse_backward(y, t),)

    def dropout(dt, r):
        x = r.standard_normal((5, 6)).astype(dt)
        y, mask = R.dropout_forward(x, 0.3, 11)
        return y, mask, R.dropout_backward(y, mask), R.dropout_mask((2, 3), 0.5, 1, dt)

    def batchnorm(dt, r):
        out = []
        for shape in ((6, 3), (2, 3, 2, 2)):
            x = r.standard_normal(shape).astype(dt)
            gamma, beta = r.uniform(0.5, 1.5, 3).astype(dt), r.standard_normal(3).astype(dt)
            y, mean, inv_std = R.batchnorm_forward(x, gamma, beta)
            out += [y, mean, inv_std, *R.batchnorm_backward(y, x, gamma, mean, inv_std),
                    R.batchnorm_inference(x, gamma, beta, mean, np.ones(3, dt))]
        return tuple(out)

    return [conv, cols, maxpool, avgpool, affine, activations, xent, mse, dropout, batchnorm]


@pytest.mark.parametrize("case", _dtype_cases(), ids=lambda f: f.__name__)
def test_float32_in_float32_out(case):
    out32 = case(np.float32, rng(22))
    out64 = case(np.float64, rng(22))
    for a, b in zip(out32, out64):
        assert a.dtype == np.float32, a.dtype
        assert b.dtype == np.float64, b.dtype
        scale = max(1.0, np.abs(b).max())
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * scale)
    assert R.maxpool2d_forward(np.zeros((1, 1, 2, 2), np.float32), 2, 2)[1].dtype == np.int64


def test_mixed_dtypes_rejected():
    x32 = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError):
        R.affine_forward(x32, np.zeros((3, 2)), None)
    with pytest.raises(TypeError):
        R.relu_backward(x32, np.zeros((2, 3)))
    with pytest.raises(TypeError):
        R.relu_forward(np.zeros(3, np.int64))


def test_public_api():
    assert sorted(R.__all__) == sorted(set(R.__all__))
    for name in R.__all__:
        assert callable(getattr(R, name)), name
