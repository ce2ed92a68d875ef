"""A model in cnet.saving's format: the header fields and arrays of a model (architecture, weights,
compile configuration, optimizer and training state) and their checked way back into a model.
cnet.models calls these (and rebuilds the architecture itself); nothing here imports cnet.models."""
import math

import numpy as np

from . import _graph, _parallel, _training, keras_h5, optimizers, saving

__all__ = ["save", "load_weights", "restore", "layers_from_config", "check_shapes", "check_graph_shapes"]

# The largest input or output of one sample that a layer of a loaded model may declare (2**26 numbers,
# 256 MiB in float32): checked before building, so that a file cannot make the loader allocate more.
MAX_SAMPLE_ELEMENTS = 1 << 26


def _weights_payload(model):
    """(header fields, arrays, labels) of a model's architecture and weights: layer i's j-th array is
    'layers/<i>/<j>', listed in the header's 'weights' table; labels name each for a message."""
    arrays, table, labels = {}, [], {}
    for i, layer in enumerate(model.layers):
        entries = []
        for j, (name, w) in enumerate(zip(layer._weight_names(), layer.get_weights())):
            key = f"layers/{i}/{j}"
            arrays[key] = np.asarray(w)
            labels[key] = f"weight {name} of layer {i} ({layer.name!r})"
            entries.append(saving.describe(key, arrays[key]))
        table.append(entries)
    fields = {"model": {"class_name": type(model).__name__, "config": model.get_config()},
              "weights": table}
    return fields, arrays, labels


def _compile_config(model):
    if model._heads is None:
        return None
    opt = model.optimizer
    config = model._heads.config()
    config["optimizer"] = {"class_name": type(opt).__name__, "config": opt.get_config()}
    return config


def save(model, filepath, weights_only=False, overwrite=True, include_optimizer=True):
    """Write a model file (architecture, weights, compile configuration, optimizer and training
    state) or, weights_only, a weights file (architecture and weights). In data-parallel training
    (cnet.distributed) only rank 0 writes; the other processes return without writing."""
    if not model.built:
        what = "the weights of a model" if weights_only else "a model"
        raise ValueError(f"cannot save {what} that is not built yet (fit it or call build first)")
    if not _parallel.is_root():
        return
    if keras_h5.is_h5_name(filepath):   # .h5, .hdf5: Keras's HDF5 format
        return keras_h5.save(model, filepath, weights_only=weights_only, overwrite=overwrite)
    fields, arrays, labels = _weights_payload(model)
    if not weights_only:
        fields["compile"] = _compile_config(model)
        opt = model.optimizer
        state = opt.get_state() if include_optimizer and opt is not None and hasattr(opt, "get_state") else None
        fields["optimizer_state"] = None if state is None else saving.flatten_state(state, arrays, "optimizer",
                                                                                     labels)
        fields["training_state"] = _training.training_state(model)
    saving.write(filepath, "weights" if weights_only else "model", fields, arrays, overwrite=overwrite,
                 labels=labels)


def _stored_layer_names(mf, count):
    """{name: index} of the file's layers (from its architecture)."""
    spec = mf.header.get("model")
    config = spec.get("config") if isinstance(spec, dict) else None
    specs = config.get("layers") if isinstance(config, dict) else None
    names = [s.get("config", {}).get("name") if isinstance(s, dict) and isinstance(s.get("config"), dict)
             else None for s in specs or []]
    if len(names) != count or not all(isinstance(n, str) for n in names):
        raise mf.error("by_name: the file's architecture does not name each of its layers")
    if len(set(names)) != len(names):
        raise mf.error("by_name: the file names two layers alike")
    return {name: i for i, name in enumerate(names)}


def _stored_weights(mf, model, by_name=False):
    """[(layer, arrays)] read from the file, checked against the layers' current weights: the file's
    layer i for model layer i, or (by_name) the file's layer of the same name, when there is one."""
    table = mf.header.get("weights")
    if not isinstance(table, list):
        raise mf.error("the 'weights' table is missing or not a list")
    if by_name:
        index = _stored_layer_names(mf, len(table))
        pairs = [(layer, index[layer.name]) for layer in model.layers if layer.name in index]
    else:
        if len(table) != len(model.layers):
            raise mf.error(f"holds weights for {len(table)} layers but the model has {len(model.layers)}")
        pairs = list(zip(model.layers, range(len(table))))
    result = []
    for layer, i in pairs:
        stored, current = table[i], layer.get_weights()
        if not isinstance(stored, list) or len(stored) != len(current):
            n = len(stored) if isinstance(stored, list) else stored
            raise mf.error(f"layer {i} ({layer.name}, {type(layer).__name__}) has {len(current)} "
                           f"weight arrays but the file holds {n}")
        arrays = []
        for j, (w, entry) in enumerate(zip(current, stored)):
            key = entry.get("key") if isinstance(entry, dict) else None
            arr = mf.array(key, np.shape(w), np.asarray(w).dtype,
                           what=f"{key!r} (layer {i} {layer.name!r}, weight {j})")
            if arr.dtype.kind != "f":
                raise mf.error(f"weight {j} of layer {i} ({layer.name}) has dtype {arr.dtype}, "
                               "expected a float dtype")
            arrays.append(arr.astype(np.asarray(w).dtype, copy=False))
        result.append((layer, arrays))
    return result


