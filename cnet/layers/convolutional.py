"""Convolution (keras.layers.convolutional): Conv2D, and the window geometry it shares with
the pooling layers (valid/same/explicit padding, channels-first images)."""
import numpy as np

from .. import backend, ops
from .base import Layer, _check_data_format, _KernelBias, _no_unsupported, _pair, _positive_int, _shape


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


def _check_image_shape(layer, shape):
    if len(shape) != 3:
        hint = " For grayscale images (N, H, W) use x[:, None]." if len(shape) == 2 else ""
        raise ValueError(f"{layer.name} ({type(layer).__name__}) expects images (N, C, H, W), "
                         f"channels-first, got input shape {(None,) + tuple(shape)}.{hint}")
    c, h, w = shape
    if w in (1, 3) and c == h and c >= 8:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): input shape {tuple(shape)} looks "
                         f"channels-last (H, W, C). {backend.CHANNELS_LAST_HELP} "
                         f"input_shape is then ({w}, {c}, {h}).")


class _Spatial(Layer):
    """Shared geometry of Conv2D and the pooling layers."""

    def _geometry(self, input_shape):
        _check_image_shape(self, input_shape)
        _, h, w = input_shape
        (kh, kw), (sh, sw) = self._kernel, self._strides
        pad = self.padding if isinstance(self.padding, str) else None
        oh, ph, eh = _window(h, kh, sh, pad or self.padding[0], f"{self.name}: window height")
        ow, pw, ew = _window(w, kw, sw, pad or self.padding[1], f"{self.name}: window width")
        return (oh, ow), (ph, pw), (eh, ew)

    def _setup(self, input_shape):
        (self._oh, self._ow), self._pad, self._extra = self._geometry(input_shape)

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
        c = self.input_shape[0]
        if len(got) == 4 and got[-1] == c and got[1] != c:
            msg += f". {backend.CHANNELS_LAST_HELP}"
        return msg

    def _padding_config(self):
        return self.padding if isinstance(self.padding, str) else list(self.padding)


class Conv2D(_KernelBias, _Spatial):
    """2-D convolution of channels-first images: x (N, C, H, W), W (filters, C, kh, kw), b (filters,)."""

    _has_weights = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _check_data_format(data_format, "Conv2D")
        if _pair(dilation_rate, "dilation_rate") != (1, 1):
            raise NotImplementedError(f"Conv2D: dilation_rate {dilation_rate!r} is not supported by cnet")
        _no_unsupported("Conv2D", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                        activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint)
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "Conv2D: filters")
        self.kernel_size = self._kernel = _pair(kernel_size, "kernel_size")
        self.strides = self._strides = _pair(strides, "strides")
        if min(self._kernel) < 1 or min(self._strides) < 1:
            raise ValueError(f"Conv2D: kernel_size and strides must be >= 1, got {kernel_size!r}, {strides!r}")
        self.padding = _normalize_padding(padding, "Conv2D")
        if self._declared_input_shape is not None:
            _check_image_shape(self, self._declared_input_shape)
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, axis=1)

    _units = property(lambda self: self.filters)

    def _kernel_shape(self, input_shape):
        self._geometry(input_shape)     # the window fits the images (ValueError otherwise)
        return (self.filters, input_shape[0]) + self._kernel

    def _build(self, input_shape):
        self._setup(input_shape)
        self._create_kernel_bias(input_shape)

    def compute_output_shape(self, input_shape):
        (oh, ow), _, _ = self._geometry(_shape(input_shape))
        return (self.filters, oh, ow)

    def _forward(self, x, train):
        xin = self._pad_input(x)
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu"  # the GEMM applies it as it writes y
        n = x.shape[0]
        z = ops.conv2d_forward(xin, self.params["W"], self.params.get("b"), self._strides, self._pad,
                               out=self._buf("y", (n,) + self.output_shape), relu=fuse_relu)
        y = z if (skip or fuse_relu) else self._act.forward(z)
        if train:
            self._x, self._xshape, self._y, self._skip = xin, x.shape, y, skip
        return y

    def _backward(self, dout):
        dz = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        dx, dw, db = ops.conv2d_backward(
            dz, self._x, self.params["W"], self._strides, self._pad,
            out=(self._buf("dx", self._x.shape) if need_dx else None, self._grad_out("W"),
                 self._grad_out("b")), need_dx=need_dx)
        self._set_grad("W", dw)
        if self.use_bias:
            self._set_grad("b", db)
        return None if dx is None else self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self._kernel), strides=list(self._strides),
                      padding=self._padding_config(), **self._kernel_bias_config())
        return config
