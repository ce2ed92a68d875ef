"""Files that lie about their size or content: a model file or a data set file is believed only as far as
what it really holds. Every case is built here, ends in the documented ValueError naming the file and
the problem (never MemoryError, TypeError, RecursionError, NotImplementedError or a hang), and the
memory that loading it takes is measured (tracemalloc sees NumPy's buffers) and bounded."""
import gzip
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

import cnet
from cnet import datasets, saving
from cnet.layers import Dense, Dropout
from cnet.models import Sequential, load_model
from test_saving import _npy_bytes, _rewrite

MB = 1 << 20


@pytest.fixture
def small(tmp_path):
    """A trained 3-2 Dense model in a file of a few KB."""
    cnet.set_seed(0)
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,)), Dropout(0.1)])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "small.cnet.npz"
    model.save(str(path))
    return path


def _peak_of(call):
    """(exception raised by call(), peak bytes allocated while it ran)."""
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as e:
            call()
        return e.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _refused(call, path, *fragments, peak=8 * MB):
    """call() raises ValueError naming path and each fragment, allocating less than `peak` bytes."""
    exc, used = _peak_of(call)
    assert type(exc) is ValueError, f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert msg.startswith(f"{path}: "), msg
    for fragment in fragments:
        assert fragment in msg, msg
    assert used < peak, f"loading took {used / MB:.1f} MB: {msg}"
    return msg


