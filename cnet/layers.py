"""Layers: Keras 2 constructors, the book's forward/backward/params/grads, computed by cnet.ops.

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

Non-trainable layers (``trainable=False``) still compute ``grads``; the optimizer step must skip them.

Images are channels-first, (N, C, H, W), with Conv2D kernels (filters, C, kh, kw); a channels-last
input raises a ValueError that says how to transpose it.

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
import contextlib
import math
import numbers

import numpy as np

from . import activations, backend, initializers, ops

__all__ = ["Layer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Reshape",
           "Dropout", "Activation", "ReLU", "Softmax", "InputLayer", "BatchNormalization",
           "Affine", "Relu", "Sigmoid", "Convolution", "Pooling", "SoftmaxWithLoss",
           "LAYERS", "get", "serialize", "deserialize"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
LAYERS = {}


def _int(value, what):
    """value as an int: an integer, or a float with an integral value (28 / 2); anything else (3.9, '3',
    True) raises TypeError rather than being truncated."""
    if (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and float(value).is_integer()):
        return int(value)
    raise TypeError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")


def _shape(shape, what="input_shape"):
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple of ints (without the batch axis), got {shape!r}")
    return tuple(_int(s, what) for s in shape)


def _pair(value, what):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
        return _int(value[0], what), _int(value[1], what)
    return _int(value, what), _int(value, what)


def _no_unsupported(layer_cls, **options):
    for key, value in options.items():
        if value is not None:
            raise NotImplementedError(f"{layer_cls}: {key} is not supported by cnet (got {value!r})")


def _param_array(a, name):
    """A parameter handed to a book-style constructor: kept as is (no copy) when it is a float array."""
    if isinstance(a, np.ndarray) and a.dtype in _FLOATS:
        return a
    return np.asarray(a, dtype=np.float64)


class Layer:
    """Base class of every layer (see the module docstring for the interface)."""

    _has_weights = False   # layers with weights cast their inputs to their dtype
    _keras_base = None     # book aliases: the class whose constructor get_config() describes

    def __init__(self, name=None, trainable=True, input_shape=None, batch_input_shape=None,
                 input_dim=None, dtype=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.name = str(name) if name else backend.unique_name(backend.snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self.dtype = np.dtype(dtype) if dtype is not None else None
        if self.dtype is not None and self.dtype not in _FLOATS:
            raise TypeError(f"{self.name}: dtype must be float32 or float64, got {self.dtype}")
        self.params, self.grads, self.state = {}, {}, {}
        if input_shape is None and batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_shape is None and input_dim is not None:
            input_shape = (_int(input_dim, "input_dim"),)
        self._declared_input_shape = None if input_shape is None else _shape(input_shape)
        self.input_shape = self._declared_input_shape
        self.output_shape = None
        self._logits = False
        self._cached = False
        # Workspaces: with _workspace set (by a model's training step), training-mode outputs and
        # gradients are written into buffers kept per layer and shape, so that a training step in
        # steady state allocates nothing; _need_input_grad False skips the input gradient (first layer).
        self._workspace = False
        self._need_input_grad = True
        self._reuse = False
        self._buffers = {}

    # ---- building ------------------------------------------------------------------------------

    def build(self, input_shape, dtype=None):
        """Create the parameters for inputs of shape (N,) + input_shape; return output_shape."""
        input_shape = _shape(input_shape)
        if self.built:
            if not self._compatible(input_shape, self.input_shape):
                raise ValueError(f"{self.name} was built for inputs of shape {self.input_shape} "
                                 f"(without the batch axis), not {input_shape}")
            if dtype is not None and np.dtype(dtype) != self.dtype:
                self._cast(np.dtype(dtype))
            return self.output_shape
        declared = self._declared_input_shape
        if declared is not None and not self._compatible(input_shape, declared):
            raise ValueError(f"{self.name} was declared with input_shape={declared} but is built for "
                             f"inputs of shape {input_shape}")
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype not in _FLOATS:
                raise TypeError(f"{self.name}: dtype must be float32 or float64, got {dtype}")
            if self.dtype is not None and dtype != self.dtype:
                self._cast(dtype)
            self.dtype = dtype
        elif self.dtype is None:
            self.dtype = np.dtype(backend.floatx())
        self._build(input_shape)
        self.input_shape = input_shape
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True
        return self.output_shape

    def _build(self, input_shape):
        """Create self.params/self.state for this input shape (subclasses with weights)."""

    def compute_output_shape(self, input_shape):
        return _shape(input_shape)

    def _compatible(self, got, expected):
        return got == expected

    def _cast(self, dtype):
        for d in (self.params, self.grads, self.state):
            for k in d:
                d[k] = d[k].astype(dtype)
        self.dtype = dtype

    # ---- forward / backward --------------------------------------------------------------------

    def forward(self, x, train=True, *, logits=False, train_flg=None):
        if train_flg is not None:
            train = train_flg
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if not self.built:
            if x.ndim < 1:
                raise ValueError(f"{self.name}: expected a batch of inputs (N, ...), got a scalar")
            shape = self._declared_input_shape if self._declared_input_shape is not None else x.shape[1:]
            self.build(shape, x.dtype if (self.dtype is None and not self._has_weights
                                                and x.dtype in _FLOATS) else None)
        if x.dtype != self.dtype and (self._has_weights or x.dtype not in _FLOATS):
            x = x.astype(self.dtype)
        if x.shape[1:] != self.input_shape and not self._compatible(x.shape[1:], self.input_shape):
            raise ValueError(self._shape_error(x.shape))
        self._logits = logits
        self._cached = bool(train)
        self._reuse = self._workspace and bool(train)
        return self._forward(x, bool(train))

    def _shape_error(self, got):
        return (f"{self.name} ({type(self).__name__}) expected input of shape "
                f"(N, {', '.join(map(str, self.input_shape))}) but got {got}")

    def backward(self, dout):
        if dout is None:  # the layers below the first one with parameters need no input gradient
            return None
        if not self._cached:
            raise RuntimeError(f"{self.name}: backward() needs a forward(x, train=True) first "
                               f"(forward with train=False caches nothing)")
        if not isinstance(dout, np.ndarray) or (dout.dtype not in _FLOATS):
            dout = np.asarray(dout, dtype=self.dtype)
        return self._backward(dout)

    def _forward(self, x, train):
        raise NotImplementedError

    def _backward(self, dout):
        raise NotImplementedError

    def _set_grad(self, key, value):
        if value is not self.grads[key]:
            np.copyto(self.grads[key], value)

    def _buf(self, key, shape, dtype=None):
        """A workspace buffer for an output of this training step, or None (the op allocates) when
        workspaces are off. Reused while the shape stays the same: its content lives until this
        layer's next training-mode forward."""
        if not self._reuse:
            return None
        dtype = self.dtype if dtype is None else dtype
        shape = tuple(shape)
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf

    def _grad_out(self, key):
        """The array backward writes the gradient of parameter key into, when workspaces are on."""
        return self.grads.get(key) if self._reuse else None

    # ---- weights and config --------------------------------------------------------------------

    def _weights(self):
        return list(self.params.values()) + list(self.state.values())

    def _weight_names(self):
        return list(self.params) + list(self.state)

    def get_weights(self):
        return [w.copy() for w in self._weights()]

    def set_weights(self, weights):
        current = self._weights()
        if not self.built and not current and self._has_weights:
            raise ValueError(f"{self.name} has no weights yet: build it first "
                             f"(layer.build(input_shape)) or run it on data")
        weights = list(weights)
        if len(weights) != len(current):
            raise ValueError(f"{self.name}: set_weights expects {len(current)} arrays "
                             f"({', '.join(self._weight_names()) or 'none'}), got {len(weights)}")
        names = self._weight_names()
        for i, (w, cur) in enumerate(zip(weights, current)):
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"{self.name}: weight {i} ({names[i]}) must have shape {cur.shape}, "
                                 f"got {w.shape}")
        for w, cur in zip(weights, current):
            np.copyto(cur, np.asarray(w), casting="unsafe")

    def count_params(self):
        if not self.built and not self._weights() and self._has_weights:
            raise ValueError(f"{self.name} is not built yet: its number of parameters is unknown")
        return int(sum(w.size for w in self._weights()))

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        if self.dtype is not None:
            config["dtype"] = self.dtype.name
        return config

    @classmethod
    def from_config(cls, config):
        obj = cls.__new__(cls)
        (cls._keras_base or cls).__init__(obj, **config)
        return obj

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LAYERS[cls.__name__] = cls

    def __repr__(self):
        shape = f", output_shape={self.output_shape}" if self.built else ""
        return f"<{type(self).__name__} name={self.name!r}{shape}>"


