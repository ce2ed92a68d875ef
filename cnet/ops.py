"""The operation table: every op's NumPy reference and, where it exists, its C kernel.

Layers, losses and optimizers call the functions of this module, never cnet._kernels: the backend
switch and the user-facing checks live here, in one place. Under the 'c' backend an op runs its C
kernel when it has one and the NumPy reference otherwise; `op_backends()` (and cnet.show_config())
says which, op by op, so no fallback is silent.
"""
import contextlib
import threading

import numpy as np

from . import _checks, _kernels, reference
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
    """Switch every op to the 'c' or the 'numpy' backend."""
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
    return {name: ("c" if c and name in _C_IMPLS else "numpy") for name in reference.__all__
            if name != "counter_uniform"}


def implementation(name):
    """The function that op `name` runs under the current backend."""
    if get_backend() == "c":
        impl = _C_IMPLS.get(name)
        if impl is not None:
            return impl
    return getattr(reference, name)


def _c_kernel(name):
    def register(fn):
        _C_IMPLS[name] = fn
        return fn
    return register


# ---- activations ---------------------------------------------------------------------------------

def relu_forward(x, out=None):
    """y = max(x, 0), elementwise; written into `out` when given (which may be x itself)."""
    x = _checks.float_array(x, "x")
    return _run_into("relu_forward", out, x.shape, x.dtype, x)


def relu_backward(dy, y, out=None):
    """dx = dy where the forward output y > 0, else 0; written into `out` when given."""
    dy = _checks.float_array(dy, "dy")
    y = _checks.float_array(y, "y", dtype=dy.dtype)
    _checks.same_shape(dy, y, "dy", "y")
    return _run_into("relu_backward", out, dy.shape, dy.dtype, dy, y)


def _run_into(name, out, shape, dtype, *args):
    """Run an elementwise op whose C kernel writes into a caller-supplied output."""
    if out is not None:
        out = _checks.output(out, "out", shape, dtype)
    impl = implementation(name)
    if impl is getattr(reference, name):
        return _numpy_into(out, impl(*args), "out")
    return impl(*args, out=out)


def _numpy_into(out, result, name):
    if out is None:
        return result
    out = _checks.output(out, name, result.shape, result.dtype)
    out[...] = result
    return out


@_c_kernel("relu_forward")
def _relu_forward_c(x, out=None):
    y = _checks.output(out, "out", x.shape, x.dtype)
    _kernels.relu_forward(y.reshape(-1), x.reshape(-1), get_num_threads())
    return y


@_c_kernel("relu_backward")
def _relu_backward_c(dy, y, out=None):
    dx = _checks.output(out, "out", dy.shape, dy.dtype)
    _kernels.relu_backward(dx.reshape(-1), dy.reshape(-1), y.reshape(-1), get_num_threads())
    return dx


# ---- fused softmax + cross-entropy -------------------------------------------------------------

def _xent_args(logits, labels, logits_name):
    logits = _checks.float_array(logits, logits_name, ndim=2)
    if isinstance(labels, np.ndarray) and labels.dtype.kind == "f":
        targets = _checks.float_array(labels, "labels", ndim=2)
        if targets.shape != logits.shape:
            raise ValueError(f"labels: float targets must have the shape of {logits_name} {logits.shape}, "
                             f"got {targets.shape}")
        return logits, targets.astype(logits.dtype, copy=False)
    return logits, _checks.class_labels(labels, logits.shape[0], logits.shape[1])


def softmax_xent_forward(logits, labels):
    """(mean loss, probs): softmax of logits (N, L) and the cross-entropy with labels, either class
    indices (N,) or float targets (N, L) (one-hot or soft)."""
    logits, labels = _xent_args(logits, labels, "logits")
    return implementation("softmax_xent_forward")(logits, labels)


def softmax_xent_backward(probs, labels):
    """dlogits (N, L) = (probs - targets) / N (for soft targets: (probs * sum(t) - t) / N)."""
    probs, labels = _xent_args(probs, labels, "probs")
    return implementation("softmax_xent_backward")(probs, labels)


@_c_kernel("softmax_xent_forward")
def _softmax_xent_forward_c(logits, labels):
    probs = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=logits.dtype)
    if labels.dtype == np.int64:
        loss = _kernels.softmax_xent_forward(probs, row_loss, logits, labels, get_num_threads())
    else:
        loss = _kernels.softmax_xent_dense_forward(probs, row_loss, logits, labels, get_num_threads())
    return loss, probs


@_c_kernel("softmax_xent_backward")
def _softmax_xent_backward_c(probs, labels):
    dlogits = np.empty_like(probs)
    if labels.dtype == np.int64:
        _kernels.softmax_xent_backward(dlogits, probs, labels, get_num_threads())
    else:
        _kernels.softmax_xent_dense_backward(dlogits, probs, labels, get_num_threads())
    return dlogits


# ---- every other op: the reference until its C kernel lands --------------------------------------

def _passthrough(name):
    def op(*args, **kwargs):
        return implementation(name)(*args, **kwargs)
    op.__name__ = name
    op.__doc__ = getattr(reference, name).__doc__
    return op


for _name in reference.__all__:
    if _name not in globals():
        globals()[_name] = _passthrough(_name)
del _name
