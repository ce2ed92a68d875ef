"""Weights stored in 16 bits for inference: ``layer.set_weight_dtype('float16')`` (or 'bfloat16').

A layer's parameters (``params``: kernels, biases, batch norm's gamma and beta; not its running
statistics) are then held in 16 bits -- half the memory of float32, a quarter of float64 -- and widened
back to the layer's compute dtype (float32, or float64 for the book's networks) by the cast kernels
(cnet.ops.cast_to_float32: F16C on the AVX2/AVX-512 paths) just before each forward pass, into
temporary arrays freed after it. So the kernels compute exactly what they would with full-precision
weights equal to the 16-bit values. Storage: NumPy float16 arrays for 'float16'; for 'bfloat16', which
NumPy lacks, uint16 arrays of its bit patterns. ``get_weights()`` returns the widened values (what the
layer computes with), ``set_weights`` rounds what it is given. Such a layer is for inference: backward
(training) raises until ``set_weight_dtype(None)`` widens the weights back.

Rounding to 16 bits is to nearest, ties to even, from the weights' own dtype (float64 weights are not
rounded to float32 first, so a float64 network's float16 weights are NumPy's ``astype(np.float16)``).
"""
import contextlib

import numpy as np

from .. import ops
from ..ops.cast import weight_format

_FULL = {None, "float32", "float64"}


def resolve(layer, dtype):
    """The 16-bit format dtype asks for, or None for full precision (None, 'float32', 'float64': the
    layer's compute dtype)."""
    if dtype is None or (isinstance(dtype, str) and dtype in _FULL):
        return None
    if not isinstance(dtype, str):
        try:
            if np.dtype(dtype) in (np.float32, np.float64):
                return None
        except TypeError:
            pass
    return weight_format(dtype, f"{layer.name}: set_weight_dtype (None or 'float32' for full precision)")


def _narrow(w, fmt):
    """w (float32/float64) rounded once to fmt, to nearest even: float16 values or bfloat16 patterns."""
    if w.dtype == np.float32:
        return ops.cast_from_float32(w, fmt)
    if fmt == "float16":
        with np.errstate(over="ignore"):
            return w.astype(np.float16)
    # float64 -> bfloat16 without double rounding: float32 rounded to odd (truncated toward zero, the
    # last bit set when inexact) keeps enough bits for one correct rounding to bfloat16's 8 bits
    with np.errstate(over="ignore", invalid="ignore"):
        w32 = w.astype(np.float32)
        back = w32.astype(np.float64)
        over = np.isfinite(w) & (np.abs(back) > np.abs(w))
        w32[over] = np.nextafter(w32[over], np.float32(0))
        inexact = np.isfinite(w) & (w32.astype(np.float64) != w)
    w32.view(np.uint32)[inexact] |= np.uint32(1)
    return ops.cast_from_float32(w32, fmt)


def to_storage(layer, value):
    """value (any numbers) as layer's 16-bit storage: in the layer's dtype first, then rounded once."""
    return _narrow(np.ascontiguousarray(value, dtype=layer.dtype), layer._weight_format)


def widened_array(v, fmt, dtype):
    """v (16-bit weights of format fmt) widened to dtype (float32 or float64), exactly; a new array."""
    w = ops.cast_to_float32(v, fmt)
    return w if dtype == np.float32 else w.astype(dtype)


def widened(layer):
    """{name: the layer's parameter in its compute dtype} (new arrays)."""
    return {k: widened_array(v, layer._weight_format, layer.dtype) for k, v in layer.params.items()}


def store(layer, fmt):
    """Hold layer's parameters in fmt (None: back to full precision in the layer's dtype)."""
    if fmt == layer._weight_format:
        return
    if not layer.params:
        if layer._has_weights:
            raise ValueError(f"{layer.name} has no weights yet: build it (or run it on data) before "
                             f"set_weight_dtype")
        return                    # a layer without parameters: nothing to store
    if layer.dtype not in (np.float32, np.float64):
        raise ValueError(f"{layer.name}: set_weight_dtype needs a float32 or float64 layer, not {layer.dtype}")
    full = widened(layer) if layer._weight_format is not None else dict(layer.params)
    if fmt is None:
        layer.params = full
        layer.grads = {k: np.zeros_like(v) for k, v in full.items()}
    else:
        layer.params = {k: _narrow(np.ascontiguousarray(v), fmt) for k, v in full.items()}
        layer.grads = {}          # an inference layer keeps no gradients: the memory is halved
    layer._weight_format = fmt


@contextlib.contextmanager
def full_precision(layer):
    """Within the block, layer.params holds the widened weights."""
    stored = layer.params
    layer.params = widened(layer)
    try:
        yield
    finally:
        layer.params = stored
