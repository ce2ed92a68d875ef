"""Ops: im2col/col2im, convolution, pooling (checks, and their C kernels).

Shapes: x is (N, C, H, W) (channels first), conv weights w are (K, C, KH, KW), b is (K,);
OH = (H + 2*pad_h - KH)//stride_h + 1 (OW likewise). stride and pad are an int or an (h, w) pair.
The public functions check their arguments with messages for users, then run the op's implementation
under the current backend (the C kernels below, or cnet.reference).
"""
import operator

import numpy as np

from . import _checks, _kernels
from ._config import get_num_threads
from ._optable import c_kernel, implementation, numpy_into, run_outs

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward",
           "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"]


# ---- argument checks ------------------------------------------------------------------------------

def _int(value, name):
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}") from None


def _pair(value, name):
    """An int or an (h, w) pair of ints, as a tuple (h, w)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected an int or an (h, w) pair, got {value!r}")
        return _int(value[0], name), _int(value[1], name)
    v = _int(value, name)
    return v, v


def _geometry(x_shape, kh, kw, stride, pad, window="kernel"):
    """(sh, sw, ph, pw, oh, ow) of a kh x kw window sliding over the (H, W) planes of x_shape, checked."""
    kh, kw = _int(kh, f"{window} height"), _int(kw, f"{window} width")
    if kh < 1 or kw < 1:
        raise ValueError(f"{window} size must be positive, got {(kh, kw)}")
    sh, sw = _pair(stride, "stride")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    ph, pw = _pair(pad, "pad")
    if ph < 0 or pw < 0:
        raise ValueError(f"pad must be >= 0, got {(ph, pw)}")
    h, w = x_shape[2], x_shape[3]
    if min(x_shape[1:]) < 1:   # the C kernels refuse empty planes; so does the reference, for consistency
        raise ValueError(f"x of shape {tuple(x_shape)} is empty: expected at least one channel, row and column")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{window} {(kh, kw)} is larger than the padded input: x of shape {tuple(x_shape)} "
                         f"with pad {(ph, pw)} has planes of {(h + 2 * ph, w + 2 * pw)}")
    return sh, sw, ph, pw, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _x_shape(x_shape):
    """A 4-tuple of positive ints (N, C, H, W)."""
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4:
        raise ValueError(f"x_shape: expected (N, C, H, W), got {x_shape!r}")
    shape = tuple(_int(s, "x_shape") for s in x_shape)
    if min(shape) < 1:
        raise ValueError(f"x_shape: expected positive sizes (N, C, H, W), got {shape}")
    return shape


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


def _check_shape(a, shape, name, why):
    if a.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} ({why}), got {a.shape}")


# ---- im2col / col2im ------------------------------------------------------------------------------

def im2col(x, kh, kw, stride=1, pad=0):
    """Unfold the kh x kw windows of x (N, C, H, W) into col (N*OH*OW, C*KH*KW): row (n, oh, ow),
    column (c, i, j) -- the book's layout, so that col @ w.reshape(K, -1).T is the convolution."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, _, _, oh, ow = _geometry(x.shape, kh, kw, stride, pad)
    _checks.check_alloc((x.shape[0] * oh * ow, x.shape[1] * kh * kw), x.dtype, "im2col")
    return implementation("im2col")(x, kh, kw, stride, pad)


def col2im(col, x_shape, kh, kw, stride=1, pad=0):
    """The adjoint of im2col: scatter-add the rows of col back to an array of shape x_shape."""
    col = _checks.float_array(col, "col", ndim=2)
    x_shape = _x_shape(x_shape)
    _, _, _, _, oh, ow = _geometry(x_shape, kh, kw, stride, pad)
    n, c = x_shape[:2]
    _check_shape(col, (n * oh * ow, c * kh * kw), "col", f"N*OH*OW, C*KH*KW for x_shape {x_shape}")
    _checks.check_alloc(x_shape, col.dtype, "col2im")
    return implementation("col2im")(col, x_shape, kh, kw, stride, pad)


@c_kernel("im2col")
def _im2col_c(x, kh, kw, stride=1, pad=0):
    sh, sw, ph, pw, oh, ow = _geometry(x.shape, kh, kw, stride, pad)
    n, c = x.shape[:2]
    col = np.empty((n * oh * ow, c * kh * kw), dtype=x.dtype)
    _kernels.im2col(col, x, kh, kw, sh, sw, ph, pw, get_num_threads())
    return col


