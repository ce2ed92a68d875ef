"""Data-parallel training over MPI: several processes, on one machine or many, train one model together.

    import cnet.distributed as dist
    dist.init()                                    # the one added line
    model = ...                                    # built and compiled as usual, on every process
    model.fit(x_train, y_train, batch_size=128, epochs=12)

    $ mpiexec -n 4 python my_keras_program.py      # needs: pip install "cnet[mpi]"

After ``init()``, training is collective: ``Sequential.fit``, ``train_on_batch``, ``evaluate``,
``test_on_batch`` and the book's ``cnet.nets.Trainer`` run on every process with the same arguments, and
each process computes its share of every batch. ``batch_size`` stays the global batch: the arithmetic is the
one of a single process (the loss is the mean over the global batch, every process applies the same update).
The weights, the dropout seeds and the shuffling come from rank 0 when training starts. Only rank 0 prints
(progress bar, the Trainer's lines) and writes files (``save``, ``save_weights``, ``ModelCheckpoint``,
``save_params``); the other processes skip the write. ``predict`` stays local (each process predicts
everything it is given). Use ``if dist.rank() == 0:`` around your own prints and files.

Which arithmetic: by default (``deterministic=False``) each process's share of a batch is one piece; the
gradients of the shares are summed exactly (on a fixed-point grid, so MPI's order of additions cannot
change a bit; two shares are simply added in their own float type, as two terms have one sum in any
order): every run with the same number of processes gives bit-identical weights, on every process.
With another number of processes the shares differ, and so do the weights, in the last bits (like a change
of batch composition; measured in README). ``deterministic=True`` gives the same weights, losses and metrics
for any number of processes: each global batch is cut into ``micro_batches`` pieces whatever the number of
processes (default 12: runs with 1, 2, 3, 4, 6 or 12 processes agree; for other counts set it to a multiple
of every count you compare), at the cost of smaller pieces and more sums per step (README gives the
measured cost). Dropout masks are cut from the global batch's, so a sample's mask never depends on the
process that holds it. Either way the result differs in the last bits from ``fit`` without ``init()``.

Communication hides behind computation: the gradients are grouped by layer, from the output backwards,
into buckets of about ``bucket_mb`` MB, and each bucket's non-blocking allreduce starts as soon as the
backward pass has gone through its layers. Threads: init() gives each process the CPUs of its host divided
by the processes on that host (unless OMP_NUM_THREADS is set; cnet.set_num_threads after init() overrides).

Faults: an exception that is not caught on one process prints its traceback and ``cnet.distributed: rank
R of P ...: raised <Error>: <message>; stopping all P processes``, then ends every process (MPI_Abort); a
process killed by a signal (or by the out-of-memory killer) makes mpiexec end the others, naming its
PID; a process that ends or hangs while the others wait for it makes them stop after ``timeout`` seconds,
with a message naming the operation. A loss or gradient that is not finite on one process stops all of
them at the same step (fit's NonFiniteLoss handling). BatchNormalization is refused (its statistics would
be those of each share); checkpoints resume with any number of processes.
"""
import math
import os
import sys

import numpy as np

from .. import _parallel
from .._runtime import cpu_count, get_num_threads, set_num_threads
from ._comm import INSTALL, Comm, import_mpi, launched
from ._engine import Engine

__all__ = ["init", "shutdown", "is_initialized", "launched", "rank", "size", "local_rank", "local_size",
           "processes", "describe", "barrier", "broadcast_weights", "allreduce", "abort", "INSTALL"]

_state = {"comm": None}


def _default_micro_batches(n):
    """12 when n divides 12 (1, 2, 3, 4, 6, 12 processes agree), else the smallest multiple of n >= 12."""
    return 12 if 12 % n == 0 else n * math.ceil(12 / n)


