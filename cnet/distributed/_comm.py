"""The MPI side of cnet.distributed: mpi4py (imported here, and only when init() asks for it), the
communicator, waits that give up, and what a failure does to the other processes.

Failures: an exception nobody catches on one process prints its traceback and a line naming the rank,
then MPI_Abort ends every process (mpiexec does the killing). A process killed by a signal (or by the
out-of-memory killer) is seen by mpiexec, which ends the others at once. A process that ends or hangs
while the others wait for it in a collective of cnet.distributed is noticed by their watchdog: after
``timeout`` seconds without progress they stop, naming the rank that waited and the operation.
"""
import json
import os
import sys
import time

import numpy as np

INSTALL = 'pip install "cnet[mpi]"'

# Environment variables that MPI launchers set in the processes they start (MPICH/Intel MPI's Hydra,
# Open MPI, MVAPICH, PMIx launchers, Slurm's srun with PMI2).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_RANK")


def launched():
    """True when this process was started by an MPI launcher (mpiexec, mpirun, srun)."""
    return any(os.environ.get(v) for v in LAUNCHER_VARIABLES)


def import_mpi():
    """mpi4py's MPI module (initializes MPI), or ImportError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"cnet.distributed needs mpi4py and an MPI library: {INSTALL} (or mpi4py built "
                          f"for a system MPI: Open MPI, MPICH, Intel MPI) [{exc}]", name="mpi4py") from None
    return MPI


class Comm:
    """cnet's own duplicate of MPI_COMM_WORLD (user code on COMM_WORLD cannot mix with it), with the rank,
    the size, the processes on this host, and collectives that wait under a watchdog."""

    def __init__(self, MPI, timeout):
        self.MPI = MPI
        self.world = MPI.COMM_WORLD
        self.comm = self.world.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        self.timeout = timeout
        self.hosts = self.comm.allgather((MPI.Get_processor_name(), os.getpid()))
        self.what = "start-up"     # the operation a stuck wait names

    # ---- failures ------------------------------------------------------------------------------

    def abort(self, message, code=1):
        """Print `message` naming this rank, then end every process of the job (MPI_Abort)."""
        sys.stdout.flush()
        sys.stderr.write(f"cnet.distributed: rank {self.rank} of {self.size} "
                         f"(pid {os.getpid()} on {self.hosts[self.rank][0]}): {message}; "
                         f"stopping all {self.size} processes\n")
        sys.stderr.flush()
        time.sleep(0.5)    # the launcher forwards our output before it ends the job
        self.world.Abort(code)

    def excepthook(self, previous):
        """A sys.excepthook that prints as `previous` does, then aborts the job naming the exception."""
        def hook(exc_type, exc, tb):
            previous(exc_type, exc, tb)
            if self.size > 1:
                text = " ".join(str(exc).split())
                self.abort(f"raised {exc_type.__name__}{': ' + text if text else ''}")
        return hook

    def test(self, requests):
        """Let MPI move the transfers on (MPICH progresses only inside MPI calls); True when all are done."""
        return self.MPI.Request.Testall(requests)

    def wait(self, requests, timeout="default"):
        """Wait for the MPI requests. When the others do not answer within the timeout (default: the
        one of init(); None: forever), abort the job naming this rank and what it waited for."""
        timeout = self.timeout if timeout == "default" else timeout
        Testall = self.MPI.Request.Testall
        if Testall(requests):
            return
        start = time.perf_counter()
        spins = 0
        while not Testall(requests):
            spins += 1
            if spins % 256:
                continue
            waited = time.perf_counter() - start
            if timeout is not None and waited > timeout:
                self.abort(f"no answer from the other processes for {waited:.0f} s during {self.what} "
                           f"(a process has ended or hangs; init(timeout=...) sets this limit)")
            if waited > 0.05:   # a long wait (a slow peer): stop spinning at full speed
                time.sleep(0.0005)

    # ---- collectives -------------------------------------------------------------------------

    def iallreduce(self, buf, op="sum"):
        """Start an in-place allreduce of the contiguous array `buf` (op 'sum' or 'max')."""
        mop = self.MPI.SUM if op == "sum" else self.MPI.MAX
        return self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=mop)

    def allreduce(self, buf, op="sum"):
        self.wait([self.iallreduce(buf, op)])
        return buf

    def max(self, value):
        """The largest of every process's number."""
        return float(self.allreduce(np.array([float(value)]), "max")[0])

    def barrier(self, timeout="default"):
        self.wait([self.comm.Ibarrier()], timeout)

    def bcast_array(self, arr, root=0, timeout="default"):
        """Overwrite `arr` with root's array of the same shape and dtype."""
        buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        self.wait([self.comm.Ibcast(buf, root=root)], timeout)
        if buf is not arr:
            np.copyto(arr, buf)

    def bcast_json(self, obj, root=0, timeout="default"):
        """root's `obj` (JSON data: Python ints of any size, strings, lists, dicts) on every process."""
        data = json.dumps(obj).encode() if self.rank == root else b""
        n = np.array([len(data)], dtype=np.int64)
        self.bcast_array(n, root, timeout)
        buf = np.frombuffer(data, dtype=np.uint8).copy() if self.rank == root else np.empty(int(n[0]), np.uint8)
        self.bcast_array(buf, root, timeout)
        return json.loads(buf.tobytes().decode())

