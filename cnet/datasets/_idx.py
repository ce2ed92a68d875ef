"""The IDX file format (MNIST's): parsing and structural validation of one file, gzip-compressed or raw.

The magic number, the dimensions, the exact length (header + product(dims) * itemsize) and the gzip stream's
integrity are checked; every problem raises :class:`DatasetCorruptError` naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from ._spec import DatasetCorruptError, DatasetNotFoundError

__all__ = ["read_idx"]

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_TRAILING_COUNTED = 1 << 16   # trailing bytes counted for the message; past them the file is not read on
_DEFLATE_MAX_RATIO = 1032     # deflate cannot expand data more than this (the format's limit)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _readinto_full(f, buf: memoryview) -> int:
    """Fill ``buf`` from ``f``; return the number of bytes read (less than len(buf) only at EOF)."""
    total = 0
    n = len(buf)
    while total < n:
        got = f.readinto(buf[total:])
        if not got:
            break
        total += got
    return total


def _open_idx(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _parse_idx(path: Path, hashers: Sequence = (), expected_magic: Optional[int] = None,
               expected_shape: Optional[Tuple[Optional[int], ...]] = None) -> np.ndarray:
    """Parse the IDX file at ``path`` (gzip or raw), feeding its decompressed bytes to ``hashers``."""
    gz = _is_gzip(path)
    what = "gzip-compressed IDX file" if gz else "IDX file"
    try:
        with _open_idx(path, gz) as f:
            head = f.read(4)
            if len(head) < 4:
                raise DatasetCorruptError(
                    f"{path}: truncated header: the {what} has {len(head)} bytes, an IDX header needs at "
                    f"least 4 (magic number)", path)
            magic = int.from_bytes(head, "big")
            if expected_magic is not None and magic != expected_magic:
                kind = {2051: "images (idx3)", 2049: "labels (idx1)"}.get(expected_magic, "")
                hint = " (the file is gzip-compressed but not named .gz?)" if head[:2] == _GZIP_MAGIC else ""
                raise DatasetCorruptError(
                    f"{path}: bad magic number: expected {expected_magic} (0x{expected_magic:08x}, {kind}), "
                    f"got {magic} (0x{magic:08x}){hint}", path)
            if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES or head[3] == 0:
                raise DatasetCorruptError(
                    f"{path}: bad magic number {magic} (0x{magic:08x}): not an IDX file", path)
            dtype = _IDX_DTYPES[head[2]]
            ndim = head[3]
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DatasetCorruptError(
                    f"{path}: truncated header: expected {4 + 4 * ndim} header bytes for {ndim} dimensions, "
                    f"got {4 + len(dims_raw)}", path)
            dims = tuple(int.from_bytes(dims_raw[4 * i:4 * i + 4], "big") for i in range(ndim))
            expected_len = 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            if expected_shape is not None and (
                    len(expected_shape) != ndim
                    or any(w is not None and w != g for w, g in zip(expected_shape, dims))):
                want = "x".join("?" if w is None else str(w) for w in expected_shape)
                raise DatasetCorruptError(
                    f"{path}: wrong dimensions in the header: expected {want}, got "
                    f"{'x'.join(map(str, dims)) or '(none)'}", path)
            size = os.fstat(f.fileno()).st_size    # of the file on disk (compressed for gzip)
            if not gz:
                if size != expected_len:
                    raise DatasetCorruptError(
                        f"{path}: wrong length: the header says {'x'.join(map(str, dims))} items, so the file "
                        f"must have {expected_len} bytes, got {size}"
                        + (" (truncated)" if size < expected_len else ""), path)
            elif expected_len > size * _DEFLATE_MAX_RATIO + 1024:    # before allocating it
                raise DatasetCorruptError(
                    f"{path}: the header claims {'x'.join(map(str, dims))} items ({expected_len} bytes), more "
                    f"than a gzip file of {size} bytes can hold", path)
            for h in hashers:
                h.update(head)
                h.update(dims_raw)
            try:
                arr = np.empty(dims, dtype=dtype)
            except (MemoryError, ValueError) as e:
                raise DatasetCorruptError(
                    f"{path}: the header claims {'x'.join(map(str, dims))} items ({expected_len} bytes), which "
                    f"cannot be allocated: {e}", path) from e
            buf = memoryview(arr.reshape(-1).view(np.uint8))
            got = _readinto_full(f, buf)
            if got < len(buf):
                raise DatasetCorruptError(
                    f"{path}: wrong length: the header says {'x'.join(map(str, dims))} items, so the "
                    f"{'decompressed ' if gz else ''}file must have {expected_len} bytes, got "
                    f"{4 + 4 * ndim + got}", path)
            extra = f.read(_TRAILING_COUNTED + 1)   # never more: a gzip file may inflate to gigabytes
            if extra:
                rest = (f"{expected_len + len(extra)} ({len(extra)} trailing bytes)"
                        if len(extra) <= _TRAILING_COUNTED else
                        f"more (over {_TRAILING_COUNTED} trailing bytes; the rest was not read)")
                raise DatasetCorruptError(
                    f"{path}: wrong length: the header says {'x'.join(map(str, dims))} items, so the "
                    f"{'decompressed ' if gz else ''}file must have {expected_len} bytes, got {rest}", path)
            for h in hashers:
                h.update(buf)
    except DatasetCorruptError:
        raise
    except EOFError as e:
        raise DatasetCorruptError(
            f"{path}: truncated gzip file (the compressed stream ends early: {e}); delete it and get it "
            f"again", path) from e
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DatasetCorruptError(f"{path}: corrupted gzip file: {e}", path) from e
    if dtype.byteorder == ">":
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(path, expected_magic: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw, detected from its content) into a writable NumPy array.

    Validates the header and that the file length is exactly header + product(dims) * itemsize.
    Raises :class:`DatasetCorruptError` (a ValueError) naming the file and what is wrong (a FIFO or a
    folder is not an IDX file).
    """
    path = Path(path)
    if path.exists() and not path.is_file():     # a folder, or a FIFO that would block the read
        raise DatasetCorruptError(f"{path}: not a regular file, so not an IDX file", path)
    if not path.is_file():
        raise DatasetNotFoundError(f"IDX file not found: {path}")
    return _parse_idx(path, (), expected_magic)
