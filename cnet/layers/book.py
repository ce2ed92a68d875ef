"""The book's layers ("Deep Learning from Scratch", common/layers.py): thin subclasses of the Keras
layers with the book's constructors, sharing their implementation. Its Dropout and
BatchNormalization are the Keras classes, which accept the book's arguments."""
import numpy as np

from ..losses import SoftmaxCrossEntropy
from .advanced_activations import ReLU
from .base import _param_array
from .convolutional import Conv2D
from .core import Activation, Dense
from .pooling import MaxPooling2D


def _book_weights(W, ndim, what):
    """W given to a book constructor: kept as is when it is a float array; `what` names its ndim axes."""
    W = _param_array(W, "W")
    if W.ndim != ndim:
        raise ValueError(f"{what}, got shape {W.shape}")
    return W


def _keep(layer, W, b, units):
    """The book's layers keep the arrays they are given: W, and b checked to be (units,)."""
    layer.params["W"] = W
    if b is not None:
        layer._put("b", b)
        if layer.params["b"].shape != (units,):
            raise ValueError(f"{type(layer).__name__}: b must have shape ({units},), got {layer.params['b'].shape}")


class Affine(Dense):
    """The book's Affine(W, b): Dense with the given W (D, U) and b (U,) arrays, kept by reference. An
    input (N, d1, d2, ...) is flattened to (N, d1*d2*...) first, as in the book (D = d1*d2*...)."""

    _keras_base = Dense
    _flatten = True

    def __init__(self, W, b, name=None):
        W = _book_weights(W, 2, "Affine: W must be 2-D (input_dim, units)")
        super().__init__(W.shape[1], use_bias=b is not None, name=name, dtype=W.dtype)
        _keep(self, W, b, W.shape[1])


class Convolution(Conv2D):
    """The book's Convolution(W, b, stride=1, pad=0): Conv2D with W (FN, C, FH, FW) kept by reference, on
    channels-first images (N, C, H, W) always."""

    _keras_base = Conv2D

    def __init__(self, W, b, stride=1, pad=0, name=None):
        W = _book_weights(W, 4, "Convolution: W must be 4-D (FN, C, FH, FW)")
        super().__init__(W.shape[0], W.shape[2:], strides=stride, padding=pad, use_bias=b is not None,
                         name=name, dtype=W.dtype, data_format="channels_first")
        _keep(self, W, b, W.shape[0])


class Pooling(MaxPooling2D):
    """The book's Pooling(pool_h, pool_w, stride=1, pad=0): max pooling (note the book's stride default 1)."""

    _keras_base = MaxPooling2D

    def __init__(self, pool_h, pool_w, stride=1, pad=0, name=None):
        super().__init__((pool_h, pool_w), strides=stride, padding=pad, name=name, data_format="channels_first")


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
