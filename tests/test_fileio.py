"""cnet._fileio.atomic_write: all or nothing, and errors that name the destination, never a temporary file."""
import errno
import os

import pytest

from cnet._fileio import atomic_write


def _no_temporaries(folder):
    return [n for n in os.listdir(folder) if n.endswith(".tmp")] == []


def test_writes_and_replaces(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"one"))
    atomic_write(str(path), lambda f: f.write(b"two"))
    assert path.read_bytes() == b"two" and os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("fails_in", ["write", "verify"])
def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path, fails_in):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    seen = []

    def write(f):
        f.write(b"new")
        if fails_in == "write":
            raise KeyboardInterrupt

    def verify(tmp):
        seen.append(open(tmp, "rb").read())
        raise ValueError("rejected")

    with pytest.raises(KeyboardInterrupt if fails_in == "write" else ValueError):
        atomic_write(path, write, verify=verify)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    assert seen == ([] if fails_in == "write" else [b"new"])   # verify sees the flushed content


def test_verify_accepts(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"abc"), verify=lambda tmp: None)
    assert path.read_bytes() == b"abc"


def test_missing_folder_is_named_not_the_temporary_file(tmp_path):
    path = tmp_path / "no" / "such" / "f.bin"
    with pytest.raises(FileNotFoundError) as e:
        atomic_write(path, lambda f: f.write(b"x"))
    msg = str(e.value)
    assert msg == f"cannot write {path}: the folder {path.parent} does not exist"
    assert e.value.errno == errno.ENOENT and ".tmp" not in msg


def test_folder_that_is_a_file(tmp_path):
    (tmp_path / "plain").write_text("")
    path = tmp_path / "plain" / "f.bin"
    with pytest.raises(NotADirectoryError, match=f"cannot write {path}: {path.parent} is not a folder"):
        atomic_write(path, lambda f: f.write(b"x"))


