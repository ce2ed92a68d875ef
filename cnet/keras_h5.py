"""Keras 2's HDF5 model files (needs h5py: ``pip install "cnet[h5]"``).

``model.load_weights('model.h5')`` reads the weights of a Keras 2 file: a whole model saved by
``model.save`` (the weights in its ``model_weights`` group) or a weights file of ``save_weights`` (at its
root); layer i of the file with weights goes into layer i of the model with weights, or, with
``by_name=True``, into the layer of the same name. ``model.save_weights('x.h5')`` writes such a weights
file and ``model.save('x.h5')`` a whole model file (``model_config`` and weights, no optimizer or
training configuration), which Keras reads with ``load_model``/``load_weights``; ``cnet.models.load_model``
builds the Sequential or functional model of a Keras file's ``model_config`` (Keras 2.1's, 2.2's or
tf.keras's) when cnet has its layers. A name ending in ``.h5`` or ``.hdf5`` is saved in this format;
reading goes by the file's content (an HDF5 file, or cnet's own format whatever its name).

Layouts: the files hold Keras's arrays and cnet converts at this boundary. A Conv2D kernel is (kh, kw, C,
filters) in a Keras file whatever the data_format, (filters, C, kh, kw) in cnet. A written file describes
the model as a channels-last Keras model (Keras's default; TensorFlow runs channels-first convolutions on
GPUs only): its input shape is (H, W, C), and the rows of a Dense that reads a flattened image are put in
channels-last order when the cnet model flattened channels-first images (C, H, W); reading does the
reverse, the flatten order of the Keras model taken from its ``model_config`` (a weights file has none: a
channels-last Keras model is assumed). A Dense applied to channels-first images (their last axis, W) has
no channels-last equivalent and is refused. Files of Keras 1 are refused; a Theano-trained file's kernels
are flipped as Keras does.

The file's attributes are those Keras 2 writes: ``keras_version`` ('2.2.4', the format), ``backend``
('tensorflow': the kernels are cross-correlations, which is what Keras checks it for), ``model_config``
(JSON), and on the weights group ``layer_names`` and per layer ``weight_names`` (byte strings), the
arrays at ``<layer>/<layer>/kernel:0`` ...; plus ``cnet_version``. Writing is atomic (cnet._fileio);
weights holding NaN or Inf are not written. Reading opens regular files only; the model a model_config
describes is planned before it is built (the shapes of its weights followed through its layers, each input
and output at most 2**26 numbers per sample) and must match the arrays the file stores; every array's
declared shape and dtype are checked against the model, and its stored bytes against its shape, before it
is read; NaN or Inf is refused. A small file cannot make the reader allocate a large model.
"""
import io
import json
import math
import os

import numpy as np

from . import _graph, optimizers, saving
from . import _keras_config as kc
from ._fileio import atomic_write
from ._version import __version__

__all__ = ["is_h5_name", "is_hdf5", "save", "load_weights", "read_model", "restore_compile"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAX_LAYERS = 100000
_MAX_JSON_BYTES = 16 << 20
_HEADER_LIMIT = 64512           # the bytes an attribute may hold in an HDF5 object header (Keras's figure)
_DEFLATE_MAX_RATIO = 1032       # deflate cannot expand data more than this (the format's limit)
_MAX_SAMPLE = 1 << 26           # numbers per sample a layer of a loaded model may take or give (as cnet files)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError('Keras HDF5 files (.h5) need h5py: pip install "cnet[h5]" (or save to another name, '
                          'e.g. model.cnet, for cnet\'s own format)') from None
    return h5py


def is_h5_name(path):
    """True for the names saved in Keras's HDF5 format (.h5, .hdf5)."""
    return os.fspath(path).lower().endswith((".h5", ".hdf5"))


def is_hdf5(path):
    """True when the regular file at path is an HDF5 file (its signature at 0, 512, 1024, ... bytes)."""
    try:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as f:
            for offset in (0, 512, 1024, 2048, 4096):
                f.seek(offset)
                if f.read(8) == _SIGNATURE:
                    return True
    except OSError:
        return False
    return False


# ---- writing -------------------------------------------------------------------------------------

def _text(value):
    """A string attribute as a fixed-length byte string: read back as bytes by every h5py (Keras 2 calls
    .decode on it), where a Python bytes value becomes a variable-length string h5py 3 reads as str."""
    return np.bytes_(value.encode("utf-8") if isinstance(value, str) else value)


def _put_strings(node, name, values):
    """A list of names as an attribute of fixed-length byte strings, split into name0, name1, ... when it
    is larger than an HDF5 object header holds (as Keras does)."""
    data = np.array([v.encode("utf-8") for v in values], dtype=bytes) if values else np.array([], dtype="S1")
    chunks = 1
    while data.nbytes / chunks > _HEADER_LIMIT and chunks < len(data):
        chunks += 1
    if chunks == 1:
        node.attrs[name] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            node.attrs[f"{name}{i}"] = part


