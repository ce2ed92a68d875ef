"""Keras's image augmentation: ``ImageDataGenerator`` and its ``flow(x, y)`` (``keras.preprocessing.image``).

    datagen = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1,
                                 zoom_range=0.1, horizontal_flip=True, rescale=1 / 255)
    model.fit_generator(datagen.flow(x_train, y_train, batch_size=32), steps_per_epoch=len(x_train) / 32,
                        epochs=10)          # or model.fit(datagen.flow(...), epochs=10)

Images are (N, C, H, W) (channels first, cnet's default; data_format='channels_last' takes (N, H, W, C)).
Each image gets a random affine transform (rotation_range in degrees, width/height_shift_range as a
fraction of the size when < 1 else in pixels, or a list of shifts to choose from; shear_range in degrees;
zoom_range z: zoom factors in [1 - z, 1 + z], or [lo, hi]) about its centre, resampled bilinearly
(fill_mode 'nearest', 'constant' with cval, 'reflect' or 'wrap'), then channel_shift_range, random flips;
then preprocessing_function (one image in, one out), rescale, samplewise_center/std_normalization (over
the whole image) and featurewise_center/std_normalization/zca_whitening (per-channel statistics from
fit(x); as in Keras, fit sees x without rescale). The affine rules are Keras 2.2's (shear in degrees, zoom >
1 shows a smaller image) with the exact centre (H - 1)/2 and whole-image samplewise statistics, as in
keras-preprocessing's later versions (Keras 2.1's samplewise statistics ran over the channel axis only).

The random draws of a batch depend only on (seed, epoch, batch index), never on the order or the thread
in which batches are made: flow(..., seed=s) repeats its batches exactly, with any number of workers.
Without a seed, flow draws one from cnet's global seed (cnet.set_seed). brightness_range and
flow_from_directory are not supported (each raises, saying what to do instead).
"""
import math
import numbers

import numpy as np

from .. import backend, initializers
from ..utils import Sequence
from ._affine import FILL_MODES, affine_batch

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "Iterator"]


def _number(value, name, low=0.0):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) \
            or not math.isfinite(value) or value < low:
        raise ValueError(f"ImageDataGenerator: {name} must be a finite number >= {low}, got {value!r}")
    return float(value)


def _shift_range(value, name):
    if isinstance(value, (list, tuple, np.ndarray)):
        values = [_number(v, name + " entries") for v in np.ravel(value)]
        if not values:
            raise ValueError(f"ImageDataGenerator: {name} must not be an empty list")
        return values
    return _number(value, name)