def _set_weights(stored):
    for layer, arrays in stored:
        if arrays:
            layer.set_weights(arrays)


def load_weights(model, filepath, by_name=False):
    """Read the weights of a weights or model file into model (see Sequential.load_weights)."""
    if keras_h5.is_hdf5(filepath):      # a Keras HDF5 file, whatever its name
        return keras_h5.load_weights(model, filepath, by_name=by_name)
    with saving.ModelFile(filepath) as mf:
        mf.require_kind("weights", "model")
        if not model.built:
            spec = mf.header.get("model")
            config = spec.get("config") if isinstance(spec, dict) else None
            shape = config.get("input_shape") if isinstance(config, dict) else None
            if not isinstance(shape, list) or not all(isinstance(s, int) and s > 0 for s in shape):
                raise mf.error(f"the model is not built and the file names no valid input shape ({shape!r})")
            check_shapes(mf, shape, model.layers, match_weights=not by_name)
            model.build((None,) + tuple(shape))
        stored = _stored_weights(mf, model, by_name)
    _set_weights(stored)


def layers_from_config(config):
    """(name, dtype, input_shape, layers) of a Sequential's get_config(): the layers created from their
    configs, not built (nothing allocated). Layer classes come from cnet's registry only."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("a Sequential config needs a 'layers' list")
    layers = [_graph.layer_from_spec(i, spec) for i, spec in enumerate(config["layers"])]
    input_shape = config.get("input_shape")
    if input_shape is not None:
        if not isinstance(input_shape, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                                        and s > 0 for s in input_shape):
            raise ValueError(f"invalid input_shape {input_shape!r}")
        input_shape = tuple(input_shape)
    return config.get("name"), config.get("dtype") or "float32", input_shape, layers


def _planned_weights(mf, input_shape, layers):
    """[weight shapes of each layer] when `layers` (not built) take inputs of input_shape: the shapes are
    followed through the layers without allocating anything, each input and output checked against
    MAX_SAMPLE_ELEMENTS."""
    shape, planned, data_format = tuple(input_shape), [], None
    for i, layer in enumerate(layers):
        data_format = layer.adopt_data_format(data_format, shape)   # as the model will build them
        if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
            raise mf.error(f"layer {i} ({layer.name}) takes inputs of shape {shape}, more than "
                           f"{MAX_SAMPLE_ELEMENTS} numbers per sample: not a model cnet loads")
        try:
            planned.append(layer.weight_shapes(shape))
            shape = tuple(layer.compute_output_shape(shape))
        except (ValueError, TypeError) as exc:
            raise mf.error(f"layer {i} ({layer.name}, {type(layer).__name__}) cannot take inputs of "
                           f"shape {shape} ({exc})") from None
    if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
        raise mf.error(f"the model's outputs have shape {shape}, more than {MAX_SAMPLE_ELEMENTS} numbers "
                       "per sample: not a model cnet loads")
    return planned


def check_shapes(mf, input_shape, layers, match_weights=True):
    """Before any weight is allocated: with inputs of input_shape (None: nothing to build), `layers` (not
    built) must stay within MAX_SAMPLE_ELEMENTS and (match_weights) have the weight shapes of the file's
    'weights' table and of the .npy headers of its arrays (which saving checks against the bytes the file
    holds), so that the model built next is no larger than the file. Raises mf.error(...) naming the
    first layer that does not match."""
    table = mf.header.get("weights")
    if not isinstance(table, list):
        raise mf.error("the 'weights' table is missing or not a list")
    if match_weights and len(table) != len(layers):
        raise mf.error(f"holds weights for {len(table)} layers but its architecture has {len(layers)}")
    if input_shape is None:
        return
    planned = _planned_weights(mf, input_shape, layers)
    if match_weights:
        _match_table(mf, layers, planned, table)


def _match_table(mf, layers, planned, table):
    """Each layer's planned weight shapes against the file's 'weights' table and its arrays' headers."""
    for i, (layer, shapes, stored) in enumerate(zip(layers, planned, table)):
        if not isinstance(stored, list) or len(stored) != len(shapes):
            n = len(stored) if isinstance(stored, list) else stored
            raise mf.error(f"layer {i} ({layer.name}, {type(layer).__name__}) has {len(shapes)} weight "
                           f"arrays but the file holds {n}")
        for j, ((name, shape), entry) in enumerate(zip(shapes, stored)):
            key = entry.get("key") if isinstance(entry, dict) else None
            what = f"{key!r} (layer {i} {layer.name!r}, weight {j} {name})"
            got, _ = mf.array_header(key, what)
            if got != tuple(shape):
                raise mf.error(f"array {what} has shape {got}, expected {tuple(shape)}")


