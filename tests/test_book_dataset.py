"""cnet.book.dataset.mnist.load_mnist: the book's arguments and return values, from cnet's loader."""
import os

import numpy as np
import pytest

from cnet.book.dataset import mnist


def _fake_cnet_loader(normalize=True, flatten=True, one_hot_label=False):
    """What cnet.datasets.load_mnist returns, for three training and two test images."""
    assert one_hot_label is False            # cnet.book makes the book's float64 one-hot rows itself
    images = np.arange(5 * 784, dtype=np.uint8).reshape(5, 1, 28, 28)
    if flatten:
        images = images.reshape(5, 784)
    if normalize:
        images = images.astype(np.float32) / np.float32(255.0)
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    return (images[:3], labels[:3]), (images[3:], labels[3:])


def test_one_hot_rows_are_float64_as_in_the_book(monkeypatch):
    monkeypatch.setattr(mnist, "_load_mnist", _fake_cnet_loader)
    (x, t), (xt, tt) = mnist.load_mnist(one_hot_label=True)
    assert t.dtype == np.float64 and t.shape == (3, 10)
    np.testing.assert_array_equal(t.argmax(axis=1), [5, 0, 4])
    assert t.sum() == 3 and tt.shape == (2, 10)
    (x, t), _ = mnist.load_mnist(normalize=False, flatten=False)
    assert x.dtype == np.uint8 and x.shape == (3, 1, 28, 28) and t.dtype == np.uint8
    assert (mnist.img_dim, mnist.img_size, mnist.train_num, mnist.test_num) == ((1, 28, 28), 784, 60000, 10000)


@pytest.mark.skipif(not os.environ.get("CNET_DATA"),
                    reason="needs $CNET_DATA/mnist (e.g. CNET_DATA=/work/shared/datasets)")
def test_the_real_mnist_as_the_book_returns_it():
    (x, t), (xt, tt) = mnist.load_mnist()
    assert x.shape == (60000, 784) and x.dtype == np.float32 and xt.shape == (10000, 784)
    assert t.dtype == np.uint8 and t[:5].tolist() == [5, 0, 4, 1, 9]
    (raw, onehot), _ = mnist.load_mnist(normalize=False, flatten=False, one_hot_label=True)
    assert raw.shape == (60000, 1, 28, 28) and raw.dtype == np.uint8 and onehot.dtype == np.float64
    np.testing.assert_array_equal(x, raw.reshape(60000, 784).astype(np.float32) / 255.0)   # as the book
    np.testing.assert_array_equal(onehot.argmax(axis=1), t)
