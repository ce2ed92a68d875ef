"""Keras's keras.preprocessing: ``cnet.preprocessing.image.ImageDataGenerator`` (image augmentation)."""
from . import image

__all__ = ["image"]