@contextlib.contextmanager
def training_workspaces(layers):
    """Within this block (one training step of a model), the layers write their outputs and gradients
    into buffers they keep per shape (no allocation in steady state), ReLU is fused where it can be,
    and the layers up to the first one with parameters compute no input gradient (backward returns
    None there). Outside it, every call returns fresh arrays, so nothing a caller holds is overwritten."""
    layers = list(layers)
    first = next((i for i, layer in enumerate(layers) if layer.params), len(layers))
    for i, layer in enumerate(layers):
        layer._workspace, layer._need_input_grad = True, i > first
    try:
        yield
    finally:
        for layer in layers:
            layer._workspace, layer._need_input_grad = False, True


# ---- fully connected ------------------------------------------------------------------------

class _KernelBias:
    """Book/Keras attribute access to params and grads ('W', 'b')."""

    W = property(lambda self: self.params.get("W"), lambda self, v: self._put("W", v))
    b = property(lambda self: self.params.get("b"), lambda self, v: self._put("b", v))
    kernel = W
    bias = b
    dW = property(lambda self: self.grads.get("W"))
    db = property(lambda self: self.grads.get("b"))

    def _put(self, key, value):
        value = _param_array(value, key)
        old = self.params.get(key)
        if old is not None and old.shape != value.shape:
            raise ValueError(f"{self.name}: {key} must have shape {old.shape}, got {value.shape}")
        self.params[key] = value
        if key == "W":
            self.dtype = value.dtype    # a book network may rebind W in another dtype
        if self.built and (key not in self.grads or self.grads[key].dtype != value.dtype):
            self.grads[key] = np.zeros_like(value)


