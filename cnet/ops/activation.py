"""Ops of the activation family: ReLU, sigmoid, tanh and softmax, forward and backward -- checks, and
their two implementations. Backward ops take the forward output y, not x. Element-wise kernels see
flat views, softmax (rows, L) views."""
import operator

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import binary_c, implementation, register, unary_c, with_out

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
           "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward"]


def _pair(dy, y):
    """Checked dy and y of a backward op: the same shape and dtype."""
    dy = _checks.float_array(dy, "dy")
    y = _checks.float_array(y, "y", dtype=dy.dtype)
    _checks.same_shape(dy, y, "dy", "y")
    return dy, y


def _elementwise(name, forward_doc, backward_doc):
    """The public ops forward(x, out=None) and backward(dy, y, out=None) of an element-wise activation."""
    forward_name, backward_name = f"{name}_forward", f"{name}_backward"

    def forward(x, out=None):
        x = _checks.float_array(x, "x")
        return implementation(forward_name)(x, _checks.in_place_out(out, x, (x,)))

    def backward(dy, y, out=None):
        dy, y = _pair(dy, y)
        return implementation(backward_name)(dy, y, _checks.in_place_out(out, dy, (dy, y)))

    for fn, fn_name, doc in ((forward, forward_name, forward_doc), (backward, backward_name, backward_doc)):
        fn.__name__ = fn.__qualname__ = fn_name
        fn.__doc__ = doc
    return forward, backward


relu_forward, relu_backward = _elementwise(
    "relu", "y = max(x, 0), elementwise; written into `out` when given (which may be x itself).",
    "dx = dy where the forward output y > 0, else 0; written into `out` when given (may be dy).")
sigmoid_forward, sigmoid_backward = _elementwise(
    "sigmoid", "y = 1/(1 + exp(-x)), elementwise; written into `out` when given (which may be x itself).",
    "dx = dy * y * (1 - y), y the forward output; written into `out` when given (may be dy).")
tanh_forward, tanh_backward = _elementwise(
    "tanh", "y = tanh(x), elementwise; written into `out` when given (which may be x itself).",
    "dx = dy * (1 - y*y), y the forward output; written into `out` when given (may be dy).")


# ---- softmax (over the last axis) ---------------------------------------------------------------

def _last_axis(axis, ndim, op):
    """Only the last axis is supported, on both backends (so that the C backend never falls back silently)."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__} {axis!r}") from None
    if a not in (-1, ndim - 1):
        raise ValueError(f"{op}: only the last axis is supported (axis=-1 or {ndim - 1} for a {ndim}-D "
                         f"array), got axis={axis}; move that axis last first (np.moveaxis)")
    return -1


def _nonempty_axis(x, name, op):
    if x.shape[-1] == 0:
        raise ValueError(f"{op}: {name} has shape {x.shape}: a softmax needs at least one entry on its axis")


def softmax_forward(x, axis=-1, out=None):
    """Softmax over the last axis, exp(x - max) / sum(exp(x - max)); into `out` when given (may be x)."""
    x = _checks.float_array(x, "x", min_ndim=1)
    axis = _last_axis(axis, x.ndim, "softmax_forward")
    _nonempty_axis(x, "x", "softmax_forward")
    return implementation("softmax_forward")(x, axis, _checks.in_place_out(out, x, (x,)))


def softmax_backward(dy, y, axis=-1, out=None):
    """dx = y * (dy - sum(dy * y)) over the last axis, y the forward output; into `out` when given."""
    dy = _checks.float_array(dy, "dy", min_ndim=1)
    dy, y = _pair(dy, y)
    axis = _last_axis(axis, dy.ndim, "softmax_backward")
    _nonempty_axis(dy, "dy", "softmax_backward")
    return implementation("softmax_backward")(dy, y, axis, _checks.in_place_out(out, dy, (dy, y)))


# ---- the C implementations ------------------------------------------------------------------------

def _softmax_forward_c(x, axis, out):
    y = _checks.empty(x.shape, x.dtype, "out") if out is None else out
    L = x.shape[-1]
    _kernels.softmax_forward(y.reshape(-1, L), x.reshape(-1, L), get_num_threads())
    return y


def _softmax_backward_c(dy, y, axis, out):
    dx = _checks.empty(dy.shape, dy.dtype, "out") if out is None else out
    L = dy.shape[-1]
    _kernels.softmax_backward(dx.reshape(-1, L), dy.reshape(-1, L), y.reshape(-1, L), get_num_threads())
    return dx


for _name in ("relu", "sigmoid", "tanh"):
    register(f"{_name}_forward", with_out(getattr(reference, f"{_name}_forward")),
             unary_c(getattr(_kernels, f"{_name}_forward")))
    register(f"{_name}_backward", with_out(getattr(reference, f"{_name}_backward")),
             binary_c(getattr(_kernels, f"{_name}_backward")))
del _name
register("softmax_forward", with_out(reference.softmax_forward), _softmax_forward_c)
register("softmax_backward", with_out(reference.softmax_backward), _softmax_backward_c)
