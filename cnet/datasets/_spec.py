"""What a data set is (four IDX files, their checksums, the mirrors that serve them) and the errors the
data set loaders raise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

__all__ = ["DatasetError", "DatasetNotFoundError", "DatasetCorruptError", "FileSpec", "DatasetSpec"]


class DatasetError(Exception):
    """Base class of the errors raised by :mod:`cnet.datasets`."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The data set's files are neither where they were looked for nor downloadable.

    A subclass of :class:`FileNotFoundError` (hence of :class:`OSError`).
    """


class DatasetCorruptError(DatasetError, ValueError):
    """A data set file is not a valid IDX file, is truncated, or fails its checksum.

    A subclass of :class:`ValueError`. ``.path`` is the offending file (or None).
    """

    def __init__(self, message: str, path: Optional[os.PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else Path(path)


@dataclass(frozen=True)
class FileSpec:
    """What one file of a data set must be.

    ``name`` is the base file name without ``.gz``. ``magic`` is the IDX magic number (2051 images,
    2049 labels); ``shape`` is the exact array shape expected (None entries are not checked).
    ``sha256`` is the SHA-256 of the *decompressed* content, checked for every file read when known.
    ``gz_md5``/``gz_sha256`` are checksums of the published ``.gz`` file: they are checked only for
    gzip files that cnet itself downloads or keeps in its cache (a recompressed copy supplied by the
    user through ``path`` or ``CNET_DATA`` has other gzip bytes with the same content).
    """

    name: str
    magic: int
    shape: Tuple[Optional[int], ...]
    sha256: Optional[str] = None
    gz_md5: Optional[str] = None
    gz_sha256: Optional[str] = None


@dataclass(frozen=True)
class DatasetSpec:
    """A data set made of four IDX files and the mirrors that serve them (base URLs ending in '/')."""

    name: str  # folder name under CNET_DATA and the cache, e.g. 'mnist'
    title: str  # for messages, e.g. 'MNIST'
    train_images: FileSpec
    train_labels: FileSpec
    test_images: FileSpec
    test_labels: FileSpec
    mirrors: Tuple[str, ...]
    # Keras's .npz of the four arrays (mnist.load_data(path='mnist.npz')): its URLs and the file's SHA-256.
    npz_mirrors: Tuple[str, ...] = ()
    npz_sha256: Optional[str] = None

    @property
    def files(self) -> Tuple[FileSpec, FileSpec, FileSpec, FileSpec]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)
