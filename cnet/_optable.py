"""The machinery of the operation table (cnet.ops): backend state, the C kernel registry, dispatch."""
import contextlib
import threading

from . import _checks, reference
from ._config import get_num_threads

BACKENDS = ("c", "numpy")
_state = {"backend": "c"}
_lock = threading.Lock()

# op name -> C implementation (same signature as the reference function of that name)
_C_IMPLS = {}


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
    names = [n for n in reference.__all__ if n != "counter_uniform"]
    names += [n for n in _C_IMPLS if n not in names]
    return {name: ("c" if c and name in _C_IMPLS else "numpy") for name in names}


def implementation(name):
    """The function that op `name` runs under the current backend."""
    if get_backend() == "c":
        impl = _C_IMPLS.get(name)
        if impl is not None:
            return impl
    return getattr(reference, name)


def c_kernel(name):
    """Decorator: register fn as the C implementation of op `name`."""
    def register(fn):
        _C_IMPLS[name] = fn
        return fn
    return register


def numpy_into(out, result, name="out"):
    """Copy a reference result into a caller-supplied output (or return it when there is none)."""
    if out is None:
        return result
    out = _checks.output(out, name, result.shape, result.dtype)
    out[...] = result
    return out


def run_into(name, out, shape, dtype, *args):
    """Run an op whose C implementation takes an `out=` argument; the reference's result is copied."""
    if out is not None:
        out = _checks.output(out, "out", shape, dtype)
        _checks.no_overlap(out, "out", args, allow_identical=True)
    impl = implementation(name)
    if impl is getattr(reference, name):
        return numpy_into(out, impl(*args))
    return impl(*args, out=out)


def passthrough(name):
    """An op with no checks of its own: the reference's checks apply on both backends."""
    def op(*args, **kwargs):
        return implementation(name)(*args, **kwargs)
    op.__name__ = name
    op.__doc__ = getattr(reference, name).__doc__
    return op


def run_outs(name, out, specs, *args, **kwargs):
    """Run a multi-output op with optional caller-supplied outputs (workspaces).

    out: None, or a tuple with one entry per output: an array to write into, or None (allocated).
    specs: the (shape, dtype) of each output, to check the given arrays against. A C implementation
    receives out= and writes in place; the reference's results are copied into the given arrays.
    """
    if out is not None:
        if not isinstance(out, tuple) or len(out) != len(specs):
            raise TypeError(f"{name}: out must be a tuple of {len(specs)} arrays or None, got {out!r}")
        out = tuple(None if o is None else _checks.output(o, f"out[{i}]", shape, dtype)
                    for i, (o, (shape, dtype)) in enumerate(zip(out, specs)))
        given = [o for o in out if o is not None]
        for i, o in enumerate(given):
            _checks.no_overlap(o, f"{name} out", list(args) + given[i + 1:])
    impl = implementation(name)
    if impl is getattr(reference, name, None):
        result = impl(*args, **kwargs)
        if out is None:
            return result
        return tuple(r if o is None else numpy_into(o, r) for r, o in zip(result, out))
    return impl(*args, out=out, **kwargs)


def by_dtype(kernel):
    """{float32 dtype: kernel's float specialization, float64 dtype: its double one} for a Cython kernel
    over the fused float types: calling a specialization skips Cython's run-time choice of one (~0.4 us
    a call, most of a small op's binding cost)."""
    sigs = kernel.__signatures__
    return {_checks.FLOAT_DTYPES[0]: sigs["float"], _checks.FLOAT_DTYPES[1]: sigs["double"]}


def unary_c(kernel):
    """The C implementation of an element-wise op y = f(x): kernel(y, x, n_threads) on flat views."""
    typed = by_dtype(kernel)

    def run(x, out=None):
        y = _checks.output(out, "out", x.shape, x.dtype)
        typed[x.dtype](y.reshape(-1), x.reshape(-1), get_num_threads())
        return y
    return run


def binary_c(kernel):
    """The C implementation of an element-wise op dx = f(dy, y): kernel(dx, dy, y, n_threads) on flat views."""
    typed = by_dtype(kernel)

    def run(dy, y, out=None):
        dx = _checks.output(out, "out", dy.shape, dy.dtype)
        typed[dy.dtype](dx.reshape(-1), dy.reshape(-1), y.reshape(-1), get_num_threads())
        return dx
    return run
