"""The book's ch05/two_layer_net.py: ``TwoLayerNet``, Affine - Relu - Affine - SoftmaxWithLoss.

    TwoLayerNet(input_size, hidden_size, output_size, weight_init_std=0.01, dtype=None)

params 'W1' (input_size, hidden_size), 'b1', 'W2' (hidden_size, output_size), 'b2': weights
weight_init_std * np.random.randn(...) (numpy's global generator, W1 then W2), biases zero; float64
as in the book unless dtype='float32'. ``layers`` (Affine1, Relu1, Affine2), ``lastLayer``;
``predict(x)`` (scores), ``loss(x, t)``, ``accuracy(x, t)``, ``gradient(x, t)``,
``numerical_gradient(x, t)``; the save_params/load_params of the conv nets too.
"""
from collections import OrderedDict

import numpy as np

from .._net import BookNet, ParamsFile, book_dtype, gaussian
from ..common.layers import Affine, Relu, SoftmaxWithLoss

__all__ = ["np", "TwoLayerNet"]


class TwoLayerNet(ParamsFile, BookNet):
    """Two-layer network of chapter 5 (see the module docstring)."""

    _activation = Relu

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, dtype=None):
        dtype = book_dtype(dtype)
        self.params = {}
        self.params["W1"] = gaussian(weight_init_std, (input_size, hidden_size), dtype)
        self.params["b1"] = np.zeros(hidden_size, dtype)
        self.params["W2"] = gaussian(weight_init_std, (hidden_size, output_size), dtype)
        self.params["b2"] = np.zeros(output_size, dtype)
        first = Affine(self.params["W1"], self.params["b1"])
        second = Affine(self.params["W2"], self.params["b2"])
        activation = self._activation()
        self.layers = OrderedDict([("Affine1", first), (type(activation).__name__ + "1", activation),
                                   ("Affine2", second)])
        self.last_layer = SoftmaxWithLoss()
        self._owners = [("W1", first, "W"), ("b1", first, "b"), ("W2", second, "W"), ("b2", second, "b")]

    lastLayer = property(lambda self: self.last_layer)

    def predict(self, x):
        """The scores of x (before the softmax)."""
        return self._predict(x, False)

    def loss(self, x, t):
        """Mean softmax cross-entropy of x's scores with t (labels or one-hot rows)."""
        return self._loss(x, t, True)

    def accuracy(self, x, t):
        """Fraction of x classified as t (labels or one-hot rows)."""
        return self._accuracy(x, t)
