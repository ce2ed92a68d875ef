"""Ops of the activation family: ReLU, sigmoid, tanh and softmax, forward and backward -- checks, and
their two implementations. Their backward ops take the forward output y, not x. Element-wise kernels see
flat views, softmax (rows, L) views. The activations with parameters or without a derivative in terms of
their output (ELU/SELU, Keras's ReLU and leaky ReLU, softplus, softsign, hard sigmoid, swish, GELU, PReLU)
(the second half of this file) take the forward input x in their backward ops."""
import math
import operator

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import binary_c, by_dtype, implementation, into, register, unary_c, with_out

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
           "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
           "elu_forward", "elu_backward", "leaky_relu_forward", "leaky_relu_backward",
           "softplus_forward", "softplus_backward", "softsign_forward", "softsign_backward",
           "hard_sigmoid_forward", "hard_sigmoid_backward", "swish_forward", "swish_backward",
           "gelu_forward", "gelu_backward", "prelu_forward", "prelu_backward"]


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


# ---- activations with parameters; their backward ops take the forward input x ----------------------

def _x_pair(dy, x):
    """Checked dy and x of an input-based backward op: the same shape and dtype."""
    dy = _checks.float_array(dy, "dy")
    x = _checks.float_array(x, "x", dtype=dy.dtype)
    _checks.same_shape(dy, x, "dy", "x")
    return dy, x


def _param_ops(name, params, forward_doc, check):
    """The public ops forward(x, *params, out=None) and backward(dy, x, *params, out=None) of an
    element-wise activation whose parameters (a tuple of names with defaults) check() validates."""
    forward_name, backward_name = f"{name}_forward", f"{name}_backward"
    names = [p for p, _ in params]

    def values(args, kwargs, op):
        if len(args) > len(params):
            raise TypeError(f"{op} takes at most {len(params)} parameters ({', '.join(names)}), got {len(args)}")
        vals = dict(params)
        vals.update(zip(names, args))
        for key in kwargs:
            if key not in vals:
                raise TypeError(f"{op}: unexpected keyword argument {key!r}; parameters: {', '.join(names)}")
        vals.update(kwargs)
        return check(op, **vals)

    def forward(x, *args, out=None, **kwargs):
        x = _checks.float_array(x, "x")
        vals = values(args, kwargs, forward_name)
        return implementation(forward_name)(x, *vals, _checks.in_place_out(out, x, (x,)))

    def backward(dy, x, *args, out=None, **kwargs):
        dy, x = _x_pair(dy, x)
        vals = values(args, kwargs, backward_name)
        return implementation(backward_name)(dy, x, *vals, _checks.in_place_out(out, dy, (dy, x)))

    sig = "".join(f", {p}={d!r}" for p, d in params)
    forward.__doc__ = f"{name}_forward(x{sig}, out=None): {forward_doc}; written into `out` when given (may be x)."
    backward.__doc__ = (f"{name}_backward(dy, x{sig}, out=None): the gradient dx from dy and the forward INPUT "
                        f"x; written into `out` when given (may be dy).")
    for fn, fn_name in ((forward, forward_name), (backward, backward_name)):
        fn.__name__ = fn.__qualname__ = fn_name
    return forward, backward


def _no_params(op):
    return ()


def _elu_params(op, alpha, scale):
    return (_checks.real(alpha, f"{op}: alpha"), _checks.real(scale, f"{op}: scale"))


def _leaky_params(op, alpha, threshold, max_value):
    alpha = _checks.real(alpha, f"{op}: alpha")
    threshold = _checks.real(threshold, f"{op}: threshold")
    max_value = math.inf if max_value is None else _checks.real(max_value, f"{op}: max_value")
    if max_value < threshold:
        raise ValueError(f"{op}: max_value ({max_value}) must be >= threshold ({threshold})")
    return alpha, threshold, max_value


def _gelu_params(op, approximate):
    if not isinstance(approximate, (bool, int)):
        raise TypeError(f"{op}: approximate must be True or False, got {approximate!r}")
    return (bool(approximate),)


elu_forward, elu_backward = _param_ops(
    "elu", (("alpha", 1.0), ("scale", 1.0)), "scale * (x if x > 0 else alpha * (exp(x) - 1)) (ELU, SELU)",
    _elu_params)
leaky_relu_forward, leaky_relu_backward = _param_ops(
    "leaky_relu", (("alpha", 0.2), ("threshold", 0.0), ("max_value", None)),
    "min(x, max_value) where x > threshold, else alpha * (x - threshold) (Keras's ReLU; max_value None: none)",
    _leaky_params)
