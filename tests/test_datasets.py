"""Tests of cnet.datasets: IDX parsing and validation, lookup order, cache, verified downloads.

No network: downloads are served by a local http.server on 127.0.0.1. No test touches the real ~/.cache:
HOME, XDG_CACHE_HOME and CNET_CACHE point into tmp_path.
"""

import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import cnet.datasets as datasets
from cnet.datasets import _checksum, _download, _idx, _load, _spec, fashion_mnist, mnist
from cnet.datasets import DatasetCorruptError, DatasetError, DatasetNotFoundError

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
N_TRAIN, N_TEST, H, W = 6, 3, 4, 5


# ----------------------------------------------------------------------------------------------- helpers


def idx_bytes(arr, magic=None):
    arr = np.asarray(arr)
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
            np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}[arr.dtype]
    if magic is None:
        magic = (code << 8) | arr.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz):
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (N_TRAIN, H, W), dtype=np.uint8),
            rng.integers(0, 10, (N_TRAIN,), dtype=np.uint8),
            rng.integers(0, 256, (N_TEST, H, W), dtype=np.uint8),
            rng.integers(0, 10, (N_TEST,), dtype=np.uint8)]


def raw_files(data):
    return {name: idx_bytes(a) for name, a in zip(NAMES, data)}


def write_set(folder, data, gz=True):
    for name, raw in raw_files(data).items():
        write(Path(folder) / name, raw, gz)
    return Path(folder)


def tiny_spec(data, *, mirrors=(), sha=True, name="mnist", gz_hashes=None):
    raws = raw_files(data)
    shapes = [(N_TRAIN, H, W), (N_TRAIN,), (N_TEST, H, W), (N_TEST,)]
    files = []
    for nm, shape in zip(NAMES, shapes):
        extra = {}
        if sha:
            extra["sha256"] = hashlib.sha256(raws[nm]).hexdigest()
        if gz_hashes:
            extra.update(gz_hashes[nm])
        files.append(_spec.FileSpec(nm, 2051 if "images" in nm else 2049, shape, **extra))
    return _spec.DatasetSpec(name, name.upper(), *files, mirrors=tuple(mirrors))


def assert_same(result, data):
    (xtr, ytr), (xte, yte) = result
    for got, want in zip((xtr, ytr, xte, yte), data):
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated environment: no CNET_DATA, a cache under tmp_path, a clean verification memo."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNET_DATA", raising=False)
    monkeypatch.setattr(_checksum, "_verified", {})
    return tmp_path


class Server:
    """A tiny HTTP server on 127.0.0.1: routes[url_path] = bytes, or a callable(handler)."""

    def __init__(self):
        self.routes = {}
        self.hits = []
        routes, hits = self.routes, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def serve_set(self, prefix, data):
        for name, raw in raw_files(data).items():
            self.routes[f"{prefix}{name}.gz"] = gzip.compress(raw, mtime=0)
        return self.url + prefix

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def unused_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing/"


def no_partial_files(folder):
    return [p.name for p in Path(folder).glob("*") if p.name.endswith(".part") or p.name.startswith(".")] == []


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
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        mnist.load_data(path=env / "nowhere")
    with pytest.raises(DatasetNotFoundError, match="is a file"):
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


# ----------------------------------------------------------------------------------------------- downloads


def test_download_with_failover_and_progress(env, monkeypatch, server):
    data = make_data()
    good = server.serve_set("/good/", data)
    for name in NAMES:  # a mirror that answers 200 with garbage
        server.routes[f"/garbage/{name}.gz"] = b"<html>not found</html>"
    mirrors = [unused_url(), server.url + "/missing/", server.url + "/garbage/", good]
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=mirrors))
    seen = []
    result = _load.load_dataset(mnist.SPEC, progress=lambda got, total: seen.append((got, total)))
    assert_same(result, data)
    cache = env / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in NAMES)
    assert seen and all(total is not None and got <= total for got, total in seen)
    assert f"/garbage/{NAMES[0]}.gz" in server.hits and f"/good/{NAMES[0]}.gz" in server.hits
    # the cache is used next time: no new requests
    n = len(server.hits)
    assert_same(mnist.load_data(), data)
    assert len(server.hits) == n


