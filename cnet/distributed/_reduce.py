"""Gradients summed exactly, so that the order of the additions (which process holds which micro-batch,
MPI's reduction algorithm) cannot change a bit of the result.

Each micro-batch j of a step gives a term t_j = g_j * w_j per gradient element (g_j: the gradient of the
mean loss of the micro-batch; w_j = its share of the global batch). Every term is put on a fixed-point grid,
rint(t_j * 2**k), with one exponent k per tensor and step, and the grid values are added in float64: they
are integers below 2**53 (|term| * 2**k < 2**(53 - ceil(log2 S)) for S micro-batches), so every partial
sum is exact and the total does not depend on the order. The sum, times 2**-k, is rounded once to the
gradient's dtype.

k comes from the previous step's largest term of the tensor (over all micro-batches: a maximum, exact in
any order), aiming 6 bits below the limit. When this step's largest term does not fit (it grew more than
64 times), or would keep fewer than 30 bits (it shrank a lot), or at the first step (no k yet), the step's
sums are redone with the k of this step's own largest term: the result is a function of the step's terms
and of k, and k a function of the previous terms, so a fixed sequence of global batches gives one answer
for any number of processes. (The exponents belong to the training state: a checkpoint keeps them.)

With at most two pieces per step (one or two processes in the default mode) there is no grid: the
pieces' terms are added in the gradients' own type, since two terms have one sum in either order.

Buckets: the tensors in backward order (output layer first) are grouped by layer into buckets of about
``bucket_bytes``; a bucket's allreduce starts as soon as the backward pass of the last micro-batch of
this process has gone through its layers, while the layers below still compute.
"""
import math
import time

import numpy as np

HEADROOM = 6   # bits between the aimed largest term and the limit (growth allowed from one step to the next)
FLOOR = 30     # below this many bits for the largest term, the step is redone with a finer grid
CHUNK = 1 << 15   # elements converted at a time (the float64 scratch stays in the L2 cache)


def sum_bits(count):
    """ceil(log2(count)): how many bits the sum of `count` terms may need above its largest term."""
    return math.ceil(math.log2(count)) if count > 1 else 0


class Tensor:
    """One gradient array: `key` (as in the model's params), the `layer` after whose backward it is final
    (None: only after the whole backward pass), `grad()` returning the current array, its size and dtype."""

    __slots__ = ("key", "layer", "grad", "size", "dtype")

    def __init__(self, key, layer, grad, size, dtype):
        self.key, self.layer, self.grad, self.size, self.dtype = key, layer, grad, int(size), np.dtype(dtype)


class _Bucket:
    __slots__ = ("tensors", "start", "stop", "count", "launched", "request")

    def __init__(self, tensors, start, stop):
        self.tensors, self.start, self.stop = tensors, start, stop