softplus_forward, softplus_backward = _param_ops("softplus", (), "log(1 + exp(x))", _no_params)
softsign_forward, softsign_backward = _param_ops("softsign", (), "x / (1 + |x|)", _no_params)
hard_sigmoid_forward, hard_sigmoid_backward = _param_ops(
    "hard_sigmoid", (), "clip(0.2 x + 0.5, 0, 1) (Keras 2's hard sigmoid)", _no_params)
swish_forward, swish_backward = _param_ops("swish", (), "x * sigmoid(x)", _no_params)
gelu_forward, gelu_backward = _param_ops(
    "gelu", (("approximate", False),), "x/2 (1 + erf(x / sqrt 2)), or its tanh approximation", _gelu_params)


def _unary_param_c(kernel):
    typed = by_dtype(kernel)

    def run(x, *rest):
        *vals, out = rest
        y = _checks.empty(x.shape, x.dtype, "out") if out is None else out
        typed[x.dtype](y.reshape(-1), x.reshape(-1), *vals, get_num_threads())
        return y
    return run


def _binary_param_c(kernel):
    typed = by_dtype(kernel)

    def run(dy, x, *rest):
        *vals, out = rest
        dx = _checks.empty(dy.shape, dy.dtype, "out") if out is None else out
        typed[dy.dtype](dx.reshape(-1), dy.reshape(-1), x.reshape(-1), *vals, get_num_threads())
        return dx
    return run


for _name in ("elu", "leaky_relu", "softplus", "softsign", "hard_sigmoid", "swish", "gelu"):
    register(f"{_name}_forward", with_out(getattr(reference, f"{_name}_forward")),
             _unary_param_c(getattr(_kernels, f"{_name}_forward")))
    register(f"{_name}_backward", with_out(getattr(reference, f"{_name}_backward")),
             _binary_param_c(getattr(_kernels, f"{_name}_backward")))
del _name


# ---- PReLU: a learned slope per feature ---------------------------------------------------------------

def _prelu_alpha(alpha, x, op):
    alpha = _checks.float_array(alpha, "alpha", ndim=1, dtype=x.dtype)
    if alpha.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: alpha has shape {alpha.shape} but x {x.shape} has {x.shape[1]} features: "
                         f"expected ({x.shape[1]},)")
    return alpha


def prelu_forward(x, alpha, out=None):
    """x (rows, F), alpha (F,): x where x > 0, else alpha[j] * x; into `out` when given (may be x)."""
    x = _checks.float_array(x, "x", ndim=2)
    alpha = _prelu_alpha(alpha, x, "prelu_forward")
    return implementation("prelu_forward")(x, alpha, _checks.in_place_out(out, x, (x, alpha)))


def prelu_backward(dy, x, alpha, out=(None, None), need_dx=True):
    """(dx, dalpha) of PReLU from dy and the forward input x (rows, F): dx = dy where x > 0 else alpha * dy
    (None when need_dx is False), dalpha (F,) = the column sums of dy * min(x, 0)."""
    dy = _checks.float_array(dy, "dy", ndim=2)
    dy, x = _x_pair(dy, x)
    alpha = _prelu_alpha(alpha, x, "prelu_backward")
    out = _checks.outputs(out, "prelu_backward", ((dy.shape, dy.dtype), (alpha.shape, dy.dtype)), (dy, x, alpha))
    return implementation("prelu_backward")(dy, x, alpha, bool(need_dx), out)


def _prelu_backward_numpy(dy, x, alpha, need_dx, out):
    dx, dalpha = reference.prelu_backward(dy, x, alpha)
    return into(out, (dx if need_dx else None, dalpha))


def _prelu_forward_c(x, alpha, out):
    y = _checks.empty(x.shape, x.dtype, "out") if out is None else out
    _kernels.prelu_forward(y, x, alpha, get_num_threads())
    return y


_PRELU_BACKWARD = by_dtype(_kernels.prelu_backward)   # by dtype: dx may be None


def _prelu_backward_c(dy, x, alpha, need_dx, out):
    dx, dalpha = out
    if need_dx and dx is None:
        dx = _checks.empty(dy.shape, dy.dtype, "dx")
    if dalpha is None:
        dalpha = _checks.empty(alpha.shape, alpha.dtype, "dalpha")
    _PRELU_BACKWARD[dy.dtype](dx if need_dx else None, dalpha, dy, x, alpha, get_num_threads())
    return (dx if need_dx else None), dalpha


register("prelu_forward", with_out(reference.prelu_forward), _prelu_forward_c)
register("prelu_backward", _prelu_backward_numpy, _prelu_backward_c)
