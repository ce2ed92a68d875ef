"""Sequential.evaluate and predict (and fit's validation): batches of arrays, a cnet.utils.Sequence or a
generator (cnet._data), in inference mode; weighted losses and metrics as in Keras 2. Nothing here
imports cnet.models."""
import math

import numpy as np

from . import _data, _parallel
from .progbar import Progbar

__all__ = ["source", "evaluate", "evaluate_source", "predict", "as_array", "positive_int", "progbar"]


def as_array(a, name):
    if a is None:
        raise ValueError(f"{name} is required")
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple)) and len(a) == 1 and isinstance(a[0], np.ndarray):
        return a[0]   # Keras accepts a list holding the single input array
    return np.asarray(a)


def positive_int(value, what, allow_none=True):
    """value as an int >= 1 (None passes when allow_none); anything else raises naming `what`."""
    if value is None and allow_none:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1:
        return int(value)
    raise ValueError(f"{what} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")


def progbar(steps, verbose):
    """The progress bar of evaluate/predict over `steps` batches (None: unknown), or None when silent (or
    not the first process of a distributed run)."""
    return Progbar(steps, verbose=verbose) if verbose and _parallel.is_root() else None


def step_count(value, what):
    """A number of batches: an int >= 1, or a positive number of any kind counted up (Keras 2.1 runs
    `while steps_done < steps`, so steps_per_epoch=len(x) / 32 takes ceil(len(x) / 32) batches); None passes."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of batches or None, got {value!r}")
    return int(np.ceil(value))


def source(model, who, x, y, batch_size, steps, sample_weight=None, targets=True, workers=1, max_queue_size=10):
    """(the batch source of x (and y) for `model`, the number of batches to take: None for a generator
    without `steps`, run until it ends) for evaluate, predict or fit's validation; arrays are cut to their
    first `steps` batches."""
    kind = _data.input_kind(x)
    workers, max_queue_size = _data.reader_options(who, kind, workers, 0, max_queue_size)
    if kind != "arrays":
        for name, value in (("y", y), ("batch_size", batch_size), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"{who}: {name} must be None when x is a {kind}: the {kind} makes the batches "
                                 "(with their targets and sample weights)")
        prepare = _data.preparer(model, None, targets)
        if kind == "sequence":
            src = _data.SequenceBatches(x, who, targets, prepare, workers, max_queue_size)
            if steps is not None and steps > src.steps:
                raise ValueError(f"{who}: steps={steps} but the Sequence holds {src.steps} batches")
            return src, steps or src.steps
        return _data.GeneratorBatches(x, who, targets, prepare, workers, max_queue_size, total=steps), steps
    batch_size = 32 if batch_size is None else positive_int(batch_size, f"{who}: batch_size", allow_none=False)
    x = model._input_data(x)
    if targets:
        y = model._target_data(y)
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
    n = len(x) if steps is None else min(len(x), steps * batch_size)
    if n == 0:
        raise ValueError(f"{who}: no samples")
    w = _data.output_weights(model, y, sample_weight, None, who) if targets else None
    return _data.Arrays(x[:n], y[:n] if targets else None, _data.take_weights(w, slice(0, n)), batch_size), \
        math.ceil(n / batch_size)


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, max_queue_size, workers, use_multiprocessing,
             return_dict):
    """Sequential.evaluate (its docstring says what each argument does)."""
    model._require_compiled("evaluate")
    _data.reader_options("evaluate", _data.input_kind(x), workers, use_multiprocessing, max_queue_size)
    steps = step_count(steps, "evaluate: steps")
    src, steps = source(model, "evaluate", x, y, batch_size, steps, sample_weight, True, workers, max_queue_size)
    result = evaluate_source(model, src, steps, verbose)
    if return_dict:
        return dict(zip(model.metrics_names, result))
    return result[0] if len(result) == 1 else result


def evaluate_source(model, src, steps, verbose=0):
    """[loss, metrics...] over `steps` batches of src (None: until its generator ends): the batches' values
    averaged with their sizes as weights (Keras's way), each batch's loss weighted by its sample weights."""
    sums = np.zeros(len(model.metrics_names))
    seen = 0
    bar = progbar(steps, verbose)
    batches = src.batches(None, 0, steps)
    try:
        for i, (xb, yb, wb) in enumerate(batches):
            xb = model._cast(xb)
            model._ensure_built(xb)
            yb = model._prepare_y(yb)
            values = model._test_batch(xb, yb) if wb is None else model._test_batch(xb, yb, wb)
            sums += np.asarray(values) * len(xb)
            seen += len(xb)
            if bar:
                bar.update(i + 1, list(zip(model.metrics_names, sums / seen)))
    finally:
        batches.close()
        src.close()
    if seen == 0:
        raise ValueError("evaluate: no samples (the generator yielded no batch)")
    if bar and steps is None:
        bar.update(i + 1, list(zip(model.metrics_names, sums / seen)), finalize=True)
    if isinstance(src, _data.SequenceBatches) and steps == src.steps:
        src.end_of_pass()
    return (sums / seen).tolist()


def predict(model, x, batch_size, verbose, steps, max_queue_size, workers, use_multiprocessing):
    """Model.predict: the outputs of x's batches, in order, in one array (a list of arrays for several
    outputs)."""
    _data.reader_options("predict", _data.input_kind(x), workers, use_multiprocessing, max_queue_size)
    steps = step_count(steps, "predict: steps")
    src, steps = source(model, "predict", x, None, batch_size, steps, None, False, workers, max_queue_size)
    bar = progbar(steps, verbose)
    arrays = isinstance(src, _data.Arrays)       # one array per output from the start: no concatenation
    results, parts, i = None, [], -1
    batches = src.batches(None, 0, steps)
    try:
        for i, (xb, _, _) in enumerate(batches):
            with model._step_lock:
                outs = model._predict_batch(xb)
                if not arrays:
                    parts.append([out.copy() for out in outs])
                else:
                    if results is None:
                        results = [np.empty((src.samples,) + out.shape[1:], dtype=out.dtype) for out in outs]
                    for result, out in zip(results, outs):
                        result[i * src.batch_size:i * src.batch_size + len(out)] = out
            if bar:
                bar.update(i + 1)
    finally:
        batches.close()
        src.close()
    if not arrays:
        if not parts:
            raise ValueError("predict: no samples (the generator yielded no batch)")
        results = [np.concatenate(outs) for outs in zip(*parts)]
        if bar and steps is None:
            bar.update(i + 1, finalize=True)
        if isinstance(src, _data.SequenceBatches) and steps == src.steps:
            src.end_of_pass()
    return model._unlist(results)
