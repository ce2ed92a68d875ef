"""Ops of the gemm family: GEMM and the dense (affine) layer -- checks, and their two implementations."""
import math

import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import by_dtype, implementation, into, register

__all__ = ["gemm", "affine_forward", "affine_backward"]


def gemm(a, b, c=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    """alpha * op(a) @ op(b) + beta * c (+ bias per column) (then ReLU); op(a) = a.T when trans_a.

    With c given, the result is written into c (which must be C-contiguous and writable) and returned.
    """
    a = _checks.float_array(a, "a", ndim=2)
    b = _checks.float_array(b, "b", ndim=2, dtype=a.dtype)
    for name, v in (("alpha", alpha), ("beta", beta)):
        if type(v) is not float and (isinstance(v, (bool, np.bool_))
                                     or not isinstance(v, (int, float, np.integer, np.floating))):
            raise TypeError(f"gemm: {name} must be a real number, got {type(v).__name__} {v!r}")
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(f"gemm: op(a) is ({m}, {k}) and op(b) is ({kb}, {n}): inner dimensions differ "
                         f"(a {a.shape}{', transposed' if trans_a else ''}, "
                         f"b {b.shape}{', transposed' if trans_b else ''})")
    if c is not None:
        c = _checks.output(c, "c", (m, n), a.dtype)
        _checks.no_overlap(c, "c", (a, b, bias))
    else:   # (m, 0) @ (0, n): tiny operands can ask for a huge product
        _checks.check_alloc((m, n), a.dtype, "gemm")
    if bias is not None:
        bias = _checks.float_array(bias, "bias", ndim=1, dtype=a.dtype)
        if bias.shape != (n,):
            raise ValueError(f"bias: expected shape ({n},) (one per output column), got {bias.shape}")
    return implementation("gemm")(a, b, c, trans_a, trans_b, alpha, beta, bias, relu)


def _affine_args(x, w):
    x = _checks.float_array(x, "x", min_ndim=2)
    w = _checks.float_array(w, "w", ndim=2, dtype=x.dtype)
    d = math.prod(x.shape[1:])   # (math.prod: np.prod costs ~4 us per call)
    if d != w.shape[0]:
        raise ValueError(f"x has {d} features per sample (shape {x.shape}) but w expects {w.shape[0]} "
                         f"(w shape {w.shape}, (input_dim, units))")
    return x, w


def affine_forward(x, w, b, out=None, relu=False):
    """y (N, U) = x @ w + b (then max(., 0) when relu); x is (N, D) or (N, d1, d2, ...) with
    D = d1*d2*...; b may be None. Written into `out` when given."""
    x, w = _affine_args(x, w)
    if b is not None:
        b = _checks.float_array(b, "b", ndim=1, dtype=x.dtype)
        if b.shape != (w.shape[1],):
            raise ValueError(f"b: expected shape ({w.shape[1]},) (one per unit), got {b.shape}")
    if out is not None:
        out = _checks.output(out, "out", (x.shape[0], w.shape[1]), x.dtype)
        _checks.no_overlap(out, "out", (x, w, b))
    return implementation("affine_forward")(x, w, b, out, relu)


def affine_backward(dy, x, w, out=None, need_dx=True):
    """(dx shaped like x, dw (D, U), db (U,)) for dy (N, U). out=(dx, dw, db) arrays to write into
    (any may be None); with need_dx=False, dx is not computed and None is returned in its place."""
    x, w = _affine_args(x, w)
    dy = _checks.float_array(dy, "dy", ndim=2, dtype=x.dtype)
    if dy.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"dy: expected shape {(x.shape[0], w.shape[1])} (batch, units), got {dy.shape}")
    if out is not None:
        out = _checks.outputs(out, "affine_backward", [(x.shape, x.dtype), (w.shape, x.dtype),
                                                        ((w.shape[1],), x.dtype)], (dy, x, w))
    return implementation("affine_backward")(dy, x, w, out, need_dx)


# ---- the C implementations ------------------------------------------------------------------------

_GEMM = by_dtype(_kernels.gemm)
_AFFINE_FORWARD = by_dtype(_kernels.affine_forward)
_AFFINE_BACKWARD = by_dtype(_kernels.affine_backward)


def _gemm_c(a, b, c, trans_a, trans_b, alpha, beta, bias, relu):
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if c is None:
        c = np.empty((m, n), dtype=a.dtype)
        beta = 0.0
    _GEMM[a.dtype](a, b, c, bool(trans_a), bool(trans_b), float(alpha), float(beta), bias, bool(relu),
                   get_num_threads())
    return c


def _affine_forward_c(x, w, b, out, relu):
    x2 = x.reshape(x.shape[0], -1)
    y = np.empty((x.shape[0], w.shape[1]), dtype=x.dtype) if out is None else out
    if w.shape[1] == 0:  # no units: an empty output, nothing to compute
        return y
    _AFFINE_FORWARD[x.dtype](y, x2, w, b, bool(relu), get_num_threads())
    return y


def _affine_backward_c(dy, x, w, out, need_dx):
    dx, dw, db = out if out is not None else (None, None, None)
    x2 = x.reshape(x.shape[0], -1)
    if need_dx and dx is None:
        dx = np.empty(x.shape, dtype=x.dtype)
    if dw is None:
        dw = np.empty_like(w)
    if db is None:
        db = np.empty(w.shape[1], dtype=x.dtype)
    if w.shape[1] == 0:  # no units: the input gradient is zero, dw and db are empty
        if need_dx:
            dx[...] = 0
        return (dx if need_dx else None), dw, db
    _AFFINE_BACKWARD[x.dtype](dw, dx.reshape(x2.shape) if need_dx else None, db, dy, x2, w,
                              get_num_threads())
    return (dx if need_dx else None), dw, db


# ---- the reference, adapted to the C implementations' signature -----------------------------------

def _affine_forward_numpy(x, w, b, out, relu):
    y = reference.affine_forward(x, w, b)
    return into(out, reference.relu_forward(y) if relu else y)


def _affine_backward_numpy(dy, x, w, out, need_dx):
    dx, dw, db = reference.affine_backward(dy, x, w)
    return into(out, (dx if need_dx else None, dw, db))


register("gemm", reference.gemm, _gemm_c)
register("affine_forward", _affine_forward_numpy, _affine_forward_c)
register("affine_backward", _affine_backward_numpy, _affine_backward_c)