class Dense(_KernelBias, Layer):
    """y = activation(x @ W + b), W (input_dim, units). Inputs with more than two axes are flattened."""

    _has_weights = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _no_unsupported("Dense", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(**kwargs)
        self.units = _int(units, "Dense: units")
        if self.units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self._act = activations.Fused(activation)
        self.activation = self._act.fn
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def _compatible(self, got, expected):
        return got == expected or (len(got) >= 1 and math.prod(got) == math.prod(expected))

    def _build(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"{self.name}: Dense needs inputs of shape (N, features), got {(None,) + input_shape}")
        d = math.prod(input_shape)
        if "W" in self.params:
            if self.params["W"].shape != (d, self.units):
                raise ValueError(f"{self.name}: W has shape {self.params['W'].shape} but inputs of shape "
                                 f"{input_shape} need ({d}, {self.units})")
            return
        self.params["W"] = initializers.get(self.kernel_initializer)((d, self.units), self.dtype)
        if self.use_bias:
            self.params["b"] = initializers.get(self.bias_initializer)((self.units,), self.dtype)

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def _forward(self, x, train):
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu"  # the GEMM applies it as it writes y
        z = ops.affine_forward(x, self.params["W"], self.params.get("b"),
                               out=self._buf("y", (x.shape[0], self.units)), relu=fuse_relu)
        y = z if (skip or fuse_relu) else self._act.forward(z)
        if train:
            self._x, self._y, self._skip = x, y, skip
        return y

    def _backward(self, dout):
        dz = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        dx, dw, db = ops.affine_backward(
            dz, self._x, self.params["W"],
            out=(self._buf("dx", self._x.shape) if need_dx else None, self._grad_out("W"),
                 self._grad_out("b")), need_dx=need_dx)
        self._set_grad("W", dw)
        if self.use_bias:
            self._set_grad("b", db)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self._act.name, use_bias=self.use_bias,
                      kernel_initializer=initializers.serialize(self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer))
        return config


# ---- convolution and pooling ----------------------------------------------------------------

