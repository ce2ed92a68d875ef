"""The cnet file format: data only, never pickle; written atomically.

This module knows the format (a JSON header and named arrays, the atomic write, the checked reads)
and no model class: ``cnet.models`` builds a model's header and arrays (``write``) and rebuilds the
model from a ``ModelFile``; ``cnet.nets`` saves its params with ``save_params``/``load_params``.

Format "cnet-model", version 1
------------------------------
A model file is a zip archive in NumPy's ``.npz`` layout (members stored uncompressed), readable with
``np.load(path, allow_pickle=False)``. Whatever the file name (``model.cnet.npz``, ``model.cnet``; names
ending in ``.h5`` or ``.hdf5`` are saved in Keras's HDF5 format instead, see ``cnet.keras_h5``), it holds:

``__model__.json``
    UTF-8 JSON object::

        {"format": "cnet-model", "format_version": 1, "cnet_version": "0.1.0",
         "kind": "model" | "weights" | "params",
         "model": {"class_name": "Sequential", "config": {"name": ..., "dtype": "float32",
                   "input_shape": [784] | null,
                   "layers": [{"class_name": "Dense", "config": {... the layer's get_config() ...}}, ...]}},
         "weights": [[{"key": "layers/0/0", "shape": [784, 10], "dtype": "float32"}, ...], ...],
         "compile": null | {"loss": "categorical_crossentropy",
                            "optimizer": {"class_name": "Adam", "config": {...}},
                            "metrics": ["accuracy"]},
         "optimizer_state": null | <the optimizer's get_state(), arrays replaced by {"__array__": key}>,
         "training_state": null | {"epoch": completed epochs, "step": optimizer steps of fit,
                                   "epoch_step": steps of an unfinished epoch (0 after a complete one),
                                   "shuffle_rng": null | numpy bit_generator.state (e.g. PCG64), at the
                                                  start of the unfinished epoch when there is one,
                                   "unfinished_epoch": (when epoch_step > 0) {"sums": the epoch's metric
                                                  sums so far, "seen": its samples, "batch_size": ...},
                                   "dropout": [{"layer": i, "seed": base seed | null, "step": n}, ...]}}

    A functional model's ``model`` entry is ``{"class_name": "Model", "config": {"name": ..., "layers": [{"name",
    "class_name", "config", "inbound_nodes": [[[layer name, node index, 0, {}], ...], ...]}, ...],
    "input_layers": [[name, 0, 0], ...], "output_layers": [[name, node index, 0], ...]}}`` (Keras 2's
    layout; its layers include the InputLayers); with several outputs, ``compile`` holds ``loss``,
    ``loss_weights`` and ``metrics`` as dicts by output name.

    ``weights[i]`` lists layer i's arrays in ``get_weights()`` order (Keras order: W, b; BatchNormalization
    gamma, beta, moving mean, moving variance). A "params" file (the book nets' ``save_params``) has
    ``"params": [{"name": "W1", "key": "params/W1", ...}, ...]`` and ``"network"`` instead of ``model``.

``layers/<i>/<j>.npy``
    Layer i's j-th weight array (i counts every layer, including those without weights).

``optimizer/<k>.npy``
    The optimizer's state arrays (slots such as Adam's m and v), so that training can resume.

``training_state`` (optional, absent in older files) makes a checkpoint resumable bit for bit:
``load_model(path)`` then ``fit(..., initial_epoch=model.training_state['epoch'])`` continues the run
with the same shuffling order and dropout masks as a run that was never interrupted, from the end of an
epoch or, for a model saved after fit stopped inside one (a signal), from the step it stopped after.

Loading
-------
Loading parses JSON and reads ``.npy`` arrays itself (their headers with NumPy's parser, never
``allow_pickle``): no code is run and no object is unpickled. Layer classes come only from cnet's registry
(``cnet.layers.get``, used by cnet.models). Nothing a file declares is believed before it is checked
against what the file really holds, so a small file cannot make the loader allocate much, or wait:

- only regular files are opened (a FIFO, a device or a folder named like a model is refused at once);
- members are stored or deflated (no other zip method), each declaring no more bytes than the archive
  (stored) or the deflate format's largest ratio (1032:1) allows; the JSON header is at most 16 MiB and
  32 levels deep;
- an array's ``.npy`` header must declare a numeric dtype (no object, string, structured or complex
  dtype) and a shape whose bytes are exactly the data the member holds; float arrays must be finite;
- a model's architecture is checked before it is built: following the shapes from its input shape
  (``Layer.weight_shapes``, nothing allocated), every layer's weight shapes must be those of the file's
  arrays and every layer's input and output at most 2**26 numbers per sample.

A file that breaks any of these, is not a zip, is truncated or corrupt, has a newer ``format_version``,
names an unknown layer class, misses an array, or holds an array of the wrong shape or dtype raises
``ValueError`` naming the file and what is wrong; a missing file raises FileNotFoundError, a file that
cannot be read (permissions) another OSError.

Saving
------
The archive is written by ``cnet._fileio.atomic_write``: a temporary file in the destination folder
(through a symbolic link: in its target's folder), flushed and fsync'ed, then moved over the destination
with ``os.replace``: a crash mid-save leaves the previous file intact. The new file has the replaced
file's permissions, or those the umask gives a new file. File-system errors name the destination, never
the temporary file. ``write(..., overwrite=False)`` refuses (FileExistsError) to replace an existing file;
a float array holding NaN or Inf is refused (ValueError): a diverged model is never written.
"""
import json
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np

