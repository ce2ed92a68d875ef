"""What ``compile`` sets up for each output of a model (its loss, loss weight, metrics, whether its
softmax is fused into the loss, how its targets are prepared), and how fit/evaluate/predict's x and y are
matched to the model's inputs and outputs: an array for one, a list in order or a dict by name for
several (``Arrays`` then keeps them together so that a batch is the same samples of each).

Names, as Keras 2 logs them: one output: 'loss' and the metrics as given ('accuracy' or 'acc');
several: 'loss' (the weighted sum), then '<output>_loss' for each output, then '<output>_<metric>' for
each output and its metrics (<output> is the name of the layer that computes it); compile's
weighted_metrics follow each output's metrics as 'weighted_<metric>' ('<output>_weighted_<metric>').

Sample weights (fit's sample_weight and class_weight): one (N,) array per output, or None for an output
without; an output with weights has Keras 2's weighted loss (cnet.losses' weighted_forward)."""
import copy
import math
import numbers

import numpy as np

from . import losses
from . import metrics as metrics_module
from ._training import as_array

__all__ = ["Arrays", "match", "Heads", "loss_name"]


class Arrays:
    """The arrays of a model's several inputs (or targets), of one number of samples: len() is that
    number, a[idx] the same samples (a slice, an index array) of each."""

    __slots__ = ("arrays",)

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, idx):
        return Arrays([a[idx] for a in self.arrays])


def listed(data):
    """The list of arrays behind an array or an Arrays."""
    return data.arrays if isinstance(data, Arrays) else [data]


def match(data, names, what):
    """The arrays of `data` for slots named `names` (a model's inputs or outputs): an array for one slot,
    an Arrays for several. data: an array (one slot), a list/tuple of arrays in the slots' order, or a
    dict {name: array}."""
    if isinstance(data, np.ndarray) and len(names) == 1:
        return data
    if isinstance(data, Arrays):
        if len(data.arrays) != len(names):
            raise ValueError(f"{what}: {len(data.arrays)} arrays for the model's {len(names)} ({names})")
        return data
    if data is None:
        raise ValueError(f"{what} is required")
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(names), key=str)
        missing = [n for n in names if n not in data]
        if unknown or missing:
            raise ValueError(f"{what}: a dict must have one entry for each of the model's names {names}"
                             + (f"; unknown: {unknown}" if unknown else "")
                             + (f"; missing: {missing}" if missing else ""))
        items = [data[n] for n in names]
    elif isinstance(data, (list, tuple)) and len(names) > 1:
        if len(data) != len(names):
            raise ValueError(f"{what}: the model has {len(names)} ({names}) but got a list of {len(data)}")
        items = list(data)
    else:
        items = [data]
    if len(items) != len(names):
        raise ValueError(f"{what}: the model has {len(names)} ({names}): give a list or a dict by name")
    arrays = [as_array(a, f"{what}[{n!r}]" if len(names) > 1 else what) for a, n in zip(items, names)]
    if len(arrays) == 1:
        return arrays[0]
    sizes = [len(a) if np.ndim(a) else None for a in arrays]
    if None in sizes or len(set(sizes)) != 1:
        raise ValueError(f"{what}: the arrays must hold the same number of samples, got "
                         f"{dict(zip(names, [np.shape(a) for a in arrays]))}")
    return Arrays(arrays)


def loss_name(loss, given):
    """The name compile's `given` loss is known by (in files and messages)."""
    if isinstance(given, str):
        return given
    for attr in ("name", "__name__"):
        name = getattr(loss, attr, None) or getattr(given, attr, None)
        if isinstance(name, str):
            return name
    return type(loss).__name__