def _window(size, k, stride, padding, what):
    """(out, symmetric pad, extra pad at the end) of one spatial axis."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return out, total // 2, total % 2
    pad = 0 if padding == "valid" else padding
    if size + 2 * pad < k:
        raise ValueError(f"{what} of size {k} does not fit an input of size {size} (padding {padding!r})")
    return (size + 2 * pad - k) // stride + 1, pad, 0


def _normalize_padding(padding, cls):
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("valid", "same"):
            raise ValueError(f"{cls}: padding must be 'valid' or 'same' (or an int/pair of ints), got {padding!r}")
        return p
    ph, pw = _pair(padding, f"{cls} padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"{cls}: padding must be >= 0, got {padding!r}")
    return (ph, pw)


def _check_data_format(data_format, cls):
    if data_format not in (None, "channels_first"):
        raise ValueError(f"{cls}(data_format={data_format!r}): {backend.CHANNELS_LAST_HELP} "
                         f"Leave data_format unset (or 'channels_first').")


def _check_image_shape(layer, shape):
    if len(shape) != 3:
        hint = " For grayscale images (N, H, W) use x[:, None]." if len(shape) == 2 else ""
        raise ValueError(f"{layer.name} ({type(layer).__name__}) expects images (N, C, H, W), "
                         f"channels-first, got input shape {(None,) + tuple(shape)}.{hint}")
    c, h, w = shape
    if w in (1, 3) and c == h and c >= 8:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): input shape {tuple(shape)} looks "
                         f"channels-last (H, W, C). {backend.CHANNELS_LAST_HELP} "
                         f"input_shape is then ({w}, {c}, {h}).")


class _Spatial(Layer):
    """Shared geometry of Conv2D and the pooling layers."""

    def _geometry(self, input_shape):
        _check_image_shape(self, input_shape)
        _, h, w = input_shape
        (kh, kw), (sh, sw) = self._kernel, self._strides
        pad = self.padding if isinstance(self.padding, str) else None
        oh, ph, eh = _window(h, kh, sh, pad or self.padding[0], f"{self.name}: window height")
        ow, pw, ew = _window(w, kw, sw, pad or self.padding[1], f"{self.name}: window width")
        return (oh, ow), (ph, pw), (eh, ew)

    def _setup(self, input_shape):
        (self._oh, self._ow), self._pad, self._extra = self._geometry(input_shape)

    def _pad_input(self, x, value=0.0):
        eh, ew = self._extra
        if eh or ew:
            return np.pad(x, ((0, 0), (0, 0), (0, eh), (0, ew)), constant_values=value)
        return x

    def _unpad(self, dx, x_shape):
        if self._extra != (0, 0):
            return np.ascontiguousarray(dx[:, :, :x_shape[2], :x_shape[3]])
        return dx

    def _shape_error(self, got):
        msg = super()._shape_error(got)
        c = self.input_shape[0]
        if len(got) == 4 and got[-1] == c and got[1] != c:
            msg += f". {backend.CHANNELS_LAST_HELP}"
        return msg

    def _padding_config(self):
        return self.padding if isinstance(self.padding, str) else list(self.padding)


class Conv2D(_KernelBias, _Spatial):
    """2-D convolution of channels-first images: x (N, C, H, W), W (filters, C, kh, kw), b (filters,)."""

    _has_weights = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _check_data_format(data_format, "Conv2D")
        if _pair(dilation_rate, "dilation_rate") != (1, 1):
            raise NotImplementedError(f"Conv2D: dilation_rate {dilation_rate!r} is not supported by cnet")
        _no_unsupported("Conv2D", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(**kwargs)
        self.filters = _int(filters, "Conv2D: filters")
        if self.filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {filters!r}")
        self.kernel_size = self._kernel = _pair(kernel_size, "kernel_size")
        self.strides = self._strides = _pair(strides, "strides")
        if min(self._kernel) < 1 or min(self._strides) < 1:
            raise ValueError(f"Conv2D: kernel_size and strides must be >= 1, got {kernel_size!r}, {strides!r}")
        self.padding = _normalize_padding(padding, "Conv2D")
        if self._declared_input_shape is not None:
            _check_image_shape(self, self._declared_input_shape)
        self._act = activations.Fused(activation, axis=1)
        self.activation = self._act.fn
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def _build(self, input_shape):
        self._setup(input_shape)
        c = input_shape[0]
        shape = (self.filters, c) + self._kernel
        if "W" in self.params:
            if self.params["W"].shape != shape:
                raise ValueError(f"{self.name}: W has shape {self.params['W'].shape} but inputs of shape "
                                 f"{input_shape} need {shape}")
            return
        self.params["W"] = initializers.get(self.kernel_initializer)(shape, self.dtype)
        if self.use_bias:
            self.params["b"] = initializers.get(self.bias_initializer)((self.filters,), self.dtype)

    def compute_output_shape(self, input_shape):
        (oh, ow), _, _ = self._geometry(_shape(input_shape))
        return (self.filters, oh, ow)

    def _forward(self, x, train):
        xin = self._pad_input(x)
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu"  # the GEMM applies it as it writes y
        n = x.shape[0]
        z = ops.conv2d_forward(xin, self.params["W"], self.params.get("b"), self._strides, self._pad,
                               out=self._buf("y", (n,) + self.output_shape), relu=fuse_relu)
        y = z if (skip or fuse_relu) else self._act.forward(z)
        if train:
            self._x, self._xshape, self._y, self._skip = xin, x.shape, y, skip
        return y

    def _backward(self, dout):
        dz = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        dx, dw, db = ops.conv2d_backward(
            dz, self._x, self.params["W"], self._strides, self._pad,
            out=(self._buf("dx", self._x.shape) if need_dx else None, self._grad_out("W"),
                 self._grad_out("b")), need_dx=need_dx)
        self._set_grad("W", dw)
        if self.use_bias:
            self._set_grad("b", db)
        return None if dx is None else self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self._kernel), strides=list(self._strides),
                      padding=self._padding_config(), activation=self._act.name, use_bias=self.use_bias,
                      kernel_initializer=initializers.serialize(self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer))
        return config


class _Pooling2D(_Spatial):
    _mode = "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        cls = type(self).__name__
        _check_data_format(data_format, cls)
        super().__init__(**kwargs)
        self.pool_size = self._kernel = _pair(pool_size, "pool_size")
        self.strides = self._strides = self._kernel if strides is None else _pair(strides, "strides")
        if min(self._kernel) < 1 or min(self._strides) < 1:
            raise ValueError(f"{cls}: pool_size and strides must be >= 1, got {pool_size!r}, {strides!r}")
        self.padding = _normalize_padding(padding, cls)

    def _build(self, input_shape):
        self._setup(input_shape)
        self._scale = None
        if self._mode == "avg" and self.padding == "same" and (self._pad != (0, 0) or self._extra != (0, 0)):
            # TF divides each window by the number of input elements in it, not by its size.
            ones = self._pad_input(np.ones((1, 1) + input_shape[1:]))
            frac = ops.avgpool2d_forward(ones, *self._kernel, self._strides, self._pad)
            self._scale = 1.0 / frac

    def compute_output_shape(self, input_shape):
        input_shape = _shape(input_shape)
        (oh, ow), _, _ = self._geometry(input_shape)
        return (input_shape[0], oh, ow)

    def _forward(self, x, train):
        kh, kw = self._kernel
        if self._mode == "max":
            xin = self._pad_input(x, -np.inf)
            oshape = (x.shape[0],) + self.output_shape
            y, argmax = ops.maxpool2d_forward(xin, kh, kw, self._strides, self._pad,
                                              out=(self._buf("y", oshape), self._buf("argmax", oshape, np.int64)))
            if train:
                self._argmax = argmax
        else:
            xin = self._pad_input(x)
            y = ops.avgpool2d_forward(xin, kh, kw, self._strides, self._pad)
            if self._scale is not None:
                y *= self._scale
        if train:
            self._xin_shape, self._xshape = xin.shape, x.shape
        return y

    def _backward(self, dout):
        kh, kw = self._kernel
        if self._mode == "max":
            dx = ops.maxpool2d_backward(dout, self._argmax, self._xin_shape, out=self._buf("dx", self._xin_shape))
        else:
            if self._scale is not None:
                dout = (dout * self._scale).astype(dout.dtype, copy=False)
            dx = ops.avgpool2d_backward(dout, self._xin_shape, kh, kw, self._strides, self._pad)
        return self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self._kernel), strides=list(self._strides),
                      padding=self._padding_config())
        return config


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows; strides default to pool_size."""
    _mode = "max"


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows; strides default to pool_size."""
    _mode = "avg"


# ---- shape layers ---------------------------------------------------------------------------

class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C order (channels-first: C, H, W)."""

    def __init__(self, data_format=None, **kwargs):
        _check_data_format(data_format, "Flatten")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        return (math.prod(_shape(input_shape)),)

    def _forward(self, x, train):
        if train:
            self._xshape = x.shape
        return x.reshape(x.shape[0], -1)

    def _backward(self, dout):
        return dout.reshape(self._xshape)


