"""Writing a file so that an interruption never leaves it half written: :func:`atomic_write`.

The content goes to a temporary file in the destination's folder (``.<name>.<pid>.<random>.tmp``: the same
file system, so the final rename is atomic), which is flushed and fsync'ed, optionally checked, then moved
over the destination with ``os.replace``. A crash at any moment leaves the previous file or the new one,
never a mixture. The temporaries of writers that were killed mid-write are removed by the next write to the
same name. Model files (:mod:`cnet.saving`) and downloaded data sets (:mod:`cnet.datasets`) are written this
way. This module imports nothing of cnet.

A destination that is a symbolic link is written through: its target is replaced (atomically, in the
target's folder) and the link stays. A new file gets the permissions the umask leaves of 0666 (as
``open(path, 'w')`` would give it); a replaced file keeps its permissions. :func:`check_writable` tells,
before any work, whether a destination can be written.
"""
import contextlib
import errno
import os
import stat

__all__ = ["atomic_write", "check_writable"]

# errno values of a write that failed because of the destination's file system, not of the data's source.
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)


def atomic_write(path, write, verify=None):
    """Call ``write(fileobj)`` on a temporary file next to `path`, fsync it, call ``verify(temporary_path)``
    when given (it raises to reject the content), then ``os.replace`` it onto `path`; afterwards remove the
    temporaries that killed writers left for this name.

    On any failure (KeyboardInterrupt included) the temporary file is removed and `path` is untouched.
    Errors raised by `write` and `verify` pass through, but for a write the file system refused (a full
    disk: ENOSPC, EDQUOT, EFBIG, EIO, EROFS); an OSError of the file system (a missing folder, one that
    is not writable, a full disk) is raised again, of the same class and errno, with a message
    that names `path` and, where it is the cause, its folder; never the temporary file. Its attribute
    `destination` is `path`.
    """
    path = os.fspath(path)
    target = _through_links(path)
    folder, name = os.path.split(os.path.abspath(target))
    fd, tmp = _create_temporary(path, target)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            _own(path, f.flush)
            _own(path, os.fsync, f.fileno())
        if verify is not None:
            verify(tmp)
        _own(path, os.replace, tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not hasattr(exc, "destination") and (
                tmp in (exc.filename, exc.filename2) or (exc.filename is None and exc.errno in _WRITE_ERRNOS)):
            raise _naming_destination(exc, path) from None   # the file system refused the write
        raise
    _fsync_folder(folder)
    _remove_stale_temporaries(folder, name)


def check_writable(path):
    """Raise the OSError that writing `path` with atomic_write would raise for its folder (missing, not
    a folder, read-only, immutable, no free inode), named as atomic_write names it; write nothing. A
    destination that is an existing folder is an IsADirectoryError. Call it before a long computation
    whose result goes to `path`."""
    path = os.fspath(path)
    target = _through_links(path)
    if os.path.isdir(target):
        raise _naming_destination(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), path)
    fd, tmp = _create_temporary(path, target)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _through_links(path):
    """The file a write to `path` must replace: `path`, or, when it is a symbolic link (to a file that
    may not exist yet), the file it finally points to."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return path


def _create_temporary(path, target):
    """(fd, name) of a new temporary file next to `target`, with the mode the destination will have:
    the replaced file's permissions, or 0666 less the umask (the kernel applies it) for a new file."""
    folder, name = os.path.split(os.path.abspath(target))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777   # never set-id bits
    except OSError:
        mode = None
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _naming_destination(exc, path) from None
        if mode is not None:
            with contextlib.suppress(OSError):
                os.fchmod(fd, mode)
        return fd, tmp
    raise _naming_destination(FileExistsError(errno.EEXIST, "no free temporary name"), path)


def _own(path, call, *args):
    try:
        call(*args)
    except OSError as exc:
        raise _naming_destination(exc, path) from None


def _naming_destination(exc, path):
    """The OSError `exc` again (same class and errno), its message about `path`, not a temporary file
    (about the folder of its target when `path` is a symbolic link)."""
    target = _through_links(path)
    link = f" (a link to {target})" if target != path else ""
    folder_abs = os.path.dirname(os.path.abspath(target))
    folder = (os.path.dirname(path) if not link else folder_abs) or folder_abs
    code = exc.errno
    cls = type(exc)
    if not os.path.isdir(folder_abs):
        if os.path.exists(folder_abs):
            why, cls, code = f"{folder} is not a folder", NotADirectoryError, errno.ENOTDIR
        else:
            why, cls, code = f"the folder {folder} does not exist", FileNotFoundError, errno.ENOENT
    elif os.path.isdir(target):
        why = "it is a folder"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"the folder {folder} is not writable ({exc.strerror or exc})"
    else:
        why = exc.strerror or str(exc)
    err = cls(f"cannot write {path}{link}: {why}")
    err.errno = code          # str(err) stays the message: no strerror/filename is set
    err.destination = path
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
