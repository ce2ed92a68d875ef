"""Ops of the conv family: im2col/col2im and 2-D convolution -- checks, and their two implementations.

Shapes: x is (N, C, H, W) (channels first), conv weights w are (K, C, KH, KW), b is (K,);
OH = (H + 2*pad_h - KH)//stride_h + 1 (OW likewise). stride and pad are an int or an (h, w) pair.
"""
import os

import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import get_backend, implementation, into, register, with_out

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "to_blocked", "from_blocked",
           "conv2d_blk_forward", "conv2d_blk_backward_data", "conv2d_blk_backward_weights"]


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


# ---- the direct convolution on the channel-blocked layout -------------------------------------------
# An activation (N, C, H, W) is stored as (N, Cb, H, W, cb), Cb = ceil(C / cb): channel c in block
# c // cb, lane c % cb, the lanes past C zero (every blocked op keeps them zero). cb is one SIMD vector
# of the dtype on the path in force (blk_width); the C kernels refuse any other. Weights, biases and
# their gradients stay (K, C, KH, KW) and (K,).

def blk_width(dtype):
    """The block width cb of the SIMD path in force for dtype (16 floats / 8 doubles on AVX-512, 8 / 4
    on AVX2 and the portable path)."""
    return _kernels.blk_width(np.dtype(dtype) == np.float64)