def test_download_tty_progress_line(env, monkeypatch, server):
    data = make_data()
    url = server.serve_set("/m/", data)

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    err = FakeTTY()
    monkeypatch.setattr("sys.stderr", err)
    dest = env / "cache" / "x" / (NAMES[1] + ".gz")
    _download.download_file(f"{url}{NAMES[1]}.gz", dest)
    assert f"Downloading {NAMES[1]}.gz" in err.getvalue() and err.getvalue().endswith("\n")
    assert dest.read_bytes() == server.routes[f"/m/{NAMES[1]}.gz"]


def test_download_not_a_tty_prints_nothing(env, monkeypatch, server, capsys):
    data = make_data()
    url = server.serve_set("/m/", data)
    _download.download_file(f"{url}{NAMES[1]}.gz", env / "d" / "f.gz")
    assert capsys.readouterr().err == ""


def test_cache_checksum_mismatch_is_replaced_from_mirror(env, monkeypatch, server):
    data = make_data()
    url = server.serve_set("/m/", data)
    cache = write_set(env / "cache" / "mnist", data)
    bad = data[2].copy()
    bad[1, 2, 3] ^= 0x40
    write(cache / NAMES[2], idx_bytes(bad), gz=True)
    write(cache / NAMES[0], idx_bytes(data[0]), gz=False)  # a raw corrupt one too: truncated
    (cache / NAMES[0]).write_bytes(idx_bytes(data[0])[:-1])
    (cache / (NAMES[3] + ".gz")).unlink()  # only a raw, bad-magic copy of the test labels
    (cache / NAMES[3]).write_bytes(b"\x00\x00\x08\x03" + idx_bytes(data[3])[4:])
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[url]))
    assert_same(mnist.load_data(), data)
    # the raw train images were corrupt but the .gz beside them is good: it is used, not re-downloaded
    assert sorted(server.hits) == [f"/m/{NAMES[2]}.gz", f"/m/{NAMES[3]}.gz"]
    assert not (cache / NAMES[0]).exists() and (cache / (NAMES[0] + ".gz")).exists()
    assert not (cache / NAMES[3]).exists() and (cache / (NAMES[3] + ".gz")).exists()
    assert (cache / (NAMES[2] + ".gz")).read_bytes() == server.routes[f"/m/{NAMES[2]}.gz"]
    assert no_partial_files(cache)


def test_cache_corrupt_and_offline_is_reported(env, monkeypatch):
    data = make_data()
    cache = write_set(env / "cache" / "mnist", data)
    p = write(cache / NAMES[3], idx_bytes((data[3] + 1) % 10), gz=True)
    dead = unused_url()
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[dead]))
    with pytest.raises(DatasetCorruptError) as e:
        mnist.load_data()
    msg = str(e.value)
    assert "corrupted" in msg and str(p) in msg and "checksum mismatch" in msg and dead in msg
    assert "CNET_DATA" in msg


def test_offline_with_nothing_error_text(env, monkeypatch):
    data = make_data()
    dead1, dead2 = unused_url(), unused_url() + "other/"
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[dead1, dead2]))
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    with pytest.raises(DatasetNotFoundError) as e:
        mnist.load_data()
    msg = str(e.value)
    for needle in ("CNET_DATA", str(env / "data" / "mnist"), str(env / "cache" / "mnist"), dead1, dead2, *NAMES):
        assert needle in msg, needle
    assert isinstance(e.value, OSError)
    monkeypatch.delenv("CNET_DATA")
    with pytest.raises(DatasetNotFoundError, match="CNET_DATA is not set"):
        mnist.load_data()
    assert no_partial_files(env / "cache" / "mnist")


