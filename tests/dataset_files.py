"""Fake data sets for the cnet.datasets tests: tiny IDX files, specs with their checksums, an isolated
environment, and a local HTTP server standing in for the mirrors (no test touches the network)."""

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from cnet.datasets import _checksum, _spec

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
N_TRAIN, N_TEST, H, W = 6, 3, 4, 5


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
    return [p.name for p in Path(folder).glob("*") if p.name.endswith(".tmp") or p.name.startswith(".")] == []
