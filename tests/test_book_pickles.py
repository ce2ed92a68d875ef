"""cnet.book.pickles: the book's weight pickles are read; a pickle naming anything else is refused."""
import io
import os
import pickle
import pickletools

import numpy as np
import pytest

from cnet import saving
from cnet.book import SimpleConvNet, pickles
from cnet.book.pickles import UnsafePickleError


def _book_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((3, 1, 3, 3)).astype(dtype), "b1": np.zeros(3, dtype),
            "W2": rng.standard_normal((27, 6)).astype(dtype), "b2": rng.standard_normal(6).astype(dtype),
            "W3": rng.standard_normal((6, 4)).astype(dtype), "b3": np.arange(4, dtype=dtype)}


def _small_net():
    return SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1},
                         hidden_size=6, output_size=4)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.uint8, np.complex64, np.bool_])
def test_pickles_of_arrays_are_read_at_every_protocol(protocol, dtype):
    params = _book_params(dtype=np.float64)
    params = {k: v.astype(dtype) for k, v in params.items()}
    params["fortran"] = np.asfortranarray(params["W2"])
    params["big_endian"] = params["W3"].astype(np.dtype(dtype).newbyteorder(">"))
    params["scalar"] = params["W3"].reshape(-1)[3]
    params["extras"] = [1, 2.5, "text", b"bytes", b"", bytearray(b"ab"), (None, True, 3 + 4j), -2 ** 70]
    got = pickles.loads(pickle.dumps(params, protocol=protocol))
    assert list(got) == list(params)
    for key in ("W1", "b1", "W2", "b2", "W3", "b3", "fortran", "big_endian"):
        assert type(got[key]) is np.ndarray and got[key].dtype == params[key].dtype
        np.testing.assert_array_equal(got[key], params[key])
        assert got[key].flags.writeable
    assert got["scalar"] == params["scalar"] and got["scalar"].dtype == params["scalar"].dtype
    assert got["extras"] == params["extras"]