class Reducer:
    """The exact sum over micro-batches and processes of a fixed list of gradient tensors.

    Per attempt at a step: begin(exponents, number of local micro-batches); for each local micro-batch
    begin_piece(j, w), then layer_done(layer) after each layer's backward (and end_piece() after the
    whole pass); finish() waits for the sums and the step's statistics (the `meta` rows: per micro-batch,
    n_stats values set by the caller, then the largest term of each tensor)."""

    def __init__(self, comm, tensors, pieces, n_stats, bucket_bytes):
        self.comm = comm
        self.tensors = list(tensors)
        self.limit = 53 - sum_bits(pieces)
        self.target = self.limit - HEADROOM
        if self.target <= FLOOR:
            raise ValueError(f"cnet.distributed: {pieces} micro-batches are too many for exact sums "
                             f"(at most {2 ** (53 - HEADROOM - FLOOR - 1)})")
        self.n_stats = n_stats
        # Two terms have one sum whatever the order (IEEE addition commutes): with at most two pieces per
        # batch the shares are added in the gradients' own type, half the bytes of the grid and no grid.
        dtypes = {t.dtype for t in self.tensors}
        self.float_sum = pieces <= 2 and len(dtypes) == 1
        carrier = dtypes.pop() if self.float_sum else np.dtype(np.float64)
        sizes = [t.size for t in self.tensors]
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(int)
        self.acc = np.zeros(int(offsets[-1]), dtype=carrier)
        self.tmp = np.empty(CHUNK, dtype=carrier)
        self.views = [self.acc[offsets[i]:offsets[i + 1]] for i in range(len(sizes))]
        self.buckets = []
        group, nbytes = [], 0
        for i, t in enumerate(self.tensors):
            if group and nbytes >= bucket_bytes and (t.layer is None or t.layer is not self.tensors[i - 1].layer):
                self.buckets.append(_Bucket(group, offsets[group[0]], offsets[group[-1] + 1]))
                group, nbytes = [], 0
            group.append(i)
            nbytes += carrier.itemsize * t.size
        if group:
            self.buckets.append(_Bucket(group, offsets[group[0]], offsets[group[-1] + 1]))
        self.ready = {}
        for b in self.buckets:
            layer = self.tensors[b.tensors[-1]].layer
            if layer is not None:
                self.ready.setdefault(id(layer), []).append(b)
        self.meta = np.zeros((pieces, n_stats + len(self.tensors)))
        self.bytes = self.acc.nbytes
        # seconds spent putting terms on the grid, waiting for the sums, writing the gradients (cnet-bench)
        self.seconds = {"convert": 0.0, "wait": 0.0, "write": 0.0}

    # ---- one attempt at a step ----------------------------------------------------------------

    def begin(self, exponents, local_pieces):
        self.k = list(exponents)
        self.local_pieces = local_pieces
        self.done = 0
        self.written = [False] * len(self.tensors)
        self.requests = []
        self.meta.fill(0.0)
        for b in self.buckets:
            b.count, b.launched, b.request = 0, False, None

    def begin_piece(self, piece, weight):
        self.piece, self.weight = piece, weight

    def layer_done(self, layer):
        """Called after `layer`'s backward: add the buckets that are now complete; drive the transfers."""
        for b in self.ready.get(id(layer), ()):
            self._add(b)
        if self.requests:
            self.comm.test(self.requests)

    def end_piece(self):
        """After the backward pass of a micro-batch: add what the layer hooks did not reach."""
        for b in self.buckets:
            if b.count == self.done:
                self._add(b)
        self.done += 1

    def finish(self):
        """Start what is left (everything, on a process without a micro-batch), wait for all the sums;
        returns the meta rows summed over the processes."""
        for b in self.buckets:
            if not b.launched:
                self._launch(b)
        self.requests.append(self.comm.iallreduce(self.meta))
        start = time.perf_counter()
        self.comm.wait(self.requests)
        self.seconds["wait"] += time.perf_counter() - start
        return self.meta

    def _add(self, b):
        start = time.perf_counter()
        for i in b.tensors:
            self._add_tensor(i)
        self.seconds["convert"] += time.perf_counter() - start
        b.count += 1
        if b.count == self.local_pieces:
            self._launch(b)

    def _add_tensor(self, i):
        """Add this piece's term of tensor i to its sum, a cache-sized chunk at a time (the float64 grid
        values of a large layer would otherwise go through memory three times)."""
        g = self.tensors[i].grad().reshape(-1)
        view, k, tmp = self.views[i], self.k[i], self.tmp
        if self.float_sum:
            k = 0     # no grid: the share times its weight, in the gradient's type
        scale = None if k is None else math.ldexp(self.weight, k)
        first = not self.written[i]
        hi = lo = 0.0
        finite = True
        for s in range(0, g.size, CHUNK):
            gc = g[s:s + CHUNK]
            h, low = float(gc.max()), float(gc.min())
            finite = finite and math.isfinite(h) and math.isfinite(low)
            hi, lo = max(hi, h), min(lo, low)
            if scale is None:   # no grid yet: this attempt only measures
                continue
            vc = view[s:s + CHUNK]
            dest = vc if first else tmp[:gc.size]
            np.multiply(gc, scale, out=dest, dtype=dest.dtype)   # the grid in float64, not float32 (NEP 50)
            if not self.float_sum:
                np.rint(dest, out=dest)
            if not first:
                np.add(vc, dest, out=vc)
        largest = max(hi, -lo) if finite else math.inf
        self.meta[self.piece, self.n_stats + i] = largest * self.weight
        if scale is not None:
            self.written[i] = True

    def _launch(self, b):
        b.launched = True
        if not self.float_sum and all(self.k[i] is None for i in b.tensors):
            return   # nothing to sum (the same on every process: the exponents are)
        for i in b.tensors:
            if not self.written[i]:
                self.views[i].fill(0.0)
        b.request = self.comm.iallreduce(self.acc[b.start:b.stop])
        self.requests.append(b.request)

    # ---- after the sums ------------------------------------------------------------------------

    def largest(self):
        """The largest term of each tensor over every micro-batch of the step (inf when one is not finite)."""
        return self.meta[:, self.n_stats:].max(axis=0)

    def next_exponents(self, largest):
        """(whether this attempt's grid was right for every tensor, the exponents of the next step)."""
        if self.float_sum:
            return True, list(self.k)
        ok, new = True, []
        for k, m in zip(self.k, largest):
            if m == 0.0:     # an all-zero gradient is exact on any grid
                new.append(k)
                continue
            e = math.frexp(m)[1]   # m < 2**e
            if k is None or not FLOOR < e + k <= self.limit:
                ok = False
            new.append(self.target - e)
        return ok, new

    def write_gradients(self):
        """The sums, times 2**-k, rounded once into the gradient arrays."""
        start = time.perf_counter()
        for i, t in enumerate(self.tensors):
            g = t.grad()
            if self.float_sum:
                np.copyto(g, self.views[i].reshape(g.shape))
            elif self.k[i] is None:
                g.fill(0)
            elif g.flags.c_contiguous:
                np.multiply(self.views[i], math.ldexp(1.0, -self.k[i]), out=g.reshape(-1), casting="unsafe")
            else:
                np.copyto(g, (self.views[i] * math.ldexp(1.0, -self.k[i])).reshape(g.shape), casting="unsafe")
        self.seconds["write"] += time.perf_counter() - start