def _npy_header(descr, shape, data=b"", version=1):
    """An .npy member whose header says anything: descr (a dtype string) and shape, then `data`."""
    head = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    if version == 1:
        head += b" " * (63 - (len(head) + 10) % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head + data
    head += b" " * (63 - (len(head) + 12) % 64) + b"\n"
    return b"\x93NUMPY\x02\x00" + len(head).to_bytes(4, "little") + head + data


# ---- the model loader checks the declared shapes before it allocates ------------------------------

def test_a_small_file_describing_a_huge_dense_layer_costs_nothing(small, tmp_path):
    """The issue's case: a few KB describing a 20000x20000 Dense cost 4.6 GB and 13 s before its error."""
    def huge(h):
        h["model"]["config"]["input_shape"] = [20000]
        h["model"]["config"]["layers"][0]["config"].update(units=20000, input_shape=[20000])
        h["weights"][0][0]["shape"], h["weights"][0][1]["shape"] = [20000, 20000], [20000]
    bad = tmp_path / "huge.npz"
    _rewrite(str(small), str(bad), header=huge)
    assert bad.stat().st_size < 8000
    _refused(lambda: load_model(str(bad)), bad, "layer 0", "has shape (3, 2), expected (20000, 20000)")
    # the arrays' own headers lying too (the data is not there): the bytes the file holds decide
    lying = tmp_path / "lying.npz"
    _rewrite(str(small), str(lying), header=huge,
             replace={"layers/0/0.npy": _npy_header("<f4", (20000, 20000), b"\0" * 24)})
    _refused(lambda: load_model(str(lying)), lying, "declares shape (20000, 20000) of float32 (1600000000 bytes)",
             "holds 24 bytes")


def test_a_model_too_large_per_sample_is_refused_before_building(small, tmp_path):
    """Layers without weights allocate too (a pooling's window table, the activations): a sane bound on
    what one sample may be."""
    bad = tmp_path / "wide.npz"
    _rewrite(str(small), str(bad), header=lambda h: h["model"]["config"].update(input_shape=[1 << 27]))
    _refused(lambda: load_model(str(bad)), bad, "layer 0", "more than 67108864 numbers per sample")


def test_load_weights_into_an_unbuilt_model_checks_first(small, tmp_path):
    bad = tmp_path / "huge.npz"
    _rewrite(str(small), str(bad), header=lambda h: h["model"]["config"].update(input_shape=[20000]))
    model = Sequential([Dense(20000), Dropout(0.1)])
    _refused(lambda: model.load_weights(str(bad)), bad, "has shape (3, 2), expected (20000, 20000)")
    wide = tmp_path / "wide.npz"
    _rewrite(str(small), str(wide), header=lambda h: h["model"]["config"].update(input_shape=[1 << 30]))
    _refused(lambda: Sequential([Dense(2)]).load_weights(str(wide), by_name=True), wide, "per sample")


@pytest.mark.parametrize("shape", [(10 ** 6, 10 ** 6), (10 ** 12,), (2 ** 62, 4)])
@pytest.mark.parametrize("member", ["layers/0/0.npy", "optimizer/0.npy"])
def test_an_npy_header_claiming_10_12_elements(small, tmp_path, shape, member):
    bad = tmp_path / "claim.npz"
    _rewrite(str(small), str(bad), replace={member: _npy_header("<f4", shape, b"\0" * 64)})
    _refused(lambda: load_model(str(bad)), bad, f"declares shape {shape}", "holds 64 bytes")


@pytest.mark.parametrize("descr, problem", [
    ("foo", "unreadable .npy header"), ("<x9", "unreadable .npy header"), ("<c8", "expected a numeric dtype"),
    ([("a", "<f4")], "expected a numeric dtype"), ("<M8[s]", "expected a numeric dtype"),
    ("|V6", "expected a numeric dtype"), ("<U3", "expected a numeric dtype"), ("|O", "object array"),
    (5, "unreadable .npy header"), (None, "unreadable .npy header"), ("<f4" * 3000, "unreadable .npy header")])
def test_nonsense_dtypes(small, tmp_path, descr, problem):
    bad = tmp_path / "dtype.npz"
    _rewrite(str(small), str(bad), replace={"layers/0/0.npy": _npy_header(descr, (3, 2), b"\0" * 48)})
    _refused(lambda: load_model(str(bad)), bad, "'layers/0/0'", problem)


def test_a_garbled_npy_header(small, tmp_path):
    for data in (b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 70000, b"\x93NUMPY\x03\x00\x10\x00\x00\x00{}",
                 _npy_header("<f4", ("a", 2)), _npy_header("<f4", (3, 2))[:-1] + b"(",
                 b"\x93NUMPY\x01\x00\x20\x00" + b"(" * 31 + b"\n"):
        bad = tmp_path / "garbled.npz"
        _rewrite(str(small), str(bad), replace={"layers/0/0.npy": data})
        _refused(lambda: load_model(str(bad)), bad, "'layers/0/0'")


@pytest.mark.parametrize("depth", [40, 100000])
def test_deeply_nested_json(small, tmp_path, depth):
    def nest(h):
        h["optimizer_state"]["deep"] = "NEST"
    bad = tmp_path / "deep.npz"
    _rewrite(str(small), str(bad), header=nest)
    with zipfile.ZipFile(bad) as z:
        text = z.read(saving.HEADER).decode().replace('"NEST"', "[" * depth + "]" * depth)
    _rewrite(str(small), str(bad), replace={saving.HEADER: text.encode()})
    msg = _refused(lambda: load_model(str(bad)), bad, "__model__.json is nested")
    assert ("more than 32 levels deep" in msg) == (depth == 40)


def test_a_huge_json_header_is_refused_unread(small, tmp_path):
    bad = tmp_path / "big.npz"
    _rewrite(str(small), str(bad), replace={saving.HEADER: b"[" + b"0," * (9 * MB) + b"0]"})
    _refused(lambda: load_model(str(bad)), bad, "implausibly large")


def _patch_method(path, member, method):
    """Set the compression method of `member` in its local header and in the central directory."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    data[info.header_offset + 8:info.header_offset + 10] = method.to_bytes(2, "little")
    pos = data.find(member.encode(), data.find(b"PK\x01\x02")) - 46
    assert data[pos:pos + 4] == b"PK\x01\x02"
    data[pos + 10:pos + 12] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("member", ["layers/0/0.npy", saving.HEADER])
@pytest.mark.parametrize("method", [99, 12, 14])   # unknown, bzip2, lzma: not what cnet writes
def test_a_patched_zip_method(small, tmp_path, member, method):
    bad = tmp_path / "method.npz"
    bad.write_bytes(small.read_bytes())
    _patch_method(bad, member, method)
    _refused(lambda: load_model(str(bad)), bad, f"member {member!r} uses compression method {method}")


def test_a_deflated_member_may_not_claim_more_than_deflate_can_give(small, tmp_path):
    bad = tmp_path / "bomb.npz"
    with zipfile.ZipFile(small) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    assert load_model(str(bad)).count_params() == 8        # deflated members are read
    data = bytearray(bad.read_bytes())
    pos = data.find(b"layers/0/0.npy", data.find(b"PK\x01\x02")) - 46
    data[pos + 24:pos + 28] = (1 << 31).to_bytes(4, "little")  # the central directory's uncompressed size
    bad.write_bytes(bytes(data))
    _refused(lambda: load_model(str(bad)), bad, "'layers/0/0.npy' declares 2147483648 bytes")


def test_non_finite_numbers_in_a_file_are_refused(small, tmp_path):
    for member, value in (("layers/0/0.npy", np.nan), ("optimizer/1.npy", np.inf)):
        with zipfile.ZipFile(small) as z:
            arr = np.lib.format.read_array(z.open(member))
        arr.flat[0] = value
        bad = tmp_path / "nan.npz"
        _rewrite(str(small), str(bad), replace={member: _npy_bytes(arr)})
        _refused(lambda: load_model(str(bad)), bad, "holds NaN or Inf values")


# ---- files that are not files --------------------------------------------------------------------

def _returns_within(call, seconds=20):
    """call()'s exception, raised within `seconds` (a FIFO used to block the loader forever)."""
    box = []

    def run():
        try:
            call()
        except BaseException as exc:   # noqa: B902 - handed to the test thread
            box.append(exc)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the call blocked"
    return box[0] if box else None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_a_fifo_named_like_a_model_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.cnet.npz"
    os.mkfifo(fifo)
    for call in (load_model, saving.read_header, saving.load_params, Sequential([Dense(2)]).load_weights):
        exc = _returns_within(lambda: call(str(fifo)))
        assert type(exc) is ValueError and str(exc) == (f"{fifo}: it is a FIFO (named pipe), not a regular "
                                                        "file: not a model file"), exc


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_a_fifo_named_like_an_idx_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    exc = _returns_within(lambda: datasets.read_idx(fifo))
    assert isinstance(exc, datasets.DatasetCorruptError) and str(exc) == f"{fifo}: not a regular file, so not " \
        "an IDX file"


def test_devices_and_folders_are_not_model_files(tmp_path):
    exc = _returns_within(lambda: load_model(os.devnull))
    assert type(exc) is ValueError and "it is a device, not a regular file" in str(exc)
    if os.path.exists("/dev/zero"):       # endless: reading it would never finish
        exc = _returns_within(lambda: load_model("/dev/zero"))
        assert type(exc) is ValueError and "it is a device" in str(exc)
    exc = _returns_within(lambda: load_model(str(tmp_path)))
    assert type(exc) is ValueError and "it is a folder" in str(exc)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(str(tmp_path / "missing.npz"))


# ---- the layers say which weights they will have --------------------------------------------------

@pytest.mark.parametrize("make, shape", [
    (lambda: Dense(3), (5,)), (lambda: Dense(3, use_bias=False), (2, 5)),
    (lambda: cnet.layers.Conv2D(4, 3, padding="same"), (2, 6, 6)),
    (lambda: cnet.layers.Conv2D(4, (2, 3), strides=2, use_bias=False), (1, 7, 5)),
    (lambda: cnet.layers.BatchNormalization(), (3,)), (lambda: cnet.layers.BatchNormalization(), (3, 4, 4)),
    (lambda: cnet.layers.BatchNormalization(center=False), (3,)),
    (lambda: cnet.layers.BatchNormalization(scale=False, center=False), (2, 3, 3)),
    (lambda: cnet.layers.MaxPooling2D(), (2, 4, 4)), (lambda: cnet.layers.Flatten(), (2, 3)),
    (lambda: cnet.layers.Affine(np.zeros((12, 2)), np.zeros(2)), (3, 4)),
    (lambda: cnet.layers.BatchNormalization(np.ones(12), np.zeros(12)), (3, 2, 2)),
])
def test_weight_shapes_are_what_build_creates(make, shape):
    layer = make()
    planned = layer.weight_shapes(shape)
    layer.build(shape)
    assert [s for _, s in planned] == [w.shape for w in layer.get_weights()]
    assert [n for n, _ in planned] == layer._weight_names()


def test_every_registered_layer_class_is_covered():
    """A layer with weights must say their shapes, or a valid file of it would be refused."""
    from cnet.layers import LAYERS
    for cls in set(LAYERS.values()):
        if cls._has_weights:
            assert cls.weight_shapes is not cnet.layers.Layer.weight_shapes, cls


# ---- data set files ------------------------------------------------------------------------------

def _idx_header(dims, dtype_code=0x08):
    return bytes([0, 0, dtype_code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def test_a_gzip_idx_file_with_huge_trailing_data_is_read_no_further(tmp_path, monkeypatch):
    """It used to be rejected only after decompressing every trailing byte (about 3 s per GiB)."""
    from cnet.datasets import _idx
    payload = _idx_header((4, 2, 2)) + bytes(16)
    z = __import__("zlib").compressobj(1, wbits=31)
    parts = [z.compress(payload)]
    zeros = bytes(MB)
    for _ in range(64):                   # 64 MiB of trailing zeros, ~70 KB compressed
        parts.append(z.compress(zeros))
    parts.append(z.flush())
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < MB
    read = []
    real_open = _idx._open_idx

    class Counting(gzip.GzipFile):      # readinto goes through read
        def read(self, size=-1):
            data = super().read(size)
            read.append(len(data))
            return data

    monkeypatch.setattr(_idx, "_open_idx", lambda p, gz: Counting(p, "rb") if gz else real_open(p, gz))
    with pytest.raises(datasets.DatasetCorruptError, match=r"must have 32 bytes, got more \(over 65536 "
                                                           r"trailing bytes; the rest was not read\)"):
        datasets.read_idx(path)
    assert sum(read) <= 32 + 65537


def test_a_gzip_idx_header_claiming_gigabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(_idx_header((1 << 17, 256, 256)) + bytes(1000)))     # claims 8 GiB
    tracemalloc.start()
    try:
        with pytest.raises(datasets.DatasetCorruptError, match="more than a gzip file of") as e:
            datasets.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(e.value) and isinstance(e.value, ValueError) and peak < 8 * MB
