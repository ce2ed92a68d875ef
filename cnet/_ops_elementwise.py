"""Ops: sigmoid/tanh/softmax, mse, dropout, batch normalization, optimizer updates (checks, and their C kernels).

Each public op checks its arguments (the same checks on both backends, with messages that name the
argument), then runs `implementation(name)`: the C kernel registered below with `c_kernel`, or the
NumPy reference. Element-wise kernels see flat views; batch normalization sees x as (N, C, S).
"""
import numbers
import operator

import numpy as np

from . import _checks, _kernels
from ._config import get_num_threads
from ._optable import binary_c, c_kernel, implementation, run_into, run_outs, unary_c

__all__ = [
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "softmax_forward", "softmax_backward",
    "mse_forward", "mse_backward",
    "dropout_mask", "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_inference",
    "sgd_update", "momentum_update", "nesterov_update", "adagrad_update", "rmsprop_update",
    "adam_update", "adadelta_update",
]


def _real(value, name, low=None, high=None, low_open=False, high_open=False):
    """value as a Python float, checked to be a real number in the given range (TypeError/ValueError)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = (not np.isfinite(v)
           or (low is not None and (v <= low if low_open else v < low))
           or (high is not None and (v >= high if high_open else v > high)))
    if bad:
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ValueError(f"{name}: expected a finite number {lo}{name}{hi}, got {value!r}")
    return v


def _pair(dy, y):
    dy = _checks.float_array(dy, "dy")
    y = _checks.float_array(y, "y", dtype=dy.dtype)
    _checks.same_shape(dy, y, "dy", "y")
    return dy, y


# ---- sigmoid, tanh ---------------------------------------------------------------------------------

def sigmoid_forward(x, out=None):
    """y = 1/(1 + exp(-x)), elementwise; written into `out` when given (which may be x itself)."""
    x = _checks.float_array(x, "x")
    return run_into("sigmoid_forward", out, x.shape, x.dtype, x)


def sigmoid_backward(dy, y, out=None):
    """dx = dy * y * (1 - y), y the forward output; written into `out` when given (may be dy)."""
    dy, y = _pair(dy, y)
    return run_into("sigmoid_backward", out, dy.shape, dy.dtype, dy, y)


def tanh_forward(x, out=None):
    """y = tanh(x), elementwise; written into `out` when given (which may be x itself)."""
    x = _checks.float_array(x, "x")
    return run_into("tanh_forward", out, x.shape, x.dtype, x)


def tanh_backward(dy, y, out=None):
    """dx = dy * (1 - y*y), y the forward output; written into `out` when given (may be dy)."""
    dy, y = _pair(dy, y)
    return run_into("tanh_backward", out, dy.shape, dy.dtype, dy, y)


c_kernel("sigmoid_forward")(unary_c(_kernels.sigmoid_forward))
c_kernel("sigmoid_backward")(binary_c(_kernels.sigmoid_backward))
c_kernel("tanh_forward")(unary_c(_kernels.tanh_forward))
c_kernel("tanh_backward")(binary_c(_kernels.tanh_backward))


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
    return run_into("softmax_forward", out, x.shape, x.dtype, x, axis)


def softmax_backward(dy, y, axis=-1, out=None):
    """dx = y * (dy - sum(dy * y)) over the last axis, y the forward output; into `out` when given."""
    dy = _checks.float_array(dy, "dy", min_ndim=1)
    y = _checks.float_array(y, "y", dtype=dy.dtype)
    _checks.same_shape(dy, y, "dy", "y")
    axis = _last_axis(axis, dy.ndim, "softmax_backward")
    _nonempty_axis(dy, "dy", "softmax_backward")
    return run_into("softmax_backward", out, dy.shape, dy.dtype, dy, y, axis)


@c_kernel("softmax_forward")
def _softmax_forward_c(x, axis=-1, out=None):
    y = _checks.output(out, "out", x.shape, x.dtype)
    L = x.shape[-1]
    _kernels.softmax_forward(y.reshape(-1, L), x.reshape(-1, L), get_num_threads())
    return y


@c_kernel("softmax_backward")
def _softmax_backward_c(dy, y, axis=-1, out=None):
    dx = _checks.output(out, "out", dy.shape, dy.dtype)
    L = dy.shape[-1]
    _kernels.softmax_backward(dx.reshape(-1, L), dy.reshape(-1, L), y.reshape(-1, L), get_num_threads())
    return dx


# ---- mean squared error -------------------------------------------------------------------------

def _mse_args(y, t):
    y = _checks.float_array(y, "y")
    t = _checks.float_array(t, "t", dtype=y.dtype)
    _checks.same_shape(y, t, "y", "t")
    return y, t


def mse_forward(y, t):
    """Mean of (y - t)^2 over every element, as a Python float (accumulated in float64)."""
    y, t = _mse_args(y, t)
    return implementation("mse_forward")(y, t)


def mse_backward(y, t):
    """dy = (y - t) * (2 / y.size), the factor rounded to y's dtype."""
    y, t = _mse_args(y, t)
    return implementation("mse_backward")(y, t)