def _write_weights(group, model, convs):
    _put_strings(group, "layer_names", [layer.name for layer in model.layers])
    group.attrs["backend"] = _text("tensorflow")
    group.attrs["keras_version"] = _text(kc.KERAS_VERSION)
    for layer, conv in zip(model.layers, convs):
        if "/" in layer.name:
            raise ValueError(f"layer name {layer.name!r}: a '/' would nest HDF5 groups; rename the layer")
        g = group.create_group(layer.name)
        names = conv.names()
        _put_strings(g, "weight_names", names)
        for name, value in zip(names, conv.to_keras(layer.get_weights())):
            g.create_dataset(name, data=value)


def save(model, filepath, weights_only=False, overwrite=True):
    """Write model (built) as a Keras 2 HDF5 weights file, or (weights_only=False) a whole model file."""
    h5py = _h5py()
    path = os.fspath(filepath)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} exists and overwrite=False: nothing was written (pass overwrite=True "
                              "to replace it)")
    if not model.built:
        raise ValueError("cannot save a model that is not built yet (fit it or call build first)")
    for layer in model.layers:
        for name, w in zip(layer._weight_names(), layer.get_weights()):
            if w.dtype.kind == "f" and not np.isfinite(w).all():
                raise ValueError(f"cannot save {path}: weight {name} of layer {layer.name!r} holds NaN or Inf "
                                 "values (training diverged?); nothing was written")
    convs = kc.converters(model)
    config = None if weights_only else json.dumps(kc.keras_config(model)).encode("utf-8")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["cnet_version"] = _text(__version__)
        if weights_only:
            _write_weights(f, model, convs)
        else:
            f.attrs["keras_version"] = _text(kc.KERAS_VERSION)
            f.attrs["backend"] = _text("tensorflow")
            # a large JSON as a variable-length string (as Keras writes it): a fixed-length attribute must fit
            # an object header
            f.attrs["model_config"] = _text(config) if len(config) < _HEADER_LIMIT else config
            _write_weights(f.create_group("model_weights"), model, convs)
    atomic_write(path, lambda out: out.write(buffer.getvalue()))


# ---- reading -------------------------------------------------------------------------------------

