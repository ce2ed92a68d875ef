"""Tests of cnet.datasets' downloads: mirrors tried in turn, progress, checksums of what is downloaded, a
corrupted cache file replaced, atomic writes (an interrupted download leaves nothing), offline errors.

No network: downloads are served by a local http.server on 127.0.0.1 (dataset_files.Server).
"""

import gzip
import hashlib
import io
import os

import pytest

from cnet.datasets import _download, _load, fashion_mnist, mnist
from cnet.datasets import DatasetCorruptError, DatasetNotFoundError
from dataset_files import (NAMES, assert_same, idx_bytes, make_data, no_partial_files, raw_files, tiny_spec,
                           unused_url, write, write_set)
from dataset_files import env, server  # noqa: F401  (fixtures)


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
