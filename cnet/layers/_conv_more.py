"""More convolutions (keras.layers.convolutional in Keras 2): Conv2DTranspose, DepthwiseConv2D and
SeparableConv2D, computed by the conv and gemm ops (their C kernels) -- no kernels of their own.

Kernels in cnet's layouts (cnet.keras_h5 converts to Keras's at the file boundary):
- Conv2DTranspose: W (C, filters, kh, kw), the kernel of the convolution whose input gradient the layer
  computes (Keras: (kh, kw, filters, C));
- DepthwiseConv2D: depthwise_kernel (C * depth_multiplier, 1, kh, kw), output channel c * M + m from input
  channel c (Keras: (kh, kw, C, M));
- SeparableConv2D: depthwise_kernel as above, pointwise_kernel (filters, C * M, 1, 1), b (filters,).
"""
import numpy as np

from .. import initializers, ops, regularizers
from ._spatial import _check_image_shape, _dilate, _dilation, _normalize_padding, _Spatial, _undilate
from ._kernel_bias import _KernelBias
from .base import _initializer, _no_unsupported, _pair, _positive_int, _shape


def _transpose_length(size, k, s, padding, output_padding):
    """(output length, offset of the output in the full (size - 1) * s + k) of a transposed convolution
    along one axis, as Keras/TensorFlow define it."""
    if output_padding is None:
        out = size * s + max(k - s, 0) if padding == "valid" else size * s
    else:
        pad = k // 2 if padding == "same" else 0
        out = (size - 1) * s + k - 2 * pad + output_padding
    full = (size - 1) * s + k
    offset = max(full - out, 0) // 2 if padding == "same" else 0
    return out, offset


class Conv2DTranspose(_KernelBias, _Spatial):
    """The transposed convolution (sometimes called deconvolution): the input gradient of a Conv2D with
    these strides and padding, so that it maps a (H, W) image to about (H * strides, W * strides)."""

    _has_weights = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        _no_unsupported("Conv2DTranspose", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if _pair(dilation_rate, "Conv2DTranspose: dilation_rate") != (1, 1):
            raise NotImplementedError(f"Conv2DTranspose: dilation_rate={dilation_rate!r} is not supported by cnet "
                                      f"(only 1)")
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "Conv2DTranspose: filters")
        self.kernel_size = _pair(kernel_size, "Conv2DTranspose: kernel_size")
        self.strides = self._strides = _pair(strides, "Conv2DTranspose: strides")
        if min(self.kernel_size) < 1 or min(self._strides) < 1:
            raise ValueError(f"Conv2DTranspose: kernel_size and strides must be >= 1, got {kernel_size!r}, "
                             f"{strides!r}")
        self.padding = _normalize_padding(padding, "Conv2DTranspose")
        if not isinstance(self.padding, str):
            raise ValueError(f"Conv2DTranspose: padding must be 'valid' or 'same', got {padding!r}")
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = _pair(output_padding, "Conv2DTranspose: output_padding")
            if any(not 0 <= p < s for p, s in zip(self.output_padding, self._strides)):
                raise ValueError(f"Conv2DTranspose: output_padding {output_padding!r} must be >= 0 and smaller "
                                 f"than the strides {list(self._strides)}")
        self.dilation_rate = (1, 1)
        self._init_data_format(data_format, "Conv2DTranspose")
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, axis=1)
        self._init_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)

    _units = property(lambda self: self.filters)

    def _geometry_t(self, input_shape):
        self.adopt_data_format(None, input_shape)
        _check_image_shape(self, input_shape)
        c, h, w = self._cf_shape(input_shape)
        ops_ = self.output_padding or (None, None)
        (oh, offh), (ow, offw) = (_transpose_length(n, k, s, self.padding, p) for n, k, s, p in
                                  zip((h, w), self.kernel_size, self._strides, ops_))
        return c, (h, w), (oh, ow), (offh, offw)

    def _kernel_shape(self, input_shape):
        c = self._geometry_t(_shape(input_shape))[0]
        return (c, self.filters) + self.kernel_size

    def compute_output_shape(self, input_shape):
        _, _, (oh, ow), _ = self._geometry_t(_shape(input_shape))
        return self._public((self.filters, oh, ow))

    def _build(self, input_shape):
        self._create_kernel_bias(input_shape)

    def _full_shape(self, n, h, w):
        (kh, kw), (sh, sw) = self.kernel_size, self._strides
        return (n, self.filters, (h - 1) * sh + kh, (w - 1) * sw + kw)

    def _regions(self, full, out, offset):
        """(slices of the full result, slices of the output) where they overlap, per spatial axis."""
        src, dst = [], []
        for f, o, off in zip(full, out, offset):
            m = min(f - off, o)
            src.append(slice(off, off + m))
            dst.append(slice(0, m))
        return src, dst

    def _forward_cf(self, x, train):
        n, c, h, w = x.shape
        W = self.params["W"]
        cols = ops.gemm(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * h * w, c), W.reshape(c, -1))
        full_shape = self._full_shape(n, h, w)
        full = ops.col2im(cols, full_shape, *self.kernel_size, self._strides, 0)
        _, _, (oh, ow), offset = self._geometry_t(self.input_shape)
        src, dst = self._regions(full_shape[2:], (oh, ow), offset)
        if (oh, ow) == full_shape[2:]:
            z = full
        else:
            z = np.zeros((n, self.filters, oh, ow), x.dtype)
            z[:, :, dst[0], dst[1]] = full[:, :, src[0], src[1]]
        if self.use_bias:
            z += self.params["b"][None, :, None, None]
        skip = self._logits and self._act.is_softmax
        y = z if skip else self._act.forward(z, keep=train)
        self._activity_forward(y, n)
        if train:
            self._x, self._y, self._skip, self._regions_ = x, y, skip, (full_shape, src, dst)
        return y

    def _backward_cf(self, dout):
        self._check_dout(dout, self._y.shape)
        dout = self._activity_backward(dout, self._y, self._y.shape[0])
        dz = dout if self._skip else self._act.backward(dout, self._y)
        full_shape, src, dst = self._regions_
        if full_shape[2:] == dz.shape[2:]:
            dfull = np.ascontiguousarray(dz)
        else:
            dfull = np.zeros(full_shape, dz.dtype)
            dfull[:, :, src[0], src[1]] = dz[:, :, dst[0], dst[1]]
        W = self.params["W"]
        dx = ops.conv2d_forward(dfull, W, None, self._strides, 0)
        _, dw, _ = ops.conv2d_backward(np.ascontiguousarray(self._x), dfull, W, self._strides, 0, need_dx=False)
        self._set_grad("W", dw)
        if self.use_bias:
            self._set_grad("b", dz.sum(axis=(0, 2, 3), dtype=dz.dtype))
        self._regularize_grads()
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self._strides),
                      padding=self.padding, data_format=self.data_format,
                      output_padding=None if self.output_padding is None else list(self.output_padding),
                      dilation_rate=[1, 1], **self._kernel_bias_config())
        return config


