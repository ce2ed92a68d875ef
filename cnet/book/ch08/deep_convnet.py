"""The book's ch08/deep_convnet.py: ``DeepConvNet``, the book's deepest network, on cnet's kernels.

    DeepConvNet(input_dim=(1, 28, 28), conv_param_1=..., ..., conv_param_6=..., hidden_size=50,
                output_size=10, dtype=None)

Six 3x3 convolutions of stride 1 (the book's defaults: 16, 16, 32, 32, 64, 64 filters, pad 1 but 2 for
the fourth), each conv_param a dict {'filter_num', 'filter_size', 'pad', 'stride'}:
conv - relu - conv - relu - pool, three times, then affine - relu - dropout - affine - dropout - softmax.
``layers`` is a list (as in the book: weights at indices 0, 2, 5, 7, 10, 12, 15, 18);
params W1..W8, b1..b8, He initialization (std sqrt(2 / fan_in), numpy's global generator in the
book's order), float64 unless dtype='float32'. The dropouts (ratio 0.5) are active in ``loss``
(always training mode, as the book) and in ``predict(x, train_flg=True)``. ``accuracy(x, t,
batch_size=100)`` scores whole batches only, as the book. ``save_params``/``load_params`` as
SimpleConvNet's (load_params reads the book's deep_convnet_params.pkl safely).
"""
import numpy as np

from .._net import BookNet, ParamsFile, book_dtype, conv_output, gaussian
from ..common.layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss

__all__ = ["np", "DeepConvNet"]


def _conv3x3(filters, pad):
    return {"filter_num": filters, "filter_size": 3, "pad": pad, "stride": 1}


class DeepConvNet(ParamsFile, BookNet):
    """The deep convolutional network of chapter 8 (see the module docstring)."""

    def __init__(self, input_dim=(1, 28, 28), conv_param_1=_conv3x3(16, 1), conv_param_2=_conv3x3(16, 1),
                 conv_param_3=_conv3x3(32, 1), conv_param_4=_conv3x3(32, 2), conv_param_5=_conv3x3(64, 1),
                 conv_param_6=_conv3x3(64, 1), hidden_size=50, output_size=10, dtype=None):
        dtype = book_dtype(dtype)
        self.params = {}
        channels, height, width = input_dim
        convs = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        for i, cp in enumerate(convs, start=1):
            fn, fs = cp["filter_num"], cp["filter_size"]
            self.params[f"W{i}"] = gaussian(np.sqrt(2.0 / (channels * fs * fs)), (fn, channels, fs, fs), dtype)
            self.params[f"b{i}"] = np.zeros(fn, dtype)
            channels = fn
            height = conv_output(height, fs, cp["pad"], cp["stride"], f"DeepConvNet conv_param_{i}")
            width = conv_output(width, fs, cp["pad"], cp["stride"], f"DeepConvNet conv_param_{i}")
            if i % 2 == 0:
                height, width = height // 2, width // 2
        flat = channels * height * width
        self.params["W7"] = gaussian(np.sqrt(2.0 / flat), (flat, hidden_size), dtype)
        self.params["b7"] = np.zeros(hidden_size, dtype)
        self.params["W8"] = gaussian(np.sqrt(2.0 / hidden_size), (hidden_size, output_size), dtype)
        self.params["b8"] = np.zeros(output_size, dtype)

        self.layers, self._owners = [], []
        for i, cp in enumerate(convs, start=1):
            conv = Convolution(self.params[f"W{i}"], self.params[f"b{i}"], cp["stride"], cp["pad"])
            self.layers += [conv, Relu()]
            self._owners += [(f"W{i}", conv, "W"), (f"b{i}", conv, "b")]
            if i % 2 == 0:
                self.layers.append(Pooling(pool_h=2, pool_w=2, stride=2))
        hidden = Affine(self.params["W7"], self.params["b7"])
        out = Affine(self.params["W8"], self.params["b8"])
        self.layers += [hidden, Relu(), Dropout(0.5), out, Dropout(0.5)]
        self._owners += [("W7", hidden, "W"), ("b7", hidden, "b"), ("W8", out, "W"), ("b8", out, "b")]
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x, train_flg=False):
        """The scores of x (N, C, H, W), before the softmax; train_flg: dropout active."""
        return self._predict(x, train_flg)

    def loss(self, x, t):
        """Mean softmax cross-entropy with t, dropout active (training mode), as the book."""
        return self._loss(x, t, True)

    def accuracy(self, x, t, batch_size=100):
        """Correct predictions in the whole batches of x, over the number of samples."""
        return self._batched_accuracy(x, t, batch_size)
