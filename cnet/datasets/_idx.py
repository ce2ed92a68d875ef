"""IDX files: parsing, validation, verification, finding and downloading.

This module is the machinery behind :mod:`cnet.datasets.mnist` and
:mod:`cnet.datasets.fashion_mnist`. It imports nothing else of cnet.

Where the four files of a data set are looked for, in this order:

1. the ``path`` argument of ``load_data`` (a *folder*); if given, nothing else is tried;
2. ``$CNET_DATA/<name>`` (``<name>`` is ``mnist`` or ``fashion_mnist``), used when all four files are there;
3. the user cache ``<cache>/<name>``, where ``<cache>`` is ``$CNET_CACHE`` if set, else
   ``$XDG_CACHE_HOME/cnet`` if set, else ``~/.cache/cnet``;
4. a download from the data set's public mirrors into the cache.

Each file may be gzip-compressed (``name.gz``) or raw (``name``); the raw one is preferred when both exist.
Every file read is validated structurally (magic number, dimensions, exact length, gzip integrity, counts of
images and labels) and, where a checksum is known, verified (see :class:`FileSpec`). Successful
verifications are memoized per (file, size, mtime) for the life of the process.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetCorruptError",
    "FileSpec",
    "DatasetSpec",
    "read_idx",
    "get_cache_dir",
    "load_dataset",
    "download_file",
]

# ----------------------------------------------------------------------------------------------- errors


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


# ----------------------------------------------------------------------------------------------- specs


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

    @property
    def files(self) -> Tuple[FileSpec, FileSpec, FileSpec, FileSpec]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


# ----------------------------------------------------------------------------------------------- parsing

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
            if not gz:
                size = os.fstat(f.fileno()).st_size
                if size != expected_len:
                    raise DatasetCorruptError(
                        f"{path}: wrong length: the header says {'x'.join(map(str, dims))} items, so the file "
                        f"must have {expected_len} bytes, got {size}"
                        + (" (truncated)" if size < expected_len else ""), path)
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
            extra = f.read(1)
            if extra:
                rest = 1 + _count_rest(f)
                raise DatasetCorruptError(
                    f"{path}: wrong length: the header says {'x'.join(map(str, dims))} items, so the "
                    f"{'decompressed ' if gz else ''}file must have {expected_len} bytes, got "
                    f"{expected_len + rest} ({rest} trailing bytes)", path)
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


def _count_rest(f) -> int:
    n = 0
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return n
        n += len(chunk)


def read_idx(path, expected_magic: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw, detected from its content) into a writable NumPy array.

    Validates the header and that the file length is exactly header + product(dims) * itemsize.
    Raises :class:`DatasetCorruptError` (a ValueError) naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"IDX file not found: {path}")
    return _parse_idx(path, (), expected_magic)


# ----------------------------------------------------------------------------------------------- verification

# (absolute path, size, mtime_ns, inode, what was checked) of files verified in this process
_verified: Dict[Tuple, bool] = {}
_verified_lock = threading.Lock()


def _stat_key(path: Path, check: Tuple) -> Tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, check)


def _file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo) if algo != "md5" else _md5()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def _md5():
    try:
        return hashlib.md5(usedforsecurity=False)
    except TypeError:  # pragma: no cover - very old OpenSSL builds
        return hashlib.md5()


def _load_file(path: Path, spec: FileSpec, *, check_gz: bool) -> np.ndarray:
    """Parse ``path`` as ``spec`` says, verifying checksums (memoized) and the expected shape."""
    checks: Tuple = (spec.magic, spec.shape, spec.sha256, (spec.gz_md5, spec.gz_sha256) if check_gz else None)
    try:
        key = _stat_key(path, checks)
    except OSError as e:
        raise DatasetNotFoundError(f"cannot read {path}: {e}") from e
    with _verified_lock:
        known_good = key in _verified
    gz = _is_gzip(path)
    if not known_good and check_gz and gz:
        for algo, want in (("md5", spec.gz_md5), ("sha256", spec.gz_sha256)):
            if want:
                got = _file_digest(path, algo)
                if got != want.lower():
                    raise DatasetCorruptError(
                        f"{path}: checksum mismatch: {algo.upper()} of the .gz file expected {want}, got {got}",
                        path)
    hasher = hashlib.sha256() if (spec.sha256 and not known_good) else None
    arr = _parse_idx(path, (hasher,) if hasher else (), spec.magic, spec.shape)
    if arr.dtype != np.uint8:
        raise DatasetCorruptError(f"{path}: wrong data type: expected unsigned bytes, got {arr.dtype}", path)
    if hasher is not None:
        got = hasher.hexdigest()
        if got != spec.sha256.lower():
            raise DatasetCorruptError(
                f"{path}: checksum mismatch: SHA-256 of the decompressed content expected {spec.sha256}, "
                f"got {got}", path)
    with _verified_lock:
        _verified[key] = True
    return arr


def _check_counts(spec: DatasetSpec, arrays: Sequence[np.ndarray], paths: Sequence[Path]) -> None:
    for i, j in ((0, 1), (2, 3)):
        if arrays[i].shape[0] != arrays[j].shape[0]:
            raise DatasetCorruptError(
                f"{spec.title}: image/label count mismatch: {paths[i]} has {arrays[i].shape[0]} images but "
                f"{paths[j]} has {arrays[j].shape[0]} labels", paths[j])


# ----------------------------------------------------------------------------------------------- finding


def get_cache_dir() -> Path:
    """The root of cnet's download cache: ``$CNET_CACHE``, else ``$XDG_CACHE_HOME/cnet``, else ``~/.cache/cnet``."""
    env = os.environ.get("CNET_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "cnet"
    return Path.home() / ".cache" / "cnet"


def _find(folder: Path, spec: FileSpec) -> Optional[Path]:
    for candidate in (folder / spec.name, folder / (spec.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _expected_names(ds: DatasetSpec) -> str:
    return ", ".join(f"{f.name}[.gz]" for f in ds.files)


def _load_folder(ds: DatasetSpec, found: Sequence[Path], *, check_gz: bool):
    arrays = [_load_file(p, f, check_gz=check_gz) for p, f in zip(found, ds.files)]
    _check_counts(ds, arrays, found)
    return arrays


def load_dataset(ds: DatasetSpec, path=None, *, progress: Optional[Callable[[int, Optional[int]], None]] = None,
                 download: bool = True):
    """Find (or download), validate and read the data set; return ``((x_train, y_train), (x_test, y_test))``."""
    if path is not None:
        folder = Path(os.fspath(path)).expanduser()
        if not folder.is_dir():
            if folder.is_file():
                raise DatasetNotFoundError(
                    f"{ds.title}: path={str(path)!r} is a file; cnet expects path to be a folder holding the "
                    f"four files {_expected_names(ds)}")
            raise DatasetNotFoundError(
                f"{ds.title}: folder {folder} (the path argument) does not exist; it should hold the four "
                f"files {_expected_names(ds)}")
        found = [_find(folder, f) for f in ds.files]
        missing = [f.name for f, p in zip(ds.files, found) if p is None]
        if missing:
            raise DatasetNotFoundError(
                f"{ds.title}: missing in {folder} (the path argument): "
                f"{', '.join(m + '[.gz]' for m in missing)}; expected the four files {_expected_names(ds)}")
        arrays = _load_folder(ds, found, check_gz=False)
        return _pack(arrays)

    searched: List[str] = []
    data_env = os.environ.get("CNET_DATA")
    if data_env:
        folder = Path(data_env).expanduser() / ds.name
        found = [_find(folder, f) for f in ds.files]
        if all(p is not None for p in found):
            return _pack(_load_folder(ds, found, check_gz=False))
        n = sum(p is not None for p in found)
        searched.append(f"$CNET_DATA/{ds.name} = {folder}"
                        + (" (does not exist)" if not folder.is_dir() else f" ({n} of the 4 files there)"))
    else:
        searched.append(f"$CNET_DATA/{ds.name} (CNET_DATA is not set)")

    cache = get_cache_dir() / ds.name
    searched.append(f"the cache {cache}")
    arrays = []
    paths = []
    for f in ds.files:
        corrupt: Optional[DatasetCorruptError] = None
        arr = None
        p = _find(cache, f)
        while p is not None:  # the raw file, then the .gz one; corrupted cache files are deleted
            try:
                arr = _load_file(p, f, check_gz=True)
                break
            except DatasetCorruptError as e:
                corrupt = e
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            p = _find(cache, f)
        if arr is not None:
            arrays.append(arr)
            paths.append(p)
            continue
        dest = cache / (f.name + ".gz")
        if not download:
            _raise_unavailable(ds, searched, f, [], corrupt, offline=True)
        failures = _download_from_mirrors(ds, f, dest, progress)
        if failures is not None:
            _raise_unavailable(ds, searched, f, failures, corrupt)
        arrays.append(_load_file(dest, f, check_gz=True))
        paths.append(dest)
    _check_counts(ds, arrays, paths)
    return _pack(arrays)


def _pack(arrays):
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train), (x_test, y_test)


def _raise_unavailable(ds: DatasetSpec, searched: List[str], f: FileSpec, failures: List[str],
                       corrupt: Optional[DatasetCorruptError], offline: bool = False):
    lines = []
    if corrupt is not None:
        lines.append(f"{ds.title}: the cached file {corrupt.path} was corrupted and has been deleted:")
        lines.append(f"  {corrupt}")
        lines.append(f"and getting {f.name}.gz again failed.")
    else:
        lines.append(f"{ds.title} data set not found, and downloading {f.name}.gz failed.")
    lines.append(f"Looked for the four files {_expected_names(ds)} in:")
    lines += [f"  - {s}" for s in searched]
    if offline:
        lines.append("Downloading was disabled.")
    else:
        lines.append("Mirrors tried:")
        lines += [f"  - {m}" for m in failures] or ["  - (no mirrors configured)"]
    lines.append(
        f"To use files you already have, put the four files (gzip or raw) in a folder named '{ds.name}' "
        f"inside a folder DIR and set CNET_DATA=DIR, or pass load_data(path=FOLDER_WITH_THE_FILES).")
    msg = "\n".join(lines)
    if corrupt is not None:
        raise DatasetCorruptError(msg, corrupt.path) from corrupt
    raise DatasetNotFoundError(msg)


# ----------------------------------------------------------------------------------------------- downloading

_MAX_DOWNLOAD = 256 << 20  # no file of these data sets comes near; guards against an endless stream


def _download_from_mirrors(ds: DatasetSpec, f: FileSpec, dest: Path, progress) -> Optional[List[str]]:
    """Try each mirror in turn; None on success, else the list of 'url: reason' failures."""
    failures = []
    for base in ds.mirrors:
        url = base if base.endswith("/") else base + "/"
        url += f.name + ".gz"
        try:
            download_file(url, dest, verify=lambda p: _verify_download(p, f), progress=progress)
            return None
        except (OSError, DatasetCorruptError, ValueError, EOFError) as e:
            failures.append(f"{url}: {_reason(e)}")
        except Exception as e:  # http.client errors (IncompleteRead, BadStatusLine…) are not OSError
            failures.append(f"{url}: {type(e).__name__}: {e}")
    return failures


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"{e.reason}"
    return f"{type(e).__name__}: {e}"


def _verify_download(path: Path, f: FileSpec) -> None:
    """Raise DatasetCorruptError unless the downloaded file is a valid, verified IDX file."""
    if f.sha256 is None and f.gz_md5 is None and f.gz_sha256 is None:
        raise DatasetCorruptError(f"no checksum is known for {f.name}; refusing an unverifiable download", path)
    if not _is_gzip(path):
        raise DatasetCorruptError(f"{path}: the mirror did not send a gzip file", path)
    _load_file(path, f, check_gz=True)


class _TTYProgress:
    def __init__(self, label: str):
        self.label = label
        self.last = 0.0

    def __call__(self, received: int, total: Optional[int], done: bool = False) -> None:
        now = time.monotonic()
        if not done and now - self.last < 0.1:
            return
        self.last = now
        mb = received / 1e6
        text = f"{mb:.1f}/{total / 1e6:.1f} MB" if total else f"{mb:.1f} MB"
        sys.stderr.write(f"\rDownloading {self.label}: {text}" + ("\n" if done else ""))
        sys.stderr.flush()


def download_file(url: str, dest, *, verify: Optional[Callable[[Path], None]] = None,
                  progress: Optional[Callable[[int, Optional[int]], None]] = None, timeout: float = 30.0,
                  max_bytes: int = _MAX_DOWNLOAD) -> Path:
    """Download ``url`` to ``dest`` atomically.

    The data is streamed into a temporary file in ``dest``'s folder, then ``verify(temp_path)`` is called
    (it raises to reject the file), then the file is fsynced and moved into place with ``os.replace``. On
    any failure (including KeyboardInterrupt) the temporary file is removed and ``dest`` is untouched.
    ``progress(received_bytes, total_bytes_or_None)`` is called as data arrives; a progress line is also
    written to stderr when stderr is a terminal.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tty = None
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            tty = _TTYProgress(dest.name)
    except (AttributeError, ValueError):
        tty = None
    tmp = tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False)
    tmp_path = Path(tmp.name)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "cnet-datasets"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                received += len(chunk)
                if received > max_bytes:
                    raise DatasetCorruptError(f"{url}: response larger than {max_bytes} bytes; refused")
                tmp.write(chunk)
                if progress is not None:
                    progress(received, total)
                if tty is not None:
                    tty(received, total)
            if tty is not None:
                tty(received, total, done=True)
            if total is not None and received != total:
                raise DatasetCorruptError(f"{url}: incomplete download: got {received} of {total} bytes")
        tmp.flush()
        os.fsync(tmp.fileno())
        tmp.close()
        if verify is not None:
            verify(tmp_path)
        os.replace(tmp_path, dest)
    except BaseException:
        tmp.close()
        try:
            tmp_path.unlink()
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(dest.parent)
    return dest


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