def _depthwise_forward(x, dk, b, m, strides, pad):
    """x (N, C, H, W), dk (C * m, 1, kh, kw): each input channel by its own m kernels."""
    c = x.shape[1]
    outs = [ops.conv2d_forward(np.ascontiguousarray(x[:, i:i + 1]), dk[i * m:(i + 1) * m],
                               None if b is None else b[i * m:(i + 1) * m], strides, pad) for i in range(c)]
    return outs[0] if c == 1 else np.concatenate(outs, axis=1)


def _depthwise_backward(dy, x, dk, m, strides, pad, need_dx=True):
    """(dx, d depthwise kernel, db) of _depthwise_forward."""
    c = x.shape[1]
    dx = np.empty_like(x) if need_dx else None
    ddk = np.empty_like(dk)
    db = np.empty(dk.shape[0], dk.dtype)
    for i in range(c):
        g = ops.conv2d_backward(np.ascontiguousarray(dy[:, i * m:(i + 1) * m]), np.ascontiguousarray(x[:, i:i + 1]),
                                dk[i * m:(i + 1) * m], strides, pad, need_dx=need_dx)
        if need_dx:
            dx[:, i:i + 1] = g[0]
        ddk[i * m:(i + 1) * m], db[i * m:(i + 1) * m] = g[1], g[2]
    return dx, ddk, db


