"""Tests of cnet.datasets: IDX parsing and validation, loading from a folder, lookup order, cache,
memoized verification, the real specs (downloads: test_datasets_download.py).

No network. No test touches the real ~/.cache: HOME, XDG_CACHE_HOME and CNET_CACHE point into tmp_path.
"""

import dataclasses
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import cnet.datasets as datasets
from cnet.datasets import _checksum, _idx, fashion_mnist, mnist
from cnet.datasets import DatasetCorruptError, DatasetError, DatasetNotFoundError
from dataset_files import H, N_TEST, N_TRAIN, NAMES, W, assert_same, idx_bytes, make_data, tiny_spec, write, write_set
from dataset_files import env, server  # noqa: F401  (fixtures)


# ----------------------------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = write(tmp_path / "a-idx3-ubyte", idx_bytes(a), gz)
    got = datasets.read_idx(p)
    np.testing.assert_array_equal(got, a)
    assert got.dtype == np.uint8 and got.flags.writeable
    got[0, 0, 0] = 7  # writable, like Keras' arrays


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_other_types_big_endian(tmp_path, dtype):
    a = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    got = datasets.read_idx(write(tmp_path / "x", idx_bytes(a), gz=True))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, a)


def test_read_idx_detects_gzip_by_content(tmp_path):
    a = np.ones((2, 2), np.uint8)
    p = tmp_path / "not-named-gz"
    p.write_bytes(gzip.compress(idx_bytes(a)))
    np.testing.assert_array_equal(datasets.read_idx(p), a)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError):
        datasets.read_idx(tmp_path / "nope")


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    raw = idx_bytes(np.zeros((2, 3, 3), np.uint8))
    p = write(tmp_path / "f", b"\x00\x00\x08\x07" + raw[4:], gz)  # 0x807 = 2055
    with pytest.raises(DatasetCorruptError, match=r"bad magic number: expected 2051.*got 2055"):
        _idx._parse_idx(p, (), 2051)
    p2 = write(tmp_path / "g", b"PK\x03\x04" + raw[4:], gz)
    with pytest.raises(DatasetCorruptError, match="magic"):
        datasets.read_idx(p2)


def test_labels_file_where_images_expected(tmp_path):
    p = write(tmp_path / "labels", idx_bytes(np.zeros(5, np.uint8)), gz=False)
    with pytest.raises(DatasetCorruptError, match=r"expected 2051 .*got 2049"):
        _idx._parse_idx(p, (), 2051)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("keep", [0, 3, 9])
def test_truncated_header(tmp_path, gz, keep):
    raw = idx_bytes(np.zeros((2, 3, 3), np.uint8))
    p = write(tmp_path / "f", raw[:keep], gz)
    with pytest.raises(DatasetCorruptError, match="truncated header") as e:
        datasets.read_idx(p)
    assert str(p) in str(e.value) and e.value.path == p


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_count_short_file(tmp_path, gz):
    raw = idx_bytes(np.zeros((4, 3, 3), np.uint8))
    p = write(tmp_path / "f", raw[:-5], gz)  # header says 4 images, data holds 3 and a bit
    with pytest.raises(DatasetCorruptError, match=rf"must have {len(raw)} bytes, got {len(raw) - 5}"):
        datasets.read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes(tmp_path, gz):
    raw = idx_bytes(np.zeros((4,), np.uint8))
    p = write(tmp_path / "f", raw + b"xyz", gz)
    with pytest.raises(DatasetCorruptError, match=rf"must have {len(raw)} bytes, got {len(raw) + 3}"):
        datasets.read_idx(p)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(3000, dtype=np.int32) % 251), mtime=0)
    p = tmp_path / "f.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetCorruptError, match="truncated gzip") as e:
        datasets.read_idx(p)
    assert str(p) in str(e.value)


def test_corrupted_gzip_crc(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(np.zeros(10, np.uint8)), mtime=0))
    data[-8] ^= 0xFF  # CRC32 in the trailer
    p = tmp_path / "f.gz"
    p.write_bytes(bytes(data))
    with pytest.raises(DatasetCorruptError, match="gzip") as e:
        datasets.read_idx(p)
    assert str(p) in str(e.value)


def test_huge_header_claim_is_a_clear_error(tmp_path):
    p = tmp_path / "f.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (2**31 - 1).to_bytes(4, "big") * 3))
    with pytest.raises(DatasetCorruptError, match="f.gz"):
        datasets.read_idx(p)


def test_errors_are_valueerror_and_oserror():
    assert issubclass(DatasetCorruptError, ValueError) and issubclass(DatasetCorruptError, DatasetError)
    assert issubclass(DatasetNotFoundError, OSError) and issubclass(DatasetNotFoundError, FileNotFoundError)


# ----------------------------------------------------------------------------------------------- loading from path


