"""2-D max and average pooling over each (H, W) plane of an (N, C, H, W) array.

OH = (H + 2*pad_h - PH)//stride_h + 1 (OW likewise); stride None means stride = window.
"""

import numpy as np

from ._util import as_float, check_ndim, check_shape, out_size, pair
from .conv import from_blocked, to_blocked


def _geometry(x_shape, ph, pw, stride, pad):
    if stride is None:
        stride = (ph, pw)
    sh, sw = pair(stride, "stride")
    pad_h, pad_w = pair(pad, "pad")
    _, _, h, w = x_shape
    oh = out_size(h, ph, sh, pad_h, "pool height")
    ow = out_size(w, pw, sw, pad_w, "pool width")
    return sh, sw, pad_h, pad_w, oh, ow


def _check_x(x):
    x = as_float(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    return x


def maxpool2d_forward(x, ph, pw, stride=None, pad=0, positions=False):
    """Max over each PH x PW window; padding is -inf, so it is never the maximum.

    Returns (y, argmax): y is (N, C, OH, OW); argmax is int64 (N, C, OH, OW) holding the flat index
    h*W + w, in the unpadded input plane, of the element taken -- or, with positions=True, uint8 holding
    its position i*PW + j in its window (PH*PW <= 256). Ties go to the first element in row-major window
    order; a NaN in a window wins (the first NaN). pad must be smaller than the window, so that every
    window holds at least one input element.
    """
    x = _check_x(x)
    n, c, h, w = x.shape
    sh, sw, pad_h, pad_w, oh, ow = _geometry(x.shape, ph, pw, stride, pad)
    if pad_h >= ph or pad_w >= pw:
        raise ValueError(f"pad {(pad_h, pad_w)} must be smaller than the pool window {(ph, pw)}")
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)), constant_values=-np.inf)
    # vals[i*PW + j, n, c, oh, ow] = xp[n, c, oh*sh + i, ow*sw + j]: the window in row-major order.
    vals = np.stack([xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
                     for i in range(ph) for j in range(pw)])
    # Input row/column of every window element, and whether it lies inside the unpadded plane.
    rows = np.arange(oh)[None, :] * sh + np.arange(ph)[:, None] - pad_h     # (PH, OH)
    cols = np.arange(ow)[None, :] * sw + np.arange(pw)[:, None] - pad_w     # (PW, OW)
    inside = (((rows >= 0) & (rows < h))[:, None, :, None]
              & ((cols >= 0) & (cols < w))[None, :, None, :]).reshape(ph * pw, 1, 1, oh, ow)
    y = vals.max(axis=0)
    # First window element equal to the maximum that is not padding (padding ties only when every
    # input element of the window is -inf). NaN != NaN, so NaN maxima are matched with isnan.
    hit = ((vals == y) | np.isnan(vals)) & inside
    k = hit.argmax(axis=0)
    if positions:
        if ph * pw > 256:
            raise ValueError(f"window positions are uint8: a window of at most 256 elements, got {(ph, pw)}")
        return np.ascontiguousarray(y), k.astype(np.uint8)
    i, j = np.divmod(k, pw)
    r = np.arange(oh)[:, None] * sh + i - pad_h
    s = np.arange(ow)[None, :] * sw + j - pad_w
    argmax = (r * w + s).astype(np.int64)
    return np.ascontiguousarray(y), argmax


def _positions_to_index(pos, x_shape, window):
    """The flat plane indices (int64) of the window positions pos (uint8) of the windows
    window = (ph, pw, stride, pad) over planes of x_shape; ValueError for a position past its window
    or on its padding."""
    ph, pw, stride, pad = window
    _, _, h, w = x_shape
    sh, sw, pad_h, pad_w, oh, ow = _geometry(x_shape, ph, pw, stride, pad)
    check_shape(pos, pos.shape[:2] + (oh, ow), "argmax")
    k = pos.astype(np.int64)
    i, j = np.divmod(k, pw)
    r = np.arange(oh)[:, None] * sh + i - pad_h
    s = np.arange(ow)[None, :] * sw + j - pad_w
    if ((k >= ph * pw) | (r < 0) | (r >= h) | (s < 0) | (s >= w)).any():
        raise ValueError(f"argmax holds window positions outside their {ph}x{pw} windows or on their padding")
    return r * w + s


