"""A small Keras-like ``backend`` module: global settings of cnet's layers.

- ``image_data_format()`` / ``set_image_data_format()``: the default ``data_format`` of the image layers
  created afterwards (Keras's rule: a layer reads it when it is created). cnet's default is
  ``'channels_first'``, images (N, C, H, W). With ``'channels_last'`` the image layers take and give
  (N, H, W, C) arrays as Keras on TensorFlow does, and compute channels-first inside (see cnet.layers).
  While it was never set, an image layer whose ``data_format`` is not given and whose input shape is
  unmistakably channels-last, such as (28, 28, 1) or (32, 32, 3), is read as channels-last, as a program
  written for TensorFlow's default means it (see ``resolve_data_format``).
  ``image_dim_ordering()`` / ``set_image_dim_ordering()`` are Keras 1's names ('th' / 'tf').
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

__all__ = ["image_data_format", "set_image_data_format", "image_dim_ordering", "set_image_dim_ordering",
           "normalize_data_format", "backend", "floatx", "set_floatx", "epsilon", "set_epsilon",
           "clear_session", "unique_name", "get_value", "set_value", "eval", "batch_get_value", "batch_set_value",
           "BoundFloat", "BoundInt"]

_FORMATS = ("channels_first", "channels_last")
# image_data_format None: never set (reads as channels_first; see resolve_data_format in cnet.layers).
_settings = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": None}
_name_counts = {}
_lock = threading.Lock()

CHANNELS_LAST_HELP = (
    "cnet reads images channels-first, (N, C, H, W), unless told otherwise: pass data_format="
    "'channels_last' to the image layers (or call cnet.backend.set_image_data_format('channels_last') "
    "before creating them) to give them (N, H, W, C) arrays, or convert the data once with "
    "x = x.transpose(0, 3, 1, 2) (e.g. MNIST as (N, 28, 28, 1) becomes (N, 1, 28, 28); for (N, 28, 28) "
    "use x[:, None])."
)


def image_data_format():
    """The default data_format of image layers: 'channels_first' (cnet's default) or 'channels_last'."""
    return _settings["image_data_format"] or "channels_first"


def set_image_data_format(data_format):
    """Set the default data_format of the image layers created afterwards: 'channels_first' or
    'channels_last' (layers created before keep theirs, as in Keras)."""
    _settings["image_data_format"] = normalize_data_format(data_format, "set_image_data_format")


def image_data_format_is_set():
    """True once set_image_data_format was called (then a layer's data_format is never guessed)."""
    return _settings["image_data_format"] is not None


def normalize_data_format(data_format, what="data_format"):
    """'channels_first' or 'channels_last' (None: image_data_format()); anything else raises ValueError."""
    if data_format is None:
        return image_data_format()
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in _FORMATS:
        raise ValueError(f"{what}: data_format must be 'channels_first' or 'channels_last', got {data_format!r}")
    return value


def image_dim_ordering():
    """Keras 1's name: 'th' for channels_first, 'tf' for channels_last."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering):
    """Keras 1's name: 'th' sets channels_first, 'tf' channels_last."""
    formats = {"th": "channels_first", "tf": "channels_last"}
    if dim_ordering not in formats:
        raise ValueError(f"set_image_dim_ordering: expected 'th' or 'tf', got {dim_ordering!r}")
    set_image_data_format(formats[dim_ordering])


def backend():
    """The name of the engine behind these functions: 'cnet' (Keras answers 'tensorflow', 'theano'...)."""
    return "cnet"


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
