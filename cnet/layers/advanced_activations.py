"""Activation layers with their own class (keras.layers.advanced_activations): ReLU, Softmax, LeakyReLU,
ELU, ThresholdedReLU and PReLU (a learned slope per feature)."""
import math

import numpy as np

from .. import initializers, ops
from .base import Layer, _initializer, _no_unsupported, _shape
from .core import Activation


def _real(value, what, low=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise TypeError(f"{what} must be a finite number, got {value!r}")
    if low is not None and float(value) < low:
        raise ValueError(f"{what} must be >= {low}, got {value!r}")
    return float(value)


class _InputBased(Layer):
    """An element-wise activation differentiated through its input x (kept at a training forward): the
    ops <op>_forward(x, *params) and <op>_backward(dy, x, *params) of cnet.ops."""

    _elementwise = True
    _op = None

    def _params(self):
        return ()

    def _forward(self, x, train):
        y = getattr(ops, f"{self._op}_forward")(x, *self._params(), out=self._buf("y", x.shape))
        if train:
            self._x = x
        return y

    def _backward(self, dout):
        self._check_dout(dout, self._x.shape)
        if not dout.flags.c_contiguous:
            dout = np.ascontiguousarray(dout)
        return getattr(ops, f"{self._op}_backward")(dout, self._x, *self._params(),
                                                      out=self._buf("dx", dout.shape))


class ReLU(Activation):
    """Keras's ReLU: x where threshold < x < max_value, max_value above it (max_value None: no cap),
    negative_slope * (x - threshold) at or below threshold. With the defaults, the plain ReLU (an
    Activation('relu'))."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__("relu", **kwargs)
        self.max_value = None if max_value is None else _real(max_value, "ReLU: max_value", 0.0)
        self.negative_slope = _real(negative_slope, "ReLU: negative_slope", 0.0)
        self.threshold = _real(threshold, "ReLU: threshold", 0.0)
        self._plain = self.max_value is None and self.negative_slope == 0 and self.threshold == 0
        if self.max_value is not None and self.max_value < self.threshold:
            raise ValueError(f"ReLU: max_value ({max_value}) must be >= threshold ({threshold})")

    def _accepts_blocked(self):
        return self._plain        # the options run the element-wise kernel on NCHW arrays

    def _plain_relu(self):
        return self._plain

    def _forward(self, x, train):
        if self._plain:
            return super()._forward(x, train)
        return _InputBased._forward(self, x, train)

    def _backward(self, dout):
        if self._plain:
            return super()._backward(dout)
        return _InputBased._backward(self, dout)

    _op = "leaky_relu"

    def _params(self):
        return (self.negative_slope, self.threshold, self.max_value)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        if not self._plain:
            config.update(max_value=self.max_value, negative_slope=self.negative_slope, threshold=self.threshold)
        return config


class LeakyReLU(_InputBased):
    """x where x > 0, else alpha * x (Keras's default alpha=0.3)."""

    _op = "leaky_relu"

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _real(alpha, "LeakyReLU: alpha")

    def _params(self):
        return (self.alpha,)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ThresholdedReLU(_InputBased):
    """x where x > theta, else 0."""

    _op = "leaky_relu"

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _real(theta, "ThresholdedReLU: theta", 0.0)

    def _params(self):
        return (0.0, self.theta, None)

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config


class ELU(_InputBased):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    _op = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _real(alpha, "ELU: alpha")

    def _params(self):
        return (self.alpha, 1.0)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """x where x > 0, else alpha * x, alpha learned: one per input element, shared along shared_axes (the
    axes of the input, 1 the first after the batch, as in Keras; e.g. shared_axes=[2, 3] for one alpha per
    channel of channels-first images, [1, 2] of channels-last ones). params: {'alpha'}."""

    _has_weights = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        _no_unsupported("PReLU", alpha_regularizer=alpha_regularizer, alpha_constraint=alpha_constraint)
        super().__init__(**kwargs)
        self.alpha_initializer = _initializer(alpha_initializer)
        if shared_axes is None:
            self.shared_axes = ()
        else:
            axes = shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            self.shared_axes = tuple(sorted({int(a) for a in axes}))
            if any(a < 1 for a in self.shared_axes):
                raise ValueError(f"PReLU: shared_axes are axes of the input after the batch axis (>= 1), "
                                 f"got {shared_axes!r}")

    def _alpha_shape(self, input_shape):
        input_shape = _shape(input_shape)
        if any(a > len(input_shape) for a in self.shared_axes):
            raise ValueError(f"{self.name}: shared_axes {list(self.shared_axes)} do not fit inputs of shape "
                             f"{(None,) + input_shape}")
        return tuple(1 if i + 1 in self.shared_axes else s for i, s in enumerate(input_shape))

    def weight_shapes(self, input_shape):
        return [("alpha", self._alpha_shape(input_shape))]

    def _build(self, input_shape):
        if "alpha" not in self.params:
            self.params["alpha"] = initializers.get(self.alpha_initializer)(self._alpha_shape(input_shape),
                                                                           self.dtype)

    def _forward(self, x, train):
        n = x.shape[0]
        x2 = np.ascontiguousarray(x).reshape(n, -1)
        alpha = np.ascontiguousarray(np.broadcast_to(self.params["alpha"], x.shape[1:])).reshape(-1)
        y = ops.prelu_forward(x2, alpha, out=self._buf("y", x2.shape))
        if train:
            self._x2, self._alpha_full, self._xshape = x2, alpha, x.shape
        return y.reshape(x.shape)

    def _backward(self, dout):
        self._check_dout(dout, self._xshape)
        dout2 = np.ascontiguousarray(dout).reshape(self._x2.shape)
        need_dx = self._need_input_grad or not self._reuse
        dx, dalpha = ops.prelu_backward(dout2, self._x2, self._alpha_full,
                                        out=(self._buf("dx", dout2.shape) if need_dx else None, None),
                                        need_dx=need_dx)
        shared = tuple(a - 1 for a in self.shared_axes)
        dalpha = dalpha.reshape(self._xshape[1:])
        if shared:
            dalpha = dalpha.sum(axis=shared, keepdims=True)
        self._set_grad("alpha", dalpha)
        return None if dx is None else dx.reshape(self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(alpha_initializer=initializers.serialize(self.alpha_initializer),
                      shared_axes=list(self.shared_axes) or None)
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
