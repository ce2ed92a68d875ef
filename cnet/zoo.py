"""The bundled models: five classifiers of 28x28 grayscale images (MNIST, Fashion-MNIST), each with the
training settings that reach its usual accuracy. This table is the one that ``cnet-train``, the ``cnet``
command and the benchmark suite (``cnet-bench``) use.

- softmax: softmax regression on the 784 pixels;
- mlp: 784-500-250-100-10, ReLU, Glorot initialization;
- cnn: Keras's mnist_cnn.py (Conv2D 32 - Conv2D 64 - MaxPool - Dropout - Dense 128 - Dropout - Dense 10);
- simple_convnet, deep_convnet: the nets of "Deep Learning from Scratch", chapters 7 and 8.

>>> from cnet import zoo
>>> model = zoo.build_model("cnn")
>>> d = zoo.DEFAULTS["cnn"]
>>> model.compile(optimizer=zoo.make_optimizer(d.optimizer, d.lr), loss="sparse_categorical_crossentropy")
"""
from collections import namedtuple

from . import nets, optimizers
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from .models import Sequential

__all__ = ["Defaults", "DEFAULTS", "MODELS", "IMAGE_MODELS", "input_shape", "build_model", "make_optimizer"]

Defaults = namedtuple("Defaults", "epochs batch_size optimizer lr")

DEFAULTS = {
    "softmax": Defaults(20, 128, "rmsprop", 0.001),
    "mlp": Defaults(10, 1000, "adam", 0.001),
    "cnn": Defaults(12, 128, "adadelta", 1.0),
    "simple_convnet": Defaults(20, 100, "adam", 0.001),
    "deep_convnet": Defaults(20, 100, "adam", 0.001),
}
MODELS = tuple(DEFAULTS)
IMAGE_MODELS = ("cnn", "simple_convnet", "deep_convnet")   # the others take flat (784,) inputs


def _check(name):
    if name not in DEFAULTS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def input_shape(name):
    """The shape of one input of model `name`: (1, 28, 28) for the convnets, (784,) for the others."""
    _check(name)
    return (1, 28, 28) if name in IMAGE_MODELS else (784,)


def build_model(name, num_classes=10, dtype="float32"):
    """The Sequential model called `name` (see the module doc), uncompiled, for 28x28 single-channel
    images: flat (784,) inputs for softmax/mlp, (1, 28, 28) for the convnets."""
    _check(name)
    if name == "simple_convnet":
        return nets.SimpleConvNet(output_size=num_classes, dtype=dtype).model
    if name == "deep_convnet":
        return nets.DeepConvNet(output_size=num_classes, dtype=dtype).model
    if name == "softmax":
        layers = [Dense(num_classes, activation="softmax", input_shape=(784,))]
    elif name == "mlp":
        layers = [Dense(500, activation="relu", kernel_initializer="glorot_uniform", input_shape=(784,)),
                  Dense(250, activation="relu", kernel_initializer="glorot_uniform"),
                  Dense(100, activation="relu", kernel_initializer="glorot_uniform"),
                  Dense(num_classes, activation="softmax", kernel_initializer="glorot_uniform")]
    else:   # cnn
        layers = [Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(1, 28, 28)),
                  Conv2D(64, (3, 3), activation="relu"),
                  MaxPooling2D(pool_size=(2, 2)),
                  Dropout(0.25),
                  Flatten(),
                  Dense(128, activation="relu"),
                  Dropout(0.5),
                  Dense(num_classes, activation="softmax")]
    return Sequential(layers, name=name, dtype=dtype)


def make_optimizer(name, lr=None):
    """The optimizer called `name` (sgd, momentum, nesterov, adagrad, rmsprop, adam, adadelta) with learning
    rate `lr`, or with its Keras default when lr is None."""
    opt = optimizers.get(name)
    return type(opt)(learning_rate=lr) if lr is not None else opt
