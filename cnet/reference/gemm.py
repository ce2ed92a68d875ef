"""General matrix multiply (the twin of cnet's own GEMM kernel) and the fully connected (affine) layer:
y = x @ w + b, with w shaped (D, U) = (input_dim, units) as in the book."""
import numpy as np

from ._util import as_float, check_ndim, check_same_dtype, check_shape


def gemm(a, b, c=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    """alpha * op(a) @ op(b) + beta * c (+ bias per column) (then max(., 0) when relu).

    op(a) is a.T when trans_a, else a; the same for b. When c is given the result is written into it
    (and returned); beta == 0 ignores c's old content, NaN included. Otherwise a new array is returned.
    """
    a = as_float(a, "a")
    b = as_float(b, "b")
    check_same_dtype(a, b=b)
    oa = a.T if trans_a else a
    ob = b.T if trans_b else b
    if oa.ndim != 2 or ob.ndim != 2 or oa.shape[1] != ob.shape[0]:
        raise ValueError(f"gemm: op(a) {oa.shape} and op(b) {ob.shape} cannot be multiplied")
    dtype = a.dtype
    r = (oa @ ob) * dtype.type(alpha)
    if beta != 0 and c is not None:
        r += dtype.type(beta) * c
    if bias is not None:
        r += bias
    if relu:
        np.maximum(r, 0, out=r)  # NaN stays NaN
    if c is not None:
        c[...] = r
        return c
    return r



def _check(x, w):
    x = as_float(x, "x")
    w = as_float(w, "w")
    check_same_dtype(x, w=w)
    check_ndim(w, 2, "w", "(D, U)")
    if x.ndim < 2:
        raise ValueError(f"x must be at least 2-D (N, D), got shape {x.shape}")
    x2 = x.reshape(x.shape[0], -1)   # (N, D): everything after the batch axis is flattened
    if x2.shape[1] != w.shape[0]:
        raise ValueError(f"x has {x2.shape[1]} features per sample (shape {x.shape}) "
                         f"but w expects {w.shape[0]} (shape {w.shape})")
    return x, x2, w


def affine_forward(x, w, b):
    """x (N, D) or (N, d1, d2, ...) with D = d1*d2*..., w (D, U), b (U,) or None -> y (N, U)."""
    x, x2, w = _check(x, w)
    y = x2 @ w
    if b is not None:
        b = as_float(b, "b")
        check_same_dtype(x, b=b)
        check_shape(b, (w.shape[1],), "b")
        y += b
    return y


def affine_backward(dy, x, w):
    """dy (N, U) -> (dx shaped like x, dw (D, U), db (U,))."""
    x, x2, w = _check(x, w)
    dy = as_float(dy, "dy")
    check_same_dtype(x, dy=dy)
    check_shape(dy, (x.shape[0], w.shape[1]), "dy")
    dx = (dy @ w.T).reshape(x.shape)
    dw = x2.T @ dy
    db = dy.sum(axis=0)
    return dx, dw, db