class Reshape(Layer):
    """(N,) + input_shape -> (N,) + target_shape; one entry of target_shape may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _shape(target_shape, "target_shape")
        if sum(1 for s in self.target_shape if s == -1) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {self.target_shape}")

    def compute_output_shape(self, input_shape):
        size = math.prod(_shape(input_shape))
        known = math.prod(s for s in self.target_shape if s != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ValueError(f"{self.name}: cannot reshape {input_shape} to {self.target_shape}")
            return tuple(size // known if s == -1 else s for s in self.target_shape)
        if known != size:
            raise ValueError(f"{self.name}: cannot reshape {input_shape} ({size} values) to "
                             f"{self.target_shape} ({known} values)")
        return self.target_shape

    def _forward(self, x, train):
        if train:
            self._xshape = x.shape
        return x.reshape((x.shape[0],) + self.output_shape)

    def _backward(self, dout):
        return dout.reshape(self._xshape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class InputLayer(Layer):
    """The identity; declares the model's input shape (without the batch axis)."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, batch_input_shape=None, name=None,
                 **kwargs):
        super().__init__(input_shape=input_shape, batch_input_shape=batch_input_shape, dtype=dtype,
                         name=name, **kwargs)
        if self._declared_input_shape is None:
            raise ValueError("InputLayer needs input_shape (without the batch axis), e.g. (1, 28, 28)")

    def _forward(self, x, train):
        return x

    def _backward(self, dout):
        return dout


# ---- activations ----------------------------------------------------------------------------