@pytest.mark.parametrize("gz", [False, True])
def test_load_from_path(env, monkeypatch, gz):
    data = make_data()
    folder = write_set(env / "mine", data, gz)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data))
    assert_same(mnist.load_data(path=folder), data)
    assert_same(mnist.load_data(path=str(folder)), data)
    assert not (env / "cache").exists()


def test_load_mixed_gz_and_raw_prefers_raw(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data, gz=False)
    other = make_data(seed=1)
    write_set(folder, other, gz=True)  # .gz copies with other content
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, sha=False))
    assert_same(mnist.load_data(path=folder), data)


def test_path_missing_files_raises_without_fallback(env, monkeypatch):
    data = make_data()
    write_set(env / "data" / "mnist", data)
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    folder = write_set(env / "mine", data)
    (folder / (NAMES[3] + ".gz")).unlink()
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data))
    with pytest.raises(DatasetNotFoundError) as e:
        mnist.load_data(path=folder)
    assert NAMES[3] in str(e.value) and str(folder) in str(e.value)
    # a path that is no folder is Keras's: an .npz file (tests/test_datasets_npz.py)
    with pytest.raises(DatasetNotFoundError, match="was not found"):
        mnist.load_data(path=env / "nowhere")
    with pytest.raises(DatasetCorruptError, match="not an .npz archive"):
        mnist.load_data(path=folder / (NAMES[0] + ".gz"))


def test_path_checksum_mismatch(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data)
    bad = [a.copy() for a in data]
    bad[0][0, 0, 0] ^= 1
    write(folder / NAMES[0], idx_bytes(bad[0]), gz=True)
    spec = tiny_spec(data)
    monkeypatch.setattr(mnist, "SPEC", spec)
    with pytest.raises(DatasetCorruptError) as e:
        mnist.load_data(path=folder)
    msg = str(e.value)
    assert "checksum mismatch" in msg and spec.train_images.sha256 in msg
    assert hashlib.sha256(idx_bytes(bad[0])).hexdigest() in msg and NAMES[0] in msg
    assert (folder / (NAMES[0] + ".gz")).exists()  # a user's file is never deleted


def test_wrong_dims_against_spec(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data)
    write(folder / NAMES[2], idx_bytes(np.zeros((N_TEST, H + 1, W), np.uint8)), gz=True)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, sha=False))
    with pytest.raises(DatasetCorruptError, match=rf"expected {N_TEST}x{H}x{W}, got {N_TEST}x{H + 1}x{W}"):
        mnist.load_data(path=folder)


def test_label_image_count_mismatch(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data)
    write(folder / NAMES[1], idx_bytes(np.zeros(N_TRAIN - 1, np.uint8)), gz=True)
    spec = tiny_spec(data, sha=False)
    # counts not fixed by the spec, so only the images/labels agreement can catch it
    spec = dataclasses.replace(spec, train_images=dataclasses.replace(spec.train_images, shape=(None, H, W)),
                               train_labels=dataclasses.replace(spec.train_labels, shape=(None,)))
    monkeypatch.setattr(mnist, "SPEC", spec)
    with pytest.raises(DatasetCorruptError, match=rf"{N_TRAIN} images but .* {N_TRAIN - 1} labels"):
        mnist.load_data(path=folder)


def test_load_mnist_book_style(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data))
    (x, t), (xt, tt) = mnist.load_mnist(path=folder)
    assert x.dtype == np.float32 and x.shape == (N_TRAIN, H * W) and xt.shape == (N_TEST, H * W)
    np.testing.assert_allclose(x, data[0].reshape(N_TRAIN, -1) / 255.0, rtol=1e-6)
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(t, data[1])
    (x, t), _ = mnist.load_mnist(normalize=False, flatten=False, one_hot_label=True, path=folder)
    assert x.dtype == np.uint8 and x.shape == (N_TRAIN, 1, H, W)
    assert t.dtype == np.float32 and t.shape == (N_TRAIN, 10)
    np.testing.assert_array_equal(t.argmax(1), data[1])
    assert datasets.load_mnist is mnist.load_mnist


# ----------------------------------------------------------------------------------------------- lookup order


def test_cache_dir_resolution(env, monkeypatch):
    assert datasets.get_cache_dir() == env / "cache"
    monkeypatch.delenv("CNET_CACHE")
    assert datasets.get_cache_dir() == env / "xdg" / "cnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert datasets.get_cache_dir() == env / "home" / ".cache" / "cnet"


