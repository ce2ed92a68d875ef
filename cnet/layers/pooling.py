"""Pooling (keras.layers.pooling): MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
GlobalMaxPooling2D, and Keras 2's aliases MaxPool2D, AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D."""
import numpy as np

from .. import ops
from ..ops import implementation as _run     # the blocked path's kernels, arguments built here (unchecked)
from ._blocked import Blocked
from ._spatial import _check_image_shape, _normalize_padding, _Spatial
from .base import _keras1_arguments, _pair, _shape, _to_cf, _to_cl


class _Pooling2D(_Spatial):
    _mode = "max"
    _relu_mask = None       # the pooled output, when this pool's backward applies the ReLU before it
    _lent = None            # the input a Conv2D lent to the last blocked training forward (_blocked.py)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        cls = type(self).__name__
        if {"border_mode", "dim_ordering"} & set(kwargs):   # Keras 1's names
            legacy = _keras1_arguments(cls, {k: kwargs.pop(k) for k in ("border_mode", "dim_ordering")
                                             if k in kwargs}, ("padding", "data_format"))
            padding, data_format = legacy.get("padding", padding), legacy.get("data_format", data_format)
        super().__init__(**kwargs)
        self.pool_size = self._kernel = _pair(pool_size, "pool_size")
        self.strides = self._strides = self._kernel if strides is None else _pair(strides, "strides")
        if min(self._kernel) < 1 or min(self._strides) < 1:
            raise ValueError(f"{cls}: pool_size and strides must be >= 1, got {pool_size!r}, {strides!r}")
        self.padding = _normalize_padding(padding, cls)
        self._init_data_format(data_format, cls)

    def _build(self, input_shape):
        self._setup(input_shape)
        self._scale = None
        if self._mode == "avg" and self.padding == "same" and (self._pad != (0, 0) or self._extra != (0, 0)):
            # TF divides each window by the number of input elements in it, not by its size.
            ones = self._pad_input(np.ones((1, 1) + self._cf_shape(input_shape)[1:]))
            frac = ops.avgpool2d_forward(ones, *self._kernel, self._strides, self._pad)
            self._scale = 1.0 / frac

    def compute_output_shape(self, input_shape):
        input_shape = _shape(input_shape)
        (oh, ow), _, _ = self._geometry(input_shape)
        return self._public((self._cf_shape(input_shape)[0], oh, ow))

    def _accepts_blocked(self):
        return (self._mode == "max" and self._kernel == (2, 2) and self._strides == (2, 2) and not self._cl
                and self._pad == (0, 0) and self._extra == (0, 0))

    def _folds_relu_grad(self):
        return self._mode == "max"

    def _forward_blocked(self, x, train):
        xb = x.data
        oshape = xb.shape[:2] + (xb.shape[2] // 2, xb.shape[3] // 2, xb.shape[4])
        yb, arg = _run("maxpool2d_blk_forward")(xb, (self._buf("yb", oshape), self._buf("argb", oshape, np.uint8)))
        out = Blocked(yb, x.channels)
        if train:
            self._arg_b, self._xb_shape, self._channels = arg, xb.shape, x.channels
            self._blk_x, self._blk_y = True, self._blk_out
            # the ReLU before this pool: a ReLU layer's (cnet._graph), or the one a Conv2D that lent
            # its output x applied (cnet/layers/_blocked.py): backward writes the gradient into x
            self._lent = xb if x.lend is not None and self._reuse else None
            relu = self._relu_grad_in or (self._lent is not None and x.lend == "relu")
            self._relu_mask = yb if relu else None
        return out if self._blk_out else out.to_nchw(out=self._buf("y", out.nchw_shape))

    def _mask_relu(self, dy, y, key):
        """dy where the pooled value y > 0, else 0: the gradient through the ReLU before this pool."""
        return dy if y is None else ops.relu_backward(dy, y, out=self._buf(key, y.shape, temp=True))

    def _backward_blocked(self, dout):
        dyb = self._as_blocked(dout, self._xb_shape[4], "dyb", self._arg_b.shape)
        if self._relu_mask is not None:     # dyb: this backward's temporary, or the gradient handed to it
            dyb = _run("relu_backward")(dyb, self._relu_mask, dyb if self._reuse else None)
        out = self._lent if self._lent is not None else self._buf("dxb", self._xb_shape)
        dxb = _run("maxpool2d_blk_backward")(dyb, self._arg_b, self._xb_shape[2:4], out)
        return Blocked(dxb, self._channels)

    def _forward_cf(self, x, train):
        if type(x) is Blocked:
            return self._forward_blocked(x, train)
        if train:
            self._blk_x = self._blk_y = False
        kh, kw = self._kernel
        if self._mode == "max":
            xin = self._pad_input(x, -np.inf)
            oshape = (x.shape[0], x.shape[1], self._oh, self._ow)
            pos = kh * kw <= 256    # each maximum's position in its window: a byte, not an int64 index
            y, argmax = ops.maxpool2d_forward(xin, kh, kw, self._strides, self._pad, positions=pos,
                                              out=(self._buf("y", oshape),
                                                   self._buf("argmax", oshape, np.uint8 if pos else np.int64)))
            if train:
                self._argmax = argmax
                self._relu_mask = y if self._relu_grad_in else None
        else:
            xin = self._pad_input(x)
            y = ops.avgpool2d_forward(xin, kh, kw, self._strides, self._pad)
            if self._scale is not None:
                y *= self._scale
        if train:
            self._xin_shape, self._xshape = xin.shape, x.shape
        return y

    def _backward_cf(self, dout):
        if self._blk_x:
            return self._backward_blocked(dout)
        kh, kw = self._kernel
        if self._mode == "max":
            dout = self._mask_relu(dout, self._relu_mask, "dym")
            window = (kh, kw, self._strides, self._pad) if self._argmax.dtype == np.uint8 else None
            dx = ops.maxpool2d_backward(dout, self._argmax, self._xin_shape, out=self._buf("dx", self._xin_shape),
                                        window=window)
        else:
            if self._scale is not None:
                dout = (dout * self._scale).astype(dout.dtype, copy=False)
            dx = ops.avgpool2d_backward(dout, self._xin_shape, kh, kw, self._strides, self._pad)
        return self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self._kernel), strides=list(self._strides), **self._spatial_config())
        return config


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows; strides default to pool_size."""
    _mode = "max"


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows; strides default to pool_size."""
    _mode = "avg"


