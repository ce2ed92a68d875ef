"""The book's common/util.py: loss-curve smoothing, data shuffling, convolution sizes, im2col/col2im.

``im2col``/``col2im`` are cnet's kernels (cnet.ops) with the book's layout: ``im2col(x, fh, fw, stride,
pad)`` of x (N, C, H, W) is (N*OH*OW, C*fh*fw), a row per output position (n, oh, ow), its columns in
(c, kh, kw) order; ``col2im`` adds the rows back into an (N, C, H, W) image (overlapping windows sum).
As in the book both return float64 whatever the input's dtype.
"""
import numpy as np

from cnet import ops as _ops

__all__ = ["np", "smooth_curve", "shuffle_dataset", "conv_output_size", "im2col", "col2im"]

_SMOOTH_WINDOW = 11      # taps of the Kaiser window (beta 2) smooth_curve averages with
_SMOOTH_BETA = 2


def smooth_curve(x):
    """x (a sequence of at least 11 losses) smoothed by a normalized 11-tap Kaiser window (beta 2),
    same length.

    Beyond the ends the curve is extended by its mirror image: at the start without repeating the
    first value, at the end repeating the last one (the book's choice, kept so figures match).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    taps = _SMOOTH_WINDOW
    if x.size < taps:
        raise ValueError(f"smooth_curve needs at least {taps} values, got {x.size}")
    weights = np.kaiser(taps, _SMOOTH_BETA)
    weights = weights / weights.sum()
    reach = taps - 1
    padded = np.concatenate([x[reach:0:-1], x, x[::-1][:reach]])
    smoothed = np.convolve(weights, padded, mode="valid")    # centred on padded[taps // 2 + j]
    start = reach - taps // 2
    return smoothed[start:start + x.size]


def shuffle_dataset(x, t):
    """(x, t) with the same random order applied to both (numpy's global random generator)."""
    order = np.random.permutation(x.shape[0])
    return x[order], t[order]


def conv_output_size(input_size, filter_size, stride=1, pad=0):
    """(input_size + 2 pad - filter_size) / stride + 1 (a float, as in the book)."""
    return (input_size + 2 * pad - filter_size) / stride + 1


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """The windows of input_data (N, C, H, W) as rows: (N*out_h*out_w, C*filter_h*filter_w), float64."""
    return _ops.im2col(np.asarray(input_data, dtype=np.float64), filter_h, filter_w, stride, pad)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The inverse arrangement of im2col, overlapping windows summed: an (N, C, H, W) float64 image."""
    return _ops.col2im(np.asarray(col, dtype=np.float64), tuple(input_shape), filter_h, filter_w, stride, pad)
