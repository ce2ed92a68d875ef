"""Ops of the cast family: weights stored in 16 bits, widened to float32 for the kernels.

Formats: 'float16' (IEEE half, NumPy's float16 arrays) and 'bfloat16' (NumPy has no such dtype: its
16-bit patterns in a uint16 array, the top half of each float32). Widening is exact; narrowing rounds
to nearest, ties to even (cnet.h, cnet/reference/cast.py).
"""
import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, register

__all__ = ["cast_to_float32", "cast_from_float32"]

WEIGHT_FORMATS = reference.cast.FORMATS
_STORAGE = {"float16": np.dtype(np.float16), "bfloat16": np.dtype(np.uint16)}


def weight_format(fmt, what="weight format"):
    """fmt as 'float16' or 'bfloat16' (also given as np.float16 / a dtype); anything else: a clear error."""
    if isinstance(fmt, str) and fmt in _STORAGE:
        return fmt
    try:
        if not isinstance(fmt, str) and np.dtype(fmt) == np.float16:
            return "float16"
    except TypeError:
        pass
    raise ValueError(f"{what}: expected 'float16' or 'bfloat16' (weights stored in 16 bits, widened to float32 "
                     f"by the kernels), got {fmt!r}")


def storage_dtype(fmt):
    """The NumPy dtype that holds weights of format fmt: float16, or uint16 (bfloat16's bit patterns)."""
    return _STORAGE[weight_format(fmt)]


def _stored(x, fmt, name):
    fmt = weight_format(fmt)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray of {_STORAGE[fmt]} ({fmt}), got {type(x).__name__}")
    if x.dtype != _STORAGE[fmt]:
        hint = " (bfloat16 weights are held as their 16-bit patterns)" if fmt == "bfloat16" else ""
        raise TypeError(f"{name}: {fmt} weights must be a {_STORAGE[fmt]} array{hint}, got dtype {x.dtype}")
    return fmt, np.ascontiguousarray(x)


def cast_to_float32(x, fmt, out=None):
    """x (fmt: 'float16' values, or 'bfloat16' patterns as uint16), any shape, widened to float32
    (exact). Written into `out` (float32, x's shape) when given."""
    fmt, x = _stored(x, fmt, "x")
    _checks.check_alloc(x.shape, np.float32, "cast_to_float32")
    out = _checks.output(out, "out", x.shape, np.dtype(np.float32)) if out is not None else None
    return implementation("cast_to_float32")(x, fmt, out)


def cast_from_float32(x, fmt, out=None):
    """x (float32, any shape) rounded to nearest even to fmt: a float16 array, or a uint16 array of
    bfloat16 patterns. Written into `out` (x's shape, that dtype) when given."""
    fmt = weight_format(fmt)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x: expected a numpy.ndarray of float32, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"x: expected dtype float32 (widen or narrow through float32), got dtype {x.dtype}")
    x = np.ascontiguousarray(x)
    _checks.check_alloc(x.shape, _STORAGE[fmt], "cast_from_float32")
    out = _checks.output(out, "out", x.shape, _STORAGE[fmt]) if out is not None else None
    return implementation("cast_from_float32")(x, fmt, out)


# ---- the implementations ---------------------------------------------------------------------------

def _to_float32_numpy(x, fmt, out):
    y = reference.cast_to_float32(x, fmt)
    if out is None:
        return y
    out[...] = y
    return out


def _from_float32_numpy(x, fmt, out):
    y = reference.cast_from_float32(x, fmt)
    if out is None:
        return y
    out.view(np.uint16)[...] = y.view(np.uint16)      # bit patterns (a NaN's payload too)
    return out


def _to_float32_c(x, fmt, out):
    y = np.empty(x.shape, np.float32) if out is None else out
    _kernels.cast_to_float32(y.reshape(-1), x.reshape(-1).view(np.uint16), fmt, get_num_threads())
    return y


def _from_float32_c(x, fmt, out):
    y = np.empty(x.shape, _STORAGE[fmt]) if out is None else out
    _kernels.cast_from_float32(y.reshape(-1).view(np.uint16), x.reshape(-1), fmt, get_num_threads())
    return y


register("cast_to_float32", _to_float32_numpy, _to_float32_c)
register("cast_from_float32", _from_float32_numpy, _from_float32_c)
