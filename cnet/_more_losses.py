"""Keras 2's regression, margin and divergence losses (re-exported by cnet.losses): per-sample functions on
(y_true, y_pred) and the training objects a model uses (the cnet.losses.Loss protocol: forward(y_pred,
y_true) -> the batch mean, backward() -> its gradient with respect to y_pred).

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
           "MAPE", "msle", "MSLE", "kld", "KLD", "log_cosh", "huber_loss", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Hinge", "SquaredHinge",
           "KLDivergence", "LogCosh", "Huber", "ElementwiseLoss", "LOSSES"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _pair(y_true, y_pred, name):
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
def _mae(t, p):
    return np.abs(p - t), np.sign(p - t)


def _mape(t, p):
    d = np.maximum(np.abs(t), backend.epsilon())
    return 100.0 * np.abs(t - p) / d, 100.0 * np.sign(p - t) / d


def _msle(t, p):
    eps = backend.epsilon()
    lp, lt = np.log(np.maximum(p, eps) + 1.0), np.log(np.maximum(t, eps) + 1.0)
    return (lp - lt) ** 2, np.where(p > eps, 2.0 * (lp - lt) / (np.maximum(p, eps) + 1.0), 0.0)


def _hinge(t, p):
    t = _signed(t)
    m = 1.0 - t * p
    return np.maximum(m, 0.0), np.where(m > 0, -t, 0.0)


def _squared_hinge(t, p):
    t = _signed(t)
    m = np.maximum(1.0 - t * p, 0.0)
    return m * m, -2.0 * t * m


def _kld(t, p):
    eps = backend.epsilon()
    tc, pc = np.clip(t, eps, 1.0), np.clip(p, eps, 1.0)
    return tc * np.log(tc / pc), np.where((p >= eps) & (p <= 1.0), -tc / pc, 0.0)


def _logcosh(t, p):
    x = p - t
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0), np.tanh(x)


def _huber(t, p, delta=1.0):
    x = p - t
    a = np.abs(x)
    return np.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta)), np.clip(x, -delta, delta)


def _per_sample(f, reduce_sum, name, params=None):
    """The Keras function (y_true, y_pred) -> per-sample losses (N,) of element-wise penalty f."""
    def fn(y_true, y_pred):
        t, p, dtype = _pair(y_true, y_pred, name)
        v = f(t, p, **(params or {}))[0]
        if v.ndim == 0:
            return v.astype(dtype)
        return (v.sum(axis=-1) if reduce_sum else v.mean(axis=-1)).astype(dtype)
    fn.__name__ = fn.__qualname__ = name
    return fn


mean_absolute_error = _per_sample(_mae, False, "mean_absolute_error")
mean_absolute_percentage_error = _per_sample(_mape, False, "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _per_sample(_msle, False, "mean_squared_logarithmic_error")
hinge = _per_sample(_hinge, False, "hinge")
squared_hinge = _per_sample(_squared_hinge, False, "squared_hinge")
kullback_leibler_divergence = _per_sample(_kld, True, "kullback_leibler_divergence")
logcosh = _per_sample(_logcosh, False, "logcosh")


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss, mean over the last axis of 0.5 x^2 (|x| <= delta) or delta (|x| - delta/2)."""
    return _per_sample(_huber, False, "huber", {"delta": _delta(delta)})(y_true, y_pred)


def _delta(delta):
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not math.isfinite(delta) or delta <= 0:
        raise ValueError(f"huber: delta must be a finite number > 0, got {delta!r}")
    return float(delta)


mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
log_cosh = logcosh
huber_loss = huber


class ElementwiseLoss:
    """A training loss from an element-wise penalty (cnet.losses.Loss's protocol): forward(y_pred, y_true)
    -> the mean of the per-sample losses, backward() -> d/d y_pred; calling it gives Keras's per-sample
    losses."""

    name = "loss"
    fuses_softmax = False
    _sum = False
    from_logits = False

    def __init__(self):
        self.probs = None

    def _f(self, t, p):
        raise NotImplementedError

    def __call__(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred)

    def forward(self, y_pred, y_true, from_logits=None):
        if from_logits:
            raise ValueError(f"{self.name}: from_logits=True is not supported (only the softmax "
                             "cross-entropies take logits)")
        t, p, dtype = _pair(y_true, y_pred, self.name)
        if p.ndim == 0 or p.shape[0] == 0:
            raise ValueError(f"{self.name}: predictions must be a batch (N, ...), got shape {p.shape}")
        v, d = self._f(t, p)
        n = p.size // p.shape[-1] if p.ndim > 1 else p.shape[0]
        scale = 1.0 / (n if self._sum else p.size)
        self._dy = (d * scale).astype(dtype).reshape(np.shape(y_pred))
        self.probs = y_pred
        return float(v.sum() * scale)

    def backward(self):
        return self._dy

    def get_config(self):
        return {}

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


def _loss_class(cls_name, name, f, fn, reduce_sum=False):
    return type(cls_name, (ElementwiseLoss,), {"name": name, "_f": staticmethod(f), "fn": staticmethod(fn),
                                               "_sum": reduce_sum, "__doc__": f"Keras's {name}."})


MeanAbsoluteError = _loss_class("MeanAbsoluteError", "mean_absolute_error", _mae, mean_absolute_error)
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", "mean_absolute_percentage_error", _mape,
                                          mean_absolute_percentage_error)
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", _msle,
                                          mean_squared_logarithmic_error)
Hinge = _loss_class("Hinge", "hinge", _hinge, hinge)
SquaredHinge = _loss_class("SquaredHinge", "squared_hinge", _squared_hinge, squared_hinge)
KLDivergence = _loss_class("KLDivergence", "kullback_leibler_divergence", _kld, kullback_leibler_divergence,
                           reduce_sum=True)
LogCosh = _loss_class("LogCosh", "logcosh", _logcosh, logcosh)


class Huber(ElementwiseLoss):
    """tf.keras's Huber(delta=1.0). Its name, what a saved model's compile config holds, carries a delta
    other than 1: 'huber_loss(delta=2.5)', which cnet.losses.get reads back."""

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = _delta(delta)

    @property
    def name(self):
        return "huber_loss" if self.delta == 1.0 else f"huber_loss(delta={self.delta!r})"

    def _f(self, t, p):
        return _huber(t, p, self.delta)

    def __call__(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {"delta": self.delta}


# name or function -> class, for cnet.losses.get
LOSSES = {"mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
          "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
          "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
          "hinge": Hinge, "squared_hinge": SquaredHinge, "kullback_leibler_divergence": KLDivergence,
          "kld": KLDivergence, "logcosh": LogCosh, "log_cosh": LogCosh, "huber": Huber, "huber_loss": Huber}
LOSS_FUNCTIONS = {mean_absolute_error: MeanAbsoluteError, mean_absolute_percentage_error: MeanAbsolutePercentageError,
                  mean_squared_logarithmic_error: MeanSquaredLogarithmicError, hinge: Hinge,
                  squared_hinge: SquaredHinge, kullback_leibler_divergence: KLDivergence, logcosh: LogCosh,
                  huber: Huber}


def from_name(name):
    """The loss object of a name, 'huber_loss(delta=2.5)' included; None for a name not known here."""
    cls = LOSSES.get(name)
    if cls is not None:
        return cls()
    prefix = "huber_loss(delta="
    if name.startswith(prefix) and name.endswith(")"):
        try:
            return Huber(float(name[len(prefix):-1]))
        except ValueError:
            return None
    return None
