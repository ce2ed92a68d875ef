"""Activation layers with their own class (keras.layers.advanced_activations): ReLU, Softmax."""
from .core import Activation


class ReLU(Activation):
    """max(x, 0). Only Keras's defaults (max_value=None, negative_slope=0, threshold=0) are supported."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None or negative_slope != 0 or threshold != 0:
            raise NotImplementedError("ReLU: only max_value=None, negative_slope=0, threshold=0 are supported")
        super().__init__("relu", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return config


class Softmax(Activation):
    """Softmax along axis (default -1, the features of (N, D) inputs)."""

    def __init__(self, axis=-1, **kwargs):
        self.axis = int(axis)
        super().__init__("softmax", **kwargs)

    def _softmax_axis(self):
        return self.axis

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        config["axis"] = self.axis
        return config
