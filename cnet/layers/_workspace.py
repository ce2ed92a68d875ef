"""The memory of a model's training step: the layers' workspace buffers placed in one slab by lifetime.

In a training step (cnet._graph.Graph.workspaces) every layer call writes its outputs and gradients
into workspace buffers (Layer._buf) rather than new arrays, so that a step in steady state allocates
nothing. Kept per layer, those buffers hold every activation and every gradient of the network at
once, though most are dead long before the step ends. A model's graph gives them a StepMemory
instead: each buffer is a view of one slab, and two buffers share memory only when their lifetimes
do not overlap.

Lifetimes follow from where a buffer is asked for, without watching the data. A step runs the plan's
n calls forward (event i for call i), then backward in reverse order (event 2n - 1 - i for call i):

- a buffer of the forward of call i lives until the backward of call i. Whatever can read it -- the
  call itself, and the calls after it that take its output or a view of it -- is done by then: they
  come later in the plan, so their backward runs first. The forward buffers of a call whose output is
  a model output live through the whole step and after it (the loss and the metrics read them), and so
  does a buffer a model output is a view of (a Flatten or Reshape last, say): a forward that placed
  buffers looks for those at its end, before any buffer of the backward is placed;
- a buffer of a backward lives until the end of the step (a gradient handed back may be passed on in
  place by several layers), unless the layer asked for it `temp`: used by that backward call alone;
- a layer writes into a buffer it does not own only as cnet/layers/_blocked.py allows (the gradient
  a MaxPooling2D scatters into the output a Conv2D lent it), and that is read by the owner's
  backward, within the buffer's lifetime.

A buffer goes at the lowest offset where it overlaps no buffer still alive at that event (first fit).
The placement is made the first time a step asks for its buffers, then replayed: a step that asks for
the same buffers in the same order gets the same views, for the cost of a comparison each. A step
that asks for others (another batch size, another path through a layer) is placed anew from the
first request that differs, in the same slab. The slab is reserved once, at an upper bound of what a
step could ask for (untouched pages cost no memory); a buffer that would not fit gets memory of its
own, as do all of them when the reservation fails.
"""
import math

import numpy as np

ALIGN = 64                 # bytes: every buffer starts on a cache line
ENABLED = True             # False: the layers keep their buffers one by one (tests compare the two)
_FOREVER = 1 << 62         # the end of a model output's buffers: after the step
_PER_CALL = 8              # arrays a call may ask for, each at most as large as its input or output