class _File:
    """An HDF5 file opened for checked reading: errors are ValueError naming the file."""

    def __init__(self, path):
        h5py = _h5py()
        self.path = os.fspath(path)
        self._raw, _ = saving._open_regular(self.path, self.error)
        try:
            self.h5 = h5py.File(self._raw, "r")
        except (OSError, ValueError) as exc:
            self._raw.close()
            raise self.error(f"not a readable HDF5 file ({exc})") from None

    def error(self, what):
        return ValueError(f"{self.path}: {what}")

    def close(self):
        self.h5.close()
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def text(self, node, name):
        value = node.attrs.get(name)
        if value is None:
            return None
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, str):
            return value
        raise self.error(f"attribute {name!r} is not a string")

    def strings(self, node, name):
        """A list attribute of strings (Keras splits long ones into name0, name1, ...)."""
        if name in node.attrs:
            parts = [node.attrs[name]]
        else:
            parts, i = [], 0
            while f"{name}{i}" in node.attrs and i < _MAX_LAYERS:
                parts.append(node.attrs[f"{name}{i}"])
                i += 1
        out = []
        for part in parts:
            arr = np.asarray(part)
            if arr.ndim > 1 or arr.size > _MAX_LAYERS:
                raise self.error(f"attribute {name!r} is not a list of names")
            for v in arr.reshape(-1):
                if isinstance(v, bytes):
                    v = v.decode("utf-8", "replace")
                if not isinstance(v, str):
                    raise self.error(f"attribute {name!r} holds {type(v).__name__} values, not names")
                out.append(v)
        return out

    def model_config(self):
        text = self.text(self.h5, "model_config")
        if text is None:
            return None
        if len(text) > _MAX_JSON_BYTES:
            raise self.error("model_config is implausibly large")
        try:
            config = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise self.error(f"model_config is not valid JSON ({exc})") from None
        if saving._depth_exceeds(config, 64):
            raise self.error("model_config is nested too deeply")
        return config

    def weights_group(self):
        """(group holding the weights, keras_version, backend)."""
        group = self.h5
        if "layer_names" not in group.attrs and not any(k.startswith("layer_names") for k in group.attrs) \
                and "model_weights" in group:
            group = group["model_weights"]
        if not any(k.startswith("layer_names") for k in group.attrs):
            raise self.error("no layer_names attribute: not a Keras model or weights file")
        version = self.text(group, "keras_version") or self.text(self.h5, "keras_version") or "1"
        if version.split(".")[0] == "1":
            raise self.error(f"written by Keras {version}: Keras 1 files are not supported (load the file in Keras "
                             f"2 and save it again)")
        return group, version, self.text(group, "backend") or self.text(self.h5, "backend")

    def layers(self, group):
        """[(name, [(weight name, dataset)])] of the file's layers that have weights, in order."""
        found = []
        for name in self.strings(group, "layer_names"):
            if name not in group:
                raise self.error(f"layer {name!r} is listed in layer_names but has no group")
            g = group[name]
            names = self.strings(g, "weight_names")
            datasets = []
            for wname in names:
                ds = g.get(wname)
                if ds is None or not hasattr(ds, "shape"):
                    raise self.error(f"layer {name!r}: weight {wname!r} is missing")
                datasets.append((wname, ds))
            if datasets:
                found.append((name, datasets))
        return found

    def check_stored(self, what, ds):
        """A dataset must store its values: one that declares more than its bytes could hold even
        deflated (unwritten chunks read as a fill value) would make the reader allocate what the file
        does not hold."""
        nbytes = int(np.prod(ds.shape, dtype=np.int64)) * ds.dtype.itemsize
        if ds.id.get_storage_size() * _DEFLATE_MAX_RATIO + 1024 < nbytes:
            raise self.error(f"{what} declares shape {tuple(ds.shape)} ({nbytes} bytes) but stores "
                             f"{ds.id.get_storage_size()} bytes")

    def check_planned(self, planned):
        """Before a model is built from the file's model_config: {layer name: [Keras weight shapes]} must be
        what the file's weights group holds, every array stored (nothing is allocated before)."""
        group, _, _ = self.weights_group()
        stored = dict(self.layers(group))
        for name, shapes in planned.items():
            if not shapes:
                continue
            datasets = stored.get(name)
            if datasets is None or len(datasets) != len(shapes):
                n = 0 if datasets is None else len(datasets)
                raise self.error(f"layer {name!r} of the model_config has {len(shapes)} weight arrays, the weights "
                                 f"group holds {n} for it")
            for (wname, ds), shape in zip(datasets, shapes):
                what = f"layer {name!r}, weight {wname!r}"
                if tuple(ds.shape) != tuple(shape):
                    raise self.error(f"{what} has shape {tuple(ds.shape)}, the model_config says {tuple(shape)}")
                self.check_stored(what, ds)

    def array(self, layer_name, wname, ds, shape):
        """The dataset's values, its declared shape and dtype checked first (shape: the expected one in the
        file's layout, or None to check only its number of values)."""
        what = f"layer {layer_name!r}, weight {wname!r}"
        if ds.dtype.kind != "f":
            raise self.error(f"{what} has dtype {ds.dtype}, expected floats")
        if tuple(ds.shape) != tuple(shape):
            raise self.error(f"{what} has shape {tuple(ds.shape)}, expected {tuple(shape)}")
        self.check_stored(what, ds)
        try:
            value = np.asarray(ds[()])
        except (OSError, ValueError, TypeError) as exc:
            raise self.error(f"{what} is unreadable ({exc})") from None
        if not np.isfinite(value).all():
            raise self.error(f"{what} holds NaN or Inf values")
        return value


def load_weights(model, filepath, by_name=False):
    """Read a Keras 2 HDF5 file's weights into model (see the module docstring)."""
    with _File(filepath) as f:
        group, _, backend = f.weights_group()
        config = f.model_config()
        keras_inputs = None
        if config is not None:
            try:
                keras_inputs = kc.keras_dense_inputs(config)
            except (ValueError, NotImplementedError):
                keras_inputs = None     # not a model cnet reads: the channels-last default
        if not model.built:
            if model.input_shape is None:
                raise f.error("the model is not built: give input_shape to its first layer (or call "
                              "model.build(input_shape)) before load_weights")
            model.build()
        try:
            convs = kc.converters(model, keras_inputs, flip=backend == "theano")
        except NotImplementedError as exc:
            raise f.error(str(exc)) from None
        stored = f.layers(group)
        mine = [(layer, conv) for layer, conv in zip(model.layers, convs) if layer._weights()]
        if by_name:
            index = {layer.name: (layer, conv) for layer, conv in mine}
            pairs = [(index[name], name, ds) for name, ds in stored if name in index]
        else:
            if len(stored) != len(mine):
                raise f.error(f"holds weights for {len(stored)} layers but the model has {len(mine)} layers with "
                              f"weights")
            pairs = [(lc, name, ds) for lc, (name, ds) in zip(mine, stored)]
        updates = []
        for (layer, conv), name, datasets in pairs:
            expected = conv.keras_shapes()
            if len(datasets) != len(expected):
                raise f.error(f"layer {name!r} holds {len(datasets)} weight arrays but {layer.name} "
                              f"({type(layer).__name__}) has {len(expected)} ({', '.join(layer._weight_names())})")
            values = [f.array(name, wname, ds, shape) for (wname, ds), shape in zip(datasets, expected)]
            updates.append((layer, conv.from_keras(values)))
    for layer, values in updates:
        layer.set_weights(values)