def test_interrupted_download_leaves_no_partial_file(env, server):
    payload = os.urandom(200_000)

    def cut(handler):  # promises more than it sends, then drops the connection
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload[:50_000])
        handler.wfile.flush()
        handler.close_connection = True

    server.routes["/cut.gz"] = cut
    server.routes["/full.gz"] = payload
    dest = env / "dl" / "file.gz"
    with pytest.raises(Exception) as e:
        _download.download_file(server.url + "/cut.gz", dest)
    assert not isinstance(e.value, AssertionError)
    assert not dest.exists() and list((env / "dl").iterdir()) == []

    def interrupt(got, total):  # Ctrl-C in the middle of a download
        if got > 60_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _download.download_file(server.url + "/full.gz", dest, progress=interrupt)
    assert list((env / "dl").iterdir()) == []

    def reject(path):
        raise DatasetCorruptError("nope", path)

    with pytest.raises(DatasetCorruptError):
        _download.download_file(server.url + "/full.gz", dest, verify=reject)
    assert list((env / "dl").iterdir()) == []
    # and a good download replaces an existing file atomically
    dest.write_bytes(b"old")
    _download.download_file(server.url + "/full.gz", dest)
    assert dest.read_bytes() == payload and list((env / "dl").iterdir()) == [dest]


def test_keyboard_interrupt_is_not_taken_for_a_mirror_failure(env, monkeypatch, server):
    data = make_data()
    url = server.serve_set("/m/", data)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[url, url]))

    def interrupt(got, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _load.load_dataset(mnist.SPEC, progress=interrupt)
    assert len(server.hits) == 1  # the second mirror was not tried
    assert list((env / "cache" / "mnist").iterdir()) == []


def test_truncated_mirror_then_good_mirror(env, monkeypatch, server):
    data = make_data()
    good = server.serve_set("/good/", data)
    for name in NAMES:
        gz = server.routes[f"/good/{name}.gz"]
        server.routes[f"/short/{name}.gz"] = gz[: len(gz) - 10]  # a consistent but truncated gzip
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, mirrors=[server.url + "/short/", good]))
    assert_same(mnist.load_data(), data)
    assert no_partial_files(env / "cache" / "mnist")


def test_download_refused_without_checksum(env, monkeypatch, server):
    data = make_data()
    url = server.serve_set("/m/", data)
    monkeypatch.setattr(mnist, "SPEC", tiny_spec(data, sha=False, mirrors=[url]))
    with pytest.raises(DatasetNotFoundError, match="no checksum"):
        mnist.load_data()


def test_fashion_gz_md5_verification(env, monkeypatch, server):
    data = make_data()
    url = server.serve_set("/f/", data)
    gz_hashes = {}
    for name in NAMES:
        blob = server.routes[f"/f/{name}.gz"]
        gz_hashes[name] = {"gz_md5": hashlib.md5(blob).hexdigest(), "gz_sha256": hashlib.sha256(blob).hexdigest()}
    other = make_data(seed=5)  # a mirror serving valid IDX files with the wrong content
    bad_url = server.serve_set("/other/", other)
    spec = tiny_spec(data, sha=False, name="fashion_mnist", mirrors=[bad_url, url], gz_hashes=gz_hashes)
    monkeypatch.setattr(fashion_mnist, "SPEC", spec)
    assert_same(fashion_mnist.load_data(), data)
    assert f"/other/{NAMES[0]}.gz" in server.hits
    # a wrong .gz in the cache is replaced
    cache = env / "cache" / "fashion_mnist"
    write(cache / NAMES[1], idx_bytes(other[1]), gz=True)
    assert_same(fashion_mnist.load_data(), data)
    # recompressed copies supplied through CNET_DATA get structural validation only
    folder = env / "data" / "fashion_mnist"
    for name, raw in raw_files(data).items():
        (folder / (name + ".gz")).parent.mkdir(parents=True, exist_ok=True)
        (folder / (name + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
    monkeypatch.setenv("CNET_DATA", str(env / "data"))
    assert_same(fashion_mnist.load_data(), data)


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