class DepthwiseConv2D(_KernelBias, _Spatial):
    """Each input channel convolved with its own depth_multiplier kernels: C * depth_multiplier outputs.
    params: 'depthwise_kernel' (C * M, 1, kh, kw) and 'b' (C * M,)."""

    _has_weights = True
    _pointwise = False

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        cls = type(self).__name__
        _no_unsupported(cls, depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)
        extra = {k: kwargs.pop(k) for k in ("filters", "pointwise_initializer", "pointwise_regularizer",
                                            "pointwise_constraint") if k in kwargs}
        super().__init__(**kwargs)
        self.kernel_size = _pair(kernel_size, f"{cls}: kernel_size")
        self.strides = self._strides = _pair(strides, f"{cls}: strides")
        if min(self.kernel_size) < 1 or min(self._strides) < 1:
            raise ValueError(f"{cls}: kernel_size and strides must be >= 1, got {kernel_size!r}, {strides!r}")
        self.dilation_rate, self._kernel = _dilation(dilation_rate, self.kernel_size, self._strides, cls)
        self.padding = _normalize_padding(padding, cls)
        self.depth_multiplier = _positive_int(depth_multiplier, f"{cls}: depth_multiplier")
        self.depthwise_initializer = _initializer(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self._init_data_format(data_format, cls)
        self._init_kernel_bias(activation, use_bias, "glorot_uniform", bias_initializer, axis=1)
        self._init_regularizers(None, bias_regularizer, activity_regularizer)
        self._init_pointwise(**extra)

    def _init_pointwise(self, **extra):
        if extra:
            raise TypeError(f"DepthwiseConv2D: unexpected keyword argument(s) {sorted(extra)}")

    def _param_regularizers(self):
        return (("depthwise_kernel", self.depthwise_regularizer), ("b", self.bias_regularizer))

    def _channels_out(self, c):
        return c * self.depth_multiplier

    def weight_shapes(self, input_shape):
        c = self._cf_shape(_shape(input_shape))[0]
        self._geometry(_shape(input_shape))
        shapes = [("depthwise_kernel", (c * self.depth_multiplier, 1) + self.kernel_size)]
        if self._pointwise:
            shapes.append(("pointwise_kernel", (self.filters, c * self.depth_multiplier, 1, 1)))
        return shapes + ([("b", (self._channels_out(c),))] if self.use_bias else [])

    def _build(self, input_shape):
        self._setup(input_shape)
        c, m = self._cf_shape(input_shape)[0], self.depth_multiplier
        kh, kw = self.kernel_size
        init = initializers.get(self.depthwise_initializer)((m, c, kh, kw), self.dtype)  # Keras's fans
        self.params["depthwise_kernel"] = np.ascontiguousarray(init.transpose(1, 0, 2, 3)).reshape(c * m, 1, kh, kw)
        if self._pointwise:
            self.params["pointwise_kernel"] = initializers.get(self.pointwise_initializer)(
                (self.filters, c * m, 1, 1), self.dtype)
        if self.use_bias:
            self.params["b"] = initializers.get(self.bias_initializer)((self._channels_out(c),), self.dtype)

    def compute_output_shape(self, input_shape):
        input_shape = _shape(input_shape)
        (oh, ow), _, _ = self._geometry(input_shape)
        return self._public((self._channels_out(self._cf_shape(input_shape)[0]), oh, ow))

    def _forward_cf(self, x, train):
        xin = self._pad_input(x)
        dk = _dilate(self.params["depthwise_kernel"], self.dilation_rate)
        b = None if self._pointwise else self.params.get("b")
        z = _depthwise_forward(xin, dk, b, self.depth_multiplier, self._strides, self._pad)
        z1 = z
        if self._pointwise:
            z = ops.conv2d_forward(z1, self.params["pointwise_kernel"], self.params.get("b"), 1, 0)
        skip = self._logits and self._act.is_softmax
        y = z if skip else self._act.forward(z, keep=train)
        self._activity_forward(y, x.shape[0])
        if train:
            self._x, self._xshape, self._z1, self._y, self._skip = xin, x.shape, z1, y, skip
        return y

    def _backward_cf(self, dout):
        self._check_dout(dout, self._y.shape)
        dout = self._activity_backward(dout, self._y, self._y.shape[0])
        dz = np.ascontiguousarray(dout if self._skip else self._act.backward(dout, self._y))
        if self._pointwise:
            dz1, dp, db = ops.conv2d_backward(dz, self._z1, self.params["pointwise_kernel"], 1, 0)
            self._set_grad("pointwise_kernel", dp)
        else:
            dz1 = dz
        dk = _dilate(self.params["depthwise_kernel"], self.dilation_rate)
        need_dx = self._need_input_grad or not self._reuse
        dx, ddk, db1 = _depthwise_backward(dz1, self._x, dk, self.depth_multiplier, self._strides, self._pad,
                                           need_dx)
        self._set_grad("depthwise_kernel", _undilate(ddk, self.dilation_rate))
        if self.use_bias:
            self._set_grad("b", db if self._pointwise else db1)
        self._regularize_grads()
        return None if dx is None else self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=list(self.kernel_size), strides=list(self._strides),
                      dilation_rate=list(self.dilation_rate), depth_multiplier=self.depth_multiplier,
                      **self._spatial_config(), activation=self._act.name, use_bias=self.use_bias,
                      depthwise_initializer=initializers.serialize(self.depthwise_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer),
                      depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer))
        return config


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (no bias) followed by a 1x1 convolution to `filters` channels (with the bias).
    params: 'depthwise_kernel', 'pointwise_kernel', 'b'."""

    _pointwise = True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint,
                         filters=filters, pointwise_initializer=pointwise_initializer,
                         pointwise_regularizer=pointwise_regularizer, pointwise_constraint=pointwise_constraint,
                         **kwargs)

    def _init_pointwise(self, filters, pointwise_initializer, pointwise_regularizer, pointwise_constraint):
        _no_unsupported("SeparableConv2D", pointwise_constraint=pointwise_constraint)
        self.filters = _positive_int(filters, "SeparableConv2D: filters")
        self.pointwise_initializer = _initializer(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def _param_regularizers(self):
        return super()._param_regularizers() + (("pointwise_kernel", self.pointwise_regularizer),)

    def _channels_out(self, c):
        return self.filters

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters,
                      pointwise_initializer=initializers.serialize(self.pointwise_initializer),
                      pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer))
        return config
