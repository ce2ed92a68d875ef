"""Weight initializers (Keras 2 names, plus the book's 'he' / 'xavier' / weight_init_std) and cnet's seed.

An initializer is called as ``init(shape, dtype)`` and returns a new array. Fans follow Keras, for
cnet's layouts: a Dense kernel (D, U) has fan_in = D, fan_out = U; a Conv2D kernel (K, C, KH, KW) has
fan_in = C*KH*KW, fan_out = K*KH*KW.

Random numbers come from one NumPy Generator owned by this module. ``set_seed(seed)`` reseeds it
(also as ``cnet.set_seed``), so a model built after a given seed always gets the same weights; an
initializer given its own ``seed`` uses a Generator of that seed instead (the same values every call).

Names for ``get``: 'glorot_uniform', 'glorot_normal', 'he_normal', 'he_uniform', 'lecun_normal',
'lecun_uniform', 'zeros', 'ones', 'constant', 'random_normal', 'random_uniform', 'truncated_normal',
and the book's 'he' / 'relu' (Gaussian, std sqrt(2/fan_in)), 'xavier' / 'sigmoid' (Gaussian,
std sqrt(1/fan_in)), 'normal' or a number (Gaussian with std weight_init_std, default 0.01).
"""
import math
import numbers

import numpy as np

__all__ = ["set_seed", "get_rng", "compute_fans", "Initializer", "Zeros", "Ones", "Constant",
           "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "glorot_uniform",
           "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "zeros",
           "ones", "constant", "random_normal", "random_uniform", "truncated_normal", "get"]

_global = {"rng": np.random.default_rng(), "seed": None}


def set_seed(seed):
    """Reseed cnet's random numbers (weight initialization, default Dropout seeds)."""
    _global["rng"] = np.random.default_rng(seed)
    _global["seed"] = seed


def get_rng():
    """The numpy Generator behind initializers without their own seed."""
    return _global["rng"]


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape: (D, U) dense, (K, C, KH, KW) convolution."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


class Initializer:
    """Base class: ``__call__(shape, dtype='float32') -> ndarray``; ``get_config()`` for saving."""

    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return np.random.default_rng(self.seed) if self.seed is not None else _global["rng"]

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __init__(self):
        super().__init__()

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)

    def get_config(self):
        return {}


class Ones(Initializer):
    def __init__(self):
        super().__init__()

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)

    def get_config(self):
        return {}


class Constant(Initializer):
    def __init__(self, value=0.0):
        super().__init__()
        self.value = float(value)

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype="float32"):
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated(rng, stddev, shape):
    """Normal(0, stddev) values redrawn until they lie within two standard deviations."""
    v = rng.standard_normal(size=shape)
    bad = np.abs(v) > 2.0
    while bad.any():
        v[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(v) > 2.0
    return v * stddev


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        return (self.mean + _truncated(self._rng(), self.stddev, shape)).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it keeps the variance.
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(Initializer):
    """Variance scale/n with n = fan_in, fan_out or their mean ('fan_avg').

    distribution 'uniform' (limit sqrt(3*scale/n)), 'normal' / 'truncated_normal' (truncated at two
    standard deviations, rescaled so the variance is scale/n) or 'untruncated_normal' (the book's).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("uniform", "normal", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        var = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            v = rng.uniform(-limit, limit, size=shape)
        elif self.distribution == "untruncated_normal":
            v = rng.standard_normal(size=shape) * math.sqrt(var)
        else:
            v = _truncated(rng, math.sqrt(var) / _TRUNCATED_STD, shape)
        return v.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def glorot_uniform(seed=None):
    """Uniform in [-limit, limit], limit = sqrt(6/(fan_in + fan_out))."""
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def glorot_normal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "normal", seed)


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "normal", seed)


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def zeros():
    return Zeros()


def ones():
    return Ones()


def constant(value=0.0):
    return Constant(value)


def random_normal(mean=0.0, stddev=0.05, seed=None):
    return RandomNormal(mean, stddev, seed)


def random_uniform(minval=-0.05, maxval=0.05, seed=None):
    return RandomUniform(minval, maxval, seed)


def truncated_normal(mean=0.0, stddev=0.05, seed=None):
    return TruncatedNormal(mean, stddev, seed)


_BY_NAME = {
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_normal": he_normal, "he_uniform": he_uniform,
    "lecun_normal": lecun_normal, "lecun_uniform": lecun_uniform,
    "zeros": zeros, "zero": zeros, "ones": ones, "one": ones, "constant": constant,
    "random_normal": random_normal, "random_uniform": random_uniform,
    "truncated_normal": truncated_normal,
    # the book's names (common/multi_layer_net.py): Gaussian without truncation
    "he": lambda: VarianceScaling(2.0, "fan_in", "untruncated_normal"),
    "relu": lambda: VarianceScaling(2.0, "fan_in", "untruncated_normal"),
    "xavier": lambda: VarianceScaling(1.0, "fan_in", "untruncated_normal"),
    "sigmoid": lambda: VarianceScaling(1.0, "fan_in", "untruncated_normal"),
}
_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform,
                                    TruncatedNormal, VarianceScaling)}


def get(identifier, weight_init_std=0.01):
    """An initializer from a name, a number (the book's weight_init_std), a config dict or itself.

    'normal' gives a Gaussian of standard deviation ``weight_init_std`` (the book's default 0.01).
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, bool):
        return RandomNormal(0.0, float(identifier))
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown initializer class {identifier.get('class_name')!r}; "
                             f"known: {sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        key = identifier.lower()
        if key == "normal":
            return RandomNormal(0.0, float(weight_init_std))
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_BY_NAME) + ['normal']}")
    if callable(identifier):
        return identifier
    raise TypeError(f"an initializer must be a name, a number or a callable, got {identifier!r}")


def serialize(initializer):
    """{'class_name', 'config'} of an initializer, or its name when given as a string."""
    if isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    raise ValueError(f"cannot serialize the custom initializer {initializer!r}")
