"""mnist.load_data(path=...) as Keras means it: the .npz file named relative to the cache (cnet's, then
Keras's), or absolute; its arrays checked and verified against MNIST's content; a checked download.

No network: downloads are served by a local http.server (dataset_files.Server)."""

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnet.datasets import DatasetCorruptError, DatasetNotFoundError, mnist
from dataset_files import N_TRAIN, assert_same, make_data, tiny_spec
from dataset_files import env, server  # noqa: F401  (fixtures)

KEYS = ("x_train", "y_train", "x_test", "y_test")


def npz_bytes(arrays, compressed=True):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **dict(zip(KEYS, arrays)))
    return buf.getvalue()


def write_npz(path, arrays, compressed=True):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(npz_bytes(arrays, compressed))
    return path


@pytest.fixture
def tiny(env, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    data = make_data()
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data))
    return data


@pytest.mark.parametrize("compressed", [True, False])
def test_relative_name_in_cnets_cache(env, tiny, compressed):
    write_npz(env / "cache" / "mnist.npz", tiny, compressed)
    assert_same(mnist.load_data(path="mnist.npz"), tiny)
    write_npz(env / "cache" / "keras" / "m.npz", tiny, compressed)
    assert_same(mnist.load_data(path=os.path.join("keras", "m.npz")), tiny)


def test_relative_name_in_keras_cache(env, tiny, monkeypatch):
    write_npz(env / "home" / ".keras" / "datasets" / "mnist.npz", tiny)
    assert_same(mnist.load_data("mnist.npz"), tiny)
    monkeypatch.setenv("KERAS_HOME", str(env / "kh"))
    with pytest.raises(DatasetNotFoundError, match=r"kh/datasets/mnist.npz"):
        mnist.load_data("mnist.npz")
    write_npz(env / "kh" / "datasets" / "mnist.npz", tiny)
    assert_same(mnist.load_data("mnist.npz"), tiny)


def test_absolute_path_and_home(env, tiny):
    p = write_npz(env / "elsewhere" / "digits.npz", tiny)
    assert_same(mnist.load_data(path=p), tiny)
    assert_same(mnist.load_data(path=str(p)), tiny)
    write_npz(env / "home" / "d.npz", tiny)
    assert_same(mnist.load_data(path="~/d.npz"), tiny)


def test_a_folder_still_means_the_idx_files(env, tiny):
    with pytest.raises(DatasetNotFoundError, match="missing in"):
        mnist.load_data(path=env)          # a folder: cnet's IDX files, not an .npz


def test_content_is_verified(env, tiny):
    bad = [a.copy() for a in tiny]
    bad[2][0, 0, 0] ^= 1
    p = write_npz(env / "cache" / "mnist.npz", bad)
    with pytest.raises(DatasetCorruptError, match=r"array 'x_test': checksum mismatch.*t10k-images"):
        mnist.load_data("mnist.npz")
    assert p.exists()     # a user's file is never deleted


def _rewrite(path, arrays_by_key):
    """An .npz whose members are given raw: {key: bytes of the .npy member}."""
    with zipfile.ZipFile(path, "w") as z:
        for key, raw in arrays_by_key.items():
            z.writestr(key + ".npy", raw)
    return path


def _npy(arr=None, header=None):
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + (b"" if arr is None else np.asarray(arr).tobytes())


def test_bad_archives(env, tiny):
    good = {k: _npy(a) for k, a in zip(KEYS, tiny)}
    cache = env / "cache"
    cache.mkdir(parents=True)
    cases = {
        "not an .npz archive": b"\x89HDF\r\n\x1a\n" + b"\0" * 100,
        "corrupt or truncated": npz_bytes(tiny)[:-40],
    }
    for match, raw in cases.items():
        (cache / "m.npz").write_bytes(raw)
        with pytest.raises(DatasetCorruptError, match=match):
            mnist.load_data("m.npz")
    members = {
        "no array 'y_test'": {k: v for k, v in good.items() if k != "y_test"},
        "x_train' has dtype float32, expected uint8": dict(good, x_train=_npy(tiny[0].astype(np.float32))),
        "has dtype object": dict(good, y_train=_npy(header={"descr": "|O", "fortran_order": False,
                                                             "shape": (N_TRAIN,)})),
        rf"has shape \({N_TRAIN + 1},\), expected {N_TRAIN}": dict(good, y_train=_npy(np.zeros(N_TRAIN + 1, np.uint8))),
        "unreadable .npy header": dict(good, x_test=b"\x93NUMPY\x01\x00\x10\x00{'descr': 1e999x}\n"),
    }
    for match, content in members.items():
        with pytest.raises(DatasetCorruptError, match=match):
            mnist.load_data(_rewrite(cache / "m.npz", content))


