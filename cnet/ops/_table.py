"""The operation table: backend state, the registry of implementations, dispatch.

Every op has a NumPy implementation (its reference function, adapted where needed) and, where it exists,
a C one; both take the same arguments, so that a public op calls `implementation(name)(...)` without
asking which backend it got. The convention: the op's arguments, positionally, in the public op's
order -- outputs (`out`, None or an array, or a tuple of them for several outputs) where the public op
has them. The public op has checked every argument (outputs included) before.
"""
import contextlib
import functools
import threading

from .._runtime import get_num_threads
from . import _checks

BACKENDS = ("c", "numpy")
_IMPLS = {backend: {} for backend in BACKENDS}   # backend -> {op name: implementation}
_C_KERNELS = set()                                # the ops with a C implementation
_state = {"backend": "c", "impls": _IMPLS["c"]}
_lock = threading.Lock()


def get_backend():
    """The backend in force: 'c' (C kernels where they exist) or 'numpy' (the reference everywhere)."""
    return _state["backend"]


def set_backend(name):
    """Switch every op to the 'c' or the 'numpy' backend.

    The setting is process-wide, not per thread: it applies at once to ops running in every thread
    (use_backend too). Choose the backend before starting threads that train or run models."""
    if name not in BACKENDS:
        raise ValueError(f"set_backend: unknown backend {name!r}; expected one of {BACKENDS}")
    with _lock:
        _state["backend"] = name
        _state["impls"] = _IMPLS[name]


@contextlib.contextmanager
def use_backend(name):
    """Context manager: run the block with the given backend, then restore the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def op_backends():
    """{op name: 'c' or 'numpy'} -- which implementation each op runs under the current backend."""
    c = get_backend() == "c"
    return {name: ("c" if c and name in _C_KERNELS else "numpy") for name in _IMPLS["numpy"]}


def implementation(name):
    """The function that op `name` runs under the current backend."""
    return _state["impls"][name]


def register(name, numpy, c=None):
    """Register op `name`: its NumPy implementation and its C one (None: the NumPy one runs under both
    backends, and op_backends() says so)."""
    _IMPLS["numpy"][name] = numpy
    _IMPLS["c"][name] = numpy if c is None else c
    if c is not None:
        _C_KERNELS.add(name)


# ---- adapting a reference function to the C implementations' signature --------------------------

def into(out, result):
    """result written into the caller's outputs: out None returns result; an array receives result;
    a tuple receives the results one by one (its None entries take the result itself; a None result,
    one not computed, leaves its output untouched)."""
    if out is None:
        return result
    if isinstance(out, tuple):
        return tuple(r if o is None or r is None else into(o, r) for r, o in zip(result, out))
    out[...] = result
    return out


def with_out(ref):
    """The reference function ref adapted to take its outputs last, as the C implementation does."""
    @functools.wraps(ref)
    def run(*args):
        return into(args[-1], ref(*args[:-1]))
    return run


# ---- C implementations ----------------------------------------------------------------------------

def by_dtype(kernel):
    """{float32 dtype: kernel's float specialization, float64 dtype: its double one} for a Cython kernel
    over the fused float types: calling a specialization skips Cython's run-time choice of one (~0.4 us
    a call, most of a small op's binding cost)."""
    sigs = kernel.__signatures__
    return {_checks.FLOAT_DTYPES[0]: sigs["float"], _checks.FLOAT_DTYPES[1]: sigs["double"]}


def unary_c(kernel):
    """The C implementation (x, out) of an element-wise op y = f(x): kernel(y, x, n_threads) on flat views."""
    typed = by_dtype(kernel)

    def run(x, out):
        y = _checks.empty(x.shape, x.dtype, "out") if out is None else out
        typed[x.dtype](y.reshape(-1), x.reshape(-1), get_num_threads())
        return y
    return run


def binary_c(kernel):
    """The C implementation (dy, y, out) of an element-wise op dx = f(dy, y): kernel(dx, dy, y, n_threads)
    on flat views."""
    typed = by_dtype(kernel)

    def run(dy, y, out):
        dx = _checks.empty(dy.shape, dy.dtype, "out") if out is None else out
        typed[dy.dtype](dx.reshape(-1), dy.reshape(-1), y.reshape(-1), get_num_threads())
        return dx
    return run
