"""Downloading a data set file from its mirrors into the cache: streamed, size-capped, verified before it is
kept, written atomically (an interrupted download leaves no partial file), with a progress line on a
terminal."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

from .._fileio import atomic_write
from ._checksum import _load_file
from ._idx import _is_gzip
from ._spec import DatasetCorruptError, DatasetSpec, FileSpec

__all__ = ["download_file"]

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
    import urllib.error   # here, not at import: urllib.request loads ssl and http (a few MB for every user)
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
    """Download ``url`` to ``dest`` atomically (creating ``dest``'s folder).

    The data is streamed into a temporary file in ``dest``'s folder, which is fsynced, then
    ``verify(temp_path)`` is called (it raises to reject the file), then the file is moved into place with
    ``os.replace`` (:func:`cnet._fileio.atomic_write`). On any failure (including KeyboardInterrupt) the
    temporary file is removed and ``dest`` is untouched. ``progress(received_bytes, total_bytes_or_None)``
    is called as data arrives; a progress line is also written to stderr when stderr is a terminal.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tty = None
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            tty = _TTYProgress(dest.name)
    except (AttributeError, ValueError):
        tty = None

    import urllib.request

    def fetch(f):
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
                f.write(chunk)
                if progress is not None:
                    progress(received, total)
                if tty is not None:
                    tty(received, total)
            if tty is not None:
                tty(received, total, done=True)
            if total is not None and received != total:
                raise DatasetCorruptError(f"{url}: incomplete download: got {received} of {total} bytes")

    atomic_write(dest, fetch, verify=None if verify is None else (lambda tmp: verify(Path(tmp))))
    return dest
