"""Metrics of ``compile(metrics=[...])``: Keras's names, each a function ``fn(y_true, y_pred) -> float``,
the mean over the batch (a model averages the batches, weighted by their sizes).

``accuracy`` (also 'acc', 'categorical_accuracy', 'sparse_categorical_accuracy'): the fraction of argmax
predictions equal to the target (class indices, or the argmax of one-hot rows); for one output unit, the
prediction is y_pred > 0.5. With a binary_crossentropy loss, 'accuracy' is ``binary_accuracy``
(elementwise, threshold 0.5), as in Keras. ``mean_squared_error`` ('mse') and ``mean_absolute_error``
('mae'). ``top_k_categorical_accuracy(y_true, y_pred, k=5)`` and ``sparse_top_k_categorical_accuracy``:
the fraction of targets among the k largest predictions. Keras 2's losses are metrics too, under their
names: 'mape', 'msle', 'hinge', 'squared_hinge', 'kld', 'logcosh', 'binary_crossentropy', ... (the batch
mean of the per-sample losses). A function of (y_true, y_pred) giving per-sample values is averaged
(functools.partial(top_k_categorical_accuracy, k=3) for another k).

Sample weights: as in Keras 2, the metrics of ``compile(metrics=...)`` ignore them; those of
``compile(weighted_metrics=...)`` (named 'weighted_' + the name in the logs) are Keras's weighted means,
sum_n w[n] * value[n] / (the number of nonzero w[n]), like the loss (cnet.losses.weight_scale).
"""
import functools

import numpy as np

from . import losses as _losses
from .losses import weight_scale

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
           "mean_absolute_error", "mse", "mae", "mean_absolute_percentage_error", "mape",
           "mean_squared_logarithmic_error", "msle", "hinge", "squared_hinge", "kullback_leibler_divergence",
           "kld", "logcosh", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "get"]

ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")


def _accuracy_rows(y_true, y_pred):
    """1.0 where the prediction of a sample is right, else 0.0 (N,)."""
    n = y_pred.shape[0]
    if y_pred.ndim == 1 or (y_pred.ndim == 2 and y_pred.shape[1] == 1):
        pred = y_pred.reshape(n, -1)[:, 0] > 0.5
        return (pred == (np.asarray(y_true).reshape(n, -1)[:, 0] > 0.5)).astype(np.float64)
    pred = y_pred.reshape(n, -1).argmax(axis=1)
    y = np.asarray(y_true)
    if y.ndim >= 2 and y.shape[-1] > 1:
        y = y.reshape(n, -1).argmax(axis=1)
    return (pred == y.reshape(-1)).astype(np.float64)


def _binary_accuracy_rows(y_true, y_pred):
    right = (y_pred > 0.5) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5)
    return right.reshape(len(right), -1).mean(axis=1)


def _squared_error_rows(y_true, y_pred):
    d = y_pred.astype(np.float64) - np.asarray(y_true).reshape(y_pred.shape)
    return (d * d).reshape(len(d), -1).mean(axis=1)


def _absolute_error_rows(y_true, y_pred):
    d = np.abs(y_pred.astype(np.float64) - np.asarray(y_true).reshape(y_pred.shape))
    return d.reshape(len(d), -1).mean(axis=1)


def accuracy(y_true, y_pred):
    """Fraction of correct predictions: argmax for one-hot/sparse targets, threshold 0.5 for one unit."""
    return float(np.mean(_accuracy_rows(y_true, y_pred)))


def binary_accuracy(y_true, y_pred):
    return float(np.mean(_binary_accuracy_rows(y_true, y_pred)))


def mean_squared_error(y_true, y_pred):
    return float(np.mean(_squared_error_rows(y_true, y_pred)))


def mean_absolute_error(y_true, y_pred):
    return float(np.mean(_absolute_error_rows(y_true, y_pred)))


mse = mean_squared_error
mae = mean_absolute_error
categorical_accuracy = sparse_categorical_accuracy = accuracy


def _top_k_rows(y_pred, labels, k):
    """1.0 where the target class is among the k largest predictions (ties count for the target, as
    tf.math.in_top_k), else 0.0 (N,)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top-k accuracy: k must be a positive integer, got {k!r}")
    p = np.asarray(y_pred).reshape(len(y_pred), -1)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if labels.shape[0] != p.shape[0]:
        raise ValueError(f"top-k accuracy: {labels.shape[0]} targets for {p.shape[0]} predictions")
    if labels.size and (labels.min() < 0 or labels.max() >= p.shape[1]):
        raise ValueError(f"top-k accuracy: class indices must be in [0, {p.shape[1]})")
    target = p[np.arange(p.shape[0]), labels]
    return ((p > target[:, None]).sum(axis=1) < k).astype(np.float64)


def _top_k_categorical_rows(y_true, y_pred, k=5):
    y = np.asarray(y_true)
    return _top_k_rows(y_pred, y.reshape(len(y), -1).argmax(axis=1), k)


def _sparse_top_k_rows(y_true, y_pred, k=5):
    return _top_k_rows(y_pred, y_true, k)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Fraction of samples whose one-hot target class is among the k largest predictions."""
    return float(np.mean(_top_k_categorical_rows(y_true, y_pred, k)))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """top_k_categorical_accuracy with class-index targets (N,) or (N, 1)."""
    return float(np.mean(_sparse_top_k_rows(y_true, y_pred, k)))