MaxPool2D = MaxPooling2D        # Keras 2's aliases (serialized under the full names, as in Keras)
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(_Spatial):
    """Reduces each channel of an image to one number: (N, C, H, W) or (N, H, W, C) -> (N, C)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_data_format(data_format, type(self).__name__)

    def adopt_data_format(self, incoming, input_shape):
        super().adopt_data_format(incoming, input_shape)
        return None     # its output is no image

    def compute_output_shape(self, input_shape):
        input_shape = _shape(input_shape)
        _Spatial.adopt_data_format(self, None, input_shape)
        _check_image_shape(self, input_shape)
        return (self._cf_shape(input_shape)[0],)

    def _axes(self):
        return (2, 3)

    def _forward(self, x, train):
        x = _to_cf(x) if self._cl else x     # the same sums in either data format (free for a view)
        if train:
            self._x = x
        return self._reduce(x)

    def _backward(self, dout):
        self._check_dout(dout, self._x.shape[:2])
        dx = self._spread(dout.reshape(dout.shape + (1, 1)))
        return _to_cl(dx) if self._cl else dx

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean of each channel over the image."""

    def _reduce(self, x):
        return x.mean(axis=self._axes(), dtype=x.dtype)

    def _spread(self, d):
        h, w = (self._x.shape[i] for i in self._axes())
        return np.broadcast_to(d / d.dtype.type(h * w), self._x.shape).copy()


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The largest value of each channel over the image (its gradient shared by the positions that hold
    it, as TensorFlow's reduce_max)."""

    def _reduce(self, x):
        return x.max(axis=self._axes())

    def _spread(self, d):
        x = self._x
        hit = x == x.max(axis=self._axes(), keepdims=True)
        count = hit.sum(axis=self._axes(), keepdims=True)
        return np.where(hit, d / count.astype(x.dtype), x.dtype.type(0)).astype(x.dtype, copy=False)


GlobalAvgPool2D = GlobalAveragePooling2D     # Keras 2's aliases
GlobalMaxPool2D = GlobalMaxPooling2D
