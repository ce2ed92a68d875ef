"""The book's dataset/mnist.py: ``load_mnist(normalize=True, flatten=True, one_hot_label=False)``.

The files come from cnet's loader (cnet.datasets.mnist): ``$CNET_DATA/mnist``, else cnet's cache, else
a download into the cache, every file checked against its SHA-256; nothing is pickled. What it
returns is the book's: ``((x_train, t_train), (x_test, t_test))``, 60,000 and 10,000 images;
normalize: pixels as float32 in [0, 1] (else uint8 0..255); flatten: images (N, 784) (else
(N, 1, 28, 28)); one_hot_label: labels as float64 one-hot rows (N, 10) (else uint8 (N,)).
"""
import numpy as np

from cnet.datasets import load_mnist as _load_mnist

__all__ = ["np", "load_mnist", "train_num", "test_num", "img_dim", "img_size"]

train_num = 60000
test_num = 10000
img_dim = (1, 28, 28)
img_size = 784


def _one_hot(labels):
    rows = np.zeros((labels.size, 10))
    rows[np.arange(labels.size), labels] = 1
    return rows


def load_mnist(normalize=True, flatten=True, one_hot_label=False):
    """MNIST as the book loads it: ((x_train, t_train), (x_test, t_test)) (see the module docstring)."""
    (x_train, t_train), (x_test, t_test) = _load_mnist(normalize=normalize, flatten=flatten,
                                                       one_hot_label=False)
    if one_hot_label:
        t_train, t_test = _one_hot(t_train), _one_hot(t_test)
    return (x_train, t_train), (x_test, t_test)