class _CreatesFile:
    """Unpickling this would create a file (open(path, 'w'))."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


class _RunsShell:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def test_a_hostile_pickle_is_refused_before_it_runs(tmp_path):
    target = tmp_path / "created_by_unpickling.txt"
    hostile = {"W1": np.ones(2), "b1": _CreatesFile(str(target))}
    for protocol in (0, 2, 4, 5):
        data = pickle.dumps(hostile, protocol=protocol)
        with pytest.raises(UnsafePickleError, match=r"io\.open") as info:
            pickles.loads(data)
        assert isinstance(info.value, ValueError)
        assert "refused" in str(info.value)
        assert not target.exists()
    # the same pickle through a file, and through a network's load_params
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps(hostile))
    with pytest.raises(ValueError, match=r"params\.pkl.*io\.open"):
        pickles.load_params_file(path)
    with pytest.raises(ValueError, match=r"io\.open"):
        _small_net().load_params(str(path))
    assert not target.exists()
    with pytest.raises(UnsafePickleError, match=r"(posix|nt)\.system"):
        pickles.loads(pickle.dumps([_RunsShell()]))


def test_numpys_names_cannot_be_used_to_smuggle_objects():
    with pytest.raises(UnsafePickleError, match="only arrays of numbers"):
        pickles.loads(pickle.dumps(np.array([1, "a", None], dtype=object)))
    with pytest.raises(UnsafePickleError, match="only arrays of numbers"):
        pickles.loads(pickle.dumps(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])))
    # numpy.ndarray named directly (not through _reconstruct) is not callable on the file's data
    crafted = b"cnumpy\nndarray\n(I3\ntR."
    with pytest.raises(UnsafePickleError):
        pickles.loads(crafted)
    # a global hidden behind STACK_GLOBAL is looked up the same way
    stack_global = pickle.dumps(print, protocol=4)
    assert any(op.name == "STACK_GLOBAL" for op, _, _ in pickletools.genops(stack_global))
    with pytest.raises(UnsafePickleError, match=r"builtins\.print"):
        pickles.loads(stack_global)
    with pytest.raises(UnsafePickleError, match="not a readable pickle"):
        pickles.loads(b"\x80\x04not a pickle")


class _WithState:
    """Pickles as `func(*args)` followed by a BUILD of `state` on the result."""

    def __init__(self, func, args, state):
        self.reduced = (func, args, state)

    def __reduce__(self):
        return self.reduced


def test_a_state_applied_to_what_the_builders_made_is_refused():
    frombuffer = getattr(np, "_core", np.core).numeric._frombuffer
    # numpy's ndarray.__setstate__ (or a scalar's) never sees the file's data
    for func, args in [(frombuffer, (b"\0" * 8, np.dtype("f8"), (1,), "C")),
                       (getattr(np, "_core", np.core).multiarray.scalar, (np.dtype("f8"), b"\0" * 8))]:
        crafted = pickle.dumps(_WithState(func, args, (1, (2,), np.dtype("f8"), False, b"\0" * 16)), protocol=4)
        with pytest.raises(UnsafePickleError, match="refused a state"):
            pickles.loads(crafted)
    # the object that stands for numpy.ndarray is shared by every load: a pickle cannot set its attributes
    with pytest.raises(UnsafePickleError, match="refused a state"):
        pickles.loads(b"cnumpy\nndarray\n}S'array'\nI1\nsb.")
    assert vars(pickles._NDARRAY) == {}
    # nor those of the allow-listed functions, shared the same way: no defaults or attributes rewritten
    for crafted in (b"cbuiltins\ncomplex\n(N}V__defaults__\n(F1.0\nVx\ntstb.",
                    b"c_codecs\nencode\n}Vfoo\nI1\nsb."):
        with pytest.raises(UnsafePickleError, match="refused a state"):
            pickles.loads(crafted)
    assert pickles._complex.__defaults__ == (0.0, 0.0) and vars(pickles._latin1) == {}
    # an array whose data is set twice: numpy's pickle, its memoized state BUILT on the array again
    once = pickle.dumps(np.arange(3.0), protocol=2)
    ops = list(pickletools.genops(once))
    assert [op.name for op, _, _ in ops[-3:]] == ["BINPUT", "BUILD", "STOP"]
    state = ops[-3][1]
    with pytest.raises(UnsafePickleError, match="refused a state"):
        pickles.loads(once[:-1] + b"h" + bytes([state]) + b"b.")


def test_the_books_conv_net_reads_its_pickles_and_writes_cnets_format(tmp_path):
    params = _book_params()
    book_file = tmp_path / "params.pkl"
    with open(book_file, "wb") as f:
        pickle.dump(params, f)                    # what the book's SimpleConvNet.save_params writes
    net = _small_net()
    w1 = net.params["W1"]
    net.load_params(str(book_file))
    assert net.params["W1"] is w1 and net.layers["Conv1"].W is w1        # values copied into the arrays
    for key, value in params.items():
        np.testing.assert_array_equal(net.params[key], value)
    saved = tmp_path / "saved.pkl"
    net.save_params(str(saved))
    assert saved.read_bytes()[:4] == b"PK\x03\x04"                      # cnet's safe format, not pickle
    other = _small_net()
    other.load_params(str(saved))
    for key in params:
        np.testing.assert_array_equal(other.params[key], params[key])
    wrong = dict(params, W2=np.zeros((5, 6)))
    with open(tmp_path / "wrong.pkl", "wb") as f:
        pickle.dump(wrong, f)
    with pytest.raises(ValueError, match="'W2' has shape"):
        net.load_params(str(tmp_path / "wrong.pkl"))
    with open(tmp_path / "missing.pkl", "wb") as f:
        pickle.dump({k: v for k, v in params.items() if k != "b3"}, f)
    with pytest.raises(ValueError, match="missing.*b3"):
        net.load_params(str(tmp_path / "missing.pkl"))
    with open(tmp_path / "list.pkl", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(ValueError, match="dict of named arrays"):
        pickles.load_params_file(tmp_path / "list.pkl")


def test_convert_writes_a_cnet_parameter_file(tmp_path):
    params = _book_params(dtype=np.float32)
    src, dst = tmp_path / "deep_convnet_params.pkl", tmp_path / "deep.cnet.npz"
    src.write_bytes(pickle.dumps(params, protocol=3))
    pickles.convert(src, dst, network="SimpleConvNet")
    loaded = saving.load_params(dst)
    assert list(loaded) == list(params)
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])
    assert saving.read_header(dst)["network"] == "SimpleConvNet"


def test_load_reads_file_objects():
    data = pickle.dumps({"W": np.eye(2)})
    np.testing.assert_array_equal(pickles.load(io.BytesIO(data))["W"], np.eye(2))
