"""Layers: Keras 2 constructors, the book's forward/backward/params/grads, computed by cnet.ops.

The modules follow Keras's layout, so Keras 2.1's import paths work with ``import cnet as keras``:
``base`` (Layer and what the families share), ``core`` (Dense, Activation, Flatten, Reshape, InputLayer,
Input; Dropout and SpatialDropout2D too, as in Keras 2), ``advanced_activations`` (ReLU, Softmax, LeakyReLU,
PReLU, ELU, ThresholdedReLU), ``convolutional`` (Conv2D, alias Convolution2D, with dilation_rate;
Conv2DTranspose, DepthwiseConv2D, SeparableConv2D from ``_conv_more``; ZeroPadding2D, Cropping2D,
UpSampling2D from ``_resize``; the pooling layers too, as in Keras), ``pooling``
(MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D and their aliases MaxPool2D,
AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D), ``normalization`` (BatchNormalization), ``regularization``
(Dropout, SpatialDropout2D), ``noise`` (GaussianNoise, GaussianDropout),
``merge`` (Concatenate, Add, Multiply, Average and their functional forms), ``node`` (the symbolic tensors
of the functional API) and ``book`` (the book's Affine, Convolution, Pooling, Relu, Sigmoid,
SoftmaxWithLoss). Every class is also ``cnet.layers.<Name>``, and the aliases are the same classes
(serialized under Keras's names).

The layer interface (what cnet.models and cnet.nets rely on)
--------------------------------------------------------------
Every layer is a ``Layer`` with:

- ``name`` (str): unique per instance by default, Keras-like: "dense", "dense_1", ... (reset by
  ``cnet.backend.clear_session()``); ``trainable`` (bool, default True); ``built`` (bool).
- ``dtype``: the numpy dtype of its parameters, float32 by default (``cnet.backend.floatx()``), set by
  ``build(input_shape, dtype)``. Inputs of another dtype (float64, uint8, ...) are cast to it;
  layers without weights let float32 and float64 inputs through unchanged.
- ``input_shape`` / ``output_shape``: tuples WITHOUT the batch axis, known after ``build``.
  ``input_shape`` is already set before build when it was given to the constructor
  (``Dense(10, input_shape=(784,))`` or ``input_dim=784``): a model builds itself from it.
- ``params``: dict of trainable arrays with the book's names: 'W' and 'b' (Dense, Conv2D; no 'b'
  when use_bias=False), 'gamma' and 'beta' (BatchNormalization, unless scale/center=False).
- ``grads``: same keys and shapes as ``params``. The arrays are allocated by ``build`` and keep
  their identity; every ``backward`` OVERWRITES their contents (it never accumulates).
- ``state``: non-trainable arrays saved with a model (BatchNormalization: 'moving_mean',
  'moving_variance'), ``{}`` for other layers.
- ``build(input_shape, dtype=None) -> output_shape``: creates the parameters with the initializers
  (random numbers from ``cnet.initializers``, seeded by ``cnet.set_seed``). Idempotent: building a
  built layer again with the same input shape returns output_shape; with another dtype it converts
  the parameters (new arrays) to that dtype, e.g. float64 for gradient checks.
- ``compute_output_shape(input_shape) -> tuple``.
- ``forward(x, train=True) -> y``: builds lazily on the first call (from ``x.shape[1:]``). With
  train=True it caches what backward needs (and Dropout drops, BatchNormalization uses batch
  statistics and updates its moving averages); with train=False nothing is cached. The book's
  keyword ``train_flg`` is accepted too. ``forward(x, train, logits=True)`` skips a softmax
  activation (Dense/Conv2D with activation='softmax', Activation('softmax'), Softmax): the model
  uses it to feed logits to a fused softmax cross-entropy, and the following ``backward`` then takes
  the gradient with respect to those logits.
- ``backward(dout) -> dx``: fills ``grads`` and returns the gradient of the input (shaped like x).
  Raises RuntimeError if the last forward was not a training forward.
- ``get_weights() -> list`` of copies, Keras order: Dense/Conv2D [kernel, bias] (no bias when
  use_bias=False); BatchNormalization [gamma, beta, moving_mean, moving_variance].
- ``set_weights(weights)``: checks the count and every shape (ValueError naming the layer, the
  position, the expected and the received shape) and copies into the existing arrays.
- ``get_config() -> dict``: JSON-serializable constructor arguments plus 'name' (and 'input_shape'
  when it was declared, 'dtype' when known); the class name is ``type(layer).__name__``;
  ``Cls.from_config(config)`` rebuilds an unbuilt layer. ``cnet.layers.get(class_name)`` (or the
  dict ``LAYERS``) maps class names to classes; ``serialize``/``deserialize`` use
  ``{'class_name', 'config'}`` dicts.
- ``count_params() -> int``: the number of scalars in get_weights() (ValueError before build).
- ``layer(tensor)``, the functional API: on a symbolic tensor (``Input(shape=...)`` or another layer's
  output, a ``KerasTensor`` with ``shape`` (None, ...), ``dtype`` and the ``layer`` that made it) the layer
  is built for the tensor's shape (in its dtype, when not built yet) and returns its symbolic output;
  ``layer.input``/``layer.output`` are then those tensors (``get_input_at(i)``/``get_output_at(i)`` for a
  layer called several times). On arrays, ``layer(x)`` is ``forward(x, train=False)``. Merge layers take
  a list: ``forward([x1, x2, ...])``, ``backward(dout)`` returns a list, ``input_shape`` is a list.

Non-trainable layers (``trainable=False``) still compute ``grads``; the optimizer step must skip them.

Images are channels-first, (N, C, H, W), unless an image layer has ``data_format='channels_last'``
(given, or from ``cnet.backend.set_image_data_format``): then it takes and gives (N, H, W, C) arrays, as
Keras on TensorFlow, and computes channels-first inside (its output is a channels-last view of
channels-first data, which the next channels-last layer reads without a copy). A layer created without
a data_format while set_image_data_format was never called takes the data format of the images it
receives in a model (``Layer.adopt_data_format``); the first image layer reads an input shape such as
(28, 28, 1) or (32, 32, 3) (square planes of 8 pixels or more, 1 or 3 channels last) as channels-last,
any other as channels-first. Conv2D kernels are (filters, C, kh, kw) in either data format (Keras's are
(kh, kw, C, filters); ``cnet.keras_h5`` converts at the file boundary).

'same' padding follows TensorFlow: out = ceil(in/stride), total pad = max((out-1)*stride + k - in, 0),
the odd extra row/column going to the bottom/right. The ops pad symmetrically, so for an odd total
the layer pads x explicitly by the one extra row/column (a copy of x) and lets the op pad the rest.
AveragePooling2D with 'same' divides by the number of input elements in each window (TF's rule).

The book's layers (common/layers.py) are thin subclasses with the book's constructors, sharing the
implementation: ``Affine(W, b)``, ``Relu()``, ``Sigmoid()``, ``Convolution(W, b, stride=1, pad=0)``,
``Pooling(pool_h, pool_w, stride=1, pad=0)`` (max pooling), ``Dropout(dropout_ratio=0.5)``,
``BatchNormalization(gamma, beta, momentum=0.9, running_mean=None, running_var=None)`` and
``SoftmaxWithLoss()``. They keep the arrays they are given (no copy), so an optimizer updating a
network's ``params`` dict in place updates the layers, as in the book; ``.W``, ``.b``, ``.dW``,
``.db`` (``.gamma``, ``.beta``, ``.dgamma``, ``.dbeta``, ``.running_mean``, ``.running_var``) are
there too. Differences: Dropout is inverted dropout (scaled at training, identity at inference) and
draws its mask from cnet's counter RNG; Nesterov follows Keras (see cnet.optimizers).
"""
from .base import LAYERS, Layer, training_workspaces  # noqa: F401
from .node import KerasTensor
from .core import Activation, Dense, Flatten, Input, InputLayer, Reshape
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .convolutional import Conv2D, Convolution2D
from ._conv_more import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from .pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from .pooling import GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D
from ._resize import Cropping2D, UpSampling2D, ZeroPadding2D
from .noise import GaussianDropout, GaussianNoise
from .normalization import BatchNormalization
from .regularization import Dropout, SpatialDropout2D, frozen_dropout  # noqa: F401
from .merge import Add, Average, Concatenate, Multiply, add, average, concatenate, multiply
from .book import Affine, Convolution, Pooling, Relu, Sigmoid, SoftmaxWithLoss

