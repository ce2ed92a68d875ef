"""Reference of the cast family: the 16-bit weight formats to and from float32.

float16 is NumPy's IEEE half; bfloat16, which NumPy lacks, is held as its 16-bit patterns (uint16, the
top half of a float32). Semantics (cnet.h): widening is exact; narrowing rounds to nearest, ties to
even, keeps subnormals and gives inf past the format's range; a NaN stays a NaN of the same sign with
its quiet bit set (float16 <-> float32 keep the payload's top bits, float32 -> bfloat16 truncates it).
"""
import numpy as np

FORMATS = ("float16", "bfloat16")


def cast_to_float32(x, fmt):
    """x (float16 values, or bfloat16 patterns as uint16) widened to float32, exactly."""
    if fmt == "float16":
        y = np.asarray(x, dtype=np.float16).astype(np.float32)
        bits = y.view(np.uint32)
        bits[np.isnan(y)] |= np.uint32(0x00400000)       # NaNs come out quiet
        return y
    bits = np.asarray(x, dtype=np.uint16).astype(np.uint32) << np.uint32(16)
    return bits.view(np.float32)


def cast_from_float32(x, fmt):
    """x (float32) rounded to nearest even: float16 values, or bfloat16 patterns (uint16)."""
    x = np.asarray(x, dtype=np.float32)
    nan = np.isnan(x)
    u = x.view(np.uint32)
    if fmt == "float16":
        with np.errstate(over="ignore"):
            y = x.astype(np.float16)
        bits = y.view(np.uint16)
        bits[nan] = ((u[nan] >> 16) & 0x8000) | 0x7E00 | ((u[nan] >> 13) & 0x3FF)
        return y
    # bfloat16: the top 16 bits of x + 0x7fff + (the lowest kept bit): round to nearest, ties to even
    wide = u.astype(np.uint64)
    rounded = ((wide + 0x7FFF + ((wide >> 16) & 1)) >> 16).astype(np.uint16)
    rounded[nan] = (u[nan] >> 16).astype(np.uint16) | 0x40
    return rounded