def _loss_metric(fn):
    def metric(y_true, y_pred):
        return float(np.mean(fn(y_true, y_pred)))
    metric.__name__ = metric.__qualname__ = fn.__name__
    return metric


_LOSS_METRICS = {name: getattr(_losses, name) for name in (
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "hinge", "squared_hinge",
    "kullback_leibler_divergence", "logcosh", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy")}
mean_absolute_percentage_error = mape = _loss_metric(_LOSS_METRICS["mean_absolute_percentage_error"])
mean_squared_logarithmic_error = msle = _loss_metric(_LOSS_METRICS["mean_squared_logarithmic_error"])
hinge = _loss_metric(_LOSS_METRICS["hinge"])
squared_hinge = _loss_metric(_LOSS_METRICS["squared_hinge"])
kullback_leibler_divergence = kld = _loss_metric(_LOSS_METRICS["kullback_leibler_divergence"])
logcosh = _loss_metric(_LOSS_METRICS["logcosh"])
binary_crossentropy = _loss_metric(_LOSS_METRICS["binary_crossentropy"])
categorical_crossentropy = _loss_metric(_LOSS_METRICS["categorical_crossentropy"])
sparse_categorical_crossentropy = _loss_metric(_LOSS_METRICS["sparse_categorical_crossentropy"])

_ROWS = {accuracy: _accuracy_rows, binary_accuracy: _binary_accuracy_rows, mean_squared_error: _squared_error_rows,
         mean_absolute_error: _absolute_error_rows, top_k_categorical_accuracy: _top_k_categorical_rows,
         sparse_top_k_categorical_accuracy: _sparse_top_k_rows}
_ROWS.update({globals()[name]: fn for name, fn in _LOSS_METRICS.items()})
_BY_NAME = {"mse": mse, "mean_squared_error": mse, "mae": mae, "mean_absolute_error": mae,
            "binary_accuracy": binary_accuracy, "top_k_categorical_accuracy": top_k_categorical_accuracy,
            "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
            "mape": mape, "mean_absolute_percentage_error": mape, "msle": msle,
            "mean_squared_logarithmic_error": msle, "hinge": hinge, "squared_hinge": squared_hinge,
            "kld": kld, "kullback_leibler_divergence": kld, "logcosh": logcosh,
            "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
            "sparse_categorical_crossentropy": sparse_categorical_crossentropy}


def _weighted(rows):
    """fn(y_true, y_pred, sample_weight=None): Keras's weighted mean of a per-sample function."""
    def fn(y_true, y_pred, sample_weight=None):
        values = np.asarray(rows(y_true, y_pred), dtype=np.float64)
        values = values.reshape(len(values), -1).mean(axis=1)
        if sample_weight is None:
            return float(np.mean(values))
        scale = weight_scale(sample_weight, len(values))
        return float(np.where(scale != 0, scale * values, 0.0).mean())
    return fn


def _rows_of(fn):
    """The per-sample function behind a metric function of this module (a functools.partial of one too,
    e.g. top_k with another k); fn itself otherwise (a user's function, per sample as in Keras)."""
    if isinstance(fn, functools.partial) and fn.func in _ROWS:
        return functools.partial(_ROWS[fn.func], *fn.args, **fn.keywords)
    return _ROWS.get(fn, fn) if isinstance(fn, type(_rows_of)) else fn


def get(identifier, binary=False, weighted=False):
    """(name in the logs, fn(y_true, y_pred) -> float, needs probabilities) of a metric name or function.

    binary: the model's loss is a binary cross-entropy ('accuracy' is then binary_accuracy). A metric
    that needs probabilities is given the softmax output when the model feeds logits to its loss;
    accuracy is the same on logits (argmax). weighted: a metric of compile's weighted_metrics, named
    'weighted_<name>', whose fn takes a third argument, the batch's sample weights (or None)."""
    if isinstance(identifier, str):
        if identifier in ACCURACY_NAMES:
            name, fn, needs_probs = (identifier, binary_accuracy, True) if binary else (identifier, accuracy, False)
        elif identifier in _BY_NAME:
            name, fn, needs_probs = identifier, _BY_NAME[identifier], True
        else:
            raise ValueError(f"unknown metric {identifier!r}; known: "
                             f"{', '.join(ACCURACY_NAMES + tuple(_BY_NAME))}")
        return ("weighted_" + name, _weighted(_ROWS[fn]), needs_probs) if weighted else (name, fn, needs_probs)
    if callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        if weighted:
            return "weighted_" + name, _weighted(_rows_of(identifier)), True
        return name, (lambda y_true, y_pred, fn=identifier: float(np.mean(fn(y_true, y_pred)))), True
    raise TypeError(f"a metric must be a name or a function, got {type(identifier).__name__}")
