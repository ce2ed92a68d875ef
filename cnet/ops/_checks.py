"""Argument checks with messages a user can act on: what was wrong, what was received, what was expected.

The checks of more than one op family live here; a family's own checks live in its module.
"""
import math
import numbers
import operator
import os

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOAT_DTYPES

# Allocations below this size are not checked against the available memory (reading it costs a file read).
_CHECK_ABOVE_BYTES = 256 << 20


def available_memory():
    """Bytes this process can still allocate without swapping: MemAvailable (Linux), capped by a cgroup v2
    memory limit; the free physical pages elsewhere; None when unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                avail = min(avail, max(0, int(limit) - int(f.read())))
    except (OSError, ValueError):
        pass
    return avail


def _gib(n):
    return f"{n / 2 ** 30:.3g} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.3g} MiB"


def check_alloc(shape, dtype, name, count=1):
    """Raise MemoryError (before allocating) when `count` arrays of `shape` and `dtype` would not fit in the
    available memory, ValueError when the shape is not a valid array shape. Python ints: no overflow."""
    nbytes = np.dtype(dtype).itemsize * count
    try:
        for d in shape:   # a loop, not generators: this runs before every op's allocation
            d = operator.index(d)
            if d < 0:
                raise ValueError(f"{name}: negative dimension in shape {tuple(shape)}")
            nbytes *= d
    except TypeError:
        raise TypeError(f"{name}: expected a shape of ints, got {shape!r}") from None
    if nbytes <= _CHECK_ABOVE_BYTES:
        return
    dims = tuple(operator.index(d) for d in shape)
    avail = available_memory()
    if nbytes >= 2 ** 63 or (avail is not None and nbytes > avail):
        raise MemoryError(f"{name}: an array of shape {dims} and dtype {np.dtype(dtype)} needs {_gib(nbytes)} "
                          f"of memory, more than the {_gib(avail or 0)} available; use smaller inputs or "
                          f"batches")


def contiguous(x, name):
    """x as a C-contiguous array of the same shape (0-d arrays stay 0-d); a copy is size-checked first."""
    if x.flags.c_contiguous:
        return x
    check_alloc(x.shape, x.dtype, name)
    return np.ascontiguousarray(x).reshape(x.shape)


def _describe(x):
    return f"array of shape {x.shape} and dtype {x.dtype}"


def float_array(x, name, ndim=None, min_ndim=None, dtype=None):
    """x as a C-contiguous float32/float64 ndarray (non-contiguous inputs are copied).

    Raises TypeError for a non-array or a dtype other than float32/float64 (or other than `dtype`),
    ValueError for a wrong number of dimensions or an empty batch (first axis of length 0).
    """
    if type(x) is np.ndarray:   # the common case in one test (~0.1 us): a valid C-contiguous array
        dt, nd = x.dtype, x.ndim
        if ((dt is _F32 or dt is _F64) and (dtype is None or dt is dtype) and (ndim is None or nd == ndim)
                and (min_ndim is None or nd >= min_ndim) and (nd == 0 or x.shape[0] != 0)
                and x.flags.c_contiguous):
            return x
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray of float32 or float64, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {_describe(x)}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)} (the dtype of the other operands), "
                        f"got {_describe(x)}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got {_describe(x)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions, got {_describe(x)}")
    if x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(f"{name}: empty batch, got {_describe(x)}; expected at least one sample")
    return contiguous(x, name)


def same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def empty(shape, dtype, name):
    """A new uninitialised array, its size checked against the available memory first."""
    check_alloc(shape, dtype, name)
    return np.empty(shape, dtype=dtype)


def output(out, name, shape, dtype):
    """Allocate an output, or check a caller-supplied one: right shape and dtype, C-contiguous, writable."""
    if out is None:
        return empty(shape, dtype, name)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape) or out.dtype != dtype:
        raise ValueError(f"{name}: expected shape {tuple(shape)} and dtype {np.dtype(dtype)}, got {_describe(out)}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name}: an output must be C-contiguous, got a non-contiguous {_describe(out)}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: an output must be writable, got a read-only {_describe(out)}")
    return out


def in_place_out(out, like, inputs):
    """The output of an element-wise op, checked: None, or an array of like's shape and dtype (C-contiguous,
    writable) that overlaps no input, unless it is one exactly (in place)."""
    if out is not None:
        out = output(out, "out", like.shape, like.dtype)
        no_overlap(out, "out", inputs, allow_identical=True)
    return out


def outputs(out, op, specs, inputs):
    """The caller-supplied outputs of a multi-output op, checked: a tuple with one entry per output, an
    array to write into or None (allocated). specs: the (shape, dtype) of each output. No output may
    overlap an input or another output."""
    if not isinstance(out, tuple) or len(out) != len(specs):
        raise TypeError(f"{op}: out must be a tuple of {len(specs)} arrays or None, got {out!r}")
    out = tuple(None if o is None else output(o, f"out[{i}]", shape, dtype)
                for i, (o, (shape, dtype)) in enumerate(zip(out, specs)))
    given = [o for o in out if o is not None]
    for i, o in enumerate(given):
        no_overlap(o, f"{op} out", list(inputs) + given[i + 1:])
    return out


def real(value, name, low=None, high=None, low_open=False, high_open=False):
    """value as a Python float, checked to be a real number in the given range (TypeError/ValueError)."""
    if type(value) is not float and type(value) is not int and (   # the common cases skip the ABC checks
            isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer))):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = (not math.isfinite(v)
           or (low is not None and (v <= low if low_open else v < low))
           or (high is not None and (v >= high if high_open else v > high)))
    if bad:
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ValueError(f"{name}: expected a finite number {lo}{name}{hi}, got {value!r}")
    return v


def integer(value, name):
    """value as a Python int (bools refused)."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}") from None


