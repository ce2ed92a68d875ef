"""The book's common/multi_layer_net_extend.py: ``MultiLayerNetExtend``, a fully connected network with
weight decay, dropout and batch normalization, computed by cnet's layers.

    MultiLayerNetExtend(input_size, hidden_size_list, output_size, activation='relu',
                        weight_init_std='relu', weight_decay_lambda=0, use_dropout=False,
                        dropout_ration=0.5, use_batchnorm=False, dtype=None)

Layers, named as in the book: for each hidden layer i, ``Affine<i>``, ``BatchNorm<i>`` (with
use_batchnorm), ``Activation_function<i>`` (Relu or Sigmoid), ``Dropout<i>`` (with use_dropout); then
``Affine<L>`` and ``last_layer`` (SoftmaxWithLoss). Weights: Gaussian from numpy's global generator, in
the book's order (W1, W2, ...), standard deviation weight_init_std: a number, 'relu'/'he' for
sqrt(2 / fan_in), 'sigmoid'/'xavier' for sqrt(1 / fan_in). Biases zero, gamma one, beta zero. ``dtype``
(cnet's addition): float64 by default as in the book, or float32.

``predict(x, train_flg=False)`` returns the scores (dropout and batch normalization in inference mode
unless train_flg); ``loss(x, t, train_flg=False)`` adds 0.5 * weight_decay_lambda * sum(W**2) over
the weights; ``accuracy(x, t)``; ``gradient(x, t)`` (backpropagation in training mode, weight decay
included) and ``numerical_gradient(x, t)`` return {'W1': ..., 'b1': ..., 'gamma1': ..., 'beta1': ...,
'W2': ...}, in that order.
"""
from collections import OrderedDict

import numpy as np

from .._net import BookNet, book_dtype, gaussian
from .layers import Affine, BatchNormalization, Dropout, Relu, Sigmoid, SoftmaxWithLoss

__all__ = ["np", "MultiLayerNetExtend"]

_ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}


def _init_scale(weight_init_std, fan_in):
    name = str(weight_init_std).lower()
    if name in ("relu", "he"):
        return np.sqrt(2.0 / fan_in)
    if name in ("sigmoid", "xavier"):
        return np.sqrt(1.0 / fan_in)
    if isinstance(weight_init_std, str):
        raise ValueError(f"weight_init_std must be a number, 'relu'/'he' or 'sigmoid'/'xavier', "
                         f"got {weight_init_std!r}")
    return weight_init_std


class MultiLayerNetExtend(BookNet):
    """Fully connected network with weight decay, dropout and batch normalization (see the module)."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, use_dropout=False, dropout_ration=0.5, use_batchnorm=False,
                 dtype=None):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be 'relu' or 'sigmoid', got {activation!r}")
        dtype = book_dtype(dtype)
        self.input_size = input_size
        self.output_size = output_size
        self.hidden_size_list = hidden_size_list
        self.hidden_layer_num = len(hidden_size_list)
        self.weight_decay_lambda = weight_decay_lambda
        self.use_dropout = use_dropout
        self.use_batchnorm = use_batchnorm
        sizes = [input_size] + list(hidden_size_list) + [output_size]
        self.params = {}
        for i in range(1, len(sizes)):
            scale = _init_scale(weight_init_std, sizes[i - 1])
            self.params[f"W{i}"] = gaussian(scale, (sizes[i - 1], sizes[i]), dtype)
            self.params[f"b{i}"] = np.zeros(sizes[i], dtype)
        self.layers = OrderedDict()
        self._owners = []
        for i in range(1, len(sizes)):
            affine = self.layers[f"Affine{i}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"])
            self._owners += [(f"W{i}", affine, "W"), (f"b{i}", affine, "b")]
            if i == len(sizes) - 1:
                break
            if use_batchnorm:
                self.params[f"gamma{i}"] = np.ones(sizes[i], dtype)
                self.params[f"beta{i}"] = np.zeros(sizes[i], dtype)
                bn = self.layers[f"BatchNorm{i}"] = BatchNormalization(self.params[f"gamma{i}"],
                                                                       self.params[f"beta{i}"])
                self._owners += [(f"gamma{i}", bn, "gamma"), (f"beta{i}", bn, "beta")]
            self.layers[f"Activation_function{i}"] = _ACTIVATIONS[activation]()
            if use_dropout:
                self.layers[f"Dropout{i}"] = Dropout(dropout_ration)
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x, train_flg=False):
        """The scores of x (before the softmax)."""
        return self._predict(x, train_flg)

    def loss(self, x, t, train_flg=False):
        """Softmax cross-entropy of the scores with t, plus the weight decay term."""
        return self._loss(x, t, train_flg)

    def accuracy(self, x, t):
        """Fraction of x classified as t (labels or one-hot rows), in inference mode."""
        return self._accuracy(x, t)
