"""A small Keras-like ``backend`` module: global settings of cnet's layers.

- ``image_data_format()`` is always ``'channels_first'``: images are (N, C, H, W) everywhere in cnet.
  ``set_image_data_format('channels_last')`` raises and says how to convert the data instead.
- ``floatx()`` / ``set_floatx()``: the default dtype of layer parameters ('float32').
- ``epsilon()`` / ``set_epsilon()``: the fuzz factor of the losses (1e-7, as in Keras).
- ``clear_session()``: resets the counters behind default layer names ("dense", "dense_1", ...).
"""
import re
import threading

import numpy as np

__all__ = ["image_data_format", "set_image_data_format", "floatx", "set_floatx", "epsilon",
           "set_epsilon", "clear_session", "unique_name"]

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
