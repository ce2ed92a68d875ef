"""A small Keras-like ``backend`` module: global settings of cnet's layers.

- ``image_data_format()`` is always ``'channels_first'``: images are (N, C, H, W) everywhere in cnet.
  ``set_image_data_format('channels_last')`` raises and says how to convert the data instead.
- ``floatx()`` / ``set_floatx()``: the default dtype of layer parameters ('float32').
- ``epsilon()`` / ``set_epsilon()``: the fuzz factor of the losses (1e-7, as in Keras).
- ``clear_session()``: resets the counters behind default layer names ("dense", "dense_1", ...).
- ``get_value(x)`` / ``set_value(x, value)`` (and ``eval``, ``batch_get_value``, ``batch_set_value``): read
  and change an optimizer's hyperparameter (``K.set_value(model.optimizer.lr, 0.01)``) or a weight array
  in place, as Keras's functions on variables do.
"""
import re
import threading

import numpy as np

__all__ = ["image_data_format", "set_image_data_format", "floatx", "set_floatx", "epsilon",
           "set_epsilon", "clear_session", "unique_name", "get_value", "set_value", "eval",
           "batch_get_value", "batch_set_value", "BoundFloat", "BoundInt"]

_settings = {"floatx": "float32", "epsilon": 1e-7}
_name_counts = {}
_lock = threading.Lock()

CHANNELS_LAST_HELP = (
    "cnet is channels-first: images are (N, C, H, W) and input_shape is (C, H, W). "
    "Convert channels-last data once with x = x.transpose(0, 3, 1, 2) "
    "(e.g. MNIST as (N, 28, 28, 1) becomes (N, 1, 28, 28); for (N, 28, 28) use x[:, None])."
)


def image_data_format():
    """Always 'channels_first'."""
    return "channels_first"


def set_image_data_format(data_format):
    """Accepts only 'channels_first'; cnet has no channels-last kernels."""
    if data_format != "channels_first":
        raise ValueError(f"set_image_data_format({data_format!r}): {CHANNELS_LAST_HELP}")


def floatx():
    """The default float type of layer parameters, as a string ('float32')."""
    return _settings["floatx"]


def set_floatx(value):
    """Set the default float type of newly built layers: 'float32' or 'float64'."""
    name = np.dtype(value).name
    if name not in ("float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float32' or 'float64', got {value!r}")
    _settings["floatx"] = name


def epsilon():
    """The fuzz factor used to clip probabilities in the losses (1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value):
    _settings["epsilon"] = float(value)


def clear_session():
    """Reset the layer name counters, so the next Dense is named 'dense' again."""
    with _lock:
        _name_counts.clear()


def snake_case(name):
    """'MaxPooling2D' -> 'max_pooling2d', 'Dense' -> 'dense'."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix):
    """'prefix' the first time, then 'prefix_1', 'prefix_2', ... (until clear_session())."""
    with _lock:
        n = _name_counts.get(prefix, 0)
        _name_counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


# ---- variables: what K.get_value / K.set_value reach ---------------------------------------------

class _Bound:
    """What an attribute that Keras holds in a variable gives when read (``optimizer.lr``): its value,
    which remembers the object and the attribute it came from, so that ``set_value(optimizer.lr, v)``
    (or tf.keras's ``optimizer.lr.assign(v)``) changes the attribute and ``get_value`` reads its value
    now. Arithmetic gives plain numbers."""

    def __new__(cls, value, owner, attr):
        self = cls._plain.__new__(cls, value)
        self._owner, self._attr = owner, attr
        return self

    def assign(self, value):
        """Set the attribute this value was read from (tf.keras's ``variable.assign``)."""
        setattr(self._owner, self._attr, value)

    def numpy(self):
        return get_value(self)

    def __reduce__(self):     # copies and pickles hold the plain number
        return (self._plain, (self._plain(self),))


class BoundFloat(_Bound, float):
    _plain = float


class BoundInt(_Bound, int):
    _plain = int


def get_value(x):
    """The value of `x`: an optimizer attribute Keras keeps in a variable (``model.optimizer.lr``,
    ``.momentum``, ``.iterations``...; its value now, even when read before a change), a NumPy array (a
    copy) or a number (itself)."""
    if isinstance(x, _Bound):
        return x._plain(getattr(x._owner, x._attr))
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (int, float, np.generic)) and not isinstance(x, (bool, np.bool_)):
        return x
    raise TypeError(f"get_value: expected an optimizer attribute (e.g. model.optimizer.lr), a NumPy array "
                    f"or a number, got {type(x).__name__}")


def set_value(x, value):
    """Set `x` to `value`: an optimizer attribute read from the optimizer (``set_value(model.optimizer.lr,
    0.01)`` sets the learning rate of the next updates), or a NumPy array, in place (a layer's weight:
    same shape)."""
    if isinstance(x, _Bound):
        x.assign(value)
    elif isinstance(x, np.ndarray):
        value = np.asarray(value)
        if value.shape != x.shape:
            raise ValueError(f"set_value: the array has shape {x.shape}, the value {value.shape}")
        x[...] = value
    else:
        raise TypeError(f"set_value: expected an optimizer attribute read from the optimizer (e.g. "
                        f"model.optimizer.lr) or a NumPy array, got {type(x).__name__} {x!r}: a number from "
                        "elsewhere cannot be changed in place (assign the attribute instead, e.g. "
                        "model.optimizer.lr = 0.01)")


def eval(x):  # noqa: A001 - Keras's name
    """Keras's K.eval: the value of a variable (get_value)."""
    return get_value(x)


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)
