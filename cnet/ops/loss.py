"""Ops of the loss family: the fused softmax cross-entropy (also with a weight per sample, Keras's
sample_weight and class_weight) and the mean squared error -- checks, and their two implementations.
Forward ops return the loss as a Python float (accumulated in float64)."""
import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, register

__all__ = ["softmax_xent_forward", "softmax_xent_backward", "softmax_xent_weighted_forward",
           "softmax_xent_weighted_backward", "mse_forward", "mse_backward"]


# ---- fused softmax + cross-entropy -------------------------------------------------------------

def _xent_args(logits, labels, logits_name):
    logits = _checks.float_array(logits, logits_name, ndim=2)
    if isinstance(labels, np.ndarray) and labels.dtype.kind == "f":
        targets = _checks.float_array(labels, "labels", ndim=2)
        if targets.shape != logits.shape:
            raise ValueError(f"labels: float targets must have the shape of {logits_name} {logits.shape}, "
                             f"got {targets.shape}")
        return logits, targets.astype(logits.dtype, copy=False)
    return logits, _checks.class_labels(labels, logits.shape[0], logits.shape[1])


def softmax_xent_forward(logits, labels):
    """(mean loss, probs): softmax of logits (N, L) and the cross-entropy with labels, either class
    indices (N,) or float targets (N, L) (one-hot or soft)."""
    logits, labels = _xent_args(logits, labels, "logits")
    return implementation("softmax_xent_forward")(logits, labels)


def softmax_xent_backward(probs, labels):
    """dlogits (N, L) = (probs - targets) / N (for soft targets: (probs * sum(t) - t) / N)."""
    probs, labels = _xent_args(probs, labels, "probs")
    return implementation("softmax_xent_backward")(probs, labels)


# ---- fused softmax + cross-entropy with a weight per sample -------------------------------------

def _row_weights(weights, n):
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf" or w.shape != (n,):
        raise ValueError(f"weights: expected {n} real numbers, one per row (shape ({n},)), got an array of "
                         f"dtype {w.dtype} and shape {w.shape}")
    w = np.ascontiguousarray(w, dtype=np.float64)   # the kernels read a contiguous double array
    if not np.isfinite(w).all():
        raise ValueError("weights: expected finite numbers, got NaN or infinity")
    return w


def softmax_xent_weighted_forward(logits, labels, weights):
    """(loss, probs): softmax of logits (N, L) and sum_n weights[n] * cross-entropy of row n / N, labels
    class indices (N,) or float targets (N, L); weights (N,) real numbers (ones give the mean)."""
    logits, labels = _xent_args(logits, labels, "logits")
    weights = _row_weights(weights, logits.shape[0])
    return implementation("softmax_xent_weighted_forward")(logits, labels, weights)


def softmax_xent_weighted_backward(probs, labels, weights):
    """dlogits (N, L): row n of softmax_xent_backward's (probs - targets) / N times weights[n]."""
    probs, labels = _xent_args(probs, labels, "probs")
    weights = _row_weights(weights, probs.shape[0])
    return implementation("softmax_xent_weighted_backward")(probs, labels, weights)


# ---- mean squared error -------------------------------------------------------------------------

def _mse_args(y, t):
    y = _checks.float_array(y, "y")
    t = _checks.float_array(t, "t", dtype=y.dtype)
    _checks.same_shape(y, t, "y", "t")
    return y, t


def mse_forward(y, t):
    """Mean of (y - t)^2 over every element, as a Python float (accumulated in float64)."""
    y, t = _mse_args(y, t)
    return implementation("mse_forward")(y, t)


def mse_backward(y, t):
    """dy = (y - t) * (2 / y.size), the factor rounded to y's dtype."""
    y, t = _mse_args(y, t)
    return implementation("mse_backward")(y, t)


# ---- the C implementations ------------------------------------------------------------------------

def _softmax_xent_forward_c(logits, labels):
    probs = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=logits.dtype)
    if labels.dtype == np.int64:
        loss = _kernels.softmax_xent_forward(probs, row_loss, logits, labels, get_num_threads())
    else:
        loss = _kernels.softmax_xent_dense_forward(probs, row_loss, logits, labels, get_num_threads())
    return loss, probs


def _softmax_xent_backward_c(probs, labels):
    dlogits = np.empty_like(probs)
    if labels.dtype == np.int64:
        _kernels.softmax_xent_backward(dlogits, probs, labels, get_num_threads())
    else:
        _kernels.softmax_xent_dense_backward(dlogits, probs, labels, get_num_threads())
    return dlogits


def _softmax_xent_weighted_forward_c(logits, labels, weights):
    probs = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=logits.dtype)
    if labels.dtype == np.int64:
        loss = _kernels.softmax_xent_weighted_forward(probs, row_loss, logits, labels, weights, get_num_threads())
    else:
        loss = _kernels.softmax_xent_weighted_dense_forward(probs, row_loss, logits, labels, weights,
                                                            get_num_threads())
    return loss, probs


def _softmax_xent_weighted_backward_c(probs, labels, weights):
    dlogits = np.empty_like(probs)
    if labels.dtype == np.int64:
        _kernels.softmax_xent_weighted_backward(dlogits, probs, labels, weights, get_num_threads())
    else:
        _kernels.softmax_xent_weighted_dense_backward(dlogits, probs, labels, weights, get_num_threads())
    return dlogits


def _mse_forward_c(y, t):
    return float(_kernels.mse_forward(y.reshape(-1), t.reshape(-1), get_num_threads()))


def _mse_backward_c(y, t):
    dy = np.empty_like(y)
    _kernels.mse_backward(dy.reshape(-1), y.reshape(-1), t.reshape(-1), get_num_threads())
    return dy


register("softmax_xent_forward", reference.softmax_xent_forward, _softmax_xent_forward_c)
register("softmax_xent_backward", reference.softmax_xent_backward, _softmax_xent_backward_c)
register("softmax_xent_weighted_forward", reference.softmax_xent_weighted_forward,
         _softmax_xent_weighted_forward_c)
register("softmax_xent_weighted_backward", reference.softmax_xent_weighted_backward,
         _softmax_xent_weighted_backward_c)
register("mse_forward", reference.mse_forward, _mse_forward_c)
register("mse_backward", reference.mse_backward, _mse_backward_c)
