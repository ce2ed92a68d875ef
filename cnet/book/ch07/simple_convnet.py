"""The book's ch07/simple_convnet.py: ``SimpleConvNet``, conv - relu - pool - affine - relu - affine -
softmax, computed by cnet's kernels.

    SimpleConvNet(input_dim=(1, 28, 28),
                  conv_param={'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1},
                  hidden_size=100, output_size=10, weight_init_std=0.01, dtype=None)

params 'W1' (filter_num, C, filter_size, filter_size), 'b1', 'W2' (pooled size, hidden_size), 'b2',
'W3' (hidden_size, output_size), 'b3': weights weight_init_std * np.random.randn(...) (numpy's global
generator, W1, W2, W3), biases zero, float64 as in the book unless dtype='float32'. Layers Conv1,
Relu1, Pool1 (2x2, stride 2), Affine1, Relu2, Affine2; ``last_layer``. ``predict(x)`` (scores),
``loss(x, t)``, ``accuracy(x, t, batch_size=100)`` (whole batches only, as the book: a last partial
batch is not scored but counts in the denominator), ``gradient``, ``numerical_gradient``,
``save_params``/``load_params`` (cnet's format; load_params also reads the book's params.pkl safely).
"""
from collections import OrderedDict

import numpy as np

from .._net import BookNet, ParamsFile, book_dtype, conv_output, gaussian
from ..common.layers import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss

__all__ = ["np", "SimpleConvNet"]


class SimpleConvNet(ParamsFile, BookNet):
    """The convolutional network of chapter 7 (see the module docstring)."""

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                 hidden_size=100, output_size=10, weight_init_std=0.01, dtype=None):
        dtype = book_dtype(dtype)
        filter_num, filter_size = conv_param["filter_num"], conv_param["filter_size"]
        pad, stride = conv_param["pad"], conv_param["stride"]
        conv_size = conv_output(input_dim[1], filter_size, pad, stride, "SimpleConvNet")
        pooled = filter_num * (conv_size // 2) * (conv_output(input_dim[2], filter_size, pad, stride,
                                                              "SimpleConvNet") // 2)
        self.params = {}
        self.params["W1"] = gaussian(weight_init_std, (filter_num, input_dim[0], filter_size, filter_size),
                                     dtype)
        self.params["b1"] = np.zeros(filter_num, dtype)
        self.params["W2"] = gaussian(weight_init_std, (pooled, hidden_size), dtype)
        self.params["b2"] = np.zeros(hidden_size, dtype)
        self.params["W3"] = gaussian(weight_init_std, (hidden_size, output_size), dtype)
        self.params["b3"] = np.zeros(output_size, dtype)
        conv = Convolution(self.params["W1"], self.params["b1"], stride, pad)
        hidden = Affine(self.params["W2"], self.params["b2"])
        out = Affine(self.params["W3"], self.params["b3"])
        self.layers = OrderedDict([("Conv1", conv), ("Relu1", Relu()), ("Pool1", Pooling(2, 2, stride=2)),
                                   ("Affine1", hidden), ("Relu2", Relu()), ("Affine2", out)])
        self.last_layer = SoftmaxWithLoss()
        self._owners = [("W1", conv, "W"), ("b1", conv, "b"), ("W2", hidden, "W"), ("b2", hidden, "b"),
                        ("W3", out, "W"), ("b3", out, "b")]

    def predict(self, x):
        """The scores of x (N, C, H, W), before the softmax."""
        return self._predict(x, False)

    def loss(self, x, t):
        """Mean softmax cross-entropy of x's scores with t (labels or one-hot rows)."""
        return self._loss(x, t, True)

    def accuracy(self, x, t, batch_size=100):
        """Correct predictions in the whole batches of x, over the number of samples."""
        return self._batched_accuracy(x, t, batch_size)
