"""Writing a file so that an interruption never leaves it half written: :func:`atomic_write`.

The content goes to a temporary file in the destination's folder (``.<name>.<pid>.<random>.tmp``: the same
file system, so the final rename is atomic), which is flushed and fsync'ed, optionally checked, then moved
over the destination with ``os.replace``. A crash at any moment leaves the previous file or the new one,
never a mixture. The temporaries of writers that were killed mid-write are removed by the next write to the
same name. Model files (:mod:`cnet.saving`) and downloaded data sets (:mod:`cnet.datasets`) are written this
way. This module imports nothing of cnet.
"""
import contextlib
import errno
import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, write, verify=None):
    """Call ``write(fileobj)`` on a temporary file next to `path`, fsync it, call ``verify(temporary_path)``
    when given (it raises to reject the content), then ``os.replace`` it onto `path`; afterwards remove the
    temporaries that killed writers left for this name.

    On any failure (KeyboardInterrupt included) the temporary file is removed and `path` is untouched.
    Errors raised by `write` and `verify` pass through; an OSError of the file system (a missing folder,
    one that is not writable, a full disk) is raised again, of the same class and errno, with a message
    that names `path` and, where it is the cause, its folder; never the temporary file.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _naming_destination(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            _own(path, f.flush)
            _own(path, os.fsync, f.fileno())
        if verify is not None:
            verify(tmp)
        _own(path, os.replace, tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and tmp in (exc.filename, exc.filename2):
            raise _naming_destination(exc, path) from None
        raise
    _fsync_folder(folder)
    _remove_stale_temporaries(folder, name)


def _own(path, call, *args):
    try:
        call(*args)
    except OSError as exc:
        raise _naming_destination(exc, path) from None


def _naming_destination(exc, path):
    """The OSError `exc` again (same class and errno), its message about `path`, not a temporary file."""
    folder_abs = os.path.dirname(os.path.abspath(path))
    folder = os.path.dirname(path) or folder_abs
    code = exc.errno
    cls = type(exc)
    if not os.path.isdir(folder_abs):
        if os.path.exists(folder_abs):
            why, cls, code = f"{folder} is not a folder", NotADirectoryError, errno.ENOTDIR
        else:
            why, cls, code = f"the folder {folder} does not exist", FileNotFoundError, errno.ENOENT
    elif os.path.isdir(path):
        why = "it is a folder"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"the folder {folder} is not writable ({exc.strerror or exc})"
    else:
        why = exc.strerror or str(exc)
    err = cls(f"cannot write {path}: {why}")
    err.errno = code          # str(err) stays the message: no strerror/filename is set
    return err


def _fsync_folder(folder):
    """Make the rename itself durable (not possible on every OS or file system)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # exists (another user's: PermissionError), or cannot tell: keep its file
        pass
    return True


def _remove_stale_temporaries(folder, name):
    """Delete the temporaries of earlier writes to `name` whose process is gone (killed mid-write: the
    target itself was never touched). Temporaries of live processes, writing right now, are kept."""
    prefix = "." + name + "."
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder):
            if not (entry.startswith(prefix) and entry.endswith(".tmp")):
                continue
            pid = entry[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, entry))
