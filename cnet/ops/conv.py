"""Ops of the conv family: im2col/col2im and 2-D convolution -- checks, and their two implementations.

Shapes: x is (N, C, H, W) (channels first), conv weights w are (K, C, KH, KW), b is (K,);
OH = (H + 2*pad_h - KH)//stride_h + 1 (OW likewise). stride and pad are an int or an (h, w) pair.
"""
import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, into, register

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]


def im2col(x, kh, kw, stride=1, pad=0):
    """Unfold the kh x kw windows of x (N, C, H, W) into col (N*OH*OW, C*KH*KW): row (n, oh, ow),
    column (c, i, j) -- the book's layout, so that col @ w.reshape(K, -1).T is the convolution."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, _, _, oh, ow = _checks.window(x.shape, kh, kw, stride, pad)
    _checks.check_alloc((x.shape[0] * oh * ow, x.shape[1] * kh * kw), x.dtype, "im2col")
    return implementation("im2col")(x, kh, kw, stride, pad)


def col2im(col, x_shape, kh, kw, stride=1, pad=0):
    """The adjoint of im2col: scatter-add the rows of col back to an array of shape x_shape."""
    col = _checks.float_array(col, "col", ndim=2)
    x_shape = _checks.image_shape(x_shape)
    _, _, _, _, oh, ow = _checks.window(x_shape, kh, kw, stride, pad)
    n, c = x_shape[:2]
    _checks.has_shape(col, (n * oh * ow, c * kh * kw), "col", f"N*OH*OW, C*KH*KW for x_shape {x_shape}")
    _checks.check_alloc(x_shape, col.dtype, "col2im")
    return implementation("col2im")(col, x_shape, kh, kw, stride, pad)


def _conv_args(x, w, b):
    x = _checks.float_array(x, "x", ndim=4)
    w = _checks.float_array(w, "w", ndim=4, dtype=x.dtype)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w: expected {x.shape[1]} input channels (w is (K, C, KH, KW) and x of shape "
                         f"{x.shape} has C = {x.shape[1]}), got w of shape {w.shape}")
    if b is not None:
        b = _checks.float_array(b, "b", ndim=1, dtype=x.dtype)
        if b.shape != (w.shape[0],):
            raise ValueError(f"b: expected shape ({w.shape[0]},) (one bias per filter of w {w.shape}), "
                             f"got {b.shape}")
    return x, w, b


def conv2d_forward(x, w, b, stride=1, pad=0, out=None, relu=False):
    """y (N, K, OH, OW) = cross-correlation of x (N, C, H, W) with w (K, C, KH, KW), plus b (K,) or None,
    then max(., 0) when relu. Written into `out` when given."""
    x, w, b = _conv_args(x, w, b)
    _, _, _, _, oh, ow = _checks.window(x.shape, w.shape[2], w.shape[3], stride, pad)
    if out is not None:
        out = _checks.output(out, "out", (x.shape[0], w.shape[0], oh, ow), x.dtype)
        _checks.no_overlap(out, "out", (x, w, b))
    else:
        _checks.check_alloc((x.shape[0], w.shape[0], oh, ow), x.dtype, "conv2d_forward")
    return implementation("conv2d_forward")(x, w, b, stride, pad, out, relu)


def conv2d_backward(dy, x, w, stride=1, pad=0, out=None, need_dx=True):
    """Gradients of conv2d_forward: (dx, dw, db) shaped like x, w and (K,); dy is (N, K, OH, OW).
    out=(dx, dw, db) arrays to write into (any may be None); need_dx=False skips dx (returned as None)."""
    x, w, _ = _conv_args(x, w, None)
    dy = _checks.float_array(dy, "dy", ndim=4, dtype=x.dtype)
    _, _, _, _, oh, ow = _checks.window(x.shape, w.shape[2], w.shape[3], stride, pad)
    _checks.has_shape(dy, (x.shape[0], w.shape[0], oh, ow), "dy", "N, K, OH, OW of the forward output")
    if out is not None:
        out = _checks.outputs(out, "conv2d_backward", [(x.shape, x.dtype), (w.shape, x.dtype),
                                                        ((w.shape[0],), x.dtype)], (dy, x, w))
    return implementation("conv2d_backward")(dy, x, w, stride, pad, out, need_dx)


# ---- the C implementations ------------------------------------------------------------------------

def _im2col_c(x, kh, kw, stride, pad):
    sh, sw, ph, pw, oh, ow = _checks.window(x.shape, kh, kw, stride, pad)
    n, c = x.shape[:2]
    col = np.empty((n * oh * ow, c * kh * kw), dtype=x.dtype)
    _kernels.im2col(col, x, kh, kw, sh, sw, ph, pw, get_num_threads())
    return col


def _col2im_c(col, x_shape, kh, kw, stride, pad):
    sh, sw, ph, pw, _, _ = _checks.window(x_shape, kh, kw, stride, pad)
    x = np.empty(tuple(x_shape), dtype=col.dtype)
    _kernels.col2im(x, col, kh, kw, sh, sw, ph, pw, get_num_threads())
    return x


def _conv2d_forward_c(x, w, b, stride, pad, out, relu):
    sh, sw, ph, pw, oh, ow = _checks.window(x.shape, w.shape[2], w.shape[3], stride, pad)
    y = np.empty((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype) if out is None else out
    _kernels.conv2d_forward(y, x, w, b, sh, sw, ph, pw, bool(relu), get_num_threads())
    return y


def _conv2d_backward_c(dy, x, w, stride, pad, out, need_dx):
    sh, sw, ph, pw, _, _ = _checks.window(x.shape, w.shape[2], w.shape[3], stride, pad)
    dx, dw, db = out if out is not None else (None, None, None)
    if need_dx and dx is None:
        dx = np.empty_like(x)
    dw = np.empty_like(w) if dw is None else dw
    db = np.empty(w.shape[0], dtype=w.dtype) if db is None else db
    _kernels.conv2d_backward(dx if need_dx else None, dw, db, dy, x, w, sh, sw, ph, pw, get_num_threads())
    return (dx if need_dx else None), dw, db


# ---- the reference, adapted to the C implementations' signature -----------------------------------

def _conv2d_forward_numpy(x, w, b, stride, pad, out, relu):
    y = reference.conv2d_forward(x, w, b, stride, pad)
    return into(out, reference.relu_forward(y) if relu else y)


def _conv2d_backward_numpy(dy, x, w, stride, pad, out, need_dx):
    dx, dw, db = reference.conv2d_backward(dy, x, w, stride, pad)
    return into(out, (dx if need_dx else None, dw, db))


register("im2col", reference.im2col, _im2col_c)
register("col2im", reference.col2im, _col2im_c)
register("conv2d_forward", _conv2d_forward_numpy, _conv2d_forward_c)
register("conv2d_backward", _conv2d_backward_numpy, _conv2d_backward_c)
