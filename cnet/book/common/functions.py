"""The book's common/functions.py: activation functions, their derivatives and the loss functions.

sigmoid, relu and softmax run cnet's kernels (cnet.ops). They take what NumPy takes (scalars, lists,
arrays of any shape); float32 and float64 keep their dtype, any other input (integers, booleans,
float16) is computed in float64. A scalar or 0-d input gives a 0-d result, as NumPy's ufuncs do.

Loss functions follow the book to the digit: ``cross_entropy_error(y, t)`` is the batch mean of
-log(y[n, t[n]] + 1e-7), the 1e-7 keeping log away from zero (so it is not the exact cross-entropy:
the difference is about 1e-7 / y); t is a vector of class indices or one-hot rows (then its argmax
is used); a single sample y (L,) counts as a batch of one.
"""
import numpy as np

from cnet import ops as _ops

__all__ = ["np", "identity_function", "step_function", "sigmoid", "sigmoid_grad", "relu", "relu_grad",
           "softmax", "sum_squared_error", "cross_entropy_error", "softmax_loss"]

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _floating(x):
    """x as a float32/float64 array for the kernels (other dtypes widened to float64)."""
    a = np.asarray(x)
    if a.dtype not in _KERNEL_DTYPES:
        a = a.astype(np.float64)
    return a


def identity_function(x):
    """x itself (the output activation of regression)."""
    return x


def step_function(x):
    """1 where x > 0, else 0, as an integer array."""
    return np.array(np.asarray(x) > 0, dtype=int)


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise."""
    return _ops.sigmoid_forward(_floating(x))


def sigmoid_grad(x):
    """The derivative of sigmoid at x: sigmoid(x) * (1 - sigmoid(x))."""
    y = sigmoid(x)
    return _ops.sigmoid_backward(np.ones_like(y), y)


def relu(x):
    """max(x, 0), elementwise."""
    return _ops.relu_forward(_floating(x))


def relu_grad(x):
    """The book's derivative of relu: 1 where x >= 0 (at 0 too), 0 elsewhere, in x's dtype."""
    x = np.asarray(x)
    return (x >= 0).astype(x.dtype)


def softmax(x):
    """exp(x) / sum(exp(x)) along the last axis (shifted by the maximum, so exp never overflows)."""
    return _ops.softmax_forward(_floating(x), axis=-1)


def sum_squared_error(y, t):
    """0.5 * sum((y - t)**2) over every element (not averaged over the batch)."""
    d = np.asarray(y) - np.asarray(t)
    return 0.5 * np.sum(d * d)


def cross_entropy_error(y, t):
    """Mean over the batch of -log(y[n, label n] + 1e-7); t: labels (N,) or one-hot rows (N, L)."""
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.size == y.size else t.reshape(1)
    if t.size == y.size:
        t = t.reshape(y.shape).argmax(axis=1)
    n = y.shape[0]
    if t.size != n:
        raise ValueError(f"cross_entropy_error: t must hold one label per sample ({n}) or one-hot rows "
                         f"shaped like y {y.shape}, got shape {t.shape}")
    picked = y[np.arange(n), t.reshape(n).astype(np.intp, copy=False)]
    return -np.sum(np.log(picked + 1e-7)) / n


def softmax_loss(X, t):
    """cross_entropy_error(softmax(X), t)."""
    return cross_entropy_error(softmax(X), t)
