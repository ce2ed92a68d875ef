"""Finding a data set's four files, reading and verifying them: :func:`load_dataset`.

Where the files are looked for, in this order:

1. the ``path`` argument of ``load_data`` (a *folder*); if given, nothing else is tried;
2. ``$CNET_DATA/<name>`` (``<name>`` is ``mnist`` or ``fashion_mnist``), used when all four files are there;
3. the user cache ``<cache>/<name>``, where ``<cache>`` is ``$CNET_CACHE`` if set, else
   ``$XDG_CACHE_HOME/cnet`` if set, else ``~/.cache/cnet``;
4. a download from the data set's public mirrors into the cache.

Each file may be gzip-compressed (``name.gz``) or raw (``name``); the raw one is preferred when both exist.
Every file read is validated structurally (magic number, dimensions, exact length, gzip integrity, counts of
images and labels) and, where a checksum is known, verified (see :class:`FileSpec`). A corrupted file in the
cache is deleted and downloaded again; a corrupted file of the user's (``path``, ``CNET_DATA``) is reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from ._checksum import _check_counts, _load_file
from ._download import _download_from_mirrors
from ._spec import DatasetCorruptError, DatasetNotFoundError, DatasetSpec, FileSpec

__all__ = ["get_cache_dir", "load_dataset"]


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
