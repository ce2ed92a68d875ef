"""Reading a data set file as its :class:`FileSpec` says: checksums (SHA-256 of the content; MD5/SHA-256 of
the published .gz where cnet downloaded it), IDX structure, dtype and shape; and the image/label counts of a
set. Successful verifications are memoized per (file, size, mtime, inode) for the life of the process."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np

from ._idx import _CHUNK, _is_gzip, _parse_idx
from ._spec import DatasetCorruptError, DatasetNotFoundError, DatasetSpec, FileSpec

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
