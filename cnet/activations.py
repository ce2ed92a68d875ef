"""Activation functions on arrays (Keras names), computed by cnet.ops.

``relu(x, alpha=0.0, max_value=None, threshold=0.0)``, ``sigmoid``, ``tanh``, ``softmax(x, axis=-1)``,
``linear``, ``elu(x, alpha=1.0)``, ``selu``, ``softplus``, ``softsign``, ``hard_sigmoid`` (Keras 2's,
clip(0.2 x + 0.5, 0, 1)), ``swish``, ``gelu(x, approximate=False)``, ``leaky_relu(x, alpha=0.2)``;
``get(name_or_callable)`` returns the function (None -> linear).

Layers fuse an activation into their output: they need its derivative too. relu, sigmoid, tanh and
softmax express it through the forward output y (a ``backward(dy, y) -> dx`` attribute); the others
through the forward input x (``backward_x(dy, x) -> dx``), which the layer then keeps. A custom
callable can be used as a layer activation if it has one of these attributes.
"""
import numpy as np

from . import ops

__all__ = ["relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "softplus", "softsign",
           "hard_sigmoid", "swish", "gelu", "leaky_relu", "get", "serialize"]

# SELU's constants (Klambauer et al. 2017), as Keras has them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float(x):
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """max(x, 0); Keras's options: min(x, max_value) where x > threshold, else alpha * (x - threshold)."""
    if alpha == 0 and max_value is None and threshold == 0:
        return ops.relu_forward(_float(x))
    return ops.leaky_relu_forward(_float(x), alpha, threshold, max_value)


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


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return ops.elu_forward(_float(x), alpha)


def selu(x):
    """SELU_SCALE * elu(x, SELU_ALPHA) (use with lecun_normal initialization)."""
    return ops.elu_forward(_float(x), SELU_ALPHA, SELU_SCALE)


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return ops.softplus_forward(_float(x))


def softsign(x):
    """x / (1 + |x|)"""
    return ops.softsign_forward(_float(x))


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1) (Keras 2's definition)."""
    return ops.hard_sigmoid_forward(_float(x))


def swish(x):
    """x * sigmoid(x)"""
    return ops.swish_forward(_float(x))


def gelu(x, approximate=False):
    """x/2 (1 + erf(x / sqrt 2)); approximate=True: the tanh approximation."""
    return ops.gelu_forward(_float(x), approximate)


def leaky_relu(x, alpha=0.2):
    """x where x > 0, else alpha * x (tf.nn.leaky_relu's default alpha)."""
    return ops.leaky_relu_forward(_float(x), alpha)


def _input_based(fn, forward_op, backward_op, *params):
    """fn's forward into a buffer (``fn.forward_into(x, out)``) and its derivative through its input x
    (``fn.backward_x(dy, x, out=None)``), with the parameters of its name (elu: alpha 1, ...)."""
    fn.forward_into = lambda x, out=None: forward_op(x, *params, out=out)
    fn.backward_x = lambda dy, x, out=None: backward_op(dy, x, *params, out=out)


_input_based(elu, ops.elu_forward, ops.elu_backward)
_input_based(selu, ops.elu_forward, ops.elu_backward, SELU_ALPHA, SELU_SCALE)
_input_based(softplus, ops.softplus_forward, ops.softplus_backward)
_input_based(softsign, ops.softsign_forward, ops.softsign_backward)
_input_based(hard_sigmoid, ops.hard_sigmoid_forward, ops.hard_sigmoid_backward)
_input_based(swish, ops.swish_forward, ops.swish_backward)
_input_based(gelu, ops.gelu_forward, ops.gelu_backward)
_input_based(leaky_relu, ops.leaky_relu_forward, ops.leaky_relu_backward)

relu.backward = lambda dy, y, out=None: ops.relu_backward(dy, y, out=out)
sigmoid.backward = lambda dy, y, out=None: ops.sigmoid_backward(dy, y, out=out)
tanh.backward = lambda dy, y, out=None: ops.tanh_backward(dy, y, out=out)
softmax.backward = lambda dy, y: _along(ops.softmax_backward, -1, dy, y)
linear.backward = lambda dy, y: dy

_BY_NAME = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "linear": linear, "elu": elu,
            "selu": selu, "softplus": softplus, "softsign": softsign, "hard_sigmoid": hard_sigmoid,
            "swish": swish, "gelu": gelu, "leaky_relu": leaky_relu}


def get(identifier):
    """The activation function for a name (one of _BY_NAME: 'relu', 'sigmoid', 'tanh', 'softmax', 'linear',
    'elu', 'selu', ...), None (linear) or a callable (returned as is)."""
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
        self.needs_input = callable(getattr(fn, "backward_x", None))
        if fn is not linear and not self.needs_input and not callable(getattr(fn, "backward", None)):
            raise ValueError(
                f"activation {self.name!r} has no derivative: a custom activation used in a layer needs "
                f"a backward(dy, y) attribute giving dx from the output y, or backward_x(dy, x) giving it "
                f"from the input x; built-in: {sorted(_BY_NAME)}")
        self.is_linear = fn is linear
        self.is_softmax = fn is softmax
        self._z = None

    def forward(self, z, inplace=True, out=None, keep=False):
        """The activation of z: written over z when inplace, else into out when given (a workspace).
        An activation differentiated through its input never overwrites z, and keeps it for backward
        when keep (a training forward)."""
        if self.is_linear:
            return z
        if self.is_softmax:
            return _along(ops.softmax_forward, self.axis, z)
        if self.needs_input:
            if keep:
                self._z = z
            into = getattr(self.fn, "forward_into", None)
            return self.fn(z) if into is None else into(z, out=out)
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
        if self.needs_input:
            if self._z is None:
                raise RuntimeError(f"activation {self.name!r}: backward needs a training forward first")
            return self.fn.backward_x(dy, self._z)
        if inplace and self.fn in _INPLACE and dy.flags.c_contiguous and dy.flags.writeable:
            return self.fn.backward(dy, y, out=dy)
        return self.fn.backward(dy, y)
