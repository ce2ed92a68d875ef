"""Normalization (keras.layers.normalization): BatchNormalization, Keras's and the book's."""
import math

import numpy as np

from .. import initializers, ops
from .. import backend
from .base import Layer, _no_unsupported, _param_array, _shape, _to_cf, _to_cl


class BatchNormalization(Layer):
    """Batch normalization of the features of (N, D) or the channels of (N, C, H, W) inputs.

    Keras: ``BatchNormalization(axis=None, momentum=0.99, epsilon=1e-3, center=True, scale=True, ...)``.
    axis is the features of (N, D) inputs (1 or -1) and, for images, the channels: 1 (or -3) for
    channels-first (N, C, H, W), -1 (or 3) for channels-last (N, H, W, C), computed channels-first inside
    (free after a channels-last layer). Left unset, it is the channel axis of the images it receives in a
    model: 1 after channels-first layers (cnet's default), -1 after channels-last ones (Keras's default
    axis=-1), else -1 when set_image_data_format('channels_last') was called and 1 otherwise.
    Training uses the batch statistics
    and updates moving_mean/moving_variance (momentum*moving + (1 - momentum)*batch, the variance
    unbiased, as Keras 2 and PyTorch); inference uses the moving statistics. A frozen layer
    (trainable=False) still normalizes with the batch statistics in training (multi-backend Keras 2) but
    leaves its moving statistics as they are (Keras 2 does not run a frozen layer's updates).

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

    def _init_keras(self, axis=None, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                    beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                    moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                    beta_constraint=None, gamma_constraint=None, **kwargs):
        _no_unsupported("BatchNormalization", beta_regularizer=beta_regularizer,
                        gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                        gamma_constraint=gamma_constraint)
        Layer.__init__(self, **kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:   # tf.keras's configs: [3]
            axis = axis[0]
        self.axis = None if axis is None else int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self._unbiased = True
        self._flat = False
        self._last = False      # channels-last images (axis -1 of a 4-D input)

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

    def weight_shapes(self, input_shape):
        size = self._size(_shape(input_shape))
        book = "gamma" in self.params
        names = (["gamma"] if book or self.scale else []) + (["beta"] if book or self.center else [])
        return [(name, (size,)) for name in names + ["moving_mean", "moving_variance"]]

    def adopt_data_format(self, incoming, input_shape):
        if self.axis is None:
            if incoming is None:
                incoming = backend.image_data_format() if len(input_shape) == 3 else "channels_first"
            self.axis = -1 if incoming == "channels_last" else 1
        return incoming

    def _size(self, input_shape):
        """The number of statistics (the channels; the book's flat gamma: every element of an input)."""
        self.adopt_data_format(None, input_shape)
        if len(input_shape) == 1:
            ok, self._last = self.axis in (1, -1), False
        elif len(input_shape) == 3:
            ok, self._last = self.axis in (1, -3, 3, -1), self.axis in (3, -1)
        else:
            raise ValueError(f"{self.name}: BatchNormalization takes (N, D) or images (N, C, H, W) / (N, H, W, C), "
                             f"got input shape {(None,) + input_shape}")
        if not ok:
            raise ValueError(f"{self.name}: axis={self.axis} is not supported for inputs of shape "
                             f"{(None,) + input_shape}: cnet normalizes the features of (N, D) inputs (axis 1 or -1) "
                             f"or the channels of images: axis=1 for (N, C, H, W), axis=-1 for (N, H, W, C)")
        c = input_shape[-1] if self._last else input_shape[0]
        if "gamma" not in self.params:
            return c
        size = self.params["gamma"].size   # the book's arrays
        if size not in (c, math.prod(input_shape)):
            raise ValueError(f"{self.name}: gamma has {size} elements but inputs of shape {input_shape} "
                             f"need {c} (per channel) or {math.prod(input_shape)}")
        return size

    def _build(self, input_shape):
        size = self._size(input_shape)   # checks the shape first
        c = input_shape[-1] if self._last else input_shape[0]
        if "gamma" in self.params:   # the book's arrays
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
        if self._last:      # channels-last images: normalized channels-first (free after a channels-last layer)
            return _to_cl(self._forward_cf(_to_cf(x), train))
        return self._forward_cf(x, train)

    def _backward(self, dout):
        if self._last:
            return _to_cl(self._backward_cf(_to_cf(dout)))
        return self._backward_cf(dout)

    def _forward_cf(self, x, train):
        xx = x.reshape(x.shape[0], -1) if self._flat else x
        gamma = self.params.get("gamma", self._ones)
        beta = self.params.get("beta", self._zeros)
        mm, mv = self.state["moving_mean"], self.state["moving_variance"]
        if not train:
            y = ops.batchnorm_inference(xx, gamma, beta, mm, mv, self.epsilon)
            return y.reshape(x.shape)
        y, mean, inv_std = ops.batchnorm_forward(xx, gamma, beta, self.epsilon)
        self._x, self._mean, self._inv_std = xx, mean, inv_std
        if not self.trainable:      # frozen: the moving statistics stay as they are
            return y.reshape(x.shape)
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

    def _backward_cf(self, dout):
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
