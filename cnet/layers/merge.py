"""Merge layers (keras.layers.merge): Concatenate, Add, Multiply, Average, and their functional forms
concatenate, add, multiply, average. Each takes a list of at least two inputs: ``forward([x1, x2, ...])``
returns one array and ``backward(dout)`` a list of input gradients (one per input, each an array of its
own, so a caller may overwrite one without changing another)."""
import numpy as np

from .. import backend
from .base import _FLOATS, Layer, _int, _shape

__all__ = ["Concatenate", "Add", "Multiply", "Average", "concatenate", "add", "multiply", "average"]


class _Merge(Layer):
    """What the merge layers share: a list of inputs, their shapes, casting, caching, the gradients."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self._declared_input_shape is not None:
            raise ValueError(f"{type(self).__name__}: input_shape is not supported: a merge layer takes the "
                             "shapes of the tensors it is called on")

    def _symbolic_input_shape(self, tensors):
        return [t.shape[1:] for t in tensors]

    def _shapes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2 or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{self.name} ({type(self).__name__}) takes a list of at least 2 inputs, got "
                             f"input shape {input_shape!r}")
        return [_shape(s) for s in input_shape]

    def build(self, input_shape, dtype=None):
        """input_shape: the list of the inputs' shapes (without the batch axis)."""
        shapes = self._shapes(input_shape)
        if self.built:
            if shapes != self.input_shape:
                raise ValueError(f"{self.name} was built for inputs of shapes {self.input_shape} (without the "
                                 f"batch axis), not {shapes}")
            return self.output_shape
        if dtype is not None and np.dtype(dtype) not in _FLOATS:
            raise TypeError(f"{self.name}: dtype must be float32 or float64, got {dtype}")
        self.dtype = np.dtype(dtype if dtype is not None else self.dtype or backend.floatx())
        self.output_shape = tuple(self.compute_output_shape(shapes))
        self.input_shape = shapes
        self.built = True
        return self.output_shape

    def forward(self, inputs, train=True, *, logits=False, train_flg=None):
        if train_flg is not None:
            train = train_flg
        if logits:
            raise ValueError(f"{self.name} ({type(self).__name__}) has no softmax to skip (logits=True)")
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{self.name} ({type(self).__name__}) takes a list of at least 2 arrays")
        xs = [x if isinstance(x, np.ndarray) else np.asarray(x) for x in inputs]
        if not self.built:
            if any(x.ndim < 1 for x in xs):
                raise ValueError(f"{self.name}: expected batches of inputs (N, ...), got a scalar")
            first = xs[0].dtype
            self.build([x.shape[1:] for x in xs], first if self.dtype is None and first in _FLOATS else None)
        xs = [x if x.dtype == self.dtype else x.astype(self.dtype) for x in xs]
        shapes = [x.shape[1:] for x in xs]
        if shapes != self.input_shape or len({x.shape[0] for x in xs}) != 1:
            raise ValueError(f"{self.name} ({type(self).__name__}) expected inputs of shapes "
                             f"{[(None,) + s for s in self.input_shape]} (one batch size) but got "
                             f"{[x.shape for x in xs]}")
        self._cached = bool(train)
        self._reuse = self._workspace and bool(train)
        return self._merge(xs, bool(train))

    def backward(self, dout):
        if dout is None:
            return [None] * len(self.input_shape)
        if not self._cached:
            raise RuntimeError(f"{self.name}: backward() needs a forward(x, train=True) first "
                               f"(forward with train=False caches nothing)")
        dout = np.asarray(dout, dtype=self.dtype)
        return self._unmerge(dout)

    def _out(self, key, like):
        """A workspace buffer shaped like `like` (in a training step), else a new array."""
        buf = self._buf(key, like.shape)
        return np.empty(like.shape, self.dtype) if buf is None else buf

    def _copy(self, key, a):
        """A copy of `a` (into a workspace buffer in a training step)."""
        out = self._out(key, a)
        np.copyto(out, a)
        return out

    def weight_shapes(self, input_shape):
        self._shapes(input_shape)
        return []

    def compute_output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"{self.name} ({type(self).__name__}) needs inputs of one shape, got "
                             f"{[(None,) + s for s in shapes]} (broadcasting is not supported: reshape first)")
        return shapes[0]


