"""Symbolic tensors: what ``Input(...)`` returns and what a layer called on one returns (Keras's functional
API). A ``KerasTensor`` holds no numbers, only the shape (with None for the batch axis, as Keras shows it),
the dtype and the ``Node`` that made it: a call of one layer on its input tensors. ``Model(inputs,
outputs)`` (cnet.models) follows the nodes back from the outputs to the inputs and runs those layers."""
import itertools

import numpy as np

__all__ = ["KerasTensor", "Node", "is_symbolic"]

_created = itertools.count()   # nodes in the order they were made: always an order their inputs allow

_NO_ARITHMETIC = ("arithmetic and indexing on symbolic tensors are not supported: combine tensors with the "
                  "merge layers (cnet.layers.Add()([a, b]), Multiply, Average, Concatenate) and reshape them "
                  "with layers (Reshape, Flatten)")


class Node:
    """One call of `layer` on `inputs` (a list of KerasTensors; empty for an InputLayer), which made
    `output`. `order` counts the nodes made so far: producers always have a smaller order."""

    __slots__ = ("layer", "inputs", "output", "order")

    def __init__(self, layer, inputs, shape, dtype, data_format=None):
        self.layer = layer
        self.inputs = list(inputs)
        self.order = next(_created)
        self.output = KerasTensor(shape, dtype, self, data_format)

    def __repr__(self):
        return f"<Node of {self.layer.name!r} on {[t.node.layer.name for t in self.inputs]}>"


class KerasTensor:
    """A symbolic tensor: `shape` ((None,) + the shape of one sample), `dtype`, and `node` (the layer
    call that made it; `layer` is node.layer). Pass it to layers and to Model(inputs, outputs).
    `data_format`: the layout of the images it carries ('channels_first', 'channels_last'; None when it
    carries no image, or one of unknown layout), which the layers called on it adopt when theirs is not set
    (Layer.adopt_data_format)."""

    __slots__ = ("shape", "dtype", "node", "data_format")

    def __init__(self, shape, dtype, node, data_format=None):
        self.shape = (None,) + tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.data_format = data_format

    layer = property(lambda self: self.node.layer)
    ndim = property(lambda self: len(self.shape))
    name = property(lambda self: f"{self.node.layer.name}/output")

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape} dtype={self.dtype.name} (created by layer "
                f"{self.node.layer.name!r})>")

    def _refuse(self, *args, **kwargs):
        raise TypeError(_NO_ARITHMETIC)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __matmul__ = __rmatmul__ = __pow__ = __neg__ = __getitem__ = _refuse

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic (it holds no numbers): build a Model(inputs, outputs) and "
                        "call its predict() on arrays")


def is_symbolic(inputs):
    """True for a KerasTensor or a non-empty list/tuple of them; a list mixing tensors and arrays is an
    error (TypeError)."""
    if isinstance(inputs, KerasTensor):
        return True
    if isinstance(inputs, (list, tuple)) and inputs:
        kinds = {isinstance(t, KerasTensor) for t in inputs}
        if kinds == {True}:
            return True
        if len(kinds) > 1:
            raise TypeError("a layer was called on a list mixing symbolic tensors and arrays: call it on "
                            "symbolic tensors (to build a Model) or on arrays (to compute)")
    return False
