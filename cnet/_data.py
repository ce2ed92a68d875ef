"""Where fit, evaluate and predict get their batches: NumPy arrays, a cnet.utils.Sequence or a Python
generator (or any iterator), read on the main thread or ahead of the step by threads; and the per-sample
weights of Keras's sample_weight and class_weight.

A source has `batch_size` (None unless arrays), `samples` (None unless arrays), `steps` (its batches in
one pass, None for a generator), `order(rng, shuffle)` (the order of an epoch, drawn at its start) and
`batches(order, first, stop)`: an iterator of (x, y, sample_weights) for steps first..stop-1: x and y
matched to the model's inputs and outputs (an array, or a cnet._compile.Arrays for several), y None for
predict, sample_weights None or one entry per output (None or (N,) weights, class_weight included);
closing it stops the threads that read ahead. Nothing here imports cnet.models."""
import collections
import concurrent.futures
import inspect
import math
import numbers
import queue
import threading

import numpy as np

from .utils import Sequence

__all__ = ["input_kind", "reader_options", "sample_weights", "output_weights", "preparer", "take_weights",
           "unpack", "Arrays", "SequenceBatches", "GeneratorBatches"]


def input_kind(x):
    """'sequence' (a cnet.utils.Sequence), 'generator' (a generator or another iterator) or 'arrays'."""
    if isinstance(x, Sequence):
        return "sequence"
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and not isinstance(x, (np.ndarray, list, tuple))):
        return "generator"
    return "arrays"


def reader_options(who, kind, workers, use_multiprocessing, max_queue_size):
    """Check Keras's workers, use_multiprocessing and max_queue_size for an input of `kind`; returns
    (workers, max_queue_size)."""
    if use_multiprocessing:
        raise ValueError(f"{who}: use_multiprocessing=True is not supported: cnet reads a cnet.utils.Sequence "
                         "with threads (workers=N), and its kernels already use every core; leave "
                         "use_multiprocessing=False")
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 0:
        raise ValueError(f"{who}: workers must be an integer >= 0 (0: read the batches on the main thread), "
                         f"got {workers!r}")
    if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, numbers.Integral) or max_queue_size < 1:
        raise ValueError(f"{who}: max_queue_size must be a positive integer (the batches read ahead), got "
                         f"{max_queue_size!r}")
    if kind == "arrays" and (workers != 1 or max_queue_size != 10):
        name, value, default = ("workers", workers, 1) if workers != 1 else ("max_queue_size", max_queue_size, 10)
        raise ValueError(f"{who}: {name}={value!r} applies to a generator or a cnet.utils.Sequence, and the input "
                         f"is arrays (each batch is computed with cnet's threads: cnet.set_num_threads); leave "
                         f"{name} at its default ({default!r})")
    if kind == "generator" and workers > 1:
        raise ValueError(f"{who}: workers={workers} with a Python generator: a generator runs in one thread at a "
                         "time, so more threads cannot read it faster (and would mix its batches' order); use "
                         "workers=1 (one thread reads it ahead) or 0, or a cnet.utils.Sequence, whose batches "
                         "several threads read at once")
    return int(workers), int(max_queue_size)


# ---- sample and class weights ----------------------------------------------------------------------------

def _classes(y, who):
    y = np.asarray(y)
    if y.ndim > 2:
        raise ValueError(f"{who}: class_weight needs targets of one or two axes (class indices, or one-hot rows), "
                         f"got shape {y.shape}")
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(len(y))


