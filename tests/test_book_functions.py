"""cnet.book.common.functions, gradient and util against the book's published definitions."""
import numpy as np
import pytest

from cnet.book.common import functions as F
from cnet.book.common import gradient as G
from cnet.book.common import util as U


# ---- functions --------------------------------------------------------------------------------

def test_step_identity_and_relu_grad_follow_the_book():
    x = np.array([-1.0, 0.0, 2.5])
    assert F.identity_function(x) is x
    step = F.step_function(x)
    assert step.tolist() == [0, 0, 1] and step.dtype.kind == "i"
    # the book's relu_grad is 1 at x == 0 too (x >= 0)
    assert F.relu_grad(x).tolist() == [0.0, 1.0, 1.0]
    assert F.relu_grad(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_relu_softmax_values_and_dtypes(dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 7)) * 5).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(F.sigmoid(x), 1 / (1 + np.exp(-x.astype(np.float64))), rtol=tol)
    np.testing.assert_array_equal(F.relu(x), np.maximum(x, 0))
    e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(F.softmax(x), e / e.sum(axis=-1, keepdims=True), rtol=tol, atol=tol)
    s = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(F.sigmoid_grad(x), s * (1 - s), rtol=10 * tol, atol=tol)
    for f in (F.sigmoid, F.relu, F.softmax, F.sigmoid_grad):
        assert f(x).dtype == dtype and f(x).shape == x.shape


def test_functions_take_scalars_lists_and_integers():
    assert F.sigmoid(0) == 0.5 and np.ndim(F.sigmoid(0.0)) == 0
    assert F.relu([-2, 3]).tolist() == [0.0, 3.0]
    assert F.softmax([1.0, 1.0]).tolist() == [0.5, 0.5]
    assert F.sigmoid(np.arange(3)).dtype == np.float64       # integers computed in float64
    # a 1-D input is one sample: softmax over its only axis; large values do not overflow
    np.testing.assert_allclose(F.softmax(np.array([1000.0, 1000.0, 1000.0])), [1 / 3] * 3)


