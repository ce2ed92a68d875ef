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
    import tempfile

    def denied(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, prefix + "x" + suffix))
    monkeypatch.setattr(tempfile, "mkstemp", denied)
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