def sample_weights(y, sample_weight, class_weight, who):
    """The per-sample weights (float64, (N,)) of targets y from Keras's sample_weight (N numbers) or
    class_weight ({class index: weight}; the class of a one-hot row is its argmax, of one output unit its
    value), or None when neither is given."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError(f"{who}: give sample_weight or class_weight, not both (Keras 2.1-2.2 would ignore "
                         "class_weight, tf.keras multiplies them): to combine them, pass sample_weight times the "
                         "class weight of each sample")
    n = len(y)
    if sample_weight is not None:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "biuf" or w.shape not in ((n,), (n, 1)):
            raise ValueError(f"{who}: sample_weight must hold one real number per sample, shape ({n},); got dtype "
                             f"{w.dtype} and shape {w.shape}")
        w = w.reshape(n).astype(np.float64)
    elif class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(f"{who}: class_weight must be a dict {{class index: weight}}, got "
                            f"{type(class_weight).__name__}")
        classes = _classes(y, who)
        w = np.empty(n)
        missing = []
        for c in np.unique(classes):
            key = c.item()
            if key not in class_weight:
                missing.append(key)
                continue
            value = class_weight[key]
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
                raise TypeError(f"{who}: class_weight[{key!r}] must be a number, got {value!r}")
            w[classes == c] = float(value)
        if missing:
            raise ValueError(f"{who}: class_weight must give a weight to every class of the targets; the classes "
                             f"{sorted(missing)} have none (class_weight has {sorted(class_weight)})")
    else:
        return None
    if not np.isfinite(w).all():
        raise ValueError(f"{who}: the sample weights must be finite numbers, got NaN or infinity")
    return w


def _per_output(value, names, what, is_single):
    """fit's sample_weight or class_weight for each of a model's outputs: one value for a lone output
    (or a dict/list holding it by name), else a list in the outputs' order or a dict by output name."""
    if value is None:
        return [None] * len(names)
    if isinstance(value, dict) and any(n in value for n in names) and not is_single(value):
        unknown = sorted(set(value) - set(names), key=str)
        if unknown:
            raise ValueError(f"{what} names {unknown}, which are not outputs of the model {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"{what}: a list of {len(value)} for the model's {len(names)} outputs {names}")
        return list(value)
    if len(names) > 1:
        raise TypeError(f"{what}: the model has {len(names)} outputs {names}: give a list (in their order) or a "
                        "dict by output name")
    if isinstance(value, list) and len(value) == 1 and not is_single(value):
        return value
    return [value]


def _one_weight_array(v):
    """Is v one output's sample weights (an array, or a list of numbers), not a list or dict of them?"""
    if isinstance(v, (list, tuple)):
        return all(isinstance(e, (numbers.Real, np.generic)) for e in v)
    return not isinstance(v, dict)


def output_weights(model, y, sample_weight, class_weight, who):
    """The per-sample weights of each output of `model` for targets y (an array, or a cnet._compile.Arrays
    for several outputs), or None when no output has any."""
    ys = getattr(y, "arrays", None) or [y]
    names = list(model.output_names or ["output"])[:len(ys)]
    sws = _per_output(sample_weight, names, f"{who}: sample_weight", _one_weight_array)
    cws = _per_output(class_weight, names, f"{who}: class_weight",
                      lambda v: isinstance(v, dict) and not any(isinstance(w, dict) for w in v.values()))
    weights = [sample_weights(yk, sw, cw, who) for yk, sw, cw in zip(ys, sws, cws)]
    return None if all(w is None for w in weights) else weights


def preparer(model, class_weight=None, targets=True):
    """prepare(x, y, sample_weight, who) -> (x, y, per-output weights) of a batch a Sequence or generator
    made: x and y matched to the model's inputs and outputs (y None without targets)."""
    def prepare(x, y, w, who):
        x = model._input_data(x, f"{who}: x")
        if not targets:
            return x, None, None
        y = model._target_data(y, f"{who}: y")
        if len(x) != len(y):
            raise ValueError(f"{who} holds {len(x)} inputs but {len(y)} targets")
        return x, y, output_weights(model, y, w, class_weight, who)
    return prepare


def take_weights(weights, idx):
    """The samples idx of per-output weights (None, or a list of None or arrays)."""
    return None if weights is None else [None if w is None else w[idx] for w in weights]


# ---- batches ------------------------------------------------------------------------------------------

def unpack(batch, who, targets=True):
    """(x, y, sample_weight) of a batch a generator or Sequence made: a tuple (x, y) or (x, y, w); for
    predict (targets=False) x alone, or the first element of a tuple."""
    if isinstance(batch, tuple) or (targets and isinstance(batch, list)):
        if (len(batch) in (2, 3)) if targets else (1 <= len(batch) <= 3):
            return tuple(batch) + (None,) * (3 - len(batch))
    elif not targets:
        return batch, None, None
    what = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else \
        f"a {type(batch).__name__}"
    raise ValueError(f"{who}: each batch of a generator or Sequence must be a tuple (x, y) or (x, y, sample_weight)"
                     f"{'' if targets else ', or x'}; got {what}")


class Arrays:
    """Batches of arrays x, y (matched to the model; y None for predict) and w (None or one entry per
    output) of batch_size samples; an epoch of `steps` batches starts over at the first sample when it
    runs past the last (fit's steps_per_epoch)."""

    def __init__(self, x, y, w, batch_size):
        self.x, self.y, self.w = x, y, w
        self.batch_size = batch_size
        self.samples = len(x)
        self.steps = math.ceil(len(x) / batch_size)

    def order(self, rng, shuffle):
        return rng.permutation(self.samples) if shuffle else None

    def batches(self, order, first, stop):
        n, b, x, y, w = self.samples, self.batch_size, self.x, self.y, self.w
        for step in range(first, stop):
            start = (step * b) % n
            end = min(start + b, n)
            idx = slice(start, end) if order is None else order[start:end]
            yield x[idx], None if y is None else y[idx], take_weights(w, idx)

    def close(self):
        pass


class _Source:
    """What a Sequence and a generator share: each batch unpacked, then prepared (matched to the model,
    weighed: a `preparer`)."""

    batch_size = samples = None

    def __init__(self, who, targets, prepare, workers, max_queue_size):
        self.who, self.targets, self.prepare = who, targets, prepare
        self.workers, self.ahead = workers, max_queue_size

    def _batch(self, raw, index):
        x, y, w = unpack(raw, self.who, self.targets)
        if self.targets and y is None:
            raise ValueError(f"{self.who}: batch {index} has no targets (y is None)")
        return self.prepare(x, y, w, f"{self.who}: batch {index}")

    def close(self):
        pass


class SequenceBatches(_Source):
    """The batches of a cnet.utils.Sequence, in order or in an epoch's random order; workers >= 1
    threads read up to max_queue_size batches ahead (the order of the batches stays the same)."""

    def __init__(self, seq, who, targets, prepare, workers=1, max_queue_size=10):
        super().__init__(who, targets, prepare, workers, max_queue_size)
        self.seq = seq
        length = len(seq)
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
            raise ValueError(f"{who}: the Sequence must hold at least one batch (len() >= 1), got len() = {length!r}")
        self.steps = int(length)

    def order(self, rng, shuffle):
        return rng.permutation(self.steps) if shuffle else None

    def batches(self, order, first, stop):
        indices = [int(order[s]) if order is not None else s for s in range(first, stop)]
        reads = _in_order(self.seq.__getitem__, indices, self.workers, self.ahead)
        try:
            for index, raw in zip(indices, reads):
                yield self._batch(raw, index)
        finally:
            reads.close()      # stops the threads when the caller stops early

    def end_of_pass(self):
        self.seq.on_epoch_end()


def _in_order(fetch, indices, workers, ahead):
    """fetch(i) for each of indices, in that order: on this thread (workers 0) or on `workers` threads
    with at most `ahead` calls started and not taken yet."""
    if workers == 0:
        for i in indices:
            yield fetch(i)
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnet-sequence")
    pending = collections.deque()
    todo = iter(indices)
    try:
        for i in todo:
            pending.append(pool.submit(fetch, i))
            if len(pending) >= ahead:
                break
        while pending:
            result = pending.popleft().result()
            for i in todo:
                pending.append(pool.submit(fetch, i))
                break
            yield result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class GeneratorBatches(_Source):
    """The batches of a generator (or another iterator), taken in the order it yields them. With
    workers=1 a thread reads it ahead (at most max_queue_size batches), and never past `total` batches
    when given (what the caller will take), so that a generator shared between runs (fit's validation
    data, run after run) loses nothing; stopping early leaves at most max_queue_size batches read and
    not used. A generator that ends before the batches asked for is an error."""

    steps = None

    def __init__(self, gen, who, targets, prepare, workers=1, max_queue_size=10, total=None):
        super().__init__(who, targets, prepare, workers, max_queue_size)
        self.gen, self.total = gen, total
        self._reader = None

    def order(self, rng, shuffle):
        return None          # a generator decides its own order (as in Keras)

    def _next(self):
        if self.workers == 0:
            return next(self.gen)
        if self._reader is None:
            self._reader = _Reader(self.gen, self.total, self.ahead)
            self._reader.start()
        return self._reader.take()

    def batches(self, order, first, stop):
        step = first
        while stop is None or step < stop:
            try:
                raw = self._next()
            except StopIteration:
                if stop is None:
                    return
                raise ValueError(f"{self.who}: the generator stopped after {step - first} of the {stop - first} "
                                 "batches asked for (steps_per_epoch, validation_steps or steps): make it loop "
                                 "over the data forever (while True: ... yield x, y), or ask for fewer steps") \
                    from None
            yield self._batch(raw, step)
            step += 1

    def close(self):
        if self._reader is not None:
            self._reader.stop.set()
            self._reader = None


class _Reader(threading.Thread):
    """A daemon thread that puts the next items of an iterator into a bounded queue (at most `total`)."""

    def __init__(self, it, total, size):
        super().__init__(name="cnet-generator", daemon=True)
        self.it, self.total = it, total
        self.queue = queue.Queue(maxsize=size)
        self.stop = threading.Event()

    def run(self):
        count = 0
        try:
            while self.total is None or count < self.total:
                item = next(self.it)
                count += 1
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except StopIteration:
            self._put(("end", None))
        except BaseException as exc:     # re-raised on the thread that takes the batch
            self._put(("error", exc))

    def _put(self, message):
        while not self.stop.is_set():
            try:
                self.queue.put(message, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def take(self):
        while True:
            try:
                kind, value = self.queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self.is_alive() and self.queue.empty():
                    raise StopIteration from None
        if kind == "item":
            return value
        if kind == "end":
            raise StopIteration
        raise value