@c_kernel("mse_forward")
def _mse_forward_c(y, t):
    return float(_kernels.mse_forward(y.reshape(-1), t.reshape(-1), get_num_threads()))


@c_kernel("mse_backward")
def _mse_backward_c(y, t):
    dy = np.empty_like(y)
    _kernels.mse_backward(dy.reshape(-1), y.reshape(-1), t.reshape(-1), get_num_threads())
    return dy


# ---- dropout --------------------------------------------------------------------------------------

def _rate(rate):
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"rate: expected a real number, got {type(rate).__name__} {rate!r}")
    r = float(rate)
    if not 0.0 <= r < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    return r


def _seed(seed):
    try:
        s = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}") from None
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be an integer, got bool {seed!r}")
    if not 0 <= s < 2 ** 64:
        raise ValueError(f"seed must be in [0, 2**64), got {s}")
    return s


def _shape(shape):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        dims = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape: expected an int or a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"shape: dimensions must be >= 0, got {dims}")
    return dims


def dropout_mask(shape, rate, seed, dtype):
    """Inverted-dropout mask: 0 where dropped, 1/(1 - rate) where kept; element i (flat) is kept when the
    counter-based uniform of (seed, i) is >= rate (see cnet.reference.rng)."""
    shape = _shape(shape)
    rate, seed = _rate(rate), _seed(seed)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in _checks.FLOAT_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dt}")
    _checks.check_alloc(shape, dt, "dropout_mask")
    return implementation("dropout_mask")(shape, rate, seed, dt)


def dropout_forward(x, rate, seed, out=None):
    """Training-time dropout: (y, mask) with mask = dropout_mask(x.shape, rate, seed, x.dtype), y = x*mask.
    out=(y, mask) arrays to write into (either may be None)."""
    x = _checks.float_array(x, "x")
    rate, seed = _rate(rate), _seed(seed)
    return run_outs("dropout_forward", out, [(x.shape, x.dtype)] * 2, x, rate, seed)


def dropout_backward(dy, mask, out=None):
    """dx = dy * mask; written into `out` when given (which may be dy)."""
    dy = _checks.float_array(dy, "dy")
    mask = _checks.float_array(mask, "mask", dtype=dy.dtype)
    _checks.same_shape(dy, mask, "dy", "mask")
    return run_into("dropout_backward", out, dy.shape, dy.dtype, dy, mask)


@c_kernel("dropout_mask")
def _dropout_mask_c(shape, rate, seed, dtype):
    mask = np.empty(shape, dtype=dtype)
    _kernels.dropout_mask(mask.reshape(-1), rate, seed, get_num_threads())
    return mask


@c_kernel("dropout_forward")
def _dropout_forward_c(x, rate, seed, out=None):
    y, mask = out if out is not None else (None, None)
    y = np.empty_like(x) if y is None else y
    mask = np.empty_like(x) if mask is None else mask
    _kernels.dropout_forward(y.reshape(-1), mask.reshape(-1), x.reshape(-1), rate, seed, get_num_threads())
    return y, mask


c_kernel("dropout_backward")(binary_c(_kernels.dropout_backward))


# ---- batch normalization --------------------------------------------------------------------------

def _bn_x(x, name="x"):
    x = _checks.float_array(x, name)
    if x.ndim not in (2, 4):
        raise ValueError(f"{name}: expected 2 dimensions (N, D) or 4 dimensions (N, C, H, W), "
                         f"got an array of shape {x.shape} and dtype {x.dtype}")
    return x


def _bn_param(a, name, x):
    a = _checks.float_array(a, name, ndim=1, dtype=x.dtype)
    if a.shape != (x.shape[1],):
        raise ValueError(f"{name}: expected shape ({x.shape[1]},) (one value per feature/channel of x "
                         f"{x.shape}), got {a.shape}")
    return a


def _bn_eps(eps):
    return _real(eps, "eps", low=0.0)


