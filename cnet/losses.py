"""Losses: Keras functions on (y_true, y_pred) and the objects a model trains with.

Keras functions (per-sample losses, shape (N,), like Keras; y_pred are probabilities for the
cross-entropies, clipped to [epsilon, 1 - epsilon] after normalizing each row to sum 1):
``categorical_crossentropy``, ``sparse_categorical_crossentropy``, ``binary_crossentropy``,
``mean_squared_error`` (alias ``mse``).

Training interface: ``get(name_or_fn)`` returns a ``Loss`` object with

- ``forward(y_pred, y_true, from_logits=None) -> float``: the mean loss over the batch;
- ``backward() -> dy``: the gradient of that mean with respect to what forward received;
- ``fuses_softmax``: True for the cross-entropies. A model whose last layer ends in a softmax then
  runs that layer with ``forward(x, train, logits=True)`` and calls ``loss.forward(logits, y_true,
  from_logits=True)``: softmax and cross-entropy run as one numerically stable op
  (ops.softmax_xent_forward), and backward() returns d loss / d logits = (probs - targets)/N.
  After such a forward, ``loss.probs`` holds the softmax output.

Targets: categorical_crossentropy takes one-hot (or soft) rows (N, L); sparse_categorical_crossentropy
takes class indices (N,) or (N, 1), integer or float; the others targets of the predictions' shape, or
(N,) for one-unit predictions (N, 1) (the everyday binary classifier and regression).

Keras 2's other losses: mean_absolute_error/mae, mean_absolute_percentage_error/mape,
mean_squared_logarithmic_error/msle, hinge, squared_hinge, kullback_leibler_divergence/kld, logcosh,
huber/Huber(delta) (their element-wise definitions in cnet._more_losses; the classes here).

Sample weights (fit's sample_weight and class_weight): ``weighted_forward(y_pred, y_true, sample_weight)``
is Keras 2's weighted loss of a batch, sum_n w[n] * loss[n] / (the number of nonzero w[n]) (Keras 2.0-2.2;
with no zero weight it is Keras 2.3's and tf.keras's sum_n w[n] * loss[n] / N), 0 when every weight is 0;
``weighted_backward()`` its gradient. The fused softmax cross-entropies weight the rows of the fused op
(ops.softmax_xent_weighted_forward/backward); the others scale the rows of their gradient.
"""
import numpy as np

from . import _more_losses, backend, ops
from ._more_losses import *  # noqa: F401,F403

__all__ = ["weight_scale", "Loss", "SoftmaxCrossEntropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mse", "get",
           "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Hinge",
           "SquaredHinge", "KLDivergence", "LogCosh", "Huber"] + _more_losses.__all__

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float(a, like=None):
    a = np.asarray(a)
    dtype = like.dtype if like is not None else (a.dtype if a.dtype in _FLOATS else np.float32)
    return a if a.dtype == dtype else a.astype(dtype)


def _class_indices(y_true, n):
    t = np.asarray(y_true)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.shape != (n,):
        raise ValueError(f"sparse targets must be class indices of shape ({n},) or ({n}, 1), got {t.shape}"
                         + (" (one-hot targets go with categorical_crossentropy)" if t.ndim == 2 else ""))
    if t.dtype.kind == "f":
        if np.any(t != np.floor(t)):
            raise ValueError("sparse targets must be integer class indices")
    return t.astype(np.int64, copy=False)


def _onehot(labels, n_classes, dtype):
    out = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def _dense_targets(y_true, y_pred):
    t = _float(y_true, like=y_pred)
    if t.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,) and t.shape == y_pred.shape[:-1]:
        t = t[..., None]            # (N,) targets of one-unit predictions (N, 1), as Keras takes them
    if t.shape != y_pred.shape:
        hint = (" (class indices go with sparse_categorical_crossentropy, or use "
                "cnet.utils.to_categorical)" if t.ndim == 1 else "")
        raise ValueError(f"targets have shape {t.shape} but predictions have shape {y_pred.shape}{hint}")
    return t


def _clipped_probs(y_pred):
    """Rows normalized to sum 1 then clipped to [eps, 1 - eps] (Keras), in float64; and the mask of
    unclipped entries."""
    p = np.asarray(y_pred, dtype=np.float64)
    s = p.sum(axis=-1, keepdims=True)
    q = p / s
    eps = backend.epsilon()
    clipped = np.clip(q, eps, 1.0 - eps)
    return q, clipped, s, (q >= eps) & (q <= 1.0 - eps)


