"""Ops of the pool family: 2-D max and average pooling -- checks, and their two implementations.

x is (N, C, H, W); a ph x pw window slides with stride (None: the window) over the zero- or
-inf-padded planes. stride and pad are an int or an (h, w) pair.
"""
import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, register, with_out

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"]


def _pool_window(x_shape, ph, pw, stride, pad):
    return _checks.window(x_shape, ph, pw, (ph, pw) if stride is None else stride, pad, what="pool window")


def maxpool2d_forward(x, ph, pw, stride=None, pad=0, out=None):
    """(y, argmax): the max of every ph x pw window of x (N, C, H, W) (stride None: the window), and the
    flat index h*W + w of each maximum in its unpadded input plane (int64). pad must be < the window.
    out=(y, argmax) arrays to write into (either may be None)."""
    x = _checks.float_array(x, "x", ndim=4)
    _, _, pad_h, pad_w, _, _ = _pool_window(x.shape, ph, pw, stride, pad)
    if pad_h >= ph or pad_w >= pw:
        raise ValueError(f"pad {(pad_h, pad_w)} must be smaller than the pool window {(ph, pw)}, so that "
                         f"every window holds an input element")
    _, _, _, _, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    shape = x.shape[:2] + (oh, ow)
    _checks.check_alloc(shape, np.int64, "maxpool2d_forward", count=2)   # y and its argmax
    if out is not None:
        out = _checks.outputs(out, "maxpool2d_forward", [(shape, x.dtype), (shape, np.dtype(np.int64))], (x,))
    return implementation("maxpool2d_forward")(x, ph, pw, stride, pad, out)


def maxpool2d_backward(dy, argmax, x_shape, out=None):
    """dx (x_shape): dy (N, C, OH, OW) scattered to the argmax positions of the forward, overlaps adding.
    Written into `out` when given."""
    dy = _checks.float_array(dy, "dy", ndim=4)
    x_shape = _checks.image_shape(x_shape)
    if not isinstance(argmax, np.ndarray):
        raise TypeError(f"argmax: expected a numpy.ndarray of int64, got {type(argmax).__name__}")
    if argmax.dtype.kind not in "iu":
        raise TypeError(f"argmax: expected integer indices (the forward's int64 argmax), got dtype {argmax.dtype}")
    _checks.has_shape(argmax, dy.shape, "argmax", "the shape of dy")
    if dy.shape[:2] != x_shape[:2]:
        raise ValueError(f"dy: expected N, C = {x_shape[:2]} of x_shape {x_shape}, got shape {dy.shape}")
    _checks.check_alloc(x_shape, dy.dtype, "maxpool2d_backward")
    if out is not None:
        out = _checks.output(out, "out", x_shape, dy.dtype)
        _checks.no_overlap(out, "out", (dy, argmax))
    return implementation("maxpool2d_backward")(dy, argmax, x_shape, out)


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


# ---- the C implementations ------------------------------------------------------------------------

def _maxpool2d_forward_c(x, ph, pw, stride, pad, out):
    sh, sw, pad_h, pad_w, oh, ow = _pool_window(x.shape, ph, pw, stride, pad)
    y, argmax = out if out is not None else (None, None)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype) if y is None else y
    argmax = np.empty(y.shape, dtype=np.int64) if argmax is None else argmax
    _kernels.maxpool2d_forward(y, argmax, x, ph, pw, sh, sw, pad_h, pad_w, get_num_threads())
    return y, argmax


def _maxpool2d_backward_c(dy, argmax, x_shape, out):
    dx = np.empty(tuple(x_shape), dtype=dy.dtype) if out is None else out
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


register("maxpool2d_forward", with_out(reference.maxpool2d_forward), _maxpool2d_forward_c)
register("maxpool2d_backward", with_out(reference.maxpool2d_backward), _maxpool2d_backward_c)
register("avgpool2d_forward", reference.avgpool2d_forward, _avgpool2d_forward_c)
register("avgpool2d_backward", reference.avgpool2d_backward, _avgpool2d_backward_c)
