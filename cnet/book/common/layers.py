"""The book's common/layers.py: Relu, Sigmoid, Affine, SoftmaxWithLoss, Dropout, BatchNormalization,
Convolution and Pooling, with the book's constructors, defaults and semantics, computed by cnet's layers.

Each class is a cnet layer (cnet.layers) with the book's constructor: the arrays it is given are kept
by reference (an optimizer updating a network's ``params`` in place updates the layer; rebinding
``layer.W = array`` works too), ``forward(x)`` caches what ``backward(dout)`` needs, and the book's
attributes are there: ``W``, ``b``, ``dW``, ``db`` (Affine, Convolution), ``gamma``, ``beta``, ``dgamma``,
``dbeta``, ``running_mean``, ``running_var`` (BatchNormalization), ``mask`` (Relu, Dropout), ``out``
(Sigmoid), ``x``/``original_x_shape`` (Affine), ``loss``/``y``/``t`` (SoftmaxWithLoss), ``stride``, ``pad``,
``pool_h``, ``pool_w`` (read-only: set them through the constructor).

Where the book and cnet's Keras-facing layers differ, these classes follow the book:
- ``Dropout(dropout_ratio=0.5)``: in training each element is kept where ``np.random.rand(...) >
  dropout_ratio`` (numpy's global generator, so ``np.random.seed`` reproduces the book's masks) and
  passed unscaled; at inference every element is multiplied by (1 - dropout_ratio).
- ``Relu.backward(dout)`` zeroes dout where x <= 0 in place and returns it, as the book's does.
- ``Pooling(pool_h, pool_w, stride=2, pad=0)``: max pooling, stride 2 by default.
- ``Convolution(W, b, stride=1, pad=0)`` and ``Affine(W, b)``: b may be a scalar (``Convolution(W, 0)``)
  or anything that broadcasts to one value per output; it is then copied into a new array.
- ``SoftmaxWithLoss``: the loss is the book's ``cross_entropy_error`` (with its 1e-7 inside the log);
  labels may be a vector, one-hot rows, or one label per sample in any shape ((N, 1)).
- Any input shape is accepted on every call (a layer re-plans itself when the shape changes).
- dtypes: the computation runs in the parameters' dtype (float64 for the book's arrays; float32 when
  the arrays are float32, for speed); inputs of another dtype are converted to it, as NumPy's
  promotion does for the book's float64 weights. Layers without parameters keep float32/float64
  inputs as they are and compute other inputs (integers, float16) in float64.
Not kept: the book's intermediate im2col matrices (``col``, ``col_W``) and Pooling's ``arg_max``: cnet
convolves without materializing the whole batch's im2col.
"""
import numpy as np

from cnet import layers as _layers
from cnet import ops as _ops
from cnet.layers._blocked import Blocked as _Blocked
from .functions import (cross_entropy_error, identity_function, relu, relu_grad, sigmoid,  # noqa: F401
                        sigmoid_grad, softmax, softmax_loss, step_function, sum_squared_error)
from .util import col2im, im2col  # noqa: F401

