"""Data sets: Keras-compatible loaders (``mnist.load_data()``, ``fashion_mnist.load_data()``) and the
book-style ``load_mnist``.

Files are looked for in the ``path`` folder if given, else in ``$CNET_DATA/<name>``, else in the cache
(``$CNET_CACHE``, else ``$XDG_CACHE_HOME/cnet``, else ``~/.cache/cnet``), else downloaded into the cache.
Every file is validated (and verified where a checksum is known) wherever it comes from.

Inside: ``_spec`` (what a data set is; the errors), ``_idx`` (the IDX file format), ``_checksum`` (reading a
file as its spec says, checksums), ``_download`` (mirrors into the cache), ``_load`` (where files are looked
for: path, CNET_DATA, cache, download). This package imports nothing of cnet but ``cnet._fileio``.
"""

from . import fashion_mnist, mnist
from ._idx import read_idx
from ._load import get_cache_dir
from ._spec import DatasetCorruptError, DatasetError, DatasetNotFoundError
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