# ---- Keras functions ----------------------------------------------------------------------

def categorical_crossentropy(y_true, y_pred):
    """-sum(y_true * log(y_pred)) per sample, y_pred probabilities (N, L)."""
    y_pred = _float(y_pred)
    t = _dense_targets(y_true, y_pred).astype(np.float64)
    _, p, _, _ = _clipped_probs(y_pred)
    return (-(t * np.log(p)).sum(axis=-1)).astype(y_pred.dtype)


def _in_range(labels, n_classes):
    # int64 labels (_class_indices): one comparison, a negative one read as uint64 being >= 2**63
    if labels.size and (labels.view(np.uint64) >= n_classes).any():
        raise ValueError(f"class indices must be in [0, {n_classes}), "
                         f"got values in [{labels.min()}, {labels.max()}]")
    return labels


def sparse_categorical_crossentropy(y_true, y_pred):
    """-log(y_pred[n, y_true[n]]) per sample, y_true class indices (N,) or (N, 1)."""
    y_pred = _float(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"sparse_categorical_crossentropy: predictions must be (N, classes), "
                         f"got shape {y_pred.shape}")
    labels = _in_range(_class_indices(y_true, y_pred.shape[0]), y_pred.shape[1])
    _, p, _, _ = _clipped_probs(y_pred)
    return (-np.log(p[np.arange(p.shape[0]), labels])).astype(y_pred.dtype)


def binary_crossentropy(y_true, y_pred):
    """mean over the last axis of -(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1 - eps]."""
    y_pred = _float(y_pred)
    t = _dense_targets(y_true, y_pred).astype(np.float64)
    eps = backend.epsilon()
    p = np.clip(y_pred.astype(np.float64), eps, 1.0 - eps)
    return (-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis=-1)).astype(y_pred.dtype)


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)**2) over the last axis, per sample."""
    y_pred = _float(y_pred)
    d = y_pred.astype(np.float64) - _dense_targets(y_true, y_pred)
    return (d * d).mean(axis=-1).astype(y_pred.dtype)


mse = MSE = mean_squared_error


# ---- training objects ---------------------------------------------------------------------

def _softmax_crossentropy(t, logits):
    """Per-sample -sum(t * log softmax(logits)) (t one-hot/soft rows) or -log softmax(logits)[t] (t class
    indices), log-softmax max-shifted in float64 so that no logit overflows."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    if t.ndim == 1:
        return (-logp[np.arange(t.shape[0]), t]).astype(logits.dtype)
    return (-(t.astype(np.float64) * logp).sum(axis=-1)).astype(logits.dtype)


def weight_scale(sample_weight, n):
    """Keras 2's per-sample weights of a batch of n as multipliers of a batch mean: w * n / (the number
    of nonzero w) in float64 (zeros when every weight is 0), so that mean(scale * losses) is Keras's
    weighted loss. Raises ValueError unless sample_weight holds n finite real numbers."""
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf" or w.shape not in ((n,), (n, 1)):
        raise ValueError(f"sample weights must be {n} real numbers, one per sample (shape ({n},)), got an array of "
                         f"dtype {w.dtype} and shape {w.shape}")
    w = w.reshape(n).astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError("sample weights must be finite numbers, got NaN or infinity")
    nonzero = np.count_nonzero(w)
    return w * (n / nonzero) if nonzero else np.zeros(n)