def read_model(filepath):
    """(kind, parts, training_config or None) of a Keras file's model: kind 'Sequential' with parts (name,
    dtype, input_shape, layers), or 'Model' with a cnet functional config (cnet._graph.parse_config's)."""
    with _File(filepath) as f:
        config = f.model_config()
        if config is None:
            raise f.error("holds no model_config (a weights file): build the model with cnet and call "
                          "model.load_weights(path)")
        try:
            if isinstance(config, dict) and config.get("class_name") == "Sequential":
                kind, parts = "Sequential", kc.layers_from_keras(config)
                planned = _plan_chain(parts[2], parts[3])
            else:
                kind, parts = "Model", _graph.parse_config(kc.functional_from_keras(config))
                planned = _plan_graph(parts[1], parts[2])
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise type(exc)(f"{f.path}: {exc}") from None
        f.check_planned(planned)
        text = f.text(f.h5, "training_config")
        training = None
        if text:
            try:
                training = json.loads(text)
            except (ValueError, RecursionError):
                raise f.error("training_config is not valid JSON") from None
    return kind, parts, training


def _planned(layer, shape):
    """The Keras shapes of the weights `layer` (not built) would have for inputs of shape, and its output
    shape, nothing allocated; an input or output of more than _MAX_SAMPLE numbers per sample is refused."""
    for s in (shape if isinstance(shape, list) else [shape]):
        if s is None or math.prod(s) > _MAX_SAMPLE:
            raise ValueError(f"layer {layer.name!r} would take inputs of shape {s}: not a model cnet loads "
                             f"(an input shape is needed, of at most {_MAX_SAMPLE} numbers per sample)")
    shapes = kc.keras_shapes(layer, [s for _, s in layer.weight_shapes(shape)])
    out = tuple(layer.compute_output_shape(shape))
    if math.prod(out) > _MAX_SAMPLE:
        raise ValueError(f"layer {layer.name!r} would give outputs of shape {out}: not a model cnet loads")
    return shapes, out


def _plan_chain(input_shape, layers):
    planned, shape, data_format = {}, input_shape, None
    for layer in layers:
        data_format = layer.adopt_data_format(data_format, shape) if shape is not None else data_format
        planned[layer.name], shape = _planned(layer, shape)
    return planned


def _plan_graph(layers, calls):
    planned = {}

    def call(layer, value):
        shapes = [v[0] for v in value] if isinstance(value, list) else value[0]
        formats = {v[1] for v in value} if isinstance(value, list) else {value[1]}
        data_format = layer.adopt_data_format(formats.pop() if len(formats) == 1 else None, shapes)
        weights, out = _planned(layer, shapes)
        planned.setdefault(layer.name, weights)
        return out, data_format

    _graph.replay(layers, calls, lambda layer: (tuple(layer.input_shape), None), call)
    return planned


# clipvalue and global_clipnorm go to cnet's optimizer (the same rule in every Keras); clipnorm does not: it
# clipped each gradient in tf.keras but all of them together in multi-backend Keras.
_OPTIMIZER_DROPPED = {"name": None, "amsgrad": False, "clipnorm": None, "use_ema": False, "is_legacy_optimizer": False}


def restore_compile(model, training, path):
    """Compile model as a Keras file's training_config says; ValueError naming what cnet cannot take."""
    try:
        spec = training.get("optimizer_config") or {}
        config = dict(spec.get("config") or {})
        for key, default in _OPTIMIZER_DROPPED.items():
            if key in config and config.pop(key) != default:
                raise ValueError(f"optimizer argument {key}={spec['config'][key]!r} is not supported")
        loss = training.get("loss")
        metrics = training.get("metrics") or []
        if isinstance(metrics, list) and metrics and isinstance(metrics[0], list):   # tf.keras: per output
            metrics = metrics[0]
        if not isinstance(loss, str) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"loss {loss!r} and metrics {metrics!r} must be names")
        model.compile(optimizer=optimizers.get({"class_name": spec.get("class_name"), "config": config}),
                      loss=loss, metrics=metrics)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"{os.fspath(path)}: cannot compile the model as its training_config says ({exc}); "
                         f"load_model(path, compile=False) loads the architecture and weights alone") from None