def check_graph_shapes(mf, layers, calls):
    """check_shapes for a functional model (cnet._graph.parse_config's layers and calls): the shapes are
    followed through the calls, from each InputLayer's, without allocating anything."""
    table = mf.header.get("weights")
    if not isinstance(table, list):
        raise mf.error("the 'weights' table is missing or not a list")
    if len(table) != len(layers):
        raise mf.error(f"holds weights for {len(table)} layers but its architecture has {len(layers)}")
    planned = {}

    def bounded(shape, what):
        if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
            raise mf.error(f"{what} has shape {shape}, more than {MAX_SAMPLE_ELEMENTS} numbers per sample: "
                           "not a model cnet loads")
        return shape

    def call(layer, shape):
        for s in (shape if isinstance(shape, list) else [shape]):
            bounded(s, f"an input of layer {layer.name!r}")
        try:
            planned.setdefault(layer.name, layer.weight_shapes(shape))
            out = tuple(layer.compute_output_shape(shape))
        except (ValueError, TypeError) as exc:
            raise mf.error(f"layer {layer.name!r} ({type(layer).__name__}) cannot take inputs of shape {shape} "
                           f"({exc})") from None
        return bounded(out, f"the output of layer {layer.name!r}")

    _graph.replay(layers, calls, lambda layer: bounded(layer.input_shape, f"input {layer.name!r}"), call)
    _match_table(mf, layers, [planned.get(layer.name, []) for layer in layers], table)


def _optimizer_from_config(spec):
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"malformed optimizer entry {spec!r}")
    cls = type(optimizers.get(spec["class_name"]))
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"malformed optimizer config {config!r}")
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


def _strings(value, allow_dict=False, allow_list=False):
    """A string, or (allow_list) a list of strings, or (allow_dict) a dict of strings."""
    if isinstance(value, str):
        return not allow_list
    if allow_list and isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return allow_dict and isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _restore_compile(model, mf, cfg):
    if not isinstance(cfg, dict):
        raise mf.error("the 'compile' entry is malformed")
    try:
        optimizer = _optimizer_from_config(cfg.get("optimizer"))
        loss, weights, metrics = cfg.get("loss"), cfg.get("loss_weights"), cfg.get("metrics") or []
        if not _strings(loss, allow_dict=True):
            raise ValueError(f"malformed loss entry {loss!r}")
        if weights is not None and not (isinstance(weights, dict) and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights.values())):
            raise ValueError(f"malformed loss_weights entry {weights!r}")
        weighted = cfg.get("weighted_metrics") or []
        for key, value in (("metrics", metrics), ("weighted_metrics", weighted)):
            if not (_strings(value, allow_list=True) or (isinstance(value, dict) and all(
                    _strings(m, allow_list=True) for m in value.values()))):
                raise ValueError(f"malformed {key} entry {value!r}")
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=weights,
                      weighted_metrics=weighted or None)
    except (ValueError, TypeError, KeyError) as exc:
        raise mf.error(f"cannot restore the compile configuration: {exc} (load_model(path, "
                       "compile=False) loads the architecture and weights without it)") from None
    tree = mf.header.get("optimizer_state")
    if tree is not None:
        state = mf.state(tree)
        try:
            model.optimizer.set_state(state)
        except (ValueError, TypeError, KeyError) as exc:
            raise mf.error(f"cannot restore the optimizer state: {exc}") from None


def restore(mf, model, compile=True):
    """Put a model file's weights, compile configuration, optimizer and training state into `model`,
    built from the file's architecture."""
    _set_weights(_stored_weights(mf, model))
    cfg = mf.header.get("compile")
    if compile and cfg is not None:
        _restore_compile(model, mf, cfg)
    training = mf.header.get("training_state")
    if training is not None:
        try:
            _training.restore_training_state(model, training)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise mf.error(f"cannot restore the training state: {exc}") from None