# Keras 2's aliases: other names of the same classes (layers.get('Convolution2D') is Conv2D).
LAYERS.update(Convolution2D=Conv2D, Deconvolution2D=Conv2DTranspose, Conv2DTranspose=Conv2DTranspose,
              SeparableConvolution2D=SeparableConv2D, MaxPool2D=MaxPooling2D, AvgPool2D=AveragePooling2D,
              GlobalAvgPool2D=GlobalAveragePooling2D, GlobalMaxPool2D=GlobalMaxPooling2D)

__all__ = ["Layer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Reshape",
           "Convolution2D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "GlobalAvgPool2D", "GlobalMaxPool2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "GaussianNoise",
           "GaussianDropout", "SpatialDropout2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
           "Dropout", "Activation", "ReLU", "Softmax", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU",
           "InputLayer", "Input", "KerasTensor", "BatchNormalization",
           "Concatenate", "Add", "Multiply", "Average", "concatenate", "add", "multiply", "average",
           "Affine", "Relu", "Sigmoid", "Convolution", "Pooling", "SoftmaxWithLoss",
           "LAYERS", "get", "serialize", "deserialize"]


def get(identifier):
    """The layer class of a class name (e.g. 'Dense', 'MaxPooling2D', 'Affine')."""
    if isinstance(identifier, type) and issubclass(identifier, Layer):
        return identifier
    cls = LAYERS.get(identifier)
    if cls is None:
        raise ValueError(f"unknown layer class {identifier!r}; known: {sorted(LAYERS)}")
    return cls


def serialize(layer):
    """{'class_name': ..., 'config': ...} of a layer (JSON-serializable)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec):
    """A new, unbuilt layer from serialize()'s dict."""
    return get(spec["class_name"]).from_config(dict(spec.get("config", {})))