class Loss:
    """Base class: forward(y_pred, y_true) -> mean loss; backward() -> gradient of forward's input;
    weighted_forward(y_pred, y_true, sample_weight) -> Keras's weighted loss; weighted_backward().

    Calling a loss object, ``loss(y_true, y_pred)``, gives the per-sample losses (Keras's function,
    the class attribute ``fn``; of logits for the softmax cross-entropies built with from_logits=True).
    A subclass without ``fn`` trains but cannot be called that way (NotImplementedError).
    """

    name = "loss"
    fuses_softmax = False
    fn = None

    def __init__(self, from_logits=False):
        if from_logits and not self.fuses_softmax:
            raise ValueError(f"{type(self).__name__}: from_logits=True is not supported (only the softmax "
                             "cross-entropies take logits)")
        self.from_logits = bool(from_logits)
        self.probs = None

    def __call__(self, y_true, y_pred):
        """The Keras function: per-sample losses, shape (N,)."""
        if self.from_logits:
            logits = _float(y_pred)
            if logits.ndim != 2:
                raise ValueError(f"{self.name}: logits must be (N, classes), got shape {logits.shape}")
            return _softmax_crossentropy(self._targets(y_true, logits), logits)
        if self.fn is None:
            raise NotImplementedError(f"{type(self).__name__} has no per-sample function: give the class "
                                      "an fn(y_true, y_pred) to call it (forward/backward train without it)")
        return self.fn(y_true, y_pred)

    def weighted_forward(self, y_pred, y_true, sample_weight, from_logits=None):
        """Keras 2's weighted loss of the batch (see the module docstring); weighted_backward() gives its
        gradient. Needs the per-sample function (``fn``) unless the class weights rows itself."""
        self._scale = weight_scale(sample_weight, np.shape(y_pred)[0])
        return self._weighted_forward(y_pred, y_true, self._scale, from_logits)

    def _weighted_forward(self, y_pred, y_true, scale, from_logits):
        if self.fn is None:
            raise NotImplementedError(f"{type(self).__name__}: sample weights need the per-sample losses: give "
                                      "the class an fn(y_true, y_pred) returning one loss per sample")
        if from_logits is None:                            # what backward() needs
            self.forward(y_pred, y_true)
        else:
            self.forward(y_pred, y_true, from_logits)
        rows = np.asarray(self.fn(y_true, y_pred), dtype=np.float64).reshape(len(scale), -1).mean(axis=1)
        return float(np.where(scale != 0, scale * rows, 0.0).sum() / len(scale)) if len(scale) else 0.0

    def weighted_backward(self):
        """The gradient of the last weighted_forward's loss with respect to its y_pred."""
        d = self.backward()
        return d * self._scale.astype(d.dtype).reshape((-1,) + (1,) * (d.ndim - 1))

    def _check_from_logits(self, from_logits):
        if from_logits:
            raise ValueError(f"{self.name}: from_logits=True is not supported (only the softmax "
                             "cross-entropies take logits)")

    def get_config(self):
        return {"from_logits": self.from_logits} if self.fuses_softmax else {}

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class SoftmaxCrossEntropy(Loss):
    """Softmax of logits + cross-entropy with targets given as class indices (N,) or rows (N, L).
    Called as ``loss(y_true, logits)``: the per-sample cross-entropies of the logits."""

    name = "softmax_crossentropy"
    fuses_softmax = True

    def __init__(self):
        super().__init__(from_logits=True)

    def _targets(self, y_true, logits):
        t = np.asarray(y_true)
        if t.ndim == 2 and t.shape == logits.shape:
            return t.astype(logits.dtype, copy=False)
        return _in_range(_class_indices(t, logits.shape[0]), logits.shape[1])

    def _logits(self, logits, y_true, from_logits):
        if not from_logits:
            raise ValueError(f"{self.name}: takes logits (from_logits=True); for probabilities use "
                             "categorical_crossentropy or sparse_categorical_crossentropy")
        logits = _float(logits)
        self._t = self._targets(y_true, logits)
        return logits

    def forward(self, logits, y_true, from_logits=True):
        loss, self.probs = ops.softmax_xent_forward(self._logits(logits, y_true, from_logits), self._t)
        return float(loss)

    def backward(self):
        return ops.softmax_xent_backward(self.probs, self._t)

    def _weighted_forward(self, logits, y_true, scale, from_logits=True):
        logits = self._logits(logits, y_true, from_logits)
        loss, self.probs = ops.softmax_xent_weighted_forward(logits, self._t, scale)
        return float(loss)

    def weighted_backward(self):
        return ops.softmax_xent_weighted_backward(self.probs, self._t, self._scale)


