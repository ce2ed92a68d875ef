"""Ops of the regularization family: inverted dropout (and its random stream, counter_uniform) and batch
normalization -- checks, and their two implementations. Dropout kernels see flat views, batch
normalization sees x as (N, C, S)."""
import numbers
import operator

import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import binary_c, implementation, register, with_out

__all__ = ["counter_uniform", "dropout_mask", "dropout_forward", "dropout_backward", "dropout_forward_keep",
           "dropout_backward_keep",
           "batchnorm_forward", "batchnorm_backward", "batchnorm_inference"]


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


def counter_uniform(n, seed):
    """float64 u (n,), u[i] in [0, 1) the counter-based uniform of (seed, i) that dropout compares with its
    rate (the formula: cnet.reference.rng). No C kernel computes it on its own: NumPy on both backends."""
    n = _checks.integer(n, "n")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    seed = _seed(seed)
    _checks.check_alloc((n,), np.float64, "counter_uniform", count=2)   # the uint64 stream and u
    return implementation("counter_uniform")(n, seed)


def dropout_mask(shape, rate, seed, dtype, out=None):
    """Inverted-dropout mask: 0 where dropped, 1/(1 - rate) where kept; element i (flat) is kept when the
    counter-based uniform of (seed, i) is >= rate (see cnet.reference.rng). Written into `out` when given."""
    shape = _shape(shape)
    rate, seed = _rate(rate), _seed(seed)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in _checks.FLOAT_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dt}")
    if out is not None:
        out = _checks.output(out, "out", shape, dt)
    else:
        _checks.check_alloc(shape, dt, "dropout_mask")
    return implementation("dropout_mask")(shape, rate, seed, dt, out)


def dropout_forward(x, rate, seed, out=None):
    """Training-time dropout: (y, mask) with mask = dropout_mask(x.shape, rate, seed, x.dtype), y = x*mask.
    out=(y, mask) arrays to write into (either may be None); y may be x itself (in place)."""
    x = _checks.float_array(x, "x")
    rate, seed = _rate(rate), _seed(seed)
    if out is not None:
        in_place = isinstance(out, tuple) and len(out) == 2 and out[0] is x
        spec = [(x.shape, x.dtype)] * 2
        out = _checks.outputs((None, out[1]) if in_place else out, "dropout_forward", spec, (x,))
        if in_place:
            out = (_checks.output(x, "out[0]", x.shape, x.dtype), out[1])
    return implementation("dropout_forward")(x, rate, seed, out)


def dropout_backward(dy, mask, out=None):
    """dx = dy * mask; written into `out` when given (which may be dy)."""
    dy = _checks.float_array(dy, "dy")
    mask = _checks.float_array(mask, "mask", dtype=dy.dtype)
    _checks.same_shape(dy, mask, "dy", "mask")
    return implementation("dropout_backward")(dy, mask, _checks.in_place_out(out, dy, (dy, mask)))


def dropout_forward_keep(x, rate, seed, out=None):
    """dropout_forward with its mask as keep flags: (y, keep), keep uint8 of x's shape, 1 where kept and 0
    where dropped (a quarter of a float32 mask's bytes); y the same. out=(y, keep) arrays to write into
    (either may be None); y may be x itself (in place)."""
    x = _checks.float_array(x, "x")
    rate, seed = _rate(rate), _seed(seed)
    if out is not None:
        in_place = isinstance(out, tuple) and len(out) == 2 and out[0] is x
        spec = [(x.shape, x.dtype), (x.shape, np.dtype(np.uint8))]
        out = _checks.outputs((None, out[1]) if in_place else out, "dropout_forward_keep", spec, (x,))
        if in_place:
            out = (_checks.output(x, "out[0]", x.shape, x.dtype), out[1])
    return implementation("dropout_forward_keep")(x, rate, seed, out)


def dropout_backward_keep(dy, keep, rate, out=None):
    """dx = dy * (1/(1 - rate) where keep, else 0): dropout_backward with the mask of the keep flags of
    dropout_forward_keep (the same bits); written into `out` when given (which may be dy)."""
    dy = _checks.float_array(dy, "dy")
    if not isinstance(keep, np.ndarray) or keep.dtype != np.uint8:
        raise TypeError(f"keep: expected the numpy.ndarray of uint8 flags of dropout_forward_keep, got "
                        f"{type(keep).__name__}{' of ' + str(keep.dtype) if isinstance(keep, np.ndarray) else ''}")
    _checks.has_shape(keep, dy.shape, "keep", "the shape of dy")
    keep = np.ascontiguousarray(keep)
    return implementation("dropout_backward_keep")(dy, keep, _rate(rate),
                                                   _checks.in_place_out(out, dy, (dy, keep)))