def init(deterministic=False, micro_batches=None, bucket_mb=4.0, timeout=120.0):
    """Join the MPI job (mpi4py is imported here) and make training data-parallel.

    deterministic: the same weights for any number of processes (see the module doc); micro_batches: the
    pieces of each global batch (default: 12 when the number of processes divides 12, else the smallest
    multiple of it above 12); only with deterministic=True. bucket_mb: the size of the gradient buckets
    summed together (MB of the values summed). timeout: seconds a process waits for the others
    in a training step before it stops the job (None: forever). Calling init() again changes the settings.
    Raises ImportError (naming ``pip install "cnet[mpi]"``) when mpi4py or the MPI library is missing.
    """
    if micro_batches is not None and not deterministic:
        raise ValueError("init: micro_batches applies to deterministic=True only (with deterministic=False "
                         "each process's share of a batch is one piece)")
    if micro_batches is not None and (isinstance(micro_batches, bool) or not isinstance(micro_batches, int)
                                      or micro_batches < 1):
        raise ValueError(f"init: micro_batches must be a positive integer, got {micro_batches!r}")
    if not (isinstance(bucket_mb, (int, float)) and bucket_mb > 0):
        raise ValueError(f"init: bucket_mb must be a positive number of MB, got {bucket_mb!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"init: timeout must be a positive number of seconds or None, got {timeout!r}")
    comm = _state["comm"]
    if comm is None:
        MPI = import_mpi()
        comm = _state["comm"] = Comm(MPI, timeout)
        sys.excepthook = comm.excepthook(sys.excepthook)
        if not os.environ.get("OMP_NUM_THREADS"):
            set_num_threads(max(1, cpu_count() // comm.local_size))
    comm.timeout = timeout
    if deterministic and micro_batches is None:
        micro_batches = _default_micro_batches(comm.size)
    _parallel.set_engine(Engine(comm, bool(deterministic), micro_batches, bucket_mb * 2 ** 20))


def shutdown():
    """Make training local again (MPI itself stays initialized until the process ends)."""
    _parallel.set_engine(None)


def is_initialized():
    return _parallel.engine() is not None


def _comm():
    if _parallel.engine() is None:
        raise ValueError("cnet.distributed is not initialized: call cnet.distributed.init() first")
    return _state["comm"]


def rank():
    """This process's number, 0 .. size() - 1 (rank 0 prints and writes files)."""
    return _comm().rank


def size():
    """The number of processes training together."""
    return _comm().size


def local_rank():
    """This process's number among the processes on its host."""
    return _comm().local_rank


def local_size():
    """The number of processes on this process's host."""
    return _comm().local_size


def processes():
    """[(host, pid)] of every rank, in rank order (to match a PID that mpiexec names to its rank)."""
    return list(_comm().hosts)


def describe():
    """One line: processes x threads, the mode, and which rank is which PID on which host."""
    c, engine = _comm(), _parallel.engine()
    mode = (f"deterministic ({engine.pieces} micro-batches per batch)" if engine.deterministic
            else "one piece of each batch per process")
    ranks = ", ".join(f"{r}: pid {pid} on {host}" for r, (host, pid) in enumerate(c.hosts))
    n, t = c.size, get_num_threads()
    return (f"Data-parallel: {n} process{'es' if n != 1 else ''} x {t} thread{'s' if t != 1 else ''}, {mode}; "
            f"ranks {ranks}")


def barrier(timeout=None):
    """Wait until every process gets here (timeout in seconds, None: forever; then the job stops)."""
    c = _comm()
    c.what = "barrier()"
    c.barrier(timeout)


def broadcast_weights(obj, root=0):
    """Overwrite the weights of `obj` (a Sequential, a network with a params dict, or a list of arrays)
    with those of process `root`. fit and the Trainer do this by themselves when they start."""
    c = _comm()
    c.what = "broadcast_weights()"
    if hasattr(obj, "layers") and hasattr(obj, "get_weights"):
        arrays = [w for layer in obj.layers for w in layer._weights()]
    elif isinstance(getattr(obj, "params", None), dict):
        arrays = list(obj.params.values())
    else:
        arrays = list(obj)
    for a in arrays:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"broadcast_weights: expected NumPy arrays, got {type(a).__name__}")
        c.bcast_array(a, root)


def allreduce(value, op="mean"):
    """A number or array combined over the processes: op 'mean' (Horovod's default), 'sum', 'max' or 'min'.
    Floating-point sums depend on MPI's order of additions: for reporting, not for results that must be
    bit-identical across process counts."""
    if op not in ("mean", "sum", "max", "min"):
        raise ValueError(f"allreduce: op must be 'mean', 'sum', 'max' or 'min', got {op!r}")
    c = _comm()
    c.what = "allreduce()"
    arr = np.array(value, dtype=np.float64 if np.asarray(value).dtype.kind in "biuf" else None)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"allreduce: expected numbers, got {np.asarray(value).dtype}")
    if op == "min":
        np.negative(arr, out=arr)
    c.allreduce(arr, "sum" if op in ("mean", "sum") else "max")
    if op == "min":
        np.negative(arr, out=arr)
    if op == "mean":
        arr /= c.size
    return arr if np.ndim(value) else float(arr)


def abort(message, code=1):
    """Print `message` naming this rank and end every process of the job."""
    c = _state["comm"]
    if c is None:
        raise SystemExit(code)
    c.abort(message, code)
