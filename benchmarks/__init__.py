"""cnet's benchmark suite, runnable from the repository root as ``python -m benchmarks``.

The implementation is the :mod:`cnet.bench` package (shipped inside the package so that the ``cnet-bench`` console
script works after ``pip install .``); this package is a thin wrapper kept for the repository layout.
"""
from cnet.bench import build_parser, main  # noqa: F401

__all__ = ["main", "build_parser"]
