"""Threads: how many the kernels use (get/set_num_threads) and how many CPUs this process may use.

get_num_threads() runs before every kernel call, so what it needs is read once, at import.
"""
import functools
import math
import os

from . import _kernels

_explicit_threads = None
_OMP_DEFAULT = _kernels.omp_max_threads()  # OMP_NUM_THREADS, or the runtime's default, at import
# Whether OMP_NUM_THREADS was set when cnet was imported: the OpenMP runtime reads it once, at start-up,
# and reading os.environ before every kernel call cost ~0.5 us.
_OMP_ENV_SET = bool(os.environ.get("OMP_NUM_THREADS"))


@functools.lru_cache(maxsize=None)
def _cgroup_cpu_limit():
    """CPUs allowed by a cgroup v2 (cpu.max) or v1 (cfs quota) limit, or None when unlimited.
    Read once: get_num_threads() runs before every kernel call."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, math.ceil(quota / period))
    except (OSError, ValueError):
        pass
    return None


@functools.lru_cache(maxsize=None)
def _cpus_at_start():
    return _count_cpus()


def cpu_count():
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota."""
    return _count_cpus()


def _count_cpus():
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return min(n, limit) if limit else n


def get_num_threads():
    """The number of threads cnet's kernels use.

    cnet.set_num_threads(n) if it was called, else OMP_NUM_THREADS if set, else the CPUs this process
    may use. The OpenMP runtime's own limit is honoured too, so threadpoolctl.threadpool_limits(1)
    around a call takes effect.
    """
    omp_max = _kernels.omp_max_threads()
    if _explicit_threads is not None or _OMP_ENV_SET:
        return max(1, omp_max)
    # The CPU count is read once (a system call; this runs before every kernel call).
    return max(1, min(omp_max, _cpus_at_start()))


def set_num_threads(n):
    """Use n threads in every kernel from now on (n >= 1); None returns to the default."""
    global _explicit_threads
    if n is None:
        _explicit_threads = None
        _kernels.omp_set_num_threads(_OMP_DEFAULT)
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _explicit_threads = n
    _kernels.omp_set_num_threads(n)
