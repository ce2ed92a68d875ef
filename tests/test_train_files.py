"""cnet-train and `cnet train` and the files they write: a destination that cannot be written (missing
folder, read-only or immutable folder, a folder in its place, no room) is reported in one line with exit
code 2 before the training, not after it; a disk that fills up during the run, in one line with exit 2;
saved files follow the umask; a --out that is a symbolic link is written through."""
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from cnet.models import load_model

MNIST = "/work/shared/datasets/mnist"
DATA = os.environ.get("CNET_DATA") or os.path.dirname(MNIST)
pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "mnist")), reason="no MNIST files")
HOW = {"cnet-train": ["-m", "cnet.train"], "cnet train": ["-m", "cnet", "train"]}
TINY = ("--model", "softmax", "--epochs", "1", "--limit", "300", "--test-limit", "50", "--verbose", "0")


def _train(how, *args, preexec_fn=None):
    env = dict(os.environ, CNET_DATA=DATA, OMP_NUM_THREADS="1")
    env.pop("CNET_TRACEBACK", None)
    return subprocess.run([sys.executable] + HOW[how] + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=300, preexec_fn=preexec_fn)


def _one_line(p, prog, *fragments, before_training=True):
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), p.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if before_training:
        assert "Training time" not in p.stdout, p.stdout


def _chattr(flag, path):
    import shutil
    return shutil.which("chattr") is not None and \
        subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("how", list(HOW))
def test_unwritable_destinations_are_reported_before_training(tmp_path, how):
    (tmp_path / "dir.npz").mkdir()
    _one_line(_train(how, *TINY, "--out", tmp_path / "dir.npz"), how,
              f"--out: cannot write {tmp_path / 'dir.npz'}: it is a folder")
    _one_line(_train(how, *TINY, "--out", "none", "--resume", tmp_path / "no" / "c.npz"), how,
              f"--resume: cannot write {tmp_path / 'no' / 'c.npz'}: the folder {tmp_path / 'no'} does not exist")
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    if _chattr("+i", frozen):           # immutable: even root cannot add a file
        try:
            _one_line(_train(how, *TINY, "--out", frozen / "m.npz"), how,
                      f"--out: cannot write {frozen / 'm.npz'}: the folder {frozen} is not writable")
        finally:
            _chattr("-i", frozen)
    if os.path.isdir("/sys") and not os.access("/sys", os.W_OK):       # a read-only file system
        _one_line(_train(how, *TINY, "--out", "/sys/m.npz"), how,
                  "--out: cannot write /sys/m.npz: the folder /sys is not writable")
    assert sorted(os.listdir(tmp_path)) == ["dir.npz", "frozen"] and os.listdir(frozen) == []


def test_no_room_for_the_model_is_reported_before_training(tmp_path, monkeypatch, capsys):
    from cnet import train

    class Full:
        f_bavail, f_frsize = 3, 4096                   # 12 KB free: the softmax model needs 31 KB
    monkeypatch.setenv("CNET_DATA", DATA)
    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    out = tmp_path / "m.npz"
    assert train.main(list(TINY) + ["--out", str(out), "--verbose", "0"]) == 2
    err = capsys.readouterr()
    assert err.err.strip() == (f"cnet-train: error: --out: cannot write {out}: the file system of {tmp_path} has "
                               f"12288 bytes free, and the model needs at least 31400")
    assert "Training time" not in err.out and not out.exists()


def _small_files(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("how", list(HOW))
def test_a_disk_that_fills_up_is_one_line_and_exit_2(tmp_path, how):
    """A real failed write: the file size limit makes the save fail as a full disk does (EFBIG, ENOSPC)."""
    out = tmp_path / "m.npz"
    out.write_bytes(b"the previous model")
    p = _train(how, *TINY, "--out", out, preexec_fn=_small_files(16 << 10))
    _one_line(p, how, f"cannot write {out}: File too large", before_training=False)
    assert "Traceback" not in p.stderr and out.read_bytes() == b"the previous model"
    assert os.listdir(tmp_path) == ["m.npz"]                           # no temporary file left


def test_saved_files_follow_the_umask_and_links_are_written_through(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "latest.npz").symlink_to(store / "model.npz")

    def umask_027():
        os.umask(0o027)
    p = _train("cnet-train", *TINY, "--out", tmp_path / "latest.npz", "--resume", tmp_path / "ckpt.npz",
               preexec_fn=umask_027)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "latest.npz").is_symlink() and (store / "model.npz").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o640
    assert np.isfinite(load_model(str(tmp_path / "latest.npz")).get_weights()[0]).all()