class Activation(Layer):
    """Applies an activation: 'relu', 'sigmoid', 'tanh', 'softmax', 'linear' or a cnet.activations function."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._act = activations.Fused(activation, axis=self._softmax_axis())
        self.activation = self._act.fn

    def _softmax_axis(self):
        return -1

    def _forward(self, x, train):
        skip = self._logits and self._act.is_softmax
        y = x if skip else self._act.forward(x, inplace=False, out=self._buf("y", x.shape))
        if train:
            self._y, self._skip = y, skip
        return y

    def _backward(self, dout):
        return dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)

    def get_config(self):
        config = super().get_config()
        config["activation"] = self._act.name
        return config


class ReLU(Activation):
    """max(x, 0). Only Keras's defaults (max_value=None, negative_slope=0, threshold=0) are supported."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None or negative_slope != 0 or threshold != 0:
            raise NotImplementedError("ReLU: only max_value=None, negative_slope=0, threshold=0 are supported")
        super().__init__("relu", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return config


class Softmax(Activation):
    """Softmax along axis (default -1, the features of (N, D) inputs)."""

    def __init__(self, axis=-1, **kwargs):
        self.axis = int(axis)
        super().__init__("softmax", **kwargs)

    def _softmax_axis(self):
        return self.axis

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        config["axis"] = self.axis
        return config


# ---- regularization -------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_dropout_frozen = [0]


def _splitmix(z):
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class frozen_dropout:
    """Context manager: Dropout layers reuse their current mask seed instead of advancing it
    (gradient checks evaluate the same function many times)."""

    def __enter__(self):
        _dropout_frozen[0] += 1

    def __exit__(self, *exc):
        _dropout_frozen[0] -= 1


class Dropout(Layer):
    """Inverted dropout: at training, each element is zeroed with probability rate and the others are
    scaled by 1/(1 - rate); at inference (train=False) the identity.

    The mask comes from ops.dropout_forward's counter RNG, seeded from (seed, step): ``seed`` is the
    constructor's, or drawn once from cnet's generator (``cnet.set_seed``) on the first training
    call; ``step`` counts the training calls. Same seed and step -> same mask on any backend and any
    number of threads.

    The book's ``Dropout(dropout_ratio=0.5)`` is this class with the book's scaling
    (``scale_at_inference=True``, the default when ``dropout_ratio`` is given): kept elements pass
    unscaled at training and every element is multiplied by (1 - ratio) at inference. That is the
    inverted form times the constant (1 - ratio), which changes the network's function where it matters
    (a dropout on the logits, as in the book's DeepConvNet, sets the softmax temperature).
    """

    def __init__(self, rate=0.5, noise_shape=None, seed=None, dropout_ratio=None, scale_at_inference=None,
                 **kwargs):
        _no_unsupported("Dropout", noise_shape=noise_shape)
        super().__init__(**kwargs)
        if dropout_ratio is not None:
            rate = dropout_ratio
        self.scale_at_inference = (dropout_ratio is not None) if scale_at_inference is None \
            else bool(scale_at_inference)
        self.rate = float(rate)
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.seed = None if seed is None else int(seed)
        self.step = 0
        self._base_seed = self.seed

    dropout_ratio = property(lambda self: self.rate)

    def _mask_seed(self):
        if self._base_seed is None:
            self._base_seed = int(initializers.get_rng().integers(0, 2 ** 63))
        seed = _splitmix(_splitmix(self._base_seed) ^ self.step)
        if not _dropout_frozen[0]:
            self.step += 1
        return seed

    def _keep(self, dtype):
        return np.dtype(dtype).type(1.0 - self.rate)

    def _forward(self, x, train):
        self._mask = None
        if not train or self.rate == 0.0:
            if self.scale_at_inference and self.rate != 0.0:
                return x * self._keep(x.dtype)
            return x
        y, self._mask = ops.dropout_forward(x, self.rate, self._mask_seed(),
                                            out=(self._buf("y", x.shape), self._buf("mask", x.shape)))
        if self.scale_at_inference:  # the book's form: the kept elements pass unscaled
            np.multiply(y, self._keep(y.dtype), out=y)
        return y

    def _backward(self, dout):
        if self._mask is None:
            return dout * self._keep(dout.dtype) if self.scale_at_inference and self.rate != 0.0 else dout
        dx = ops.dropout_backward(dout, self._mask, out=dout if self._reuse else None)
        if self.scale_at_inference:
            np.multiply(dx, self._keep(dx.dtype), out=dx)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, scale_at_inference=self.scale_at_inference)
        return config


