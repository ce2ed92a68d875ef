"""Models: Sequential and the functional Model(inputs, outputs), one engine: Keras 2's compile/fit/evaluate/
predict, and the book's forward/backward/params/grads.

    model = Sequential([Dense(512, activation='relu', input_shape=(784,)), Dense(10, activation='softmax')])

    inputs = Input(shape=(784,))
    hidden = Dense(512, activation='relu')(inputs)
    model = Model(inputs, Dense(10, activation='softmax')(hidden))

    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=128, epochs=20, validation_data=(x_test, y_test))

Both run their layers through one executor (cnet._graph): a Sequential is the graph of its chain of layers,
made when its input shape is known (from the first layer's input_shape, an InputLayer, build(), or the
first batch). A functional model may have several inputs and outputs (x and y: lists in order or dicts
by layer name; compile's loss, loss_weights and metrics: one for all, a list or a dict by output name;
cnet._compile says how they are logged), branches, merge layers (cnet.layers.Concatenate, Add, Multiply,
Average) and shared layers (one layer called on several tensors: its gradient sums over its calls).
``Model(inputs, layer.output)`` over layers of a trained model shares their weights (activations of
intermediate layers).

When an output ends in a softmax (Dense(..., activation='softmax'), Activation('softmax') or Softmax())
feeding nothing else and its loss is a cross-entropy, training and evaluation skip the softmax and feed
the logits to the fused, numerically stable softmax cross-entropy; predict() still returns probabilities.

Inputs of any numeric dtype (uint8 images, float64 arrays) are cast to the model's dtype (float32 unless
Sequential(dtype='float64'), Input(dtype='float64') or cnet.backend.set_floatx) one batch at a time.
Shuffling uses a NumPy Generator seeded by seed=..., fit(seed=...) or cnet.initializers' global seed: the
same seed gives the same run.

Model files (save, save_weights, load_model, load_weights) are in cnet.saving's format: cnet._model_io
builds the header and arrays of a model, and this module rebuilds the model a file describes.
get_config/from_config, to_json/model_from_json and clone_model cover both kinds of model. The Model class
is in cnet._model, the fit loop in cnet._training, the metrics in cnet.metrics.
"""
import json

import numpy as np

from . import _graph, _model_io, backend, keras_h5, saving
from . import layers as layers_module
from . import losses as losses_module
from ._model import Model

