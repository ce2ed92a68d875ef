"""Metrics of ``compile(metrics=[...])``: Keras's names, each a function ``fn(y_true, y_pred) -> float``,
the mean over the batch (a model averages the batches, weighted by their sizes).

``accuracy`` (also 'acc', 'categorical_accuracy', 'sparse_categorical_accuracy'): the fraction of argmax
predictions equal to the target (class indices, or the argmax of one-hot rows); for one output unit, the
prediction is y_pred > 0.5. With a binary_crossentropy loss, 'accuracy' is ``binary_accuracy``
(elementwise, threshold 0.5), as in Keras. ``mean_squared_error`` ('mse') and ``mean_absolute_error``
('mae'). A function of (y_true, y_pred) giving per-sample values is averaged.
"""
import numpy as np

__all__ = ["accuracy", "binary_accuracy", "mean_squared_error", "mean_absolute_error", "mse", "mae",
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

_BY_NAME = {"mse": mse, "mean_squared_error": mse, "mae": mae, "mean_absolute_error": mae,
            "binary_accuracy": binary_accuracy}


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
