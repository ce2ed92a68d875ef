"""Keras's ``mnist.npz`` (``mnist.load_data(path='mnist.npz')``): where the file is looked for, how it is read
and verified, and its checked download.

Keras's ``path`` names the .npz file relative to its cache (``~/.keras/datasets``). Here a relative path is
looked for in cnet's cache (:func:`get_cache_dir`), then in Keras's (``$KERAS_HOME/datasets``, else
``~/.keras/datasets``), and downloaded into cnet's cache when it is in neither; an absolute path (``~``
expanded) is used as it is, and downloaded there when missing (as Keras does). A download is kept only
when its SHA-256 is that of Keras's file.

The archive must hold ``x_train``, ``y_train``, ``x_test`` and ``y_test`` as uint8 arrays of the data set's
shapes (its members stored or deflated). It is read without ``np.load`` (whose reader allocates what a
header declares before reading it): every member's declared size is checked against the archive first,
so a small file cannot make the loader allocate much. Each array is then verified against the SHA-256
of the data set's IDX file of the same content, so the arrays are the real data set whatever the archive's
packaging (compressed or not, Keras's own file or one saved with ``np.savez``).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._download import download_file
from ._idx import _readinto_full
from ._checksum import _check_counts
from ._load import _pack, get_cache_dir
from ._spec import DatasetCorruptError, DatasetNotFoundError, DatasetSpec, FileSpec

__all__ = ["load_npz", "keras_cache_dir"]

_KEYS = ("x_train", "y_train", "x_test", "y_test")
_DEFLATE_MAX_RATIO = 1032       # deflate cannot expand data more than this (the format's limit)
_MAX_NPY_HEADER = 10000


def keras_cache_dir() -> Path:
    """Keras's data set cache: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".keras") / "datasets"


def load_npz(ds: DatasetSpec, path, *, progress=None):
    """``((x_train, y_train), (x_test, y_test))`` from the .npz file that ``path`` names (see above)."""
    given = Path(os.fspath(path)).expanduser()
    if given.is_absolute():
        places = [given]
    else:
        places = [get_cache_dir() / given, keras_cache_dir() / given]
    for place in places:
        if place.is_file():
            return _read(ds, place)
        if place.exists():
            raise DatasetNotFoundError(f"{ds.title}: {place} (the path argument) is not a regular file")
    dest = places[0]
    failures = []
    if not ds.npz_mirrors or not ds.npz_sha256:
        failures.append("(no download known for this data set's .npz file)")
    elif dest.suffix != ".npz":
        failures.append(f"(not downloaded: {dest.name} does not end in .npz)")
    else:
        for url in ds.npz_mirrors:
            try:
                download_file(url, dest, verify=lambda p: _verify_download(ds, p), progress=progress)
                return _read(ds, dest)
            except (OSError, DatasetCorruptError, ValueError, EOFError) as e:
                failures.append(f"{url}: {type(e).__name__}: {e}")
            except Exception as e:  # http.client errors (IncompleteRead, BadStatusLine...) are not OSError
                failures.append(f"{url}: {type(e).__name__}: {e}")
    lines = [f"{ds.title}: the .npz file {str(path)!r} (Keras's load_data(path=...): a file name relative to "
             "the cache) was not found in:"]
    lines += [f"  - {p}" for p in places]
    lines += ["and downloading it failed:"] + [f"  - {f}" for f in failures]
    lines.append(f"load_data() without a path reads the same data from cnet's IDX files (CNET_DATA, the "
                 f"cache or a download); load_data(path=FOLDER) reads the four IDX files in a folder.")
    raise DatasetNotFoundError("\n".join(lines))


def _verify_download(ds: DatasetSpec, path: Path) -> None:
    got = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if got != ds.npz_sha256.lower():
        raise DatasetCorruptError(f"{path}: checksum mismatch: SHA-256 expected {ds.npz_sha256}, got {got}", path)
    _read(ds, Path(path))


def _read(ds: DatasetSpec, path: Path):
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if f.read(4) != b"PK\x03\x04":
                raise DatasetCorruptError(f"{path}: not an .npz archive (Keras's mnist.npz is a zip of .npy "
                                          f"arrays x_train, y_train, x_test, y_test)", path)
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                arrays = [_member(zf, key, spec, path, size) for key, spec in zip(_KEYS, ds.files)]
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DatasetCorruptError(f"{path}: corrupt or truncated .npz archive ({type(e).__name__}: {e})",
                                  path) from None
    except OSError as e:
        raise DatasetNotFoundError(f"cannot read {path}: {e}") from e
    _check_counts(ds, arrays, [f"{path}[{k}]" for k in _KEYS])
    return _pack(arrays)


def _member(zf: zipfile.ZipFile, key: str, spec: FileSpec, path: Path, archive_size: int) -> np.ndarray:
    name = key + ".npy"
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise DatasetCorruptError(f"{path}: no array {key!r} (an .npz of {', '.join(_KEYS)} is expected)",
                                  path) from None
    what = f"{path}: array {key!r}"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise DatasetCorruptError(f"{what} is stored with compression method {info.compress_type} (or encrypted); "
                                  "only stored or deflated members are read", path)
    most = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
        info.compress_size * _DEFLATE_MAX_RATIO + 1024
    if info.compress_size > archive_size or info.file_size > most:
        raise DatasetCorruptError(f"{what} declares {info.file_size} bytes, more than the {archive_size}-byte "
                                  "archive can hold", path)
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f, max_header_size=_MAX_NPY_HEADER)
        except Exception as e:  # NumPy parses the header with ast: any of its errors
            raise DatasetCorruptError(f"{what}: unreadable .npy header ({type(e).__name__}: {e})", path) from None
        if dtype != np.uint8:
            raise DatasetCorruptError(f"{what} has dtype {dtype}, expected uint8", path)
        expected = spec.shape
        if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected, shape)):
            want = "x".join("N" if e is None else str(e) for e in expected)
            raise DatasetCorruptError(f"{what} has shape {tuple(shape)}, expected {want}", path)
        nbytes = int(np.prod(shape, dtype=np.int64))
        if nbytes != info.file_size - f.tell():
            raise DatasetCorruptError(f"{what}: its header declares {nbytes} bytes of data but the member holds "
                                      f"{info.file_size - f.tell()}", path)
        raw = np.empty(nbytes, np.uint8)     # no more than the archive holds (checked above)
        if _readinto_full(f, memoryview(raw)) != nbytes or f.read(1):   # at the end: the CRC check
            raise DatasetCorruptError(f"{what} is truncated", path)
    arr = np.ascontiguousarray(raw.reshape(shape, order="F" if fortran else "C"))
    if spec.sha256:
        header = spec.magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        got = hashlib.sha256(header + arr.tobytes()).hexdigest()
        if got != spec.sha256.lower():
            raise DatasetCorruptError(f"{what}: checksum mismatch: its content is not the data set's "
                                      f"{spec.name} (SHA-256 of that IDX content expected {spec.sha256}, "
                                      f"got {got})", path)
    return arr
