"""Ops of the pool family: 2-D max and average pooling -- checks, and their two implementations.

x is (N, C, H, W); a ph x pw window slides with stride (None: the window) over the zero- or
-inf-padded planes. stride and pad are an int or an (h, w) pair.
"""
import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, register, with_out

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
           "maxpool2d_blk_forward", "maxpool2d_blk_backward"]


def _pool_window(x_shape, ph, pw, stride, pad):
    return _checks.window(x_shape, ph, pw, (ph, pw) if stride is None else stride, pad, what="pool window")


_U8 = np.dtype(np.uint8)


def maxpool2d_forward(x, ph, pw, stride=None, pad=0, out=None, positions=False):
    """(y, argmax): the max of every ph x pw window of x (N, C, H, W) (stride None: the window), and the
    flat index h*W + w of each maximum in its unpadded input plane (int64) -- or, with positions=True,
    its position i*pw + j in its window (uint8, an eighth of the bytes; ph*pw <= 256). pad must be < the
    window. out=(y, argmax) arrays to write into (either may be None)."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, pad_h, pad_w, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    if pad_h >= ph or pad_w >= pw:
        raise ValueError(f"pad {(pad_h, pad_w)} must be smaller than the pool window {(ph, pw)}, so that "
                         f"every window holds an input element")
    if positions is not True and positions is not False:
        raise TypeError(f"positions: expected True or False, got {positions!r}")
    if positions and ph * pw > 256:
        raise ValueError(f"positions=True: window positions are uint8, for windows of at most 256 elements; "
                         f"got a {ph}x{pw} window (use the int64 indices, positions=False)")
    shape = x.shape[:2] + (oh, ow)
    arg_dtype = _U8 if positions else np.dtype(np.int64)
    _checks.check_alloc(shape, np.int64, "maxpool2d_forward", count=2)   # y and its argmax
    if out is not None:
        out = _checks.outputs(out, "maxpool2d_forward", [(shape, x.dtype), (shape, arg_dtype)], (x,))
    return implementation("maxpool2d_forward")(x, ph, pw, stride, pad, positions, out)


def maxpool2d_backward(dy, argmax, x_shape, out=None, window=None):
    """dx (x_shape): dy (N, C, OH, OW) scattered to the argmax positions of the forward, overlaps adding.
    argmax: the forward's int64 indices, or its uint8 window positions with window = (ph, pw, stride,
    pad) the forward's windows. Written into `out` when given."""
    dy = _checks.float_array(dy, "dy", ndim=4)
    x_shape = _checks.image_shape(x_shape)
    if not isinstance(argmax, np.ndarray):
        raise TypeError(f"argmax: expected a numpy.ndarray of int64, got {type(argmax).__name__}")
    if argmax.dtype.kind not in "iu":
        raise TypeError(f"argmax: expected integer indices (the forward's int64 argmax), got dtype {argmax.dtype}")
    _checks.has_shape(argmax, dy.shape, "argmax", "the shape of dy")
    if dy.shape[:2] != x_shape[:2]:
        raise ValueError(f"dy: expected N, C = {x_shape[:2]} of x_shape {x_shape}, got shape {dy.shape}")
    if argmax.dtype == _U8:
        if window is None:
            raise ValueError("argmax of uint8 holds window positions (positions=True): pass the forward's "
                             "window=(ph, pw, stride, pad)")
        if not isinstance(window, (tuple, list)) or len(window) != 4:
            raise ValueError(f"window: expected the forward's (ph, pw, stride, pad), got {window!r}")
        ph, pw, stride, pad = window
        _, _, pad_h, pad_w, oh, ow = _pool_window(x_shape, ph, pw, stride, pad)
        if pad_h >= ph or pad_w >= pw or ph * pw > 256:
            raise ValueError(f"window {window!r}: expected a pad smaller than the window, and a window of at "
                             f"most 256 elements (uint8 positions)")
        _checks.has_shape(dy, x_shape[:2] + (oh, ow), "dy", f"the pooling of x_shape {x_shape} by window {window}")
        window = (ph, pw, stride, pad)
    elif window is not None:
        raise ValueError(f"window: given with int64 indices, which need none (it goes with uint8 window "
                         f"positions); got {window!r}")
    _checks.check_alloc(x_shape, dy.dtype, "maxpool2d_backward")
    if out is not None:
        out = _checks.output(out, "out", x_shape, dy.dtype)
        _checks.no_overlap(out, "out", (dy, argmax))
    return implementation("maxpool2d_backward")(dy, argmax, x_shape, window, out)


