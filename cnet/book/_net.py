"""What the book's networks share (TwoLayerNet, MultiLayerNet(Extend), SimpleConvNet, DeepConvNet).

A network has ``params`` (the book's keys: 'W1', 'b1', ..., 'gamma1', 'beta1'), ``layers`` (an ordered
dict of the book's layer names, or a list for DeepConvNet) whose layers hold the very arrays of
``params``, and ``last_layer`` (SoftmaxWithLoss). Random weights come from numpy's global generator in
the book's order (``scale * np.random.randn(...)``), so ``np.random.seed`` reproduces the book's
networks; they are float64 as in the book, or float32 with ``dtype='float32'`` (faster, same draws).
"""
import numpy as np

from cnet import ops
from cnet.layers import _half, training_workspaces
from cnet.layers._fusion import chain_flags, forward_with
from cnet.saving import save_params as _save_params_file
from .common.gradient import numerical_gradient as _numerical_gradient
from .common.util import conv_output_size
from .pickles import load_params_file

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def book_dtype(dtype):
    """The parameters' dtype: float64 (the book's) unless float32 is asked for."""
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype not in _FLOATS:
        raise TypeError(f"dtype must be float64 (the book's) or float32, got {dtype}")
    return dtype


def gaussian(scale, shape, dtype):
    """scale * np.random.randn(*shape) (numpy's global generator, as the book draws), in dtype."""
    w = scale * np.random.randn(*shape)
    return w if w.dtype == dtype else w.astype(dtype)


def conv_output(size, filter_size, pad, stride, what):
    """The output size of a convolution; ValueError when the filter does not tile the input."""
    out = conv_output_size(size, filter_size, stride, pad)
    if out >= 1 and float(out).is_integer():
        return int(out)
    raise ValueError(f"{what}: a {filter_size}x{filter_size} filter with pad {pad} and stride {stride} "
                     f"does not tile an input of size {size}")


class BookNet:
    """Base class. Subclasses set params, layers, last_layer and ``_owners``: [(params key, layer,
    the layer's parameter name)] in the order the book lists gradients."""

    weight_decay_lambda = 0

    def _layer_sequence(self):
        return list(self.layers.values()) if isinstance(self.layers, dict) else list(self.layers)

    def _predict(self, x, train):
        # the layers chained as a model's graph runs them (cnet/layers/_fusion.py): blocked activations
        # between conv, ReLU and pool, ReLUs fused into the layers beside them; the layers' book
        # attributes keep their values (Relu.mask is read through the layout)
        layers = self._layer_sequence()
        for layer, flags in zip(layers, chain_flags(layers, ops.conv.blocked_activations())):
            x = forward_with(layer, flags, x, train=train)
        return x

    def _weight_decay(self):
        """0.5 * lambda * sum(W**2) over the weights, summed in the book's order (0 without decay)."""
        decay = 0
        if self.weight_decay_lambda:
            for key, _, name in self._owners:
                if name == "W":
                    decay += 0.5 * self.weight_decay_lambda * np.sum(self.params[key] ** 2)
        return decay

    def _loss(self, x, t, train):
        return self.last_layer.forward(self._predict(x, train), t) + self._weight_decay()

    def _accuracy(self, x, t):
        """Fraction of x whose highest score is the label (t: labels or one-hot rows)."""
        y = np.argmax(self._predict(x, False), axis=1)
        t = np.asarray(t)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def _batched_accuracy(self, x, t, batch_size):
        """The conv nets' accuracy: whole batches of batch_size only (a last partial batch is not
        scored), divided by the number of samples, as the book computes it."""
        t = np.asarray(t)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        correct = 0.0
        for i in range(int(x.shape[0] / batch_size)):
            scores = self._predict(x[i * batch_size:(i + 1) * batch_size], False)
            correct += np.sum(np.argmax(scores, axis=1) == t[i * batch_size:(i + 1) * batch_size])
        return correct / x.shape[0]

    def numerical_gradient(self, x, t):
        """{key: d loss / d params[key]} by central differences (slow: two losses per element)."""
        def f(_):
            return self._loss(x, t, True)
        return {key: _numerical_gradient(f, self.params[key]) for key, _, _ in self._owners}

    def set_weight_dtype(self, dtype):
        """Store params in 16 bits for inference, as chapter 8's experiment does by hand: 'float16'
        (half the memory of float32, a quarter of the book's float64) or 'bfloat16'; the layers widen
        them to the network's dtype for each forward pass (cnet.layers._half), so predict/accuracy
        compute with the 16-bit values exactly. params then holds float16 arrays (uint16 bit patterns for
        bfloat16). None widens them back, to train (gradient refuses 16-bit weights)."""
        layers = list({id(layer): layer for _, layer, _ in self._owners}.values())
        for layer in layers:
            _half.resolve(layer, dtype)             # a bad dtype changes nothing
        for layer in layers:
            layer.set_weight_dtype(dtype)
        for key, layer, name in self._owners:
            self.params[key] = layer.params[name]

    def gradient(self, x, t):
        """{key: d loss / d params[key]} by backpropagation (weight decay included)."""
        layers = self._layer_sequence()
        with training_workspaces(layers):     # buffers of one step are reused by the next
            self._loss(x, t, True)
            dout = self.last_layer.backward(1)
            for layer in reversed(layers):
                dout = layer.backward(dout)
        grads = {}
        for key, layer, name in self._owners:
            grads[key] = layer.grads[name]
            if name == "W" and self.weight_decay_lambda:
                grads[key] = grads[key] + self.weight_decay_lambda * self.params[key]
        return grads


class ParamsFile:
    """save_params/load_params of the book's conv nets, in cnet's safe format or from the book's pickles."""

    def save_params(self, file_name="params.pkl"):
        """Write params to file_name in cnet's safe format (a .npz archive, whatever the name; atomic).
        The book's own code, which reads pickles, cannot read it: cnet.book's load_params can."""
        params = self.params
        if self._stored_format() == "bfloat16":     # NumPy has no bfloat16: its values, as float32
            params = {k: _half.widened_array(v, "bfloat16", np.float32) for k, v in params.items()}
        _save_params_file(file_name, params, network=type(self).__name__)

    def _stored_format(self):
        return self._owners[0][1]._weight_format if self._owners else None

    def load_params(self, file_name="params.pkl"):
        """Read params from file_name: cnet's format, or the book's pickle (read by an allow-list
        unpickler that admits only arrays, numbers, strings and containers). Every parameter of the
        network must be there with its shape; values are copied into the network's arrays."""
        fmt = self._stored_format()
        if fmt is not None:     # 16-bit weights: loaded in full precision, then rounded again
            self.set_weight_dtype(None)
            try:
                return self.load_params(file_name)
            finally:
                self.set_weight_dtype(fmt)
        loaded = load_params_file(file_name)
        unknown = [k for k in loaded if k not in self.params]
        missing = [k for k in self.params if k not in loaded]
        if unknown or missing:
            raise ValueError(f"{file_name}: parameters do not match {type(self).__name__}: "
                             f"missing {missing or 'none'}, unknown {unknown or 'none'}")
        for key, value in loaded.items():
            value = np.asarray(value)
            if value.shape != self.params[key].shape:
                raise ValueError(f"{file_name}: parameter {key!r} has shape {value.shape}, the network's "
                                 f"is {self.params[key].shape}")
            if value.dtype.kind not in "fiu":
                raise ValueError(f"{file_name}: parameter {key!r} has dtype {value.dtype}, not a number")
        for key, value in loaded.items():
            np.copyto(self.params[key], value, casting="unsafe")
