"""Small argument helpers shared by the reference ops (not part of the public API)."""

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def pair(value, name):
    """Normalise an int or an (h, w) pair of ints to a tuple (h, w)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
        h, w = value
    else:
        h = w = value
    try:
        return int(h), int(w)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}") from None


def as_float(x, name):
    """Return x as an array, checking that it is float32 or float64."""
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    return x


def check_same_dtype(ref, **arrays):
    """Raise TypeError unless every array in `arrays` has ref's dtype (None entries are skipped).

    Mixing float32 and float64 would make NumPy upcast the result silently; the C kernels
    take one dtype per call, so the reference refuses the mix too.
    """
    for name, a in arrays.items():
        if a is not None and a.dtype != ref.dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but the input is {ref.dtype}")


def check_ndim(x, ndim, name, layout=""):
    if x.ndim != ndim:
        what = f" {layout}" if layout else ""
        raise ValueError(f"{name} must be {ndim}-D{what}, got shape {x.shape}")


def check_shape(a, shape, name):
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)}")


def out_size(size, k, stride, pad, what):
    """Output length of a sliding window: (size + 2*pad - k)//stride + 1, checked to be >= 1."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if k < 1:
        raise ValueError(f"{what} size must be >= 1, got {k}")
    if size + 2 * pad < k:
        raise ValueError(f"{what} of size {k} does not fit an input of size {size} with pad {pad}")
    return (size + 2 * pad - k) // stride + 1
