"""Tests of the pure NumPy reference (cnet.reference), the oracle of the C kernel tests: the gemm, conv,
pool, activation and loss families (regularization, optim and every family's dtypes:
test_reference_training.py).

Gradients are checked against float64 central differences of the scalar sum(out * w_out), with
w_out random, so that backward(w_out, ...) is the gradient to compare. Forward passes are checked
against naive loops written here, on small shapes.
"""

import math

import numpy as np
import pytest

from cnet import reference as R
from helpers import assert_grad


# --------------------------------------------------------------------------------------------
# helpers

def rng(seed=0):
    return np.random.default_rng(seed)


def naive_conv(x, w, b, stride, pad):
    (sh, sw), (ph, pw) = (_pair(stride), _pair(pad))
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), x.dtype)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((n, k, oh, ow), x.dtype)
    for a in range(n):
        for f in range(k):
            for i in range(oh):
                for j in range(ow):
                    y[a, f, i, j] = np.sum(xp[a, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * w[f])
                    if b is not None:
                        y[a, f, i, j] += b[f]
    return y


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# --------------------------------------------------------------------------------------------
# convolution

CONV_CASES = [
    # N, C, H, W, K, KH, KW, stride, pad
    (2, 3, 7, 6, 4, 3, 3, 1, 0),
    (1, 2, 7, 7, 3, 3, 2, 2, 1),            # batch 1, non-square kernel, stride 2, padding 1
    (2, 2, 5, 6, 3, 1, 1, 1, 0),            # 1x1 kernel
    (1, 3, 6, 5, 2, 2, 3, (2, 1), (1, 0)),  # (h, w) pairs
    (2, 1, 7, 7, 2, 2, 2, 3, 0),            # stride > kernel
    (1, 2, 5, 5, 2, 5, 5, 1, 2),            # kernel as large as the input
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_matches_naive(case):
    n, c, h, w, k, kh, kw, stride, pad = case
    r = rng(1)
    x = r.standard_normal((n, c, h, w))
    wt = r.standard_normal((k, c, kh, kw))
    b = r.standard_normal(k)
    np.testing.assert_allclose(R.conv2d_forward(x, wt, b, stride, pad),
                               naive_conv(x, wt, b, stride, pad), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(R.conv2d_forward(x, wt, None, stride, pad),
                               naive_conv(x, wt, None, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients(case):
    n, c, h, w, k, kh, kw, stride, pad = case
    r = rng(2)
    x = r.standard_normal((n, c, h, w))
    wt = r.standard_normal((k, c, kh, kw))
    b = r.standard_normal(k)
    y = R.conv2d_forward(x, wt, b, stride, pad)
    dy = r.standard_normal(y.shape)
    dx, dw, db = R.conv2d_backward(dy, x, wt, stride, pad)

    def f():
        return np.sum(R.conv2d_forward(x, wt, b, stride, pad) * dy)

    assert_grad(dx, f, x, name="dx")
    assert_grad(dw, f, wt, name="dw")
    assert_grad(db, f, b, name="db")


def test_im2col_layout():
    r = rng(3)
    x = r.standard_normal((2, 3, 5, 4))
    kh, kw, (sh, sw), (ph, pw) = 2, 3, (2, 1), (1, 1)
    col = R.im2col(x, kh, kw, (sh, sw), (ph, pw))
    oh, ow = (5 + 2 * ph - kh) // sh + 1, (4 + 2 * pw - kw) // sw + 1
    assert col.shape == (2 * oh * ow, 3 * kh * kw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for n in range(2):
        for i in range(oh):
            for j in range(ow):
                row = (n * oh + i) * ow + j
                expected = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1)  # (c, i, j)
                np.testing.assert_array_equal(col[row], expected)


@pytest.mark.parametrize("kh, kw, stride, pad", [(3, 3, 1, 1), (2, 3, 2, 0), (3, 2, (1, 2), (2, 1)),
                                                 (1, 1, 2, 0)])
def test_im2col_col2im_adjoint(kh, kw, stride, pad):
    r = rng(4)
    x = r.standard_normal((2, 3, 6, 7))
    col = R.im2col(x, kh, kw, stride, pad)
    c = r.standard_normal(col.shape)
    lhs = np.vdot(R.col2im(c, x.shape, kh, kw, stride, pad), x)
    rhs = np.vdot(c, col)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


def test_conv2d_argument_errors():
    x = np.zeros((1, 3, 5, 5))
    with pytest.raises(ValueError, match="channels"):
        R.conv2d_forward(x, np.zeros((2, 4, 3, 3)), None)
    with pytest.raises(ValueError, match="4-D"):
        R.conv2d_forward(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3)), None)
    with pytest.raises(ValueError, match="b has shape"):
        R.conv2d_forward(x, np.zeros((2, 3, 3, 3)), np.zeros(3))
    with pytest.raises(TypeError):
        R.conv2d_forward(x.astype(np.float32), np.zeros((2, 3, 3, 3)), None)
    with pytest.raises(ValueError, match="does not fit"):
        R.conv2d_forward(x, np.zeros((2, 3, 7, 7)), None)
    with pytest.raises(ValueError, match="dy has shape"):
        R.conv2d_backward(np.zeros((1, 2, 4, 4)), x, np.zeros((2, 3, 3, 3)))


# --------------------------------------------------------------------------------------------
# pooling

def naive_maxpool(x, ph, pw, stride, pad):
    (sh, sw), (pad_h, pad_w) = _pair(stride), _pair(pad)
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad_h - ph) // sh + 1, (w + 2 * pad_w - pw) // sw + 1
    y = np.zeros((n, c, oh, ow), x.dtype)
    am = np.zeros((n, c, oh, ow), np.int64)
    for a in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, idx = None, None
                    for di in range(ph):
                        for dj in range(pw):
                            r, s = i * sh + di - pad_h, j * sw + dj - pad_w
                            if 0 <= r < h and 0 <= s < w and (best is None or x[a, ch, r, s] > best):
                                best, idx = x[a, ch, r, s], r * w + s
                    y[a, ch, i, j], am[a, ch, i, j] = best, idx
    return y, am


def naive_avgpool(x, ph, pw, stride, pad):
    (sh, sw), (pad_h, pad_w) = _pair(stride), _pair(pad)
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    oh, ow = (h + 2 * pad_h - ph) // sh + 1, (w + 2 * pad_w - pw) // sw + 1
    y = np.zeros((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = xp[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw].sum(axis=(2, 3)) / (ph * pw)
    return y


POOL_CASES = [
    # shape, ph, pw, stride, pad
    ((2, 3, 6, 6), 2, 2, None, 0),
    ((1, 2, 7, 5), 3, 3, 2, 1),          # overlapping windows with padding, odd sizes
    ((2, 2, 5, 6), 3, 2, 1, (1, 0)),     # stride 1: heavy overlap
    ((1, 1, 7, 7), 2, 2, 3, 0),          # stride > window: skipped elements
    ((1, 2, 4, 5), 2, 3, (1, 2), (1, 1)),
]


@pytest.mark.parametrize("shape, ph, pw, stride, pad", POOL_CASES)
def test_maxpool_forward_matches_naive(shape, ph, pw, stride, pad):
    x = rng(5).standard_normal(shape)
    y, am = R.maxpool2d_forward(x, ph, pw, stride, pad)
    y_ref, am_ref = naive_maxpool(x, ph, pw, stride if stride is not None else (ph, pw), pad)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(am, am_ref)
    assert am.dtype == np.int64


@pytest.mark.parametrize("shape, ph, pw, stride, pad", POOL_CASES)
def test_maxpool_gradient(shape, ph, pw, stride, pad):
    r = rng(6)
    # Distinct values one apart: no ties, and a step of 1e-5 never changes the argmax.
    x = r.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
    y, am = R.maxpool2d_forward(x, ph, pw, stride, pad)
    dy = r.standard_normal(y.shape)
    dx = R.maxpool2d_backward(dy, am, x.shape)
    assert_grad(dx, lambda: np.sum(R.maxpool2d_forward(x, ph, pw, stride, pad)[0] * dy), x)


def test_maxpool_ties_and_padding():
    # Ties go to the first element of the window in row-major order.
    x = np.zeros((1, 1, 4, 4))
    _, am = R.maxpool2d_forward(x, 2, 2)
    np.testing.assert_array_equal(am[0, 0], [[0, 2], [8, 10]])
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 1, 2, 2)
    y, am = R.maxpool2d_forward(x, 2, 2)
    assert y[0, 0, 0, 0] == 3.0 and am[0, 0, 0, 0] == 1
    # Padding (-inf) is never chosen, even when every input element of the window is -inf.
    x = np.full((1, 1, 3, 3), -np.inf)
    y, am = R.maxpool2d_forward(x, 2, 2, stride=2, pad=1)
    np.testing.assert_array_equal(am[0, 0], [[0, 1], [3, 4]])
    assert np.all(y == -np.inf)
    # Padding is -inf, not zero: a window of negative inputs keeps its negative maximum.
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y, am = R.maxpool2d_forward(x, 2, 2, stride=1, pad=1)
    assert y[0, 0, 0, 0] == -1.0 and am[0, 0, 0, 0] == 0
    with pytest.raises(ValueError, match="smaller than the pool window"):
        R.maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, pad=2)


def test_maxpool_backward_overlap_adds():
    # With stride 1 the centre element is the maximum of all four 2x2 windows.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    y, am = R.maxpool2d_forward(x, 2, 2, stride=1)
    dx = R.maxpool2d_backward(np.ones_like(y), am, x.shape)
    expected = np.zeros((3, 3))
    expected[1, 1] = 4.0
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("shape, ph, pw, stride, pad", POOL_CASES + [((1, 1, 3, 3), 3, 3, 1, 2)])
def test_avgpool_forward_matches_naive(shape, ph, pw, stride, pad):
    x = rng(7).standard_normal(shape)
    y = R.avgpool2d_forward(x, ph, pw, stride, pad)
    y_ref = naive_avgpool(x, ph, pw, stride if stride is not None else (ph, pw), pad)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)


def test_avgpool_counts_padding_in_divisor():
    y = R.avgpool2d_forward(np.ones((1, 1, 2, 2)), 2, 2, stride=2, pad=1)
    np.testing.assert_array_equal(y[0, 0], np.full((2, 2), 0.25))


@pytest.mark.parametrize("shape, ph, pw, stride, pad", POOL_CASES)
def test_avgpool_gradient(shape, ph, pw, stride, pad):
    r = rng(8)
    x = r.standard_normal(shape)
    y = R.avgpool2d_forward(x, ph, pw, stride, pad)
    dy = r.standard_normal(y.shape)
    dx = R.avgpool2d_backward(dy, x.shape, ph, pw, stride, pad)
    assert_grad(dx, lambda: np.sum(R.avgpool2d_forward(x, ph, pw, stride, pad) * dy), x)


# --------------------------------------------------------------------------------------------
# affine

@pytest.mark.parametrize("x_shape", [(4, 5), (1, 5), (3, 2, 2, 3)])
def test_affine_gradients(x_shape):
    r = rng(9)
    x = r.standard_normal(x_shape)
    d = int(np.prod(x_shape[1:]))
    w = r.standard_normal((d, 3))
    b = r.standard_normal(3)
    y = R.affine_forward(x, w, b)
    np.testing.assert_allclose(y, x.reshape(x.shape[0], -1) @ w + b, rtol=1e-13)
    np.testing.assert_allclose(R.affine_forward(x, w, None), x.reshape(x.shape[0], -1) @ w,
                               rtol=1e-13)
    dy = r.standard_normal(y.shape)
    dx, dw, db = R.affine_backward(dy, x, w)
    assert dx.shape == x.shape

    def f():
        return np.sum(R.affine_forward(x, w, b) * dy)

    assert_grad(dx, f, x, name="dx")
    assert_grad(dw, f, w, name="dw")
    assert_grad(db, f, b, name="db")


def test_affine_shape_errors():
    with pytest.raises(ValueError, match="features"):
        R.affine_forward(np.zeros((2, 4)), np.zeros((5, 3)), None)
    with pytest.raises(ValueError, match="b has shape"):
        R.affine_forward(np.zeros((2, 5)), np.zeros((5, 3)), np.zeros(2))


# --------------------------------------------------------------------------------------------
# activations

def _away_from_zero(r, shape, low=0.1):
    return r.uniform(low, 2.0, shape) * r.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_elementwise_activation_gradients(name):
    fwd, bwd = getattr(R, f"{name}_forward"), getattr(R, f"{name}_backward")
    r = rng(10)
    x = _away_from_zero(r, (3, 4, 2))
    y = fwd(x)
    dy = r.standard_normal(y.shape)
    assert_grad(bwd(dy, y), lambda: np.sum(fwd(x) * dy), x)


def test_activation_values():
    x = np.array([-2.0, -0.0, 0.0, 3.0])
    np.testing.assert_array_equal(R.relu_forward(x), [0, 0, 0, 3])
    np.testing.assert_array_equal(R.relu_backward(np.ones(4), R.relu_forward(x)), [0, 0, 0, 1])
    np.testing.assert_allclose(R.sigmoid_forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(R.tanh_forward(x), np.tanh(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_stable_for_large_inputs(dtype):
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = R.sigmoid_forward(x)
    assert np.all(np.isfinite(y))
    assert y[0] == 0 and y[2] == 0.5 and y[-1] == 1


@pytest.mark.parametrize("shape, axis", [((3, 5), -1), ((2, 4, 3), 1), ((4,), 0)])
def test_softmax_gradient(shape, axis):
    r = rng(11)
    x = r.standard_normal(shape)
    y = R.softmax_forward(x, axis=axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-14)
    dy = r.standard_normal(shape)
    assert_grad(R.softmax_backward(dy, y, axis=axis),
                lambda: np.sum(R.softmax_forward(x, axis=axis) * dy), x)


def test_softmax_stable():
    with np.errstate(over="raise", invalid="raise"):
        y = R.softmax_forward(np.array([[1e4, -1e4, 0.0], [1000.0, 1000.0, 1000.0]]))
    np.testing.assert_allclose(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# losses

def test_softmax_xent_gradient_int_labels():
    r = rng(12)
    logits = r.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    _, probs = R.softmax_xent_forward(logits, labels)
    assert_grad(R.softmax_xent_backward(probs, labels),
                lambda: R.softmax_xent_forward(logits, labels)[0], logits)


@pytest.mark.parametrize("normalised", [True, False])
def test_softmax_xent_gradient_soft_targets(normalised):
    r = rng(13)
    logits = r.standard_normal((4, 3))
    t = r.uniform(0.0, 1.0, (4, 3))
    if normalised:
        t /= t.sum(axis=1, keepdims=True)
    _, probs = R.softmax_xent_forward(logits, t)
    assert_grad(R.softmax_xent_backward(probs, t),
                lambda: R.softmax_xent_forward(logits, t)[0], logits)


def test_softmax_xent_value():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    labels = np.array([2, 0])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss, probs = R.softmax_xent_forward(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(-(np.log(p[0, 2]) + np.log(p[1, 0])) / 2, rel=1e-14)
    np.testing.assert_allclose(probs, p, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_xent_extreme_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for labels, expected in [(np.array([0, 1]), 0.0), (np.array([1, 0]), 2e4),
                                 (np.array([2, 2]), 1e4)]:
            loss, probs = R.softmax_xent_forward(logits, labels)
            assert math.isfinite(loss) and loss == pytest.approx(expected, abs=1e-3)
            assert probs.dtype == dtype and np.all(np.isfinite(probs))
            d = R.softmax_xent_backward(probs, labels)
            assert d.dtype == dtype and np.all(np.isfinite(d))
        onehot = np.eye(3, dtype=dtype)[[1, 0]]
        loss, _ = R.softmax_xent_forward(logits, onehot)
        assert loss == pytest.approx(2e4)
    # Logits spanning almost the whole float32 range still give a finite loss.
    big = np.array([[3e38, -3e38]], np.float32)
    loss, probs = R.softmax_xent_forward(big, np.array([1]))
    assert math.isfinite(loss) and np.all(np.isfinite(probs))


def test_softmax_xent_int_and_onehot_agree():
    r = rng(14)
    logits = r.standard_normal((6, 5))
    labels = r.integers(0, 5, 6)
    onehot = np.eye(5)[labels]
    loss_i, probs_i = R.softmax_xent_forward(logits, labels)
    loss_o, probs_o = R.softmax_xent_forward(logits, onehot)
    assert loss_i == pytest.approx(loss_o, rel=1e-14)
    np.testing.assert_array_equal(probs_i, probs_o)
    np.testing.assert_allclose(R.softmax_xent_backward(probs_i, labels),
                               R.softmax_xent_backward(probs_o, onehot), rtol=1e-14, atol=1e-17)


def test_softmax_xent_label_errors():
    logits = np.zeros((2, 3))
    probs = np.full((2, 3), 1 / 3)
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match="class indices"):
            R.softmax_xent_forward(logits, np.array(bad))
        with pytest.raises(ValueError, match="class indices"):
            R.softmax_xent_backward(probs, np.array(bad))
    with pytest.raises(ValueError, match="shape"):
        R.softmax_xent_forward(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="shape"):
        R.softmax_xent_forward(logits, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        R.softmax_xent_forward(np.zeros(3), np.array([0]))


def test_mse():
    r = rng(15)
    y = r.standard_normal((4, 3))
    t = r.standard_normal((4, 3))
    loss = R.mse_forward(y, t)
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.mean((y - t) ** 2), rel=1e-14)
    np.testing.assert_allclose(R.mse_backward(y, t), 2 * (y - t) / y.size, rtol=1e-15)
    assert_grad(R.mse_backward(y, t), lambda: R.mse_forward(y, t), y)
    with pytest.raises(ValueError):
        R.mse_forward(y, t[:2])
