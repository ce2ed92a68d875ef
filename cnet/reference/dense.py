"""Fully connected (affine) layer: y = x @ w + b, with w shaped (D, U) = (input_dim, units) as in the book."""

from ._util import as_float, check_ndim, check_same_dtype, check_shape


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