# ---- batch normalization --------------------------------------------------------------------------

def _bn_x(x, name="x"):
    x = _checks.float_array(x, name)
    if x.ndim not in (2, 4):
        raise ValueError(f"{name}: expected 2 dimensions (N, D) or 4 dimensions (N, C, H, W), "
                         f"got an array of shape {x.shape} and dtype {x.dtype}")
    if x.size == 0:   # no feature, or empty planes: no statistics to take (the C kernels refuse it too)
        raise ValueError(f"{name}: got an empty array of shape {x.shape}; expected at least one feature "
                         f"(channel) with at least one value")
    return x


def _bn_param(a, name, x):
    a = _checks.float_array(a, name, ndim=1, dtype=x.dtype)
    if a.shape != (x.shape[1],):
        raise ValueError(f"{name}: expected shape ({x.shape[1]},) (one value per feature/channel of x "
                         f"{x.shape}), got {a.shape}")
    return a


def _bn_eps(eps):
    return _checks.real(eps, "eps", low=0.0)


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


# ---- the C implementations ------------------------------------------------------------------------

def _dropout_mask_c(shape, rate, seed, dtype, out):
    mask = np.empty(shape, dtype=dtype) if out is None else out
    _kernels.dropout_mask(mask.reshape(-1), rate, seed, get_num_threads())
    return mask


def _dropout_forward_c(x, rate, seed, out):
    y, mask = out if out is not None else (None, None)
    y = np.empty_like(x) if y is None else y
    mask = np.empty_like(x) if mask is None else mask
    _kernels.dropout_forward(y.reshape(-1), mask.reshape(-1), x.reshape(-1), rate, seed, get_num_threads())
    return y, mask


def _dropout_forward_keep_c(x, rate, seed, out):
    y, keep = out if out is not None else (None, None)
    y = np.empty_like(x) if y is None else y
    keep = np.empty(x.shape, np.uint8) if keep is None else keep
    _kernels.dropout_forward_keep(y.reshape(-1), keep.reshape(-1), x.reshape(-1), rate, seed, get_num_threads())
    return y, keep


def _dropout_backward_keep_c(dy, keep, rate, out):
    dx = np.empty_like(dy) if out is None else out
    _kernels.dropout_backward_keep(dx.reshape(-1), dy.reshape(-1), keep.reshape(-1), rate, get_num_threads())
    return dx


def _ncs(a):
    """(N, D) -> (N, D, 1); (N, C, H, W) -> (N, C, H*W): views, no copy."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _batchnorm_forward_c(x, gamma, beta, eps):
    y = np.empty_like(x)
    mean = np.empty(x.shape[1], dtype=x.dtype)
    inv_std = np.empty(x.shape[1], dtype=x.dtype)
    _kernels.batchnorm_forward(_ncs(y), mean, inv_std, _ncs(x), gamma, beta, eps, get_num_threads())
    return y, mean, inv_std


def _batchnorm_backward_c(dy, x, gamma, mean, inv_std):
    dx = np.empty_like(x)
    dgamma = np.empty(x.shape[1], dtype=x.dtype)
    dbeta = np.empty(x.shape[1], dtype=x.dtype)
    _kernels.batchnorm_backward(_ncs(dx), dgamma, dbeta, _ncs(dy), _ncs(x), gamma, mean, inv_std,
                                get_num_threads())
    return dx, dgamma, dbeta


def _batchnorm_inference_c(x, gamma, beta, running_mean, running_var, eps):
    y = np.empty_like(x)
    _kernels.batchnorm_inference(_ncs(y), _ncs(x), gamma, beta, running_mean, running_var, eps,
                                 get_num_threads())
    return y


register("counter_uniform", reference.counter_uniform)
register("dropout_mask", with_out(reference.dropout_mask), _dropout_mask_c)
register("dropout_forward", with_out(reference.dropout_forward), _dropout_forward_c)
register("dropout_backward", with_out(reference.dropout_backward), binary_c(_kernels.dropout_backward))
register("dropout_forward_keep", with_out(reference.dropout_forward_keep), _dropout_forward_keep_c)
register("dropout_backward_keep", with_out(reference.dropout_backward_keep), _dropout_backward_keep_c)
register("batchnorm_forward", reference.batchnorm_forward, _batchnorm_forward_c)
register("batchnorm_backward", reference.batchnorm_backward, _batchnorm_backward_c)
register("batchnorm_inference", reference.batchnorm_inference, _batchnorm_inference_c)
