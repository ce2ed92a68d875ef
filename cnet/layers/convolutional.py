"""Convolution (keras.layers.convolutional): Conv2D and its alias Convolution2D. As in Keras 2, the pooling
layers can be imported from here too (keras.layers.convolutional.MaxPooling2D).

Conv2D runs one of two engines, chosen per input shape by a plan (cnet.ops.conv.conv2d_plan) and cached:
the direct convolution on the channel-blocked layout (its input and output converted from and to NCHW
here; the first layer's one-channel input is read as it is), or im2col + GEMM."""
import numpy as np

from .. import ops
from ..ops import implementation as _run
from ._blocked import Blocked
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
    _lent = False   # the last training forward lent its blocked output (cnet/layers/_blocked.py)

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

    def conv_plan(self, input_shape=None, dtype=None, in_model=True):
        """The plan of this layer for a channels-first input shape (N, C, H, W) (None: the last one it
        ran): which engine (direct or im2col) computes it, and why (cnet.ops.conv.conv2d_plan). in_model:
        planned as a layer of a model whose output goes on to the next layer (False: called on its own)."""
        if input_shape is None:
            plan = getattr(self, "_plan", None)
            return None if plan is None else dict(plan)
        return dict(self._plan_for(tuple(input_shape), np.dtype(self.dtype if dtype is None else dtype),
                                   bool(in_model)))

    def _plan_for(self, shape, dtype, in_model):
        key = (shape, dtype, in_model, ops.get_backend(), ops.conv.conv_engine(), ops.conv.blk_width(dtype))
        cache = self.__dict__.setdefault("_plans", {})
        plan = cache.get(key)
        if plan is None:
            if len(cache) >= 8:      # a few shapes per layer (the last, smaller batch): keep it small
                cache.clear()
            w_shape = (self.filters, shape[1]) + self._kernel
            plan = cache[key] = ops.conv.conv2d_plan(shape, w_shape, self._strides, self._pad, dtype, in_model)
        return plan

    def _accepts_blocked(self):
        return not self._cl and self._extra == (0, 0)

    def _fusable_relu_out(self):
        return self._act.is_linear and self.activity_regularizer is None

    def _forward_cf(self, x, train):
        blk_in = type(x) is Blocked
        xin = x if blk_in else self._pad_input(x)
        skip = self._logits and self._act.is_softmax
        fuse_relu = self._act.name == "relu" or self._relu_out  # the kernel applies it as it writes y
        xshape = x.nchw_shape if blk_in else xin.shape
        n = xshape[0]
        plan = self._plan = self._plan_for(xshape, self.dtype if blk_in else xin.dtype, self._in_model)
        if blk_in and (plan["engine"] != "direct" or plan["plain"] or plan["cb"] != x.data.shape[4]):
            xin, blk_in = x.to_nchw(), False      # a layout this plan does not read: NCHW
        w = _dilate(self.params["W"], self.dilation_rate)    # dilation: the kernel with zeros between its taps
        b, oshape = self.params.get("b"), (n, self.filters, self._oh, self._ow)
        out_blk = False
        if plan["engine"] == "direct":
            # the kernels' implementations, called with the arguments built here: the public ops'
            # checks cost ~10 us a call, the step's small layers' whole time (the bindings still check
            # every shape)
            cb, plain = plan["cb"], plan["plain"]
            xk = xin.data if blk_in else np.ascontiguousarray(xin) if plain else \
                _run("to_blocked")(np.ascontiguousarray(xin), cb, self._buf("xb", _blocked(xin.shape, cb)))
            yb = _run("conv2d_blk_forward")(xk, w, b, self._strides, self._pad, plain, cb,
                                            self._buf("yb", _blocked(oshape, cb)), fuse_relu)
            out_blk = (self._blk_out and not skip and not self._cl and self.activity_regularizer is None
                       and (fuse_relu or self._act.name == "linear"))    # f(0) = 0 keeps the lanes past K zero
            z = yb if out_blk else _run("from_blocked")(yb, self.filters, self._buf("y", oshape))
        else:
            xk = xin
            z = ops.conv2d_forward(xin, w, b, self._strides, self._pad, out=self._buf("y", oshape),
                                   relu=fuse_relu)
        y = z if (skip or fuse_relu or out_blk) else self._act.forward(z, keep=train)
        self._activity_forward(y, n)
        # a training step's blocked output goes to one layer: lent to it (cnet/layers/_blocked.py); not
        # when this conv applies the ReLU layer after it (that layer takes the output, not a pool)
        lend = out_blk and train and self._reuse and not self._relu_out
        if train:
            self._x, self._xk, self._xshape, self._y, self._skip = xin, xk, tuple(xshape), y, skip
            self._train_plan, self._blk_in, self._blk_y, self._lent = plan, blk_in, out_blk, lend
            self._xshape_user = x.nchw_shape if type(x) is Blocked else x.shape
        return Blocked(y, self.filters, lend=self._act.name if lend else None) if out_blk else y

    def _backward_cf(self, dout):
        w, plan, xshape = _dilate(self.params["W"], self.dilation_rate), self._train_plan, self._xshape
        cb = plan["cb"]
        lent = False
        if self._blk_y:     # y (and so dz) blocked
            # the layer y was lent to wrote the gradient of z (the activation's derivative applied) into y
            lent = self._lent and type(dout) is Blocked and dout.data is self._y
            dout = self._as_blocked(dout, cb, "dyb", self._y.shape)
        elif type(dout) is Blocked:
            dout = dout.to_nchw()
        dout = self._activity_backward(dout, self._y, self._y.shape[0])
        dz = dout if (self._skip or lent) else self._act.backward(dout, self._y, inplace=self._reuse)
        need_dx = self._need_input_grad or not self._reuse
        gw = None if self.dilation_rate != (1, 1) else self._grad_out("W")   # dilated: the zero-filled kernel's
        if plan["engine"] == "direct":     # the implementations, as in the forward pass
            dzb = dz if self._blk_y else _run("to_blocked")(np.ascontiguousarray(dz), cb,
                                                            self._buf("dyb", _blocked(dz.shape, cb), temp=True))
            dw, db = _run("conv2d_blk_backward_weights")(dzb, self._xk, w.shape, self._strides, self._pad,
                                                         plan["plain"], (gw, self._grad_out("b")))
            dx = None
            if need_dx:   # returned blocked, or a temporary converted to dx
                dxb = _run("conv2d_blk_backward_data")(dzb, w, xshape, self._strides, self._pad,
                                                       self._buf("dxb", _blocked(xshape, cb), temp=not self._blk_in))
                dx = Blocked(dxb, xshape[1]) if self._blk_in else \
                    _run("from_blocked")(dxb, xshape[1], self._buf("dx", xshape))
        else:
            dx, dw, db = ops.conv2d_backward(
                dz, self._x, w, self._strides, self._pad,
                out=(self._buf("dx", xshape) if need_dx else None, gw, self._grad_out("b")),
                need_dx=need_dx)
        self._set_grad("W", _undilate(dw, self.dilation_rate))
        if self.use_bias:
            self._set_grad("b", db)
        self._regularize_grads()
        if dx is None or self._blk_in:
            return dx
        return self._unpad(dx, self._xshape_user)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self._strides),
                      dilation_rate=list(self.dilation_rate), **self._spatial_config(), **self._kernel_bias_config())
        return config


def _blocked(shape, cb):
    """The blocked shape (N, ceil(C/cb), H, W, cb) of an NCHW shape."""
    n, c, h, w = shape
    return (n, -(-c // cb), h, w, cb)


Convolution2D = Conv2D   # Keras 2's alias (serialized as Conv2D, as in Keras)


from ._conv_more import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D  # noqa: E402,F401  (as in Keras)
Deconvolution2D = Conv2DTranspose          # Keras 2's aliases
SeparableConvolution2D = SeparableConv2D
