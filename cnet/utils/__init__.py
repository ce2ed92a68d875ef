"""Helpers of the Keras API (keras.utils): ``to_categorical`` and ``normalize``, also importable from
``cnet.utils.np_utils`` as in Keras 2.1."""
from . import np_utils
from .np_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize", "np_utils"]
