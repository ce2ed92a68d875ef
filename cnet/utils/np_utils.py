"""NumPy helpers of the Keras API (keras.utils.np_utils): ``to_categorical``, ``normalize``."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["to_categorical", "normalize"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """Convert integer class labels to one-hot rows, like ``keras.utils.to_categorical``.

    Args:
        y: integer labels of any shape (a list, a NumPy array, a scalar). A trailing axis of size 1 is dropped
            as Keras does: labels of shape (N, 1) give (N, num_classes).
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result (default float32).

    Returns:
        An array of shape ``y.shape + (num_classes,)`` (after dropping a trailing 1), with a single 1 per row.

    Raises:
        ValueError: a label is negative or not below ``num_classes``, a label is not an integer value,
            ``num_classes`` is not a positive integer, or ``y`` is empty and ``num_classes`` is not given.
    """
    arr = np.asarray(y)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"to_categorical: labels must be integers, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("to_categorical: labels must be integers, got complex numbers")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.floor(arr)) if arr.size else np.zeros(arr.shape, bool)
        if np.any(bad):
            raise ValueError(
                f"to_categorical: labels must be integer values, got {_show(arr[bad])}")
    labels = arr.astype(np.int64)

    input_shape = labels.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    labels = labels.reshape(-1)

    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    else:
        if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
            raise ValueError(f"to_categorical: num_classes must be a positive integer, got {num_classes!r}")
        num_classes = int(num_classes)
        if num_classes < 1:
            raise ValueError(f"to_categorical: num_classes must be a positive integer, got {num_classes}")

    if labels.size:
        out_of_range = (labels < 0) | (labels >= num_classes)
        if np.any(out_of_range):
            bad = np.unique(labels[out_of_range])
            raise ValueError(
                f"to_categorical: labels must be in [0, {num_classes - 1}] for num_classes={num_classes}; "
                f"got {_show(bad)}")

    n = labels.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), labels] = 1
    return categorical.reshape(input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (keras.utils.normalize); a zero norm leaves zeros."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def _show(values, limit=10):
    values = np.asarray(values).reshape(-1)
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    more = f", ... ({values.size} in all)" if values.size > limit else ""
    return f"[{shown}{more}]"
