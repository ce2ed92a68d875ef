"""Affine resampling of a batch of images (N, C, H, W), one 2x3 matrix per image, with bilinear
interpolation and scipy.ndimage's boundary modes, vectorized over the batch (NumPy only).

The matrix of image n maps an output pixel's (row, col) to the input point it samples:
(r_in, c_in) = M[n, :, :2] @ (r, c) + M[n, :, 2], as scipy.ndimage.affine_transform(order=1) does.
Input points outside the image take, per fill_mode:
- 'constant': cval (an input point beyond the first or last pixel centre is not interpolated);
- 'nearest':  the nearest edge pixel (aaaa|abcd|dddd);
- 'reflect':  the image mirrored about its edges (dcba|abcd|dcba, scipy's 'reflect');
- 'wrap':     the image repeated (abcd|abcd|abcd, scipy's 'grid-wrap').
"""
import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _boundary(i, n, mode):
    """Integer pixel indices i mapped into [0, n) by the boundary rule (constant: clipped; masked later)."""
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)
    return np.clip(i, 0, n - 1)


def affine_batch(x, matrices, fill_mode="nearest", cval=0.0):
    """x (N, C, H, W) float, matrices (N, 2, 3): the resampled images, float64 (N, C, H, W)."""
    n, c, h, w = x.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    m = np.asarray(matrices, dtype=np.float64)
    r_in = m[:, 0, 0, None, None] * rows + m[:, 0, 1, None, None] * cols + m[:, 0, 2, None, None]   # (N, H, W)
    c_in = m[:, 1, 0, None, None] * rows + m[:, 1, 1, None, None] * cols + m[:, 1, 2, None, None]
    r0, c0 = np.floor(r_in), np.floor(c_in)
    fr, fc = r_in - r0, c_in - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    batch = np.arange(n)[:, None, None]
    planes = x.transpose(0, 2, 3, 1)                  # (N, H, W, C): one gather takes every channel
    out = np.zeros((n, h, w, c))
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        ri = _boundary(r0 + dr, h, fill_mode)
        for dc, wc in ((0, 1.0 - fc), (1, fc)):
            weight = wr * wc
            out += weight[..., None] * planes[batch, ri, _boundary(c0 + dc, w, fill_mode)]
    if fill_mode == "constant":
        outside = (r_in < 0) | (r_in > h - 1) | (c_in < 0) | (c_in > w - 1)
        out[outside] = cval
    return out.transpose(0, 3, 1, 2)
