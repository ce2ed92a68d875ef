"""Argument checks with messages a user can act on: what was wrong, what was received, what was expected."""
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


def output(out, name, shape, dtype):
    """Allocate an output, or check a caller-supplied one: right shape and dtype, C-contiguous, writable."""
    if out is None:
        check_alloc(shape, dtype, name)
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape) or out.dtype != dtype:
        raise ValueError(f"{name}: expected shape {tuple(shape)} and dtype {np.dtype(dtype)}, got {_describe(out)}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name}: an output must be C-contiguous, got a non-contiguous {_describe(out)}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: an output must be writable, got a read-only {_describe(out)}")
    return out


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
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {labels[i]} is out of range: expected 0 <= label < {n_classes}")
    return labels


def _same_layout(a, b):
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