class Add(_Merge):
    """The sum of its inputs (of one shape)."""

    def _merge(self, xs, train):
        y = np.add(xs[0], xs[1], out=self._out("y", xs[0]))
        for x in xs[2:]:
            np.add(y, x, out=y)
        return y

    def _unmerge(self, dout):
        return [dout] + [self._copy(f"dx{i}", dout) for i in range(1, len(self.input_shape))]


class Average(_Merge):
    """The mean of its inputs (of one shape): their sum divided by their number."""

    def _merge(self, xs, train):
        y = np.add(xs[0], xs[1], out=self._out("y", xs[0]))
        for x in xs[2:]:
            np.add(y, x, out=y)
        return np.divide(y, self.dtype.type(len(xs)), out=y)

    def _unmerge(self, dout):
        n = self.dtype.type(len(self.input_shape))
        return [np.divide(dout, n, out=self._out(f"dx{i}", dout)) for i in range(len(self.input_shape))]


class Multiply(_Merge):
    """The elementwise product of its inputs (of one shape)."""

    def _merge(self, xs, train):
        y = np.multiply(xs[0], xs[1], out=self._out("y", xs[0]))
        for x in xs[2:]:
            np.multiply(y, x, out=y)
        if train:
            self._xs = xs
        return y

    def _unmerge(self, dout):
        grads = []
        for i in range(len(self._xs)):
            others = [x for j, x in enumerate(self._xs) if j != i]
            g = np.multiply(dout, others[0], out=self._out(f"dx{i}", dout))
            for x in others[1:]:
                np.multiply(g, x, out=g)
            grads.append(g)
        return grads


class Concatenate(_Merge):
    """Joins its inputs along `axis` (Keras's numbering: 0 is the batch axis, -1 the last; default -1).
    The inputs' other axes must agree. Images are channels-first: their channels are axis=1."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _int(axis, "Concatenate: axis")

    def _axis(self, ndim):
        """The axis within one sample (no batch axis) of inputs with ndim axes per sample."""
        a = self.axis + ndim if self.axis < 0 else self.axis - 1
        if self.axis == 0:
            raise ValueError(f"{self.name}: Concatenate(axis=0) would join batches (axis 0 is the batch axis); "
                             "join samples along axis 1 or later")
        if not 0 <= a < ndim:
            raise ValueError(f"{self.name}: axis={self.axis} is out of range for inputs of {ndim + 1} axes "
                             "(the batch axis included)")
        return a

    def compute_output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"{self.name}: Concatenate needs inputs with the same number of axes, got "
                             f"{[(None,) + s for s in shapes]}")
        a = self._axis(len(shapes[0]))
        rest = {s[:a] + s[a + 1:] for s in shapes}
        if len(rest) != 1:
            raise ValueError(f"{self.name}: Concatenate(axis={self.axis}) needs inputs whose other axes agree, "
                             f"got {[(None,) + s for s in shapes]}")
        out = list(shapes[0])
        out[a] = sum(s[a] for s in shapes)
        return tuple(out)

    def _merge(self, xs, train):
        a = self._axis(xs[0].ndim - 1) + 1
        n = xs[0].shape[0]
        return np.concatenate(xs, axis=a, out=self._buf("y", (n,) + self.output_shape))

    def _unmerge(self, dout):
        a = self._axis(dout.ndim - 1) + 1
        grads, start = [], 0
        for i, shape in enumerate(self.input_shape):
            size = shape[a - 1]
            grads.append(self._copy(f"dx{i}", dout[(slice(None),) * a + (slice(start, start + size),)]))
            start += size
        return grads

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def concatenate(inputs, axis=-1, **kwargs):
    """Concatenate(axis=axis, **kwargs)(inputs)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    """Add(**kwargs)(inputs)."""
    return Add(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Multiply(**kwargs)(inputs)."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Average(**kwargs)(inputs)."""
    return Average(**kwargs)(inputs)