from ._fileio import atomic_write
from ._version import __version__

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "HEADER", "write", "describe", "flatten_state", "ModelFile",
           "read_header", "save_params", "load_params", "atomic_write"]

FORMAT_NAME = "cnet-model"
FORMAT_VERSION = 1
HEADER = "__model__.json"
_MAX_HEADER_BYTES = 16 << 20    # a model's JSON: tens of KB; 16 MiB parses into ~100 MB of objects at most
_MAX_JSON_DEPTH = 32            # the format nests 8 levels; a deeper file is hostile, not a model
_MAX_NPY_HEADER = 10000         # an .npy header describes one array's dtype and shape in ~100 bytes
_DEFLATE_MAX_RATIO = 1032       # deflate cannot expand data more than this (the format's limit)


# ---- writing -------------------------------------------------------------------------------------

def _write_archive(path, header, arrays):
    """header: JSON-able dict; arrays: {key: ndarray}, each stored as member '<key>.npy'."""
    text = json.dumps(header, indent=1, allow_nan=True).encode("utf-8")

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(HEADER, text)
            for key, arr in arrays.items():
                arr = np.asarray(arr)
                if arr.dtype.hasobject:
                    raise TypeError(f"cannot save {key!r}: object arrays are not data")
                with zf.open(key + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
    atomic_write(path, write)


def write(path, kind, fields, arrays, overwrite=True, labels=None):
    """Write a file of `kind` ('model', 'weights', 'params'): the header is the format's fields, then
    `fields` (a JSON-able dict); `arrays` ({key: ndarray}) become members '<key>.npy'. With
    overwrite=False an existing file at path is refused (FileExistsError) and left as it is. A float
    array holding NaN or Inf is refused (ValueError naming it as labels[key] says, else by its key):
    nothing is written, so a diverged model never replaces a good file."""
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{os.fspath(path)} exists and overwrite=False: nothing was written (pass "
                              "overwrite=True to replace it)")
    for key, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            what = (labels or {}).get(key, f"array {key!r}")
            raise ValueError(f"cannot save {os.fspath(path)}: {what} holds NaN or Inf values (training "
                             "diverged?); nothing was written")
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "cnet_version": __version__,
              "kind": kind}
    header.update(fields)
    _write_archive(path, header, arrays)


def describe(key, arr):
    """The header's entry of an array: {'key', 'shape', 'dtype'}."""
    return {"key": key, "shape": list(arr.shape), "dtype": np.dtype(arr.dtype).name}


