"""The book's common/multi_layer_net.py: ``MultiLayerNet``, a fully connected network with weight decay,
computed by cnet's layers.

    MultiLayerNet(input_size, hidden_size_list, output_size, activation='relu', weight_init_std='relu',
                  weight_decay_lambda=0, dtype=None)

MultiLayerNetExtend without dropout and batch normalization (see cnet.book.common.multi_layer_net_extend
for the layers, the weights and the methods): ``predict(x)``, ``loss(x, t)``, ``accuracy(x, t)``,
``gradient(x, t)``, ``numerical_gradient(x, t)``.
"""
import numpy as np

from .multi_layer_net_extend import MultiLayerNetExtend

__all__ = ["np", "MultiLayerNet"]


class MultiLayerNet(MultiLayerNetExtend):
    """Fully connected network with weight decay (see the module docstring)."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, dtype=None):
        super().__init__(input_size, hidden_size_list, output_size, activation=activation,
                         weight_init_std=weight_init_std, weight_decay_lambda=weight_decay_lambda,
                         dtype=dtype)

    def predict(self, x):
        """The scores of x (before the softmax)."""
        return self._predict(x, False)

    def loss(self, x, t):
        """Softmax cross-entropy of the scores with t, plus the weight decay term."""
        return self._loss(x, t, False)
