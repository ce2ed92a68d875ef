"""Data sets: Keras-compatible loaders (``mnist.load_data()``, ``fashion_mnist.load_data()``) and the
book-style ``load_mnist``.

Files are looked for in the ``path`` folder if given, else in ``$CNET_DATA/<name>``, else in the cache
(``$CNET_CACHE``, else ``$XDG_CACHE_HOME/cnet``, else ``~/.cache/cnet``), else downloaded into the cache.
This package imports nothing else of cnet.
"""

from . import fashion_mnist, mnist
from ._idx import (DatasetCorruptError, DatasetError, DatasetNotFoundError, get_cache_dir, read_idx)
from .mnist import load_mnist

__all__ = [
    "mnist",
    "fashion_mnist",
    "load_mnist",
    "read_idx",
    "get_cache_dir",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetCorruptError",
]
