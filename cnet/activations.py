"""Activation functions on arrays (Keras names), computed by cnet.ops.

``relu``, ``sigmoid``, ``tanh``, ``softmax(x, axis=-1)``, ``linear``; ``get(name_or_callable)``
returns the function (None -> linear).

Layers fuse an activation into their output: they need its derivative too, expressed through the
forward output y (``backward(dy, y) -> dx``). The functions above carry one; a custom callable can
be used as a layer activation if it has a ``backward(dy, y)`` attribute of the same meaning.
"""
import numpy as np

from . import ops

__all__ = ["relu", "sigmoid", "tanh", "softmax", "linear", "get", "serialize"]


def _float(x):
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def relu(x):
    """max(x, 0)"""
    return ops.relu_forward(_float(x))


def sigmoid(x):
    """1 / (1 + exp(-x))"""
    return ops.sigmoid_forward(_float(x))


def tanh(x):
    return ops.tanh_forward(_float(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis (max-shifted, so it never overflows)."""
    return _along(ops.softmax_forward, axis, _float(x))


def linear(x):
    """The identity."""
    return x


relu.backward = lambda dy, y, out=None: ops.relu_backward(dy, y, out=out)
sigmoid.backward = lambda dy, y, out=None: ops.sigmoid_backward(dy, y, out=out)
tanh.backward = lambda dy, y, out=None: ops.tanh_backward(dy, y, out=out)
softmax.backward = lambda dy, y: _along(ops.softmax_backward, -1, dy, y)
linear.backward = lambda dy, y: dy

_BY_NAME = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "linear": linear}


def get(identifier):
    """The activation function for a name ('relu', 'sigmoid', 'tanh', 'softmax', 'linear'), None
    (linear) or a callable (returned as is)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}; known: {sorted(_BY_NAME)}")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"an activation must be a name or a callable, got {identifier!r}")


def serialize(fn):
    """The name under which ``get`` finds fn ('linear' for None)."""
    if fn is None:
        return "linear"
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))


_INPLACE = {relu: ops.relu_forward, sigmoid: ops.sigmoid_forward, tanh: ops.tanh_forward}


def _along(op, axis, *arrays):
    """Run a last-axis op along another axis: move that axis last (a copy), run, move it back."""
    ndim = arrays[0].ndim
    if axis in (-1, ndim - 1):
        return op(*arrays)
    moved = [np.ascontiguousarray(np.moveaxis(a, axis, -1)) for a in arrays]
    return np.ascontiguousarray(np.moveaxis(op(*moved), -1, axis))


class Fused:
    """An activation applied to a buffer the layer owns: ``forward(z)`` may overwrite z;
    ``backward(dy, y)`` gives dz from the output y. Used by Dense, Conv2D and Activation."""

    def __init__(self, identifier, axis=-1):
        fn = get(identifier)
        self.axis = axis
        self.fn = fn
        self.name = serialize(fn)
        if fn is not linear and not callable(getattr(fn, "backward", None)):
            raise ValueError(
                f"activation {self.name!r} has no derivative: a custom activation used in a layer needs "
                f"a backward(dy, y) attribute giving dx from the output y; built-in: {sorted(_BY_NAME)}")
        self.is_linear = fn is linear
        self.is_softmax = fn is softmax

    def forward(self, z, inplace=True, out=None):
        """The activation of z: written over z when inplace, else into out when given (a workspace)."""
        if self.is_linear:
            return z
        if self.is_softmax:
            return _along(ops.softmax_forward, self.axis, z)
        op = _INPLACE.get(self.fn)
        if op is not None:
            return op(z, out=z if inplace else out)
        return self.fn(z)

    def backward(self, dy, y, inplace=False):
        """dz from dy and the output y; inplace=True may overwrite dy (the caller owns it)."""
        if self.is_linear:
            return dy
        if self.is_softmax:
            return _along(ops.softmax_backward, self.axis, dy, y)
        if inplace and self.fn in _INPLACE and dy.flags.c_contiguous and dy.flags.writeable:
            return self.fn.backward(dy, y, out=dy)
        return self.fn.backward(dy, y)
