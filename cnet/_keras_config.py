"""Keras 2's model configurations and weight layouts, for the HDF5 files of cnet.keras_h5.

- ``layers_from_keras(model_config)``: a Sequential's (name, dtype, input_shape, layers) from the
  ``model_config`` of a Keras 2 file (Keras 2.1's list of layers, 2.2's and tf.keras's dict with 'layers'),
  each layer created by its cnet class from Keras's arguments; what cnet cannot honour is refused.
  ``functional_from_keras`` translates a functional Model's config the same way, for cnet._graph.
- ``keras_config(model)``: the ``model_config`` of a cnet model as a channels-last Keras model (Keras's
  default, and the only convolution layout TensorFlow runs on a CPU), with ``Converter.to_keras`` turning
  cnet's weights into that model's.
- ``Converter``: the weights of each layer between cnet's layouts and Keras's: Conv2D kernels (filters, C,
  kh, kw) <-> (kh, kw, C, filters), whatever the data_format; the rows of a Dense that reads a flattened
  image, (C, H, W) order <-> (H, W, C), when the two models flatten in different orders.

What each Dense of a cnet model reads is followed through its graph (the symbolic tensors carry the data
format of their images); in a Keras file, through a Sequential's chain of layer configs (a functional
Keras file counts as channels-last, Keras's default).
"""
import numpy as np

from . import layers as L
from .layers.base import _shape

__all__ = ["layers_from_keras", "functional_from_keras", "keras_config", "keras_dense_inputs", "keras_shapes",
           "converters", "Converter", "KERAS_VERSION"]

KERAS_VERSION = "2.2.4"     # the format written: readable by Keras 2.x and tf.keras
CF, CL = "channels_first", "channels_last"

# tf.keras's initializer class names, as cnet's names (initializers only matter before weights are set).
_TF_INITIALIZERS = {"GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal", "HeNormal": "he_normal",
                    "HeUniform": "he_uniform", "LecunNormal": "lecun_normal", "LecunUniform": "lecun_uniform"}
_INITIALIZER_KEYS = ("kernel_initializer", "bias_initializer", "beta_initializer", "gamma_initializer",
                     "moving_mean_initializer", "moving_variance_initializer", "alpha_initializer",
                     "depthwise_initializer", "pointwise_initializer")
# Keras arguments that cnet's constructors do not take, and the only values they may have.
_IGNORABLE = {"sparse": (False,), "ragged": (False,), "renorm": (False,), "fused": (None, True, False),
              "virtual_batch_size": (None,), "adjustment": (None,), "renorm_clipping": (None,),
              "renorm_momentum": None}
_KERAS_CLASSES = {"Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Dropout", "Activation",
                  "BatchNormalization", "Reshape", "ReLU", "Softmax", "InputLayer", "Add", "Multiply", "Average",
                  "Concatenate", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "GlobalAveragePooling2D",
                  "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "SpatialDropout2D",
                  "GaussianNoise", "GaussianDropout", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"}
_IMAGE_CLASSES = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
                  "SpatialDropout2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
                  "GlobalAveragePooling2D", "GlobalMaxPooling2D")
_IMAGE_OUT = tuple(c for c in _IMAGE_CLASSES if not c.startswith("Global"))   # their outputs are images
_PASS_THROUGH = ("Dropout", "Activation", "BatchNormalization", "ReLU", "InputLayer", "LeakyReLU", "PReLU", "ELU",
                 "ThresholdedReLU", "GaussianNoise", "GaussianDropout")
_CONV_LIKE = (L.Conv2D, L.Conv2DTranspose)            # kernels (K, C, kh, kw) <-> Keras's (kh, kw, C, K)
_REGULARIZER_KEYS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


# ---- Keras -> cnet ------------------------------------------------------------------------------

