"""Element-wise activations and softmax. The backward functions of relu, sigmoid, tanh and softmax take the
forward output y; those of the activations with parameters (elu ... prelu, at the end) the input x."""

import math

import numpy as np

from ._util import as_float, check_same_dtype, check_shape


def _check_pair(dy, y):
    dy = as_float(dy, "dy")
    y = as_float(y, "y")
    check_same_dtype(y, dy=dy)
    check_shape(dy, y.shape, "dy")
    return dy, y


def relu_forward(x):
    x = as_float(x, "x")
    return np.maximum(x, x.dtype.type(0))


def relu_backward(dy, y):
    """dx = dy where y > 0, else 0 (the gradient at 0 is taken as 0)."""
    dy, y = _check_pair(dy, y)
    return np.where(y > 0, dy, dy.dtype.type(0))


def sigmoid_forward(x):
    """1/(1 + exp(-x)), evaluated through exp(-|x|) so that no exp overflows."""
    x = as_float(x, "x")
    e = np.exp(-np.abs(x))            # in (0, 1]
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def sigmoid_backward(dy, y):
    dy, y = _check_pair(dy, y)
    return dy * y * (y.dtype.type(1) - y)


def tanh_forward(x):
    x = as_float(x, "x")
    return np.tanh(x)


def tanh_backward(dy, y):
    dy, y = _check_pair(dy, y)
    return dy * (y.dtype.type(1) - y * y)


def softmax_forward(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along axis; the max is subtracted so exp never overflows."""
    x = as_float(x, "x")
    # For float32 logits more than ~3.4e38 apart the shift overflows to -inf, whose exp is the
    # correct limit 0; only that overflow is silenced.
    with np.errstate(over="ignore"):
        z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(dy, y, axis=-1):
    """dx = y * (dy - sum(dy * y)) along axis (the Jacobian-vector product of softmax)."""
    dy, y = _check_pair(dy, y)
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


# ---- activations with parameters: the backward functions take the forward INPUT x ----------------

def _x_pair(dy, x):
    return _check_pair(dy, x)


def elu_forward(x, alpha=1.0, scale=1.0):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)) (SELU: Keras's alpha and scale)."""
    x = as_float(x, "x")
    t = x.dtype.type
    return np.where(x > 0, t(scale) * x, t(scale) * (t(alpha) * np.expm1(np.minimum(x, 0))))


def elu_backward(dy, x, alpha=1.0, scale=1.0):
    dy, x = _x_pair(dy, x)
    t = x.dtype.type
    return np.where(x > 0, dy * t(scale), dy * (t(scale) * (t(alpha) * np.exp(np.minimum(x, 0)))))


def leaky_relu_forward(x, alpha=0.2, threshold=0.0, max_value=np.inf):
    """Keras's ReLU: min(x, max_value) where x > threshold, else alpha * (x - threshold); NaN stays NaN."""
    x = as_float(x, "x")
    t = x.dtype.type
    y = np.where(x > t(threshold), np.minimum(x, t(max_value)), t(alpha) * (x - t(threshold)))
    return np.where(np.isnan(x), x, y)


def leaky_relu_backward(dy, x, alpha=0.2, threshold=0.0, max_value=np.inf):
    dy, x = _x_pair(dy, x)
    t = x.dtype.type
    return np.where(x > t(threshold), np.where(x < t(max_value), dy, t(0)), t(alpha) * dy)


def softplus_forward(x):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)) (no overflow)."""
    x = as_float(x, "x")
    return np.maximum(x, x.dtype.type(0)) + np.log1p(np.exp(-np.abs(x)))


def softplus_backward(dy, x):
    dy, x = _x_pair(dy, x)
    return dy * sigmoid_forward(x)


def softsign_forward(x):
    x = as_float(x, "x")
    return x / (x.dtype.type(1) + np.abs(x))


def softsign_backward(dy, x):
    dy, x = _x_pair(dy, x)
    d = x.dtype.type(1) + np.abs(x)
    return dy / (d * d)


def hard_sigmoid_forward(x):
    """clip(0.2 x + 0.5, 0, 1), Keras 2's hard sigmoid."""
    x = as_float(x, "x")
    t = x.dtype.type
    return np.clip(t(0.2) * x + t(0.5), t(0), t(1))


def hard_sigmoid_backward(dy, x):
    dy, x = _x_pair(dy, x)
    t = x.dtype.type
    return np.where((x > t(-2.5)) & (x < t(2.5)), t(0.2) * dy, t(0))


def swish_forward(x):
    """x * sigmoid(x)."""
    x = as_float(x, "x")
    return x * sigmoid_forward(x)


def swish_backward(dy, x):
    dy, x = _x_pair(dy, x)
    s = sigmoid_forward(x)
    return dy * (s + x * s * (x.dtype.type(1) - s))


_erf = np.frompyfunc(math.erf, 1, 1)
_C_GELU = math.sqrt(2.0 / math.pi)


def gelu_forward(x, approximate=False):
    """x/2 (1 + erf(x / sqrt 2)); approximate: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = as_float(x, "x")
    t = x.dtype.type
    if approximate:
        return t(0.5) * x * (t(1) + np.tanh(t(_C_GELU) * (x + t(0.044715) * x * x * x)))
    return t(0.5) * x * (t(1) + _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(x.dtype))


def gelu_backward(dy, x, approximate=False):
    dy, x = _x_pair(dy, x)
    t = x.dtype.type
    if approximate:
        th = np.tanh(t(_C_GELU) * (x + t(0.044715) * x * x * x))
        du = t(_C_GELU) * (t(1) + t(3 * 0.044715) * x * x)
        return dy * (t(0.5) * (t(1) + th) + t(0.5) * x * (t(1) - th * th) * du)
    cdf = t(0.5) * (t(1) + _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(x.dtype))
    return dy * (cdf + x * t(1 / math.sqrt(2 * math.pi)) * np.exp(t(-0.5) * x * x))


def prelu_forward(x, alpha):
    """x (rows, F), alpha (F,): x where x > 0, else alpha * x."""
    x = as_float(x, "x")
    alpha = as_float(alpha, "alpha")
    check_same_dtype(x, alpha=alpha)
    check_shape(alpha, x.shape[-1:], "alpha")
    return np.where(x > 0, x, alpha * x)


def prelu_backward(dy, x, alpha):
    """(dx, dalpha): dx = dy where x > 0 else alpha * dy; dalpha = sum over rows of dy * min(x, 0)."""
    dy, x = _x_pair(dy, x)
    alpha = as_float(alpha, "alpha")
    check_same_dtype(x, alpha=alpha)
    dalpha = (dy * np.minimum(x, x.dtype.type(0))).sum(axis=0, dtype=np.float64).astype(x.dtype)
    return np.where(x > 0, dy, alpha * dy), dalpha
