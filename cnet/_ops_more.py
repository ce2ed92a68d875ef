"""Ops added for Keras 2's training controls (issue 15), in the loss and optim families: the fused softmax
cross-entropy with a weight per sample, and the Adamax and Nadam updates. Their NumPy references are in
cnet/reference/loss_more.py and optim_more.py; this module joins the family modules of the op table
(cnet/ops/loss.py and cnet/ops/optim.py once cnet.ops is a package).

The weighted cross-entropy runs the C kernels of softmax_xent_forward/backward (the forward already
computes each row's loss; the weights then scale the rows' losses and the rows of the gradient, one
vectorized NumPy product over (N,) or (N, L)). Adamax and Nadam have no C kernel yet: both backends run
the NumPy reference (op_backends() says 'numpy' for them)."""
import numpy as np

from . import _kernels
from ._config import get_num_threads
from ._ops_activation import _xent_args, _softmax_xent_backward_c
from ._ops_elementwise import _opt_args, _real
from ._optable import c_kernel, implementation

__all__ = ["softmax_xent_weighted_forward", "softmax_xent_weighted_backward", "adamax_update", "nadam_update"]


# ---- weighted softmax cross-entropy -------------------------------------------------------------------

def _weights(weights, n):
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf" or w.shape != (n,):
        raise ValueError(f"weights: expected {n} real numbers, one per row (shape ({n},)), got an array of "
                         f"dtype {w.dtype} and shape {w.shape}")
    w = w.astype(np.float64, copy=False)
    if not np.isfinite(w).all():
        raise ValueError("weights: expected finite numbers, got NaN or infinity")
    return w


def softmax_xent_weighted_forward(logits, labels, weights):
    """(loss, probs): softmax of logits (N, L) and sum_n weights[n] * cross-entropy of row n / N, labels
    class indices (N,) or float targets (N, L); weights (N,) real numbers (ones give the mean)."""
    logits, labels = _xent_args(logits, labels, "logits")
    return implementation("softmax_xent_weighted_forward")(logits, labels, _weights(weights, logits.shape[0]))


def softmax_xent_weighted_backward(probs, labels, weights):
    """dlogits (N, L): row n of softmax_xent_backward's (probs - targets) / N times weights[n]."""
    probs, labels = _xent_args(probs, labels, "probs")
    return implementation("softmax_xent_weighted_backward")(probs, labels, _weights(weights, probs.shape[0]))


@c_kernel("softmax_xent_weighted_forward")
def _softmax_xent_weighted_forward_c(logits, labels, weights):
    n = logits.shape[0]
    probs = np.empty_like(logits)
    rows = np.empty(n, dtype=logits.dtype)
    if labels.dtype == np.int64:
        _kernels.softmax_xent_forward(probs, rows, logits, labels, get_num_threads())
    else:
        _kernels.softmax_xent_dense_forward(probs, rows, logits, labels, get_num_threads())
    loss = float(np.where(weights != 0, weights * rows, 0.0).sum()) / n if n else 0.0
    return loss, probs


@c_kernel("softmax_xent_weighted_backward")
def _softmax_xent_weighted_backward_c(probs, labels, weights):
    d = _softmax_xent_backward_c(probs, labels)
    d *= weights.astype(probs.dtype)[:, None]
    return d


# ---- Adamax and Nadam ---------------------------------------------------------------------------------

def _step_count(t, who):
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"t: expected an integer step count, got {type(t).__name__} {t!r}")
    if t < 1:
        raise ValueError(f"{who}'s step count t starts at 1, got {t}")
    return int(t)


def _beta(value, name):
    return _real(value, name, 0.0, 1.0, high_open=True)


def adamax_update(p, g, m, u, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adamax, t >= 1 the step count (in place): m = beta1*m + (1 - beta1)*g;
    u = max(beta2*u, |g|); p -= lr/(1 - beta1**t) * m/(u + eps)."""
    g = _opt_args(p, g, m=m, u=u)
    implementation("adamax_update")(p, g, m, u, _real(lr, "lr"), _beta(beta1, "beta1"), _beta(beta2, "beta2"),
                                    _real(eps, "eps"), _step_count(t, "Adamax"),
                                    _real(weight_decay, "weight_decay"))


def nadam_update(p, g, m, v, lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule, weight_decay=0.0):
    """Keras 2.1 Nadam, t >= 1 the step count (in place); mu_t and mu_next the momentum schedule at t
    and t + 1, m_schedule the product of mu_1..mu_t (see cnet.reference.nadam_update for the formulas)."""
    g = _opt_args(p, g, m=m, v=v)
    implementation("nadam_update")(p, g, m, v, _real(lr, "lr"), _beta(beta1, "beta1"), _beta(beta2, "beta2"),
                                   _real(eps, "eps"), _step_count(t, "Nadam"), _beta(mu_t, "mu_t"),
                                   _beta(mu_next, "mu_next"), _beta(m_schedule, "m_schedule"),
                                   _real(weight_decay, "weight_decay"))
