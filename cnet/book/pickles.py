"""Reading the book's pickles without running code from them: an allow-list unpickler.

The book ships its trained weights as pickles (ch07/params.pkl, ch08/deep_convnet_params.pkl,
ch03/sample_weight.pkl): dicts of NumPy arrays. Unpickling calls whatever callables a file names, so
a hostile .pkl could run anything. ``load``/``loads`` admit only what a pickle of arrays needs:

- the containers and values the pickle opcodes build themselves: dict, list, tuple, str, bytes,
  int, float, complex, bool, None;
- arrays and scalars of numbers (bool, integers, floats, complex), as numpy pickles them. The globals
  numpy's pickles name (``numpy.core.multiarray._reconstruct`` and ``scalar``, ``numpy.ndarray``,
  ``numpy.dtype``, ``numpy.core.numeric._frombuffer``, also under numpy 2's ``numpy._core``) are
  mapped to cnet's own builders, which check every argument and state and make the arrays from the
  raw bytes: numpy's own ``__setstate__`` never sees the file's data (a state the pickle applies to
  what they built is refused), and object or record dtypes are refused;
- ``_codecs.encode`` for latin-1 text only, ``complex`` of two reals, ``bytes()`` and ``bytearray(bytes)``
  (how pickles before protocol 3 or 5 store these values).

Any other global (a function, a class) raises ``UnsafePickleError`` (a ValueError) naming it, before
anything is called; so does a persistent id, a malformed array state, a state applied to an admitted
global (they serve every load: a file may not rewrite them for the next), or a result holding anything
but the types above. As PyTorch's ``torch.load(weights_only=True)``, this reads weights, not objects.
"""
import io
import math
import os
import pickle

import numpy as np

from cnet.saving import load_params as _load_cnet_params

__all__ = ["UnsafePickleError", "load", "loads", "load_params_file", "convert"]

_ZIP_MAGIC = b"PK\x03\x04"


class UnsafePickleError(ValueError):
    """A pickle names something outside the allow-list (or is not a pickle of arrays)."""


_NUMBER_KINDS = "biufc"      # bool, signed and unsigned integers, floats, complex


def _number_dtype(code, endian="="):
    """The dtype of a type code such as 'f8', refusing anything but numbers (no objects, no records)."""
    if not isinstance(code, str):
        raise UnsafePickleError(f"a dtype must be named by a type code, got {code!r}")
    try:
        dtype = np.dtype(code)
    except TypeError:
        raise UnsafePickleError(f"unknown dtype {code!r}") from None
    if dtype.kind not in _NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafePickleError(f"refused dtype {code!r}: only arrays of numbers are admitted")
    if endian in "<>" and dtype.itemsize > 1:
        dtype = dtype.newbyteorder(endian)
    return dtype


class _DtypeBuilder:
    """Stands for numpy.dtype(code, False, True) until the pickle sets its state (byte order)."""

    def __init__(self, code):
        self.code = code
        self.dtype = _number_dtype(code)

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (8, 9) or any(v is not None for v in state[2:5]):
            raise UnsafePickleError(f"refused the state of dtype {self.code!r}: only plain number "
                                    f"dtypes (no fields, sub-arrays or metadata) are admitted")
        if len(state) == 9 and state[8] is not None:
            raise UnsafePickleError(f"refused dtype metadata {state[8]!r}")
        self.dtype = _number_dtype(self.code, state[1] if isinstance(state[1], str) else "=")


def _resolve_dtype(dtype):
    if isinstance(dtype, _DtypeBuilder):
        return dtype.dtype
    raise UnsafePickleError(f"expected a dtype, got {type(dtype).__name__}")