class BatchNormalization(Layer):
    """Batch normalization of the features of (N, D) or the channels of (N, C, H, W) inputs.

    Keras: ``BatchNormalization(axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True, ...)``.
    The default axis is 1 (cnet is channels-first), which is also the last axis of (N, D) inputs;
    axis=-1 is accepted for 2-D inputs, axis=1 or -3 for images. Training uses the batch statistics
    and updates moving_mean/moving_variance (momentum*moving + (1 - momentum)*batch, the variance
    unbiased, as Keras 2 and PyTorch); inference uses the moving statistics.

    Book: ``BatchNormalization(gamma, beta, momentum=0.9, running_mean=None, running_var=None)``
    keeps the given arrays, uses epsilon 1e-6, the biased variance and zero-initialized running
    statistics as the book does; a gamma of size C*H*W normalizes every element of an image input
    separately (the book's reshape to (N, C*H*W)).
    """

    _has_weights = True

    def __init__(self, *args, **kwargs):
        if (args and isinstance(args[0], np.ndarray)) or "gamma" in kwargs:
            self._init_book(*args, **kwargs)
        else:
            self._init_keras(*args, **kwargs)

    def _init_keras(self, axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                    beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                    moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                    beta_constraint=None, gamma_constraint=None, **kwargs):
        _no_unsupported("BatchNormalization", beta_regularizer=beta_regularizer,
                        gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                        gamma_constraint=gamma_constraint)
        Layer.__init__(self, **kwargs)
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self._unbiased = True
        self._flat = False

    def _init_book(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None, name=None):
        gamma = _param_array(gamma, "gamma")
        self._init_keras(axis=1, momentum=momentum, epsilon=1e-6, name=name, dtype=gamma.dtype,
                         moving_variance_initializer="zeros")
        self._unbiased = False
        self.params["gamma"] = gamma
        self.params["beta"] = _param_array(beta, "beta")
        if running_mean is not None:
            self.state["moving_mean"] = _param_array(running_mean, "running_mean")
        if running_var is not None:
            self.state["moving_variance"] = _param_array(running_var, "running_var")

    @classmethod
    def from_config(cls, config):
        obj = cls.__new__(cls)
        obj._init_keras(**config)
        return obj

    gamma = property(lambda self: self.params.get("gamma"))
    beta = property(lambda self: self.params.get("beta"))
    dgamma = property(lambda self: self.grads.get("gamma"))
    dbeta = property(lambda self: self.grads.get("beta"))
    running_mean = property(lambda self: self.state.get("moving_mean"))
    running_var = property(lambda self: self.state.get("moving_variance"))
    moving_mean = running_mean
    moving_variance = running_var

    def _build(self, input_shape):
        if len(input_shape) == 1:
            ok = self.axis in (1, -1)
        elif len(input_shape) == 3:
            ok = self.axis in (1, -3)
        else:
            raise ValueError(f"{self.name}: BatchNormalization takes (N, D) or (N, C, H, W) inputs, "
                             f"got input shape {(None,) + input_shape}")
        if not ok:
            raise ValueError(f"{self.name}: axis={self.axis} is not supported: cnet is channels-first and "
                             f"normalizes axis 1 (the features of (N, D), the channels of (N, C, H, W)); "
                             f"use axis=1 (the default)")
        c = input_shape[0]
        size = c
        if "gamma" in self.params:   # the book's arrays
            size = self.params["gamma"].size
            if size not in (c, math.prod(input_shape)):
                raise ValueError(f"{self.name}: gamma has {size} elements but inputs of shape {input_shape} "
                                 f"need {c} (per channel) or {math.prod(input_shape)}")
            self._flat = size != c
        else:
            if self.scale:
                self.params["gamma"] = initializers.get(self.gamma_initializer)((c,), self.dtype)
            if self.center:
                self.params["beta"] = initializers.get(self.beta_initializer)((c,), self.dtype)
        for key, init in (("moving_mean", self.moving_mean_initializer),
                          ("moving_variance", self.moving_variance_initializer)):
            if key not in self.state:
                self.state[key] = initializers.get(init)((size,), self.dtype)
        self._ones = np.ones(size, self.dtype)
        self._zeros = np.zeros(size, self.dtype)

    def _cast(self, dtype):
        super()._cast(dtype)
        if hasattr(self, "_ones"):
            self._ones, self._zeros = self._ones.astype(dtype), self._zeros.astype(dtype)

    def _forward(self, x, train):
        xx = x.reshape(x.shape[0], -1) if self._flat else x
        gamma = self.params.get("gamma", self._ones)
        beta = self.params.get("beta", self._zeros)
        mm, mv = self.state["moving_mean"], self.state["moving_variance"]
        if not train:
            y = ops.batchnorm_inference(xx, gamma, beta, mm, mv, self.epsilon)
            return y.reshape(x.shape)
        y, mean, inv_std = ops.batchnorm_forward(xx, gamma, beta, self.epsilon)
        self._x, self._mean, self._inv_std = xx, mean, inv_std
        m = xx.size // xx.shape[1]
        var = 1.0 / (inv_std.astype(np.float64) ** 2) - self.epsilon
        if self._unbiased and m > 1:
            var *= m / (m - 1.0)
        mom = self.momentum
        mm *= mom
        mm += (1.0 - mom) * mean
        mv *= mom
        mv += (1.0 - mom) * var
        return y.reshape(x.shape)

    def _backward(self, dout):
        gamma = self.params.get("gamma", self._ones)
        dx, dgamma, dbeta = ops.batchnorm_backward(dout.reshape(self._x.shape), self._x, gamma,
                                                   self._mean, self._inv_std)
        if "gamma" in self.grads:
            self._set_grad("gamma", dgamma)
        if "beta" in self.grads:
            self._set_grad("beta", dbeta)
        return dx.reshape(dout.shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
                      scale=self.scale,
                      beta_initializer=initializers.serialize(self.beta_initializer),
                      gamma_initializer=initializers.serialize(self.gamma_initializer),
                      moving_mean_initializer=initializers.serialize(self.moving_mean_initializer),
                      moving_variance_initializer=initializers.serialize(self.moving_variance_initializer))
        return config


