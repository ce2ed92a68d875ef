"""Ops: ReLU and the fused softmax cross-entropy (checks, and their C kernels)."""
import numpy as np

from . import _checks, _kernels
from ._config import get_num_threads
from ._optable import binary_c, c_kernel, implementation, run_into, unary_c

__all__ = ["relu_forward", "relu_backward", "softmax_xent_forward", "softmax_xent_backward"]


def relu_forward(x, out=None):
    """y = max(x, 0), elementwise; written into `out` when given (which may be x itself)."""
    x = _checks.float_array(x, "x")
    return run_into("relu_forward", out, x.shape, x.dtype, x)


def relu_backward(dy, y, out=None):
    """dx = dy where the forward output y > 0, else 0; written into `out` when given."""
    dy = _checks.float_array(dy, "dy")
    y = _checks.float_array(y, "y", dtype=dy.dtype)
    _checks.same_shape(dy, y, "dy", "y")
    return run_into("relu_backward", out, dy.shape, dy.dtype, dy, y)


c_kernel("relu_forward")(unary_c(_kernels.relu_forward))
c_kernel("relu_backward")(binary_c(_kernels.relu_backward))


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


@c_kernel("softmax_xent_forward")
def _softmax_xent_forward_c(logits, labels):
    probs = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=logits.dtype)
    if labels.dtype == np.int64:
        loss = _kernels.softmax_xent_forward(probs, row_loss, logits, labels, get_num_threads())
    else:
        loss = _kernels.softmax_xent_dense_forward(probs, row_loss, logits, labels, get_num_threads())
    return loss, probs


@c_kernel("softmax_xent_backward")
def _softmax_xent_backward_c(probs, labels):
    dlogits = np.empty_like(probs)
    if labels.dtype == np.int64:
        _kernels.softmax_xent_backward(dlogits, probs, labels, get_num_threads())
    else:
        _kernels.softmax_xent_dense_backward(dlogits, probs, labels, get_num_threads())
    return dlogits