def flatten_state(state, arrays, prefix, labels=None, path=()):
    """Replace the arrays of a nested dict/list structure by {"__array__": key} and collect them in
    `arrays` under prefix/<n> (ModelFile.state rebuilds the structure); `labels`, when given, gets
    each key's place in the structure ("state 'm:dense/W'")."""
    if isinstance(state, np.ndarray):
        key = f"{prefix}/{sum(1 for k in arrays if k.startswith(prefix + '/'))}"
        arrays[key] = state
        if labels is not None:
            labels[key] = f"{prefix} state {'/'.join(path)!r}"
        return {"__array__": key, "shape": list(state.shape), "dtype": state.dtype.name}
    if isinstance(state, dict):
        return {str(k): flatten_state(v, arrays, prefix, labels, path + (str(k),)) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [flatten_state(v, arrays, prefix, labels, path + (str(i),)) for i, v in enumerate(state)]
    if isinstance(state, np.generic):
        return state.item()
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    raise TypeError(f"optimizer state holds a {type(state).__name__}, which is not data")


def save_params(path, params, network=None):
    """Save a flat {name: array} dict (the book nets' params) in the same safe, atomic format."""
    arrays, entries = {}, []
    for name, arr in params.items():
        key = f"params/{len(entries)}"
        arrays[key] = np.asarray(arr)
        entries.append(dict(describe(key, arrays[key]), name=str(name)))
    write(path, "params", {"network": network, "params": entries}, arrays)


# ---- reading -------------------------------------------------------------------------------------

class ModelFile:
    """A model file opened for checked reading: `header` (the JSON), `array(key, shape, dtype)` and
    `array_header(key)` (an array's declared shape and dtype, its data not read).

    Nothing is believed before it is checked against something the file cannot inflate: the file must
    be a regular file (never a FIFO, device or folder, which could block or never end); each member's
    declared size must fit in the archive (stored), or in the deflate format's largest ratio; an array's
    .npy header must declare a numeric dtype and a shape whose bytes are exactly the member's data, so
    that nothing larger than what the file really holds is ever allocated; the JSON header is at most
    16 MiB and 32 levels deep."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._zip = None
        self._file, self._size = _open_regular(self.path, self.error)
        try:
            self._open_archive()
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    def error(self, what):
        return ValueError(f"{self.path}: {what}")

    def close(self):
        for f in (self._zip, self._file):
            if f is not None:
                f.close()
        self._zip = self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open_archive(self):
        if self._file.read(4) != b"PK\x03\x04":
            raise self.error("not a cnet model file (it is not a zip/.npz archive)")
        self._file.seek(0)
        try:
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except _UNREADABLE as exc:
            raise self.error(f"corrupt or truncated archive ({type(exc).__name__}: {exc})") from None
        self._infos = {}
        for info in infos:
            name = info.filename
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.error(f"member {name!r} uses compression method {info.compress_type}; cnet "
                                 "files use stored (0) or deflated (8) members only")
            if info.flag_bits & 0x1:
                raise self.error(f"member {name!r} is encrypted")
            most = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
                info.compress_size * _DEFLATE_MAX_RATIO + 1024
            if info.compress_size > self._size or info.file_size > most:
                raise self.error(f"member {name!r} declares {info.file_size} bytes, more than the "
                                 f"{self._size}-byte archive can hold")
            self._infos[name] = info

    def _read_header(self):
        info = self._infos.get(HEADER)
        if info is None:
            raise self.error(f"no {HEADER} member: not a cnet model file")
        if info.file_size > _MAX_HEADER_BYTES:
            raise self.error(f"{HEADER} is implausibly large ({info.file_size} bytes)")
        try:
            header = json.loads(self._zip.read(info).decode("utf-8"))
        except RecursionError:
            raise self.error(f"{HEADER} is nested too deeply") from None
        except _UNREADABLE as exc:
            raise self.error(f"{HEADER} is unreadable or not valid JSON ({exc})") from None
        if _depth_exceeds(header, _MAX_JSON_DEPTH):
            raise self.error(f"{HEADER} is nested more than {_MAX_JSON_DEPTH} levels deep")
        if not isinstance(header, dict):
            raise self.error(f"{HEADER} must hold a JSON object, got {type(header).__name__}")
        if header.get("format") != FORMAT_NAME:
            raise self.error(f"unknown format {header.get('format')!r} (expected {FORMAT_NAME!r})")
        version = header.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.error(f"invalid format_version {version!r}")
        if version > FORMAT_VERSION:
            raise self.error(f"format version {version} was written by a newer cnet "
                             f"({header.get('cnet_version')}); this cnet reads versions up to "
                             f"{FORMAT_VERSION}: upgrade cnet")
        return header

    def require_kind(self, *kinds):
        kind = self.header.get("kind")
        if kind not in kinds:
            raise self.error(f"holds {kind!r} data, expected {' or '.join(map(repr, kinds))}")

    def _member(self, key, what):
        if not isinstance(key, str) or key + ".npy" not in self._infos:
            raise self.error(f"missing array {what} (member {key!r}.npy)")
        return self._infos[key + ".npy"]

    def _npy_header(self, f, info, what):
        """(shape, dtype, fortran_order) of the .npy member open in f, read up to its data, checked: a
        numeric dtype, and exactly as many data bytes in the member as the shape needs."""
        try:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy format version {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f, max_header_size=_MAX_NPY_HEADER)
        except RecursionError:
            raise self.error(f"array {what}: its .npy header is nested too deeply") from None
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:   # the member's bytes (CRC)
            raise self.error(f"array {what} is corrupt or truncated ({exc})") from None
        except Exception as exc:    # NumPy parses the header's text with tokenize/ast: any of their errors
            raise self.error(f"array {what}: unreadable .npy header ({type(exc).__name__}: {exc})") from None
        if dtype.hasobject:
            raise self.error(f"array {what} is an object array (it would need pickle); refusing to load it")
        if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
            raise self.error(f"array {what} has dtype {dtype}, expected a numeric dtype")
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - f.tell()
        if nbytes != held:
            raise self.error(f"array {what}: its .npy header declares shape {tuple(shape)} of {dtype} "
                             f"({nbytes} bytes) but the file holds {held} bytes of data for it")
        return tuple(shape), dtype, fortran

    def _open_member(self, info, what):
        try:
            return self._zip.open(info)
        except _UNREADABLE as exc:
            raise self.error(f"array {what} is corrupt or truncated ({exc})") from None

    def array_header(self, key, what=None):
        """(shape, dtype) the array under key declares, checked against the bytes the file holds for it
        (its data is not read)."""
        what = what or repr(key)
        info = self._member(key, what)
        with self._open_member(info, what) as f:
            shape, dtype, _ = self._npy_header(f, info, what)
        return shape, dtype

    def array(self, key, shape=None, dtype=None, what=None):
        """The array stored under key, checked against the expected shape (the dtype must be numeric;
        float arrays must hold finite numbers). `dtype` is the expected one, kept for the callers."""
        what = what or repr(key)
        info = self._member(key, what)
        with self._open_member(info, what) as f:
            stored, stype, fortran = self._npy_header(f, info, what)
            if shape is not None and stored != tuple(shape):
                raise self.error(f"array {what} has shape {stored}, expected {tuple(shape)}")
            raw = np.empty(math.prod(stored) * stype.itemsize, np.uint8)   # no more than the file holds
            try:
                complete = _read_into(f, memoryview(raw)) == raw.size and not f.read(1)  # at the end: CRC
            except _UNREADABLE as exc:
                raise self.error(f"array {what} is corrupt or truncated ({exc})") from None
            if not complete:
                raise self.error(f"array {what} is truncated")
        arr = raw.view(stype).reshape(stored, order="F" if fortran else "C")
        if not stype.isnative:
            arr = arr.astype(stype.newbyteorder("="))
        arr = np.ascontiguousarray(arr)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise self.error(f"array {what} holds NaN or Inf values; a model file holds finite numbers "
                             "only")
        return arr

    def state(self, tree):
        """Rebuild a structure written by flatten_state."""
        if isinstance(tree, dict):
            if "__array__" in tree:
                shape = tree.get("shape")
                if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
                    raise self.error(f"invalid shape {shape!r} for optimizer array {tree['__array__']!r}")
                return self.array(tree["__array__"], shape, tree.get("dtype"),
                                  what=f"optimizer state {tree['__array__']!r}")
            return {k: self.state(v) for k, v in tree.items()}
        if isinstance(tree, list):
            return [self.state(v) for v in tree]
        return tree


# What parsing a hostile archive, member or header may raise besides ValueError: all become ValueError.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, ValueError, TypeError,
               SyntaxError, KeyError, IndexError, struct.error, NotImplementedError, OverflowError,
               UnicodeDecodeError)


def _open_regular(path, error):
    """(binary file object, size) of the regular file at path; anything else (a FIFO, which would block
    forever, a device, a folder, a socket) raises error(...) without reading it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)   # O_NONBLOCK: opening a FIFO without a writer does not wait
    except FileNotFoundError:
        raise FileNotFoundError(f"no such model file: {path!r}") from None
    except IsADirectoryError:
        raise error("it is a folder, not a model file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket")
            raise error(f"it is {kind}, not a regular file: not a model file")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_into(f, buf):
    """Fill buf from f; the number of bytes read (fewer only at the end of f)."""
    total = 0
    while total < len(buf):
        got = f.readinto(buf[total:])
        if not got:
            break
        total += got
    return total


