"""Losses. Forward functions return the loss as a Python float (accumulated in float64);
backward functions return the gradient of that loss in the input's dtype."""

import numpy as np

from ._util import as_float, check_ndim, check_same_dtype, check_shape
from .activation import softmax_forward


def _check_labels(labels, n, L):
    """Return ('index', int64 (N,)) or ('target', float (N, L)), validated against logits (N, L)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "iu":
        if labels.shape != (n,):
            raise ValueError(f"integer labels must have shape (N,) = ({n},), got {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= L):
            raise ValueError(f"labels must be class indices in [0, {L}), "
                             f"got values in [{labels.min()}, {labels.max()}]")
        return "index", labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if labels.shape != (n, L):
            raise ValueError(f"target probabilities must have the logits' shape {(n, L)}, "
                             f"got {labels.shape}")
        return "target", labels
    raise TypeError(f"labels must be integer class indices or float targets, got {labels.dtype}")


def softmax_xent_forward(logits, labels):
    """Softmax followed by cross-entropy, averaged over the batch.

    logits (N, L); labels int (N,) class indices, or float (N, L) targets (one-hot or soft).
    Returns (loss, probs): loss = mean over n of -sum_l t[n, l] * log softmax(logits)[n, l], a Python
    float computed from a float64 log-sum-exp (finite for any finite float32 logits); probs (N, L)
    is the softmax in the logits' dtype, kept for the backward pass.
    """
    logits = as_float(logits, "logits")
    check_ndim(logits, 2, "logits", "(N, L)")
    n, L = logits.shape
    kind, labels = _check_labels(labels, n, L)
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))   # log softmax, float64
    if kind == "index":
        picked = logp[np.arange(n), labels]
    else:
        t = labels.astype(np.float64)
        # t == 0 contributes nothing even where logp is -inf (0 * -inf would be NaN).
        picked = np.where(t != 0, t * logp, 0.0).sum(axis=1)
    loss = -float(picked.sum()) / n if n else 0.0
    return loss, softmax_forward(logits, axis=1)


def softmax_xent_backward(probs, labels):
    """Gradient of softmax_xent_forward's loss with respect to the logits, (N, L).

    Integer labels: (probs - onehot)/N. Float targets: (probs * sum_l t - t)/N, the exact gradient
    for targets whose rows need not sum to 1 (for one-hot or normalised targets it is (probs - t)/N).
    """
    probs = as_float(probs, "probs")
    check_ndim(probs, 2, "probs", "(N, L)")
    n, L = probs.shape
    kind, labels = _check_labels(labels, n, L)
    inv_n = probs.dtype.type(1.0 / n) if n else probs.dtype.type(0)
    if kind == "index":
        d = probs.copy()
        d[np.arange(n), labels] -= 1
    else:
        t = labels.astype(probs.dtype, copy=False)
        d = probs * t.sum(axis=1, keepdims=True) - t
    d *= inv_n
    return d



# The fused softmax cross-entropy with a weight per sample (Keras's sample_weight and class_weight): the loss
# is sum_n w[n] * loss[n] / N, so weights of ones give softmax_xent_forward's mean, and the gradient of row n
# is w[n] times softmax_xent_backward's.

def _row_weights(weights, n):
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf" or w.shape != (n,):
        raise ValueError(f"weights must be {n} real numbers, one per row (shape ({n},)), got dtype {w.dtype} "
                         f"and shape {w.shape}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite numbers")
    return w


def softmax_xent_weighted_forward(logits, labels, weights):
    """(loss, probs): loss = sum_n weights[n] * (-sum_l t[n, l] log softmax(logits)[n, l]) / N, a Python
    float from a float64 log-sum-exp; probs (N, L) the softmax in the logits' dtype. labels as in
    softmax_xent_forward: class indices (N,) or float targets (N, L)."""
    logits = as_float(logits, "logits")
    check_ndim(logits, 2, "logits", "(N, L)")
    n, L = logits.shape
    kind, labels = _check_labels(labels, n, L)
    w = _row_weights(weights, n)
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    if kind == "index":
        rows = -logp[np.arange(n), labels]
    else:
        t = labels.astype(np.float64)
        rows = -np.where(t != 0, t * logp, 0.0).sum(axis=1)
    # a weight of 0 drops its row even where the row's loss is infinite (0 * inf would be NaN)
    loss = float(np.where(w != 0, w * rows, 0.0).sum()) / n if n else 0.0
    return loss, softmax_forward(logits, axis=1)


def softmax_xent_weighted_backward(probs, labels, weights):
    """Gradient of softmax_xent_weighted_forward's loss with respect to the logits, (N, L): row n of
    softmax_xent_backward times weights[n] (rounded to the probs' dtype)."""
    probs = as_float(probs, "probs")
    check_ndim(probs, 2, "probs", "(N, L)")
    w = _row_weights(weights, probs.shape[0])
    d = softmax_xent_backward(probs, labels)
    d *= w.astype(probs.dtype)[:, None]
    return d


def mse_forward(y, t):
    """Mean squared error over every element (Keras's mean_squared_error averaged over the batch).

    Returns a Python float accumulated in float64.
    """
    y = as_float(y, "y")
    t = as_float(t, "t")
    check_same_dtype(y, t=t)
    check_shape(t, y.shape, "t")
    diff = y.astype(np.float64) - t
    return float(np.mean(diff * diff)) if y.size else 0.0


def mse_backward(y, t):
    """dy = 2*(y - t)/y.size, computed as (y - t) * (2/y.size) with the factor rounded to y's dtype."""
    y = as_float(y, "y")
    t = as_float(t, "t")
    check_same_dtype(y, t=t)
    check_shape(t, y.shape, "t")
    scale = y.dtype.type(2.0 / y.size) if y.size else y.dtype.type(0)
    return (y - t) * scale
