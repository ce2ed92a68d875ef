"""The cnet file format: data only, never pickle; written atomically.

This module knows the format (a JSON header and named arrays, the atomic write, the checked reads)
and no model class: ``cnet.models`` builds a model's header and arrays (``write``) and rebuilds the
model from a ``ModelFile``; ``cnet.nets`` saves its params with ``save_params``/``load_params``.

Format "cnet-model", version 1
------------------------------
A model file is a zip archive in NumPy's ``.npz`` layout (members stored uncompressed), readable with
``np.load(path, allow_pickle=False)``. Whatever the file name (``model.cnet.npz``, ``model.h5``), it holds:

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
                                   "shuffle_rng": null | numpy bit_generator.state (e.g. PCG64),
                                   "dropout": [{"layer": i, "seed": base seed | null, "step": n}, ...]}}

    ``weights[i]`` lists layer i's arrays in ``get_weights()`` order (Keras order: W, b; BatchNormalization
    gamma, beta, moving mean, moving variance). A "params" file (the book nets' ``save_params``) has
    ``"params": [{"name": "W1", "key": "params/W1", ...}, ...]`` and ``"network"`` instead of ``model``.

``layers/<i>/<j>.npy``
    Layer i's j-th weight array (i counts every layer, including those without weights).

``optimizer/<k>.npy``
    The optimizer's state arrays (slots such as Adam's m and v), so that training can resume.

``training_state`` (optional, absent in older files) makes a checkpoint resumable bit for bit:
``load_model(path)`` then ``fit(..., initial_epoch=model.training_state['epoch'])`` continues the run
with the same shuffling order and dropout masks as a run that was never interrupted.

Loading
-------
Loading parses JSON and reads ``.npy`` arrays with ``allow_pickle=False``: no code is run and no object is
unpickled. Layer classes come only from cnet's registry (``cnet.layers.get``, used by cnet.models). A
file that is not a zip, is truncated or corrupt, has a newer ``format_version``, names an unknown layer
class, misses an array, or holds an array of the wrong shape or dtype (object arrays included) raises
``ValueError`` naming the file and what is wrong.

Saving
------
The archive is written to a temporary file in the destination folder, flushed and fsync'ed, then moved
over the destination with ``os.replace``: a crash mid-save leaves the previous file intact.
``write(..., overwrite=False)`` refuses (FileExistsError) to replace an existing file.
"""
import json
import os
import zipfile

import numpy as np

from ._fileio import atomic_write
from ._version import __version__

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "HEADER", "write", "describe", "flatten_state", "ModelFile",
           "read_header", "save_params", "load_params", "atomic_write"]

FORMAT_NAME = "cnet-model"
FORMAT_VERSION = 1
HEADER = "__model__.json"
_MAX_HEADER_BYTES = 64 << 20
_NPY_HEADER_SLACK = 1 << 16     # an .npy member may exceed its data by at most this much (its header)


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


def write(path, kind, fields, arrays, overwrite=True):
    """Write a file of `kind` ('model', 'weights', 'params'): the header is the format's fields, then
    `fields` (a JSON-able dict); `arrays` ({key: ndarray}) become members '<key>.npy'. With
    overwrite=False an existing file at path is refused (FileExistsError) and left as it is."""
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{os.fspath(path)} exists and overwrite=False: nothing was written (pass "
                              "overwrite=True to replace it)")
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "cnet_version": __version__,
              "kind": kind}
    header.update(fields)
    _write_archive(path, header, arrays)


def describe(key, arr):
    """The header's entry of an array: {'key', 'shape', 'dtype'}."""
    return {"key": key, "shape": list(arr.shape), "dtype": np.dtype(arr.dtype).name}


def flatten_state(state, arrays, prefix):
    """Replace the arrays of a nested dict/list structure by {"__array__": key} and collect them in
    `arrays` under prefix/<n> (ModelFile.state rebuilds the structure)."""
    if isinstance(state, np.ndarray):
        key = f"{prefix}/{sum(1 for k in arrays if k.startswith(prefix + '/'))}"
        arrays[key] = state
        return {"__array__": key, "shape": list(state.shape), "dtype": state.dtype.name}
    if isinstance(state, dict):
        return {str(k): flatten_state(v, arrays, prefix) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [flatten_state(v, arrays, prefix) for v in state]
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
    """A model file opened for checked reading: `header` (the JSON) and `array(key, shape, dtype)`."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                magic = f.read(4)
        except FileNotFoundError:
            raise FileNotFoundError(f"no such model file: {self.path!r}") from None
        if magic != b"PK\x03\x04":
            raise self.error("not a cnet model file (it is not a zip/.npz archive)")
        try:
            self._npz = np.load(self.path, allow_pickle=False)
            self._zip = self._npz.zip
            self._infos = {info.filename: info for info in self._zip.infolist()}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.error(f"corrupt or truncated archive ({exc})") from None
        self.header = self._read_header()

    def error(self, what):
        return ValueError(f"{self.path}: {what}")

    def close(self):
        npz = getattr(self, "_npz", None)
        if npz is not None:
            npz.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_header(self):
        info = self._infos.get(HEADER)
        if info is None:
            raise self.error(f"no {HEADER} member: not a cnet model file")
        if info.file_size > _MAX_HEADER_BYTES:
            raise self.error(f"{HEADER} is implausibly large ({info.file_size} bytes)")
        try:
            header = json.loads(self._zip.read(HEADER).decode("utf-8"))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.error(f"{HEADER} is unreadable or not valid JSON ({exc})") from None
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

    def array(self, key, shape=None, dtype=None, what=None):
        """The array stored under key, checked against the expected shape and (float) dtype."""
        what = what or repr(key)
        if not isinstance(key, str) or key + ".npy" not in self._infos:
            raise self.error(f"missing array {what} (member {key!r}.npy)")
        info = self._infos[key + ".npy"]
        if shape is not None:
            expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype or np.float64).itemsize
            if info.file_size > expected + _NPY_HEADER_SLACK:
                raise self.error(f"array {what} is {info.file_size} bytes, far more than its expected "
                                 f"shape {tuple(shape)} needs")
        try:
            arr = self._npz[key]
        except ValueError as exc:
            if "pickle" in str(exc) or "allow_pickle" in str(exc):
                raise self.error(f"array {what} is an object array (it would need pickle); "
                                 f"refusing to load it") from None
            raise self.error(f"array {what} is corrupt ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            raise self.error(f"array {what} is corrupt or truncated ({exc})") from None
        if not isinstance(arr, np.ndarray):
            raise self.error(f"member {what} is not an array")
        if arr.dtype.kind not in "fiub":
            raise self.error(f"array {what} has dtype {arr.dtype}, expected a numeric dtype")
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise self.error(f"array {what} has shape {tuple(arr.shape)}, expected {tuple(shape)}")
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