def test_a_header_claiming_more_than_the_member_holds_allocates_nothing(env, tiny, monkeypatch):
    import dataclasses
    spec = mnist.SPEC
    spec = dataclasses.replace(spec, train_labels=dataclasses.replace(spec.train_labels, shape=(None,)))
    monkeypatch.setattr(mnist, "SPEC", spec)
    huge = _npy(np.zeros(3, np.uint8), header={"descr": "|u1", "fortran_order": False, "shape": (10 ** 12,)})
    good = {k: _npy(a) for k, a in zip(KEYS, tiny)}
    with pytest.raises(DatasetCorruptError, match=r"declares 1000000000000 bytes of data but the member holds 3"):
        mnist.load_data(_rewrite(env / "m.npz", dict(good, y_train=huge)))


def _npz_spec(data, server, monkeypatch, raw):
    import dataclasses
    server.routes["/k/mnist.npz"] = raw
    spec = dataclasses.replace(tiny_spec(data), npz_mirrors=(server.url + "/missing.npz", server.url + "/k/mnist.npz"),
                               npz_sha256=hashlib.sha256(raw).hexdigest())
    monkeypatch.setattr(mnist, "SPEC", spec)
    return spec


def test_download_checked_and_cached(env, server, monkeypatch):
    data = make_data()
    _npz_spec(data, server, monkeypatch, npz_bytes(data))
    assert_same(mnist.load_data("mnist.npz"), data)
    assert (env / "cache" / "mnist.npz").is_file() and "/k/mnist.npz" in server.hits
    n = len(server.hits)
    assert_same(mnist.load_data("mnist.npz"), data)
    assert len(server.hits) == n                     # read from the cache
    p = env / "abs" / "x.npz"                         # an absolute path is downloaded to, as in Keras
    assert_same(mnist.load_data(p), data)
    assert p.is_file()


def test_download_with_the_wrong_checksum_is_not_kept(env, server, monkeypatch):
    data = make_data()
    spec = _npz_spec(data, server, monkeypatch, npz_bytes(data))
    server.routes["/k/mnist.npz"] = npz_bytes(data, compressed=False)     # other bytes, same arrays
    with pytest.raises(DatasetNotFoundError, match=rf"checksum mismatch: SHA-256 expected {spec.npz_sha256}") as e:
        mnist.load_data("mnist.npz")
    assert "load_data() without a path" in str(e.value)
    assert not (env / "cache").exists() or not any((env / "cache").iterdir())
    with pytest.raises(DatasetNotFoundError, match="does not end in .npz"):
        mnist.load_data("mnist.bin")


@pytest.mark.skipif(not os.environ.get("CNET_DATA"), reason="needs the real MNIST IDX files (CNET_DATA)")
def test_real_mnist_as_an_npz_is_verified_against_the_idx_checksums(tmp_path):
    real = mnist.load_data()
    arrays = [a for pair in real for a in pair]
    p = write_npz(tmp_path / "mnist.npz", arrays, compressed=False)
    for got, want in zip([a for pair in mnist.load_data(p) for a in pair], arrays):
        np.testing.assert_array_equal(got, want)
    arrays[1] = arrays[1].copy()
    arrays[1][0] = (arrays[1][0] + 1) % 10           # one label changed
    with pytest.raises(DatasetCorruptError, match="'y_train': checksum mismatch"):
        mnist.load_data(write_npz(tmp_path / "bad.npz", arrays, compressed=False))
