"""Image layers that change the size of the planes without weights (keras.layers.convolutional in Keras 2):
ZeroPadding2D, Cropping2D, UpSampling2D. Channels-first inside, like every image layer (_Spatial)."""
import numpy as np

from ._spatial import _check_image_shape, _Spatial
from .base import _int, _shape


def _sides(value, what):
    """((top, bottom), (left, right)) of Keras's int / (sym_h, sym_w) / ((top, bottom), (left, right))."""
    def nonneg(v):
        v = _int(v, what)
        if v < 0:
            raise ValueError(f"{what} must be >= 0, got {value!r}")
        return v
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int, a pair of ints or a pair of pairs, got {value!r}")
        out = []
        for v in value:
            if isinstance(v, (tuple, list)):
                if len(v) != 2:
                    raise ValueError(f"{what} must be an int, a pair of ints or a pair of pairs, got {value!r}")
                out.append((nonneg(v[0]), nonneg(v[1])))
            else:
                out.append((nonneg(v), nonneg(v)))
        return tuple(out)
    v = nonneg(value)
    return ((v, v), (v, v))


class _Resize2D(_Spatial):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_data_format(data_format, type(self).__name__)

    def compute_output_shape(self, input_shape):
        input_shape = _shape(input_shape)
        self.adopt_data_format(None, input_shape)
        _check_image_shape(self, input_shape)
        c, h, w = self._cf_shape(input_shape)
        oh, ow = self._out_hw(h, w)
        if oh < 1 or ow < 1:
            raise ValueError(f"{self.name}: an image of {h}x{w} pixels leaves {oh}x{ow}")
        return self._public((c, oh, ow))

    def _build(self, input_shape):
        pass

    def _forward(self, x, train):
        y = super()._forward(x, train)
        if train:
            self._yshape = y.shape
        return y

    def _backward(self, dout):
        self._check_dout(dout, self._yshape)
        return super()._backward(dout)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class ZeroPadding2D(_Resize2D):
    """Zeros around the images: padding an int, (rows, columns) on both sides, or ((top, bottom),
    (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        self.padding = _sides(padding, "ZeroPadding2D: padding")
        super().__init__(data_format, **kwargs)

    def _out_hw(self, h, w):
        (t, b), (left, r) = self.padding
        return h + t + b, w + left + r

    def _forward_cf(self, x, train):
        (t, b), (left, r) = self.padding
        return np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))

    def _backward_cf(self, dout):
        (t, b), (left, r) = self.padding
        return np.ascontiguousarray(dout[:, :, t:dout.shape[2] - b, left:dout.shape[3] - r])

    def get_config(self):
        config = super().get_config()
        config["padding"] = [list(p) for p in self.padding]
        return config


class Cropping2D(_Resize2D):
    """Removes rows and columns at the edges: cropping an int, (rows, columns) on both sides, or
    ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        self.cropping = _sides(cropping, "Cropping2D: cropping")
        super().__init__(data_format, **kwargs)

    def _out_hw(self, h, w):
        (t, b), (left, r) = self.cropping
        return h - t - b, w - left - r

    def _forward_cf(self, x, train):
        (t, b), (left, r) = self.cropping
        return np.ascontiguousarray(x[:, :, t:x.shape[2] - b, left:x.shape[3] - r])

    def _backward_cf(self, dout):
        (t, b), (left, r) = self.cropping
        return np.pad(dout, ((0, 0), (0, 0), (t, b), (left, r)))

    def get_config(self):
        config = super().get_config()
        config["cropping"] = [list(c) for c in self.cropping]
        return config


class UpSampling2D(_Resize2D):
    """Repeats each row size[0] times and each column size[1] times (interpolation='nearest', the only one
    cnet has)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not supported by cnet "
                                      f"(only 'nearest')")
        if isinstance(size, (tuple, list)):
            if len(size) != 2:
                raise ValueError(f"UpSampling2D: size must be an int or a pair of ints, got {size!r}")
            self.size = (_int(size[0], "UpSampling2D: size"), _int(size[1], "UpSampling2D: size"))
        else:
            self.size = (_int(size, "UpSampling2D: size"),) * 2
        if min(self.size) < 1:
            raise ValueError(f"UpSampling2D: size must be >= 1, got {size!r}")
        super().__init__(data_format, **kwargs)

    def _out_hw(self, h, w):
        return h * self.size[0], w * self.size[1]

    def _forward_cf(self, x, train):
        sh, sw = self.size
        return np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)

    def _backward_cf(self, dout):
        sh, sw = self.size
        n, c, oh, ow = dout.shape
        return dout.reshape(n, c, oh // sh, sh, ow // sw, sw).sum(axis=(3, 5), dtype=dout.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(size=list(self.size), interpolation="nearest")
        return config
