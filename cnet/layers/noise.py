"""Noise layers (keras.layers.noise): GaussianNoise and GaussianDropout, active at training only (the
identity at inference). The noise comes from cnet's generator (``cnet.set_seed``); within
``cnet.layers.frozen_dropout`` a layer draws the same noise again (gradient checks)."""
import numpy as np

from .. import initializers
from .base import Layer
from .regularization import _dropout_frozen


def _draw(layer, shape):
    """Standard normal noise of `shape`; within cnet.layers.frozen_dropout (gradient checks), the layer's
    last draw again."""
    last = getattr(layer, "_noise", None)
    if _dropout_frozen[0] and last is not None and last.shape == tuple(shape):
        return last
    layer._noise = initializers.get_rng().standard_normal(shape)
    return layer._noise


def _rate_or_std(value, what, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (high is not None and v >= high):
        raise ValueError(f"{what} must be in [0, {high if high is not None else 'inf'}), got {value!r}")
    return v


class GaussianNoise(Layer):
    """x + noise of standard deviation stddev at training."""

    _elementwise = True

    def __init__(self, stddev, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _rate_or_std(stddev, "GaussianNoise: stddev")

    def _forward(self, x, train):
        self._yshape = x.shape
        if not train or self.stddev == 0:
            return x
        noise = _draw(self, x.shape).astype(x.dtype, copy=False)
        return x + noise * x.dtype.type(self.stddev)

    def _backward(self, dout):
        self._check_dout(dout, self._yshape)
        return dout

    def get_config(self):
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


class GaussianDropout(Layer):
    """x times noise of mean 1 and standard deviation sqrt(rate / (1 - rate)) at training."""

    _elementwise = True

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate_or_std(rate, "GaussianDropout: rate", 1)

    def _forward(self, x, train):
        self._mask = None
        self._yshape = x.shape
        if not train or self.rate == 0:
            return x
        std = np.sqrt(self.rate / (1.0 - self.rate))
        self._mask = (1.0 + std * _draw(self, x.shape)).astype(x.dtype)
        return x * self._mask

    def _backward(self, dout):
        self._check_dout(dout, self._yshape)
        return dout if self._mask is None else dout * self._mask

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config
