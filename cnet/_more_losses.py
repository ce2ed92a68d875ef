"""Keras 2's regression, margin and divergence losses: their per-sample functions on (y_true, y_pred)
(re-exported by cnet.losses, whose classes MeanAbsoluteError, ..., Huber train with them) and the
element-wise penalties with their derivatives, ``<name>_elements(t, p) -> (value, d value / d p)``.

Each is an element-wise penalty f(t, p) averaged over the last axis (a per-sample loss, as Keras), then over
the batch; kullback_leibler_divergence sums over the last axis. Targets may have one axis less than
one-unit predictions, (N,) against (N, 1): the everyday regression and binary classifier.

- mean_absolute_error (mae): |p - t|
- mean_absolute_percentage_error (mape): 100 |t - p| / max(|t|, eps)
- mean_squared_logarithmic_error (msle): (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2
- hinge: max(1 - t p, 0); squared_hinge: max(1 - t p, 0)^2 -- targets -1/1, or 0/1 (turned into -1/1
  when every target is 0 or 1, as tf.keras does)
- kullback_leibler_divergence (kld): sum t' log(t' / p'), t' and p' clipped to [eps, 1]
- logcosh: log(cosh(p - t)), computed without overflow
- huber (Huber(delta=1.0)): 0.5 x^2 where |x| <= delta, else delta (|x| - delta / 2), x = p - t
eps is cnet.backend.epsilon() (1e-7).
"""
import math

import numpy as np

from . import backend

__all__ = ["mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
           "hinge", "squared_hinge", "kullback_leibler_divergence", "logcosh", "huber", "mae", "MAE", "mape",
           "MAPE", "msle", "MSLE", "kld", "KLD", "log_cosh", "huber_loss"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_pair(y_true, y_pred, name):
    """(t, p) in float64 of the same shape, and p's dtype (float32 unless p is float64)."""
    p = np.asarray(y_pred)
    dtype = p.dtype if p.dtype in _FLOATS else np.dtype(np.float32)
    t = np.asarray(y_true)
    if t.shape != p.shape and t.ndim == p.ndim - 1 and p.shape[-1] == 1 and t.shape == p.shape[:-1]:
        t = t[..., None]            # (N,) targets for (N, 1) predictions
    if t.shape != p.shape:
        raise ValueError(f"{name}: targets have shape {t.shape} but predictions have shape {p.shape}")
    if t.dtype.kind not in "biuf" or p.dtype.kind not in "biuf":
        raise TypeError(f"{name}: targets and predictions must be numbers, got {t.dtype} and {p.dtype}")
    return t.astype(np.float64), p.astype(np.float64), dtype


def _signed(t):
    """Hinge targets: 0/1 labels as -1/1 (tf.keras), -1/1 kept."""
    if t.size and np.all((t == 0) | (t == 1)):
        return 2.0 * t - 1.0
    return t


# element-wise value and derivative with respect to p, each f(t, p, **params) on float64 arrays
def mae_elements(t, p):
    return np.abs(p - t), np.sign(p - t)


def mape_elements(t, p):
    d = np.maximum(np.abs(t), backend.epsilon())
    return 100.0 * np.abs(t - p) / d, 100.0 * np.sign(p - t) / d


def msle_elements(t, p):
    eps = backend.epsilon()
    lp, lt = np.log(np.maximum(p, eps) + 1.0), np.log(np.maximum(t, eps) + 1.0)
    return (lp - lt) ** 2, np.where(p > eps, 2.0 * (lp - lt) / (np.maximum(p, eps) + 1.0), 0.0)


def hinge_elements(t, p):
    t = _signed(t)
    m = 1.0 - t * p
    return np.maximum(m, 0.0), np.where(m > 0, -t, 0.0)


def squared_hinge_elements(t, p):
    t = _signed(t)
    m = np.maximum(1.0 - t * p, 0.0)
    return m * m, -2.0 * t * m


def kld_elements(t, p):
    eps = backend.epsilon()
    tc, pc = np.clip(t, eps, 1.0), np.clip(p, eps, 1.0)
    return tc * np.log(tc / pc), np.where((p >= eps) & (p <= 1.0), -tc / pc, 0.0)


def logcosh_elements(t, p):
    x = p - t
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0), np.tanh(x)


def huber_elements(t, p, delta=1.0):
    x = p - t
    a = np.abs(x)
    return np.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta)), np.clip(x, -delta, delta)


def _per_sample(f, reduce_sum, name, params=None):
    """The Keras function (y_true, y_pred) -> per-sample losses (N,) of element-wise penalty f."""
    def fn(y_true, y_pred):
        t, p, dtype = as_pair(y_true, y_pred, name)
        v = f(t, p, **(params or {}))[0]
        if v.ndim == 0:
            return v.astype(dtype)
        return (v.sum(axis=-1) if reduce_sum else v.mean(axis=-1)).astype(dtype)
    fn.__name__ = fn.__qualname__ = name
    return fn


mean_absolute_error = _per_sample(mae_elements, False, "mean_absolute_error")
mean_absolute_percentage_error = _per_sample(mape_elements, False, "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _per_sample(msle_elements, False, "mean_squared_logarithmic_error")
hinge = _per_sample(hinge_elements, False, "hinge")
squared_hinge = _per_sample(squared_hinge_elements, False, "squared_hinge")
kullback_leibler_divergence = _per_sample(kld_elements, True, "kullback_leibler_divergence")
logcosh = _per_sample(logcosh_elements, False, "logcosh")


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss, mean over the last axis of 0.5 x^2 (|x| <= delta) or delta (|x| - delta/2)."""
    return _per_sample(huber_elements, False, "huber", {"delta": check_delta(delta)})(y_true, y_pred)


def check_delta(delta):
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not math.isfinite(delta) or delta <= 0:
        raise ValueError(f"huber: delta must be a finite number > 0, got {delta!r}")
    return float(delta)


mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
log_cosh = logcosh
huber_loss = huber


def huber_delta_of(name):
    """The delta of a Huber loss's name 'huber_loss(delta=2.5)' (cnet.losses.Huber.name), or None."""
    prefix = "huber_loss(delta="
    if name.startswith(prefix) and name.endswith(")"):
        try:
            return check_delta(float(name[len(prefix):-1]))
        except ValueError:
            return None
    return None
