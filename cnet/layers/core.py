"""Core layers (keras.layers.core): Dense, Activation, Flatten, Reshape, InputLayer and Input; Dropout is
re-exported from cnet.layers.regularization, as Keras 2.1 exposed it here."""
import math

import numpy as np

from .. import activations, backend, ops
from ._blocked import Blocked
from ._kernel_bias import _KernelBias
from .base import Layer, _keras1_arguments, _no_unsupported, _positive_int, _shape
from .node import Node
from .regularization import Dropout, SpatialDropout2D  # noqa: F401  (keras.layers.core's, as in Keras 2)


class Dense(_KernelBias, Layer):
    """y = activation(x @ W + b), W (input_dim, units).

    As in Keras, an input with more than two axes, (N, ..., input_dim), is transformed along its last
    axis: the output is (N, ..., units), computed as one GEMM of the (N * ..., input_dim) rows. (The
    book's Affine flattens such an input to (N, d1*d2*...) instead.)"""

    _has_weights = True
    _flatten = False   # Affine: (N, d1, d2, ...) -> (N, d1*d2*...) first, as the book's Affine does

    def __init__(self, units=None, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        if {"output_dim", "init", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
                "bias"} & set(kwargs):   # Keras 1's names
            if units is not None and "output_dim" in kwargs:
                raise TypeError("Dense: got both Keras 1's output_dim and Keras 2's units; keep units")
            legacy = _keras1_arguments("Dense", {k: kwargs.pop(k) for k in ("output_dim", "init", "W_regularizer",
                                                                           "b_regularizer", "W_constraint",
                                                                           "b_constraint", "bias")
                                                 if k in kwargs},
                                       ("units", "kernel_initializer", "kernel_regularizer", "bias_regularizer",
                                        "kernel_constraint", "bias_constraint", "use_bias"))
            units = legacy.pop("units", units)
            kernel_initializer = legacy.pop("kernel_initializer", kernel_initializer)
            use_bias = legacy.pop("use_bias", use_bias)
            kernel_regularizer = legacy.pop("kernel_regularizer", kernel_regularizer)
            bias_regularizer = legacy.pop("bias_regularizer", bias_regularizer)
            kernel_constraint = legacy.pop("kernel_constraint", kernel_constraint)
            bias_constraint = legacy.pop("bias_constraint", bias_constraint)
        if units is None:
            raise TypeError("Dense needs units, e.g. Dense(64)")
        _no_unsupported("Dense", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        super().__init__(**kwargs)
        self.units = _positive_int(units, "Dense: units")
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer)
        self._init_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)

    def _compatible(self, got, expected):
        if self._flatten:
            return got == expected or (len(got) >= 1 and math.prod(got) == math.prod(expected))
        return got == expected

    _units = property(lambda self: self.units)

    def _kernel_shape(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"{self.name}: Dense needs inputs of shape (N, features), got {(None,) + input_shape}")
        return (math.prod(input_shape) if self._flatten else input_shape[-1], self.units)

    def _build(self, input_shape):
        self._create_kernel_bias(input_shape)

    def _fusable_relu_out(self):
        return self._act.is_linear and self.activity_regularizer is None

    def compute_output_shape(self, input_shape):
        if self._flatten:
            return (self.units,)
        return tuple(_shape(input_shape)[:-1]) + (self.units,)

    def _forward(self, x, train):
        shape = x.shape
        if x.ndim > 2 and not self._flatten:   # the rows of every axis but the last: one GEMM
            x = x.reshape(-1, shape[-1])
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu" or self._relu_out  # the GEMM applies it as it writes y
        z = ops.affine_forward(x, self.params["W"], self.params.get("b"),
                               out=self._buf("y", (x.shape[0], self.units)), relu=fuse_relu)
        y = z if (skip or fuse_relu) else self._act.forward(z, keep=train)
        self._activity_forward(y, shape[0])
        if train:
            self._x, self._y, self._skip, self._xshape = x, y, skip, shape
        if len(shape) > 2 and not self._flatten:
            y = y.reshape(shape[:-1] + (self.units,))
        return y

    def _backward(self, dout):
        if dout.ndim != self._y.ndim:
            dout = dout.reshape(self._y.shape)
        dout = self._activity_backward(dout, self._y, self._xshape[0])
        dz = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        dx, dw, db = ops.affine_backward(
            dz, self._x, self.params["W"],
            out=(self._buf("dx", self._x.shape) if need_dx else None, self._grad_out("W"),
                 self._grad_out("b")), need_dx=need_dx)
        self._set_grad("W", dw)
        if self.use_bias:
            self._set_grad("b", db)
        self._regularize_grads()
        return dx if dx is None or dx.ndim == len(self._xshape) else dx.reshape(self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, **self._kernel_bias_config())
        return config


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in the order of the input's axes: (C, H, W) for channels-first
    images, (H, W, C) for channels-last ones, so that the Dense after it has the weights of the same Keras
    model. data_format='channels_first', given explicitly, flattens channels-first images in channels-last
    order, (H, W, C), as tf.keras's Flatten does (data_format=None never reorders: Keras 2.1's Flatten)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = None if data_format is None else backend.normalize_data_format(data_format, "Flatten")

    def adopt_data_format(self, incoming, input_shape):
        return None     # its output is no image

    @property
    def _reorder(self):
        return self.data_format == "channels_first" and self.input_shape is not None and len(self.input_shape) > 1

    def compute_output_shape(self, input_shape):
        return (math.prod(_shape(input_shape)),)

    def _forward(self, x, train):
        if train:
            self._xshape = x.shape
        if self._reorder:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)

    def _backward(self, dout):
        if self._reorder:
            n, c, rest = self._xshape[0], self._xshape[1], tuple(self._xshape[2:])
            return np.moveaxis(dout.reshape((n,) + rest + (c,)), -1, 1)
        return dout.reshape(self._xshape)

    def get_config(self):
        config = super().get_config()
        if self.data_format is not None:
            config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """(N,) + input_shape -> (N,) + target_shape; one entry of target_shape may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _shape(target_shape, "target_shape")
        if sum(1 for s in self.target_shape if s == -1) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {self.target_shape}")

    def adopt_data_format(self, incoming, input_shape):
        return None     # the layout of its output is not known

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
    """The identity; declares a model's input shape (without the batch axis). Its `output` is the
    symbolic tensor a functional model starts from (``Input(shape)`` makes one and returns it)."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, batch_input_shape=None, name=None,
                 **kwargs):
        super().__init__(input_shape=input_shape, batch_input_shape=batch_input_shape, dtype=dtype,
                         name=name, batch_size=batch_size, **kwargs)
        if self._declared_input_shape is None:
            raise ValueError("InputLayer needs input_shape (without the batch axis), e.g. (1, 28, 28)")
        self.build(self._declared_input_shape)
        self._inbound_nodes.append(Node(self, [], self.input_shape, self.dtype))

    def _forward(self, x, train):
        return x

    def _backward(self, dout):
        return dout


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False, tensor=None, **kwargs):
    """keras.Input: the symbolic input of a functional model, e.g. ``x = Input(shape=(784,))``.

    shape: one sample's shape (no batch axis); or batch_shape=(None,) + shape. dtype: 'float32' or
    'float64' (default ``cnet.backend.floatx()``), the dtype the layers called on it compute in (inputs of
    any numeric dtype are cast to it batch by batch). Every batch size is accepted, so a fixed batch size
    (batch_shape=(32, ...), batch_size=32) is refused, as are sparse=True and tensor=."""
    if sparse:
        raise ValueError("Input(sparse=True) is not supported: cnet computes on dense arrays")
    if tensor is not None:
        raise ValueError("Input(tensor=...) is not supported: cnet has no backend tensors to wrap; give "
                         "shape=")
    batch_size = kwargs.pop("batch_size", None)
    if kwargs:
        raise TypeError(f"Input: unexpected keyword argument(s) {sorted(kwargs)}")
    if batch_shape is not None:
        if shape is not None:
            raise ValueError("Input: give shape= or batch_shape=, not both")
        batch_shape = tuple(batch_shape)
        if not batch_shape:
            raise ValueError("Input: batch_shape needs the batch axis first, e.g. (None, 784)")
        batch_size, shape = batch_shape[0], batch_shape[1:]
    if batch_size is not None:
        raise ValueError(f"Input: a fixed batch size ({batch_size}) is not supported: cnet models take "
                         "batches of any size; give shape= (or batch_shape=(None, ...))")
    if shape is None:
        raise ValueError("Input needs shape= (one sample's shape, without the batch axis), e.g. (784,)")
    if isinstance(shape, int):
        shape = (shape,)
    if any(s is None for s in shape):
        raise ValueError(f"Input(shape={tuple(shape)}): axes of unknown size (None) are not supported: give every "
                         "axis of one sample its size")
    if dtype is not None and np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"Input(dtype={dtype!r}) is not supported: cnet computes in float32 or float64 and "
                         "casts inputs of other dtypes (uint8 images, ints) batch by batch; leave dtype unset")
    layer = InputLayer(input_shape=tuple(shape), dtype=dtype, name=name or backend.unique_name("input"))
    return layer.output