def _per_output(value, names, what, default, is_single):
    """compile's argument for every output: one value for all (is_single(value)), a list in the outputs'
    order or a dict by output name (missing names get `default`, or are an error when it is None)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names), key=str)
        if unknown:
            raise ValueError(f"compile: {what} names {unknown}, which are not outputs of the model {names}")
        if default is None and any(n not in value for n in names):
            missing = [n for n in names if n not in value]
            raise ValueError(f"compile: {what} has no entry for the outputs {missing}: every output needs a "
                             "loss (cnet trains every output)")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)) and not is_single(value):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} is a list of {len(value)} for the model's {len(names)} outputs "
                             f"{names}")
        return list(value)
    return [value] * len(names)


def _weight(w, name):
    if w is None:
        return None
    if not isinstance(w, numbers.Real) or isinstance(w, bool) or not math.isfinite(w) or w < 0:
        raise ValueError(f"compile: the loss weight of output {name!r} must be a finite number >= 0, got {w!r}")
    return None if w == 1 else float(w)


def class_indices(y, loss_name):
    """Sparse targets as int64 class indices: integers, or floats holding whole numbers (Keras accepts
    1.0); anything else (1.5, NaN, strings, numbers past int64) is a ValueError naming the value."""
    if y.dtype.kind in "iub":
        if y.dtype == np.uint64 and y.size and int(y.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"{loss_name}: the targets must be class indices, got {int(y.max())}")
        return y.astype(np.int64, copy=False)
    if y.dtype.kind not in "fO":
        raise ValueError(f"{loss_name}: the targets must be integer class indices, got an array of {y.dtype}")
    try:
        f = y.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{loss_name}: the targets must be integer class indices, got an array of "
                         f"{y.dtype} holding values that are not numbers") from None
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(f) | (f != np.round(f)) | (np.abs(f) >= 2.0 ** 62)
    if bad.any():
        value = y.reshape(-1)[int(np.argmax(bad.reshape(-1)))]
        raise ValueError(f"{loss_name}: the targets must be whole class indices, got {value}")
    return f.astype(np.int64)


class Head:
    """One output: its loss object, the name it was given, its weight (None: 1), its metrics and weighted
    metrics [(log name, fn, needs probabilities)], sparse targets, a fused softmax."""

    def __init__(self, name, loss, given, weight, metric_specs, log_prefix, weighted_specs=()):
        self.name, self.loss, self.weight = name, loss, weight
        self.loss_name = loss_name(loss, given)
        self.sparse = "sparse" in self.loss_name.lower()
        self.metric_specs, self.weighted_specs = list(metric_specs), list(weighted_specs)
        binary = "binary" in self.loss_name.lower()
        self.metrics = [(log_prefix + n, fn, probs)
                        for n, fn, probs in (metrics_module.get(m, binary=binary) for m in self.metric_specs)]
        self.weighted = [(log_prefix + n, fn, probs) for n, fn, probs in
                         (metrics_module.get(m, binary=binary, weighted=True) for m in self.weighted_specs)]
        self.fused = False
        self.value = None
        self.sample_weight = None    # the weights of the last loss_forward (None: unweighted)

    def prepare(self, y, dtype):
        """Targets as the loss takes them: class indices for a sparse loss, else floats of the model's dtype."""
        y = np.asarray(y)
        if self.sparse:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            return class_indices(y, self.loss_name)
        if (y.dtype.kind in "iub" and y.ndim >= 2) or (y.dtype.kind == "f" and y.dtype != dtype):
            return y.astype(dtype)
        return y