class _CrossEntropy(Loss):
    fuses_softmax = True
    keras_name = None

    @property
    def name(self):
        """Keras's name; built with from_logits=True: 'categorical_crossentropy(from_logits=True)', what a
        saved model's compile config holds and get() reads back."""
        return f"{self.keras_name}{_FROM_LOGITS}" if self.from_logits else self.keras_name

    def forward(self, y_pred, y_true, from_logits=None):
        from_logits = self.from_logits if from_logits is None else from_logits
        y_pred = _float(y_pred)
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: predictions must be (N, classes), got shape {y_pred.shape}")
        t = self._targets(y_true, y_pred)
        self._fused = bool(from_logits)
        if self._fused:
            self._t = t
            loss, self.probs = ops.softmax_xent_forward(y_pred, t)
            return float(loss)
        if t.ndim == 1:
            t = _onehot(t, y_pred.shape[1], np.float64)
        self._y, self._tt = y_pred, t.astype(np.float64, copy=False)
        self.probs = y_pred
        q, p, self._s, self._mask = _clipped_probs(y_pred)
        self._q, self._p = q, p
        return float(-(self._tt * np.log(p)).sum() / y_pred.shape[0])

    def backward(self):
        if self._fused:
            return ops.softmax_xent_backward(self.probs, self._t)
        n = self._y.shape[0]
        g = np.where(self._mask, -self._tt / self._p, 0.0)           # d loss / d q (per sample)
        dy = (g - (g * self._q).sum(axis=-1, keepdims=True)) / self._s   # through q = y / sum(y)
        return (dy / n).astype(self._y.dtype)

    def _weighted_forward(self, y_pred, y_true, scale, from_logits):
        if not (self.from_logits if from_logits is None else from_logits):
            return super()._weighted_forward(y_pred, y_true, scale, from_logits)
        y_pred = _float(y_pred)
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: predictions must be (N, classes), got shape {y_pred.shape}")
        self._fused, self._t = True, self._targets(y_true, y_pred)
        loss, self.probs = ops.softmax_xent_weighted_forward(y_pred, self._t, scale)
        return float(loss)

    def weighted_backward(self):
        if self._fused:
            return ops.softmax_xent_weighted_backward(self.probs, self._t, self._scale)
        return super().weighted_backward()


class CategoricalCrossentropy(_CrossEntropy):
    keras_name = "categorical_crossentropy"
    fn = staticmethod(categorical_crossentropy)

    def _targets(self, y_true, y_pred):
        return _dense_targets(y_true, y_pred)


class SparseCategoricalCrossentropy(_CrossEntropy):
    keras_name = "sparse_categorical_crossentropy"
    fn = staticmethod(sparse_categorical_crossentropy)

    def _targets(self, y_true, y_pred):
        return _in_range(_class_indices(y_true, y_pred.shape[0]), y_pred.shape[1])


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"
    fn = staticmethod(binary_crossentropy)

    def forward(self, y_pred, y_true, from_logits=None):
        self._check_from_logits(from_logits)
        y_pred = _float(y_pred)
        self._y = y_pred
        self._t = _dense_targets(y_true, y_pred).astype(np.float64)
        eps = backend.epsilon()
        p = y_pred.astype(np.float64)
        self._p = np.clip(p, eps, 1.0 - eps)
        self._mask = (p >= eps) & (p <= 1.0 - eps)
        t, q = self._t, self._p
        return float(-(t * np.log(q) + (1 - t) * np.log(1 - q)).mean())

    def backward(self):
        t, q = self._t, self._p
        d = np.where(self._mask, (q - t) / (q * (1 - q)), 0.0) / self._y.size
        return d.astype(self._y.dtype)


class MeanSquaredError(Loss):
    """mean((y_pred - y_true)**2) over every element: Keras's per-sample mean, averaged over the batch."""

    name = "mean_squared_error"
    fn = staticmethod(mean_squared_error)

    def forward(self, y_pred, y_true, from_logits=None):
        self._check_from_logits(from_logits)
        self._y = _float(y_pred)
        self._t = _dense_targets(y_true, self._y)
        return float(ops.mse_forward(self._y, self._t))

    def backward(self):
        return ops.mse_backward(self._y, self._t)


class _Elementwise(Loss):
    """A loss from an element-wise penalty of cnet._more_losses: forward -> the mean of the per-sample
    losses (the mean over the last axis, or the sum for kld), backward -> d/d y_pred."""

    _sum = False

    def _penalty(self, t, p):
        return self._f(t, p)

    def forward(self, y_pred, y_true, from_logits=None):
        self._check_from_logits(from_logits)
        t, p, dtype = _more_losses.as_pair(y_true, y_pred, self.name)
        if p.ndim == 0 or p.shape[0] == 0:
            raise ValueError(f"{self.name}: predictions must be a batch (N, ...), got shape {p.shape}")
        v, d = self._penalty(t, p)
        rows = p.size // p.shape[-1] if p.ndim > 1 else p.shape[0]
        scale = 1.0 / (rows if self._sum else p.size)
        self._dy = (d * scale).astype(dtype).reshape(np.shape(y_pred))
        self.probs = y_pred
        return float(v.sum() * scale)

    def backward(self):
        return self._dy


