"""cnet's benchmark suite: ``cnet-bench`` (installed), ``cnet bench`` or ``python -m benchmarks`` (repository
root).

Sections (select with ``--only``):

- machine: CPU, flags, CPUs, OpenMP runtime, cnet's SIMD path, numpy/BLAS (threadpoolctl), torch, the
  measured float32 GEMM peak (numpy.matmul on 1024/2048 squares at each thread count) and the copy
  bandwidth (numpy.copyto of a float32 array larger than the last-level cache, at each thread count).
- kernels: forward and backward of every op at the shapes of the bundled models, on the C backend, the NumPy
  reference and (when importable) PyTorch's CPU kernels, at each thread count; the memory-bound ops with
  GB/s of their byte model and % of the copy bandwidth.
- gemm: the layers' matrix products (forward X.W, weight gradient X^T.dY, input gradient dY.W^T) and square
  1024 through cnet.ops.gemm against numpy.matmul on the transposed views (and torch.mm).
- conv: every conv layer of the bundled models, each pass, on both engines (direct, im2col): GFLOP/s, % of
  the GEMM peak, and the plan Conv2D picks.
- e2e: training images/s and seconds per MNIST epoch of each bundled model, inference throughput and
  single-image latency, peak memory of a training process (subprocess), thread scaling; ``--batch`` sets
  the training batch sizes.
- infer: ``model.predict`` on 1000 images and the one-image latency of each bundled model against its
  PyTorch twin (eval mode, ``torch.no_grad()``), at each thread count, with the ratios.

Where things are: ``timing`` (modes, thread control, interleaved rounds, formats), ``machine`` (machine
facts, GEMM peak), ``bandwidth`` (copy bandwidth, the memory-bound ops' byte model), ``cases`` (the kernel
cases and GEMM products of the bundled models), ``suite`` (a run: machine, kernels and gemm sections, the
JSON file), ``conv`` (the conv section), ``e2e`` (end-to-end training), ``infer`` (inference against
PyTorch), ``torch_twin`` (the PyTorch equivalents), ``memory`` (peak memory, in a subprocess), ``report``
(Markdown tables, the speedup chart), ``cli`` (options, ``main``).

The implementation lives inside the installed package, so that ``cnet-bench`` works after ``pip install .``;
``benchmarks/__main__.py`` in the repository is a thin wrapper around :func:`main`.
"""
from .cases import gemm_products, kernel_cases
from .cli import build_parser, main
from .report import markdown_report

__all__ = ["main", "build_parser", "markdown_report", "kernel_cases", "gemm_products"]
