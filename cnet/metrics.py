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
"""
import numpy as np

from . import losses as _losses

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
           "mean_absolute_error", "mse", "mae", "mean_absolute_percentage_error", "mape",
           "mean_squared_logarithmic_error", "msle", "hinge", "squared_hinge", "kullback_leibler_divergence",
           "kld", "logcosh", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "get"]

ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")


def accuracy(y_true, y_pred):
    """Fraction of correct predictions: argmax for one-hot/sparse targets, threshold 0.5 for one unit."""
    if y_pred.ndim == 1 or (y_pred.ndim == 2 and y_pred.shape[1] == 1):
        pred = y_pred.reshape(y_pred.shape[0], -1)[:, 0] > 0.5
        return float(np.mean(pred == (np.asarray(y_true).reshape(y_pred.shape[0], -1)[:, 0] > 0.5)))
    pred = y_pred.reshape(y_pred.shape[0], -1).argmax(axis=1)
    y = np.asarray(y_true)
    if y.ndim >= 2 and y.shape[-1] > 1:
        y = y.reshape(y.shape[0], -1).argmax(axis=1)
    return float(np.mean(pred == y.reshape(-1)))


def binary_accuracy(y_true, y_pred):
    return float(np.mean((y_pred > 0.5) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5)))


def mean_squared_error(y_true, y_pred):
    return float(np.mean((y_pred.astype(np.float64) - np.asarray(y_true).reshape(y_pred.shape)) ** 2))


def mean_absolute_error(y_true, y_pred):
    return float(np.mean(np.abs(y_pred.astype(np.float64) - np.asarray(y_true).reshape(y_pred.shape))))


mse = mean_squared_error
mae = mean_absolute_error
categorical_accuracy = sparse_categorical_accuracy = accuracy


def _top_k(y_pred, labels, k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top-k accuracy: k must be a positive integer, got {k!r}")
    p = np.asarray(y_pred).reshape(len(y_pred), -1)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if labels.shape[0] != p.shape[0]:
        raise ValueError(f"top-k accuracy: {labels.shape[0]} targets for {p.shape[0]} predictions")
    if labels.size and (labels.min() < 0 or labels.max() >= p.shape[1]):
        raise ValueError(f"top-k accuracy: class indices must be in [0, {p.shape[1]})")
    target = p[np.arange(p.shape[0]), labels]
    # in the top k: fewer than k predictions are larger than the target's (ties count for the target, as
    # tf.math.in_top_k)
    return float(np.mean((p > target[:, None]).sum(axis=1) < k))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Fraction of samples whose one-hot target class is among the k largest predictions."""
    y = np.asarray(y_true)
    return _top_k(y_pred, y.reshape(len(y), -1).argmax(axis=1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """top_k_categorical_accuracy with class-index targets (N,) or (N, 1)."""
    return _top_k(y_pred, y_true, k)


def _loss_metric(fn):
    def metric(y_true, y_pred):
        return float(np.mean(fn(y_true, y_pred)))
    metric.__name__ = metric.__qualname__ = fn.__name__
    return metric


mean_absolute_percentage_error = mape = _loss_metric(_losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = msle = _loss_metric(_losses.mean_squared_logarithmic_error)
hinge = _loss_metric(_losses.hinge)
squared_hinge = _loss_metric(_losses.squared_hinge)
kullback_leibler_divergence = kld = _loss_metric(_losses.kullback_leibler_divergence)
logcosh = _loss_metric(_losses.logcosh)
binary_crossentropy = _loss_metric(_losses.binary_crossentropy)
categorical_crossentropy = _loss_metric(_losses.categorical_crossentropy)
sparse_categorical_crossentropy = _loss_metric(_losses.sparse_categorical_crossentropy)

_BY_NAME = {"mse": mse, "mean_squared_error": mse, "mae": mae, "mean_absolute_error": mae,
            "binary_accuracy": binary_accuracy, "top_k_categorical_accuracy": top_k_categorical_accuracy,
            "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
            "mape": mape, "mean_absolute_percentage_error": mape, "msle": msle,
            "mean_squared_logarithmic_error": msle, "hinge": hinge, "squared_hinge": squared_hinge,
            "kld": kld, "kullback_leibler_divergence": kld, "logcosh": logcosh,
            "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
            "sparse_categorical_crossentropy": sparse_categorical_crossentropy}


def get(identifier, binary=False):
    """(name in the logs, fn(y_true, y_pred) -> float, needs probabilities) of a metric name or function.

    binary: the model's loss is a binary cross-entropy ('accuracy' is then binary_accuracy). A metric
    that needs probabilities is given the softmax output when the model feeds logits to its loss;
    accuracy is the same on logits (argmax)."""
    if isinstance(identifier, str):
        if identifier in ACCURACY_NAMES:
            return (identifier, binary_accuracy, True) if binary else (identifier, accuracy, False)
        if identifier in _BY_NAME:
            return identifier, _BY_NAME[identifier], True
        raise ValueError(f"unknown metric {identifier!r}; known: "
                         f"{', '.join(ACCURACY_NAMES + tuple(_BY_NAME))}")
    if callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        return name, (lambda y_true, y_pred, fn=identifier: float(np.mean(fn(y_true, y_pred)))), True
    raise TypeError(f"a metric must be a name or a function, got {type(identifier).__name__}")