@c_kernel("col2im")
def _col2im_c(col, x_shape, kh, kw, stride=1, pad=0):
    sh, sw, ph, pw, _, _ = _geometry(x_shape, kh, kw, stride, pad)
    x = np.empty(tuple(x_shape), dtype=col.dtype)
    _kernels.col2im(x, col, kh, kw, sh, sw, ph, pw, get_num_threads())
    return x


# ---- convolution ----------------------------------------------------------------------------------

def conv2d_forward(x, w, b, stride=1, pad=0, out=None, relu=False):
    """y (N, K, OH, OW) = cross-correlation of x (N, C, H, W) with w (K, C, KH, KW), plus b (K,) or None,
    then max(., 0) when relu. Written into `out` when given."""
    x, w, b = _conv_args(x, w, b)
    _, _, _, _, oh, ow = _geometry(x.shape, w.shape[2], w.shape[3], stride, pad)
    if out is not None:
        out = _checks.output(out, "out", (x.shape[0], w.shape[0], oh, ow), x.dtype)
        _checks.no_overlap(out, "out", (x, w, b))
    else:
        _checks.check_alloc((x.shape[0], w.shape[0], oh, ow), x.dtype, "conv2d_forward")
    impl = implementation("conv2d_forward")
    if impl is _conv2d_forward_c:
        return impl(x, w, b, stride, pad, out=out, relu=relu)
    y = impl(x, w, b, stride, pad)  # the reference (+ its ReLU)
    if relu:
        y = implementation("relu_forward")(y)
    return numpy_into(out, y)


def conv2d_backward(dy, x, w, stride=1, pad=0, out=None, need_dx=True):
    """Gradients of conv2d_forward: (dx, dw, db) shaped like x, w and (K,); dy is (N, K, OH, OW).
    out=(dx, dw, db) arrays to write into (any may be None); need_dx=False skips dx (returned as None)."""
    x, w, _ = _conv_args(x, w, None)
    dy = _checks.float_array(dy, "dy", ndim=4, dtype=x.dtype)
    _, _, _, _, oh, ow = _geometry(x.shape, w.shape[2], w.shape[3], stride, pad)
    _check_shape(dy, (x.shape[0], w.shape[0], oh, ow), "dy", "N, K, OH, OW of the forward output")
    specs = [(x.shape, x.dtype), (w.shape, x.dtype), ((w.shape[0],), x.dtype)]
    if implementation("conv2d_backward") is _conv2d_backward_c:
        return run_outs("conv2d_backward", out, specs, dy, x, w, stride, pad, need_dx=need_dx)
    dx, dw, db = run_outs("conv2d_backward", out, specs, dy, x, w, stride, pad)
    return (dx if need_dx else None), dw, db