def _blocks(c, cb):
    return -(-c // cb)


def _block_width(cb, dtype):
    if cb is None:
        return blk_width(dtype)
    cb = _checks.integer(cb, "cb")
    if cb < 1:
        raise ValueError(f"cb: the block width must be >= 1, got {cb}")
    return cb


def _blocked(xb, name, channels):
    """xb checked as a blocked array of `channels` channels: (N, ceil(channels/cb), H, W, cb)."""
    xb = _checks.float_array(xb, name, ndim=5)
    if xb.shape[4] < 1 or xb.shape[1] != _blocks(channels, xb.shape[4]):
        raise ValueError(f"{name}: expected a blocked array (N, Cb, H, W, cb) of {channels} channels "
                         f"(Cb = ceil({channels} / cb)), got shape {xb.shape}")
    return xb


def _weights_bias(w, b, dtype):
    """w (K, C, KH, KW) and b (K,) or None, checked for the dtype of the activations."""
    w = _checks.float_array(w, "w", ndim=4, dtype=dtype)
    if b is not None:
        b = _checks.float_array(b, "b", ndim=1, dtype=dtype)
        if b.shape != (w.shape[0],):
            raise ValueError(f"b: expected shape ({w.shape[0]},) (one bias per filter of w {w.shape}), "
                             f"got {b.shape}")
    return w, b


def to_blocked(x, cb=None, out=None):
    """x (N, C, H, W) -> (N, ceil(C/cb), H, W, cb), lanes past C zero; cb None: blk_width(x.dtype)."""
    x = _checks.float_array(x, "x", ndim=4)
    cb = _block_width(cb, x.dtype)
    n, c, h, w = x.shape
    shape = (n, _blocks(c, cb), h, w, cb)
    if out is not None:
        out = _checks.output(out, "out", shape, x.dtype)
        _checks.no_overlap(out, "out", (x,))
    else:
        _checks.check_alloc(shape, x.dtype, "to_blocked")
    return implementation("to_blocked")(x, cb, out)


def from_blocked(xb, channels, out=None):
    """xb (N, Cb, H, W, cb) -> (N, channels, H, W): the first `channels` lanes, in NCHW."""
    channels = _checks.integer(channels, "channels")
    xb = _blocked(xb, "xb", channels)
    shape = (xb.shape[0], channels) + xb.shape[2:4]
    if out is not None:
        out = _checks.output(out, "out", shape, xb.dtype)
        _checks.no_overlap(out, "out", (xb,))
    else:
        _checks.check_alloc(shape, xb.dtype, "from_blocked")
    return implementation("from_blocked")(xb, channels, out)


def conv2d_blk_forward(x, w, b, stride=1, pad=0, plain=False, cb=None, out=None, relu=False):
    """conv2d_forward on the blocked layout: x blocked (N, Cb, H, W, cb), or NCHW (N, C, H, W) when
    plain (a network's first layer: its input is not converted; cb None: blk_width); w (K, C, KH, KW),
    b (K,) or None. Returns the blocked y (N, Kb, OH, OW, cb), max(., 0) when relu; into `out` if given."""
    if plain:
        x, w, b = _conv_args(x, w, b)
        cb = _block_width(cb, x.dtype)
    else:
        w = _checks.float_array(w, "w", ndim=4)
        x = _blocked(x, "x", w.shape[1])
        w, b = _weights_bias(w, b, x.dtype)
        cb = x.shape[4]
    n, (k, c, kh, kw) = x.shape[0], w.shape
    _, _, _, _, oh, ow = _checks.window((n, c) + x.shape[2:4], kh, kw, stride, pad)
    shape = (n, _blocks(k, cb), oh, ow, cb)
    if out is not None:
        out = _checks.output(out, "out", shape, x.dtype)
        _checks.no_overlap(out, "out", (x, w, b))
    else:
        _checks.check_alloc(shape, x.dtype, "conv2d_blk_forward")
    return implementation("conv2d_blk_forward")(x, w, b, stride, pad, bool(plain), cb, out, relu)


def conv2d_blk_backward_data(dyb, w, x_shape, stride=1, pad=0, out=None):
    """The data gradient of conv2d_blk_forward, blocked: dyb (N, Kb, OH, OW, cb), w (K, C, KH, KW),
    x_shape the forward input's NCHW shape. Returns dxb (N, Cb, H, W, cb); into `out` if given."""
    w = _checks.float_array(w, "w", ndim=4)
    dyb = _blocked(dyb, "dyb", w.shape[0])
    x_shape = _checks.image_shape(x_shape)
    w, _ = _weights_bias(w, None, dyb.dtype)
    if x_shape[1] != w.shape[1]:
        raise ValueError(f"x_shape: expected {w.shape[1]} channels (those of w {w.shape}), got {x_shape}")
    _, _, _, _, oh, ow = _checks.window(x_shape, w.shape[2], w.shape[3], stride, pad)
    cb = dyb.shape[4]
    _checks.has_shape(dyb, (x_shape[0], _blocks(w.shape[0], cb), oh, ow, cb), "dyb",
                      "N, Kb, OH, OW, cb of the forward output")
    shape = (x_shape[0], _blocks(x_shape[1], cb), x_shape[2], x_shape[3], cb)
    if out is not None:
        out = _checks.output(out, "out", shape, dyb.dtype)
        _checks.no_overlap(out, "out", (dyb, w))
    else:
        _checks.check_alloc(shape, dyb.dtype, "conv2d_blk_backward_data")
    return implementation("conv2d_blk_backward_data")(dyb, w, x_shape, stride, pad, out)


def conv2d_blk_backward_weights(dyb, x, w_shape, stride=1, pad=0, plain=False, out=None):
    """(dw (K, C, KH, KW), db (K,)) of conv2d_blk_forward: dyb (N, Kb, OH, OW, cb), x the forward's
    input (blocked, or NCHW when plain). out=(dw, db) arrays to write into (either may be None)."""
    w_shape = tuple(int(v) for v in w_shape)
    if len(w_shape) != 4 or min(w_shape) < 1:
        raise ValueError(f"w_shape: expected (K, C, KH, KW) of positive sizes, got {w_shape}")
    k, c, kh, kw = w_shape
    x = _checks.float_array(x, "x", ndim=4) if plain else _blocked(x, "x", c)
    if plain and x.shape[1] != c:
        raise ValueError(f"x: expected {c} channels (w_shape {w_shape}), got shape {x.shape}")
    dyb = _blocked(dyb, "dyb", k)
    if dyb.dtype != x.dtype:
        raise TypeError(f"dyb: expected dtype {x.dtype} (that of x), got {dyb.dtype}")
    _, _, _, _, oh, ow = _checks.window((x.shape[0], c) + x.shape[2:4], kh, kw, stride, pad)
    cb = dyb.shape[4]
    if not plain and x.shape[4] != cb:
        raise ValueError(f"x: block width {x.shape[4]} differs from dyb's {cb}")
    _checks.has_shape(dyb, (x.shape[0], _blocks(k, cb), oh, ow, cb), "dyb", "N, Kb, OH, OW, cb of the forward output")
    if out is not None:
        out = _checks.outputs(out, "conv2d_blk_backward_weights", [(w_shape, x.dtype), ((k,), x.dtype)], (dyb, x))
    return implementation("conv2d_blk_backward_weights")(dyb, x, w_shape, stride, pad, bool(plain), out)


# ---- the plan of a Conv2D layer: which engine runs it -----------------------------------------------
# A layer asks conv2d_plan once per input shape (and backend, SIMD path, forced engine) and caches the
# answer. The rule follows the prototype's measurements (issue 13): the direct kernels beat im2col + GEMM
# on every 3x3 and 5x5 layer of the bundled networks, strided ones too, by 1.2-3x (first layers with one
# input channel most, read in place as NCHW: "plain"). im2col is kept for 1x1 kernels of stride 1 without
# padding: there it is one GEMM with no unfolding at all, while the direct engine of a layer that takes
# and gives NCHW pays two layout conversions; and for plain inputs of a layer whose output does not go on
# blocked (a layer called on its own, as the book's networks call theirs): there its backward pass pads
# the input gradient to a whole block of channels and converts it back (float64 SimpleConvNet's 1-channel
# 5x5 layer, Zen 4, 1 thread: forward + backward 28 ms direct, 13 ms im2col). CNET_CONV=im2col|direct
# (or set_conv_engine) forces one.

ENGINES = ("auto", "direct", "im2col")
PLAIN_MAX_CHANNELS = 4     # inputs with at most this many channels are read as NCHW ("plain")


def _engine_from_env():
    value = os.environ.get("CNET_CONV", "").strip().lower() or "auto"
    if value not in ENGINES:
        raise ValueError(f"CNET_CONV={os.environ['CNET_CONV']!r}: expected one of {', '.join(ENGINES)}")
    return value


_engine = {"forced": _engine_from_env()}


def conv_engine():
    """'auto' (a plan per layer shape), or the engine CNET_CONV / set_conv_engine forces."""
    return _engine["forced"]


def set_conv_engine(name):
    """Force the convolution engine of every Conv2D layer: 'direct' or 'im2col'; 'auto' (or None) returns
    to the plan per layer shape. Layers re-plan at their next call. Process-wide."""
    name = "auto" if name is None else name
    if name not in ENGINES:
        raise ValueError(f"set_conv_engine: unknown engine {name!r}; expected one of {ENGINES}")
    _engine["forced"] = name


def _blocked_from_env():
    value = os.environ.get("CNET_BLOCKED", "").strip() or "1"
    if value not in ("0", "1"):
        raise ValueError(f"CNET_BLOCKED={os.environ['CNET_BLOCKED']!r}: expected 0 or 1")
    return value == "1"


_engine["blocked"] = _blocked_from_env()


def blocked_activations():
    """Whether models keep activations blocked between their layers (cnet/layers/_blocked.py)."""
    return _engine["blocked"]


def set_blocked_activations(on):
    """Keep activations in the blocked layout from one Conv2D/MaxPooling2D(2x2)/ReLU/Dropout layer of a
    model to the next (True, the default), or convert at every Conv2D (False). Process-wide; CNET_BLOCKED=0
    or 1 sets it at import."""
    if not isinstance(on, bool):
        raise TypeError(f"set_blocked_activations: expected True or False, got {on!r}")
    _engine["blocked"] = on


def conv2d_blk_last_tiles():
    """The register tiles the direct kernels' planner chose at the last call of each pass, process-wide
    (for the benchmark): forward and backward-data (output blocks, pixels), weight gradient (lanes or
    taps, blocks) and its number of image chunks."""
    return _kernels.conv2d_blk_last_tiles()


def conv2d_plan(x_shape, w_shape, stride, pad, dtype, in_model=True):
    """The plan of a convolution of x (N, C, H, W) by w (K, C, KH, KW): a dict with 'engine' ('direct',
    'im2col', or 'numpy' on the numpy backend, where the reference runs), 'plain' (direct: the input is
    read as NCHW), 'cb' (direct: the block width), 'simd' and 'why'. in_model: the layer hands its output
    on to one layer of a model (False: a layer called on its own, or whose output leaves the model)."""
    (sh, sw, ph, pw, _, _), c = _checks.window(x_shape, w_shape[2], w_shape[3], stride, pad), x_shape[1]
    simd, forced = _kernels.simd_path(), conv_engine()
    plan = {"engine": "im2col", "plain": False, "cb": None, "simd": simd}
    if get_backend() != "c":
        return dict(plan, engine="numpy", why="numpy backend: the reference")
    one_by_one = w_shape[2:] == (1, 1) and (sh, sw, ph, pw) == (1, 1, 0, 0)
    if forced == "im2col" or (forced == "auto" and one_by_one):
        return dict(plan, why="forced (CNET_CONV or set_conv_engine)" if forced == "im2col" else
                    "1x1, stride 1, no padding: one GEMM, no unfolding")
    plain = c <= PLAIN_MAX_CHANNELS
    if forced == "auto" and plain and not in_model:
        return dict(plan, why=f"{c} input channel(s), output back to NCHW (no next layer takes it blocked): "
                    "the NCHW kernel (rows of output pixels at stride 1, else im2col + GEMM) measures "
                    "faster than the direct kernels, which pad the channels to a block")
    return dict(plan, engine="direct", plain=plain, cb=blk_width(dtype),
                why="forced (CNET_CONV or set_conv_engine)" if forced == "direct" else
                "direct beats im2col on this shape class (issue 13 prototype)")


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


def _to_blocked_c(x, cb, out):
    n, c, h, w = x.shape
    xb = np.empty((n, _blocks(c, cb), h, w, cb), dtype=x.dtype) if out is None else out
    _kernels.to_blocked(xb, x, get_num_threads())
    return xb


def _from_blocked_c(xb, channels, out):
    x = np.empty((xb.shape[0], channels) + xb.shape[2:4], dtype=xb.dtype) if out is None else out
    _kernels.from_blocked(x, xb, get_num_threads())
    return x


def _conv2d_blk_forward_c(x, w, b, stride, pad, plain, cb, out, relu):
    k, c, kh, kw = w.shape
    sh, sw, ph, pw, oh, ow = _checks.window((x.shape[0], c) + x.shape[2:4], kh, kw, stride, pad)
    kb = _blocks(k, cb)
    wb = np.empty((kb, 1, kh, kw, c, cb) if plain else (kb, _blocks(c, cb), kh, kw, cb, cb), dtype=w.dtype)
    _kernels.conv2d_blk_weights(wb, w, plain)
    yb = np.empty((x.shape[0], kb, oh, ow, cb), dtype=x.dtype) if out is None else out
    _kernels.conv2d_blk_forward(yb, x, wb, b, c, k, sh, sw, ph, pw, plain, bool(relu), get_num_threads())
    return yb


def _conv2d_blk_backward_data_c(dyb, w, x_shape, stride, pad, out):
    k, c, kh, kw = w.shape
    sh, sw, ph, pw, _, _ = _checks.window(x_shape, kh, kw, stride, pad)
    cb = dyb.shape[4]
    wt = np.empty((_blocks(c, cb), _blocks(k, cb), kh, kw, cb, cb), dtype=w.dtype)
    _kernels.conv2d_blk_weights_bwd(wt, w)
    n, _, h, wd = x_shape
    dxb = np.empty((n, _blocks(c, cb), h, wd, cb), dtype=dyb.dtype) if out is None else out
    _kernels.conv2d_blk_backward_data(dxb, dyb, wt, c, k, sh, sw, ph, pw, get_num_threads())
    return dxb


def _conv2d_blk_backward_weights_c(dyb, x, w_shape, stride, pad, plain, out):
    k, c, kh, kw = w_shape
    sh, sw, ph, pw, _, _ = _checks.window((x.shape[0], c) + x.shape[2:4], kh, kw, stride, pad)
    dw, db = out if out is not None else (None, None)
    dw = np.empty(w_shape, dtype=x.dtype) if dw is None else dw
    db = np.empty(k, dtype=x.dtype) if db is None else db
    _kernels.conv2d_blk_backward_weights(dw, db, dyb, x, sh, sw, ph, pw, plain, get_num_threads())
    return dw, db


# ---- the reference, adapted to the C implementations' signature -----------------------------------

def _conv2d_forward_numpy(x, w, b, stride, pad, out, relu):
    y = reference.conv2d_forward(x, w, b, stride, pad)
    return into(out, reference.relu_forward(y) if relu else y)


def _conv2d_backward_numpy(dy, x, w, stride, pad, out, need_dx):
    dx, dw, db = reference.conv2d_backward(dy, x, w, stride, pad)
    return into(out, (dx if need_dx else None, dw, db))


def _conv2d_blk_forward_numpy(x, w, b, stride, pad, plain, cb, out, relu):
    return into(out, reference.conv2d_blk_forward(x, w, b, stride, pad, plain, relu, cb))


register("im2col", reference.im2col, _im2col_c)
register("col2im", reference.col2im, _col2im_c)
register("conv2d_forward", _conv2d_forward_numpy, _conv2d_forward_c)
register("conv2d_backward", _conv2d_backward_numpy, _conv2d_backward_c)
register("to_blocked", with_out(reference.to_blocked), _to_blocked_c)
register("from_blocked", with_out(reference.from_blocked), _from_blocked_c)
register("conv2d_blk_forward", _conv2d_blk_forward_numpy, _conv2d_blk_forward_c)
register("conv2d_blk_backward_data", with_out(reference.conv2d_blk_backward_data), _conv2d_blk_backward_data_c)
register("conv2d_blk_backward_weights", with_out(reference.conv2d_blk_backward_weights),
         _conv2d_blk_backward_weights_c)