def test_cross_entropy_error_is_the_books_with_its_1e7():
    y = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
    labels = np.array([1, 0])
    expected = -(np.log(0.7 + 1e-7) + np.log(0.5 + 1e-7)) / 2
    assert F.cross_entropy_error(y, labels) == pytest.approx(expected, rel=1e-15)
    one_hot = np.eye(3)[labels]
    assert F.cross_entropy_error(y, one_hot) == pytest.approx(expected, rel=1e-15)
    # a single sample counts as a batch of one; a zero probability gives -log(1e-7), not inf
    assert F.cross_entropy_error(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(-np.log(1e-7))
    assert F.cross_entropy_error(np.array([0.2, 0.8]), 1) == pytest.approx(-np.log(0.8 + 1e-7))
    with pytest.raises(ValueError, match="one label per sample"):
        F.cross_entropy_error(y, np.array([1, 0, 2]))


def test_sum_squared_error_and_softmax_loss():
    y, t = np.array([0.6, 0.1, 0.3]), np.array([1.0, 0.0, 0.0])
    assert F.sum_squared_error(y, t) == pytest.approx(0.5 * (0.16 + 0.01 + 0.09))
    x = np.array([[2.0, 1.0, 0.1]])
    p = np.exp(x) / np.exp(x).sum()
    assert F.softmax_loss(x, np.array([0])) == pytest.approx(-np.log(p[0, 0] + 1e-7), rel=1e-14)


# ---- gradient ---------------------------------------------------------------------------------

def test_numerical_gradient_central_differences_any_shape_and_restores_x():
    x = np.array([[3.0, 4.0], [-1.0, 0.5]])
    before = x.copy()
    grad = G.numerical_gradient(lambda w: np.sum(w ** 2), x)        # d/dx sum x^2 = 2x
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    # f may ignore its argument and read the array through a closure, as the book's networks do
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(G.numerical_gradient(lambda _: float(w @ w), w), 2 * w, rtol=1e-8)
    # central differences with h = 1e-4: exact for quadratics, O(h^2) for a cubic
    c = np.array([2.0])
    assert G.numerical_gradient(lambda v: v[0] ** 3, c)[0] == pytest.approx(12 + 1e-8, rel=1e-9)
    with pytest.raises(TypeError, match="NumPy array"):
        G.numerical_gradient(lambda v: v, 3.0)


def test_numerical_gradient_2d_is_row_by_row():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    calls = []

    def f(row):
        calls.append(row.shape)
        return np.sum(row ** 2)
    np.testing.assert_allclose(G.numerical_gradient_2d(f, X), 2 * X, rtol=1e-8)
    assert set(calls) == {(2,)}            # f receives a row
    np.testing.assert_allclose(G.numerical_gradient_2d(lambda v: np.sum(v ** 2), np.array([1.0, -1.0])),
                               [2.0, -2.0], rtol=1e-8)


# ---- util -------------------------------------------------------------------------------------

def _smooth_reference(x):
    """The book's smoothing spelled out: Kaiser(11, beta 2) weights, the curve mirrored at the start
    without its first value and at the end with its last value, each output a weighted average."""
    w = np.kaiser(11, 2)
    w /= w.sum()
    n = len(x)
    out = np.empty(n)
    for i in range(n):
        acc = 0.0
        for k in range(-5, 6):
            j = i + k
            if j < 0:
                v = x[-j]
            elif j >= n:
                v = x[2 * n - 1 - j]
            else:
                v = x[j]
            acc += w[k + 5] * v
        out[i] = acc
    return out


def test_smooth_curve_matches_the_definition():
    rng = np.random.default_rng(1)
    for n in (11, 12, 37):
        x = rng.random(n)
        np.testing.assert_allclose(U.smooth_curve(x), _smooth_reference(x), rtol=1e-13)
    np.testing.assert_allclose(U.smooth_curve([2.0] * 20), [2.0] * 20)
    assert len(U.smooth_curve(list(range(100)))) == 100
    with pytest.raises(ValueError, match="at least 11"):
        U.smooth_curve([1.0, 2.0])


def test_shuffle_dataset_uses_numpys_global_generator():
    x = np.arange(20.0).reshape(10, 2)
    t = np.arange(10)
    np.random.seed(3)
    xs, ts = U.shuffle_dataset(x, t)
    np.random.seed(3)
    order = np.random.permutation(10)
    np.testing.assert_array_equal(ts, order)
    np.testing.assert_array_equal(xs, x[order])
    images = np.arange(10 * 4.0).reshape(10, 1, 2, 2)
    xs, ts = U.shuffle_dataset(images, t)
    np.testing.assert_array_equal(xs[:, 0, 0, 0], ts * 4.0)


def test_conv_output_size_is_a_float_as_in_the_book():
    assert U.conv_output_size(28, 5) == 24.0
    assert U.conv_output_size(7, 3, stride=2, pad=1) == 4.0
    assert U.conv_output_size(28, 5, stride=2) == 12.5


def _im2col_reference(x, fh, fw, stride, pad):
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = [xp[i, :, y * stride:y * stride + fh, z * stride:z * stride + fw].ravel()
            for i in range(n) for y in range(oh) for z in range(ow)]
    return np.array(rows)


@pytest.mark.parametrize("fh, fw, stride, pad", [(3, 3, 1, 0), (2, 3, 2, 1), (1, 1, 1, 0), (3, 2, 3, 2)])
def test_im2col_col2im_layout(fh, fw, stride, pad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    col = U.im2col(x, fh, fw, stride, pad)
    assert col.dtype == np.float64             # the book's im2col returns float64 for any input
    np.testing.assert_allclose(col, _im2col_reference(x.astype(np.float64), fh, fw, stride, pad), rtol=1e-15)
    # col2im is im2col's adjoint: <im2col(x), c> == <x, col2im(c)>
    c = rng.standard_normal(col.shape)
    img = U.col2im(c, x.shape, fh, fw, stride, pad)
    assert img.shape == x.shape and img.dtype == np.float64
    assert np.vdot(col, c) == pytest.approx(np.vdot(x.astype(np.float64), img), rel=1e-12)