@c_kernel("conv2d_forward")
def _conv2d_forward_c(x, w, b, stride=1, pad=0, out=None, relu=False):
    sh, sw, ph, pw, oh, ow = _geometry(x.shape, w.shape[2], w.shape[3], stride, pad)
    y = np.empty((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype) if out is None else out
    _kernels.conv2d_forward(y, x, w, b, sh, sw, ph, pw, bool(relu), get_num_threads())
    return y


@c_kernel("conv2d_backward")
def _conv2d_backward_c(dy, x, w, stride=1, pad=0, out=None, need_dx=True):
    sh, sw, ph, pw, _, _ = _geometry(x.shape, w.shape[2], w.shape[3], stride, pad)
    dx, dw, db = out if out is not None else (None, None, None)
    if need_dx and dx is None:
        dx = np.empty_like(x)
    dw = np.empty_like(w) if dw is None else dw
    db = np.empty(w.shape[0], dtype=w.dtype) if db is None else db
    _kernels.conv2d_backward(dx if need_dx else None, dw, db, dy, x, w, sh, sw, ph, pw, get_num_threads())
    return (dx if need_dx else None), dw, db


# ---- pooling --------------------------------------------------------------------------------------

def _pool_geometry(x_shape, ph, pw, stride, pad):
    return _geometry(x_shape, ph, pw, (ph, pw) if stride is None else stride, pad, window="pool window")


def maxpool2d_forward(x, ph, pw, stride=None, pad=0, out=None):
    """(y, argmax): the max of every ph x pw window of x (N, C, H, W) (stride None: the window), and the
    flat index h*W + w of each maximum in its unpadded input plane (int64). pad must be < the window."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, pad_h, pad_w, _, _ = _pool_geometry(x.shape, ph, pw, stride, pad)
    if pad_h >= ph or pad_w >= pw:
        raise ValueError(f"pad {(pad_h, pad_w)} must be smaller than the pool window {(ph, pw)}, so that "
                         f"every window holds an input element")
    _, _, _, _, oh, ow = _pool_geometry(x.shape, ph, pw, stride, pad)
    shape = x.shape[:2] + (oh, ow)
    _checks.check_alloc(shape, np.int64, "maxpool2d_forward", count=2)   # y and its argmax
    return run_outs("maxpool2d_forward", out, [(shape, x.dtype), (shape, np.dtype(np.int64))],
                    x, ph, pw, stride, pad)


def maxpool2d_backward(dy, argmax, x_shape, out=None):
    """dx (x_shape): dy (N, C, OH, OW) scattered to the argmax positions of the forward, overlaps adding."""
    dy = _checks.float_array(dy, "dy", ndim=4)
    x_shape = _x_shape(x_shape)
    if not isinstance(argmax, np.ndarray):
        raise TypeError(f"argmax: expected a numpy.ndarray of int64, got {type(argmax).__name__}")
    if argmax.dtype.kind not in "iu":
        raise TypeError(f"argmax: expected integer indices (the forward's int64 argmax), got dtype {argmax.dtype}")
    _check_shape(argmax, dy.shape, "argmax", "the shape of dy")
    if dy.shape[:2] != x_shape[:2]:
        raise ValueError(f"dy: expected N, C = {x_shape[:2]} of x_shape {x_shape}, got shape {dy.shape}")
    _checks.check_alloc(x_shape, dy.dtype, "maxpool2d_backward")
    if out is not None:
        out = _checks.output(out, "out", x_shape, dy.dtype)
        _checks.no_overlap(out, "out", (dy, argmax))
    impl = implementation("maxpool2d_backward")
    if impl is _maxpool2d_backward_c:
        return impl(dy, argmax, x_shape, out=out)
    return numpy_into(out, impl(dy, argmax, x_shape))


def avgpool2d_forward(x, ph, pw, stride=None, pad=0):
    """The mean of every ph x pw window of x (N, C, H, W); padding counts as zeros in the divisor ph*pw."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, _, _, oh, ow = _pool_geometry(x.shape, ph, pw, stride, pad)
    _checks.check_alloc(x.shape[:2] + (oh, ow), x.dtype, "avgpool2d_forward")
    return implementation("avgpool2d_forward")(x, ph, pw, stride, pad)


def avgpool2d_backward(dy, x_shape, ph, pw, stride=None, pad=0):
    """dx (x_shape): every input element gets dy/(ph*pw) from each window that covers it."""
    dy = _checks.float_array(dy, "dy", ndim=4)
    x_shape = _x_shape(x_shape)
    _, _, _, _, oh, ow = _pool_geometry(x_shape, ph, pw, stride, pad)
    _check_shape(dy, x_shape[:2] + (oh, ow), "dy", f"N, C, OH, OW of the pooling of x_shape {x_shape}")
    _checks.check_alloc(x_shape, dy.dtype, "avgpool2d_backward")
    return implementation("avgpool2d_backward")(dy, x_shape, ph, pw, stride, pad)


@c_kernel("maxpool2d_forward")
def _maxpool2d_forward_c(x, ph, pw, stride=None, pad=0, out=None):
    sh, sw, pad_h, pad_w, oh, ow = _pool_geometry(x.shape, ph, pw, stride, pad)
    y, argmax = out if out is not None else (None, None)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype) if y is None else y
    argmax = np.empty(y.shape, dtype=np.int64) if argmax is None else argmax
    _kernels.maxpool2d_forward(y, argmax, x, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return y, argmax


@c_kernel("maxpool2d_backward")
def _maxpool2d_backward_c(dy, argmax, x_shape, out=None):
    dx = np.empty(tuple(x_shape), dtype=dy.dtype) if out is None else out
    argmax = np.ascontiguousarray(argmax, dtype=np.int64)
    _kernels.maxpool2d_backward(dx, dy, argmax, get_num_threads())
    return dx


@c_kernel("avgpool2d_forward")
def _avgpool2d_forward_c(x, ph, pw, stride=None, pad=0):
    sh, sw, pad_h, pad_w, oh, ow = _pool_geometry(x.shape, ph, pw, stride, pad)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    _kernels.avgpool2d_forward(y, x, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return y


@c_kernel("avgpool2d_backward")
def _avgpool2d_backward_c(dy, x_shape, ph, pw, stride=None, pad=0):
    sh, sw, pad_h, pad_w, _, _ = _pool_geometry(x_shape, ph, pw, stride, pad)
    dx = np.empty(tuple(x_shape), dtype=dy.dtype)
    _kernels.avgpool2d_backward(dx, dy, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return dx
