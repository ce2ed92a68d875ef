"""Weight and activity regularizers (keras.regularizers): ``L1L2(l1=0., l2=0.)``, ``l1(l=0.01)``,
``l2(l=0.01)``, ``l1_l2(l1=0.01, l2=0.01)``, ``get``, ``serialize``, ``deserialize``.

A regularizer is a penalty on an array, ``reg(x) -> float`` = l1 * sum|x| + l2 * sum x^2, with its gradient
``reg.gradient(x)`` = l1 * sign(x) + 2 * l2 * x. Dense and Conv2D take one as ``kernel_regularizer``,
``bias_regularizer`` and ``activity_regularizer``: the model adds the penalties to its loss (training and
evaluation, as Keras does; the per-output losses leave them out) and the layers add their gradients to
the parameters' gradients (to the gradient of the output for the activity penalty). As in tf.keras, an
activity penalty is divided by the batch size (the number of rows of the layer's output).

A custom regularizer is an object with ``__call__(x) -> float`` and ``gradient(x) -> array`` (cnet needs the
gradient; a bare function is refused with a message saying so).
"""
import math
import numbers

import numpy as np

__all__ = ["Regularizer", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


class Regularizer:
    """Base class: subclasses define __call__(x) -> float and gradient(x) -> array of x's shape."""

    def __call__(self, x):
        raise NotImplementedError

    def gradient(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _factor(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
            or float(value) < 0:
        raise ValueError(f"regularizer {name} must be a finite number >= 0, got {value!r}")
    return float(value)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, x):
        x = np.asarray(x)
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(x).sum(dtype=np.float64))
        if self.l2:
            total += self.l2 * float(np.square(x, dtype=np.float64).sum())
        return total

    def gradient(self, x):
        """d penalty / dx, in x's dtype: l1 * sign(x) + 2 * l2 * x (sign(0) = 0)."""
        x = np.asarray(x)
        t = x.dtype.type
        g = np.zeros_like(x)
        if self.l1:
            g += t(self.l1) * np.sign(x)
        if self.l2:
            g += t(2.0 * self.l2) * x
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"L1L2(l1={self.l1}, l2={self.l2})"


def l1(l=0.01):  # noqa: E741 (Keras's argument name)
    return L1L2(l1=l)


def l2(l=0.01):  # noqa: E741
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811 (Keras's argument names)
    return L1L2(l1=l1, l2=l2)


_BY_NAME = {"l1": lambda: L1L2(l1=0.01), "l2": lambda: L1L2(l2=0.01), "l1_l2": lambda: L1L2(0.01, 0.01),
            "l1l2": lambda: L1L2(0.01, 0.01)}
_CLASSES = {"L1L2": L1L2, "l1": lambda **c: L1L2(l1=c.get("l", c.get("l1", 0.01))),
            "l2": lambda **c: L1L2(l2=c.get("l", c.get("l2", 0.01))), "l1_l2": lambda **c: L1L2(**c)}


def get(identifier):
    """A regularizer from None (None), a name ('l1', 'l2', 'l1_l2': factors 0.01), a
    {'class_name': 'L1L2', 'config': {...}} dict, or an object with __call__ and gradient."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        make = _BY_NAME.get(identifier.lower())
        if make is None:
            raise ValueError(f"unknown regularizer {identifier!r}; known: {sorted(_BY_NAME)}")
        return make()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        if not callable(getattr(identifier, "gradient", None)):
            raise ValueError(f"regularizer {identifier!r} has no gradient(x) method: cnet needs the gradient of a "
                             f"penalty; use cnet.regularizers.L1L2 or subclass cnet.regularizers.Regularizer")
        return identifier
    raise TypeError(f"a regularizer must be None, a name, a config dict or a Regularizer, got {identifier!r}")


def serialize(regularizer):
    """{'class_name', 'config'} of a regularizer (None for None)."""
    if regularizer is None:
        return None
    if not hasattr(regularizer, "get_config"):
        raise ValueError(f"regularizer {regularizer!r} cannot be serialized: it has no get_config()")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config):
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"a regularizer config is a dict with 'class_name' and 'config', got {config!r}")
    cls = _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown regularizer class {config['class_name']!r}; known: {sorted(_CLASSES)}")
    return cls(**dict(config.get("config") or {}))