class Heads:
    """compile's losses, loss weights and metrics for outputs `names`."""

    def __init__(self, names, loss, loss_weights, metrics, weighted_metrics=None):
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='categorical_crossentropy'")
        single = len(names) == 1
        given = _per_output(loss, names, "loss", None, lambda v: False)
        weights = [None] * len(names) if loss_weights is None else \
            _per_output(loss_weights, names, "loss_weights", 1.0, lambda v: False)
        specs, weighted_specs = (_metric_specs(m, names, what) for m, what in
                                 ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")))
        self.heads, seen = [], []
        for name, g, w, spec, wspec in zip(names, given, weights, specs, weighted_specs):
            obj = losses.get(g)
            if any(obj is other for other in seen):
                obj = copy.copy(obj)   # a loss object caches its last batch: one per output
            seen.append(obj)
            self.heads.append(Head(name, obj, g, _weight(w, name), spec, "" if single else f"{name}_", wspec))
        self.names = (["loss"] + ([] if single else [f"{h.name}_loss" for h in self.heads])
                      + [m[0] for h in self.heads for m in h.metrics + h.weighted])

    def attach(self, graph, names):
        """Fuse the softmax of the outputs whose loss takes logits (and whose graph allows it). names: the
        outputs' names (a Sequential compiled before it was built learns its output's name here)."""
        for head, name in zip(self.heads, names):
            head.name = name
        for i, head in enumerate(self.heads):
            head.fused = bool(getattr(head.loss, "fuses_softmax", False)) and graph.fusable(i)
        graph.set_fused([i for i, head in enumerate(self.heads) if head.fused])

    def loss_forward(self, outs, ys, sample_weights=None):
        """The total loss (float) of a batch: the weighted sum of the outputs' losses (each weighted by
        its sample weights, when sample_weights, one entry per output, gives them)."""
        total = 0.0
        for i, (head, out, y) in enumerate(zip(self.heads, outs, ys)):
            head.sample_weight = w = None if sample_weights is None else sample_weights[i]
            if w is not None:
                value = float(head.loss.weighted_forward(out, y, w, from_logits=True if head.fused else None))
            else:
                value = float(head.loss.forward(out, y, from_logits=True) if head.fused else head.loss.forward(out, y))
            head.value = value
            total += value if head.weight is None else value * head.weight
        return total

    def loss_backward(self):
        """The gradients of the total loss with respect to what loss_forward received."""
        grads = []
        for head in self.heads:
            g = head.loss.backward() if head.sample_weight is None else head.loss.weighted_backward()
            if head.weight is not None:
                g = g * g.dtype.type(head.weight)
            grads.append(g)
        return grads

    def output_losses(self):
        """The last batch's loss of each output (only with several outputs, as Keras logs them)."""
        return [] if len(self.heads) == 1 else [head.value for head in self.heads]

    def batch_metrics(self, outs, ys):
        """The metrics, then the weighted metrics, of each output (after loss_forward, whose sample weights
        the weighted metrics use)."""
        values = []
        for head, out, y in zip(self.heads, outs, ys):
            if head.metrics or head.weighted:
                probs = head.loss.probs if head.fused else out
                values += [fn(y, probs if needs_probs else out) for _, fn, needs_probs in head.metrics]
                values += [fn(y, probs if needs_probs else out, head.sample_weight)
                           for _, fn, needs_probs in head.weighted]
        return values

    def config(self):
        """compile's losses, weights and metrics as JSON data (names; one output: as cnet always wrote them)."""
        def spec_names(specs):
            return [m if isinstance(m, str) else getattr(m, "__name__", str(m)) for m in specs]
        weighted = any(h.weighted_specs for h in self.heads)
        if len(self.heads) == 1 and self.heads[0].weight is None:
            config = {"loss": self.heads[0].loss_name, "metrics": spec_names(self.heads[0].metric_specs)}
            if weighted:
                config["weighted_metrics"] = spec_names(self.heads[0].weighted_specs)
            return config
        config = {"loss": {h.name: h.loss_name for h in self.heads},
                  "loss_weights": {h.name: 1.0 if h.weight is None else h.weight for h in self.heads},
                  "metrics": {h.name: spec_names(h.metric_specs) for h in self.heads}}
        if weighted:
            config["weighted_metrics"] = {h.name: spec_names(h.weighted_specs) for h in self.heads}
        return config


def _metric_specs(metrics, names, what):
    """compile's metrics (or weighted_metrics) as a list of specs per output."""
    metrics = [] if metrics is None else metrics
    if not isinstance(metrics, (list, tuple, dict)):
        raise TypeError(f"compile: {what} must be a list (or a dict by output name), got {metrics!r}")
    nested = isinstance(metrics, (list, tuple)) and bool(metrics) and all(isinstance(m, (list, tuple)) for m in metrics)
    return [list(spec) if isinstance(spec, (list, tuple)) else [spec]
            for spec in _per_output(metrics, names, what, [], lambda v: not nested)]
