"""Regularization layers: Dropout, SpatialDropout2D (and ``frozen_dropout`` for gradient checks)."""
import math

import numpy as np

from .. import backend, initializers, ops
from ..reference.rng import splitmix64
from ._blocked import Blocked
from .base import Layer, _keras1_arguments, _no_unsupported

_dropout_frozen = [0]


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

    _elementwise = True

    def __init__(self, rate=0.5, noise_shape=None, seed=None, dropout_ratio=None, scale_at_inference=None,
                 **kwargs):
        if "p" in kwargs:   # Keras 1's name
            rate = _keras1_arguments("Dropout", {"p": kwargs.pop("p")}, ("rate",))["rate"]
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
        self._shard_mask = None

    dropout_ratio = property(lambda self: self.rate)

    def _ensure_seed(self):
        if self._base_seed is None:
            self._base_seed = int(initializers.get_rng().integers(0, 2 ** 63))

    def _mask_seed(self):
        self._ensure_seed()
        seed = splitmix64(splitmix64(self._base_seed) ^ self.step)
        if not _dropout_frozen[0]:
            self.step += 1
        return seed

    def _keep(self, dtype):
        return np.dtype(dtype).type(1.0 - self.rate)

    def _accepts_blocked(self):
        return self._shard_mask is None

    def _forward_blocked(self, x, train):
        """The NCHW path's mask (drawn over the NCHW flat index), blocked: the same elements dropped."""
        xb, keep = x.data, self._keep(x.data.dtype)
        if train and self.rate != 0.0 and not self._blk_out:
            # the next layer takes NCHW: drop on the NCHW copy of x, in place (neither a blocked mask
            # nor a blocked output); backward then runs on NCHW too (the layer before takes either)
            y = x.to_nchw(out=self._buf("y", x.nchw_shape))
            self._mask = ops.dropout_forward_keep(y, self.rate, self._mask_seed(),
                                                  out=(y, self._buf("keep", y.shape, np.uint8)))[1]
            if self.scale_at_inference:
                np.multiply(y, keep, out=y)
            self._blk_x = self._blk_y = False
            return y
        self._mask, self._blk_x, self._channels = None, True, x.channels
        if not train or self.rate == 0.0:
            y = xb * keep if self.scale_at_inference and self.rate != 0.0 else xb
        else:
            y = self._buf("y", xb.shape)    # first holds the NCHW mask, then the output
            nchw = None if y is None else y.reshape(-1)[:math.prod(x.nchw_shape)].reshape(x.nchw_shape)
            mask = ops.dropout_mask(x.nchw_shape, self.rate, self._mask_seed(), xb.dtype, out=nchw)
            self._mask = ops.to_blocked(mask, xb.shape[4], out=self._buf("maskb", xb.shape))
            y = np.multiply(xb, self._mask, out=y)
            if self.scale_at_inference:
                np.multiply(y, keep, out=y)
        self._blk_y = bool(train) and self._blk_out
        out = Blocked(y, x.channels)
        return out if self._blk_out else out.to_nchw(out=self._buf("y_nchw", x.nchw_shape))

    def _backward_blocked(self, dout):
        dout = self._as_blocked(dout, self._blk_shape[4], "dyb", self._blk_shape, temp=False)  # dx, in place
        if self._mask is None:
            dx = dout * self._keep(dout.dtype) if self.scale_at_inference and self.rate != 0.0 else dout
        else:
            dx = ops.dropout_backward(dout, self._mask, out=dout if self._reuse else None)
            if self.scale_at_inference:
                np.multiply(dx, self._keep(dx.dtype), out=dx)
        return Blocked(dx, self._channels)

    def _forward(self, x, train):
        if type(x) is Blocked:
            self._blk_shape = x.data.shape
            return self._forward_blocked(x, train)
        self._blk_x = self._blk_y = False
        self._mask = None
        if not train or self.rate == 0.0:
            if self.scale_at_inference and self.rate != 0.0:
                return x * self._keep(x.dtype)
            return x
        if self._shard_mask is not None:   # cnet.distributed: these rows of the global batch's mask
            self._mask = self._shard_mask
            y = np.multiply(x, self._mask, out=self._buf("y", x.shape))
        else:   # the mask as keep flags (one byte an element)
            y, self._mask = ops.dropout_forward_keep(
                x, self.rate, self._mask_seed(), out=(self._buf("y", x.shape), self._buf("keep", x.shape, np.uint8)))
        if self.scale_at_inference:  # the book's form: the kept elements pass unscaled
            np.multiply(y, self._keep(y.dtype), out=y)
        return y

    def _backward(self, dout):
        if self._blk_x:
            return self._backward_blocked(dout)
        if self._mask is None:
            return dout * self._keep(dout.dtype) if self.scale_at_inference and self.rate != 0.0 else dout
        out = dout if self._reuse else None
        dx = ops.dropout_backward_keep(dout, self._mask, self.rate, out=out) if self._mask.dtype == np.uint8 \
            else ops.dropout_backward(dout, self._mask, out=out)
        if self.scale_at_inference:
            np.multiply(dx, self._keep(dx.dtype), out=dx)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, scale_at_inference=self.scale_at_inference)
        return config


class SpatialDropout2D(Dropout):
    """Dropout of whole channels: each (sample, channel) plane is zeroed with probability rate and the others
    are scaled by 1/(1 - rate) at training; the identity at inference. Images (N, C, H, W), or (N, H, W, C)
    with data_format='channels_last' (given, or cnet.backend.set_image_data_format's; else the layout of the
    images the layer receives in a model)."""

    _elementwise = False

    def __init__(self, rate=0.5, data_format=None, noise_shape=None, seed=None, **kwargs):
        book = sorted({"dropout_ratio", "scale_at_inference", "p"} & set(kwargs))
        if book:
            raise TypeError(f"SpatialDropout2D: unexpected keyword argument(s) {book}")
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        self.data_format = None if data_format is None and not backend.image_data_format_is_set() else \
            backend.normalize_data_format(data_format, "SpatialDropout2D")

    def adopt_data_format(self, incoming, input_shape):
        if self.data_format is None:
            self.data_format = incoming or "channels_first"
        return self.data_format

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} (SpatialDropout2D) expects images (N, C, H, W) or (N, H, W, C), got "
                             f"input shape {(None,) + tuple(input_shape)}")
        return tuple(input_shape)

    def _forward(self, x, train):
        self._mask = None
        self._yshape = x.shape
        if not train or self.rate == 0.0:
            return x
        cl = self.data_format == "channels_last"
        n, c = x.shape[0], x.shape[3 if cl else 1]
        mask = ops.dropout_mask((n, c), self.rate, self._mask_seed(), x.dtype)
        self._mask = mask.reshape((n, 1, 1, c) if cl else (n, c, 1, 1))
        return x * self._mask

    def _backward(self, dout):
        self._check_dout(dout, self._yshape)
        return dout if self._mask is None else dout * self._mask

    def get_config(self):
        config = super().get_config()
        del config["scale_at_inference"]
        config["data_format"] = self.data_format
        return config
