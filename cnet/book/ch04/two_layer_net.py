"""The book's ch04/two_layer_net.py: ``TwoLayerNet`` with a sigmoid hidden layer whose ``predict``
returns the softmax probabilities.

    TwoLayerNet(input_size, hidden_size, output_size, weight_init_std=0.01, dtype=None)

Chapter 5's network (cnet.book.ch05.two_layer_net) with Sigmoid in place of Relu (layers Affine1,
Sigmoid1, Affine2); ``loss(x, t)`` is cross_entropy_error(predict(x), t) and ``gradient`` the same
backpropagation the book writes out by hand.
"""
import numpy as np

from ..ch05 import two_layer_net as _ch05
from ..common.functions import softmax
from ..common.layers import Sigmoid

__all__ = ["np", "TwoLayerNet"]


class TwoLayerNet(_ch05.TwoLayerNet):
    """Two-layer network of chapter 4 (see the module docstring)."""

    _activation = Sigmoid

    def predict(self, x):
        """The class probabilities of x (softmax of the scores)."""
        return softmax(self._predict(x, False))