def _elementwise_class(cls_name, fn, f, reduce_sum=False):
    return type(cls_name, (_Elementwise,), {"name": fn.__name__, "fn": staticmethod(fn), "_f": staticmethod(f),
                                            "_sum": reduce_sum, "__doc__": f"Keras's {fn.__name__}."})


M = _more_losses
MeanAbsoluteError = _elementwise_class("MeanAbsoluteError", M.mean_absolute_error, M.mae_elements)
MeanAbsolutePercentageError = _elementwise_class("MeanAbsolutePercentageError", M.mean_absolute_percentage_error,
                                                 M.mape_elements)
MeanSquaredLogarithmicError = _elementwise_class("MeanSquaredLogarithmicError", M.mean_squared_logarithmic_error,
                                                 M.msle_elements)
Hinge = _elementwise_class("Hinge", M.hinge, M.hinge_elements)
SquaredHinge = _elementwise_class("SquaredHinge", M.squared_hinge, M.squared_hinge_elements)
KLDivergence = _elementwise_class("KLDivergence", M.kullback_leibler_divergence, M.kld_elements, reduce_sum=True)
LogCosh = _elementwise_class("LogCosh", M.logcosh, M.logcosh_elements)
del M


class Huber(_Elementwise):
    """tf.keras's Huber(delta=1.0). Its name, what a saved model's compile config holds, carries a delta
    other than 1: 'huber_loss(delta=2.5)', which get() reads back."""

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = _more_losses.check_delta(delta)

    @property
    def name(self):
        return "huber_loss" if self.delta == 1.0 else f"huber_loss(delta={self.delta!r})"

    def fn(self, y_true, y_pred):
        return _more_losses.huber(y_true, y_pred, self.delta)

    def _penalty(self, t, p):
        return _more_losses.huber_elements(t, p, self.delta)

    def get_config(self):
        return {"delta": self.delta}


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "softmax_crossentropy": SoftmaxCrossEntropy,        # its name (the book's SoftmaxWithLoss), for saved models
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "kullback_leibler_divergence": KLDivergence,
    "kld": KLDivergence, "logcosh": LogCosh, "log_cosh": LogCosh, "huber": Huber, "huber_loss": Huber,
}
_BY_FN = {categorical_crossentropy: CategoricalCrossentropy,
          sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
          binary_crossentropy: BinaryCrossentropy, mean_squared_error: MeanSquaredError,
          _more_losses.mean_absolute_error: MeanAbsoluteError,
          _more_losses.mean_absolute_percentage_error: MeanAbsolutePercentageError,
          _more_losses.mean_squared_logarithmic_error: MeanSquaredLogarithmicError, _more_losses.hinge: Hinge,
          _more_losses.squared_hinge: SquaredHinge, _more_losses.kullback_leibler_divergence: KLDivergence,
          _more_losses.logcosh: LogCosh, _more_losses.huber: Huber}


_FROM_LOGITS = "(from_logits=True)"


def get(identifier):
    """A Loss object from a name, a Keras loss function of this module, a Loss class or instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        name = identifier.lower()
        if name.endswith(_FROM_LOGITS.lower()):     # a softmax cross-entropy of logits, as its name says
            cls = _BY_NAME.get(name[:-len(_FROM_LOGITS)])
            if isinstance(cls, type) and issubclass(cls, _CrossEntropy):
                return cls(from_logits=True)
            raise ValueError(f"unknown loss {identifier!r}: only categorical_crossentropy and "
                             f"sparse_categorical_crossentropy take from_logits=True")
        cls = _BY_NAME.get(name)
        if cls is None:
            delta = _more_losses.huber_delta_of(identifier.lower())
            if delta is not None:
                return Huber(delta)
            raise ValueError(f"unknown loss {identifier!r}; known: {sorted(_BY_NAME)}")
        return cls()
    if identifier in _BY_FN:
        return _BY_FN[identifier]()
    if callable(identifier):
        raise ValueError(f"custom loss functions need a gradient: subclass cnet.losses.Loss with "
                         f"forward(y_pred, y_true) and backward(); known names: {sorted(_BY_NAME)}")
    raise ValueError(f"unknown loss {identifier!r}; known: {sorted(_BY_NAME)}")
