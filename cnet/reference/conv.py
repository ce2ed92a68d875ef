"""2-D convolution by im2col + one matrix product (the book's layout).

Shapes: x is (N, C, H, W), w is (K, C, KH, KW), b is (K,), y is (N, K, OH, OW) with
OH = (H + 2*pad_h - KH)//stride_h + 1 (OW likewise). As in deep learning frameworks this is
a cross-correlation: the kernel is not flipped.
"""

import numpy as np

from ._util import as_float, check_ndim, check_same_dtype, check_shape, out_size, pair
from .activation import relu_forward


def _geometry(x_shape, kh, kw, stride, pad):
    sh, sw = pair(stride, "stride")
    ph, pw = pair(pad, "pad")
    _, _, h, w = x_shape
    oh = out_size(h, kh, sh, ph, "kernel height")
    ow = out_size(w, kw, sw, pw, "kernel width")
    return sh, sw, ph, pw, oh, ow


def im2col(x, kh, kw, stride=1, pad=0):
    """Unfold the kernel-sized windows of x into rows.

    x is (N, C, H, W). Returns col of shape (N*OH*OW, C*KH*KW): row index (n, oh, ow),
    column index (c, i, j), so that col @ w.reshape(K, -1).T is the convolution.
    Zero padding.
    """
    x = as_float(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    n, c, h, w = x.shape
    sh, sw, ph, pw, oh, ow = _geometry(x.shape, kh, kw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # col[n, c, i, j, oh, ow] = xp[n, c, oh*sh + i, ow*sw + j]: one strided slice per kernel offset.
    col = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def col2im(col, x_shape, kh, kw, stride=1, pad=0):
    """The adjoint of im2col: scatter the rows of col back to an (N, C, H, W) array.

    Where windows overlap their contributions add; values that landed in the padding are dropped.
    """
    col = as_float(col, "col")
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    n, c, h, w = (int(s) for s in x_shape)
    sh, sw, ph, pw, oh, ow = _geometry((n, c, h, w), kh, kw, stride, pad)
    check_shape(col, (n * oh * ow, c * kh * kw), "col")
    col6 = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += col6[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, ph:ph + h, pw:pw + w])


def _check_conv_args(x, w, b):
    x = as_float(x, "x")
    w = as_float(w, "w")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    check_ndim(w, 4, "w", "(K, C, KH, KW)")
    check_same_dtype(x, w=w)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w has {w.shape[1]} input channels (shape {w.shape}) "
                         f"but x has {x.shape[1]} (shape {x.shape})")
    if b is not None:
        b = as_float(b, "b")
        check_same_dtype(x, b=b)
        check_shape(b, (w.shape[0],), "b")
    return x, w, b


def conv2d_forward(x, w, b, stride=1, pad=0):
    """y[n, k] = sum over c, i, j of x_padded[n, c, oh*sh + i, ow*sw + j] * w[k, c, i, j] + b[k].

    x (N, C, H, W), w (K, C, KH, KW), b (K,) or None -> y (N, K, OH, OW).
    """
    x, w, b = _check_conv_args(x, w, b)
    n = x.shape[0]
    k, _, kh, kw = w.shape
    _, _, _, _, oh, ow = _geometry(x.shape, kh, kw, stride, pad)
    col = im2col(x, kh, kw, stride, pad)            # (N*OH*OW, C*KH*KW)
    y = col @ w.reshape(k, -1).T                     # (N*OH*OW, K)
    if b is not None:
        y += b
    return np.ascontiguousarray(y.reshape(n, oh, ow, k).transpose(0, 3, 1, 2))


def conv2d_backward(dy, x, w, stride=1, pad=0):
    """Gradients of conv2d_forward. dy is (N, K, OH, OW); returns (dx, dw, db) shaped like x, w, (K,)."""
    x, w, _ = _check_conv_args(x, w, None)
    dy = as_float(dy, "dy")
    check_same_dtype(x, dy=dy)
    n = x.shape[0]
    k, _, kh, kw = w.shape
    _, _, _, _, oh, ow = _geometry(x.shape, kh, kw, stride, pad)
    check_shape(dy, (n, k, oh, ow), "dy")
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, k)   # (N*OH*OW, K), rows in im2col order
    col = im2col(x, kh, kw, stride, pad)
    db = dy2.sum(axis=0)
    dw = (dy2.T @ col).reshape(w.shape)
    dcol = dy2 @ w.reshape(k, -1)                    # (N*OH*OW, C*KH*KW)
    dx = col2im(dcol, x.shape, kh, kw, stride, pad)
    return dx, dw, db


# ---- the channel-blocked layout of the direct convolution -----------------------------------------
# (N, C, H, W) is stored as (N, Cb, H, W, cb), Cb = ceil(C / cb): channel c in block c // cb, lane
# c % cb; lanes past C hold zeros. The reference computes through NCHW: convert, convolve, convert.

def to_blocked(x, cb):
    """x (N, C, H, W) -> (N, ceil(C/cb), H, W, cb), the lanes past C zero."""
    x = as_float(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    n, c, h, w = x.shape
    blocks = -(-c // cb)
    xp = np.zeros((n, blocks * cb, h, w), dtype=x.dtype)
    xp[:, :c] = x
    return np.ascontiguousarray(xp.reshape(n, blocks, cb, h, w).transpose(0, 1, 3, 4, 2))


def from_blocked(xb, channels):
    """xb (N, Cb, H, W, cb) -> (N, channels, H, W): the first `channels` lanes."""
    xb = as_float(xb, "xb")
    check_ndim(xb, 5, "xb", "(N, Cb, H, W, cb)")
    n, blocks, h, w, cb = xb.shape
    return np.ascontiguousarray(xb.transpose(0, 1, 4, 2, 3).reshape(n, blocks * cb, h, w)[:, :channels])


def conv2d_blk_forward(x, w, b, stride=1, pad=0, plain=False, relu=False, cb=None):
    """conv2d_forward (then ReLU when relu) on blocked x (N, Cb, H, W, cb), or on NCHW x when plain
    (then cb gives the output's block width); returns the blocked y (N, Kb, OH, OW, cb)."""
    xn = x if plain else from_blocked(x, w.shape[1])
    y = conv2d_forward(xn, w, b, stride, pad)
    if relu:
        y = relu_forward(y)
    return to_blocked(y, cb if plain else x.shape[4])


def conv2d_blk_backward_data(dyb, w, x_shape, stride=1, pad=0):
    """The data gradient of conv2d_blk_forward, blocked like dyb: dyb (N, Kb, OH, OW, cb), x_shape the
    NCHW shape (N, C, H, W) of the forward's input."""
    w = as_float(w, "w")
    dy = from_blocked(dyb, w.shape[0])
    dx, _, _ = conv2d_backward(dy, np.zeros(tuple(x_shape), dtype=w.dtype), w, stride, pad)
    return to_blocked(dx, dyb.shape[4])


def conv2d_blk_backward_weights(dyb, x, w_shape, stride=1, pad=0, plain=False):
    """(dw (K, C, KH, KW), db (K,)) of conv2d_blk_forward from blocked dyb and the forward's x."""
    k, c = w_shape[:2]
    xn = x if plain else from_blocked(x, c)
    _, dw, db = conv2d_backward(from_blocked(dyb, k), xn, np.zeros(tuple(w_shape), dtype=xn.dtype),
                                stride, pad)
    return dw, db
