"""What Conv2D and the pooling layers share: the window geometry (valid/same/explicit padding, dilation) and the
data format (channels-first images, or channels-last ones computed channels-first inside)."""
import numpy as np

from .. import backend
from .base import Layer, _pair, _to_cf, _to_cl


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


def _looks_channels_last(shape):
    """(H, W, C) with square planes of 8 pixels or more and 1 or 3 channels: (28, 28, 1), (32, 32, 3).
    Read channels-first, such a shape would be C = H >= 8 channels of images 1 or 3 pixels wide."""
    a, b, c = shape
    return c in (1, 3) and a == b and a >= 8


def _check_image_shape(layer, shape):
    if len(shape) != 3:
        layout = "(N, H, W, C), channels-last" if layer.data_format == "channels_last" else \
            "(N, C, H, W), channels-first"
        hint = (" For grayscale images (N, H, W) use x[..., None]." if layer.data_format == "channels_last"
                else " For grayscale images (N, H, W) use x[:, None].") if len(shape) == 2 else ""
        raise ValueError(f"{layer.name} ({type(layer).__name__}) expects images {layout}, "
                         f"got input shape {(None,) + tuple(shape)}.{hint}")
    if layer.data_format == "channels_last":
        c, h, w = shape
        if c in (1, 3) and h == w and h >= 8 and w not in (1, 3) and tuple(shape) == layer._declared_input_shape:
            raise ValueError(f"{layer.name} ({type(layer).__name__}, data_format='channels_last'): input "
                             f"shape {tuple(shape)} looks channels-first (C, H, W); channels-last images are "
                             f"(H, W, C), here ({h}, {w}, {c}): transpose the data with x.transpose(0, 2, 3, 1) "
                             f"or use data_format='channels_first'.")
    elif _looks_channels_last(shape):
        raise ValueError(f"{layer.name} ({type(layer).__name__}, data_format='channels_first'): input shape "
                         f"{tuple(shape)} looks channels-last (H, W, C). {backend.CHANNELS_LAST_HELP} "
                         f"input_shape is then ({shape[2]}, {shape[0]}, {shape[1]}).")


def _dilation(dilation_rate, kernel_size, strides, cls):
    """(dilation pair, the effective window (k - 1) * d + 1) of a dilated convolution; Keras's rule: no
    dilation with strides."""
    d = _pair(dilation_rate, f"{cls}: dilation_rate")
    if min(d) < 1:
        raise ValueError(f"{cls}: dilation_rate must be >= 1, got {dilation_rate!r}")
    if d != (1, 1) and strides != (1, 1):
        raise ValueError(f"{cls}: dilation_rate {list(d)} with strides {list(strides)}: a dilated convolution "
                         f"takes strides 1 (as in Keras)")
    return d, tuple((k - 1) * r + 1 for k, r in zip(kernel_size, d))


def _dilate(w, d):
    """The kernel w (K, C, kh, kw) of a dilation-d convolution as the ordinary kernel with zeros between its
    taps (the convolution then runs on the C kernels unchanged)."""
    if d == (1, 1):
        return w
    k, c, kh, kw = w.shape
    out = np.zeros((k, c, (kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1), w.dtype)
    out[:, :, ::d[0], ::d[1]] = w
    return out


def _undilate(dw, d):
    """The gradient of the taps of a dilated kernel from that of its zero-filled form."""
    return dw if d == (1, 1) else np.ascontiguousarray(dw[:, :, ::d[0], ::d[1]])


class _Spatial(Layer):
    """Shared geometry of Conv2D and the pooling layers, and their data_format.

    A channels-last layer takes and gives (N, H, W, C) arrays but computes channels-first: it transposes its
    input to (N, C, H, W) and returns its result as a channels-last *view* of the channels-first array. The
    next channels-last layer transposes that view back for free, so a channels-last model copies its data
    once at its input (not at all for one channel) and once where a Flatten (or Dense) reads the view in
    channels-last order, as Keras does."""

    def _init_data_format(self, data_format, cls):
        # None stays None (resolved by adopt_data_format) only while the global setting was never made.
        if data_format is None and not backend.image_data_format_is_set():
            self.data_format = None
        else:
            self.data_format = backend.normalize_data_format(data_format, cls)
        if self._declared_input_shape is not None:
            self.adopt_data_format(None, self._declared_input_shape)
            _check_image_shape(self, self._declared_input_shape)

    def adopt_data_format(self, incoming, input_shape):
        """The data format of a layer created without one (and without set_image_data_format): that of
        the images it receives in a model; the first image layer's, or one built on its own, reads an input
        shape such as (28, 28, 1) as channels-last (_looks_channels_last) and any other as channels-first."""
        if self.data_format is None:
            if incoming is None:
                shape = tuple(input_shape)
                incoming = "channels_last" if len(shape) == 3 and _looks_channels_last(shape) else \
                    "channels_first"
            self.data_format = incoming
        return self.data_format

    @property
    def _cl(self):
        return self.data_format == "channels_last"

    def _cf_shape(self, shape):
        """A public input or output shape (without the batch axis) as (C, H, W)."""
        return (shape[2], shape[0], shape[1]) if self._cl and len(shape) == 3 else tuple(shape)

    def _public(self, cf_shape):
        return (cf_shape[1], cf_shape[2], cf_shape[0]) if self._cl else tuple(cf_shape)

    def _geometry(self, input_shape):
        self.adopt_data_format(None, input_shape)
        _check_image_shape(self, input_shape)
        _, h, w = self._cf_shape(input_shape)
        (kh, kw), (sh, sw) = self._kernel, self._strides
        pad = self.padding if isinstance(self.padding, str) else None
        try:
            oh, ph, eh = _window(h, kh, sh, pad or self.padding[0], f"{self.name}: window height")
            ow, pw, ew = _window(w, kw, sw, pad or self.padding[1], f"{self.name}: window width")
        except ValueError as exc:
            if self._cl or input_shape[2] >= input_shape[0]:
                raise
            raise ValueError(f"{exc}; read channels-first, input shape {tuple(input_shape)} is {input_shape[0]} "
                             f"channels of {input_shape[1]}x{input_shape[2]} images: if it is (H, W, C), pass "
                             f"data_format='channels_last'") from None
        return (oh, ow), (ph, pw), (eh, ew)

    def _setup(self, input_shape):
        (self._oh, self._ow), self._pad, self._extra = self._geometry(input_shape)

    def _forward(self, x, train):
        if self._cl:
            return _to_cl(self._forward_cf(_to_cf(x), train))
        return self._forward_cf(x, train)

    def _backward(self, dout):
        if self._cl:
            dx = self._backward_cf(_to_cf(dout))
            return None if dx is None else _to_cl(dx)
        return self._backward_cf(dout)

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
        if self._cl:
            return msg
        c = self.input_shape[0]
        if len(got) == 4 and got[-1] == c and got[1] != c:
            msg += f". {backend.CHANNELS_LAST_HELP}"
        return msg

    def _padding_config(self):
        return self.padding if isinstance(self.padding, str) else list(self.padding)

    def _spatial_config(self):
        return {"padding": self._padding_config(), "data_format": self.data_format}

    @classmethod
    def from_config(cls, config):
        # files of before data_format existed hold channels-first layers (None: to be resolved, see above)
        return super().from_config(dict({"data_format": "channels_first"}, **config))
