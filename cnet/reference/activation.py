"""Element-wise activations and softmax. Backward functions take the forward output y, not x."""

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
