"""What this cnet is and how it runs: ``config()`` (a dict) and ``show_config()`` (printed)."""
import sys

import numpy

from . import _kernels, ops
from ._runtime import cpu_count, get_num_threads
from ._version import __version__

__all__ = ["config", "show_config"]


def config():
    """The build and run-time configuration as a dict (what show_config prints)."""
    return {
        "cnet": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "openmp": _kernels.have_openmp(),
        "openmp_runtime": _kernels.openmp_runtime(),
        "threads": get_num_threads(),
        "cpus": cpu_count(),
        "simd": _kernels.simd_path(),
        "backend": ops.get_backend(),
        "conv": ops.conv.conv_engine(),
        "blocked_activations": ops.conv.blocked_activations(),
        "ops": ops.op_backends(),
    }


def show_config(file=None):
    """Print version, OpenMP runtime, threads, SIMD path and which implementation each op uses."""
    c = config()
    out = file or sys.stdout
    omp = f"yes ({c['openmp_runtime']})" if c["openmp"] else "NO - kernels run serially"
    lines = [
        f"cnet {c['cnet']}  (python {c['python']}, numpy {c['numpy']})",
        f"  OpenMP:   {omp}",
        f"  threads:  {c['threads']}  (CPUs available: {c['cpus']})",
        f"  SIMD:     {c['simd']}",
        f"  backend:  {c['backend']}",
        f"  conv:     {c['conv']}" + ("  (a plan per layer shape: direct, or im2col for 1x1 stride 1; "
                                      "CNET_CONV=im2col|direct forces one)" if c["conv"] == "auto"
                                      else "  (forced for every Conv2D layer)"),
        f"  blocked activations between layers: {'on' if c['blocked_activations'] else 'off'}  "
        "(CNET_BLOCKED=0 turns it off)",
        "  ops:",
    ]
    ops_table = c["ops"]
    width = max((len(k) for k in ops_table), default=0)
    for name, impl in ops_table.items():
        lines.append(f"    {name:<{width}}  {impl}")
    print("\n".join(lines), file=out)
