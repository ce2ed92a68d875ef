"""What Dense and the convolutions share: a kernel W and a bias b (their initializers, config and the
W/b attribute access), and the kernel, bias and activity regularizers."""
import numpy as np

from .. import activations, initializers, regularizers
from . import _half
from .base import _initializer, _param_array, _shape


class _KernelBias:
    """What Dense and Conv2D share: the activation, bias, initializer and regularizer arguments, the creation
    of W and b, their config; and the book's/Keras's attribute access to params and grads ('W', 'b')."""

    kernel_regularizer = bias_regularizer = activity_regularizer = None   # the book's constructors
    _activity_loss = 0.0

    def _init_regularizers(self, kernel_regularizer, bias_regularizer, activity_regularizer):
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if self.activity_regularizer is not None and self._act.is_softmax:
            raise NotImplementedError(
                f"{type(self).__name__}: activity_regularizer with activation='softmax' is not supported (the "
                f"model trains on the logits of a softmax head); regularize the activity of a hidden layer")

    def _param_regularizers(self):
        """(params key, regularizer) pairs."""
        return (("W", self.kernel_regularizer), ("b", self.bias_regularizer))

    def regularization_loss(self):
        total = self._activity_loss
        for key, reg in self._param_regularizers():
            if reg is not None and key in self.params:
                total += reg(self.params[key])
        return total

    def _regularize_grads(self):
        """Add the weight penalties' gradients to grads (after backward has written them)."""
        for key, reg in self._param_regularizers():
            if reg is not None and key in self.params:
                self.grads[key] += reg.gradient(self.params[key])

    def _activity_forward(self, y, batch):
        """Record the activity penalty of output y over a batch of `batch` samples (tf.keras: its mean)."""
        if self.activity_regularizer is not None:
            self._activity_loss = self.activity_regularizer(y) / batch

    def _activity_backward(self, dout, y, batch):
        """dout plus the gradient of the activity penalty with respect to the output y."""
        if self.activity_regularizer is None:
            return dout
        g = self.activity_regularizer.gradient(y)
        return dout + (g / y.dtype.type(batch)).reshape(dout.shape).astype(dout.dtype, copy=False)

    def _init_kernel_bias(self, activation, use_bias, kernel_initializer, bias_initializer, axis=-1):
        self._act = activations.Fused(activation, axis=axis)
        self.activation = self._act.fn
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializer(kernel_initializer)
        self.bias_initializer = _initializer(bias_initializer)

    def weight_shapes(self, input_shape):
        input_shape = _shape(input_shape)
        shapes = [("W", self._kernel_shape(input_shape))]
        return shapes + [("b", (self._units,))] if self.use_bias else shapes

    def _create_kernel_bias(self, input_shape):
        """W of _kernel_shape(input_shape) and b of (units,) from the initializers; W given to a book
        constructor is kept (its shape checked)."""
        shape, units = self._kernel_shape(input_shape), self._units
        if "W" in self.params:
            if self.params["W"].shape != shape:
                raise ValueError(f"{self.name}: W has shape {self.params['W'].shape} but inputs of shape "
                                 f"{input_shape} need {shape}")
            return
        self.params["W"] = initializers.get(self.kernel_initializer)(shape, self.dtype)
        if self.use_bias:
            self.params["b"] = initializers.get(self.bias_initializer)((units,), self.dtype)

    def _kernel_bias_config(self):
        return dict(activation=self._act.name, use_bias=self.use_bias,
                    kernel_initializer=initializers.serialize(self.kernel_initializer),
                    bias_initializer=initializers.serialize(self.bias_initializer),
                    kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                    bias_regularizer=regularizers.serialize(self.bias_regularizer),
                    activity_regularizer=regularizers.serialize(self.activity_regularizer))

    W = property(lambda self: self.params.get("W"), lambda self, v: self._put("W", v))
    b = property(lambda self: self.params.get("b"), lambda self, v: self._put("b", v))
    kernel = W
    bias = b
    dW = property(lambda self: self.grads.get("W"))
    db = property(lambda self: self.grads.get("b"))

    def _put(self, key, value):
        value = _param_array(value, key)
        old = self.params.get(key)
        if old is not None and old.shape != value.shape:
            raise ValueError(f"{self.name}: {key} must have shape {old.shape}, got {value.shape}")
        if self._weight_format is not None:     # 16-bit storage (set_weight_dtype): rounded to it
            self.params[key] = _half.to_storage(self, value)
            return
        self.params[key] = value
        if key == "W":
            self.dtype = value.dtype    # a book network may rebind W in another dtype
        if self.built and (key not in self.grads or self.grads[key].dtype != value.dtype):
            self.grads[key] = np.zeros_like(value)
