"""The book "Deep Learning from Scratch" (Koki Saitoh, O'Reilly Japan) on cnet's kernels.

Run a script of the book's repository (github.com/oreilly-japan/deep-learning-from-scratch) unchanged,
its ``common`` and ``dataset`` imports served by this package:

    python -m cnet.book ch07/train_convnet.py        # or: cnet book ch07/train_convnet.py

or import the book's modules from here:

    from cnet.book.common.layers import Affine, Relu, SoftmaxWithLoss
    from cnet.book.common.trainer import Trainer
    from cnet.book.dataset.mnist import load_mnist
    from cnet.book import SimpleConvNet, DeepConvNet, TwoLayerNet, MultiLayerNet

The package mirrors the book's module tree: ``cnet.book.common.{functions, gradient, layers,
multi_layer_net, multi_layer_net_extend, optimizer, trainer, util}``, ``cnet.book.dataset.mnist``, and
the chapters' helper networks ``cnet.book.ch04.two_layer_net``, ``ch05.two_layer_net``,
``ch07.simple_convnet``, ``ch08.deep_convnet``. Names, signatures, defaults and semantics are the
book's (``Dropout(0.5)`` is the book's dropout_ratio, ``Pooling`` strides 2, optimizers take plain
numbers, the Trainer samples with replacement, random numbers come from numpy's global generator so
``np.random.seed`` reproduces the book's runs, parameters are float64); the computation is cnet's
(cnet.layers, cnet.optimizers, cnet.ops). cnet's Keras-facing surface (cnet.layers, cnet.optimizers,
cnet.nets) keeps Keras's semantics: the two live in separate namespaces.

The book's trained weights (``params.pkl``, ``deep_convnet_params.pkl``) are pickles; the networks'
``load_params`` read them through an allow-list unpickler (cnet.book.pickles) that admits only
arrays, numbers, strings and containers, and ``cnet convert params.pkl params.cnet.npz`` converts them
to cnet's safe format. ``save_params`` writes cnet's format.
"""
from . import pickles
from .ch05.two_layer_net import TwoLayerNet
from .ch07.simple_convnet import SimpleConvNet
from .ch08.deep_convnet import DeepConvNet
from .common.multi_layer_net import MultiLayerNet
from .common.multi_layer_net_extend import MultiLayerNetExtend
from .common.trainer import Trainer
from .dataset.mnist import load_mnist

__all__ = ["TwoLayerNet", "SimpleConvNet", "DeepConvNet", "MultiLayerNet", "MultiLayerNetExtend", "Trainer",
           "load_mnist", "pickles"]