def _ncs(a):
    """(N, D) -> (N, D, 1); (N, C, H, W) -> (N, C, H*W): views, no copy."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def batchnorm_forward(x, gamma, beta, eps=1e-3):
    """Training-mode batch normalization of x (N, D) per feature or (N, C, H, W) per channel.
    Returns (y, mean, inv_std), inv_std = 1/sqrt(biased batch variance + eps)."""
    x = _bn_x(x)
    gamma, beta = _bn_param(gamma, "gamma", x), _bn_param(beta, "beta", x)
    return implementation("batchnorm_forward")(x, gamma, beta, _bn_eps(eps))


def batchnorm_backward(dy, x, gamma, mean, inv_std):
    """(dx, dgamma, dbeta): the gradients of batchnorm_forward's y (through the batch statistics too)."""
    x = _bn_x(x)
    dy = _checks.float_array(dy, "dy", dtype=x.dtype)
    _checks.same_shape(dy, x, "dy", "x")
    gamma, mean, inv_std = (_bn_param(a, nm, x) for a, nm in
                            ((gamma, "gamma"), (mean, "mean"), (inv_std, "inv_std")))
    return implementation("batchnorm_backward")(dy, x, gamma, mean, inv_std)


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-3):
    """y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta, per feature or channel."""
    x = _bn_x(x)
    gamma, beta, rm, rv = (_bn_param(a, nm, x) for a, nm in
                           ((gamma, "gamma"), (beta, "beta"), (running_mean, "running_mean"),
                            (running_var, "running_var")))
    return implementation("batchnorm_inference")(x, gamma, beta, rm, rv, _bn_eps(eps))


@c_kernel("batchnorm_forward")
def _batchnorm_forward_c(x, gamma, beta, eps=1e-3):
    y = np.empty_like(x)
    mean = np.empty(x.shape[1], dtype=x.dtype)
    inv_std = np.empty(x.shape[1], dtype=x.dtype)
    _kernels.batchnorm_forward(_ncs(y), mean, inv_std, _ncs(x), gamma, beta, eps, get_num_threads())
    return y, mean, inv_std


@c_kernel("batchnorm_backward")
def _batchnorm_backward_c(dy, x, gamma, mean, inv_std):
    dx = np.empty_like(x)
    dgamma = np.empty(x.shape[1], dtype=x.dtype)
    dbeta = np.empty(x.shape[1], dtype=x.dtype)
    _kernels.batchnorm_backward(_ncs(dx), dgamma, dbeta, _ncs(dy), _ncs(x), gamma, mean, inv_std,
                                get_num_threads())
    return dx, dgamma, dbeta


@c_kernel("batchnorm_inference")
def _batchnorm_inference_c(x, gamma, beta, running_mean, running_var, eps=1e-3):
    y = np.empty_like(x)
    _kernels.batchnorm_inference(_ncs(y), _ncs(x), gamma, beta, running_mean, running_var, eps,
                                 get_num_threads())
    return y


# ---- optimizer updates (in place) ------------------------------------------------------------------