class Activation(Layer):
    """Applies an activation: a name of cnet.activations ('relu', 'sigmoid', 'tanh', 'softmax', 'linear', 'elu',
    'selu', 'softplus', 'softsign', 'hard_sigmoid', 'swish', 'gelu', 'leaky_relu') or a function."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._act = activations.Fused(activation, axis=self._softmax_axis())
        self.activation = self._act.fn

    def _softmax_axis(self):
        return -1

    @property
    def _elementwise(self):
        return not self._act.is_softmax

    def _accepts_blocked(self):
        return self._act.name in ("relu", "linear")   # f(0) = 0: the lanes past C stay zero

    _grad_masked = False    # the last training forward's consumer applies this ReLU's mask (cnet._graph)

    def _plain_relu(self):
        return self._act.name == "relu"

    def _forward(self, x, train):
        blk = type(x) is Blocked
        if blk:
            channels, x = x.channels, x.data
        skip = self._logits and self._act.is_softmax
        if self._relu_in:      # the producer applied this ReLU as it wrote x (cnet._graph)
            y = x
        else:
            y = x if skip else self._act.forward(x, inplace=False, out=self._buf("y", x.shape), keep=train)
        if train:
            self._y, self._skip, self._blk_x, self._blk_y = y, skip, blk, blk and self._blk_out
            self._channels = channels if blk else None
            self._grad_masked = self._relu_grad_out     # the consumer's backward applies the mask
        if blk:
            y = Blocked(y, channels)
            return y if self._blk_out else y.to_nchw(out=self._buf("y_nchw", y.nchw_shape))
        return y

    def _backward(self, dout):
        if self._grad_masked:   # masked by the max pool after this ReLU (cnet._graph): dout is dx
            return dout
        if self._blk_x:
            dout = self._as_blocked(dout, self._y.shape[4], "dyb", self._y.shape, temp=False)  # dx, in place
        dx = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        return Blocked(dx, self._channels) if self._blk_x else dx

    def get_config(self):
        config = super().get_config()
        config["activation"] = self._act.name
        return config