class ImageDataGenerator:
    """Random augmentation and normalization of image batches, Keras 2's arguments (module docstring)."""

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0.0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, dtype=None):
        if brightness_range is not None:
            raise ValueError("ImageDataGenerator: brightness_range is not supported (Keras applies it through "
                             "Pillow); scale the pixels yourself in preprocessing_function, e.g. lambda im: im * "
                             "np.random.uniform(0.8, 1.2)")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {', '.join(FILL_MODES)}, got "
                             f"{fill_mode!r}")
        data_format = backend.image_data_format() if data_format is None else data_format
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"ImageDataGenerator: data_format must be 'channels_first' or 'channels_last', got "
                             f"{data_format!r}")
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError("ImageDataGenerator: preprocessing_function must be a function of one image")
        self.featurewise_center, self.samplewise_center = bool(featurewise_center), bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening, self.zca_epsilon = bool(zca_whitening), _number(zca_epsilon, "zca_epsilon")
        self.rotation_range = _number(rotation_range, "rotation_range")
        self.width_shift_range = _shift_range(width_shift_range, "width_shift_range")
        self.height_shift_range = _shift_range(height_shift_range, "height_shift_range")
        self.shear_range = _number(shear_range, "shear_range")
        if isinstance(zoom_range, (list, tuple, np.ndarray)):
            if len(zoom_range) != 2:
                raise ValueError(f"ImageDataGenerator: zoom_range must be a number or [lower, upper], got "
                                 f"{zoom_range!r}")
            self.zoom_range = [_number(z, "zoom_range") for z in zoom_range]
        else:
            z = _number(zoom_range, "zoom_range")
            self.zoom_range = [1.0 - z, 1.0 + z]
        if not 0.0 < self.zoom_range[0] <= self.zoom_range[1]:
            raise ValueError(f"ImageDataGenerator: the zoom factors must be > 0 and lower <= upper, got "
                             f"{self.zoom_range}")
        self.channel_shift_range = _number(channel_shift_range, "channel_shift_range")
        self.fill_mode, self.cval = fill_mode, _number(cval, "cval", low=-math.inf)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.rescale = None if rescale is None else _number(rescale, "rescale", low=-math.inf)
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self.validation_split = _number(validation_split, "validation_split")
        if self.validation_split >= 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be in [0, 1), got {validation_split!r}")
        self.dtype = np.dtype(backend.floatx() if dtype is None else dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"ImageDataGenerator: dtype must be a float type, got {self.dtype}")
        self.mean = self.std = self.principal_components = None

    # -- the random transform ---------------------------------------------------------------------
    def _geometric(self):
        return bool(self.rotation_range or self.width_shift_range or self.height_shift_range or self.shear_range
                    or self.zoom_range != [1.0, 1.0])

    def _draw_shift(self, rng, spec, size):
        if isinstance(spec, list):
            shift = spec[rng.integers(len(spec))] * rng.choice([-1.0, 1.0])
            return shift * size if max(spec) < 1 else shift
        if not spec:
            return 0.0
        shift = rng.uniform(-spec, spec)
        return shift * size if spec < 1 else shift

    def get_random_transform(self, img_shape, seed=None, rng=None):
        """The random parameters of one image of shape img_shape (Keras 2.2): theta, tx, ty, shear (degrees;
        tx rows, ty columns), zx, zy, flip_horizontal, flip_vertical, channel_shift_intensity."""
        rng = np.random.default_rng(seed) if rng is None else rng
        h, w = (img_shape[1], img_shape[2]) if self.data_format == "channels_first" else img_shape[:2]
        zx, zy = (1.0, 1.0) if self.zoom_range == [1.0, 1.0] else rng.uniform(*self.zoom_range, size=2)
        return {"theta": rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0,
                "tx": self._draw_shift(rng, self.height_shift_range, h),
                "ty": self._draw_shift(rng, self.width_shift_range, w),
                "shear": rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0,
                "zx": float(zx), "zy": float(zy),
                "flip_horizontal": bool(self.horizontal_flip and rng.random() < 0.5),
                "flip_vertical": bool(self.vertical_flip and rng.random() < 0.5),
                "channel_shift_intensity": (rng.uniform(-self.channel_shift_range, self.channel_shift_range)
                                            if self.channel_shift_range else None)}

    @staticmethod
    def _matrices(params, h, w):
        """(N, 2, 3): for each image's parameters, the matrix mapping an output (row, col) to the input
        point, Keras's composition about the centre c: c + R(theta) (t + Shear Zoom (p - c))."""
        def get(key, default):
            return np.array([p.get(key, default) for p in params], dtype=np.float64)
        theta, shear = np.deg2rad(get("theta", 0.0)), np.deg2rad(get("shear", 0.0))
        zx, zy = get("zx", 1.0), get("zy", 1.0)
        cos, sin = np.cos(theta), np.sin(theta)
        # rotation @ shear @ zoom, as rows: [[cos*zx, -(cos*sin(shear) + sin*cos(shear))*zy], [sin*zx, ...]]
        a00, a10 = cos * zx, sin * zx
        a01 = (-cos * np.sin(shear) - sin * np.cos(shear)) * zy
        a11 = (-sin * np.sin(shear) + cos * np.cos(shear)) * zy
        tx, ty = get("tx", 0.0), get("ty", 0.0)
        oy, ox = (h - 1) / 2.0, (w - 1) / 2.0
        off0 = oy + cos * tx - sin * ty - a00 * oy - a01 * ox
        off1 = ox + sin * tx + cos * ty - a10 * oy - a11 * ox
        return np.stack([np.stack([a00, a01, off0], axis=1), np.stack([a10, a11, off1], axis=1)], axis=1)

    def _transform_batch(self, x, params):
        """Apply each image's parameters to a batch (N, C, H, W) (a new float64 array; x is left as it is)."""
        x = np.array(x, dtype=np.float64)
        if any(p.get("theta") or p.get("tx") or p.get("ty") or p.get("shear") or p.get("zx", 1.0) != 1.0
               or p.get("zy", 1.0) != 1.0 for p in params):
            h, w = x.shape[2:]
            x = affine_batch(x, self._matrices(params, h, w), self.fill_mode, self.cval)
        for i, p in enumerate(params):
            if p.get("channel_shift_intensity") is not None:
                lo, hi = x[i].min(), x[i].max()
                x[i] = np.clip(x[i] + p["channel_shift_intensity"], lo, hi)
            if p.get("flip_horizontal"):
                x[i] = x[i, :, :, ::-1].copy()
            if p.get("flip_vertical"):
                x[i] = x[i, :, ::-1, :].copy()
        return x

    def _to_cf(self, x):
        return x if self.data_format == "channels_first" else np.moveaxis(x, -1, -3)

    def _from_cf(self, x):
        return x if self.data_format == "channels_first" else np.moveaxis(x, -3, -1)

    def apply_transform(self, x, transform_parameters):
        """One image (rank 3) transformed by the parameters of get_random_transform."""
        x = _image(x, "apply_transform")
        return self._from_cf(self._transform_batch(self._to_cf(x)[None], [transform_parameters])[0]).astype(self.dtype)

    def random_transform(self, x, seed=None):
        """One image (rank 3) with a random transform (seed: repeatable)."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    # -- normalization --------------------------------------------------------------------------------
    def standardize(self, x):
        """preprocessing_function, rescale and the normalizations of one image (rank 3) or a batch (rank 4)."""
        x = np.array(x, dtype=self.dtype)
        single = x.ndim == 3
        batch = self._to_cf(x[None] if single else x)
        if batch.ndim != 4:
            raise ValueError(f"standardize: expected an image (rank 3) or a batch of images (rank 4), got shape "
                             f"{x.shape}")
        out = self._standardize(batch)
        out = self._from_cf(out)
        return out[0] if single else out

    def _standardize(self, x):
        """The normalizations of a channels-first batch, in Keras's order."""
        if self.preprocessing_function is not None:
            x = np.stack([self._to_cf(np.asarray(self.preprocessing_function(self._from_cf(im[None])[0]))[None])[0]
                          for im in x])
        x = x.astype(self.dtype, copy=False)
        if self.rescale is not None:
            x = x * self.dtype.type(self.rescale)
        eps = self.dtype.type(backend.epsilon())
        if self.samplewise_center:
            x = x - x.mean(axis=(1, 2, 3), keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (x.std(axis=(1, 2, 3), keepdims=True) + eps)
        for flag, name in ((self.featurewise_center, "featurewise_center"),
                           (self.featurewise_std_normalization, "featurewise_std_normalization"),
                           (self.zca_whitening, "zca_whitening")):
            if flag and (self.mean if name == "featurewise_center" else self.std if name.endswith("normalization")
                         else self.principal_components) is None:
                raise ValueError(f"ImageDataGenerator: {name}=True needs statistics of the training images: call "
                                 "datagen.fit(x_train) first")
        if self.featurewise_center:
            x = x - self.mean.astype(self.dtype)
        if self.featurewise_std_normalization:
            x = x / (self.std.astype(self.dtype) + eps)
        if self.zca_whitening:
            flat = x.reshape(len(x), -1) @ self.principal_components.astype(self.dtype)
            x = flat.reshape(x.shape)
        return x

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the statistics featurewise_center, featurewise_std_normalization and zca_whitening use,
        over the images x (rank 4; with augment, `rounds` randomly transformed copies of them)."""
        x = self._to_cf(np.asarray(x, dtype=np.float64))
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: expected a batch of images of rank 4, got shape {x.shape}")
        if augment:
            rng = np.random.default_rng(seed)
            rounds = int(rounds)
            x = np.concatenate([self._transform_batch(x, [self.get_random_transform(self._from_cf(im).shape, rng=rng)
                                                          for im in x]) for _ in range(rounds)])
        shape = (1, x.shape[1], 1, 1)
        if self.featurewise_center:
            self.mean = x.mean(axis=(0, 2, 3)).reshape(shape)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = x.std(axis=(0, 2, 3)).reshape(shape)
            x = x / (self.std + backend.epsilon())
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T @ flat / len(flat))
            self.principal_components = (u * (1.0 / np.sqrt(s + self.zca_epsilon))) @ u.T

    # -- batches ---------------------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", subset=None):
        """A NumpyArrayIterator (a cnet.utils.Sequence) of augmented batches (x, y), (x, y, sample_weight),
        or x alone without y, for fit/evaluate/predict or fit_generator."""
        if save_to_dir is not None:
            raise ValueError("ImageDataGenerator.flow: save_to_dir is not supported (cnet writes no images); "
                             "take a batch (iterator[0]) and save it with Pillow or matplotlib")
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, subset=subset)

    def flow_from_directory(self, directory, *args, **kwargs):
        raise NotImplementedError("ImageDataGenerator.flow_from_directory is not supported: read the images into "
                                  "an array (N, C, H, W), e.g. with Pillow, and use flow(x, y)")

    def flow_from_dataframe(self, dataframe, *args, **kwargs):
        raise NotImplementedError("ImageDataGenerator.flow_from_dataframe is not supported: read the images into "
                                  "an array (N, C, H, W) and use flow(x, y)")

    def _batch(self, x, rng):
        """Augmented and normalized batch of the images x (the iterator's layout)."""
        x = self._to_cf(x)
        if self._geometric() or self.channel_shift_range or self.horizontal_flip or self.vertical_flip:
            shape = self._from_cf(x[:1]).shape[1:]
            x = self._transform_batch(x, [self.get_random_transform(shape, rng=rng) for _ in range(len(x))])
        return self._from_cf(self._standardize(x))


def _image(x, who):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{who}: expected one image of rank 3, got shape {x.shape}")
    return x


class Iterator(Sequence):
    """Keras's Iterator: batches of n samples in an order drawn per epoch (a Sequence, and an endless
    iterator with next())."""

    def __init__(self, n, batch_size, shuffle, seed):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"flow: batch_size must be a positive integer, got {batch_size!r}")
        self.n, self.batch_size, self.shuffle = n, int(batch_size), bool(shuffle)
        self.seed = int(initializers.get_rng().integers(2 ** 63)) if seed is None else int(seed)
        self.epoch = 0
        self._next = 0

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def _indices(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range: the iterator has {len(self)} batches")
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else None
        part = slice(index * self.batch_size, min((index + 1) * self.batch_size, self.n))
        return np.arange(self.n)[part] if order is None else order[part]

    def __getitem__(self, index):
        return self._batch(self._indices(index), np.random.default_rng([self.seed, self.epoch, index, 1]))

    def on_epoch_end(self):
        self.epoch += 1

    def reset(self):
        self._next = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._next >= len(self):
            self._next = 0
            self.on_epoch_end()
        self._next += 1
        return self[self._next - 1]

    next = __next__


class NumpyArrayIterator(Iterator):
    """The batches of ImageDataGenerator.flow: images x (rank 4), optional targets y and sample weights,
    augmented by the generator; subset 'training' or 'validation' takes the generator's validation_split
    (the first fraction of x is the validation subset, as in Keras)."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 subset=None):
        x = np.asarray(x)
        if x.ndim != 4:
            layout = "(N, C, H, W)" if image_data_generator.data_format == "channels_first" else "(N, H, W, C)"
            raise ValueError(f"flow: x must be a batch of images of rank 4 {layout}, got shape {x.shape}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"flow: x and y must hold the same number of samples, got {len(x)} and {len(y)}")
        if sample_weight is not None and len(sample_weight) != len(x):
            raise ValueError(f"flow: sample_weight must hold one weight per image, got {len(sample_weight)} for "
                             f"{len(x)}")
        if subset is not None:
            split = image_data_generator.validation_split
            if subset not in ("training", "validation") or not split:
                raise ValueError(f"flow: subset must be 'training' or 'validation' with the generator's "
                                 f"validation_split > 0, got subset={subset!r}, validation_split={split}")
            cut = int(split * len(x))
            part = slice(0, cut) if subset == "validation" else slice(cut, None)
            x = x[part]
            y = None if y is None else np.asarray(y)[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        if len(x) == 0:
            raise ValueError("flow: no images")
        self.x = x
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        super().__init__(len(x), batch_size, shuffle, seed)

    def _batch(self, indices, rng):
        gen = self.image_data_generator
        batch_x = gen._batch(self.x[indices], rng).astype(gen.dtype, copy=False)
        if self.y is None:
            return batch_x
        if self.sample_weight is None:
            return batch_x, self.y[indices]
        return batch_x, self.y[indices], self.sample_weight[indices]
