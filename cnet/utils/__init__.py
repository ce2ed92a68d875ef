"""Helpers of the Keras API (keras.utils): ``to_categorical`` and ``normalize``, also importable from
``cnet.utils.np_utils`` as in Keras 2.1, and ``Sequence`` (``cnet.utils.data_utils``), the base class of
data sets that fit/evaluate/predict read batch by batch."""
from . import data_utils, np_utils
from .data_utils import Sequence
from .np_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize", "Sequence", "np_utils", "data_utils"]