__all__ = ["np", "identity_function", "step_function", "sigmoid", "sigmoid_grad", "relu", "relu_grad",
           "softmax", "sum_squared_error", "cross_entropy_error", "softmax_loss", "im2col", "col2im",
           "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout", "BatchNormalization", "Convolution",
           "Pooling"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class _BookInput:
    """The book's layers take any input shape on any call and any numeric dtype."""

    def forward(self, x, *args, **kwargs):
        if type(x) is _Blocked:     # from the layer before, in a network of cnet.book (cnet/book/_net.py)
            return super().forward(x, *args, **kwargs)
        x = np.asarray(x)
        if x.dtype not in _FLOATS and not self._has_weights:
            x = x.astype(np.float64)
        if self.built and x.shape[1:] != self.input_shape and not self._compatible(x.shape[1:],
                                                                                     self.input_shape):
            self.built = False      # planned again for this shape; parameters are kept
        return super().forward(x, *args, **kwargs)


def _bias(b, size, dtype, cls):
    """b as the layer's bias: an array of shape (size,) is kept; a scalar or broadcastable b is copied."""
    if b is None or (isinstance(b, np.ndarray) and b.shape == (size,)):
        return b
    try:
        return np.array(np.broadcast_to(np.asarray(b, dtype=dtype), (size,)))
    except ValueError:
        raise ValueError(f"{cls}: b must be a scalar or broadcast to ({size},), "
                         f"got shape {np.shape(b)}") from None


def _param_dtype(W):
    W = np.asarray(W)
    return W.dtype if W.dtype in _FLOATS else np.dtype(np.float64)


def _window_value(pair):
    """An int when both axes agree (the book's form), else the (height, width) pair."""
    a, b = pair
    return a if a == b else (a, b)


class _Relu(_BookInput, _layers.Relu):
    """Relu(): max(x, 0). ``mask`` (x <= 0) after a forward."""

    def __init__(self):
        super().__init__()

    @property
    def mask(self):
        y = getattr(self, "_y", None)
        if y is not None and self._blk_x:      # blocked inside a network of cnet.book (_net.py)
            y = _ops.from_blocked(y, self._channels)
        return None if y is None else y <= 0

    def _backward(self, dout):
        # as the book's Relu.backward (dout[self.mask] = 0; return dout): dout is zeroed where x <= 0 in
        # place and returned (a dout that cannot be written in place is copied)
        if self._grad_masked or self._blk_x:   # inside a network of cnet.book: as cnet's ReLU
            return super()._backward(dout)
        return self._act.backward(dout, self._y, inplace=True)


class _Sigmoid(_BookInput, _layers.Sigmoid):
    """Sigmoid(): 1 / (1 + exp(-x)). ``out`` (the last output) after a forward."""

    def __init__(self):
        super().__init__()

    out = property(lambda self: getattr(self, "_y", None))


class _Affine(_BookInput, _layers.Affine):
    """Affine(W, b): x @ W + b, W (D, U); inputs (N, ...) are flattened to (N, D)."""

    def __init__(self, W, b):
        W = np.asarray(W)
        if W.ndim != 2:
            raise ValueError(f"Affine: W must be 2-D (input_dim, units), got shape {W.shape}")
        super().__init__(W, _bias(b, W.shape[1], _param_dtype(W), "Affine"))

    @property
    def x(self):
        x = getattr(self, "_x", None)
        return None if x is None else x.reshape(x.shape[0], -1)

    @property
    def original_x_shape(self):
        x = getattr(self, "_x", None)
        return None if x is None else x.shape


class _SoftmaxWithLoss(_layers.SoftmaxWithLoss):
    """SoftmaxWithLoss(): forward(x, t) -> loss, backward(dout=1) -> dx. t: labels or one-hot rows."""

    def forward(self, x, t):
        x = np.asarray(x)
        t = np.asarray(t)
        self._xshape = x.shape
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if t.size != x.size and t.size == x.shape[0]:
            t = t.reshape(-1)      # one label per sample, whatever its shape ((N, 1) as in ch07)
        elif t.size == x.size:
            t = t.reshape(x.shape)
        super().forward(x, t)
        self.t = t
        self.loss = cross_entropy_error(self.y, t)
        return self.loss

    def backward(self, dout=1):
        return super().backward(dout).reshape(self._xshape)


class _Dropout(_BookInput, _layers.Dropout):
    """Dropout(dropout_ratio=0.5): masks from np.random.rand, kept values unscaled in training, every
    value times (1 - dropout_ratio) at inference. ``mask`` (bool, True where kept) after training."""

    def __init__(self, dropout_ratio=0.5):
        super().__init__(dropout_ratio=dropout_ratio)
        self.mask = None

    def _forward(self, x, train):
        if not train:
            return x * (1.0 - self.dropout_ratio)
        self.mask = np.random.rand(*x.shape) > self.dropout_ratio
        self._keep_mask = self.mask.astype(x.dtype)
        return _ops.dropout_backward(x, self._keep_mask)    # x * mask

    def _backward(self, dout):
        return _ops.dropout_backward(dout, self._keep_mask.astype(dout.dtype, copy=False))


class _BatchNormalization(_BookInput, _layers.BatchNormalization):
    """BatchNormalization(gamma, beta, momentum=0.9, running_mean=None, running_var=None)."""

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        if not isinstance(gamma, np.ndarray):
            gamma = np.asarray(gamma, dtype=np.float64)
        super().__init__(gamma=gamma, beta=beta, momentum=momentum, running_mean=running_mean,
                         running_var=running_var)


class _Convolution(_BookInput, _layers.Convolution):
    """Convolution(W, b, stride=1, pad=0): W (FN, C, FH, FW); b (FN,) or a scalar."""

    def __init__(self, W, b, stride=1, pad=0):
        W = np.asarray(W)
        if W.ndim != 4:
            raise ValueError(f"Convolution: W must be 4-D (FN, C, FH, FW), got shape {W.shape}")
        super().__init__(W, _bias(b, W.shape[0], _param_dtype(W), "Convolution"), stride, pad)

    stride = property(lambda self: _window_value(self.strides))
    pad = property(lambda self: _window_value(self.padding))


class _Pooling(_BookInput, _layers.Pooling):
    """Pooling(pool_h, pool_w, stride=2, pad=0): max over pool_h x pool_w windows."""

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, stride, pad)

    pool_h = property(lambda self: self.pool_size[0])
    pool_w = property(lambda self: self.pool_size[1])
    stride = property(lambda self: _window_value(self.strides))
    pad = property(lambda self: _window_value(self.padding))


def _publish(cls):
    """The class under the book's name. (Defined with a leading underscore so that cnet's layer
    registry, which maps class names to cnet's own Keras-facing classes, does not record it.)"""
    cls.__name__ = cls.__qualname__ = cls.__name__.lstrip("_")
    return cls


Relu = _publish(_Relu)
Sigmoid = _publish(_Sigmoid)
Affine = _publish(_Affine)
SoftmaxWithLoss = _publish(_SoftmaxWithLoss)
Dropout = _publish(_Dropout)
BatchNormalization = _publish(_BatchNormalization)
Convolution = _publish(_Convolution)
Pooling = _publish(_Pooling)
