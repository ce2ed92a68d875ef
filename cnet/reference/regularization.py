"""Inverted dropout and batch normalisation."""

import numbers

import numpy as np

from ._util import as_float, check_same_dtype, check_shape
from .rng import counter_uniform


def _check_rate(rate):
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    return rate


def dropout_mask(shape, rate, seed, dtype):
    """Inverted-dropout mask of the given shape: 0 where dropped, 1/(1 - rate) where kept.

    Element i (flat, C order) is kept when counter_uniform(size, seed)[i] >= rate, the comparison
    done in float64; the scale 1/(1 - rate) is computed in float64 and then rounded to dtype.
    """
    rate = _check_rate(rate)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    shape = (shape,) if isinstance(shape, numbers.Integral) else shape
    shape = tuple(int(s) for s in shape)
    size = int(np.prod(shape, dtype=np.int64))
    keep = counter_uniform(size, seed).reshape(shape) >= rate
    scale = dtype.type(1.0 / (1.0 - rate))
    return np.where(keep, scale, dtype.type(0))


def dropout_forward(x, rate, seed):
    """Training-time dropout: returns (y, mask) with y = x * mask and mask = dropout_mask(x.shape, ...)."""
    x = as_float(x, "x")
    mask = dropout_mask(x.shape, rate, seed, x.dtype)
    return x * mask, mask


def dropout_backward(dy, mask):
    dy = as_float(dy, "dy")
    mask = as_float(mask, "mask")
    check_same_dtype(dy, mask=mask)
    check_shape(mask, dy.shape, "mask")
    return dy * mask


def dropout_forward_keep(x, rate, seed):
    """dropout_forward with its mask as keep flags: (y, keep), keep uint8 of x's shape, 1 where kept."""
    y, mask = dropout_forward(x, rate, seed)
    return y, (mask != 0).astype(np.uint8)


def dropout_backward_keep(dy, keep, rate):
    """dy * (1/(1 - rate) where keep, else 0): dropout_backward with the mask of those keep flags."""
    dy = as_float(dy, "dy")
    check_shape(keep, dy.shape, "keep")
    scale = dy.dtype.type(1.0 / (1.0 - _check_rate(rate)))
    return dy * np.where(np.asarray(keep) != 0, scale, dy.dtype.type(0))


def _axes(x, name="x"):
    """Axes reduced over and the broadcast shape of per-feature arrays: (N, D) or (N, C, H, W)."""
    if x.ndim == 2:
        return (0,), (1, x.shape[1])
    if x.ndim == 4:
        return (0, 2, 3), (1, x.shape[1], 1, 1)
    raise ValueError(f"{name} must be 2-D (N, D) or 4-D (N, C, H, W), got shape {x.shape}")


def _check_params(x, **params):
    c = x.shape[1]
    for name, p in params.items():
        check_same_dtype(x, **{name: p})
        check_shape(p, (c,), name)


def batchnorm_forward(x, gamma, beta, eps=1e-3):
    """Training-mode batch normalisation.

    x (N, D) is normalised per feature over N; x (N, C, H, W) per channel over N, H and W.
    Returns (y, mean, inv_std) with mean and inv_std = 1/sqrt(var + eps) shaped (D,) or (C,),
    var the biased (divide by the count) batch variance; y = gamma * (x - mean) * inv_std + beta.
    """
    x = as_float(x, "x")
    gamma = as_float(gamma, "gamma")
    beta = as_float(beta, "beta")
    axes, bshape = _axes(x)
    _check_params(x, gamma=gamma, beta=beta)
    mean = x.mean(axis=axes)
    xc = x - mean.reshape(bshape)
    var = (xc * xc).mean(axis=axes)
    inv_std = x.dtype.type(1) / np.sqrt(var + x.dtype.type(eps))
    y = xc * (gamma * inv_std).reshape(bshape) + beta.reshape(bshape)
    return y, mean, inv_std


def batchnorm_backward(dy, x, gamma, mean, inv_std):
    """Gradients of batchnorm_forward's y (through the batch mean and variance too).

    With xhat = (x - mean) * inv_std and M the count per feature:
    dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * inv_std / M * (M*dy - dbeta - xhat*dgamma).
    """
    x = as_float(x, "x")
    dy = as_float(dy, "dy")
    gamma, mean, inv_std = (as_float(a, nm) for a, nm in
                            ((gamma, "gamma"), (mean, "mean"), (inv_std, "inv_std")))
    axes, bshape = _axes(x)
    check_same_dtype(x, dy=dy)
    check_shape(dy, x.shape, "dy")
    _check_params(x, gamma=gamma, mean=mean, inv_std=inv_std)
    m = x.size // x.shape[1]
    xhat = (x - mean.reshape(bshape)) * inv_std.reshape(bshape)
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    scale = (gamma * inv_std / x.dtype.type(m)).reshape(bshape)
    dx = scale * (x.dtype.type(m) * dy - dbeta.reshape(bshape) - xhat * dgamma.reshape(bshape))
    return dx, dgamma, dbeta


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-3):
    """y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta, per feature or channel."""
    x = as_float(x, "x")
    gamma, beta, rm, rv = (as_float(a, nm) for a, nm in
                           ((gamma, "gamma"), (beta, "beta"),
                            (running_mean, "running_mean"), (running_var, "running_var")))
    _, bshape = _axes(x)
    _check_params(x, gamma=gamma, beta=beta, running_mean=rm, running_var=rv)
    scale = gamma / np.sqrt(rv + x.dtype.type(eps))
    return (x - rm.reshape(bshape)) * scale.reshape(bshape) + beta.reshape(bshape)