def test_lookup_order(env, monkeypatch, server):
    d_path, d_env, d_cache, d_mirror = (make_data(seed=s) for s in range(4))
    write_set(env / "mine", d_path)
    write_set(env / "data" / "mnist", d_env, gz=False)
    write_set(env / "cache" / "mnist", d_cache)
    url = server.serve_set("/m/", d_mirror)
    # contents differ per place, so no content checksums here
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(d_env, sha=False, mirrors=[url]))
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    assert_same(mnist.load_data(path=env / "mine"), d_path)  # 1. path
    assert_same(mnist.load_data(), d_env)  # 2. CNET_DATA
    (env / "data" / "mnist" / NAMES[2]).unlink()  # incomplete CNET_DATA folder: not used
    assert_same(mnist.load_data(), d_cache)  # 3. cache
    monkeypatch.delenv("CNET_DATA")
    assert_same(mnist.load_data(), d_cache)
    assert server.hits == []
    (env / "cache" / "mnist" / (NAMES[1] + ".gz")).unlink()
    # a download needs a checksum: check the served labels by their .gz SHA-256
    blob = server.routes[f"/m/{NAMES[1]}.gz"]
    gz_hashes = {n: {} for n in NAMES}
    gz_hashes[NAMES[1]] = {"gz_sha256": hashlib.sha256(blob).hexdigest()}
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(d_env, sha=False, mirrors=[url], gz_hashes=gz_hashes))
    (xtr, ytr), _ = mnist.load_data()  # 4. the missing file is downloaded, the others kept
    np.testing.assert_array_equal(ytr, d_mirror[1])
    np.testing.assert_array_equal(xtr, d_cache[0])
    assert server.hits == [f"/m/{NAMES[1]}.gz"]


def test_cnet_data_uses_dataset_subfolder(env, monkeypatch):
    data = make_data()
    write_set(env / "data" / "fashion_mnist", data)
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    monkeypatch.setattr(fashion_mnist, "SPEC", tiny_spec(data, sha=False, name="fashion_mnist"))
    assert_same(fashion_mnist.load_data(), data)


def test_cnet_data_corrupt_file_is_reported_not_skipped(env, monkeypatch, server):
    data = make_data()
    folder = write_set(env / "data" / "mnist", data)
    write(folder / NAMES[3], idx_bytes(np.zeros(N_TEST + 1, np.uint8)), gz=True)
    url = server.serve_set("/m/", data)
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[url]))
    with pytest.raises(DatasetCorruptError, match=NAMES[3]):
        mnist.load_data()
    assert server.hits == []


# ----------------------------------------------------------------------------------------------- memoization


def test_verification_is_memoized_per_size_and_mtime(env, monkeypatch):
    data = make_data()
    folder = write_set(env / "mine", data)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data))
    mnist.load_data(path=folder)
    calls = []
    real = _checksum.hashlib.sha256

    class CountingHashlib:
        def __getattr__(self, name):
            return getattr(hashlib, name)

        def sha256(self, *a):
            calls.append(1)
            return real(*a)

    monkeypatch.setattr(_checksum, "hashlib", CountingHashlib())
    assert_same(mnist.load_data(path=folder), data)
    assert calls == []  # nothing rehashed
    # a changed file (new content, size and mtime) is verified again and caught
    bad = data[1].copy()
    bad[0] = (bad[0] + 1) % 10
    p = write(folder / NAMES[1], idx_bytes(bad) + b"", gz=True)
    os.utime(p, ns=(1, 1))
    with pytest.raises(DatasetCorruptError, match="checksum mismatch"):
        mnist.load_data(path=folder)
    assert len(calls) == 1


def test_real_specs_are_well_formed():
    for spec in (mnist.SPEC, fashion_mnist.SPEC):
        assert [f.name for f in spec.files] == list(NAMES)
        assert [f.magic for f in spec.files] == [2051, 2049, 2051, 2049]
        assert spec.train_images.shape == (60000, 28, 28) and spec.test_labels.shape == (10000,)
        assert len(spec.mirrors) >= 2 and all(m.endswith("/") for m in spec.mirrors)
    assert all(f.sha256 and len(f.sha256) == 64 for f in mnist.SPEC.files)
    assert all(len(f.gz_md5) == 32 and len(f.gz_sha256) == 64 for f in fashion_mnist.SPEC.files)
    assert len(fashion_mnist.CLASS_NAMES) == 10


# ----------------------------------------------------------------------------------------------- real MNIST

_REAL = os.environ.get("CNET_DATA")


@pytest.mark.skipif(not _REAL, reason="CNET_DATA is not set: the real MNIST test needs $CNET_DATA/mnist "
                                      "(e.g. CNET_DATA=/work/shared/datasets)")
def test_real_mnist_from_cnet_data(tmp_path, monkeypatch):
    folder = Path(_REAL) / "mnist"
    if not all((folder / n).is_file() or (folder / (n + ".gz")).is_file() for n in NAMES):
        pytest.skip(f"the four MNIST files are not all in {folder}")
    monkeypatch.setenv("CNET_CACHE", str(tmp_path / "cache"))  # never the real cache
    monkeypatch.setenv("HOME", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert x_train.max() == 255 and x_train.min() == 0
    assert np.bincount(y_train, minlength=10).tolist()[1] == 6742  # the most frequent digit, 1
    assert not (tmp_path / "cache").exists()
    (x, t), _ = mnist.load_mnist(normalize=True, flatten=True, one_hot_label=True)
    assert x.shape == (60000, 784) and x.dtype == np.float32 and t.shape == (60000, 10)
    assert t[0].argmax() == 5
