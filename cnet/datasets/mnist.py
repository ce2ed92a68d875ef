"""MNIST handwritten digits: Keras-style ``load_data`` and the book-style ``load_mnist``.

>>> from cnet.datasets import mnist
>>> (x_train, y_train), (x_test, y_test) = mnist.load_data()

Where the files are looked for (see :mod:`cnet.datasets._load` for details): ``$CNET_DATA/mnist``, else the
cache ``~/.cache/cnet/mnist`` (``$CNET_CACHE/mnist`` or ``$XDG_CACHE_HOME/cnet/mnist`` when set), else a
download into the cache. ``load_data(path=...)`` reads Keras's ``mnist.npz`` as Keras means it (see
:mod:`cnet.datasets._npz`), or the four IDX files of a folder. Every file is checked against the SHA-256 of
its decompressed content, wherever it comes from.
"""

from __future__ import annotations

import numpy as np

import os
from pathlib import Path

from ._load import load_dataset
from ._npz import load_npz
from ._spec import DatasetSpec, FileSpec

__all__ = ["load_data", "load_mnist"]

SPEC = DatasetSpec(
    name="mnist",
    title="MNIST",
    # SHA-256 of the decompressed files (the gzip bytes differ between mirrors and recompressions).
    train_images=FileSpec("train-images-idx3-ubyte", 2051, (60000, 28, 28),
                          sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    train_labels=FileSpec("train-labels-idx1-ubyte", 2049, (60000,),
                          sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    test_images=FileSpec("t10k-images-idx3-ubyte", 2051, (10000, 28, 28),
                         sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    test_labels=FileSpec("t10k-labels-idx1-ubyte", 2049, (10000,),
                         sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    npz_mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",),
    npz_sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)


def load_data(path=None):
    """Load MNIST as Keras does: ``((x_train, y_train), (x_test, y_test))``.

    x_train: uint8 (60000, 28, 28), y_train: uint8 (60000,), x_test: uint8 (10000, 28, 28),
    y_test: uint8 (10000,); pixel values 0..255, labels 0..9.

    Args:
        path: as in Keras, the name of the ``.npz`` file (``x_train``, ``y_train``, ``x_test``, ``y_test``)
            relative to the cache, e.g. 'mnist.npz': looked for in cnet's cache, then in Keras's
            (``~/.keras/datasets``), else downloaded into cnet's cache from Keras's URL and kept only if its
            SHA-256 is that of Keras's file; an absolute path is used (and downloaded to) as it is. Its
            arrays are verified against the SHA-256 of MNIST's content. cnet also takes a *folder* holding
            ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
            ``t10k-labels-idx1-ubyte``, each gzip-compressed (``.gz``) or raw: then only this folder is used.
            When None: ``$CNET_DATA/mnist``, then the cache, then a download (the IDX files).

    Raises:
        DatasetNotFoundError (an OSError): the files are not found and cannot be downloaded.
        DatasetCorruptError (a ValueError): a file is invalid, truncated or fails its checksum.
    """
    if path is not None and not Path(os.fspath(path)).expanduser().is_dir():
        return load_npz(SPEC, path)
    return load_dataset(SPEC, path)


def _one_hot(labels, num_classes=10):
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def load_mnist(normalize=True, flatten=True, one_hot_label=False, path=None):
    """Load MNIST the way "Deep Learning from Scratch" does: ``((x_train, t_train), (x_test, t_test))``.

    Args:
        normalize: images as float32 in [0, 1] (else uint8 0..255).
        flatten: images of shape (N, 784) (else channels-first (N, 1, 28, 28)).
        one_hot_label: labels as float32 one-hot rows (N, 10) (else uint8 (N,)).
        path: a folder holding the four files, as in :func:`load_data`.
    """
    (x_train, t_train), (x_test, t_test) = load_data(path)

    def images(x):
        x = x.reshape(x.shape[0], -1) if flatten else x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
        if normalize:
            x = x.astype(np.float32)
            x /= np.float32(255.0)
        return x

    def labels(t):
        return _one_hot(t) if one_hot_label else t

    return (images(x_train), labels(t_train)), (images(x_test), labels(t_test))