def avgpool2d_forward(x, ph, pw, stride=None, pad=0):
    """The mean of every ph x pw window of x (N, C, H, W); padding counts as zeros in the divisor ph*pw."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, _, _, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    _checks.check_alloc(x.shape[:2] + (oh, ow), x.dtype, "avgpool2d_forward")
    return implementation("avgpool2d_forward")(x, ph, pw, stride, pad)


def avgpool2d_backward(dy, x_shape, ph, pw, stride=None, pad=0):
    """dx (x_shape): every input element gets dy/(ph*pw) from each window that covers it."""
    dy = _checks.float_array(dy, "dy", ndim=4)
    x_shape = _checks.image_shape(x_shape)
    _, _, _, _, oh, ow = _pool_window(x_shape, ph, pw, stride, pad)
    _checks.has_shape(dy, x_shape[:2] + (oh, ow), "dy", f"N, C, OH, OW of the pooling of x_shape {x_shape}")
    _checks.check_alloc(x_shape, dy.dtype, "avgpool2d_backward")
    return implementation("avgpool2d_backward")(dy, x_shape, ph, pw, stride, pad)


def _pool_blocked(xb, name):
    xb = _checks.float_array(xb, name, ndim=5)
    vec = 32 // xb.dtype.itemsize
    if xb.shape[4] < 1 or xb.shape[4] % vec:
        raise ValueError(f"{name}: expected a blocked array (N, Cb, H, W, cb) with cb a multiple of {vec} "
                         f"(cnet.ops.conv.blk_width), got shape {xb.shape}")
    return xb


def maxpool2d_blk_forward(xb, out=None):
    """2x2 max pooling, stride 2, on the blocked layout (cnet.ops.to_blocked): xb (N, Cb, H, W, cb) ->
    (yb, arg), both (N, Cb, H//2, W//2, cb): the maxima (ties and NaN as maxpool2d_forward) and arg
    (uint8), each maximum's window position 0..3 in row-major order. out=(yb, arg) to write into."""
    xb = _pool_blocked(xb, "xb")
    shape = xb.shape[:2] + (xb.shape[2] // 2, xb.shape[3] // 2, xb.shape[4])
    _checks.check_alloc(shape, xb.dtype, "maxpool2d_blk_forward")
    if out is not None:
        out = _checks.outputs(out, "maxpool2d_blk_forward", [(shape, xb.dtype), (shape, np.dtype(np.uint8))], (xb,))
    return implementation("maxpool2d_blk_forward")(xb, out)


def maxpool2d_blk_backward(dyb, arg, x_hw, out=None):
    """dxb (N, Cb, H, W, cb), (H, W) = x_hw: each element of dyb (N, Cb, H//2, W//2, cb) to the window
    position arg (the forward's) holds, 0 elsewhere. Written into `out` when given."""
    dyb = _pool_blocked(dyb, "dyb")
    h, w = (_checks.integer(v, "x_hw") for v in x_hw)
    if (h // 2, w // 2) != dyb.shape[2:4] or h < 1 or w < 1:
        raise ValueError(f"x_hw: {(h, w)} does not pool (2x2, stride 2) to dyb's {dyb.shape[2:4]}")
    if not isinstance(arg, np.ndarray) or arg.dtype != np.uint8:
        raise TypeError(f"arg: expected the forward's numpy.ndarray of uint8, got {type(arg).__name__}"
                        f"{' of ' + str(arg.dtype) if isinstance(arg, np.ndarray) else ''}")
    _checks.has_shape(arg, dyb.shape, "arg", "the shape of dyb")
    shape = dyb.shape[:2] + (h, w, dyb.shape[4])
    if out is not None:
        out = _checks.output(out, "out", shape, dyb.dtype)
        _checks.no_overlap(out, "out", (dyb, arg))
    else:
        _checks.check_alloc(shape, dyb.dtype, "maxpool2d_blk_backward")
    return implementation("maxpool2d_blk_backward")(dyb, arg, (h, w), out)


# ---- the C implementations ------------------------------------------------------------------------

def _maxpool2d_forward_c(x, ph, pw, stride, pad, positions, out):
    sh, sw, pad_h, pad_w, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    y, argmax = out if out is not None else (None, None)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype) if y is None else y
    argmax = np.empty(y.shape, dtype=np.uint8 if positions else np.int64) if argmax is None else argmax
    _kernels.maxpool2d_forward(y, argmax, x, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return y, argmax


def _maxpool2d_backward_c(dy, argmax, x_shape, window, out):
    dx = np.empty(tuple(x_shape), dtype=dy.dtype) if out is None else out
    if window is not None:
        ph, pw, stride, pad = window
        sh, sw, pad_h, pad_w, _, _ = _pool_window(x_shape, ph, pw, stride, pad)
        _kernels.maxpool2d_backward_pos(dx, dy, np.ascontiguousarray(argmax), ph, pw, sh, sw, pad_h, pad_w,
                                        get_num_threads())
        return dx
    argmax = np.ascontiguousarray(argmax, dtype=np.int64)
    _kernels.maxpool2d_backward(dx, dy, argmax, get_num_threads())
    return dx


def _avgpool2d_forward_c(x, ph, pw, stride, pad):
    sh, sw, pad_h, pad_w, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    _kernels.avgpool2d_forward(y, x, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return y


def _avgpool2d_backward_c(dy, x_shape, ph, pw, stride, pad):
    sh, sw, pad_h, pad_w, _, _ = _pool_window(x_shape, ph, pw, stride, pad)
    dx = np.empty(tuple(x_shape), dtype=dy.dtype)
    _kernels.avgpool2d_backward(dx, dy, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return dx


def _maxpool2d_blk_forward_c(xb, out):
    yb, arg = out if out is not None else (None, None)
    shape = xb.shape[:2] + (xb.shape[2] // 2, xb.shape[3] // 2, xb.shape[4])
    yb = np.empty(shape, dtype=xb.dtype) if yb is None else yb
    arg = np.empty(shape, dtype=np.uint8) if arg is None else arg
    _kernels.maxpool2d_blk_forward(yb, arg, xb, get_num_threads())
    return yb, arg


def _maxpool2d_blk_backward_c(dyb, arg, x_hw, out):
    dxb = np.empty(dyb.shape[:2] + tuple(x_hw) + dyb.shape[4:], dtype=dyb.dtype) if out is None else out
    _kernels.maxpool2d_blk_backward(dxb, dyb, np.ascontiguousarray(arg), get_num_threads())
    return dxb


register("maxpool2d_forward", with_out(reference.maxpool2d_forward), _maxpool2d_forward_c)
register("maxpool2d_backward", with_out(reference.maxpool2d_backward), _maxpool2d_backward_c)
register("avgpool2d_forward", reference.avgpool2d_forward, _avgpool2d_forward_c)
register("avgpool2d_backward", reference.avgpool2d_backward, _avgpool2d_backward_c)
register("maxpool2d_blk_forward", with_out(reference.maxpool2d_blk_forward), _maxpool2d_blk_forward_c)
register("maxpool2d_blk_backward", with_out(reference.maxpool2d_blk_backward), _maxpool2d_blk_backward_c)