def _updated(a, name, p=None):
    """An array the update writes in place: float ndarray, C-contiguous, writable, and (for state arrays)
    p's shape and dtype. Never copied: an update of a copy would be lost."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray (it is updated in place), got {type(a).__name__}")
    if a.dtype not in _checks.FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got an array of shape {a.shape} "
                        f"and dtype {a.dtype}")
    if p is not None and (a.shape != p.shape or a.dtype != p.dtype):
        raise ValueError(f"{name}: expected the shape and dtype of p, {p.shape} {p.dtype}, "
                         f"got {a.shape} {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: it is updated in place, so it must be C-contiguous; got a non-contiguous "
                         f"array of shape {a.shape} (use np.ascontiguousarray once, when it is created)")
    if not a.flags.writeable:
        raise ValueError(f"{name}: it is updated in place, so it must be writable; got a read-only array "
                         f"of shape {a.shape}")
    return a


def _opt_args(p, g, **state):
    """Check p, g and the state arrays; returns g as a C-contiguous array of p's dtype and shape."""
    p = _updated(p, "p")
    for name, a in state.items():
        _updated(a, name, p)
    written = [("p", p)] + list(state.items())
    for i, (na, a) in enumerate(written):
        for nb, b in written[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{na} and {nb} share memory; each must be its own array")
    if not isinstance(g, np.ndarray):
        raise TypeError(f"g: expected a numpy.ndarray, got {type(g).__name__}")
    if g.shape != p.shape or g.dtype != p.dtype:
        raise ValueError(f"g: expected the shape and dtype of p, {p.shape} {p.dtype}, got {g.shape} {g.dtype}")
    return _checks.contiguous(g, "g")   # keeps a 0-d g 0-d (np.ascontiguousarray makes it (1,))


def sgd_update(p, g, lr, weight_decay=0.0):
    """p -= lr * g (in place); weight_decay adds weight_decay * p to g first."""
    g = _opt_args(p, g)
    implementation("sgd_update")(p, g, _real(lr, "lr"), _real(weight_decay, "weight_decay"))


def momentum_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += v (in place)."""
    g = _opt_args(p, g, v=v)
    implementation("momentum_update")(p, g, v, _real(lr, "lr"), _real(momentum, "momentum"),
                                      _real(weight_decay, "weight_decay"))


def nesterov_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += momentum*v - lr*g (in place)."""
    g = _opt_args(p, g, v=v)
    implementation("nesterov_update")(p, g, v, _real(lr, "lr"), _real(momentum, "momentum"),
                                      _real(weight_decay, "weight_decay"))


def adagrad_update(p, g, h, lr, eps, weight_decay=0.0):
    """h += g*g; p -= lr*g/(sqrt(h) + eps) (in place)."""
    g = _opt_args(p, g, h=h)
    implementation("adagrad_update")(p, g, h, _real(lr, "lr"), _real(eps, "eps"),
                                     _real(weight_decay, "weight_decay"))


def rmsprop_update(p, g, h, lr, rho, eps, weight_decay=0.0):
    """h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps) (in place)."""
    g = _opt_args(p, g, h=h)
    implementation("rmsprop_update")(p, g, h, _real(lr, "lr"), _real(rho, "rho"), _real(eps, "eps"),
                                     _real(weight_decay, "weight_decay"))


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adam, t >= 1 the step count (in place):
    lr_t = lr*sqrt(1 - beta2**t)/(1 - beta1**t); m = beta1*m + (1 - beta1)*g;
    v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps)."""
    g = _opt_args(p, g, m=m, v=v)
    try:
        t = operator.index(t)
    except TypeError:
        raise TypeError(f"t: expected an integer step count, got {type(t).__name__} {t!r}") from None
    if t < 1:
        raise ValueError(f"Adam's step count t starts at 1, got {t}")
    implementation("adam_update")(p, g, m, v, _real(lr, "lr"), _real(beta1, "beta1", 0.0, 1.0, high_open=True),
                                  _real(beta2, "beta2", 0.0, 1.0, high_open=True), _real(eps, "eps"), t,
                                  _real(weight_decay, "weight_decay"))


def adadelta_update(p, g, h, d, lr, rho, eps, weight_decay=0.0):
    """Keras 2.1 Adadelta (in place): h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps);
    p -= lr*upd; d = rho*d + (1 - rho)*upd*upd."""
    g = _opt_args(p, g, h=h, d=d)
    implementation("adadelta_update")(p, g, h, d, _real(lr, "lr"), _real(rho, "rho"), _real(eps, "eps"),
                                      _real(weight_decay, "weight_decay"))


def _flat(*arrays):
    return [a.reshape(-1) for a in arrays]


@c_kernel("sgd_update")
def _sgd_update_c(p, g, lr, weight_decay=0.0):
    _kernels.sgd_update(*_flat(p, g), lr, weight_decay, get_num_threads())


@c_kernel("momentum_update")
def _momentum_update_c(p, g, v, lr, momentum, weight_decay=0.0):
    _kernels.momentum_update(*_flat(p, v, g), lr, momentum, weight_decay, get_num_threads())


@c_kernel("nesterov_update")
def _nesterov_update_c(p, g, v, lr, momentum, weight_decay=0.0):
    _kernels.nesterov_update(*_flat(p, v, g), lr, momentum, weight_decay, get_num_threads())


@c_kernel("adagrad_update")
def _adagrad_update_c(p, g, h, lr, eps, weight_decay=0.0):
    _kernels.adagrad_update(*_flat(p, h, g), lr, eps, weight_decay, get_num_threads())


@c_kernel("rmsprop_update")
def _rmsprop_update_c(p, g, h, lr, rho, eps, weight_decay=0.0):
    _kernels.rmsprop_update(*_flat(p, h, g), lr, rho, eps, weight_decay, get_num_threads())


@c_kernel("adam_update")
def _adam_update_c(p, g, m, v, lr, beta1, beta2, eps, t, weight_decay=0.0):
    _kernels.adam_update(*_flat(p, m, v, g), lr, beta1, beta2, eps, t, weight_decay, get_num_threads())


@c_kernel("adadelta_update")
def _adadelta_update_c(p, g, h, d, lr, rho, eps, weight_decay=0.0):
    _kernels.adadelta_update(*_flat(p, h, d, g), lr, rho, eps, weight_decay, get_num_threads())