class StepMemory:
    """The placement of the workspace buffers of a graph's training steps (see the module doc).
    n_calls: the calls of the plan; kept: the positions of the calls whose output is a model output."""

    def __init__(self, n_calls, kept):
        self.n = n_calls
        self.kept = frozenset(kept)
        self.t = 0                # the current event (set by the graph around each call)
        self._pos = 0             # the next entry of the plan to replay
        self._plan = []           # (layer, key, shape, dtype, event, temp, view, offset, size, end)
        self._slab = None
        self._batch, self._layers = 0, ()
        self._placed = False      # this forward placed buffers (end_forward looks at the outputs)

    def __deepcopy__(self, memo):
        """A copy places anew (its slab, empty until a step, is its own)."""
        return StepMemory(self.n, self.kept)

    def begin(self, batch, layers):
        """A training forward of `batch` samples through `layers` (the calls) starts: the plan replays
        from its first request."""
        self._pos, self.t, self._batch, self._layers = 0, 0, batch, layers

    def end_forward(self, outputs):
        """The training forward ended with these model outputs: when it placed buffers, a buffer an
        output is a view of lives after the step too (its end extended before the backward places any)."""
        if not self._placed:
            return
        self._placed = False
        for i, e in enumerate(self._plan):
            if e[9] != _FOREVER and any(isinstance(v, np.ndarray) and np.may_share_memory(v, e[6])
                                        for v in outputs):
                self._plan[i] = e[:9] + (_FOREVER,)

    def request(self, layer, key, shape, dtype, temp):
        """The buffer `key` of `layer` (shape, dtype) at the current event (Layer._buf)."""
        pos, plan = self._pos, self._plan
        self._pos = pos + 1
        if pos < len(plan):
            e = plan[pos]
            if e[0] is layer and e[1] == key and e[2] == shape and e[3] == dtype and e[4] == self.t \
                    and e[5] == temp:
                return e[6]
            del plan[pos:]        # this step departs from the plan here: placed anew from here on
        return self._place(layer, key, shape, np.dtype(dtype), temp)

    def _end(self, temp):
        t, n = self.t, self.n
        if t < n:                 # the forward of call t
            return _FOREVER if t in self.kept else 2 * n - 1 - t
        return t if temp else 2 * n

    def _place(self, layer, key, shape, dtype, temp):
        plan, t = self._plan, self.t
        if not plan:              # a step placed from its start: the slab fits its batch
            need = step_bound(self._layers, self._batch)
            if self._slab is None or self._slab.nbytes < need:
                self._slab = None
                self._slab = _reserve(need)
        size = -(-math.prod(shape) * dtype.itemsize // ALIGN) * ALIGN
        live = sorted((e[7], e[7] + e[8]) for e in plan if e[7] is not None and e[9] >= t)
        offset = 0
        for start, stop in live:
            if offset + size <= start:
                break
            offset = max(offset, stop)
        if self._slab is not None and offset + size <= self._slab.nbytes:
            view = self._slab[offset:offset + math.prod(shape) * dtype.itemsize].view(dtype).reshape(shape)
        else:                     # past the reservation: memory of its own
            offset, view = None, np.empty(shape, dtype)
        plan.append((layer, key, shape, dtype, t, temp, view, offset, size, self._end(temp)))
        self._placed = self._placed or t < self.n
        return view

    def buffers(self):
        """The buffers of the current plan, in request order: dicts of layer, key, shape, dtype, start
        and end (the events of its lifetime), offset in the slab (None: memory of its own), size."""
        return [dict(layer=e[0], key=e[1], shape=e[2], dtype=e[3], start=e[4], end=e[9], offset=e[7],
                     size=e[8], temp=e[5]) for e in self._plan]

    def high_water(self):
        """The bytes of the slab the current plan uses (its buffers' highest end)."""
        return max((e[7] + e[8] for e in self._plan if e[7] is not None), default=0)

    def own_bytes(self):
        """The bytes of the buffers of the current plan that did not fit the slab."""
        return sum(e[6].nbytes for e in self._plan if e[7] is None)


def _reserve(nbytes):
    """A slab of at least nbytes starting on a cache line (pages are touched only when used), or a
    smaller one when the system refuses (the buffers past it get memory of their own); None if none."""
    while nbytes >= 1 << 20:
        try:
            raw = np.empty(nbytes + ALIGN, np.uint8)
        except MemoryError:
            nbytes //= 2
            continue
        skip = -raw.ctypes.data % ALIGN
        return raw[skip:skip + nbytes]
    return None


def step_bound(layers, batch):
    """An upper bound of the bytes of the workspace buffers of a training step of `layers` on `batch`
    samples: _PER_CALL arrays per call, each the size of its input or output (whichever is larger),
    the channels padded to whole blocks of 64 bytes (the blocked layout, cnet/layers/_blocked.py)."""
    total = 0
    for layer in layers:
        item = 8 if layer.dtype is None else layer.dtype.itemsize
        sizes = [_padded(s, 64 // item) for s in _shapes(layer.input_shape) + _shapes(layer.output_shape)]
        total += _PER_CALL * batch * item * max(sizes, default=0)
    return total + (1 << 20)


def _shapes(shape):
    if shape is None:
        return []
    if len(shape) and isinstance(shape[0], (tuple, list)):    # several inputs
        return [tuple(s) for s in shape]
    return [tuple(shape)]


def _padded(shape, lanes):
    """The elements of one sample of `shape` with its first or last axis (the channels) padded to
    whole blocks of `lanes`, whichever is more."""
    if any(d is None for d in shape):
        return 0
    n = math.prod(shape)
    if len(shape) < 3:
        return n
    return max(n // c * (-(-c // lanes) * lanes) if c else 0 for c in (shape[0], shape[-1]))