class _ArrayBuilder:
    """Stands for the empty ndarray numpy's _reconstruct makes, until the pickle sets its state
    (version, shape, dtype, Fortran order, raw bytes): then becomes an array of those bytes."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None:
            _refuse_state("an array that has its data")
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafePickleError("refused an array state that is not (version, shape, dtype, fortran, data)")
        _, shape, dtype, fortran, data = state
        dtype = _resolve_dtype(dtype)
        if isinstance(data, str):
            data = data.encode("latin1")           # a Python 2 pickle read with encoding='latin1'
        if not isinstance(data, (bytes, bytearray)):
            raise UnsafePickleError(f"refused array data of type {type(data).__name__} (expected bytes)")
        shape = _shape(shape)
        if math.prod(shape) * dtype.itemsize != len(data):
            raise UnsafePickleError(f"array data of {len(data)} bytes does not fill shape {shape} of {dtype}")
        self.array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def _shape(shape):
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise UnsafePickleError(f"refused array shape {shape!r}")
    return shape


def _refuse_state(what):
    raise UnsafePickleError(f"refused a state (BUILD) for {what}: a pickle of arrays sets none there")


class _Built:
    """An array or scalar built by _frombuffer or _scalar, held until the end of the load so that a
    state the pickle applies to it (BUILD) reaches this class, not numpy's own __setstate__."""

    def __init__(self, value):
        self.value = value

    def __setstate__(self, state):
        _refuse_state(f"a numpy {type(self.value).__name__} already built")


class _Global:
    """What an allow-listed global is to a pickle: calling it calls fn. These objects serve every
    load, so a state a pickle applies to one (BUILD) is refused: a file cannot rewrite them (a
    function's defaults or attributes) for the loads after it."""

    def __call__(self, *args):
        return self.fn(*args)

    def __setstate__(self, state):
        _refuse_state(repr(self))


class _Allowed(_Global):
    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def __repr__(self):
        return self.name


class _NdarrayName(_Global):
    """What the name numpy.ndarray stands for in a pickle: only an argument of _reconstruct."""

    def fn(self, *args):
        raise UnsafePickleError("refused a call of numpy.ndarray: a pickle of arrays only names it "
                                "as the type numpy's _reconstruct builds")

    def __repr__(self):
        return "numpy.ndarray"


_NDARRAY = _NdarrayName()


def _reconstruct(subtype, shape, placeholder):
    if subtype is not _NDARRAY:
        raise UnsafePickleError(f"numpy's _reconstruct may only build numpy.ndarray, not {subtype!r}")
    if math.prod(_shape(shape)) != 0:
        raise UnsafePickleError(f"numpy's _reconstruct is called with shape {shape!r}: numpy writes an "
                                f"empty placeholder there (the data comes after)")
    return _ArrayBuilder()


def _dtype(*args):
    if len(args) != 3:
        raise UnsafePickleError(f"numpy.dtype is called with {args!r}; a pickle of arrays calls it "
                                f"with a type code, False, True")
    return _DtypeBuilder(args[0])


def _frombuffer(buffer, dtype, shape, order):
    if not isinstance(buffer, (bytes, bytearray)) or order not in ("C", "F"):
        raise UnsafePickleError("refused numpy _frombuffer arguments (expected bytes and order 'C' or 'F')")
    dtype = _resolve_dtype(dtype)
    shape = _shape(shape)
    if math.prod(shape) * dtype.itemsize != len(buffer):
        raise UnsafePickleError(f"array data of {len(buffer)} bytes does not fill shape {shape} of {dtype}")
    return _Built(np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy())


def _scalar(dtype, *data):
    dtype = _resolve_dtype(dtype)
    if len(data) != 1 or not isinstance(data[0], bytes) or len(data[0]) != dtype.itemsize:
        raise UnsafePickleError(f"a numpy {dtype} scalar must be rebuilt from its {dtype.itemsize} bytes")
    return _Built(np.frombuffer(data[0], dtype=dtype)[0])


def _latin1(text, encoding="latin1"):
    if not isinstance(text, str) or not isinstance(encoding, str) or \
            encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise UnsafePickleError(f"_codecs.encode is only admitted for latin-1 text, got "
                                f"{type(text).__name__} in {encoding!r}")
    return text.encode("latin1")


def _complex(real=0.0, imag=0.0):
    if not all(isinstance(v, (int, float)) for v in (real, imag)):
        raise UnsafePickleError("complex() is only admitted with two real numbers")
    return complex(real, imag)


