"""The fused softmax cross-entropy of losses.py with a weight per sample (Keras's sample_weight and
class_weight): the loss is sum_n w[n] * loss[n] / N, so weights of ones give softmax_xent_forward's mean,
and the gradient of row n is w[n] times softmax_xent_backward's."""

import numpy as np

from ._util import as_float, check_ndim
from .losses import _check_labels, softmax_xent_backward
from .activations import softmax_forward


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
