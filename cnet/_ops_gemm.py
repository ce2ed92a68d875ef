"""Ops: GEMM and the dense (affine) layer (checks, and their C kernels)."""
import numpy as np

from . import _checks, _kernels
from ._config import get_num_threads
from ._optable import c_kernel, implementation

__all__ = ["gemm", "affine_forward", "affine_backward"]


def gemm(a, b, c=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    """alpha * op(a) @ op(b) + beta * c (+ bias per column) (then ReLU); op(a) = a.T when trans_a.

    With c given, the result is written into c (which must be C-contiguous and writable) and returned.
    """
    a = _checks.float_array(a, "a", ndim=2)
    b = _checks.float_array(b, "b", ndim=2, dtype=a.dtype)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(f"gemm: op(a) is ({m}, {k}) and op(b) is ({kb}, {n}): inner dimensions differ "
                         f"(a {a.shape}{', transposed' if trans_a else ''}, "
                         f"b {b.shape}{', transposed' if trans_b else ''})")
    if c is not None:
        c = _checks.output(c, "c", (m, n), a.dtype)
    if bias is not None:
        bias = _checks.float_array(bias, "bias", ndim=1, dtype=a.dtype)
        if bias.shape != (n,):
            raise ValueError(f"bias: expected shape ({n},) (one per output column), got {bias.shape}")
    return implementation("gemm")(a, b, c, trans_a, trans_b, alpha, beta, bias, relu)


@c_kernel("gemm")
def _gemm_c(a, b, c=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if c is None:
        c = np.empty((m, n), dtype=a.dtype)
        beta = 0.0
    _kernels.gemm(a, b, c, bool(trans_a), bool(trans_b), float(alpha), float(beta), bias, bool(relu),
                  get_num_threads())
    return c


def _affine_args(x, w):
    x = _checks.float_array(x, "x", min_ndim=2)
    w = _checks.float_array(w, "w", ndim=2, dtype=x.dtype)
    d = int(np.prod(x.shape[1:]))
    if d != w.shape[0]:
        raise ValueError(f"x has {d} features per sample (shape {x.shape}) but w expects {w.shape[0]} "
                         f"(w shape {w.shape}, (input_dim, units))")
    return x, w


def affine_forward(x, w, b):
    """y (N, U) = x @ w + b; x is (N, D) or (N, d1, d2, ...) with D = d1*d2*...; b may be None."""
    x, w = _affine_args(x, w)
    if b is not None:
        b = _checks.float_array(b, "b", ndim=1, dtype=x.dtype)
        if b.shape != (w.shape[1],):
            raise ValueError(f"b: expected shape ({w.shape[1]},) (one per unit), got {b.shape}")
    return implementation("affine_forward")(x, w, b)


def affine_backward(dy, x, w):
    """(dx shaped like x, dw (D, U), db (U,)) for dy (N, U)."""
    x, w = _affine_args(x, w)
    dy = _checks.float_array(dy, "dy", ndim=2, dtype=x.dtype)
    if dy.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"dy: expected shape {(x.shape[0], w.shape[1])} (batch, units), got {dy.shape}")
    return implementation("affine_backward")(dy, x, w)


@c_kernel("affine_forward")
def _affine_forward_c(x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    y = np.empty((x.shape[0], w.shape[1]), dtype=x.dtype)
    _kernels.affine_forward(y, x2, w, b, False, get_num_threads())
    return y


@c_kernel("affine_backward")
def _affine_backward_c(dy, x, w):
    x2 = x.reshape(x.shape[0], -1)
    dx = np.empty(x2.shape, dtype=x.dtype)
    dw = np.empty_like(w)
    db = np.empty(w.shape[1], dtype=x.dtype)
    _kernels.affine_backward(dx, dw, db, dy, x2, w, get_num_threads())
    return dx.reshape(x.shape), dw, db