def _bytes(*args):
    if args:
        raise UnsafePickleError("bytes() is only admitted without arguments (an empty byte string)")
    return b""


def _bytearray(data=b""):
    if not isinstance(data, bytes):
        raise UnsafePickleError("bytearray() is only admitted with bytes")
    return bytearray(data)


_ALLOWED = {("_codecs", "encode"): _latin1}
for _builtins in ("builtins", "__builtin__"):       # Python 3 and 2 names of the same module
    _ALLOWED[(_builtins, "complex")] = _complex
    _ALLOWED[(_builtins, "bytes")] = _bytes
    _ALLOWED[(_builtins, "bytearray")] = _bytearray
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(_core + ".multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(_core + ".multiarray", "scalar")] = _scalar
    _ALLOWED[(_core + ".numeric", "_frombuffer")] = _frombuffer
_ALLOWED[("numpy", "dtype")] = _dtype
_ALLOWED = {key: _Allowed(".".join(key), fn) for key, fn in _ALLOWED.items()}
_ALLOWED[("numpy", "ndarray")] = _NDARRAY
del _core, _builtins

_PLAIN = (dict, list, tuple, str, bytes, bytearray, int, float, complex, bool, type(None))


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(f"refused to load global {module}.{name}: this pickle names a "
                                    f"callable outside the allow-list (NumPy arrays, dtypes, numbers, "
                                    f"strings, lists, tuples and dicts); it was not called")
        return found

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refused persistent id {pid!r}: a pickle of arrays has none")


def _finish(obj, depth=0):
    """obj with the builders replaced by what they built; anything outside the allow-list refused."""
    if depth > 100:
        raise UnsafePickleError("the pickle nests deeper than 100 levels")
    if isinstance(obj, _ArrayBuilder):
        if obj.array is None:
            raise UnsafePickleError("an array was never given its data")
        return obj.array
    if isinstance(obj, _DtypeBuilder):
        return obj.dtype
    if isinstance(obj, _Built):
        return obj.value      # built by _frombuffer or _scalar, both checked
    if isinstance(obj, _Global):
        raise UnsafePickleError(f"refused {obj!r} itself as a value: a pickle of arrays only calls it")
    if type(obj) is dict:
        return {_finish(k, depth + 1): _finish(v, depth + 1) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_finish(v, depth + 1) for v in obj)
    if type(obj) not in _PLAIN:
        raise UnsafePickleError(f"refused an object of type {type(obj).__name__}")
    return obj


def load(file):
    """Unpickle a file object opened in binary mode, admitting only the allow-list (see the module)."""
    try:
        obj = _AllowListUnpickler(file, encoding="latin1").load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError,
            ValueError, OverflowError, MemoryError) as exc:
        name = getattr(file, "name", "the pickle")
        raise UnsafePickleError(f"{name}: not a readable pickle of arrays ({type(exc).__name__}: {exc})") \
            from None
    return _finish(obj)


def loads(data):
    """Unpickle bytes with the allow-list."""
    return load(io.BytesIO(data))


def load_params_file(path):
    """{name: array} from a book network's parameter file: cnet's format (save_params) or a pickle of a
    dict of arrays (the book's .pkl files), read with the allow-list."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic == _ZIP_MAGIC:
            f.close()
            return _load_cnet_params(path)
        f.seek(0)
        try:
            params = load(f)
        except UnsafePickleError as exc:
            raise UnsafePickleError(f"{path}: {exc}") from None
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ValueError(f"{path}: expected a dict of named arrays (the book's parameter file), "
                         f"got {type(params).__name__}")
    out = {}
    for key, value in params.items():
        if not isinstance(value, (np.ndarray, np.generic)):
            raise ValueError(f"{path}: parameter {key!r} is a {type(value).__name__}, not an array")
        out[key] = np.asarray(value)
    return out


def convert(src, dst, network=None):
    """Write the book's parameter pickle src as a cnet parameter file dst (cnet.saving's safe format,
    what cnet.book's networks' load_params and cnet.saving.load_params read); returns {name: array}."""
    from cnet.saving import save_params
    params = load_params_file(src)
    save_params(dst, params, network=network)
    return params
