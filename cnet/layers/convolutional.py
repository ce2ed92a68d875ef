"""Convolution (keras.layers.convolutional): Conv2D and its alias Convolution2D. As in Keras 2, the pooling
layers can be imported from here too (keras.layers.convolutional.MaxPooling2D)."""
from .. import ops
from ._spatial import _dilate, _dilation, _normalize_padding, _Spatial, _undilate
from ._kernel_bias import _KernelBias
from .base import _keras1_arguments, _no_unsupported, _pair, _positive_int, _shape
from .pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D  # noqa: F401  (as in Keras)
from ._resize import Cropping2D, UpSampling2D, ZeroPadding2D  # noqa: F401  (keras.layers.convolutional's)

_CONV_ORDER = ("strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
               "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
               "activity_regularizer", "kernel_constraint", "bias_constraint")


class Conv2D(_KernelBias, _Spatial):
    """2-D convolution: x (N, C, H, W) (channels-first) or (N, H, W, C) (data_format='channels_last'),
    W (filters, C, kh, kw) in either data format (Keras's kernel is (kh, kw, C, filters): the HDF5 files of
    cnet.keras_h5 convert), b (filters,).

    Keras 1's keyword arguments (nb_filter, nb_row, nb_col, border_mode, subsample, dim_ordering, init,
    bias, ...) are renamed with a warning, as Keras 2 does; a third positional number, Conv2D(32, 3, 3), is
    refused (Keras 2.1 reads kernel (3, 3), tf.keras strides 3)."""

    _has_weights = True

    def __init__(self, filters=None, kernel_size=None, *args, **kwargs):
        if args:   # Keras 2's positional order after kernel_size
            if len(args) > len(_CONV_ORDER):
                raise TypeError(f"Conv2D takes at most {2 + len(_CONV_ORDER)} positional arguments")
            if isinstance(kernel_size, int) and isinstance(args[0], int) and not isinstance(args[0], bool):
                raise TypeError(
                    f"Conv2D({filters}, {kernel_size}, {args[0]}, ...): a third positional number is ambiguous: "
                    f"Keras 1 and 2.1 read it as the kernel width (nb_col), tf.keras as the strides. Write "
                    f"kernel_size=({kernel_size}, {args[0]}) or strides={args[0]}")
            for name, value in zip(_CONV_ORDER, args):
                if name in kwargs:
                    raise TypeError(f"Conv2D got {name} both by position and by keyword")
                kwargs[name] = value
        kwargs = _keras1_arguments("Conv2D", kwargs, ("filters", "kernel_size") + _CONV_ORDER)
        filters = kwargs.pop("filters", filters)
        kernel_size = kwargs.pop("kernel_size", kernel_size)
        if filters is None or kernel_size is None:
            raise TypeError("Conv2D needs filters and kernel_size, e.g. Conv2D(32, (3, 3))")
        self._init(filters, kernel_size, **kwargs)

    def _init(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
              dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
              bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
              activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _no_unsupported("Conv2D", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "Conv2D: filters")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = self._strides = _pair(strides, "strides")
        if min(self.kernel_size) < 1 or min(self._strides) < 1:
            raise ValueError(f"Conv2D: kernel_size and strides must be >= 1, got {kernel_size!r}, {strides!r}")
        self.dilation_rate, self._kernel = _dilation(dilation_rate, self.kernel_size, self._strides, "Conv2D")
        self.padding = _normalize_padding(padding, "Conv2D")
        self._init_data_format(data_format, "Conv2D")
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, axis=1)
        self._init_regularizers(kernel_regularizer, bias_regularizer, activity_regularizer)

    _units = property(lambda self: self.filters)

    def _kernel_shape(self, input_shape):
        self._geometry(input_shape)     # the window fits the images (ValueError otherwise)
        return (self.filters, self._cf_shape(input_shape)[0]) + self.kernel_size

    def _build(self, input_shape):
        self._setup(input_shape)
        self._create_kernel_bias(input_shape)

    def _layout_hint(self, name, shape):
        f, c, kh, kw = self.params["W"].shape
        if name == "W" and tuple(shape) == (kh, kw, c, f):
            return (f": that is Keras's kernel layout (kh, kw, C, filters); cnet's Conv2D kernels are (filters, "
                    f"C, kh, kw) in every data_format: pass kernel.transpose(3, 2, 0, 1) (model.load_weights of "
                    f"a Keras .h5 file converts by itself)")
        return ""

    def compute_output_shape(self, input_shape):
        (oh, ow), _, _ = self._geometry(_shape(input_shape))
        return self._public((self.filters, oh, ow))

    def _forward_cf(self, x, train):
        xin = self._pad_input(x)
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu"  # the GEMM applies it as it writes y
        n = x.shape[0]
        z = ops.conv2d_forward(xin, _dilate(self.params["W"], self.dilation_rate), self.params.get("b"),
                               self._strides, self._pad,
                               out=self._buf("y", (n, self.filters, self._oh, self._ow)), relu=fuse_relu)
        y = z if (skip or fuse_relu) else self._act.forward(z, keep=train)
        self._activity_forward(y, n)
        if train:
            self._x, self._xshape, self._y, self._skip = xin, x.shape, y, skip
        return y

    def _backward_cf(self, dout):
        dout = self._activity_backward(dout, self._y, self._y.shape[0])
        dz = dout if self._skip else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        dilated = self.dilation_rate != (1, 1)
        dx, dw, db = ops.conv2d_backward(
            dz, self._x, _dilate(self.params["W"], self.dilation_rate), self._strides, self._pad,
            out=(self._buf("dx", self._x.shape) if need_dx else None, None if dilated else self._grad_out("W"),
                 self._grad_out("b")), need_dx=need_dx)
        self._set_grad("W", _undilate(dw, self.dilation_rate))
        if self.use_bias:
            self._set_grad("b", db)
        self._regularize_grads()
        return None if dx is None else self._unpad(dx, self._xshape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self._strides),
                      dilation_rate=list(self.dilation_rate), **self._spatial_config(), **self._kernel_bias_config())
        return config


Convolution2D = Conv2D   # Keras 2's alias (serialized as Conv2D, as in Keras)


from ._conv_more import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D  # noqa: E402,F401  (as in Keras)
Deconvolution2D = Conv2DTranspose          # Keras 2's aliases
SeparableConvolution2D = SeparableConv2D