def _keras_layer_specs(model_config):
    """(class name, name, layer specs) of a Keras model_config: Sequential (Keras 2.1's list of layers, 2.2's
    and tf.keras's dict with 'layers') or a functional Model (Keras 2's layout of layers and their calls)."""
    if not isinstance(model_config, dict) or not isinstance(model_config.get("class_name"), str):
        raise ValueError("model_config must be a JSON object with 'class_name' and 'config'")
    cls, config = model_config["class_name"], model_config.get("config")
    if cls not in ("Sequential", "Model", "Functional"):
        raise NotImplementedError(f"the file holds a Keras {cls} model; cnet builds Sequential and functional "
                                  f"models from Keras files")
    if cls == "Sequential" and isinstance(config, list):             # Keras 2.0/2.1
        return cls, None, config
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return cls, config.get("name"), config["layers"]
    raise ValueError(f"the {cls} model_config holds no list of layers")


def _translate(i, spec):
    """cnet's {'class_name', 'config'} for a Keras layer entry (checked, its arguments translated)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ValueError(f"layer {i}: malformed entry {spec!r}")
    cls = spec.get("class_name")
    if cls not in _KERAS_CLASSES:
        raise NotImplementedError(f"layer {i}: Keras layer class {cls!r} is not supported by cnet (supported: "
                                  f"{', '.join(sorted(_KERAS_CLASSES))})")
    kwargs = _cnet_arguments(i, cls, spec["config"])
    if cls in _IMAGE_CLASSES:
        kwargs.setdefault("data_format", CL)        # Keras's default
    return dict(spec, class_name=cls, config=kwargs)


def _cnet_arguments(i, cls, config):
    """The keyword arguments of cnet's class for Keras's layer config (checked, translated)."""
    out = {}
    for key, value in config.items():
        if key in _IGNORABLE:
            allowed = _IGNORABLE[key]
            if allowed is not None and value not in allowed:
                raise NotImplementedError(f"layer {i} ({cls} {config.get('name')!r}): {key}={value!r} is not "
                                          f"supported by cnet")
            continue
        if key in _INITIALIZER_KEYS and isinstance(value, dict) and value.get("class_name") in _TF_INITIALIZERS:
            value = _TF_INITIALIZERS[value["class_name"]]
        if key == "dtype" and isinstance(value, dict):       # Keras 3's dtype policies
            value = (value.get("config") or {}).get("name")
        if key == "dtype" and value not in ("float32", "float64", None):
            raise NotImplementedError(f"layer {i} ({cls}): dtype {value!r} is not supported by cnet "
                                      f"(float32 or float64)")
        out[key] = value
    return out


def layers_from_keras(model_config):
    """(name, dtype, input_shape, layers) of a Keras Sequential model_config, the layers not built."""
    _, name, specs = _keras_layer_specs(model_config)
    layers, input_shape, dtype = [], None, None
    for i, spec in enumerate(specs):
        spec = _translate(i, spec)
        cls, kwargs = spec["class_name"], spec["config"]
        if cls == "InputLayer":
            shape = kwargs.get("batch_input_shape") or kwargs.get("batch_shape")
            if not isinstance(shape, list) or i != 0:
                raise ValueError(f"layer {i}: an InputLayer must come first and give batch_input_shape")
            input_shape, dtype = tuple(shape[1:]), kwargs.get("dtype")
            continue
        try:
            layer = L.get(cls).from_config(kwargs)
        except (TypeError, ValueError, NotImplementedError) as exc:
            raise type(exc)(f"layer {i} ({cls} {kwargs.get('name')!r}): {exc}") from None
        if not layers and input_shape is None and layer.input_shape is not None:
            input_shape = layer.input_shape
        dtype = dtype or kwargs.get("dtype")
        layers.append(layer)
    if input_shape is not None:
        if any(s is None for s in input_shape):
            raise NotImplementedError(f"input shape {input_shape}: cnet models take inputs of fixed shapes")
        input_shape = _shape(input_shape)
    return name, dtype or "float32", input_shape, layers


def functional_from_keras(model_config):
    """cnet.models' functional config (cnet._graph.parse_config's input) of a Keras functional model_config."""
    _, name, specs = _keras_layer_specs(model_config)
    config = dict(model_config["config"], layers=[_translate(i, spec) for i, spec in enumerate(specs)])
    return config


def keras_dense_inputs(model_config):
    """{layer name: what the Dense of that name reads} in a Keras Sequential model_config: 'hwc' or 'chw' (a
    flattened image, in the order Keras flattened it), 'cf-images' or 'cl-images' (images: Dense on their
    last axis)."""
    kind, _, specs = _keras_layer_specs(model_config)
    if kind != "Sequential":
        return None     # a functional model: the channels-last default (layers followed in a chain only)
    found, image, flat = {}, None, None
    for spec in specs:
        cls, config = spec.get("class_name"), spec.get("config") or {}
        fmt = config.get("data_format")
        if cls in _IMAGE_OUT:
            image, flat = fmt or CL, None
        elif cls == "Flatten":
            if image is not None:   # tf.keras's Flatten(channels_first) reorders; Keras 2.1's had no argument
                flat = "hwc" if image == CL or fmt == CF else "chw"
            image = None
        elif cls == "Dense":
            if flat is not None or image is not None:
                found[config.get("name")] = flat or ("cf-images" if image == CF else "cl-images")
            flat = None
        elif cls not in _PASS_THROUGH:
            image = flat = None
    return found


# ---- what flows along a cnet model ----------------------------------------------------------------

def _image_format(t):
    """The data format of the images tensor t carries, or None (no image, or one of the user's layout)."""
    return t.data_format if len(t.shape) == 4 and t.data_format in (CF, CL) else None


def _dense_reads(t):
    """What a Dense called on tensor t reads: ('chw' | 'hwc', (C, H, W)) for a flattened image (the order
    the cnet model flattened it in), 'cf-images' for channels-first images, else None."""
    while True:
        layer = t.node.layer
        if isinstance(layer, L.Flatten):
            src = t.node.inputs[0]
            fmt = _image_format(src)
            if fmt is None:
                return None
            a, b, c = src.shape[1:]
            if fmt == CL and layer.data_format == CF:
                raise NotImplementedError(f"{layer.name}: Flatten(data_format='channels_first') of channels-last "
                                          f"images has no Keras equivalent")
            return ("hwc" if fmt == CL or layer.data_format == CF else "chw", (a, b, c) if fmt == CF else (c, a, b))
        if _image_format(t) == CF:
            return "cf-images"
        passes = layer._elementwise or isinstance(layer, (L.BatchNormalization, L.Dropout))
        if len(t.shape) != 2 or len(t.node.inputs) != 1 or not passes:
            return None
        t = t.node.inputs[0]


def cnet_dense_inputs(model):
    """{id(Dense layer): what it reads (_dense_reads)} over the calls of the model's graph."""
    found = {}
    for node in model._graph.nodes:
        if isinstance(node.layer, L.Dense) and node.inputs:
            reads = _dense_reads(node.inputs[0])
            if found.get(id(node.layer), reads) != reads:
                raise NotImplementedError(f"{node.layer.name}: a Dense shared by inputs of other layouts")
            found[id(node.layer)] = reads
    return found


def reorder_rows(w, chw, src, dst):
    """A Dense kernel whose rows follow a flattened (C, H, W) image in order src, in order dst."""
    if src == dst:
        return w
    c, h, wd = chw
    if w.shape[0] != c * h * wd:
        raise ValueError(f"a Dense kernel of shape {w.shape} does not read a flattened {chw} image")
    if src == "chw":
        return np.ascontiguousarray(w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(w.shape))
    return np.ascontiguousarray(w.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(w.shape))


def keras_shapes(layer, shapes):
    """The shapes of `layer`'s weights (cnet's shapes, in get_weights order) in a Keras file."""
    shapes = [tuple(s) for s in shapes]
    if shapes and isinstance(layer, _CONV_LIKE):
        f, c, kh, kw = shapes[0]
        shapes[0] = (kh, kw, c, f)
    elif shapes and isinstance(layer, L.DepthwiseConv2D):
        cm, _, kh, kw = shapes[0]
        m = layer.depth_multiplier
        shapes[0] = (kh, kw, cm // m, m)
        if isinstance(layer, L.SeparableConv2D):
            f, cm, _, _ = shapes[1]
            shapes[1] = (1, 1, cm, f)
    return shapes


class Converter:
    """The weights of one cnet layer in a Keras file: their names, and the conversions both ways.

    cnet_input: what the layer reads in the cnet model (cnet_dense_inputs); keras_input: what the Dense of
    the Keras model reads ('hwc', 'chw', 'cf-images', 'cl-images'; a channels-last Keras model, 'hwc' or
    'cl-images', when the file does not say). flip: the file's kernels are Theano's (true convolutions)."""

    def __init__(self, layer, cnet_input=None, keras_input=None, flip=False):
        self.layer, self.flip = layer, flip
        self.cnet_input = cnet_input
        if keras_input is None and cnet_input is not None:
            keras_input = "cl-images" if cnet_input == "cf-images" else "hwc"
        self.keras_input = keras_input
        if cnet_input == "cf-images" and keras_input != "cf-images":
            raise NotImplementedError(
                f"{layer.name}: a Dense on channels-first images applies to their last axis (W); a channels-last "
                f"Keras model's Dense applies to the channels: the weights cannot mean the same")

    def names(self):
        keras = {"W": "kernel", "b": "bias"}
        return [f"{self.layer.name}/{keras.get(n, n)}:0" for n in self.layer._weight_names()]

    def keras_shapes(self):
        """The shapes of the layer's weights in a Keras file."""
        return keras_shapes(self.layer, [w.shape for w in self.layer._weights()])

    def _reorder(self):
        """(cnet's order, Keras's order, (C, H, W)) of a Dense reading a flattened image, or None."""
        if isinstance(self.cnet_input, tuple) and self.keras_input in ("hwc", "chw"):
            return self.cnet_input[0], self.keras_input, self.cnet_input[1]
        return None

    def to_keras(self, weights):
        weights = [np.asarray(w) for w in weights]
        if isinstance(self.layer, _CONV_LIKE):
            weights[0] = np.ascontiguousarray(weights[0].transpose(2, 3, 1, 0))
        elif isinstance(self.layer, L.DepthwiseConv2D):
            cm, _, kh, kw = weights[0].shape
            m = self.layer.depth_multiplier
            weights[0] = np.ascontiguousarray(weights[0].reshape(cm // m, m, kh, kw).transpose(2, 3, 0, 1))
            if isinstance(self.layer, L.SeparableConv2D):
                weights[1] = np.ascontiguousarray(weights[1].transpose(2, 3, 1, 0))
        elif self._reorder():
            mine, theirs, chw = self._reorder()
            weights[0] = reorder_rows(weights[0], chw, mine, theirs)
        return weights

    def from_keras(self, weights):
        """cnet's arrays from the file's (as many, checked by the caller)."""
        weights = list(weights)
        if isinstance(self.layer, L.DepthwiseConv2D):
            k = weights[0]
            if k.ndim != 4 or (isinstance(self.layer, L.SeparableConv2D) and weights[1].ndim != 4):
                raise ValueError(f"{self.layer.name}: the file's depthwise/pointwise kernels are not 4-D")
            kh, kw, c, m = k.shape
            weights[0] = np.ascontiguousarray(k.transpose(2, 3, 0, 1)).reshape(c * m, 1, kh, kw)
            if isinstance(self.layer, L.SeparableConv2D):
                weights[1] = np.ascontiguousarray(weights[1].transpose(3, 2, 0, 1))
            return weights
        if isinstance(self.layer, _CONV_LIKE):
            k = weights[0]
            if k.ndim != 4:
                raise ValueError(f"{self.layer.name}: a Conv2D kernel has 4 axes, the file's has shape {k.shape}")
            if self.flip and isinstance(self.layer, L.Conv2D):   # Theano's kernels: convolutions
                k = k[::-1, ::-1]
            weights[0] = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
        elif self._reorder() and weights[0].ndim == 2:
            mine, theirs, chw = self._reorder()
            weights[0] = reorder_rows(weights[0], chw, theirs, mine)
        return weights


def converters(model, keras_inputs=None, flip=False):
    """[Converter] of the model's layers, in order; keras_inputs: keras_dense_inputs of the file's
    model_config (None: a channels-last Keras model)."""
    found = cnet_dense_inputs(model)
    return [Converter(layer, found.get(id(layer)), (keras_inputs or {}).get(layer.name), flip)
            for layer in model.layers]


# ---- cnet -> Keras ---------------------------------------------------------------------------------

def _keras_layer(layer, image_in, first_shape):
    """{'class_name', 'config'} of a cnet layer in a channels-last Keras model. image_in: the data format of
    the images the layer reads (None: no image)."""
    def refuse(why):
        raise NotImplementedError(f"{layer.name} ({type(layer).__name__}): {why}, which a Keras model file cannot "
                                  f"express; save_weights(path) writes the weights alone, save to a .cnet name "
                                  f"keeps cnet's own format")
    config = {"name": layer.name, "trainable": layer.trainable}
    if first_shape is not None:
        config.update(batch_input_shape=[None] + list(first_shape), dtype=layer.dtype.name)
    own = layer.get_config()
    base = type(layer)._keras_base or type(layer)
    new = _keras_new_layer(layer, image_in, own, config, refuse)
    if new is not None:
        return new
    if isinstance(layer, (L.Conv2D, L.MaxPooling2D, L.AveragePooling2D)):
        if not isinstance(layer.padding, str):
            refuse(f"padding={layer.padding!r}: Keras pads 'valid' or 'same' only")
        config.update({k: own[k] for k in own if k in ("filters", "kernel_size", "strides", "padding",
                                                        "pool_size", "activation", "use_bias",
                                                        "kernel_initializer", "bias_initializer")})
        config["data_format"] = CL
        if isinstance(layer, L.Conv2D):
            config.update(dilation_rate=own["dilation_rate"], kernel_constraint=None, bias_constraint=None,
                          **{k: own[k] for k in _REGULARIZER_KEYS})
        name = base.__name__ if base in (L.Conv2D, L.MaxPooling2D, L.AveragePooling2D) else "MaxPooling2D"
        return {"class_name": name, "config": config}
    if isinstance(layer, L.Dense):
        if layer._flatten:
            refuse("the book's Affine flattens its input")
        for key in ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer"):
            config[key] = own[key]
        config.update(kernel_constraint=None, bias_constraint=None, **{k: own[k] for k in _REGULARIZER_KEYS})
        return {"class_name": "Dense", "config": config}
    if isinstance(layer, L.Flatten):
        return {"class_name": "Flatten", "config": config}
    if isinstance(layer, L.Dropout):
        if layer.scale_at_inference:
            refuse("the book's Dropout scales at inference")
        config.update(rate=layer.rate, noise_shape=None, seed=layer.seed)
        return {"class_name": "Dropout", "config": config}
    if isinstance(layer, L.Activation):
        axis = getattr(layer, "axis", -1)
        if layer._act.is_softmax and (image_in == CF or axis not in (-1, len(layer.input_shape))):
            refuse("a softmax over another axis than the channels of channels-last images")
        config["activation"] = layer._act.name
        return {"class_name": "Activation", "config": config}
    if isinstance(layer, L.BatchNormalization):
        if layer._flat:
            refuse("the book's BatchNormalization normalizes every element of an image")
        for key in ("momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                    "moving_mean_initializer", "moving_variance_initializer"):
            config[key] = own[key]
        config.update(axis=-1, beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                      gamma_constraint=None)
        return {"class_name": "BatchNormalization", "config": config}
    if isinstance(layer, (L.Add, L.Multiply, L.Average)):
        return {"class_name": type(layer).__name__, "config": config}
    if isinstance(layer, L.Concatenate):
        axis = layer.axis
        if image_in == CF:      # (N, C, H, W) axes as (N, H, W, C) ones
            axis = {1: 3, 2: 1, 3: 2}[axis % 4]
        config["axis"] = axis
        return {"class_name": "Concatenate", "config": config}
    if isinstance(layer, L.Reshape):
        if image_in == CF or (len(layer.output_shape) == 3 and image_in != CL):
            refuse("a Reshape to or from images in a channels-first model")
        config["target_shape"] = list(layer.target_shape)
        return {"class_name": "Reshape", "config": config}
    refuse("no Keras layer of cnet's supported set matches it")


_OWN_KEYS = {
    "LeakyReLU": ("alpha",), "ELU": ("alpha",), "ThresholdedReLU": ("theta",), "GaussianNoise": ("stddev",),
    "GaussianDropout": ("rate",), "ZeroPadding2D": ("padding",), "Cropping2D": ("cropping",),
    "UpSampling2D": ("size", "interpolation"), "SpatialDropout2D": ("rate",),
    "GlobalAveragePooling2D": (), "GlobalMaxPooling2D": (),
    "Conv2DTranspose": ("filters", "kernel_size", "strides", "padding", "output_padding", "dilation_rate",
                        "activation", "use_bias", "kernel_initializer", "bias_initializer") + _REGULARIZER_KEYS,
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate", "activation",
                        "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                        "bias_regularizer", "activity_regularizer"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate",
                        "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
                        "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                        "activity_regularizer"),
}


def _keras_new_layer(layer, image_in, own, config, refuse):
    """{'class_name', 'config'} of the layers of issue 15's item 4 (and Keras's ReLU with options), or None."""
    name = type(layer).__name__
    if isinstance(layer, L.ReLU) and not layer._plain:
        config.update(max_value=layer.max_value, negative_slope=layer.negative_slope, threshold=layer.threshold)
        return {"class_name": "ReLU", "config": config}
    if isinstance(layer, L.PReLU):
        if len(layer.input_shape) == 3 and image_in == CF:
            refuse("a PReLU on channels-first images (its alpha and shared_axes follow the channels-first axes)")
        config.update(alpha_initializer=own["alpha_initializer"], alpha_regularizer=None, alpha_constraint=None,
                      shared_axes=own["shared_axes"])
        return {"class_name": "PReLU", "config": config}
    if name not in _OWN_KEYS:
        return None
    if name in ("DepthwiseConv2D", "SeparableConv2D") and not isinstance(layer.padding, str):
        refuse(f"padding={layer.padding!r}: Keras pads 'valid' or 'same' only")
    config.update({k: own[k] for k in _OWN_KEYS[name]})
    if name in _IMAGE_CLASSES:
        config["data_format"] = CL
    if name == "SpatialDropout2D":
        config.update(noise_shape=None, seed=layer.seed)
    if "depthwise_initializer" in config:
        config.update(depthwise_constraint=None, bias_constraint=None)
    if name == "SeparableConv2D":
        config["pointwise_constraint"] = None
    if name == "Conv2DTranspose":
        config.update(kernel_constraint=None, bias_constraint=None)
    return {"class_name": name, "config": config}


def _input_formats(graph):
    """{id(input tensor): CF} for the model inputs that channels-first image layers read (a Keras model
    takes them as (H, W, C))."""
    found = {}
    for node in graph.nodes:
        for t in node.inputs:
            if t in graph.inputs and len(t.shape) == 4 and getattr(node.layer, "data_format", None) == CF \
                    and not isinstance(node.layer, L.Flatten):
                found[id(t)] = CF
    return found


def keras_config(model):
    """The JSON-able model_config of a built cnet model as a channels-last Keras model (Sequential, or
    Keras 2's functional Model)."""
    graph = model._graph
    inputs = _input_formats(graph)
    image_in = {}
    for node in graph.nodes:
        t = node.inputs[0] if node.inputs else None
        fmt = None if t is None else (_image_format(t) or inputs.get(id(t)))
        image_in.setdefault(id(node.layer), fmt)

    def keras_shape(t):
        shape = list(t.shape[1:])
        return shape[1:] + shape[:1] if inputs.get(id(t)) == CF else shape

    if not getattr(model, "_functional", True):
        specs = [_keras_layer(layer, image_in.get(id(layer)), keras_shape(graph.inputs[0]) if i == 0 else None)
                 for i, layer in enumerate(model.layers)]
        return {"class_name": "Sequential", "config": {"name": model.name, "layers": specs}}
    config = graph.get_config(model.name)
    by_name = {layer.name: layer for layer in graph.layers}
    shapes = {t.layer.name: keras_shape(t) for t in graph.inputs}
    for entry in config["layers"]:
        layer = by_name[entry["name"]]
        if isinstance(layer, L.InputLayer):
            spec = {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + shapes[layer.name],
                                                           "dtype": layer.dtype.name, "sparse": False,
                                                           "name": layer.name}}
        else:
            spec = _keras_layer(layer, image_in.get(id(layer)), None)
        entry.update(class_name=spec["class_name"], config=spec["config"])
    return {"class_name": "Model", "config": config}