__all__ = ["Model", "Sequential", "load_model", "save_model", "model_from_json", "model_from_config",
           "clone_model"]


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: layers to add, in order.
        name: the model's name (shown by summary()).
        dtype: 'float32' or 'float64': the dtype of the weights and of the computation (default:
            ``cnet.backend.floatx()`` when the model is created, 'float32' unless ``set_floatx`` changed it).
        seed: seed of the Generator that shuffles the training data in fit().
    """

    _functional = False

    def __init__(self, layers=None, name=None, dtype=None, seed=None):
        self._init_state(name or "sequential", seed)
        dtype = np.dtype(backend.floatx() if dtype is None else dtype)
        if dtype.name not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.dtype, self._dtypes = dtype, [dtype]
        self.input_shape = None
        self.output_shape = None
        self._input_name = None
        self._nodes = []          # the layer calls of the current chain (undone when it is rebuilt)
        for layer in layers or []:
            self.add(layer)

    # -- structure --
    def add(self, layer):
        """Append a layer (an InputLayer only fixes the input shape)."""
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"Sequential.add expects a cnet layer, got {type(layer).__name__}" +
                            (" (a model used as a layer is not supported: add its layers)"
                             if isinstance(layer, Model) else ""))
        if isinstance(layer, layers_module.InputLayer):
            if self.layers:
                raise ValueError("an InputLayer must come first in a Sequential model")
            self.input_shape = _layer_input_shape(layer)
            self._input_name = layer.name
            return
        if any(other.name == layer.name for other in self.layers):
            raise ValueError(f"all layers of a Sequential model need unique names; {layer.name!r} is "
                             "already used (pass name=... to the layer)")
        self.layers.append(layer)
        if len(self.layers) == 1 and self.input_shape is None:
            self.input_shape = _layer_input_shape(layer)
        if self.built:
            self._build_layers()
        elif self.input_shape is not None:
            self.build()

    def pop(self):
        """Remove the last layer."""
        if not self.layers:
            raise TypeError("there is no layer to pop in an empty Sequential model")
        self.layers.pop()
        if self.built:
            self._build_layers()

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (with or without a leading None batch axis)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self.input_shape = tuple(int(s) for s in shape)
        if self.input_shape is None:
            raise ValueError("cannot build the model: give input_shape= to the first layer, add an "
                             "InputLayer, call build(input_shape) or fit/predict on data")
        self._build_layers()

    def _build_layers(self):
        """The chain's graph: an input tensor of input_shape, each layer called on the previous output
        (built in the model's dtype when it is not built yet)."""
        for node in self._nodes:
            if node in node.layer._inbound_nodes:
                node.layer._inbound_nodes.remove(node)
        name = self._input_name or (f"{self.layers[0].name}_input" if self.layers else f"{self.name}_input")
        x = inputs = layers_module.InputLayer(input_shape=self.input_shape, dtype=self.dtype, name=name).output
        self._nodes = []
        for layer in self.layers:
            layer.adopt_data_format(x.data_format, x.shape[1:])   # channels-last images flow on
            if not layer.built:
                layer.build(x.shape[1:], dtype=self.dtype)
            x = layer(x)
            self._nodes.append(x.node)
        dtype, shape = self.dtype, self.input_shape
        self._set_graph(_graph.Graph([inputs], [x]), layers=self.layers)
        self.dtype, self._dtypes, self.input_shape = dtype, [dtype], shape

    def _ensure_built(self, x):
        if not self.built:
            self.build(tuple(np.shape(x)[1:]))

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2 Sequential.predict_classes: argmax of the outputs (threshold 0.5 for one unit)."""
        p = self.predict(x, batch_size=batch_size, verbose=verbose)
        if p.ndim == 2 and p.shape[1] > 1:
            return p.argmax(axis=-1)
        return (p > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    # -- config --
    def get_config(self):
        """JSON-able architecture: name, dtype, input shape and each layer's class name and config."""
        return {"name": self.name, "dtype": self.dtype.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [layers_module.serialize(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        """Rebuild an (untrained) model from get_config(); layer classes come from cnet.layers only."""
        return cls._assemble(*_model_io.layers_from_config(config))

    @classmethod
    def _assemble(cls, name, dtype, input_shape, layers):
        model = cls(name=name, dtype=dtype)
        model.input_shape = input_shape
        for layer in layers:
            model.add(layer)
        if model.input_shape is not None and not model.built:
            model.build()
        return model


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Keras's save_model: model.save(filepath, overwrite, include_optimizer)."""
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer)


_MODEL_CLASSES = {"Sequential": Sequential, "Model": Model, "Functional": Model}


def _model_class(spec, what):
    """The model class a {'class_name', 'config'} entry names, and its config."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ValueError(f"{what}: expected {{'class_name': 'Sequential' or 'Model', 'config': {{...}}}}")
    cls = _MODEL_CLASSES.get(spec.get("class_name"))
    if cls is None:
        raise ValueError(f"{what}: unknown model class {spec.get('class_name')!r} (cnet builds Sequential and "
                         "Model)")
    return cls, spec["config"]


def _model_from_header(mf):
    """The model a file describes, built only after its declared shapes were checked against the
    file's arrays (a small file cannot make the loader allocate a large model)."""
    cls, config = _model_class(mf.header.get("model"), f"{mf.path}: the 'model' entry")
    try:
        if cls is Sequential:
            parts = _model_io.layers_from_config(config)
            _model_io.check_shapes(mf, parts[2], parts[3])
            return Sequential._assemble(*parts)
        parts = _graph.parse_config(config)
        _model_io.check_graph_shapes(mf, parts[1], parts[2])
        return Model._from_parts(*parts)
    except ValueError as exc:
        raise exc if str(exc).startswith(mf.path) else mf.error(str(exc)) from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise mf.error(f"invalid model configuration ({type(exc).__name__}: {exc})") from None


def _no_custom_objects(custom_objects):
    if custom_objects:
        raise ValueError("custom_objects is not supported: cnet models name only cnet's own layers (and "
                         "subclasses of cnet.layers.Layer, found by class name), losses and optimizers")


def _compile_objects(custom_objects):
    """load_model's custom_objects: {name: metric function or cnet.losses.Loss} for the names of the
    saved compile configuration; a layer class is accepted under its own class name (cnet finds the
    subclasses of cnet.layers.Layer by that name anyway); anything else is refused."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict):
        raise TypeError(f"custom_objects must be a dict {{name: object}}, got {type(custom_objects).__name__}")
    out = {}
    for name, obj in custom_objects.items():
        if isinstance(obj, type) and issubclass(obj, layers_module.Layer):
            if layers_module.LAYERS.get(name) is not obj:
                raise ValueError(f"custom_objects[{name!r}]: cnet finds a layer class by its class name; give "
                                 f"it as {obj.__name__!r} (a model file names {obj.__name__})")
        elif isinstance(name, str) and (callable(obj) or isinstance(obj, losses_module.Loss)):
            out[name] = obj
        else:
            raise ValueError(f"custom_objects[{name!r}]: cnet takes metric functions, cnet.losses.Loss "
                             f"objects or classes and layer classes, got {type(obj).__name__}")
    return out


def load_model(filepath, compile=True, custom_objects=None):
    """Load a model saved with model.save(filepath): architecture, weights, compile configuration,
    optimizer and training state. Never unpickles; errors are ValueError naming the file. A Keras 2
    HDF5 file (whatever its name) gives the model its model_config describes (cnet.keras_h5).
    custom_objects: as in Keras, {name: object} for the custom metric functions and losses (cnet.losses.Loss
    subclasses) the saved compile configuration names (see _compile_objects)."""
    custom = _compile_objects(custom_objects)
    if keras_h5.is_hdf5(filepath):      # a Keras 2 HDF5 file (cnet.keras_h5)
        kind, parts, training = keras_h5.read_model(filepath)
        model = Sequential._assemble(*parts) if kind == "Sequential" else Model._from_parts(*parts)
        model.load_weights(filepath)
        if compile and training:
            keras_h5.restore_compile(model, training, filepath, custom)
        return model
    with saving.ModelFile(filepath) as mf:
        mf.require_kind("model")
        model = _model_from_header(mf)
        _model_io.restore(mf, model, compile=compile, custom=custom)
    return model


def model_from_config(config, custom_objects=None):
    """A new (untrained) model from {'class_name': 'Sequential' or 'Model', 'config': model.get_config()}."""
    _no_custom_objects(custom_objects)
    cls, config = _model_class(config, "model_from_config")
    return cls.from_config(config)


def model_from_json(json_string, custom_objects=None):
    """A new (untrained) model from model.to_json()."""
    try:
        spec = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json: not JSON ({exc})") from None
    return model_from_config(spec, custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the architecture of `model` and new layers, freshly initialized (as Keras: the
    weights are not copied; use clone.set_weights(model.get_weights())), not compiled."""
    if input_tensors is not None or clone_function is not None:
        raise NotImplementedError("clone_model: input_tensors and clone_function are not supported: cnet "
                                  "clones the whole model with new layers of the same configs")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a cnet model, got {type(model).__name__}")
    return type(model).from_config(model.get_config())


def _layer_input_shape(layer):
    shape = getattr(layer, "_declared_input_shape", None)
    return None if shape is None else tuple(int(s) for s in shape)