def _depth_exceeds(obj, limit):
    """True when the JSON value obj nests lists/objects more than limit levels deep (no recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def load_params(path, expected=None):
    """{name: array} from a file written by save_params; `expected` ({name: array}) checks names/shapes."""
    with ModelFile(path) as mf:
        mf.require_kind("params")
        entries = mf.header.get("params")
        if not isinstance(entries, list):
            raise mf.error("the 'params' table is missing or not a list")
        out = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise mf.error(f"malformed params entry {entry!r}")
            name = entry["name"]
            shape = entry.get("shape")
            if expected is not None:
                if name not in expected:
                    raise mf.error(f"parameter {name!r} is not a parameter of this network "
                                   f"(it has {', '.join(expected)})")
                shape = np.shape(expected[name])
            if not isinstance(shape, (list, tuple)):
                raise mf.error(f"parameter {name!r} has no valid shape")
            out[name] = mf.array(entry.get("key"), shape, entry.get("dtype"), what=f"parameter {name!r}")
        if expected is not None:
            missing = [k for k in expected if k not in out]
            if missing:
                raise mf.error(f"missing parameters {', '.join(missing)}")
    return out


def read_header(path):
    """The JSON header of a model file (checked format), e.g. to inspect it without building anything."""
    with ModelFile(path) as mf:
        return mf.header