# ---- the book's layers (common/layers.py) ---------------------------------------------------

class Affine(Dense):
    """The book's Affine(W, b): Dense with the given W (D, U) and b (U,) arrays, kept by reference."""

    _keras_base = Dense

    def __init__(self, W, b, name=None):
        W = _param_array(W, "W")
        if W.ndim != 2:
            raise ValueError(f"Affine: W must be 2-D (input_dim, units), got shape {W.shape}")
        super().__init__(W.shape[1], use_bias=b is not None, name=name, dtype=W.dtype)
        self.params["W"] = W
        if b is not None:
            self._put("b", b)
            if self.params["b"].shape != (W.shape[1],):
                raise ValueError(f"Affine: b must have shape ({W.shape[1]},), got {self.params['b'].shape}")


class Convolution(Conv2D):
    """The book's Convolution(W, b, stride=1, pad=0): Conv2D with W (FN, C, FH, FW) kept by reference."""

    _keras_base = Conv2D

    def __init__(self, W, b, stride=1, pad=0, name=None):
        W = _param_array(W, "W")
        if W.ndim != 4:
            raise ValueError(f"Convolution: W must be 4-D (FN, C, FH, FW), got shape {W.shape}")
        super().__init__(W.shape[0], W.shape[2:], strides=stride, padding=pad, use_bias=b is not None,
                         name=name, dtype=W.dtype)
        self.params["W"] = W
        if b is not None:
            self._put("b", b)
            if self.params["b"].shape != (W.shape[0],):
                raise ValueError(f"Convolution: b must have shape ({W.shape[0]},), got {self.params['b'].shape}")


class Pooling(MaxPooling2D):
    """The book's Pooling(pool_h, pool_w, stride=1, pad=0): max pooling (note the book's stride default 1)."""

    _keras_base = MaxPooling2D

    def __init__(self, pool_h, pool_w, stride=1, pad=0, name=None):
        super().__init__((pool_h, pool_w), strides=stride, padding=pad, name=name)


class Relu(ReLU):
    """The book's Relu()."""
    _keras_base = ReLU

    def __init__(self, name=None):
        super().__init__(name=name)


class Sigmoid(Activation):
    """The book's Sigmoid()."""
    _keras_base = Activation

    def __init__(self, name=None):
        super().__init__("sigmoid", name=name)


class SoftmaxWithLoss:
    """The book's last layer: ``forward(x, t) -> loss`` (softmax + mean cross-entropy of the scores x),
    ``backward(dout=1) -> dx``. t: class indices (N,) or one-hot rows (N, L). Attributes: loss, y, t."""

    def __init__(self):
        from .losses import SoftmaxCrossEntropy
        self._loss = SoftmaxCrossEntropy()
        self.loss = self.y = self.t = None

    def forward(self, x, t):
        self.t = t
        self.loss = self._loss.forward(x, t)
        self.y = self._loss.probs
        return self.loss

    def backward(self, dout=1):
        dx = self._loss.backward()
        if not (np.isscalar(dout) and dout == 1):
            dx = dx * np.asarray(dout, dtype=dx.dtype)
        return dx


# ---- registry -------------------------------------------------------------------------------

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