def maxpool2d_backward(dy, argmax, x_shape, window=None):
    """dx[n, c].flat[argmax[n, c, oh, ow]] += dy[n, c, oh, ow]; dy and argmax are (N, C, OH, OW).
    argmax of uint8: the forward's window positions, with window = (ph, pw, stride, pad) its windows."""
    dy = as_float(dy, "dy")
    argmax = np.asarray(argmax)
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    n, c, h, w = (int(s) for s in x_shape)
    check_ndim(dy, 4, "dy", "(N, C, OH, OW)")
    check_shape(argmax, dy.shape, "argmax")
    if dy.shape[:2] != (n, c):
        raise ValueError(f"dy has shape {dy.shape}, which does not match x_shape {(n, c, h, w)}")
    if argmax.dtype.kind not in "iu":
        raise TypeError(f"argmax must hold integers, got {argmax.dtype}")
    if (argmax.dtype == np.uint8) != (window is not None):
        raise ValueError("window (ph, pw, stride, pad) goes with uint8 window positions, and only with them")
    if window is not None:
        argmax = _positions_to_index(argmax, (n, c, h, w), window)
    if argmax.size and (argmax.min() < 0 or argmax.max() >= h * w):
        raise ValueError(f"argmax holds indices outside [0, {h * w})")
    dx = np.zeros((n, c, h * w), dtype=dy.dtype)
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    np.add.at(dx, (nn, cc, argmax), dy)   # unbuffered: overlapping windows add
    return dx.reshape(n, c, h, w)


def avgpool2d_forward(x, ph, pw, stride=None, pad=0):
    """Mean over each PH x PW window, zero padding counted in the divisor.

    Every window is divided by PH*PW, also where it overlaps the padding (PyTorch's
    count_include_pad=True). x (N, C, H, W) -> y (N, C, OH, OW).
    """
    x = _check_x(x)
    n, c, _, _ = x.shape
    sh, sw, pad_h, pad_w, oh, ow = _geometry(x.shape, ph, pw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    y = np.zeros((n, c, oh, ow), dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            y += xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    y /= x.dtype.type(ph * pw)
    return y


def avgpool2d_backward(dy, x_shape, ph, pw, stride=None, pad=0):
    """Each input element gets dy/(PH*PW) from every window that covers it."""
    dy = as_float(dy, "dy")
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    n, c, h, w = (int(s) for s in x_shape)
    sh, sw, pad_h, pad_w, oh, ow = _geometry((n, c, h, w), ph, pw, stride, pad)
    check_shape(dy, (n, c, oh, ow), "dy")
    g = dy / dy.dtype.type(ph * pw)
    dxp = np.zeros((n, c, h + 2 * pad_h, w + 2 * pad_w), dtype=dy.dtype)
    for i in range(ph):
        for j in range(pw):
            dxp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += g
    return np.ascontiguousarray(dxp[:, :, pad_h:pad_h + h, pad_w:pad_w + w])


# ---- 2x2 max pooling on the channel-blocked layout (see reference/conv.py: to_blocked) -------------

def maxpool2d_blk_forward(xb):
    """2x2 windows, stride 2, on blocked xb (N, Cb, H, W, cb) -> (yb, arg), both (N, Cb, H//2, W//2, cb):
    the maxima as maxpool2d_forward takes them, and arg (uint8) the window position 0..3 (row-major)
    of each, for every lane (lanes past C hold zeros: 0 at position 0). The odd last row and column
    are in no window."""
    xb = as_float(xb, "xb")
    check_ndim(xb, 5, "xb", "(N, Cb, H, W, cb)")
    n, blocks, h, w, cb = xb.shape
    oh, ow = h // 2, w // 2
    if oh == 0 or ow == 0:
        return np.zeros((n, blocks, oh, ow, cb), xb.dtype), np.zeros((n, blocks, oh, ow, cb), np.uint8)
    x = from_blocked(xb, blocks * cb)
    y, argmax = maxpool2d_forward(x[:, :, :2 * oh, :2 * ow], 2, 2)
    r, s = np.divmod(argmax, 2 * ow)
    pos = (r - 2 * np.arange(oh)[:, None]) * 2 + (s - 2 * np.arange(ow)[None, :])
    arg = to_blocked(pos.astype(xb.dtype), cb).astype(np.uint8)
    return to_blocked(y, cb), arg


def maxpool2d_blk_backward(dyb, arg, x_hw):
    """dxb (N, Cb, H, W, cb), (H, W) = x_hw: each dyb element to its window's position arg, 0 elsewhere
    (the odd last row and column too)."""
    dyb = as_float(dyb, "dyb")
    check_ndim(dyb, 5, "dyb", "(N, Cb, OH, OW, cb)")
    check_shape(np.asarray(arg), dyb.shape, "arg")
    n, blocks, oh, ow, cb = dyb.shape
    h, w = (int(v) for v in x_hw)
    dxb = np.zeros((n, blocks, h, w, cb), dtype=dyb.dtype)
    for k in range(4):
        i, j = divmod(k, 2)
        dxb[:, :, i:2 * oh:2, j:2 * ow:2] = np.where(arg == k, dyb, dyb.dtype.type(0))
    return dxb
