"""Fashion-MNIST (Zalando article images): Keras-style ``load_data``.

>>> from cnet.datasets import fashion_mnist
>>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

Same file names, format and lookup as MNIST, under ``fashion_mnist`` (``$CNET_DATA/fashion_mnist``,
``~/.cache/cnet/fashion_mnist``).

Checksums: the SHA-256 of the decompressed files is not published, so no content checksum is applied to files
you provide (``path`` or ``CNET_DATA``): they get the structural validation only (magic, dimensions, exact
length, gzip integrity, counts). Downloaded ``.gz`` files, and the ``.gz`` files in the cache, are verified
against the MD5 published by Zalando Research (README of github.com/zalandoresearch/fashion-mnist) and against
the SHA-256 of the ``.gz`` files as published by other projects (torchvision-era loaders and download hash lists;
two independent sources agree).
"""

from __future__ import annotations

from ._load import load_dataset
from ._spec import DatasetSpec, FileSpec

__all__ = ["load_data", "CLASS_NAMES"]

#: Label i means CLASS_NAMES[i].
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

SPEC = DatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    train_images=FileSpec("train-images-idx3-ubyte", 2051, (60000, 28, 28),
                          gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                          gz_sha256="08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
    train_labels=FileSpec("train-labels-idx1-ubyte", 2049, (60000,),
                          gz_md5="25c81989df183df01b3e8a0aad5dffbe",
                          gz_sha256="b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
    test_images=FileSpec("t10k-images-idx3-ubyte", 2051, (10000, 28, 28),
                         gz_md5="bef4ecab320f06d8554ea6380940ec79",
                         gz_sha256="78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
    test_labels=FileSpec("t10k-labels-idx1-ubyte", 2049, (10000,),
                         gz_md5="bb300cfdad3c16e7a12a480ee83cd310",
                         gz_sha256="42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"),
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        # S3 website endpoints serve plain HTTP only; integrity comes from the checksums above.
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
)


def load_data(path=None):
    """Load Fashion-MNIST as Keras does: ``((x_train, y_train), (x_test, y_test))``.

    x_train: uint8 (60000, 28, 28), y_train: uint8 (60000,), x_test: uint8 (10000, 28, 28),
    y_test: uint8 (10000,); labels 0..9 (see CLASS_NAMES).

    Args:
        path: unlike Keras, a *folder* holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each ``.gz`` or raw). When given, only
            this folder is used. When None: ``$CNET_DATA/fashion_mnist``, then the cache, then a download.

    Raises:
        DatasetNotFoundError (an OSError): the files are not found and cannot be downloaded.
        DatasetCorruptError (a ValueError): a file is invalid, truncated or fails its checksum.
    """
    return load_dataset(SPEC, path)