def test_destination_that_is_a_folder(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError) as e:
        atomic_write(tmp_path / "d", lambda f: f.write(b"x"))
    assert str(e.value) == f"cannot write {tmp_path / 'd'}: it is a folder"
    assert _no_temporaries(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_folder_not_writable(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as e:
            atomic_write(ro / "f.bin", lambda f: f.write(b"x"))
    finally:
        ro.chmod(0o700)
    assert str(e.value).startswith(f"cannot write {ro / 'f.bin'}: the folder {ro} is not writable")


def test_permission_denied_names_the_folder(tmp_path, monkeypatch):
    """The branch the test above takes, also when run as root (which may write anywhere)."""
    real_open = os.open

    def denied(name, flags, mode=0o777, **kwargs):
        if name.endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name, flags, mode, **kwargs)
    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(PermissionError) as e:
        atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    assert str(e.value) == (f"cannot write {tmp_path / 'f.bin'}: the folder {tmp_path} is not writable "
                            "(Permission denied)")
    assert e.value.errno == errno.EACCES


def test_disk_full_names_the_destination(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as e:
        atomic_write(path, lambda f: f.write(b"new"))
    assert str(e.value) == f"cannot write {path}: {os.strerror(errno.ENOSPC)}" and e.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"old" and _no_temporaries(tmp_path)


def test_relative_path_names_the_folder_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="^cannot write out/w.npz: the folder out does not exist$"):
        atomic_write("out/w.npz", lambda f: f.write(b"x"))


def test_save_weights_into_a_missing_folder(tmp_path):
    """The issue's case: Model.save_weights (and save) reported '.w.npz.<pid>.<random>.tmp'."""
    from cnet.layers import Dense
    from cnet.models import Sequential
    model = Sequential([Dense(2, input_shape=(3,))])
    model.build()
    for save in (model.save_weights, model.save):
        path = tmp_path / "missing" / "w.npz"
        with pytest.raises(FileNotFoundError) as e:
            save(str(path))
        assert str(e.value) == f"cannot write {path}: the folder {path.parent} does not exist"
    assert os.listdir(tmp_path) == []


# ---- permissions, symbolic links, a full disk (issue 16) -----------------------------------------

def test_a_new_file_follows_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(previous)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o640      # 0666 less the umask, not 0600
    previous = os.umask(0o002)
    try:
        atomic_write(tmp_path / "g.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(previous)
    assert (tmp_path / "g.bin").stat().st_mode & 0o777 == 0o664


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    path.chmod(0o604)
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o604


def test_a_symbolic_link_is_written_through_atomically(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model.npz"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    seen = []

    def verify(tmp):
        seen.append(os.path.dirname(tmp))      # the temporary is next to the target: the rename is atomic
        assert target.read_bytes() == b"old"   # not replaced before the content is complete

    atomic_write(link, lambda f: f.write(b"new"), verify=verify)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o640
    assert seen == [str(target.parent)] and _no_temporaries(tmp_path) and _no_temporaries(target.parent)
    # a chain of links, and a link whose target does not exist yet
    chain = tmp_path / "chain.npz"
    chain.symlink_to(link)
    atomic_write(chain, lambda f: f.write(b"newer"))
    assert chain.is_symlink() and link.is_symlink() and target.read_bytes() == b"newer"
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(tmp_path / "store" / "next-target.npz")
    atomic_write(dangling, lambda f: f.write(b"first"))
    assert dangling.is_symlink() and (tmp_path / "store" / "next-target.npz").read_bytes() == b"first"


def test_a_link_into_a_missing_folder_names_the_link_and_its_target(tmp_path):
    link = tmp_path / "out.npz"
    link.symlink_to(tmp_path / "gone" / "out.npz")
    with pytest.raises(FileNotFoundError) as e:
        atomic_write(link, lambda f: f.write(b"x"))
    assert str(e.value) == (f"cannot write {link} (a link to {tmp_path / 'gone' / 'out.npz'}): the folder "
                            f"{tmp_path / 'gone'} does not exist")
    assert link.is_symlink()


def test_disk_full_while_writing_names_the_destination(tmp_path):
    """A real short write: the file size limit (RLIMIT_FSIZE, which root obeys too) makes write() fail
    with EFBIG, as a full disk makes it fail with ENOSPC; no temporary file stays and the old file too."""
    import subprocess
    import sys
    import textwrap
    path = tmp_path / "big.bin"
    path.write_bytes(b"old")
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
        from cnet._fileio import atomic_write
        try:
            atomic_write({str(path)!r}, lambda f: f.write(b"x" * (1 << 20)))
        except OSError as exc:
            print(type(exc).__name__, exc.errno, exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"OSError {errno.EFBIG} cannot write {path}: {os.strerror(errno.EFBIG)}", \
        out.stdout + out.stderr
    assert path.read_bytes() == b"old" and _no_temporaries(tmp_path)


def test_write_errors_of_the_source_pass_through(tmp_path):
    """An error of where the data comes from (a download's connection) is not a write error."""
    def write(f):
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    with pytest.raises(ConnectionResetError, match="reset by peer"):
        atomic_write(tmp_path / "f.bin", write)


def test_check_writable(tmp_path):
    from cnet._fileio import check_writable
    check_writable(tmp_path / "new.bin")                       # nothing is written
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError, match=r"the folder .*missing does not exist"):
        check_writable(tmp_path / "missing" / "f.bin")
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match=r"d: it is a folder$"):
        check_writable(tmp_path / "d")
    if os.path.isdir("/sys") and not os.access("/sys", os.W_OK):   # sysfs: not writable, even by root
        with pytest.raises(PermissionError, match=r"^cannot write /sys/cnet\.bin: the folder /sys is not "
                                                  "writable"):
            check_writable("/sys/cnet.bin")


def _chattr(flag, path):
    import shutil
    import subprocess
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_an_immutable_folder_is_reported_before_and_during_the_write(tmp_path):
    from cnet._fileio import check_writable
    folder = tmp_path / "frozen"
    folder.mkdir()
    (folder / "m.bin").write_bytes(b"old")
    if not _chattr("+i", folder):
        pytest.skip("chattr +i is not available here")
    try:
        for call in (lambda p: check_writable(p), lambda p: atomic_write(p, lambda f: f.write(b"new"))):
            with pytest.raises(PermissionError) as e:
                call(folder / "m.bin")
            assert str(e.value).startswith(f"cannot write {folder / 'm.bin'}: the folder {folder} is not "
                                           "writable")
    finally:
        _chattr("-i", folder)
    assert (folder / "m.bin").read_bytes() == b"old" and os.listdir(folder) == ["m.bin"]