def has_shape(a, shape, name, why):
    if a.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} ({why}), got {a.shape}")


# ---- sliding windows over (N, C, H, W) planes: convolution and pooling ----------------------------

def _hw_pair(value, name):
    """An int or an (h, w) pair of ints, as a tuple (h, w)."""
    if type(value) is int:
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        return value
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected an int or an (h, w) pair, got {value!r}")
        return integer(value[0], name), integer(value[1], name)
    v = integer(value, name)
    return v, v


def window(x_shape, kh, kw, stride, pad, what="kernel"):
    """(sh, sw, ph, pw, oh, ow) of a kh x kw window sliding over the (H, W) planes of x_shape, checked."""
    kh, kw = integer(kh, f"{what} height"), integer(kw, f"{what} width")
    if kh < 1 or kw < 1:
        raise ValueError(f"{what} size must be positive, got {(kh, kw)}")
    sh, sw = _hw_pair(stride, "stride")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    ph, pw = _hw_pair(pad, "pad")
    if ph < 0 or pw < 0:
        raise ValueError(f"pad must be >= 0, got {(ph, pw)}")
    h, w = x_shape[2], x_shape[3]
    if min(x_shape[1:]) < 1:   # the C kernels refuse empty planes; so does the reference, for consistency
        raise ValueError(f"x of shape {tuple(x_shape)} is empty: expected at least one channel, row and column")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{what} {(kh, kw)} is larger than the padded input: x of shape {tuple(x_shape)} "
                         f"with pad {(ph, pw)} has planes of {(h + 2 * ph, w + 2 * pw)}")
    return sh, sw, ph, pw, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def image_shape(x_shape):
    """x_shape as a 4-tuple of positive ints (N, C, H, W)."""
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4:
        raise ValueError(f"x_shape: expected (N, C, H, W), got {x_shape!r}")
    shape = tuple(integer(s, "x_shape") for s in x_shape)
    if min(shape) < 1:
        raise ValueError(f"x_shape: expected positive sizes (N, C, H, W), got {shape}")
    return shape


def class_labels(labels, n_rows, n_classes, name="labels"):
    """Integer class indices (N,) as int64 in [0, n_classes), or raise with the offending value."""
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(labels).__name__}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class indices or float targets, got {_describe(labels)}")
    if labels.shape != (n_rows,):
        raise ValueError(f"{name}: expected shape ({n_rows},) (one class index per row of the logits), "
                         f"got {_describe(labels)}")
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    # one comparison: a negative label read as uint64 is >= 2**63, past any n_classes
    if (labels.view(np.uint64) >= n_classes).any():
        bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {labels[i]} is out of range: expected 0 <= label < {n_classes}")
    return labels


def _same_layout(a, b):
    if a is b:
        return True
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides)


def no_overlap(out, name, inputs, allow_identical=False):
    """Raise ValueError when the output `out` shares memory with one of the input arrays: a kernel
    would read what it has already overwritten. allow_identical: an element-wise op may write over an
    input with exactly the same layout (in place)."""
    for inp in inputs:
        if isinstance(inp, np.ndarray) and np.may_share_memory(out, inp):
            if allow_identical and _same_layout(out, inp):
                continue
            raise ValueError(f"{name}: the output overlaps an input ({_describe(out)}); "
                             f"pass a separate output array" + (" or the input itself, for in place"
                                                                  if allow_identical else ""))
